//go:build !production

package main

import (
	"testing"

	"icesurvey/schemas"
	"icesurvey/waveclient"
)

func TestDayLoadSummaryCountsResponsesApartFromOtherReturns(t *testing.T) {
	day := func(loaded, rejected, dups int, responses map[string]int, outcomes map[int]int) waveclient.DailyLoadICSResult {
		var r waveclient.DailyLoadICSResult
		r.Load.Loaded, r.Load.Rejected, r.Load.Duplicates = loaded, rejected, dups
		r.Load.Responses, r.Load.Outcomes = responses, outcomes
		return r
	}
	for _, tc := range []struct {
		name string
		day  waveclient.DailyLoadICSResult
		want string
	}{
		{"responses only", day(8, 0, 1, map[string]int{"patient": 6, "carer": 2}, map[int]int{schemas.OutcomeCompleted: 5}),
			"+8 responses (0 rejected, 1 duplicate)"},
		{"returned letters and opt-outs are not responses",
			day(6, 2, 0, map[string]int{"patient": 1}, map[int]int{schemas.OutcomeCompleted: 1, schemas.OutcomeUndelivered: 3,
				schemas.OutcomeOptedOut: 1, schemas.OutcomeDeceased: 1}),
			"+1 response, 3 undelivered, 1 deceased, 1 opted out (2 rejected, 0 duplicates)"},
		{"an opt-out of linkage alone", day(2, 0, 3, nil, map[int]int{schemas.OutcomeIneligible: 1}),
			"+0 responses, 1 ineligible, 1 withdrew linkage consent (0 rejected, 3 duplicates)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := dayLoadSummary(tc.day); got != tc.want {
				t.Errorf("dayLoadSummary = %q, want %q", got, tc.want)
			}
		})
	}
}
