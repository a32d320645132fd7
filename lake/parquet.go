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
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/schemas"
	"icesurvey/store"
)

// DefaultRowGroup is the number of rows buffered before a row group is flushed.
const DefaultRowGroup = 64 * 1024

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
			// A column of another type than the layout's is refused, not read: the
			// conversions below would panic on it (a file of an older layout, or one
			// not written by the pipeline).
			if got := rec.Column(found[0]).DataType(); !sameType(got, c.Type) {
				return fmt.Errorf("lake: parquet %s: column %s holds %s, the layout says %s", l.Name, c.Name, got, c.Type.Arrow())
			}
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

// sameType reports whether an Arrow column of type got reads as the layout type t.
func sameType(got arrow.DataType, t schemas.Type) bool {
	want := t.Arrow()
	if got.ID() != want.ID() {
		return false
	}
	if ts, ok := got.(*arrow.TimestampType); ok {
		return ts.Unit == want.(*arrow.TimestampType).Unit
	}
	return true
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
	row := make([]string, len(cols))
	arrs := make([]*array.String, len(cols))
	return scanColumns(ctx, f, key, cols, nil, func(batch []arrow.Array, rows int) error {
		for i, c := range cols {
			a, ok := batch[i].(*array.String)
			if !ok {
				return fmt.Errorf("lake: parquet %s column %s is not a string column", key, c)
			}
			arrs[i] = a
		}
		for r := range rows {
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
		return nil
	})
}

// ScanColumns streams the named columns of the Parquet object at key into fn, a record
// batch at a time, decoding no other column: the columns in the order named, then the
// optional ones, of which one the object lacks is nil in every batch.
func ScanColumns(ctx context.Context, s store.Store, key string, names, optional []string, fn func(cols []arrow.Array, rows int) error) error {
	return withLocalFile(ctx, s, key, func(f *os.File) error { return scanColumns(ctx, f, key, names, optional, fn) })
}

func scanColumns(ctx context.Context, f *os.File, key string, names, optional []string, fn func(cols []arrow.Array, rows int) error) error {
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return fmt.Errorf("lake: open parquet %s: %w", key, err)
	}
	defer pf.Close()
	sc := pf.MetaData().Schema
	all := append(slices.Clone(names), optional...)
	var leaves []int
	for i, n := range all {
		leaf := sc.ColumnIndexByName(n)
		switch {
		case leaf >= 0:
			leaves = append(leaves, leaf)
		case i < len(names):
			return fmt.Errorf("lake: parquet %s lacks the column %s", key, n)
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 16 << 10}, memory.DefaultAllocator)
	if err != nil {
		return fmt.Errorf("lake: read parquet %s: %w", key, err)
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("lake: read parquet %s: %w", key, err)
	}
	defer rr.Release()
	cols := make([]arrow.Array, len(all))
	for rr.Next() {
		rec := rr.RecordBatch()
		for i, n := range all {
			cols[i] = nil
			if idx := rec.Schema().FieldIndices(n); len(idx) == 1 {
				cols[i] = rec.Column(idx[0])
			} else if i < len(names) {
				return fmt.Errorf("lake: parquet %s: no column %s in a record batch", key, n)
			}
		}
		if err := fn(cols, int(rec.NumRows())); err != nil {
			return err
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
	return putStream[T](ctx, s, key, l, rowGroup, len(rows), func(emit func(*T) error) error {
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
	return putStream(ctx, s, key, l, DefaultRowGroup, 0, produce)
}

// putStream writes what produce emits; rows, when not 0, is how many rows it will emit.
func putStream[T any](ctx context.Context, s store.Store, key string, l *schemas.Layout, rowGroup, rows int, produce func(emit func(*T) error) error) error {
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
	w.reserve(min(rows, rowGroup))
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
