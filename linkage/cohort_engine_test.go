package linkage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCohortEngineSpillsToItsOwnDirectory: the validation engine holds project
// pseudonyms, so it spills to a private directory of its own (not DuckDB's default,
// ".tmp" in the working directory), which Close removes.
func TestCohortEngineSpillsToItsOwnDirectory(t *testing.T) {
	c := &Cohort{WaveID: "W", People: []Person{{NHSPseudonym: strings.Repeat("ab", 32), Consented: true}},
		byKey: map[[32]byte]int32{{0xab}: 0}}
	db, err := c.engine()
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	if err := db.QueryRowContext(context.Background(), "SELECT current_setting('temp_directory')").Scan(&dir); err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != c.db.Dir() || !strings.HasPrefix(dir, os.TempDir()) {
		t.Fatalf("the engine spills to %s, not into its own directory %s", dir, c.db.Dir())
	}
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT count(*) FROM cohort").Scan(&n); err != nil || n != 1 {
		t.Fatalf("cohort table: %d rows, %v", n, err)
	}
	own := c.db.Dir()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(own); !os.IsNotExist(err) {
		t.Errorf("the engine's directory %s is left after Close (%v)", own, err)
	}
}

// TestValidationsShareTheEngineThreads: validations side by side each get their share
// of the engine's threads (at least one), given back when they end; a validation alone
// has them all.
func TestValidationsShareTheEngineThreads(t *testing.T) {
	c := &Cohort{WaveID: "W", People: []Person{{NHSPseudonym: strings.Repeat("ab", 32), Consented: true}},
		byKey: map[[32]byte]int32{{0xab}: 0}}
	db, err := c.engine()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	engineMu.Lock()
	c.threads = 4 // the engine's own, whatever this machine has
	engineMu.Unlock()
	threads := func() int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT current_setting('threads')").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var give []func()
	for i, want := range []int{4, 2, 1, 1, 1} {
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		g, err := c.share(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		give = append(give, g)
		if got := threads(); got != want {
			t.Errorf("%d validations: %d threads, want %d", i+1, got, want)
		}
	}
	for i, want := range []int{1, 1, 2, 4, 4} {
		give[i]()
		if got := threads(); got != want {
			t.Errorf("%d validations left: %d threads, want %d", len(give)-i-1, got, want)
		}
	}
}
