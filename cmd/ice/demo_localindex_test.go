//go:build !production

package main

import (
	"slices"
	"testing"

	"icesurvey/localindex"
	"icesurvey/profiles"
)

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
