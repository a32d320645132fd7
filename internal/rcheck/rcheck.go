// Package rcheck is the harness of the tests that hold Go's statistics to R's (the
// estimate and publication cross-checks): find Rscript or skip, a directory for the
// files both sides read, CSV in and out, running an R script, and the largest
// difference of each compared quantity. It is imported by tests only.
package rcheck

import (
	"encoding/csv"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// Rscript returns the path of Rscript, or skips t when R is not installed (saying so,
// so that a skipped cross-check is never mistaken for a passed one).
func Rscript(t testing.TB) string {
	t.Helper()
	rscript, err := exec.LookPath("Rscript")
	if err != nil {
		t.Skip("Rscript is not installed (infra/test.sh installs r-base-core, r-cran-survey and r-cran-mass): the cross-check against R's survey package did not run")
	}
	return rscript
}

// Dir returns the directory for the files the Go and R sides exchange: a fresh
// temporary one, or $ICE_CROSSCHECK_DIR when set, to keep the files and rerun the R
// scripts by hand.
func Dir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("ICE_CROSSCHECK_DIR"); d != "" {
		return d
	}
	return t.TempDir()
}

// Run runs the R script (a path relative to the test's package directory) with
// rscript --vanilla, passing it dir, and fails t with R's output if it fails.
func Run(t testing.TB, rscript, script, dir string) {
	t.Helper()
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(rscript, "--vanilla", abs, dir).CombinedOutput(); err != nil {
		t.Fatalf("Rscript %s: %v\n%s", script, err, out)
	}
}

// WriteCSV writes rows (the header first) to path.
func WriteCSV(t testing.TB, path string, rows [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// ReadCSV reads the CSV file at path, each row after the header as a map from column
// name to value.
func ReadCSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no header", path)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

// Num parses field's value s of data row row (0-based, as ReadCSV numbers them) of
// file as a number, failing t with the file's line number when it is not one.
func Num(t testing.TB, file string, row int, field, s string) float64 {
	t.Helper()
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%s row %d field %s: %q is not a number", file, row+2, field, s)
	}
	return x
}

// MaxDiff tracks the largest absolute difference of one quantity between Go and R.
type MaxDiff struct {
	Name  string
	Worst float64 // +Inf once a difference was NaN
	Where string  // where the worst difference was
	N     int     // values compared
}

// Add compares one value.
func (m *MaxDiff) Add(got, want float64, where string) {
	m.N++
	d := math.Abs(got - want)
	if math.IsNaN(d) || d > m.Worst {
		m.Worst, m.Where = d, where
		if math.IsNaN(d) {
			m.Worst = math.Inf(1)
		}
	}
}

// Within logs each difference and fails t for each one over tol or over no values at
// all (a comparison that compared nothing).
func Within(t testing.TB, tol float64, diffs ...*MaxDiff) {
	t.Helper()
	for _, d := range diffs {
		t.Logf("max |Go − R| %-10s %.3g over %d values (at %s)", d.Name, d.Worst, d.N, d.Where)
		if d.N == 0 || !(d.Worst <= tol) {
			t.Errorf("%s: max |Go − R| = %.3g at %s over %d values, want ≤ %g", d.Name, d.Worst, d.Where, d.N, tol)
		}
	}
}
