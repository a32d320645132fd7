package intake

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"math/bits"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/xuri/excelize/v2"

	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// rowSource yields the data rows of one input file. The fields returned by next are
// only valid until the following call and must not be modified.
type rowSource interface {
	// next returns the next non-blank data row and its row number (header = 1), or
	// io.EOF after the last one.
	next() (fields [][]byte, row int, err error)
	// strictWidth reports whether every row must have exactly the header's number of
	// fields (CSV), rather than up to it (a spreadsheet omits trailing empty cells).
	strictWidth() bool
	close() error
}

// input is one opened input file: its header mapped onto a layout and its rows.
type input struct {
	key    string
	src    rowSource
	hdr    *header
	bytes  *passReader
	format string
}

// sum returns the hex SHA-256 of everything read so far (the whole file once the rows
// are exhausted); only a first pass takes it.
func (in *input) sum() string { return hex.EncodeToString(in.bytes.sha.Sum(nil)) }

// fingerprint is what a later pass over an input must find again: its size, its rows
// and its CRC-32C. The first pass also takes the SHA-256 that the audit trail and
// the declaration record; a later pass only needs to tell that nothing changed, and
// the hardware-accelerated CRC does that at a fraction of the cost.
type fingerprint struct {
	bytes int64
	rows  int
	crc   uint32
}

// fingerprint returns the fingerprint of what was read, once the rows are exhausted.
func (in *input) fingerprint(rows int) fingerprint {
	return fingerprint{bytes: in.bytes.n, rows: rows, crc: in.bytes.crc}
}

// Pass kinds for openInput.
const (
	firstPass = true  // SHA-256 and CRC-32C
	laterPass = false // CRC-32C only
)

// openInput opens key in the store, reads its header and checks it against layout l.
// dateCols names the columns an .xlsx date cell may appear in (converted to yyyymmdd).
// A first pass takes the file's SHA-256 as well as its fingerprint.
func openInput(ctx context.Context, st store.Store, key string, first bool, l *schemas.Layout, dateCols ...string) (*input, []headerNote, error) {
	if err := checkFormat(key); err != nil {
		return nil, nil, err
	}
	ext := strings.ToLower(path.Ext(key))
	rc, err := st.Get(ctx, key)
	if err != nil {
		return nil, nil, fmt.Errorf("intake: open %s: %w", key, err)
	}
	in := &input{key: key, bytes: &passReader{r: rc}}
	if first {
		in.bytes.sha = sha256.New()
	}
	var warnings []headerNote
	if ext == ".csv" {
		in.format = "csv"
		cr, err := newCSVReader(key, in.bytes, rc)
		if err != nil {
			rc.Close()
			return nil, nil, err
		}
		in.src = cr
	} else {
		in.format = "xlsx"
		xr, w, err := newXLSXReader(key, in.bytes, rc)
		if err != nil {
			return nil, nil, err
		}
		warnings = append(warnings, w...)
		in.src = xr
	}
	fields, _, err := in.src.next()
	if errors.Is(err, io.EOF) {
		in.src.close()
		return nil, nil, &FileError{File: key, Reason: FileEmpty, Message: "the file is empty: it has no header row"}
	}
	if err != nil {
		in.src.close()
		return nil, nil, err
	}
	h, w, err := mapHeader(key, fields, l)
	if err != nil {
		in.src.close()
		return nil, nil, err
	}
	warnings = append(warnings, w...)
	in.hdr = h
	if xr, ok := in.src.(*xlsxReader); ok {
		for _, name := range dateCols {
			if i := h.idx(name); i >= 0 {
				xr.dateCols = append(xr.dateCols, i)
			}
		}
	}
	if cr, ok := in.src.(*csvReader); ok {
		cr.cols = headerNames(h)
	}
	return in, warnings, nil
}

// readAhead has the rows read ahead in a goroutine of their own, for a pass whose
// per-row work is heavy enough to be worth overlapping with the reading. The caller's
// deferred in.src.close() must be taken after it (it stops the goroutine).
func (in *input) readAhead() { in.src = prefetch(in.src) }

// readAheadPersons is readAhead that also derives each row's pseudo.Person from its
// RECORD_ID (at idCol) under key, for wave and ics; the caller takes it with
// in.src.(*prefetchSource).person().
func (in *input) readAheadPersons(key []byte, wave, ics string, idCol int) {
	in.src = prefetchPersons(in.src, &personDeriver{keyed: pseudo.New(key), wave: wave, ics: ics, idCol: idCol})
}

// checkFormat refuses a key whose extension is not .csv or .xlsx.
func checkFormat(key string) error {
	ext := strings.ToLower(path.Ext(key))
	if !slices.Contains(schemas.IntakeFileExtensions, ext) {
		return &FileError{File: key, Reason: FileFormatUnsupported,
			Message: fmt.Sprintf("file extension %q is not supported; send .csv (UTF-8) or .xlsx", ext)}
	}
	return nil
}

// header maps a file's header row onto a layout.
type header struct {
	width int            // fields in the header row
	cols  map[string]int // layout column name → field index
}

func (h *header) idx(name string) int {
	if i, ok := h.cols[name]; ok {
		return i
	}
	return -1
}

// headerNote is a warning about an input file as a whole (its header, its worksheets):
// it goes to the intake's warnings ("file: message"), and to the report as a line of
// disposition "warning" on row 1. It holds no personal data.
type headerNote struct {
	field, reason, msg string
}

// Header warning reason codes (report lines of disposition "warning").
const (
	NoteUnknownColumn  = "HEADER_UNKNOWN_COLUMN"
	NoteUnnamedColumn  = "HEADER_UNNAMED_COLUMN"
	NoteOptionalAbsent = "HEADER_OPTIONAL_COLUMN_ABSENT"
	NoteOtherSheets    = "XLSX_OTHER_SHEETS"
)

// warnings returns notes as the intake's warnings about file key.
func noteWarnings(key string, notes []headerNote) []string {
	out := make([]string, len(notes))
	for i, n := range notes {
		out[i] = key + ": " + n.msg
	}
	return out
}

// exclusionFlags are the optional sample-file columns that exclude the people they
// mark (SPEC §3: type 1 opt-out, dissent), with what a record of an absent one is
// read as. Absent, they read as N, as the contract says; but a file that has one
// under another name would have the people it marks mailed.
var exclusionFlags = map[string]string{
	"TYPE1_OPT_OUT": "a type 1 opt-out",
	"DISSENT":       "dissent",
}

// mapHeader matches header names to the layout case-insensitively and in any order. A
// missing required column or a column named twice rejects the file; an unknown column
// is reported (a note) and ignored; an absent optional column reads as empty, and is
// reported, except that an absent exclusion flag with an unknown column that looks
// like it (TYPE_1_OPT_OUT for TYPE1_OPT_OUT) rejects the file: ignoring the column
// would mail the people it excludes.
func mapHeader(key string, fields [][]byte, l *schemas.Layout) (*header, []headerNote, error) {
	h := &header{width: len(fields), cols: map[string]int{}}
	var notes []headerNote
	var unknown []string
	seen := map[string]int{}
	for i, f := range fields {
		name := strings.ToUpper(strings.TrimSpace(string(f)))
		if name == "" {
			notes = append(notes, headerNote{"", NoteUnnamedColumn, fmt.Sprintf("column %d has no header name; it is ignored", i+1)})
			continue
		}
		if j, dup := seen[name]; dup {
			if _, ours := l.Column(name); ours {
				return nil, nil, &FileError{File: key, Row: 1, Field: name, Reason: FileHeaderDuplicate,
					Message: fmt.Sprintf("column %s appears twice in the header (columns %d and %d)", name, j+1, i+1)}
			}
			// Not a column of the contract: perhaps a file without its header row, whose
			// first row of data must not be repeated in a message.
			return nil, nil, &FileError{File: key, Row: 1, Reason: FileHeaderDuplicate,
				Message: fmt.Sprintf("columns %d and %d have the same header (is the header row missing?)", j+1, i+1)}
		}
		seen[name] = i
		if _, ok := l.Column(name); ok {
			h.cols[name] = i
		} else {
			unknown = append(unknown, name)
		}
	}
	var missing []string
	for _, name := range l.RequiredNames() {
		if _, ok := h.cols[name]; !ok {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		if e := otherDelimiter(key, fields, l); e != nil {
			return nil, nil, e
		}
		msg := fmt.Sprintf("required column %s is missing from the header", missing[0])
		if len(missing) > 1 {
			msg = fmt.Sprintf("required columns %s are missing from the header", strings.Join(missing, ", "))
		}
		if len(missing) == 1 {
			if u := lookAlike(missing[0], unknown); u != "" {
				msg += fmt.Sprintf(" (the header has %s: is it misspelt?)", headerName(u))
			}
		}
		return nil, nil, &FileError{File: key, Row: 1, Field: strings.Join(missing, ","), Reason: FileHeaderMissing, Message: msg}
	}
	absent := map[string]string{} // absent optional column → its look-alike, if any
	for _, c := range l.Columns {
		if _, ok := h.cols[c.Name]; ok {
			continue
		}
		u := lookAlike(c.Name, unknown)
		absent[c.Name] = u
		if what, flag := exclusionFlags[c.Name]; flag && u != "" {
			return nil, nil, &FileError{File: key, Row: 1, Field: c.Name, Reason: FileHeaderMisspelt,
				Message: fmt.Sprintf("the header has no %s column but has %s, which is not a column of the contract: ignored, it would read every record as not %s and the people it marks would be mailed; name the column %s and send the file again",
					c.Name, headerName(u), what, c.Name)}
		}
	}
	for _, name := range unknown {
		note := headerNote{"", NoteUnknownColumn, fmt.Sprintf("unknown column %s is ignored", headerName(name))}
		for _, c := range l.Columns {
			if absent[c.Name] == name && name != "" {
				note.msg = fmt.Sprintf("unknown column %s is ignored (is it %s misspelt? %s is absent, so it reads as empty)", headerName(name), c.Name, c.Name)
				break
			}
		}
		notes = append(notes, note)
	}
	for _, c := range l.Columns {
		if _, ok := absent[c.Name]; !ok {
			continue
		}
		msg := fmt.Sprintf("optional column %s is absent; read as empty", c.Name)
		if what, flag := exclusionFlags[c.Name]; flag {
			msg = fmt.Sprintf("optional column %s is absent: every record is read as N, nobody is excluded for %s", c.Name, what)
		}
		notes = append(notes, headerNote{c.Name, NoteOptionalAbsent, msg})
	}
	return h, notes, nil
}

// lookAlike returns the one of the unknown header names that looks like the layout
// column name, or "": the same letters and digits once anything else is dropped
// (TYPE_1_OPT_OUT, "Type 1 opt-out"), or those within two edits of them (TYPE1_OPTOUTS,
// DISENT).
func lookAlike(name string, unknown []string) string {
	want := alnum(name)
	for _, u := range unknown {
		got := alnum(u)
		if got == want || len(want) >= 5 && editDistance(got, want) <= 2 {
			return u
		}
	}
	return ""
}

// alnum is s with everything but ASCII letters and digits dropped.
func alnum(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// editDistance is the Levenshtein distance between two short ASCII strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// headerName is an unknown header name as a warning may quote it: a name is chosen
// by whoever made the file, so long runs of digits (an NHS number, a date of birth
// of a file whose first row is data) are masked and a long name is cut.
func headerName(name string) string {
	name = longDigits.ReplaceAllString(name, "[digits]")
	if utf8.RuneCountInString(name) > 40 {
		r := []rune(name)
		name = string(r[:40]) + "…"
	}
	return name
}

// otherDelimiter returns the error of a header whose columns are separated by a tab
// or a semicolon rather than a comma (a "Text (Tab delimited)" export, or a CSV saved
// where the comma is the decimal separator), or nil: one of its fields then splits on
// that character into names of the layout.
func otherDelimiter(key string, fields [][]byte, l *schemas.Layout) error {
	for _, d := range []struct {
		sep  string
		name string
	}{{"\t", "tab"}, {";", "semicolon"}} {
		for _, f := range fields {
			if !bytes.Contains(f, []byte(d.sep)) {
				continue
			}
			known := 0
			for _, name := range strings.Split(string(f), d.sep) {
				if _, ok := l.Column(strings.ToUpper(strings.TrimSpace(name))); ok {
					known++
				}
			}
			if known >= 2 {
				return &FileError{File: key, Row: 1, Reason: FileCSVDelimiter,
					Message: fmt.Sprintf("the header is %s-separated; the file must be comma-separated: save it as CSV UTF-8 and send it again", d.name)}
			}
		}
	}
	return nil
}

// field returns field i of a row with surrounding spaces removed, or nil when the row
// is too short or the column absent (i < 0).
func field(fields [][]byte, i int) []byte {
	if i < 0 || i >= len(fields) {
		return nil
	}
	return trimSpace(fields[i])
}

// trimSpace is bytes.TrimSpace with a fast path for the usual field: empty, or
// beginning and ending with a printable ASCII character, so nothing to trim (every
// byte TrimSpace trims is an ASCII space or control character, or starts or ends a
// multi-byte UTF-8 sequence).
func trimSpace(b []byte) []byte {
	if len(b) == 0 {
		return nil // as bytes.TrimSpace
	}
	if f, l := b[0], b[len(b)-1]; f > ' ' && f < utf8.RuneSelf && l > ' ' && l < utf8.RuneSelf {
		return b
	}
	return bytes.TrimSpace(b)
}

// view returns a string sharing b's memory, for calls that do not retain it.
func view(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// passReader counts and checksums what is read through it (and hashes it with
// SHA-256 on a first pass).
type passReader struct {
	r   io.Reader
	sha hash.Hash // nil on a later pass
	crc uint32
	n   int64
}

func (c *passReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if c.sha != nil {
			c.sha.Write(p[:n])
		}
		c.crc = crc32.Update(c.crc, castagnoli, p[:n])
		c.n += int64(n)
	}
	return n, err
}

// ---------------------------------------------------------------------------------
// CSV

// csvReader is a streaming RFC 4180 reader tuned for large files: unquoted rows are
// split in place without copying; quoted fields (with "" escapes and embedded line
// breaks) are unescaped into a reused buffer. CRLF and LF line ends and a UTF-8 byte
// order mark are accepted. Every row is checked to be valid UTF-8, and a row that is
// not stops the file with a FileError naming the row and column (a Latin-1 or
// Windows-1252 export would otherwise be silently garbled).
type csvReader struct {
	key    string
	br     *bufio.Reader
	closer io.Closer
	line   int // physical lines consumed
	buf    []byte
	ends   []int
	fields [][]byte
	cols   []string // header names, for error messages
	// unquoted is the line of the row last returned if it had no quotes.
	unquoted []byte
}

const csvBufferSize = 1 << 20

func newCSVReader(key string, r io.Reader, closer io.Closer) (*csvReader, error) {
	br := bufio.NewReaderSize(r, csvBufferSize)
	bom, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("intake: read %s: %w", key, err)
	}
	switch {
	case bytes.HasPrefix(bom, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
	case bytes.HasPrefix(bom, []byte{0xFF, 0xFE}), bytes.HasPrefix(bom, []byte{0xFE, 0xFF}):
		return nil, &FileError{File: key, Row: 1, Reason: FileEncodingUTF16,
			Message: "the file is UTF-16 (\"Unicode text\"); save it as CSV UTF-8"}
	}
	return &csvReader{key: key, br: br, closer: closer}, nil
}

func (r *csvReader) strictWidth() bool { return true }

func (r *csvReader) close() error { return r.closer.Close() }

// maxLineBytes bounds one physical line (and one record, quoted line breaks and all):
// no row of either file comes near it, so a longer one is a broken or hostile file,
// and it is refused without being read into memory (the reader's buffer is this size).
const maxLineBytes = csvBufferSize

// readLine returns the next physical line without its line end. The slice may point
// into the bufio buffer and is valid until the next read. A line longer than
// maxLineBytes fails the file with a FileError naming its row (and, where it can tell,
// its column), and one of a header line with a carriage return inside it says the lines
// end with CR only.
func (r *csvReader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, r.tooLong(line)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("intake: read %s: %w", r.key, err)
	}
	if len(line) == 0 && err != nil {
		return nil, io.EOF
	}
	r.line++
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if r.line == 1 && bytes.IndexByte(line, '\r') >= 0 {
		return nil, crOnly(r.key)
	}
	return line, nil
}

// crOnly is the error of a file whose lines end with a carriage return alone.
func crOnly(key string) error {
	return &FileError{File: key, Row: 1, Reason: FileCSVLineEnds,
		Message: "the lines end with CR only (old Mac line ends, as Excel's \"CSV (Macintosh)\" writes them), so the file reads as one line; save it as CSV UTF-8 and send it again"}
}

// tooLong is the error of a line longer than maxLineBytes, of which the buffer holds
// the first part. It says which column the line outgrows the limit in, when the part
// has no quotes (so its commas are separators).
func (r *csvReader) tooLong(part []byte) error {
	row := r.line + 1
	if row == 1 && bytes.IndexByte(part, '\r') >= 0 {
		return crOnly(r.key)
	}
	e := &FileError{File: r.key, Row: row, Reason: FileLineTooLong,
		Message: fmt.Sprintf("row %d is longer than %d MiB; no row of the file comes near that: is a field filled with something other than its value?", row, maxLineBytes>>20)}
	if bytes.IndexByte(part, '"') < 0 {
		i := bytes.Count(part, []byte{','})
		col := fmt.Sprintf("column %d", i+1)
		if i < len(r.cols) && r.cols[i] != "" {
			col, e.Field = r.cols[i], r.cols[i]
		}
		e.Message = fmt.Sprintf("row %d is longer than %d MiB, in %s; no row of the file comes near that: is the field filled with something other than its value?", row, maxLineBytes>>20, col)
	}
	return e
}

func (r *csvReader) next() ([][]byte, int, error) {
	for {
		line, err := r.readLine()
		if err != nil {
			return nil, 0, err
		}
		start := r.line
		if len(bytes.TrimSpace(line)) == 0 {
			continue // blank line: not a record
		}
		var quoted, ascii bool
		r.unquoted = nil
		if r.fields, quoted, ascii = splitUnquoted(line, r.fields[:0]); !quoted {
			// The fields of an unquoted row are split at ASCII commas, which never
			// fall inside a UTF-8 sequence: the row is valid when the line is, so
			// only a row that is not needs checking field by field.
			if ascii || utf8.Valid(line) {
				r.unquoted = line
				return r.fields, start, nil
			}
		} else if err := r.parseQuoted(line, start); err != nil {
			return nil, 0, err
		}
		if err := r.checkUTF8(start); err != nil {
			return nil, 0, err
		}
		return r.fields, start, nil
	}
}

// SWAR constants: a byte repeated in each of the 8 bytes of a word.
const (
	swarLow7  = 0x7f7f7f7f7f7f7f7f
	swarHigh  = 0x8080808080808080
	swarComma = 0x2c2c2c2c2c2c2c2c
	swarQuote = 0x2222222222222222
)

// swarMatch returns a word with the high bit set in exactly the bytes of x that
// equal the byte repeated in pat (no false positives: no carry crosses a byte).
func swarMatch(x, pat uint64) uint64 {
	y := x ^ pat
	return ^(((y & swarLow7) + swarLow7) | y) & swarHigh
}

// splitUnquoted splits line at its commas into fields (appended to fields[:0]),
// eight bytes at a time. It stops, reporting quoted, at the first double quote (the
// line is then parsed by parseQuoted); ascii reports that the line has no byte
// outside ASCII, so it is valid UTF-8.
func splitUnquoted(line []byte, fields [][]byte) (_ [][]byte, quoted, ascii bool) {
	fields = fields[:0]
	start, i := 0, 0
	var or uint64
	for ; i+8 <= len(line); i += 8 {
		x := le.Uint64(line[i:])
		or |= x
		if swarMatch(x, swarQuote) != 0 {
			return fields, true, false
		}
		for m := swarMatch(x, swarComma); m != 0; m &= m - 1 {
			j := i + bits.TrailingZeros64(m)>>3
			fields = append(fields, line[start:j])
			start = j + 1
		}
	}
	for ; i < len(line); i++ {
		switch c := line[i]; c {
		case ',':
			fields = append(fields, line[start:i])
			start = i + 1
		case '"':
			return fields, true, false
		default:
			or |= uint64(c)
		}
	}
	return append(fields, line[start:]), false, or&swarHigh == 0
}

// unquotedLine returns the line of the row next last returned when that row had no
// quotes: its fields are then the line's comma-separated parts (nil otherwise).
func (r *csvReader) unquotedLine() []byte { return r.unquoted }

// parseQuoted splits a record that contains quotes into r.fields, reading further
// lines while a quoted field is open.
func (r *csvReader) parseQuoted(line []byte, start int) error {
	r.buf, r.ends = r.buf[:0], r.ends[:0]
	for {
		// At the start of a field.
		i := 0
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i < len(line) && line[i] == '"' {
			line = line[i+1:]
			for {
				q := bytes.IndexByte(line, '"')
				if q < 0 {
					// The quoted field runs on to the next line.
					r.buf = append(r.buf, line...)
					r.buf = append(r.buf, '\n')
					if len(r.buf) > maxLineBytes {
						return &FileError{File: r.key, Row: start, Reason: FileCSVMalformed,
							Message: fmt.Sprintf("a quoted field opened on row %d runs on for more than %d MiB (is a closing quote missing?)", start, maxLineBytes>>20)}
					}
					next, err := r.readLine()
					if errors.Is(err, io.EOF) {
						return &FileError{File: r.key, Row: start, Reason: FileCSVMalformed,
							Message: fmt.Sprintf("a quoted field opened on row %d is never closed", start)}
					}
					if err != nil {
						return err
					}
					line = next
					continue
				}
				r.buf = append(r.buf, line[:q]...)
				line = line[q+1:]
				if len(line) > 0 && line[0] == '"' { // "" is an escaped quote
					r.buf = append(r.buf, '"')
					line = line[1:]
					continue
				}
				break
			}
			// After the closing quote, anything up to the next comma is kept as is
			// (lenient, like a spreadsheet), trailing spaces dropped later by TrimSpace:
			// the rest of the field is read as an unquoted one.
		}
		// Unquoted field (or the rest of a quoted one): a stray quote inside it is literal.
		c := bytes.IndexByte(line, ',')
		if c < 0 {
			r.buf = append(r.buf, line...)
			r.ends = append(r.ends, len(r.buf))
			break
		}
		r.buf = append(r.buf, line[:c]...)
		r.ends = append(r.ends, len(r.buf))
		line = line[c+1:]
	}
	r.fields = r.fields[:0]
	prev := 0
	for _, e := range r.ends {
		r.fields = append(r.fields, r.buf[prev:e])
		prev = e
	}
	return nil
}

func (r *csvReader) checkUTF8(row int) error {
	for i, f := range r.fields {
		if utf8.Valid(f) {
			continue
		}
		col := fmt.Sprintf("column %d", i+1)
		fieldName := ""
		if i < len(r.cols) && r.cols[i] != "" {
			col, fieldName = r.cols[i], r.cols[i]
		}
		bad := f[firstInvalidUTF8(f)]
		return &FileError{File: r.key, Row: row, Field: fieldName, Reason: FileEncodingNotUTF8,
			Message: fmt.Sprintf("row %d, %s is not valid UTF-8 (byte 0x%02X); the file looks like Latin-1/Windows-1252 — save it as CSV UTF-8 and send it again", row, col, bad)}
	}
	return nil
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return 0
}

// ---------------------------------------------------------------------------------
// XLSX

// xlsxReader reads the first worksheet of a workbook with excelize's streaming row
// iterator, taking raw cell values (not display formats). A date cell in a date column
// (a serial day number or an ISO date) is turned into yyyymmdd.
type xlsxReader struct {
	key      string
	f        *excelize.File
	rows     *excelize.Rows
	row      int
	sheet    string
	date1904 bool
	dateCols []int
	fields   [][]byte
}

// maxXLSXBytes bounds the workbook read into memory (a zip needs random access).
const maxXLSXBytes = 512 << 20

func newXLSXReader(key string, r io.Reader, closer io.Closer) (*xlsxReader, []headerNote, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxXLSXBytes+1))
	closer.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("intake: read %s: %w", key, err)
	}
	if len(data) > maxXLSXBytes {
		return nil, nil, &FileError{File: key, Reason: FileXLSXUnreadable,
			Message: fmt.Sprintf("workbook is larger than %d MiB; send the file as CSV", maxXLSXBytes>>20)}
	}
	if err := checkXLSXSizes(key, data); err != nil {
		return nil, nil, err
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxXLSXUnpacked})
	if err != nil {
		return nil, nil, &FileError{File: key, Reason: FileXLSXUnreadable,
			Message: "the workbook cannot be opened as .xlsx (" + libraryReason(err) + ")"}
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		f.Close()
		return nil, nil, &FileError{File: key, Reason: FileEmpty, Message: "the workbook has no worksheet"}
	}
	var warnings []headerNote
	if len(sheets) > 1 {
		warnings = append(warnings, headerNote{"", NoteOtherSheets, fmt.Sprintf("only the first worksheet (%q) is read; %d other sheets are ignored", headerName(sheets[0]), len(sheets)-1)})
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		f.Close()
		return nil, nil, &FileError{File: key, Reason: FileXLSXUnreadable, Message: "the first worksheet cannot be read (" + libraryReason(err) + ")"}
	}
	x := &xlsxReader{key: key, f: f, rows: rows, sheet: sheets[0]}
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		x.date1904 = *props.Date1904
	}
	return x, warnings, nil
}

// Bounds on what a workbook may unpack to. excelize reads every part but a large
// worksheet or shared-strings table into a buffer of the size the zip directory
// declares, so a corrupt or hostile file of a few hundred bytes could otherwise make it
// allocate gigabytes; the sizes are checked before excelize sees the file. (The zip
// reader refuses a part that inflates past its declared size.)
const (
	maxXLSXPart     = 64 << 20 // any part but a worksheet or the shared strings
	maxXLSXUnpacked = 4 << 30  // the whole workbook
)

func checkXLSXSizes(key string, data []byte) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return &FileError{File: key, Reason: FileXLSXUnreadable,
			Message: "the workbook cannot be opened as .xlsx (" + libraryReason(err) + ")"}
	}
	var total uint64
	for _, zf := range zr.File {
		name := strings.ToLower(strings.ReplaceAll(zf.Name, "\\", "/"))
		large := strings.HasPrefix(name, "xl/worksheets/sheet") || name == "xl/sharedstrings.xml"
		size := zf.UncompressedSize64
		if size > maxXLSXUnpacked || total+size > maxXLSXUnpacked || !large && size > maxXLSXPart {
			return &FileError{File: key, Reason: FileXLSXUnreadable,
				Message: fmt.Sprintf("the workbook unpacks to more than this intake reads (%d MiB a part, %d GiB in all); send the file as CSV", maxXLSXPart>>20, maxXLSXUnpacked>>30)}
		}
		total += size
	}
	return nil
}

func (x *xlsxReader) strictWidth() bool { return false }

func (x *xlsxReader) close() error {
	x.rows.Close()
	return x.f.Close()
}

func (x *xlsxReader) next() ([][]byte, int, error) {
	for x.rows.Next() {
		x.row++
		cols, err := x.rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, 0, &FileError{File: x.key, Row: x.row, Reason: FileXLSXUnreadable, Message: "the row cannot be read (" + libraryReason(err) + ")"}
		}
		blank := true
		x.fields = x.fields[:0]
		for _, c := range cols {
			if strings.TrimSpace(c) != "" {
				blank = false
			}
			x.fields = append(x.fields, unsafe.Slice(unsafe.StringData(c), len(c)))
		}
		if blank {
			continue
		}
		for _, i := range x.dateCols {
			if i < len(x.fields) {
				x.fields[i] = x.excelDate(x.fields[i], i)
			}
		}
		return x.fields, x.row, nil
	}
	if err := x.rows.Error(); err != nil {
		return nil, 0, &FileError{File: x.key, Row: x.row + 1, Reason: FileXLSXUnreadable, Message: libraryReason(err)}
	}
	return nil, 0, io.EOF
}

// excelDate turns a date cell's raw value into yyyymmdd: a serial day number (Excel
// stores dates as numbers; 1–99999 covers 1900–2173) or an ISO 8601 date from a
// date-typed cell. Text cells are never converted — "020106" typed as text is a
// wrongly formatted date, not serial day 20106 — so anything else (notably a text cell
// already holding yyyymmdd) is returned unchanged for the normal checks.
func (x *xlsxReader) excelDate(b []byte, col int) []byte {
	s := strings.TrimSpace(string(b))
	if len(s) == 0 || len(s) == 8 && !strings.ContainsAny(s, ".-") {
		return b // empty, or already yyyymmdd
	}
	// Only now, for the rare value that might be a date, ask the cell's type.
	axis, err := excelize.CoordinatesToCellName(col+1, x.row)
	if err != nil {
		return b
	}
	switch ct, err := x.f.GetCellType(x.sheet, axis); {
	case err != nil:
		return b
	case ct != excelize.CellTypeDate && ct != excelize.CellTypeNumber && ct != excelize.CellTypeUnset:
		return b // a text cell: keep what the ICS typed
	}
	if len(s) >= 10 && s[4] == '-' && s[7] == '-' {
		if t, err := time.Parse("2006-01-02", s[:10]); err == nil {
			return []byte(t.Format("20060102"))
		}
		return b
	}
	if len(s) > 12 {
		return b
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 1 || v >= 100000 || v != math.Trunc(v) {
		return b
	}
	t, err := excelize.ExcelDateToTime(v, x.date1904)
	if err != nil {
		return b
	}
	return []byte(t.Format("20060102"))
}

// longDigits is a run of digits long enough to be an NHS number, a date of birth or a
// phone number.
var longDigits = regexp.MustCompile(`[0-9]{6,}`)

// libraryReason is a spreadsheet library's error as an intake message may quote it: the
// library echoes what it failed to parse (a cell, an XML name), which may be personal
// data, so long runs of digits are masked (found by FuzzIntakeXLSX).
func libraryReason(err error) string {
	return longDigits.ReplaceAllString(err.Error(), "[digits]")
}
