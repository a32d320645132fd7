// Package warehouse is the DuckDB warehouse analysts query. It is derived from the lake
// (Parquet in the object store), which stays the source of truth: any table here can be
// rebuilt from the lake.
//
// DuckDB allows one writer process, and a read-write connection locks the file against
// every other process. So the warehouse is written by one worker task queue only, and
// each write opens the file, does its work in one transaction and closes it again:
// between writes analysts can open the file read-only (`duckdb -readonly`). A write that
// finds the file locked by a reader fails with ErrBusy, which the caller retries.
package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // registers the "duckdb" database/sql driver

	"icesurvey/fault"
)

// ErrBusy means another process holds the warehouse file's lock; retry later (a
// transient fault.Busy error).
var ErrBusy = fault.New(fault.Busy, "warehouse: file is locked by another process")

// Warehouse is a DuckDB file written one transaction at a time.
type Warehouse struct {
	path string
	mu   sync.Mutex // one writer at a time within this process
}

// Open prepares the warehouse at path, creating it and applying every pending
// migration.
func Open(ctx context.Context, path string) (*Warehouse, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("warehouse: resolve %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("warehouse: create dir: %w", err)
	}
	w := &Warehouse{path: abs}
	if err := w.Write(ctx, func(tx *sql.Tx) error { return migrate(ctx, tx) }); err != nil {
		return nil, err
	}
	return w, nil
}

// Path is the DuckDB file.
func (w *Warehouse) Path() string { return w.path }

// Write runs fn in one transaction on a fresh read-write connection, closing the file
// afterwards so readers can get in.
func (w *Warehouse) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	db, err := sql.Open("duckdb", w.path)
	if err != nil {
		return classify(fmt.Errorf("warehouse: open %s: %w", w.path, err))
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// FSST string compression is left out of the checkpoint that ends each write: it
	// took an eighth of a day's response load into the warehouse (0.04 s of 0.31 s for
	// 50,000 responses) to make the file 7% smaller, by squeezing the pseudonymous ids,
	// which are random hex. Strings keep dictionary and constant compression.
	if _, err := db.ExecContext(ctx, `SET disabled_compression_methods = 'fsst'`); err != nil {
		return classify(fmt.Errorf("warehouse: configure %s: %w", w.path, err))
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return classify(fmt.Errorf("warehouse: begin: %w", err))
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return classify(err)
	}
	if err := tx.Commit(); err != nil {
		return classify(fmt.Errorf("warehouse: commit: %w", err))
	}
	return nil
}

// Read runs fn on a read-only connection. Within the writer's own process it shares the
// writer's lock so the two never collide.
func (w *Warehouse) Read(ctx context.Context, fn func(db *sql.DB) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	db, err := OpenReadOnly(w.path)
	if err != nil {
		return err
	}
	defer db.Close()
	return classify(fn(db))
}

// OpenReadOnly opens the warehouse file read-only, as an analyst would. It fails with
// ErrBusy while a write is in progress.
func OpenReadOnly(path string) (*sql.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("warehouse: %s: %w", path, err)
	}
	db, err := sql.Open("duckdb", path+"?access_mode=read_only")
	if err != nil {
		return nil, classify(fmt.Errorf("warehouse: open read-only %s: %w", path, err))
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, classify(fmt.Errorf("warehouse: open read-only %s: %w", path, err))
	}
	return db, nil
}

// WithRetry calls op until it stops returning ErrBusy or the timeout passes.
func WithRetry(ctx context.Context, timeout time.Duration, op func() error) error {
	deadline := time.Now().Add(timeout)
	wait := 50 * time.Millisecond
	for {
		err := op()
		if !errors.Is(err, ErrBusy) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if wait < time.Second {
			wait *= 2
		}
	}
}

func classify(err error) error {
	if err == nil || errors.Is(err, ErrBusy) {
		return err
	}
	for _, d := range damage {
		if errors.Is(err, d.advice) {
			return err
		}
	}
	msg := err.Error()
	// Another process's lock, or (within one process) a read-only handle still open.
	if strings.Contains(msg, "Could not set lock on file") || strings.Contains(msg, "Conflicting lock") ||
		strings.Contains(msg, "with a different configuration than existing connections") {
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	for _, d := range damage {
		for _, sign := range d.signs {
			if strings.Contains(msg, sign) {
				return fmt.Errorf("%w: %w", err, d.advice)
			}
		}
	}
	return err
}

// damage pairs the signs of a damaged file in DuckDB's errors with the advice that
// ends such an error: the warehouse file's, or a lake object's.
var damage = []struct {
	signs  []string
	advice error
}{{damagedFile, errDamaged}, {damagedParquet, errLakeObjectDamaged}}

// damagedParquet are the signs in DuckDB's errors of a Parquet file that is not whole
// (cut short, overwritten): read by a load, it is a lake object.
var damagedParquet = []string{
	"No magic bytes found at end of file",
	"too small to be a Parquet file",
}

// errLakeObjectDamaged ends the error of a load that met a damaged lake object with
// what to do. Unlike the warehouse, the lake is the truth and nothing derives it again:
// the object has to be restored. The load is retried as any other failure, so it
// carries on once it is.
var errLakeObjectDamaged = errors.New("a lake object is damaged (not a whole Parquet file); the lake is the truth, " +
	"so nothing derives it again: restore the object from the store's versions or backup, " +
	"and the load, retried, carries on (`ice audit --wave W --failed` lists what waits for it)")

// damagedFile are the signs in DuckDB's errors of a warehouse file that is damaged:
// cut short, overwritten, or with a block whose checksum fails.
var damagedFile = []string{
	"Could not read enough bytes from file",
	"it is not a valid DuckDB database file",
	"Corrupt database file",
}

// errDamaged ends the error of a damaged warehouse file with what the on-call engineer
// does about it: DuckDB's own error names the file and the damage, not that the
// warehouse is derived from the lake and can be derived again. A load that meets it
// is retried as any other failure, so it carries on once the file is rebuilt.
var errDamaged = errors.New("the warehouse file is damaged; it is derived from the lake and can be derived again: " +
	"stop the warehouse worker, move it aside, start the worker (it makes an empty warehouse at the current schema) " +
	"and run `ice warehouse reload --all`")
