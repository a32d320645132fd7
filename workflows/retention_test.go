package workflows_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"icesurvey/activities"
	"icesurvey/workflows"
)

// The retention workflow sleeps out the retention period on its own, then records the
// lineage of the landed files, deletes the ICS's identifiable data once and flushes
// the audit trail.
func TestRetentionWorkflow(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	var deletedAt []time.Time
	var order []string
	var inputs []activities.RetentionInput
	flushed := 0
	env.OnActivity(ta.RecordRetentionLineage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RetentionInput) (activities.RetentionLineageOutput, error) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "lineage")
			return activities.RetentionLineageOutput{Files: 2}, nil
		})
	env.OnActivity(ta.DeleteIdentifiable, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.RetentionInput) (activities.RetentionOutput, error) {
			mu.Lock()
			defer mu.Unlock()
			order = append(order, "delete")
			deletedAt = append(deletedAt, env.Now().UTC())
			inputs = append(inputs, in)
			return activities.RetentionOutput{Deleted: 7}, nil
		})
	env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FlushAuditInput) (activities.FlushAuditOutput, error) {
			mu.Lock()
			defer mu.Unlock()
			flushed++
			return activities.FlushAuditOutput{}, nil
		})
	var waiting workflows.RetentionStatus
	var queryErr error
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(workflows.QueryStatus)
		if err == nil {
			err = v.Get(&waiting)
		}
		queryErr = err
	}, 29*day)
	landed := []activities.LandedFile{{Key: "restricted-landing/w/QE1/sample.csv", SHA256: "ab", Rows: 10}}
	env.ExecuteWorkflow(workflows.RetentionWorkflow, workflows.RetentionInput{WaveID: testWID, ICS: testICS, After: 30 * day, Landed: landed})
	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())

	require.NoError(t, queryErr)
	assert.Equal(t, workflows.RetentionStatus{WaveID: testWID, ICS: testICS, Stage: workflows.StageRetention, DeleteAt: t0.Add(30 * day)}, waiting)
	var res workflows.RetentionResult
	require.NoError(t, env.GetWorkflowResult(&res))
	assert.Equal(t, workflows.RetentionStatus{WaveID: testWID, ICS: testICS, Stage: workflows.StageDone,
		DeleteAt: t0.Add(30 * day), Deleted: 7, DeletedAt: t0.Add(30 * day)}, res.Status)
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []time.Time{t0.Add(30 * day)}, deletedAt)
	assert.Equal(t, []string{"lineage", "delete"}, order, "the lineage is recorded before anything is deleted")
	assert.Equal(t, []activities.RetentionInput{{Scope: activities.Scope{WaveID: testWID, ICS: testICS}, Landed: landed}}, inputs)
	assert.Equal(t, 1, flushed)
}
