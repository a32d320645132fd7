package worker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"icesurvey/audit"
	"icesurvey/infra"
	"icesurvey/infra/devserver"
	"icesurvey/internal/workerid"
	"icesurvey/store"
)

// The test's own task queue, workflow and activity: the activity blocks in the child
// worker (until it is killed) and returns at once in any other.
const (
	deadTestQueue    = "ice-dead-attempts-test"
	deadTestChildEnv = "ICE_DEAD_ATTEMPTS_CHILD" // host:port|namespace of the server, in the child
	deadTestTimeout  = 10 * time.Minute          // the activity's start-to-close timeout
)

func deadTestWorkflow(ctx workflow.Context) (string, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		TaskQueue: deadTestQueue, StartToCloseTimeout: deadTestTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 100 * time.Millisecond, MaximumAttempts: 5},
	})
	var out string
	err := workflow.ExecuteActivity(ctx, "DeadTestActivity").Get(ctx, &out)
	return out, err
}

func deadTestActivity(ctx context.Context) (string, error) {
	if os.Getenv(deadTestChildEnv) != "" {
		fmt.Println("child: attempt started")
		select {} // until SIGKILL
	}
	return fmt.Sprintf("done in attempt %d", activity.GetInfo(ctx).Attempt), nil
}

func deadTestRegister(w sdkworker.Worker) {
	w.RegisterWorkflowWithOptions(deadTestWorkflow, workflow.RegisterOptions{Name: "DeadTestWorkflow"})
	w.RegisterActivityWithOptions(deadTestActivity, activity.RegisterOptions{Name: "DeadTestActivity"})
}

// deadTestChild is the child process: a worker of the test's queue with the identity
// every ice worker has, which takes the attempt and holds it until killed.
func deadTestChild(t *testing.T, target string) {
	hostPort, ns, _ := strings.Cut(target, "|")
	cl, err := infra.Dial(context.Background(), infra.ClientConfig{Address: hostPort, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	w := sdkworker.New(cl, deadTestQueue, sdkworker.Options{Identity: mainIdentity()})
	deadTestRegister(w)
	if err := w.Run(sdkworker.InterruptCh()); err != nil {
		t.Fatal(err)
	}
}

// A worker killed with SIGKILL mid-activity leaves its attempt "running" on the
// cluster; the next worker to start on the host finds that the attempt's worker is dead,
// fails the attempt (logged and audited, naming the dead worker), and Temporal retries
// it at once rather than at its 10-minute timeout. Before, the retry waited the timeout.
func TestDeadWorkerAttemptRetried(t *testing.T) {
	if target := os.Getenv(deadTestChildEnv); target != "" {
		deadTestChild(t, target)
		return
	}
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc to tell a dead worker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
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

	// The child worker.
	child := exec.Command(os.Args[0], "-test.run=^TestDeadWorkerAttemptRetried$", "-test.v")
	child.Env = append(os.Environ(), deadTestChildEnv+"="+srv.HostPort()+"|"+srv.Namespace())
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	child.Stderr = child.Stdout
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "child: attempt started") {
				once.Do(func() { close(started) })
			}
		}
	}()

	const wfID = "wave/deadtest/ics/QMM"
	run, err := cl.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: wfID, TaskQueue: deadTestQueue}, "DeadTestWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(90 * time.Second):
		t.Fatal("the child worker did not start the attempt")
	}
	var taken []Attempt
	for deadline := time.Now().Add(30 * time.Second); len(taken) == 0; time.Sleep(100 * time.Millisecond) {
		taken = StartedAttempts(ctx, cl, wfID)
		if time.Now().After(deadline) {
			t.Fatal("the cluster does not list the child's attempt as started")
		}
	}
	childID := taken[0].Identity
	if id, ok := workerid.Parse(childID); !ok || id.PID != child.Process.Pid {
		t.Fatalf("the child's attempt was taken by %q, not an identity naming its pid %d", childID, child.Process.Pid)
	}

	// A live worker's attempt is left alone.
	me := workerid.Me()
	me.Role = workerid.RoleMain
	if failed, err := FailDeadAttempts(ctx, DeadAttempts{Client: cl, Namespace: srv.Namespace(), Store: st, Self: me, Probe: workerid.Proc{}}); err != nil || len(failed) > 0 {
		t.Fatalf("with the child alive: failed %v, %v", failed, err)
	}

	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	killed := time.Now()

	// A new worker starts, as `ice worker` and `ice dev` start theirs.
	var logBuf syncBuffer
	ws, err := Start(Config{Client: cl, Namespace: srv.Namespace(), Store: st, Main: true, PseudonymKey: make([]byte, 32),
		Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Stop()
	w := sdkworker.New(cl, deadTestQueue, sdkworker.Options{})
	deadTestRegister(w)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	var result string
	if err := run.Get(wctx, &result); err != nil {
		t.Fatalf("the killed worker's attempt was not retried within a minute of the kill (its timeout is %v): %v", deadTestTimeout, err)
	}
	t.Logf("%s, %v after the kill", result, time.Since(killed).Round(time.Millisecond))
	if result != "done in attempt 2" {
		t.Errorf("result %q", result)
	}

	ws.Stop()
	logs := logBuf.String()
	for _, want := range []string{"failed the attempt of a dead worker", "DeadTestActivity", fmt.Sprintf("%d@", child.Process.Pid)} {
		if !strings.Contains(logs, want) {
			t.Errorf("the worker's log does not say %q:\n%s", want, logs)
		}
	}
	trail, err := audit.Trail(ctx, st, "deadtest")
	if err != nil {
		t.Fatal(err)
	}
	var dead []audit.Event
	for _, e := range trail {
		if e.Kind == audit.KindDeadWorkerAttempt {
			dead = append(dead, e)
		}
	}
	if len(dead) != 1 {
		t.Fatalf("audit trail has %d records of a dead worker's attempt, want 1: %+v", len(dead), trail)
	}
	e := dead[0]
	var details map[string]string
	_ = json.Unmarshal([]byte(e.Details), &details)
	if e.ICS != "QMM" || e.WorkflowID != wfID || e.ActivityType != "DeadTestActivity" || e.Attempt != 1 || e.Outcome != "error" ||
		e.ErrorType != ErrorTypeWorkerDied || !strings.Contains(e.Error, childID) || details["dead_worker"] != childID ||
		!strings.Contains(details["reason"], "no longer exists") {
		t.Errorf("audit record %+v", e)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
