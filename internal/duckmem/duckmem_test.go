package duckmem

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The database spills to its own private directory, not to ".tmp" in the working
// directory, and the directory goes with Close.
func TestSpillsToAPrivateDirectoryRemovedOnClose(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	db, err := Open("test")
	if err != nil {
		t.Fatal(err)
	}
	dir := db.Dir()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o700 {
		t.Errorf("spill directory mode %v, want 0700", info.Mode().Perm())
	}
	if !strings.HasPrefix(filepath.Base(dir), "ice-test-") {
		t.Errorf("spill directory %s is not named for what it serves", dir)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := conn.QueryRowContext(ctx, "SELECT current_setting('temp_directory')").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != filepath.Join(dir, "duckdb.tmp") {
		t.Errorf("temp_directory %q, want under %s", got, dir)
	}
	// A sort too large for a small memory limit spills: to the private directory.
	if _, err := conn.ExecContext(ctx, "SET memory_limit = '64MB'"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t AS SELECT md5(range::VARCHAR) || md5((range + 1)::VARCHAR) AS s FROM range(2000000)`); err != nil {
		t.Fatal(err)
	}
	spilled := false
	rows, err := conn.QueryContext(ctx, "SELECT s FROM t ORDER BY s")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; rows.Next(); i++ {
		if i == 0 {
			entries, _ := os.ReadDir(filepath.Join(dir, "duckdb.tmp"))
			spilled = len(entries) > 0
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !spilled {
		t.Error("the sort did not spill to the private directory")
	}
	if _, err := os.Stat(filepath.Join(wd, ".tmp")); err == nil {
		t.Error("DuckDB spilled to .tmp in the working directory")
	}
	conn.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("spill directory %s still there after Close: %v", dir, err)
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
