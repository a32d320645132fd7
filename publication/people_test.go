package publication

import (
	"bytes"
	"encoding/csv"
	"slices"
	"testing"
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
