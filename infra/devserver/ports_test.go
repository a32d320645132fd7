package devserver

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFreePortPicksBelowTheEphemeralRangeAndNeverTwice(t *testing.T) {
	lo, hi, ok := pickRange()
	if !ok {
		t.Skip("no room below this machine's ephemeral range")
	}
	seen := map[int]bool{}
	for range 30 {
		p, err := FreePort("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		if p < lo || p > hi {
			t.Errorf("FreePort gave %d, outside %d-%d (below the ephemeral range)", p, lo, hi)
		}
		if seen[p] {
			t.Errorf("FreePort gave %d twice", p)
		}
		seen[p] = true
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("FreePort gave %d, which cannot be bound: %v", p, err)
		}
		l.Close()
	}
}

func TestAClaimedPortIsRefusedToAnotherProcess(t *testing.T) {
	p, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	// Another process's claim is another open file of the same lock: flock refuses it
	// while this process holds its own.
	f, err := os.OpenFile(filepath.Join(portLockDir(), strconv.Itoa(p)), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := lockFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if got {
		t.Fatalf("port %d, claimed by this process, could be claimed again by another", p)
	}
	// A server restarted in this process takes its plan's port again.
	if c, err := claimPort(p); err != nil || c != heldByUs {
		t.Fatalf("claimPort(%d) of this process's own claim = %v, %v; want heldByUs", p, c, err)
	}
}

func TestPortPlanRefusesAPortAnotherIceProcessHolds(t *testing.T) {
	dir := t.TempDir()
	// A port this process has no claim on, kept in the data directory's plan, and
	// claimed by another ice process (another open file of its lock).
	p, err := kernelPort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]int{"history": p})
	if err := os.WriteFile(filepath.Join(dir, "ports.json"), b, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(portLockDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	other, err := os.OpenFile(filepath.Join(portLockDir(), strconv.Itoa(p)), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if got, err := lockFile(other); err != nil || !got {
		t.Fatalf("the other process's claim: %v, %v", got, err)
	}
	_, err = portPlan(dir, "127.0.0.1", 0)
	if err == nil {
		t.Fatal("the plan was taken with its history port held by another ice process")
	}
	for _, want := range []string{strconv.Itoa(p), "history", "another `ice dev`"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
}

// The server ends the process on a fatal error; its reason must reach stderr, not only
// the log file, or the process is simply gone.
func TestServerLoggerSaysFatalErrorsOnStderr(t *testing.T) {
	var stderr strings.Builder
	path := filepath.Join(t.TempDir(), "temporal.log")
	l := serverLogger("warn", path, &stderr)
	l.Warn("an ordinary warning")
	func() {
		defer func() { _ = recover() }()
		l.Panic("Failed to start ringpop listener: bind: address already in use")
	}()
	_ = l.Sync()
	if !strings.Contains(stderr.String(), "Failed to start ringpop listener") {
		t.Errorf("stderr has %q, without the error that ends the process", stderr.String())
	}
	if strings.Contains(stderr.String(), "an ordinary warning") {
		t.Errorf("stderr has the server's ordinary warnings: %q", stderr.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "an ordinary warning") || !strings.Contains(string(b), "ringpop") {
		t.Errorf("the log file has %q, want both entries", b)
	}
}
