package waveclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"

	"icesurvey/fault"
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
	// Attempt is the attempt that will run next (the first failure makes it 2).
	Attempt       int32     `json:"attempt"`
	LastFailure   string    `json:"last_failure"`
	Kind          string    `json:"kind,omitempty"` // the failure's fault kind, if any
	LastFailedAt  time.Time `json:"last_failed_at,omitempty"`
	NextAttemptAt time.Time `json:"next_attempt_at,omitempty"`
}

func (r Retrying) String() string {
	s := fmt.Sprintf("%s (in %s %s) failed %d %s and is retried",
		r.Activity, r.Workflow, r.WorkflowID, r.Attempt-1, map[bool]string{true: "time", false: "times"}[r.Attempt == 2])
	if !r.NextAttemptAt.IsZero() {
		s += ", next at " + r.NextAttemptAt.UTC().Format("15:04:05") + " UTC"
	}
	return s + ": " + r.LastFailure
}

// awaitedKinds are failures that are the activity waiting by design, not a fault: a
// poll for a reply (NotReady) and the warehouse's lock held by a reader (Busy).
var awaitedKinds = map[string]bool{string(fault.NotReady): true, string(fault.Busy): true}

// RetryingUnder lists the activities retrying after a failure in the running workflow
// id and in its running children, theirs and so on, parents first. A workflow that has
// closed (or never ran) has none. Polls (NotReady) and waits for the warehouse's lock
// (Busy) are waits, not failures, and are left out.
func (c *Client) RetryingUnder(ctx context.Context, workflowID string) ([]Retrying, error) {
	var out []Retrying
	seen := map[string]bool{}
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
		out = append(out, retryingOf(id, info.GetType().GetName(), d.GetPendingActivities())...)
		for _, ch := range d.GetPendingChildren() {
			if err := walk(ch.GetWorkflowId()); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(workflowID)
}

// retryingOf picks, from a workflow's pending activities, those retrying after a failure.
func retryingOf(workflowID, workflowType string, pending []*workflowpb.PendingActivityInfo) []Retrying {
	var out []Retrying
	for _, a := range pending {
		f := a.GetLastFailure()
		if a.GetAttempt() < 2 || f == nil {
			continue
		}
		kind := f.GetApplicationFailureInfo().GetType()
		if awaitedKinds[kind] {
			continue
		}
		r := Retrying{WorkflowID: workflowID, Workflow: workflowType, Activity: a.GetActivityType().GetName(),
			Attempt: a.GetAttempt(), LastFailure: f.GetMessage(), Kind: kind}
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
