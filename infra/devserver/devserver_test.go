package devserver

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The server keeps its ports in DATA/ports.json and comes back on them. When one of
// them is taken — another `ice dev` on the same data directory started with another
// --port, or, days later, another program on what was a free port — the embedded
// Temporal server exited the whole process with status 1 from inside its start
// (a fatal "Failed to start ringpop listener", written only to temporal.log): `ice dev`
// stopped without a word. The start is refused instead, naming the port, what it is
// for, and what to do.
func TestStartRefusesAPortTakenNamingIt(t *testing.T) {
	dir := t.TempDir()
	// Another process holds the port the plan gives history's membership.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	plan := map[string]int{"history-membership": taken}
	b, _ := json.Marshal(plan)
	if err := os.WriteFile(filepath.Join(dir, "ports.json"), b, 0o640); err != nil {
		t.Fatal(err)
	}
	srv, err := StartDevServer(context.Background(), DevServerConfig{DataDir: dir})
	if err == nil {
		srv.Stop()
		t.Fatal("the server started with a port of its plan taken")
	}
	for _, want := range []string{strconv.Itoa(taken), "history-membership", filepath.Join(dir, "ports.json"), "another `ice dev`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}

// A server stopped and started again in one process on its data directory (as the
// end-to-end restart test does) comes back on its plan's ports: a listener the stopped
// one leaves open is its own, not another program's.
func TestStartAgainInTheSameProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for i := range 2 {
		srv, err := StartDevServer(ctx, DevServerConfig{DataDir: dir})
		if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		if err := srv.Stop(); err != nil {
			t.Fatalf("stop %d: %v", i+1, err)
		}
	}
}
