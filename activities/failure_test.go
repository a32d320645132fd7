package activities

import (
	"errors"
	"fmt"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	failurepb "go.temporal.io/api/failure/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
)

func TestFailureTextSaysTheCauseOnce(t *testing.T) {
	root := "publication: wave W9 has no sample in the warehouse"
	// As a workflow's failure arrives: the workflow's own wrapping, a conversion of the
	// chain into one application error whose message repeats the cause, and the cause.
	classified := fmt.Errorf("build release r1: %w", temporal.NewApplicationErrorWithCause(
		"compute release r1 of wave W9: "+root+" (type: BadInput, retryable: false)", "wrapError",
		temporal.NewNonRetryableApplicationError(root, "BadInput", nil)))
	// A child workflow's own unclassified error, as its parent (a schedule's run) sees it.
	childFailed := fmt.Errorf("load the day: %w", temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{
		Message: "child workflow execution error",
		FailureInfo: &failurepb.Failure_ChildWorkflowExecutionFailureInfo{ChildWorkflowExecutionFailureInfo: &failurepb.ChildWorkflowExecutionFailureInfo{
			WorkflowType: &commonpb.WorkflowType{Name: "DailyLoadWorkflow"}, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "load/W9/2026-12-05"}}},
		Cause: &failurepb.Failure{Message: "daily load W9 2026-12-05 failed for 1 of 2 ICSs: [QMM: no sample]",
			FailureInfo: &failurepb.Failure_ApplicationFailureInfo{ApplicationFailureInfo: &failurepb.ApplicationFailureInfo{Type: "wrapError"}}},
	}))
	childCancelled := temporal.GetDefaultFailureConverter().FailureToError(&failurepb.Failure{
		Message: "child workflow execution canceled",
		FailureInfo: &failurepb.Failure_ChildWorkflowExecutionFailureInfo{ChildWorkflowExecutionFailureInfo: &failurepb.ChildWorkflowExecutionFailureInfo{
			WorkflowType: &commonpb.WorkflowType{Name: "ICSWorkflow"}, WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "wave/W9/ics/QMM"}}},
		Cause: &failurepb.Failure{Message: "canceled", FailureInfo: &failurepb.Failure_CanceledFailureInfo{CanceledFailureInfo: &failurepb.CanceledFailureInfo{}}},
	})
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"a child workflow cancelled", childCancelled, "cancelled (in workflow ICSWorkflow)"},
		{"a child workflow's own error", childFailed, "daily load W9 2026-12-05 failed for 1 of 2 ICSs: [QMM: no sample] (in workflow DailyLoadWorkflow)"},
		{"a permanent kind", classified, root + " (BadInput; not retried: a person must fix it)"},
		{"a transient kind", fmt.Errorf("load: %w", temporal.NewApplicationError("the warehouse is busy", "Busy")),
			"the warehouse is busy (Busy)"},
		{"the deepest classified cause wins", temporal.NewApplicationErrorWithCause("outer", "Configuration",
			temporal.NewApplicationError("inner", "Conflict")), "inner (Conflict; not retried: a person must fix it)"},
		{"a workflow the cluster does not know", fmt.Errorf("query wave W9: %w", serviceerror.NewNotFound("workflow not found for ID: wave/W9")),
			"query wave W9: workflow not found for ID: wave/W9 (is the wave id right, and this the wave's cluster and namespace? `ice wave list` lists the waves it knows)"},
		{"no kind: whole", fmt.Errorf("dial: %w", errors.New("connection refused")), "dial: connection refused"},
		{"an unknown type: whole", temporal.NewApplicationError("panic in activity", "PanicError"),
			"panic in activity (type: PanicError, retryable: true)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := FailureText(c.err); got != c.want {
				t.Errorf("FailureText = %q\nwant          %q", got, c.want)
			}
		})
	}
}
