package dbs

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"icesurvey/dbs/dbstest"
	"icesurvey/schemas"
)

func TestReconcileCounts(t *testing.T) {
	d := dbstest.Date(2024, 2, 1)
	n := func(p string) string { return dbstest.NHS(t, p) }
	resp := []schemas.DBSResponseRow{
		{UniqueReference: "A", NHSNumber: n("943476591"), TraceStatus: 20},
		{UniqueReference: "B", NHSNumber: n("401023213"), DateOfDeath: &d, TraceStatus: 20},
		{UniqueReference: "C", TraceStatus: 21},
		{UniqueReference: "D", TraceStatus: 22},
		{UniqueReference: "E", NHSNumber: n("943476592"), TraceStatus: 30},
		{UniqueReference: "F", TraceStatus: 31},
		{UniqueReference: "G", TraceStatus: 32},
		{UniqueReference: "H", TraceStatus: 33},
		{UniqueReference: "I", NHSNumber: n("555000111"), DateOfDeath: &d, TraceStatus: 40},
		{UniqueReference: "J", NHSNumber: n("555000222"), TraceStatus: 40},
	}
	o, err := Reconcile([]string{"J", "I", "H", "G", "F", "E", "D", "C", "B", "A"}, resp)
	if err != nil {
		t.Fatal(err)
	}
	got := [...]int{o.Sent, o.Matched, o.Deceased, o.Superseded, o.Unmatched, o.Multiple, o.CrossCheckFailed}
	if want := [...]int{10, 5, 2, 2, 1, 1, 3}; got != want {
		t.Errorf("counts sent/matched/deceased/superseded/unmatched/multiple/ccfail = %v, want %v", got, want)
	}
	lists := map[string][]string{"deceased": o.DeceasedIDs, "superseded": o.SupersededIDs, "unmatched": o.UnmatchedIDs, "multiple": o.MultipleIDs, "ccfail": o.CrossCheckFailedIDs}
	wantLists := map[string][]string{"deceased": {"B", "I"}, "superseded": {"I", "J"}, "unmatched": {"C"}, "multiple": {"D"}, "ccfail": {"F", "G", "H"}}
	if !reflect.DeepEqual(lists, wantLists) {
		t.Errorf("lists = %v, want %v", lists, wantLists)
	}
	if o.NewNHSNumbers["I"] != n("555000111") || len(o.NewNHSNumbers) != 2 {
		t.Errorf("NewNHSNumbers = %v", o.NewNHSNumbers)
	}
	if len(o.Results) != 10 || o.Results[0].SurveyRecordID != "J" || !o.Results[1].Deceased || !o.Results[1].Superseded || o.Results[1].DateOfDeath == nil {
		t.Errorf("results = %+v", o.Results)
	}
	// Serialised (e.g. into workflow history) the outcome carries no NHS number or date.
	js, _ := json.Marshal(o)
	for _, r := range resp {
		if r.NHSNumber != "" && strings.Contains(string(js), r.NHSNumber) {
			t.Errorf("outcome JSON leaks an NHS number: %s", js)
		}
	}
	if strings.Contains(string(js), "2024-02-01") {
		t.Errorf("outcome JSON leaks a date of death: %s", js)
	}
}

func TestReconcileMismatch(t *testing.T) {
	row := func(id string) schemas.DBSResponseRow {
		return schemas.DBSResponseRow{UniqueReference: id, TraceStatus: 21}
	}
	tests := []struct {
		name      string
		requested []string
		resp      []schemas.DBSResponseRow
		unknown   []string
		missing   []string
		dup       []string
		reason    string
	}{
		{"unknown reference", []string{"A", "B"}, []schemas.DBSResponseRow{row("A"), row("SZZZZZZZZZZZZZZZZ")}, []string{"SZZZZZZZZZZZZZZZZ"}, []string{"B"}, nil, "1 unknown reference(s) (SZZZZZZZZZZZZZZZZ)"},
		{"missing row", []string{"A", "B", "C"}, []schemas.DBSResponseRow{row("A"), row("C")}, nil, []string{"B"}, nil, "2 rows for 3 requested records"},
		{"duplicate row", []string{"A", "B"}, []schemas.DBSResponseRow{row("A"), row("A"), row("B")}, nil, nil, []string{"A"}, "answered more than once (A)"},
		{"duplicate hides missing", []string{"A", "B"}, []schemas.DBSResponseRow{row("A"), row("A")}, nil, []string{"B"}, []string{"A"}, "without a row (B)"},
		{"empty reply", []string{"A"}, nil, nil, []string{"A"}, nil, "0 rows for 1 requested records"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Reconcile(tt.requested, tt.resp)
			var mm *ReplyMismatchError
			if !errors.As(err, &mm) {
				t.Fatalf("err = %v, want *ReplyMismatchError", err)
			}
			if !reflect.DeepEqual(mm.Unknown, tt.unknown) || !reflect.DeepEqual(mm.Missing, tt.missing) || !reflect.DeepEqual(mm.Duplicated, tt.dup) {
				t.Errorf("unknown=%v missing=%v dup=%v", mm.Unknown, mm.Missing, mm.Duplicated)
			}
			if !strings.Contains(err.Error(), tt.reason) || !strings.Contains(err.Error(), "mailing must wait") {
				t.Errorf("message %q lacks %q", err, tt.reason)
			}
			if !IsMismatch(err) || !IsPermanent(err) {
				t.Error("mismatch should be recognised and permanent")
			}
		})
	}
	if _, err := Reconcile([]string{"A", "A"}, nil); err == nil || IsMismatch(err) {
		t.Errorf("duplicate requested ids: err = %v, want a plain error", err)
	}
	if o, err := Reconcile(nil, nil); err != nil || o.Sent != 0 {
		t.Errorf("empty request: %+v, %v", o, err)
	}
}

// A reply's references that were not requested are whatever the reply's UNIQUE
// REFERENCE column holds: a shifted column puts NHS numbers, names or dates of birth
// there. The mismatch's message reaches the workflow's history, `ice wave status`, the
// worker's log and the audit trail, so it names only references that are survey record
// ids (what was sent), and counts the others.
func TestReconcileMismatchWithholdsUnknownValues(t *testing.T) {
	const known = "SABCDEFGH23456789"
	row := func(id string) schemas.DBSResponseRow {
		return schemas.DBSResponseRow{UniqueReference: id, TraceStatus: 21}
	}
	for _, tt := range []struct {
		name     string
		ref      string
		shown    bool
		withheld string
	}{
		{"an NHS number", "9434765919", false, "476"},
		{"a surname", "HUNT", false, "HUNT"},
		{"a date of birth", "19380403", false, "1938"},
		{"another survey record id", "SZZZZZZZZZZZZZZZZ", true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Reconcile([]string{known}, []schemas.DBSResponseRow{row(known), row(tt.ref)})
			if err == nil || !strings.Contains(err.Error(), "1 unknown reference(s)") {
				t.Fatalf("err = %v, want one unknown reference", err)
			}
			if got := strings.Contains(err.Error(), tt.ref); got != tt.shown {
				t.Fatalf("message %q: reference shown %v, want %v", err, got, tt.shown)
			}
			if tt.withheld != "" && strings.Contains(err.Error(), tt.withheld) {
				t.Fatalf("message %q repeats the reply's value", err)
			}
		})
	}
}
