package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"testing"

	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

func columnsOf(t *testing.T, w *Warehouse, table string) map[string]bool {
	t.Helper()
	cols := map[string]bool{}
	err := w.Read(context.Background(), func(db *sql.DB) error {
		rows, err := db.Query(`SELECT column_name FROM information_schema.columns WHERE table_name = ?`, table)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return err
			}
			cols[c] = true
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return cols
}

func TestResponsesTableFollowsTheCatalogue(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	cat, err := questionnaire.Default()
	if err != nil {
		t.Fatal(err)
	}
	cols := columnsOf(t, w, "responses")
	for _, id := range cat.AnswerColumns() {
		if !cols[id.ID] {
			t.Errorf("responses has no column %s", id.ID)
		}
	}
	if cols["question_id"] || cols["answer_code"] {
		t.Error("responses is still long")
	}
	for _, v := range cat.Versions() {
		if len(columnsOf(t, w, WideViewName(v))) == 0 {
			t.Errorf("no view %s", WideViewName(v))
		}
	}

	// A warehouse whose table lacks a column (made before a question was added to the
	// catalogue) gets it, and its views, at the next Open.
	missing := cat.AnswerColumns()[3].ID
	execAll(t, w,
		`DROP VIEW response_answers`,
		`ALTER TABLE responses DROP COLUMN `+schemas.QuoteIdent(missing),
		`UPDATE schema_derived SET digest = 'from an older catalogue'`)
	if _, err := Open(ctx, w.Path()); err != nil {
		t.Fatal(err)
	}
	if !columnsOf(t, w, "responses")[missing] || len(columnsOf(t, w, "response_answers")) == 0 {
		t.Errorf("column %s or view response_answers not restored", missing)
	}
}

func TestMigration13ReplacesTheLongTable(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	// The state a warehouse made before migration 13 was in: the long table, a loaded
	// object recorded, and a view over it.
	execAll(t, w,
		`DROP VIEW IF EXISTS response_answers`, `DROP VIEW IF EXISTS responses_by_channel`, `DROP VIEW IF EXISTS respondents`,
		`DROP VIEW IF EXISTS responses_wide_patient_2026_1`, `DROP VIEW IF EXISTS responses_wide_carer_2026_1`,
		`DROP VIEW IF EXISTS current_responses`, `DROP TABLE responses`,
		`CREATE TABLE responses (response_id VARCHAR, question_id VARCHAR, answer_code VARCHAR, PRIMARY KEY (response_id, question_id, answer_code))`,
		`CREATE VIEW current_responses AS SELECT * FROM responses`,
		`INSERT INTO loaded_files VALUES ('lake/responses/x.parquet', 'responses', 'abc', 3, now()), ('lake/outcomes/x.parquet', 'outcome_events', 'def', 1, now())`,
		`DELETE FROM schema_migrations WHERE version = 13`,
		`DELETE FROM schema_derived`)
	var err error
	if _, err := Open(ctx, w.Path()); err != nil {
		t.Fatal(err)
	}
	if cols := columnsOf(t, w, "responses"); cols["answer_code"] || !cols["P_WORK_TOGETHER"] {
		t.Errorf("responses columns after migration 13: %v", cols)
	}
	err = w.Read(ctx, func(db *sql.DB) error {
		var responses, others int
		if err := db.QueryRow(`SELECT count(*) FILTER (WHERE table_name = 'responses'), count(*) FILTER (WHERE table_name <> 'responses') FROM loaded_files`).Scan(&responses, &others); err != nil {
			return err
		}
		if responses != 0 || others != 1 {
			t.Errorf("loaded_files: %d responses objects (want them forgotten), %d others (want kept)", responses, others)
		}
		_, err := db.Exec(`SELECT * FROM current_responses, respondents, response_answers LIMIT 0`)
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

// execAll runs statements in one warehouse write.
func execAll(t *testing.T, w *Warehouse, stmts ...string) {
	t.Helper()
	err := w.Write(context.Background(), func(tx *sql.Tx) error {
		for _, q := range stmts {
			if _, err := tx.Exec(q); err != nil {
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
