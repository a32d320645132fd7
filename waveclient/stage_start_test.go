package waveclient

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"icesurvey/store"
	"icesurvey/wavespec"
)

// failingStart is a cluster that knows no wave of the id, fails the start with
// startErr, and then answers a read of the wave's history with historyErr, or (nil)
// with the spec the start was given, as if the start had gone through after all.
type failingStart struct {
	client.Client // anything else panics: not called
	startErr      error
	historyErr    error
	started       []any
}

func (f *failingStart) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return nil, serviceerror.NewNotFound("no such workflow")
}

func (f *failingStart) ExecuteWorkflow(_ context.Context, _ client.StartWorkflowOptions, _ any, args ...any) (client.WorkflowRun, error) {
	f.started = args
	return nil, f.startErr
}

func (f *failingStart) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	return &oneEvent{f: f}
}

type oneEvent struct {
	f    *failingStart
	done bool
}

func (it *oneEvent) HasNext() bool { return !it.done }

func (it *oneEvent) Next() (*historypb.HistoryEvent, error) {
	it.done = true
	if it.f.historyErr != nil {
		return nil, it.f.historyErr
	}
	in, err := converter.GetDefaultDataConverter().ToPayloads(it.f.started...)
	if err != nil {
		return nil, err
	}
	return &historypb.HistoryEvent{EventTime: timestamppb.Now(), Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
		WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: in}}}, nil
}

// A start that fails with something other than a refusal may have gone through: the
// files it staged are deleted only once the cluster says the wave never started,
// kept when it started with them, and named when that cannot be read.
func TestStageAndStartAfterAFailedStart(t *testing.T) {
	for _, tc := range []struct {
		name       string
		startErr   error
		historyErr error
		wantKept   bool
		wantErr    string
	}{
		{"refused: the id taken", serviceerror.NewWorkflowExecutionAlreadyStarted("started", "", ""), nil, false, "the 2 files this command staged are deleted"},
		{"failed, and no wave", serviceerror.NewUnavailable("connection reset"), serviceerror.NewNotFound("no such workflow"), false, "the 2 files this command staged are deleted"},
		{"failed, but the wave started with them", serviceerror.NewUnavailable("connection reset"), nil, true, "but wave W1 did start, with the files this command staged"},
		{"failed, and the cluster unreadable", serviceerror.NewUnavailable("connection reset"), serviceerror.NewUnavailable("connection refused"), true, "could not be read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.NewFileStore(filepath.Join(t.TempDir(), "store"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			spec := &wavespec.Spec{WaveID: "W1", ICSs: []wavespec.ICS{{Code: "QMM", SampleFile: filepath.Join(dir, "QMM_sample.csv"), MailingFile: filepath.Join(dir, "QMM_mailing.csv")}}}
			for _, p := range []string{spec.ICSs[0].SampleFile, spec.ICSs[0].MailingFile} {
				if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			_, staged, err := New(&failingStart{startErr: tc.startErr, historyErr: tc.historyErr}).StageAndStart(ctx, st, spec)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want it to say %q", err, tc.wantErr)
			}
			if len(staged.Keys) != 2 {
				t.Fatalf("staged %+v", staged)
			}
			for _, k := range staged.Keys {
				if ok, err := store.Exists(ctx, st, k); err != nil || ok != tc.wantKept {
					t.Errorf("%s in the store: %v (%v), want %v", k, ok, err, tc.wantKept)
				}
				if tc.historyErr != nil && tc.wantKept && !strings.Contains(err.Error(), k) {
					t.Errorf("error %v does not name %s, left for someone to delete", err, k)
				}
			}
		})
	}
}
