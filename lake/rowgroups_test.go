package lake

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/parquet/file"

	"icesurvey/schemas"
	"icesurvey/store"
)

func TestPutRowGroups(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	l, err := schemas.LayoutOf[withExtras]("lake_test_groups").Extend("lake_test_groups_ext",
		[]schemas.ExtraColumn{{Name: "Q_TEXT", Type: schemas.String}, {Name: "Q_NUM", Type: schemas.Int32}}, "")
	if err != nil {
		t.Fatal(err)
	}
	var in []withExtras
	for i := 0; i < 2500; i++ {
		r := withExtras{ID: fmt.Sprintf("id-%05d", i)}
		if i%7 != 0 {
			r.Values = []string{[]string{"1", "2;3", ""}[i%3], fmt.Sprint(i % 11)}
		}
		in = append(in, r)
	}
	for _, tc := range []struct {
		rowGroup, groups int
	}{{1000, 3}, {2500, 1}, {2499, 2}, {1, 2500}, {DefaultRowGroup, 1}} {
		key := fmt.Sprintf("lake/g/%d.parquet", tc.rowGroup)
		if err := PutRowGroups(ctx, st, key, l, in, tc.rowGroup); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(st.Root() + "/" + key)
		if err != nil {
			t.Fatal(err)
		}
		pf, err := file.NewParquetReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if n := pf.NumRowGroups(); n != tc.groups {
			t.Errorf("row group %d: %d row groups, want %d", tc.rowGroup, n, tc.groups)
		}
		pf.Close()
		got, err := GetRows[withExtras](ctx, st, key, l)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(in) {
			t.Fatalf("row group %d: read %d rows, wrote %d", tc.rowGroup, len(got), len(in))
		}
		for i := range in {
			if fmt.Sprint(normalised(got[i], 2)) != fmt.Sprint(normalised(in[i], 2)) {
				t.Fatalf("row group %d row %d: got %v, want %v", tc.rowGroup, i, got[i], in[i])
			}
		}
		var ids []string
		if err := ScanStrings(ctx, st, key, []string{"id", "Q_TEXT"}, func(r []string) error {
			ids = append(ids, r[0])
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(ids) != len(in) || ids[len(ids)-1] != in[len(in)-1].ID {
			t.Errorf("row group %d: ScanStrings read %d rows", tc.rowGroup, len(ids))
		}
		// The same rows give the same bytes: a retried load rewrites the same object.
		if err := PutRowGroups(ctx, st, key+".again", l, in, tc.rowGroup); err != nil {
			t.Fatal(err)
		}
		again, err := os.ReadFile(st.Root() + "/" + key + ".again")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, again) {
			t.Errorf("row group %d: a second write gave other bytes", tc.rowGroup)
		}
	}
	// The default row group is PutRows's.
	if err := PutRows(ctx, st, "lake/g/rows.parquet", l, in); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(st.Root() + "/lake/g/rows.parquet")
	b, _ := os.ReadFile(st.Root() + fmt.Sprintf("/lake/g/%d.parquet", DefaultRowGroup))
	if !bytes.Equal(a, b) {
		t.Error("PutRowGroups with DefaultRowGroup differs from PutRows")
	}
	if err := PutRowGroups(ctx, st, "lake/g/zero.parquet", l, in, 0); err == nil {
		t.Error("a row group of 0 rows was accepted")
	}
}

// normalised pads r's extension values to n, so no values and all NULLs compare equal.
func normalised(r withExtras, n int) withExtras {
	v := make([]string, n)
	copy(v, r.Values)
	r.Values = v
	return r
}
