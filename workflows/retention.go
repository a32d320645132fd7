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
	// Landed are the files the ICS sent, with the intake's digests and row counts,
	// recorded in the audit trail before they are deleted.
	Landed []activities.LandedFile `json:"landed,omitempty"`
}

// RetentionResult reports the deletion.
type RetentionResult struct {
	Status RetentionStatus `json:"status"`
}

// RetentionWorkflow deletes everything identifiable of an ICS once the retention
// period after fieldwork (or after the ICS was cancelled) has passed: the landed
// sample, mailing and supplier files (their SHA-256, size and row counts recorded in
// the audit trail first), contacts, the DBS exchange, print files, the SMS ledger. The
// pseudonymised lake and the free text stay. ICSWorkflow starts it at close and ends;
// this one sleeps out the retention period on its own, so the long fieldwork story
// never carries the wait, and a change to either story never has to replay the other.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	st := RetentionStatus{WaveID: in.WaveID, ICS: in.ICS, Stage: StageRetention,
		DeleteAt: workflow.Now(ctx).Add(in.After).UTC()}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (RetentionStatus, error) { return st, nil }); err != nil {
		return RetentionResult{}, err
	}
	if err := workflow.Sleep(ctx, in.After); err != nil {
		return RetentionResult{Status: st}, err
	}
	actx := workflow.WithActivityOptions(ctx, activities.Options(activities.Storage))
	var out activities.RetentionOutput
	if workflow.GetVersion(ctx, versionRetentionDeletesEverything, workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		// Started before the lineage step: its one activity now does both.
		if err := workflow.ExecuteActivity(actx, a.DeleteRestricted, activities.Scope{WaveID: in.WaveID, ICS: in.ICS}).Get(ctx, &out); err != nil {
			return RetentionResult{Status: st}, fmt.Errorf("delete identifiable data: %w", err)
		}
	} else {
		rin := activities.RetentionInput{Scope: activities.Scope{WaveID: in.WaveID, ICS: in.ICS}, Landed: in.Landed}
		// The lineage is in the audit trail (its attempt's events written) before
		// anything is deleted.
		if err := workflow.ExecuteActivity(actx, a.RecordRetentionLineage, rin).Get(ctx, nil); err != nil {
			return RetentionResult{Status: st}, fmt.Errorf("record the lineage of the landed files: %w", err)
		}
		if err := workflow.ExecuteActivity(actx, a.DeleteIdentifiable, rin).Get(ctx, &out); err != nil {
			return RetentionResult{Status: st}, fmt.Errorf("delete identifiable data: %w", err)
		}
	}
	st.Deleted, st.DeletedAt, st.Stage = out.Deleted, workflow.Now(ctx).UTC(), StageDone
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(string(StageDone)))
	flushAudit(ctx, in.WaveID)
	return RetentionResult{Status: st}, nil
}

// Change IDs of RetentionWorkflow and of ICSWorkflow's start of it (issue #13).
const (
	// versionRetentionDeletesEverything: the lineage of the landed files is recorded
	// by an activity of its own, then DeleteIdentifiable runs.
	versionRetentionDeletesEverything = "retention-deletes-everything"
	// versionRetentionOnCancel: a cancelled ICS starts its retention too.
	versionRetentionOnCancel = "retention-on-cancel"
	// versionRetentionOnFailure: so does a failed one (a Configuration or
	// NotAuthorised error, retries exhausted): its files and contacts hold personal data.
	versionRetentionOnFailure = "retention-on-failure"
	// versionEndedEarlyRecorded: an ICS ended early (cancelled or failed) records so in
	// the audit trail, for the warehouse and the dashboard.
	versionEndedEarlyRecorded = "ended-early-recorded"
)
