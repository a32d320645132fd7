package responses

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"

	"icesurvey/schemas"
)

// record is one data row of a supplier file: its values by column position.
type record struct {
	row       int // 1-based data row
	line      int // line of the file the row starts on (for messages)
	values    []string
	malformed string // non-empty when the row could not be read
}

// table is a supplier file read into records.
type table struct {
	columns []string       // upper-case, file order (CSV) or first-seen order (JSON lines)
	index   map[string]int // column name to position
	records []record
}

// value is the cell of column col (upper-case) in rec; "" when the row has none.
func (t *table) value(rec *record, col string) string {
	if i, ok := t.index[col]; ok && i < len(rec.values) {
		return rec.values[i]
	}
	return ""
}

func (t *table) addColumn(col string) int {
	t.index[col] = len(t.columns)
	t.columns = append(t.columns, col)
	return len(t.columns) - 1
}

// fileError is a problem with a whole file.
type fileError struct {
	reason string
	field  string
	msg    string
}

func (e *fileError) Error() string { return e.msg }

// maxMalformed stops reading a file that is garbage from end to end.
const maxMalformed = 10000

func readTable(b []byte, format string) (*table, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	switch format {
	case "csv":
		return readCSV(b)
	case "jsonl":
		return readJSONLines(b)
	}
	return nil, fmt.Errorf("responses: unknown format %q", format)
}

// minParallelCSV is the smallest CSV body parsed in chunks side by side.
var minParallelCSV = 1 << 20 // a variable so a test can compare chunked and single-pass reads

// readCSVHeader reads the header row of a CSV file into a table with its columns: names
// trimmed and upper-cased, none empty, none twice.
func readCSVHeader(r *csv.Reader) (*table, error) {
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &fileError{reason: schemas.RejectUnreadableFile, msg: "empty file: no header row"}
	}
	if err != nil {
		return nil, &fileError{reason: schemas.RejectUnreadableFile, msg: fmt.Sprintf("header row: %v", err)}
	}
	t := &table{index: map[string]int{}}
	for _, h := range header {
		h = strings.ToUpper(strings.TrimSpace(h))
		if h == "" {
			return nil, &fileError{reason: schemas.RejectUnreadableFile, msg: "header row has an empty column name"}
		}
		if _, dup := t.index[h]; dup {
			return nil, &fileError{reason: schemas.RejectUnreadableFile, field: safeColumn(h), msg: fmt.Sprintf("column %s appears twice in the header", safeColumn(h))}
		}
		t.addColumn(h)
	}
	return t, nil
}

func readCSV(b []byte) (*table, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	t, err := readCSVHeader(r)
	if err != nil {
		return nil, err
	}
	bodyAt := int(r.InputOffset())
	line := bytes.Count(b[:bodyAt], []byte{'\n'}) + 1 // the body's first line
	chunks := []csvChunk{{start: bodyAt, end: len(b), line: line}}
	if n := runtime.GOMAXPROCS(0); n > 1 && len(b)-bodyAt >= minParallelCSV {
		chunks = splitCSV(b, bodyAt, n, line)
	}
	parts := make([]csvPart, len(chunks))
	var wg sync.WaitGroup
	for i, c := range chunks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i] = readCSVRows(b[c.start:c.end], c.line, len(t.columns))
		}()
	}
	wg.Wait()
	if len(parts) > 1 {
		for _, p := range parts {
			if p.parseErrors > 0 || p.err != nil {
				// A row the CSV reader could not read: the split assumed every quote is
				// well placed, so the file is read again in one pass, which reports
				// exactly what the reader makes of it.
				parts = []csvPart{readCSVRows(b[bodyAt:], line, len(t.columns))}
				break
			}
		}
	}
	malformed, rows := 0, 0
	for _, p := range parts {
		if p.err != nil {
			return nil, p.err
		}
		rows += len(p.records)
	}
	t.records = make([]record, 0, rows)
	for _, p := range parts {
		for _, rec := range p.records {
			rec.row = len(t.records) + 1
			if rec.malformed != "" {
				if malformed++; malformed > maxMalformed {
					return nil, &fileError{reason: schemas.RejectUnreadableFile, msg: fmt.Sprintf("more than %d malformed rows", maxMalformed)}
				}
			}
			t.records = append(t.records, rec)
		}
	}
	return t, nil
}

// csvChunk is a run of whole rows of a CSV file: bytes [start, end), the first on line.
type csvChunk struct{ start, end, line int }

// csvPart is what reading one chunk gave.
type csvPart struct {
	records     []record // row numbers not yet set
	parseErrors int
	malformed   int
	err         error
}

// splitCSV cuts the rows of b from offset at into up to n chunks of about equal size.
// A chunk ends after a line break outside quotes: in a well-formed file, one preceded
// by an even number of quote characters (an escaped quote is two).
func splitCSV(b []byte, at, n, line int) []csvChunk {
	var chunks []csvChunk
	start, quotes := at, 0
	for k := 1; k < n; k++ {
		cut := at + (len(b)-at)*k/n
		if cut <= start {
			continue
		}
		quotes += bytes.Count(b[start:cut], []byte{'"'})
		for cut < len(b) {
			nl := bytes.IndexByte(b[cut:], '\n')
			if nl < 0 {
				cut = len(b)
				break
			}
			quotes += bytes.Count(b[cut:cut+nl], []byte{'"'})
			cut += nl + 1
			if quotes%2 == 0 {
				break
			}
		}
		if cut >= len(b) {
			break
		}
		chunks = append(chunks, csvChunk{start: start, end: cut, line: line})
		line += bytes.Count(b[start:cut], []byte{'\n'})
		start = cut
	}
	return append(chunks, csvChunk{start: start, end: len(b), line: line})
}

// readCSVRows reads the rows of a chunk whose first byte is on line first of the file.
func readCSVRows(b []byte, first, columns int) csvPart {
	var p csvPart
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	// Rows' values are copied out of the reader's reused slice into slabs: an
	// allocation per slabRows rows rather than one a row.
	r.ReuseRecord = true
	var slab []string
	// About 200 bytes a row, so the slice rarely grows.
	p.records = make([]record, 0, len(b)/200+1)
	for {
		from := r.InputOffset()
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		rec := record{}
		if err == nil {
			// (FieldPos panics on a row the reader could not read.)
			line, _ := r.FieldPos(0)
			rec.line = line + first - 1
		}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe) && pe.Line > pe.StartLine:
			// A quote left open: the reader read on, across line breaks, to where it
			// gave up (often the end of the file), so one unreadable "row" holds every
			// line after it. Each of those lines is counted and rejected as a row of
			// its own, so none is lost without a trace.
			p.parseErrors++
			if p.swallowed(b[from:r.InputOffset()], pe, first); p.malformed > maxMalformed {
				return p // garbage: the caller gives up on the file at this count anyway
			}
			continue
		case errors.As(err, &pe):
			p.parseErrors++
			rec.line = pe.StartLine + first - 1
			rec.malformed = fmt.Sprintf("line %d: %v", rec.line, pe.Err)
		case err != nil:
			p.err = &fileError{reason: schemas.RejectUnreadableFile, msg: fmt.Sprintf("row %d of the chunk from line %d: %v", len(p.records)+1, first, err)}
			return p
		case len(fields) != columns:
			rec.malformed = fmt.Sprintf("line %d: %d fields, header has %d", rec.line, len(fields), columns)
		default:
			if len(slab) < len(fields) {
				slab = make([]string, len(fields)*slabRows)
			}
			rec.values = slab[:len(fields):len(fields)]
			copy(rec.values, fields)
			slab = slab[len(fields):]
		}
		p.records = append(p.records, rec)
		if rec.malformed != "" {
			if p.malformed++; p.malformed > maxMalformed {
				break // garbage: the caller gives up on the file at this count anyway
			}
		}
	}
	return p
}

// swallowed adds the rows of the lines raw (the bytes the reader consumed for the
// unreadable record pe, in a chunk whose first byte is on line first): the line the
// record began on, then each further line that is not blank, all malformed.
func (p *csvPart) swallowed(raw []byte, pe *csv.ParseError, first int) {
	start, end := pe.StartLine+first-1, pe.Line+first-1
	for { // the empty lines the reader skipped before the record
		if rest, ok := bytes.CutPrefix(raw, []byte("\n")); ok {
			raw = rest
		} else if rest, ok := bytes.CutPrefix(raw, []byte("\r\n")); ok {
			raw = rest
		} else {
			break
		}
	}
	lines := bytes.Split(raw, []byte{'\n'})
	rows := 0
	for i, ln := range lines {
		if i == 0 || len(bytes.TrimSpace(ln)) > 0 {
			rows++
		}
	}
	what := fmt.Sprintf("lines %d-%d (%d rows) cannot be read: a quote opened on line %d is not closed as CSV requires (%v), so every line to %d is inside it",
		start, end, rows, start, pe.Err, end)
	for i, ln := range lines {
		if i > 0 && len(bytes.TrimSpace(ln)) == 0 {
			continue
		}
		line := start + i
		msg := fmt.Sprintf("line %d: %s", line, what)
		if i > 0 {
			msg = fmt.Sprintf("line %d: inside the quote left open on line %d; %s", line, start, what)
		}
		p.records = append(p.records, record{line: line, malformed: msg})
		p.malformed++
	}
}

func readJSONLines(b []byte) (*table, error) {
	t := &table{index: map[string]int{}}
	row, malformed := 0, 0
	for i, raw := range bytes.Split(b, []byte("\n")) {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		row++
		rec := record{row: row, line: i + 1}
		obj := map[string]any{}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			rec.malformed = fmt.Sprintf("line %d: not a JSON object: %v", i+1, err)
		} else if dec.More() {
			rec.malformed = fmt.Sprintf("line %d: more than one JSON value", i+1)
		} else {
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			set := map[string]bool{}
			for _, k := range keys {
				col := strings.ToUpper(strings.TrimSpace(k))
				if col == "" {
					// (As a CSV header with an empty column name: no field to name.)
					rec.malformed = fmt.Sprintf("line %d: a key is empty", i+1)
					break
				}
				if set[col] {
					rec.malformed = fmt.Sprintf("line %d: key %s appears twice", i+1, safeColumn(col))
					break
				}
				set[col] = true
				v, err := jsonScalar(obj[k])
				if err != nil {
					rec.malformed = fmt.Sprintf("line %d: key %s: %v", i+1, safeColumn(col), err)
					break
				}
				at, ok := t.index[col]
				if !ok {
					at = t.addColumn(col)
				}
				for len(rec.values) <= at {
					rec.values = append(rec.values, "")
				}
				rec.values[at] = v
			}
			if rec.malformed != "" {
				rec.values = nil
			}
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

// jsonScalar renders a JSON value as the cell text a CSV file would hold: a list of
// codes becomes "1;4", true/false become Y/N, null becomes empty.
func jsonScalar(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		if x {
			return "Y", nil
		}
		return "N", nil
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, err := jsonScalar(e)
			if err != nil {
				return "", err
			}
			if _, nested := e.([]any); nested {
				return "", errors.New("nested list")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ";"), nil
	}
	return "", fmt.Errorf("unsupported JSON value of type %T", v)
}

// safeCode renders an answer for a message only when it looks like a code, so a
// misplaced comment never reaches a rejection report.
func safeCode(v string) string {
	if len(v) == 0 || len(v) > 8 {
		return "(value withheld)"
	}
	for _, r := range v {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return "(value withheld)"
		}
	}
	return strconv.Quote(v)
}

// safeColumn renders a column name (a CSV header's or a JSON line's key, both the
// supplier's text) for a rejection or report only when it looks like one: upper-case
// letters, digits and underscores, at most 64 of them. Anything else (a name or an
// address typed as a key) is withheld.
func safeColumn(c string) string {
	if len(c) == 0 || len(c) > 64 {
		return "(column name withheld)"
	}
	for i := 0; i < len(c); i++ {
		if b := c[i]; !(b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_') {
			return "(column name withheld)"
		}
	}
	return c
}
