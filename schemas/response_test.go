package schemas

import (
	"strings"
	"testing"
	"time"
)

func TestResponseLayouts(t *testing.T) {
	tests := []struct {
		layout *Layout
		want   []string // columns that must be present
	}{
		{ResponseExtractLayout(), []string{"SURVEY_RECORD_ID", "RESPONDENT_TYPE", "QUESTIONNAIRE_VERSION", "CHANNEL", "RECEIVED_AT", "COMPLETE"}},
		{UndeliveredLayout(), []string{"SURVEY_RECORD_ID", "RETURNED_AT", "REASON"}},
		{OptOutLayout(), []string{"SURVEY_RECORD_ID", "OPTED_OUT_AT", "REASON"}},
		{ResponseRowLayout(), []string{"response_id", "wave", "ics", "survey_record_id", "respondent_type", "questionnaire_version", "channel", "received_at", "complete", "source_sha256", "P_WORK_TOGETHER", "C_INVOLVED"}},
		{FreeTextLayout(), []string{"response_id", "question_id", "text"}},
		{OutcomeEventLayout(), []string{"wave", "ics", "survey_record_id", "outcome", "at", "source_file"}},
		{ResponseRejectionLayout(), []string{"file", "row", "survey_record_id", "field", "reason_code", "message"}},
		{DuplicateResponseLayout(), []string{"kept_response_id", "discarded_response_id", "reason"}},
	}
	for _, tt := range tests {
		t.Run(tt.layout.Name, func(t *testing.T) {
			for _, c := range tt.want {
				if _, ok := tt.layout.Column(c); !ok {
					t.Errorf("no column %s", c)
				}
			}
			if got := tt.layout.ArrowSchema().NumFields(); got != len(tt.layout.Columns) {
				t.Errorf("arrow schema has %d fields, layout %d", got, len(tt.layout.Columns))
			}
			if ddl := tt.layout.DDL("t"); !strings.HasPrefix(ddl, "CREATE TABLE IF NOT EXISTS t (") {
				t.Errorf("DDL = %s", ddl)
			}
		})
	}
	for _, c := range []string{"text", "C_FT_GOOD", "C_FT_IMPROVE"} {
		if _, ok := ResponseRowLayout().Column(c); ok {
			t.Errorf("the responses table must not carry free text (%s)", c)
		}
	}
	if c, _ := ResponseRowLayout().Column("P_WORK_TOGETHER"); c.Type != Int32 || !c.Nullable {
		t.Errorf("single-choice answer column = %+v, want a nullable int32", c)
	}
	if c, _ := ResponseRowLayout().Column("P_SERVICES_USED"); c.Type != String || !c.Nullable {
		t.Errorf("multi-choice answer column = %+v, want a nullable string", c)
	}
	if c, _ := ResponseRowLayout().Column("received_at"); c.Type != Timestamp {
		t.Errorf("received_at type = %s", c.Type)
	}
	req := strings.Join(ResponseExtractLayout().RequiredNames(), ",")
	if req != "SURVEY_RECORD_ID,RESPONDENT_TYPE,QUESTIONNAIRE_VERSION,CHANNEL,RECEIVED_AT,COMPLETE" {
		t.Errorf("required = %s", req)
	}
}

func TestResponseExtractHeader(t *testing.T) {
	h := ResponseExtractHeader([]string{"P_A", "C_B"})
	if got := strings.Join(h, ","); got != "SURVEY_RECORD_ID,RESPONDENT_TYPE,QUESTIONNAIRE_VERSION,CHANNEL,RECEIVED_AT,COMPLETE,P_A,C_B" {
		t.Errorf("header = %s", got)
	}
}

func TestClassifyResponseFile(t *testing.T) {
	tests := []struct {
		key, kind, format string
		ok                bool
	}{
		{"restricted-landing/w/QMM/responses/2026-02-03/responses_online.csv", "online", "csv", true},
		{"x/RESPONSES_PAPER.CSV", "paper", "csv", true},
		{"x/responses_phone.jsonl", "phone", "jsonl", true},
		{"x/responses_phone.ndjson", "phone", "jsonl", true},
		{"x/undelivered.csv", FileUndelivered, "csv", true},
		{"x/optouts.jsonl", FileOptOuts, "jsonl", true},
		{"x/responses_fax.csv", "", "", false},
		{"x/responses_online.xlsx", "", "", false},
		{"x/notes.txt", "", "", false},
	}
	for _, tt := range tests {
		kind, format, ok := ClassifyResponseFile(tt.key)
		if kind != tt.kind || format != tt.format || ok != tt.ok {
			t.Errorf("%s: got %q %q %v, want %q %q %v", tt.key, kind, format, ok, tt.kind, tt.format, tt.ok)
		}
	}
}

func TestResponseKeys(t *testing.T) {
	day := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	tests := []struct{ got, want string }{
		{ResponseLandingPrefix("w1", "QMM", day), "restricted-landing/w1/QMM/responses/2026-02-03/"},
		{ResponseLoadPartition(LakeResponses, "w1", "QMM", day), "lake/responses/wave=w1/ics=QMM/load_date=2026-02-03/"},
		{FreeTextPrefix("w1", "QMM", day), "free-text/w1/QMM/load_date=2026-02-03/"},
		{ResponseFileName(ChannelPaper, "csv"), "responses_paper.csv"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
	if !strings.HasPrefix(FreeTextPrefix("w1", "QMM", day), AreaFreeText.Prefix()) || strings.HasPrefix(FreeTextPrefix("w1", "QMM", day), AreaRestricted.Prefix()) {
		t.Error("free text must live in its own area, not inside restricted/")
	}
}
