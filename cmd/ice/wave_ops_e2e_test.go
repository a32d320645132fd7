//go:build !production

package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// TestOneICSPausedAndCancelledWhileTheOtherGoesOn steers one ICS of a two-ICS wave
// through the CLI, as a data engineer does when one ICS's sample turns out wrong or
// the ICS withdraws: --ics pauses and resumes it alone, then cancels it alone. The
// cancelled ICS starts its retention and the wave says it ended early; the other ICS
// is untouched and the wave runs on.
func TestOneICSPausedAndCancelledWhileTheOtherGoesOn(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "e2e-one-ics"
	spec, _ := e2eWave(t, ctx, st, wave, 100, 300*time.Millisecond, "QNX", "QJK")
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	ice := iceOnServer(t, ctx, st)
	paused := func() map[string]bool {
		t.Helper()
		s, err := wc.Status(ctx, wave)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, i := range s.ICS {
			out[i.ICS] = i.Paused
		}
		return out
	}
	waitPaused := func(want map[string]bool) {
		t.Helper()
		var got map[string]bool
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = paused(); got["QNX"] == want["QNX"] && got["QJK"] == want["QJK"] {
				return
			}
		}
		t.Fatalf("paused %v, want %v", got, want)
	}

	if out, err := ice("wave", "pause", wave, "--ics", "QJK"); err != nil || !strings.Contains(out, "wave "+wave+" ICS QJK: pause sent") {
		t.Fatalf("ice wave pause --ics QJK: %v\n%s", err, out)
	}
	waitPaused(map[string]bool{"QJK": true})
	if out, err := ice("wave", "status", wave); err != nil || strings.Count(out, "(this ICS is PAUSED)") != 1 {
		t.Errorf("ice wave status with QJK paused: %v\n%s", err, out)
	}
	// Again: it was paused already, and says so; so does a resume of QNX, never paused.
	if out, err := ice("wave", "pause", wave, "--ics", "QJK"); err != nil || !strings.Contains(out, "pause sent (it was already paused when this command looked)") {
		t.Errorf("ice wave pause --ics QJK a second time: %v\n%s", err, out)
	}
	if out, err := ice("wave", "resume", wave, "--ics", "QNX"); err != nil || !strings.Contains(out, "resume sent (it was not paused when this command looked)") {
		t.Errorf("ice wave resume --ics QNX, never paused: %v\n%s", err, out)
	}
	if _, err := ice("wave", "resume", wave, "--ics", "QJK"); err != nil {
		t.Fatal(err)
	}
	waitPaused(map[string]bool{})
	if _, err := ice("wave", "pause", wave, "--ics", "QXX"); err == nil || !strings.Contains(err.Error(), "has no ICS QXX (its ICSs: QNX, QJK)") {
		t.Errorf("a pause of an ICS the wave does not have: %v", err)
	}
	// A typo late in the list: nothing is paused (QJK, before it, was).
	if out, err := ice("wave", "pause", wave, "--ics", "QJK,QXX"); err == nil || !strings.Contains(err.Error(), "has no ICS QXX") ||
		!strings.Contains(err.Error(), "nothing was sent") || strings.Contains(out, "pause sent") {
		t.Errorf("a pause of QJK and an ICS the wave does not have: %v\n%s", err, out)
	}
	time.Sleep(2 * time.Second) // a pause signal sent would have been taken by now
	waitPaused(map[string]bool{})

	if _, err := ice("wave", "cancel", wave, "--ics", "QNX"); err != nil {
		t.Fatal(err)
	}
	waitRetentionOfCancelled(t, ctx, wc, wave, "QNX")
	recordHistories(t, ctx, wc, map[string]string{"ics-cancelled.json": workflows.ICSWorkflowID(wave, "QNX")})
	if left, err := st.Store.List(ctx, schemas.RestrictedLandingPrefix(wave, "QNX")); err != nil || len(left) != 0 {
		t.Errorf("QNX's landed files after its retention: %d (%v)", len(left), err)
	}
	if left, err := st.Store.List(ctx, schemas.RestrictedLandingPrefix(wave, "QJK")); err != nil || len(left) == 0 {
		t.Errorf("QJK's landed files, which the cancellation of QNX must not touch: %d (%v)", len(left), err)
	}
	s, err := wc.Status(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	if s.Wave.Stage != workflows.WaveFieldwork || len(s.Wave.ICS) != 2 || !s.Wave.ICS[0].Done || s.Wave.ICS[1].Done {
		t.Errorf("the wave after QNX was cancelled: %+v; want it running, QNX done and QJK not", s.Wave)
	}
	if s.ICS[1].Stage != workflows.StageDeclaration {
		t.Errorf("QJK at %s after QNX was cancelled, want still awaiting its declaration", s.ICS[1].Stage)
	}
	out, err := ice("wave", "status", wave)
	if err != nil || !strings.Contains(out, "ENDED EARLY") || !strings.Contains(out, "cancelled (in workflow ICSWorkflow)") ||
		strings.Count(out, "ENDED EARLY") != 1 || strings.Count(out, "identifiable data deleted at ") != 1 {
		t.Errorf("ice wave status after QNX was cancelled: %v\n%s", err, out)
	}
	// The warehouse (and so the dashboard) learns that QNX's fieldwork ended early.
	var details string
	for deadline := time.Now().Add(30 * time.Second); details == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		_ = st.Warehouse.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT details FROM audit_log WHERE wave_id = ? AND ics = 'QNX' AND kind = ?`,
				wave, audit.KindFieldworkEndedEarly).Scan(&details)
		})
	}
	if !strings.Contains(details, `"cancelled":true`) {
		t.Errorf("QNX's ended-early event in audit_log: %q", details)
	}
	if err := wc.Cancel(ctx, wave); err != nil {
		t.Fatal(err)
	}
}

// TestWaveCancelledWhileItsICSsWait follows a two-ICS wave that is cancelled while
// both ICSs wait for their declaration. Before that, while its fieldwork runs, the work
// that reads a closed wave (a release, the theme coding, the linkage) is refused and
// none of it starts, and commands naming a wave or ICS that does not exist are refused
// before anything is started or written. After the cancellation, `ice wave status`
// says both ICSs ended early (not one of them still "waiting"), and that the wave
// drafts no release; a release by hand must leave out the ICSs that ended early.
func TestWaveCancelledWhileItsICSsWait(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "e2e-cancel-both"
	spec, _ := e2eWave(t, ctx, st, wave, 100, 300*time.Millisecond, "QNX", "QJK")
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	ice := iceOnServer(t, ctx, st)

	// While the fieldwork runs: refused, and nothing started.
	for _, args := range [][]string{
		{"publish", "--wave", wave},
		{"publish", "--wave", wave, "--release", "r2"},
		{"themes", "code", "--wave", wave},
		{"link", "--wave", wave, "--release", "R1"},
	} {
		if _, err := ice(args...); !errors.Is(err, waveclient.ErrFieldworkRunning) || !strings.Contains(err.Error(), "QNX, QJK not closed yet") {
			t.Errorf("ice %s during fieldwork: %v, want it refused as the fieldwork runs", strings.Join(args, " "), err)
		}
	}
	for _, release := range []string{"r1", "r2"} {
		if _, err := wc.PublicationStatus(ctx, wave, release); !errors.Is(err, waveclient.ErrNotStarted) {
			t.Errorf("release %s after the refused publish: %v, want none started", release, err)
		}
	}
	if _, err := wc.ThemeStatus(ctx, wave); !errors.Is(err, waveclient.ErrNotStarted) {
		t.Errorf("the theme coding after the refused start: %v, want none started", err)
	}

	// A wave or ICS that does not exist: refused before anything is started or written.
	p, err := profiles.Get(demoProfile)
	if err != nil {
		t.Fatal(err)
	}
	verdict := func(wave, ics string) []string {
		return []string{"profiles", "verdict", "--store", st.Store.URL(), "--wave", wave, "--ics", ics, "--profile", demoProfile,
			"--expectation", p.ExpectedCare[0].ID, "--verdict", "met", "--analyst", "A. Analyst"}
	}
	offCluster := func(args ...string) error { // a command that reads only the store
		cmd := rootCmd()
		cmd.SetArgs(args)
		_, err := captureStdout(t, func() error { return cmd.ExecuteContext(ctx) })
		return err
	}
	day := spec.SamplingDate.Format(time.DateOnly)
	for _, tc := range []struct {
		args []string
		want error  // the error wrapped, or nil
		says string // in the error
	}{
		{[]string{"load", "backfill", "--wave", "nosuch", "--ics", "QNX", "--from", day, "--to", day}, waveclient.ErrUnknownWave, "--any-wave"},
		{[]string{"load", "backfill", "--wave", wave, "--ics", "ZZZ", "--from", day, "--to", day}, nil, "has no ICS ZZZ"},
		{[]string{"link", "--wave", "nosuchwave2"}, waveclient.ErrUnknownWave, "--any-wave"},
		{[]string{"link", "withdraw", "--wave", "nosuchwave3", "--record", "SABCDEFGH23456789"}, waveclient.ErrUnknownWave, "--any-wave"},
		{[]string{"publish", "--wave", "nosuchwave4"}, waveclient.ErrUnknownWave, "--any-wave"},
		{[]string{"themes", "code", "--wave", "nosuchwave6", "--ics", "QNX"}, waveclient.ErrUnknownWave, "--any-wave"},
		{[]string{"themes", "code", "--wave", wave, "--ics", "ZZZ"}, nil, "has no ICS ZZZ"},
		{[]string{"themes", "code", "--wave", wave, "--for-ics", "ZZZ", "--coder", "c@example.nhs.uk", "--next", "1"}, nil, "has no ICS ZZZ"},
	} {
		_, err := ice(tc.args...)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ice %s: %v, want it refused saying %q", strings.Join(tc.args, " "), err, tc.says)
		}
	}
	// The README's backfill names only the wave: its ICSs and questionnaires are the
	// ones the cluster started it with. It failed asking for --ics.
	today := time.Now().UTC().Format(time.DateOnly)
	if out, err := ice("load", "backfill", "--wave", wave, "--from", today, "--to", today); err != nil ||
		!strings.Contains(out, today+"  QNX") || !strings.Contains(out, today+"  QJK") {
		t.Errorf("ice load backfill --wave %s (no --ics): %v\n%s", wave, err, out)
	}
	if _, err := ice("load", "backfill", "--wave", wave, "--from", "2026-01-01", "--to", "2026-01-02"); err == nil ||
		!strings.Contains(err.Error(), "is before wave "+wave+" started") {
		t.Errorf("a backfill of days before the wave started: %v, want it refused", err)
	}
	for _, args := range [][]string{verdict("nosuchwave5", "QNX"), verdict(wave, "ZZZ")} {
		if err := offCluster(args...); !errors.Is(err, ErrNoSample) {
			t.Errorf("ice %s: %v, want it refused as the lake has no such sample", strings.Join(args, " "), err)
		}
	}
	if err := offCluster(verdict(wave, "QNX")...); err != nil {
		t.Errorf("a verdict for the wave's own ICS: %v", err)
	}
	keys, err := st.Store.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k.Key, "nosuch") || strings.Contains(k.Key, "/ZZZ/") {
			t.Errorf("%s written for a wave or ICS that does not exist", k.Key)
		}
	}
	for _, id := range []string{workflows.DailyLoadWorkflowID("nosuch", spec.SamplingDate.Time), workflows.LinkageWorkflowID("nosuchwave2"),
		workflows.PublicationWorkflowID("nosuchwave4", "r1"), workflows.ThemeCodingWorkflowID("nosuchwave6")} {
		if end, err := wc.RunEndOf(ctx, id); err == nil {
			t.Errorf("workflow %s started (%s) for a wave that does not exist", id, end.Status)
		}
	}

	// The wave is cancelled: both ICSs end early, and the status says so.
	if _, err := ice("wave", "cancel", wave); err != nil {
		t.Fatal(err)
	}
	waitRetentionOfCancelled(t, ctx, wc, wave, "QNX")
	waitRetentionOfCancelled(t, ctx, wc, wave, "QJK")
	var s waveclient.Status
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if s, err = wc.Status(ctx, wave); err == nil && s.Ended != "" && s.Wave.ICS[0].Done && s.Wave.ICS[1].Done {
			break
		}
	}
	if s.Ended != "cancelled" || s.Wave.Stage != workflows.WaveCancelled {
		t.Errorf("the wave after its cancellation: ended %q, stage %s", s.Ended, s.Wave.Stage)
	}
	for _, c := range s.Wave.ICS {
		if !c.Done || c.Error != "cancelled (in workflow ICSWorkflow)" {
			t.Errorf("%s after the wave was cancelled: %+v, want done, cancelled", c.ICS, c)
		}
	}
	out, err := ice("wave", "status", wave)
	if err != nil || strings.Count(out, "ENDED EARLY") != 2 || strings.Contains(out, "waiting for") ||
		!strings.Contains(out, "publication: none; the wave was cancelled, so no release will be drafted") {
		t.Errorf("ice wave status of the cancelled wave: %v\n%s", err, out)
	}
	out, err = ice("wave", "status", wave, "--json")
	var js struct {
		Wave  waveclient.WaveStatus `json:"wave"`
		Ended string                `json:"ended"`
	}
	if err != nil || json.Unmarshal([]byte(out), &js) != nil || js.Ended != "cancelled" || len(js.Wave.ICS) != 2 || !js.Wave.ICS[0].Done || !js.Wave.ICS[1].Done {
		t.Errorf("ice wave status --json of the cancelled wave: %v\n%s", err, out)
	}
	// Its ICSs' figures are partial: a release must leave them out, and then has none.
	if _, err := ice("publish", "--wave", wave); err == nil || !strings.Contains(err.Error(), "the fieldwork of QNX, QJK ended early") ||
		!strings.Contains(err.Error(), "--exclude QNX,QJK") {
		t.Errorf("ice publish of the cancelled wave: %v, want it refused naming the ICSs that ended early", err)
	}
	if _, err := ice("publish", "--wave", wave, "--release", "r2", "--exclude", "QNX,QJK"); err == nil || !strings.Contains(err.Error(), "leaves out every ICS of wave "+wave) {
		t.Errorf("ice publish of the cancelled wave leaving every ICS out: %v", err)
	}
	for _, release := range []string{"r1", "r2"} {
		if _, err := wc.PublicationStatus(ctx, wave, release); !errors.Is(err, waveclient.ErrNotStarted) {
			t.Errorf("release %s of the cancelled wave: %v, want none started", release, err)
		}
	}
}

// TestPausedICSClosesOnItsDay follows the wave of a tester's report: both ICSs are
// paused with the wave after sms1, one is resumed and the other is left paused past its
// close day. The paused one closes on its day all the same: the steps it had not sent
// are recorded as not sent (fieldwork closed), `ice wave status` says so, a resume after
// the close day sends nothing, and the closing record is taken at its time, after the
// final loads. The other ICS mails and closes as scheduled.
func TestPausedICSClosesOnItsDay(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "e2e-paused-past-close"
	// Days long enough that, on a loaded machine, QMM's steps still go out before its
	// close, and the pause after sms1 comes before reminder1 (day 14).
	const dayLength = 1500 * time.Millisecond
	spec, _ := e2eWave(t, ctx, st, wave, 100, dayLength, "QMM", "QJK")
	spec.Schedule.FinalLoadDays = 6 // time to resume QJK between its close and its closing record
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	for _, code := range spec.Codes() {
		if _, err := wc.Declare(ctx, wave, code, "Test Engineer"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, wc, wave, time.Minute, "sms1 sent by both", func(ics []waveclient.ICSStatus) bool {
		for _, s := range ics {
			if s.Mailings[1].State != workflows.MailingSent {
				return false
			}
		}
		return true
	})
	ice := iceOnServer(t, ctx, st)
	if out, err := ice("wave", "pause", wave); err != nil {
		t.Fatalf("ice wave pause: %v\n%s", err, out)
	}
	if out, err := ice("wave", "resume", wave, "--ics", "QMM"); err != nil {
		t.Fatalf("ice wave resume --ics QMM: %v\n%s", err, out)
	}
	byICS := func(ics []waveclient.ICSStatus) map[string]waveclient.ICSStatus {
		m := map[string]waveclient.ICSStatus{}
		for _, s := range ics {
			m[s.ICS] = s
		}
		return m
	}
	closing := byICS(waitFor(t, ctx, wc, wave, 3*time.Minute, "QJK closing while paused", func(ics []waveclient.ICSStatus) bool {
		s := byICS(ics)["QJK"]
		return s.Stage == workflows.StageClosing && s.Paused
	}))["QJK"]
	for _, m := range closing.Mailings[2:] {
		if m.State != workflows.MailingNotSent || m.NotSent != workflows.NotSentFieldworkClosed {
			t.Errorf("QJK's %s at its close: %s %q, want not sent as fieldwork closed", m.Step, m.State, m.NotSent)
		}
	}
	out, err := ice("wave", "status", wave)
	if err != nil || strings.Count(out, "not sent (fieldwork closed before it went out)") != 4 {
		t.Errorf("ice wave status with QJK paused past its close: %v\n%s", err, out)
	}
	if out, err := ice("wave", "status", wave, "--json"); err != nil || strings.Count(out, `"not_sent": "fieldwork closed"`) != 4 {
		t.Errorf("ice wave status --json with QJK paused past its close: %v\n%s", err, out)
	}
	// Resumed after the close day: nothing overdue goes.
	if out, err := ice("wave", "resume", wave, "--ics", "QJK"); err != nil {
		t.Fatalf("ice wave resume --ics QJK: %v\n%s", err, out)
	}
	res, err := wc.WaitWave(ctx, wave)
	if err != nil || res.Status.Stage != workflows.WaveCompleted {
		t.Fatalf("wave: %+v %v", res.Status, err)
	}
	recordHistories(t, ctx, wc, map[string]string{"ics-paused-past-close.json": workflows.ICSWorkflowID(wave, "QJK")})
	for _, m := range res.ICS["QMM"].Mailings {
		if m.State != workflows.MailingSent {
			t.Errorf("QMM's %s: %s, want sent (resumed before it was due)", m.Step, m.State)
		}
	}
	qjk := res.ICS["QJK"]
	if qjk.Stage != workflows.StageClosed || qjk.Outcomes == nil {
		t.Errorf("QJK ended at %s with outcomes %v, want closed with its closing record", qjk.Stage, qjk.Outcomes)
	}
	for i, m := range qjk.Mailings {
		if want := map[bool]workflows.MailingState{true: workflows.MailingSent, false: workflows.MailingNotSent}[i < 2]; m.State != want {
			t.Errorf("QJK's %s at the end: %s, want %s", m.Step, m.State, want)
		}
	}
	// The audit trail: QJK mailed invitation and sms1 only, all before its closing
	// record, which came FinalLoadDays after the close.
	events, err := audit.Trail(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	var sent, notSent []string
	var closedAt time.Time
	for _, e := range events {
		if e.ICS != "QJK" {
			continue
		}
		switch e.Kind {
		case "mailing_sent":
			var d struct{ Step string }
			_ = json.Unmarshal([]byte(e.Details), &d)
			sent = append(sent, d.Step)
		case "fieldwork_closed":
			closedAt = e.StartedAt
			var d struct {
				StepsNotSent []string `json:"steps_not_sent"`
			}
			_ = json.Unmarshal([]byte(e.Details), &d)
			notSent = d.StepsNotSent
		}
	}
	if strings.Join(sent, ",") != "invitation,sms1" || closedAt.IsZero() {
		t.Errorf("QJK's audit trail: mailings %v, closing record at %v; want invitation and sms1, then the closing record", sent, closedAt)
	}
	// The trail outlives the workflow's history: the closing's event says which steps
	// never went out, and why.
	if got, want := strings.Join(notSent, ", "), "reminder1: fieldwork closed, sms2: fieldwork closed, reminder2: fieldwork closed, sms3: fieldwork closed"; got != want {
		t.Errorf("QJK's fieldwork_closed event names the steps not sent as %q, want %q", got, want)
	}
	if start := qjk.Declaration.At; closedAt.Before(start.Add(time.Duration(56+6) * dayLength)) {
		t.Errorf("QJK's closing record at %v, before its time (day 62 from %v)", closedAt, start)
	}
}
