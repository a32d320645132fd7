package dashdata

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"sync"
	"testing"

	"icesurvey/publication"
	"icesurvey/publication/pubsynth"
)

// testSpec is a synthetic wave with ICSs of every size: large ones, a small one whose
// breakdowns are mostly withheld, and a tiny one whose every figure is withheld.
var testSpec = pubsynth.Spec{Wave: "W1", Seed: 11, Duplicates: 0.02, Incomplete: 0.02,
	LocalQuestions: map[string][]string{"QAA": {"LQ_LONELINESS"}, "QCC": {"LQ_DIGITAL_SERVICES"}},
	ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 900, Patients: 300, Carers: 90, Deceased: 12, Ineligible: 3, OptedOut: 20, Undelivered: 15},
		{Code: "QBB", Sampled: 1000, Patients: 320, Carers: 100, Deceased: 15, Ineligible: 2, OptedOut: 9, Undelivered: 30,
			YoungPropensity: 0.3, SeverePropensity: 0.4, Effect: 0.06},
		{Code: "QCC", Sampled: 150, Patients: 45, Carers: 12, Deceased: 3, OptedOut: 2, YoungPropensity: 0.2, Effect: -0.05},
		{Code: "QEE", Sampled: 60, Patients: 8, Carers: 6, Deceased: 1},
	}}

// testRelease is the release written from the same snapshot and loaded back into the
// warehouse, as the publication workflow does.
const testRelease = "R1"

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixture     *pubsynth.Wave
	fixtureRes  *publication.Results
	fixtureErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// buildFixture builds the synthetic wave once: its warehouse, a release computed from
// it and written to its store, and the release's tables loaded into the warehouse.
func buildFixture(t testing.TB) (*pubsynth.Wave, *publication.Results) {
	t.Helper()
	fixtureOnce.Do(func() {
		ctx := context.Background()
		fixtureDir, fixtureErr = os.MkdirTemp("", "dashdata-test-")
		if fixtureErr != nil {
			return
		}
		fixture, fixtureErr = pubsynth.Build(ctx, fixtureDir, testSpec)
		if fixtureErr != nil {
			return
		}
		fixtureErr = func() error {
			p := publication.DefaultParams()
			p.CodeVersion = "test"
			var err error
			if err = fixture.Warehouse.Read(ctx, func(db *sql.DB) error {
				fixtureRes, err = publication.Compute(ctx, db, testSpec.Wave, p)
				return err
			}); err != nil {
				return fmt.Errorf("compute: %w", err)
			}
			m, err := publication.Write(ctx, fixture.Store, fixtureRes, testRelease)
			if err != nil {
				return fmt.Errorf("write: %w", err)
			}
			if _, err := fixture.Warehouse.LoadLakeObjects(ctx, fixture.Store, testSpec.Wave, "", m.WarehouseObjects()); err != nil {
				return fmt.Errorf("load the release: %w", err)
			}
			return nil
		}()
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixture, fixtureRes
}
