package workflows_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"icesurvey/activities"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

// selectedAt is when step's selection of round was made.
func (w *world) selectedAtFor(step, round string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, e := range w.log {
		if !strings.HasPrefix(e, "Select ") {
			continue
		}
		if strings.HasPrefix(e, "Select "+step+" ") && strings.HasSuffix(e, " "+round) {
			return w.selectedAt[n], true
		}
		n++
	}
	return time.Time{}, false
}

// An SMS step that falls due at 03:00 in England (the declaration, and so the
// invitation and day 0, at 03:00) waits for the SMS sending hours and goes at 09:00; its
// DBS check is made when it falls due, its recipients are chosen again when the window
// opens. Letters are not held (they are printed, not delivered at once).
func TestICSWorkflow_SMSWaitsForSendingHours(t *testing.T) {
	spec := testSpec(t, testICS)
	require.Equal(t, "09:00-20:00", spec.Schedule.SMSHours, "the default")
	env := newEnv(t)
	declareAt := 18 * time.Hour // t0 is 09:00 on 2 March 2026 (GMT): 03:00 on 3 March
	start := t0.Add(declareAt)
	require.Equal(t, 3, start.Hour())
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { snaps.take(env, "waiting") }, declareAt+3*day+2*time.Hour) // 05:00
	env.RegisterDelayedCallback(func() { snaps.take(env, "sent") }, declareAt+3*day+7*time.Hour)    // 10:00
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+20*day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	nine := func(d int) time.Time { return start.Add(time.Duration(d)*day + 6*time.Hour) } // 09:00 GMT
	for _, c := range []struct {
		step string
		want time.Time
	}{
		{"invitation", start}, // a letter: not held
		{"sms1", nine(3)},     // due at 03:00 on day 3
		{"reminder1", start.Add(14 * day)},
		{"sms2", nine(17)},
	} {
		at, ok := w.sendAt(c.step)
		require.True(t, ok, "%s not sent", c.step)
		assert.Equal(t, c.want, at, "%s", c.step)
	}
	assert.Equal(t, []string{"invitation", "sms1", "reminder1", "sms2"}, w.sentSteps())

	// Checked when due; chosen again when the window opens, and sent from that choice.
	due, ok := w.selectedAtFor("sms1", "due")
	require.True(t, ok)
	assert.Equal(t, start.Add(3*day), due)
	checked, ok := w.selectedAtFor("sms1", "checked")
	require.True(t, ok)
	assert.Equal(t, nine(3), checked, "the recipients are chosen after the wait")
	w.mu.Lock()
	for _, s := range w.sends {
		if s.step == "sms1" {
			assert.True(t, strings.HasSuffix(s.selectionKey, "sms1-checked.parquet"), s.selectionKey)
		}
	}
	w.mu.Unlock()

	wait := snaps.get(t, "waiting")
	assert.Equal(t, workflows.StageMailing, wait.Stage)
	assert.Equal(t, "sms1: the SMS sending hours (09:00-20:00 in England), from 09:00 Fri 6 Mar", wait.WaitingOn)
	assert.Equal(t, workflows.MailingAwaitingHours, wait.Mailings[1].State)
	assert.Equal(t, start.Add(3*day), wait.Mailings[1].DueAt)
	require.Len(t, wait.DBS, 2)
	assert.True(t, wait.DBS[1].Replied, "the DBS check came first")
	sent := snaps.get(t, "sent")
	assert.Equal(t, workflows.MailingSent, sent.Mailings[1].State)
	assert.Equal(t, nine(3), sent.Mailings[1].SentAt)
	// The 03:00 reply is six hours old when the window opens: the people are checked
	// again, by a request of a new id, before the text goes.
	require.Len(t, sent.DBS, 3)
	assert.True(t, strings.HasSuffix(sent.DBS[2].RequestID, "-sms1-2"), sent.DBS[2].RequestID)
	assert.Equal(t, nine(3), sent.DBS[2].SentAt)
	assert.True(t, sent.DBS[2].Replied)
}

// While an SMS step waits for the sending hours a pause holds it past their opening
// (until the resume), a cancellation ends the run, and the close, coming first, leaves
// it not sent.
func TestICSWorkflow_SMSHoursWaitPauseCancel(t *testing.T) {
	spec := testSpec(t, testICS)
	env := newEnv(t)
	declareAt := 18 * time.Hour // day 0 at 03:00 GMT
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalPause, nil) }, declareAt+3*day+time.Hour) // 04:00, waiting
	env.RegisterDelayedCallback(func() { snaps.take(env, "paused") }, declareAt+3*day+7*time.Hour)                    // 10:00, open but paused
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalResume, nil) }, declareAt+3*day+8*time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+17*day+4*time.Hour) // sms2 waits (07:00)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)

	at, ok := w.sendAt("sms1")
	require.True(t, ok)
	assert.Equal(t, start.Add(3*day+8*time.Hour), at, "held by the pause past 09:00, sent on the resume")
	p := snaps.get(t, "paused")
	assert.Equal(t, workflows.WaitingForResume, p.WaitingOn)
	assert.Equal(t, workflows.MailingAwaitingHours, p.Mailings[1].State)
	assert.Equal(t, []string{"invitation", "sms1", "reminder1"}, w.sentSteps(), "sms2 was waiting for 09:00 when cancelled")
}

// The close comes before the window opens: the step is not sent, and the closing
// record is taken at its time.
func TestICSWorkflow_SMSHoursOpenAfterTheClose(t *testing.T) {
	spec := testSpec(t, testICS)
	spec.DBS.PollEvery = wavespec.Duration(2 * time.Hour)
	env := newEnv(t)
	declareAt := 18 * time.Hour // day 0 at 03:00 GMT; the close on day 56 at 03:00 UTC (04:00 BST)
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	// sms3, moved to day 55, is due at 03:00 UTC (04:00 BST); its reply comes at the
	// 10th poll, at 21:00 UTC (22:00 BST): the window next opens at 09:00 BST on day 56,
	// after the close.
	w.collectHook = replyLate("sms3", 10)
	u := &updates{}
	snaps := &snapshots{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(func() { u.move(env, "move", "sms3", 55) }, declareAt+20*day)
	env.RegisterDelayedCallback(func() { snaps.take(env, "waiting") }, declareAt+55*day+21*time.Hour)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	u.requireAccepted(t, "move")

	assert.Equal(t, []string{"invitation", "sms1", "reminder1", "sms2", "reminder2"}, w.sentSteps())
	wait := snaps.get(t, "waiting")
	assert.Equal(t, workflows.MailingAwaitingHours, wait.Mailings[5].State)
	assert.Contains(t, wait.WaitingOn, "sms3: the SMS sending hours (09:00-20:00 in England), from 09:00 ")
	w.mu.Lock()
	closedAt, notSent := w.closedAt, w.closedNotSent
	w.mu.Unlock()
	assert.Equal(t, start.Add(58*day), closedAt)
	assert.Equal(t, []activities.NotSentStep{{Step: "sms3", Why: workflows.NotSentFieldworkClosed}}, notSent)
}

// A wave in compressed days (a demonstration's, a test's) has no sending hours: its
// clock is no time of day anyone gets a text at.
func TestICSWorkflow_SMSHoursOffInCompressedDays(t *testing.T) {
	spec := testSpec(t, testICS)
	spec.DayLength = wavespec.Duration(time.Hour)
	env := newEnv(t)
	declareAt := 15 * time.Hour // day 0 at midnight; sms1 due at 03:00
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+5*time.Hour)
	env.ExecuteWorkflow(workflows.ICSWorkflow, icsInput(t, spec, testICS))
	requireCanceled(t, env)
	at, ok := w.sendAt("sms1")
	require.True(t, ok)
	assert.Equal(t, start.Add(3*time.Hour), at)
}

// An ICS started before sms_hours existed (its input has none) waits for the default
// hours for the SMS steps it sends from now on.
func TestICSWorkflow_SMSHoursDefaultForInputWithout(t *testing.T) {
	spec := testSpec(t, testICS)
	in := icsInput(t, spec, testICS)
	in.SMSHours = ""
	env := newEnv(t)
	declareAt := 18 * time.Hour // day 0 at 03:00 GMT
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+4*day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, in)
	requireCanceled(t, env)
	at, ok := w.sendAt("sms1")
	require.True(t, ok)
	assert.Equal(t, start.Add(3*day+6*time.Hour), at)
}

// The spec's own hours reach the ICS (ICSInputs) and hold its texts.
func TestICSWorkflow_SMSHoursOfTheSpec(t *testing.T) {
	spec := testSpec(t, testICS)
	spec.Schedule.SMSHours = "11:30-19:00"
	require.NoError(t, spec.Validate())
	in := icsInput(t, spec, testICS)
	require.Equal(t, "11:30-19:00", in.SMSHours)
	env := newEnv(t)
	declareAt := time.Hour // day 0 at 10:00 GMT: sms1 due at 10:00 on day 3
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	u := &updates{}
	env.RegisterDelayedCallback(func() { u.declare(env, "d", "Dr A. Jones") }, declareAt)
	env.RegisterDelayedCallback(env.CancelWorkflow, declareAt+4*day)
	env.ExecuteWorkflow(workflows.ICSWorkflow, in)
	requireCanceled(t, env)
	at, ok := w.sendAt("sms1")
	require.True(t, ok)
	assert.Equal(t, start.Add(3*day+90*time.Minute), at)
}
