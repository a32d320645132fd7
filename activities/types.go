package activities

import (
	"time"

	"icesurvey/mailing"
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
}

// LoadInput asks the warehouse worker to load one lake object into its table.
type LoadInput struct {
	Scope
	Table string `json:"table"`
	Key   string `json:"key"`
}

// LoadObjectsInput asks the warehouse worker to load several lake objects of one wave
// and ICS in one transaction.
type LoadObjectsInput struct {
	Scope
	Objects []LakeObject `json:"objects"`
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

// SelectInput asks who a mailing step goes to, decided when it falls due.
type SelectInput struct {
	Scope
	Step    string `json:"step"`
	Channel string `json:"channel"`
	// Round distinguishes a re-selection after a deceased check from the first one.
	Round string `json:"round"`
}

// SelectOutput names the recipient list written to the store.
type SelectOutput struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
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
	Sent             int    `json:"sent"`
	Matched          int    `json:"matched"`
	Deceased         int    `json:"deceased"`
	Superseded       int    `json:"superseded"`
	Unmatched        int    `json:"unmatched"`
	Multiple         int    `json:"multiple"`
	CrossCheckFailed int    `json:"cross_check_failed"`
	OutcomesKey      string `json:"outcomes_key"` // lake object of deceased outcome events
	// SampleKey is set when superseded NHS numbers changed the lake sample's pseudonyms,
	// so the warehouse must load it again.
	SampleKey string `json:"sample_key,omitempty"`
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
	HistoryKey  string `json:"history_key"` // lake object of mailing events
}

// CloseOutput reports the final outcomes of an ICS's fieldwork.
type CloseOutput struct {
	Outcomes map[int]int `json:"outcomes"`
	Key      string      `json:"key"`
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

// RetentionOutput reports the deletion of a wave's identifiable data.
type RetentionOutput struct {
	Deleted int `json:"deleted"`
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
	SurveyRecordID string `json:"survey_record_id"`
	OutcomesKey    string `json:"outcomes_key"`
}
