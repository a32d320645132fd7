package schemas

import (
	"fmt"
	"time"
)

// Demographics Batch Service (DBS) layouts (SPEC §5). The request and the reply are
// identifiable files: they live only in the restricted area (RestrictedPrefix) and
// travel only over MESH or an equally restricted drop.
//
// The UNIQUE REFERENCE of every row is our survey record ID, never the NHS number,
// so the reply can be joined back without the number doubling as a key.

// DBSRequestID is the ID of an ICS's DBS request before a mailing step: the wave, ICS,
// step and the attempt (1, then one more for each `ice wave retry-dbs`). It names the
// request's store keys and its MESH local ID, so it must pass dbs.ValidRequestID.
func DBSRequestID(wave, ics, step string, attempt int) string {
	return fmt.Sprintf("%s-%s-%s-%d", wave, ics, step, attempt)
}

// MaxDBSRequestAttempt is the highest attempt a wave's spec must leave room for in its
// request IDs (wavespec checks that the longest one is valid).
const MaxDBSRequestAttempt = 999

// DBSRequestRow is one row of a DBS batch trace request. The header row is exactly
//
//	UNIQUE REFERENCE,NHS_NO,FAMILY_NAME,GIVEN_NAME,GENDER,DATE_OF_BIRTH,POST_CODE
//
// A cross-check trace needs only NHS_NO and DATE_OF_BIRTH; a full (alphanumeric)
// trace uses the names, gender and postcode as well.
type DBSRequestRow struct {
	UniqueReference string `col:"UNIQUE REFERENCE,required,doc=our survey record id"`
	NHSNumber       string `col:"NHS_NO"`
	FamilyName      string `col:"FAMILY_NAME"`
	GivenName       string `col:"GIVEN_NAME"`
	Gender          string `col:"GENDER,doc=0 not known 1 male 2 female 9 not specified"`
	DateOfBirth     string `col:"DATE_OF_BIRTH,required,doc=YYYYMMDD"`
	Postcode        string `col:"POST_CODE"`
}

// DBSRequestLayout is the DBS request file layout.
func DBSRequestLayout() *Layout { return LayoutOf[DBSRequestRow]("dbs_request") }

// DBSTraceStatus is the trace status DBS returns for one request row.
type DBSTraceStatus int32

// Trace statuses (SPEC §5).
const (
	DBSSingleMatch       DBSTraceStatus = 20 // traced to exactly one person
	DBSNoMatch           DBSTraceStatus = 21 // nobody found
	DBSMultipleMatch     DBSTraceStatus = 22 // more than one candidate; nothing returned
	DBSCrossChecked      DBSTraceStatus = 30 // NHS number and date of birth verified
	DBSCrossCheckFailed1 DBSTraceStatus = 31 // cross-check failed (first of three codes)
	DBSCrossCheckFailed2 DBSTraceStatus = 32 // cross-check failed
	DBSCrossCheckFailed3 DBSTraceStatus = 33 // cross-check failed
	DBSSuperseded        DBSTraceStatus = 40 // NHS number merged/superseded: NHS_NO is the new number
)

// Known reports whether s is a trace status this pipeline understands.
func (s DBSTraceStatus) Known() bool {
	switch s {
	case DBSSingleMatch, DBSNoMatch, DBSMultipleMatch, DBSCrossChecked,
		DBSCrossCheckFailed1, DBSCrossCheckFailed2, DBSCrossCheckFailed3, DBSSuperseded:
		return true
	}
	return false
}

// Matched reports whether the trace identified one person (20, 30 or 40): only then
// do NHS_NO and DATE_OF_DEATH carry information about our record.
func (s DBSTraceStatus) Matched() bool {
	return s == DBSSingleMatch || s == DBSCrossChecked || s == DBSSuperseded
}

// CrossCheckFailed reports whether s is one of the cross-check failure codes 31–33.
func (s DBSTraceStatus) CrossCheckFailed() bool { return s >= 31 && s <= 33 }

func (s DBSTraceStatus) String() string {
	switch {
	case s == DBSSingleMatch:
		return "single match"
	case s == DBSNoMatch:
		return "no match"
	case s == DBSMultipleMatch:
		return "multiple match"
	case s == DBSCrossChecked:
		return "cross-checked"
	case s.CrossCheckFailed():
		return fmt.Sprintf("cross-check failed (%d)", int32(s))
	case s == DBSSuperseded:
		return "superseded"
	}
	return fmt.Sprintf("unknown trace status %d", int32(s))
}

// DBSResponseRow is one row of a DBS reply. Only these columns are read; a reply
// may carry more (they are ignored). DATE_OF_DEATH must be present as a column —
// a reply without it cannot say who has died — but is empty for the living.
type DBSResponseRow struct {
	UniqueReference string         `col:"UNIQUE REFERENCE,required,doc=our survey record id echoed back"`
	NHSNumber       string         `col:"NHS_NO,doc=the traced NHS number; the new number for status 40"`
	DateOfDeath     *time.Time     `col:"DATE_OF_DEATH,date,doc=YYYYMMDD when PDS records a death"`
	TraceStatus     DBSTraceStatus `col:"TRACE_STATUS,required"`
}

// DBSResponseLayout is the DBS reply layout (the columns this pipeline reads).
func DBSResponseLayout() *Layout { return LayoutOf[DBSResponseRow]("dbs_response") }

// DBSResult is the restricted record of one person's deceased check: one row per
// requested record per DBS request. It holds no NHS number; a superseded number is
// applied to the restricted contacts instead.
type DBSResult struct {
	SurveyRecordID string     `col:"survey_record_id,key"`
	RequestID      string     `col:"request_id,key,doc=the DBS request this result came from"`
	TraceStatus    int32      `col:"trace_status,doc=DBS trace status 20 21 22 30 31-33 40"`
	Deceased       bool       `col:"deceased"`
	DateOfDeath    *time.Time `col:"date_of_death,date"`
	Superseded     bool       `col:"superseded,doc=the NHS number was replaced by a new one"`
	CheckedAt      time.Time  `col:"checked_at,doc=when the reply was reconciled"`
}

// DBSResultLayout is the restricted DBS result layout.
func DBSResultLayout() *Layout { return LayoutOf[DBSResult]("dbs_result") }
