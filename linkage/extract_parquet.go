package linkage

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// readParquet feeds the rows of a Parquet extract to v. Columns may be text or typed
// (a date as DATE or a timestamp, a code as an integer); each value is read as the text
// a CSV extract would carry and checked the same way.
func readParquet(ctx context.Context, f *os.File, key string, v *validator) error {
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return &ExtractError{File: key, Reason: ExtractParquetUnreadable, Message: "not a readable Parquet file"}
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 16 << 10}, memory.DefaultAllocator)
	if err != nil {
		return &ExtractError{File: key, Reason: ExtractParquetUnreadable, Message: "the Parquet schema cannot be read"}
	}
	sc, err := fr.Schema()
	if err != nil {
		return &ExtractError{File: key, Reason: ExtractParquetUnreadable, Message: "the Parquet schema cannot be read"}
	}
	names := make([]string, sc.NumFields())
	for i, fld := range sc.Fields() {
		names[i] = fld.Name
	}
	if err := v.header(names); err != nil {
		return err
	}
	v.expect(pf.NumRows())
	// Read only the definition's columns.
	var leaves []int
	pos := map[int]int{} // file column → position in the record batch
	for _, c := range v.cols {
		if c.src < 0 {
			continue
		}
		if _, nested := sc.Field(c.src).Type.(arrow.NestedType); nested {
			return &ExtractError{File: key, Field: c.def.Name, Reason: ExtractParquetUnreadable, Message: "a nested column; extracts are flat"}
		}
		leaf := pf.MetaData().Schema.ColumnIndexByName(names[c.src])
		if leaf < 0 {
			return &ExtractError{File: key, Field: c.def.Name, Reason: ExtractParquetUnreadable, Message: "the column cannot be found in the Parquet schema"}
		}
		pos[c.src] = len(leaves)
		leaves = append(leaves, leaf)
	}
	rr, err := fr.GetRecordReader(ctx, leaves, nil)
	if err != nil {
		return fmt.Errorf("linkage: read %s: %w", key, err)
	}
	defer rr.Release()
	vals := make([]string, len(v.cols))
	text := make([]func(int) string, len(v.cols))
	for rr.Next() {
		rec := rr.RecordBatch()
		for i, c := range v.cols {
			text[i] = nil
			if c.src < 0 {
				continue
			}
			acc, err := textOf(rec.Column(pos[c.src]))
			if err != nil {
				return &ExtractError{File: key, Field: c.def.Name, Reason: ExtractParquetUnreadable, Message: err.Error()}
			}
			text[i] = acc
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			for i := range v.cols {
				vals[i] = ""
				if text[i] != nil {
					vals[i] = strings.TrimSpace(text[i](r))
				}
			}
			if err := v.row(vals); err != nil {
				return err
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return &ExtractError{File: key, Row: v.res.RowsRead + 1, Reason: ExtractParquetUnreadable, Message: "a row group cannot be read: " + err.Error()}
	}
	return nil
}

// textOf returns a reader of a column's values as text ("" for NULL).
func textOf(col arrow.Array) (func(int) string, error) {
	null := func(i int) bool { return col.IsNull(i) }
	switch a := col.(type) {
	case *array.String:
		return func(i int) string {
			if null(i) {
				return ""
			}
			return a.Value(i)
		}, nil
	case *array.LargeString:
		return func(i int) string {
			if null(i) {
				return ""
			}
			return a.Value(i)
		}, nil
	case *array.Binary:
		return func(i int) string {
			if null(i) {
				return ""
			}
			return string(a.Value(i))
		}, nil
	case *array.Date32:
		// Dates repeat (a few hundred in an extract): each is formatted once.
		seen := map[arrow.Date32]string{}
		return func(i int) string {
			if null(i) {
				return ""
			}
			d := a.Value(i)
			s, ok := seen[d]
			if !ok {
				s = d.ToTime().Format(time.DateOnly)
				seen[d] = s
			}
			return s
		}, nil
	case *array.Date64:
		return func(i int) string {
			if null(i) {
				return ""
			}
			return a.Value(i).ToTime().UTC().Format(time.DateOnly)
		}, nil
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return func(i int) string {
			if null(i) {
				return ""
			}
			return a.Value(i).ToTime(unit).UTC().Format(time.DateOnly)
		}, nil
	case *array.Int32:
		seen := map[int32]string{}
		return func(i int) string {
			if null(i) {
				return ""
			}
			n := a.Value(i)
			s, ok := seen[n]
			if !ok {
				s = strconv.FormatInt(int64(n), 10)
				seen[n] = s
			}
			return s
		}, nil
	case *array.Int64:
		return func(i int) string {
			if null(i) {
				return ""
			}
			return strconv.FormatInt(a.Value(i), 10)
		}, nil
	case *array.Dictionary:
		return func(i int) string {
			if null(i) {
				return ""
			}
			return a.Dictionary().ValueStr(a.GetValueIndex(i))
		}, nil
	}
	return nil, fmt.Errorf("a %s column; want text, a date or a whole number", col.DataType())
}
