package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
)

// RetentionInput starts the retention of one ICS's identifiable data.
type RetentionInput struct {
	WaveID string `json:"wave_id"`
	ICS    string `json:"ics"`
	// After is how long after the start (fieldwork's close) the data is deleted: the
	// wave's retention days on its day length.
	After time.Duration `json:"after"`
}

// RetentionResult reports the deletion.
type RetentionResult struct {
	Status RetentionStatus `json:"status"`
}

// RetentionWorkflow deletes an ICS's identifiable mailing data (contacts, DBS exchange,
// print files, the SMS ledger) once the retention period after fieldwork has passed.
// ICSWorkflow starts it at close and ends; this one sleeps out the retention period on
// its own, so the long fieldwork story never carries the wait, and a change to either
// story never has to replay the other.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	st := RetentionStatus{WaveID: in.WaveID, ICS: in.ICS, Stage: StageRetention,
		DeleteAt: workflow.Now(ctx).Add(in.After).UTC()}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (RetentionStatus, error) { return st, nil }); err != nil {
		return RetentionResult{}, err
	}
	if err := workflow.Sleep(ctx, in.After); err != nil {
		return RetentionResult{Status: st}, err
	}
	scope := activities.Scope{WaveID: in.WaveID, ICS: in.ICS}
	var out activities.RetentionOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)),
		a.DeleteRestricted, scope).Get(ctx, &out); err != nil {
		return RetentionResult{Status: st}, fmt.Errorf("delete identifiable data: %w", err)
	}
	st.Deleted, st.DeletedAt, st.Stage = out.Deleted, workflow.Now(ctx).UTC(), StageDone
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(string(StageDone)))
	flushAudit(ctx, in.WaveID)
	return RetentionResult{Status: st}, nil
}
