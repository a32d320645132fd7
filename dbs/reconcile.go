package dbs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/pseudo"
	"icesurvey/schemas"
)

// Outcome is what one DBS reply says about the records it was asked about. Counts
// and per-record lists name survey record IDs only, so an Outcome may be returned
// from an activity (into workflow history) and written to the audit trail.
//
// Matched counts statuses 20, 30 and 40; Deceased and Superseded are subsets of it.
// Sent = Matched + Unmatched + Multiple + CrossCheckFailed.
type Outcome struct {
	RequestID        string `json:"request_id"`
	Sent             int    `json:"sent"`
	Matched          int    `json:"matched"`
	Deceased         int    `json:"deceased"`
	Superseded       int    `json:"superseded"`
	Unmatched        int    `json:"unmatched"`
	Multiple         int    `json:"multiple"`
	CrossCheckFailed int    `json:"cross_check_failed"`

	DeceasedIDs         []string `json:"deceased_ids"`
	SupersededIDs       []string `json:"superseded_ids"`
	UnmatchedIDs        []string `json:"unmatched_ids"`
	MultipleIDs         []string `json:"multiple_ids"`
	CrossCheckFailedIDs []string `json:"cross_check_failed_ids"`

	// Set by Collect: where the reply, the DBSResult rows and (when a number was
	// superseded) the updated contacts were written, and how many contacts changed.
	ReplyKey           string `json:"reply_key,omitempty"`
	ResultsKey         string `json:"results_key,omitempty"`
	UpdatedContactsKey string `json:"updated_contacts_key,omitempty"`
	NHSNumbersUpdated  int    `json:"nhs_numbers_updated,omitempty"`

	// Results holds one row per requested record (input for the restricted results
	// object). DatesOfDeath and NewNHSNumbers are keyed by survey record ID. All
	// three are identifiable or bulky and are never serialised (json:"-"): they do
	// not leave the process through workflow history or the audit trail.
	Results       []schemas.DBSResult  `json:"-"`
	DatesOfDeath  map[string]time.Time `json:"-"`
	NewNHSNumbers map[string]string    `json:"-"`
}

// ReplyMismatchError says a DBS reply does not answer the request it was matched
// to: rows for references we did not send, rows missing, rows repeated, or a row
// count that differs. Nothing from such a reply may be used; the mailing must wait
// until the request is resolved (usually by a new request).
type ReplyMismatchError struct {
	RequestID  string
	Requested  int
	Rows       int
	Unknown    []string // references in the reply that were not requested
	Missing    []string // requested references with no row
	Duplicated []string // references with more than one row
}

// FaultKind implements fault.Classified.
func (e *ReplyMismatchError) FaultKind() fault.Kind { return fault.ReplyMismatch }

func (e *ReplyMismatchError) Error() string {
	var reasons []string
	if e.Rows != e.Requested {
		reasons = append(reasons, fmt.Sprintf("%d rows for %d requested records", e.Rows, e.Requested))
	}
	if n := len(e.Unknown); n > 0 {
		reasons = append(reasons, fmt.Sprintf("%d unknown reference(s) (%s)", n, sample(shownReferences(e.Unknown))))
	}
	if n := len(e.Missing); n > 0 {
		reasons = append(reasons, fmt.Sprintf("%d requested record(s) without a row (%s)", n, sample(e.Missing)))
	}
	if n := len(e.Duplicated); n > 0 {
		reasons = append(reasons, fmt.Sprintf("%d reference(s) answered more than once (%s)", n, sample(e.Duplicated)))
	}
	id := ""
	if e.RequestID != "" {
		id = " " + e.RequestID
	}
	return fmt.Sprintf("dbs: reply to request%s does not match the request: %s; the mailing must wait", id, strings.Join(reasons, "; "))
}

// shownReferences is the unknown references of a reply as a message may name them: a
// survey record id (what a request sends) as it is, anything else withheld, since the
// column may hold what a shifted reply put there (an NHS number, a name, a date of birth).
func shownReferences(refs []string) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		if pseudo.IsSurveyRecordID(r) {
			out[i] = r
		} else {
			out[i] = "a value that is no survey record id, withheld"
		}
	}
	return out
}

func sample(ids []string) string {
	const max = 5
	if len(ids) <= max {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:max], ", ") + fmt.Sprintf(", … %d more", len(ids)-max)
}

// IsMismatch reports whether err is (or wraps) a *ReplyMismatchError.
func IsMismatch(err error) bool {
	var me *ReplyMismatchError
	return errors.As(err, &me)
}

// Reconcile checks that resp answers exactly the requested survey record IDs (one
// row each, nothing else) and tallies it. A mismatch is a *ReplyMismatchError.
// A status 40 row's NHS_NO is the new number, returned in NewNHSNumbers.
// Results rows carry no RequestID or CheckedAt; Collect fills them.
func Reconcile(requested []string, resp []schemas.DBSResponseRow) (*Outcome, error) {
	want := make(map[string]bool, len(requested))
	for _, id := range requested {
		if want[id] {
			return nil, fmt.Errorf("dbs: reconcile: survey record %s requested twice", id)
		}
		want[id] = true
	}
	mm := &ReplyMismatchError{Requested: len(requested), Rows: len(resp)}
	got := make(map[string]*schemas.DBSResponseRow, len(resp))
	dupSeen := map[string]bool{}
	for i := range resp {
		r := &resp[i]
		switch {
		case !want[r.UniqueReference]:
			mm.Unknown = append(mm.Unknown, r.UniqueReference)
		case got[r.UniqueReference] != nil:
			if !dupSeen[r.UniqueReference] {
				mm.Duplicated = append(mm.Duplicated, r.UniqueReference)
				dupSeen[r.UniqueReference] = true
			}
		default:
			got[r.UniqueReference] = r
		}
	}
	for _, id := range requested {
		if got[id] == nil {
			mm.Missing = append(mm.Missing, id)
		}
	}
	if len(mm.Unknown)+len(mm.Missing)+len(mm.Duplicated) > 0 || mm.Rows != mm.Requested {
		return nil, mm
	}

	o := &Outcome{
		Sent:          len(requested),
		Results:       make([]schemas.DBSResult, 0, len(requested)),
		DatesOfDeath:  map[string]time.Time{},
		NewNHSNumbers: map[string]string{},
	}
	for _, id := range requested {
		r := got[id]
		res := schemas.DBSResult{SurveyRecordID: id, TraceStatus: int32(r.TraceStatus)}
		switch {
		case r.TraceStatus.Matched():
			o.Matched++
			if r.DateOfDeath != nil {
				o.Deceased++
				o.DeceasedIDs = append(o.DeceasedIDs, id)
				o.DatesOfDeath[id] = *r.DateOfDeath
				res.Deceased = true
				dod := *r.DateOfDeath
				res.DateOfDeath = &dod
			}
			if r.TraceStatus == schemas.DBSSuperseded {
				o.Superseded++
				o.SupersededIDs = append(o.SupersededIDs, id)
				o.NewNHSNumbers[id] = r.NHSNumber
				res.Superseded = true
			}
		case r.TraceStatus == schemas.DBSNoMatch:
			o.Unmatched++
			o.UnmatchedIDs = append(o.UnmatchedIDs, id)
		case r.TraceStatus == schemas.DBSMultipleMatch:
			o.Multiple++
			o.MultipleIDs = append(o.MultipleIDs, id)
		case r.TraceStatus.CrossCheckFailed():
			o.CrossCheckFailed++
			o.CrossCheckFailedIDs = append(o.CrossCheckFailedIDs, id)
		default:
			return nil, fmt.Errorf("dbs: reconcile: survey record %s: unknown trace status %d", id, r.TraceStatus)
		}
		o.Results = append(o.Results, res)
	}
	for _, l := range [][]string{o.DeceasedIDs, o.SupersededIDs, o.UnmatchedIDs, o.MultipleIDs, o.CrossCheckFailedIDs} {
		sort.Strings(l)
	}
	return o, nil
}

// Counts is the Outcome's tallies as audit details.
func (o *Outcome) Counts() map[string]any {
	return map[string]any{
		"request_id":         o.RequestID,
		"sent":               o.Sent,
		"matched":            o.Matched,
		"deceased":           o.Deceased,
		"superseded":         o.Superseded,
		"unmatched":          o.Unmatched,
		"multiple":           o.Multiple,
		"cross_check_failed": o.CrossCheckFailed,
	}
}
