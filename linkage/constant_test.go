package linkage

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// TestConstantsReadBackAsTheirLayout: a constant column written by DuckDB the cheap way
// (a one-value ENUM for text) is, in the Parquet file, the layout's column: arrow-go
// reads the file with the layout (lake.GetRows checks every column's type) and gets the
// values back, quotes and empty text included; and DuckDB reads the text as VARCHAR.
func TestConstantsReadBackAsTheirLayout(t *testing.T) {
	type row struct {
		Wave  string    `col:"wave_id"`
		File  string    `col:"source_file"`
		Empty string    `col:"empty"`
		Day   time.Time `col:"day,date"`
		N     int64     `col:"n"`
	}
	l := schemas.LayoutOf[row]("constants")
	dir := t.TempDir()
	st, err := store.NewFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	consts := map[string]constant{"wave_id": "W1", "source_file": "it's a file.parquet", "empty": "", "day": "2026-12-06"}
	var cols []string
	for _, c := range l.Columns {
		if k, ok := consts[c.Name]; ok {
			cols = append(cols, fmt.Sprintf("%s AS %s", k.duckDB(c.Type), c.Name))
		}
	}
	cols = append(cols, "CAST(range AS BIGINT) AS n")
	q := "SELECT " + cols[0]
	for _, c := range cols[1:] {
		q += ", " + c
	}
	// More rows than one row group, so every row group's column is a constant's.
	if _, err := db.Exec(fmt.Sprintf("COPY (%s FROM range(300000)) TO %s (FORMAT parquet, COMPRESSION zstd)", q,
		sqlQuote(filepath.Join(dir, "c.parquet")))); err != nil {
		t.Fatal(err)
	}
	rows, err := lake.GetRows[row](context.Background(), st, "c.parquet", l)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 300000 {
		t.Fatalf("%d rows, want 300000", len(rows))
	}
	day := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	for i, r := range rows {
		if r.Wave != "W1" || r.File != "it's a file.parquet" || r.Empty != "" || !r.Day.Equal(day) || r.N != int64(i) {
			t.Fatalf("row %d = %+v", i, r)
		}
	}
	var typ string
	if err := db.QueryRow("SELECT typeof(wave_id) FROM read_parquet(" + sqlQuote(filepath.Join(dir, "c.parquet")) + ") LIMIT 1").Scan(&typ); err != nil {
		t.Fatal(err)
	}
	if typ != "VARCHAR" {
		t.Fatalf("DuckDB reads the constant as %s, want VARCHAR", typ)
	}
}
