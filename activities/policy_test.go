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

// TestSimulatorWaitsOutANationalDayQueue: a day's load of a national wave queues every
// ICS's simulation (and each ICS's warehouse loads) on the warehouse worker at once,
// two at a time. At 42 ICSs of 4,000 the day took about 130 s on 2 cores, and with a
// one-minute schedule-to-start the simulations queued last failed (ScheduleToStart
// timeout: 7 and 11 of 42 ICSs lost their day). The bound is still there, for a run
// that asks for the simulator where no warehouse worker ever comes, but a day's queue
// fits in it several times over.
func TestSimulatorWaitsOutANationalDayQueue(t *testing.T) {
	const (
		icss         = 42
		perICS       = 3               // the simulation and the day's lake objects
		eachActivity = 2 * time.Second // the slowest seen at 4,000 a sample, loaded host
		slots        = 2               // the warehouse worker's activities at once
		headroom     = 4
	)
	queue := time.Duration(icss*perICS/slots) * eachActivity
	if got := Options(Simulator).ScheduleToStartTimeout; got < headroom*queue {
		t.Fatalf("the simulator's schedule-to-start is %s; a national day's warehouse queue is about %s, want at least %s", got, queue, headroom*queue)
	}
}
