package workflows_test

import (
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/interceptor"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/workflows"
)

// The histories in testdata/ were recorded from the end-to-end wave (wave.json, one
// ICS with a late opt-out: ics.json, its retention: retention.json), a simulated
// daily load (dailyload.json) and the publication of that wave's release, with its
// approval (publication.json), by
//
//	ICE_RECORD_HISTORIES=$PWD/workflows/testdata go test ./cmd/ice -run 'TestWaveEndToEnd|TestDailyLoadBackfill|TestThemeCodingEndToEnd'
//
// (TestWaveEndToEnd now writes wave.json and ics-sms-hours.json, TestDailyLoadBackfill
// dailyload.json and publication.json;
// ics.json and retention.json are kept from before versioned changes and written by no
// test. The README's "Record a new history" gives the command that writes them all.)
//
// A linkage release (linkage.json) is recorded by the same with -run TestLinkageEndToEnd;
// linkage-before-delete-landed.json is one recorded before the run deleted the extracts
// it validated ("linkage-delete-landed-extracts"). ics-before-final-load.json is an ICS
// recorded before its closing record waited for the final loads ("final-load-wait").
// retention.json is of the retention's first shape (one DeleteRestricted activity),
// kept for the executions still sleeping in it; retention-lineage.json of its shape
// since "retention-deletes-everything", recorded by TestRetentionLeavesNothingIdentifiable.
// warehouse-reload.json is the rebuild of an emptied warehouse at the end of
// TestLinkageEndToEnd (every partition, the audit batches and the linkage release).
// ics-cancelled.json is an ICS cancelled alone while awaiting its declaration: it
// starts its retention and records that its fieldwork ended early
// ("retention-on-cancel", "ended-early-recorded"), recorded by
// TestOneICSPausedAndCancelledWhileTheOtherGoesOn. ics-early-receipts.json is an ICS
// recorded by TestWaveEndToEnd since each SMS step's receipts are fetched a few days
// after it was sent ("early-sms-receipts"); ics.json is kept from before.
// ics-paused-past-close.json is an ICS paused with its wave after sms1 and left paused
// past its close day: its wait ends at the close, the steps it had not sent are not
// sent, a resume after the close sends nothing, and the closing record is taken at its
// time ("close-on-its-day"), recorded by TestPausedICSClosesOnItsDay.
// ics-upgraded-from-fa4e9e5.json and ics-upgraded-from-c68bee1.json are ICSs of waves
// upgraded mid-fieldwork: started by `ice dev` built at that commit, stopped, and
// carried to their close and closing record by today's build on the same --data
// directory (written by no test; taken from the Temporal Web UI's history API, the
// "history" object kept). fa4e9e5's ICS was paused alone (`ice wave pause --ics`) after
// sms1 by the old build and resumed by the new one 14 fieldwork days later, which
// then sent its overdue reminder1 and sms2 (no "close-on-its-day" marker: it keeps the
// old pause story); c68bee1's was paused with its
// wave, and its sms1 was sent before "early-sms-receipts" existed, so that change stays
// at its default for the rest of the run while "final-load-wait" is recorded by the
// new build. Every step went out once (notify.jsonl and mailing_history: no reference
// or survey record twice in a step).
//
// ics-day-zero.json is an ICS of TestWaveEndToEnd whose later steps and close count
// from the day its invitation went out, after its DBS reply ("day-zero-is-the-invitation");
// ics-early-receipts.json, recorded by the same test before, is kept for the waves
// counting from their declaration.
//
// ics-retention-from-close.json is an ICS of TestWaveEndToEnd whose retention period
// counts from the close, not from the closing record final_load_days later
// ("retention-from-close"); ics-day-zero.json is kept for the waves counting from it.
//
// ics-sms-hours.json is an ICS of TestWaveEndToEnd since each SMS step, its DBS reply
// in, waits for the wave's SMS sending hours ("sms-sending-hours"; in the test's
// compressed days the window is off, so no timer, only the marker);
// ics-retention-from-close.json is kept for the ICSs started before. TestWaveEndToEnd
// writes ics-sms-hours.json: a re-recording replaces the newest shape's file only.
//
// Every one must replay against today's workflow code: a change that would make a
// running wave's next workflow task fail (a non-deterministic change) fails here first.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"wave.json": false, "ics.json": false, "retention.json": false, "dailyload.json": false,
		"retention-lineage.json": false, "linkage.json": false, "linkage-before-delete-landed.json": false,
		"ics-before-final-load.json":    false,
		"themes.json":                   false, // #17: recorded by TestThemeCodingEndToEnd
		"publication.json":              false, // #14
		"warehouse-reload.json":         false, // ice warehouse reload
		"ics-cancelled.json":            false, // an ICS cancelled alone (ice wave cancel W --ics)
		"ics-early-receipts.json":       false, // SMS receipts fetched days after each step ("early-sms-receipts")
		"ics-paused-past-close.json":    false, // paused past its close day ("close-on-its-day")
		"ics-day-zero.json":             false, // days counted from the invitation ("day-zero-is-the-invitation")
		"ics-retention-from-close.json": false, // retention_days counted from the close ("retention-from-close")
		"ics-sms-hours.json":            false, // SMS steps wait for the sending hours ("sms-sending-hours")
		// waves upgraded mid-fieldwork: begun by an older build, finished by today's
		"ics-upgraded-from-fa4e9e5.json": false,
		"ics-upgraded-from-c68bee1.json": false,
	}
	for _, f := range files {
		want[filepath.Base(f)] = true
		t.Run(filepath.Base(f), func(t *testing.T) {
			if err := replay(f, nil); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
	for name, found := range want {
		if !found {
			t.Errorf("no recorded history %s in testdata/", name)
		}
	}
}

// A change to the ICS workflow's order of commands — here, flushing the audit trail
// before its first mailing is sent — breaks the replay of a wave recorded before it;
// the same change behind workflow.GetVersion replays, because a recorded history
// carries no version marker and so takes the old path.
func TestReplayCatchesAnUnversionedChange(t *testing.T) {
	history := filepath.Join("testdata", "ics.json")
	err := replay(history, &flushBeforeFirstSend{})
	if err == nil {
		t.Fatal("an unversioned change to the ICS workflow's commands replayed without error")
	}
	if !strings.Contains(strings.ToLower(err.Error()), "nondeterministic") {
		t.Fatalf("the unversioned change failed the replay, but not as non-determinism: %v", err)
	}
	if err := replay(history, &flushBeforeFirstSend{versioned: true}); err != nil {
		t.Fatalf("the same change behind GetVersion failed the replay: %v", err)
	}
}

func replay(file string, change interceptor.WorkerInterceptor) error {
	opts := worker.WorkflowReplayerOptions{}
	if change != nil {
		opts.Interceptors = []interceptor.WorkerInterceptor{change}
	}
	r, err := worker.NewWorkflowReplayerWithOptions(opts)
	if err != nil {
		return err
	}
	workflows.Register(r)
	return r.ReplayWorkflowHistoryFromJSONFile(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), file)
}

// flushBeforeFirstSend changes what the ICS workflow does, as an edit to ics.go would:
// before the first SendMailing activity it schedules a FlushAudit activity. With
// versioned set, the change is made behind workflow.GetVersion, as the README says a
// change to a running workflow must be.
type flushBeforeFirstSend struct {
	interceptor.WorkerInterceptorBase
	versioned bool
}

func (f *flushBeforeFirstSend) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	i := &changeInbound{versioned: f.versioned}
	i.Next = next
	return i
}

type changeInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	versioned bool
}

func (i *changeInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	o := &changeOutbound{versioned: i.versioned}
	o.Next = outbound
	return i.Next.Init(o)
}

type changeOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	versioned bool
	done      bool
}

func (o *changeOutbound) ExecuteActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	if activityType == "SendMailing" && !o.done && workflow.GetInfo(ctx).WorkflowType.Name == string(workflows.WorkflowICS) {
		o.done = true
		change := true
		if o.versioned {
			change = workflow.GetVersion(ctx, "flush-audit-before-first-send", workflow.DefaultVersion, 1) == 1
		}
		if change {
			flush := workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse))
			_ = o.Next.ExecuteActivity(flush, "FlushAudit", activities.FlushAuditInput{}).Get(ctx, nil)
		}
	}
	return o.Next.ExecuteActivity(ctx, activityType, args...)
}
