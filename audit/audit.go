// Package audit is the pipeline's append-only audit trail.
//
// Two kinds of event go into it. Every activity attempt is recorded by the worker's
// interceptor (never by hand in an activity): who ran it, which attempt, when, how it
// ended, and digests of its input and output. Inside an attempt, stages add domain
// events — a file received with its checksum, records accepted and rejected, a
// declaration signed, a mailing sent — through Record, which needs no Temporal: a
// domain package calls it with the context it was given.
//
// Events are written one object per attempt under audit/pending/ in the store (unique
// keys, so nothing is ever overwritten and a retry is a second object), then compacted
// into Parquet in the lake and the warehouse's audit_log by the warehouse worker.
package audit

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"icesurvey/schemas"
)

// Event is one row of the audit trail.
type Event struct {
	EventID      string     `col:"event_id,key,unique,doc=unique id of the event"`
	WaveID       string     `col:"wave_id"`
	ICS          string     `col:"ics,doc=ICS code or empty for wave-level events"`
	Kind         string     `col:"kind,doc=activity_attempt or a domain event kind"`
	WorkflowID   string     `col:"workflow_id"`
	RunID        string     `col:"run_id"`
	ActivityType string     `col:"activity_type"`
	ActivityID   string     `col:"activity_id"`
	Attempt      int32      `col:"attempt"`
	StartedAt    time.Time  `col:"started_at"`
	EndedAt      *time.Time `col:"ended_at"`
	Outcome      string     `col:"outcome,doc=ok or error or canceled (attempts) or empty (domain events)"`
	ErrorType    string     `col:"error_type"`
	Error        string     `col:"error"`
	InputSHA256  string     `col:"input_sha256"`
	OutputSHA256 string     `col:"output_sha256"`
	Details      string     `col:"details,doc=JSON object of event-specific facts; never identifiable data"`
}

// KindActivityAttempt is the Kind of an activity attempt's event; every other kind is a
// domain event's.
const KindActivityAttempt = "activity_attempt"

// KindFieldworkEndedEarly is the domain event of an ICS whose fieldwork ended before its
// close (cancelled, or failed for good); the dashboard reads it from audit_log.
const KindFieldworkEndedEarly = "fieldwork_ended_early"

// KindDeadWorkerAttempt is the record of an activity attempt a starting worker failed
// because the worker that had taken it is provably dead (killed, or its machine
// restarted): its outcome is "error" with error type WorkerDied, and its details name
// the dead worker, why it is known dead, and the worker that failed it. The dead
// worker's own attempt has no record (it died before writing one).
const KindDeadWorkerAttempt = "dead_worker_attempt_failed"

// Layout is the declared layout of the audit trail (lake Parquet and warehouse audit_log).
func Layout() *schemas.Layout { return schemas.LayoutOf[Event](string(schemas.TableAuditLog)) }

// Collector gathers the domain events recorded during one activity attempt.
type Collector struct {
	mu     sync.Mutex
	events []DomainEvent
}

// DomainEvent is a fact a stage records about its work.
type DomainEvent struct {
	Kind    string
	At      time.Time
	Details map[string]any
}

type collectorKey struct{}

// WithCollector returns a context whose Record calls land in the returned collector.
func WithCollector(ctx context.Context) (context.Context, *Collector) {
	c := &Collector{}
	return context.WithValue(ctx, collectorKey{}, c), c
}

// Record adds a domain event to the current attempt's trail. Details must not hold a
// name, address, phone number or NHS number. Outside an audited attempt it does nothing.
func Record(ctx context.Context, kind string, details map[string]any) {
	c, _ := ctx.Value(collectorKey{}).(*Collector)
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, DomainEvent{Kind: kind, At: time.Now().UTC(), Details: details})
}

// Events returns the domain events recorded so far.
func (c *Collector) Events() []DomainEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]DomainEvent(nil), c.events...)
}

// DetailsJSON encodes details with sorted keys, for a stable digest and diff.
func DetailsJSON(details map[string]any) string {
	if len(details) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(details))
	for k := range details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ordered := make(map[string]any, len(details))
	for _, k := range keys {
		ordered[k] = details[k]
	}
	b, err := json.Marshal(ordered) // encoding/json sorts map keys
	if err != nil {
		b, _ = json.Marshal(map[string]string{"marshal_error": err.Error()})
	}
	return string(b)
}
