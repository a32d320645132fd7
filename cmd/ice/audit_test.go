package main

import (
	"slices"
	"testing"

	"icesurvey/audit"
)

func TestAuditFilter(t *testing.T) {
	events := []audit.Event{
		{EventID: "a1", ICS: "QMM", Kind: audit.KindActivityAttempt, ActivityType: "Intake", Outcome: "ok"},
		{EventID: "a2", ICS: "QMM", Kind: audit.KindActivityAttempt, ActivityType: "Intake", Outcome: "error"},
		{EventID: "a3", ICS: "QJK", Kind: audit.KindActivityAttempt, ActivityType: "SendMailing", Outcome: "canceled"},
		{EventID: "p1", ICS: "QJK", Kind: audit.KindActivityAttempt, ActivityType: "CollectDBS", Outcome: "error", ErrorType: "NotReady"},
		{EventID: "d1", ICS: "QMM", Kind: "intake.file_received", ActivityType: "Intake"},
		{EventID: "d2", ICS: "QJK", Kind: "intake.records_classified", ActivityType: "Intake"},
		{EventID: "d3", Kind: "release_published", ActivityType: "ApproveRelease"}, // wave-level
		{EventID: "d4", ICS: "QMM", Kind: "intakeish"},                             // not a sub-kind of intake
		// an attempt of a killed worker, failed by the worker started after it
		{EventID: "k1", ICS: "QJK", Kind: audit.KindDeadWorkerAttempt, ActivityType: "SendMailing", Outcome: "error", ErrorType: "WorkerDied"},
	}
	for _, tc := range []struct {
		name   string
		filter auditFilter
		want   []string
	}{
		{"none keeps the whole trail", auditFilter{}, []string{"a1", "a2", "a3", "p1", "d1", "d2", "d3", "d4", "k1"}},
		{"a kind and its dotted sub-kinds", auditFilter{kinds: []string{"intake"}}, []string{"d1", "d2"}},
		{"an exact kind", auditFilter{kinds: []string{"intake.file_received", "release_published"}}, []string{"d1", "d3"}},
		{"an activity type", auditFilter{activities: []string{"Intake"}}, []string{"a1", "a2", "d1", "d2"}},
		{"an ICS leaves out wave-level events", auditFilter{ics: []string{"QJK"}}, []string{"a3", "p1", "d2", "k1"}},
		{"failed attempts only, not polls; a dead worker's attempt too", auditFilter{failed: true}, []string{"a2", "a3", "k1"}},
		{"combined", auditFilter{ics: []string{"QMM"}, activities: []string{"Intake"}, failed: true}, []string{"a2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, e := range tc.filter.apply(events) {
				got = append(got, e.EventID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("kept %v, want %v", got, tc.want)
			}
		})
	}
}
