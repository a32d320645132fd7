package schemas

import (
	"reflect"
	"strings"
	"testing"
)

type extendable struct {
	ID     string   `col:"id,key"`
	Values []string `col:"values,extra"`
}

func TestLayoutExtend(t *testing.T) {
	base := LayoutOf[extendable]("ext")
	if len(base.Columns) != 1 {
		t.Fatalf("the extra field must not be a column: %v", base.Names())
	}
	l, err := base.Extend("ext_q", []ExtraColumn{{"Q1", String}, {"Q2", String}, {"Q3", Int32}}, "an answer")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Names(), ","); got != "id,Q1,Q2,Q3" {
		t.Fatalf("columns = %s", got)
	}
	if got := l.ExtensionColumns(); len(got) != 3 || got[0].Name != "Q1" || len(base.ExtensionColumns()) != 0 {
		t.Errorf("extension columns = %v", got)
	}
	if l.Extras() != 3 || base.Extras() != 0 {
		t.Errorf("extras = %d (base %d)", l.Extras(), base.Extras())
	}
	if ddl := l.DDL("t"); !strings.Contains(ddl, `"Q2" VARCHAR,`) || strings.Contains(ddl, `"Q2" VARCHAR NOT NULL`) || !strings.Contains(ddl, `"Q3" INTEGER`) {
		t.Errorf("an extension column is a nullable VARCHAR:\n%s", ddl)
	}

	row := extendable{ID: "a", Values: []string{"1", "", "23"}}
	var got []string
	for i := range l.Columns {
		v, ok := l.FieldValue(reflect.ValueOf(&row), i)
		if !ok {
			got = append(got, "NULL")
			continue
		}
		got = append(got, v.String())
	}
	if strings.Join(got, "|") != "a|1|NULL|23" {
		t.Errorf("values = %v", got)
	}
	short := extendable{ID: "b", Values: []string{"1"}} // a short slice: the rest are NULL
	if _, ok := l.FieldValue(reflect.ValueOf(&short), 3); ok {
		t.Error("a column beyond the slice must be NULL")
	}

	var back extendable
	p := reflect.ValueOf(&back)
	l.SetField(p, 0, reflect.ValueOf("c"))
	l.SetField(p, 3, reflect.ValueOf(int32(9))) // as a Parquet reader of an Int32 column would
	if back.ID != "c" || len(back.Values) != 3 || back.Values[2] != "9" || back.Values[0] != "" {
		t.Errorf("set = %+v", back)
	}
}

func TestLayoutExtendRefuses(t *testing.T) {
	tests := []struct {
		name  string
		extra []ExtraColumn
	}{
		{"clash with a fixed column", []ExtraColumn{{"id", String}}},
		{"clash in another case", []ExtraColumn{{"ID", String}}},
		{"twice", []ExtraColumn{{"Q1", String}, {"q1", Int32}}},
		{"empty", []ExtraColumn{{"", String}}},
		{"unsupported type", []ExtraColumn{{"Q1", Timestamp}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := LayoutOf[extendable]("ext").Extend("x", tt.extra, ""); err == nil {
				t.Errorf("Extend(%q) accepted", tt.extra)
			}
		})
	}
	if _, err := LayoutOf[ResponseExtract]("response_extract").Extend("x", []ExtraColumn{{"Q", String}}, ""); err == nil {
		t.Error("a layout with no extra field was extended")
	}
}
