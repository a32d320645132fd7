package schemas

import (
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestSampleFileLayouts(t *testing.T) {
	s := SampleFileLayout()
	wantReq := []string{"RECORD_ID", "NHS_NUMBER", "POSTCODE", "AGE", "DATE_OF_BIRTH", "GENDER", "ETHNICITY",
		"GP_PRACTICE_CODE", "ICS_CODE", "REGISTRATION_DATE", "EFI_SCORE"}
	if got := s.RequiredNames(); !reflect.DeepEqual(got, wantReq) {
		t.Errorf("sample required = %v; want %v", got, wantReq)
	}
	if got := s.Names(); !reflect.DeepEqual(got, append(wantReq, "TYPE1_OPT_OUT", "DISSENT")) {
		t.Errorf("sample names = %v", got)
	}
	m := MailingFileLayout()
	if got := m.Names(); !reflect.DeepEqual(got, []string{"RECORD_ID", "TITLE", "FIRST_NAME", "LAST_NAME",
		"ADDRESS_1", "ADDRESS_2", "ADDRESS_3", "ADDRESS_4", "ADDRESS_5", "POSTCODE", "MOBILE"}) {
		t.Errorf("mailing names = %v", got)
	}
	if got := m.RequiredNames(); !reflect.DeepEqual(got, []string{"RECORD_ID", "LAST_NAME", "ADDRESS_1", "POSTCODE"}) {
		t.Errorf("mailing required = %v", got)
	}
}

func TestSampleRecordLayout(t *testing.T) {
	l := SampleRecordLayout()
	// The analysis record must never carry a direct identifier.
	for _, c := range l.Columns {
		for _, banned := range []string{"nhs_number", "name", "address", "date_of_birth", "dob", "mobile", "phone"} {
			if strings.Contains(c.Name, banned) && c.Name != "has_mobile" {
				t.Errorf("analysis column %s looks identifiable (%s)", c.Name, banned)
			}
		}
		if c.Name == "postcode" {
			t.Error("analysis record must hold the postcode district only")
		}
	}
	sc := l.ArrowSchema()
	types := map[string]arrow.DataType{
		"survey_record_id":  arrow.BinaryTypes.String,
		"age":               arrow.PrimitiveTypes.Int32,
		"efi_score":         arrow.PrimitiveTypes.Float64,
		"registration_date": arrow.FixedWidthTypes.Date32,
		"has_mobile":        arrow.FixedWidthTypes.Boolean,
	}
	for name, want := range types {
		idx := sc.FieldIndices(name)
		if len(idx) != 1 || !arrow.TypeEqual(sc.Field(idx[0]).Type, want) {
			t.Errorf("column %s: want type %s", name, want)
		}
	}
	ddl := l.DDL("sample")
	for _, want := range []string{`"survey_record_id" VARCHAR NOT NULL`, `"registration_date" DATE NOT NULL`,
		`"has_mobile" BOOLEAN NOT NULL`, `PRIMARY KEY ("survey_record_id")`} {
		if !strings.Contains(ddl, want) {
			t.Errorf("DDL lacks %s:\n%s", want, ddl)
		}
	}
}

func TestRejectionLayout(t *testing.T) {
	l := RejectionLayout()
	want := []string{"file", "row", "record_id", "field", "reason_code", "disposition", "message"}
	if got := l.Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("rejection names = %v; want %v", got, want)
	}
	if c, _ := l.Column("row"); c.Type != Int64 {
		t.Errorf("row type = %s", c.Type)
	}
}
