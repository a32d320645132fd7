package activities

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/disclosure"
	"icesurvey/fault"
	"icesurvey/linkage"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The consented linkage's activities (issue #15): thin adapters over package linkage.
// Each writes whole objects under deterministic keys, so a retry writes the same ones;
// none returns a person-level value (counts, keys and ids of releases only).

// LinkageReleaseInput names one release of a wave's linkage.
type LinkageReleaseInput struct {
	Scope
	ReleaseID string `json:"release_id"`
}

// LinkageConsentOutput reports the consent events derived from the lake.
type LinkageConsentOutput struct {
	Key    string                `json:"key"`
	Events int                   `json:"events"`
	Counts linkage.ConsentCounts `json:"counts"`
}

// LinkageExtractResult is what validation made of one extract, or why it was refused.
type LinkageExtractResult struct {
	Key      string           `json:"key"`
	Dataset  string           `json:"dataset"`
	RowsRead int64            `json:"rows_read"`
	Accepted int64            `json:"accepted"`
	Rejected int64            `json:"rejected"`
	Excluded int64            `json:"excluded"`
	ByReason map[string]int64 `json:"by_reason,omitempty"`
	Report   string           `json:"report,omitempty"`
	// UnknownColumns are the extract's columns its definition does not have (names
	// only): ignored, not read.
	UnknownColumns []string `json:"unknown_columns,omitempty"`
	// Refused is the refusal of the whole extract (file, field, reason), when it was.
	Refused string `json:"refused,omitempty"`
	// SHA256 is the checksum of the file validated or refused: the run deletes the file
	// only if it is still this one.
	SHA256 string `json:"sha256,omitempty"`
}

// LinkageLandedInput names the extracts a linkage run read from the landing area.
type LinkageLandedInput struct {
	LinkageReleaseInput
	Extracts []LinkageExtractResult `json:"extracts"`
}

// LinkageLandedOutput reports the deletion of a run's landed extracts: keys only.
type LinkageLandedOutput struct {
	Recorded int `json:"recorded"`
	linkage.LandedExtractsResult
}

// LinkageExtractsOutput reports every extract of a wave's landing area.
type LinkageExtractsOutput struct {
	Extracts []LinkageExtractResult `json:"extracts"`
}

// LinkagePurgeOutput reports the purge of a wave's validated extracts: counts only.
type LinkagePurgeOutput = linkage.PurgeResult

// LinkageReleaseOutput reports a built release.
type LinkageReleaseOutput struct {
	ReleaseKeyID string `json:"release_key_id"`
	Sampled      int64  `json:"sampled"`
	Responded    int64  `json:"responded"`
	Consented    int64  `json:"consented"`
	Linked       int64  `json:"linked"`
	// Superseded: the lake's accepted rows a later extract's row of the same record
	// replaced, left out of the release.
	Superseded int64                     `json:"superseded,omitempty"`
	Tables     map[string]string         `json:"tables"` // table → lake key
	Reports    []string                  `json:"reports"`
	Accuracy   []schemas.LinkageAccuracy `json:"accuracy,omitempty"`
	Retired    int                       `json:"retired"`
	Codelists  []string                  `json:"codelists"`
}

// LinkageDisclosedOutput reports a release's disclosure-checked aggregates.
type LinkageDisclosedOutput = linkage.DisclosedResult

// LinkageExportOutput reports a release's UDAL-style export.
type LinkageExportOutput struct {
	Prefix         string `json:"prefix"`
	Files          int    `json:"files"`
	Rows           int64  `json:"rows"`
	PseudonymKeyID string `json:"pseudonym_key_id"`
}

// LinkageWithdrawalInput is an operator's withdrawal of a person's linkage consent.
type LinkageWithdrawalInput struct {
	Scope
	SurveyRecordID string    `json:"survey_record_id"`
	RespondentType string    `json:"respondent_type,omitempty"`
	Operator       string    `json:"operator"`
	Reason         string    `json:"reason"`
	At             time.Time `json:"at"`
	CommandID      string    `json:"command_id"`
}

// LinkageWithdrawalOutput names the recorded event. StillLinkableBy is set when the
// withdrawal does not take effect: the person's latest consent event, as the next
// release will find it, is a "given" dated after the withdrawal (a clock that is
// wrong, or ice demo's simulated calendar, which runs ahead of the real one).
type LinkageWithdrawalOutput struct {
	EventID         string                `json:"event_id"`
	Key             string                `json:"key"`
	ICS             string                `json:"ics"`
	At              time.Time             `json:"at"`
	StillLinkableBy *schemas.ConsentEvent `json:"still_linkable_by,omitempty"`
}

// DeriveLinkageConsent derives the wave's consent events (responses' consent answers,
// loaded opt-outs) and stores them, replacing the derivation before.
func (a *Activities) DeriveLinkageConsent(ctx context.Context, in Scope) (LinkageConsentOutput, error) {
	events, err := linkage.DeriveConsent(ctx, a.Store, in.WaveID)
	if err != nil {
		return LinkageConsentOutput{}, err
	}
	key, err := linkage.WriteDerivedConsent(ctx, a.Store, in.WaveID, events)
	if err != nil {
		return LinkageConsentOutput{}, err
	}
	all, err := linkage.ReadConsentEvents(ctx, a.Store, in.WaveID)
	if err != nil {
		return LinkageConsentOutput{}, err
	}
	counts := linkage.CountConsent(all)
	audit.Record(ctx, "linkage_consent_derived", map[string]any{"key": key, "derived": len(events), "events": counts.Events,
		"by_source": counts.BySource, "patients_given": counts.PatientsGiven, "patients_declined": counts.PatientsDeclined,
		"patients_withdrawn": counts.PatientsWithdrew, "patients_withdrawn_after_giving": counts.PatientsWithdrewAfterGiving,
		"carers_given_never_linked": counts.CarersGiven})
	return LinkageConsentOutput{Key: key, Events: len(all), Counts: counts}, nil
}

// ValidateLinkageExtracts validates every extract in the wave's restricted landing
// area against its dataset's definition, with one cohort read for all of them. An
// extract refused whole (keyed by another project's pseudonym, an unknown format, a
// missing column…) is reported with its reason and stores nothing; the others go on.
//
// First, the landing area must hold nothing a run would not validate (and so never
// delete): an object outside every dataset's folder, such as an extract in a misspelt
// folder, or a manifest without its extract, fails the activity before anything is
// validated (linkage.ErrLandingNotValidated, not retried), naming each one, why, and
// the dataset folders, and is recorded in the audit trail
// (linkage_landing_not_validated). The data engineer moves or removes them and runs
// again.
func (a *Activities) ValidateLinkageExtracts(ctx context.Context, in Scope) (LinkageExtractsOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		return LinkageExtractsOutput{}, fault.Wrap(fault.Configuration, err)
	}
	var ids []string
	for _, d := range defs.All() {
		ids = append(ids, d.ID)
	}
	stray, err := linkage.StrayLanded(ctx, a.Store, in.WaveID, ids)
	if err != nil {
		return LinkageExtractsOutput{}, err
	}
	if len(stray) > 0 {
		audit.Record(ctx, "linkage_landing_not_validated", map[string]any{"wave": in.WaveID, "objects": stray})
		return LinkageExtractsOutput{}, linkage.StrayError(in.WaveID, stray, ids)
	}
	cohort, err := linkage.LoadLinkable(ctx, a.Store, in.WaveID)
	if err != nil {
		return LinkageExtractsOutput{}, err
	}
	defer cohort.Close() // the engine its extracts are judged in
	cfg := linkage.ExtractConfig{WaveID: in.WaveID, Cohort: cohort, ProjectKeyID: linkage.KeyID(a.PseudonymKey), ProjectKey: a.PseudonymKey}
	var out LinkageExtractsOutput
	for _, d := range defs.All() {
		infos, err := a.Store.List(ctx, schemas.LinkageLandingPrefix(in.WaveID, d.ID))
		if err != nil {
			return out, err
		}
		for _, inf := range infos {
			if strings.HasSuffix(inf.Key, ".manifest.json") {
				continue // a manifest is read with its extract
			}
			cfg.Definition = d
			r := LinkageExtractResult{Key: inf.Key, Dataset: d.ID}
			res, err := linkage.ValidateExtract(ctx, a.Store, cfg, inf.Key)
			switch {
			case linkage.IsExtractError(err):
				r.Refused = err.Error()
				// Its checksum as refused, so the run deletes this file and not one the
				// provider sends in its place meanwhile.
				if r.SHA256, _, err = store.SHA256(ctx, a.Store, inf.Key); err != nil {
					return out, fmt.Errorf("checksum %s: %w", path.Base(inf.Key), err)
				}
			case err != nil:
				return out, fmt.Errorf("validate %s: %w", path.Base(inf.Key), err)
			default:
				r.RowsRead, r.Accepted, r.Rejected, r.Excluded = res.RowsRead, res.Accepted, res.Rejected, res.Excluded
				r.ByReason, r.Report, r.SHA256, r.UnknownColumns = res.ByReason, res.ReportKey, res.SHA256, res.UnknownColumns
			}
			out.Extracts = append(out.Extracts, r)
		}
	}
	return out, nil
}

// RecordLinkageExtractLineage records, before DeleteLinkageExtracts deletes them, what
// is kept of the extracts a run read (linkage.RecordExtractLineage): each one's SHA-256,
// size and counts, or its refusal, in the reports area and the audit trail.
func (a *Activities) RecordLinkageExtractLineage(ctx context.Context, in LinkageLandedInput) (LinkageLandedOutput, error) {
	files := make([]linkage.ExtractLineage, 0, len(in.Extracts))
	for _, e := range in.Extracts {
		files = append(files, linkage.ExtractLineage{Key: e.Key, Dataset: e.Dataset, SHA256: e.SHA256, RowsRead: e.RowsRead,
			Accepted: e.Accepted, Rejected: e.Rejected, Excluded: e.Excluded, Refused: e.Refused, UnknownColumns: e.UnknownColumns,
			Release: in.ReleaseID})
	}
	recorded, err := linkage.RecordExtractLineage(ctx, a.Store, in.WaveID, files, time.Now())
	if err != nil {
		return LinkageLandedOutput{}, err
	}
	for _, f := range recorded {
		audit.Record(ctx, "linkage_extract_lineage", map[string]any{"key": f.Key, "dataset": f.Dataset, "sha256": f.SHA256,
			"bytes": f.Bytes, "rows_read": f.RowsRead, "accepted": f.Accepted, "rejected": f.Rejected, "excluded": f.Excluded,
			"refused": f.Refused != "", "unknown_columns": f.UnknownColumns, "release": f.Release})
	}
	return LinkageLandedOutput{Recorded: len(recorded)}, nil
}

// DeleteLinkageExtracts deletes the extracts a run read, and their manifests, once their
// lineage is recorded (linkage.DeleteLandedExtracts): the lake holds what the release
// needs, and the files hold the whole sample's activity. A file replaced since the run
// read it is kept; a repeat deletes nothing more.
func (a *Activities) DeleteLinkageExtracts(ctx context.Context, in LinkageLandedInput) (LinkageLandedOutput, error) {
	files := make([]linkage.ExtractLineage, 0, len(in.Extracts))
	for _, e := range in.Extracts {
		files = append(files, linkage.ExtractLineage{Key: e.Key, SHA256: e.SHA256})
	}
	res, err := linkage.DeleteLandedExtracts(ctx, a.Store, in.WaveID, files)
	if res != nil {
		for _, k := range res.Deleted {
			audit.Record(ctx, "linkage_extract_deleted", map[string]any{"key": k, "release": in.ReleaseID})
		}
	}
	if err != nil {
		return LinkageLandedOutput{}, err
	}
	return LinkageLandedOutput{LandedExtractsResult: *res}, nil
}

// PurgeWithdrawnLinkage removes from the wave's validated extracts in the lake every
// row of a person who may not be linked now (linkage.PurgeWithdrawn), with the consent
// events as they stand: run after the consent step, so a withdrawal takes the person's
// activity out of the restricted lake as well as out of the next release. Idempotent:
// a retry rewrites only the objects that still hold such rows.
func (a *Activities) PurgeWithdrawnLinkage(ctx context.Context, in Scope) (LinkagePurgeOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		return LinkagePurgeOutput{}, fault.Wrap(fault.Configuration, err)
	}
	cohort, err := linkage.LoadLinkable(ctx, a.Store, in.WaveID)
	if err != nil {
		return LinkagePurgeOutput{}, err
	}
	res, err := linkage.PurgeWithdrawn(ctx, a.Store, cohort, defs)
	if err != nil {
		return LinkagePurgeOutput{}, err
	}
	return *res, nil
}

// BuildLinkageRelease builds a release from the lake as it stands (linkage.BuildRelease):
// the linked outputs, keyed by the release's pseudonyms, and the quality report; it
// retires the wave's earlier releases. A wave with a synthetic truth file gets its
// precision and recall measured against it.
func (a *Activities) BuildLinkageRelease(ctx context.Context, in LinkageReleaseInput) (LinkageReleaseOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	cfg := linkage.ReleaseConfig{WaveID: in.WaveID, ReleaseID: in.ReleaseID, ProjectKey: a.PseudonymKey}
	if err := linkage.CheckReleaseID(in.ReleaseID); err != nil {
		return LinkageReleaseOutput{}, fault.Wrap(fault.BadInput, err)
	}
	truth := schemas.LinkageTruthKey(in.WaveID)
	switch _, err := a.Store.Stat(ctx, truth); {
	case err == nil:
		cfg.TruthKey = truth
	case !errors.Is(err, store.ErrNotExist):
		return LinkageReleaseOutput{}, err
	}
	res, err := linkage.BuildRelease(ctx, a.Store, cfg)
	if err != nil {
		return LinkageReleaseOutput{}, err
	}
	out := LinkageReleaseOutput{ReleaseKeyID: res.ReleaseKeyID, Sampled: res.Sampled, Responded: res.Responded,
		Consented: res.Consented, Linked: res.Linked, Superseded: res.Superseded, Tables: map[string]string{}, Reports: res.Reports,
		Accuracy: res.Accuracy, Retired: len(res.Retired), Codelists: res.Codelists}
	for t, o := range res.Tables {
		out.Tables[t] = o.Key
	}
	return out, nil
}

// DiscloseLinkageAggregates applies disclosure control to a release's aggregate counts
// (linkage.DiscloseAggregates, the publication's default parameters).
func (a *Activities) DiscloseLinkageAggregates(ctx context.Context, in LinkageReleaseInput) (LinkageDisclosedOutput, error) {
	res, err := linkage.DiscloseAggregates(ctx, a.Store, in.WaveID, in.ReleaseID, disclosure.DefaultParams())
	if err != nil {
		return linkage.DisclosedResult{}, err
	}
	return *res, nil
}

// ExportLinkageRelease writes a release's UDAL-style export with its manifest.
func (a *Activities) ExportLinkageRelease(ctx context.Context, in LinkageReleaseInput) (LinkageExportOutput, error) {
	m, err := linkage.Export(ctx, a.Store, linkage.ExportConfig{WaveID: in.WaveID, ReleaseID: in.ReleaseID, ProjectKey: a.PseudonymKey})
	if err != nil {
		return LinkageExportOutput{}, err
	}
	out := LinkageExportOutput{Prefix: schemas.LinkageExportPrefix(in.WaveID, in.ReleaseID), Files: len(m.Files), PseudonymKeyID: m.PseudonymKeyID}
	for _, f := range m.Files {
		out.Rows += f.Rows
	}
	return out, nil
}

// RecordLinkageWithdrawal records an operator's withdrawal of a sampled person's
// linkage consent as a consent event of its own (linkage.RecordWithdrawal). The person
// must be in the wave's sample; the same command id writes the same event.
func (a *Activities) RecordLinkageWithdrawal(ctx context.Context, in LinkageWithdrawalInput) (LinkageWithdrawalOutput, error) {
	ics, ok, err := linkage.SampledICS(ctx, a.Store, in.WaveID, in.SurveyRecordID)
	if err != nil {
		return LinkageWithdrawalOutput{}, err
	}
	if !ok {
		// Named only when it is a survey record id: anything else (an NHS number, a
		// name) must not reach the worker's log or the audit trail.
		if !pseudo.IsSurveyRecordID(in.SurveyRecordID) {
			return LinkageWithdrawalOutput{}, fault.Errorf(fault.BadInput, "linkage: the survey record given is not a survey record id (not repeated)")
		}
		return LinkageWithdrawalOutput{}, fault.Errorf(fault.BadInput, "linkage: wave %s sampled no survey record %q", in.WaveID, in.SurveyRecordID)
	}
	ev, err := linkage.WithdrawalByOperator(linkage.OperatorWithdrawal{WaveID: in.WaveID, ICS: ics, SurveyRecordID: in.SurveyRecordID,
		RespondentType: in.RespondentType, Operator: in.Operator, Reason: in.Reason, At: in.At, CommandID: in.CommandID})
	if err != nil {
		return LinkageWithdrawalOutput{}, fault.Wrap(fault.BadInput, err)
	}
	key, err := linkage.RecordWithdrawal(ctx, a.Store, ev)
	if err != nil {
		return LinkageWithdrawalOutput{}, err
	}
	out := LinkageWithdrawalOutput{EventID: ev.EventID, Key: key, ICS: ics, At: ev.At}
	details := map[string]any{"event_id": ev.EventID, "ics": ics, "operator": ev.Operator, "reason": ev.Reason, "key": key}
	// The operator means the person to be linked no more: say so when a later consent
	// event outranks the withdrawal, rather than let the next release link them.
	if ev.RespondentType == schemas.RespondentPatient {
		standing, ok, err := linkage.StandingConsent(ctx, a.Store, in.WaveID, ics, linkage.Subject{SurveyRecordID: ev.SurveyRecordID, RespondentType: ev.RespondentType})
		if err != nil {
			return LinkageWithdrawalOutput{}, fmt.Errorf("linkage: withdrawal %s recorded, its standing not read: %w", ev.EventID, err)
		}
		if ok && standing.EventID != ev.EventID && standing.Event == schemas.ConsentGiven {
			out.StillLinkableBy = &standing
			details["still_linkable_by"] = standing.EventID
		}
	}
	audit.Record(ctx, "linkage_consent_withdrawn", details)
	return out, nil
}

// LoadLinkageRelease loads a release's tables into the warehouse in one transaction,
// replacing the wave's earlier release (linkage.LoadRelease).
func (w *WarehouseActivities) LoadLinkageRelease(ctx context.Context, in LinkageReleaseInput) (map[string]int64, error) {
	loaded, err := linkage.LoadRelease(ctx, w.Warehouse, w.Store, in.WaveID, in.ReleaseID)
	if err != nil {
		return nil, err
	}
	audit.Record(ctx, "linkage_release_loaded", map[string]any{"release": in.ReleaseID, "rows": loaded})
	return loaded, nil
}
