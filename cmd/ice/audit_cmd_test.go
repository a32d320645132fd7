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

// An event's details and error are text from files and other systems (an error may
// span lines, errors.Join): printed in the table they stay on their row, escaped, and
// an escape sequence in them never reaches the terminal.
func TestAuditTableKeepsEachEventOnItsLine(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	events := []audit.Event{
		{ICS: "QMM", Kind: audit.KindActivityAttempt, ActivityType: "Intake", Outcome: "error",
			Error: "sample.csv line 6\n2026-12-06T09:00:00Z\tQMM\tdbs_applied\tDBS\t1\tok\tforged", ErrorType: "BadInput"},
		{ICS: "QMM", Kind: "intake.file_received", ActivityType: "Intake", Details: "file \x1b[2K\x1b[1Aname.csv"},
	}
	for i := range events {
		events[i].EventID, events[i].WaveID, events[i].StartedAt, events[i].EndedAt = fmt.Sprint("e", i), "W1", now, &now
	}
	if err := audit.Write(ctx, st, events); err != nil {
		t.Fatal(err)
	}
	cmd := rootCmd()
	cmd.SetArgs([]string{"audit", "--store", "file://" + dir, "--wave", "W1"})
	out, err := captureStdout(t, func() error { return cmd.ExecuteContext(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "\n"); n != 4 || strings.ContainsAny(out, "\x1b\r") || strings.Contains(out, "dbs_applied\tDBS") {
		t.Errorf("want a header, two events and a count, each on its line, nothing unprinted:\n%q", out)
	}
	if !strings.Contains(out, `sample.csv line 6\n2026`) || !strings.Contains(out, `file \x1b[2K\x1b[1Aname.csv`) {
		t.Errorf("the error and details are not shown escaped:\n%s", out)
	}
}
