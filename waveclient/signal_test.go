package waveclient

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"icesurvey/fault"
	"icesurvey/workflows"
)

// runningICS is a cluster with one running ICS workflow whose status query answers
// status; it records the signals sent to it.
type runningICS struct {
	client.Client // anything else panics: not called
	status        workflows.ICSStatus
	signals       []string
}

func (f *runningICS) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

func (f *runningICS) QueryWorkflow(_ context.Context, _, _ string, query string, _ ...any) (converter.EncodedValue, error) {
	if query != workflows.QueryStatus {
		panic("query " + query)
	}
	b, err := json.Marshal(f.status)
	return jsonValue(b), err
}

func (f *runningICS) SignalWorkflow(_ context.Context, _, _ string, signal string, _ any) error {
	f.signals = append(f.signals, signal)
	return nil
}

type jsonValue []byte

func (v jsonValue) HasValue() bool    { return len(v) > 0 }
func (v jsonValue) Get(ptr any) error { return json.Unmarshal(v, ptr) }

// A revalidation or a DBS retry the ICS workflow would ignore is refused, saying why,
// and not sent: a signal cannot be refused by the workflow, and `ice wave revalidate`
// after the declaration printed "revalidate sent" and did nothing.
func TestSignalsTheICSWouldIgnoreAreRefused(t *testing.T) {
	declared := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	decl := &workflows.DeclarationState{By: "Dr A. Jones", At: declared}
	dbs := func(replied, overdue bool, rejected string) []workflows.DBSStatus {
		return []workflows.DBSStatus{{RequestID: "W2-QMM-invitation-1", ForStep: "invitation", Replied: replied, Overdue: overdue, Rejected: rejected}}
	}
	for _, tt := range []struct {
		name   string
		signal string
		status workflows.ICSStatus
		want   string // "" for sent
	}{
		{"revalidate at the declaration", workflows.SignalRevalidate, workflows.ICSStatus{Stage: workflows.StageDeclaration}, ""},
		{"revalidate after a failed intake", workflows.SignalRevalidate, workflows.ICSStatus{Stage: workflows.StageIntakeFailed}, ""},
		{"revalidate after the declaration", workflows.SignalRevalidate, workflows.ICSStatus{Stage: workflows.StageFieldwork, Declaration: decl},
			"the sample of QMM was declared at 2026-03-02T10:00:00Z by Dr A. Jones: revalidation is only before the declaration (stage fieldwork)"},
		{"retry a rejected reply", workflows.SignalRetryDBS, workflows.ICSStatus{Stage: workflows.StageDBS, Declaration: decl, DBS: dbs(false, false, "reply names another request")}, ""},
		{"retry before any request", workflows.SignalRetryDBS, workflows.ICSStatus{Stage: workflows.StageDeclaration},
			"QMM has no rejected DBS reply to retry (no DBS request sent yet; stage awaiting-declaration)"},
		{"retry an answered request", workflows.SignalRetryDBS, workflows.ICSStatus{Stage: workflows.StageFieldwork, Declaration: decl, DBS: dbs(true, false, "")},
			"QMM has no rejected DBS reply to retry (its DBS check is request W2-QMM-invitation-1 for invitation, which was answered)"},
		{"retry an overdue request", workflows.SignalRetryDBS, workflows.ICSStatus{Stage: workflows.StageDBS, Declaration: decl, DBS: dbs(false, true, "")},
			"which awaits its reply, OVERDUE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.status.WaveID, tt.status.ICS = "W2", "QMM"
			f := &runningICS{status: tt.status}
			c := New(f)
			send := c.Revalidate
			if tt.signal == workflows.SignalRetryDBS {
				send = c.RetryDBS
			}
			err := send(context.Background(), "W2", "QMM")
			if tt.want == "" {
				if err != nil || len(f.signals) != 1 || f.signals[0] != tt.signal {
					t.Fatalf("err %v, signals %v: want %s sent", err, f.signals, tt.signal)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || fault.KindOf(err) != fault.BadInput {
				t.Fatalf("err %v (kind %q), want a bad input saying %q", err, fault.KindOf(err), tt.want)
			}
			if len(f.signals) > 0 {
				t.Errorf("refused, yet sent %v", f.signals)
			}
		})
	}
}
