package main

import (
	"slices"
	"testing"

	"icesurvey/waveclient"
)

// A start of a release already drafted joins it: the ICSs asked to be excluded that it
// holds all the same are said.
func TestNotExcluded(t *testing.T) {
	st := waveclient.PublicationStatus{ICS: []waveclient.ReleaseICS{
		{ICS: "QMM", WeightingStatus: "trimmed", Published: true},
		{ICS: "QJK", WeightingStatus: "excluded"},
	}}
	for _, tc := range []struct {
		exclude, want []string
	}{
		{nil, nil},
		{[]string{"QJK"}, nil},
		{[]string{"QMM", "QJK"}, []string{"QMM"}},
		{[]string{"QXX"}, nil}, // not in the release: the release's own check names it
	} {
		if got := notExcluded(st, tc.exclude); !slices.Equal(got, tc.want) {
			t.Errorf("exclude %v: kept %v, want %v", tc.exclude, got, tc.want)
		}
	}
}
