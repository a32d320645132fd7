package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/workflows"
)

// A run started by the schedule loads its day under the day's one workflow ID, the ID
// a backfill of that day uses (#13 item 6).
func TestDailyLoadScheduledRunUsesTheDaysID(t *testing.T) {
	e := newDailyEnv(t)
	e.onLoad(nil)
	scheduled := time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)
	require.NoError(t, e.env.SetTypedSearchAttributesOnStart(temporal.NewSearchAttributes(
		workflows.SAScheduledStartTime.ValueSet(scheduled))))
	var children []string
	e.env.SetOnChildWorkflowStartedListener(func(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
		children = append(children, info.WorkflowExecution.ID)
	})
	in := workflows.DailyLoadInput{WaveID: testWID, ICS: []string{"QE1"}, LagDays: 1}
	in.PatientVersion = "patient-2026.1"
	e.env.ExecuteWorkflow(workflows.DailyLoadWorkflow, in)
	require.NoError(t, e.env.GetWorkflowError())
	var res workflows.DailyLoadResult
	require.NoError(t, e.env.GetWorkflowResult(&res))
	require.Equal(t, "2026-02-28", res.Date)
	require.Equal(t, []string{workflows.DailyLoadWorkflowID(testWID, time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC))}, children)
	require.Equal(t, []string{"load", "warehouse:outcome_events", "warehouse:response_rejections", "warehouse:responses"}, e.log["QE1"])
}

// bothStarts starts a load of the day by hand (the day's ID, Date set) and then the
// schedule's run of the same day, as two children of one test workflow.
func bothStarts(ctx workflow.Context, in workflows.DailyLoadInput, day time.Time) (int, error) {
	byHand := in
	byHand.Date = day
	first := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: workflows.DailyLoadWorkflowID(in.WaveID, day)}), workflows.DailyLoadWorkflow, byHand)
	if err := first.GetChildWorkflowExecution().Get(ctx, nil); err != nil {
		return 0, err
	}
	second := workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: workflows.DailyLoadScheduledWorkflowID(in.WaveID) + "-scheduled"}), workflows.DailyLoadWorkflow, in)
	if err := first.Get(ctx, nil); err != nil {
		return 0, err
	}
	return 2, second.Get(ctx, nil)
}

// A scheduled run whose day is being loaded by hand waits for that load to end before
// it loads the day: the two never run at once.
func TestDailyLoadScheduledRunWaitsForTheDaysLoad(t *testing.T) {
	e := newDailyEnv(t)
	e.env.RegisterWorkflow(bothStarts)
	var (
		mu             sync.Mutex
		running, peak  int
		calls          int
		loadDates      []string
		firstEnd, next time.Time
	)
	e.env.OnActivity(ta.LoadResponses, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadResponsesInput) (activities.LoadResponsesOutput, error) {
			mu.Lock()
			running++
			peak = max(peak, running)
			calls++
			loadDates = append(loadDates, in.Date.Format(time.DateOnly))
			if calls == 2 {
				next = e.env.Now()
			}
			mu.Unlock()
			time.Sleep(50 * time.Millisecond) // long enough for a second load to overlap, were it let
			mu.Lock()
			running--
			if calls == 1 {
				firstEnd = e.env.Now()
			}
			mu.Unlock()
			return activities.LoadResponsesOutput{NoFiles: true, LoadDate: in.Date.Format(time.DateOnly)}, nil
		})
	in := workflows.DailyLoadInput{WaveID: testWID, ICS: []string{"QE1"}}
	in.PatientVersion = "patient-2026.1"
	day := time.Date(t0.Year(), t0.Month(), t0.Day(), 0, 0, 0, 0, time.UTC) // the schedule's day: the clock's, lag 0
	e.env.ExecuteWorkflow(bothStarts, in, day)
	require.NoError(t, e.env.GetWorkflowError())
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, peak, "two loads of one day ran at once")
	require.Equal(t, []string{day.Format(time.DateOnly), day.Format(time.DateOnly)}, loadDates, "both starts load the day, one after the other")
	require.False(t, next.Before(firstEnd), "the scheduled load started before the load by hand ended")
}
