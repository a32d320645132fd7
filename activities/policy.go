// Package activities holds the thin Temporal adapters between the workflows and the
// domain packages (intake, dbs, mailing, warehouse…). Each activity is idempotent: run
// twice with the same input it leaves the same state and sends nothing twice. Every
// attempt is audited by the worker's interceptor, not here.
package activities

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/warehouse"
)

// Task queues. The warehouse queue is served by exactly one worker process, because
// DuckDB allows one writer; every other activity runs on the main queue.
const (
	TaskQueue          = "ice-main"
	WarehouseTaskQueue = "ice-warehouse"
)

// Error types of non-retryable application errors: a retry cannot fix them.
const (
	ErrBadInput      = "BadInput"      // a malformed or inconsistent input file
	ErrReplyMismatch = "ReplyMismatch" // a DBS reply that does not answer the request
	ErrConfiguration = "Configuration" // credentials, templates, missing settings
	ErrPermanentSend = "PermanentSend" // Notify refused a message for good
	ErrNotAuthorised = "NotAuthorised" // an external service refused our credentials
)

// BadInput marks err as a non-retryable bad-input failure with its reason.
func BadInput(err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), ErrBadInput, err)
}

// NonRetryable marks err as a non-retryable failure of the given type.
func NonRetryable(errType string, err error) error {
	return temporal.NewNonRetryableApplicationError(err.Error(), errType, err)
}

// Class is a family of activities that retry alike.
type Class int

// Activity classes.
const (
	// Storage: object store reads and writes, quick to fail and quick to retry.
	Storage Class = iota
	// Network: calls to services outside (MESH, Notify): slower backoff, longer patience.
	Network
	// Warehouse: DuckDB writes on the warehouse queue; a reader holding the file lock
	// makes a write busy, so it backs off and tries again.
	Warehouse
	// Long: streaming a whole sample or a mailing batch; heartbeats so a dead worker is
	// noticed in a minute, not at the end of the timeout.
	Long
)

// Options returns the activity options of class c. This is the one place retry
// behaviour is decided.
func Options(c Class) workflow.ActivityOptions {
	nonRetryable := []string{ErrBadInput, ErrReplyMismatch, ErrConfiguration, ErrNotAuthorised}
	switch c {
	case Network:
		return workflow.ActivityOptions{
			TaskQueue:           TaskQueue,
			StartToCloseTimeout: 10 * time.Minute,
			HeartbeatTimeout:    time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable,
			},
		}
	case Warehouse:
		return workflow.ActivityOptions{
			TaskQueue: WarehouseTaskQueue,
			// Warehouse work takes seconds; a worker killed mid-write is retried in two minutes.
			StartToCloseTimeout: 2 * time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable,
			},
		}
	case Long:
		return workflow.ActivityOptions{
			TaskQueue:           TaskQueue,
			StartToCloseTimeout: 2 * time.Hour,
			HeartbeatTimeout:    time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable,
			},
		}
	default:
		return workflow.ActivityOptions{
			TaskQueue:           TaskQueue,
			StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable,
			},
		}
	}
}

// retryableWarehouse passes a busy warehouse through as a plain (retryable) error.
func retryableWarehouse(err error) error {
	if errors.Is(err, warehouse.ErrBusy) {
		return temporal.NewApplicationError(err.Error(), "WarehouseBusy", err)
	}
	return err
}
