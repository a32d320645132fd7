package warehouse

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSnapshot(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	execAll(t, w, `INSERT INTO loaded_files VALUES ('lake/x.parquet', 'responses', 'abc', 3, now())`)
	dst := filepath.Join(t.TempDir(), "snap.duckdb")
	if err := Snapshot(ctx, w.Path(), dst, time.Second); err != nil {
		t.Fatal(err)
	}
	snap, err := OpenReadOnly(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	var n int
	if err := snap.QueryRow(`SELECT count(*) FROM loaded_files WHERE object_key = 'lake/x.parquet'`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("snapshot has %d loaded_files rows, %v", n, err)
	}
	// Views come along, and work.
	if err := snap.QueryRow(`SELECT count(*) FROM response_rates`).Scan(&n); err != nil {
		t.Errorf("a view in the snapshot: %v", err)
	}
	// The warehouse can be written while the snapshot is open.
	execAll(t, w, `INSERT INTO loaded_files VALUES ('lake/y.parquet', 'responses', 'def', 1, now())`)
	if err := w.Read(ctx, func(db *sql.DB) error {
		return db.QueryRow(`SELECT count(*) FROM loaded_files`).Scan(&n)
	}); err != nil || n != 2 {
		t.Errorf("warehouse after the snapshot: %d rows, %v", n, err)
	}

	if err := Snapshot(ctx, w.Path(), dst, time.Second); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a snapshot over an existing file: %v", err)
	}
	if err := Snapshot(ctx, filepath.Join(t.TempDir(), "none.duckdb"), filepath.Join(t.TempDir(), "s.duckdb"), time.Second); err == nil {
		t.Error("a snapshot of a missing warehouse succeeded")
	}
}
