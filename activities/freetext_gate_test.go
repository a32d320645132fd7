package activities

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/access"
	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/localindex"
	"icesurvey/store"
	"icesurvey/themes"
)

// gateFile writes an access file naming reader as a free-text reader of QMM (approved
// yesterday, for a week) and someone else with no grant.
func gateFile(t *testing.T) access.FileGate {
	t.Helper()
	today := time.Now().UTC()
	yaml := "version: 1\nusers:\n" +
		"  - id: reader@example.nhs.uk\n    name: Named Reader\n    free_text:\n" +
		"      - {ics: QMM, approved_by: Caldicott Guardian, approved_on: " + today.AddDate(0, 0, -1).Format(time.DateOnly) +
		", expires: " + today.AddDate(0, 0, 7).Format(time.DateOnly) + "}\n" +
		"  - id: analyst@example.nhs.uk\n    name: An Analyst\n    analyst: [QMM]\n"
	path := filepath.Join(t.TempDir(), "access.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return access.FileGate{Path: path}
}

// TestFreeTextRequestsAreCheckedByTheWorker: the activities that act for a named person
// on an ICS's free text (a .qdpx export, a batch of coding decisions) refuse anyone the
// access file does not allow, before they read or write anything, and say so in the
// audit trail; the refusal is permanent (no retry grants access).
func TestFreeTextRequestsAreCheckedByTheWorker(t *testing.T) {
	gate := gateFile(t)
	cases := []struct {
		name string
		gate FreeTextGate
		who  string
		ics  string
		want string
	}{
		{"no access file", nil, "reader@example.nhs.uk", "QMM", "no access file"},
		{"not in the file", gate, "mallory@example.com", "QMM", `"mallory@example.com" is not in the access file`},
		{"an analyst without a grant", gate, "analyst@example.nhs.uk", "QMM", "not a named free-text reader for QMM"},
		{"a reader of another ICS", gate, "reader@example.nhs.uk", "QJK", "not a named free-text reader for QJK"},
		{"nobody named", gate, "", "QMM", "not in the access file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := store.NewFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			a := &Activities{Store: st, FreeText: c.gate}
			scope := Scope{WaveID: "W1", ICS: c.ics}
			calls := map[string]func(context.Context) error{
				"export": func(ctx context.Context) error {
					_, err := a.ExportQDPX(ctx, ExportQDPXInput{Scope: scope, By: c.who, At: time.Now().UTC()})
					return err
				},
				"decisions": func(ctx context.Context) error {
					_, err := a.RecordThemeDecisions(ctx, RecordThemeDecisionsInput{Scope: scope, Batch: ThemeBatch{ID: "b1", Coder: c.who,
						Decisions: []ThemeDecision{{ResponseID: "r1", QuestionID: "P_IMPROVE", Themes: []themes.ThemeCode{{Theme: "burden", Polarity: themes.Negative}}}}}})
					return err
				},
			}
			for what, call := range calls {
				ctx, col := audit.WithCollector(context.Background())
				err := call(ctx)
				if !errors.Is(err, freetext.ErrRefused) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("%s: err = %v, want a refusal saying %q", what, err, c.want)
				}
				if k := fault.KindOf(err); k != fault.NotAuthorised || !fault.IsPermanent(err) {
					t.Fatalf("%s: kind %s, want a permanent NotAuthorised", what, k)
				}
				ev := col.Events()
				if len(ev) != 1 || ev[0].Kind != "free_text_refused" || ev[0].Details["user"] != c.who || !strings.Contains(ev[0].Details["reason"].(string), c.want) {
					t.Fatalf("%s: audit events %+v", what, ev)
				}
			}
			if infos, err := st.List(context.Background(), ""); err != nil || len(infos) != 0 {
				t.Fatalf("something was written for a refused request: %v %v", infos, err)
			}
		})
	}
}

// TestFreeTextRequestsOfANamedReaderGoThrough: the same gate lets the named reader's
// export through to the coding's own checks (here: the ICS has not been coded).
func TestFreeTextRequestsOfANamedReaderGoThrough(t *testing.T) {
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{Store: st, FreeText: gateFile(t)}
	ctx, col := audit.WithCollector(context.Background())
	_, err = a.ExportQDPX(ctx, ExportQDPXInput{Scope: Scope{WaveID: "W1", ICS: "QMM"}, By: "reader@example.nhs.uk", At: time.Now().UTC()})
	if err == nil || errors.Is(err, freetext.ErrRefused) {
		t.Fatalf("err = %v, want the export's own failure (nothing coded), not a refusal", err)
	}
	for _, e := range col.Events() {
		if e.Kind == "free_text_refused" {
			t.Fatalf("a named reader was refused: %+v", e)
		}
	}
}

func TestQuotationsCountsChosenQuotes(t *testing.T) {
	d := &localindex.ProfileData{Expectations: []localindex.ExpectationView{
		{Quotes: make([]localindex.ChosenQuote, 2)}, {}, {Quotes: make([]localindex.ChosenQuote, 1)},
	}}
	if n := quotations(d); n != 3 {
		t.Fatalf("quotations = %d, want 3", n)
	}
	if n := quotations(&localindex.ProfileData{}); n != 0 {
		t.Fatalf("quotations of an empty report = %d", n)
	}
}
