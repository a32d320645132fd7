package linkage

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"

	"github.com/duckdb/duckdb-go/v2"

	"icesurvey/internal/duckmem"
)

// engineMu guards every cohort's engine while it is made.
var engineMu sync.Mutex

// engine is the in-memory DuckDB a cohort's extracts are judged in, made on first use
// with one table, cohort, and the functions ice_record_key and ice_pseudonym
// (recordKeyFunc, pseudonymFunc): each sampled person's key (the project pseudonym, normalised),
// index, pseudonym as the sample has it, and whether they may be linked. The extracts
// of a wave, validated one after another or side by side, share it: the people are
// loaded once, and the validations share one pool of threads. It holds project
// pseudonyms, so it lives in memory only, and goes with Close or when the cohort is no
// longer used.
func (c *Cohort) engine() (*sql.DB, error) {
	engineMu.Lock()
	defer engineMu.Unlock()
	if c.db != nil {
		return c.db.DB, nil
	}
	// The engine holds project pseudonyms: it spills to a private directory of its own,
	// removed with it.
	e, err := duckmem.Open("linkage-engine")
	if err != nil {
		return nil, fmt.Errorf("linkage: open the validation engine: %w", err)
	}
	// A validation's temporary tables belong to its connection: no connection is kept
	// idle for another validation to find them.
	e.SetMaxIdleConns(0)
	if err := fillEngine(e.DB, c); err != nil {
		e.Close()
		return nil, fmt.Errorf("linkage: load the cohort of %s into the validation engine: %w", c.WaveID, err)
	}
	if err := e.QueryRow("SELECT current_setting('threads')").Scan(&c.threads); err != nil {
		e.Close()
		return nil, fmt.Errorf("linkage: the validation engine's threads: %w", err)
	}
	c.db = e
	runtime.AddCleanup(c, func(e *duckmem.DB) { e.Close() }, e)
	return e.DB, nil
}

// share gives a validation starting in the engine, on conn, its share of the engine's
// threads, and returns the function giving it back, on the same connection, when the
// validation ends. Validations side by side (a wave's extracts, two at a time) each
// keep the machine's cores busy with a query of their own: an engine spreading every
// query over all the cores as well only adds the cost of running in parallel (a
// calling thread polling for the others' tasks, partial aggregates merged, sorted runs
// merged), over a tenth of a validation's CPU time, and gains no time. So each of n
// validations gets 1/n of the engine's threads (at least one): a validation alone has
// them all, as before. The setting is the engine's, so it changes the share of a
// validation already running too. What the engine computes does not depend on it.
func (c *Cohort) share(ctx context.Context, conn *sql.Conn) (func(), error) {
	engineMu.Lock()
	defer engineMu.Unlock()
	c.judging++
	if err := c.setThreads(ctx, conn); err != nil {
		c.judging--
		return nil, err
	}
	return func() {
		engineMu.Lock()
		defer engineMu.Unlock()
		c.judging--
		c.setThreads(context.Background(), conn) // an error leaves the share as it was: the next validation sets it
	}, nil
}

// setThreads sets the engine's threads to the share of each validation in it; engineMu
// held.
func (c *Cohort) setThreads(ctx context.Context, conn *sql.Conn) error {
	n := max(1, c.threads/max(1, c.judging))
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET threads = %d", n)); err != nil {
		return fmt.Errorf("linkage: share the validation engine's threads: %w", err)
	}
	return nil
}

func fillEngine(db *sql.DB, c *Cohort) error {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := duckdb.RegisterScalarUDF(conn, recordKeyFuncName, &recordKeyFunc{}); err != nil {
		return err
	}
	if err := duckdb.RegisterScalarUDF(conn, pseudonymFuncName, &pseudonymFunc{people: c.People}); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, "CREATE TABLE cohort (k VARCHAR, p INTEGER, pseudonym VARCHAR, consented BOOLEAN)"); err != nil {
		return err
	}
	return appendTo(conn, "", "cohort", func(a *duckdb.Appender) error {
		for k, i := range c.byKey {
			p := &c.People[i]
			if err := a.AppendRow(hex.EncodeToString(k[:]), i, p.NHSPseudonym, p.Consented); err != nil {
				return err
			}
		}
		return nil
	})
}

// Close releases the engine the cohort's extracts were judged in, if one was made.
// The cohort stays usable: the engine is made again if it is needed.
func (c *Cohort) Close() error {
	engineMu.Lock()
	defer engineMu.Unlock()
	if c.db == nil {
		return nil
	}
	err := c.db.Close()
	c.db = nil
	return err
}
