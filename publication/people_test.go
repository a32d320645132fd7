package publication

import (
	"bytes"
	"encoding/csv"
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
