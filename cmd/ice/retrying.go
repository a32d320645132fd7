package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"icesurvey/waveclient"
)

// An activity whose error is not classified permanent is retried until it succeeds, so
// a run whose cause only a person can fix (a full disk, a directory that cannot be
// written, a defect) would wait in silence. The commands that wait on a run report such
// an activity while they wait, and the status commands list them.

// retryReportEvery is how often a command waiting on a run looks for activities
// retrying after a failure.
var retryReportEvery = 10 * time.Second

// retryingHint is said once under the first report.
const retryingHint = "  it carries on by itself once the cause is fixed; Ctrl-C stops this wait, not the run"

// lookRetrying finds the activities retrying after a failure in the workflows a
// command waits on.
type lookRetrying func(ctx context.Context) ([]waveclient.Retrying, error)

// under looks under the workflows ids gives (and their children).
func under(cl *waveclient.Client, ids func() []string) lookRetrying {
	return func(ctx context.Context) ([]waveclient.Retrying, error) {
		var out []waveclient.Retrying
		for _, id := range ids() {
			rs, err := cl.RetryingUnder(ctx, id)
			if err != nil {
				return out, err
			}
			out = append(out, rs...)
		}
		return out, nil
	}
}

// watching is ids for under: the workflows named.
func watching(ids ...string) func() []string { return func() []string { return ids } }

// inWave looks in every running workflow of the wave.
func inWave(cl *waveclient.Client, wave string) lookRetrying {
	return func(ctx context.Context) ([]waveclient.Retrying, error) { return cl.RetryingInWave(ctx, wave) }
}

// reportRetrying starts, while a command waits on a run, printing to w each activity
// look finds retrying after a failure, once per attempt. stop ends it and waits for it
// to end.
func reportRetrying(ctx context.Context, w io.Writer, look lookRetrying) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		said := map[string]bool{}
		hinted := false
		tick := time.NewTicker(retryReportEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			rs, err := look(ctx)
			if err != nil && ctx.Err() == nil {
				slog.Debug("looking for retrying activities", "err", err)
			}
			for _, r := range rs {
				k := fmt.Sprintf("%s|%s|%d", r.WorkflowID, r.Activity, r.Attempt)
				if said[k] {
					continue
				}
				said[k] = true
				fmt.Fprintf(w, "still waiting: %s\n", r)
				if !hinted {
					fmt.Fprintln(w, retryingHint)
					hinted = true
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// printRetrying lists, under a status, the activities retrying after a failure.
func printRetrying(w io.Writer, rs []waveclient.Retrying) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nretrying after a failure (each carries on by itself once its cause is fixed):\n")
	for _, r := range rs {
		fmt.Fprintf(w, "  %s\n", r)
	}
}

// retrying looks up the activities retrying after a failure, for a status; a lookup
// that fails is said on w in their place, since the status itself was read.
func retrying(ctx context.Context, w io.Writer, look lookRetrying) []waveclient.Retrying {
	rs, err := look(ctx)
	if err != nil {
		fmt.Fprintf(w, "\n(could not look for retrying activities: %v)\n", err)
	}
	return rs
}
