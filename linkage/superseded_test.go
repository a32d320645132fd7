package linkage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestOneExtractPerDataset: the activity objects' statistics settle that nothing is
// superseded only when every dataset's rows carry one source_order; anything else (two
// extracts of a dataset in two objects or in two row groups of one, an object of two
// datasets) leaves it to superseded_records. Each case is checked against the query
// itself: when the statistics say none, the query finds none.
func TestOneExtractPerDataset(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dir := t.TempDir()
	n := 0
	// object writes an activity object of rows (dataset, record key, source order; "-"
	// for NULL), each row group rowGroup rows, without the source_order and record_key
	// columns when old.
	object := func(rowGroup int, old bool, rows ...[3]string) string {
		n++
		p := filepath.Join(dir, fmt.Sprintf("part-%d.parquet", n))
		var sel []string
		for i, r := range rows {
			v := func(s string) string {
				if s == "-" {
					return "CAST(NULL AS VARCHAR)"
				}
				return sqlQuote(s)
			}
			sel = append(sel, fmt.Sprintf("SELECT 'A%d-%d' AS row_id, %s AS dataset_id, %s AS record_key, %s AS source_order", n, i, v(r[0]), v(r[1]), v(r[2])))
		}
		q := strings.Join(sel, " UNION ALL ") + " ORDER BY row_id"
		if old {
			q = "SELECT row_id, dataset_id FROM (" + q + ")"
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, ROW_GROUP_SIZE %d)", q, sqlQuote(p), rowGroup)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	const early, late = "2026-01-01T00:00:00.000000000Z aa", "2026-02-01T00:00:00.000000000Z bb"
	for _, c := range []struct {
		name  string
		files func() []string
		want  bool
	}{
		{"no objects", func() []string { return nil }, true},
		{"each dataset one extract", func() []string {
			return []string{object(2048, false, [3]string{"op", "k1", early}, [3]string{"op", "k2", early}),
				object(2048, false, [3]string{"apc", "k1", late}, [3]string{"apc", "k3", late})}
		}, true},
		{"a dataset's extract in two objects", func() []string {
			return []string{object(2048, false, [3]string{"op", "k1", early}), object(2048, false, [3]string{"op", "k2", early})}
		}, true},
		{"an old object beside a new one", func() []string {
			return []string{object(2048, true, [3]string{"op", "-", "-"}), object(2048, false, [3]string{"op", "k1", early})}
		}, true},
		{"source_order NULL", func() []string {
			return []string{object(2048, false, [3]string{"op", "-", "-"}), object(2048, false, [3]string{"op", "k1", early})}
		}, true},
		{"two extracts of a dataset", func() []string {
			return []string{object(2048, false, [3]string{"op", "k1", early}), object(2048, false, [3]string{"op", "k1", late})}
		}, false},
		{"two extracts in two row groups of an object", func() []string {
			return []string{object(1, false, [3]string{"op", "k1", early}, [3]string{"op", "k1", late})}
		}, false},
		{"two datasets in an object", func() []string {
			return []string{object(2048, false, [3]string{"op", "k1", early}, [3]string{"apc", "k1", late})}
		}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := c.files()
			got, err := oneExtractPerDataset(ctx, conn, files)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("oneExtractPerDataset = %v, want %v", got, c.want)
			}
			if !got || len(files) == 0 {
				return
			}
			var q []string
			for _, f := range files {
				q = append(q, sqlQuote(f))
			}
			if _, err := conn.ExecContext(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW activity AS SELECT * FROM read_parquet([%s], union_by_name = true)", strings.Join(q, ", "))); err != nil {
				t.Fatal(err)
			}
			text, err := Query("superseded_records")
			if err != nil {
				t.Fatal(err)
			}
			var superseded int
			if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM ("+text+")").Scan(&superseded); err != nil {
				t.Fatal(err)
			}
			if superseded != 0 {
				t.Errorf("the statistics say nothing is superseded, the query finds %d rows", superseded)
			}
		})
	}
}
