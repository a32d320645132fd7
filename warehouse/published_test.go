package warehouse

import (
	"context"
	"database/sql"
	"strings"
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

// Every wave's first release is r1: the published tables are keyed by wave as well as
// by release, so one wave's release never replaces another's rows.
func TestPublishedTablesKeepEachWavesRelease(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := func(x int64) *int64 { return &x }
	for i, wave := range []string{"W1", "W2"} {
		base := int64(100 * (i + 1))
		objects := []struct {
			table schemas.Table
			key   string
			put   func(key string) error
		}{
			{schemas.TablePublishedResults, schemas.PublishResultsParquetKey(wave, "r1"), func(key string) error {
				return lake.PutRows(ctx, st, key, schemas.PublishedResultLayout(), []schemas.PublishedResult{{ReleaseID: "r1", WaveID: wave,
					GeographyLevel: "ics", ICS: "QMM", GroupVariable: "all", GroupLevel: "all", RespondentType: "patient",
					QuestionID: "P_ACCESS_EASE", PositiveCodes: "1;2", BaseUnweighted: n(base)}})
			}},
			{schemas.TablePublishedDistributions, schemas.PublishDistributionsParquetKey(wave, "r1"), func(key string) error {
				return lake.PutRows(ctx, st, key, schemas.PublishedDistributionLayout(), []schemas.PublishedDistribution{{ReleaseID: "r1", WaveID: wave,
					GeographyLevel: "ics", ICS: "QMM", GroupVariable: "all", GroupLevel: "all", RespondentType: "patient",
					QuestionID: "P_ACCESS_EASE", OptionCode: "1", CountUnweighted: n(base)}})
			}},
			{schemas.TablePublishedResponseRates, schemas.PublishResponseRatesParquetKey(wave, "r1"), func(key string) error {
				return lake.PutRows(ctx, st, key, schemas.PublishedResponseRateLayout(), []schemas.PublishedResponseRate{{ReleaseID: "r1", WaveID: wave,
					GeographyLevel: "ics", ICS: "QMM", Sampled: n(base)}})
			}},
			{schemas.TableReleases, schemas.PublishReleaseParquetKey(wave, "r1"), func(key string) error {
				return lake.PutRows(ctx, st, key, schemas.PublishedReleaseLayout(), []schemas.PublishedRelease{{ReleaseID: "r1", WaveID: wave,
					Status: "draft", ResultRows: base}})
			}},
		}
		for _, o := range objects {
			if err := o.put(o.key); err != nil {
				t.Fatal(err)
			}
			loadObject(t, w, st, Tables[o.table], o.key)
		}
	}
	for table, col := range map[schemas.Table]string{
		schemas.TablePublishedResults: "base_unweighted", schemas.TablePublishedDistributions: "count_unweighted",
		schemas.TablePublishedResponseRates: "sampled", schemas.TableReleases: "result_rows",
	} {
		var got string
		if err := w.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT string_agg(wave_id || '=' || `+col+`, ',' ORDER BY wave_id) FROM `+string(table)+` WHERE release_id = 'r1'`).Scan(&got)
		}); err != nil {
			t.Fatal(err)
		}
		if got != "W1=100,W2=200" {
			t.Errorf("%s holds r1 as %s, want W1=100,W2=200 (each wave's own)", table, got)
		}
	}
}

// A warehouse made before migration 21 keyed its published tables by release alone:
// the migration keys them by wave too, keeps their rows and forgets their loads (so the
// next reload puts back what a later wave's r1 replaced), and leaves other loads alone.
func TestMigration21KeysThePublishedTablesByWave(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	before := strings.Replace(Tables[schemas.TableReleases].DDL(), `PRIMARY KEY ("release_id", "wave_id")`, `PRIMARY KEY ("release_id")`, 1)
	if before == Tables[schemas.TableReleases].DDL() {
		t.Fatalf("no key to take the wave out of in %s", before)
	}
	execAll(t, w,
		`DROP TABLE releases`,
		before, // the releases table as migration 16 made it
		`INSERT INTO releases (release_id, wave_id, status, approved_by, left_out, code_version, icss_published, icss_not_published, result_rows, distribution_rows, cells_withheld, metadata_sha256) VALUES ('r1', 'W2', 'draft', '', '', '', '', '', 0, 0, 0, '')`,
		`INSERT INTO loaded_files VALUES ('publish/W1/r1/release.parquet', 'releases', 'abc', 1, now()), ('publish/W2/r1/release.parquet', 'releases', 'def', 1, now()), ('lake/sample/wave=W1/ics=QMM/sample.parquet', 'sample', 'ghi', 5, now())`,
		`DELETE FROM schema_migrations WHERE version = 21`)
	if _, err := Open(ctx, w.Path()); err != nil {
		t.Fatal(err)
	}
	err := w.Read(ctx, func(db *sql.DB) error {
		var releases, others int
		if err := db.QueryRow(`SELECT count(*) FILTER (WHERE table_name = 'releases'), count(*) FILTER (WHERE table_name <> 'releases') FROM loaded_files`).Scan(&releases, &others); err != nil {
			return err
		}
		if releases != 0 || others != 1 {
			t.Errorf("loaded_files: %d releases objects (want them forgotten), %d others (want kept)", releases, others)
		}
		var wave string
		if err := db.QueryRow(`SELECT string_agg(wave_id, ',') FROM releases`).Scan(&wave); err != nil || wave != "W2" {
			t.Errorf("releases after the migration: %q (%v), want its row of W2 kept", wave, err)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	// W1's r1 now sits beside W2's.
	execAll(t, w, `INSERT INTO releases BY NAME SELECT * REPLACE ('W1' AS wave_id) FROM releases`)
}

// releaseBeforeParameters is release.parquet's row as written before the parameters
// column.
type releaseBeforeParameters struct {
	ReleaseID        string     `col:"release_id,key"`
	WaveID           string     `col:"wave_id,key"`
	Status           string     `col:"status"`
	ApprovedBy       string     `col:"approved_by"`
	ApprovedAt       *time.Time `col:"approved_at"`
	LeftOut          string     `col:"left_out"`
	CodeVersion      string     `col:"code_version"`
	ICSsPublished    string     `col:"icss_published"`
	ICSsNotPublished string     `col:"icss_not_published"`
	ResultRows       int64      `col:"result_rows"`
	DistributionRows int64      `col:"distribution_rows"`
	CellsWithheld    int64      `col:"cells_withheld"`
	MetadataSHA256   string     `col:"metadata_sha256"`
}

// A release's parameters load with its record; a release.parquet written before the
// column loads too, its parameters NULL.
func TestReleasesHoldTheirParameters(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	params := `[{"name":"min_base","value":"20"}]`
	newKey, oldKey := schemas.PublishReleaseParquetKey("W1", "r2"), schemas.PublishReleaseParquetKey("W1", "r1")
	if err := lake.PutRows(ctx, st, newKey, schemas.PublishedReleaseLayout(),
		[]schemas.PublishedRelease{{ReleaseID: "r2", WaveID: "W1", Status: "draft", MetadataSHA256: "a", Parameters: &params}}); err != nil {
		t.Fatal(err)
	}
	if err := lake.PutRows(ctx, st, oldKey, schemas.LayoutOf[releaseBeforeParameters](string(schemas.TableReleases)),
		[]releaseBeforeParameters{{ReleaseID: "r1", WaveID: "W1", Status: "published", MetadataSHA256: "b"}}); err != nil {
		t.Fatal(err)
	}
	loadObject(t, w, st, Tables[schemas.TableReleases], newKey)
	loadObject(t, w, st, Tables[schemas.TableReleases], oldKey)
	got := map[string]sql.NullString{}
	if err := w.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT release_id, parameters FROM releases`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var p sql.NullString
			if err := rows.Scan(&id, &p); err != nil {
				return err
			}
			got[id] = p
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if got["r2"].String != params || got["r1"].Valid || len(got) != 2 {
		t.Errorf("releases' parameters %v, want r2's %s and r1's NULL", got, params)
	}
}
