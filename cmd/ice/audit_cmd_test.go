//go:build !production

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/store"
)

// ice audit refuses what cannot be the answer instead of printing "0 events": a store
// that does not exist (not created either), a wave with no trail in the store, a kind
// that is no kind. ICSs and activity types match in any case.
func TestAuditRefusesWhatCannotMatch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	var events []audit.Event
	for i, e := range []audit.Event{
		{ICS: "QJK", Kind: audit.KindActivityAttempt, ActivityType: "Intake", Outcome: "ok"},
		{ICS: "QJK", Kind: "intake.file_received", ActivityType: "Intake"},
		{ICS: "QMM", Kind: "linkage_release_built", ActivityType: "BuildLinkageRelease"},
		{ICS: "QMM", Kind: "a_kind_only_the_trail_knows", ActivityType: "Other"},
	} {
		e.EventID, e.WaveID, e.StartedAt, e.EndedAt = fmt.Sprint("e", i), "W1", now, &now
		events = append(events, e)
	}
	if err := audit.Write(ctx, st, events); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		want    string // in the output, or in the error when wantErr
		wantErr bool
	}{
		{"the whole trail", []string{"--wave", "W1"}, "\n4 events", false},
		{"an ICS in lower case", []string{"--wave", "W1", "--ics", "qjk"}, "2 of the wave's 4 events", false},
		{"an activity type in lower case", []string{"--wave", "W1", "--activity", "intake"}, "2 of the wave's 4 events", false},
		{"a kind's sub-kinds", []string{"--wave", "W1", "--kind", "intake"}, "1 of the wave's 4 events", false},
		{"a kind in the trail", []string{"--wave", "W1", "--kind", "a_kind_only_the_trail_knows"}, "1 of the wave's 4 events", false},
		{"a known kind absent from the trail", []string{"--wave", "W1", "--kind", "late_opt_out"}, "0 of the wave's 4 events", false},
		{"a mistyped store", []string{"--wave", "W1", "--store", "file://" + dir + "/typo-store"}, "typo-store does not exist", true},
		{"a mistyped wave", []string{"--wave", "W9"}, "no audit trail of wave W9 in store file://" + dir + ": is the wave id or --store", true},
		{"no such kind", []string{"--wave", "W1", "--kind", "nonsense_kind"}, "--kind nonsense_kind: no such kind of event; the kinds are activity_attempt, ", true},
		{"an ICS the trail never names", []string{"--wave", "W1", "--ics", "QXX"}, "--ics QXX: no event of the wave names that ICS (its trail names QJK, QMM)", true},
		{"an activity that never ran", []string{"--wave", "W1", "--activity", "NoSuch"}, "--activity NoSuch: no activity of that type ran in the wave (its trail has BuildLinkageRelease, Intake, Other)", true},
		{"a family's start", []string{"--wave", "W1", "--kind", "linkage"}, "--kind linkage: no such kind of event; did you mean linkage_aggregates_disclosed, ", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := rootCmd()
			args := append([]string{"audit", "--store", "file://" + dir}, tc.args...)
			cmd.SetArgs(args)
			out, err := captureStdout(t, func() error { return cmd.ExecuteContext(ctx) })
			switch {
			case tc.wantErr && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("ice %v = %v (printed %q), want an error saying %q", args, err, out, tc.want)
			case !tc.wantErr && err != nil:
				t.Errorf("ice %v: %v", args, err)
			case !tc.wantErr && !strings.Contains(out, tc.want):
				t.Errorf("ice %v printed\n%s\nwant %q in it", args, out, tc.want)
			}
		})
	}
	if _, err := os.Stat(dir + "/typo-store"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ice audit created the store it was mistakenly given: %v", err)
	}
}
