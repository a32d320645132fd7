// Package duckmem opens in-memory DuckDB databases that spill only to a private
// directory of their own, removed when the database is closed.
//
// DuckDB spills what does not fit in memory (a large sort, join or aggregate) to its
// temp_directory, which for an in-memory database is ".tmp" in the process's working
// directory: wherever a worker or a command happened to be started, readable as that
// directory allows, and left behind if the process dies. The pipeline's in-memory
// databases hold pseudonymised patient data (project pseudonyms, answers), so each
// spills instead to a directory made for it alone, readable by the process's user
// only, and removed with it.
package duckmem

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	_ "github.com/duckdb/duckdb-go/v2" // the duckdb driver
)

// DB is an in-memory DuckDB database and the private directory it spills to.
type DB struct {
	*sql.DB
	dir  string
	once sync.Once
	err  error
}

// Open opens an in-memory database spilling to a new private directory under the
// system's temporary directory, named after what (a word saying what it is for).
func Open(what string) (*DB, error) {
	dir, err := os.MkdirTemp("", "ice-"+what+"-*") // mode 0700
	if err != nil {
		return nil, fmt.Errorf("duckmem: %s: make its spill directory: %w", what, err)
	}
	db, err := sql.Open("duckdb", "?temp_directory="+url.QueryEscape(filepath.Join(dir, "duckdb.tmp")))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("duckmem: %s: open: %w", what, err)
	}
	return &DB{DB: db, dir: dir}, nil
}

// Dir is the directory the database spills to.
func (d *DB) Dir() string { return d.dir }

// Close closes the database and removes its spill directory, once; later calls return
// the first call's error.
func (d *DB) Close() error {
	d.once.Do(func() {
		d.err = d.DB.Close()
		if err := os.RemoveAll(d.dir); err != nil && d.err == nil {
			d.err = err
		}
	})
	return d.err
}
