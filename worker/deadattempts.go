package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"icesurvey/audit"
	"icesurvey/internal/workerid"
	"icesurvey/store"
)

// ErrorTypeWorkerDied is the error type of an attempt failed because the worker that
// had taken it is dead: retryable, like any crash.
const ErrorTypeWorkerDied = "WorkerDied"

// Attempt is one activity attempt the cluster has started and not yet seen end.
type Attempt struct {
	WorkflowID, RunID, ActivityID, ActivityType string
	Attempt                                     int32
	// Identity is the worker that took the attempt; Started, when it was started.
	Identity string
	Started  time.Time
}

// StartedAttempts lists the started attempts of the current runs of the workflows ids;
// a workflow that cannot be described (ended, not found) is left out.
func StartedAttempts(ctx context.Context, c client.Client, ids ...string) []Attempt {
	var out []Attempt
	for _, id := range ids {
		d, err := c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			continue
		}
		for _, p := range d.GetPendingActivities() {
			if p.GetState() != enumspb.PENDING_ACTIVITY_STATE_STARTED {
				continue
			}
			out = append(out, Attempt{WorkflowID: id, RunID: d.GetWorkflowExecutionInfo().GetExecution().GetRunId(),
				ActivityID: p.GetActivityId(), ActivityType: p.GetActivityType().GetName(), Attempt: p.GetAttempt(),
				Identity: p.GetLastWorkerIdentity(), Started: p.GetLastStartedTime().AsTime()})
		}
	}
	return out
}

// FailAttempt reports the attempt a as failed with err (RespondActivityTaskFailedById),
// so Temporal retries it now, by its retry policy, rather than at its timeout. It
// fails whatever attempt of the activity is running: the caller makes sure it is a.
func FailAttempt(ctx context.Context, c client.Client, namespace string, a Attempt, err error) error {
	return c.CompleteActivityByID(ctx, namespace, a.WorkflowID, a.RunID, a.ActivityID, nil, err)
}

// openWorkflows lists the IDs of the namespace's running workflows.
func openWorkflows(ctx context.Context, c client.Client) ([]string, error) {
	var ids []string
	var token []byte
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "ExecutionStatus = 'Running'", NextPageToken: token})
		if err != nil {
			return nil, err
		}
		for _, e := range resp.GetExecutions() {
			ids = append(ids, e.GetExecution().GetWorkflowId())
		}
		if token = resp.GetNextPageToken(); len(token) == 0 {
			return ids, nil
		}
	}
}

// DeadAttempts is what FailDeadAttempts needs.
type DeadAttempts struct {
	Client    client.Client
	Namespace string
	Store     store.Store
	Logger    *slog.Logger
	// Self and Probe judge a worker's identity (workerid.Me and workerid.Proc on a
	// real host).
	Self  workerid.Self
	Probe workerid.Probe
}

// FailDeadAttempts fails the started activity attempts of the namespace's open
// workflows whose worker is provably dead (workerid.Judge: a worker of this host and
// process-id namespace whose process is gone or whose pid another process now has, or
// a worker of an earlier boot of this machine), so Temporal retries them now rather
// than at their heartbeat or start-to-close timeout. Each is logged and written to the
// audit trail (audit.KindDeadWorkerAttempt). An attempt of a live worker, or of one it
// cannot judge, is left alone. It returns the attempts it failed.
func FailDeadAttempts(ctx context.Context, d DeadAttempts) ([]Attempt, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	ids, err := openWorkflows(ctx, d.Client)
	if err != nil {
		return nil, fmt.Errorf("worker: list open workflows to find attempts of dead workers: %w", err)
	}
	var failed []Attempt
	left := 0
	for _, a := range StartedAttempts(ctx, d.Client, ids...) {
		v := workerid.Judge(a.Identity, a.Started, d.Self, d.Probe)
		if !v.Dead {
			left++
			d.Logger.Debug("attempt of a worker not known dead left alone", "workflow", a.WorkflowID, "activity", a.ActivityType,
				"attempt", a.Attempt, "worker", a.Identity, "why", v.Reason)
			continue
		}
		// The attempt may have timed out and another been started since it was
		// listed: fail it only if it is still the attempt of the dead worker (failing
		// by ID fails whichever attempt runs).
		if !stillRunning(ctx, d.Client, a) {
			continue
		}
		msg := fmt.Sprintf("worker %q is dead (%s): attempt %d of %s was failed by worker %q as it started, so that it is retried now rather than at its timeout",
			a.Identity, v.Reason, a.Attempt, a.ActivityType, d.Self.String())
		if err := FailAttempt(ctx, d.Client, d.Namespace, a, temporal.NewApplicationError(msg, ErrorTypeWorkerDied)); err != nil {
			d.Logger.Warn("could not fail the attempt of a dead worker", "workflow", a.WorkflowID, "activity", a.ActivityType,
				"attempt", a.Attempt, "worker", a.Identity, "err", err)
			continue
		}
		failed = append(failed, a)
		d.Logger.Warn("failed the attempt of a dead worker, so it is retried now", "workflow", a.WorkflowID, "activity", a.ActivityType,
			"activity_id", a.ActivityID, "attempt", a.Attempt, "started", a.Started.UTC().Format(time.RFC3339), "worker", a.Identity, "why", v.Reason)
		if d.Store != nil {
			if err := audit.Write(ctx, d.Store, []audit.Event{deadAttemptEvent(a, msg, v.Reason, d.Self.String())}); err != nil {
				d.Logger.Error("audit trail write failed for the attempt of a dead worker", "workflow", a.WorkflowID,
					"activity", a.ActivityType, "attempt", a.Attempt, "err", err)
			}
		}
	}
	d.Logger.Info("checked the running activity attempts for dead workers", "workflows", len(ids), "failed", len(failed), "left", left)
	return failed, nil
}

// stillRunning reports whether a is still the started attempt of its activity, taken
// by the same worker.
func stillRunning(ctx context.Context, c client.Client, a Attempt) bool {
	for _, now := range StartedAttempts(ctx, c, a.WorkflowID) {
		if now.RunID == a.RunID && now.ActivityID == a.ActivityID {
			return now.Attempt == a.Attempt && now.Identity == a.Identity && now.Started.Equal(a.Started)
		}
	}
	return false
}

// deadAttemptEvent is the audit record of a dead worker's attempt failed by this one.
func deadAttemptEvent(a Attempt, msg, reason, by string) audit.Event {
	wave, ics := ScopeFromWorkflowID(a.WorkflowID)
	ended := time.Now().UTC()
	return audit.Event{
		EventID:      fmt.Sprintf("%s/%s/%s/%d#dead-worker", a.WorkflowID, a.RunID, a.ActivityID, a.Attempt),
		WaveID:       wave,
		ICS:          ics,
		Kind:         audit.KindDeadWorkerAttempt,
		WorkflowID:   a.WorkflowID,
		RunID:        a.RunID,
		ActivityType: a.ActivityType,
		ActivityID:   a.ActivityID,
		Attempt:      a.Attempt,
		StartedAt:    a.Started.UTC(),
		EndedAt:      &ended,
		Outcome:      "error",
		ErrorType:    ErrorTypeWorkerDied,
		Error:        msg,
		Details:      audit.DetailsJSON(map[string]any{"dead_worker": a.Identity, "reason": reason, "failed_by": by}),
	}
}
