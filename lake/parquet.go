// Package lake reads and writes the Parquet files of the analysis lake, the source of
// truth from which the warehouse is derived. Every file is written from a schemas
// layout, so its Arrow schema is the declared one and never inferred.
//
// Writers stream in row groups of bounded size, so memory does not grow with the file.
package lake

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/schemas"
	"icesurvey/store"
)

// DefaultRowGroup is the number of rows buffered before a row group is flushed.
const DefaultRowGroup = 64 * 1024

// Writer streams rows of T into one Parquet file.
type Writer[T any] struct {
	layout   *schemas.Layout
	schema   *arrow.Schema
	builder  *array.RecordBuilder
	fw       *pqarrow.FileWriter
	appends  []func(row reflect.Value)
	extras   []func(xs []string)
	ints     []int   // columns that are Int32 extension columns
	parsed   []int32 // the current row's Int32 extension values, by extra index
	rows     int
	total    int64
	rowGroup int
}

// writeOnly hides any Close method of the destination: pqarrow's FileWriter closes a
// sink that is an io.Closer, and the caller still needs the file afterwards.
type writeOnly struct{ w io.Writer }

func (o writeOnly) Write(p []byte) (int, error) { return o.w.Write(p) }

// NewWriter starts a Parquet file of layout l on w. Close finishes the file but leaves
// w open.
func NewWriter[T any](w io.Writer, l *schemas.Layout) (*Writer[T], error) {
	sc := l.ArrowSchema()
	props := parquet.NewWriterProperties(writerOptions(l)...)
	fw, err := pqarrow.NewFileWriter(sc, writeOnly{w}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("lake: start parquet %s: %w", l.Name, err)
	}
	w2 := &Writer[T]{
		layout:   l,
		schema:   sc,
		builder:  array.NewRecordBuilder(memory.DefaultAllocator, sc),
		fw:       fw,
		rowGroup: DefaultRowGroup,
	}
	w2.compile()
	return w2, nil
}

// compile prepares one appender per column, so writing a row walks no tags and boxes
// no values.
func (w *Writer[T]) compile() {
	l := w.layout
	for i, c := range l.Columns {
		b := w.builder.Field(i)
		if j := l.ExtraIndex(i); j >= 0 {
			var add func(s string)
			switch c.Type {
			case schemas.Int32:
				ib := b.(*array.Int32Builder)
				add = func(string) { ib.Append(w.parsed[j]) } // parsed, and checked, by Write
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

// writerOptions are the lake's Parquet settings for layout l: zstd at its fastest level
// (lake files are written on the load path and read by scans, and the denser levels
// cost more time than they save space), dictionary encoding and statistics, except for
// the layout's unique columns, whose dictionary would hold every value once.
func writerOptions(l *schemas.Layout) []parquet.WriterProperty {
	opts := []parquet.WriterProperty{
		parquet.WithCompression(compress.Codecs.Zstd),
		parquet.WithCompressionLevel(1),
		parquet.WithDictionaryDefault(true),
	}
	for _, c := range l.UniqueNames() {
		opts = append(opts, parquet.WithDictionaryFor(c, false), parquet.WithStatsFor(c, false))
	}
	return opts
}

// Write appends one row.
func (w *Writer[T]) Write(row *T) error {
	v := reflect.ValueOf(row).Elem()
	if len(w.extras) > 0 {
		xs := w.layout.ExtraValues(v)
		// Checked before anything is appended, so a bad value leaves no half row.
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

func (w *Writer[T]) flush() error {
	if w.rows == 0 {
		return nil
	}
	rec := w.builder.NewRecordBatch()
	defer rec.Release()
	if err := w.fw.Write(rec); err != nil {
		return fmt.Errorf("lake: write row group of %s: %w", w.layout.Name, err)
	}
	w.rows = 0
	return nil
}

// Rows is the number of rows written so far.
func (w *Writer[T]) Rows() int64 { return w.total }

// Close flushes the last row group and the footer. It does not close the underlying writer.
func (w *Writer[T]) Close() error {
	defer w.builder.Release()
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.fw.Close(); err != nil {
		return fmt.Errorf("lake: finish parquet %s: %w", w.layout.Name, err)
	}
	return nil
}

// Read streams every row of a Parquet file of layout l into fn. Columns are matched
// by name, so a file with extra columns still reads.
func Read[T any](r parquet.ReaderAtSeeker, l *schemas.Layout, fn func(*T) error) error {
	pf, err := file.NewParquetReader(r)
	if err != nil {
		return fmt.Errorf("lake: open parquet %s: %w", l.Name, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("lake: read parquet %s: %w", l.Name, err)
	}
	// Only the layout's columns are decoded: a reader of a few columns of a wide file
	// pays for those alone.
	rr, err := fr.GetRecordReader(context.Background(), projection(pf, l.Names()), nil)
	if err != nil {
		return fmt.Errorf("lake: read parquet %s: %w", l.Name, err)
	}
	defer rr.Release()
	for rr.Next() {
		rec := rr.RecordBatch()
		idx := make([]int, len(l.Columns))
		for i, c := range l.Columns {
			found := rec.Schema().FieldIndices(c.Name)
			if len(found) == 0 {
				if !c.Nullable {
					return fmt.Errorf("lake: parquet %s has no column %s", l.Name, c.Name)
				}
				idx[i] = -1
				continue
			}
			idx[i] = found[0]
		}
		for row := 0; row < int(rec.NumRows()); row++ {
			var t T
			p := reflect.ValueOf(&t)
			for i, c := range l.Columns {
				if idx[i] < 0 {
					continue
				}
				col := rec.Column(idx[i])
				if col.IsNull(row) {
					continue
				}
				var v any
				switch c.Type {
				case schemas.String:
					v = col.(*array.String).Value(row)
				case schemas.Int32:
					v = col.(*array.Int32).Value(row)
				case schemas.Int64:
					v = col.(*array.Int64).Value(row)
				case schemas.Float64:
					v = col.(*array.Float64).Value(row)
				case schemas.Bool:
					v = col.(*array.Boolean).Value(row)
				case schemas.Date:
					v = col.(*array.Date32).Value(row).ToTime().UTC()
				case schemas.Timestamp:
					v = time.UnixMicro(int64(col.(*array.Timestamp).Value(row))).UTC()
				}
				l.SetField(p, i, reflect.ValueOf(v))
			}
			if err := fn(&t); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("lake: read parquet %s: %w", l.Name, err)
	}
	return nil
}

// projection is the leaf column indices of the named columns present in a flat file.
func projection(pf *file.Reader, names []string) []int {
	sc := pf.MetaData().Schema
	var out []int
	for _, n := range names {
		if i := sc.ColumnIndexByName(n); i >= 0 {
			out = append(out, i)
		}
	}
	return out
}

// ScanStrings streams the named string columns of the Parquet object at key into fn,
// one row at a time (a NULL is ""), decoding no other column. The slice passed to fn
// is reused between rows.
func ScanStrings(ctx context.Context, s store.Store, key string, cols []string, fn func(row []string) error) error {
	return withLocalFile(ctx, s, key, func(f *os.File) error { return scanStrings(ctx, f, key, cols, fn) })
}

func scanStrings(ctx context.Context, f *os.File, key string, cols []string, fn func(row []string) error) error {
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("lake: open parquet %s: %w", key, err)
	}
	defer pf.Close()
	idx := projection(pf, cols)
	if len(idx) != len(cols) {
		return fmt.Errorf("lake: parquet %s lacks one of the columns %v", key, cols)
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("lake: read parquet %s: %w", key, err)
	}
	rr, err := fr.GetRecordReader(ctx, idx, nil)
	if err != nil {
		return fmt.Errorf("lake: read parquet %s: %w", key, err)
	}
	defer rr.Release()
	row := make([]string, len(cols))
	for rr.Next() {
		rec := rr.RecordBatch()
		arrs := make([]*array.String, len(cols))
		for i, c := range cols {
			found := rec.Schema().FieldIndices(c)
			a, ok := rec.Column(found[0]).(*array.String)
			if !ok {
				return fmt.Errorf("lake: parquet %s column %s is not a string column", key, c)
			}
			arrs[i] = a
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			for i, a := range arrs {
				row[i] = ""
				if !a.IsNull(r) {
					row[i] = a.Value(r)
				}
			}
			if err := fn(row); err != nil {
				return err
			}
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("lake: read parquet %s: %w", key, err)
	}
	return nil
}

// PutRows writes rows as one Parquet object at key. The file is built in a temporary
// file first, then stored with one atomic Put, so a retried write leaves one whole object.
func PutRows[T any](ctx context.Context, s store.Store, key string, l *schemas.Layout, rows []T) error {
	return PutRowGroups(ctx, s, key, l, rows, DefaultRowGroup)
}

// PutRowGroups is PutRows in row groups of rowGroup rows: a reader such as DuckDB scans
// a file's row groups in parallel, so a file loaded into the warehouse whole loads
// faster in several.
func PutRowGroups[T any](ctx context.Context, s store.Store, key string, l *schemas.Layout, rows []T, rowGroup int) error {
	return putStream[T](ctx, s, key, l, rowGroup, func(emit func(*T) error) error {
		for i := range rows {
			if err := emit(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// PutStream writes the rows produce emits as one Parquet object at key.
func PutStream[T any](ctx context.Context, s store.Store, key string, l *schemas.Layout, produce func(emit func(*T) error) error) error {
	return putStream(ctx, s, key, l, DefaultRowGroup, produce)
}

func putStream[T any](ctx context.Context, s store.Store, key string, l *schemas.Layout, rowGroup int, produce func(emit func(*T) error) error) error {
	if rowGroup <= 0 {
		return fmt.Errorf("lake: %s: row group of %d rows", key, rowGroup)
	}
	tmp, err := os.CreateTemp("", "ice-lake-*.parquet")
	if err != nil {
		return fmt.Errorf("lake: temp file for %s: %w", key, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	w, err := NewWriter[T](tmp, l)
	if err != nil {
		return err
	}
	w.rowGroup = rowGroup
	if err := produce(w.Write); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("lake: rewind %s: %w", key, err)
	}
	if err := s.Put(ctx, key, tmp); err != nil {
		return fmt.Errorf("lake: store %s: %w", key, err)
	}
	return nil
}

// GetRows reads every row of the Parquet object at key.
func GetRows[T any](ctx context.Context, s store.Store, key string, l *schemas.Layout) ([]T, error) {
	var out []T
	err := Scan[T](ctx, s, key, l, func(t *T) error { out = append(out, *t); return nil })
	return out, err
}

// Scan streams the rows of the Parquet object at key into fn.
func Scan[T any](ctx context.Context, s store.Store, key string, l *schemas.Layout, fn func(*T) error) error {
	return withLocalFile(ctx, s, key, func(f *os.File) error {
		if err := Read[T](f, l, fn); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
}

// withLocalFile calls fn with the object at key opened as a local file.
func withLocalFile(ctx context.Context, s store.Store, key string, fn func(*os.File) error) error {
	path, cleanup, err := LocalCopy(ctx, s, key)
	if err != nil {
		return err
	}
	defer cleanup()
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("lake: open %s: %w", key, err)
	}
	defer f.Close()
	return fn(f)
}

// LocalCopy gives a local file path holding the object at key (DuckDB and the Parquet
// reader need random access). For a file store it is the object itself.
func LocalCopy(ctx context.Context, s store.Store, key string) (path string, cleanup func(), err error) {
	if fs, ok := s.(*store.FileStore); ok {
		if _, err := fs.Stat(ctx, key); err != nil {
			return "", nil, err
		}
		return fs.Root() + "/" + key, func() {}, nil
	}
	rc, err := s.Get(ctx, key)
	if err != nil {
		return "", nil, err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "ice-copy-*.parquet")
	if err != nil {
		return "", nil, fmt.Errorf("lake: temp copy of %s: %w", key, err)
	}
	if _, err := io.Copy(tmp, rc); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", nil, fmt.Errorf("lake: copy %s: %w", key, err)
	}
	tmp.Close()
	return tmp.Name(), func() { os.Remove(tmp.Name()) }, nil
}
