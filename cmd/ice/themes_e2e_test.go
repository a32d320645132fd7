//go:build !production

package main

import (
	"archive/zip"
	"bytes"
	"context"
	"database/sql"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/localindex"
	"icesurvey/localindex/printpdf"
	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/themes"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// TestThemeCodingEndToEnd runs the local index on the embedded Temporal server with the
// real worker, store and warehouse: a wave's free text (as the daily load leaves it)
// is coded, two coders' batches arrive as updates (one refused by its validator),
// the codes reach the warehouse's response_themes, the kappa is reported, a .qdpx is
// exported and a profile report is written, and the workflow finishes.
func TestThemeCodingEndToEnd(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave, ics = "e2e-themes", "QMM"
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

	red, err := localindex.ReadRedacted(ctx, st.Store, wave, ics)
	if err != nil {
		t.Fatal(err)
	}
	burden := themes.ThemeCode{Theme: "burden", Polarity: themes.Negative}
	a := waveclient.ThemeBatch{ID: "a", Coder: "alice"}
	b := waveclient.ThemeBatch{ID: "b", Coder: "bob"}
	for i, c := range red[:20] {
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
	if res.Recorded != 20 || res.ICS.CodedByPeople != 20 || res.Report.DoubleCoded != 20 || len(res.Report.Kappa) != 6 {
		t.Fatalf("second batch %+v", res)
	}
	bad := waveclient.ThemeBatch{ID: "c", Coder: "", Decisions: a.Decisions[:1]}
	if _, err := wc.SendThemeDecisions(ctx, wave, ics, bad); err == nil || !strings.Contains(err.Error(), "coder") {
		t.Fatalf("a batch without a coder: %v", err)
	}

	// Only codes reach the warehouse, the first coder's decisions standing.
	var final, alice int
	if err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE final), count(*) FILTER (WHERE final AND coded_by = 'alice') FROM response_themes WHERE wave = ? AND ics = ?`,
			wave, ics).Scan(&final, &alice)
	}); err != nil {
		t.Fatal(err)
	}
	if alice != 10 || final <= alice {
		t.Fatalf("response_themes: %d final codes, %d of them alice's (want 10)", final, alice)
	}

	exp, err := wc.ExportQDPX(ctx, wave, ics, "named.reader")
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

	dir := t.TempDir()
	_, chromium := os.Stat(printpdf.ChromiumPath)
	dctx, dcancel := context.WithTimeout(ctx, 3*time.Minute) // on failure, the worker's errors are shown below
	paths, err := writeProfileReports(dctx, wc, st.Store, &reader{}, wave, []string{ics}, []string{"women-multimorbidity-heart"}, chromium == nil, dir)
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
	recordHistories(t, ctx, wc, map[string]string{"themes.json": workflows.ThemeCodingWorkflowID(wave)})
}
