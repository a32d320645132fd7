package main

import (
	"slices"
	"testing"

	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// A start of the theme coding joins the one running, with its ICSs: the ICSs asked for
// that it does not code are said.
func TestNotCoding(t *testing.T) {
	running := waveclient.ThemeCodingStatus{ICS: []workflows.ThemeCodingICS{{ICS: "QMM"}, {ICS: "QJK"}}}
	for _, tc := range []struct {
		asked, want []string
	}{
		{[]string{"QMM"}, nil},
		{[]string{"QJK", "QMM"}, nil},
		{[]string{"QMM", "QNX", "QE1"}, []string{"QNX", "QE1"}},
	} {
		if got := notCoding(running, tc.asked); !slices.Equal(got, tc.want) {
			t.Errorf("asked %v: not coded %v, want %v", tc.asked, got, tc.want)
		}
	}
}
