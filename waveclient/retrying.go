package waveclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"

	"icesurvey/fault"
	"icesurvey/workflows"
)

// Retrying is an activity of a running workflow that has failed and waits to be tried
// again. An activity whose error is not classified permanent is retried until it
// succeeds (activities.Options), so a cause only a person can fix (a full disk, a
// directory that cannot be written, a defect) shows here, and nowhere else but the
// Temporal UI, while the run waits.
type Retrying struct {
	WorkflowID string `json:"workflow_id"`
	Workflow   string `json:"workflow"` // its type, e.g. LinkageWorkflow
	Activity   string `json:"activity"`
	// Attempt is the attempt running now (Running) or to run next: the first failure
	// makes it 2.
	Attempt       int32     `json:"attempt"`
	Running       bool      `json:"running"`
	LastFailure   string    `json:"last_failure"`
	Kind          string    `json:"kind,omitempty"` // the failure's fault kind, if it has one
	LastFailedAt  time.Time `json:"last_failed_at,omitempty"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitempty"`
	// NotTakenSince, when set, is when the activity was scheduled: it has not failed, no
	// worker has taken it (of TaskQueue, when the server says), and Now is when that
	// was seen.
	NotTakenSince time.Time `json:"not_taken_since,omitzero"`
	TaskQueue     string    `json:"task_queue,omitempty"`
	Now           time.Time `json:"-"`
}

func (r Retrying) String() string {
	if !r.NotTakenSince.IsZero() {
		queue := ""
		if r.TaskQueue != "" {
			queue = " of task queue " + r.TaskQueue
		}
		return fmt.Sprintf("%s (in %s %s) has waited %s for a worker%s to take it (since %s UTC): is one running?",
			r.Activity, r.Workflow, r.WorkflowID, r.Now.Sub(r.NotTakenSince).Round(time.Second), queue,
			r.NotTakenSince.UTC().Format("15:04:05"))
	}
	s := fmt.Sprintf("%s (in %s %s) failed %d %s and is retried",
		r.Activity, r.Workflow, r.WorkflowID, r.Attempt-1, map[bool]string{true: "time", false: "times"}[r.Attempt == 2])
	switch {
	case r.Running:
		s += fmt.Sprintf(", attempt %d running now", r.Attempt)
	case !r.NextAttemptAt.IsZero():
		s += ", next at " + r.NextAttemptAt.UTC().Format("15:04:05") + " UTC"
	}
	return s + "; last failure: " + r.LastFailure
}

// RetryingUnder lists the activities retrying after a failure in the running workflow
// id and in its running children, theirs and so on, parents first. A workflow that has
// closed (or never ran) has none. Polls (NotReady) and waits for the warehouse's lock
// (Busy) are waits, not failures, and are left out.
func (c *Client) RetryingUnder(ctx context.Context, workflowID string) ([]Retrying, error) {
	var out []Retrying
	err := c.walkRetrying(ctx, workflowID, map[string]bool{}, &out)
	return out, err
}

// RetryingInWave lists the activities retrying after a failure in every running
// workflow of the wave (each carries its WaveID: the wave's, its ICSs', their
// retentions, daily loads, releases, linkage, theme coding and warehouse reloads), as
// RetryingUnder does for one.
func (c *Client) RetryingInWave(ctx context.Context, wave string) ([]Retrying, error) {
	var ids []string
	err := c.eachExecution(ctx, fmt.Sprintf("%s = %q AND ExecutionStatus = \"Running\"", workflows.SAWaveID.GetName(), wave),
		func(e *workflowpb.WorkflowExecutionInfo) bool {
			ids = append(ids, e.GetExecution().GetWorkflowId())
			return true
		})
	if err != nil {
		return nil, fmt.Errorf("list the running workflows of wave %s: %w", wave, err)
	}
	sort.Strings(ids) // the wave's own first ("wave/W" sorts before "wave/W/…")
	var out []Retrying
	seen := map[string]bool{}
	for _, id := range ids {
		if err := c.walkRetrying(ctx, id, seen, &out); err != nil {
			return out, err
		}
	}
	return out, nil
}

// walkRetrying adds to out the retrying activities of the running workflow id and of
// its running children, skipping the workflows seen.
func (c *Client) walkRetrying(ctx context.Context, workflowID string, seen map[string]bool, out *[]Retrying) error {
	var walk func(id string) error
	walk = func(id string) error {
		if seen[id] {
			return nil
		}
		seen[id] = true
		d, err := c.c.DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			var notFound *serviceerror.NotFound
			if errors.As(err, &notFound) {
				return nil
			}
			return fmt.Errorf("describe workflow %s: %w", id, err)
		}
		info := d.GetWorkflowExecutionInfo()
		if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return nil
		}
		*out = append(*out, retryingOf(id, info.GetType().GetName(), d.GetPendingActivities(), time.Now())...)
		for _, ch := range d.GetPendingChildren() {
			if err := walk(ch.GetWorkflowId()); err != nil {
				return err
			}
		}
		return nil
	}
	return walk(workflowID)
}

// notTakenAfter is how long an activity may wait for a worker to take it before it is
// reported: past a busy queue's turn (a national wave's day queues every ICS's loads on
// the warehouse worker, two at a time), so what it says is that none is running.
const notTakenAfter = 5 * time.Minute

// retryingOf picks, from a workflow's pending activities, those retrying after a
// failure, and those no worker has taken for notTakenAfter (at now).
func retryingOf(workflowID, workflowType string, pending []*workflowpb.PendingActivityInfo, now time.Time) []Retrying {
	var out []Retrying
	for _, a := range pending {
		f := a.GetLastFailure()
		if a.GetAttempt() < 2 || f == nil {
			// No failure, so nothing retries; but an activity no worker takes (the
			// warehouse worker is not running) fails nothing either, and would be waited
			// on in silence.
			if s := a.GetScheduledTime(); a.GetState() == enumspb.PENDING_ACTIVITY_STATE_SCHEDULED && s != nil &&
				now.Sub(s.AsTime()) >= notTakenAfter {
				out = append(out, Retrying{WorkflowID: workflowID, Workflow: workflowType, Activity: a.GetActivityType().GetName(),
					Attempt: a.GetAttempt(), NotTakenSince: s.AsTime(), Now: now,
					TaskQueue: a.GetActivityOptions().GetTaskQueue().GetName()})
			}
			continue
		}
		kind := f.GetApplicationFailureInfo().GetType()
		if fault.Kind(kind).Awaited() {
			continue
		}
		if !slices.Contains(fault.Kinds, fault.Kind(kind)) {
			kind = "" // an unclassified error's Go type
		}
		r := Retrying{WorkflowID: workflowID, Workflow: workflowType, Activity: a.GetActivityType().GetName(),
			Attempt: a.GetAttempt(), LastFailure: f.GetMessage(), Kind: kind,
			Running: a.GetState() == enumspb.PENDING_ACTIVITY_STATE_STARTED}
		if t := a.GetLastAttemptCompleteTime(); t != nil {
			r.LastFailedAt = t.AsTime()
		}
		if t := a.GetNextAttemptScheduleTime(); t != nil {
			r.NextAttemptAt = t.AsTime()
		}
		out = append(out, r)
	}
	return out
}
