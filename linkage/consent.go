package linkage

import (
	"cmp"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

// Consent is a record of events (schemas.ConsentEvent), never a flag:
//
//   - given or declined, from the consent answer of each loaded response
//     (ConsentFromResponse);
//   - withdrawn, from a row of the supplier's opt-out extract or an operator's command
//     (WithdrawalByOperator). An opt-out row with reason withdraw_linkage
//     (schemas.OptOutWithdrawLinkage) withdraws linkage consent only: the response load
//     writes it as a consent event of its own (schemas.LinkageOptOutConsentKey) and the
//     person stays in the survey. Any other opt-out row opts the person out of the
//     survey (an outcome event) and withdraws their linkage consent as well
//     (WithdrawalFromOutcomeEvent, WithdrawalFromOptOut); both name the file, its
//     checksum and the row. A late opt-out an operator records during fieldwork with
//     `ice wave opt-out` withdraws linkage consent too (WithdrawalFromLateOptOut):
//     every opt-out does, whichever way it comes.
//
// The rule (Latest, Linkable): a person is linked only when their latest patient
// consent event is "given". Events are ordered by time; at the same instant the more
// restrictive wins (withdrawn, then declined, then given). A withdrawal therefore
// removes the person from every linked output of the next release (each release is
// built afresh from the events) and stops any further linkage, whatever came before.
//
// Carers: a carer answers with the invitation of the patient they look after, so a
// carer response carries the patient's survey record id and nothing that identifies
// the carer — no NHS number, so no pseudonym to link. The carer questionnaire's consent
// question asks to link the carer's answers to the patient's records, which the
// patient has not agreed to. Carers' consent events are recorded, but no carer is ever
// linked (Linkable looks at patient events only), and a carer's consent never links
// the patient.

// Withdrawal reason codes of an operator's command.
var OperatorReasons = []string{
	ReasonWithdrawLinkage,         // the person withdrew consent to linkage (the command's default)
	"requested_by_person",         // the person asked (phone, letter, email)
	"requested_by_representative", // someone with authority to act for them asked
	"recorded_in_error",           // the consent answer was captured wrongly
	"ig_direction",                // a direction from information governance
	"other",
}

// ReasonWithdrawLinkage is the reason `ice link withdraw` records unless told another:
// the person withdrew their consent to linkage (and only that: they stay in the survey).
const ReasonWithdrawLinkage = "withdraw_linkage"

// eventID is the deterministic id of the event: a hash of its source and kind, so
// deriving the events again gives the same ids (schemas.ConsentEventID, which the
// response load uses too for the withdraw_linkage rows of an opt-out file).
func eventID(kind, ref, event string) string { return schemas.ConsentEventID(kind, ref, event) }

// ConsentQuestion is the consent question of a questionnaire version.
type ConsentQuestion struct {
	ID  string // question id (the responses column)
	Yes string // the answer code meaning consent
}

// ConsentQuestions lists the consent question of every version of a catalogue.
func ConsentQuestions(cat *questionnaire.Catalogue) (map[string]ConsentQuestion, error) {
	out := map[string]ConsentQuestion{}
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			return nil, err
		}
		if qn.ConsentQuestion == "" {
			continue
		}
		out[v] = ConsentQuestion{ID: qn.ConsentQuestion, Yes: qn.ConsentYes}
	}
	return out, nil
}

// AnswerOf returns the answer in r to question id ("" when unanswered or when the
// responses layout has no such column).
func AnswerOf(r *schemas.ResponseRow, id string) string {
	l := schemas.ResponseRowLayout()
	i, ok := answerIndex(l, id)
	if !ok || i >= len(r.Answers) {
		return ""
	}
	return strings.TrimSpace(r.Answers[i])
}

func answerIndex(l *schemas.Layout, id string) (int, bool) {
	for i, c := range l.Columns {
		if c.Name == id {
			j := l.ExtraIndex(i)
			return j, j >= 0
		}
	}
	return 0, false
}

// ConsentFromResponse derives the consent event of one loaded response: "given" when
// its consent question (by its questionnaire version) was answered yes, "declined" for
// any other answer, and no event (ok false) when the question was not answered or the
// version asks none.
func ConsentFromResponse(r *schemas.ResponseRow, questions map[string]ConsentQuestion) (ev schemas.ConsentEvent, ok bool) {
	q, known := questions[r.QuestionnaireVersion]
	if !known {
		return ev, false
	}
	answer := AnswerOf(r, q.ID)
	if answer == "" {
		return ev, false
	}
	event, reason := schemas.ConsentDeclined, "answered_no"
	if answer == q.Yes {
		event, reason = schemas.ConsentGiven, "answered_yes"
	}
	return schemas.ConsentEvent{
		EventID: eventID(schemas.ConsentSourceResponse, r.ResponseID, event), WaveID: r.Wave, ICS: r.ICS,
		SurveyRecordID: r.SurveyRecordID, RespondentType: r.RespondentType, Event: event, At: r.ReceivedAt.UTC(),
		SourceKind: schemas.ConsentSourceResponse, SourceRef: r.ResponseID, SourceSHA256: r.SourceSHA256, Reason: reason,
	}, true
}

// OptOutRow is one row of the supplier's opt-out extract, as a withdrawal's source.
// Every opt-out counts as a withdrawal of linkage consent: someone who asks not to take
// part has not agreed to their answers being linked, whatever the reason they gave
// (the reason is kept with the event). A withdraw_linkage row is a withdrawal and
// nothing more (see the package comment).
type OptOutRow struct {
	WaveID, ICS string
	File        string // base name of the extract
	Row         int64  // 1-based data row; 0 when not known (then Ref must be set)
	SHA256      string // the extract's checksum
	Ref         string // the loaded outcome event's id, when the row comes from the lake
	schemas.OptOut
}

// WithdrawalFromOptOut derives the withdrawal of one opt-out row.
func WithdrawalFromOptOut(o OptOutRow) (schemas.ConsentEvent, error) {
	switch {
	case strings.TrimSpace(o.SurveyRecordID) == "":
		return schemas.ConsentEvent{}, fmt.Errorf("linkage: opt-out %s row %d: SURVEY_RECORD_ID is empty", o.File, o.Row)
	case o.OptedOutAt.IsZero():
		return schemas.ConsentEvent{}, fmt.Errorf("linkage: opt-out %s row %d: OPTED_OUT_AT is empty", o.File, o.Row)
	case o.File == "" || o.SHA256 == "" || (o.Row <= 0 && o.Ref == ""):
		return schemas.ConsentEvent{}, fmt.Errorf("linkage: opt-out of %s: the source file, its checksum and its row (or loaded event) are all needed", o.SurveyRecordID)
	}
	ref := o.Ref
	if ref == "" {
		ref = o.SHA256 + ":" + strconv.FormatInt(o.Row, 10)
	}
	reason := strings.ToLower(strings.TrimSpace(o.Reason))
	if reason == "" {
		reason = "opted_out"
	}
	return schemas.ConsentEvent{
		EventID: eventID(schemas.ConsentSourceOptOut, ref, schemas.ConsentWithdrawn), WaveID: o.WaveID, ICS: o.ICS,
		SurveyRecordID: strings.TrimSpace(o.SurveyRecordID), RespondentType: schemas.RespondentPatient,
		Event: schemas.ConsentWithdrawn, At: o.OptedOutAt.UTC(), SourceKind: schemas.ConsentSourceOptOut,
		SourceRef: ref, SourceFile: o.File, SourceRow: o.Row, SourceSHA256: o.SHA256, Reason: reason,
	}, nil
}

// WithdrawalFromOutcomeEvent derives the withdrawal of a loaded opt-out (an outcome
// event whose source is an opt-out file); ok is false for any other outcome event (an
// undelivered letter, a death found by the DBS check). The event's reference stays the
// outcome event's id (so its id is the same whether or not the row is known); the row
// is the outcome event's source row, 0 for an event loaded before outcome events kept it.
func WithdrawalFromOutcomeEvent(e schemas.OutcomeEvent) (ev schemas.ConsentEvent, ok bool, err error) {
	if kind, _, known := schemas.ClassifyResponseFile(e.SourceFile); !known || kind != schemas.FileOptOuts {
		return ev, false, nil
	}
	var row int64
	if e.SourceRow != nil {
		row = *e.SourceRow
	}
	ev, err = WithdrawalFromOptOut(OptOutRow{WaveID: e.Wave, ICS: e.ICS, File: path.Base(e.SourceFile), SHA256: e.SourceSHA256,
		Row: row, Ref: e.EventID, OptOut: schemas.OptOut{SurveyRecordID: e.SurveyRecordID, OptedOutAt: e.At, Reason: e.Reason}})
	return ev, err == nil, err
}

// WithdrawalFromLateOptOut derives the withdrawal of a late opt-out recorded with
// `ice wave opt-out` (an outcome event of the lake's outcome_events, one per person);
// ok is false for any other event there (a death found by the DBS check). The event's
// reference is the outcome event's id, so recording the same opt-out again derives the
// same withdrawal.
func WithdrawalFromLateOptOut(e schemas.OutcomeEvent) (ev schemas.ConsentEvent, ok bool, err error) {
	if e.SourceFile != schemas.LateOptOutSource || e.Outcome != schemas.OutcomeOptedOut {
		return ev, false, nil
	}
	switch {
	case strings.TrimSpace(e.SurveyRecordID) == "" || e.EventID == "":
		return ev, false, fmt.Errorf("linkage: late opt-out %q of wave %s names no survey record or has no id", e.EventID, e.Wave)
	case e.At.IsZero():
		return ev, false, fmt.Errorf("linkage: late opt-out %s: when it was made is not recorded", e.EventID)
	}
	reason := strings.ToLower(strings.TrimSpace(e.Reason))
	if reason == "" {
		reason = "opted_out"
	}
	return schemas.ConsentEvent{
		EventID: eventID(schemas.ConsentSourceLateOptOut, e.EventID, schemas.ConsentWithdrawn), WaveID: e.Wave, ICS: e.ICS,
		SurveyRecordID: strings.TrimSpace(e.SurveyRecordID), RespondentType: schemas.RespondentPatient,
		Event: schemas.ConsentWithdrawn, At: e.At.UTC(), SourceKind: schemas.ConsentSourceLateOptOut,
		SourceRef: e.EventID, SourceFile: e.SourceFile, Reason: reason,
	}, true, nil
}

// OperatorWithdrawal is `ice link withdraw --wave W --record ID`: a named operator
// records that a person withdrew consent, with a reason code.
type OperatorWithdrawal struct {
	WaveID         string
	ICS            string
	SurveyRecordID string
	RespondentType string // patient (the default) or carer
	Operator       string // who ran the command
	Reason         string // one of OperatorReasons
	At             time.Time
	// CommandID makes the command idempotent: the same id gives the same event (the
	// workflow passes its update id).
	CommandID string
}

// WithdrawalByOperator derives the withdrawal of an operator's command.
func WithdrawalByOperator(w OperatorWithdrawal) (schemas.ConsentEvent, error) {
	if w.RespondentType == "" {
		w.RespondentType = schemas.RespondentPatient
	}
	var errs []error
	if strings.TrimSpace(w.WaveID) == "" {
		errs = append(errs, errors.New("the wave is missing"))
	}
	if strings.TrimSpace(w.SurveyRecordID) == "" {
		errs = append(errs, errors.New("the survey record id is missing"))
	}
	if w.RespondentType != schemas.RespondentPatient && w.RespondentType != schemas.RespondentCarer {
		errs = append(errs, fmt.Errorf("respondent type %q is not patient or carer", w.RespondentType))
	}
	if strings.TrimSpace(w.Operator) == "" {
		errs = append(errs, errors.New("the operator is missing: a withdrawal is recorded with who made it"))
	}
	if !slices.Contains(OperatorReasons, w.Reason) {
		// Not quoted: a reason that is no code may be free text, and this error is
		// recorded (the audit trail, the workflow's history).
		errs = append(errs, fmt.Errorf("the reason is not a code: one of %s", strings.Join(OperatorReasons, ", ")))
	}
	if w.At.IsZero() {
		errs = append(errs, errors.New("the time is missing"))
	}
	if strings.TrimSpace(w.CommandID) == "" {
		errs = append(errs, errors.New("the command id is missing"))
	}
	if len(errs) > 0 {
		return schemas.ConsentEvent{}, fmt.Errorf("linkage: withdrawal refused: %w", errors.Join(errs...))
	}
	return schemas.ConsentEvent{
		EventID: eventID(schemas.ConsentSourceOperator, w.CommandID, schemas.ConsentWithdrawn), WaveID: w.WaveID, ICS: w.ICS,
		SurveyRecordID: w.SurveyRecordID, RespondentType: w.RespondentType, Event: schemas.ConsentWithdrawn,
		At: w.At.UTC(), SourceKind: schemas.ConsentSourceOperator, SourceRef: w.CommandID, Operator: w.Operator, Reason: w.Reason,
	}, nil
}

// Subject is whose consent an event is about: the invitation's survey record id and
// the respondent type.
type Subject struct {
	SurveyRecordID string
	RespondentType string
}

// restrictiveness orders events at the same instant: the more restrictive wins.
func restrictiveness(event string) int {
	switch event {
	case schemas.ConsentWithdrawn:
		return 2
	case schemas.ConsentDeclined:
		return 1
	}
	return 0
}

// compareEvents orders two events of one subject in time; at the same instant the
// more restrictive is later, then the event id decides (so the order is total).
func compareEvents(a, b *schemas.ConsentEvent) int {
	return compareEventOrder(a.At, a.Event, a.EventID, b.At, b.Event, b.EventID)
}

// compareEventOrder is compareEvents on the time, event and id of each event.
func compareEventOrder(aAt time.Time, aEvent, aID string, bAt time.Time, bEvent, bID string) int {
	if c := aAt.Compare(bAt); c != 0 {
		return c
	}
	if c := cmp.Compare(restrictiveness(aEvent), restrictiveness(bEvent)); c != 0 {
		return c
	}
	return cmp.Compare(aID, bID)
}

// Latest returns each subject's latest consent event. Repeated events (the same id)
// count once.
func Latest(events []schemas.ConsentEvent) map[Subject]schemas.ConsentEvent {
	out := map[Subject]schemas.ConsentEvent{}
	for i := range events {
		e := &events[i]
		s := Subject{e.SurveyRecordID, e.RespondentType}
		if have, ok := out[s]; !ok || compareEvents(&have, e) < 0 {
			out[s] = *e
		}
	}
	return out
}

// Linkable reports whether the person with the survey record id may be linked: their
// latest patient consent event is "given". Carers' events are never consulted (see
// the package comment).
func Linkable(latest map[Subject]schemas.ConsentEvent, surveyRecordID string) bool {
	e, ok := latest[Subject{surveyRecordID, schemas.RespondentPatient}]
	return ok && e.Event == schemas.ConsentGiven
}

// ConsentCounts summarises the latest events of a wave (for the audit trail).
type ConsentCounts struct {
	Events           int            `json:"events"`
	BySource         map[string]int `json:"by_source"`
	PatientsGiven    int            `json:"patients_given"`
	PatientsDeclined int            `json:"patients_declined"`
	PatientsWithdrew int            `json:"patients_withdrawn"`
	// PatientsWithdrewAfterGiving counts the withdrawn who had given consent in a
	// response: the rest opted out of the survey (most without ever responding) or
	// had declined, and a count of "withdrawn" alone would read as consents lost.
	PatientsWithdrewAfterGiving int `json:"patients_withdrawn_after_giving"`
	CarersGiven                 int `json:"carers_given_never_linked"`
}

// CountConsent counts events and latest states.
func CountConsent(events []schemas.ConsentEvent) ConsentCounts {
	c := ConsentCounts{Events: len(events), BySource: map[string]int{}}
	gave := map[Subject]bool{}
	for _, e := range events {
		c.BySource[e.SourceKind]++
		if e.Event == schemas.ConsentGiven {
			gave[Subject{e.SurveyRecordID, e.RespondentType}] = true
		}
	}
	for s, e := range Latest(events) {
		switch {
		case s.RespondentType == schemas.RespondentCarer:
			if e.Event == schemas.ConsentGiven {
				c.CarersGiven++
			}
		case e.Event == schemas.ConsentGiven:
			c.PatientsGiven++
		case e.Event == schemas.ConsentDeclined:
			c.PatientsDeclined++
		case e.Event == schemas.ConsentWithdrawn:
			c.PatientsWithdrew++
			if gave[s] {
				c.PatientsWithdrewAfterGiving++
			}
		}
	}
	return c
}
