package workflows

import "time"

// ICSStatus is what `ice wave status` shows for one ICS (the ICS workflow's query).
type ICSStatus struct {
	WaveID    string    `json:"wave_id"`
	ICS       string    `json:"ics"`
	Stage     Stage     `json:"stage"`
	WaitingOn string    `json:"waiting_on,omitempty"`
	Paused    bool      `json:"paused"`
	StartedAt time.Time `json:"started_at"`
	// DayZero is the day the schedule's days count from, once the invitation has gone
	// out later than the declaration (it waited for its DBS reply, or a pause): the day it
	// went out. Zero while the days count from the declaration.
	DayZero time.Time `json:"day_zero,omitzero"`

	Intake      *IntakeStatus     `json:"intake,omitempty"`
	IntakeError string            `json:"intake_error,omitempty"`
	Declaration *DeclarationState `json:"declaration,omitempty"`
	DBS         []DBSStatus       `json:"dbs,omitempty"`
	Mailings    []MailingStatus   `json:"mailings"`
	Outcomes    map[int]int       `json:"outcomes,omitempty"`
	LateOptOuts int               `json:"late_opt_outs,omitempty"`
	// Retention is the deletion of the ICS's identifiable data, started at close as a
	// workflow of its own (RetentionWorkflow).
	Retention *RetentionState `json:"retention,omitempty"`
}

// RetentionState names the retention workflow an ICS started at close and when it is
// due to delete.
type RetentionState struct {
	WorkflowID string    `json:"workflow_id"`
	DeleteAt   time.Time `json:"delete_at"`
}

// RetentionStatus is the retention workflow's query result.
type RetentionStatus struct {
	WaveID    string    `json:"wave_id"`
	ICS       string    `json:"ics"`
	Stage     Stage     `json:"stage"`
	DeleteAt  time.Time `json:"delete_at"`
	Deleted   int       `json:"deleted"`
	DeletedAt time.Time `json:"deleted_at,omitzero"`
}

// IntakeStatus is the intake's counts.
type IntakeStatus struct {
	RowsRead  int            `json:"rows_read"`
	Accepted  int            `json:"accepted"`
	Excluded  int            `json:"excluded"`
	Rejected  int            `json:"rejected"`
	NoSMS     int            `json:"no_sms"`
	Shortfall bool           `json:"shortfall"`
	ByReason  map[string]int `json:"by_reason,omitempty"`
	ReportKey string         `json:"report_key"`
	Runs      int            `json:"runs"`
	// Warnings are what the intake warns of (unknown or absent columns, a shortfall...),
	// for whoever signs the declaration; the report has them too.
	Warnings []string `json:"warnings,omitempty"`
}

// DeclarationState is a signed sample declaration.
type DeclarationState struct {
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// DBSStatus is one deceased check.
type DBSStatus struct {
	RequestID        string    `json:"request_id"`
	ForStep          string    `json:"for_step"`
	SentAt           time.Time `json:"sent_at"`
	Sent             int       `json:"sent"`
	Replied          bool      `json:"replied"`
	Overdue          bool      `json:"overdue"`
	Rejected         string    `json:"rejected,omitempty"`
	Matched          int       `json:"matched"`
	Deceased         int       `json:"deceased"`
	Superseded       int       `json:"superseded"`
	Unmatched        int       `json:"unmatched"`
	Multiple         int       `json:"multiple"`
	CrossCheckFailed int       `json:"cross_check_failed"`
}

// MailingStatus is one step of the mailing schedule.
type MailingStatus struct {
	Step     string       `json:"step"`
	Channel  string       `json:"channel"`
	Day      int          `json:"day"`
	DueAt    time.Time    `json:"due_at,omitzero"` // zero until the ICS knows its start
	State    MailingState `json:"state"`
	Selected int          `json:"selected"`
	Sent     int          `json:"sent"`
	Failed   int          `json:"failed"`
	SentAt   time.Time    `json:"sent_at,omitzero"`
	// NotSent is why a step in state not-sent never went out (NotSentFieldworkClosed).
	NotSent string `json:"not_sent,omitempty"`
	// InAnotherICS counts those left out of the step's selection because another ICS's
	// sample of the wave holds them and keeps them (invited there, not twice).
	InAnotherICS int `json:"in_another_ics,omitempty"`
	// Delivery receipts of an SMS step (#13 item 4): counts after the latest fetch, and
	// whether every message's status is final.
	Delivered         int  `json:"delivered,omitempty"`
	PermanentFailures int  `json:"permanent_failures,omitempty"`
	TemporaryFailures int  `json:"temporary_failures,omitempty"`
	ReceiptsFinal     bool `json:"receipts_final,omitempty"`
	// ReceiptsExpired counts messages Notify no longer held when asked (deleted after
	// the service's data retention period): their result is unknown for good.
	ReceiptsExpired int `json:"receipts_expired,omitempty"`
	// ReceiptsDueAt is when the step's next receipts pass is due, while some are not
	// final (mailing.ReceiptsAfterDays after the send, then daily).
	ReceiptsDueAt time.Time `json:"receipts_due_at,omitzero"`
}

// WaveStatus is the wave workflow's query result.
type WaveStatus struct {
	WaveID string          `json:"wave_id"`
	Stage  WaveStage       `json:"stage"`
	Paused bool            `json:"paused"`
	ICS    []WaveICSStatus `json:"ics"`
	// Publication is the workflow ID of the draft release the wave started when every
	// ICS had closed (issue #14); PublicationError why it could not start.
	Publication      string `json:"publication,omitempty"`
	PublicationError string `json:"publication_error,omitempty"`
}

// WaveICSStatus is one child of the wave.
type WaveICSStatus struct {
	ICS        string `json:"ics"`
	WorkflowID string `json:"workflow_id"`
	Done       bool   `json:"done"`
	Error      string `json:"error,omitempty"`
}

// DeclareRequest is the declaration update's argument.
type DeclareRequest struct {
	By string `json:"by"`
}

// MoveRequest moves a not yet sent mailing step to another day.
type MoveRequest struct {
	Step string `json:"step"`
	Day  int    `json:"day"`
}

// OptOutRequest removes a person from every later mailing.
type OptOutRequest struct {
	SurveyRecordID string `json:"survey_record_id,omitempty"`
	AccessCode     string `json:"access_code,omitempty"`
	Reason         string `json:"reason,omitempty"`
}
