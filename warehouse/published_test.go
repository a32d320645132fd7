package warehouse

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// A release's Parquet objects load into the published tables by key: loading again is
// a no-op, a second release sits beside the first, and an approved release's record
// replaces its draft.
func TestPublishedTablesLoadFromReleaseObjects(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pct := func(x float64) *float64 { return &x }
	n := func(x int64) *int64 { return &x }
	results := func(release string) []schemas.PublishedResult {
		return []schemas.PublishedResult{
			{ReleaseID: release, WaveID: "W1", GeographyLevel: "ics", ICS: "QMM", GroupVariable: "all", GroupLevel: "all",
				RespondentType: "patient", QuestionID: "P_ACCESS_EASE", PositiveCodes: "1;2", ExcludedCodes: "5",
				BaseUnweighted: n(812), BaseWeighted: pct(3904.5), PctPositive: pct(71.25), CILower: pct(68.1), CIUpper: pct(74.2),
				NEff: pct(700.2), Deff: pct(1.16), VsEngland: "similar", WeightingStatus: "trimmed"},
			{ReleaseID: release, WaveID: "W1", GeographyLevel: "ics", ICS: "QMM", GroupVariable: "gender", GroupLevel: "9",
				RespondentType: "patient", QuestionID: "P_ACCESS_EASE", PositiveCodes: "1;2", ExcludedCodes: "5",
				Status: "B", WeightingStatus: "trimmed"},
		}
	}
	for _, release := range []string{"r1", "r2"} {
		key := schemas.PublishResultsParquetKey("W1", release)
		if err := lake.PutRows(ctx, st, key, schemas.PublishedResultLayout(), results(release)); err != nil {
			t.Fatal(err)
		}
		for try := 0; try < 2; try++ {
			loaded, skipped := loadObject(t, w, st, Tables[schemas.TablePublishedResults], key)
			if want := try == 1; skipped != want || (!skipped && loaded != 2) {
				t.Fatalf("%s load %d: loaded %d, skipped %v", release, try+1, loaded, skipped)
			}
		}
	}
	var rows, withheld int
	if err := w.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE pct_positive IS NULL AND status = 'B') FROM published_results`).Scan(&rows, &withheld)
	}); err != nil {
		t.Fatal(err)
	}
	if rows != 4 || withheld != 2 {
		t.Errorf("published_results: %d rows, %d withheld; want 4 and 2", rows, withheld)
	}

	// The release record: draft, then published.
	key := schemas.PublishReleaseParquetKey("W1", "r1")
	at := time.Date(2027, 6, 1, 9, 0, 0, 0, time.UTC)
	for _, rec := range []schemas.PublishedRelease{
		{ReleaseID: "r1", WaveID: "W1", Status: "draft", MetadataSHA256: "a"},
		{ReleaseID: "r1", WaveID: "W1", Status: "published", ApprovedBy: "A. Statistician", ApprovedAt: &at, MetadataSHA256: "b"},
	} {
		if err := lake.PutRows(ctx, st, key, schemas.PublishedReleaseLayout(), []schemas.PublishedRelease{rec}); err != nil {
			t.Fatal(err)
		}
		loadObject(t, w, st, Tables[schemas.TableReleases], key)
	}
	var status, by string
	if err := w.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT string_agg(status, ','), string_agg(approved_by, ',') FROM releases`).Scan(&status, &by)
	}); err != nil {
		t.Fatal(err)
	}
	if status != "published" || by != "A. Statistician" {
		t.Errorf("releases: status %q by %q, want one published row", status, by)
	}
	for _, table := range []schemas.Table{schemas.TablePublishedDistributions, schemas.TablePublishedResponseRates} {
		if _, err := LookupTable(table); err != nil {
			t.Error(err)
		}
	}
}
