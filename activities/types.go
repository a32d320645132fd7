package activities

import (
	"time"

	"icesurvey/mailing"
	"icesurvey/responses"
	"icesurvey/schemas"
)

// Scope names the wave and ICS an activity acts on; every input embeds it so the audit
// interceptor files the attempt under the right wave.
type Scope struct {
	WaveID string `json:"wave_id"`
	ICS    string `json:"ics,omitempty"`
}

// AuditScope implements worker.Scoped.
func (s Scope) AuditScope() (string, string) { return s.WaveID, s.ICS }

// IntakeInput asks for one ICS's sample and mailing files to be validated.
type IntakeInput struct {
	Scope
	SampleFile   string    `json:"sample_file"`
	MailingFile  string    `json:"mailing_file"`
	SamplingDate time.Time `json:"sampling_date"`
	MinEligible  int       `json:"min_eligible"`
}

// IntakeOutput is what intake found: counts, the keys of what it wrote, and the
// figures the ICS signs on its declaration.
type IntakeOutput struct {
	RowsRead        int            `json:"rows_read"`
	MailingRowsRead int            `json:"mailing_rows_read"`
	Accepted        int            `json:"accepted"`
	Excluded        int            `json:"excluded"`
	Rejected        int            `json:"rejected"`
	NoSMS           int            `json:"no_sms"`
	ByReason        map[string]int `json:"by_reason"`
	Shortfall       bool           `json:"shortfall"`
	MinEligible     int            `json:"min_eligible"`
	SampleKey       string         `json:"sample_key"`
	ContactsKey     string         `json:"contacts_key"`
	ReportKey       string         `json:"report_key"`
	SampleSHA256    string         `json:"sample_sha256"`
	MailingSHA256   string         `json:"mailing_sha256"`
	Warnings        []string       `json:"warnings,omitempty"`
	Declaration     any            `json:"declaration"`
	// Objects is the lake sample, for the warehouse.
	Objects []schemas.LakeObject `json:"objects"`
}

// LoadObjectsInput asks the warehouse worker to load lake objects of one wave and ICS
// in one transaction.
type LoadObjectsInput struct {
	Scope
	Objects []schemas.LakeObject `json:"objects"`
}

// LoadObjectsOutput reports each object's load, by lake key.
type LoadObjectsOutput struct {
	ByKey map[string]LoadOutput `json:"by_key"`
}

// LoadOutput reports a warehouse load.
type LoadOutput struct {
	Rows    int64 `json:"rows"`
	Skipped bool  `json:"skipped"` // the same object was loaded before
}

// DeclarationInput records a signed sample declaration.
type DeclarationInput struct {
	Scope
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	SampleKey string    `json:"sample_key"`
	Accepted  int       `json:"accepted"`
}

// EndedEarlyInput records that an ICS's fieldwork ended before its close: cancelled, or
// failed with Reason.
type EndedEarlyInput struct {
	Scope
	Cancelled bool   `json:"cancelled"`
	Reason    string `json:"reason"`
}

// SelectInput asks who a mailing step goes to, decided when it falls due.
type SelectInput struct {
	Scope
	Step    string `json:"step"`
	Channel string `json:"channel"`
	// Round distinguishes a re-selection after a deceased check from the first one.
	Round string `json:"round"`
}

// SelectOutput names the recipient list written to the lake.
type SelectOutput struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
	// InAnotherICS counts those the step would have gone to but for another ICS's
	// sample of the wave holding and keeping them (warehouse.Recipients): they are
	// invited there, not twice.
	InAnotherICS int `json:"in_another_ics,omitempty"`
	// Objects is the list, a lake object the warehouse does not hold.
	Objects []schemas.LakeObject `json:"objects"`
}

// DBSSubmitInput asks for a deceased check of everyone in a selection.
type DBSSubmitInput struct {
	Scope
	RequestID    string `json:"request_id"`
	SelectionKey string `json:"selection_key"`
}

// DBSSubmitOutput reports the request sent.
type DBSSubmitOutput struct {
	Sent int `json:"sent"`
}

// DBSCollectInput asks for the reply to a request.
type DBSCollectInput struct {
	Scope
	RequestID string `json:"request_id"`
}

// DBSCollectOutput reports a reconciled reply.
type DBSCollectOutput struct {
	Sent             int `json:"sent"`
	Matched          int `json:"matched"`
	Deceased         int `json:"deceased"`
	Superseded       int `json:"superseded"`
	Unmatched        int `json:"unmatched"`
	Multiple         int `json:"multiple"`
	CrossCheckFailed int `json:"cross_check_failed"`
	// Objects are the deaths' outcome events and, when superseded NHS numbers changed
	// the lake sample's pseudonyms, the sample: the warehouse loads them together.
	Objects []schemas.LakeObject `json:"objects,omitempty"`
}

// SendInput asks for one mailing step to go out to a selection.
type SendInput struct {
	Scope
	Step         mailing.Step `json:"step"`
	SelectionKey string       `json:"selection_key"`
	SurveyURL    string       `json:"survey_url"`
}

// SendOutput reports a mailing step sent.
type SendOutput struct {
	Channel     string `json:"channel"`
	Sent        int    `json:"sent"`
	AlreadySent int    `json:"already_sent"`
	Failed      int    `json:"failed"`
	PrintFile   string `json:"print_file,omitempty"`
	// Objects is the step's mailing history.
	Objects []schemas.LakeObject `json:"objects"`
}

// CloseInput asks for an ICS's closing record. Scope is embedded, so an input
// recorded before NotSent existed ({"wave_id", "ics"}) reads the same.
type CloseInput struct {
	Scope
	// NotSent lists the mailing steps that never went out, each with why (the
	// workflow's status says so; the closing's audit event keeps it after the
	// workflow's history is gone).
	NotSent []NotSentStep `json:"not_sent,omitempty"`
}

// NotSentStep is a mailing step that never went out, and why.
type NotSentStep struct {
	Step string `json:"step"`
	Why  string `json:"why"`
}

// CloseOutput reports the final outcomes of an ICS's fieldwork.
type CloseOutput struct {
	Outcomes map[int]int `json:"outcomes"`
	Key      string      `json:"key"`
	// Objects is the final outcomes, a lake object the warehouse does not hold.
	Objects []schemas.LakeObject `json:"objects"`
}

// FlushAuditInput asks for a wave's pending audit events to be compacted and loaded.
type FlushAuditInput struct {
	Scope
}

// FlushAuditOutput reports a compaction.
type FlushAuditOutput struct {
	Events   int    `json:"events"`
	BatchKey string `json:"batch_key"`
}

// OptOutInput records a person's late opt-out, named by survey record ID or by the
// access code printed on their letter.
type OptOutInput struct {
	Scope
	SurveyRecordID string `json:"survey_record_id,omitempty"`
	AccessCode     string `json:"access_code,omitempty"`
	Reason         string `json:"reason"`
}

// OptOutOutput names the person and the outcome event written.
type OptOutOutput struct {
	SurveyRecordID string               `json:"survey_record_id"`
	Objects        []schemas.LakeObject `json:"objects"`
}

// LoadResponsesInput asks for one ICS's supplier files of one day to be loaded.
type LoadResponsesInput struct {
	Scope
	Questionnaires
	// Date is the load date: the landing folder schemas.ResponseLandingPrefix(wave, ics, date).
	Date time.Time `json:"date"`
}

// LoadResponsesOutput reports a day's load: counts only (no rows, nothing
// identifiable) and the lake objects the warehouse must load.
type LoadResponsesOutput struct {
	LoadDate      string         `json:"load_date"`
	NoFiles       bool           `json:"no_files"`
	Files         int            `json:"files"`
	FilesSkipped  int            `json:"files_skipped"`
	RowsRead      int            `json:"rows_read"`
	Loaded        int            `json:"loaded"`
	Rejected      int            `json:"rejected"`
	Duplicates    int            `json:"duplicates"`
	Superseded    int            `json:"superseded"`
	Responses     map[string]int `json:"responses,omitempty"`
	Outcomes      map[int]int    `json:"outcomes,omitempty"`
	FreeTextItems int            `json:"free_text_items"`
	ByReason      map[string]int `json:"rejections_by_reason,omitempty"`
	// RejectedFiles names the files rejected whole by this load (an unknown name, not
	// readable, a required column missing): none of their rows loaded.
	RejectedFiles []responses.RejectedFile `json:"rejected_files,omitempty"`
	// AfterClosingRecord: the load brought responses or outcomes after the ICS's
	// closing record was written (markAfterClosingRecord).
	AfterClosingRecord bool `json:"after_closing_record,omitempty"`
	// AfterRetention: the ICS's retention had begun, so the day's landed files were
	// deleted once loaded (deleteAfterRetention); LandedDeleted of them by this call
	// (0 on a retry that found them gone).
	AfterRetention bool `json:"after_retention,omitempty"`
	LandedDeleted  int  `json:"landed_deleted,omitempty"`
	// Objects are every complete lake object of the day's partitions, not only those
	// written by this call (responses.DayObjects).
	Objects []schemas.LakeObject `json:"objects,omitempty"`
}

// ActivitySimulateResponses is the activity type of the dev stack's survey-supplier
// simulator (sim/devsim registers it, on the dev stack's warehouse worker; `ice worker`
// never does, so a production daily load asked to simulate fails at its
// schedule-to-start timeout instead of writing invented responses).
const ActivitySimulateResponses = "SimulateResponses"

// SimulateInput asks for one ICS's supplier files of one day to be simulated.
type SimulateInput struct {
	Scope
	Questionnaires
	Date time.Time `json:"date"`
	// DayLength is the wave's fieldwork day (24h in production, seconds in a demo).
	// Mailing steps are placed on fieldwork days by it, and fieldwork day n is simulated
	// on the calendar day n days after the invitation's, so a fast demo wave can still
	// be loaded one calendar day at a time. Zero means 24h.
	DayLength time.Duration `json:"day_length,omitempty"`
}

// SimulateOutput counts what the simulated supplier delivered.
type SimulateOutput struct {
	FieldworkDay int          `json:"fieldwork_day"`
	Invited      int          `json:"invited"`
	Summary      SimulatedDay `json:"summary"`
}

// SimulatedDay is what the simulated supplier wrote for one day (the fields of
// sim/surveysim's Summary).
type SimulatedDay struct {
	Day         string         `json:"day"`
	Files       []string       `json:"files"`
	ByChannel   map[string]int `json:"by_channel"`
	Patients    int            `json:"patients"`
	Carers      int            `json:"carers"`
	Incomplete  int            `json:"incomplete"`
	Duplicates  int            `json:"duplicates"`
	Undelivered int            `json:"undelivered"`
	OptOuts     int            `json:"opt_outs"`
	// LinkageWithdrawals: opt-out rows withdrawing linkage consent only.
	LinkageWithdrawals int `json:"linkage_withdrawals"`
	Deceased           int `json:"deceased"`
}
