package worker

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/infra"
	"icesurvey/infra/devserver"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// Which pollers of the warehouse queue show another warehouse worker running.
func TestOtherWarehouseWorkers(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	me := self{host: "h1", pid: 100, live: map[string]bool{"100@h1 ice-warehouse started X file /a": true},
		alive: func(pid int) bool { return pid == 100 || pid == 200 }}
	for _, tc := range []struct {
		name     string
		identity string
		age      time.Duration
		counts   bool
	}{
		{"another host, polled just now", "300@h2 ice-warehouse started X file /b", time.Second, true},
		{"another host, polled 80s ago (an idle worker polls every minute)", "300@h2 ice-warehouse started X file /b", 80 * time.Second, true},
		{"another host, stopped long enough ago", "300@h2 ice-warehouse started X file /b", 2 * time.Minute, false},
		{"this host, a running process", "200@h1 ice-warehouse started X file /b", time.Second, true},
		{"this host, a process that is gone (a restart)", "201@h1 ice-warehouse started X file /a", time.Second, false},
		{"this host, this pid, not running now (a restart in a container)", "100@h1 ice-warehouse started Y file /a", time.Second, false},
		{"this process's running warehouse worker", "100@h1 ice-warehouse started X file /a", time.Second, true},
		{"the SDK's default identity, running", "200@h1@", time.Second, true},
		{"the SDK's default identity, gone", "201@h1@", time.Second, false},
		{"an identity of another form", "some-worker", time.Second, true},
	} {
		got := otherWarehouseWorkers([]Poller{{Identity: tc.identity, LastAccess: now.Add(-tc.age)}}, now, me)
		if (len(got) == 1) != tc.counts {
			t.Errorf("%s (%q, %s ago): counted %v, want %v", tc.name, tc.identity, tc.age, len(got) == 1, tc.counts)
		}
	}
}

// A second warehouse worker is refused while the first polls, naming it; one started
// again on the same file after the first stopped is not. Before, both ran, and loads
// were split between their two files without a word.
func TestSecondWarehouseWorkerRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	srv, err := devserver.StartDevServer(ctx, devserver.DevServerConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = srv.Stop() }()
	cl, err := infra.Dial(ctx, infra.ClientConfig{Address: srv.HostPort(), Namespace: srv.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	st, err := store.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	open := func(name string) *warehouse.Warehouse {
		w, err := warehouse.Open(ctx, filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	whA, whB := open("a.duckdb"), open("b.duckdb")
	start := func(w *warehouse.Warehouse, force bool) (*Workers, error) {
		return Start(Config{Client: cl, Store: st, Warehouse: w, ForceWarehouse: force})
	}
	first, err := start(whA, false)
	if err != nil {
		t.Fatalf("the first warehouse worker: %v", err)
	}
	// Wait for the first worker's poll to reach the server.
	for deadline := time.Now().Add(30 * time.Second); ; {
		pollers, err := warehousePollers(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		if len(pollers) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first warehouse worker's poller is not listed")
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, w := range []*warehouse.Warehouse{whB, whA} {
		second, err := start(w, false)
		if err == nil {
			second.Stop()
			t.Errorf("a second warehouse worker (%s) started while the first (%s) polled", w.Path(), whA.Path())
			continue
		}
		for _, want := range []string{first.warehouseID, "another warehouse worker", "last polled", "--force-warehouse"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("second worker (%s) refused with %v\nwant it to say %q", w.Path(), err, want)
			}
		}
	}
	first.Stop()
	// Started again on the same file (the first stopped: its poller is still listed,
	// but it is this process's and no longer running).
	again, err := start(whA, false)
	if err != nil {
		t.Fatalf("the warehouse worker started again after the first stopped: %v", err)
	}
	again.Stop()
	// --force-warehouse skips the check.
	forced, err := start(whB, true)
	if err != nil {
		t.Fatalf("forced: %v", err)
	}
	forced.Stop()
	// A cluster that does not answer the check: the refusal says to try again, and names
	// the command that has --force-warehouse (ice dev, which starts its own, has none).
	cctx, stop := context.WithCancel(ctx)
	stop()
	err = checkSingleWarehouse(cctx, cl, "host", time.Now())
	for _, want := range []string{"cannot check", "start again in a moment", "`ice worker --warehouse` with --force-warehouse"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the check against a cluster that does not answer: %v\nwant it to say %q", err, want)
		}
	}
}
