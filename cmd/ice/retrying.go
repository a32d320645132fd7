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

// reportRetrying starts, while a command waits on the workflows ids gives, printing to
// w each activity retrying after a failure under them, once per attempt. stop ends it
// and waits for it to end.
func reportRetrying(ctx context.Context, cl *waveclient.Client, w io.Writer, ids func() []string) (stop func()) {
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
			for _, id := range ids() {
				rs, err := cl.RetryingUnder(ctx, id)
				if err != nil {
					if ctx.Err() == nil {
						slog.Debug("looking for retrying activities", "workflow", id, "err", err)
					}
					continue
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
		}
	}()
	return func() { cancel(); <-done }
}

// watching is ids for reportRetrying: the workflows named.
func watching(ids ...string) func() []string { return func() []string { return ids } }

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

// retryingUnder looks up the activities retrying under the workflow ids, for a status;
// a lookup that fails is said on w in their place, since the status itself was read.
func retryingUnder(ctx context.Context, cl *waveclient.Client, w io.Writer, ids ...string) []waveclient.Retrying {
	var out []waveclient.Retrying
	for _, id := range ids {
		rs, err := cl.RetryingUnder(ctx, id)
		if err != nil {
			fmt.Fprintf(w, "\n(could not look for retrying activities: %v)\n", err)
			continue
		}
		out = append(out, rs...)
	}
	return out
}
