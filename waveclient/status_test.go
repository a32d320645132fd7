package waveclient

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"icesurvey/workflows"
)

// nationalWave is a running wave of n ICSs whose ICS status queries each wait until
// another ICS's query is in flight too (or give up after a while, failing the query):
// a status read one ICS at a time never has two.
type nationalWave struct {
	client.Client // anything else panics: not called
	n             int
	mu            sync.Mutex
	inFlight      int
	maxInFlight   int
	overlap       chan struct{}
	once          sync.Once
}

func (f *nationalWave) DescribeWorkflowExecution(context.Context, string, string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	return &workflowservice.DescribeWorkflowExecutionResponse{WorkflowExecutionInfo: &workflowpb.WorkflowExecutionInfo{
		Status: enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING}}, nil
}

func (f *nationalWave) QueryWorkflow(ctx context.Context, id, _ string, _ string, _ ...any) (converter.EncodedValue, error) {
	if id == workflows.WaveWorkflowID("W9") {
		ws := workflows.WaveStatus{WaveID: "W9"}
		for i := range f.n {
			code := fmt.Sprintf("Q%02d", i)
			ws.ICS = append(ws.ICS, workflows.WaveICSStatus{ICS: code, WorkflowID: workflows.ICSWorkflowID("W9", code)})
		}
		b, err := json.Marshal(ws)
		return jsonValue(b), err
	}
	f.mu.Lock()
	f.inFlight++
	if f.inFlight > f.maxInFlight {
		f.maxInFlight = f.inFlight
	}
	if f.inFlight >= 2 {
		f.once.Do(func() { close(f.overlap) })
	}
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inFlight--; f.mu.Unlock() }()
	select {
	case <-f.overlap:
	case <-time.After(2 * time.Second):
		return nil, fmt.Errorf("no other ICS was queried while %s was", id)
	}
	code := id[len(id)-3:]
	b, err := json.Marshal(workflows.ICSStatus{ICS: code})
	return jsonValue(b), err
}

// TestStatusQueriesTheICSsSideBySide: a national wave has 42 ICSs, and `ice wave
// status` asked each ICS's workflow for its status one after the other (8 s at 42 ICSs
// with a busy worker). It asks several at once, at most statusQueriesAtOnce, and keeps
// the wave's order.
func TestStatusQueriesTheICSsSideBySide(t *testing.T) {
	f := &nationalWave{n: 42, overlap: make(chan struct{})}
	st, err := New(f).Status(context.Background(), "W9")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.ICS) != 42 {
		t.Fatalf("%d ICSs, want 42", len(st.ICS))
	}
	for i, s := range st.ICS {
		if want := fmt.Sprintf("Q%02d", i); s.ICS != want {
			t.Fatalf("ICS %d is %s, want %s (the wave's order)", i, s.ICS, want)
		}
	}
	if f.maxInFlight > statusQueriesAtOnce {
		t.Fatalf("%d queries at once, want at most %d", f.maxInFlight, statusQueriesAtOnce)
	}
}
