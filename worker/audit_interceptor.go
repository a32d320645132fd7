package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/temporal"

	"icesurvey/audit"
	"icesurvey/store"
)

// Scoped is implemented by activity inputs that name the wave and ICS they act on.
// Inputs that don't are placed by their workflow ID (see ScopeFromWorkflowID).
type Scoped interface {
	AuditScope() (wave, ics string)
}

// auditInterceptor records every activity attempt, and the domain events recorded
// inside it, in the audit trail. It is the only place attempts are audited, so no
// activity can forget.
type auditInterceptor struct {
	interceptor.WorkerInterceptorBase
	store store.Store
	log   *slog.Logger

	// unwritten are the records of failed attempts the store refused (it was down):
	// the attempt had failed anyway, so it is retried and not failed again for its
	// record, but the record is kept, in order, and written at this worker's next
	// write that succeeds. Writing one again is harmless: an attempt's object key is
	// fixed by its first event, and the trail reads each event once.
	mu        sync.Mutex
	unwritten [][]audit.Event
}

// maxUnwritten bounds the records a worker keeps while the store is down (a day of
// retries of every activity at their longest interval is far fewer): past it the
// oldest is dropped, and said to be in the log.
const maxUnwritten = 10000

// NewAuditInterceptor returns the worker interceptor that writes the audit trail to st.
func NewAuditInterceptor(st store.Store, log *slog.Logger) interceptor.WorkerInterceptor {
	return &auditInterceptor{store: st, log: log}
}

func (a *auditInterceptor) InterceptActivity(ctx context.Context, next interceptor.ActivityInboundInterceptor) interceptor.ActivityInboundInterceptor {
	i := &auditActivityInbound{parent: a}
	i.Next = next
	return i
}

type auditActivityInbound struct {
	interceptor.ActivityInboundInterceptorBase
	parent *auditInterceptor
}

func (i *auditActivityInbound) ExecuteActivity(ctx context.Context, in *interceptor.ExecuteActivityInput) (any, error) {
	info := activity.GetInfo(ctx)
	started := time.Now().UTC()
	wave, ics := scopeOf(in.Args, info.WorkflowExecution.ID)
	ctx, collector := audit.WithCollector(ctx)

	result, err := i.Next.ExecuteActivity(ctx, in)

	ended := time.Now().UTC()
	attemptID := fmt.Sprintf("%s/%s/%s/%d", info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID, info.Attempt)
	ev := audit.Event{
		EventID:      attemptID,
		WaveID:       wave,
		ICS:          ics,
		Kind:         audit.KindActivityAttempt,
		WorkflowID:   info.WorkflowExecution.ID,
		RunID:        info.WorkflowExecution.RunID,
		ActivityType: info.ActivityType.Name,
		ActivityID:   info.ActivityID,
		Attempt:      info.Attempt,
		StartedAt:    started,
		EndedAt:      &ended,
		Outcome:      "ok",
		InputSHA256:  digest(in.Args),
		Details:      "{}",
	}
	if err != nil {
		ev.Outcome = "error"
		if errors.Is(err, context.Canceled) || temporal.IsCanceledError(err) {
			ev.Outcome = "canceled"
		}
		ev.Error = err.Error()
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			// Its message is the error's sentence; its Error() would add the type and
			// the cause again ("… (type: NotReady, retryable: true): …").
			ev.ErrorType, ev.Error = appErr.Type(), appErr.Message()
		}
	} else {
		ev.OutputSHA256 = digest(result)
	}
	events := []audit.Event{ev}
	for n, d := range collector.Events() {
		at := d.At
		events = append(events, audit.Event{
			EventID:      fmt.Sprintf("%s#%d", attemptID, n+1),
			WaveID:       wave,
			ICS:          ics,
			Kind:         d.Kind,
			WorkflowID:   ev.WorkflowID,
			RunID:        ev.RunID,
			ActivityType: ev.ActivityType,
			ActivityID:   ev.ActivityID,
			Attempt:      ev.Attempt,
			StartedAt:    at,
			EndedAt:      &at,
			Details:      audit.DetailsJSON(d.Details),
		})
	}
	// The attempt's own context may be cancelled or timed out; the record must still land.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if werr := audit.Write(wctx, i.parent.store, events); werr != nil {
		i.parent.log.Error("audit trail write failed", "activity", ev.ActivityType, "workflow", ev.WorkflowID, "attempt", ev.Attempt, "err", werr)
		if err == nil {
			// An unaudited success is not a success: fail the attempt so it is retried
			// (activities are idempotent) and audited then.
			return nil, fmt.Errorf("audit: record attempt of %s: %w", ev.ActivityType, werr)
		}
		i.parent.keep(events)
		return result, err
	}
	i.parent.writeUnwritten(wctx)
	return result, err
}

// keep holds a failed attempt's record the store refused, for writeUnwritten.
func (a *auditInterceptor) keep(events []audit.Event) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.unwritten) >= maxUnwritten {
		a.log.Error("audit trail: a failed attempt's record is dropped: too many unwritten", "kept", len(a.unwritten),
			"activity", a.unwritten[0][0].ActivityType, "workflow", a.unwritten[0][0].WorkflowID, "attempt", a.unwritten[0][0].Attempt)
		a.unwritten = a.unwritten[1:]
	}
	a.unwritten = append(a.unwritten, events)
}

// unwrittenPerAttempt is how many kept records one attempt's completion writes: a
// long outage's backlog goes out over the next attempts, none of them held back long.
const unwrittenPerAttempt = 20

// writeUnwritten writes the records kept while the store was down, oldest first, a
// few at a time, keeping any it refuses again.
func (a *auditInterceptor) writeUnwritten(ctx context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for n := 0; n < unwrittenPerAttempt && len(a.unwritten) > 0; n++ {
		if err := audit.Write(ctx, a.store, a.unwritten[0]); err != nil {
			a.log.Warn("audit trail: the records kept while the store was down are still unwritten", "kept", len(a.unwritten), "err", err)
			return
		}
		a.unwritten = a.unwritten[1:]
	}
}

func scopeOf(args []any, workflowID string) (wave, ics string) {
	for _, a := range args {
		if s, ok := a.(Scoped); ok {
			return s.AuditScope()
		}
	}
	return ScopeFromWorkflowID(workflowID)
}

// ScopeFromWorkflowID reads the wave and ICS from the workflow ID conventions
// "wave/{wave}" and "wave/{wave}/ics/{ics}".
func ScopeFromWorkflowID(id string) (wave, ics string) {
	parts := strings.Split(id, "/")
	if len(parts) >= 2 && parts[0] == "wave" {
		wave = parts[1]
	}
	if len(parts) >= 4 && parts[2] == "ics" {
		ics = parts[3]
	}
	return wave, ics
}

func digest(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(fmt.Sprintf("%#v", v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
