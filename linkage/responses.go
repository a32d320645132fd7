package linkage

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The cohort reads every response of a wave, a row of some seventy columns each. It
// reads them column by column from the record batches, not a row at a time into
// schemas.ResponseRow (lake.Scan sets every cell through reflection, which was most of
// the cost of building a national cohort); TestResponseColumnsAgreeWithLakeScan checks
// the two agree.

// responseCols is one record batch of the responses layout, as typed column readers.
type responseCols struct {
	id, record, rtype, version *array.String
	received                   *array.Timestamp
	complete                   *array.Boolean
	answers                    []func(row int) string // by extension column; nil when absent
}

// text of one answer cell ("" for NULL).
func answerReader(col arrow.Array) (func(int) string, error) {
	switch a := col.(type) {
	case *array.String:
		return func(i int) string {
			if a.IsNull(i) {
				return ""
			}
			return a.Value(i)
		}, nil
	case *array.Int32:
		return func(i int) string {
			if a.IsNull(i) {
				return ""
			}
			return strconv.FormatInt(int64(a.Value(i)), 10)
		}, nil
	}
	return nil, fmt.Errorf("answer column of type %s", col.DataType())
}

// scanResponses streams the record batches of every responses object of a wave, with
// the answer columns when withAnswers.
func scanResponses(ctx context.Context, st store.Store, wave string, withAnswers bool, fn func(c *responseCols, rows int) error) error {
	keys, err := lakeObjects(ctx, st, waveRoot(schemas.LakeResponses, wave))
	if err != nil {
		return err
	}
	l := schemas.ResponseRowLayout()
	ext := l.ExtensionColumns()
	for _, k := range keys {
		path, cleanup, err := lake.LocalCopy(ctx, st, k)
		if err != nil {
			return err
		}
		err = func() error {
			defer cleanup()
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			pf, err := file.NewParquetReader(f)
			if err != nil {
				return err
			}
			defer pf.Close()
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 16 << 10}, memory.DefaultAllocator)
			if err != nil {
				return err
			}
			sc := pf.MetaData().Schema
			names := []string{"response_id", "survey_record_id", "respondent_type", "questionnaire_version", "received_at", "complete"}
			var leaves []int
			for _, n := range names {
				i := sc.ColumnIndexByName(n)
				if i < 0 {
					return fmt.Errorf("no column %s", n)
				}
				leaves = append(leaves, i)
			}
			var present []int // extension columns in the file, in leaf order after the fixed ones
			for j, c := range ext {
				if !withAnswers {
					break
				}
				if i := sc.ColumnIndexByName(c.Name); i >= 0 {
					leaves = append(leaves, i)
					present = append(present, j)
				}
			}
			rr, err := fr.GetRecordReader(ctx, leaves, nil)
			if err != nil {
				return err
			}
			defer rr.Release()
			cols := &responseCols{answers: make([]func(int) string, len(ext))}
			for rr.Next() {
				rec := rr.RecordBatch()
				var ok bool
				if cols.id, ok = rec.Column(0).(*array.String); !ok {
					return fmt.Errorf("response_id is not text")
				}
				cols.record, _ = rec.Column(1).(*array.String)
				cols.rtype, _ = rec.Column(2).(*array.String)
				cols.version, _ = rec.Column(3).(*array.String)
				cols.received, _ = rec.Column(4).(*array.Timestamp)
				cols.complete, _ = rec.Column(5).(*array.Boolean)
				if cols.record == nil || cols.rtype == nil || cols.version == nil || cols.received == nil || cols.complete == nil {
					return fmt.Errorf("a fixed column has an unexpected type")
				}
				clear(cols.answers)
				for n, j := range present {
					r, err := answerReader(rec.Column(6 + n))
					if err != nil {
						return fmt.Errorf("%s: %w", ext[j].Name, err)
					}
					cols.answers[j] = r
				}
				if err := fn(cols, int(rec.NumRows())); err != nil {
					return err
				}
			}
			if err := rr.Err(); err != nil && err != io.EOF {
				return err
			}
			return nil
		}()
		if err != nil {
			return fmt.Errorf("linkage: read %s: %w", k, err)
		}
	}
	return nil
}

// receivedAt of row i.
func (c *responseCols) receivedAt(i int) time.Time {
	return time.UnixMicro(int64(c.received.Value(i))).UTC()
}
