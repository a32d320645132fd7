package schemas

import (
	"strings"
	"testing"
)

func TestDBSHeaders(t *testing.T) {
	tests := []struct {
		name   string
		layout *Layout
		want   string
	}{
		{"request", DBSRequestLayout(), "UNIQUE REFERENCE,NHS_NO,FAMILY_NAME,GIVEN_NAME,GENDER,DATE_OF_BIRTH,POST_CODE"},
		{"response", DBSResponseLayout(), "UNIQUE REFERENCE,NHS_NO,DATE_OF_DEATH,TRACE_STATUS"},
		{"result", DBSResultLayout(), "survey_record_id,request_id,trace_status,deceased,date_of_death,superseded,checked_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Join(tt.layout.Names(), ","); got != tt.want {
				t.Errorf("header = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDBSResultLayoutTypes(t *testing.T) {
	l := DBSResultLayout()
	checks := []struct {
		col      string
		typ      Type
		nullable bool
	}{
		{"survey_record_id", String, false},
		{"trace_status", Int32, false},
		{"deceased", Bool, false},
		{"date_of_death", Date, true},
		{"superseded", Bool, false},
		{"checked_at", Timestamp, false},
	}
	for _, c := range checks {
		col, ok := l.Column(c.col)
		if !ok {
			t.Fatalf("no column %s", c.col)
		}
		if col.Type != c.typ || col.Nullable != c.nullable {
			t.Errorf("%s: type %s nullable %v, want %s %v", c.col, col.Type, col.Nullable, c.typ, c.nullable)
		}
	}
	ddl := l.DDL("dbs_result")
	if !strings.Contains(ddl, `PRIMARY KEY ("survey_record_id", "request_id")`) {
		t.Errorf("DDL lacks the primary key:\n%s", ddl)
	}
	if got := DBSResponseLayout().ArrowSchema().Field(3).Type.String(); got != "int32" {
		t.Errorf("TRACE_STATUS arrow type = %s, want int32", got)
	}
}

func TestDBSTraceStatus(t *testing.T) {
	tests := []struct {
		s                      DBSTraceStatus
		known, matched, ccFail bool
		name                   string
	}{
		{20, true, true, false, "single match"},
		{21, true, false, false, "no match"},
		{22, true, false, false, "multiple match"},
		{30, true, true, false, "cross-checked"},
		{31, true, false, true, "cross-check failed (31)"},
		{32, true, false, true, "cross-check failed (32)"},
		{33, true, false, true, "cross-check failed (33)"},
		{40, true, true, false, "superseded"},
		{34, false, false, false, "unknown trace status 34"},
		{0, false, false, false, "unknown trace status 0"},
	}
	for _, tt := range tests {
		if tt.s.Known() != tt.known || tt.s.Matched() != tt.matched || tt.s.CrossCheckFailed() != tt.ccFail {
			t.Errorf("%d: known/matched/ccfail = %v/%v/%v, want %v/%v/%v", tt.s,
				tt.s.Known(), tt.s.Matched(), tt.s.CrossCheckFailed(), tt.known, tt.matched, tt.ccFail)
		}
		if tt.s.String() != tt.name {
			t.Errorf("%d: String = %q, want %q", tt.s, tt.s.String(), tt.name)
		}
	}
}
