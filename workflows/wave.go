package workflows

import (
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/wavespec"
)

// WaveResult summarises a finished wave.
type WaveResult struct {
	Status WaveStatus           `json:"status"`
	ICS    map[string]ICSStatus `json:"ics"`
}

// WaveWorkflow runs a fieldwork wave: one child workflow per ICS, so one ICS's failure
// never stops another. Pause and resume reach every ICS through it.
func WaveWorkflow(ctx workflow.Context, spec wavespec.Spec) (WaveResult, error) {
	st := WaveStatus{WaveID: spec.WaveID, Stage: "fieldwork"}
	res := WaveResult{ICS: map[string]ICSStatus{}}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (WaveStatus, error) { return st, nil }); err != nil {
		return res, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(st.Stage))

	type child struct {
		idx    int
		future workflow.ChildWorkflowFuture
	}
	var children []child
	for i, ics := range spec.ICSs {
		id := ICSWorkflowID(spec.WaveID, ics.Code)
		st.ICS = append(st.ICS, WaveICSStatus{ICS: ics.Code, WorkflowID: id})
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        id,
			TaskQueue:         activities.TaskQueue,
			ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				SAWaveID.ValueSet(spec.WaveID), SAICS.ValueSet([]string{ics.Code}), SAStage.ValueSet(StageIntake)),
		})
		children = append(children, child{idx: i, future: workflow.ExecuteChildWorkflow(cctx, ICSWorkflow, ICSInput{Spec: spec, ICS: ics.Code})})
	}

	// Operator signals to the wave are passed on to every ICS still running.
	forward := func(name string, paused bool) {
		ch := workflow.GetSignalChannel(ctx, name)
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				ch.Receive(ctx, nil)
				st.Paused = paused
				for _, c := range st.ICS {
					if !c.Done {
						_ = workflow.SignalExternalWorkflow(ctx, c.WorkflowID, "", name, nil).Get(ctx, nil)
					}
				}
			}
		})
	}
	forward(SignalPause, true)
	forward(SignalResume, false)

	pending := len(children)
	sel := workflow.NewSelector(ctx)
	for _, c := range children {
		c := c
		sel.AddFuture(c.future, func(f workflow.Future) {
			var out ICSResult
			err := f.Get(ctx, &out)
			st.ICS[c.idx].Done = true
			if err != nil {
				st.ICS[c.idx].Error = err.Error()
			} else {
				res.ICS[spec.ICSs[c.idx].Code] = out.Status
			}
			pending--
		})
	}
	for pending > 0 {
		sel.Select(ctx)
		if ctx.Err() != nil {
			break
		}
	}
	st.Stage = "completed"
	for _, c := range st.ICS {
		if c.Error != "" {
			st.Stage = "completed-with-failures"
		}
	}
	if ctx.Err() != nil {
		st.Stage = "cancelled"
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(st.Stage))
	fctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	_ = workflow.ExecuteActivity(workflow.WithActivityOptions(fctx, activities.Options(activities.Warehouse)),
		wa.FlushAudit, activities.FlushAuditInput{Scope: activities.Scope{WaveID: spec.WaveID}}).Get(fctx, nil)
	res.Status = st
	if ctx.Err() != nil {
		return res, temporal.NewCanceledError()
	}
	return res, nil
}
