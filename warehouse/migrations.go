package warehouse

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Migration is one versioned, forward-only change to the warehouse schema. Versions
// are applied in order, each once, recorded in schema_migrations.
type Migration struct {
	Version int
	Name    string
	SQL     []string
}

var (
	registryMu sync.Mutex
	registry   []Migration
	derived    []Derived
)

// Derived is a set of idempotent statements that follow the code rather than the
// schema's history — columns and views generated from the questionnaire catalogue. They
// run after every migration, again whenever their text changes (recorded by digest in
// schema_derived), so a catalogue change reaches the warehouse at the next Open.
type Derived struct {
	Name string
	SQL  func() ([]string, error)
}

// Derive adds a derived set. Names are unique.
func Derive(d Derived) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, have := range derived {
		if have.Name == d.Name {
			panic("warehouse: derived set " + d.Name + " registered twice")
		}
	}
	derived = append(derived, d)
}

// Register adds a migration. Packages that own warehouse tables register theirs from
// their layouts at init time; a version may be registered once.
func Register(m Migration) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, have := range registry {
		if have.Version == m.Version {
			panic(fmt.Sprintf("warehouse: migration %d registered twice (%s and %s)", m.Version, have.Name, m.Name))
		}
	}
	registry = append(registry, m)
}

// Migrations lists the registered migrations in version order.
func Migrations() []Migration {
	registryMu.Lock()
	defer registryMu.Unlock()
	out := append([]Migration(nil), registry...)
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

func migrate(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("warehouse: create schema_migrations: %w", err)
	}
	applied := map[int]bool{}
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return fmt.Errorf("warehouse: read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("warehouse: read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	for _, m := range Migrations() {
		if applied[m.Version] {
			continue
		}
		for _, stmt := range m.SQL {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("warehouse: migration %d (%s): %w\n%s", m.Version, m.Name, err, stmt)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.Version, m.Name); err != nil {
			return fmt.Errorf("warehouse: record migration %d: %w", m.Version, err)
		}
	}
	if err := applyDerived(ctx, tx); err != nil {
		return err
	}
	return applyComments(ctx, tx)
}

func applyDerived(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_derived (
		name VARCHAR PRIMARY KEY, digest VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("warehouse: create schema_derived: %w", err)
	}
	registryMu.Lock()
	sets := append([]Derived(nil), derived...)
	registryMu.Unlock()
	sort.Slice(sets, func(i, j int) bool { return sets[i].Name < sets[j].Name })
	for _, d := range sets {
		stmts, err := d.SQL()
		if err != nil {
			return fmt.Errorf("warehouse: derive %s: %w", d.Name, err)
		}
		sum := sha256.Sum256([]byte(strings.Join(stmts, ";\n")))
		digest := hex.EncodeToString(sum[:])
		var have string
		err = tx.QueryRowContext(ctx, `SELECT digest FROM schema_derived WHERE name = ?`, d.Name).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return fmt.Errorf("warehouse: read schema_derived: %w", err)
		case have == digest:
			continue
		}
		for _, stmt := range stmts {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("warehouse: derive %s: %w\n%s", d.Name, err, stmt)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO schema_derived (name, digest, applied_at) VALUES (?, ?, now())`, d.Name, digest); err != nil {
			return fmt.Errorf("warehouse: record derived %s: %w", d.Name, err)
		}
	}
	return nil
}

// AppliedVersions lists the migration versions recorded in the warehouse.
func AppliedVersions(ctx context.Context, db *sql.DB) ([]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: read schema_migrations: %w", err)
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
