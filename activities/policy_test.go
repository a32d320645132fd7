package activities

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
)

// A simulator no worker serves (a production stack asked to simulate a supplier's
// files) fails at its first attempt instead of being retried for ever: its class
// lists, as not retryable, the failure type the SDK gives an activity type the worker
// that took the task does not serve (checked here against the SDK itself); an ordinary
// activity no worker serves yet (a rolling deploy) is still retried.
func TestSimulatorNotServedFailsAtOnce(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.SetTestTimeout(30 * time.Second)
	wf := func(ctx workflow.Context) error {
		o := Options(Simulator)
		o.RetryPolicy.MaximumAttempts = 1
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, o), "SimulateResponses").Get(ctx, nil)
	}
	env.RegisterWorkflowWithOptions(wf, workflow.RegisterOptions{Name: "W"})
	env.RegisterActivityWithOptions(func() error { return nil }, activity.RegisterOptions{Name: "SomethingElse"})
	env.ExecuteWorkflow("W")
	err := env.GetWorkflowError()
	var app *temporal.ApplicationError
	if err == nil || !errors.As(err, &app) || !strings.Contains(err.Error(), "unable to find activityType=SimulateResponses") {
		t.Fatalf("workflow error %v, want the activity not found", err)
	}
	for _, c := range []Class{Storage, Network, Warehouse, Long, Simulator} {
		listed := slices.Contains(Options(c).RetryPolicy.NonRetryableErrorTypes, app.Type())
		if listed != (c == Simulator) {
			t.Errorf("class %d: the SDK's %q (an activity no worker serves) is listed as not retryable: %v, want %v",
				c, app.Type(), listed, c == Simulator)
		}
	}
}
