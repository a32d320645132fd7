package localindex

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
	res, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, Run: 1, At: tDay})
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
	for _, want := range []string{"linked_conditions", "Small samples", "saturation"} {
		if !strings.Contains(joined, want) {
			t.Errorf("limitations lack %q:\n%s", want, joined)
		}
	}
	// No personal data from the notes reaches a quotation.
	for _, e := range d.Expectations {
		for _, q := range e.Quotes {
			if strings.Contains(q, "07700") || strings.Contains(q, "Dr ") && !strings.Contains(q, "[NAME]") {
				t.Errorf("quotation %q holds personal data", q)
			}
		}
	}
}

// TestProfileReportPassesAxe renders the report and checks it with the vendored
// axe-core in Debian's Chromium for WCAG 2.2 AA: zero violations. It also prints the
// report to PDF.
func TestProfileReportPassesAxe(t *testing.T) {
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Skip("chromium not installed (infra/test.sh installs it)")
	}
	axe, err := os.ReadFile("../web/internal/browsertest/axe/axe-core-4.14.1/axe.min.js")
	if err != nil {
		t.Fatal(err)
	}
	ctx, st, w := reportFixture(t)
	d := gather(t, ctx, st, w)
	css, ok := FindStylesheet(".")
	if !ok {
		t.Fatal("the vendored nhsuk-frontend stylesheet was not found from the package directory")
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d, css); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	profile := t.TempDir()
	actx, cancel := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoFirstRun,
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

	pdf, err := PrintPDF(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 5000 {
		t.Fatalf("PDF of %d bytes starting %q", len(pdf), pdf[:min(8, len(pdf))])
	}
	t.Logf("PDF %d bytes", len(pdf))
}
