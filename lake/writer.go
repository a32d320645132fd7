package lake

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/schemas"
)

// A row is appended to plain Go column buffers (see column.go), which the Parquet
// column writers take as they are, with no Arrow builder or record between; they are
// reused from one row group to the next, so a steady-state write allocates almost
// nothing a row. A full row group is encoded a column per goroutine, on every CPU.

// Writer streams rows of T into one Parquet file.
type Writer[T any] struct {
	layout *schemas.Layout
	out    *sink
	pw     *file.Writer
	cols   []*column
	// fixed appends a row's declared columns. extras are the extension columns, by
	// position in the extra field (at offset extraOffset in T), and ints the positions
	// of the Int32 ones, whose values parsed holds for the row being written.
	fixed       []func(row unsafe.Pointer)
	extraOffset uintptr
	extras      []*column
	ints        []int
	parsed      []int32
	scratch     []scratch // one for each encoding goroutine (see writeGroup)
	err         error     // why the file could not be written (see flush)
	rows        int
	total       int64
	rowGroup    int
}

// sink hides any Close method of the destination (file.Writer closes a sink that is an
// io.Closer, and the caller still needs the file afterwards) and keeps the first write
// error, which file.Writer does not always report (its Close drops it).
type sink struct {
	w   io.Writer
	err error
}

func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, err
}

// WriterOption changes a Writer's Parquet settings from the lake's (writerOptions).
type WriterOption func(*[]parquet.WriterProperty)

// Uncompressed writes the file's pages uncompressed: for a short-lived local file that
// is read on the same machine and then deleted (a linkage build's staged relations),
// where compressing costs more than the bytes it saves.
func Uncompressed() WriterOption {
	return func(opts *[]parquet.WriterProperty) {
		*opts = append(*opts, parquet.WithCompression(compress.Codecs.Uncompressed))
	}
}

// NewWriter starts a Parquet file of layout l on w. Close finishes the file but leaves
// w open.
func NewWriter[T any](w io.Writer, l *schemas.Layout, options ...WriterOption) (*Writer[T], error) {
	w2 := &Writer[T]{
		layout:   l,
		out:      &sink{w: w},
		scratch:  make([]scratch, min(runtime.GOMAXPROCS(0), len(l.Columns))),
		rowGroup: DefaultRowGroup,
	}
	if err := w2.compile(); err != nil {
		return nil, err
	}
	opts := writerOptions(l)
	for _, o := range options {
		o(&opts)
	}
	props := parquet.NewWriterProperties(opts...)
	pw, err := NewParquetFileWriter(l.ArrowSchema(), w2.out, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("lake: start parquet %s: %w", l.Name, err)
	}
	w2.pw = pw
	return w2, nil
}

// writerOptions are the lake's Parquet settings for layout l: zstd at its fastest level
// (lake files are written on the load path and read by scans, and the denser levels
// cost more time than they save space), dictionary encoding and statistics, except for
// the layout's unique columns, whose dictionary would hold every value once.
//
// Data pages keep the default size. The intake's smaller pages shorten the serial
// close of a row group whose columns were encoded side by side, but here a column's
// last page is ended on its encoding goroutine (see column.write), so they would gain
// nothing, and zstd does worse on smaller pages of ids and hex digests.
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

// NewParquetFileWriter sets up a Parquet file of Arrow schema sc as pqarrow.NewFileWriter
// does with pqarrow.WithStoreSchema (the Parquet schema from the Arrow one, and the
// Arrow schema stored in the file's metadata, which the lake's readers use to read a
// column back as its declared type), but as a plain file.Writer, whose buffered row
// groups let a row group's columns be encoded side by side. The Arrow schema is stored
// whatever arrowProps says.
func NewParquetFileWriter(sc *arrow.Schema, w io.Writer, props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties) (*file.Writer, error) {
	pqschema, err := pqarrow.ToParquet(sc, props, arrowProps)
	if err != nil {
		return nil, err
	}
	meta := make(metadata.KeyValueMetadata, 0)
	md := sc.Metadata()
	for i := range md.Len() {
		if err := meta.Append(md.Keys()[i], md.Values()[i]); err != nil {
			return nil, err
		}
	}
	var stored bytes.Buffer
	iw := ipc.NewWriter(&stored, ipc.WithSchema(sc), ipc.WithAllocator(props.Allocator()))
	if err := iw.Close(); err != nil {
		return nil, fmt.Errorf("serialise arrow schema: %w", err)
	}
	if err := meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(stored.Bytes())); err != nil {
		return nil, err
	}
	return file.NewParquetWriter(w, pqschema.Root(), file.WithWriterProps(props), file.WithWriteMetadata(meta)), nil
}

// compile prepares the columns and one appender per declared column, so writing a row
// walks no tags and boxes no values. A column is read from a row at its field's offset
// in T, which reflection finds here once: reading a row through reflect.Value's
// checks and calls took about a third of the time its columns took to append.
func (w *Writer[T]) compile() error {
	l := w.layout
	rt := reflect.TypeFor[T]()
	if rt != l.GoType() {
		return fmt.Errorf("lake: layout %s is of %s, not %s", l.Name, l.GoType(), rt)
	}
	w.extras = make([]*column, l.Extras())
	for i, c := range l.Columns {
		col := &column{name: c.Name, typ: c.Type, nullable: c.Nullable}
		w.cols = append(w.cols, col)
		if j := l.ExtraIndex(i); j >= 0 {
			w.extras[j] = col
			if c.Type == schemas.Int32 {
				w.ints = append(w.ints, j)
			}
			continue
		}
		off, ft, err := fieldOffset(rt, l.FieldIndex(i))
		if err != nil {
			return fmt.Errorf("lake: layout %s column %s: %w", l.Name, c.Name, err)
		}
		if c.Nullable {
			if ft.Kind() != reflect.Pointer {
				return fmt.Errorf("lake: layout %s column %s: nullable, but a %s", l.Name, c.Name, ft)
			}
			ft = ft.Elem()
		}
		add, err := appender(c, ft, col)
		if err != nil {
			return fmt.Errorf("lake: layout %s: %w", l.Name, err)
		}
		if c.Nullable {
			w.fixed = append(w.fixed, func(row unsafe.Pointer) {
				v := *(*unsafe.Pointer)(unsafe.Add(row, off))
				if v == nil {
					col.null()
					return
				}
				col.valid()
				add(v)
			})
			continue
		}
		w.fixed = append(w.fixed, func(row unsafe.Pointer) { add(unsafe.Add(row, off)) })
	}
	if len(w.ints) > 0 {
		w.parsed = make([]int32, l.Extras())
	}
	if l.Extras() > 0 {
		var err error
		if w.extraOffset, err = extraOffset(l); err != nil {
			return fmt.Errorf("lake: layout %s: %w", l.Name, err)
		}
	}
	return nil
}

// fieldOffset is the offset in a struct of type rt of the field at index path idx, and
// the field's type. The path may not pass through a pointer.
func fieldOffset(rt reflect.Type, idx []int) (uintptr, reflect.Type, error) {
	off, t := uintptr(0), rt
	for _, i := range idx {
		if t.Kind() != reflect.Struct {
			return 0, nil, fmt.Errorf("field reached through %s", t)
		}
		f := t.Field(i)
		off, t = off+f.Offset, f.Type
	}
	return off, t, nil
}

// extraOffset finds the offset of l's extra field, which Layout does not give: a
// row's extension values are read there, where Layout.ExtraValues copies the slice
// into an interface, an allocation a row. It is the one []string field tagged extra
// (see schemas), as Layout.ExtraValues confirms.
func extraOffset(l *schemas.Layout) (uintptr, error) {
	rt := l.GoType()
	for i := range rt.NumField() {
		f := rt.Field(i)
		tag, ok := f.Tag.Lookup("col")
		if !ok || f.Type != reflect.TypeFor[[]string]() || !slices.Contains(strings.Split(tag, ",")[1:], "extra") {
			continue
		}
		probe := reflect.New(rt).Elem()
		want := []string{"probe"}
		probe.Field(i).Set(reflect.ValueOf(want))
		if got := l.ExtraValues(probe); len(got) != 1 || &got[0] != &want[0] {
			break
		}
		return f.Offset, nil
	}
	return 0, fmt.Errorf("no extra field in %s", rt)
}

// appender appends the value of column c at p, a field of Go type ft, to col.
func appender(c schemas.Column, ft reflect.Type, col *column) (func(p unsafe.Pointer), error) {
	k := ft.Kind()
	switch {
	case c.Type == schemas.String && k == reflect.String:
		return func(p unsafe.Pointer) { col.addString(*(*string)(p)) }, nil
	case c.Type == schemas.Int32 && k == reflect.Int32:
		return func(p unsafe.Pointer) { col.addInt32(*(*int32)(p)) }, nil
	case c.Type == schemas.Int64 && k == reflect.Int64:
		return func(p unsafe.Pointer) { col.addInt64(*(*int64)(p)) }, nil
	case c.Type == schemas.Int64 && k == reflect.Int:
		return func(p unsafe.Pointer) { col.addInt64(int64(*(*int)(p))) }, nil
	case c.Type == schemas.Float64 && k == reflect.Float64:
		return func(p unsafe.Pointer) { col.addFloat64(*(*float64)(p)) }, nil
	case c.Type == schemas.Bool && k == reflect.Bool:
		return func(p unsafe.Pointer) { col.addBool(*(*bool)(p)) }, nil
	case c.Type == schemas.Date && ft == reflect.TypeFor[time.Time]():
		// Days since the epoch, the Arrow Date32 of the file's schema.
		return func(p unsafe.Pointer) { col.addInt32(int32(arrow.Date32FromTime(*(*time.Time)(p)))) }, nil
	case c.Type == schemas.Timestamp && ft == reflect.TypeFor[time.Time]():
		// Microseconds, the unit of the file's Arrow timestamps.
		return func(p unsafe.Pointer) { col.addInt64((*time.Time)(p).UnixMicro()) }, nil
	}
	return nil, fmt.Errorf("column %s: the lake cannot write a %s column from a %s", c.Name, c.Type, ft)
}

// reserve makes room for rows more rows in every column, so a row group of a known
// number of rows does not grow its columns a doubling at a time (a string column's
// text still does).
func (w *Writer[T]) reserve(rows int) {
	for _, c := range w.cols {
		c.reserve(rows)
	}
}

// Write appends one row. A row with an Int32 extension value that is not a whole
// number is refused, and nothing of it is written.
func (w *Writer[T]) Write(row *T) error {
	if w.err != nil {
		return w.err
	}
	p := unsafe.Pointer(row)
	if len(w.extras) > 0 {
		xs := *(*[]string)(unsafe.Add(p, w.extraOffset))
		// Checked before anything is appended, so a bad value leaves no half row.
		for _, j := range w.ints {
			if j < len(xs) && xs[j] != "" {
				n, ok := parseInt32(xs[j])
				if !ok {
					return fmt.Errorf("lake: %s row %d column %s: %q is not a whole number", w.layout.Name, w.total+1, w.extras[j].name, xs[j])
				}
				w.parsed[j] = n
			}
		}
		for j, col := range w.extras {
			switch {
			case j >= len(xs) || xs[j] == "":
				col.null()
			case col.typ == schemas.Int32:
				col.valid()
				col.addInt32(w.parsed[j])
			default:
				col.valid()
				col.addString(xs[j])
			}
		}
	}
	for _, add := range w.fixed {
		add(p)
	}
	w.rows++
	w.total++
	if w.rows >= w.rowGroup || w.rows%1024 == 0 && w.groupBytes() > maxGroupBytes {
		return w.flush()
	}
	return nil
}

// parseInt32 is strconv.ParseInt(s, 10, 32), reporting only whether s is a number,
// and without its work for the few digits of an answer code.
func parseInt32(s string) (int32, bool) {
	if len(s) > 9 || len(s) == 0 {
		n, err := strconv.ParseInt(s, 10, 32)
		return int32(n), err == nil
	}
	n := int32(0)
	for i := range len(s) {
		d := s[i] - '0'
		if d > 9 {
			n, err := strconv.ParseInt(s, 10, 32) // a sign, or not a number
			return int32(n), err == nil
		}
		n = n*10 + int32(d)
	}
	return n, true
}

// maxGroupBytes ends a row group early when a string column holds this much text: its
// end offsets are 32-bit.
const maxGroupBytes = 1 << 30

// groupBytes is the most text a string column of the row group holds.
func (w *Writer[T]) groupBytes() int {
	n := 0
	for _, c := range w.cols {
		n = max(n, len(c.arena))
	}
	return n
}

// flush writes the buffered rows as one row group. A writer that failed to stays
// failed: its file is not whole.
func (w *Writer[T]) flush() error {
	if w.err == nil && w.rows > 0 {
		w.err = w.writeGroup()
	}
	return w.err
}

// writeGroup writes the buffered rows as one row group (see EncodeRowGroup).
func (w *Writer[T]) writeGroup() error {
	err := EncodeRowGroup(w.pw, w.rows, len(w.scratch), func(worker, i int, cw file.ColumnChunkWriter) error {
		return w.cols[i].write(cw, w.rows, &w.scratch[worker])
	})
	if err != nil {
		return fmt.Errorf("lake: write row group of %s: %w", w.layout.Name, err)
	}
	if w.out.err != nil {
		return fmt.Errorf("lake: write %s: %w", w.layout.Name, w.out.err)
	}
	for _, c := range w.cols {
		c.reset()
	}
	w.rows = 0
	return nil
}

// EncodeRowGroup appends a row group of rows rows to pw as a buffered row group and
// closes it. Its columns are encoded and compressed side by side into the row group's
// in-memory pages, a column at a time to each of workers goroutines: write(worker, i,
// cw) writes column i to cw on goroutine worker (0 <= worker < workers), whose own
// memory it may use. Closing the row group then writes the columns out in order, so
// the file's bytes do not depend on which goroutine took which column.
func EncodeRowGroup(pw *file.Writer, rows, workers int, write func(worker, i int, cw file.ColumnChunkWriter) error) error {
	rgw := pw.AppendBufferedRowGroup()
	sc := pw.Schema
	errs := make([]error, sc.NumColumns())
	var next atomic.Int32
	encode := func(worker int) {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(errs) {
				return
			}
			cw, err := rgw.Column(i)
			if err == nil {
				err = write(worker, i, cw)
			}
			if err != nil {
				errs[i] = fmt.Errorf("column %s: %w", sc.Column(i).Name(), err)
			}
		}
	}
	var wg sync.WaitGroup
	for worker := 1; worker < workers; worker++ {
		wg.Go(func() { encode(worker) })
	}
	encode(0)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if got, err := rgw.NumRows(); err != nil || got != rows {
		return fmt.Errorf("%d rows of %d written (%v)", got, rows, err)
	}
	return rgw.Close()
}

// Rows is the number of rows written so far.
func (w *Writer[T]) Rows() int64 { return w.total }

// Close flushes the last row group and the footer. It does not close the underlying writer.
func (w *Writer[T]) Close() error {
	if err := w.flush(); err != nil {
		return err
	}
	if err := w.pw.Close(); err != nil {
		return fmt.Errorf("lake: finish parquet %s: %w", w.layout.Name, err)
	}
	if w.out.err != nil {
		return fmt.Errorf("lake: finish parquet %s: %w", w.layout.Name, w.out.err)
	}
	return nil
}
