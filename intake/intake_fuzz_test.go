package intake

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"icesurvey/schemas"
	"icesurvey/store"
)

// longNumber is a run of eight or more digits: a date, an NHS number or a phone
// number. No message in a report may carry one (rows in a fuzz input never reach it).
var longNumber = regexp.MustCompile(`[0-9]{8,}`)

// fuzzIntake runs the intake on a sample and a mailing file (keys say the format) and
// checks what the package promises whatever the input: a file that cannot be read is a
// *FileError naming it; otherwise every row is accounted for once, the counts add up,
// and every report line names its file, row, reason and disposition, and the field
// (but for a row whose width is wrong) without repeating a long number.
func fuzzIntake(t *testing.T, st store.Store, sampleKey, mailingKey string, sample, mailing []byte) {
	ctx := context.Background()
	if err := store.PutBytes(ctx, st, sampleKey, sample); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, mailingKey, mailing); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
	if err != nil {
		var fe *FileError
		switch {
		case errors.As(err, &fe):
			if fe.File != sampleKey && fe.File != mailingKey || fe.Reason == "" || fe.Message == "" || fe.Row < 0 {
				t.Fatalf("FileError does not name the file, reason and message: %+v", fe)
			}
			if longNumber.MatchString(fe.Message) {
				t.Fatalf("FileError message repeats a long number: %v", fe)
			}
		case errors.Is(err, ErrReconciliation), errors.Is(err, ErrInputChanged):
			t.Fatalf("intake defect: %v", err)
		default:
			t.Fatalf("error that is neither a FileError nor the store's: %v", err)
		}
		return
	}
	if res.RowsRead != res.Accepted+res.Excluded+res.Rejected {
		t.Fatalf("rows read %d != accepted %d + excluded %d + rejected %d", res.RowsRead, res.Accepted, res.Excluded, res.Rejected)
	}
	if res.MailingRowsRead != res.MailingUsed+res.MailingExcluded+res.MailingRejected || res.MailingUsed != res.Accepted {
		t.Fatalf("mailing rows read %d != used %d + excluded %d + rejected %d (accepted %d)",
			res.MailingRowsRead, res.MailingUsed, res.MailingExcluded, res.MailingRejected, res.Accepted)
	}
	sum := 0
	for _, n := range res.ByReason {
		sum += n
	}
	if sum != res.Excluded+res.Rejected {
		t.Fatalf("by reason %v sums to %d, excluded+rejected %d", res.ByReason, sum, res.Excluded+res.Rejected)
	}
	d := res.Declaration
	if d.Eligible != res.Accepted || d.RowsRead != res.RowsRead || d.Excluded != res.Excluded || d.Rejected != res.Rejected {
		t.Fatalf("declaration %+v disagrees with the result", d)
	}
	b, err := store.ReadAll(ctx, st, res.ReportKey)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("report is not CSV: %v", err)
	}
	if got := strings.Join(recs[0], ","); got != strings.Join(schemas.RejectionLayout().Names(), ",") {
		t.Fatalf("report header %q", got)
	}
	if len(recs)-1 != res.Findings || res.Findings < res.Excluded+res.Rejected {
		t.Fatalf("report has %d lines, %d findings, %d excluded+rejected", len(recs)-1, res.Findings, res.Excluded+res.Rejected)
	}
	for _, r := range recs[1:] {
		file, row, field, reason, disp, msg := r[0], r[1], r[3], r[4], r[5], r[6]
		n, err := strconv.Atoi(row)
		if disp == schemas.DispositionWarning {
			// A warning about the file as a whole: on the header's row, with a header
			// reason, and never a long number (a header name might be data).
			switch {
			case row != "1" || !strings.HasPrefix(reason, "HEADER_") && reason != NoteOtherSheets || msg == "":
				t.Fatalf("warning line %v", r)
			case longNumber.MatchString(msg):
				t.Fatalf("report message repeats a long number: %q", msg)
			}
			continue
		}
		switch {
		case file != schemas.FileSample && file != schemas.FileMailing:
			t.Fatalf("report line names file %q", file)
		case err != nil || n < 2:
			t.Fatalf("report line names row %q (the first data row is 2)", row)
		case reason == "" || msg == "":
			t.Fatalf("report line without reason or message: %v", r)
		case disp != schemas.DispositionRejected && disp != schemas.DispositionExcluded:
			t.Fatalf("report line disposition %q", disp)
		case field == "" && reason != ReasonRowMalformed:
			t.Fatalf("report line %v names no field", r)
		case disp == schemas.DispositionExcluded && !isExclusion(reason):
			t.Fatalf("excluded for %s, which is not an exclusion", reason)
		case longNumber.MatchString(msg):
			t.Fatalf("report message repeats a long number: %q", msg)
		}
	}
}

// memStore is an object store in memory, for fuzzing: the intake is the same, without
// the file store's fsync of every object (the spill files still go to a temporary
// directory, as they would beside an S3 store).
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}} }

func (m *memStore) Put(_ context.Context, key string, r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objs[key] = b
	return nil
}

func (m *memStore) Get(_ context.Context, key string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, store.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) Stat(_ context.Context, key string) (store.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return store.Info{}, fmt.Errorf("%s: %w", key, store.ErrNotExist)
	}
	return store.Info{Key: key, Size: int64(len(b))}, nil
}

func (m *memStore) List(_ context.Context, prefix string) ([]store.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Info
	for k, b := range m.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, store.Info{Key: k, Size: int64(len(b))})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objs, key)
	return nil
}

func (m *memStore) URL() string { return "mem://fuzz" }

// FuzzIntakeCSV feeds an arbitrary sample file and mailing file (CSV) to the whole
// intake, the first parser of what an ICS sends.
//
// Seeds: testdata/fuzz/FuzzIntakeCSV (a synthetic pair with faults and exclusions, an
// address abroad, and the nasty cases: BOM, CRLF, quoted line breaks, a bare quote, an
// unterminated quote, ragged rows, Latin-1, UTF-16, a missing column, a header only,
// blank lines, duplicate ids).
func FuzzIntakeCSV(f *testing.F) {
	s, m := goodRows(3)
	f.Add([]byte(csvText(sampleHeader, s)), []byte(csvText(mailingHeader, m)))
	st := newMemStore()
	f.Fuzz(func(t *testing.T, sample, mailing []byte) {
		fuzzIntake(t, st, sampleKey, mailingKey, sample, mailing)
	})
}

// workbook writes rows (CSV text, one line a row) as the only sheet of a minimal
// workbook, each cell a number when it reads as one and an inline string otherwise,
// the way a spreadsheet keeps what an ICS typed. It is written by hand rather than
// with excelize: under fuzzing instrumentation excelize's writer costs seconds a file.
func workbook(text []byte) ([]byte, bool) {
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	var sheet strings.Builder
	sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
	for row := 1; row <= 200; row++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false
		}
		fmt.Fprintf(&sheet, `<row r="%d">`, row)
		for col, v := range rec {
			if col >= 30 {
				break
			}
			cell, _ := excelize.CoordinatesToCellName(col+1, row)
			if _, err := strconv.ParseFloat(v, 64); err == nil && len(v) < 16 && !strings.ContainsAny(v, "xXeEnN+ ") {
				fmt.Fprintf(&sheet, `<c r="%s"><v>%s</v></c>`, cell, v)
				continue
			}
			var esc bytes.Buffer
			_ = xml.EscapeText(&esc, []byte(v))
			fmt.Fprintf(&sheet, `<c r="%s" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>`, cell, esc.String())
		}
		sheet.WriteString(`</row>`)
	}
	sheet.WriteString(`</sheetData></worksheet>`)
	parts := [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>` +
			`<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>` +
			`</Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>` +
			`</Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
			`<sheets><sheet name="Sample" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>` +
			`</Relationships>`},
		{"xl/worksheets/sheet1.xml", sheet.String()},
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p[0])
		if err != nil {
			return nil, false
		}
		if _, err := io.WriteString(w, p[1]); err != nil {
			return nil, false
		}
	}
	if err := zw.Close(); err != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// FuzzIntakeXLSX feeds a sample workbook to the intake beside a good mailing file.
// With cells false the input is the .xlsx file itself (a corrupt or truncated
// workbook); with cells true it is the rows of the sheet, written as a workbook with
// numeric and text cells (what a spreadsheet makes of dates, ages, codes).
//
// Seeds: testdata/fuzz/FuzzIntakeXLSX (synthetic workbooks, rows with dates as serial
// numbers and as text, a sheet with a gap, a zip that is not a workbook).
func FuzzIntakeXLSX(f *testing.F) {
	s, m := goodRows(3)
	f.Add([]byte(csvText(sampleHeader, s)), true)
	mailing := []byte(csvText(mailingHeader, m))
	st := newMemStore()
	const xlsxKey = "landing/2026-P1/QMM/sample.xlsx"
	f.Fuzz(func(t *testing.T, data []byte, cells bool) {
		if cells {
			var ok bool
			if data, ok = workbook(data); !ok {
				return
			}
		}
		fuzzIntake(t, st, xlsxKey, mailingKey, data, mailing)
	})
}

// FuzzCSVReader compares intake's CSV reader, tuned for speed, with encoding/csv on
// any input the standard reader reads without error: the same records, field for
// field. (Where encoding/csv refuses a file, intake's reader is more lenient, as a
// spreadsheet is, and must only not panic.) It also checks that each row number is
// the line its record starts on.
func FuzzCSVReader(f *testing.F) {
	f.Add([]byte("a,b,c\n1,\"x,y\",3\r\n\n\"multi\nline\",,\"q\"\"q\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := newCSVReader("f.csv", bytes.NewReader(data), io.NopCloser(nil))
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("newCSVReader: %v", err)
			}
			return
		}
		var got [][]string
		var rows []int
		for {
			fields, row, err := r.next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Row < 1 {
					t.Fatalf("next: %v", err)
				}
				return // intake refuses the file (not UTF-8, or a quote never closed)
			}
			rec := make([]string, len(fields))
			for i, fl := range fields {
				rec[i] = string(fl)
			}
			got = append(got, rec)
			rows = append(rows, row)
		}
		body := bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
		if !standardComparable(body) {
			return
		}
		cr := csv.NewReader(bytes.NewReader(body))
		cr.FieldsPerRecord = -1
		want, err := cr.ReadAll()
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/csv reads %d:\n got  %q\n want %q", len(got), len(want), got, want)
		}
		for i := range want {
			if strings.Join(got[i], "\x00") != strings.Join(want[i], "\x00") {
				t.Fatalf("record %d:\n got  %q\n want %q", i+1, got[i], want[i])
			}
		}
		cr = csv.NewReader(bytes.NewReader(body))
		cr.FieldsPerRecord = -1
		for i := range want {
			if _, err := cr.Read(); err != nil {
				t.Fatal(err)
			}
			if line, _ := cr.FieldPos(0); line != rows[i] {
				t.Fatalf("record %d is numbered row %d; it starts on line %d", i+1, rows[i], line)
			}
		}
	})
}

// standardComparable reports whether encoding/csv and intake's reader mean the same
// by the file, where they differ by design: intake reads a line of spaces as blank
// (encoding/csv as a record of one field), strips a carriage return at the end of
// every line (encoding/csv keeps a lone one), and reads the file as UTF-8 only.
func standardComparable(b []byte) bool {
	if !utf8.Valid(b) || bytes.Count(b, []byte("\r")) != bytes.Count(b, []byte("\r\n")) {
		return false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) > 0 && len(bytes.TrimSpace(line)) == 0 {
			return false
		}
	}
	return true
}
