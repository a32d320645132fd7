package responses

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

// fuzzFiles are the landing file names a fuzz input is read as (its kind byte picks one).
var fuzzFiles = []string{"responses_online", "responses_paper", "responses_phone", "undelivered", "optouts"}

// fuzzLoader is a loader as Load builds one, for a wave whose records S001-S099 were
// invited and S900 was sampled but never mailed; no earlier load kept anything.
func fuzzLoader(tb testing.TB) *loader {
	tb.Helper()
	qs, err := questionnaire.ResolveSet([]string{"patient-2026.1", "carer-2026.1"}, []string{"LQ_LONELINESS"})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := LoadConfig{WaveID: wave, ICS: ics, Questionnaires: qs,
		Known: func(id string) (bool, bool) {
			if id == "S900" {
				return true, false
			}
			return strings.HasPrefix(id, "S0") && len(id) == 4, strings.HasPrefix(id, "S0")
		},
		Prior: func(string, string) (PriorResponse, bool) { return PriorResponse{}, false },
	}
	if err := cfg.validate(); err != nil {
		tb.Fatal(err)
	}
	l := &loader{cfg: cfg, day: day1, questionColumns: map[string]bool{}, answerColumn: map[string]int{}}
	layout := schemas.ResponseRowLayout()
	l.answerColumns = layout.Extras()
	for i, c := range layout.ExtensionColumns() {
		l.answerColumn[c.Name] = i
	}
	for _, qn := range cfg.Questionnaires {
		for _, q := range qn.Questions {
			l.questionColumns[q.ID] = true
		}
	}
	return l
}

// fuzzSupplierFile reads and validates one supplier file the way Load does (without
// the store: nothing is written) and checks what the daily load promises of it.
func fuzzSupplierFile(t *testing.T, l *loader, data []byte, kind uint8, format string) {
	name := fuzzFiles[int(kind)%len(fuzzFiles)] + "." + format
	sum := sha256.Sum256(data)
	k, f, known := schemas.ClassifyResponseFile(name)
	if !known || f != format {
		t.Fatalf("%s is not a landing file name", name)
	}
	fw := &fileWork{
		res:        FileResult{Key: "landing/" + name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Kind: k, Format: f},
		rowResults: rowResults{rejected: map[int]bool{}},
	}
	fw.isResponse = k != schemas.FileUndelivered && k != schemas.FileOptOuts
	tab, err := readTable(data, format)
	if err != nil {
		fe, ok := err.(*fileError)
		if !ok || fe.reason == "" || fe.msg == "" {
			t.Fatalf("readTable error %T %v: want a *fileError with a reason and message", err, err)
		}
		return
	}
	fw.table = tab
	fw.res.Rows = len(tab.records)
	for i, rec := range tab.records {
		if rec.row != i+1 {
			t.Fatalf("record %d is numbered row %d", i, rec.row)
		}
		if rec.malformed != "" && !strings.HasPrefix(rec.malformed, "line ") {
			t.Fatalf("row %d: malformed message %q does not name the line", rec.row, rec.malformed)
		}
		if format == "csv" && rec.malformed == "" && len(rec.values) != len(tab.columns) {
			t.Fatalf("row %d: %d values for %d columns", rec.row, len(rec.values), len(tab.columns))
		}
	}
	l.validateFile(0, fw)
	if err := l.dedupe(context.Background(), []*fileWork{fw}); err != nil {
		t.Fatalf("dedupe: %v", err)
	}
	for _, c := range fw.cands {
		if c.kept {
			fw.res.Loaded++
		}
	}
	r := fw.res
	// Every row is accounted for: loaded, rejected or a duplicate, once.
	if r.Rows != r.Loaded+r.Rejected+r.Duplicates {
		t.Fatalf("%d rows read but %d loaded + %d rejected + %d duplicates", r.Rows, r.Loaded, r.Rejected, r.Duplicates)
	}
	if !fw.isResponse && r.Loaded != len(fw.outcomes) {
		t.Fatalf("%d outcome events for %d loaded rows", len(fw.outcomes), r.Loaded)
	}
	// Every rejection names its row (0 for the whole file) and, but for a row that
	// could not be read or held no answer at all, its field.
	free := freeTextValues(tab)
	for _, rj := range fw.rejections {
		if rj.File != name || rj.ReasonCode == "" || rj.Message == "" {
			t.Fatalf("rejection without file, reason or message: %+v", rj)
		}
		switch {
		case rj.Row == 0:
			if r.Rejected != r.Rows && rj.ReasonCode == schemas.RejectMissingColumn {
				t.Fatalf("file rejected for a missing column but only %d of %d rows counted rejected", r.Rejected, r.Rows)
			}
		case int(rj.Row) > r.Rows || !fw.rejected[int(rj.Row)]:
			t.Fatalf("rejection names row %d of %d, not counted rejected", rj.Row, r.Rows)
		case rj.Field == "" && rj.ReasonCode != schemas.RejectMalformedRow && rj.ReasonCode != schemas.RejectBlankResponse:
			t.Fatalf("row %d: %s rejection names no field", rj.Row, rj.ReasonCode)
		}
		for _, v := range free {
			if strings.Contains(rj.Message, v) {
				t.Fatalf("row %d: rejection message repeats a free-text answer: %q", rj.Row, rj.Message)
			}
		}
	}
}

// freeTextValues are the long free-text answers of a table: what must never appear
// in a rejection report.
func freeTextValues(tab *table) []string {
	var out []string
	for _, col := range []string{"P_FT_GOOD", "P_FT_IMPROVE", "C_FT_GOOD", "C_FT_IMPROVE"} {
		i, ok := tab.index[col]
		if !ok {
			continue
		}
		for _, rec := range tab.records {
			if i < len(rec.values) {
				if v := strings.TrimSpace(rec.values[i]); len(v) >= 12 {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// FuzzSupplierCSV feeds arbitrary bytes to the daily load as a supplier CSV file of
// the kind its second argument picks (online, paper, phone responses, undelivered
// returns, opt-outs). No input may panic; rows read = loaded + rejected + duplicates;
// every rejection names its row and field (but for an unreadable or blank row) and
// never repeats a free-text answer; a malformed row names its line.
//
// Seeds: testdata/fuzz/FuzzSupplierCSV (real-looking extracts of every kind, and
// the nasty cases: BOM, CRLF, quoted line breaks, ragged rows, a bare quote, a
// missing required column, free text that looks like a code, future timestamps).
func FuzzSupplierCSV(f *testing.F) {
	f.Add([]byte("SURVEY_RECORD_ID,RESPONDENT_TYPE,QUESTIONNAIRE_VERSION,CHANNEL,RECEIVED_AT,COMPLETE,P_ACCESS_EASE\nS001,patient,patient-2026.1,online,2026-02-10T09:00:00Z,Y,2\n"), uint8(0))
	l := fuzzLoader(f)
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		fuzzSupplierFile(t, l, data, kind, "csv")
	})
}

// FuzzSupplierJSONL is FuzzSupplierCSV for JSON lines extracts: one object per line,
// lists for multi-choice answers, booleans for COMPLETE, nulls for blanks.
func FuzzSupplierJSONL(f *testing.F) {
	f.Add([]byte(`{"SURVEY_RECORD_ID":"S001","RESPONDENT_TYPE":"patient","QUESTIONNAIRE_VERSION":"patient-2026.1","CHANNEL":"online","RECEIVED_AT":"2026-02-10T09:00:00Z","COMPLETE":"Y","P_ACCESS_EASE":2}`+"\n"), uint8(0))
	l := fuzzLoader(f)
	f.Fuzz(func(t *testing.T, data []byte, kind uint8) {
		fuzzSupplierFile(t, l, data, kind, "jsonl")
	})
}
