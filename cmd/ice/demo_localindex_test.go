//go:build !production

package main

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"icesurvey/freetext"
	"icesurvey/localindex"
	"icesurvey/profiles"
	"icesurvey/waveclient"
	"icesurvey/web/dashdata"
)

// TestDemoCodersAreRecordedLikeCoders: a demo stand-in coder's batch is recorded as a
// coder's is: the comments decided as read for coding, each decision once the worker
// has accepted the batch.
func TestDemoCodersAreRecordedLikeCoders(t *testing.T) {
	ctx, st, af := codedICS(t, 4)
	red, err := localindex.ReadRedacted(ctx, st, "W1", "QMM")
	if err != nil {
		t.Fatal(err)
	}
	texts := map[string]string{}
	batch := waveclient.ThemeBatch{ID: "W1-coder-a", Coder: "fay.reader@example.nhs.uk"}
	for _, c := range red[:3] {
		texts[localindex.UnitID(c.ResponseID, c.QuestionID)] = c.Text
		batch.Decisions = append(batch.Decisions, waveclient.ThemeDecision{ResponseID: c.ResponseID, QuestionID: c.QuestionID})
	}
	sender := &sentBatches{}
	res, err := demoCode(ctx, dashdata.FreeTextStore{Store: st}, sender, af, "W1", "QMM", texts, batch)
	if err != nil || res.Recorded != 3 || len(sender.batches) != 1 {
		t.Fatalf("%v, %+v, %d batches", err, res, len(sender.batches))
	}
	var reads, decisions int
	for _, e := range auditEvents(t, ctx, st) {
		switch {
		case !e.Allowed || e.UserID != batch.Coder || e.Action != freetext.ActionCode:
			t.Errorf("audit event %+v", e)
		case strings.HasPrefix(e.Query, "coding: ") && e.RowsShown == 3:
			reads++
		case strings.HasPrefix(e.Query, "theme decision: ") && e.RowsShown == 1:
			decisions++
		}
	}
	if reads != 1 || decisions != 3 {
		t.Errorf("%d reads and %d decisions recorded, want 1 and 3", reads, decisions)
	}
	// A stand-in the access file does not name is refused before anything is sent.
	batch.Coder = "coder.x@example.nhs.uk"
	if _, err := demoCode(ctx, dashdata.FreeTextStore{Store: st}, sender, af, "W1", "QMM", texts, batch); !errors.Is(err, freetext.ErrRefused) || len(sender.batches) != 1 {
		t.Errorf("%v, %d batches", err, len(sender.batches))
	}
}

// The demo's stand-in coder quotes, for a statement, the candidate that bears on most of
// its themes and, among those, uses its words: not merely the first that shares a theme.
func TestDemoQuoteScorePrefersTheStatementsOwnSubject(t *testing.T) {
	p, err := profiles.Get(demoProfile)
	if err != nil {
		t.Fatal(err)
	}
	var rehab profiles.Expectation
	for _, e := range p.ExpectedCare {
		if e.ID == "cardiac-rehabilitation" {
			rehab = e
		}
	}
	if rehab.ID == "" {
		t.Fatal("the demo profile has no cardiac-rehabilitation statement")
	}
	for _, tc := range []struct {
		name        string
		best, worse localindex.Candidate
	}{
		{"its words, at equal themes",
			localindex.Candidate{Text: "my GP rang cardiac rehab directly, so I didn't have to chase anything.", Themes: []string{"continuity"}},
			localindex.Candidate{Text: "The food on the ward was cold.", Themes: []string{"holistic"}}},
		{"more of its themes before its words",
			localindex.Candidate{Text: "They saw all of me, and the same nurse each time.", Themes: []string{"holistic", "continuity"}},
			localindex.Candidate{Text: "Cardiac rehabilitation after my heart attack was good.", Themes: []string{"holistic"}}},
	} {
		if b, w := demoQuoteScore(rehab, tc.best), demoQuoteScore(rehab, tc.worse); b <= w {
			t.Errorf("%s: %q scores %d, %q %d", tc.name, tc.best.Text, b, tc.worse.Text, w)
		}
	}
}

func TestDemoQuotePicksAvoidQuotingOneCommentTwice(t *testing.T) {
	rehab := profiles.Expectation{ID: "rehab", Statement: "Cardiac rehabilitation is offered", Themes: []string{"continuity"}}
	hf := profiles.Expectation{ID: "hf", Statement: "Heart failure care is joined up", Themes: []string{"continuity"}}
	only := profiles.Expectation{ID: "only", Statement: "A statement with one candidate", Themes: []string{"continuity"}}
	both := localindex.Candidate{ID: "both", Text: "cardiac rehabilitation and the heart failure nurse kept passing me back", Themes: []string{"continuity"},
		Expectations: []string{"rehab", "hf", "only"}}
	other := localindex.Candidate{ID: "other", Text: "nobody talked to each other", Themes: []string{"continuity"}, Expectations: []string{"rehab", "hf"}}
	got := demoQuotePicks([]profiles.Expectation{rehab, hf, only}, []localindex.Candidate{other, both})
	want := []demoQuotePick{{"rehab", "both"}, {"hf", "other"}, {"only", "both"}}
	if !slices.Equal(got, want) {
		t.Errorf("picks %v, want %v: the best first, another for the next statement, and a used one only when none else", got, want)
	}
}

// The demo's hint runs as printed: every command names the demo's Temporal (not the
// default 127.0.0.1:7233) where it asks the cluster, its store, and its access file
// (not DATA/ literally), and each parses as the command it names.
func TestDemoLocalIndexHintRunsAsPrinted(t *testing.T) {
	const wave, address, storeURL, accessFile = "demo-1", "127.0.0.1:45555", "file:///tmp/d/store", "/tmp/d/dashboard-access.yaml"
	var buf bytes.Buffer
	demoLocalIndexTry(&buf, wave, address, storeURL, accessFile)
	out := buf.String()
	if strings.Contains(out, "DATA/") {
		t.Errorf("the hint names DATA/ literally:\n%s", out)
	}
	n := 0
	for _, cmdline := range strings.FieldsFunc(out, func(r rune) bool { return r == '\n' || r == ';' }) {
		i := max(strings.Index(cmdline, "ice themes "), strings.Index(cmdline, "ice audit "))
		if i < 0 {
			continue
		}
		c := cmdline[i+len("ice "):]
		n++
		args := strings.Fields(c)
		if slices.Contains([]string{"report", "export"}, args[1]) && !strings.Contains(c, "--address "+address) {
			t.Errorf("%q does not name the demo's Temporal", c)
		}
		if !strings.Contains(c, "--store "+storeURL) {
			t.Errorf("%q does not name the demo's store", c)
		}
		if args[1] == "export" && !strings.Contains(c, "--access "+accessFile) {
			t.Errorf("%q does not name the demo's access file", c)
		}
		cmd, rest, err := rootCmd().Find(args)
		if err == nil {
			err = cmd.ParseFlags(rest)
		}
		if err != nil {
			t.Errorf("%q: %v", c, err)
		}
	}
	if n != 3 {
		t.Errorf("%d commands in the hint, want 3:\n%s", n, out)
	}
}
