package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
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
)

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
