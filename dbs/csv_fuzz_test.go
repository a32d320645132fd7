package dbs

import (
	"errors"
	"reflect"
	"regexp"
	"testing"
)

// longDigits finds a run of six or more digits: an NHS number (10), a date (8) or a
// phone number. A parse error must never carry one from the file it describes.
var longDigits = regexp.MustCompile(`[0-9]{6,}`)

// FuzzParseResponse feeds arbitrary bytes to the DBS reply parser, the one parser of
// what the Demographics Batch Service sends back. No input may panic; a refused reply
// is a *ParseError that names the line and column but never repeats an identifiable
// value; an accepted one re-encodes to a file that parses to the same rows, every
// matched row has a valid NHS number, and no unmatched row carries a date of death.
// Reconcile then either tallies every row or reports a mismatch, never anything else.
//
// Seeds: testdata/fuzz/FuzzParseResponse (a real-looking reply with every trace
// status, and the known nasty cases: BOM, CRLF, quoted header, short rows, an
// unterminated quote, a date of death on an unmatched row, a status that is not a
// number).
func FuzzParseResponse(f *testing.F) {
	f.Add([]byte("UNIQUE REFERENCE,NHS_NO,DATE_OF_DEATH,TRACE_STATUS\nS1,9434765919,,20\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseResponse(data)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is %T, want *ParseError: %v", err, err)
			}
			if pe.File != "reply" || pe.Reason == "" {
				t.Fatalf("ParseError does not name the file and reason: %+v", pe)
			}
			if m := longDigits.FindString(err.Error()); m != "" && longDigits.Match(data) {
				t.Fatalf("error repeats a long number from the reply (%s): %v", m, err)
			}
			return
		}
		for i, r := range rows {
			if r.UniqueReference == "" {
				t.Fatalf("row %d: accepted with an empty reference", i)
			}
			if !r.TraceStatus.Known() {
				t.Fatalf("row %d: accepted with unknown status %d", i, r.TraceStatus)
			}
			if r.TraceStatus.Matched() && !ValidNHSNumber(r.NHSNumber) {
				t.Fatalf("row %d: matched row accepted without a valid NHS number", i)
			}
			if r.DateOfDeath != nil && !r.TraceStatus.Matched() {
				t.Fatalf("row %d: date of death on an unmatched row", i)
			}
		}
		again, err := ParseResponse(EncodeResponse(rows))
		if err != nil {
			t.Fatalf("re-encoded reply does not parse: %v", err)
		}
		if len(rows) == 0 && len(again) == 0 {
			return
		}
		if !reflect.DeepEqual(rows, again) {
			t.Fatalf("round trip changed the rows:\n%+v\n%+v", rows, again)
		}
		requested := make([]string, 0, len(rows))
		seen := map[string]bool{}
		for _, r := range rows {
			if !seen[r.UniqueReference] {
				seen[r.UniqueReference] = true
				requested = append(requested, r.UniqueReference)
			}
		}
		o, err := Reconcile(requested, rows)
		switch {
		case err != nil && !IsMismatch(err):
			t.Fatalf("Reconcile: %v", err)
		case err != nil:
			if len(requested) == len(rows) {
				t.Fatalf("Reconcile refused a reply answering each reference once: %v", err)
			}
		default:
			if o.Sent != o.Matched+o.Unmatched+o.Multiple+o.CrossCheckFailed || len(o.Results) != len(rows) {
				t.Fatalf("Reconcile tallies do not add up: %+v", o.Counts())
			}
			dead := 0
			for _, r := range rows {
				if r.DateOfDeath != nil {
					dead++
				}
			}
			if o.Deceased != dead || o.Superseded > o.Matched {
				t.Fatalf("Reconcile: %d deceased of %d dated rows; superseded %d of matched %d", o.Deceased, dead, o.Superseded, o.Matched)
			}
		}
	})
}
