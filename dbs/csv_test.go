package dbs

import (
	"errors"
	"strings"
	"testing"
	"time"

	"icesurvey/dbs/dbstest"
	"icesurvey/schemas"
)

func TestValidNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"9434765919", true},
		{"9434765918", false},
		{"943476591", false},
		{"94347659190", false},
		{"943476591X", false},
		{"", false},
		{dbstest.NHS(t, "401023213"), true},
	}
	for _, tt := range tests {
		if got := ValidNHSNumber(tt.in); got != tt.want {
			t.Errorf("ValidNHSNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBuildRequest(t *testing.T) {
	a := dbstest.Contact(t, "S0001", "943476591")
	b := dbstest.Contact(t, "S0002", "401023213")
	b.LastName = "O'Brien, Jr"
	b.FirstName = " Mary  \"Molly\" "
	b.Gender = "X"
	b.Postcode = "ne1 4st"
	body, err := BuildRequest([]schemas.Contact{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want := "UNIQUE REFERENCE,NHS_NO,FAMILY_NAME,GIVEN_NAME,GENDER,DATE_OF_BIRTH,POST_CODE\n" +
		"S0001," + a.NHSNumber + ",Lovelace,Ada,2,19400307,NR1 1AA\n" +
		"S0002," + b.NHSNumber + ",O'Brien Jr,Mary Molly,0,19400307,NE1 4ST\n"
	if string(body) != want {
		t.Errorf("request =\n%s\nwant\n%s", body, want)
	}
	cc, err := BuildCrossCheckRequest([]schemas.Contact{a})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(string(cc), "\n")[1]; got != "S0001,"+a.NHSNumber+",,,,19400307," {
		t.Errorf("cross-check row = %q", got)
	}
	rows, err := ParseRequest(body)
	if err != nil || len(rows) != 2 || rows[1].FamilyName != "O'Brien Jr" {
		t.Errorf("ParseRequest round trip = %+v, %v", rows, err)
	}
}

func TestBuildRequestErrors(t *testing.T) {
	ok := dbstest.Contact(t, "S1", "943476591")
	noDOB := ok
	noDOB.DateOfBirth = time.Time{}
	badNHS := ok
	badNHS.NHSNumber = "9434765918"
	noID := ok
	noID.SurveyRecordID = ""
	commaID := ok
	commaID.SurveyRecordID = "S,1"
	untraceable := ok
	untraceable.NHSNumber, untraceable.Postcode = "", ""
	tests := []struct {
		name     string
		contacts []schemas.Contact
		want     string
	}{
		{"duplicate", []schemas.Contact{ok, ok}, "appears twice"},
		{"no date of birth", []schemas.Contact{noDOB}, "no date of birth"},
		{"bad check digit", []schemas.Contact{badNHS}, "check digit"},
		{"empty id", []schemas.Contact{noID}, "empty survey record ID"},
		{"comma in id", []schemas.Contact{commaID}, "cannot be a DBS unique reference"},
		{"untraceable", []schemas.Contact{untraceable}, "neither an NHS number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := BuildRequest(tt.contacts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
			if strings.Contains(err.Error(), ok.NHSNumber) || strings.Contains(err.Error(), "9434765918") {
				t.Errorf("error leaks an NHS number: %v", err)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	n1, n2 := dbstest.NHS(t, "943476591"), dbstest.NHS(t, "401023213")
	good := "UNIQUE REFERENCE,NHS_NO,DATE_OF_DEATH,TRACE_STATUS\n" +
		"S1," + n1 + ",,20\n" +
		"S2," + n2 + ",20240105,30\n" +
		"S3,,,21\n" +
		"S4,,,22\n" +
		"S5,,,31\n" +
		"S6," + n1 + ",,40\n"
	rows, err := ParseResponse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 || rows[1].DateOfDeath == nil || !rows[1].DateOfDeath.Equal(dbstest.Date(2024, 1, 5)) || rows[5].TraceStatus != schemas.DBSSuperseded {
		t.Errorf("rows = %+v", rows)
	}
	// Column order and case are free, extra columns ignored, a BOM and blank lines tolerated.
	alt := "\ufefftrace_status,Unique Reference,EXTRA,date_of_death,nhs_no\r\n20,S1,x,," + n1 + "\r\n\r\n"
	if rows, err := ParseResponse([]byte(alt)); err != nil || len(rows) != 1 || rows[0].NHSNumber != n1 {
		t.Errorf("reordered header: rows=%+v err=%v", rows, err)
	}

	hdr := "UNIQUE REFERENCE,NHS_NO,DATE_OF_DEATH,TRACE_STATUS\n"
	tests := []struct {
		name  string
		body  string
		line  int
		field string
	}{
		{"empty", "", 0, ""},
		{"no DATE_OF_DEATH column", "UNIQUE REFERENCE,NHS_NO,TRACE_STATUS\nS1," + n1 + ",20\n", 1, "DATE_OF_DEATH"},
		{"no TRACE_STATUS column", "UNIQUE REFERENCE,NHS_NO,DATE_OF_DEATH\n", 1, "TRACE_STATUS"},
		{"duplicate column", "UNIQUE REFERENCE,NHS_NO,NHS_NO,DATE_OF_DEATH,TRACE_STATUS\n", 1, "NHS_NO"},
		{"status not a number", hdr + "S1," + n1 + ",,2x\n", 2, "TRACE_STATUS"},
		{"unknown status", hdr + "S1," + n1 + ",,25\n", 2, "TRACE_STATUS"},
		{"matched without number", hdr + "S1,,,20\n", 2, "NHS_NO"},
		{"bad number", hdr + "S1,9434765918,,20\n", 2, "NHS_NO"},
		{"death on no match", hdr + "S1,,20240101,21\n", 2, "DATE_OF_DEATH"},
		{"death on cross-check failure", hdr + "S1,,20240101,33\n", 2, "DATE_OF_DEATH"},
		{"bad date", hdr + "S1," + n1 + ",2024-01-01,20\n", 2, "DATE_OF_DEATH"},
		{"empty reference", hdr + "S1," + n1 + ",,20\n," + n1 + ",,20\n", 3, "UNIQUE REFERENCE"},
		{"short row", hdr + "S1," + n1 + ",20\n", 2, ""},
		{"bad quoting", hdr + "S1,\"" + n1 + ",,20\n", 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseResponse([]byte(tt.body))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want *ParseError", err)
			}
			if pe.Line != tt.line || pe.Field != tt.field {
				t.Errorf("error at line %d field %q, want line %d field %q (%v)", pe.Line, pe.Field, tt.line, tt.field, err)
			}
			if !IsPermanent(err) {
				t.Error("a parse error should be permanent")
			}
			if strings.Contains(err.Error(), n1) || strings.Contains(err.Error(), "9434765918") {
				t.Errorf("error leaks an NHS number: %v", err)
			}
		})
	}
}

func TestEncodeResponseRoundTrip(t *testing.T) {
	d := dbstest.Date(2023, 12, 31)
	in := []schemas.DBSResponseRow{
		{UniqueReference: "A", NHSNumber: dbstest.NHS(t, "943476591"), DateOfDeath: &d, TraceStatus: 20},
		{UniqueReference: "B", TraceStatus: 22},
	}
	out, err := ParseResponse(EncodeResponse(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || !out[0].DateOfDeath.Equal(d) || out[1].TraceStatus != 22 || out[1].DateOfDeath != nil {
		t.Errorf("round trip = %+v", out)
	}
}
