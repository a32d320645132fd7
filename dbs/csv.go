// Package dbs runs the deceased check through the Demographics Batch Service (DBS,
// SPEC §5): it builds the batch trace request from the restricted contacts, sends
// it through a Transport (MESH, a file drop, or the Simulator), collects the reply,
// checks that the reply answers exactly the request, and records who has died and
// whose NHS number was superseded.
//
// The request's UNIQUE REFERENCE is our survey record ID, never the NHS number. The
// request, the reply and the per-record results are identifiable and live only in
// the restricted area (schemas.RestrictedPrefix). Nothing in this package logs; its
// errors and audit events name survey record IDs and line numbers, never an NHS
// number, a name, an address or a date of birth.
//
// There is no Temporal here: Submit and Collect are plain functions an activity
// calls. A reply takes minutes to hours, so Collect returns ready=false until it is
// there and the caller waits durably between polls.
package dbs

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/schemas"
)

// DateLayout is the YYYYMMDD date format of DBS files.
const DateLayout = "20060102"

// ParseError is a malformed DBS file: it names the line (1 is the header) and the
// column, never the offending identifiable value.
type ParseError struct {
	File   string // "reply" or "request"
	Line   int    // 0 when the file as a whole is wrong
	Field  string
	Reason string
}

// FaultKind implements fault.Classified: a malformed reply is as unusable as a
// mismatched one.
func (e *ParseError) FaultKind() fault.Kind { return fault.ReplyMismatch }

func (e *ParseError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dbs: malformed %s", e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ", field %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s", e.Reason)
	return b.String()
}

// BuildRequest writes the DBS request CSV for contacts: a header row, then one full
// trace row per contact (NHS number, names, gender, date of birth, postcode), so DBS
// can fall back to a demographic trace when the number does not cross-check. The
// file is for machines (DBS's batch trace): values go in verbatim, not neutralised
// against spreadsheet formulae as the files for people are (internal/csvcell).
func BuildRequest(contacts []schemas.Contact) ([]byte, error) {
	return buildRequest(contacts, false)
}

// BuildCrossCheckRequest writes a data-minimised DBS request: only the NHS number
// and date of birth (the other columns empty), which asks DBS for a cross-check
// trace (statuses 30–33, or 40 for a superseded number).
func BuildCrossCheckRequest(contacts []schemas.Contact) ([]byte, error) {
	return buildRequest(contacts, true)
}

func buildRequest(contacts []schemas.Contact, crossCheck bool) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(schemas.DBSRequestLayout().Names()); err != nil {
		return nil, fmt.Errorf("dbs: write request header: %w", err)
	}
	seen := make(map[string]bool, len(contacts))
	for i, c := range contacts {
		if err := validReference(c.SurveyRecordID); err != nil {
			return nil, fmt.Errorf("dbs: build request: contact %d: %w", i+1, err)
		}
		if seen[c.SurveyRecordID] {
			return nil, fmt.Errorf("dbs: build request: survey record %s appears twice", c.SurveyRecordID)
		}
		seen[c.SurveyRecordID] = true
		if c.DateOfBirth.IsZero() {
			return nil, fmt.Errorf("dbs: build request: survey record %s has no date of birth (every DBS trace needs one)", c.SurveyRecordID)
		}
		nhs := strings.ReplaceAll(strings.TrimSpace(c.NHSNumber), " ", "")
		if nhs != "" && !ValidNHSNumber(nhs) {
			return nil, fmt.Errorf("dbs: build request: survey record %s: NHS number fails the check digit", c.SurveyRecordID)
		}
		row := schemas.DBSRequestRow{
			UniqueReference: c.SurveyRecordID,
			NHSNumber:       nhs,
			DateOfBirth:     c.DateOfBirth.Format(DateLayout),
		}
		if crossCheck {
			if nhs == "" {
				return nil, fmt.Errorf("dbs: build request: survey record %s has no NHS number for a cross-check trace", c.SurveyRecordID)
			}
		} else {
			row.FamilyName = clean(c.LastName)
			row.GivenName = clean(c.FirstName)
			row.Gender = dbsGender(c.Gender)
			row.Postcode = clean(strings.ToUpper(c.Postcode))
			if nhs == "" && (row.FamilyName == "" || row.Postcode == "") {
				return nil, fmt.Errorf("dbs: build request: survey record %s has neither an NHS number nor a family name and postcode to trace", c.SurveyRecordID)
			}
		}
		if err := w.Write([]string{row.UniqueReference, row.NHSNumber, row.FamilyName, row.GivenName, row.Gender, row.DateOfBirth, row.Postcode}); err != nil {
			return nil, fmt.Errorf("dbs: write request row for %s: %w", c.SurveyRecordID, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("dbs: write request: %w", err)
	}
	return buf.Bytes(), nil
}

// clean makes a free-text field safe for a fixed-format CSV consumer: separators,
// quotes and line breaks become spaces, runs of spaces collapse.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ',', '"', '\n', '\r', '\t':
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// dbsGender maps the person-stated gender code (1, 2, 9, 0 or X) to DBS's (0, 1, 2, 9).
func dbsGender(g string) string {
	switch strings.ToUpper(strings.TrimSpace(g)) {
	case "1", "2", "9":
		return strings.TrimSpace(g)
	}
	return "0"
}

// validReference checks a survey record ID is usable as a UNIQUE REFERENCE.
func validReference(ref string) error {
	if ref == "" {
		return errors.New("empty survey record ID")
	}
	if len(ref) > 64 || strings.ContainsAny(ref, ",\"\r\n") || strings.TrimSpace(ref) != ref {
		return fmt.Errorf("survey record ID %q cannot be a DBS unique reference", ref)
	}
	return nil
}

// ValidNHSNumber reports whether s is ten digits with a correct modulus-11 check
// digit (SPEC §4).
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(s[9]-'0')
}

// header maps upper-cased, trimmed column names to their index.
type header map[string]int

func readHeader(file string, r *csv.Reader, required []string, known []string) (header, error) {
	names, err := r.Read()
	if err == io.EOF {
		return nil, &ParseError{File: file, Reason: "empty file (no header row)"}
	}
	if err != nil {
		return nil, &ParseError{File: file, Line: 1, Reason: csvReason(err)}
	}
	h := header{}
	for i, n := range names {
		if i == 0 {
			n = strings.TrimPrefix(n, "\ufeff")
		}
		n = strings.ToUpper(strings.TrimSpace(n))
		if _, dup := h[n]; dup && n != "" {
			// A column is named only if it is one of ours: a file without a header row
			// has data where the names should be, and errors never repeat data.
			field := ""
			if slices.Contains(known, n) {
				field = n
			}
			return nil, &ParseError{File: file, Line: 1, Field: field, Reason: fmt.Sprintf("column %d has the name of an earlier column", i+1)}
		}
		h[n] = i
	}
	for _, req := range required {
		if _, ok := h[req]; !ok {
			return nil, &ParseError{File: file, Line: 1, Field: req, Reason: "required column missing"}
		}
	}
	return h, nil
}

func (h header) get(rec []string, col string) string {
	i, ok := h[col]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// csvReason describes a csv error without echoing the record.
func csvReason(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func newCSVReader(body []byte) *csv.Reader {
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = 0 // every row as wide as the header
	r.ReuseRecord = false
	return r
}

// eachRow reads the data rows of a CSV file, calling fn with the 1-based line number.
func eachRow(file string, r *csv.Reader, fn func(line int, rec []string) error) error {
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			// (FieldPos is not asked: it panics after a row the reader could not read.)
			line := 0
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			return &ParseError{File: file, Line: line, Reason: csvReason(err)}
		}
		line, _ := r.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if err := fn(line, rec); err != nil {
			return err
		}
	}
}

// ParseRequest reads a DBS request CSV (as written by BuildRequest).
func ParseRequest(body []byte) ([]schemas.DBSRequestRow, error) {
	r := newCSVReader(body)
	h, err := readHeader("request", r, []string{"UNIQUE REFERENCE", "NHS_NO", "DATE_OF_BIRTH"}, schemas.DBSRequestLayout().Names())
	if err != nil {
		return nil, err
	}
	var out []schemas.DBSRequestRow
	seen := map[string]int{}
	err = eachRow("request", r, func(line int, rec []string) error {
		row := schemas.DBSRequestRow{
			UniqueReference: h.get(rec, "UNIQUE REFERENCE"),
			NHSNumber:       h.get(rec, "NHS_NO"),
			FamilyName:      h.get(rec, "FAMILY_NAME"),
			GivenName:       h.get(rec, "GIVEN_NAME"),
			Gender:          h.get(rec, "GENDER"),
			DateOfBirth:     h.get(rec, "DATE_OF_BIRTH"),
			Postcode:        h.get(rec, "POST_CODE"),
		}
		if row.UniqueReference == "" {
			return &ParseError{File: "request", Line: line, Field: "UNIQUE REFERENCE", Reason: "empty"}
		}
		if first, dup := seen[row.UniqueReference]; dup {
			return &ParseError{File: "request", Line: line, Field: "UNIQUE REFERENCE", Reason: fmt.Sprintf("%s repeats line %d", row.UniqueReference, first)}
		}
		seen[row.UniqueReference] = line
		if _, err := time.Parse(DateLayout, row.DateOfBirth); err != nil {
			return &ParseError{File: "request", Line: line, Field: "DATE_OF_BIRTH", Reason: "not a YYYYMMDD date"}
		}
		out = append(out, row)
		return nil
	})
	return out, err
}

// ParseResponse reads a DBS reply. The header row must name UNIQUE REFERENCE,
// NHS_NO, DATE_OF_DEATH and TRACE_STATUS (any case, any order; other columns are
// ignored). DATE_OF_DEATH is required as a column because a reply without it could
// not say who has died. Each row is checked: a known trace status, a valid NHS
// number on a matched row (20, 30, 40), a YYYYMMDD date of death, and no date of
// death on a row that did not match (it would belong to nobody we know).
func ParseResponse(body []byte) ([]schemas.DBSResponseRow, error) {
	r := newCSVReader(body)
	h, err := readHeader("reply", r, schemas.DBSResponseLayout().Names(), schemas.DBSResponseLayout().Names())
	if err != nil {
		return nil, err
	}
	var out []schemas.DBSResponseRow
	err = eachRow("reply", r, func(line int, rec []string) error {
		perr := func(field, reason string) error {
			return &ParseError{File: "reply", Line: line, Field: field, Reason: reason}
		}
		row := schemas.DBSResponseRow{
			UniqueReference: h.get(rec, "UNIQUE REFERENCE"),
			NHSNumber:       strings.ReplaceAll(h.get(rec, "NHS_NO"), " ", ""),
		}
		if row.UniqueReference == "" {
			return perr("UNIQUE REFERENCE", "empty")
		}
		st := h.get(rec, "TRACE_STATUS")
		n, err := strconv.Atoi(st)
		if err != nil {
			return perr("TRACE_STATUS", fmt.Sprintf("%s is not a number", shownStatus(st)))
		}
		row.TraceStatus = schemas.DBSTraceStatus(n)
		if !row.TraceStatus.Known() {
			return perr("TRACE_STATUS", fmt.Sprintf("unknown trace status %s", shownStatus(st)))
		}
		if row.TraceStatus.Matched() {
			if row.NHSNumber == "" {
				return perr("NHS_NO", fmt.Sprintf("empty on a matched row (status %d)", n))
			}
			if !ValidNHSNumber(row.NHSNumber) {
				return perr("NHS_NO", "not a valid NHS number (10 digits with a modulus-11 check digit)")
			}
		}
		if dod := h.get(rec, "DATE_OF_DEATH"); dod != "" {
			if !row.TraceStatus.Matched() {
				return perr("DATE_OF_DEATH", fmt.Sprintf("given on a row with trace status %d (%s), which identifies nobody", n, row.TraceStatus))
			}
			t, err := time.Parse(DateLayout, dod)
			if err != nil {
				return perr("DATE_OF_DEATH", "not a YYYYMMDD date")
			}
			row.DateOfDeath = &t
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// shownStatus is a TRACE_STATUS value as an error may show it: a trace status is two
// digits, so anything longer is withheld (a shifted column could put an NHS number or
// a date there, and errors never repeat identifiable values).
func shownStatus(st string) string {
	if len(st) <= 3 {
		ok := true
		for i := 0; i < len(st); i++ {
			if c := st[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '-') {
				ok = false
			}
		}
		if ok {
			return strconv.Quote(st)
		}
	}
	return fmt.Sprintf("(a value of %d characters, withheld)", len(st))
}

// EncodeResponse writes reply rows as a DBS reply CSV (used by the Simulator and by
// test responders).
func EncodeResponse(rows []schemas.DBSResponseRow) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(schemas.DBSResponseLayout().Names())
	for _, r := range rows {
		dod := ""
		if r.DateOfDeath != nil {
			dod = r.DateOfDeath.Format(DateLayout)
		}
		_ = w.Write([]string{r.UniqueReference, r.NHSNumber, dod, strconv.Itoa(int(r.TraceStatus))})
	}
	w.Flush() // writing to a bytes.Buffer cannot fail
	return buf.Bytes()
}
