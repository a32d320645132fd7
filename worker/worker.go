// Package worker assembles the Temporal workers: the main task queue (workflows and
// every activity but the warehouse's) and the warehouse task queue, which exactly one
// process serves because DuckDB allows one writer. Every activity attempt on either is
// audited by the interceptor in this package.
package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"icesurvey/access"
	"icesurvey/activities"
	"icesurvey/dbs"
	"icesurvey/internal/workerid"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/workflows"
)

// Config is what a worker process needs.
type Config struct {
	Client client.Client
	// Namespace is the cluster namespace Client is connected to. When set, Start fails
	// the started activity attempts of the namespace's open workflows whose worker is
	// provably dead (FailDeadAttempts), so they are retried now, not at their timeout.
	Namespace    string
	Store        store.Store
	PseudonymKey []byte
	DBS          dbs.Transport
	Notify       activities.SMSSender
	// AccessFile is the access file (the dashboard's) that names the free-text
	// readers. The worker checks it, read afresh each time, before it writes a
	// free-text export, records coding decisions or builds a report that quotes
	// comments for someone; without it every such request is refused.
	AccessFile string
	// Main serves the main task queue (workflows and most activities).
	Main bool
	// Warehouse, when set, serves the warehouse task queue with this DuckDB file. Run
	// it in one process only: Start refuses when another warehouse worker polls the
	// queue (a poller seen in the last WarehousePollerFresh that is not a stale one of
	// this host's, whose process is gone), naming it.
	Warehouse *warehouse.Warehouse
	// ForceWarehouse starts the warehouse worker without that check: for when the
	// other worker listed is known to be stopped, or the check cannot be made.
	ForceWarehouse bool
	// RegisterDevSimulators, set only by the dev stack, registers the simulators that
	// stand in for the outside world on the warehouse queue (they read the warehouse).
	// `ice worker` never sets it, and this package links no simulator.
	RegisterDevSimulators func(sdkworker.ActivityRegistry)
	Logger                *slog.Logger
}

// Workers are the running workers of one process.
type Workers struct {
	workers []sdkworker.Worker
	// stopSweep ends the search for dead workers' attempts; swept is closed when it has
	// ended (nil: none runs).
	stopSweep context.CancelFunc
	swept     chan struct{}
	// warehouseID is the warehouse worker's identity on its queue ("" for none).
	warehouseID string
}

// Start starts the configured workers.
func Start(cfg Config) (*Workers, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if !cfg.Main && cfg.Warehouse == nil {
		return nil, fmt.Errorf("worker: nothing to serve: enable the main queue, the warehouse queue, or both")
	}
	opts := sdkworker.Options{
		// The audit interceptor wraps the error interceptor, so the trail records each
		// failure as the workflows see it (its fault kind as the error type).
		Interceptors: []interceptor.WorkerInterceptor{NewAuditInterceptor(cfg.Store, cfg.Logger), NewErrorInterceptor()},
		// On a graceful stop (Ctrl-C) running activities get this long to finish and
		// report, instead of being cut off and found only at their timeout.
		WorkerStopTimeout: 15 * time.Second,
		// pid@host@ice-main and the facts that let a worker started later tell that
		// this one is dead (workerid); the warehouse worker's is its own.
		Identity: mainIdentity(),
	}
	ws := &Workers{}
	if cfg.Main {
		if len(cfg.PseudonymKey) == 0 {
			return nil, fmt.Errorf("worker: a pseudonymisation key is required for the main queue")
		}
		w := sdkworker.New(cfg.Client, activities.TaskQueue, opts)
		RegisterWorkflows(w)
		w.RegisterActivity(&activities.Activities{Store: cfg.Store, PseudonymKey: cfg.PseudonymKey, DBS: cfg.DBS, Notify: cfg.Notify,
			FreeText: access.FileGate{Path: cfg.AccessFile}})
		ws.workers = append(ws.workers, w)
	}
	if cfg.Warehouse != nil {
		host, _ := os.Hostname()
		start := time.Now()
		if cfg.ForceWarehouse {
			cfg.Logger.Warn("warehouse worker started without checking that no other runs (--force-warehouse)")
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err := checkSingleWarehouse(ctx, cfg.Client, host, start)
			cancel()
			if err != nil {
				return nil, err
			}
		}
		ws.warehouseID = warehouseIdentity(cfg.Warehouse.Path(), start)
		wopts := opts
		wopts.Identity = ws.warehouseID
		// DuckDB has one writer; more concurrent activities would only queue on its lock.
		wopts.MaxConcurrentActivityExecutionSize = 2
		w := sdkworker.New(cfg.Client, activities.WarehouseTaskQueue, wopts)
		w.RegisterActivity(&activities.WarehouseActivities{Store: cfg.Store, Warehouse: cfg.Warehouse, FreeText: access.FileGate{Path: cfg.AccessFile}})
		if cfg.RegisterDevSimulators != nil {
			cfg.RegisterDevSimulators(w)
		}
		ws.workers = append(ws.workers, w)
	}
	for i, w := range ws.workers {
		if err := w.Start(); err != nil {
			for _, started := range ws.workers[:i] {
				started.Stop()
			}
			return nil, fmt.Errorf("worker: start: %w", err)
		}
	}
	if ws.warehouseID != "" {
		liveWarehouse.Lock()
		liveWarehouse.ids[ws.warehouseID] = true
		liveWarehouse.Unlock()
	}
	if cfg.Namespace != "" {
		ws.sweepDeadAttempts(cfg)
	}
	return ws, nil
}

// RegisterWorkflows registers the pipeline's workflows on w (workflows.All).
func RegisterWorkflows(w interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	workflows.Register(w)
}

// sweepDeadAttempts runs FailDeadAttempts once, in the background: a worker killed
// (SIGKILL) or whose machine lost power left its attempts "running" on the cluster until
// their timeout, and this worker, started after it, fails them so they are retried now.
func (ws *Workers) sweepDeadAttempts(cfg Config) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	ws.stopSweep, ws.swept = cancel, make(chan struct{})
	me := workerid.Me()
	me.Role = workerid.RoleMain
	if !cfg.Main {
		me.Role = workerid.RoleWarehouse
	}
	go func() {
		defer close(ws.swept)
		defer cancel()
		_, err := FailDeadAttempts(ctx, DeadAttempts{Client: cfg.Client, Namespace: cfg.Namespace, Store: cfg.Store,
			Logger: cfg.Logger, Self: me, Probe: workerid.Proc{}})
		if err != nil && ctx.Err() == nil {
			cfg.Logger.Warn("could not look for the attempts of dead workers; they are retried at their timeout", "err", err)
		}
	}()
}

// Stop stops every worker, letting running activities finish their current call.
func (ws *Workers) Stop() {
	if ws.stopSweep != nil {
		ws.stopSweep()
		<-ws.swept
	}
	for _, w := range ws.workers {
		w.Stop()
	}
	if ws.warehouseID != "" {
		liveWarehouse.Lock()
		delete(liveWarehouse.ids, ws.warehouseID)
		liveWarehouse.Unlock()
	}
}

// mainIdentity is the main worker's identity on the cluster: pid@host@ice-main and the
// facts that let a worker started later tell whether this one is dead (workerid).
func mainIdentity() string { return workerid.Of(workerid.RoleMain, "") }
