// Package workflows tells a fieldwork wave's story, and only that: intake → declaration
// → deceased check → mailings on timers → close → retention. Every piece of work is an
// activity (see package activities); between steps only object keys and counts pass,
// so a wave's history stays the same size whatever its sample size.
package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"
)

// Query, signal and update names, shared with the CLI.
const (
	QueryStatus      = "status"
	SignalPause      = "pause"
	SignalResume     = "resume"
	SignalRevalidate = "revalidate"
	SignalRetryDBS   = "retry-dbs"
	UpdateDeclare    = "declare"
	UpdateMove       = "move-mailing"
	UpdateOptOut     = "opt-out"
)

// Search attributes registered on the namespace (see infra.SearchAttributes).
var (
	SAWaveID = temporal.NewSearchAttributeKeyKeyword("WaveID")
	SAICS    = temporal.NewSearchAttributeKeyKeywordList("ICS")
	SAStage  = temporal.NewSearchAttributeKeyKeyword("Stage")
)

// WaveWorkflowID is the workflow ID of a wave.
func WaveWorkflowID(wave string) string { return "wave/" + wave }

// ICSWorkflowID is the workflow ID of one ICS's fieldwork within a wave.
func ICSWorkflowID(wave, ics string) string { return fmt.Sprintf("wave/%s/ics/%s", wave, ics) }

// Stages of an ICS's fieldwork, as shown by `ice wave status` and the Stage attribute.
const (
	StageIntake       = "intake"
	StageIntakeFailed = "intake-failed"
	StageDeclaration  = "awaiting-declaration"
	StageDBS          = "deceased-check"
	StageMailing      = "mailing"
	StageFieldwork    = "fieldwork"
	StageClosing      = "closing"
	StageRetention    = "retention"
	StageDone         = "done"
)
