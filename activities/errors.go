package activities

import (
	"errors"

	"go.temporal.io/sdk/temporal"

	"icesurvey/fault"
)

// ApplicationError is the one mapping from the pipeline's errors to Temporal's. An
// error of a permanent kind (package fault) becomes a non-retryable application error
// whose type is the kind's name; one of a transient kind a retryable application error
// of that type (so the audit trail and the workflows can tell a busy warehouse or an
// awaited reply from a fault); any other error is returned as it is and retried by the
// activity's policy. An error that already is an application error is left alone.
//
// The worker applies it to every activity's error (worker.NewErrorInterceptor), so no
// activity maps its own.
func ApplicationError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return err
	}
	switch k := fault.KindOf(err); {
	case k == "":
		return err
	case k.Permanent():
		return temporal.NewNonRetryableApplicationError(err.Error(), string(k), err)
	default:
		return temporal.NewApplicationErrorWithCause(err.Error(), string(k), err)
	}
}

// FaultOf reads back, in a workflow, the kind and message of an activity's failure:
// the type and message of the application error in err's chain, or "" when err is no
// application error of a fault kind.
func FaultOf(err error) (fault.Kind, string) {
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) {
		return "", ""
	}
	for _, k := range fault.Kinds {
		if appErr.Type() == string(k) {
			return k, appErr.Message()
		}
	}
	return "", ""
}
