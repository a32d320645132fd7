package linkage_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"icesurvey/linkage"
	"icesurvey/schemas"
	"icesurvey/warehouse"
)

func TestWarehouseViewsCountLinkedExperience(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 300, 150)
	w.generate(t, "csv")
	res := w.build(t, "R1", "")
	whPath := filepath.Join(t.TempDir(), "wh.duckdb")
	wh, err := warehouse.Open(ctx, whPath)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := linkage.LoadRelease(ctx, wh, w.st, w.wave, "R1")
	if err != nil {
		t.Fatal(err)
	}
	if loaded[schemas.TableLinkedRespondents] != res.Consented || loaded[schemas.TableLinkageAccuracy] != 0 {
		t.Fatalf("loaded %v", loaded)
	}
	db, err := warehouse.OpenReadOnly(whPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// "I don't have to repeat my story" by the number of providers seen: every linked
	// respondent in the question's base is counted once, in one providers group.
	var inBase, counted, groups int
	if err := db.QueryRow(`SELECT count(*) FROM linked_answers WHERE question_id = 'P_REPEAT_STORY' AND in_base`).Scan(&inBase); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT sum(respondents), count(DISTINCT group_value) FROM linked_experience_by_burden
		WHERE question_id = 'P_REPEAT_STORY' AND grouping = 'providers_12m'`).Scan(&counted, &groups); err != nil {
		t.Fatal(err)
	}
	if inBase == 0 || counted != inBase || groups < 3 {
		t.Fatalf("P_REPEAT_STORY: %d in base, %d counted over %d provider groups", inBase, counted, groups)
	}
	var flowRows int
	if err := db.QueryRow(`SELECT count(*) FROM linkage_cohort_flow WHERE ics = 'ALL'`).Scan(&flowRows); err != nil {
		t.Fatal(err)
	}
	if flowRows != 4+len(w.defs.IDs()) {
		t.Errorf("%d wave-level flow rows", flowRows)
	}
	var conds int
	if err := db.QueryRow(`SELECT count(*) FROM linked_experience_by_condition`).Scan(&conds); err != nil || conds == 0 {
		t.Errorf("experience by condition: %d rows (%v)", conds, err)
	}
}

// With every package's tables and views in it, each view and each table an analyst
// queries carries its description (warehouse.Document, the views' docs): a new one
// without a doc fails here.
func TestEveryWarehouseTableAndViewIsDocumented(t *testing.T) {
	ctx := context.Background()
	whPath := filepath.Join(t.TempDir(), "wh.duckdb")
	if _, err := warehouse.Open(ctx, whPath); err != nil {
		t.Fatal(err)
	}
	db, err := warehouse.OpenReadOnly(whPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT 'view ' || view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main' AND comment IS NULL
		UNION ALL SELECT 'table ' || table_name FROM duckdb_tables() WHERE schema_name = 'main' AND comment IS NULL
			AND table_name NOT IN ('loaded_files', 'schema_migrations', 'schema_derived')
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var what string
		if err := rows.Scan(&what); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s has no comment (no doc)", what)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// A release loaded again after a later one replaced it (a rebuild of its objects,
// byte for byte the same) replaces the later one's rows: it is not skipped as loaded
// before.
func TestReleaseLoadedAgainAfterALaterOne(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 200, 100)
	w.generate(t, "csv")
	wh, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "wh.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	releasesIn := func() []string {
		t.Helper()
		var out []string
		err := wh.Read(ctx, func(db *sql.DB) error {
			rows, err := db.QueryContext(ctx, `SELECT DISTINCT release_id FROM linked_respondents WHERE wave_id = ? ORDER BY 1`, w.wave)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var r string
				if err := rows.Scan(&r); err != nil {
					return err
				}
				out = append(out, r)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, release := range []string{"R1", "R2", "R1"} {
		w.build(t, release, "")
		if _, err := linkage.LoadRelease(ctx, wh, w.st, w.wave, release); err != nil {
			t.Fatal(err)
		}
		if got := releasesIn(); !slices.Equal(got, []string{release}) {
			t.Fatalf("after loading %s, linked_respondents holds releases %v", release, got)
		}
	}
}
