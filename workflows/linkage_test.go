package workflows_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/workflows"
)

// linkageWorld records the steps a linkage run takes.
type linkageWorld struct {
	mu    sync.Mutex
	steps []string
}

func (w *linkageWorld) step(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.steps = append(w.steps, name)
}

func linkageEnv(t *testing.T, failExport bool) (*linkageWorld, func(workflows.LinkageInput) (workflows.LinkageResult, error)) {
	env := newEnv(t)
	env.RegisterWorkflow(workflows.LinkageWorkflow)
	w := &linkageWorld{}
	env.OnActivity(ta.DeriveLinkageConsent, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.Scope) (activities.LinkageConsentOutput, error) {
			w.step("consent " + in.WaveID)
			return activities.LinkageConsentOutput{Events: 3}, nil
		})
	env.OnActivity(ta.ValidateLinkageExtracts, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.Scope) (activities.LinkageExtractsOutput, error) {
			w.step("validate")
			return activities.LinkageExtractsOutput{Extracts: []activities.LinkageExtractResult{{Key: "k", RowsRead: 2, Accepted: 2}}}, nil
		})
	env.OnActivity(ta.PurgeWithdrawnLinkage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.Scope) (activities.LinkagePurgeOutput, error) {
			w.step("purge " + in.WaveID)
			return activities.LinkagePurgeOutput{WaveID: in.WaveID, Objects: 8, Rewritten: 2, People: 1, Rows: 4}, nil
		})
	env.OnActivity(ta.BuildLinkageRelease, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LinkageReleaseInput) (activities.LinkageReleaseOutput, error) {
			w.step("release " + in.ReleaseID)
			return activities.LinkageReleaseOutput{Consented: 5, ReleaseKeyID: "abc"}, nil
		})
	env.OnActivity(ta.DiscloseLinkageAggregates, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LinkageReleaseInput) (activities.LinkageDisclosedOutput, error) {
			w.step("disclose " + in.ReleaseID)
			return activities.LinkageDisclosedOutput{Key: "d"}, nil
		})
	env.OnActivity(ta.ExportLinkageRelease, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LinkageReleaseInput) (activities.LinkageExportOutput, error) {
			w.step("export " + in.ReleaseID)
			if failExport {
				return activities.LinkageExportOutput{}, temporal.NewNonRetryableApplicationError("a forbidden column", string(fault.Configuration), nil)
			}
			return activities.LinkageExportOutput{Files: 10}, nil
		})
	env.OnActivity(twa.LoadLinkageRelease, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LinkageReleaseInput) (map[string]int64, error) {
			w.step("warehouse " + in.ReleaseID)
			return map[string]int64{"linked_respondents": 5}, nil
		})
	env.OnActivity(ta.RecordLinkageExtractLineage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LinkageLandedInput) (activities.LinkageLandedOutput, error) {
			w.step("lineage " + in.Extracts[0].Key)
			return activities.LinkageLandedOutput{Recorded: len(in.Extracts)}, nil
		})
	env.OnActivity(ta.DeleteLinkageExtracts, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LinkageLandedInput) (activities.LinkageLandedOutput, error) {
			w.step("delete " + in.Extracts[0].Key)
			out := activities.LinkageLandedOutput{}
			out.Deleted = []string{in.Extracts[0].Key}
			return out, nil
		})
	env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FlushAuditInput) (activities.FlushAuditOutput, error) {
			w.step("flush audit")
			return activities.FlushAuditOutput{}, nil
		})
	return w, func(in workflows.LinkageInput) (workflows.LinkageResult, error) {
		env.ExecuteWorkflow(workflows.LinkageWorkflow, in)
		require.True(t, env.IsWorkflowCompleted())
		var res workflows.LinkageResult
		if err := env.GetWorkflowError(); err != nil {
			return res, err
		}
		require.NoError(t, env.GetWorkflowResult(&res))
		return res, nil
	}
}

// A release runs its steps in order, each once, and flushes the audit trail at the
// end; a withdrawals-only re-run validates no extract; a failed step stops the run
// (and the audit trail is flushed all the same).
func TestLinkageWorkflowSteps(t *testing.T) {
	for _, tc := range []struct {
		name            string
		withdrawalsOnly bool
		failExport      bool
		want            []string
	}{
		{"full release", false, false, []string{"consent W1", "validate", "purge W1", "release R1", "disclose R1", "export R1", "warehouse R1",
			"lineage k", "delete k", "flush audit"}},
		{"withdrawals only", true, false, []string{"consent W1", "purge W1", "release R1", "disclose R1", "export R1", "warehouse R1", "flush audit"}},
		{"export refused", false, true, []string{"consent W1", "validate", "purge W1", "release R1", "disclose R1", "export R1", "flush audit"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, run := linkageEnv(t, tc.failExport)
			res, err := run(workflows.LinkageInput{WaveID: "W1", ReleaseID: "R1", WithdrawalsOnly: tc.withdrawalsOnly})
			assert.Equal(t, tc.want, w.steps)
			if tc.failExport {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "export")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, workflows.LinkageStepDone, res.Step)
			assert.Equal(t, int64(5), res.Release.Consented)
			assert.Equal(t, int64(5), res.Warehouse["linked_respondents"])
			assert.Equal(t, tc.withdrawalsOnly, len(res.Extracts) == 0)
			require.NotNil(t, res.Purge)
			assert.Equal(t, int64(4), res.Purge.Rows)
			// The validated extracts are deleted at the end (their lineage first); a
			// withdrawals-only run read none and deletes none.
			if tc.withdrawalsOnly {
				assert.Nil(t, res.Landing)
			} else {
				require.NotNil(t, res.Landing)
				assert.Equal(t, 1, res.Landing.Recorded)
				assert.Equal(t, []string{"k"}, res.Landing.Deleted)
			}
		})
	}
}

func TestLinkageWorkflowRefusesAMissingRelease(t *testing.T) {
	w, run := linkageEnv(t, false)
	_, err := run(workflows.LinkageInput{WaveID: "W1"})
	require.Error(t, err)
	assert.Empty(t, w.steps)
}
