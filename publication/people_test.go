package publication

import (
	"bytes"
	"encoding/csv"
	"html"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"icesurvey/disclosure"
	"icesurvey/estimate"
	"icesurvey/weighting"
)

// TestAppendCSVMatchesEncodingCSV holds appendCSV to the bytes encoding/csv writes.
func TestAppendCSVMatchesEncodingCSV(t *testing.T) {
	fields := []string{"", "plain", "a,b", `say "hi"`, `"`, `""`, "line\nfeed", "cr\rhere", "crlf\r\n", `\.`, `\.x`, " lead", "\tlead",
		"\u00a0nbsp", "\u2003em", "trail ", "ünï", "bad \xff", "_x0041_", "12.3", "<10"}
	var want bytes.Buffer
	w := csv.NewWriter(&want)
	var got []byte
	for i := range fields {
		rec := []string{fields[i], fields[(i+5)%len(fields)], fields[(i+11)%len(fields)]}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		got = appendCSV(got, []cell{text(rec[0]), text(rec[1]), {s: rec[2], num: true}})
	}
	w.Flush()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("appendCSV wrote\n%q\nencoding/csv\n%q", got, want.Bytes())
	}
}

// The people's files name each ICS beside its code, under a header people read: the
// ICS's name for a board's code, nothing for England or a code the table does not know.
func TestPeopleFilesNameTheICS(t *testing.T) {
	for _, tc := range []struct {
		geography, ics, want string
	}{
		{GeographyICS, "QMM", "Norfolk and Waveney"},
		{GeographyICS, "QZZ", ""},
		{GeographyEngland, "", ""},
	} {
		cells := rateCells(nil, &ResponseRateRow{Geography: tc.geography, ICS: tc.ics})
		if i := slices.Index(ratesHeader, "ics_name"); i < 0 || cells[i].s != tc.want || cells[i-1].s != tc.ics {
			t.Errorf("%s %q: ics %q, ics_name %q, want %q", tc.geography, tc.ics, cells[i-1].s, cells[i].s, tc.want)
		}
	}
	for _, h := range [][]string{resultsHeader, distributionsHeader, ratesHeader, resultSheetColumns} {
		if i := slices.Index(h, "ics"); i < 0 || i+1 >= len(h) || h[i+1] != "ics_name" {
			t.Errorf("header %v: want ics_name right after ics", h)
		}
	}
	if got := humanHeader([]string{"ics", "ics_name", "vs_england_excluding_ics"}); !slices.Equal(got, []string{"ICS", "ICS name", "Vs England excluding ICS"}) {
		t.Errorf("humanHeader: %q", got)
	}
}

// The people's files say what each % positive counts and what its base leaves out
// (PUBLICATION.md E1, E2): results.csv in two columns, the workbook under each
// question's title. Without them a reader of C_OWN_HEALTH_AFFECTED's "% positive"
// could not tell it is the share answering "No".
func TestPeopleFilesDefineThePositiveAnswers(t *testing.T) {
	r := &Results{questions: []QuestionInfo{
		{RespondentType: "carer", ID: "C_HEALTH", Text: "Has caring affected your health?",
			Options: []Option{{"1", "No"}, {"2", "Yes, a little"}, {"3", "Yes, a lot"}}, Positive: []string{"1"}},
		{RespondentType: "patient", ID: "P_EASE", Text: "How easy?",
			Options: []Option{{"1", "Very easy"}, {"2", "Fairly easy"}, {"3", "Difficult"}, {"5", "Not needed"}}, Positive: []string{"1", "2"}, Excluded: []string{"5"}},
		{RespondentType: "patient", ID: "P_USED", Text: "Which services?", Multi: true,
			Options: []Option{{"1", "GP"}, {"2", "Pharmacy"}, {"9", "Don't know"}}, Positive: []string{"1", "2"}, Excluded: []string{"9"}},
	}}
	l := newLabels(r)
	for _, tc := range []struct {
		row                ResultRow
		positive, excluded string
	}{
		{ResultRow{RespondentType: "carer", QuestionID: "C_HEALTH", PositiveCodes: []string{"1"}}, "1: No", ""},
		{ResultRow{RespondentType: "patient", QuestionID: "P_EASE", PositiveCodes: []string{"1", "2"}, ExcludedCodes: []string{"5"}},
			"1: Very easy; 2: Fairly easy", "5: Not needed"},
		{ResultRow{RespondentType: "patient", QuestionID: "P_USED", Measure: "2", PositiveCodes: []string{"2"}, ExcludedCodes: []string{"9"}},
			"2: Pharmacy", "9: Don't know"},
	} {
		tc.row.Geography, tc.row.GroupVariable, tc.row.GroupLevel = GeographyEngland, GroupAll, GroupAll
		cells := l.resultCells(nil, &tc.row)
		if len(cells) != len(resultsHeader) {
			t.Fatalf("%s: %d cells for %d columns", tc.row.QuestionID, len(cells), len(resultsHeader))
		}
		for _, c := range []struct{ col, want string }{{"positive_answers", tc.positive}, {"excluded_from_base", tc.excluded}} {
			i := slices.Index(resultsHeader, c.col)
			if i < 0 {
				t.Fatalf("results.csv has no column %s", c.col)
			}
			if cells[i].s != c.want {
				t.Errorf("%s measure %q: %s = %q, want %q", tc.row.QuestionID, tc.row.Measure, c.col, cells[i].s, c.want)
			}
		}
		r.results = []ResultRow{tc.row}
		var s sheetRows
		if err := resultsSheet(&s, r, l); err != nil {
			t.Fatal(err)
		}
		excluded := tc.excluded
		if excluded == "" {
			excluded = "none"
		}
		want := "% positive counts: " + tc.positive + ". Left out of the base: " + excluded + "."
		if !bytes.Contains(s.buf, []byte(html.EscapeString(want))) {
			t.Errorf("%s: the Results sheet does not say %q:\n%s", tc.row.QuestionID, want, s.buf)
		}
	}
}

// The method note a reader gets (metadata.json, the workbook's Notes) explains every
// value the results' weighting and comparison columns can hold, and the figures'
// columns, without sending the reader to PUBLICATION.md, which is not published.
func TestMethodExplainsTheColumns(t *testing.T) {
	for _, p := range []Params{DefaultParams(), func() Params {
		p := DefaultParams()
		p.GroupComparison = CompareWholeRest
		return p
	}()} {
		text := strings.Join(method(p), "\n")
		for _, want := range []string{
			string(weighting.NotNeeded), string(weighting.Trimmed), string(weighting.InfeasibleUntrimmed), StatusPooled, StatusUnweighted,
			string(estimate.Higher), string(estimate.Lower), string(estimate.Similar),
			"pct_positive", "positive_answers", "excluded_from_base", "effective_base", "ci_lower", "vs_england_excluding_ics",
			"95% Wilson score interval", "fewer than 10 respondents",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("group comparison %s: the method does not explain %q", p.GroupComparison, want)
			}
		}
	}
}

// The workbook's Notes give the suppression counts by status (PUBLICATION.md §P: the
// metadata sheet has them), as metadata.json does.
func TestNotesGiveSuppressionCounts(t *testing.T) {
	r := &Results{wave: "W1", params: DefaultParams()}
	meta := metadataOf(r, "r1")
	meta.Withheld = Withheld{Tables: 11, EnglandRowsWithheld: 19, Total: disclosure.Summary{
		RowsCaution: 12, RowsBase: 13, RowsSecondary: 14, CellsPrimary: 15, CellsSecondary: 16, CellsInWithheldRows: 17, PositiveWithheld: 18, TotalsWithheld: 20}}
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "Notes"); err != nil {
		t.Fatal(err)
	}
	if err := notesSheet(f, r, meta); err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("Notes")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, row := range rows {
		if len(row) == 2 {
			got[row[0]] = row[1]
		}
	}
	for label, want := range map[string]string{
		"tables checked": "11", "rows published with caution (L)": "12", "rows withheld: base too small (B)": "13",
		"rows withheld: secondary (S)": "14", "counts withheld: primary (P)": "15", "counts withheld: secondary (S)": "16",
		"counts in withheld rows": "17", "% positive figures withheld (S)": "18", "England rows withheld (S)": "19", "column totals withheld": "20",
	} {
		if got[label] != want {
			t.Errorf("Notes: %q = %q, want %s", label, got[label], want)
		}
	}
}

// The people's CSV files are opened in spreadsheets: a text cell (a question's text, an
// option's label, an ICS's name: definitions, but text) that a spreadsheet would run
// as a formula is written with an apostrophe in front; numbers and the header as they
// are. (The workbook's text cells are inline strings, never formulas.)
func TestPeopleCSVWritesNoFormula(t *testing.T) {
	rows := [][]cell{
		{text("=HYPERLINK(\"http://x\")"), text("+1"), text("@A1"), text("-1+1"), pctCell(12.3), text("ok")},
		{text("-"), text("\t=1"), text("plain"), text("-12"), {s: "-4.5", num: true}, text("")},
	}
	got := encodeCSV([]string{"a", "b", "c", "d", "e", "f"}, len(rows), func(dst []cell, i int) []cell { return append(dst, rows[i]...) })
	recs, err := csv.NewReader(bytes.NewReader(got)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a", "b", "c", "d", "e", "f"},
		{"'=HYPERLINK(\"http://x\")", "'+1", "'@A1", "'-1+1", "12.3", "ok"},
		{"'-", "'\t=1", "plain", "-12", "-4.5", ""}}
	if !slices.EqualFunc(recs, want, slices.Equal) {
		t.Errorf("encodeCSV wrote %q, want %q", recs, want)
	}
}
