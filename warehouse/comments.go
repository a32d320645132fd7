package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"icesurvey/schemas"
)

// Analysts read the warehouse in DuckDB, not in this code, so each table and column
// carries its description as a DuckDB comment, from the table's Doc and the layout's
// column docs:
//
//	SELECT table_name, comment FROM duckdb_tables();
//	SELECT column_name, data_type, comment FROM duckdb_columns() WHERE table_name = 'sample';
//
// The comments follow the code: every Open sets those that differ (a changed doc
// reaches the warehouse at the next Open), and only on tables and columns that exist,
// so a doc never stops the warehouse opening.

var documented []Table

// Document adds tables whose comments the warehouse keeps (those of Tables are always
// kept); a package that declares its own warehouse tables calls it from init.
func Document(tables ...Table) {
	registryMu.Lock()
	defer registryMu.Unlock()
	documented = append(documented, tables...)
}

// Comments lists the comment each documented table and column should carry: table name
// → "" for the table, column name for a column.
func Comments() map[string]map[string]string {
	var tables []Table
	for _, name := range TableNames() {
		tables = append(tables, Tables[name])
	}
	registryMu.Lock()
	tables = append(tables, documented...)
	registryMu.Unlock()
	out := map[string]map[string]string{}
	for _, t := range tables {
		m := out[string(t.Name)]
		if m == nil {
			m = map[string]string{}
		}
		if t.Doc != "" {
			m[""] = t.Doc
		}
		if t.Layout != nil {
			for _, c := range t.Layout.Columns {
				if c.Doc != "" {
					m[c.Name] = c.Doc
				}
			}
		}
		if len(m) > 0 {
			out[string(t.Name)] = m
		}
	}
	return out
}

// applyComments sets every documented comment that the warehouse does not hold yet.
func applyComments(ctx context.Context, tx *sql.Tx) error {
	want := Comments()
	have := map[string]map[string]string{} // what exists, with its comment
	rows, err := tx.QueryContext(ctx, `SELECT table_name, coalesce(comment, '') FROM duckdb_tables() WHERE schema_name = 'main'`)
	if err != nil {
		return fmt.Errorf("warehouse: read table comments: %w", err)
	}
	for rows.Next() {
		var table, comment string
		if err := rows.Scan(&table, &comment); err != nil {
			rows.Close()
			return fmt.Errorf("warehouse: read table comments: %w", err)
		}
		have[table] = map[string]string{"": comment}
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT table_name, column_name, coalesce(comment, '') FROM duckdb_columns() WHERE schema_name = 'main'`)
	if err != nil {
		return fmt.Errorf("warehouse: read column comments: %w", err)
	}
	for rows.Next() {
		var table, column, comment string
		if err := rows.Scan(&table, &column, &comment); err != nil {
			rows.Close()
			return fmt.Errorf("warehouse: read column comments: %w", err)
		}
		if have[table] != nil { // a base table's column (views are not documented here)
			have[table][column] = comment
		}
	}
	rows.Close()
	tables := make([]string, 0, len(want))
	for t := range want {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	for _, table := range tables {
		cols := make([]string, 0, len(want[table]))
		for c := range want[table] {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		for _, col := range cols {
			doc := want[table][col]
			current, exists := have[table][col]
			if !exists || current == doc {
				continue
			}
			stmt := fmt.Sprintf("COMMENT ON TABLE %s IS %s", schemas.QuoteIdent(table), sqlString(doc))
			if col != "" {
				stmt = fmt.Sprintf("COMMENT ON COLUMN %s.%s IS %s", schemas.QuoteIdent(table), schemas.QuoteIdent(col), sqlString(doc))
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("warehouse: %s: %w", stmt, err)
			}
		}
	}
	return nil
}
