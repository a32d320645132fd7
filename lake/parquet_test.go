package lake

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet/file"

	"icesurvey/schemas"
	"icesurvey/store"
)

type row struct {
	ID    string     `col:"id,key"`
	N     int32      `col:"n"`
	Big   int64      `col:"big"`
	F     float64    `col:"f"`
	B     bool       `col:"b"`
	D     time.Time  `col:"d,date"`
	TS    time.Time  `col:"ts"`
	Maybe *string    `col:"maybe"`
	When  *time.Time `col:"when"`
}

func TestPutRowsRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := schemas.LayoutOf[row]("lake_test_row")
	s := "x"
	now := time.Date(2026, 11, 23, 10, 11, 12, 345678000, time.UTC)
	in := []row{
		{ID: "a", N: 1, Big: 1 << 40, F: 0.25, B: true, D: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), TS: now, Maybe: &s, When: &now},
		{ID: "b", N: -2, F: 1, D: time.Date(1930, 2, 28, 0, 0, 0, 0, time.UTC), TS: now.Add(time.Hour)},
	}
	// Enough rows to span several row groups.
	for i := 0; i < DefaultRowGroup+10; i++ {
		in = append(in, row{ID: "r", N: int32(i), TS: now})
	}
	if err := PutRows(ctx, st, "lake/t/x.parquet", l, in); err != nil {
		t.Fatalf("PutRows: %v", err)
	}
	got, err := GetRows[row](ctx, st, "lake/t/x.parquet", l)
	if err != nil {
		t.Fatalf("GetRows: %v", err)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d rows, wrote %d", len(got), len(in))
	}
	for i := 0; i < 2; i++ {
		g, w := got[i], in[i]
		if g.ID != w.ID || g.N != w.N || g.Big != w.Big || g.F != w.F || g.B != w.B || !g.D.Equal(w.D) || !g.TS.Equal(w.TS) {
			t.Errorf("row %d: got %+v, want %+v", i, g, w)
		}
		if (g.Maybe == nil) != (w.Maybe == nil) || (g.When == nil) != (w.When == nil) {
			t.Errorf("row %d: nullability differs: got %+v, want %+v", i, g, w)
		}
	}
	if got[len(got)-1].N != int32(DefaultRowGroup+9) {
		t.Errorf("last row N = %d", got[len(got)-1].N)
	}
}

type withExtras struct {
	ID     string   `col:"id"`
	Values []string `col:"values,extra"`
}

func TestExtensionColumnsRoundTrip(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := schemas.LayoutOf[withExtras]("lake_test_extras").Extend("lake_test_extended",
		[]schemas.ExtraColumn{{Name: "Q_TEXT", Type: schemas.String}, {Name: "Q_NUM", Type: schemas.Int32}}, "")
	if err != nil {
		t.Fatal(err)
	}
	in := []withExtras{{ID: "a", Values: []string{"1;4", "12"}}, {ID: "b", Values: []string{"", "3"}}, {ID: "c"}}
	if err := PutRows(ctx, st, "lake/x/e.parquet", l, in); err != nil {
		t.Fatal(err)
	}
	got, err := GetRows[withExtras](ctx, st, "lake/x/e.parquet", l)
	if err != nil {
		t.Fatal(err)
	}
	var s []string
	for _, r := range got {
		s = append(s, r.ID+"="+strings.Join(r.Values, ","))
	}
	if strings.Join(s, " ") != "a=1;4,12 b=,3 c=" {
		t.Errorf("round trip = %v", s)
	}
	err = PutRows(ctx, st, "lake/x/bad.parquet", l, []withExtras{{ID: "a", Values: []string{"", "twelve"}}})
	if err == nil || !strings.Contains(err.Error(), "Q_NUM") {
		t.Errorf("a non-number in an int32 column: %v", err)
	}
}

type uniqueRow struct {
	ID   string `col:"id,unique"`
	Code string `col:"code"`
}

func TestUniqueColumnsHaveNoDictionaryOrStatistics(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var in []uniqueRow
	for i := 0; i < 1000; i++ {
		in = append(in, uniqueRow{ID: fmt.Sprintf("id-%06d", i), Code: []string{"A", "B"}[i%2]})
	}
	if err := PutRows(ctx, st, "lake/u/u.parquet", schemas.LayoutOf[uniqueRow]("lake_test_unique"), in); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(st.Root() + "/lake/u/u.parquet")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	rg := pf.MetaData().RowGroup(0)
	for i, want := range []bool{false, true} { // id, code
		cc, err := rg.ColumnChunk(i)
		if err != nil {
			t.Fatal(err)
		}
		stats, _ := cc.StatsSet()
		if cc.HasDictionaryPage() != want || stats != want {
			t.Errorf("column %d: dictionary %v, statistics %v; want both %v", i, cc.HasDictionaryPage(), stats, want)
		}
	}
}

// ScanColumns gives the named columns in the order named, then the optional ones; an
// optional column the object lacks is nil, a named one it lacks is an error naming it.
// ScanStrings, which reads through it, refuses a column that is not text.
func TestScanColumns(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l := schemas.LayoutOf[row]("lake_test_row")
	in := []row{{ID: "a", N: 1}, {ID: "b", N: 2}, {ID: "c", N: 3}}
	if err := PutRows(ctx, st, "lake/t/x.parquet", l, in); err != nil {
		t.Fatal(err)
	}
	var ids []string
	var sum int64
	err = ScanColumns(ctx, st, "lake/t/x.parquet", []string{"n", "id"}, []string{"absent", "big"}, func(cols []arrow.Array, rows int) error {
		if len(cols) != 4 || cols[2] != nil || cols[3] == nil {
			return fmt.Errorf("columns %v", cols)
		}
		n, ok1 := cols[0].(*array.Int32)
		id, ok2 := cols[1].(*array.String)
		if !ok1 || !ok2 {
			return fmt.Errorf("column types %s, %s", cols[0].DataType(), cols[1].DataType())
		}
		for r := range rows {
			sum += int64(n.Value(r))
			ids = append(ids, id.Value(r))
		}
		return nil
	})
	if err != nil || sum != 6 || strings.Join(ids, "") != "abc" {
		t.Fatalf("ScanColumns: ids %v, sum %d, %v", ids, sum, err)
	}
	err = ScanColumns(ctx, st, "lake/t/x.parquet", []string{"id", "absent"}, nil, func([]arrow.Array, int) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "lacks the column absent") {
		t.Errorf("a missing column: %v", err)
	}
	err = ScanStrings(ctx, st, "lake/t/x.parquet", []string{"id", "n"}, func([]string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "column n is not a string column") {
		t.Errorf("ScanStrings of a number: %v", err)
	}
}

// TestReadRefusesAColumnOfAnotherType: a file whose column has another type than the
// layout's (of an older layout, or not written by the pipeline) is refused with the
// column and both types named, for each type the layout knows, never read by a panic.
func TestReadRefusesAColumnOfAnotherType(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	type written struct {
		ID string `col:"id"`
		X  string `col:"x"`
	}
	if err := PutRows(ctx, st, "lake/t/strings.parquet", schemas.LayoutOf[written]("written"), []written{{"a", "2026-12-06"}}); err != nil {
		t.Fatal(err)
	}
	type asDate struct {
		ID string    `col:"id"`
		X  time.Time `col:"x,date"`
	}
	type asTimestamp struct {
		ID string    `col:"id"`
		X  time.Time `col:"x"`
	}
	type asInt struct {
		ID string `col:"id"`
		X  int32  `col:"x"`
	}
	type asBool struct {
		ID string `col:"id"`
		X  bool   `col:"x"`
	}
	for name, read := range map[string]func() error{
		"date": func() error {
			_, err := GetRows[asDate](ctx, st, "lake/t/strings.parquet", schemas.LayoutOf[asDate]("as_date"))
			return err
		},
		"timestamp": func() error {
			_, err := GetRows[asTimestamp](ctx, st, "lake/t/strings.parquet", schemas.LayoutOf[asTimestamp]("as_ts"))
			return err
		},
		"int32": func() error {
			_, err := GetRows[asInt](ctx, st, "lake/t/strings.parquet", schemas.LayoutOf[asInt]("as_int"))
			return err
		},
		"bool": func() error {
			_, err := GetRows[asBool](ctx, st, "lake/t/strings.parquet", schemas.LayoutOf[asBool]("as_bool"))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := read()
			if err == nil || !strings.Contains(err.Error(), "column x holds utf8") {
				t.Fatalf("err = %v, want the column x refused as utf8", err)
			}
		})
	}
}
