package lake

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/arrow-go/v18/parquet/schema"
	_ "github.com/duckdb/duckdb-go/v2"

	"icesurvey/schemas"
)

// The writer is checked against the one it replaced (refWriter, below: rows appended to
// Arrow record builders, each row group written by pqarrow's FileWriter), which is
// kept here as the definition of what a lake file of a layout is.

// refWriter is the lake's previous Parquet writer, as it was.
type refWriter[T any] struct {
	layout   *schemas.Layout
	schema   *arrow.Schema
	builder  *array.RecordBuilder
	fw       *pqarrow.FileWriter
	appends  []func(row reflect.Value)
	extras   []func(xs []string)
	ints     []int
	parsed   []int32
	rows     int
	total    int64
	rowGroup int
}

func newRefWriter[T any](w io.Writer, l *schemas.Layout, rowGroup int) (*refWriter[T], error) {
	sc := l.ArrowSchema()
	props := parquet.NewWriterProperties(writerOptions(l)...)
	fw, err := pqarrow.NewFileWriter(sc, w, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	r := &refWriter[T]{layout: l, schema: sc, builder: array.NewRecordBuilder(memory.DefaultAllocator, sc), fw: fw, rowGroup: rowGroup}
	r.compile()
	return r, nil
}

func (w *refWriter[T]) compile() {
	l := w.layout
	for i, c := range l.Columns {
		b := w.builder.Field(i)
		if j := l.ExtraIndex(i); j >= 0 {
			var add func(s string)
			switch c.Type {
			case schemas.Int32:
				ib := b.(*array.Int32Builder)
				add = func(string) { ib.Append(w.parsed[j]) }
				w.ints = append(w.ints, i)
				if w.parsed == nil {
					w.parsed = make([]int32, l.Extras())
				}
			default:
				sb := b.(*array.StringBuilder)
				add = sb.Append
			}
			w.extras = append(w.extras, func(xs []string) {
				if j >= len(xs) || xs[j] == "" {
					b.AppendNull()
					return
				}
				add(xs[j])
			})
			continue
		}
		idx := l.FieldIndex(i)
		var add func(f reflect.Value)
		switch c.Type {
		case schemas.String:
			sb := b.(*array.StringBuilder)
			add = func(f reflect.Value) { sb.Append(f.String()) }
		case schemas.Int32:
			ib := b.(*array.Int32Builder)
			add = func(f reflect.Value) { ib.Append(int32(f.Int())) }
		case schemas.Int64:
			ib := b.(*array.Int64Builder)
			add = func(f reflect.Value) { ib.Append(f.Int()) }
		case schemas.Float64:
			fb := b.(*array.Float64Builder)
			add = func(f reflect.Value) { fb.Append(f.Float()) }
		case schemas.Bool:
			bb := b.(*array.BooleanBuilder)
			add = func(f reflect.Value) { bb.Append(f.Bool()) }
		case schemas.Date:
			db := b.(*array.Date32Builder)
			add = func(f reflect.Value) { db.Append(arrow.Date32FromTime(*f.Addr().Interface().(*time.Time))) }
		case schemas.Timestamp:
			tb := b.(*array.TimestampBuilder)
			add = func(f reflect.Value) { tb.Append(arrow.Timestamp(f.Addr().Interface().(*time.Time).UnixMicro())) }
		}
		nullable := c.Nullable
		w.appends = append(w.appends, func(row reflect.Value) {
			f := row.FieldByIndex(idx)
			if nullable {
				if f.IsNil() {
					b.AppendNull()
					return
				}
				f = f.Elem()
			}
			add(f)
		})
	}
}

func (w *refWriter[T]) Write(row *T) error {
	v := reflect.ValueOf(row).Elem()
	if len(w.extras) > 0 {
		xs := w.layout.ExtraValues(v)
		for _, i := range w.ints {
			if j := w.layout.ExtraIndex(i); j < len(xs) && xs[j] != "" {
				n, err := strconv.ParseInt(xs[j], 10, 32)
				if err != nil {
					return fmt.Errorf("lake: %s row %d column %s: %q is not a whole number", w.layout.Name, w.total+1, w.layout.Columns[i].Name, xs[j])
				}
				w.parsed[j] = int32(n)
			}
		}
		for _, add := range w.extras {
			add(xs)
		}
	}
	for _, add := range w.appends {
		add(v)
	}
	w.rows++
	w.total++
	if w.rows >= w.rowGroup {
		return w.flush()
	}
	return nil
}

func (w *refWriter[T]) flush() error {
	if w.rows == 0 {
		return nil
	}
	rec := w.builder.NewRecordBatch()
	defer rec.Release()
	if err := w.fw.Write(rec); err != nil {
		return err
	}
	w.rows = 0
	return nil
}

func (w *refWriter[T]) Close() error {
	defer w.builder.Release()
	if err := w.flush(); err != nil {
		return err
	}
	return w.fw.Close()
}

// writeBoth writes rows with the writer and with refWriter, in row groups of rowGroup
// rows, and returns the two files. A row either writer rejects must be rejected by
// both, with the same error.
func writeBoth[T any](t *testing.T, l *schemas.Layout, rows []T, rowGroup int) (got, want []byte) {
	t.Helper()
	var gb, wb bytes.Buffer
	w, err := NewWriter[T](&gb, l)
	if err != nil {
		t.Fatal(err)
	}
	w.rowGroup = rowGroup
	r, err := newRefWriter[T](&wb, l, rowGroup)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		gerr, werr := w.Write(&rows[i]), r.Write(&rows[i])
		if fmt.Sprint(gerr) != fmt.Sprint(werr) {
			t.Fatalf("row %d: error %v, want %v", i, gerr, werr)
		}
	}
	if w.Rows() != r.total {
		t.Fatalf("Rows() = %d, want %d", w.Rows(), r.total)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return gb.Bytes(), wb.Bytes()
}

// sameFile checks that got, a file of layout l, is the file want is: the same Parquet
// schema and stored Arrow schema, key-value metadata, row groups and rows in each,
// column chunk settings (codec, dictionary, encodings, statistics), and values, read
// back by Read and by DuckDB.
func sameFile[T any](t *testing.T, l *schemas.Layout, got, want []byte) {
	t.Helper()
	gf, err := file.NewParquetReader(bytes.NewReader(got))
	if err != nil {
		t.Fatalf("open written file: %v", err)
	}
	defer gf.Close()
	wf, err := file.NewParquetReader(bytes.NewReader(want))
	if err != nil {
		t.Fatalf("open reference file: %v", err)
	}
	defer wf.Close()
	if g, w := printSchema(gf), printSchema(wf); g != w {
		t.Errorf("parquet schema\n%s\nwant\n%s", g, w)
	}
	gm, wm := gf.MetaData().KeyValueMetadata(), wf.MetaData().KeyValueMetadata()
	if !slices.Equal(gm.Keys(), wm.Keys()) || !slices.Equal(gm.Values(), wm.Values()) {
		t.Errorf("key-value metadata %v, want %v", gm, wm)
	}
	if gm.FindValue("ARROW:schema") == nil || *gm.FindValue("ARROW:schema") != *wm.FindValue("ARROW:schema") {
		t.Errorf("stored arrow schema differs")
	}
	if gf.NumRows() != wf.NumRows() || gf.NumRowGroups() != wf.NumRowGroups() {
		t.Fatalf("%d rows in %d row groups, want %d in %d", gf.NumRows(), gf.NumRowGroups(), wf.NumRows(), wf.NumRowGroups())
	}
	for g := range gf.NumRowGroups() {
		grg, wrg := gf.MetaData().RowGroup(g), wf.MetaData().RowGroup(g)
		if grg.NumRows() != wrg.NumRows() {
			t.Errorf("row group %d: %d rows, want %d", g, grg.NumRows(), wrg.NumRows())
		}
		for c := range grg.NumColumns() {
			gc, err := grg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			wc, err := wrg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if gs, ws := chunkSummary(t, gc), chunkSummary(t, wc); gs != ws {
				t.Errorf("row group %d column %s:\n%s\nwant\n%s", g, l.Columns[c].Name, gs, ws)
			}
		}
	}

	gr, err := readAll[T](got, l)
	if err != nil {
		t.Fatalf("read written file: %v", err)
	}
	wr, err := readAll[T](want, l)
	if err != nil {
		t.Fatalf("read reference file: %v", err)
	}
	if len(gr) != len(wr) {
		t.Fatalf("read %d rows, want %d", len(gr), len(wr))
	}
	for i := range gr {
		if !reflect.DeepEqual(gr[i], wr[i]) {
			t.Fatalf("row %d: %+v, want %+v", i, gr[i], wr[i])
		}
	}

	dir := t.TempDir()
	a, b := filepath.Join(dir, "got.parquet"), filepath.Join(dir, "want.parquet")
	if err := os.WriteFile(a, got, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, want, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if g, w := describe(t, db, a), describe(t, db, b); g != w {
		t.Errorf("duckdb types %s, want %s", g, w)
	}
	for _, p := range [][2]string{{a, b}, {b, a}} {
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM (SELECT * FROM read_parquet('%s') EXCEPT ALL SELECT * FROM read_parquet('%s'))", p[0], p[1])
		if err := db.QueryRow(q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("duckdb: %d rows of %s are not in %s", n, filepath.Base(p[0]), filepath.Base(p[1]))
		}
	}
	var n int64
	if err := db.QueryRow(fmt.Sprintf("SELECT count(*) FROM read_parquet('%s')", a)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != wf.NumRows() {
		t.Errorf("duckdb reads %d rows, want %d", n, wf.NumRows())
	}
}

func printSchema(pf *file.Reader) string {
	var b strings.Builder
	schema.PrintSchema(pf.MetaData().Schema.Root(), &b, 2)
	return b.String()
}

// chunkSummary is what a column chunk's metadata says of how it is stored, leaving out
// sizes and offsets.
func chunkSummary(t *testing.T, cc *metadata.ColumnChunkMetaData) string {
	t.Helper()
	var b strings.Builder
	encs := slices.Clone(cc.Encodings())
	slices.Sort(encs)
	// The page encoding statistics come from a map, in no order.
	var pages []string
	for _, p := range cc.EncodingStats() {
		pages = append(pages, fmt.Sprint(p))
	}
	slices.Sort(pages)
	fmt.Fprintf(&b, "%s values=%d codec=%s dictionary=%v encodings=%v pages=%v", cc.Type(), cc.NumValues(), cc.Compression(),
		cc.HasDictionaryPage(), encs, pages)
	set, err := cc.StatsSet()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, " statistics=%v", set)
	if set {
		st, err := cc.Statistics()
		if err != nil {
			t.Fatal(err)
		}
		enc, err := st.Encode()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, " %+v values=%d", enc, st.NumValues())
	}
	return b.String()
}

func describe(t *testing.T, db *sql.DB, path string) string {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf("DESCRIBE SELECT * FROM read_parquet('%s')", path))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(vals[0], " ", vals[1], " ", vals[2]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, ", ")
}

func readAll[T any](b []byte, l *schemas.Layout) ([]T, error) {
	var out []T
	err := Read[T](bytes.NewReader(b), l, func(t *T) error { out = append(out, *t); return nil })
	return out, err
}

// sizes are the row group sizes each layout is written in: one row group; several, the
// last short; several, the last full; one row a group.
func sizes(n int) []int { return []int{DefaultRowGroup, n / 3, n / 4, 1} }

// checkLayout writes rows of l in row groups of each size, and none, and checks each
// file against the reference writer's.
func checkLayout[T any](t *testing.T, l *schemas.Layout, rows []T) {
	if len(rows)%4 != 0 {
		t.Fatalf("%d rows: the row group of a quarter should end exactly at the end", len(rows))
	}
	for _, size := range sizes(len(rows)) {
		n := len(rows)
		if size == 1 {
			n = min(n, 40) // a row group a row is slow in the reference writer
		}
		t.Run(fmt.Sprintf("%s/%d-rows/groups-of-%d", l.Name, n, size), func(t *testing.T) {
			got, want := writeBoth(t, l, rows[:n], size)
			sameFile[T](t, l, got, want)
		})
	}
	t.Run(l.Name+"/no-rows", func(t *testing.T) {
		got, want := writeBoth[T](t, l, nil, 10)
		sameFile[T](t, l, got, want)
	})
}

var (
	day0 = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	at0  = time.Date(2026, 3, 10, 9, 30, 15, 123456000, time.UTC)
)

func TestWriterMatchesReferenceResponses(t *testing.T) {
	l := schemas.ResponseRowLayout()
	ext := l.ExtensionColumns()
	rnd := rand.New(rand.NewPCG(1, 2))
	var rows []schemas.ResponseRow
	for i := range 1200 {
		r := schemas.ResponseRow{
			ResponseID: fmt.Sprintf("R%06d", i), Wave: "W1", ICS: []string{"QMM", "QWE", ""}[i%3], LoadDate: day0,
			SurveyRecordID: fmt.Sprintf("S%08d", rnd.IntN(1e8)), RespondentType: []string{"patient", "carer"}[i%2],
			QuestionnaireVersion: "patient-2026.1", Channel: []string{"online", "paper", "phone", ""}[i%4],
			ReceivedAt: at0.Add(time.Duration(rnd.IntN(1e6)) * time.Millisecond), Complete: i%5 != 0,
			SourceSHA256: "5f0e0c6b0d3a4c1e9a7b2f8d6c4e1a3b5f0e0c6b0d3a4c1e9a7b2f8d6c4e1a3b",
		}
		// Answers of every length up to all the columns, each NULL, a code or (for
		// the text columns) several codes.
		if i%9 != 0 {
			r.Answers = make([]string, rnd.IntN(len(ext)+1))
			for j := range r.Answers {
				switch {
				case rnd.IntN(3) == 0:
				case ext[j].Type == schemas.Int32:
					r.Answers[j] = []string{"1", "2", "3", "4", "-7", "+3", "2147483647", "-2147483648", "0"}[rnd.IntN(9)]
				default:
					r.Answers[j] = []string{"1", "1;4", "2;3;5", "é;ü"}[rnd.IntN(4)]
				}
			}
		}
		rows = append(rows, r)
	}
	checkLayout(t, l, rows)
}

func TestWriterMatchesReferenceBadAnswer(t *testing.T) {
	// A row with an answer that is not a whole number is refused before anything of
	// it is written: the rows around it make the same file.
	l := schemas.ResponseRowLayout()
	ext := l.ExtensionColumns()
	var rows []schemas.ResponseRow
	for i := range 40 {
		ans := make([]string, len(ext))
		for j := range ans {
			if ext[j].Type == schemas.Int32 {
				ans[j] = strconv.Itoa(i % 5)
			} else {
				ans[j] = "x"
			}
		}
		if i%7 == 3 {
			// The last Int32 column, so every column before it would have been appended.
			for j := len(ext) - 1; j >= 0; j-- {
				if ext[j].Type == schemas.Int32 {
					ans[j] = []string{"3.5", "99999999999", "one", " 1"}[i%4]
					break
				}
			}
		}
		rows = append(rows, schemas.ResponseRow{ResponseID: fmt.Sprint(i), LoadDate: day0, ReceivedAt: at0, Answers: ans})
	}
	got, want := writeBoth(t, l, rows, 16)
	sameFile[schemas.ResponseRow](t, l, got, want)
	pf, err := file.NewParquetReader(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	if pf.NumRows() != 34 {
		t.Errorf("%d rows written, want 34", pf.NumRows())
	}
}

func TestWriterMatchesReferenceOutcomes(t *testing.T) {
	var rows []schemas.OutcomeEvent
	for i := range 2000 {
		rows = append(rows, schemas.OutcomeEvent{
			EventID: fmt.Sprintf("E%06d", i), Wave: "W1", ICS: "QMM", LoadDate: day0.AddDate(0, 0, i%3),
			SurveyRecordID: fmt.Sprintf("S%06d", i*7), Outcome: int32(1 + i%6), At: at0.Add(time.Duration(i) * time.Minute),
			Reason: []string{"", "", "moved", "deceased"}[i%4], SourceFile: "optouts.csv", SourceSHA256: "abc",
			ResponseID: []string{"", fmt.Sprintf("R%d", i)}[i%2],
		})
	}
	checkLayout(t, schemas.OutcomeEventLayout(), rows)
}

func TestWriterMatchesReferenceFreeText(t *testing.T) {
	var rows []schemas.FreeTextRow
	for i := range 2000 {
		rows = append(rows, schemas.FreeTextRow{
			ResponseID: fmt.Sprintf("R%06d", i), Wave: "W1", ICS: "QMM", LoadDate: day0, RespondentType: "patient",
			QuestionID: fmt.Sprintf("Q%d", i%5),
			Text:       []string{"", "Fine, thank you", "The \"nurse\"\nwas kind ✓", strings.Repeat("long ", i%50)}[i%4],
		})
	}
	checkLayout(t, schemas.FreeTextLayout(), rows)
}

func TestWriterMatchesReferenceSample(t *testing.T) {
	rnd := rand.New(rand.NewPCG(3, 4))
	var rows []schemas.SampleRecord
	for i := range 2000 {
		rows = append(rows, schemas.SampleRecord{
			SurveyRecordID: fmt.Sprintf("S%06d", i), WaveID: "W1", ICS: "QMM", NHSPseudonym: fmt.Sprintf("%064x", rnd.Uint64()),
			GPPracticeCode: fmt.Sprintf("P%03d", rnd.IntN(40)), Age: int32(60 + rnd.IntN(40)), AgeBand: "80+",
			Gender: []string{"1", "2", "9"}[i%3], Ethnicity: "A", EFIScore: []float64{0, -0.5, 0.125, math.MaxFloat64, rnd.Float64()}[i%5],
			EFIBand: "mild", RegistrationDate: time.Date(1930+i%90, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC),
			HasMobile: i%3 == 0, PostcodeDistrict: []string{"LS1", "", "YO10"}[i%3],
		})
	}
	checkLayout(t, schemas.SampleRecordLayout(), rows)
}

func TestWriterMatchesReferenceMailing(t *testing.T) {
	var rows []schemas.MailingEvent
	for i := range 2000 {
		rows = append(rows, schemas.MailingEvent{
			Reference: fmt.Sprintf("W1-QMM-%06d-invitation", i), WaveID: "W1", ICS: "QMM", SurveyRecordID: fmt.Sprintf("S%06d", i),
			Step: "invitation", Channel: []string{"letter", "sms"}[i%2],
			SentAt: time.Date(1969+i%3, 12, 31, 23, 59, 59, 999999000, time.UTC).Add(time.Duration(i) * time.Second), Result: "queued",
		})
	}
	checkLayout(t, schemas.MailingEventLayout(), rows)
}

func TestWriterMatchesReferenceNullable(t *testing.T) {
	// The repository's nullable fixed columns: a date (the DBS result's date of death,
	// and a reply's, beside a named int32 type) and, in the lake's own test row, a
	// string and a timestamp.
	var results []schemas.DBSResult
	var replies []schemas.DBSResponseRow
	var own []row
	for i := range 2000 {
		var died *time.Time
		if i%3 == 0 {
			d := time.Date(2025, 12, 1+i%28, 0, 0, 0, 0, time.UTC)
			died = &d
		}
		results = append(results, schemas.DBSResult{SurveyRecordID: fmt.Sprint(i), RequestID: "REQ1", TraceStatus: int32(20 + i%3),
			Deceased: died != nil, DateOfDeath: died, CheckedAt: at0})
		replies = append(replies, schemas.DBSResponseRow{UniqueReference: fmt.Sprint(i), NHSNumber: "", DateOfDeath: died,
			TraceStatus: schemas.DBSTraceStatus(30 + i%4)})
		r := row{ID: fmt.Sprint(i % 13), N: int32(i), Big: int64(i) << 33, F: float64(i) / 8, B: i%2 == 0, D: day0, TS: at0}
		if i%4 != 1 {
			s := []string{"", "x", "yy"}[i%3]
			r.Maybe = &s
		}
		if i%5 == 2 {
			when := at0.Add(time.Duration(-i) * time.Hour)
			r.When = &when
		}
		own = append(own, r)
	}
	checkLayout(t, schemas.DBSResultLayout(), results)
	checkLayout(t, schemas.DBSResponseLayout(), replies)
	checkLayout(t, schemas.LayoutOf[row]("lake_test_row"), own)
	// All NULL.
	for i := range own {
		own[i].Maybe, own[i].When = nil, nil
	}
	checkLayout(t, schemas.LayoutOf[row]("lake_test_row"), own[:400])
}

type dictRow struct {
	Code string  `col:"code"`
	Text string  `col:"text"`
	Note *string `col:"note"`
}

func TestWriterMatchesReferenceDictionaryLimits(t *testing.T) {
	// text's dictionary outgrows the dictionary page part way through the first row
	// group (the writer falls back to plain encoding), and code holds nothing but
	// empty strings.
	var rows []dictRow
	for i := range 12000 {
		r := dictRow{Text: fmt.Sprintf("%0100d", i)}
		if i%2 == 0 {
			n := fmt.Sprintf("%0200d", i)
			r.Note = &n
		}
		rows = append(rows, r)
	}
	l := schemas.LayoutOf[dictRow]("lake_test_dict")
	for _, size := range []int{DefaultRowGroup, 6000} {
		got, want := writeBoth(t, l, rows, size)
		sameFile[dictRow](t, l, got, want)
	}
}

func TestWriterIsDeterministic(t *testing.T) {
	// The columns of a row group are encoded side by side, in whatever order the
	// goroutines take them: the file is the same every time, and with any number of
	// goroutines.
	l := schemas.ResponseRowLayout()
	ext := l.ExtensionColumns()
	var rows []schemas.ResponseRow
	for i := range 3000 {
		ans := make([]string, len(ext))
		for j := range ans {
			if (i+j)%3 == 0 {
				continue
			}
			if ext[j].Type == schemas.Int32 {
				ans[j] = strconv.Itoa((i * j) % 7)
			} else {
				ans[j] = fmt.Sprint(i % 11)
			}
		}
		rows = append(rows, schemas.ResponseRow{ResponseID: fmt.Sprint(i), Wave: "W1", LoadDate: day0, ReceivedAt: at0.Add(time.Duration(i) * time.Second), Answers: ans})
	}
	var first []byte
	for run, encoders := range []int{runtime.GOMAXPROCS(0), runtime.GOMAXPROCS(0), 1, 2, 7, len(l.Columns)} {
		var b bytes.Buffer
		w, err := NewWriter[schemas.ResponseRow](&b, l)
		if err != nil {
			t.Fatal(err)
		}
		w.rowGroup = 700
		w.scratch = make([]scratch, encoders)
		for i := range rows {
			if err := w.Write(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = b.Bytes()
		} else if !bytes.Equal(b.Bytes(), first) {
			t.Fatalf("write %d (%d goroutines) differs from the first", run+1, encoders)
		}
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, fmt.Errorf("disk full")
	}
	return len(p), nil
}

func TestWriterReportsWriteErrors(t *testing.T) {
	l := schemas.OutcomeEventLayout()
	w, err := NewWriter[schemas.OutcomeEvent](&failingWriter{after: 100}, l)
	if err != nil {
		t.Fatal(err)
	}
	w.rowGroup = 10
	for i := range 25 {
		err = w.Write(&schemas.OutcomeEvent{EventID: fmt.Sprint(i), LoadDate: day0, At: at0})
		if err != nil {
			break
		}
	}
	if err == nil {
		err = w.Close()
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("a failing destination gave %v", err)
	}
}

type plainRow struct {
	N    int64  `col:"n,unique"`
	Text string `col:"text,unique"`
	Code *int32 `col:"code"`
}

func TestWriterMatchesReferencePageBoundaries(t *testing.T) {
	// n is written plain, 8 bytes a value, so its first page is full at 131,072
	// values; text's pages fill several times a row group.
	var rows []plainRow
	for i := range 131072 + 1000 {
		r := plainRow{N: int64(i) * 7919, Text: fmt.Sprintf("%040d", i)}
		if i%3 > 0 {
			c := int32(i % 100)
			r.Code = &c
		}
		rows = append(rows, r)
	}
	l := schemas.LayoutOf[plainRow]("lake_test_plain")
	for _, tc := range []struct{ rows, rowGroup int }{{131072, 131072}, {131073, 131072}, {131072 + 1000, 200000}, {131071, 131071}} {
		t.Run(fmt.Sprintf("%d-rows/groups-of-%d", tc.rows, tc.rowGroup), func(t *testing.T) {
			got, want := writeBoth(t, l, rows[:tc.rows], tc.rowGroup)
			sameFile[plainRow](t, l, got, want)
		})
	}
}

func TestWriterRefusesAnotherTypesLayout(t *testing.T) {
	// Rows are read at their fields' offsets in the layout's type: a row of another
	// type must not be.
	if _, err := NewWriter[dictRow](io.Discard, schemas.OutcomeEventLayout()); err == nil {
		t.Error("a writer of dictRow rows took the outcomes layout")
	}
}

func TestWriterUncompressed(t *testing.T) {
	// Uncompressed changes how the pages are stored, not what they hold: the rows read
	// back the same, and no column chunk is compressed.
	l := schemas.OutcomeEventLayout()
	var rows []schemas.OutcomeEvent
	for i := range 5000 {
		rows = append(rows, schemas.OutcomeEvent{EventID: fmt.Sprint("E", i), Wave: "W1", SurveyRecordID: fmt.Sprint("R", i%977), At: at0.Add(time.Duration(i) * time.Minute)})
	}
	var b bytes.Buffer
	w, err := NewWriter[schemas.OutcomeEvent](&b, l, Uncompressed())
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := readAll[schemas.OutcomeEvent](b.Bytes(), l)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("read back %d rows unlike the %d written", len(got), len(rows))
	}
	pf, err := file.NewParquetReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	for g := range pf.NumRowGroups() {
		rg := pf.MetaData().RowGroup(g)
		for c := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(c)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != compress.Codecs.Uncompressed {
				t.Errorf("row group %d column %s is %s", g, cc.PathInSchema(), cc.Compression())
			}
		}
	}
}
