package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"icesurvey/infra/devstack"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/waveclient"
)

// checkWarehouseRebuildsFromTheLake: the warehouse is derived from the lake, so it can
// be derived again, through the workflow on the warehouse queue. A reload brings the
// warehouse up to the lake; a second one loads nothing; and a warehouse emptied of
// every table (as a file lost and made again is) is rebuilt by `ice warehouse reload`
// to what it was, table by table and row by row.
func checkWarehouseRebuildsFromTheLake(t *testing.T, ctx context.Context, st *devstack.Stack, wc *waveclient.Client, wave string) {
	t.Helper()
	if _, err := wc.ReloadWarehouse(ctx, wave); err != nil {
		t.Fatalf("reload: %v", err)
	}
	again, err := wc.ReloadWarehouse(ctx, wave)
	if err != nil {
		t.Fatalf("second reload: %v", err)
	}
	if len(again.Partitions) == 0 {
		t.Fatalf("the reload of %s found no lake partition", wave)
	}
	for part, o := range again.Partitions {
		if o.Loaded != 0 || o.Skipped != o.Objects || o.Objects == 0 {
			t.Errorf("a second reload, partition %q: %+v; want every object already there", part, o)
		}
	}
	for r, o := range again.Releases {
		if o.Loaded != 0 || o.Skipped != o.Objects {
			t.Errorf("a second reload, publication release %s: %+v; want every object already there", r, o)
		}
	}
	for table, n := range again.LinkageRows {
		if n != 0 {
			t.Errorf("a second reload loaded %d rows of the linkage release's %s", n, table)
		}
	}

	dir := t.TempDir()
	before := filepath.Join(dir, "before.duckdb")
	if err := warehouse.Snapshot(ctx, st.Warehouse.Path(), before, time.Minute); err != nil {
		t.Fatal(err)
	}
	// Empty every table, as a warehouse made anew is (its migrations kept).
	err = st.Warehouse.Write(ctx, func(tx *sql.Tx) error {
		for _, table := range baseTables(t, ctx, tx, "") {
			if _, err := tx.ExecContext(ctx, "DELETE FROM "+schemas.QuoteIdent(table)); err != nil {
				return fmt.Errorf("empty %s: %w", table, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := rootCmd()
	cmd.SetArgs([]string{"warehouse", "reload", "--all", "--address", st.Server.HostPort(), "--namespace", st.Server.Namespace(),
		"--store", st.Store.URL()})
	if err := cmd.ExecuteContext(ctx); err != nil {
		t.Fatalf("ice warehouse reload --all: %v", err)
	}
	after := filepath.Join(dir, "after.duckdb")
	if err := warehouse.Snapshot(ctx, st.Warehouse.Path(), after, time.Minute); err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, path := range map[string]string{"before": before, "after": after} {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("ATTACH '%s' AS %s (READ_ONLY)", path, name)); err != nil {
			t.Fatal(err)
		}
	}
	tables := baseTables(t, ctx, db, "before")
	if !slices.Contains(tables, string(schemas.TableSample)) || !slices.Contains(tables, string(schemas.TableAuditLog)) {
		t.Fatalf("the warehouse's tables: %v", tables)
	}
	compared := 0
	for _, table := range tables {
		cols := "*"
		if table == string(schemas.TableLoadedFiles) {
			cols = "object_key, table_name, sha256, rows" // not when
		}
		q := func(a, b string) string {
			return fmt.Sprintf("SELECT count(*) FROM (SELECT %[1]s FROM %[2]s.%[4]s EXCEPT ALL SELECT %[1]s FROM %[3]s.%[4]s)",
				cols, a, b, schemas.QuoteIdent(table))
		}
		var n, lost, gained int
		if err := db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM before.%s", schemas.QuoteIdent(table))).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, q("before", "after")).Scan(&lost); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if err := db.QueryRowContext(ctx, q("after", "before")).Scan(&gained); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		switch table {
		case string(schemas.TableAuditLog):
			// The audit trail goes on: the reloads' own events are in the rebuilt one too.
			gained = 0
		case string(schemas.TableLoadedFiles):
			// The record of loads keeps objects since deleted from the lake and those of
			// an earlier linkage release (whose counts the lake keeps, but the warehouse
			// holds the current release only); a rebuilt warehouse loads what is current,
			// and the reloads' own audit batches.
			lost = countLostLoads(t, ctx, db, st, again.LinkageRelease)
			if err := db.QueryRowContext(ctx, q("after", "before")+" WHERE table_name <> 'audit_log'").Scan(&gained); err != nil {
				t.Fatal(err)
			}
		}
		if lost != 0 || gained != 0 {
			t.Errorf("rebuilt from the lake, %s has lost %d of its %d rows and gained %d", table, lost, n, gained)

		}
		if n > 0 {
			compared++
		}
	}
	if compared < 5 {
		t.Errorf("only %d tables held rows to compare", compared)
	}
	// And every lake object of the wave that the warehouse holds was loaded, with its
	// present bytes.
	for _, lt := range schemas.WarehouseLakeTables() {
		infos, err := st.Store.List(ctx, schemas.LakeWavePrefix(lt, wave))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			if !schemas.IsParquet(in.Key) {
				continue
			}
			sha, _, err := store.SHA256(ctx, st.Store, in.Key)
			if err != nil {
				t.Fatal(err)
			}
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM after.loaded_files WHERE object_key = ? AND sha256 = ?`, in.Key, sha).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("the rebuilt warehouse has %d loads of %s with its present bytes, want 1", n, in.Key)
			}
		}
	}
}

// countLostLoads counts the loads the rebuilt warehouse has no record of whose objects
// are still in the lake and current: not of a linkage release other than current.
func countLostLoads(t *testing.T, ctx context.Context, db *sql.DB, st *devstack.Stack, current string) int {
	t.Helper()
	rows, err := db.QueryContext(ctx, `SELECT object_key FROM (SELECT object_key, table_name, sha256, rows FROM before.loaded_files
		EXCEPT ALL SELECT object_key, table_name, sha256, rows FROM after.loaded_files)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	lost := 0
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			t.Fatal(err)
		}
		if _, release, ok := strings.Cut(key, "/release="); ok && !strings.HasPrefix(release, current+"/") {
			continue
		}
		if _, err := st.Store.Stat(ctx, key); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("the rebuilt warehouse did not load %s, which is in the lake (%v)", key, err)
			lost++
		}
	}
	return lost
}

// baseTables lists the warehouse's tables (of catalog cat, or the current one), but
// the migrations' bookkeeping, which a rebuilt warehouse makes for itself.
func baseTables(t *testing.T, ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, cat string) []string {
	t.Helper()
	where := "table_catalog = current_database()"
	if cat != "" {
		where = "table_catalog = '" + cat + "'"
	}
	rows, err := q.QueryContext(ctx, "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND "+where+" ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "schema_") {
			out = append(out, name)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
