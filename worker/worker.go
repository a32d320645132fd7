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
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/workflows"
)

// Config is what a worker process needs.
type Config struct {
	Client       client.Client
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
		ws.warehouseID = warehouseIdentity(host, cfg.Warehouse.Path(), start)
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
	return ws, nil
}

// RegisterWorkflows registers the pipeline's workflows on w (workflows.All).
func RegisterWorkflows(w interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	workflows.Register(w)
}

// Stop stops every worker, letting running activities finish their current call.
func (ws *Workers) Stop() {
	for _, w := range ws.workers {
		w.Stop()
	}
	if ws.warehouseID != "" {
		liveWarehouse.Lock()
		delete(liveWarehouse.ids, ws.warehouseID)
		liveWarehouse.Unlock()
	}
}
