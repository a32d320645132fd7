package waveclient

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/workflows"
)

// The warehouse reload's types, re-exported.
type (
	WarehouseReloadResult = workflows.WarehouseReloadResult
	WarehouseReloadOutput = activities.WarehouseReloadOutput
)

// ReloadWarehouse derives the warehouse from the lake again for one wave
// (WarehouseReloadWorkflow) and waits for it. A reload of the wave already running is
// joined, not started twice.
func (c *Client) ReloadWarehouse(ctx context.Context, wave string) (WarehouseReloadResult, error) {
	var out WarehouseReloadResult
	id := workflows.WarehouseReloadWorkflowID(wave)
	run, err := c.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    id,
		TaskQueue:             activities.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(workflows.SAWaveID.ValueSet(wave)),
	}, string(workflows.WorkflowWarehouseReload), workflows.WarehouseReloadInput{WaveID: wave})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		run, err = c.c.GetWorkflow(ctx, id, ""), nil
	}
	if err != nil {
		return out, fmt.Errorf("reload the warehouse for %s: %w", wave, err)
	}
	if err := run.Get(ctx, &out); err != nil {
		return out, fmt.Errorf("reload the warehouse for %s: %w", wave, err)
	}
	return out, nil
}
