package activities

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"icesurvey/fault"
)

// FailureText is what a person is shown of a failure (ice prints a command's error
// with it, and a publication's status holds it). A workflow's or an activity's
// failure arrives as Temporal's chain, in which the workflow's error, the activity's and
// each of their causes repeat the message below them: three or four copies of one
// sentence. A data engineer needs that sentence once, the kind of failure (whether a
// retry could help) and the activity it happened in. An error with no classified cause
// is printed whole.
func FailureText(err error) string {
	var root *temporal.ApplicationError
	for e := err; e != nil; {
		var a *temporal.ApplicationError
		if !errors.As(e, &a) {
			break
		}
		if slices.Contains(fault.Kinds, fault.Kind(a.Type())) {
			root = a
		}
		e = a.Unwrap()
	}
	if root == nil {
		// A workflow's own error (a child's, as a schedule's run sees its day's load):
		// Temporal's wrappers name IDs and event numbers around the sentence the
		// workflow returned. That sentence is its deepest application error.
		var wf *temporal.WorkflowExecutionError
		var child *temporal.ChildWorkflowExecutionError
		inWorkflow, inChild := errors.As(err, &wf), errors.As(err, &child)
		var canceled *temporal.CanceledError
		if inChild && errors.As(err, &canceled) {
			// An ICS cancelled on its own (`ice wave cancel W --ics`), as its wave sees it.
			return fmt.Sprintf("cancelled (in workflow %s)", child.WorkflowType())
		}
		if inWorkflow || inChild {
			var deepest *temporal.ApplicationError
			for e := err; e != nil; {
				var a *temporal.ApplicationError
				if !errors.As(e, &a) {
					break
				}
				deepest, e = a, a.Unwrap()
			}
			if deepest != nil {
				if inChild && child.WorkflowType() != "" {
					return fmt.Sprintf("%s (in workflow %s)", strings.TrimSpace(deepest.Message()), child.WorkflowType())
				}
				return strings.TrimSpace(deepest.Message())
			}
		}
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) && strings.Contains(err.Error(), "workflow not found") {
			// A wave (or its publication, linkage or coding) the cluster does not know:
			// most often a mistyped wave id, or the wrong cluster or namespace.
			return err.Error() + " (is the wave id right, and this the wave's cluster and namespace? `ice wave list` lists the waves it knows)"
		}
		return err.Error()
	}
	kind := fault.Kind(root.Type())
	where := []string{string(kind)}
	if kind.Permanent() {
		where = append(where, "not retried: a person must fix it")
	}
	var act *temporal.ActivityError
	if errors.As(err, &act) && act.ActivityType().GetName() != "" {
		where = append(where, "in activity "+act.ActivityType().GetName())
	}
	return fmt.Sprintf("%s (%s)", strings.TrimSpace(root.Message()), strings.Join(where, "; "))
}
