package workflows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/fault"
)

// PublicationInput starts the publication of one release of a wave.
type PublicationInput struct {
	WaveID    string `json:"wave_id"`
	ReleaseID string `json:"release_id"`
	// Exclude names ICSs left out of the release's figures (and of England's), and
	// ExcludeReason why (each one's report says so).
	Exclude       []string `json:"exclude,omitempty"`
	ExcludeReason string   `json:"exclude_reason,omitempty"`
	// Params are the parameters the release sets (`ice publish --params FILE`), by
	// PUBLICATION.md's names; the rest keep its defaults. Nil: every default. The
	// release's activity applies and validates them; a bad value fails the publication
	// for good.
	Params *activities.ReleaseParams `json:"params,omitempty"`
}

// ApproveRequest is the sign-off of a draft release (`ice publish approve`).
type ApproveRequest struct {
	ReleaseID string `json:"release_id"`
	By        string `json:"by"`
	// LeaveOut names the ICSs without figures the approver leaves out of the release:
	// every ICS whose raking failed must be named.
	LeaveOut []string `json:"leave_out,omitempty"`
}

// PublicationApproval is who signed a release off, when, and what they left out.
type PublicationApproval struct {
	By       string    `json:"by"`
	At       time.Time `json:"at"`
	LeftOut  []string  `json:"left_out,omitempty"`
	Manifest string    `json:"manifest"`
}

// PublicationStatus is what `ice publish` shows (the publication workflow's query).
type PublicationStatus struct {
	WaveID     string           `json:"wave_id"`
	ReleaseID  string           `json:"release_id"`
	WorkflowID string           `json:"workflow_id"`
	Stage      PublicationStage `json:"stage"`
	WaitingOn  string           `json:"waiting_on,omitempty"`
	// Prefix is where the release's files are in the store; ManifestKey lists them
	// with their SHA-256.
	Prefix         string `json:"prefix,omitempty"`
	ManifestKey    string `json:"manifest_key,omitempty"`
	ManifestSHA256 string `json:"manifest_sha256,omitempty"`
	// Summary is what the release holds; ICS each ICS's weighting status.
	Summary *activities.ReleaseSummary `json:"summary,omitempty"`
	ICS     []activities.ReleaseICS    `json:"ics,omitempty"`
	// Parameters are every parameter of the release, the values it was computed
	// with, once drafted.
	Parameters []activities.ReleaseParam `json:"parameters,omitempty"`
	Approval   *PublicationApproval      `json:"approval,omitempty"`
	Error      string                    `json:"error,omitempty"`
}

// PublicationResult is how a publication ended.
type PublicationResult struct {
	Status PublicationStatus `json:"status"`
}

// publicationRun is the state of one publication workflow execution.
type publicationRun struct {
	in        PublicationInput
	status    PublicationStatus
	approving bool
	// waitingOn is what the draft waits for, shown again if an approval fails.
	waitingOn string
}

// PublicationWorkflow publishes one release of a wave's comparable data
// (PUBLICATION.md): it computes the figures from the warehouse and writes a draft
// release (BuildRelease, on the warehouse queue), loads the release's tables into the
// warehouse (published_*, releases), reports what it holds, and waits for the sign-off
// (the approve update, refused while an ICS's raking failed unless the approver leaves
// it out); then the release is marked published and loaded again. Only keys and
// counts pass through the history, never figures. A release already published is
// reported as it stands: running the workflow again for it changes nothing.
func PublicationWorkflow(ctx workflow.Context, in PublicationInput) (PublicationResult, error) {
	if in.WaveID == "" || in.ReleaseID == "" {
		return PublicationResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("publication input names no wave or release (%q, %q)", in.WaveID, in.ReleaseID), string(fault.Configuration), nil)
	}
	p := &publicationRun{in: in, status: PublicationStatus{WaveID: in.WaveID, ReleaseID: in.ReleaseID,
		WorkflowID: PublicationWorkflowID(in.WaveID, in.ReleaseID), Stage: PublicationComputing}}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, p.query); err != nil {
		return PublicationResult{}, err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove, p.approve,
		workflow.UpdateHandlerOptions{Validator: p.validateApprove}); err != nil {
		return PublicationResult{}, err
	}
	err := p.run(ctx)
	if err != nil {
		p.status.Stage, p.status.WaitingOn, p.status.Error = PublicationFailed, "", activities.FailureText(err)
	}
	if ctx.Err() == nil {
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
	return PublicationResult{Status: p.status}, err
}

// run is the story.
func (p *publicationRun) run(ctx workflow.Context) error {
	scope := activities.Scope{WaveID: p.in.WaveID}
	var out activities.ReleaseOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.BuildRelease, activities.ReleaseInput{Scope: scope, ReleaseID: p.in.ReleaseID, Exclude: p.in.Exclude, ExcludeReason: p.in.ExcludeReason,
			Params: p.in.Params}).Get(ctx, &out); err != nil {
		return fmt.Errorf("build release %s: %w", p.in.ReleaseID, err)
	}
	p.record(out)
	if _, err := loadIntoWarehouse(ctx, scope, out.Objects); err != nil {
		return err
	}
	flushAudit(ctx, p.in.WaveID)
	if out.Status == activities.ReleaseStatusPublished {
		p.status.Stage = PublicationPublished
		return nil
	}
	p.waitingOn = fmt.Sprintf("approval (`ice publish approve --wave %s --release %s --by NAME", p.in.WaveID, p.in.ReleaseID)
	if len(out.Summary.RakeFailed) > 0 {
		p.waitingOn += " --leave-out " + strings.Join(out.Summary.RakeFailed, ",")
	}
	p.waitingOn += "`)"
	p.status.Stage, p.status.WaitingOn = PublicationDraft, p.waitingOn
	if err := workflow.Await(ctx, func() bool { return p.status.Stage == PublicationPublished }); err != nil {
		return err
	}
	flushAudit(ctx, p.in.WaveID)
	return nil
}

// record keeps what the release holds in the status.
func (p *publicationRun) record(out activities.ReleaseOutput) {
	s := out.Summary
	p.status.Prefix, p.status.ManifestKey, p.status.ManifestSHA256 = out.Prefix, out.ManifestKey, out.ManifestSHA256
	p.status.Summary, p.status.ICS = &s, out.ICS
	if len(out.Parameters) > 0 {
		p.status.Parameters = out.Parameters
	}
	if out.Status == activities.ReleaseStatusPublished && out.ApprovedAt != nil {
		p.status.Approval = &PublicationApproval{By: out.ApprovedBy, At: out.ApprovedAt.UTC(), LeftOut: out.LeftOut, Manifest: out.ManifestKey}
	}
}

func (p *publicationRun) query() (PublicationStatus, error) { return p.status, nil }

// validateApprove refuses a sign-off that names no one, names another release, comes
// before the draft is written or after it was approved, or leaves an ICS whose raking
// failed in (or leaves out one that is not in the wave, or has figures).
func (p *publicationRun) validateApprove(ctx workflow.Context, req ApproveRequest) error {
	switch {
	case strings.TrimSpace(req.By) == "":
		return errors.New("the approval must name who signs it (--by)")
	case req.ReleaseID != p.in.ReleaseID:
		return fmt.Errorf("this is release %s of wave %s, not %q", p.in.ReleaseID, p.in.WaveID, req.ReleaseID)
	case p.status.Stage == PublicationPublished && p.status.Approval != nil:
		return fmt.Errorf("release %s is already published (approved by %s)", p.in.ReleaseID, p.status.Approval.By)
	case p.approving || p.status.Stage == PublicationApproving:
		return fmt.Errorf("release %s is being approved", p.in.ReleaseID)
	case p.status.Stage != PublicationDraft:
		return fmt.Errorf("release %s is not ready for approval (stage %s)", p.in.ReleaseID, p.status.Stage)
	}
	byICS := map[string]activities.ReleaseICS{}
	for _, r := range p.status.ICS {
		byICS[r.ICS] = r
	}
	var errs []error
	left := map[string]bool{}
	for _, ics := range req.LeaveOut {
		r, ok := byICS[ics]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("ICS %s is not in wave %s", ics, p.in.WaveID))
		case left[ics]:
			errs = append(errs, fmt.Errorf("ICS %s is left out twice", ics))
		case r.Published:
			errs = append(errs, fmt.Errorf("ICS %s has figures in this release: to leave it out, build a new release with it excluded", ics))
		}
		left[ics] = true
	}
	for _, r := range p.status.ICS {
		if r.WeightingStatus == activities.RakeFailed && !left[r.ICS] {
			errs = append(errs, fmt.Errorf("ICS %s: raking failed (%s): leave it out (--leave-out %s) or fix its sample and build a new release", r.ICS, r.Reason, r.ICS))
		}
	}
	if len(p.status.ICS) > 0 && !slices.ContainsFunc(p.status.ICS, func(r activities.ReleaseICS) bool { return r.Published }) {
		errs = append(errs, errors.New("no ICS has figures in this release (each was excluded or its raking failed): there is nothing to publish; fix the samples and build a new release"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("approval of release %s refused: %w", p.in.ReleaseID, err)
	}
	return nil
}

// approve signs the release off: its status is written and loaded into the warehouse,
// and the caller gets the approval once the release is published.
func (p *publicationRun) approve(ctx workflow.Context, req ApproveRequest) (PublicationApproval, error) {
	p.approving = true
	p.status.Stage, p.status.WaitingOn = PublicationApproving, ""
	defer func() { p.approving = false }()
	leaveOut := slices.Sorted(slices.Values(req.LeaveOut))
	scope := activities.Scope{WaveID: p.in.WaveID}
	var out activities.ReleaseOutput
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)),
		a.ApproveRelease, activities.ApproveReleaseInput{Scope: scope, ReleaseID: p.in.ReleaseID, By: strings.TrimSpace(req.By),
			At: workflow.Now(ctx).UTC(), LeaveOut: leaveOut}).Get(ctx, &out)
	if err == nil {
		_, err = loadIntoWarehouse(ctx, scope, out.Objects)
	}
	if err != nil {
		p.status.Stage, p.status.WaitingOn = PublicationDraft, p.waitingOn
		return PublicationApproval{}, fmt.Errorf("approve release %s: %w", p.in.ReleaseID, err)
	}
	p.record(out)
	approval := PublicationApproval{By: out.ApprovedBy, LeftOut: out.LeftOut, Manifest: out.ManifestKey}
	if out.ApprovedAt != nil {
		approval.At = out.ApprovedAt.UTC()
	}
	p.status.Approval = &approval
	p.status.Stage = PublicationPublished
	return approval, nil
}
