package waveclient

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/serviceerror"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/types/known/timestamppb"

	"icesurvey/activities"
	"icesurvey/fault"
)

// withdrawnOnce is a cluster on which a withdrawal's workflow id was started before,
// with first, and completed with result.
type withdrawnOnce struct {
	client.Client // anything else panics: not called
	first         LinkageWithdrawal
	result        activities.LinkageWithdrawalOutput
}

func (f *withdrawnOnce) ExecuteWorkflow(context.Context, client.StartWorkflowOptions, any, ...any) (client.WorkflowRun, error) {
	return nil, serviceerror.NewWorkflowExecutionAlreadyStarted("started before", "", "run1")
}

func (f *withdrawnOnce) GetWorkflowHistory(context.Context, string, string, bool, enumspb.HistoryEventFilterType) client.HistoryEventIterator {
	in, err := converter.GetDefaultDataConverter().ToPayloads(f.first)
	if err != nil {
		panic(err)
	}
	return &events{list: []*historypb.HistoryEvent{{EventType: enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		Attributes: &historypb.HistoryEvent_WorkflowExecutionStartedEventAttributes{
			WorkflowExecutionStartedEventAttributes: &historypb.WorkflowExecutionStartedEventAttributes{Input: in}}}}}
}

func (f *withdrawnOnce) GetWorkflow(context.Context, string, string) client.WorkflowRun {
	return doneRun{result: f.result}
}

type events struct{ list []*historypb.HistoryEvent }

func (e *events) HasNext() bool { return len(e.list) > 0 }
func (e *events) Next() (*historypb.HistoryEvent, error) {
	ev := e.list[0]
	e.list = e.list[1:]
	return ev, nil
}

type doneRun struct {
	client.WorkflowRun
	result activities.LinkageWithdrawalOutput
}

func (r doneRun) Get(_ context.Context, ptr any) error {
	*ptr.(*activities.LinkageWithdrawalOutput) = r.result
	return nil
}

// A withdrawal given again with its command id is the same withdrawal: said so when
// it is the same, refused when its record, operator or reason differ (the first
// stands). It printed "withdrawal recorded" and kept the first's values silently.
func TestWithdrawLinkageWithACommandIDUsedBefore(t *testing.T) {
	at := time.Date(2026, 12, 8, 14, 30, 0, 0, time.UTC)
	first := LinkageWithdrawal{WaveID: "W1", SurveyRecordID: "SABCDEFGH23456789", Operator: "A. Engineer", Reason: "withdraw_linkage", CommandID: "t1"}
	result := activities.LinkageWithdrawalOutput{EventID: "C4fb", Key: "k", ICS: "QMM", At: at}
	for _, tt := range []struct {
		name   string
		change func(*LinkageWithdrawal)
		want   string // "" for the same withdrawal
	}{
		{"the same", func(*LinkageWithdrawal) {}, ""},
		{"the reason left to its default", func(w *LinkageWithdrawal) { w.Reason = "" }, ""},
		{"another reason", func(w *LinkageWithdrawal) { w.Reason = "other" },
			`command id t1 was used before, for the withdrawal of SABCDEFGH23456789 (operator A. Engineer, reason withdraw_linkage) recorded at 2026-12-08T14:30:00Z as event C4fb; ` +
				`that withdrawal stands, and what this command gives otherwise is not applied (--reason "other"): give another --command-id`},
		{"another operator and record", func(w *LinkageWithdrawal) { w.Operator, w.SurveyRecordID = "T", "SABCDEFGH2345678A" }, `is not applied (--record "SABCDEFGH2345678A", --operator "T")`},
		{"a carer's", func(w *LinkageWithdrawal) { w.RespondentType = "carer" }, "is not applied (--carer)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			again := first
			tt.change(&again)
			out, err := New(&withdrawnOnce{first: first, result: result}).WithdrawLinkage(context.Background(), again)
			if tt.want == "" {
				if err != nil || !out.Repeated || out.EventID != "C4fb" {
					t.Fatalf("%+v, %v: want the first withdrawal, repeated", out, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || fault.KindOf(err) != fault.BadInput {
				t.Fatalf("err %v (kind %q), want a bad input saying %q", err, fault.KindOf(err), tt.want)
			}
		})
	}
}

// A --record that is no survey record id (an NHS number, a name typed in the wrong
// place) is refused before the cluster is reached, without repeating it: the
// workflow would keep it in its input, and the activity's refusal (which quoted it) in
// the worker's log and the audit trail.
func TestCheckLinkageWithdrawalRecordForm(t *testing.T) {
	for _, tt := range []struct {
		record string
		ok     bool
	}{
		{"SABCDEFGH23456789", true},
		{" sabcdefgh23456789 ", true},
		{"9434765919", false},
		{"943 476 5919", false},
		{"Barbara Hunt", false},
		{"NWICE0000001", false},
		{"", false},
	} {
		t.Run(tt.record, func(t *testing.T) {
			err := CheckLinkageWithdrawal(LinkageWithdrawal{WaveID: "W1", SurveyRecordID: tt.record, Operator: "A. Engineer", Reason: "withdraw_linkage"})
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), "--record") {
				t.Fatalf("err %v, want a bad input about --record", err)
			}
			if tt.record != "" && strings.Contains(err.Error(), strings.TrimSpace(tt.record)) {
				t.Fatalf("the refusal repeats what was typed: %v", err)
			}
		})
	}
}

// linkingNow is a cluster on which a run of the wave's linkage is running, building
// release, started at at.
type linkingNow struct {
	client.Client // anything else panics: not called
	release       string
	at            time.Time
}

func (f *linkingNow) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	memo, err := converter.GetDefaultDataConverter().ToPayload(f.release)
	if err != nil {
		panic(err)
	}
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, StartTime: timestamppb.New(f.at),
		Memo: &commonpb.Memo{Fields: map[string]*commonpb.Payload{linkageReleaseMemo: memo}}}}, nil
}

// Two `ice link --wave W` at once: the second is refused naming the release being
// built and how to follow it. It printed only the server's "Workflow execution is
// already running. WorkflowId: wave/W1/linkage, RunId: …".
func TestLinkageStartRefusedWhileAnotherReleaseIsBuilt(t *testing.T) {
	at := time.Date(2026, 12, 7, 21, 17, 16, 0, time.UTC)
	server := serviceerror.NewWorkflowExecutionAlreadyStarted("Workflow execution is already running. WorkflowId: wave/W1/linkage, RunId: r1.", "", "r1")
	err := New(&linkingNow{release: "R20261207T211716Z", at: at}).linkageBusy(context.Background(),
		LinkageInput{WaveID: "W1", ReleaseID: "R20261207T211717Z"}, server)
	want := "linkage R20261207T211717Z of W1 not started: release R20261207T211716Z of the wave is being built (wave/W1/linkage, started 2026-12-07T21:17:16Z), " +
		"and a wave's releases are built one at a time; `ice link status --wave W1` follows it: start this one once it has ended"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("err %v\nwant it to begin %q", err, want)
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if !errors.As(err, &started) {
		t.Errorf("the server's error is not wrapped: %v", err)
	}
}
