//go:build !production

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"icesurvey/access"
	"icesurvey/freetext"
	"icesurvey/infra/devstack"
	"icesurvey/localindex"
	"icesurvey/localindex/printpdf"
	"icesurvey/profiles"
	"icesurvey/store"
	"icesurvey/themes"
	"icesurvey/waveclient"
	"icesurvey/wavespec"
	"icesurvey/web/dashdata"
	"icesurvey/workflows"
)

// demoProfile is the profile the demo reports on.
const demoProfile = "women-multimorbidity-heart"

// demoCoders are the demo's two stand-in coders, named free-text readers in its access
// file (demoAccessYAML).
var demoCoders = [2]string{"coder.a@example.nhs.uk", "coder.b@example.nhs.uk"}

// demoLocalIndex is the demo's local index (#17): the wave's free text coded to the
// six themes, two demo coders' batches (the blind double-coded sample gives kappa),
// synthetic focus-group notes for a profile, and the profile's report as HTML and PDF.
// The demo coders are stand-ins: the first confirms the machine's suggestions and the
// second codes by the codebook's transparent rules, so their kappa measures how
// far the two machines' halves agree, not people.
func demoLocalIndex(ctx context.Context, out *os.File, st *devstack.Stack, wc *waveclient.Client, spec *wavespec.Spec, accessFile, dir string) error {
	wave, codes := spec.WaveID, spec.Codes()
	fmt.Fprintf(out, "\nLocal index: coding the free text of %s to the six integration themes…\n", wave)
	if _, err := wc.StartThemeCoding(ctx, wave, codes); err != nil {
		return err
	}
	stop := reportRetrying(ctx, out, under(wc, watching(workflows.ThemeCodingWorkflowID(wave))))
	status, err := wc.WaitThemesCoded(ctx, wave)
	stop()
	if err != nil {
		return err
	}
	printCodedTo(out, status.ICS)
	ics := codes[0]
	comments, err := localindex.ReadRedacted(ctx, st.Store, wave, ics)
	if err != nil {
		return err
	}
	cb := themes.Default()
	a := waveclient.ThemeBatch{ID: wave + "-coder-a", Coder: demoCoders[0]}
	b := waveclient.ThemeBatch{ID: wave + "-coder-b", Coder: demoCoders[1]}
	for _, c := range comments {
		// The evaluation slice is left to real coders: a stand-in that copies the
		// machine would make the wave's held-out figures flatter it.
		if c.Evaluation || (c.QueuePosition > 60 && !c.DoubleCoded) {
			continue
		}
		var scores []themes.ThemeScore
		if err := json.Unmarshal([]byte(c.Scores), &scores); err != nil {
			return err
		}
		d := waveclient.ThemeDecision{ResponseID: c.ResponseID, QuestionID: c.QuestionID}
		for _, s := range scores {
			if s.Suggested() {
				d.Themes = append(d.Themes, themes.ThemeCode{Theme: s.Theme, Polarity: s.Polarity})
			}
		}
		a.Decisions = append(a.Decisions, d)
		if c.DoubleCoded {
			r := waveclient.ThemeDecision{ResponseID: c.ResponseID, QuestionID: c.QuestionID}
			seen := map[string]bool{}
			for _, h := range cb.Rules(c.Text) {
				if !seen[h.Theme] {
					seen[h.Theme] = true
					r.Themes = append(r.Themes, themes.ThemeCode{Theme: h.Theme, Polarity: h.Polarity})
				}
			}
			b.Decisions = append(b.Decisions, r)
		}
	}
	texts := map[string]string{}
	for _, c := range comments {
		texts[localindex.UnitID(c.ResponseID, c.QuestionID)] = c.Text
	}
	audit := dashdata.FreeTextStore{Store: st.Store}
	for _, batch := range []waveclient.ThemeBatch{a, b} {
		if len(batch.Decisions) == 0 {
			continue
		}
		res, err := demoCode(ctx, audit, wc, accessFile, wave, ics, texts, batch)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %s: %d decisions from %s recorded\n", ics, res.Recorded, batch.Coder)
	}
	notes, err := synthSessions(ctx, st.Store, demoProfile, wave, ics, "", "focus_group", time.Now().UTC(), 2, 1)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  synthetic focus-group notes for %s written to the free-text area of %s (%d sessions)\n", demoProfile, ics, len(notes)-1)
	// The demo's dashboard user, a named free-text reader of the ICS, chooses the
	// candidate quotation that suits each statement best (demoQuoteScore), and records a
	// verdict on the first statement: stand-ins for a coder's and an analyst's
	// judgement, so the report shows both.
	rd := &reader{accessFile: accessFile, user: demoDashboardUser}
	if err := demoChoices(ctx, out, st.Store, rd, wave, ics); err != nil {
		return err
	}
	_, chromium := os.Stat(printpdf.ChromiumPath)
	paths, err := writeProfileReports(ctx, wc, st.Store, rd, wave, []string{ics}, []string{demoProfile}, chromium == nil, dir)
	if err != nil {
		return err
	}
	final, err := wc.ThemeStatus(ctx, wave)
	if err != nil {
		return err
	}
	if final.Report != nil {
		fmt.Fprintf(out, "\n%s", final.Report.Text)
	}
	fmt.Fprintf(out, "\nLocal index outputs\n")
	fmt.Fprintf(out, "  response_themes (warehouse)     %s\n", st.Warehouse.Path())
	for _, p := range paths {
		fmt.Fprintf(out, "  profile report                  %s\n", p)
	}
	if chromium != nil {
		fmt.Fprintf(out, "  (no PDF: %s is not installed)\n", printpdf.ChromiumPath)
	}
	demoLocalIndexTry(out, wave, st.Server.HostPort(), st.Store.URL(), accessFile)
	return nil
}

// demoCode sends a demo stand-in coder's batch as a coder's is sent: the coder's grant
// checked (a refusal audited), the comments decided recorded as read for coding (the
// second stand-in reads their text), then the batch sent and each decision recorded
// once the worker has accepted it (sendRecorded). texts is the redacted text by unit.
func demoCode(ctx context.Context, audit freeTextAuditor, sender themeSender, accessFile, wave, ics string, texts map[string]string,
	batch waveclient.ThemeBatch) (waveclient.ThemeDecisionsResult, error) {
	r, err := namedReader(ctx, accessFile, batch.Coder, audit, wave, []string{ics}, freetext.ActionCode)
	if err != nil {
		return waveclient.ThemeDecisionsResult{}, err
	}
	comments := make([]freetext.Comment, len(batch.Decisions))
	for i, d := range batch.Decisions {
		comments[i] = freetext.Comment{ResponseID: d.ResponseID, QuestionID: d.QuestionID, Text: texts[localindex.UnitID(d.ResponseID, d.QuestionID)]}
	}
	req := freetext.Request{UserID: batch.Coder, ICS: ics, Action: freetext.ActionCode, At: r.now()}
	_, ev, err := freetext.Read(access.FreeTextGrants(r.user), req, wave, fmt.Sprintf("coding: %d comments (demo stand-in coder)", len(comments)), comments, nil)
	if aerr := audit.RecordFreeText(ctx, ev); aerr != nil {
		return waveclient.ThemeDecisionsResult{}, fmt.Errorf("recording the coding read: %w", aerr)
	}
	if err != nil {
		return waveclient.ThemeDecisionsResult{}, err
	}
	return sendRecorded(ctx, r, sender, wave, ics, batch)
}

// demoLocalIndexTry prints commands to try on the demo's local index, as they run
// when pasted: the demo's Temporal (while ice demo --serve runs), its store and its
// access file named.
func demoLocalIndexTry(out io.Writer, wave, address, storeURL, accessFile string) {
	fmt.Fprintf(out, "Try (while ice demo --serve runs): ice themes report --wave %s --address %s --store %s\n", wave, address, storeURL)
	fmt.Fprintf(out, "     ice themes export --wave %s --out project.qdpx --by %s --access %s --store %s --address %s\n", wave, demoDashboardUser, accessFile, storeURL, address)
	fmt.Fprintf(out, "     who read the free text (the quotations chosen above, and every page the dashboard shows): ice audit reads --store %s --wave %s\n", storeURL, wave)
}

func printCodedTo(out *os.File, icss []waveclient.ThemeCodingICS) {
	for _, s := range icss {
		if s.Last == nil {
			continue
		}
		fmt.Fprintf(out, "  %s: %d comments, %d pieces of personal data redacted, %d with suggested themes\n", s.ICS, s.Last.Comments, s.Last.Redactions, s.Last.Suggested)
	}
}

// demoReportsDir is where the demo writes its profile reports.
func demoReportsDir(dataDir, wave string) string { return filepath.Join(dataDir, "reports", wave) }

// demoQuoteScore is how well a candidate quotation suits a statement, as the demo's
// stand-in coder judges it: the statement's themes it bears on first, then the
// statement's own words it uses ("cardiac" for a statement about cardiac
// rehabilitation). A person reads them; the demo would otherwise quote the first
// comment that shares a theme, however far from the statement ("the food on the ward
// was cold" for cardiac rehabilitation).
func demoQuoteScore(e profiles.Expectation, c localindex.Candidate) int {
	score := 0
	for _, t := range c.Themes {
		if slices.Contains(e.Themes, t) {
			score += 100
		}
	}
	text := strings.ToLower(c.Text)
	seen := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(e.ID+" "+e.Statement), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if len(w) >= 5 && !seen[w] && strings.Contains(text, w) {
			seen[w] = true
			score++
		}
	}
	return score
}

// demoChoices has the demo's reader choose a quotation for each statement of the demo
// profile that a candidate bears on, and record one verdict.
// demoQuotePick is the quotation the demo's stand-in chooses for one statement.
type demoQuotePick struct{ expectation, candidate string }

// demoQuotePicks chooses, for each statement in turn, the candidate that suits it best
// (demoQuoteScore). A quotation already under another statement is taken again only
// when the statement has no other: a report quoting one comment twice says less.
func demoQuotePicks(statements []profiles.Expectation, cands []localindex.Candidate) []demoQuotePick {
	var picks []demoQuotePick
	used := map[string]bool{}
	for _, e := range statements {
		best, bestScore, bestUsed := "", 0, false
		for _, c := range cands {
			if !slices.Contains(c.Expectations, e.ID) {
				continue
			}
			score := demoQuoteScore(e, c)
			if best == "" || bestUsed && !used[c.ID] || bestUsed == used[c.ID] && score > bestScore {
				best, bestScore, bestUsed = c.ID, score, used[c.ID]
			}
		}
		if best != "" {
			used[best] = true
			picks = append(picks, demoQuotePick{e.ID, best})
		}
	}
	return picks
}

func demoChoices(ctx context.Context, out io.Writer, st store.Store, rd *reader, wave, ics string) error {
	p, err := profiles.Lookup(ctx, st, demoProfile)
	if err != nil {
		return err
	}
	pf := profileFlags{wave: wave, ics: ics, profile: demoProfile}
	cands, err := localindex.Candidates(ctx, st, wave, ics, demoProfile)
	if err != nil {
		return err
	}
	for _, pick := range demoQuotePicks(p.ExpectedCare, cands) {
		pf.expectation = pick.expectation
		if _, err := chooseQuote(ctx, out, "  ", st, rd, pf, pick.candidate, false); err != nil {
			return err
		}
	}
	if len(p.ExpectedCare) > 0 {
		pf.expectation = p.ExpectedCare[0].ID
		if _, err := recordVerdict(ctx, st, pf, localindex.Verdict{Expectation: pf.expectation, Verdict: localindex.VerdictPartly,
			Analyst: "Demo Analyst", Note: "A stand-in verdict recorded by the demo."}); err != nil {
			return err
		}
	}
	return nil
}
