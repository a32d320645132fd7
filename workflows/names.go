// Package workflows tells a fieldwork wave's story, and only that: intake → declaration
// → deceased check → mailings on timers → close, then the deletion of identifiable data
// after the retention period as a story of its own; and the daily response load. Every
// piece of work is an activity (see package activities); between steps only object keys
// and counts pass, so a wave's history stays the same size whatever its sample size.
//
// This file declares, once, every name the workflows share with their clients
// (waveclient, the CLI, the dashboard): workflow types, workflow IDs, queries, signals,
// updates, search attributes, stages and mailing states.
package workflows

import (
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// WorkflowType names a workflow type: the name it is registered under and started by.
type WorkflowType string

// The workflow types.
const (
	WorkflowWave      WorkflowType = "WaveWorkflow"
	WorkflowICS       WorkflowType = "ICSWorkflow"
	WorkflowRetention WorkflowType = "RetentionWorkflow"
	WorkflowDailyLoad WorkflowType = "DailyLoadWorkflow"

	// Consented linkage (#15).
	WorkflowLinkage           WorkflowType = "LinkageWorkflow"
	WorkflowLinkageWithdrawal WorkflowType = "LinkageWithdrawalWorkflow"
	// The local index (#17): a wave's free text coded to the integration themes.
	WorkflowThemeCoding WorkflowType = "ThemeCodingWorkflow"
	// Publication of comparable data (issue #14).
	WorkflowPublication WorkflowType = "PublicationWorkflow"
	// The warehouse derived from the lake again.
	WorkflowWarehouseReload WorkflowType = "WarehouseReloadWorkflow"
)

// Registration is one workflow function and the type it is registered as.
type Registration struct {
	Type WorkflowType
	Func any
}

// All lists every workflow the worker registers (worker.RegisterWorkflows). A new story
// is a new file in this package and a line here.
var All = []Registration{
	{WorkflowWave, WaveWorkflow},
	{WorkflowICS, ICSWorkflow},
	{WorkflowRetention, RetentionWorkflow},
	{WorkflowDailyLoad, DailyLoadWorkflow},
	{WorkflowLinkage, LinkageWorkflow}, {WorkflowLinkageWithdrawal, LinkageWithdrawalWorkflow}, // #15
	{WorkflowThemeCoding, ThemeCodingWorkflow}, // #17
	{WorkflowPublication, PublicationWorkflow},
	{WorkflowWarehouseReload, WarehouseReloadWorkflow},
}

// Register registers every workflow of All on w (a worker or a replayer) under its type.
func Register(w interface {
	RegisterWorkflowWithOptions(any, workflow.RegisterOptions)
}) {
	for _, r := range All {
		w.RegisterWorkflowWithOptions(r.Func, workflow.RegisterOptions{Name: string(r.Type)})
	}
}

// Query, signal and update names, shared with the clients.
const (
	QueryStatus      = "status"
	SignalPause      = "pause"
	SignalResume     = "resume"
	SignalRevalidate = "revalidate"
	SignalRetryDBS   = "retry-dbs"
	UpdateDeclare    = "declare"
	UpdateMove       = "move-mailing"
	UpdateOptOut     = "opt-out"

	// The theme coding workflow's (#17).
	UpdateThemeDecisions = "theme-decisions"
	UpdateExportQDPX     = "export-qdpx"
	UpdateProfileReport  = "profile-report"
	SignalFinishCoding   = "finish-coding"
	// UpdateApprove signs a draft release off (issue #14).
	UpdateApprove = "approve"
)

// Search attributes the workflows set, registered on the namespace (SearchAttributes).
var (
	SAWaveID = temporal.NewSearchAttributeKeyKeyword("WaveID")
	SAICS    = temporal.NewSearchAttributeKeyKeywordList("ICS")
	SAStage  = temporal.NewSearchAttributeKeyKeyword("Stage")
	// SAScheduledStartTime is set by the server on every workflow a Temporal Schedule
	// starts: the time the action was due, which stays the same when the run itself
	// starts late (a catch-up after an outage) — so the load date derives from it.
	SAScheduledStartTime = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")
)

// SearchAttributes are the custom search attributes to register on a namespace, by
// name, with their types.
func SearchAttributes() map[string]enumspb.IndexedValueType {
	out := map[string]enumspb.IndexedValueType{}
	for _, k := range []temporal.SearchAttributeKey{SAWaveID, SAICS, SAStage} {
		out[k.GetName()] = k.GetValueType()
	}
	return out
}

// WaveWorkflowID is the workflow ID of a wave.
func WaveWorkflowID(wave string) string { return "wave/" + wave }

// ICSWorkflowID is the workflow ID of one ICS's fieldwork within a wave.
func ICSWorkflowID(wave, ics string) string { return fmt.Sprintf("wave/%s/ics/%s", wave, ics) }

// RetentionWorkflowID is the workflow ID of the deletion of one ICS's identifiable
// data after its fieldwork.
func RetentionWorkflowID(wave, ics string) string { return ICSWorkflowID(wave, ics) + "/retention" }

// DailyLoadWorkflowID is the ID of the load of one wave and day, whoever starts it: a
// load by hand (`ice load backfill`) or the schedule's run, which loads its day in a
// child under this ID (#13 item 6). One ID per day means a second load of the same day
// cannot run while the first does.
func DailyLoadWorkflowID(wave string, date time.Time) string {
	return DailyLoadScheduledWorkflowID(wave) + "/" + date.UTC().Format(time.DateOnly)
}

// DailyLoadScheduledWorkflowID is the workflow ID the daily-load schedule gives its
// runs, to which the server appends each run's scheduled time.
func DailyLoadScheduledWorkflowID(wave string) string { return "load/" + wave }

// DailyLoadScheduleID is the Temporal Schedule of a wave's daily response load.
func DailyLoadScheduleID(wave string) string { return "daily-load/" + wave }

// Consented linkage (#15).

// LinkageWorkflowID is the ID of a wave's linkage run: one ID per wave, so two releases
// of a wave never build at once (a release retires the wave's earlier ones).
func LinkageWorkflowID(wave string) string { return WaveWorkflowID(wave) + "/linkage" }

// LinkageWithdrawalWorkflowID is the ID of one operator's withdrawal command: the same
// command id is the same withdrawal.
func LinkageWithdrawalWorkflowID(wave, commandID string) string {
	return LinkageWorkflowID(wave) + "/withdraw/" + commandID
}

// WarehouseReloadWorkflowID is the ID of a wave's warehouse reload: one at a time.
func WarehouseReloadWorkflowID(wave string) string { return WaveWorkflowID(wave) + "/warehouse-reload" }

// ThemeCodingWorkflowID is the ID of a wave's theme coding (#17): one per wave.
func ThemeCodingWorkflowID(wave string) string { return "themes/" + wave }

// Stage is where an ICS's fieldwork (or its retention) stands, as `ice wave status`
// shows it and the Stage search attribute holds it.
type Stage string

// Stages of an ICS, in order: its ICSWorkflow runs from StageIntake to StageClosed, its
// RetentionWorkflow from StageRetention to StageDone.
const (
	StageIntake       Stage = "intake"
	StageIntakeFailed Stage = "intake-failed"
	StageDeclaration  Stage = "awaiting-declaration"
	StageDBS          Stage = "deceased-check"
	StageMailing      Stage = "mailing"
	StageFieldwork    Stage = "fieldwork"
	StageClosing      Stage = "closing"
	StageClosed       Stage = "closed"
	StageRetention    Stage = "retention"
	StageDone         Stage = "done"
)

// WaitingForResume is what a paused ICS waits on before its next mailing. The ICS is
// paused, by a pause of its own or of the whole wave (which pauses every ICS): the
// wave's status says which (WaveStatus.Paused).
const WaitingForResume = "resume (this ICS is paused)"

// WaveStage is where a wave stands.
type WaveStage string

// Wave stages.
const (
	WaveFieldwork             WaveStage = "fieldwork"
	WaveCompleted             WaveStage = "completed"
	WaveCompletedWithFailures WaveStage = "completed-with-failures"
	WaveCancelled             WaveStage = "cancelled"
)

// MailingState is where one mailing step stands.
type MailingState string

// Mailing states, in order.
const (
	MailingScheduled MailingState = "scheduled"
	MailingSelecting MailingState = "selecting"
	MailingChecking  MailingState = "checking"
	// MailingAwaitingHours: an SMS step, checked, waits for the SMS sending hours.
	MailingAwaitingHours MailingState = "awaiting-sms-hours"
	MailingSending       MailingState = "sending"
	MailingSent          MailingState = "sent"
	// MailingNotSent: the step never went out, and never will (MailingStatus.NotSent
	// says why).
	MailingNotSent MailingState = "not-sent"
)

// NotSentFieldworkClosed is why a step is not sent when fieldwork closed on its day
// before the step went out: the ICS was paused past it, or the step's DBS reply had
// not come (changeCloseOnItsDay).
const NotSentFieldworkClosed = "fieldwork closed"

// ---- publication (issue #14) ---------------------------------------------------------

// FirstReleaseID names the release a wave's publication drafts when its fieldwork
// ends (and `ice publish --wave W` when no --release is given).
const FirstReleaseID = "r1"

// PublicationWorkflowID is the workflow ID of one release of a wave's published
// comparable data.
func PublicationWorkflowID(wave, release string) string { return "publish/" + wave + "/" + release }

// PublicationStage is where a release stands.
type PublicationStage string

// Publication stages, in order.
const (
	PublicationComputing PublicationStage = "computing"
	PublicationDraft     PublicationStage = "awaiting-approval"
	PublicationApproving PublicationStage = "approving"
	PublicationPublished PublicationStage = "published"
	PublicationFailed    PublicationStage = "failed"
)
