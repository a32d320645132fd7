package linkage

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"time"

	"icesurvey/lake"
	"icesurvey/schemas"
)

// writeLocal writes rows as a Parquet file of layout l at path.
func writeLocal[T any](path string, l *schemas.Layout, rows []T, options ...lake.WriterOption) error {
	return writeLocalStream(path, l, func(emit func(*T) error) error {
		for i := range rows {
			if err := emit(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	}, options...)
}

// writeLocalStream writes the rows produce emits as a Parquet file of layout l at path.
// A row is written when it is emitted, so produce may reuse it.
func writeLocalStream[T any](path string, l *schemas.Layout, produce func(emit func(*T) error) error, options ...lake.WriterOption) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := lake.NewWriter[T](f, l, options...)
	if err != nil {
		return err
	}
	if err := produce(w.Write); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return f.Close()
}

// CSV renders rows of layout l as CSV with a header: dates yyyy-mm-dd, timestamps RFC
// 3339, NULL as an empty cell.
func CSV[T any](l *schemas.Layout, rows []T) ([]byte, error) {
	var b bytes.Buffer
	if err := writeCSV(&b, l, rows); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeCSV[T any](w io.Writer, l *schemas.Layout, rows []T) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(l.Names()); err != nil {
		return err
	}
	rec := make([]string, len(l.Columns))
	for i := range rows {
		v := reflect.ValueOf(&rows[i])
		for j, c := range l.Columns {
			f, ok := l.FieldValue(v, j)
			rec[j] = ""
			if !ok {
				continue
			}
			switch c.Type {
			case schemas.Date:
				rec[j] = f.Interface().(time.Time).Format(time.DateOnly)
			case schemas.Timestamp:
				rec[j] = f.Interface().(time.Time).UTC().Format(time.RFC3339)
			case schemas.Float64:
				rec[j] = strconv.FormatFloat(f.Float(), 'f', -1, 64)
			case schemas.Bool:
				rec[j] = strconv.FormatBool(f.Bool())
			case schemas.Int32, schemas.Int64:
				rec[j] = strconv.FormatInt(f.Int(), 10)
			default:
				rec[j] = fmt.Sprint(f.Interface())
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
