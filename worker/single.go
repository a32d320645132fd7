package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"icesurvey/activities"
	"icesurvey/internal/workerid"
)

// WarehousePollerFresh is how recently a poller must have polled the warehouse task
// queue to count as a running warehouse worker. A running worker, even idle, polls
// again at least every minute (the server's long poll ends after one); a stopped one
// stays listed by the server, with its last poll time, for minutes.
const WarehousePollerFresh = 90 * time.Second

// warehousePartitions is how many partitions of the warehouse task queue are described:
// Temporal's default. A poller is listed by the partition it polled.
const warehousePartitions = 4

// liveWarehouse holds the identities of the warehouse workers this process runs now.
var liveWarehouse = struct {
	sync.Mutex
	ids map[string]bool
}{ids: map[string]bool{}}

// warehouseIdentity is the warehouse worker's identity on the task queue:
// pid@host@ice-warehouse, as the SDK's own begins, the facts that let a worker started
// later tell whether this one is dead (workerid), then its start time and its warehouse
// file, so that another worker refused because of it can say which process and which
// file it is.
func warehouseIdentity(path string, start time.Time) string {
	return workerid.Of(workerid.RoleWarehouse, fmt.Sprintf("started %s file %s", start.UTC().Format(time.RFC3339Nano), path))
}

// Poller is one poller of a task queue: its identity and when it last polled.
type Poller struct {
	Identity   string
	LastAccess time.Time
}

// self is what a starting warehouse worker knows of itself, to tell a running
// worker's poller from a stale one of a worker no longer running.
type self struct {
	host  string
	pid   int
	live  map[string]bool // identities of this process's running warehouse workers
	alive func(int) bool  // whether a process of this host runs
}

// otherWarehouseWorkers are the pollers that show another warehouse worker running:
// seen within WarehousePollerFresh of now, and not a stale poller of a worker known to
// have stopped. A poller of this host counts unless its process is gone, or it is this
// very process (a restart in a container keeps its pid) and not one of the warehouse
// workers it runs now. Pollers of other hosts cannot be checked: they count until they
// are older than WarehousePollerFresh.
func otherWarehouseWorkers(pollers []Poller, now time.Time, me self) []Poller {
	var out []Poller
	for _, p := range pollers {
		if now.Sub(p.LastAccess) > WarehousePollerFresh {
			continue
		}
		if me.live[p.Identity] {
			out = append(out, p)
			continue
		}
		if pid, host, ok := pidHost(p.Identity); ok && host == me.host && (pid == me.pid || !me.alive(pid)) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// pidHost reads pid@host from the start of an identity (ours, or the SDK's default
// "pid@host@").
func pidHost(identity string) (pid int, host string, ok bool) {
	first, _, _ := strings.Cut(identity, " ")
	parts := strings.SplitN(first, "@", 3)
	if len(parts) < 2 || parts[1] == "" {
		return 0, "", false
	}
	pid, err := strconv.Atoi(parts[0])
	if err != nil {
		return 0, "", false
	}
	return pid, parts[1], true
}

// processAlive reports whether a process pid runs on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// warehousePollers lists the pollers of the warehouse task queue's activity tasks, on
// each of its partitions, with each identity's latest poll.
func warehousePollers(ctx context.Context, c client.Client) ([]Poller, error) {
	latest := map[string]time.Time{}
	for i := range warehousePartitions {
		name := activities.WarehouseTaskQueue
		if i > 0 {
			// A non-root partition's name; a cluster with fewer partitions answers
			// for it with no pollers, or an error that is not the root's.
			name = fmt.Sprintf("/_sys/%s/%d", activities.WarehouseTaskQueue, i)
		}
		resp, err := c.DescribeTaskQueue(ctx, name, enumspb.TASK_QUEUE_TYPE_ACTIVITY)
		if err != nil {
			if i == 0 {
				return nil, err
			}
			continue
		}
		for _, p := range resp.GetPollers() {
			if t := p.GetLastAccessTime().AsTime(); t.After(latest[p.GetIdentity()]) {
				latest[p.GetIdentity()] = t
			}
		}
	}
	out := make([]Poller, 0, len(latest))
	for id, t := range latest {
		out = append(out, Poller{Identity: id, LastAccess: t})
	}
	slices.SortFunc(out, func(a, b Poller) int { return b.LastAccess.Compare(a.LastAccess) })
	return out, nil
}

// checkSingleWarehouse refuses when another warehouse worker polls the warehouse task
// queue: DuckDB has one writer, and two workers with two files would split the loads
// between them without a word.
func checkSingleWarehouse(ctx context.Context, c client.Client, host string, now time.Time) error {
	pollers, err := warehousePollers(ctx, c)
	if err != nil {
		return fmt.Errorf("worker: cannot check that no other warehouse worker runs (DescribeTaskQueue %s): %w; "+
			"start again in a moment (a cluster just started may not answer yet), or, if you are sure none runs, "+
			"start `ice worker --warehouse` with --force-warehouse", activities.WarehouseTaskQueue, err)
	}
	liveWarehouse.Lock()
	live := maps.Clone(liveWarehouse.ids)
	liveWarehouse.Unlock()
	others := otherWarehouseWorkers(pollers, now, self{host: host, pid: os.Getpid(), live: live, alive: processAlive})
	if len(others) == 0 {
		return nil
	}
	var seen []string
	for _, p := range others {
		seen = append(seen, fmt.Sprintf("%q, last polled %s (%s ago)", p.Identity, p.LastAccess.UTC().Format(time.RFC3339),
			now.Sub(p.LastAccess).Round(time.Second)))
	}
	return fmt.Errorf("worker: another warehouse worker is polling the warehouse task queue %s: %s. "+
		"Run exactly one warehouse worker: DuckDB has one writer, and a second with another file would take some loads and leave them out of this one's. "+
		"Stop it first; a worker stopped in the last %s is still listed (wait, then start again), "+
		"or, once you are sure it is stopped, start `ice worker --warehouse` with --force-warehouse",
		activities.WarehouseTaskQueue, strings.Join(seen, "; "), WarehousePollerFresh)
}
