package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
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

// A completed questionnaire is the first complete patient response still current; the
// outcomes view ranks it over every event, and completion events loads wrote before
// migration 15 still count, once.
func TestCompletionsComeFromResponses(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	stmts := []string{}
	for _, id := range []string{"S1", "S2", "S3", "S4", "S5", "S6", "S7"} {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO sample VALUES ('%s', 'W1', 'QMM', 'p%[1]s', 'A81001', 80, '75-84', '2', 'A', 0.3, 'moderate', DATE '2000-01-01', true, 'NR1')`, id))
	}
	response := func(id, person, typ string, hour int, complete bool) string {
		return fmt.Sprintf(`INSERT INTO responses BY NAME SELECT '%s' AS response_id, 'W1' AS wave, 'QMM' AS ics, DATE '2026-03-10' AS load_date,
			'%s' AS survey_record_id, '%s' AS respondent_type, 'patient-2026.1' AS questionnaire_version, 'online' AS channel,
			TIMESTAMPTZ '2026-03-10 00:00:00+00' + INTERVAL %d HOUR AS received_at, %v AS complete, 'sha' AS source_sha256`, id, person, typ, hour, complete)
	}
	discarded := func(kept, id string, reason string) string {
		return fmt.Sprintf(`INSERT INTO response_duplicates VALUES ('W1', 'QMM', DATE '2026-03-10', 'x', 'patient', '%s', '%s', TIMESTAMPTZ '2026-03-10 00:00:00+00', true, 'online', '%s', 'sha')`, kept, id, reason)
	}
	event := func(id, person string, outcome, hour int) string {
		return fmt.Sprintf(`INSERT INTO outcome_events VALUES ('%s', 'W1', 'QMM', DATE '2026-03-10', '%s', %d, TIMESTAMPTZ '2026-03-10 00:00:00+00' + INTERVAL %d HOUR, '', 'f', 'sha', '', NULL)`, id, person, outcome, hour)
	}
	stmts = append(stmts,
		// S1 completed at 9, then answered again at 11 (a duplicate, discarded).
		response("R1", "S1", "patient", 9, true), response("R1b", "S1", "patient", 11, true), discarded("R1", "R1b", "same_day"),
		// S2 sent an incomplete return at 8, superseded by a complete one at 12.
		response("R2a", "S2", "patient", 8, false), response("R2b", "S2", "patient", 12, true), discarded("R2b", "R2a", "superseded_by_complete"),
		// S3 only an incomplete return; S4 only a carer's complete one, and an undelivered letter.
		response("R3", "S3", "patient", 10, false),
		response("R4", "S4", "carer", 10, true), event("E4", "S4", 2, 7),
		// S5 a completion event from an older load, and its response.
		event("E5", "S5", 1, 13), response("R5", "S5", "patient", 13, true),
		// S6 opted out at 6, then completed at 14.
		event("E6", "S6", 4, 6), response("R6", "S6", "patient", 14, true),
		// S7 nothing.
	)
	execAll(t, w, stmts...)
	want := map[string]string{
		"S1": "1 09 09", "S2": "1 12 12", "S3": "6 - -", "S4": "2 - 07", "S5": "1 13 13", "S6": "1 14 14", "S7": "6 - -",
	}
	got := map[string]string{}
	err := w.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT survey_record_id, outcome,
			coalesce(strftime(completed_at, '%H'), '-'), coalesce(strftime(outcome_at, '%H'), '-')
			FROM sample_outcomes ORDER BY survey_record_id`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, completed, at string
			var outcome int
			if err := rows.Scan(&id, &outcome, &completed, &at); err != nil {
				return err
			}
			got[id] = fmt.Sprintf("%d %s %s", outcome, completed, at)
		}
		var completions, rateCompleted int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM completions`).Scan(&completions); err != nil {
			return err
		}
		if err := db.QueryRowContext(ctx, `SELECT completed FROM response_rates WHERE ics = 'QMM'`).Scan(&rateCompleted); err != nil {
			return err
		}
		if completions != 4 || rateCompleted != 4 {
			t.Errorf("completions view has %d rows, response_rates %d completed; want 4 (S1, S2, S5, S6)", completions, rateCompleted)
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcome, completed hour, outcome hour by person:\n got %v\nwant %v", got, want)
	}
}

// A fieldwork day is a day in England: a questionnaire completed at 00:30 BST on
// Sunday 25 October 2026 (23:30 UTC on the Saturday) is on the Sunday, the day after the
// invitation went out at 17:00 BST on the Saturday, whatever time zone the session that
// reads the warehouse is in (a server on UTC, an analyst's DuckDB on any other).
func TestFieldworkDaysAreDaysInEngland(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	var stmts []string
	for _, id := range []string{"S1", "S2", "S3"} {
		stmts = append(stmts,
			fmt.Sprintf(`INSERT INTO sample VALUES ('%s', 'W1', 'QMM', 'p%[1]s', 'A81001', 80, '75-84', '2', 'A', 0.3, 'moderate', DATE '2000-01-01', true, 'NR1')`, id),
			fmt.Sprintf(`INSERT INTO mailing_history VALUES ('W1/QMM/%s/invitation', 'W1', 'QMM', '%[1]s', 'invitation', 'letter', TIMESTAMPTZ '2026-10-24 16:00:00+00', 'queued-for-print')`, id))
	}
	response := func(id, person, at string) string {
		return fmt.Sprintf(`INSERT INTO responses BY NAME SELECT '%s' AS response_id, 'W1' AS wave, 'QMM' AS ics, DATE '2026-10-25' AS load_date,
			'%s' AS survey_record_id, 'patient' AS respondent_type, 'patient-2026.1' AS questionnaire_version, 'online' AS channel,
			TIMESTAMPTZ '%s' AS received_at, true AS complete, 'sha' AS source_sha256`, id, person, at)
	}
	execAll(t, w, stmts...)
	execAll(t, w,
		response("R1", "S1", "2026-10-24 22:30:00+00"), // 23:30 BST Saturday: day 0
		response("R2", "S2", "2026-10-24 23:30:00+00"), // 00:30 BST Sunday: day 1
		response("R3", "S3", "2026-10-26 00:30:00+00"), // 00:30 GMT Monday, after the clocks went back: day 2
	)
	for _, zone := range []string{"UTC", "America/New_York", "Asia/Tokyo", "Europe/London"} {
		var got []string
		err := w.Read(ctx, func(db *sql.DB) error {
			conn, err := db.Conn(ctx)
			if err != nil {
				return err
			}
			defer conn.Close()
			if _, err := conn.ExecContext(ctx, `SET TimeZone = '`+zone+`'`); err != nil {
				return err
			}
			defer conn.ExecContext(ctx, `RESET TimeZone`)
			rows, err := conn.QueryContext(ctx, `SELECT fieldwork_day, strftime(date, '%Y-%m-%d'), completed FROM response_rates_by_day ORDER BY fieldwork_day`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var day, n int
				var date string
				if err := rows.Scan(&day, &date, &n); err != nil {
					return err
				}
				got = append(got, fmt.Sprintf("%d %s %d", day, date, n))
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"0 2026-10-24 1", "1 2026-10-25 1", "2 2026-10-26 1"}
		if !slices.Equal(got, want) {
			t.Errorf("session time zone %s: response_rates_by_day = %q, want %q (days in England)", zone, got, want)
		}
	}
}
