package responses

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"testing"

	"icesurvey/schemas"
)

// referenceReadCSV is readCSV as it was before it read chunks side by side: one
// csv.Reader over the whole file (its header read by the same readCSVHeader). The chunked reader must give the same table.
func referenceReadCSV(b []byte) (*table, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	t, err := readCSVHeader(r) // the header is read alike; the body is what is compared
	if err != nil {
		return nil, err
	}
	malformed := 0
	fileLines := bytes.Split(b, []byte{'\n'})
	for row := 1; ; row++ {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var open *csv.ParseError
		if errors.As(err, &open) && open.Line > open.StartLine {
			// A quote left open: the record's first line and every further non-blank
			// line up to where the reader gave up are rows, each malformed.
			n := 0
			for ln := open.StartLine; ln <= open.Line; ln++ {
				if ln == open.StartLine || len(bytes.TrimSpace(fileLines[ln-1])) > 0 {
					n++
				}
			}
			what := fmt.Sprintf("lines %d-%d (%d rows) cannot be read: a quote opened on line %d is not closed as CSV requires (%v), so every line to %d is inside it",
				open.StartLine, open.Line, n, open.StartLine, open.Err, open.Line)
			for ln := open.StartLine; ln <= open.Line; ln++ {
				msg := fmt.Sprintf("line %d: %s", ln, what)
				if ln > open.StartLine {
					if len(bytes.TrimSpace(fileLines[ln-1])) == 0 {
						continue
					}
					msg = fmt.Sprintf("line %d: inside the quote left open on line %d; %s", ln, open.StartLine, what)
				}
				t.records = append(t.records, record{row: row, line: ln, malformed: msg})
				row++
				if malformed++; malformed > maxMalformed {
					return nil, &fileError{reason: schemas.RejectUnreadableFile, msg: fmt.Sprintf("more than %d malformed rows", maxMalformed)}
				}
			}
			row--
			continue
		}
		var line int
		if err == nil {
			line, _ = r.FieldPos(0) // the one change: it panicked on an unreadable row
		}
		rec := record{row: row, line: line}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			rec.line = pe.StartLine
			rec.malformed = fmt.Sprintf("line %d: %v", pe.StartLine, pe.Err)
		case err != nil:
			return nil, &fileError{reason: schemas.RejectUnreadableFile, msg: fmt.Sprintf("row %d: %v", row, err)}
		case len(fields) != len(t.columns):
			rec.malformed = fmt.Sprintf("line %d: %d fields, header has %d", line, len(fields), len(t.columns))
		default:
			rec.values = fields
		}
		if rec.malformed != "" {
			if malformed++; malformed > maxMalformed {
				return nil, &fileError{reason: schemas.RejectUnreadableFile, msg: fmt.Sprintf("more than %d malformed rows", maxMalformed)}
			}
		}
		t.records = append(t.records, rec)
	}
	return t, nil
}

// randomCSV is a CSV file of rows whose cells hold commas, quotes, line breaks (LF and
// CRLF), accents and blank lines between rows; faults adds rows the reader rejects or
// flags (bare and unbalanced quotes, wrong field counts).
func randomCSV(rng *rand.Rand, rows int, faults bool) []byte {
	cells := []string{"", "1", "2;4", "plain text", `"with, comma"`, `"say ""hi"" now"`, "\"two\nlines\"",
		"\"crlf\r\nline\"", `"café – ok"`, `""`, `"""quoted"""`, "\"a\n\n\nb\"", "x"}
	bad := []string{`ab"c`, `"open`, `"closed"x`, `"`}
	var b bytes.Buffer
	if rng.IntN(4) == 0 {
		b.WriteString("\xef\xbb\xbf")
	}
	if rng.IntN(4) == 0 {
		b.WriteString("\n\n") // blank lines before the header
	}
	b.WriteString("SURVEY_RECORD_ID,\"P_OVERALL\",P_COMMENT\n")
	for i := 0; i < rows; i++ {
		n := 3
		if faults && rng.IntN(40) == 0 {
			n = 2 + rng.IntN(3)
		}
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			if faults && rng.IntN(300) == 0 {
				b.WriteString(bad[rng.IntN(len(bad))])
			} else {
				b.WriteString(cells[rng.IntN(len(cells))])
			}
		}
		switch rng.IntN(10) {
		case 0:
			b.WriteString("\r\n")
		case 1:
			b.WriteString("\n\n")
		default:
			b.WriteString("\n")
		}
	}
	out := b.Bytes()
	if rng.IntN(3) == 0 {
		out = bytes.TrimRight(out, "\r\n") // no line break after the last row
	}
	return out
}

// The chunked CSV reader gives exactly the table of one reader over the whole file:
// the same rows, values, line numbers and malformed-row messages, for well-formed files
// and for files with faults (which it reads again in one pass).
func TestReadCSVChunksMatchOnePass(t *testing.T) {
	old := minParallelCSV
	t.Cleanup(func() { minParallelCSV = old })
	rng := rand.New(rand.NewPCG(7, 2026))
	for i := 0; i < 400; i++ {
		faults := i%2 == 1
		b := randomCSV(rng, 1+rng.IntN(300), faults)
		b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // as readTable does
		want, wantErr := referenceReadCSV(b)
		for _, minSize := range []int{1, 64, old} {
			minParallelCSV = minSize
			got, err := readCSV(b)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("file %d (faults %v), chunks from %d bytes: error %v, want %v", i, faults, minSize, err, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("file %d (faults %v), chunks from %d bytes: tables differ\n%s", i, faults, minSize, diffTables(got, want))
			}
		}
	}
}

func diffTables(got, want *table) string {
	if got == nil || want == nil {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	if !reflect.DeepEqual(got.columns, want.columns) {
		return fmt.Sprintf("columns %v, want %v", got.columns, want.columns)
	}
	for i := range min(len(got.records), len(want.records)) {
		if !reflect.DeepEqual(got.records[i], want.records[i]) {
			return fmt.Sprintf("record %d: %+v, want %+v", i, got.records[i], want.records[i])
		}
	}
	return fmt.Sprintf("%d records, want %d", len(got.records), len(want.records))
}

// splitCSV cuts only after a line break outside quotes, and its chunks cover the body.
func TestSplitCSVCutsBetweenRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	for i := 0; i < 200; i++ {
		b := randomCSV(rng, 50+rng.IntN(200), false)
		at := bytes.IndexByte(b, '\n') + 1
		for _, n := range []int{2, 3, 8} {
			chunks := splitCSV(b, at, n, 2)
			if chunks[0].start != at || chunks[len(chunks)-1].end != len(b) {
				t.Fatalf("chunks %v do not cover [%d, %d)", chunks, at, len(b))
			}
			for k, c := range chunks {
				if k > 0 && c.start != chunks[k-1].end {
					t.Fatalf("chunks %v leave a gap", chunks)
				}
				if q := bytes.Count(b[:c.start], []byte{'"'}); q%2 != 0 || b[c.start-1] != '\n' {
					t.Fatalf("chunk %d starts inside a quoted cell (offset %d)", k, c.start)
				}
				if want := bytes.Count(b[:c.start], []byte{'\n'}) + 1; c.line != want {
					t.Fatalf("chunk %d starts on line %d, want %d", k, c.line, want)
				}
			}
		}
	}
}

// Rows the CSV reader cannot read are kept as malformed rows with their line, however
// little of them it read (the reader once panicked on a row it read no field of).
func TestReadCSVMalformedRows(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string // malformed messages by row, "" for a good row
	}{
		{"unclosed quote at the end", "A,B\n1,2\n\"open", []string{"", `line 3: extraneous or missing " in quoted-field`}},
		// A quote left open in row 2 once made one unreadable row of every line after
		// it: rows 3 and 4 were neither loaded nor rejected nor counted.
		{"unclosed quote swallows the rows after it", "A,B\n1,x\n2,\"she said \"\"fine\n3,y\n\n4,z\n", []string{"",
			`line 3: lines 3-6 (3 rows) cannot be read: a quote opened on line 3 is not closed as CSV requires (extraneous or missing " in quoted-field), so every line to 6 is inside it`,
			`line 4: inside the quote left open on line 3; lines 3-6 (3 rows) cannot be read: a quote opened on line 3 is not closed as CSV requires (extraneous or missing " in quoted-field), so every line to 6 is inside it`,
			`line 6: inside the quote left open on line 3; lines 3-6 (3 rows) cannot be read: a quote opened on line 3 is not closed as CSV requires (extraneous or missing " in quoted-field), so every line to 6 is inside it`}},
		{"open quote closed badly later", "A,B\n\"open,1\n2,2\n\"x\"y,3\n5,5\n", []string{
			`line 2: lines 2-4 (3 rows) cannot be read: a quote opened on line 2 is not closed as CSV requires (extraneous or missing " in quoted-field), so every line to 4 is inside it`,
			`line 3: inside the quote left open on line 2; lines 2-4 (3 rows) cannot be read: a quote opened on line 2 is not closed as CSV requires (extraneous or missing " in quoted-field), so every line to 4 is inside it`,
			`line 4: inside the quote left open on line 2; lines 2-4 (3 rows) cannot be read: a quote opened on line 2 is not closed as CSV requires (extraneous or missing " in quoted-field), so every line to 4 is inside it`, ""}},
		{"bare quote", "A,B\nab\"c,2\n3,4\n", []string{`line 2: bare " in non-quoted-field`, ""}},
		{"too few fields", "A,B\n1\n3,4\n", []string{"line 2: 1 fields, header has 2", ""}},
		{"quote then text", "A,B\n\"x\"y,2\n", []string{`line 2: extraneous or missing " in quoted-field`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := readCSV([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range tab.records {
				got = append(got, r.malformed)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("malformed rows %q, want %q", got, tc.want)
			}
		})
	}
}
