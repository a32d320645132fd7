package activities

import (
	"errors"
	"fmt"
	"testing"

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
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
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
