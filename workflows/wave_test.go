package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/workflows"
)

func waveStatus(env *testsuite.TestWorkflowEnvironment) (workflows.WaveStatus, error) {
	var st workflows.WaveStatus
	v, err := env.QueryWorkflow(workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

func icsStatusByID(env *testsuite.TestWorkflowEnvironment, id string) (workflows.ICSStatus, error) {
	var st workflows.ICSStatus
	v, err := env.QueryWorkflowByID(id, workflows.QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// publications mocks the publication the wave starts when every ICS has closed, and
// records its inputs.
func publications(env *testsuite.TestWorkflowEnvironment) *[]workflows.PublicationInput {
	var mu sync.Mutex
	var started []workflows.PublicationInput
	env.OnWorkflow(workflows.PublicationWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in workflows.PublicationInput) (workflows.PublicationResult, error) {
			mu.Lock()
			started = append(started, in)
			mu.Unlock()
			return workflows.PublicationResult{}, nil
		})
	return &started
}

// One ICS failing must not stop the other; the wave reports the failure.
func TestWaveWorkflow_OneICSFailsOtherCompletes(t *testing.T) {
	spec := testSpec(t, "QE1", "QE2")
	env := newEnv(t)
	published := publications(env)
	var mu sync.Mutex
	var inputs []workflows.ICSInput
	var flushed []string
	env.OnWorkflow(workflows.ICSWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in workflows.ICSInput) (workflows.ICSResult, error) {
			mu.Lock()
			inputs = append(inputs, in)
			mu.Unlock()
			if in.ICS == "QE2" {
				return workflows.ICSResult{}, activities.ApplicationError(fault.Wrap(fault.Configuration, errors.New("intake: the QE2 sample file is not readable")))
			}
			if err := workflow.Sleep(ctx, 56*day); err != nil {
				return workflows.ICSResult{}, err
			}
			return workflows.ICSResult{Status: workflows.ICSStatus{WaveID: in.WaveID, ICS: in.ICS, Stage: workflows.StageClosed}}, nil
		})
	env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FlushAuditInput) (activities.FlushAuditOutput, error) {
			mu.Lock()
			defer mu.Unlock()
			flushed = append(flushed, in.WaveID)
			return activities.FlushAuditOutput{}, nil
		})
	var mid workflows.WaveStatus
	var midErr error
	env.RegisterDelayedCallback(func() { mid, midErr = waveStatus(env) }, day)
	env.ExecuteWorkflow(workflows.WaveWorkflow, spec)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError(), "the wave itself completes")

	// Mid-way: QE2 has failed, QE1 is still running.
	require.NoError(t, midErr)
	assert.Equal(t, workflows.WaveFieldwork, mid.Stage)
	require.Len(t, mid.ICS, 2)
	assert.Equal(t, workflows.WaveICSStatus{ICS: "QE1", WorkflowID: "wave/W1/ics/QE1"}, mid.ICS[0])
	assert.True(t, mid.ICS[1].Done)
	assert.Contains(t, mid.ICS[1].Error, "intake: the QE2 sample file is not readable")

	var res workflows.WaveResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, "W1", res.Status.WaveID)
	assert.Equal(t, workflows.WaveCompletedWithFailures, res.Status.Stage)
	require.Len(t, res.Status.ICS, 2)
	assert.Equal(t, workflows.WaveICSStatus{ICS: "QE1", WorkflowID: "wave/W1/ics/QE1", Done: true}, res.Status.ICS[0])
	assert.Equal(t, "QE2", res.Status.ICS[1].ICS)
	assert.Equal(t, "wave/W1/ics/QE2", res.Status.ICS[1].WorkflowID)
	assert.True(t, res.Status.ICS[1].Done)
	assert.Contains(t, res.Status.ICS[1].Error, "intake: the QE2 sample file is not readable")
	assert.Equal(t, workflows.StageClosed, res.ICS["QE1"].Stage)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, inputs, 2)
	codes := []string{inputs[0].ICS, inputs[1].ICS}
	assert.ElementsMatch(t, []string{"QE1", "QE2"}, codes)
	for _, in := range inputs {
		assert.Equal(t, icsInput(t, spec, in.ICS), in, "each child gets what its ICS needs of the spec")
		assert.Equal(t, "W1", in.WaveID)
		assert.Equal(t, "incoming/"+in.ICS+"/sample.csv", in.SampleFile)
		assert.Len(t, in.Steps, 6)
		assert.Equal(t, day, in.DayLength)
	}
	assert.Equal(t, []string{"W1"}, flushed, "the wave flushes its audit trail once at the end")
	assert.Equal(t, []workflows.PublicationInput{{WaveID: "W1", ReleaseID: workflows.FirstReleaseID, Exclude: []string{"QE2"},
		ExcludeReason: "its fieldwork ended early (cancelled or failed), so its figures are partial; a later release may take it in"}}, *published,
		"the ICS that closed is published; the failed one, whose figures are partial, is left out of the draft")
	assert.Equal(t, "publish/W1/r1", res.Status.Publication)
}

func TestWaveWorkflow_AllICSComplete(t *testing.T) {
	spec := testSpec(t, "QE1", "QE2")
	env := newEnv(t)
	published := publications(env)
	env.OnWorkflow(workflows.ICSWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in workflows.ICSInput) (workflows.ICSResult, error) {
			return workflows.ICSResult{Status: workflows.ICSStatus{ICS: in.ICS, Stage: workflows.StageClosed}}, nil
		})
	env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(activities.FlushAuditOutput{}, nil)
	env.ExecuteWorkflow(workflows.WaveWorkflow, spec)
	require.NoError(t, env.GetWorkflowError())
	var res workflows.WaveResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, workflows.WaveCompleted, res.Status.Stage)
	for _, c := range res.Status.ICS {
		assert.True(t, c.Done, c.ICS)
		assert.Empty(t, c.Error, c.ICS)
	}
	assert.Len(t, res.ICS, 2)
	// Every ICS closed: the draft of the wave's first release starts.
	assert.Equal(t, []workflows.PublicationInput{{WaveID: "W1", ReleaseID: workflows.FirstReleaseID}}, *published)
	assert.Equal(t, workflows.PublicationWorkflowID("W1", workflows.FirstReleaseID), res.Status.Publication)
	assert.Empty(t, res.Status.PublicationError)
}

// The spec's publication: parameters are the first release's (with none, the defaults:
// TestWaveWorkflow_AllICSComplete).
func TestWaveWorkflow_FirstReleaseTakesTheSpecsParameters(t *testing.T) {
	spec := testSpec(t, "QE1")
	confidence, minBase := 0.9, 20
	spec.Publication = &activities.ReleaseParams{Confidence: &confidence, MinBase: &minBase}
	env := newEnv(t)
	published := publications(env)
	env.OnWorkflow(workflows.ICSWorkflow, mock.Anything, mock.Anything).Return(
		func(ctx workflow.Context, in workflows.ICSInput) (workflows.ICSResult, error) {
			return workflows.ICSResult{Status: workflows.ICSStatus{ICS: in.ICS, Stage: workflows.StageClosed}}, nil
		})
	env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(activities.FlushAuditOutput{}, nil)
	env.ExecuteWorkflow(workflows.WaveWorkflow, spec)
	require.NoError(t, env.GetWorkflowError())
	require.Len(t, *published, 1)
	got := (*published)[0]
	require.NotNil(t, got.Params, "r1 is drafted with the spec's parameters")
	assert.Equal(t, *spec.Publication, *got.Params)
	assert.Equal(t, workflows.FirstReleaseID, got.ReleaseID)
}

// The real ICS workflows as children: QE2's intake fails for good (a configuration
// error, not bad input), QE1 runs its whole timetable, and a pause sent to the wave
// reaches QE1.
func TestWaveWorkflow_RealChildren(t *testing.T) {
	spec := testSpec(t, "QE1", "QE2")
	env := newEnv(t)
	declareAt := time.Hour
	start := t0.Add(declareAt)
	w := newWorld(env, start, 4000, fieldworkPeople()...)
	publications(env)
	w.intakeHook = func(_ int, in activities.IntakeInput) (activities.IntakeOutput, error) {
		if in.ICS == "QE2" {
			return activities.IntakeOutput{}, activities.ApplicationError(fault.Wrap(fault.Configuration, errors.New("no pseudonymisation key configured")))
		}
		return activities.IntakeOutput{RowsRead: 4100, Accepted: 4000, MinEligible: 4000, SampleKey: schemas.SampleKey(in.WaveID, in.ICS),
			Objects: []schemas.LakeObject{schemas.SampleObject(in.WaveID, in.ICS)}}, nil
	}
	u := &updates{}
	qe1 := workflows.ICSWorkflowID("W1", "QE1")
	var mu sync.Mutex
	var (
		pausedICS               workflows.ICSStatus
		pausedWave, midWave     workflows.WaveStatus
		queryErrs               []error
		declareErr, declareErr2 error
	)
	keep := func(err error) {
		if err != nil {
			mu.Lock()
			queryErrs = append(queryErrs, err)
			mu.Unlock()
		}
	}
	env.RegisterDelayedCallback(func() {
		declareErr = env.UpdateWorkflowByID(qe1, workflows.UpdateDeclare, "qe1-declare", u.callback("qe1-declare"), workflows.DeclareRequest{By: "Dr A. Jones"})
		// QE2 has already failed: there is nothing to declare.
		declareErr2 = env.UpdateWorkflowByID(workflows.ICSWorkflowID("W1", "QE2"), workflows.UpdateDeclare, "qe2-declare", u.callback("qe2-declare"), workflows.DeclareRequest{By: "Dr A. Jones"})
	}, declareAt)
	env.RegisterDelayedCallback(func() {
		var err error
		midWave, err = waveStatus(env)
		keep(err)
	}, declareAt+time.Hour)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalPause, nil) }, declareAt+2*day)
	env.RegisterDelayedCallback(func() {
		var err error
		pausedICS, err = icsStatusByID(env, qe1)
		keep(err)
		pausedWave, err = waveStatus(env)
		keep(err)
	}, declareAt+4*day)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(workflows.SignalResume, nil) }, declareAt+5*day)
	env.ExecuteWorkflow(workflows.WaveWorkflow, spec)
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.Empty(t, queryErrs)

	require.NoError(t, declareErr)
	u.requireAccepted(t, "qe1-declare")
	assert.Error(t, declareErr2, "QE2's workflow has already ended")

	assert.Equal(t, workflows.WaveFieldwork, midWave.Stage)
	require.Len(t, midWave.ICS, 2)
	assert.False(t, midWave.ICS[0].Done)
	assert.True(t, midWave.ICS[1].Done)
	assert.Contains(t, midWave.ICS[1].Error, "no pseudonymisation key configured")

	assert.True(t, pausedWave.Paused)
	assert.True(t, pausedICS.Paused, "the wave's pause reaches the running ICS")
	assert.Equal(t, "resume (this ICS is paused)", pausedICS.WaitingOn)

	var res workflows.WaveResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, workflows.WaveCompletedWithFailures, res.Status.Stage)
	assert.False(t, res.Status.Paused)
	assert.Empty(t, res.Status.ICS[0].Error)
	// The cause once, with its kind and activity (activities.FailureText).
	assert.Equal(t, "no pseudonymisation key configured (Configuration; not retried: a person must fix it; in activity Intake)", res.Status.ICS[1].Error)
	assert.Equal(t, workflows.StageClosed, res.ICS["QE1"].Stage)
	assert.Equal(t, "Dr A. Jones", res.ICS["QE1"].Declaration.By)

	w.mu.Lock()
	defer w.mu.Unlock()
	assert.Equal(t, map[string][]string{
		"S001": {"invitation", "sms1", "reminder1", "sms2", "reminder2", "sms3"},
		"S002": {"invitation"},
		"S003": {"invitation", "sms1", "reminder1"},
		"S004": {"invitation", "reminder1", "reminder2"},
		"S005": {"invitation"},                                   // the SMS step's DBS check finds the death
		"S006": {"invitation", "sms1", "reminder1", "reminder2"}, // sms1 failed for good: no more SMS
	}, w.received)
	for _, s := range w.sends {
		assert.Equal(t, "QE1", s.ics, "nothing is sent for the failed ICS")
	}
	require.Len(t, w.sends, 6)
	assert.Equal(t, start.Add(5*day), w.sends[1].at, "sms1 (day 3) was held by the wave's pause until the resume on day 5")
	assert.Equal(t, start.Add(14*day), w.sends[2].at)
	assert.Equal(t, start.Add(58*day), w.closedAt, "the closing record two days after the close")
	assert.Equal(t, 2, w.counts["Intake"])
}
