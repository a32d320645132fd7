package waveclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/publication"
	"icesurvey/workflows"
)

// The publication's types (issue #14), re-exported.
type (
	PublicationStatus   = workflows.PublicationStatus
	PublicationResult   = workflows.PublicationResult
	PublicationApproval = workflows.PublicationApproval
	PublicationStage    = workflows.PublicationStage
	ReleaseSummary      = activities.ReleaseSummary
	ReleaseICS          = activities.ReleaseICS
	ReleaseParams       = activities.ReleaseParams
	ReleaseParam        = activities.ReleaseParam
)

// FirstReleaseID is the release a wave drafts when its fieldwork ends.
const FirstReleaseID = workflows.FirstReleaseID

// PublicationOptions choose the release to draft.
type PublicationOptions struct {
	// ReleaseID names the release; empty: FirstReleaseID, the one the wave starts on
	// its own.
	ReleaseID string
	// Exclude names ICSs left out of the release's figures.
	Exclude []string
	// Params are the parameters the release sets (publication.ReadOverrides); nil:
	// PUBLICATION.md's defaults, or for FirstReleaseID the wave spec's publication:.
	Params *ReleaseParams
}

// PublicationRun names a started (or joined) publication.
type PublicationRun struct {
	WaveID     string
	ReleaseID  string
	WorkflowID string
	RunID      string
}

// StartPublication starts drafting a release of the wave's published comparable data,
// or joins the one already running under the same release ID (the wave starts
// FirstReleaseID itself when its fieldwork ends). Started again after it ended, it
// reports a published release as it stands and drafts an unpublished one again.
//
// It is refused while the wave's fieldwork runs (ErrFieldworkRunning): a release drafted
// then counts part of the responses, and the wave's own draft of FirstReleaseID, when
// it closes, would join that early one. A cancelled wave drafts no release of its own;
// one is drafted by hand only with every ICS whose fieldwork ended early in
// opts.Exclude (their figures are partial, not comparable), and not when every ICS
// did. A wave the cluster does not know (its workflow removed by the namespace's
// retention, or its lake written otherwise) is taken at its word.
func (c *Client) StartPublication(ctx context.Context, wave string, opts PublicationOptions) (PublicationRun, error) {
	release := opts.ReleaseID
	if release == "" {
		release = FirstReleaseID
	}
	// Bad input is refused here, before a workflow starts: a release id the store
	// cannot hold or an ICS the wave lacks would otherwise fail in the draft's first
	// activity and leave a failed publication behind under that id.
	if err := publication.ValidReleaseID(release); err != nil {
		return PublicationRun{}, fault.Wrap(fault.BadInput, err)
	}
	if _, err := opts.Params.Apply(publication.DefaultParams()); err != nil {
		return PublicationRun{}, fault.Wrap(fault.BadInput, fmt.Errorf("publication of release %s: its parameters: %w", release, err))
	}
	var params *ReleaseParams
	if !opts.Params.Empty() {
		params = opts.Params
	}
	st, err := c.FieldworkClosed(ctx, wave)
	switch {
	case errors.Is(err, ErrUnknownWave):
	case err != nil:
		return PublicationRun{}, fmt.Errorf("publication of release %s: %w; publish once it has closed", release, err)
	default:
		// The wave's own release takes the spec's parameters (its publication:) when
		// none are given, as the wave's draft of it does: drafted again by hand, it is
		// the same release.
		if release == FirstReleaseID && params == nil {
			started, err := c.WaveSpec(ctx, wave)
			if err != nil {
				return PublicationRun{}, fmt.Errorf("publication of release %s: the parameters of wave %s's spec: %w", release, wave, err)
			}
			params = started.Spec.Publication
		}
		if err := excludeOfWave(wave, st, opts.Exclude); err != nil {
			return PublicationRun{}, fmt.Errorf("publication of release %s: %w", release, err)
		}
		if st.Ended != "completed" {
			if err := endedEarlyExcluded(wave, st, opts.Exclude); err != nil {
				return PublicationRun{}, fmt.Errorf("publication of release %s: %w", release, err)
			}
		}
	}
	id := workflows.PublicationWorkflowID(wave, release)
	run, err := c.c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       id,
		TaskQueue:                activities.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    temporal.NewSearchAttributes(workflows.SAWaveID.ValueSet(wave)),
	}, string(workflows.WorkflowPublication), workflows.PublicationInput{WaveID: wave, ReleaseID: release, Exclude: opts.Exclude, Params: params})
	if err != nil {
		return PublicationRun{}, fmt.Errorf("start the publication of release %s of wave %s: %w", release, wave, err)
	}
	return PublicationRun{WaveID: wave, ReleaseID: release, WorkflowID: run.GetID(), RunID: run.GetRunID()}, nil
}

// PublicationStatus queries a release's publication: its stage, where its files are,
// and its summary once drafted.
func (c *Client) PublicationStatus(ctx context.Context, wave, release string) (PublicationStatus, error) {
	var s PublicationStatus
	if err := c.query(ctx, workflows.PublicationWorkflowID(wave, release), &s); err != nil {
		return s, c.explainNotFound(ctx, wave, fmt.Errorf("query the publication of release %s of wave %s: %w", release, wave, err), fmt.Sprintf(
			"wave %s has no release %s (the wave drafts %s when every ICS has closed; `ice publish --wave %s --release ID` drafts another)",
			wave, release, workflows.FirstReleaseID, wave))
	}
	return s, nil
}

// WaitPublicationDraft polls the publication every poll until its draft is written
// (awaiting approval) or it is published, and returns that status; a failed
// publication is an error with its reason. A publication not started yet (the wave
// starts it when its fieldwork ends) is waited for too, until ctx ends.
func (c *Client) WaitPublicationDraft(ctx context.Context, wave, release string, poll time.Duration) (PublicationStatus, error) {
	for {
		s, err := c.PublicationStatus(ctx, wave, release)
		if err == nil {
			switch s.Stage {
			case workflows.PublicationDraft, workflows.PublicationPublished:
				return s, nil
			case workflows.PublicationFailed:
				return s, fmt.Errorf("publication of release %s of wave %s failed: %s", release, wave, s.Error)
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("release %s of wave %s is still %s", release, wave, s.Stage)
			}
			return s, errors.Join(ctx.Err(), err)
		case <-time.After(poll):
		}
	}
}

// ApprovePublication signs a draft release off as by, leaving out the ICSs named
// (each ICS whose raking failed must be). The workflow's validator refuses it while an
// ICS's raking failed and is not left out, before the draft is written and once it is
// published; the refusal is the error. It returns once the release is published.
func (c *Client) ApprovePublication(ctx context.Context, wave, release, by string, leaveOut []string) (PublicationApproval, error) {
	var out PublicationApproval
	h, err := c.c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.PublicationWorkflowID(wave, release), UpdateName: workflows.UpdateApprove,
		Args:         []any{workflows.ApproveRequest{ReleaseID: release, By: by, LeaveOut: leaveOut}},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = refusal(h.Get(ctx, &out))
	}
	if endedOnServer(err) {
		// The server's words for an ended execution: say how the release ended.
		return out, fmt.Errorf("approve release %s of wave %s: %s: %w", release, wave, c.publicationEnded(ctx, wave, release), err)
	}
	if err != nil {
		return out, fmt.Errorf("approve release %s of wave %s: %w", release, wave, err)
	}
	return out, nil
}

// publicationEnded says how a release whose workflow has ended ended, from its query
// (which an ended execution still answers).
func (c *Client) publicationEnded(ctx context.Context, wave, release string) string {
	s, err := c.PublicationStatus(ctx, wave, release)
	switch {
	case err != nil:
		return "its publication has ended"
	case s.Approval != nil:
		return fmt.Sprintf("it is already %s, approved by %s at %s", s.Stage, s.Approval.By, s.Approval.At.UTC().Format(time.RFC3339))
	case s.Error != "":
		return fmt.Sprintf("its publication ended %s: %s (a new release is drafted with `ice publish --wave %s --release ID`)", s.Stage, s.Error, wave)
	}
	return fmt.Sprintf("its publication has ended (%s)", s.Stage)
}

// WaitPublication waits for a release's publication to end (published, or failed) and
// returns its result.
func (c *Client) WaitPublication(ctx context.Context, wave, release string) (PublicationResult, error) {
	var res PublicationResult
	err := c.c.GetWorkflow(ctx, workflows.PublicationWorkflowID(wave, release), "").Get(ctx, &res)
	return res, err
}

// excludeOfWave checks that every ICS exclude names is one of the wave's, named once,
// and that it leaves at least one ICS in the release.
func excludeOfWave(wave string, st Status, exclude []string) error {
	var codes []string
	for _, ics := range st.Wave.ICS {
		codes = append(codes, ics.ICS)
	}
	var errs []error
	for i, ics := range exclude {
		switch {
		case !slices.Contains(codes, ics):
			errs = append(errs, fmt.Errorf("--exclude names ICS %q, which wave %s does not have (its ICSs: %s)", ics, wave, strings.Join(codes, ", ")))
		case slices.Contains(exclude[:i], ics):
			errs = append(errs, fmt.Errorf("--exclude names ICS %s twice", ics))
		}
	}
	if len(errs) == 0 && len(codes) > 0 && !slices.ContainsFunc(codes, func(ics string) bool { return !slices.Contains(exclude, ics) }) {
		errs = append(errs, fmt.Errorf("--exclude leaves out every ICS of wave %s (%s): a release publishes at least one", wave, strings.Join(codes, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return fault.Wrap(fault.BadInput, err)
	}
	return nil
}

// endedEarlyExcluded checks that a release of a wave that did not complete (cancelled)
// leaves out every ICS whose fieldwork ended early (excludeOfWave has checked that it
// keeps at least one).
func endedEarlyExcluded(wave string, st Status, exclude []string) error {
	var early []string
	for _, ics := range st.Wave.ICS {
		if ics.Error != "" && !slices.Contains(exclude, ics.ICS) {
			early = append(early, ics.ICS)
		}
	}
	if len(early) > 0 {
		return fmt.Errorf("wave %s was %s and the fieldwork of %s ended early, so their figures are partial, not comparable: "+
			"the wave drafts no release of its own; a release by hand must leave them out (--exclude %s)",
			wave, st.Ended, strings.Join(early, ", "), strings.Join(early, ","))
	}
	return nil
}
