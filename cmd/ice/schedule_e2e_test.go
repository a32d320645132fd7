//go:build !production

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"go.temporal.io/sdk/client"

	"icesurvey/activities"
	"icesurvey/infra/devstack"
	"icesurvey/linkage/synthlink"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// TestDailyLoadSchedule creates a wave's daily-load schedule with the CLI on the
// embedded server, reads it back (time of day, last run, next runs), has it run once
// now (as the server does at its time), finds the run loaded the day before its
// scheduled time (no files yet, recorded as such), and deletes it.
func TestDailyLoadSchedule(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "sched-e2e"
	ice := iceOnServer(t, ctx, st)
	// The wave's sample (and some responses) in the lake: a load judges the day's files
	// against it.
	key, err := devstack.PseudonymKey(st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synthlink.WriteWave(ctx, st.Store, synthlink.WaveConfig{WaveID: wave, ICSs: []string{"QMM"}, PerICS: 60,
		Respondents: 20, ConsentRate: 0.5, Seed: 3, ProjectKey: key}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	at := now.Add(2 * time.Hour).Truncate(time.Minute)
	until := now.AddDate(0, 0, 3)
	// The wave's sample is in the lake, but no wave workflow runs it on this cluster: a
	// schedule is refused (a mistyped wave id would load nothing every day) unless
	// --any-wave says it is meant.
	if _, err := ice("schedule", "daily-load", "--wave", wave, "--ics", "QMM", "--at", "06:00"); !errors.Is(err, waveclient.ErrUnknownWave) ||
		!strings.Contains(err.Error(), "--any-wave") {
		t.Errorf("a schedule for a wave the cluster does not run: %v, want ErrUnknownWave naming --any-wave", err)
	}
	if _, err := ice("schedule", "daily-load", "--any-wave", "--wave", wave, "--ics", "QMM", "--at", at.Format("15:04"),
		"--until", now.AddDate(0, 0, -1).Format(time.DateOnly)); err == nil || !strings.Contains(err.Error(), "would never run") {
		t.Errorf("a schedule whose last day has passed: %v, want it refused", err)
	}
	out, err := ice("schedule", "daily-load", "--any-wave", "--wave", wave, "--ics", "QMM", "--at", at.Format("15:04"), "--until", until.Format(time.DateOnly))
	if err != nil {
		t.Fatalf("ice schedule daily-load: %v", err)
	}
	if !strings.Contains(out, "final run on "+until.Format(time.DateOnly)) {
		t.Errorf("creation printed %q", out)
	}
	if _, err := ice("schedule", "daily-load", "--any-wave", "--wave", wave, "--ics", "QMM", "--at", "07:00"); err == nil ||
		!strings.Contains(err.Error(), "already has its daily-load schedule") {
		t.Errorf("a second schedule for the wave: %v, want it refused as one exists", err)
	}

	s, err := wc.DescribeDailyLoadSchedule(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	lastRun := time.Date(until.Year(), until.Month(), until.Day(), at.Hour(), at.Minute(), 0, 0, time.UTC)
	if s.At != at.Format("15:04") || !s.EndAt.Equal(lastRun) || s.Paused || !strings.Contains(s.Note, "QMM") {
		t.Errorf("schedule %+v: want daily at %s, last run %s", s, at.Format("15:04"), lastRun)
	}
	if len(s.NextRuns) == 0 {
		t.Fatal("no next run")
	}
	for _, r := range s.NextRuns {
		if r.Hour() != at.Hour() || r.Minute() != at.Minute() || r.After(lastRun) || !r.After(now) {
			t.Errorf("next run %s: want at %s UTC, after now and no later than %s", r, at.Format("15:04"), lastRun)
		}
	}
	if out, err := ice("schedule", "status", "--wave", wave); err != nil || !strings.Contains(out, "daily at "+at.Format("15:04")+" UTC") ||
		!strings.Contains(out, "final run "+lastRun.Format("2006-01-02 15:04")) {
		t.Errorf("ice schedule status: %v\n%s", err, out)
	}

	// Run it now, as the server would at its time.
	if err := st.Client.ScheduleClient().GetHandle(ctx, s.ID).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var run waveclient.ScheduledRun
	for deadline := time.Now().Add(time.Minute); run.WorkflowID == ""; {
		if time.Now().After(deadline) {
			t.Fatal("the triggered run never started")
		}
		time.Sleep(200 * time.Millisecond)
		if s, err = wc.DescribeDailyLoadSchedule(ctx, wave); err != nil {
			t.Fatal(err)
		}
		if len(s.RecentRuns) > 0 {
			run = s.RecentRuns[0]
		}
	}
	if !strings.HasPrefix(run.WorkflowID, workflows.DailyLoadScheduledWorkflowID(wave)) {
		t.Errorf("the run's workflow %s", run.WorkflowID)
	}
	var res waveclient.DailyLoadResult
	if err := st.Client.GetWorkflow(ctx, run.WorkflowID, run.RunID).Get(ctx, &res); err != nil {
		t.Fatalf("the scheduled load: %v", err)
	}
	wantDay := run.ScheduledAt.UTC().AddDate(0, 0, -1).Format(time.DateOnly)
	if res.WaveID != wave || res.Date != wantDay || len(res.ICS) != 1 || res.ICS[0].Error != "" || !res.ICS[0].Load.NoFiles {
		t.Errorf("the scheduled load: %+v; want %s's folder of %s, with no files", res, wave, wantDay)
	}
	// The status says how the run went, as the server recorded it.
	want := fmt.Sprintf("completed, day %s: QMM no files", wantDay)
	if out, err := ice("schedule", "status", "--wave", wave); err != nil || !strings.Contains(out, want) {
		t.Errorf("ice schedule status after the run: %v\n%s\nwant %q", err, out, want)
	}

	// Paused while the supplier's feed is broken: the status says so and why; resumed at
	// once, no run fell due in between.
	if out, err := ice("schedule", "pause", "--wave", wave, "--why", "supplier feed down"); err != nil || !strings.Contains(out, "paused") {
		t.Fatalf("ice schedule pause: %v\n%s", err, out)
	}
	if out, err := ice("schedule", "status", "--wave", wave); err != nil || !strings.Contains(out, ": paused, daily at") ||
		!strings.Contains(out, "PAUSED at ") || !strings.Contains(out, ": supplier feed down") || !strings.Contains(out, "for QMM") {
		t.Errorf("ice schedule status of a paused schedule: %v\n%s", err, out)
	}
	if _, err := ice("schedule", "pause", "--wave", wave, "--why", "again"); err == nil || !strings.Contains(err.Error(), "paused already") {
		t.Errorf("a second pause: %v", err)
	}
	if out, err := ice("schedule", "resume", "--wave", wave); err != nil || !strings.Contains(out, "no run fell due while it was paused") {
		t.Errorf("ice schedule resume: %v\n%s", err, out)
	}
	if s, err := wc.DescribeDailyLoadSchedule(ctx, wave); err != nil || s.Paused || s.Note != "daily response load of wave "+wave+" for QMM" {
		t.Errorf("the schedule after resume: %+v %v; want active, its own note back", s, err)
	}
	if _, err := ice("schedule", "resume", "--wave", wave); err == nil || !strings.Contains(err.Error(), "is not paused") {
		t.Errorf("a resume of an active schedule: %v", err)
	}

	// A schedule for a wave with no sample: its run fails, and the status says why.
	const stray = "sched-e2e-no-sample"
	if _, err := ice("schedule", "daily-load", "--any-wave", "--wave", stray, "--ics", "QMM", "--at", at.Format("15:04")); err != nil {
		t.Fatal(err)
	}
	strayID := workflows.DailyLoadScheduleID(stray)
	if err := st.Client.ScheduleClient().GetHandle(ctx, strayID).Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	var failed waveclient.ScheduledRun
	for deadline := time.Now().Add(time.Minute); failed.Status == "" || failed.Status == "running"; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the stray schedule's run: %+v", failed)
		}
		if s, err := wc.DescribeDailyLoadSchedule(ctx, stray); err == nil && len(s.RecentRuns) > 0 {
			wc.ReadRunOutcomes(ctx, s.RecentRuns[:1])
			failed = s.RecentRuns[0]
		}
	}
	if out, err := ice("schedule", "status", "--wave", stray); err != nil || !strings.Contains(out, "failed: ") || !strings.Contains(out, "sample") {
		t.Errorf("ice schedule status of a schedule whose run failed for want of a sample: %v\n%s", err, out)
	}
	if testing.Verbose() {
		out, _ := ice("schedule", "status", "--wave", stray)
		t.Log(out)
	}
	if _, err := ice("schedule", "delete", "--wave", stray); err != nil {
		t.Fatal(err)
	}

	if out, err := ice("schedule", "delete", "--wave", wave); err != nil || !strings.Contains(out, "deleted") {
		t.Errorf("ice schedule delete: %v\n%s", err, out)
	}
	if _, err := wc.DescribeDailyLoadSchedule(ctx, wave); !errors.Is(err, waveclient.ErrNoSchedule) {
		t.Errorf("a deleted schedule described: %v, want ErrNoSchedule", err)
	}
	if _, err := ice("schedule", "delete", "--wave", wave); !errors.Is(err, waveclient.ErrNoSchedule) {
		t.Errorf("a deleted schedule deleted again: %v, want ErrNoSchedule", err)
	}
}

// iceOnServer runs ice's commands against the embedded server, as a person does, and
// returns what each printed.
func iceOnServer(t *testing.T, ctx context.Context, st *devstack.Stack) func(args ...string) (string, error) {
	server := []string{"--address", st.Server.HostPort(), "--namespace", st.Server.Namespace()}
	return func(args ...string) (string, error) {
		t.Helper()
		cmd := rootCmd()
		cmd.SetArgs(append(args, server...))
		return captureStdout(t, func() error { return cmd.ExecuteContext(ctx) })
	}
}

// Under a wave's status, a line says whether a schedule loads its responses, when
// next, and how its last run went.
func TestDailyLoadLine(t *testing.T) {
	next := time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		s    waveclient.DailyLoadScheduleStatus
		err  error
		want []string
	}{
		{"none", waveclient.DailyLoadScheduleStatus{}, fmt.Errorf("schedule daily-load/W1: %w", waveclient.ErrNoSchedule),
			[]string{"no schedule", "ice schedule daily-load --wave W1 --at HH:MM"}},
		{"active", waveclient.DailyLoadScheduleStatus{ID: "daily-load/W1", At: "06:00", NextRuns: []time.Time{next}}, nil,
			[]string{"schedule daily-load/W1, daily at 06:00 UTC, next 2026-12-07 06:00"}},
		{"paused, missed", waveclient.DailyLoadScheduleStatus{ID: "daily-load/W1", At: "06:00", Paused: true, NextRuns: []time.Time{next}, Missed: 2}, nil,
			[]string{"PAUSED", "2 runs missed beyond the catch-up window"}},
		{"ended", waveclient.DailyLoadScheduleStatus{ID: "daily-load/W1", At: "06:00"}, nil, []string{", ended"}},
		{"unreadable", waveclient.DailyLoadScheduleStatus{}, errors.New("connection refused"), []string{"could not be read: connection refused"}},
		{"last run failed", waveclient.DailyLoadScheduleStatus{ID: "daily-load/W1", At: "06:00", NextRuns: []time.Time{next},
			RecentRuns: []waveclient.ScheduledRun{
				{ScheduledAt: next.AddDate(0, 0, -2), Status: "completed", Result: &waveclient.DailyLoadResult{Date: "2026-12-04"}},
				{ScheduledAt: next.AddDate(0, 0, -1), Status: "failed", Error: "no sample of QMM in the lake (BadInput)"}}}, nil,
			[]string{"next 2026-12-07 06:00; last run 2026-12-06 06:00 failed: no sample of QMM in the lake (BadInput)"}},
	} {
		got := dailyLoadLine("W1", tc.s, tc.err)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
	}
}

func TestRunOutcome(t *testing.T) {
	day := func(ics ...waveclient.DailyLoadICSResult) *waveclient.DailyLoadResult {
		return &waveclient.DailyLoadResult{Date: "2026-12-05", ICS: ics}
	}
	loaded := waveclient.DailyLoadICSResult{ICS: "QMM"}
	loaded.Load.Files, loaded.Load.Loaded, loaded.Load.Rejected = 3, 120, 2
	skipped := waveclient.DailyLoadICSResult{ICS: "QWE"}
	skipped.Load.Files, skipped.Load.FilesSkipped = 1, 1
	none := waveclient.DailyLoadICSResult{ICS: "QJK"}
	none.Load.NoFiles = true
	for _, tc := range []struct {
		name string
		run  waveclient.ScheduledRun
		want string
	}{
		{"gone", waveclient.ScheduledRun{}, "outcome not known (the run is no longer on the cluster)"},
		{"running", waveclient.ScheduledRun{Status: "running"}, "running"},
		{"failed", waveclient.ScheduledRun{Status: "failed", Error: "no sample"}, "failed: no sample"},
		{"terminated", waveclient.ScheduledRun{Status: "terminated"}, "terminated"},
		{"completed", waveclient.ScheduledRun{Status: "completed", Result: day(loaded, none, skipped,
			waveclient.DailyLoadICSResult{ICS: "QXX", Error: "store unreachable"})},
			"completed, day 2026-12-05: QMM 3 files, 120 rows loaded, 2 rejected; QJK no files; QWE already loaded; QXX failed: store unreachable"},
	} {
		if got := runOutcome(tc.run); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Under a wave's status, a line says where the wave's own release stands.
func TestPublicationLine(t *testing.T) {
	at := time.Date(2026, 12, 7, 1, 8, 21, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		ended string // how the wave's workflow ended; "" while it runs
		p     waveclient.PublicationStatus
		err   error
		want  string
	}{
		{"not started", "", waveclient.PublicationStatus{}, fmt.Errorf("wave W1 has no release r1 yet: %w", waveclient.ErrNotStarted),
			"publication: release r1 not drafted yet (the wave drafts it when every ICS has closed)"},
		{"cancelled wave", "cancelled", waveclient.PublicationStatus{}, fmt.Errorf("wave W1 has no release r1 yet: %w", waveclient.ErrNotStarted),
			"publication: none; the wave was cancelled, so no release will be drafted (its fieldwork ended early; " +
				"`ice publish --wave W1 --release ID --exclude ICS,...` drafts one of the ICSs that closed, leaving out those that ended early)"},
		{"terminated wave", "terminated", waveclient.PublicationStatus{}, fmt.Errorf("wave W1 has no release r1 yet: %w", waveclient.ErrNotStarted),
			"publication: none; the wave was terminated, so no release will be drafted (its fieldwork ended early; " +
				"`ice publish --wave W1 --release ID --exclude ICS,...` drafts one of the ICSs that closed, leaving out those that ended early)"},
		{"awaiting approval", "", waveclient.PublicationStatus{ReleaseID: "r1", Stage: workflows.PublicationDraft, WaitingOn: "approval (`ice publish approve …`)"}, nil,
			"publication: release r1 awaiting-approval, waiting for approval (`ice publish approve …`) (`ice publish status --wave W1`, with --release R for another release)"},
		{"published", "", waveclient.PublicationStatus{ReleaseID: "r1", Stage: workflows.PublicationPublished, Approval: &waveclient.PublicationApproval{By: "A. Lead", At: at}}, nil,
			"publication: release r1 published, approved by A. Lead at 2026-12-07T01:08:21Z (`ice publish status --wave W1`, with --release R for another release)"},
		{"failed", "", waveclient.PublicationStatus{ReleaseID: "r1", Stage: workflows.PublicationFailed, Error: "publication: exclude leaves out every ICS"}, nil,
			"publication: release r1 failed: publication: exclude leaves out every ICS (`ice publish status --wave W1`, with --release R for another release)"},
	} {
		if got := publicationLine("W1", tc.ended, tc.p, tc.err); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

// An ICS's retention line says whether its identifiable data are gone, or when they
// are due to be.
func TestRetentionLine(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	due := now.Add(90 * 24 * time.Hour)
	for _, tc := range []struct {
		name string
		due  time.Time
		r    waveclient.RetentionStatus
		want string
	}{
		{"waiting", due, waveclient.RetentionStatus{}, "identifiable data to be deleted at 2027-03-07T12:00:00Z"},
		{"deleted", now.Add(-time.Hour), waveclient.RetentionStatus{Deleted: 14, DeletedAt: now.Add(-time.Minute)},
			"identifiable data deleted at 2026-12-07T11:59:00Z: 14 objects (a supplier's file landing since is deleted by the load of its day)"},
		{"overdue", now.Add(-time.Hour), waveclient.RetentionStatus{}, "identifiable data due for deletion since 2026-12-07T11:00:00Z, not yet deleted"},
	} {
		if got := retentionLine(tc.due, tc.r, now); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The intake report is named while it exists; once the retention has deleted it, the
// line says so.
func TestIntakeReportLine(t *testing.T) {
	key := "restricted-landing/W1/QMM/rejections.csv"
	at := time.Date(2026, 12, 7, 11, 59, 0, 0, time.UTC)
	for _, tc := range []struct {
		r    waveclient.RetentionStatus
		want string
	}{
		{waveclient.RetentionStatus{}, "report restricted-landing/W1/QMM/rejections.csv"},
		{waveclient.RetentionStatus{Deleted: 14, DeletedAt: at}, "report restricted-landing/W1/QMM/rejections.csv deleted at retention, 2026-12-07T11:59:00Z"},
	} {
		if got := intakeReportLine(key, tc.r); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
}

// A load's note says when it deleted the day's landed files because the ICS's
// retention had run, besides the other notes.
func TestLoadNoteAfterRetention(t *testing.T) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	printLoads(tw)(waveclient.DailyLoadResult{WaveID: "W1", Date: "2027-02-01", ICS: []workflows.DailyLoadICSResult{
		{ICS: "QMM", Load: activities.LoadResponsesOutput{Files: 1, RowsRead: 1, Loaded: 1, AfterClosingRecord: true, AfterRetention: true, LandedDeleted: 1}},
		{ICS: "QE1", Load: activities.LoadResponsesOutput{Files: 1, RowsRead: 1, Loaded: 1}},
	}})
	tw.Flush()
	lines := strings.Split(b.String(), "\n")
	if want := "after the ICS's closing record (a later release counts it; the record is not rewritten); the ICS's retention has run: " +
		"its 1 landed files deleted once loaded (SHA-256, size and rows kept in reports/W1/QMM/retention-lineage.json)"; len(lines) < 3 || !strings.HasSuffix(lines[1], want) {
		t.Errorf("load after the retention:\n%s\nwant the note %q", b.String(), want)
	}
	if strings.Contains(lines[2], "retention") {
		t.Errorf("a load before the retention says it ran: %q", lines[2])
	}
}

// The demo's Outputs say the identifiable outputs are already deleted once every
// ICS's retention has run (the demo waits for it), and which ICSs still hold them
// otherwise.
func TestRetainedNote(t *testing.T) {
	for _, tc := range []struct {
		retained, kept []string
		want           string
	}{
		{[]string{"QE1", "QMM"}, nil, ", already deleted at retention; SHA-256, size and rows of each landed file in reports/W1/<ICS>/retention-lineage.json"},
		{nil, []string{"QE1"}, ", deleted at retention"},
		{[]string{"QMM"}, []string{"QE1"}, ", already deleted at retention for QMM; still there for QE1, which started no retention"},
	} {
		if got := retainedNote("W1", tc.retained, tc.kept); got != tc.want {
			t.Errorf("%v/%v: %q, want %q", tc.retained, tc.kept, got, tc.want)
		}
	}
}

// ice schedule status says which run is the schedule's final one (not its latest, which
// the "ran" lines give), and that a paused schedule runs nothing: its next runs are
// skipped. It printed "last run" for the final run before any had run, and the runs a
// paused schedule would skip as its next.
func TestPrintSchedule(t *testing.T) {
	next := []time.Time{time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC), time.Date(2026, 12, 8, 6, 0, 0, 0, time.UTC)}
	final := time.Date(2026, 12, 9, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		s         waveclient.DailyLoadScheduleStatus
		want, not []string
	}{
		{"active, none run yet", waveclient.DailyLoadScheduleStatus{ID: "daily-load/W1", At: "06:00", EndAt: final, NextRuns: next},
			[]string{"active, daily at 06:00 UTC, final run 2026-12-09 06:00\n", "next runs   2026-12-07 06:00, 2026-12-08 06:00\n"}, []string{"last run", "ran "}},
		{"paused", waveclient.DailyLoadScheduleStatus{ID: "daily-load/W1", At: "06:00", EndAt: final, Paused: true, NextRuns: next},
			[]string{"paused, daily at 06:00 UTC, final run 2026-12-09 06:00\n",
				"next runs   none while paused: the runs due 2026-12-07 06:00, 2026-12-08 06:00 are skipped unless it is resumed first (`ice schedule resume --wave W1`)"},
			[]string{"last run"}},
		{"ended", waveclient.DailyLoadScheduleStatus{ID: "daily-load/W1", At: "06:00", EndAt: final, Paused: true},
			[]string{"next runs   none (the schedule has ended)"}, []string{"while paused"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			printSchedule(&b, "W1", tc.s)
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("want %q in\n%s", w, b.String())
				}
			}
			for _, n := range tc.not {
				if strings.Contains(b.String(), n) {
					t.Errorf("%q in\n%s", n, b.String())
				}
			}
		})
	}
}
