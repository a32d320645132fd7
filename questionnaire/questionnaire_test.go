package questionnaire

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedCatalogueIsValid(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatalf("embedded definitions: %v", err)
	}
	want := []string{"carer-2026.1", "patient-2026.1"}
	if got := c.Versions(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("versions = %v, want %v", got, want)
	}
	for _, v := range want {
		qn, err := c.Resolve(v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(qn.Questions); n < 15 || n > 28 {
			t.Errorf("%s has %d questions, want about 15-25", v, n)
		}
		scored, free := 0, 0
		for _, q := range qn.Questions {
			if q.Scored() {
				scored++
			}
			if q.Kind == FreeText {
				free++
				if q.MaxLength <= 0 {
					t.Errorf("%s %s: free text without a length cap", v, q.ID)
				}
			}
		}
		if scored < 8 || free < 1 {
			t.Errorf("%s: %d scored and %d free-text questions", v, scored, free)
		}
		if _, ok := qn.Question(qn.ConsentQuestion); !ok || !qn.Consented("1") || qn.Consented("2") {
			t.Errorf("%s: consent question %s not usable", v, qn.ConsentQuestion)
		}
		if qn.Digest == "" {
			t.Errorf("%s: no digest", v)
		}
	}
	if n := len(c.Bank()); n < 10 {
		t.Errorf("bank has %d questions, want about 10", n)
	}
}

func TestLatest(t *testing.T) {
	for _, rt := range []string{Patient, Carer} {
		v, err := Latest(rt)
		if err != nil || !strings.HasPrefix(v, rt+"-") {
			t.Errorf("Latest(%s) = %q, %v", rt, v, err)
		}
	}
	if _, err := Latest("visitor"); err == nil {
		t.Error("Latest(visitor) succeeded")
	}
	if !versionLess("patient-2026.2", "patient-2026.10") || versionLess("patient-2027.1", "patient-2026.9") {
		t.Error("versionLess does not order numerically")
	}
}

func TestQuestionHelpers(t *testing.T) {
	qn, err := Resolve("patient-2026.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	q, ok := qn.Question("P_INVOLVED")
	if !ok {
		t.Fatal("P_INVOLVED missing")
	}
	tests := []struct {
		code             string
		has, pos, inBase bool
	}{
		{"1", true, true, true},
		{"2", true, true, true},
		{"3", true, false, true},
		{"4", true, false, false}, // "did not want to be involved" is out of the base
		{"9", false, false, false},
	}
	for _, tt := range tests {
		if q.HasOption(tt.code) != tt.has || q.IsPositive(tt.code) != tt.pos || q.InBase(tt.code) != tt.inBase {
			t.Errorf("code %s: has=%v pos=%v inBase=%v", tt.code, q.HasOption(tt.code), q.IsPositive(tt.code), q.InBase(tt.code))
		}
	}
	m, _ := qn.Question("P_SERVICES_USED")
	if got := m.SplitAnswer(" 1; 4 ;;7 "); strings.Join(got, ",") != "1,4,7" {
		t.Errorf("multi split = %v", got)
	}
	if got := q.SplitAnswer("1;2"); len(got) != 1 {
		t.Errorf("single split = %v", got)
	}
	if got := q.SplitAnswer("  "); got != nil {
		t.Errorf("blank split = %v", got)
	}
}

func TestResolveLocalQuestions(t *testing.T) {
	tests := []struct {
		name    string
		version string
		local   []string
		wantErr string
		wantIDs []string
	}{
		{name: "none", version: "patient-2026.1"},
		{name: "two", version: "patient-2026.1", local: []string{"LQ_TRAVEL_TO_APPOINTMENTS", "LQ_LONELINESS"},
			wantIDs: []string{"LQ_TRAVEL_TO_APPOINTMENTS", "LQ_LONELINESS"}},
		{name: "carer bank question", version: "carer-2026.1", local: []string{"LQ_CARER_BREAK"}, wantIDs: []string{"LQ_CARER_BREAK"}},
		{name: "unknown version", version: "patient-1999.1", wantErr: "unknown version"},
		{name: "unknown local", version: "patient-2026.1", local: []string{"LQ_NOPE"}, wantErr: "unknown local question"},
		{name: "named twice", version: "patient-2026.1", local: []string{"LQ_LONELINESS", "LQ_LONELINESS"}, wantErr: "named twice"},
		{name: "wrong respondent type", version: "patient-2026.1", local: []string{"LQ_CARER_BREAK"}, wantErr: "not offered to patient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			qn, err := Resolve(tt.version, tt.local)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(qn.LocalIDs, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("LocalIDs = %v, want %v", qn.LocalIDs, tt.wantIDs)
			}
			ids := qn.IDs()
			tail := ids[len(ids)-len(tt.wantIDs):]
			if strings.Join(tail, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("local questions not appended in order: %v", tail)
			}
			for _, id := range tt.wantIDs {
				if q, ok := qn.Question(id); !ok || !q.Local {
					t.Errorf("%s not marked local", id)
				}
			}
		})
	}
}

func TestResolveDoesNotAliasCatalogue(t *testing.T) {
	a, err := Resolve("patient-2026.1", []string{"LQ_LONELINESS"})
	if err != nil {
		t.Fatal(err)
	}
	a.Questions[0].Options[0].Label = "changed"
	b, err := Resolve("patient-2026.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Questions[0].Options[0].Label == "changed" {
		t.Fatal("resolved questionnaire shares memory with the catalogue")
	}
	if _, ok := b.Question("LQ_LONELINESS"); ok {
		t.Fatal("local question leaked into another resolution")
	}
	if a.Digest == b.Digest {
		t.Error("digest does not reflect local questions")
	}
}

func TestResolveSet(t *testing.T) {
	set, err := ResolveSet([]string{"patient-2026.1", "carer-2026.1"}, []string{"LQ_LONELINESS", "LQ_DIGITAL_SERVICES", "LQ_CARER_BREAK"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(set["patient-2026.1"].LocalIDs, ","); got != "LQ_LONELINESS,LQ_DIGITAL_SERVICES" {
		t.Errorf("patient local = %s", got)
	}
	if got := strings.Join(set["carer-2026.1"].LocalIDs, ","); got != "LQ_LONELINESS,LQ_CARER_BREAK" {
		t.Errorf("carer local = %s", got)
	}
	if _, err := ResolveSet([]string{"patient-2026.1"}, []string{"LQ_X"}); err == nil {
		t.Error("unknown local id accepted")
	}
}

const validBank = `questions:
  - id: LQ_ONE
    theme: services
    type: single
    respondent_types: [patient]
    text: "Q?"
    options: [{code: "1", label: "Yes"}, {code: "2", label: "No"}]
    positive: ["1"]
`

// minimal builds a minimal valid patient definition with extra questions appended.
func minimal(extra string) string {
	return `version: patient-2030.1
respondent_type: patient
title: "T"
consent_question: P_CONSENT
consent_yes: "1"
questions:
  - {id: P_S, theme: services, type: multi, text: "S?", options: [{code: "1", label: "A"}, {code: "2", label: "B"}]}
  - {id: P_P, theme: personalisation, type: single, text: "P?", options: [{code: "1", label: "Good"}, {code: "2", label: "Bad"}, {code: "3", label: "DK"}], positive: ["1"], excluded: ["3"]}
  - {id: P_C, theme: coordination, type: single, text: "C?", options: [{code: "1", label: "Good"}, {code: "2", label: "Bad"}], positive: ["1"]}
  - {id: P_R, theme: proactive, type: single, text: "R?", options: [{code: "1", label: "Good"}, {code: "2", label: "Bad"}], positive: ["1"]}
  - {id: P_D, theme: demographics, type: single, text: "D?", options: [{code: "1", label: "A"}, {code: "2", label: "B"}]}
  - {id: P_FT, theme: free_text, type: free_text, text: "Comments?"}
  - {id: P_CONSENT, theme: consent, type: single, text: "Link?", options: [{code: "1", label: "Yes"}, {code: "2", label: "No"}]}
` + extra
}

func TestValidation(t *testing.T) {
	tests := []struct {
		name    string
		file    string // file name of the definition
		def     string
		bank    string
		wantErr string // empty: valid
	}{
		{name: "valid", def: minimal("")},
		{name: "duplicate id", def: minimal(`  - {id: P_C, theme: coordination, type: single, text: "again", options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: "P_C used twice"},
		{name: "positive not an option", def: minimal(`  - {id: P_X, theme: coordination, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}], positive: ["7"]}
`), wantErr: `positive code "7" is not an option`},
		{name: "excluded not an option", def: minimal(`  - {id: P_X, theme: coordination, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}, {code: "3", label: "c"}], positive: ["1"], excluded: ["9"]}
`), wantErr: `excluded code "9" is not an option`},
		{name: "positive and excluded", def: minimal(`  - {id: P_X, theme: coordination, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}, {code: "3", label: "c"}], positive: ["1"], excluded: ["1"]}
`), wantErr: "both positive and excluded"},
		{name: "all positive", def: minimal(`  - {id: P_X, theme: coordination, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}], positive: ["1", "2"]}
`), wantErr: "at least one option in the base"},
		{name: "duplicate option code", def: minimal(`  - {id: P_X, theme: coordination, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "1", label: "b"}]}
`), wantErr: `option code "1" used twice`},
		{name: "one option", def: minimal(`  - {id: P_X, theme: coordination, type: single, text: "X?", options: [{code: "1", label: "a"}]}
`), wantErr: "at least two options"},
		{name: "scored multi", def: minimal(`  - {id: P_X, theme: services, type: multi, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}, {code: "3", label: "c"}], positive: ["1"]}
`), wantErr: "multi-choice question cannot be scored"},
		{name: "free text with options", def: minimal(`  - {id: P_X, theme: free_text, type: free_text, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: "free-text question has no options"},
		{name: "unknown theme", def: minimal(`  - {id: P_X, theme: weather, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: `unknown theme "weather"`},
		{name: "unknown type", def: minimal(`  - {id: P_X, theme: services, type: scale, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: `unknown type "scale"`},
		{name: "bad id", def: minimal(`  - {id: p-x, theme: services, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: "id must be upper-case"},
		{name: "empty text", def: minimal(`  - {id: P_X, theme: services, type: single, text: "", options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: "text is empty"},
		{name: "unknown field", def: minimal(`  - {id: P_X, theme: services, type: single, text: "X?", postive: ["1"], options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: "postive"},
		{name: "file name mismatch", file: "patient-2030.2.yaml", def: minimal(""), wantErr: "does not match the file name"},
		{name: "missing theme", def: strings.Replace(minimal(""), "theme: proactive", "theme: services", 1), wantErr: "no question covers theme proactive"},
		{name: "consent question missing", def: strings.Replace(minimal(""), "consent_question: P_CONSENT", "consent_question: P_NOPE", 1), wantErr: "consent_question P_NOPE is not a question"},
		{name: "consent yes not an option", def: strings.Replace(minimal(""), `consent_yes: "1"`, `consent_yes: "Y"`, 1), wantErr: `consent_yes "Y" is not an option`},
		{name: "version does not name type", def: strings.Replace(minimal(""), "respondent_type: patient", "respondent_type: carer", 1), wantErr: "does not name respondent_type"},
		{name: "bank id clashes", def: minimal(`  - {id: LQ_ONE, theme: services, type: single, text: "X?", options: [{code: "1", label: "a"}, {code: "2", label: "b"}]}
`), wantErr: "also a bank question"},
		{name: "bank question without LQ prefix", def: minimal(""), bank: strings.Replace(validBank, "LQ_ONE", "Q_ONE", 1), wantErr: "start with LQ_"},
		{name: "bank question without respondent types", def: minimal(""), bank: strings.Replace(validBank, "    respondent_types: [patient]\n", "", 1), wantErr: "respondent_types is empty"},
		{name: "bank duplicate", def: minimal(""), bank: validBank + strings.TrimPrefix(validBank, "questions:\n"), wantErr: "LQ_ONE defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == "" {
				file = "patient-2030.1.yaml"
			}
			bank := tt.bank
			if bank == "" {
				bank = validBank
			}
			fsys := fstest.MapFS{
				file:     {Data: []byte(tt.def)},
				BankFile: {Data: []byte(bank)},
			}
			c, err := LoadCatalogue(fsys)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				qn, err := c.Resolve("patient-2030.1", []string{"LQ_ONE"})
				if err != nil {
					t.Fatal(err)
				}
				if q, _ := qn.Question("P_FT"); q.MaxLength != DefaultFreeTextMax {
					t.Errorf("free text max = %d", q.MaxLength)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestMissingBank(t *testing.T) {
	_, err := LoadCatalogue(fstest.MapFS{"patient-2030.1.yaml": {Data: []byte(minimal(""))}})
	if err == nil || !strings.Contains(err.Error(), "no bank.yaml") {
		t.Fatalf("err = %v", err)
	}
}

func TestNumericCodes(t *testing.T) {
	opts := func(codes ...string) []Option {
		var out []Option
		for _, c := range codes {
			out = append(out, Option{Code: c, Label: c})
		}
		return out
	}
	tests := []struct {
		name string
		q    Question
		want bool
	}{
		{"single, small numbers", Question{Kind: Single, Options: opts("1", "2", "10")}, true},
		{"zero", Question{Kind: Single, Options: opts("0", "1")}, true},
		{"leading zero would not read back", Question{Kind: Single, Options: opts("01", "2")}, false},
		{"letters", Question{Kind: Single, Options: opts("1", "X")}, false},
		{"too long", Question{Kind: Single, Options: opts("1", "12345")}, false},
		{"multi is text", Question{Kind: Multi, Options: opts("1", "2")}, false},
		{"free text", Question{Kind: FreeText}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.NumericCodes(); got != tt.want {
				t.Errorf("NumericCodes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnswerColumns(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	cols := c.AnswerColumns()
	byID := map[string]AnswerColumn{}
	for _, col := range cols {
		if _, dup := byID[col.ID]; dup {
			t.Errorf("column %s listed twice", col.ID)
		}
		byID[col.ID] = col
	}
	for _, v := range c.Versions() {
		qn, _ := c.Resolve(v, nil)
		for _, q := range qn.Questions {
			col, ok := byID[q.ID]
			if ok != q.Closed() || (ok && col.Numeric != q.NumericCodes()) {
				t.Errorf("%s %s (%s): column %+v present=%v", v, q.ID, q.Kind, col, ok)
			}
		}
	}
	for _, q := range c.Bank() {
		if _, ok := byID[q.ID]; !ok {
			t.Errorf("bank question %s has no column", q.ID)
		}
	}
	if col := byID["P_SERVICES_USED"]; col.Numeric {
		t.Error("a multi-choice question must be a text column")
	}
}

func TestQuestionShapeIsStableAcrossVersions(t *testing.T) {
	next := strings.Replace(minimal(""), "version: patient-2030.1", "version: patient-2030.2", 1)
	tests := []struct {
		name, next, wantErr string
	}{
		{"same questions", next, ""},
		{"single becomes multi", strings.Replace(next, "{id: P_C, theme: coordination, type: single", "{id: P_C, theme: coordination, type: multi", 1) + "", "question P_C is"},
		{"numeric codes become letters", strings.Replace(next, `{id: P_D, theme: demographics, type: single, text: "D?", options: [{code: "1", label: "A"}`, `{id: P_D, theme: demographics, type: single, text: "D?", options: [{code: "A", label: "A"}`, 1), "question P_D is"},
		// The same id with other option codes, positive or excluded codes would mix two
		// questions in one column and one "% positive" (the release refuses such a wave
		// only at its close): the catalogue refuses the definition when it is added.
		{"reworded, same codes", strings.Replace(next, `text: "C?"`, `text: "C, reworded?"`, 1), ""},
		{"positive codes change", strings.Replace(next, `text: "C?", options: [{code: "1", label: "Good"}, {code: "2", label: "Bad"}], positive: ["1"]`,
			`text: "C?", options: [{code: "1", label: "Good"}, {code: "2", label: "Bad"}, {code: "3", label: "Fair"}], positive: ["1", "3"]`, 1), "question P_C has other option codes, positive or excluded codes here than in patient-2030.1"},
		{"excluded codes change", strings.Replace(next, `positive: ["1"], excluded: ["3"]`, `positive: ["1"]`, 1), "question P_P has other option codes, positive or excluded codes here than in patient-2030.1"},
		{"an option added", strings.Replace(next, `{id: P_D, theme: demographics, type: single, text: "D?", options: [{code: "1", label: "A"}`, `{id: P_D, theme: demographics, type: single, text: "D?", options: [{code: "3", label: "C"}, {code: "1", label: "A"}`, 1), "patient-2030.2: question P_D has other option codes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadCatalogue(fstest.MapFS{
				"patient-2030.1.yaml": {Data: []byte(minimal(""))},
				"patient-2030.2.yaml": {Data: []byte(tt.next)},
				BankFile:              {Data: []byte(validBank)},
			})
			if tt.wantErr == "" && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestCompareVersionsOrdersNumbersByValue(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"patient-2026.2", "patient-2026.10", -1},
		{"patient-2026.10", "patient-2026.2", 1},
		{"patient-2026.1", "patient-2026.1", 0},
		{"patient-2026.9", "patient-2027.1", -1},
		{"carer-2026.1", "patient-2026.1", -1},
		{"patient-2026.01", "patient-2026.1", -1}, // equal values: the text decides, so the order is total
		{"patient-2026", "patient-2026.1", -1},
	} {
		if got := compareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("compareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
