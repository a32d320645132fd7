package warehouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"icesurvey/internal/duckmem"
)

// Snapshot copies the warehouse at src into a new DuckDB file at dst, for an analyst
// who wants to query for a long time: the copy holds no lock on the warehouse, so the
// warehouse worker's writes go on while it is open. The warehouse is opened read-only
// for the length of the copy only, waiting up to wait for a write in progress to end.
// dst must not exist; a failed copy leaves nothing behind.
func Snapshot(ctx context.Context, src, dst string, wait time.Duration) error {
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("warehouse: snapshot %s: the file exists", dst)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("warehouse: snapshot %s: %w", dst, err)
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return fmt.Errorf("warehouse: snapshot %s: %w", dst, err)
	}
	// Copy into a temporary name beside dst, renamed once whole.
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".partial")
	clean := func() { os.Remove(tmp); os.Remove(tmp + ".wal") }
	defer clean()
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("warehouse: snapshot %s: %w", src, err)
	}
	err = WithRetry(ctx, wait, func() error {
		clean() // what a busy attempt may have left
		return classify(copyDatabase(ctx, src, tmp))
	})
	if err != nil {
		return fmt.Errorf("warehouse: snapshot %s: %w", src, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		return fmt.Errorf("warehouse: snapshot %s: %w", dst, err)
	}
	return nil
}

// copyDatabase copies src into the new file dst through an in-memory DuckDB that
// attaches src read-only (a shared lock, as an analyst's) and dst read-write. The
// warehouse holds pseudonymised patient data: a spill goes to a private directory.
func copyDatabase(ctx context.Context, src, dst string) error {
	db, err := duckmem.Open("warehouse-snapshot")
	if err != nil {
		return err
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, stmt := range []string{
		`ATTACH ` + sqlString(src) + ` AS warehouse (READ_ONLY)`,
		`ATTACH ` + sqlString(dst) + ` AS snapshot`,
		`COPY FROM DATABASE warehouse TO snapshot`,
		`DETACH snapshot`,
		`DETACH warehouse`,
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	return nil
}
