package linkage

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// bindParquet maps a Parquet extract's columns to the definition's and gives the engine
// the extract as text, numbered by row. Columns may be text or typed (a date as DATE or
// a timestamp, a code as an integer); each value is read as the text a CSV extract
// would carry and checked the same way.
func (v *validator) bindParquet(ctx context.Context, f *os.File, local string) error {
	key := v.res.Key
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return &ExtractError{File: key, Reason: ExtractParquetUnreadable, Message: "not a readable Parquet file"}
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
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
	cols := []string{"file_row_number + 1 AS rn"}
	for i := range v.cols {
		c := &v.cols[i]
		if c.src < 0 {
			continue
		}
		fld := sc.Field(c.src)
		if _, nested := fld.Type.(arrow.NestedType); nested {
			return &ExtractError{File: key, Field: c.def.Name, Reason: ExtractParquetUnreadable, Message: "a nested column; extracts are flat"}
		}
		if pf.MetaData().Schema.ColumnIndexByName(names[c.src]) < 0 {
			return &ExtractError{File: key, Field: c.def.Name, Reason: ExtractParquetUnreadable, Message: "the column cannot be found in the Parquet schema"}
		}
		text, err := textSQL(fmt.Sprintf("r%d", i), fld.Type)
		if err != nil {
			return &ExtractError{File: key, Field: c.def.Name, Reason: ExtractParquetUnreadable, Message: err.Error()}
		}
		c.text = fmt.Sprintf("coalesce(%s, '')", text)
		cols = append(cols, fmt.Sprintf("%s AS r%d", quoteIdent(names[c.src]), i))
	}
	return v.exec(ctx, "read", fmt.Sprintf("CREATE TEMP VIEW src AS SELECT %s FROM read_parquet(%s, file_row_number = true, binary_as_string = true)",
		strings.Join(cols, ", "), sqlQuote(local)))
}

// textSQL is the SQL reading a column of type t as the text of its value.
func textSQL(col string, t arrow.DataType) (string, error) {
	switch t := t.(type) {
	case *arrow.StringType, *arrow.LargeStringType, *arrow.BinaryType, *arrow.LargeBinaryType:
		return col, nil
	case *arrow.DictionaryType:
		switch t.ValueType.(type) {
		case *arrow.StringType, *arrow.LargeStringType, *arrow.BinaryType:
			return col, nil
		}
	case *arrow.Date32Type, *arrow.Date64Type:
		return fmt.Sprintf("strftime(CAST(%s AS DATE), '%%Y-%%m-%%d')", col), nil
	case *arrow.TimestampType:
		// The instant's UTC date, whatever the engine's time zone.
		return fmt.Sprintf("strftime(make_timestamp(epoch_us(%s)), '%%Y-%%m-%%d')", col), nil
	case *arrow.Int32Type, *arrow.Int64Type:
		return fmt.Sprintf("CAST(%s AS VARCHAR)", col), nil
	}
	return "", fmt.Errorf("a %s column; want text, a date or a whole number", t)
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
