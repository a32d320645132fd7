package linkage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

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
	id, record, rtype *array.String
	received          *array.Timestamp
	complete          *array.Boolean
	answers           []func(row int) string // by extension column; nil when absent
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
	ext := schemas.ResponseRowLayout().ExtensionColumns()
	var answers []string
	if withAnswers {
		for _, c := range ext {
			answers = append(answers, c.Name)
		}
	}
	// The columns the cohort consults: not the questionnaire version (a response's
	// answers are read by column name, whatever its version).
	fixed := []string{"response_id", "survey_record_id", "respondent_type", "received_at", "complete"}
	for _, k := range keys {
		c := &responseCols{answers: make([]func(int) string, len(ext))}
		err := lake.ScanColumns(ctx, st, k, fixed, answers, func(cols []arrow.Array, rows int) error {
			var ok bool
			if c.id, ok = cols[0].(*array.String); !ok {
				return fmt.Errorf("response_id is not text")
			}
			c.record, _ = cols[1].(*array.String)
			c.rtype, _ = cols[2].(*array.String)
			c.received, _ = cols[3].(*array.Timestamp)
			c.complete, _ = cols[4].(*array.Boolean)
			if c.record == nil || c.rtype == nil || c.received == nil || c.complete == nil {
				return fmt.Errorf("a fixed column has an unexpected type")
			}
			clear(c.answers)
			for j, col := range cols[len(fixed):] {
				if col == nil {
					continue
				}
				r, err := answerReader(col)
				if err != nil {
					return fmt.Errorf("%s: %w", ext[j].Name, err)
				}
				c.answers[j] = r
			}
			return fn(c, rows)
		})
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

// latestConsentGiven reads the stored consent events of a wave and reports, for each
// person of a cohort (by index; byID maps their survey record id to it), whether their
// latest patient consent event is "given": what Linkable answers from Latest, worked out
// as the events stream past, so that no event is kept. It reads only the columns that
// takes (event id, subject, event and time), column by column: lake.Scan, which sets
// every field of every event through reflection, was a tenth of a national cohort, and
// keeping every event (and then each subject's latest in a map) a tenth of what was left.
// Carers' events and those of records outside the cohort are passed over, as Linkable
// never consults them; the events are compared as Latest compares them (compareEvents)
// and in the same order, so a tie goes the same way.
func latestConsentGiven(ctx context.Context, st store.Store, wave string, byID map[string]int32, people int) ([]bool, error) {
	keys, err := lakeObjects(ctx, st, schemas.LinkageConsentPrefix(wave))
	if err != nil {
		return nil, err
	}
	// latest is a person's latest patient event so far, with what compareEvents
	// consults of it.
	type latest struct {
		seen  bool
		given bool
		at    time.Time
		event string // interned
		id    string
	}
	best := make([]latest, people)
	// The events' kinds take a handful of values: one copy each.
	intern := newInterner()
	for _, k := range keys {
		err := lake.ScanColumns(ctx, st, k, []string{"event_id", "survey_record_id", "respondent_type", "event", "at"}, nil, func(cols []arrow.Array, rows int) error {
			var text [4]*array.String
			for i := range text {
				a, ok := cols[i].(*array.String)
				if !ok {
					return fmt.Errorf("column %d is %s, not text", i, cols[i].DataType())
				}
				text[i] = a
			}
			at, ok := cols[4].(*array.Timestamp)
			if !ok || at.DataType().(*arrow.TimestampType).Unit != arrow.Microsecond {
				return fmt.Errorf("at is %s, not a timestamp in microseconds", cols[4].DataType())
			}
			str := func(a *array.String, r int) string {
				if a.IsNull(r) {
					return ""
				}
				return a.Value(r)
			}
			for r := range rows {
				if str(text[2], r) != schemas.RespondentPatient {
					continue
				}
				i, ok := byID[str(text[1], r)]
				if !ok {
					continue
				}
				var when time.Time
				if !at.IsNull(r) {
					when = time.UnixMicro(int64(at.Value(r))).UTC()
				}
				id, event := str(text[0], r), str(text[3], r)
				b := &best[i]
				if b.seen && compareEventOrder(b.at, b.event, b.id, when, event, id) >= 0 {
					continue
				}
				event = intern(event)
				*b = latest{seen: true, given: event == schemas.ConsentGiven, at: when, event: event, id: strings.Clone(id)}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("linkage: read %s: %w", k, err)
		}
	}
	given := make([]bool, people)
	for i := range best {
		given[i] = best[i].given
	}
	return given, nil
}
