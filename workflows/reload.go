package workflows

import (
	"fmt"

	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
)

// WarehouseReloadInput names the wave whose lake objects the warehouse is to load
// again.
type WarehouseReloadInput struct {
	WaveID string `json:"wave_id"`
}

// WarehouseReloadResult is what a reload found and loaded: by lake partition (an ICS's
// code, or "" for the wave's own objects, its audit batches), by publication release,
// and the current linkage release's rows by table.
type WarehouseReloadResult struct {
	WaveID         string                                      `json:"wave_id"`
	Partitions     map[string]activities.WarehouseReloadOutput `json:"partitions"`
	Releases       map[string]activities.WarehouseReloadOutput `json:"releases,omitempty"`
	LinkageRelease string                                      `json:"linkage_release,omitempty"`
	LinkageRows    map[string]int64                            `json:"linkage_rows,omitempty"`
}

// WarehouseReloadWorkflow derives the warehouse from the lake again for one wave: every
// lake object the warehouse lacks, or holds with other bytes, is loaded — a partition
// (an ICS's objects, or the wave's own) at a time, in chunks of up to 400 objects, one
// transaction each — then the wave's
// publication releases and its current linkage release. On the warehouse queue, like
// every write to the warehouse. A warehouse that is current loads nothing; an empty
// one (a file lost, or made again) gets the wave back whole.
func WarehouseReloadWorkflow(ctx workflow.Context, in WarehouseReloadInput) (WarehouseReloadResult, error) {
	res := WarehouseReloadResult{WaveID: in.WaveID, Partitions: map[string]activities.WarehouseReloadOutput{}}
	scope := activities.Scope{WaveID: in.WaveID}
	storage := workflow.WithActivityOptions(ctx, activities.Options(activities.Storage))
	wh := workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse))
	var plan activities.WarehouseReloadPlan
	if err := workflow.ExecuteActivity(storage, a.PlanWarehouseReload, scope).Get(ctx, &plan); err != nil {
		return res, fmt.Errorf("reload wave %s: %w", in.WaveID, err)
	}
	for _, part := range plan.Partitions {
		// A chunk at a time (activities.ReloadLakePartition), each after the last key of
		// the one before.
		var sum activities.WarehouseReloadOutput
		for chunk := (activities.WarehouseReloadChunk{Scope: activities.Scope{WaveID: in.WaveID, ICS: part}}); ; {
			var out activities.WarehouseReloadOutput
			if err := workflow.ExecuteActivity(wh, wa.ReloadLakePartition, chunk).Get(ctx, &out); err != nil {
				return res, fmt.Errorf("reload wave %s, partition %q: %w", in.WaveID, part, err)
			}
			// Add sums counts by table: map order cannot change a sum.
			sum.Add(out) //workflowcheck:ignore
			if out.Next == "" {
				break
			}
			chunk.After = out.Next
		}
		res.Partitions[part] = sum
	}
	for _, release := range plan.Releases {
		var out activities.WarehouseReloadOutput
		if err := workflow.ExecuteActivity(wh, wa.ReloadPublicationRelease,
			activities.ReleaseInput{Scope: scope, ReleaseID: release}).Get(ctx, &out); err != nil {
			return res, fmt.Errorf("reload wave %s, publication release %s: %w", in.WaveID, release, err)
		}
		if res.Releases == nil {
			res.Releases = map[string]activities.WarehouseReloadOutput{}
		}
		res.Releases[release] = out
	}
	if plan.LinkageRelease != "" {
		if err := workflow.ExecuteActivity(wh, wa.LoadLinkageRelease,
			activities.LinkageReleaseInput{Scope: scope, ReleaseID: plan.LinkageRelease}).Get(ctx, &res.LinkageRows); err != nil {
			return res, fmt.Errorf("reload wave %s, linkage release %s: %w", in.WaveID, plan.LinkageRelease, err)
		}
		res.LinkageRelease = plan.LinkageRelease
	}
	flushAudit(ctx, in.WaveID)
	return res, nil
}
