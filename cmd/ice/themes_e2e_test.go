//go:build !production

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/freetext"
	"icesurvey/lake"
	"icesurvey/localindex"
	"icesurvey/localindex/printpdf"
	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/themes"
	"icesurvey/waveclient"
	"icesurvey/web"
	"icesurvey/web/dashdata"
	"icesurvey/workflows"
)

// TestThemeCodingEndToEnd runs the local index on the embedded Temporal server with the
// real worker, store and warehouse: a wave's free text (as the daily load leaves it)
// is coded, two coders' batches arrive as updates (one refused by its validator),
// the codes reach the warehouse's response_themes, the kappa is reported, a .qdpx is
// exported and a profile report is written, and the workflow finishes. The worker checks
// the access file itself: a batch from someone it does not name, and an export for a
// reader whose grant was taken out of the file a moment before, are refused, and a
// profile report that quotes comments is built only for a named reader.
func TestThemeCodingEndToEnd(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave, ics = "e2e-themes", "QMM"
	const alice, bob, namedReader = "alice@example.nhs.uk", "bob@example.nhs.uk", "named.reader@example.nhs.uk"
	accessFile := filepath.Join(st.DataDir, "dashboard-access.yaml") // where the dev stack's workers look
	writeAccess := func(readers ...string) {
		t.Helper()
		today, until := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
		y := "version: 1\nusers:\n"
		for _, r := range readers {
			y += "  - id: " + r + "\n    name: " + r + "\n    free_text:\n      - {ics: " + ics + ", approved_by: Caldicott Guardian, approved_on: " + today + ", expires: " + until + "}\n"
		}
		if err := os.WriteFile(accessFile, []byte(y), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeAccess(alice, bob, namedReader)
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([]schemas.FreeTextRow, 60)
	for i := range rows {
		rows[i] = schemas.FreeTextRow{ResponseID: "resp-" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Wave: wave, ICS: ics, LoadDate: day,
			RespondentType: "patient", QuestionID: "P_IMPROVE", Text: profiles.SynthComment(rng, profiles.CommentSpec{PositiveShare: 0.2, PersonalDataRate: 0.2}).Text}
	}
	if err := lake.PutRows(ctx, st.Store, schemas.FreeTextKey(wave, ics, day, "00112233445566778899"), schemas.FreeTextLayout(), rows); err != nil {
		t.Fatal(err)
	}
	if _, err := synthSessions(ctx, st.Store, "women-multimorbidity-heart", wave, ics, "", profiles.MethodFocusGroup, day, 1, 3); err != nil {
		t.Fatal(err)
	}

	if _, err := wc.StartThemeCoding(ctx, wave, []string{ics}); err != nil {
		t.Fatal(err)
	}
	status, err := wc.WaitThemesCoded(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	if got := status.ICS[0].Last; got == nil || got.Comments != 60 || got.Redactions == 0 {
		t.Fatalf("first run %+v", got)
	}
	if status.Report == nil || len(status.Report.LabelledF1) != 6 {
		t.Fatalf("report %+v", status.Report)
	}
	// `ice themes code` again joins the running coding, and says its counts are of the
	// free text its runs read, not of any loaded since (and how that gets coded).
	if out, err := iceOnServer(t, ctx, st)("themes", "code", "--any-wave", "--wave", wave, "--ics", ics); err != nil ||
		!strings.Contains(out, "JOINED the wave's theme coding already running") || !strings.Contains(out, "ice themes finish --wave "+wave) {
		t.Errorf("ice themes code while the coding runs: %v\n%s", err, out)
	}

	red, err := localindex.ReadRedacted(ctx, st.Store, wave, ics)
	if err != nil {
		t.Fatal(err)
	}
	burden := themes.ThemeCode{Theme: "burden", Polarity: themes.Negative}
	a := waveclient.ThemeBatch{ID: "a", Coder: alice}
	b := waveclient.ThemeBatch{ID: "b", Coder: bob}
	// Both code the same 20 comments, the blind double-coding sample's first: the
	// kappa is the sample's (the others both decided are not in it).
	var picked []schemas.RedactedComment
	for _, sampled := range []bool{true, false} {
		for _, c := range red {
			if c.DoubleCoded == sampled && len(picked) < 20 {
				picked = append(picked, c)
			}
		}
	}
	sample := 0
	for _, c := range picked {
		if c.DoubleCoded {
			sample++
		}
	}
	if sample == 0 || sample == 20 {
		t.Fatalf("%d of 20 comments in the double-coding sample: the kappa's scope would not be tested", sample)
	}
	for i, c := range picked {
		d := waveclient.ThemeDecision{ResponseID: c.ResponseID, QuestionID: c.QuestionID}
		if i%2 == 0 {
			d.Themes = []themes.ThemeCode{burden}
		}
		a.Decisions = append(a.Decisions, d)
		if i%4 == 0 {
			d.Themes = nil // bob disagrees on these
		}
		b.Decisions = append(b.Decisions, d)
	}
	if _, err := wc.SendThemeDecisions(ctx, wave, ics, a); err != nil {
		t.Fatal(err)
	}
	res, err := wc.SendThemeDecisions(ctx, wave, ics, b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Recorded != 20 || res.ICS.CodedByPeople != 20 || res.Report.DoubleCoded != sample || len(res.Report.Kappa) != 6 {
		t.Fatalf("second batch %+v, want %d double-coded", res, sample)
	}
	bad := waveclient.ThemeBatch{ID: "c", Coder: "", Decisions: a.Decisions[:1]}
	if _, err := wc.SendThemeDecisions(ctx, wave, ics, bad); err == nil || !strings.Contains(err.Error(), "coder") {
		t.Fatalf("a batch without a coder: %v", err)
	}
	// A coder the access file does not name: the worker refuses the batch, whoever sent it.
	stranger := waveclient.ThemeBatch{ID: "d", Coder: "mallory@example.com", Decisions: a.Decisions[:1]}
	if _, err := wc.SendThemeDecisions(ctx, wave, ics, stranger); err == nil || !strings.Contains(err.Error(), `"mallory@example.com" is not in the access file`) {
		t.Fatalf("a batch from someone the access file does not name: %v", err)
	}
	// The dashboard's sender turns the worker's refusal into the coding page's.
	if _, err := (themeDecisionSender{cl: wc}).SendThemeDecisions(ctx, wave, ics, web.CodingBatch{Coder: "mallory@example.com",
		Decisions: []web.CodingDecision{{ResponseID: a.Decisions[0].ResponseID, QuestionID: a.Decisions[0].QuestionID}}}); !errors.Is(err, web.ErrCodingRefused) {
		t.Fatalf("the dashboard's batch from someone the access file does not name: %v", err)
	}

	// Only codes reach the warehouse, the first coder's decisions standing.
	var final, alices int
	if err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE final), count(*) FILTER (WHERE final AND coded_by = ?) FROM response_themes WHERE wave = ? AND ics = ?`,
			alice, wave, ics).Scan(&final, &alices)
	}); err != nil {
		t.Fatal(err)
	}
	if alices != 10 || final <= alices {
		t.Fatalf("response_themes: %d final codes, %d of them alice's (want 10)", final, alices)
	}

	// The worker reads the access file at each request: a grant taken out is refused
	// at once, and nothing is exported.
	writeAccess(alice, bob)
	if _, err := wc.ExportQDPX(ctx, wave, ics, namedReader); err == nil || !strings.Contains(err.Error(), "not in the access file") {
		t.Fatalf("an export for a reader whose grant was withdrawn: %v", err)
	}
	if _, err := os.Stat(filepath.Join(st.Store.Root(), schemas.ThemesQDPXKey(wave, ics))); !os.IsNotExist(err) {
		t.Fatalf("a refused export left %s: %v", schemas.ThemesQDPXKey(wave, ics), err)
	}
	writeAccess(alice, bob, namedReader)
	// Both refusals are in the audit trail, with who asked and why, as permanent
	// failures (one attempt each).
	trail, _, err := audit.Pending(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	refusals := map[string]int{}
	for _, e := range trail {
		switch {
		case e.Kind == "free_text_refused" && strings.Contains(e.Details, `"user":"mallory@example.com"`) && strings.Contains(e.Details, "theme decisions"):
			refusals["decisions"]++
		case e.Kind == "free_text_refused" && strings.Contains(e.Details, `"user":"named.reader@example.nhs.uk"`) && strings.Contains(e.Details, "qdpx export"):
			refusals["export"]++
		}
	}
	if refusals["decisions"] != 2 || refusals["export"] != 1 {
		t.Fatalf("refusals in the audit trail: %v, want two batches and one export", refusals)
	}
	exp, err := wc.ExportQDPX(ctx, wave, ics, namedReader)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(st.Store.Root(), exp.Key))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zip.NewReader(bytes.NewReader(data), int64(len(data))); err != nil || exp.Sources != 60 {
		t.Fatalf("qdpx of %d sources: %v", exp.Sources, err)
	}

	// A named reader chooses quotations for the profile's statements (as the demo does),
	// so the report quotes comments: the worker builds it only for a named reader.
	qr := &reader{accessFile: accessFile, user: namedReader}
	if err := demoChoices(ctx, io.Discard, st.Store, qr, wave, ics); err != nil {
		t.Fatal(err)
	}
	chosen, err := localindex.ChosenQuotes(ctx, st.Store, wave, ics, demoProfile)
	if err != nil || len(chosen) == 0 {
		t.Fatalf("no quotation chosen (%v): the report would not test the worker's check", err)
	}
	if _, err := wc.ProfileReport(ctx, wave, waveclient.ProfileReportRequest{ICS: ics, Profile: demoProfile, By: "mallory@example.com"}); err == nil ||
		!strings.Contains(err.Error(), `"mallory@example.com" is not in the access file`) {
		t.Fatalf("a report that quotes comments, for someone the access file does not name: %v", err)
	}
	if _, err := wc.ProfileReport(ctx, wave, waveclient.ProfileReportRequest{ICS: ics, Profile: demoProfile}); err == nil || !strings.Contains(err.Error(), "free text access refused") {
		t.Fatalf("a report that quotes comments, for no one named: %v", err)
	}

	// Mistyped input is refused before anything is audited (ice audit reads must say
	// only what happened): a decisions file with a mistyped response id (its line and
	// field named), an export of an ICS the coding does not code, or to a file that
	// cannot be written.
	ice := iceOnServer(t, ctx, st)
	onStore := []string{"--store", "file://" + st.Store.Root(), "--access", accessFile}
	ftAudit := dashdata.FreeTextStore{Store: st.Store}
	reads := func(ics string) int {
		t.Helper()
		evs, err := ftAudit.FreeTextReads(ctx, wave, ics)
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	if wc.ThemeCodingRunning(ctx, wave) != nil || (themeDecisionSender{cl: wc}).CodingRunning(ctx, wave) != nil {
		t.Fatal("the running coding is said not to run")
	}
	before := reads(ics)
	d2 := filepath.Join(t.TempDir(), "d2.tsv")
	if err := os.WriteFile(d2, []byte("# decisions\n"+red[30].ResponseID+"\t"+red[30].QuestionID+"\tnone\nRXXXXXXX\t"+red[31].QuestionID+"\tCON-\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ice(append([]string{"themes", "code", "--any-wave", "--wave", wave, "--for-ics", ics, "--coder", alice, "--decisions", d2}, onStore...)...); err == nil ||
		!strings.Contains(err.Error(), d2+" line 3 field response_id") {
		t.Errorf("a decisions file with a mistyped response id: %v", err)
	}
	for _, bad := range []struct{ ics, want string }{{"QXX", `codes no ICS "QXX" (it codes QMM)`}, {"qmm", "did you mean QMM?"}} {
		if _, err := ice(append([]string{"themes", "export", "--wave", wave, "--ics", bad.ics, "--by", namedReader, "--out", filepath.Join(t.TempDir(), "q.qdpx")}, onStore...)...); err == nil ||
			!strings.Contains(err.Error(), bad.want) {
			t.Errorf("an export of ICS %s: %v", bad.ics, err)
		}
		if n := reads(bad.ics); n != 0 {
			t.Errorf("%d audit records under the mistyped ICS %s", n, bad.ics)
		}
	}
	if _, err := ice(append([]string{"themes", "export", "--wave", wave, "--ics", ics, "--by", namedReader, "--out", filepath.Join(t.TempDir(), "nonexistent", "p.qdpx")}, onStore...)...); err == nil ||
		!strings.Contains(err.Error(), "nothing recorded or written") {
		t.Errorf("an export to a directory that does not exist: %v", err)
	}
	if n := reads(ics) - before; n != 0 {
		t.Errorf("%d reads, decisions or downloads audited that did not happen", n)
	}

	dir := t.TempDir()
	_, chromium := os.Stat(printpdf.ChromiumPath)
	dctx, dcancel := context.WithTimeout(ctx, 3*time.Minute) // on failure, the worker's errors are shown below
	paths, err := writeProfileReports(dctx, wc, st.Store, qr, wave, []string{ics}, []string{demoProfile}, chromium == nil, dir)
	dcancel()
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(st.DataDir, "worker.log"))
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, "rofile") || strings.Contains(l, "ERROR") || strings.Contains(l, "WARN") {
				t.Log(l)
			}
		}
		t.Fatal(err)
	}
	if want := map[bool]int{true: 2, false: 1}[chromium == nil]; len(paths) != want {
		t.Fatalf("report files %v, want %d", paths, want)
	}
	html, _ := os.ReadFile(paths[0])
	if !bytes.Contains(html, []byte("side by side")) || !bytes.Contains(html, []byte("synth-20261120-a")) {
		t.Fatalf("report %s lacks the side-by-side section or the session", paths[0])
	}
	// The session's record, written beside its notes, is what the table shows.
	if !bytes.Contains(html, []byte(`<th scope="row">synth-20261120-a</th><td>focus group</td><td>2026-11-20</td><td>6</td><td>yes</td>`)) {
		t.Errorf("report %s does not show the session's record", paths[0])
	}
	// The report quotes free text: it is taken away as a download of its files.
	evs, err := ftAudit.FreeTextReads(ctx, wave, ics)
	if err != nil {
		t.Fatal(err)
	}
	var downloads int
	for _, e := range evs {
		if !strings.HasPrefix(e.Query, "profile report "+demoProfile) {
			continue
		}
		if e.Action != freetext.ActionDownload || !e.Allowed || e.Query != fmt.Sprintf("profile report %s (%d files)", demoProfile, len(paths)) || e.RowsShown == 0 {
			t.Errorf("the report's copy recorded as %s allowed=%v %q of %d quotations; want a download naming its %d files", e.Action, e.Allowed, e.Query, e.RowsShown, len(paths))
		}
		downloads++
	}
	if downloads != 1 {
		t.Errorf("%d records of the report's copy, want 1", downloads)
	}

	if err := wc.FinishThemeCoding(ctx, wave); err != nil {
		t.Fatal(err)
	}
	end, err := wc.WaitThemeCoding(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	if !end.Finished || end.Batches != 2 || end.Runs != 3 {
		t.Fatalf("end %+v", end)
	}
	// Once finished, finishing again, asking it for an export, sending it decisions
	// or coding at the terminal, or a profile report, says it has ended and how to
	// start it again, not Temporal's "workflow execution already completed" — and
	// before any comment is shown or any read or decision audited.
	before = reads(ics)
	d9 := filepath.Join(t.TempDir(), "d9.tsv")
	d1 := filepath.Join(t.TempDir(), "d1.tsv")
	if err := os.WriteFile(d1, []byte(red[30].ResponseID+"\t"+red[30].QuestionID+"\tnone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	terminal := func(args ...string) error {
		out, err := ice(append(append([]string{"themes", "code", "--any-wave", "--wave", wave, "--for-ics", ics, "--coder", alice}, args...), onStore...)...)
		if strings.Contains(out, "Coding "+wave) {
			t.Errorf("comments shown after the coding finished:\n%s", out)
		}
		return err
	}
	for what, op := range map[string]func() error{
		"finish": func() error { return wc.FinishThemeCoding(ctx, wave) },
		"export": func() error { _, err := wc.ExportQDPX(ctx, wave, ics, "a.reader@example.nhs.uk"); return err },
		"decisions": func() error {
			_, err := wc.SendThemeDecisions(ctx, wave, ics, waveclient.ThemeBatch{Coder: alice, Decisions: a.Decisions[:1]})
			return err
		},
		"terminal --next":      func() error { return terminal("--next", "1", "--out", d9) },
		"terminal --decisions": func() error { return terminal("--decisions", d1) },
		"profile report": func() error {
			_, err := writeProfileReports(ctx, wc, st.Store, qr, wave, []string{ics}, []string{demoProfile}, false, t.TempDir())
			return err
		},
	} {
		err := op()
		if !errors.Is(err, waveclient.ErrEnded) && !strings.Contains(fmt.Sprint(err), "has ended") ||
			!strings.Contains(fmt.Sprint(err), "`ice themes code --wave "+wave+"` starts it again") {
			t.Errorf("%s after the coding finished: %v", what, err)
		}
		// Reports and exports are built by the running coding: the message says what
		// to do to have them.
		if (what == "export" || what == "profile report") && !strings.Contains(fmt.Sprint(err), "starts it again, to build reports and exports") {
			t.Errorf("%s after the coding finished: %v; want it to say the coding must run again to build reports and exports", what, err)
		}
	}
	if _, err := os.Stat(d9); !os.IsNotExist(err) {
		t.Errorf("a decisions file written after the coding finished: %v", err)
	}
	if n := reads(ics) - before; n != 0 {
		t.Errorf("%d reads or decisions audited after the coding finished", n)
	}
	// The dashboard's coding page is told the same.
	if err := (themeDecisionSender{cl: wc}).CodingRunning(ctx, wave); !errors.Is(err, web.ErrCodingEnded) || !strings.Contains(err.Error(), "starts it again") {
		t.Errorf("the dashboard asking whether the coding runs, after it finished: %v", err)
	}
	recordHistories(t, ctx, wc, map[string]string{"themes.json": workflows.ThemeCodingWorkflowID(wave)})
}
