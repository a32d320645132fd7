package waveclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/workflows"
)

// The theme coding's types (#17), re-exported.
type (
	ThemeCodingStatus     = workflows.ThemeCodingStatus
	ThemeDecisionsResult  = workflows.ThemeDecisionsResult
	ThemeBatch            = activities.ThemeBatch
	ThemeDecision         = activities.ThemeDecision
	ThemeReport           = activities.ThemeReport
	ExportQDPXResult      = activities.ExportQDPXOutput
	ProfileReportResult   = activities.ProfileReportOutput
	ThemeCodingICS        = workflows.ThemeCodingICS
	ProfileReportRequest  = workflows.ProfileReportRequest
	ThemeDecisionsRequest = workflows.ThemeDecisionsRequest
)

// StartThemeCoding starts the coding of a wave's free text, or finds the one already
// running for the wave (one per wave). It is refused while the wave's fieldwork runs
// (ErrFieldworkRunning): a coding started then would code only the comments loaded so
// far, and a start after close would join it. A wave the cluster does not know (its
// lake written otherwise) is taken at its word.
func (c *Client) StartThemeCoding(ctx context.Context, wave string, ics []string) (string, error) {
	if _, err := c.FieldworkClosed(ctx, wave); err != nil && !errors.Is(err, ErrUnknownWave) {
		return "", fmt.Errorf("theme coding of %s: %w; code its free text once it has closed", wave, err)
	}
	run, err := c.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       workflows.ThemeCodingWorkflowID(wave),
		TaskQueue:                activities.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SAWaveID.ValueSet(wave), workflows.SAICS.ValueSet(ics)),
	}, string(workflows.WorkflowThemeCoding), workflows.ThemeCodingInput{WaveID: wave, ICS: ics})
	if err != nil {
		return "", fmt.Errorf("start the theme coding of %s: %w", wave, err)
	}
	return run.GetRunID(), nil
}

// ThemeStatus queries a wave's theme coding.
func (c *Client) ThemeStatus(ctx context.Context, wave string) (ThemeCodingStatus, error) {
	var s ThemeCodingStatus
	if err := c.query(ctx, workflows.ThemeCodingWorkflowID(wave), &s); err != nil {
		return s, c.explainNotFound(ctx, wave, fmt.Errorf("query the theme coding of %s: %w", wave, err), fmt.Sprintf(
			"wave %s's free text has not been coded yet (`ice themes code --wave %s` starts it)", wave, wave))
	}
	return s, nil
}

// WaitThemesCoded waits until the machine has coded every ICS of the wave once.
func (c *Client) WaitThemesCoded(ctx context.Context, wave string) (ThemeCodingStatus, error) {
	for {
		s, err := c.ThemeStatus(ctx, wave)
		if err == nil && s.Coded {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// SendThemeDecisions sends one coder's batch of decisions on one ICS's comments and
// waits until it is recorded, the codes rewritten and the agreement recomputed. A
// batch without an ID gets one; the ID is also the update's, so a resend after a lost
// reply is recognised.
func (c *Client) SendThemeDecisions(ctx context.Context, wave, ics string, batch ThemeBatch) (ThemeDecisionsResult, error) {
	var out ThemeDecisionsResult
	if batch.ID == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return out, err
		}
		batch.ID = hex.EncodeToString(b)
	}
	h, err := c.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ThemeCodingWorkflowID(wave), UpdateID: "batch-" + batch.ID, UpdateName: workflows.UpdateThemeDecisions,
		Args: []any{workflows.ThemeDecisionsRequest{ICS: ics, Batch: batch}}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = refusal(h.Get(ctx, &out))
	}
	if endedOnServer(err) {
		// Not Temporal's "workflow execution already completed": when it ended and how
		// to start it again.
		if eerr := c.themeCodingRunning(ctx, wave); eerr != nil {
			return out, fmt.Errorf("theme decisions for %s/%s: %w", wave, ics, eerr)
		}
	}
	if err != nil {
		return out, fmt.Errorf("theme decisions for %s/%s: %w", wave, ics, err)
	}
	return out, nil
}

// ExportQDPX writes one ICS's coded comments as a REFI-QDA project in the free-text
// area, for the named reader by, and returns its store key.
func (c *Client) ExportQDPX(ctx context.Context, wave, ics, by string) (ExportQDPXResult, error) {
	return themeUpdate[ExportQDPXResult](ctx, c, wave, workflows.UpdateExportQDPX, workflows.ExportQDPXRequest{ICS: ics, By: by})
}

// ProfileReport builds one profile's side-by-side report for one ICS of a coded wave
// (HTML, and PDF when asked) and returns its store keys.
func (c *Client) ProfileReport(ctx context.Context, wave string, req ProfileReportRequest) (ProfileReportResult, error) {
	return themeUpdate[ProfileReportResult](ctx, c, wave, workflows.UpdateProfileReport, req)
}

// FinishThemeCoding asks the wave's coding to end once its running handlers are done.
func (c *Client) FinishThemeCoding(ctx context.Context, wave string) error {
	if err := c.themeCodingRunning(ctx, wave); err != nil {
		return err
	}
	err := c.c.SignalWorkflow(ctx, workflows.ThemeCodingWorkflowID(wave), "", workflows.SignalFinishCoding, nil)
	return c.explainNotFound(ctx, wave, err, fmt.Sprintf("wave %s has no theme coding yet (`ice themes code --wave %s` starts it)", wave, wave))
}

// ThemeCodingRunning returns nil while the wave's theme coding runs, and otherwise
// why a coder cannot code: it has ended (ErrEnded: when, and how to start it again)
// or was never started (ErrNotStarted). A command that shows a coder comments, or
// records their decisions or reads, asks first: a coding that has ended takes no
// decision, so nothing may be shown or audited as if it would.
func (c *Client) ThemeCodingRunning(ctx context.Context, wave string) error {
	id := workflows.ThemeCodingWorkflowID(wave)
	if _, err := c.c.DescribeWorkflowExecution(ctx, id, ""); err != nil {
		var notFound *serviceerror.NotFound
		if errors.As(err, &notFound) {
			return notStarted(fmt.Sprintf("wave %s's free text has not been coded yet (`ice themes code --wave %s` starts it)", wave, wave))
		}
		return fmt.Errorf("the theme coding of %s: %w", wave, err)
	}
	return c.themeCodingRunning(ctx, wave)
}

// themeCodingRunning says, when the wave's theme coding has ended, when and how to
// start it again.
func (c *Client) themeCodingRunning(ctx context.Context, wave string) error {
	return c.checkRunningHint(ctx, workflows.ThemeCodingWorkflowID(wave), "the theme coding of "+wave,
		fmt.Sprintf("`ice themes code --wave %s` starts it again", wave))
}

// WaitThemeCoding waits for a wave's coding to end and returns its last status.
func (c *Client) WaitThemeCoding(ctx context.Context, wave string) (ThemeCodingStatus, error) {
	var s ThemeCodingStatus
	err := c.c.GetWorkflow(ctx, workflows.ThemeCodingWorkflowID(wave), "").Get(ctx, &s)
	return s, err
}

func themeUpdate[T any](ctx context.Context, c *Client, wave, name string, arg any) (T, error) {
	var out T
	h, err := c.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ThemeCodingWorkflowID(wave), UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = refusal(h.Get(ctx, &out))
	}
	if endedOnServer(err) {
		// Reports and exports are built by the running coding: say so, and how to
		// have them after `ice themes finish`.
		if eerr := c.checkRunningHint(ctx, workflows.ThemeCodingWorkflowID(wave), "the theme coding of "+wave, fmt.Sprintf(
			"`ice themes code --wave %s` starts it again, to build reports and exports; they are built by a running coding, so run them before `ice themes finish`", wave)); eerr != nil {
			return out, fmt.Errorf("%s: %w", name, eerr)
		}
	}
	if err != nil {
		return out, fmt.Errorf("%s in the theme coding of %s: %w", name, wave, err)
	}
	return out, nil
}
