package workflows_test

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/workflows"
)

// The reload's story: plan, then each partition in its own warehouse load, then each
// publication release, then the current linkage release, and the audit flushed; a
// partition that fails ends the reload naming it, with nothing after it loaded.
func TestWarehouseReloadWorkflow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		plan     activities.WarehouseReloadPlan
		failPart string
		want     []string
		wantErr  string
	}{
		{name: "whole wave",
			plan: activities.WarehouseReloadPlan{Partitions: []string{"", "QJK", "QMM"}, Releases: []string{"r1", "r2"}, LinkageRelease: "R9"},
			want: []string{"plan", "part:", "part:QJK", "part:QMM", "part:QMM@k2", "release:r1", "release:r2", "linkage:R9", "flush"}},
		{name: "no releases, no linkage",
			plan: activities.WarehouseReloadPlan{Partitions: []string{"QMM"}},
			want: []string{"plan", "part:QMM", "part:QMM@k2", "flush"}},
		{name: "a partition fails",
			plan:     activities.WarehouseReloadPlan{Partitions: []string{"", "QJK", "QMM"}, Releases: []string{"r1"}},
			failPart: "QJK",
			want:     []string{"plan", "part:", "part:QJK"},
			wantErr:  `partition "QJK"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterWorkflow(workflows.WarehouseReloadWorkflow)
			var mu sync.Mutex
			var calls []string
			note := func(c string) {
				mu.Lock()
				defer mu.Unlock()
				calls = append(calls, c)
			}
			env.OnActivity(ta.PlanWarehouseReload, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.Scope) (activities.WarehouseReloadPlan, error) {
					note("plan")
					return tc.plan, nil
				})
			env.OnActivity(twa.ReloadLakePartition, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.WarehouseReloadChunk) (activities.WarehouseReloadOutput, error) {
					note("part:" + in.ICS + in.After)
					if tc.failPart != "" && in.ICS == tc.failPart {
						return activities.WarehouseReloadOutput{}, activities.ApplicationError(fault.Errorf(fault.BadInput, "a lake object of %s cannot be read", in.ICS))
					}
					// QMM's partition comes in two chunks.
					if in.ICS == "QMM" && in.After == "" {
						return activities.WarehouseReloadOutput{Objects: 2, Loaded: 2, Rows: map[string]int64{"sample": 5}, Next: "@k2"}, nil
					}
					return activities.WarehouseReloadOutput{Objects: 2, Loaded: 1, Skipped: 1, Rows: map[string]int64{"sample": 1}}, nil
				}).Maybe()
			env.OnActivity(twa.ReloadPublicationRelease, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.ReleaseInput) (activities.WarehouseReloadOutput, error) {
					note("release:" + in.ReleaseID)
					return activities.WarehouseReloadOutput{Objects: 4, Skipped: 4}, nil
				}).Maybe()
			env.OnActivity(twa.LoadLinkageRelease, mock.Anything, mock.Anything).Return(
				func(_ context.Context, in activities.LinkageReleaseInput) (map[string]int64, error) {
					note("linkage:" + in.ReleaseID)
					return map[string]int64{"linked_respondents": 3}, nil
				}).Maybe()
			env.OnActivity(twa.FlushAudit, mock.Anything, mock.Anything).Return(
				func(_ context.Context, _ activities.FlushAuditInput) (activities.FlushAuditOutput, error) {
					note("flush")
					return activities.FlushAuditOutput{}, nil
				}).Maybe()
			env.ExecuteWorkflow(workflows.WarehouseReloadWorkflow, workflows.WarehouseReloadInput{WaveID: testWID})
			require.True(t, env.IsWorkflowCompleted())
			require.Equal(t, tc.want, calls)
			if tc.wantErr != "" {
				require.ErrorContains(t, env.GetWorkflowError(), tc.wantErr)
				return
			}
			require.NoError(t, env.GetWorkflowError())
			var res workflows.WarehouseReloadResult
			require.NoError(t, env.GetWorkflowResult(&res))
			require.Len(t, res.Partitions, len(tc.plan.Partitions))
			require.Len(t, res.Releases, len(tc.plan.Releases))
			require.Equal(t, tc.plan.LinkageRelease, res.LinkageRelease)
			// The two chunks of QMM are added up, and the partition is done.
			require.Equal(t, activities.WarehouseReloadOutput{Objects: 4, Loaded: 3, Skipped: 1, Rows: map[string]int64{"sample": 6}}, res.Partitions["QMM"])
		})
	}
}
