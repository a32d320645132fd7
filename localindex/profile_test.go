package localindex

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"html/template"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"gopkg.in/yaml.v3"

	"icesurvey/localindex/printpdf"
	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

const reportProfile = "women-multimorbidity-heart"

// reportFixture builds a real warehouse with two ICSs' sample and responses, codes the
// free text of QMM, and writes a synthetic focus group's notes for the profile.
func reportFixture(t *testing.T) (context.Context, store.Store, *warehouse.Warehouse) {
	t.Helper()
	ctx, st, tr := fixture(t, 150)
	w, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "wh.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(xs ...string) string { return xs[rng.IntN(len(xs))] }
	units := make([]string, 0, len(tr))
	for u := range tr {
		units = append(units, u)
	}
	err = w.Write(ctx, func(tx *sql.Tx) error {
		for i := range 600 {
			ics := tICS
			if i%2 == 1 {
				ics = "QJK"
			}
			rec := fmt.Sprintf("rec-%04d", i)
			resp := fmt.Sprintf("resp-%04d", i)
			if ics == tICS && i/2 < 150 {
				resp = strings.Split(units[i/2], "/")[0] // the comment's response
			}
			if _, err := tx.Exec(`INSERT INTO sample VALUES (?, ?, ?, ?, 'A81001', 80, ?, ?, ?, 0.3, ?, DATE '2010-01-01', true, 'EX4')`,
				rec, tWave, ics, "ps-"+rec, pick("65-74", "75-84", "85+"), pick("1", "2"), pick("A", "H", "M"), pick("moderate", "severe")); err != nil {
				return err
			}
			if _, err := tx.Exec(`INSERT INTO responses (response_id, wave, ics, load_date, survey_record_id, respondent_type,
				questionnaire_version, channel, received_at, complete, source_sha256, "P_LONG_TERM_CONDITIONS", "P_MAIN_CONTACT", "P_INFO_SHARED", "P_CARE_PLAN")
				VALUES (?, ?, ?, DATE '2026-03-01', ?, 'patient', 'patient-2026.1', 'online', TIMESTAMP '2026-03-01 09:00:00', true, 'x', ?, ?, ?, ?)`,
				resp, tWave, ics, rec, pick("2", "3", "4"), pick("1", "1", "2", "3"), pick("1", "2", "3", "4"), pick("1", "2")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, At: tDay})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.LoadLakeObjects(ctx, st, tWave, tICS, []schemas.LakeObject{schemas.LakeResponseThemes.Object(res.ResponseThemesKey)}); err != nil {
		t.Fatal(err)
	}
	p, _ := profiles.Get(reportProfile)
	notes, err := profiles.SynthSession(profiles.SessionSpec{Profile: p, SessionID: "fg-test-a", Date: tDay, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, schemas.FreeTextRoot(tWave, tICS)+notes.Session.TranscriptKey, []byte(notes.Text)); err != nil {
		t.Fatal(err)
	}
	// Its record beside the notes, as ice synth sessions writes it: consent on record.
	rec, err := yaml.Marshal(notes.Session)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, schemas.FreeTextRoot(tWave, tICS)+profiles.SessionRecordKey(reportProfile, notes.Session.ID), rec); err != nil {
		t.Fatal(err)
	}
	return ctx, st, w
}

func gather(t *testing.T, ctx context.Context, st store.Store, w *warehouse.Warehouse) *ProfileData {
	t.Helper()
	var d *ProfileData
	if err := w.Read(ctx, func(db *sql.DB) error {
		var err error
		d, err = GatherProfile(ctx, st, db, ProfileReportInput{Wave: tWave, ICS: tICS, Profile: reportProfile, At: tDay})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestGatherProfileSideBySide(t *testing.T) {
	ctx, st, w := reportFixture(t)
	d := gather(t, ctx, st, w)
	if d.Cohort.Withheld || d.Cohort.Text == "0" {
		t.Fatalf("cohort %+v", d.Cohort)
	}
	var withEvidence, withThemes int
	for _, e := range d.Expectations {
		for _, q := range e.Survey {
			if len(q.Rows) != 3 {
				t.Fatalf("%s %s: %d rows, want cohort, ICS and England", e.ID, q.QuestionID, len(q.Rows))
			}
			if !q.Rows[2].Base.Withheld && q.Rows[2].Base.Text != "300" && q.Rows[2].Base.Text > "600" {
				t.Errorf("England base %s", q.Rows[2].Base.Text)
			}
			withEvidence++
		}
		if len(e.SurveyThemes) > 0 {
			withThemes++
		}
	}
	if withEvidence == 0 || withThemes == 0 {
		t.Fatalf("no survey evidence (%d) or themes (%d) beside the expectations", withEvidence, withThemes)
	}
	sessions := 0
	for _, s := range d.Sessions {
		if s.Found {
			sessions++
			if s.Contributions == 0 {
				t.Errorf("session %s: no contributions read", s.ID)
			}
		}
	}
	if sessions != 1 {
		t.Fatalf("%d sessions found, want the synthetic one", sessions)
	}
	// Counts from 1 to 4 are never shown.
	for _, c := range append(append([]ThemeCount{}, d.SurveyThemes...), d.SessionTotal...) {
		for _, f := range []Figure{c.Negative, c.Positive} {
			if !f.Withheld && f.Text != "0" && len(f.Text) == 1 && f.Text < "5" {
				t.Errorf("%s: count %s shown", c.Theme, f.Text)
			}
		}
	}
	var counts []ThemeCount
	if err := w.Read(ctx, func(db *sql.DB) error {
		var err error
		counts, err = ThemeCounts(ctx, db, tWave, tICS, "patient")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	shown := 0
	for _, c := range counts {
		for _, f := range []Figure{c.Negative, c.Positive} {
			if !f.Withheld && f.Text != "0" {
				shown++
				if len(f.Text) == 1 && f.Text < "5" {
					t.Errorf("%s: count %s shown", c.Theme, f.Text)
				}
			}
		}
	}
	if len(counts) != 6 || shown == 0 {
		t.Fatalf("ICS theme counts %+v", counts)
	}
	joined := strings.Join(d.Limitations, "\n")
	for _, want := range []string{"the linked conditions (", "are not applied. Linked health and care data is keyed by release pseudonyms", "Small samples", "saturation"} {
		if !strings.Contains(joined, want) {
			t.Errorf("limitations lack %q:\n%s", want, joined)
		}
	}
	// No quotation until a coder chooses one; no verdict until an analyst records one.
	for _, e := range d.Expectations {
		if len(e.Quotes) != 0 || e.Verdict != nil {
			t.Fatalf("%s: quotes %v, verdict %v before anyone chose or judged", e.ID, e.Quotes, e.Verdict)
		}
	}
	// Without a published release the ICS and England rows say so; the group's row is
	// weighted.
	for _, e := range d.Expectations {
		for _, q := range e.Survey {
			if !strings.Contains(q.Rows[0].Label, "weighted") || q.Rows[1].PctPos.Text != "no published release yet" {
				t.Fatalf("%s rows %+v", q.QuestionID, q.Rows)
			}
		}
	}
}

// TestChosenQuotesAndVerdicts: the machine's candidates are redacted and stable, a
// coder's choice and an analyst's verdict are recorded, validated and shown; the ICS
// and England rows are the published release's.
func TestChosenQuotesAndVerdicts(t *testing.T) {
	ctx, st, w := reportFixture(t)
	cands, err := Candidates(ctx, st, tWave, tICS, reportProfile)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) == 0 {
		t.Fatal("no candidate quotations from the session notes")
	}
	again, err := Candidates(ctx, st, tWave, tICS, reportProfile)
	if err != nil || len(again) != len(cands) || again[0].ID != cands[0].ID {
		t.Fatalf("candidate ids are not stable: %v", err)
	}
	var pick Candidate
	for _, c := range cands {
		if strings.Contains(c.Text, "07700") || len(c.Text) > maxQuoteLen {
			t.Errorf("candidate %s %q: personal data or too long", c.ID, c.Text)
		}
		if pick.ID == "" && len(c.Expectations) > 0 {
			pick = c
		}
	}
	if pick.ID == "" {
		t.Fatal("no candidate bears on any statement")
	}
	exp := pick.Expectations[0]
	at := tDay.Add(time.Hour)
	for _, bad := range []struct{ exp, cand, coder, want string }{
		{"no-such-statement", pick.ID, "coder.a", "no expected-care statement"},
		{exp, "000000000000", "coder.a", "no candidate quotation"},
		{exp, pick.ID, "", "named coder"},
	} {
		if _, err := ChooseQuote(ctx, st, tWave, tICS, reportProfile, bad.exp, bad.cand, bad.coder, at); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("choose %+v: %v, want %q", bad, err, bad.want)
		}
	}
	if _, err := ChooseQuote(ctx, st, tWave, tICS, reportProfile, exp, pick.ID, "coder.a", at); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		v    Verdict
		want string
	}{
		{Verdict{Expectation: exp, Verdict: "mostly", Analyst: "ann"}, "want one of met, partly, not_met"},
		{Verdict{Expectation: "nope", Verdict: VerdictMet, Analyst: "ann"}, "no expected-care statement"},
		{Verdict{Expectation: exp, Verdict: VerdictMet}, "named analyst"},
	} {
		if _, err := RecordVerdict(ctx, st, tWave, tICS, reportProfile, bad.v); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("verdict %+v: %v, want %q", bad.v, err, bad.want)
		}
	}
	for i, v := range []string{VerdictNotMet, VerdictPartly} {
		if _, err := RecordVerdict(ctx, st, tWave, tICS, reportProfile, Verdict{Expectation: exp, Verdict: v, Analyst: "ann", Note: "n", At: at.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	// A published release: the ICS's and England's rows are its figures.
	if err := w.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT INTO releases VALUES ('r9', ?, 'published', 'lead', TIMESTAMP '2026-03-10 12:00:00', '', 'test', '', '', 6, 0, 0, '', NULL)`, tWave); err != nil {
			return err
		}
		_, err := tx.Exec(`INSERT INTO published_results 
			SELECT 'r9', ?, g, i, 'all', 'all', 'patient', q, '1', '', 321, 300.5, 61.26, 55.5, 66.76, 290.1, 1.1, 'similar', '', 'not_needed' FROM (VALUES ('ics', ?), ('england', '')) t(g, i), (VALUES ('P_MAIN_CONTACT'), ('P_INFO_SHARED'), ('P_CARE_PLAN')) u(q)`, tWave, tICS)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	d := gather(t, ctx, st, w)
	if d.Release != "r9" {
		t.Fatalf("release %q", d.Release)
	}
	shown, published := 0, 0
	for _, e := range d.Expectations {
		for _, q := range e.Survey {
			for _, r := range q.Rows[1:] {
				if r.PctPos.Text == "61.3%" && r.Interval.Text == "55.5% to 66.8%" && r.Base.Text == "321" {
					published++
				}
			}
		}
		if e.ID != exp {
			if len(e.Quotes) != 0 {
				t.Errorf("%s shows quotations chosen for %s", e.ID, exp)
			}
			continue
		}
		if len(e.Quotes) != 1 || e.Quotes[0].Text != pick.Text || e.Quotes[0].Coder != "coder.a" {
			t.Fatalf("%s quotes %+v", e.ID, e.Quotes)
		}
		if e.Verdict == nil || e.Verdict.Verdict != VerdictPartly || e.Verdict.Analyst != "ann" {
			t.Fatalf("%s verdict %+v, want the latest (partly)", e.ID, e.Verdict)
		}
		shown++
	}
	if shown != 1 || published == 0 {
		t.Fatalf("statement %s shown %d times; %d published rows", exp, shown, published)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{pick.Text, "partly met", "chosen by coder.a", "No quotation chosen by a coder yet", "not yet recorded", "release r9"} {
		if !strings.Contains(buf.String(), template.HTMLEscapeString(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
	if err := UnchooseQuote(ctx, st, tWave, tICS, reportProfile, exp, pick.ID); err != nil {
		t.Fatal(err)
	}
	if q, err := ChosenQuotes(ctx, st, tWave, tICS, reportProfile); err != nil || len(q) != 0 {
		t.Fatalf("after withdrawing: %v %v", q, err)
	}
}

// TestProfileReportPassesAxe renders the report and checks it with the vendored
// axe-core in Debian's Chromium for WCAG 2.2 AA: zero violations. It also prints the
// report to PDF.
func TestProfileReportPassesAxe(t *testing.T) {
	if _, err := os.Stat(printpdf.ChromiumPath); err != nil {
		t.Skip("chromium not installed (infra/test.sh installs it)")
	}
	axe, err := os.ReadFile("../web/internal/browsertest/axe/axe-core-4.14.1/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	ctx, st, w := reportFixture(t)
	// A chosen quotation and a verdict, so their markup is checked too.
	cands, err := Candidates(ctx, st, tWave, tICS, reportProfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cands {
		if len(c.Expectations) > 0 {
			if _, err := ChooseQuote(ctx, st, tWave, tICS, reportProfile, c.Expectations[0], c.ID, "coder.a", tDay); err != nil {
				t.Fatal(err)
			}
			if _, err := RecordVerdict(ctx, st, tWave, tICS, reportProfile, Verdict{Expectation: c.Expectations[0], Verdict: VerdictNotMet, Analyst: "ann", Note: "n", At: tDay}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	d := gather(t, ctx, st, w)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	profile := t.TempDir()
	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(printpdf.ChromiumPath), chromedp.Headless, chromedp.NoFirstRun,
		chromedp.UserDataDir(profile), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	defer cancel()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	tctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()
	for _, width := range []int64{320, 1280} {
		if err := chromedp.Do(tctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate("file://"+path)); err != nil {
			t.Fatal(err)
		}
		if _, err := chromedp.Run(tctx, chromedp.Evaluate[bool](string(axe)+"\n;true")); err != nil {
			t.Fatal(err)
		}
		raw, err := chromedp.Run(tctx, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: 'tag', values: ["wcag2a","wcag2aa","wcag21a","wcag21aa","wcag22aa"]}, resultTypes: ['violations']})
			.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))))`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		var vs []struct {
			ID, Help string
			Nodes    []string
		}
		if err := json.Unmarshal([]byte(raw), &vs); err != nil {
			t.Fatal(err)
		}
		for _, v := range vs {
			t.Errorf("%d px: axe-core %s: %s at %v", width, v.ID, v.Help, v.Nodes)
		}
		t.Logf("%d px: axe-core 4.14.1, WCAG 2.2 AA: %d violations", width, len(vs))
	}

	pdf, err := printpdf.Print(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 5000 {
		t.Fatalf("PDF of %d bytes starting %q", len(pdf), pdf[:min(8, len(pdf))])
	}
	t.Logf("PDF %d bytes", len(pdf))
}

// TestProfileReleaseIsTheLatestWithTheICS: the ICS's and England's rows come from the
// latest published release with figures for the ICS, not a later one that left it
// out (whose England is the other ICSs' alone, and says so); an ICS without sessions
// has "no sessions" in its session columns, not a withheld count.
func TestProfileReleaseIsTheLatestWithTheICS(t *testing.T) {
	ctx, st, w := reportFixture(t)
	if err := w.Write(ctx, func(tx *sql.Tx) error {
		// r2 was drafted with its own parameters (a smaller minimum base, which the
		// local index does not follow, a larger caution base and 90 % intervals, which
		// it does); r1 was written before releases recorded theirs.
		r2Params := `[{"name":"confidence","value":"0.9"},{"name":"z","value":"1.6448536269514724"},{"name":"min_base","value":"5"},{"name":"caution_base","value":"50"}]`
		for _, r := range []struct {
			id, status, at, pub, notPub string
			icss                        []string
			pct                         float64
			params                      any
		}{
			{"r1", "published", "2026-03-10 12:00:00", "QJK;QMM", "", []string{"QJK", "QMM"}, 61.26, nil},
			{"r2", "published", "2026-03-20 12:00:00", "QMM", "QJK", []string{"QMM"}, 72.04, r2Params},
			{"r3", "draft", "2026-03-30 12:00:00", "QJK;QMM", "", []string{"QJK", "QMM"}, 83.3, nil},
		} {
			if _, err := tx.Exec(`INSERT INTO releases VALUES (?, ?, ?, 'lead', CAST(? AS TIMESTAMP), '', 'test', ?, ?, 6, 0, 0, '', ?)`,
				r.id, tWave, r.status, r.at, r.pub, r.notPub, r.params); err != nil {
				return err
			}
			for _, geo := range append(r.icss, "") {
				g := "ics"
				if geo == "" {
					g = "england"
				}
				if _, err := tx.Exec(`INSERT INTO published_results
			SELECT ?, ?, ?, ?, 'all', 'all', 'patient', q, '1', '', 321, 300.5, ?, 55.5, 66.76, 290.1, 1.1, 'similar', '', 'not_needed' FROM (VALUES ('P_MAIN_CONTACT'), ('P_INFO_SHARED'), ('P_CARE_PLAN'), ('P_WORK_TOGETHER')) u(q)`,
					r.id, tWave, g, geo, r.pct); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ics, release, ics0, england, pct, limitation, sessions string
		// interval is the survey tables' interval heading; minBase and cautionBase the
		// small-number rule the report uses.
		interval             string
		minBase, cautionBase int
	}{
		{"QJK", "r1", "Everyone in QJK (as published, release r1)", "England (as published, release r1)", "61.3%",
			"the latest published release of wave W1 with figures for QJK (published release r2 leaves QJK out)", "no sessions", "95% interval", 10, 30},
		{"QMM", "r2", "Everyone in QMM (as published, release r2)", "England (as published, release r2: its ICSs with figures, QMM, not QJK)", "72.0%",
			"Its England is the aggregate of the ICSs it publishes (QMM), not of QJK", "", "90% interval", 10, 50},
	} {
		var d *ProfileData
		if err := w.Read(ctx, func(db *sql.DB) error {
			var err error
			d, err = GatherProfile(ctx, st, db, ProfileReportInput{Wave: tWave, ICS: c.ics, Profile: reportProfile, At: tDay})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if d.Release != c.release {
			t.Errorf("%s: release %q, want %q", c.ics, d.Release, c.release)
		}
		if d.Disclosure.MinBase != c.minBase || d.Disclosure.CautionBase != c.cautionBase || d.Params.Disclosure != d.Disclosure {
			t.Errorf("%s: small-number rule %+v (params %+v), want min_base %d, caution_base %d", c.ics, d.Disclosure, d.Params.Disclosure, c.minBase, c.cautionBase)
		}
		var page strings.Builder
		if err := WriteHTML(&page, d); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(page.String(), ">"+c.interval+"<") {
			t.Errorf("%s: the report's survey tables are not headed %q", c.ics, c.interval)
		}
		wilson := strings.TrimSuffix(c.interval, " interval") + " Wilson intervals"
		if joined := strings.Join(d.Limitations, "\n"); !strings.Contains(joined, wilson) || !strings.Contains(joined, fmt.Sprintf("rows under %d respondents are marked", c.cautionBase)) {
			t.Errorf("%s: limitations do not say %q and caution under %d:\n%s", c.ics, wilson, c.cautionBase, joined)
		}
		rows := 0
		for _, e := range d.Expectations {
			for _, q := range e.Survey {
				rows++
				if q.Rows[1].Label != c.ics0 || q.Rows[2].Label != c.england || q.Rows[1].PctPos.Text != c.pct || q.Rows[2].PctPos.Text != c.pct {
					t.Errorf("%s %s: rows %+v", c.ics, q.QuestionID, q.Rows[1:])
				}
			}
		}
		if rows == 0 {
			t.Fatalf("%s: no survey evidence", c.ics)
		}
		if joined := strings.Join(d.Limitations, "\n"); !strings.Contains(joined, c.limitation) {
			t.Errorf("%s: limitations lack %q:\n%s", c.ics, c.limitation, joined)
		}
		for _, tc := range d.SessionTotal {
			if c.sessions != "" && (tc.Negative != Figure{Text: c.sessions} || tc.Positive != Figure{Text: c.sessions}) {
				t.Errorf("%s: session counts of %s: %+v %+v, want %q", c.ics, tc.Theme, tc.Negative, tc.Positive, c.sessions)
			}
			if c.sessions == "" && (tc.Negative.Text == "no sessions" || tc.Positive.Text == "no sessions") {
				t.Errorf("%s: session counts of %s say no sessions, though it has one", c.ics, tc.Theme)
			}
		}
	}
}

// TestVerdictNoteIdentifiesNoOne: a verdict's note with personal data is refused where
// it is stored, naming the field and the kinds but not the note's text, and nothing
// is written; a note stored before the check (written straight to the store here) is
// shown redacted in the report; a note naming no one is kept and shown as written.
func TestVerdictNoteIdentifiesNoOne(t *testing.T) {
	ctx, st, w := reportFixture(t)
	p, err := profiles.Get(reportProfile)
	if err != nil {
		t.Fatal(err)
	}
	exp, other := p.ExpectedCare[0].ID, p.ExpectedCare[1].ID
	const note = "Mrs Jane Smith, NHS number 943 476 5919, 07700 900123, 12 High Street NR1 3QU said rehab never happened"
	identifying := []string{"Jane", "Smith", "943 476 5919", "07700 900123", "12 High Street", "NR1 3QU"}
	_, err = RecordVerdict(ctx, st, tWave, tICS, reportProfile, Verdict{Expectation: exp, Verdict: VerdictNotMet, Analyst: "ann", Note: note, At: tDay})
	if err == nil {
		t.Fatal("a note with a name, NHS number, phone number, address and postcode was recorded")
	}
	for _, want := range []string{"--note", "nhs number", "phone", "postcode", "address", "name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	for _, s := range identifying {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q repeats %q from the note", err, s)
		}
	}
	if infos, err := st.List(ctx, schemas.ProfileVerdictsPrefix(tWave, tICS, reportProfile)); err != nil || len(infos) != 0 {
		t.Fatalf("after the refusal the store holds %v (%v)", infos, err)
	}

	// Recorded before the check: stored as given.
	old, err := json.Marshal(Verdict{Expectation: exp, Verdict: VerdictNotMet, Analyst: "ann", Note: note, At: tDay})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, schemas.ProfileVerdictKey(tWave, tICS, reportProfile, exp, tDay), old); err != nil {
		t.Fatal(err)
	}
	const clean = "Rehab was not offered after discharge; the ICS's own audit agrees."
	if _, err := RecordVerdict(ctx, st, tWave, tICS, reportProfile, Verdict{Expectation: other, Verdict: VerdictPartly, Analyst: "ann", Note: clean, At: tDay}); err != nil {
		t.Fatalf("a note naming no one: %v", err)
	}
	d := gather(t, ctx, st, w)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, s := range identifying {
		if strings.Contains(html, s) {
			t.Errorf("the report shows %q from a stored note", s)
		}
	}
	for _, want := range []string{"[NHS NUMBER]", "said rehab never happened", clean} {
		if !strings.Contains(html, template.HTMLEscapeString(want)) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// The sessions table says what the sessions found record, and the limitations agree
// with it: fg-test-a's notes have their record beside them (as ice synth sessions
// writes it) and fg-test-b's have none. Neither is in the profile's definition, which
// lists no session: the report must not say no sessions are recorded while it counts
// their themes, nor show "(no method) | (no date) | 0 | no" for a recorded session.
func TestProfileReportSaysWhatTheSessionsFoundRecord(t *testing.T) {
	ctx, st, w := reportFixture(t)
	p, _ := profiles.Get(reportProfile)
	if len(p.Sessions) != 0 {
		t.Fatalf("the test wants a profile that lists no session; %s lists %d", reportProfile, len(p.Sessions))
	}
	a, err := profiles.SynthSession(profiles.SessionSpec{Profile: p, SessionID: "fg-test-a", Date: tDay, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := yaml.Marshal(a.Session)
	if err != nil {
		t.Fatal(err)
	}
	root := schemas.FreeTextRoot(tWave, tICS)
	if err := store.PutBytes(ctx, st, root+profiles.SessionRecordKey(reportProfile, "fg-test-a"), rec); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, root+profiles.TranscriptKey(reportProfile, "fg-test-b"), []byte(a.Text)); err != nil {
		t.Fatal(err)
	}
	d := gather(t, ctx, st, w)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	html := buf.String()
	for _, want := range []string{
		`<th scope="row">fg-test-a</th><td>focus group</td><td>` + tDay.Format(time.DateOnly) + `</td><td>6</td><td>yes</td>`,
		`<th scope="row">fg-test-b</th><td class="ice-withheld">not recorded</td>`,
		RecordedBeside, "nowhere: notes only",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the sessions table lacks %q", want)
		}
	}
	joined := strings.Join(d.Limitations, "\n")
	if strings.Contains(joined, profiles.WarnNoSessions) {
		t.Errorf("the limitations say %q while the report reads two sessions' notes:\n%s", profiles.WarnNoSessions, joined)
	}
	for _, want := range []string{"2 sessions' notes read from the free-text area are not in the profile's definition", "fg-test-a, fg-test-b",
		"No session record (method, date, participants, consent) was found beside the notes of fg-test-b", "the notes were not used"} {
		if !strings.Contains(joined, want) {
			t.Errorf("the limitations lack %q:\n%s", want, joined)
		}
	}
	// fg-test-b's notes are fg-test-a's text, but without consent on record they are
	// neither counted nor offered for quotation: what is counted and offered is
	// fg-test-a's alone.
	for _, s := range d.Sessions {
		switch s.ID {
		case "fg-test-a":
			if s.Contributions == 0 {
				t.Errorf("fg-test-a, with its consent on record: no contributions read")
			}
		case "fg-test-b":
			if s.Contributions != 0 {
				t.Errorf("fg-test-b, with no record of consent: %d contributions read, want none", s.Contributions)
			}
		}
	}
	cands, err := Candidates(ctx, st, tWave, tICS, reportProfile)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) == 0 {
		t.Errorf("no quotation offered from fg-test-a, whose consent is on record")
	}
	for _, c := range cands {
		if c.Source == "session fg-test-b" {
			t.Errorf("a quotation offered from fg-test-b, whose consent is not on record: %q", c.Text)
		}
	}
	if !strings.Contains(html, "not used: consent not on record") {
		t.Errorf("the sessions table does not say fg-test-b's notes were not used")
	}

	// A quotation chosen from fg-test-a while its consent was on record is not shown
	// once its record says consent is not.
	i := slices.IndexFunc(cands, func(c Candidate) bool { return len(c.Expectations) > 0 })
	if i < 0 {
		t.Fatalf("no candidate of fg-test-a is offered for a statement")
	}
	pick := cands[i]
	if _, err := ChooseQuote(ctx, st, tWave, tICS, reportProfile, pick.Expectations[0], pick.ID, "coder.a", tDay); err != nil {
		t.Fatal(err)
	}
	shown := func() int {
		n := 0
		for _, e := range gather(t, ctx, st, w).Expectations {
			n += len(e.Quotes)
		}
		return n
	}
	if n := shown(); n != 1 {
		t.Fatalf("quotations shown with fg-test-a's consent on record: %d, want 1", n)
	}
	a.Session.ConsentRecorded = false
	if rec, err = yaml.Marshal(a.Session); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, root+profiles.SessionRecordKey(reportProfile, "fg-test-a"), rec); err != nil {
		t.Fatal(err)
	}
	if n := shown(); n != 0 {
		t.Errorf("quotations shown from fg-test-a after its record says consent is not recorded: %d, want 0", n)
	}
	if lim := strings.Join(gather(t, ctx, st, w).Limitations, "\n"); !strings.Contains(lim, "1 quotation chosen from sessions whose consent is not on record is not shown") {
		t.Errorf("the limitations do not say a chosen quotation is not shown:\n%s", lim)
	}
}

// Printed (A4, 15 mm margins: 680 px wide, print media), no table header is broken
// inside a word ("Respon/dents", "% positi/ve"), and definitions' values are shown in
// words ("in place", not in_place).
func TestProfileReportKeepsWordsWhole(t *testing.T) {
	if _, err := os.Stat(printpdf.ChromiumPath); err != nil {
		t.Skip("chromium not installed (infra/test.sh installs it)")
	}
	ctx, st, w := reportFixture(t)
	d := gather(t, ctx, st, w)
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"in_place", "to_be_recorded", "not_yet_contacted"} {
		if bytes.Contains(buf.Bytes(), []byte(">"+raw+"<")) || bytes.Contains(buf.Bytes(), []byte(": "+raw+"<")) {
			t.Errorf("the report shows the raw value %s", raw)
		}
	}
	if !bytes.Contains(buf.Bytes(), []byte("<dt>Status</dt><dd>to be recorded</dd>")) {
		t.Errorf("no statement's status in words")
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(printpdf.ChromiumPath), chromedp.Headless, chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	defer cancel()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	tctx, cancelT := context.WithTimeout(bctx, 90*time.Second)
	defer cancelT()
	if _, err := chromedp.Call(tctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(tctx, chromedp.EmulateViewport(680, 900), chromedp.Navigate("file://"+path)); err != nil {
		t.Fatal(err)
	}
	raw, err := chromedp.Run(tctx, chromedp.Evaluate[string](`JSON.stringify((() => { const bad = [];
		for (const th of document.querySelectorAll('thead th')) {
			const t = th.firstChild; if (!t || t.nodeType !== 3) continue;
			let i = 0;
			for (const w of t.data.split(' ')) {
				const r = document.createRange(); r.setStart(t, i); r.setEnd(t, i + w.length);
				if (w.length > 1 && r.getClientRects().length > 1) bad.push(w);
				i += w.length + 1;
			}
		}
		return [...new Set(bad)]; })())`))
	if err != nil {
		t.Fatal(err)
	}
	var broken []string
	if err := json.Unmarshal([]byte(raw), &broken); err != nil {
		t.Fatal(err)
	}
	if len(broken) > 0 {
		t.Errorf("table headers broken inside words at print width: %v", broken)
	}
}

// A worker that runs outside the repository (a deployed one: no web/static beside it)
// still inlines the nhsuk-frontend stylesheet: it is in the binary, not looked for from
// the working directory.
func TestReportInlinesTheStylesheetOutsideTheRepo(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := profiles.Get(reportProfile)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	res, err := WriteReport(ctx, st, &ProfileData{Wave: tWave, ICS: tICS, Profile: p, At: tDay}, nil)
	if err != nil {
		t.Fatal(err)
	}
	html, err := store.ReadAll(ctx, st, res.HTMLKey)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(html, []byte("<style></style>")) || !bytes.Contains(html, []byte(".nhsuk-main-wrapper{")) {
		t.Errorf("the report written outside the repository lacks the nhsuk-frontend stylesheet (%d bytes)", len(html))
	}
}
