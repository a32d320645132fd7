package workflows

import (
	"errors"
	"fmt"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/fault"
)

// LinkageInput starts one release of a wave's consented linkage (#15).
type LinkageInput struct {
	WaveID    string `json:"wave_id"`
	ReleaseID string `json:"release_id"`
	// WithdrawalsOnly rebuilds the release from the extracts already validated, with
	// the consent events as they stand now: the re-run after a withdrawal, which removes
	// the withdrawn from every linked output, export and warehouse table without
	// waiting for new extracts.
	WithdrawalsOnly bool `json:"withdrawals_only,omitempty"`
}

// LinkageResult reports a release: counts, keys and release ids only.
type LinkageResult struct {
	WaveID          string                            `json:"wave_id"`
	ReleaseID       string                            `json:"release_id"`
	WithdrawalsOnly bool                              `json:"withdrawals_only,omitempty"`
	Step            string                            `json:"step"`
	Consent         activities.LinkageConsentOutput   `json:"consent"`
	Extracts        []activities.LinkageExtractResult `json:"extracts,omitempty"`
	// Purge is what the run removed from the lake's validated extracts (absent from
	// runs recorded before the step existed).
	Purge     *activities.LinkagePurgeOutput    `json:"purge,omitempty"`
	Release   activities.LinkageReleaseOutput   `json:"release"`
	Disclosed activities.LinkageDisclosedOutput `json:"disclosed"`
	Export    activities.LinkageExportOutput    `json:"export"`
	Warehouse map[string]int64                  `json:"warehouse,omitempty"`
	// Landing is what the run deleted of the extracts it validated (absent from
	// withdrawals-only runs, and from runs recorded before the step existed).
	Landing *activities.LinkageLandedOutput `json:"landing,omitempty"`
}

// Steps of a linkage run (LinkageResult.Step), in order.
const (
	LinkageStepConsent   = "consent"
	LinkageStepValidate  = "validate"
	LinkageStepPurge     = "purge"
	LinkageStepRelease   = "release"
	LinkageStepDisclose  = "disclose"
	LinkageStepExport    = "export"
	LinkageStepWarehouse = "warehouse"
	LinkageStepLanding   = "delete-landed-extracts"
	LinkageStepDone      = "done"
)

// changeLinkagePurge marks the purge step: runs recorded before it replay without it.
const changeLinkagePurge = "linkage-purge-withdrawn"

// changeLinkageDeleteLanded marks the deletion of the validated extracts at the end of
// a run: runs recorded before it replay without it.
const changeLinkageDeleteLanded = "linkage-delete-landed-extracts"

// LinkageWorkflow builds one release of a wave's linkage: derive the consent events
// from the lake, validate the providers' extracts (unless withdrawals only), purge the
// rows of everyone who may no longer be linked from the lake's validated extracts
// (every run, so a withdrawals-only run removes the withdrawn from the restricted lake
// too), build the release and its quality report, put the aggregate counts through disclosure control,
// export the release UDAL-style, load it into the warehouse, and delete the extracts it
// validated (their lineage kept; see linkage.DeleteLandedExtracts). Each step is an
// activity that reads and writes the store and passes keys and counts on; every one is
// retried by its class's policy and audited by the worker. One run per wave at a time
// (LinkageWorkflowID), as a release retires the wave's earlier ones.
func LinkageWorkflow(ctx workflow.Context, in LinkageInput) (LinkageResult, error) {
	res := LinkageResult{WaveID: in.WaveID, ReleaseID: in.ReleaseID, WithdrawalsOnly: in.WithdrawalsOnly}
	if in.WaveID == "" {
		return res, temporal.NewNonRetryableApplicationError("a linkage run needs a wave", string(fault.BadInput), nil)
	}
	if in.ReleaseID == "" {
		return res, temporal.NewNonRetryableApplicationError("a linkage run needs a release id", string(fault.BadInput), nil)
	}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (LinkageResult, error) { return res, nil }); err != nil {
		return res, err
	}
	scope := activities.Scope{WaveID: in.WaveID}
	rel := activities.LinkageReleaseInput{Scope: scope, ReleaseID: in.ReleaseID}
	long := workflow.WithActivityOptions(ctx, activities.Options(activities.Long))
	step := func(name string, err error) error {
		if err != nil {
			return fmt.Errorf("linkage %s/%s: %s: %w", in.WaveID, in.ReleaseID, name, err)
		}
		return nil
	}
	defer flushAudit(ctx, in.WaveID)

	res.Step = LinkageStepConsent
	if err := step(res.Step, workflow.ExecuteActivity(long, a.DeriveLinkageConsent, scope).Get(ctx, &res.Consent)); err != nil {
		return res, err
	}
	if !in.WithdrawalsOnly {
		res.Step = LinkageStepValidate
		var ex activities.LinkageExtractsOutput
		if err := step(res.Step, workflow.ExecuteActivity(long, a.ValidateLinkageExtracts, scope).Get(ctx, &ex)); err != nil {
			return res, err
		}
		res.Extracts = ex.Extracts
	}
	if workflow.GetVersion(ctx, changeLinkagePurge, workflow.DefaultVersion, 1) >= 1 {
		res.Step = LinkageStepPurge
		var purge activities.LinkagePurgeOutput
		if err := step(res.Step, workflow.ExecuteActivity(long, a.PurgeWithdrawnLinkage, scope).Get(ctx, &purge)); err != nil {
			return res, err
		}
		res.Purge = &purge
	}
	res.Step = LinkageStepRelease
	if err := step(res.Step, workflow.ExecuteActivity(long, a.BuildLinkageRelease, rel).Get(ctx, &res.Release)); err != nil {
		return res, err
	}
	res.Step = LinkageStepDisclose
	if err := step(res.Step, workflow.ExecuteActivity(long, a.DiscloseLinkageAggregates, rel).Get(ctx, &res.Disclosed)); err != nil {
		return res, err
	}
	res.Step = LinkageStepExport
	if err := step(res.Step, workflow.ExecuteActivity(long, a.ExportLinkageRelease, rel).Get(ctx, &res.Export)); err != nil {
		return res, err
	}
	res.Step = LinkageStepWarehouse
	wh := workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse))
	if err := step(res.Step, workflow.ExecuteActivity(wh, wa.LoadLinkageRelease, rel).Get(ctx, &res.Warehouse)); err != nil {
		return res, err
	}
	// The release is built and loaded from the lake: the extracts this run validated are
	// not needed again, and hold the whole sample's activity. Their lineage is recorded
	// (an activity of its own, so it is stored before anything goes), then they are
	// deleted. A run that failed before here keeps them for its retry.
	if len(res.Extracts) > 0 && workflow.GetVersion(ctx, changeLinkageDeleteLanded, workflow.DefaultVersion, 1) >= 1 {
		res.Step = LinkageStepLanding
		landed := activities.LinkageLandedInput{LinkageReleaseInput: rel, Extracts: res.Extracts}
		sctx := workflow.WithActivityOptions(ctx, activities.Options(activities.Storage))
		var recorded, deleted activities.LinkageLandedOutput
		if err := step(res.Step, workflow.ExecuteActivity(sctx, a.RecordLinkageExtractLineage, landed).Get(ctx, &recorded)); err != nil {
			return res, err
		}
		if err := step(res.Step, workflow.ExecuteActivity(sctx, a.DeleteLinkageExtracts, landed).Get(ctx, &deleted)); err != nil {
			return res, err
		}
		deleted.Recorded = recorded.Recorded
		res.Landing = &deleted
	}
	res.Step = LinkageStepDone
	return res, nil
}

// LinkageWithdrawalInput is `ice link withdraw`: an operator records that a person
// withdrew their consent to linkage.
type LinkageWithdrawalInput struct {
	WaveID         string `json:"wave_id"`
	SurveyRecordID string `json:"survey_record_id"`
	RespondentType string `json:"respondent_type,omitempty"`
	Operator       string `json:"operator"`
	Reason         string `json:"reason"`
	// CommandID makes the command idempotent (it names the workflow too).
	CommandID string `json:"command_id"`
}

// LinkageWithdrawalWorkflow records an operator's withdrawal as a consent event of its
// own, at the workflow's time. It removes no one by itself: the next release (for
// example `ice link --withdrawals-only`) is built without the person.
func LinkageWithdrawalWorkflow(ctx workflow.Context, in LinkageWithdrawalInput) (activities.LinkageWithdrawalOutput, error) {
	var out activities.LinkageWithdrawalOutput
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)), a.RecordLinkageWithdrawal,
		activities.LinkageWithdrawalInput{Scope: activities.Scope{WaveID: in.WaveID}, SurveyRecordID: in.SurveyRecordID,
			RespondentType: in.RespondentType, Operator: in.Operator, Reason: in.Reason, At: workflow.Now(ctx).UTC(),
			CommandID: in.CommandID}).Get(ctx, &out)
	flushAudit(ctx, in.WaveID)
	if err != nil {
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) {
			return out, temporal.NewNonRetryableApplicationError(appErr.Message(), appErr.Type(), nil)
		}
		return out, err
	}
	return out, nil
}
