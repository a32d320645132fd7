package worker

import (
	"context"

	"go.temporal.io/sdk/interceptor"

	"icesurvey/activities"
)

// errorInterceptor maps every activity's error to the Temporal application error the
// workflows and the retry policy see (activities.ApplicationError), so the one mapping
// of the error taxonomy is applied in one place and no activity can forget it.
type errorInterceptor struct {
	interceptor.WorkerInterceptorBase
}

// NewErrorInterceptor returns the worker interceptor that maps activity errors.
func NewErrorInterceptor() interceptor.WorkerInterceptor { return &errorInterceptor{} }

func (e *errorInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &errorActivityInbound{}
	i.Next = next
	return i
}

type errorActivityInbound struct {
	interceptor.ActivityInboundInterceptorBase
}

func (i *errorActivityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	out, err := i.Next.ExecuteActivity(ctx, in)
	return out, activities.ApplicationError(err)
}
