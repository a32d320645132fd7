package warehouse

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"icesurvey/schemas"
)

// Analysts find each table's and column's description in DuckDB itself; a changed doc
// reaches an existing warehouse at its next Open, and a doc naming a column the table
// lacks is skipped rather than stopping the warehouse.
func TestTablesAndColumnsCarryTheirDocs(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	open := func() {
		t.Helper()
		if _, err := Open(ctx, path); err != nil {
			t.Fatal(err)
		}
	}
	comment := func(table, column string) string {
		t.Helper()
		db, err := sql.Open("duckdb", path+"?access_mode=read_only")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var c sql.NullString
		q, args := `SELECT comment FROM duckdb_tables() WHERE table_name = ?`, []any{table}
		if column != "" {
			q, args = `SELECT comment FROM duckdb_columns() WHERE table_name = ? AND column_name = ?`, []any{table, column}
		}
		if err := db.QueryRowContext(ctx, q, args...).Scan(&c); err != nil {
			t.Fatalf("%s.%s: %v", table, column, err)
		}
		return c.String
	}
	open()
	sample := Tables[schemas.TableSample]
	if got := comment("sample", ""); got != sample.Doc || got == "" {
		t.Errorf("sample's comment %q, want %q", got, sample.Doc)
	}
	var documentedColumns int
	for _, c := range sample.Layout.Columns {
		if c.Doc == "" {
			continue
		}
		documentedColumns++
		if got := comment("sample", c.Name); got != c.Doc {
			t.Errorf("sample.%s's comment %q, want %q", c.Name, got, c.Doc)
		}
	}
	if documentedColumns == 0 {
		t.Fatal("the sample layout documents no column")
	}

	var outcomes, wide sql.NullString
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT comment FROM duckdb_views() WHERE view_name = 'outcomes'`).Scan(&outcomes); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT any_value(comment) FROM duckdb_views() WHERE view_name LIKE 'responses_wide_%'`).Scan(&wide); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if outcomes.String != viewDocs["outcomes"] || wide.String != viewDocs["responses_wide_*"] {
		t.Errorf("view comments: outcomes %q, responses_wide_* %q", outcomes.String, wide.String)
	}

	// A doc changed in code (with a quote in it), and one for a column no table has.
	changed := Table{Name: schemas.TableSample, Layout: &schemas.Layout{Columns: []schemas.Column{
		{Name: "ics", Doc: "the ICS's code (it's the board's)"}, {Name: "no_such_column", Doc: "nothing"}}}}
	Document(changed)
	t.Cleanup(func() { registryMu.Lock(); documented = documented[:len(documented)-1]; registryMu.Unlock() })
	open()
	if got := comment("sample", "ics"); got != "the ICS's code (it's the board's)" {
		t.Errorf("sample.ics after the doc changed: %q", got)
	}
}

// Every table and view a warehouse holds carries a comment, bookkeeping included (the
// README says so; loaded_files, schema_migrations and schema_derived had none).
func TestEveryTableAndViewIsDocumented(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.duckdb")
	if _, err := Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' AND coalesce(comment, '') = ''
		UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' AND coalesce(comment, '') = '' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var bare []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		bare = append(bare, name)
	}
	if len(bare) > 0 {
		t.Errorf("tables and views with no comment: %v", bare)
	}
}
