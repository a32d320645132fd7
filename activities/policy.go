package activities

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/fault"
)

// Task queues. The warehouse queue is served by exactly one worker process, because
// DuckDB allows one writer; every other activity runs on the main queue.
const (
	TaskQueue          = "ice-main"
	WarehouseTaskQueue = "ice-warehouse"
)

// Class is a family of activities that retry alike. This file is the one place retry
// behaviour is decided: a workflow picks a class, never edits the options it gets.
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
	// Simulator: a dev-stack simulator on the warehouse queue (it reads the warehouse).
	// Only `ice dev` serves it, so a bounded schedule-to-start makes a production run
	// that asks for it fail instead of waiting forever for a worker that never comes;
	// bounded at simulatorScheduleToStart, which a national wave's day (42 ICSs'
	// simulations and loads queued on the warehouse worker at once) fits in.
	Simulator
)

// nonRetryable are the application error types no retry can fix: the permanent kinds
// of the error taxonomy (ApplicationError makes such errors non-retryable already;
// listing them here keeps an error mapped elsewhere from being retried either).
func nonRetryable() []string {
	var out []string
	for _, k := range fault.PermanentKinds() {
		out = append(out, string(k))
	}
	return out
}

// activityNotRegistered is the failure type of the SDK's error for an activity type the
// worker that took the task does not serve (its Go type's name, as the SDK's failure
// converter names a Go error).
const activityNotRegistered = "ActivityNotRegisteredError"

// simulatorScheduleToStart is how long a simulation may wait for the warehouse worker.
// A minute was too short at national size: a day's load queues every ICS's simulation
// and warehouse loads at once, two at a time (about 130 s for 42 ICSs on 2 cores), and
// the last simulations failed, losing their ICS's day.
const simulatorScheduleToStart = 15 * time.Minute

// Options returns the activity options of class c.
func Options(c Class) workflow.ActivityOptions {
	switch c {
	case Network:
		return workflow.ActivityOptions{
			TaskQueue:           TaskQueue,
			StartToCloseTimeout: 10 * time.Minute,
			HeartbeatTimeout:    time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable(),
			},
		}
	case Warehouse, Simulator:
		o := workflow.ActivityOptions{
			TaskQueue: WarehouseTaskQueue,
			// Warehouse work takes seconds; a worker killed mid-write is retried in two minutes.
			StartToCloseTimeout: 2 * time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable(),
			},
		}
		if c == Simulator {
			o.ScheduleToStartTimeout = simulatorScheduleToStart
			// A production warehouse worker takes the task but serves no simulator: the
			// SDK's "unable to find activityType" is retryable, so without this a load
			// asked to simulate by mistake retried for ever, holding its day's load
			// workflow (and so the day's real files) until someone terminated it.
			o.RetryPolicy.NonRetryableErrorTypes = append(o.RetryPolicy.NonRetryableErrorTypes, activityNotRegistered)
		}
		return o
	case Long:
		return workflow.ActivityOptions{
			TaskQueue:           TaskQueue,
			StartToCloseTimeout: 2 * time.Hour,
			HeartbeatTimeout:    time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable(),
			},
		}
	default:
		return workflow.ActivityOptions{
			TaskQueue:           TaskQueue,
			StartToCloseTimeout: time.Minute,
			RetryPolicy: &temporal.RetryPolicy{
				InitialInterval: 500 * time.Millisecond, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
				MaximumAttempts: 0, NonRetryableErrorTypes: nonRetryable(),
			},
		}
	}
}

// PollOptions are the options of an activity that polls for an answer from outside
// (the DBS reply): each attempt looks once and fails NotReady while the answer has not
// come, and the retry policy is the poll interval — a fixed every, for as long as it
// takes. No worker slot is held between polls and the workflow's history does not grow
// with the wait. An attempt is a quick look, so no heartbeat.
func PollOptions(every time.Duration) workflow.ActivityOptions {
	o := Options(Network)
	o.StartToCloseTimeout = 2 * time.Minute
	o.HeartbeatTimeout = 0
	o.RetryPolicy.InitialInterval = every
	o.RetryPolicy.BackoffCoefficient = 1
	o.RetryPolicy.MaximumInterval = every
	return o
}
