package worker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"icesurvey/audit"
	"icesurvey/store"
)

// downStore refuses every write while down, as an object store does during an outage.
type downStore struct {
	store.Store
	down atomic.Bool
}

func (s *downStore) Put(ctx context.Context, key string, r io.Reader) error {
	if s.down.Load() {
		return errors.New("connect: connection refused")
	}
	return s.Store.Put(ctx, key, r)
}

// The record of an attempt that failed while the store was down is not lost: it is
// written, in order, once the store is back, at the worker's next write; a success
// that cannot be recorded still fails its attempt.
func TestFailedAttemptsAuditedAfterTheStoreComesBack(t *testing.T) {
	ctx := context.Background()
	fs, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := &downStore{Store: fs}
	ic := NewAuditInterceptor(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var s testsuite.WorkflowTestSuite
	run := func(name string, fail bool) error {
		env := s.NewTestActivityEnvironment()
		env.SetWorkerOptions(worker.Options{Interceptors: []interceptor.WorkerInterceptor{ic}})
		act := func(context.Context) error {
			if fail {
				return errors.New("the store is down")
			}
			return nil
		}
		env.RegisterActivityWithOptions(act, activity.RegisterOptions{Name: name})
		_, err := env.ExecuteActivity(name)
		return err
	}
	st.down.Store(true)
	for _, name := range []string{"First", "Second"} {
		if err := run(name, true); err == nil {
			t.Fatalf("%s: no error from a failing activity", name)
		}
	}
	if err := run("Succeeds", false); err == nil {
		t.Errorf("a success recorded nowhere (the store down) did not fail its attempt")
	}
	st.down.Store(false)
	if err := run("Third", false); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, wave := range []string{""} { // no wave: filed under _none
		events, _, err := audit.Pending(ctx, st, wave)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Kind == audit.KindActivityAttempt {
				got = append(got, e.ActivityType+":"+e.Outcome)
			}
		}
	}
	want := map[string]bool{"First:error": true, "Second:error": true, "Third:ok": true}
	if len(got) != len(want) {
		t.Errorf("attempts in the trail: %v, want First and Second (failed while the store was down) and Third", got)
	}
	for _, g := range got {
		if !want[g] {
			t.Errorf("attempts in the trail: %v, want First and Second (failed while the store was down) and Third", got)
			break
		}
	}
}
