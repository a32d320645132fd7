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

// The retention workflow sleeps out the retention period on its own, then deletes the
// ICS's identifiable data once and flushes the audit trail.
func TestRetentionWorkflow(t *testing.T) {
	env := newEnv(t)
	var mu sync.Mutex
	var deletedAt []time.Time
	var scopes []activities.Scope
	flushed := 0
	env.OnActivity(ta.DeleteRestricted, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.Scope) (activities.RetentionOutput, error) {
			mu.Lock()
			defer mu.Unlock()
			deletedAt = append(deletedAt, env.Now().UTC())
			scopes = append(scopes, in)
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
	env.ExecuteWorkflow(workflows.RetentionWorkflow, workflows.RetentionInput{WaveID: testWID, ICS: testICS, After: 30 * day})
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
	assert.Equal(t, []activities.Scope{{WaveID: testWID, ICS: testICS}}, scopes)
	assert.Equal(t, 1, flushed)
}
