//go:build !production

package main

import (
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
