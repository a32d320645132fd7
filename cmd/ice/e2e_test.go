//go:build !production

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/temporalproto"

	"icesurvey/audit"
	"icesurvey/infra/devstack"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/notify/notifytest"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/synth"
	"icesurvey/warehouse"
	"icesurvey/waveclient"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

// e2eWave prepares synthetic files for each ICS in the stack's store and returns the
// spec and what the generator expects intake to make of them.
func e2eWave(t *testing.T, ctx context.Context, st *devstack.Stack, waveID string, n int, dayLength time.Duration, codes ...string) (*wavespec.Spec, map[string]*synth.Stats) {
	t.Helper()
	spec, stats := e2eSpec(t, ctx, st, waveID, n, 100, dayLength, codes...)
	if _, err := waveclient.StageFiles(ctx, st.Store, spec); err != nil {
		t.Fatal(err)
	}
	return spec, stats
}

// e2eSpec is e2eWave's spec with its files still local paths (not staged), each ICS's
// generated from seed and on.
func e2eSpec(t *testing.T, ctx context.Context, st *devstack.Stack, waveID string, n int, seed int64, dayLength time.Duration, codes ...string) (*wavespec.Spec, map[string]*synth.Stats) {
	t.Helper()
	sampling := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	spec := &wavespec.Spec{
		WaveID: waveID, SamplingDate: wavespec.Date{Time: sampling}, DayLength: wavespec.Duration(dayLength),
		MinEligible: n / 3, RetentionDays: 2, Schedule: mailing.DefaultSchedule(), Templates: map[string]string{},
		DBS: wavespec.DBSSettings{PollEvery: wavespec.Duration(dayLength / 2), ReplyDeadline: wavespec.Duration(20 * dayLength)},
	}
	for _, s := range spec.Schedule.Steps {
		spec.Templates[s.Template] = demoTemplateID(s.Template)
	}
	stats := map[string]*synth.Stats{}
	dir := t.TempDir()
	for i, code := range codes {
		sp, mp, s, err := synth.GenerateFiles(synth.Config{ICS: code, N: n, Seed: seed + int64(i), FaultRate: 0.05,
			SamplingDate: sampling, DeathRate: 0.05}, dir)
		if err != nil {
			t.Fatal(err)
		}
		// Each ICS's register as ice synth sample --store writes it, while the stack
		// runs: its DBS simulator reads them at each reply.
		if err := putDeathsRegister(ctx, st.Outside, code, s.DeceasedNHS); err != nil {
			t.Fatal(err)
		}
		stats[code] = s
		spec.ICSs = append(spec.ICSs, wavespec.ICS{Code: code, SampleFile: sp, MailingFile: mp})
	}
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	return spec, stats
}

// waitFor polls the wave's status until cond holds.
func waitFor(t *testing.T, ctx context.Context, c *waveclient.Client, wave string, timeout time.Duration, what string, cond func([]waveclient.ICSStatus) bool) []waveclient.ICSStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last []waveclient.ICSStatus
	for time.Now().Before(deadline) {
		if st, err := c.Status(ctx, wave); err == nil {
			last = st.ICS
			if len(st.ICS) > 0 && cond(st.ICS) {
				return st.ICS
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s; last status %+v", what, last)
	return nil
}

func allAt(stage workflows.Stage) func([]waveclient.ICSStatus) bool {
	return func(ics []waveclient.ICSStatus) bool {
		for _, s := range ics {
			if s.Stage != stage {
				return false
			}
		}
		return true
	}
}

// startE2E starts the embedded stack for an end-to-end test (skipped with -short),
// stopped and its context cancelled when the test ends.
func startE2E(t *testing.T) (context.Context, *devstack.Stack, *waveclient.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end wave on the embedded server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	t.Cleanup(cancel)
	st, err := devstack.Start(ctx, devstack.Config{DataDir: t.TempDir(), UIPort: -1, DBSDelay: 300 * time.Millisecond,
		NotifySettleAfter: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return ctx, st, waveclient.New(st.Client)
}

func TestWaveEndToEnd(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "e2e-1"
	spec, stats := e2eWave(t, ctx, st, wave, 300, 300*time.Millisecond, "QMM", "QJK")
	// The closing record waits 14 fieldwork days (4.2 s) after the close for the loads
	// of the supplier's last files, time enough for this test to land and load one.
	spec.Schedule.FinalLoadDays = mailing.MaxFinalLoadDays
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}

	// Without a declaration the wave waits, however long, and nothing is mailed.
	waitFor(t, ctx, wc, wave, time.Minute, "both ICSs awaiting declaration", allAt(workflows.StageDeclaration))
	time.Sleep(5 * spec.DayLength.D())
	status, err := wc.Status(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range status.ICS {
		if s.Stage != workflows.StageDeclaration || !strings.Contains(s.WaitingOn, "declaration") {
			t.Errorf("%s: stage %q waiting on %q, want it held at the declaration", s.ICS, s.Stage, s.WaitingOn)
		}
		for _, m := range s.Mailings {
			if m.State != workflows.MailingScheduled {
				t.Errorf("%s: %s is %s before the declaration", s.ICS, m.Step, m.State)
			}
		}
		want := stats[s.ICS]
		if s.Intake.Accepted != want.ExpectedAccepted || s.Intake.Excluded != want.ExpectedExcluded || s.Intake.Rejected != want.ExpectedRejected {
			t.Errorf("%s intake: accepted/excluded/rejected %d/%d/%d, generator expects %d/%d/%d", s.ICS,
				s.Intake.Accepted, s.Intake.Excluded, s.Intake.Rejected, want.ExpectedAccepted, want.ExpectedExcluded, want.ExpectedRejected)
		}
	}
	// Some of QMM's mobile numbers are dead: Notify will say permanent-failure.
	deadMobiles := markDeadMobiles(t, ctx, st, wave, "QMM", 12)
	// A declaration without a name is refused by the update's validator.
	if _, err := wc.Declare(ctx, wave, "QMM", ""); err == nil {
		t.Error("a declaration with no signatory was accepted")
	}
	for _, code := range spec.Codes() {
		if _, err := wc.Declare(ctx, wave, code, "Test Engineer"); err != nil {
			t.Fatal(err)
		}
	}
	// A late opt-out after the invitation: that person gets nothing more.
	waitFor(t, ctx, wc, wave, 2*time.Minute, "QJK invitation sent", func(ics []waveclient.ICSStatus) bool {
		for _, s := range ics {
			if s.ICS == "QJK" && s.Mailings[0].State == workflows.MailingSent {
				return true
			}
		}
		return false
	})
	optedOut := firstInvited(t, ctx, st, wave, "QJK")
	if _, err := wc.OptOut(ctx, wave, "QJK", waveclient.OptOutRequest{}); err == nil {
		t.Error("an opt-out naming nobody was accepted")
	}
	if _, err := wc.OptOut(ctx, wave, "QJK", waveclient.OptOutRequest{SurveyRecordID: "SNOSUCHPERSON0000"}); err == nil {
		t.Error("an opt-out for an unknown person was accepted")
	}
	// Free text for a reason is refused by the update's validator: it would be recorded.
	if _, err := wc.OptOut(ctx, wave, "QJK", waveclient.OptOutRequest{SurveyRecordID: optedOut, Reason: "phoned the helpline"}); err == nil ||
		!strings.Contains(err.Error(), "the reason is a code") {
		t.Errorf("an opt-out with free text for a reason: %v, want it refused", err)
	}
	if id, err := wc.OptOut(ctx, wave, "QJK", waveclient.OptOutRequest{SurveyRecordID: optedOut, Reason: "does_not_want"}); err != nil || id != optedOut {
		t.Fatalf("opt-out: %q %v", id, err)
	}
	// A second opt-out of the same person is refused, and the first stands.
	if _, err := wc.OptOut(ctx, wave, "QJK", waveclient.OptOutRequest{SurveyRecordID: optedOut, Reason: "too_ill"}); err == nil ||
		!strings.Contains(waveclient.FailureText(err), "survey record "+optedOut+" was already opted out at ") ||
		!strings.Contains(waveclient.FailureText(err), "with reason does_not_want; the first opt-out stands") {
		t.Errorf("a second opt-out of %s: %v, want it refused naming the first", optedOut, err)
	}
	lateResponder := loadAnswerAfterTheClose(t, ctx, st, wc, spec, "QMM")
	res, err := wc.WaitWave(ctx, wave)
	if err != nil {
		t.Fatalf("wave failed: %v", err)
	}
	if got := res.ICS["QMM"].Outcomes[1]; got != 1 {
		t.Errorf("QMM's closing record counts %d completed, want 1: %s's questionnaire, loaded after the close but before the record", got, lateResponder)
	}
	checkClosingRecordIsTheWarehouses(t, ctx, st, wave, res)
	// An update to an ICS whose fieldwork has ended says so, not only the server's words.
	if _, err := wc.Declare(ctx, wave, "QMM", "Late Engineer"); err == nil || !strings.Contains(err.Error(), "ICS "+wave+"/QMM has ended (completed at ") {
		t.Errorf("a declaration after the close: %v, want it refused as the ICS's workflow has ended", err)
	}
	// A wave id is used once: starting it again is refused, not answered with the
	// ended wave's run as if started.
	if _, err := wc.StartWave(ctx, spec); !errors.Is(err, waveclient.ErrWaveIDUsed) || !strings.Contains(err.Error(), "completed") {
		t.Errorf("a second start of wave %s: %v, want it refused as already used", wave, err)
	}
	// So does a signal, and a cancellation (which Temporal accepts, and ignores, for an
	// ended workflow).
	for what, op := range map[string]func() error{
		"revalidate": func() error { return wc.Revalidate(ctx, wave, "QMM") },
		"cancel":     func() error { return wc.CancelICS(ctx, wave, "QMM") },
	} {
		if err := op(); !errors.Is(err, waveclient.ErrEnded) || !strings.Contains(err.Error(), "QMM has ended (completed at ") {
			t.Errorf("%s after the close: %v, want it refused as the ICS has ended", what, err)
		}
	}
	checkOptedOutGetsNothingLater(t, ctx, st, wave, optedOut)
	checkDeadMobilesGetNoMoreSMS(t, ctx, st, wave, deadMobiles)
	if res.Status.Stage != workflows.WaveCompleted {
		t.Fatalf("wave stage %q", res.Status.Stage)
	}
	// Each ICS closed and started the deletion of its identifiable data, which the
	// wave does not wait for.
	for _, code := range spec.Codes() {
		s := res.ICS[code]
		if s.Stage != workflows.StageClosed || s.Retention == nil || s.Retention.WorkflowID != workflows.RetentionWorkflowID(wave, code) {
			t.Fatalf("%s ended at %q with retention %+v", code, s.Stage, s.Retention)
		}
		r, err := wc.WaitRetention(ctx, wave, code)
		if err != nil || r.Status.Stage != workflows.StageDone || r.Status.Deleted == 0 {
			t.Fatalf("%s retention: %+v %v", code, r, err)
		}
		if r.Status.DeletedAt.Before(s.Retention.DeleteAt) {
			t.Errorf("%s: deleted at %s, before the retention period ended at %s", code, r.Status.DeletedAt, s.Retention.DeleteAt)
		}
	}

	checkWaveListed(t, ctx, wc, wave, spec.Codes())
	// A schedule for an ICS the wave does not have is refused, naming the wave's own.
	if err := wc.CheckWaveICSs(ctx, wave, []string{"QMM", "QXX"}); err == nil ||
		!strings.Contains(err.Error(), fmt.Sprintf("wave %s has no ICS QXX (its ICSs: %s)", wave, strings.Join(spec.Codes(), ", "))) {
		t.Errorf("CheckWaveICSs with an ICS of no wave: %v", err)
	}
	if err := wc.CheckWaveICSs(ctx, wave, spec.Codes()); err != nil {
		t.Errorf("CheckWaveICSs of the wave's own ICSs: %v", err)
	}
	// Of a wave the cluster runs, a run not started yet is said to be so, with how to
	// start it; not the server's "workflow not found" and a hint at a mistyped wave id.
	for what, query := range map[string]func() error{
		"no linkage run yet (`ice link --wave " + wave:    func() error { _, err := wc.LinkageStatus(ctx, wave); return err },
		"no release r9 (the wave drafts r1":               func() error { _, err := wc.PublicationStatus(ctx, wave, "r9"); return err },
		"has not been coded yet (`ice themes code --wave": func() error { _, err := wc.ThemeStatus(ctx, wave); return err },
	} {
		if err := query(); !errors.Is(err, waveclient.ErrNotStarted) || !strings.Contains(waveclient.FailureText(err), what) ||
			strings.Contains(waveclient.FailureText(err), "is the wave id right") {
			t.Errorf("a run not started: %v; want ErrNotStarted saying %q", err, what)
		}
	}
	if _, err := wc.LinkageStatus(ctx, "no-such-wave"); errors.Is(err, waveclient.ErrNotStarted) ||
		!strings.Contains(waveclient.FailureText(err), "is the wave id right") {
		t.Errorf("the linkage of a wave the cluster does not run: %v", err)
	}
	checkAuditCoversEveryActivity(t, ctx, st, wc, wave, spec.Codes())
	checkDeceasedGetNoLaterLetters(t, ctx, st, wave, res)
	checkNoIdentifiersInWarehouse(t, ctx, st)
	checkWarehouseRebuildsFromTheLake(t, ctx, st, wc, wave)

	// Identifiable mailing data is gone after the retention period; only free-text
	// answers (restricted response data, kept for the named ICB users) may remain.
	left, err := st.Store.List(ctx, schemas.AreaRestricted.WavePrefix(wave))
	if err != nil {
		t.Fatal(err)
	}
	for _, inf := range left {
		if !strings.HasPrefix(inf.Key, schemas.FreeTextRoot(wave, "QMM")) && !strings.HasPrefix(inf.Key, schemas.FreeTextRoot(wave, "QJK")) {
			t.Errorf("restricted object %s left after retention", inf.Key)
		}
	}
	// Into the files of the workflows' current shapes: ics.json and retention.json are
	// kept from before versioned changes ("early-sms-receipts",
	// "retention-deletes-everything") and must not be overwritten by a re-recording.
	recordHistories(t, ctx, wc, map[string]string{
		"wave.json": workflows.WaveWorkflowID(wave),
		// The newest shape's file: re-recording must never overwrite a history kept for
		// an older shape (ics-early-receipts.json, ics-day-zero.json, ...).
		"ics-sms-hours.json": workflows.ICSWorkflowID(wave, "QJK"), // with the late opt-out's update
	})
}

// loadAnswerAfterTheClose plays a paper questionnaire posted on the last days of
// fieldwork: once the ICS has closed (nothing more is mailed), the supplier's file with
// it lands in the day's folder and the day is loaded, while the closing record waits
// for the final loads. It returns whose questionnaire it was.
func loadAnswerAfterTheClose(t *testing.T, ctx context.Context, st *devstack.Stack, wc *waveclient.Client, spec *wavespec.Spec, ics string) string {
	t.Helper()
	closed := func(all []waveclient.ICSStatus) bool {
		for _, s := range all {
			if s.ICS == ics && (s.Stage == workflows.StageClosed || s.Stage == workflows.StageClosing && strings.Contains(s.WaitingOn, "closing record")) {
				return true
			}
		}
		return false
	}
	for _, s := range waitFor(t, ctx, wc, spec.WaveID, 2*time.Minute, ics+" closed, its closing record waiting for the last loads", closed) {
		if s.ICS == ics && s.Stage == workflows.StageClosed {
			t.Errorf("%s's closing record was taken at the close, before the final loads", ics)
		}
	}
	id := firstInvited(t, ctx, st, spec.WaveID, ics)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(schemas.ResponseExtractHeader([]string{"P_ACCESS_EASE"}))
	_ = w.Write([]string{id, "patient", spec.QuestionnaireVersion, "paper", time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "Y", "2"})
	w.Flush()
	key := schemas.ResponseLandingKey(spec.WaveID, ics, day, schemas.ResponseFileName(schemas.ChannelPaper, "csv"))
	if err := store.PutBytes(ctx, st.Store, key, b.Bytes()); err != nil {
		t.Fatal(err)
	}
	res, err := wc.LoadDay(ctx, waveclient.DailyLoadInput{WaveID: spec.WaveID, ICS: []string{ics}, Date: day,
		Questionnaires: waveclient.Questionnaires{PatientVersion: spec.QuestionnaireVersion, CarerVersion: spec.CarerQuestionnaire}})
	if err != nil {
		t.Fatalf("load the day after the close: %v", err)
	}
	if len(res.ICS) != 1 || res.ICS[0].Load.Loaded != 1 {
		t.Fatalf("load the day after the close: %+v, want the one response loaded", res.ICS)
	}
	return id
}

// checkClosingRecordIsTheWarehouses: each ICS's closing record (its final outcome
// counts) is what the warehouse's outcomes view holds once the wave has ended.
func checkClosingRecordIsTheWarehouses(t *testing.T, ctx context.Context, st *devstack.Stack, wave string, res waveclient.WaveResult) {
	t.Helper()
	for code, s := range res.ICS {
		got := map[int]int{}
		err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
			rows, err := db.QueryContext(ctx, `SELECT outcome, count(*) FROM outcomes WHERE wave_id = ? AND ics = ? GROUP BY outcome`, wave, code)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var outcome, n int
				if err := rows.Scan(&outcome, &n); err != nil {
					return err
				}
				got[outcome] = n
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, s.Outcomes) {
			t.Errorf("%s: the closing record says %v, the warehouse's outcomes %v", code, s.Outcomes, got)
		}
	}
}

// checkWaveListed: `ice wave list` finds the finished wave by its search attributes
// (visibility is eventually consistent, so it is polled for).
func checkWaveListed(t *testing.T, ctx context.Context, wc *waveclient.Client, wave string, codes []string) {
	t.Helper()
	query := fmt.Sprintf("%s = %q", workflows.SAWaveID.GetName(), wave)
	var got []waveclient.WaveSummary
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		var err error
		if got, err = wc.List(ctx, query); err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].Stage == string(workflows.WaveCompleted) {
			break
		}
	}
	if len(got) != 1 || got[0].WaveID != wave || strings.Join(got[0].ICS, ",") != strings.Join(codes, ",") ||
		got[0].Stage != string(workflows.WaveCompleted) || !strings.EqualFold(got[0].Status, "completed") {
		t.Errorf("wave list for %s: %+v", query, got)
	}
}

// recordHistories writes the histories of the named workflows, as JSON files in the
// directory ICE_RECORD_HISTORIES names, for the replay tests (workflows/replay_test.go):
//
//	ICE_RECORD_HISTORIES=$PWD/workflows/testdata go test ./cmd/ice -run 'TestWaveEndToEnd|TestDailyLoadBackfill'
//
// Without it, nothing is written.
func recordHistories(t *testing.T, ctx context.Context, wc *waveclient.Client, files map[string]string) {
	t.Helper()
	dir := os.Getenv("ICE_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	for name, id := range files {
		h, err := wc.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := temporalproto.CustomJSONMarshalOptions{Indent: " "}.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded the history of %s (%d events) in %s", id, len(h.Events), filepath.Join(dir, name))
	}
}

// checkAuditCoversEveryActivity compares every activity in the workflows' histories
// with the audit trail: each completed activity has an attempt recorded as ok, and
// every failed attempt is a row of its own.
func checkAuditCoversEveryActivity(t *testing.T, ctx context.Context, st *devstack.Stack, wc *waveclient.Client, wave string, codes []string) {
	t.Helper()
	events, err := audit.Trail(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	okAttempts := map[string]int{} // workflowID/activityID → ok attempts
	types := map[string]bool{}
	polls := 0
	for _, e := range events {
		if e.Kind != audit.KindActivityAttempt {
			continue
		}
		if e.InputSHA256 == "" || e.EndedAt == nil {
			t.Errorf("attempt %s lacks its input digest or end time", e.EventID)
		}
		if e.Outcome == "ok" {
			okAttempts[e.WorkflowID+"/"+e.ActivityID]++
			if e.OutputSHA256 == "" {
				t.Errorf("ok attempt %s lacks its output digest", e.EventID)
			}
		}
		// A failed attempt's error is its sentence once (a DBS poll's NotReady among
		// them), not Temporal's rendering with its type and the cause again.
		if e.Outcome == "error" && (e.Error == "" || strings.Contains(e.Error, "(type: ")) {
			t.Errorf("failed attempt %s records its error as %q", e.EventID, e.Error)
		}
		if e.ErrorType == "NotReady" {
			polls++
		}
		types[e.ActivityType] = true
	}
	ids := []string{workflows.WaveWorkflowID(wave)}
	for _, c := range codes {
		ids = append(ids, workflows.ICSWorkflowID(wave, c), workflows.RetentionWorkflowID(wave, c))
	}
	completed := 0
	for _, id := range ids {
		scheduled := map[int64]string{} // event id → activity id
		h, err := wc.History(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range h.Events {
			if a := ev.GetActivityTaskScheduledEventAttributes(); a != nil {
				scheduled[ev.GetEventId()] = a.GetActivityId()
			}
			if a := ev.GetActivityTaskCompletedEventAttributes(); a != nil {
				completed++
				key := id + "/" + scheduled[a.GetScheduledEventId()]
				if okAttempts[key] != 1 {
					t.Errorf("activity %s completed in history but has %d ok attempts in the audit trail", key, okAttempts[key])
				}
			}
		}
	}
	if completed == 0 {
		t.Fatal("no completed activities found in the histories")
	}
	for _, want := range []string{"Intake", "LoadLakeObjects", "RecordDeclaration", "SelectRecipients", "SubmitDBS",
		"CollectDBS", "SendMailing", "CloseFieldwork", "RecordRetentionLineage", "DeleteIdentifiable", "FlushAudit"} {
		if !types[want] {
			t.Errorf("no audited attempt of %s", want)
		}
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	for _, want := range []string{"declaration_signed", "mailing_sent", "dbs_applied", "fieldwork_closed", "landed_file_lineage", "identifiable_data_deleted"} {
		if !strings.Contains(strings.Join(kinds, " "), want) {
			t.Errorf("no %s domain event in the audit trail", want)
		}
	}
	if polls == 0 {
		t.Error("no DBS poll (NotReady) in the audit trail: the check of failed attempts' errors checked none")
	}
	t.Logf("audit trail: %d events, %d completed activities checked, %d polls", len(events), completed, polls)
}

// checkDeceasedGetNoLaterLetters: a person the DBS check before step X reports dead gets
// neither X nor anything after it, and ends with outcome 3.
func checkDeceasedGetNoLaterLetters(t *testing.T, ctx context.Context, st *devstack.Stack, wave string, res waveclient.WaveResult) {
	t.Helper()
	order := map[string]int{}
	for i, s := range mailing.DefaultSchedule().Steps {
		order[s.Name] = i
	}
	err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT e.event_id, h.step FROM outcome_events e
			JOIN mailing_history h ON h.wave_id = e.wave AND h.ics = e.ics AND h.survey_record_id = e.survey_record_id
			WHERE e.wave = ? AND e.outcome = 3`, wave)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var eventID, step string
			if err := rows.Scan(&eventID, &step); err != nil {
				return err
			}
			// event id: dbs/{wave}-{ics}-{step}-{attempt}/{survey record id}
			req := strings.Split(eventID, "/")[1]
			parts := strings.Split(strings.TrimPrefix(req, wave+"-"), "-")
			foundBefore := parts[1]
			if order[step] >= order[foundBefore] {
				t.Errorf("%s was reported dead before %s but got %s", eventID, foundBefore, step)
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for code, s := range res.ICS {
			deceased := 0
			for _, d := range s.DBS {
				deceased += d.Deceased
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM outcomes WHERE wave_id = ? AND ics = ? AND outcome = 3`, wave, code).Scan(&n); err != nil {
				return err
			}
			if deceased == 0 || n != deceased || s.Outcomes[3] != deceased {
				t.Errorf("%s: DBS reported %d deaths; outcomes view has %d, final outcomes %d", code, deceased, n, s.Outcomes[3])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkNoIdentifiersInWarehouse: no NHS number, name or postcode from the restricted
// contacts appears in any text column of the warehouse.
func checkNoIdentifiersInWarehouse(t *testing.T, ctx context.Context, st *devstack.Stack) {
	t.Helper()
	err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sample WHERE regexp_matches(nhs_pseudonym, '^[0-9]{10}$') OR length(nhs_pseudonym) != 64`).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("%d sample rows hold something other than a 64-hex pseudonym", n)
		}
		var cols int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns
			WHERE table_name = 'sample' AND column_name IN ('nhs_number','first_name','last_name','address_1','postcode','mobile','date_of_birth')`).Scan(&cols); err != nil {
			return err
		}
		if cols != 0 {
			t.Errorf("the sample table has %d identifiable columns", cols)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestWaveResumesAfterRestart stops the whole embedded stack mid-wave, once the first
// SMS step has gone out, as killing `ice dev` would, starts it again on the same data
// directory, and checks the wave carries on to the end with every mailing sent once,
// and every SMS step's receipts read from the simulated Notify, which remembers what
// it was sent before the restart (before its journal, the first receipts read after a
// restart answered 404 and ended the ICS).
func TestWaveResumesAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end wave on the embedded server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if keep := os.Getenv("ICE_TEST_KEEP"); keep != "" {
		dir = keep // keep the data directory to read the server's log after a failure
	}
	// Notify settles an SMS within a fieldwork day, as in ice demo: under load the last
	// step can go out so late that its receipts are first read at the close, once (with
	// the default 2 s, on a 400 ms day, still "sending").
	cfg := devstack.Config{DataDir: dir, UIPort: -1, DBSDelay: 300 * time.Millisecond, NotifySettleAfter: 400 * time.Millisecond}
	st, err := devstack.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Port = mustPort(t, st.Server.HostPort())
	const wave = "e2e-restart"
	spec, _ := e2eWave(t, ctx, st, wave, 200, 400*time.Millisecond, "QNX")
	// Days to spare after sms3 (day 31): the restart, slow under load, delays the steps
	// overdue by then, and a step delayed past the close is not sent ("close-on-its-day").
	spec.Schedule.FieldworkDays = 90
	wc := waveclient.New(st.Client)
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	if _, err := wc.Declare(ctx, wave, "QNX", "Test Engineer"); err != nil {
		t.Fatal(err)
	}
	before := waitFor(t, ctx, wc, wave, 2*time.Minute, "sms1 sent", func(ics []waveclient.ICSStatus) bool {
		return ics[0].Mailings[1].State == workflows.MailingSent
	})
	if m := before[0].Mailings[1]; m.Channel != "sms" || m.ReceiptsFinal {
		t.Fatalf("before the restart, step 2 is %s with receipts final %v: want an SMS step whose receipts are yet to be read", m.Channel, m.ReceiptsFinal)
	}
	invited := before[0].Mailings[0].Sent
	st.Close() // kill ice dev mid-wave

	time.Sleep(2 * time.Second) // fieldwork days pass while it is down
	st, err = devstack.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer st.Close()
	wc = waveclient.New(st.Client)
	res, err := wc.WaitWave(ctx, wave)
	if err != nil {
		t.Fatalf("wave after restart: %v", err)
	}
	s := res.ICS["QNX"]
	if s.Stage != workflows.StageClosed {
		t.Fatalf("ICS stage %q after restart, want closed", s.Stage)
	}
	if r, err := wc.WaitRetention(ctx, wave, "QNX"); err != nil || r.Status.Stage != workflows.StageDone {
		t.Fatalf("retention after restart: %+v %v", r, err)
	}
	if s.Mailings[0].Sent != invited {
		t.Errorf("invitation count changed across the restart: %d then %d", invited, s.Mailings[0].Sent)
	}
	for _, m := range s.Mailings {
		if m.State != workflows.MailingSent || m.Sent == 0 {
			t.Errorf("%s: state %s, sent %d", m.Step, m.State, m.Sent)
		}
		if m.Channel == "sms" && (!m.ReceiptsFinal || m.ReceiptsExpired != 0 || m.Delivered == 0) {
			t.Errorf("%s: receipts final %v, %d delivered, %d expired: want every one read from Notify", m.Step, m.ReceiptsFinal, m.Delivered, m.ReceiptsExpired)
		}
	}
	// Every message reference is in the mailing history once: nothing went twice.
	err = st.Warehouse.Read(ctx, func(db *sql.DB) error {
		var dup int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT reference FROM mailing_history WHERE wave_id = ? GROUP BY reference HAVING count(*) > 1)`, wave).Scan(&dup); err != nil {
			return err
		}
		if dup != 0 {
			t.Errorf("%d message references recorded more than once", dup)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func mustPort(t *testing.T, hostPort string) int {
	t.Helper()
	var p int
	if _, err := fmt.Sscanf(hostPort[strings.LastIndex(hostPort, ":")+1:], "%d", &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// firstInvited returns a person the invitation went to who is still "no response".
func firstInvited(t *testing.T, ctx context.Context, st *devstack.Stack, wave, ics string) string {
	t.Helper()
	var id string
	err := warehouse.WithRetry(ctx, 30*time.Second, func() error {
		return st.Warehouse.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT h.survey_record_id FROM mailing_history h JOIN outcomes o USING (survey_record_id)
				WHERE h.wave_id = ? AND h.ics = ? AND h.step = 'invitation' AND o.outcome = 6 ORDER BY 1 LIMIT 1`, wave, ics).Scan(&id)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// checkOptedOutGetsNothingLater: after the opt-out, no mailing reached the person, and
// their final outcome is 4.
func checkOptedOutGetsNothingLater(t *testing.T, ctx context.Context, st *devstack.Stack, wave, id string) {
	t.Helper()
	err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
		var steps []string
		rows, err := db.QueryContext(ctx, `SELECT h.step FROM mailing_history h JOIN outcome_events e
			ON e.survey_record_id = h.survey_record_id AND e.outcome = 4
			WHERE h.wave_id = ? AND h.survey_record_id = ? AND h.sent_at > e.at`, wave, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				return err
			}
			steps = append(steps, s)
		}
		if len(steps) > 0 {
			t.Errorf("opted-out %s still got %v", id, steps)
		}
		var outcome int
		if err := db.QueryRowContext(ctx, `SELECT outcome FROM outcomes WHERE survey_record_id = ?`, id).Scan(&outcome); err != nil {
			return err
		}
		if outcome != 4 {
			t.Errorf("opted-out %s ends with outcome %d, want 4", id, outcome)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// markDeadMobiles sets the simulated Notify to fail for good the SMS to the first n
// mobile numbers of the ICS's contacts (read from the restricted area, as only the
// mailing process may), and returns those people's survey record ids.
func markDeadMobiles(t *testing.T, ctx context.Context, st *devstack.Stack, wave, ics string, n int) []string {
	t.Helper()
	var ids, mobiles []string
	err := lake.Scan(ctx, st.Store, schemas.ContactsKey(wave, ics), schemas.ContactLayout(), func(c *schemas.Contact) error {
		if c.Mobile != "" && len(ids) < n {
			ids, mobiles = append(ids, c.SurveyRecordID), append(mobiles, c.Mobile)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) < n {
		t.Fatalf("only %d contacts of %s have a mobile", len(ids), ics)
	}
	if err := st.Notify.SetFinalStatus(notifytest.PermanentFailure, mobiles...); err != nil {
		t.Fatal(err)
	}
	return ids
}

// checkDeadMobilesGetNoMoreSMS: #13 item 4 end to end. The delivery receipts bring
// Notify's permanent-failure into the mailing history, and no later SMS step selects
// the person; the other messages' receipts say delivered.
func checkDeadMobilesGetNoMoreSMS(t *testing.T, ctx context.Context, st *devstack.Stack, wave string, ids []string) {
	t.Helper()
	failed, delivered := 0, 0
	err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
		for _, id := range ids {
			rows, err := db.QueryContext(ctx, `SELECT step, result FROM mailing_history
				WHERE wave_id = ? AND survey_record_id = ? AND channel = 'sms' ORDER BY sent_at`, wave, id)
			if err != nil {
				return err
			}
			var got []string
			for rows.Next() {
				var step, result string
				if err := rows.Scan(&step, &result); err != nil {
					rows.Close()
					return err
				}
				got = append(got, step+"="+result)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			switch {
			case len(got) > 1:
				t.Errorf("%s: its number is dead, yet it got %v", id, got)
			case len(got) == 1 && !strings.HasSuffix(got[0], "="+schemas.ResultPermanentFailure):
				t.Errorf("%s: %s, want its receipt's permanent-failure", id, got[0])
			case len(got) == 1:
				failed++
			}
		}
		return db.QueryRowContext(ctx, `SELECT count(*) FROM mailing_history WHERE wave_id = ? AND channel = 'sms' AND result = ?`,
			wave, schemas.ResultDelivered).Scan(&delivered)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Most of the people picked are sent a first SMS (the others responded, died or
	// were excluded before it): the check is not vacuous.
	if failed < len(ids)/3 {
		t.Errorf("only %d of %d people with a dead number were sent an SMS that failed", failed, len(ids))
	}
	if delivered == 0 {
		t.Error("no SMS receipt said delivered: the dev stack's Notify does not settle")
	}
	t.Logf("dead numbers: %d of %d people sent one SMS, its receipt permanent-failure, and none after; %d SMS delivered", failed, len(ids), delivered)
}
