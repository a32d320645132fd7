package responses

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"icesurvey/schemas"
)

// A quote left open in one row's free text once made a single unreadable row of every
// line after it: ROWS 3 for a file of 10, the 7 responses after it neither loaded nor
// rejected nor counted. Each swallowed line is now a rejected row naming its line.
func TestUnclosedQuoteRejectsTheRowsItSwallows(t *testing.T) {
	f := newFixture(t)
	header := schemas.ResponseExtractHeader(testColumns)
	var rows []map[string]string
	for i := 1; i <= 10; i++ {
		rows = append(rows, row(fmt.Sprintf("S%03d", i), "2026-02-10T09:00:00Z", map[string]string{"P_FT_GOOD": "fine"}))
	}
	b := csvBytes(t, header, rows)
	// Row 3 (line 4) says `"she said ""fine` with its quote left open.
	lines := strings.SplitAfter(string(b), "\n")
	lines[3] = strings.Replace(lines[3], ",fine,", `,"she said ""fine,`, 1)
	f.land(day1, "responses_online.csv", []byte(strings.Join(lines, "")))
	res := f.load(day1)
	if res.RowsRead != 10 || res.Loaded != 2 || res.Rejected != 8 {
		t.Fatalf("rows %d loaded %d rejected %d, want 10, 2 and 8", res.RowsRead, res.Loaded, res.Rejected)
	}
	byLine := map[int32]string{}
	for _, r := range rejections(t, f.st, day1) {
		if r.ReasonCode != schemas.RejectMalformedRow {
			t.Errorf("rejection %+v, want only malformed rows", r)
		}
		byLine[r.Row] = r.Message
	}
	for row := int32(3); row <= 10; row++ {
		if !strings.Contains(byLine[row], fmt.Sprintf("line %d: ", row+1)) || !strings.Contains(byLine[row], "lines 4-11 (8 rows)") {
			t.Errorf("row %d: %q, want its line and the lines the open quote covers", row, byLine[row])
		}
	}
}

// Files of a name the load does not know were rejected in the lake but got no load
// marker, so the rejection never reached the warehouse, the table named none of them,
// and a re-run never said they were dealt with.
func TestUnknownFilesAreNamedMarkedAndReachTheWarehouse(t *testing.T) {
	f := newFixture(t)
	var rows []map[string]string
	for i := 1; i <= 10; i++ {
		rows = append(rows, row(fmt.Sprintf("S%03d", i), "2026-02-10T09:00:00Z", nil))
	}
	body := csvBytes(t, schemas.ResponseExtractHeader(testColumns), rows)
	f.land(day1, "responses-online.csv", body)
	f.land(day1, "responses_paper.csv.gz", []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"))
	res := f.load(day1)
	want := []RejectedFile{
		{File: "responses-online.csv", Reason: schemas.RejectUnknownFile, Lines: 11},
		{File: "responses_paper.csv.gz", Reason: schemas.RejectUnknownFile},
	}
	if got := res.RejectedFiles(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rejected files %+v, want %+v", got, want)
	}
	objs, err := DayObjects(context.Background(), f.st, wave, ics, day1)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if w, _ := schemas.LakeResponseRejections.Warehouse(); o.Table == w {
			n++
		}
	}
	if n != 2 {
		t.Errorf("day objects %+v: want the rejections of both files", objs)
	}
	if again := f.load(day1); again.FilesSkipped != 2 || len(again.RejectedFiles()) != 0 {
		t.Errorf("re-run: %d of %d files skipped, rejected %+v; want both skipped as dealt with", again.FilesSkipped, len(again.Files), again.RejectedFiles())
	}
	// The same bytes under the right name (the next day) are loaded, not skipped.
	f.land(day2, "responses_online.csv", body)
	if next := f.load(day2); next.FilesSkipped != 0 || next.Loaded != 10 {
		t.Errorf("renamed file: skipped %d, loaded %d; want 10 loaded", next.FilesSkipped, next.Loaded)
	}
}

// Whatever the supplier put in SURVEY_RECORD_ID (an NHS number, a name and address,
// an e-mail address) was copied into the lake's rejections; and a JSON line's key is
// the supplier's text too. Only a record of this wave and ICS is named.
func TestRejectionsWithholdValuesThatAreNoRecordOfTheICS(t *testing.T) {
	const realID = "S23456789ABCDEFGH" // a survey record id of this ICS
	secrets := []string{"9434765919", "Mrs Jane Smith 12 High St BN1 1AA", "jane.smith@example.com", "Jane Smith"}
	f := newFixture(t)
	base := f.cfg.Known
	f.cfg.Known = func(id string) (bool, bool) {
		if id == realID {
			return true, true
		}
		return base(id)
	}
	f.landResponses(day1, "online",
		row(secrets[0], "2026-02-10T09:00:00Z", nil),
		row(secrets[1], "2026-02-10T09:00:00Z", nil),
		row(realID, "2026-02-10T09:00:00Z", map[string]string{"P_INVOLVED": "99"}),
	)
	f.land(day1, "optouts.csv", []byte("SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\n"+secrets[2]+",2026-02-09,\n"))
	f.land(day1, "responses_phone.jsonl", []byte(`{"SURVEY_RECORD_ID":"S001","RESPONDENT_TYPE":"patient","QUESTIONNAIRE_VERSION":"patient-2026.1","CHANNEL":"phone","RECEIVED_AT":"2026-02-10T09:00:00Z","COMPLETE":"Y","P_INVOLVED":"1","`+secrets[3]+`":"1"}`+"\n"))
	f.load(day1)
	rj := rejections(t, f.st, day1)
	shown := false
	for _, r := range rj {
		for _, s := range secrets {
			if strings.Contains(r.SurveyRecordID+r.Field+r.Message, s) || strings.Contains(strings.ToUpper(r.SurveyRecordID+r.Field+r.Message), strings.ToUpper(s)) {
				t.Errorf("rejection holds %q: %+v", s, r)
			}
		}
		shown = shown || (r.SurveyRecordID == realID && r.Field == "P_INVOLVED")
	}
	if len(rj) < 5 || !shown {
		t.Errorf("rejections %+v: want five, the invalid answer naming %s", rj, realID)
	}
}

// Dates had no lower limit: a response received in 1970 counted as a completion and
// an opt-out of 1900 set outcome 4.
func TestDatesBeforeFieldworkAreRejected(t *testing.T) {
	firstMailing := time.Date(2026, 2, 2, 14, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, file, body string
		mailing          bool
		field, reason    string
	}{
		{"response in 1970", "responses_online.csv", "", false, "RECEIVED_AT", schemas.RejectEarlyTimestamp},
		{"opt-out in 1900", "optouts.csv", "SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\nS001,1900-01-01,\n", false, "OPTED_OUT_AT", schemas.RejectEarlyTimestamp},
		{"letter back before the first mailing", "undelivered.csv", "SURVEY_RECORD_ID,RETURNED_AT,REASON\nS001,2026-02-01,\n", true, "RETURNED_AT", schemas.RejectEarlyTimestamp},
		{"response before the first mailing", "responses_online.csv", "2026-02-01T23:00:00Z", true, "RECEIVED_AT", schemas.RejectEarlyTimestamp},
		{"response on the first mailing's day", "responses_online.csv", "2026-02-02T08:00:00Z", true, "", ""},
		{"opt-out on the first mailing's day", "optouts.csv", "SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\nS001,2026-02-02,\n", true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.mailing {
				f.cfg.FirstMailing = func() time.Time { return firstMailing }
			}
			if tc.file == "responses_online.csv" {
				at := tc.body
				if at == "" {
					at = "1970-01-01T00:00:00Z"
				}
				f.landResponses(day1, "online", row("S001", at, nil))
			} else {
				f.land(day1, tc.file, []byte(tc.body))
			}
			res := f.load(day1)
			rj := rejections(t, f.st, day1)
			if tc.reason == "" {
				if res.Loaded != 1 || len(rj) != 0 {
					t.Fatalf("loaded %d, rejections %+v; want it loaded", res.Loaded, rj)
				}
				return
			}
			if res.Loaded != 0 || res.Rejected != 1 || len(rj) != 1 || rj[0].Field != tc.field || rj[0].ReasonCode != tc.reason || rj[0].Row != 1 || rj[0].File != tc.file {
				t.Fatalf("loaded %d rejected %d, rejections %+v; want row 1 of %s rejected on %s (%s)", res.Loaded, res.Rejected, rj, tc.file, tc.field, tc.reason)
			}
			if tc.mailing && !strings.Contains(rj[0].Message, "first mailing (2026-02-02)") {
				t.Errorf("message %q does not name the first mailing", rj[0].Message)
			}
		})
	}
}
