package schemas

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"icesurvey/questionnaire"
)

// The daily response load (SPEC §2 step 4). The survey supplier drops, each day, into
// landing/{wave}/{ics}/responses/{yyyy-mm-dd}/:
//
//	responses_online.csv   responses_paper.csv   responses_phone.csv
//	undelivered.csv        optouts.csv
//
// (or the same names ending .jsonl, one JSON object per line with the same keys).
// Header names are case-insensitive and column order is free, as for the ICS files.
// A response file carries the ResponseExtract columns and then one column per question
// id of the questionnaires in use (patient and carer, core and local, in one file);
// a Multi answer is its codes joined by ";"; an unanswered question is an empty cell.
//
// In the lake and the warehouse, responses are stored as they arrive: one row per
// response, a column per question. The columns are the union of every questionnaire
// version and the question bank, so every wave and ICS share one table; the
// warehouse's response_answers view gives the long shape (one row per answer code)
// for "% positive" by question.

// Channels of a response.
const (
	ChannelOnline = "online"
	ChannelPaper  = "paper"
	ChannelPhone  = "phone"
)

// Channels lists the response channels in file order.
var Channels = []string{ChannelOnline, ChannelPaper, ChannelPhone}

// Respondent types, as in the RESPONDENT_TYPE column.
const (
	RespondentPatient = "patient"
	RespondentCarer   = "carer"
)

// ResponseExtract is the fixed part of a row of a supplier response file. The question
// columns follow it; their names are the question ids.
type ResponseExtract struct {
	SurveyRecordID       string    `col:"SURVEY_RECORD_ID,required,doc=the survey record id printed with the access code"`
	RespondentType       string    `col:"RESPONDENT_TYPE,required,doc=patient or carer"`
	QuestionnaireVersion string    `col:"QUESTIONNAIRE_VERSION,required,doc=e.g. patient-2026.1"`
	Channel              string    `col:"CHANNEL,required,doc=online or paper or phone"`
	ReceivedAt           time.Time `col:"RECEIVED_AT,required,doc=RFC3339"`
	Complete             string    `col:"COMPLETE,required,doc=Y or N"`
}

// ResponseExtractLayout is the fixed columns of a supplier response file.
func ResponseExtractLayout() *Layout { return LayoutOf[ResponseExtract]("response_extract") }

// ResponseExtractHeader is the header row of a response file for the given question ids.
func ResponseExtractHeader(questionIDs []string) []string {
	return append(ResponseExtractLayout().Names(), questionIDs...)
}

// UndeliveredReturn is a row of the day's undelivered returns file: a letter the post
// office returned.
type UndeliveredReturn struct {
	SurveyRecordID string    `col:"SURVEY_RECORD_ID,required"`
	ReturnedAt     time.Time `col:"RETURNED_AT,required,doc=RFC3339 or yyyy-mm-dd"`
	Reason         string    `col:"REASON,doc=one of UndeliveredReasons"`
}

// UndeliveredLayout is the undelivered returns file layout.
func UndeliveredLayout() *Layout { return LayoutOf[UndeliveredReturn]("undelivered_returns") }

// OptOut is a row of the day's opt-outs file: someone who phoned, wrote or used the
// website to say they (or the person they speak for) will not take part — or, with
// REASON withdraw_linkage (OptOutWithdrawLinkage), that they withdraw only their consent
// to link their answers to their health and care records.
type OptOut struct {
	SurveyRecordID string    `col:"SURVEY_RECORD_ID,required"`
	OptedOutAt     time.Time `col:"OPTED_OUT_AT,required,doc=RFC3339 or yyyy-mm-dd"`
	Reason         string    `col:"REASON,doc=one of OptOutReasons"`
}

// OptOutLayout is the opt-outs file layout.
func OptOutLayout() *Layout { return LayoutOf[OptOut]("opt_outs") }

// Reason codes of the undelivered and opt-out files. A reason outside the list is
// stored as "other": the column is a code, never free text.
var (
	UndeliveredReasons = []string{"addressee_gone_away", "addressee_unknown", "insufficient_address", "refused", "other"}
	OptOutReasons      = []string{"does_not_want", "too_ill", "deceased", OptOutWithdrawLinkage, "other"}
)

// OptOutWithdrawLinkage is the opt-out reason of a person who withdraws only their
// consent to linkage (SPEC §9): they stay in the survey, their response and outcome
// stand, and the row is recorded as a consent event (ConsentEvent, withdrawn, source
// optout_extract with the file, its checksum and the row) under
// LinkageOptOutConsentKey, not as an outcome event.
const OptOutWithdrawLinkage = "withdraw_linkage"

// LateOptOutReasons are the reason codes of a late opt-out recorded by an operator
// (`ice wave opt-out`): the opt-out file's (OptOutReasons) but withdraw_linkage, which is
// no opt-out of the survey (`ice link withdraw` records it). The reason reaches the
// lake, the warehouse, the audit trail and Temporal's history, so it is a code, never
// free text.
var LateOptOutReasons = []string{"does_not_want", "too_ill", OptOutDeceased, "other"}

// DefaultLateOptOutReason is a late opt-out's reason when the operator gives none.
const DefaultLateOptOutReason = "other"

// LateOptOutReason is the code reason stands for (trimmed, lower case; empty is
// DefaultLateOptOutReason); ok is false for anything not in LateOptOutReasons.
func LateOptOutReason(reason string) (code string, ok bool) {
	code = strings.ToLower(strings.TrimSpace(reason))
	if code == "" {
		return DefaultLateOptOutReason, true
	}
	return code, slices.Contains(LateOptOutReasons, code)
}

// OptOutDeceased is the opt-out reason a relative gives when the person has died; it is
// recorded as outcome 3 (deceased), not 4, so no further letter is sent.
const OptOutDeceased = "deceased"

// Supplier file kinds (the base name of a landing file, before the extension).
const (
	FileResponsesPrefix = "responses_"
	FileUndelivered     = "undelivered"
	FileOptOuts         = "optouts"
)

// ResponseFileName is the landing file name of one channel's responses.
func ResponseFileName(channel, ext string) string {
	return SupplierFileName(FileResponsesPrefix+channel, ext)
}

// SupplierFileName is the landing file name of a supplier file kind (FileUndelivered,
// FileOptOuts) in format ext ("csv" or "jsonl").
func SupplierFileName(kind, ext string) string { return kind + "." + ext }

// ClassifyResponseFile names the kind of a landing file: "online", "paper" or "phone"
// for a response file, FileUndelivered or FileOptOuts, with its format ("csv" or
// "jsonl"). ok is false for a file the load does not recognise.
func ClassifyResponseFile(key string) (kind, format string, ok bool) {
	base := path.Base(key)
	ext := path.Ext(base)
	switch strings.ToLower(ext) {
	case ".csv":
		format = "csv"
	case ".jsonl", ".ndjson":
		format = "jsonl"
	default:
		return "", "", false
	}
	name := strings.ToLower(strings.TrimSuffix(base, ext))
	switch {
	case name == FileUndelivered || name == FileOptOuts:
		return name, format, true
	case strings.HasPrefix(name, FileResponsesPrefix):
		ch := strings.TrimPrefix(name, FileResponsesPrefix)
		for _, c := range Channels {
			if ch == c {
				return c, format, true
			}
		}
	}
	return "", "", false
}

// ResponseRow is one loaded response (lake and warehouse table "responses"): one row
// per response, the fixed columns and then one column per closed question of every
// questionnaire version and of the question bank (questionnaire.Catalogue.AnswerColumns),
// NULL where the question was not asked or not answered. A single-choice question with
// numeric codes is an integer column; any other holds text, a Multi answer its codes
// in option order joined by ";". Free text never appears here (see FreeTextRow).
// A response later listed as the discarded side of a DuplicateResponse is superseded
// and must be left out of analysis (the warehouse's current_responses view does).
// response_id is unique by construction (the source file's checksum and row, in an
// object named by the file) and loads are idempotent by loaded_files, so it is not
// declared a key: a primary-key index would only slow every warehouse load down.
type ResponseRow struct {
	ResponseID           string    `col:"response_id,unique,doc=deterministic id: source file checksum and row"`
	Wave                 string    `col:"wave"`
	ICS                  string    `col:"ics"`
	LoadDate             time.Time `col:"load_date,date"`
	SurveyRecordID       string    `col:"survey_record_id,unique,doc=pseudonymous id issued at intake"`
	RespondentType       string    `col:"respondent_type,doc=patient or carer"`
	QuestionnaireVersion string    `col:"questionnaire_version"`
	Channel              string    `col:"channel,doc=online or paper or phone"`
	ReceivedAt           time.Time `col:"received_at"`
	Complete             bool      `col:"complete"`
	SourceSHA256         string    `col:"source_sha256,doc=checksum of the supplier file"`
	// Answers are the answer columns' values, in ResponseRowLayout order after the
	// fixed columns; "" is no answer.
	Answers []string `col:"answers,extra"`
}

var responseLayout = sync.OnceValues(func() (*Layout, error) {
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, err
	}
	var cols []ExtraColumn
	for _, c := range cat.AnswerColumns() {
		t := String
		if c.Numeric {
			t = Int32
		}
		cols = append(cols, ExtraColumn{Name: c.ID, Type: t})
	}
	return LayoutOf[ResponseRow](string(LakeResponses)).Extend(string(LakeResponses), cols,
		"answer code(s) to this question; NULL when not asked or not answered")
})

// ResponseRowLayout is the lake and warehouse responses layout: the fixed columns,
// then one column per closed question of the embedded questionnaire catalogue.
func ResponseRowLayout() *Layout {
	l, err := responseLayout()
	if err != nil {
		panic(fmt.Sprintf("schemas: responses layout: %v", err)) // the embedded catalogue is validated by its tests
	}
	return l
}

// ResponseFixedLayout is ResponseRowLayout without the answer columns, which follow
// its columns in the full layout: for readers that need only who answered, when and how.
func ResponseFixedLayout() *Layout { return LayoutOf[ResponseRow](string(LakeResponses)) }

// FreeTextRow is one free-text answer. Restricted: kept only under restricted/ and read
// only by named ICB users (SPEC §8).
type FreeTextRow struct {
	ResponseID     string    `col:"response_id,key,unique"`
	Wave           string    `col:"wave"`
	ICS            string    `col:"ics"`
	LoadDate       time.Time `col:"load_date,date"`
	RespondentType string    `col:"respondent_type"`
	QuestionID     string    `col:"question_id,key"`
	Text           string    `col:"text,unique"`
}

// FreeTextLayout is the restricted free-text layout.
func FreeTextLayout() *Layout { return LayoutOf[FreeTextRow]("free_text") }

// OutcomeEvent is one change of a sampled person's outcome (SPEC §6): 2 undelivered,
// 3 deceased (the DBS check, or reported through an opt-out), 4 opted out. Outcome 1,
// completed, is not an event: it is the person's kept complete patient response (the
// warehouse's completions view); lake objects written before that change may hold
// completion events too, which the views count once. A carer response does not change
// the patient's outcome. The same fact may arrive twice (a supplier resending an
// opt-out); consumers take the earliest.
type OutcomeEvent struct {
	EventID        string    `col:"event_id,key,unique,doc=deterministic: source file checksum and row"`
	Wave           string    `col:"wave"`
	ICS            string    `col:"ics"`
	LoadDate       time.Time `col:"load_date,date"`
	SurveyRecordID string    `col:"survey_record_id,unique"`
	Outcome        int32     `col:"outcome,doc=outcome code 1-6"`
	At             time.Time `col:"at"`
	Reason         string    `col:"reason,doc=reason code or empty"`
	SourceFile     string    `col:"source_file"`
	SourceSHA256   string    `col:"source_sha256"`
	ResponseID     string    `col:"response_id,unique,doc=the completed response of an older completion event; else empty"`
	// SourceRow is last: the warehouse column was added by migration 19, which appends.
	// It is NULL in objects written before it and for events that come from no file row.
	SourceRow *int64 `col:"source_row,doc=1-based data row of source_file the event came from; NULL when from no file row (the DBS check or a mailing) or written before the column"`
}

// OutcomeEventLayout is the lake outcomes layout.
func OutcomeEventLayout() *Layout { return LayoutOf[OutcomeEvent](string(LakeResponseOutcomes)) }

// Rejection reason codes of the response load.
const (
	RejectMissingColumn        = "missing_column"        // a required column is absent: the whole file is rejected
	RejectUnreadableFile       = "unreadable_file"       // not valid CSV / JSON lines
	RejectUnknownFile          = "unknown_file"          // a landing file the load does not recognise
	RejectMalformedRow         = "malformed_row"         // wrong number of fields, bad JSON object
	RejectMissingValue         = "missing_value"         // a required field is empty
	RejectUnknownRecord        = "unknown_record_id"     // no such survey record id in the wave and ICS
	RejectNotInvited           = "not_invited"           // a patient response for a record never invited
	RejectCarerNoInvitation    = "carer_without_patient" // a carer response with no matching patient invitation
	RejectBadRespondentType    = "invalid_respondent_type"
	RejectUnknownVersion       = "unknown_questionnaire_version"
	RejectVersionMismatch      = "questionnaire_version_mismatch" // e.g. a carer response naming a patient questionnaire
	RejectBadChannel           = "invalid_channel"                // CHANNEL not online/paper/phone or not the file's channel
	RejectBadTimestamp         = "invalid_timestamp"
	RejectFutureTimestamp      = "timestamp_after_load_day"
	RejectEarlyTimestamp       = "timestamp_before_fieldwork" // before the ICS's first mailing (or before ICSs existed)
	RejectBadComplete          = "invalid_complete_flag"
	RejectInvalidAnswer        = "invalid_answer"          // not one of the question's option codes
	RejectQuestionNotInVersion = "question_not_in_version" // an answer to a question the named version does not ask
	RejectBlankResponse        = "blank_response"          // no closed question answered (a blank return is a decline)
)

// ResponseRejection is one problem found by the response load. Row is the 1-based data
// row (0 for a problem with the whole file). A rejected row has one or more rejections
// and is not loaded. Message never holds an answer's text or identifiable data.
type ResponseRejection struct {
	Wave           string    `col:"wave"`
	ICS            string    `col:"ics"`
	LoadDate       time.Time `col:"load_date,date"`
	File           string    `col:"file,doc=base name of the landing file"`
	Row            int32     `col:"row,key"`
	SurveyRecordID string    `col:"survey_record_id"`
	Field          string    `col:"field,key"`
	ReasonCode     string    `col:"reason_code,key"`
	Message        string    `col:"message"`
	SourceSHA256   string    `col:"source_sha256,key"`
}

// ResponseRejectionLayout is the lake response_rejections layout.
func ResponseRejectionLayout() *Layout {
	return LayoutOf[ResponseRejection](string(LakeResponseRejections))
}

// Duplicate reasons.
const (
	DuplicateSameDay          = "duplicate_same_day"           // a later or less complete response the same day
	DuplicateEarlierDay       = "duplicate_of_earlier_day"     // a complete response was kept on an earlier day
	DuplicateSupersededByDone = "incomplete_superseded"        // an earlier incomplete response replaced by a complete one
	DuplicateIncompleteLater  = "incomplete_after_earlier_day" // an incomplete response after an earlier-day incomplete one
	// DuplicateOfFirstReceived: a response one load kept is discarded for the person's
	// first received (complete, if any) response, which another load kept: a load of
	// another day run at the same time, or a later day loaded first.
	DuplicateOfFirstReceived = "duplicate_of_first_received"
)

// DuplicateResponse records that one person (survey record id and respondent type)
// answered more than once: the kept response and one discarded response.
type DuplicateResponse struct {
	Wave                string    `col:"wave"`
	ICS                 string    `col:"ics"`
	LoadDate            time.Time `col:"load_date,date"`
	SurveyRecordID      string    `col:"survey_record_id"`
	RespondentType      string    `col:"respondent_type"`
	KeptResponseID      string    `col:"kept_response_id"`
	DiscardedResponseID string    `col:"discarded_response_id,key"`
	DiscardedReceivedAt time.Time `col:"discarded_received_at"`
	DiscardedComplete   bool      `col:"discarded_complete"`
	DiscardedChannel    string    `col:"discarded_channel"`
	Reason              string    `col:"reason"`
	SourceSHA256        string    `col:"source_sha256,doc=file of the response that decided the pair"`
}

// DuplicateResponseLayout is the lake duplicates layout.
func DuplicateResponseLayout() *Layout { return LayoutOf[DuplicateResponse](string(LakeDuplicates)) }
