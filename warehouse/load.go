package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"icesurvey/schemas"
)

// LoadParquet loads the local Parquet file at path, a copy of the lake object
// objectKey, into table t. Tables with partition columns have the object's partition
// replaced (delete, then insert); keyed tables are upserted: by their primary key, or
// for an Unindexed table by deleting its keys' rows first when the object was loaded
// before with other bytes. The load is recorded in loaded_files and skipped when the
// same object with the same digest was loaded into the table before, so a retried load
// changes nothing.
func LoadParquet(ctx context.Context, tx *sql.Tx, t Table, path, objectKey, sha256 string, partition ...any) (loaded int64, skipped bool, err error) {
	var before string
	err = tx.QueryRowContext(ctx, `SELECT sha256 FROM loaded_files WHERE object_key = ? AND table_name = ?`,
		objectKey, string(t.Name)).Scan(&before)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, false, fmt.Errorf("warehouse: check loaded_files for %s: %w", objectKey, err)
	case before == sha256:
		return 0, true, nil
	}
	reloaded := err == nil
	table := schemas.QuoteIdent(string(t.Name))
	verb := "INSERT"
	switch {
	case len(t.PartitionBy) > 0:
		if len(partition) != len(t.PartitionBy) {
			return 0, false, fmt.Errorf("warehouse: load %s into %s: want %d partition values, got %d", objectKey, t.Name, len(t.PartitionBy), len(partition))
		}
		conds := make([]string, len(t.PartitionBy))
		for i, c := range t.PartitionBy {
			conds[i] = schemas.QuoteIdent(c) + " = ?"
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE %s`, table, strings.Join(conds, " AND ")), partition...); err != nil {
			return 0, false, fmt.Errorf("warehouse: clear %s for %s: %w", t.Name, objectKey, err)
		}
	case t.hasKey() && t.Unindexed:
		if reloaded {
			// The object changed since it was loaded: its rows are replaced, as the
			// primary key of an indexed table would replace them.
			var match []string
			for _, k := range t.Layout.KeyNames() {
				match = append(match, fmt.Sprintf("o.%s = %s.%s", schemas.QuoteIdent(k), table, schemas.QuoteIdent(k)))
			}
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE EXISTS (SELECT 1 FROM read_parquet(%s) AS o WHERE %s)`,
				table, sqlString(path), strings.Join(match, " AND "))); err != nil {
				return 0, false, fmt.Errorf("warehouse: clear %s rows of %s: %w", t.Name, objectKey, err)
			}
		}
	case t.hasKey():
		verb = "INSERT OR REPLACE"
	}
	cols := t.Layout.SelectList()
	stmt := fmt.Sprintf(`%s INTO %s (%s) SELECT %s FROM read_parquet(%s)`, verb, table, cols, cols, sqlString(path))
	if t.Layout.Extras() > 0 || t.AddedColumns {
		// Columns that follow the questionnaire catalogue, or were added to the table
		// later: an object written before lacks the column, which is then NULL.
		stmt = fmt.Sprintf(`%s INTO %s BY NAME SELECT * FROM read_parquet(%s)`, verb, table, sqlString(path))
	}
	res, err := tx.ExecContext(ctx, stmt)
	if err != nil {
		return 0, false, fmt.Errorf("warehouse: load %s into %s: %w", objectKey, t.Name, err)
	}
	loaded, _ = res.RowsAffected()
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO loaded_files (object_key, table_name, sha256, rows, loaded_at) VALUES (?, ?, ?, ?, now())`,
		objectKey, string(t.Name), sha256, loaded); err != nil {
		return 0, false, fmt.Errorf("warehouse: record load of %s: %w", objectKey, err)
	}
	return loaded, false, nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func init() {
	Document(Table{Name: schemas.TableLoadedFiles, Doc: "Every lake object loaded into the warehouse, once per table it fed: its key, " +
		"SHA-256 and rows, and when it was loaded. An object already here with the same SHA-256 is not loaded again; " +
		"the lineage a release's metadata digests is computed from it."})
	Document(Table{Name: "schema_migrations", Doc: "Bookkeeping: the warehouse's schema migrations applied, by version and name (each once, in order)."})
	Document(Table{Name: "schema_derived", Doc: "Bookkeeping: the digest of each view or catalogue-derived object as last created, " +
		"so a change in code re-creates it at the next open."})
	Register(Migration{Version: 1, Name: string(schemas.TableLoadedFiles), SQL: []string{
		`CREATE TABLE IF NOT EXISTS loaded_files (
			object_key VARCHAR NOT NULL, table_name VARCHAR NOT NULL, sha256 VARCHAR NOT NULL,
			rows BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,
			PRIMARY KEY (object_key, table_name))`,
	}})
}
