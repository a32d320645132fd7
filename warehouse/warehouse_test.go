package warehouse

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

func openTemp(t *testing.T) *Warehouse {
	t.Helper()
	w, err := Open(context.Background(), filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestMigrationsApplyOnceInOrder(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	// Opening again applies nothing new and does not fail on existing tables.
	if _, err := Open(ctx, w.Path()); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	var got []int
	err := w.Read(ctx, func(db *sql.DB) error {
		var err error
		got, err = AppliedVersions(ctx, db)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Migrations()
	if len(got) != len(want) {
		t.Fatalf("applied %v, registered %d migrations", got, len(want))
	}
	for i, m := range want {
		if got[i] != m.Version {
			t.Errorf("applied[%d] = %d, want %d", i, got[i], m.Version)
		}
	}
	for _, table := range TableNames() {
		err := w.Read(ctx, func(db *sql.DB) error {
			_, err := db.ExecContext(ctx, "SELECT * FROM "+schemas.QuoteIdent(string(table))+" LIMIT 0")
			return err
		})
		if err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

// loadObject loads the lake object at key into table t in one warehouse write.
func loadObject(t *testing.T, w *Warehouse, st store.Store, table Table, key string, partition ...any) (loaded int64, skipped bool) {
	t.Helper()
	ctx := context.Background()
	sum, _, err := store.SHA256(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	path, cleanup, err := lake.LocalCopy(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if err := w.Write(ctx, func(tx *sql.Tx) error {
		loaded, skipped, err = LoadParquet(ctx, tx, table, path, key, sum, partition...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return loaded, skipped
}

func TestLoadParquetIsIdempotentAndReplacesPartitions(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := func(id, ics string) schemas.SampleRecord {
		return schemas.SampleRecord{SurveyRecordID: id, WaveID: "w1", ICS: ics, NHSPseudonym: "p" + id, GPPracticeCode: "A81001",
			Age: 80, AgeBand: "75-84", Gender: "2", Ethnicity: "A", EFIScore: 0.3, EFIBand: "moderate",
			RegistrationDate: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), HasMobile: true, PostcodeDistrict: "NR1"}
	}
	put := func(key string, rows ...schemas.SampleRecord) {
		if err := lake.PutRows(ctx, st, key, schemas.SampleRecordLayout(), rows); err != nil {
			t.Fatal(err)
		}
	}
	load := func(key, ics string) (int64, bool) {
		return loadObject(t, w, st, Tables[schemas.TableSample], key, "w1", ics)
	}
	count := func(ics string) int {
		var n int
		if err := w.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT count(*) FROM sample WHERE ics = ?`, ics).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	put("lake/sample/a.parquet", rec("1", "QMM"), rec("2", "QMM"))
	put("lake/sample/b.parquet", rec("9", "QJK"))
	if n, skipped := load("lake/sample/a.parquet", "QMM"); n != 2 || skipped {
		t.Fatalf("first load: %d rows, skipped %v", n, skipped)
	}
	load("lake/sample/b.parquet", "QJK")
	if n, skipped := load("lake/sample/a.parquet", "QMM"); n != 0 || !skipped {
		t.Fatalf("second load of the same object: %d rows, skipped %v", n, skipped)
	}
	// A re-validated sample replaces its own partition and leaves the other ICS alone.
	put("lake/sample/a.parquet", rec("3", "QMM"))
	if n, _ := load("lake/sample/a.parquet", "QMM"); n != 1 {
		t.Fatalf("reload after the object changed: %d rows", n)
	}
	if got := count("QMM"); got != 1 {
		t.Errorf("QMM rows = %d, want 1 (the old partition replaced)", got)
	}
	if got := count("QJK"); got != 1 {
		t.Errorf("QJK rows = %d, want 1 (untouched)", got)
	}
	// The outcomes view derives "no response" for people without events.
	var outcome int
	if err := w.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT outcome FROM outcomes WHERE survey_record_id = '3'`).Scan(&outcome)
	}); err != nil {
		t.Fatal(err)
	}
	if outcome != schemas.OutcomeNoResponse {
		t.Errorf("outcome of a person with no events = %d, want 6", outcome)
	}
}

// An analyst holding the file read-only in another process makes a write busy
// (retryable), and the write goes through once the analyst closes it.
func TestReaderMakesWriterBusy(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=TestHelperReadOnlyAnalyst")
	cmd.Env = append(os.Environ(), "ICE_ANALYST_DB="+w.Path())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ready") {
		t.Fatalf("analyst process: %q %v", line, err)
	}
	err = w.Write(ctx, func(tx *sql.Tx) error { return nil })
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("write while another process reads: err = %v, want ErrBusy", err)
	}
	stdin.Close() // the analyst closes the DuckDB CLI
	if err := cmd.Wait(); err != nil {
		t.Fatalf("analyst process: %v", err)
	}
	if err := WithRetry(ctx, 10*time.Second, func() error {
		return w.Write(ctx, func(tx *sql.Tx) error { return nil })
	}); err != nil {
		t.Fatalf("write after the reader left: %v", err)
	}
}

// TestHelperReadOnlyAnalyst is the analyst's process for TestReaderMakesWriterBusy.
func TestHelperReadOnlyAnalyst(t *testing.T) {
	path := os.Getenv("ICE_ANALYST_DB")
	if path == "" {
		t.Skip("helper process only")
	}
	db, err := OpenReadOnly(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("SELECT count(*) FROM schema_migrations"); err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// outcome_events has no primary-key index: a repeated object is skipped, and an object
// rewritten with other bytes replaces its own events rather than adding them again.
func TestUnindexedTableReplacesAChangedObject(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	ev := func(id string, outcome int32, at time.Time) schemas.OutcomeEvent {
		return schemas.OutcomeEvent{EventID: id, Wave: "w1", ICS: "QMM", LoadDate: at.Truncate(24 * time.Hour),
			SurveyRecordID: "S" + id, Outcome: outcome, At: at, SourceFile: "f"}
	}
	load := func(key string, rows ...schemas.OutcomeEvent) (int64, bool) {
		t.Helper()
		if rows != nil {
			if err := lake.PutRows(ctx, st, key, schemas.OutcomeEventLayout(), rows); err != nil {
				t.Fatal(err)
			}
		}
		return loadObject(t, w, st, Tables[schemas.TableOutcomeEvents], key)
	}
	events := func() map[string]string {
		t.Helper()
		got := map[string]string{}
		if err := w.Read(ctx, func(db *sql.DB) error {
			rows, err := db.QueryContext(ctx, `SELECT event_id, outcome || '@' || strftime("at", '%H:%M') FROM outcome_events`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, v string
				if err := rows.Scan(&id, &v); err != nil {
					return err
				}
				if _, dup := got[id]; dup {
					return fmt.Errorf("event %s twice", id)
				}
				got[id] = v
			}
			return rows.Err()
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	for _, step := range []struct {
		name        string
		key         string
		rows        []schemas.OutcomeEvent
		wantLoaded  int64
		wantSkipped bool
		want        map[string]string
	}{
		{"first load", "a", []schemas.OutcomeEvent{ev("e1", 1, at), ev("e2", 2, at)}, 2, false,
			map[string]string{"e1": "1@09:00", "e2": "2@09:00"}},
		{"the same object again", "a", nil, 0, true,
			map[string]string{"e1": "1@09:00", "e2": "2@09:00"}},
		{"another object", "b", []schemas.OutcomeEvent{ev("e3", 4, at)}, 1, false,
			map[string]string{"e1": "1@09:00", "e2": "2@09:00", "e3": "4@09:00"}},
		{"the first object rewritten", "a", []schemas.OutcomeEvent{ev("e1", 1, at.Add(time.Hour)), ev("e2", 2, at)}, 2, false,
			map[string]string{"e1": "1@10:00", "e2": "2@09:00", "e3": "4@09:00"}},
	} {
		n, skipped := load("lake/outcome_events/"+step.key+".parquet", step.rows...)
		if n != step.wantLoaded || skipped != step.wantSkipped {
			t.Errorf("%s: loaded %d, skipped %v; want %d, %v", step.name, n, skipped, step.wantLoaded, step.wantSkipped)
		}
		if got := events(); fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Errorf("%s: events %v, want %v", step.name, got, step.want)
		}
	}
}

// A warehouse made before migration 14 keeps its outcome events, and loses the
// primary-key index on them, when it is next opened.
func TestOutcomeEventsRebuiltWithoutIndex(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	// Put the table back as migration 4 made it (before source_row), with rows, and
	// forget migrations 14 and 19.
	if err := w.Write(ctx, func(tx *sql.Tx) error {
		for _, s := range []string{
			`DROP TABLE outcome_events`,
			schemas.LayoutOf[outcomeEventBefore19]("outcome_events").DDL("outcome_events"),
			`INSERT INTO outcome_events VALUES ('e1', 'w1', 'QMM', DATE '2026-03-10', 'S1', 1, TIMESTAMPTZ '2026-03-10 09:00:00+00', '', 'f', 'x', 'R1')`,
			`DELETE FROM schema_migrations WHERE version IN (14, 19)`,
		} {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	constraints := func() (n int) {
		t.Helper()
		if err := w.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'outcome_events' AND constraint_type = 'PRIMARY KEY'`).Scan(&n)
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if constraints() != 1 {
		t.Fatal("setup: the old table has no primary key")
	}
	if _, err := Open(ctx, w.Path()); err != nil {
		t.Fatal(err)
	}
	if n := constraints(); n != 0 {
		t.Errorf("after migration 14: %d primary keys on outcome_events, want none", n)
	}
	var id string
	if err := w.Read(ctx, func(db *sql.DB) error {
		if err := db.QueryRowContext(ctx, `SELECT event_id FROM outcome_events`).Scan(&id); err != nil {
			return err
		}
		// The views over the table still bind.
		for _, v := range []string{"outcomes", "sample_outcomes"} {
			if _, err := db.ExecContext(ctx, "SELECT * FROM "+v+" LIMIT 0"); err != nil {
				return fmt.Errorf("view %s: %w", v, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if id != "e1" {
		t.Errorf("event kept through the rebuild: %q, want e1", id)
	}
}

// outcomeEventBefore19 is the outcome event as lake objects held it before source_row.
type outcomeEventBefore19 struct {
	EventID        string    `col:"event_id,key,unique"`
	Wave           string    `col:"wave"`
	ICS            string    `col:"ics"`
	LoadDate       time.Time `col:"load_date,date"`
	SurveyRecordID string    `col:"survey_record_id,unique"`
	Outcome        int32     `col:"outcome"`
	At             time.Time `col:"at"`
	Reason         string    `col:"reason"`
	SourceFile     string    `col:"source_file"`
	SourceSHA256   string    `col:"source_sha256"`
	ResponseID     string    `col:"response_id,unique"`
}

// Migration 19 adds outcome_events.source_row to a warehouse made before it, keeping
// its rows; an object written before the column still loads (source_row NULL), and a
// new one brings its rows' numbers.
func TestOutcomeEventsGainTheSourceRow(t *testing.T) {
	ctx := context.Background()
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	if err := lake.PutRows(ctx, st, "lake/outcome_events/old.parquet", schemas.LayoutOf[outcomeEventBefore19]("response_outcomes"),
		[]outcomeEventBefore19{{EventID: "e1", Wave: "w1", ICS: "QMM", LoadDate: at.Truncate(24 * time.Hour), SurveyRecordID: "S1",
			Outcome: 4, At: at, Reason: "too_ill", SourceFile: "optouts.csv", SourceSHA256: "f"}}); err != nil {
		t.Fatal(err)
	}
	row := int64(7)
	if err := lake.PutRows(ctx, st, "lake/outcome_events/new.parquet", schemas.OutcomeEventLayout(), []schemas.OutcomeEvent{{EventID: "e2",
		Wave: "w1", ICS: "QMM", LoadDate: at.Truncate(24 * time.Hour), SurveyRecordID: "S2", Outcome: 4, At: at, Reason: "too_ill",
		SourceFile: "optouts.csv", SourceSHA256: "g", SourceRow: &row}}); err != nil {
		t.Fatal(err)
	}
	// The table as it was before migration 19, with a row.
	if err := w.Write(ctx, func(tx *sql.Tx) error {
		for _, s := range []string{
			`ALTER TABLE outcome_events DROP COLUMN source_row`,
			`INSERT INTO outcome_events VALUES ('e0', 'w1', 'QMM', DATE '2026-03-09', 'S0', 2, TIMESTAMPTZ '2026-03-09 09:00:00+00', '', 'undelivered.csv', 'x', '')`,
			`DELETE FROM schema_migrations WHERE version = 19`,
		} {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, w.Path()); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"lake/outcome_events/old.parquet", "lake/outcome_events/new.parquet"} {
		if n, _ := loadObject(t, w, st, Tables[schemas.TableOutcomeEvents], k); n != 1 {
			t.Fatalf("%s: %d rows loaded", k, n)
		}
	}
	got := map[string]string{}
	if err := w.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT event_id, coalesce(CAST(source_row AS VARCHAR), 'NULL') FROM outcome_events`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, r string
			if err := rows.Scan(&id, &r); err != nil {
				return err
			}
			got[id] = r
		}
		return rows.Err()
	}); err != nil {
		t.Fatal(err)
	}
	if want := map[string]string{"e0": "NULL", "e1": "NULL", "e2": "7"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcome_events source_row: %v, want %v", got, want)
	}
}
