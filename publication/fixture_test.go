package publication

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"icesurvey/publication/pubsynth"
	"icesurvey/warehouse"
)

// The tests' synthetic wave: ICSs built to cover every path of a release.
//
//	QAA  a usual ICS: respondents in proportion to the frame
//	QBB  the young and the severely frail respond less: weights past hi, feasible (trimmed)
//	QCC  small: 18-64 has too few respondents (collapsed), its groups are suppressed;
//	     its deaths are one DBS reply's object, its opt-outs late, one object each
//	QDD  the severely frail hardly respond: no bounded solution (infeasible_untrimmed)
//	QEE  tiny: every row's base is below min_base
var testSpec = pubsynth.Spec{Wave: "W1", Seed: 7, Duplicates: 0.03, Incomplete: 0.03,
	LocalQuestions: map[string][]string{"QAA": {"LQ_LONELINESS"}, "QBB": {"LQ_DIGITAL_SERVICES"}, "QCC": {"LQ_LONELINESS", "LQ_CARER_BREAK"}},
	ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 900, Patients: 300, Carers: 100, Deceased: 12, Ineligible: 3, OptedOut: 20, Undelivered: 15},
		{Code: "QBB", Sampled: 1200, Patients: 400, Carers: 120, Deceased: 20, Ineligible: 2, OptedOut: 9, Undelivered: 30,
			YoungPropensity: 0.25, SeverePropensity: 0.35, Effect: 0.06},
		{Code: "QCC", Sampled: 150, Patients: 45, Carers: 12, Deceased: 3, OptedOut: 2, YoungPropensity: 0.1, Effect: -0.05,
			LateOptOuts: 2, DBSRequest: "req-0001"},
		{Code: "QDD", Sampled: 900, Patients: 300, Carers: 80, Deceased: 9, Undelivered: 4, SeverePropensity: 0.1, Effect: -0.1},
		{Code: "QEE", Sampled: 60, Patients: 8, Carers: 6, Deceased: 1},
	}}

// testParams are the defaults with a fixed code version, so files do not depend on
// the build.
func testParams() Params {
	p := DefaultParams()
	p.CodeVersion = "test"
	return p
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixture     *pubsynth.Wave
	fixtureSnap string
	fixtureErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// testWave builds the tests' wave once and returns it with the path of a snapshot of
// its warehouse.
func testWave(t *testing.T) (*pubsynth.Wave, string) {
	t.Helper()
	fixtureOnce.Do(func() {
		ctx := context.Background()
		fixtureDir, fixtureErr = os.MkdirTemp("", "publication-test-*")
		if fixtureErr != nil {
			return
		}
		fixture, fixtureErr = pubsynth.Build(ctx, filepath.Join(fixtureDir, "a"), testSpec)
		if fixtureErr != nil {
			return
		}
		fixtureSnap = filepath.Join(fixtureDir, "snapshot.duckdb")
		fixtureErr = warehouse.Snapshot(ctx, fixture.Warehouse.Path(), fixtureSnap, time.Minute)
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture, fixtureSnap
}

// compute computes a release from the warehouse snapshot at path.
func compute(t *testing.T, path, wave string, p Params) *Results {
	t.Helper()
	db, err := warehouse.OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r, err := Compute(context.Background(), db, wave, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// computeErr computes and returns the error.
func computeErr(t *testing.T, w *warehouse.Warehouse, wave string, p Params) error {
	t.Helper()
	return w.Read(context.Background(), func(db *sql.DB) error {
		_, err := Compute(context.Background(), db, wave, p)
		return err
	})
}

// smallWave builds a small wave of its own, for tests that change the warehouse.
func smallWave(t *testing.T) *pubsynth.Wave {
	t.Helper()
	w, err := pubsynth.Build(context.Background(), t.TempDir(), pubsynth.Spec{Wave: "W2", Seed: 3,
		ICSs: []pubsynth.ICS{
			{Code: "QAA", Sampled: 300, Patients: 90, Carers: 20, Deceased: 5, Ineligible: 4, OptedOut: 6, Undelivered: 7},
			{Code: "QBB", Sampled: 250, Patients: 70, Carers: 15, Deceased: 3, Ineligible: 2, OptedOut: 4, Undelivered: 5},
		}})
	if err != nil {
		t.Fatal(err)
	}
	return w
}
