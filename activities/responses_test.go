package activities

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/retention"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

const (
	rtWave = "W1"
	rtICS  = "QE1"
)

var (
	rtInvited = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	rtDay     = time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
)

// responseFixture is a store with a six-person sample, all invited, and a warehouse
// holding that sample and mailing history, as after intake and the first mailing.
type responseFixture struct {
	t   *testing.T
	ctx context.Context
	st  *store.FileStore
	a   *Activities
	w   *WarehouseActivities
}

func newResponseFixture(t *testing.T) *responseFixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.Open(ctx, t.TempDir()+"/w.duckdb")
	if err != nil {
		t.Fatal(err)
	}
	f := &responseFixture{t: t, ctx: ctx, st: st, a: &Activities{Store: st}, w: &WarehouseActivities{Store: st, Warehouse: wh}}
	bands := []string{"65-74", "75-84", "85+"}
	var sample []schemas.SampleRecord
	var history []schemas.MailingEvent
	for i, id := range []string{"S001", "S002", "S003", "S004", "S005", "S006"} {
		sample = append(sample, schemas.SampleRecord{SurveyRecordID: id, WaveID: rtWave, ICS: rtICS, NHSPseudonym: "p" + id,
			GPPracticeCode: []string{"A81001", "A81002"}[i%2], Age: int32(70 + 5*i), AgeBand: bands[i%3], Gender: []string{"1", "2"}[i%2],
			Ethnicity: "A", EFIScore: 0.3, EFIBand: "moderate", RegistrationDate: time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC),
			HasMobile: true, PostcodeDistrict: "NR1"})
		history = append(history, schemas.MailingEvent{Reference: "ref-" + id, WaveID: rtWave, ICS: rtICS, SurveyRecordID: id,
			Step: "invitation", Channel: mailing.ChannelLetter, SentAt: rtInvited, Result: schemas.ResultQueuedForPrint})
	}
	sampleKey := schemas.SampleKey(rtWave, rtICS)
	historyKey := schemas.MailingHistoryKey(rtWave, rtICS, "invitation")
	if err := lake.PutRows(ctx, st, sampleKey, schemas.SampleRecordLayout(), sample); err != nil {
		t.Fatal(err)
	}
	if err := lake.PutRows(ctx, st, historyKey, schemas.MailingEventLayout(), history); err != nil {
		t.Fatal(err)
	}
	f.warehouseLoad(schemas.LakeSample.Object(sampleKey))
	f.warehouseLoad(schemas.LakeMailingHistory.Object(historyKey))
	return f
}

func (f *responseFixture) warehouseLoad(o schemas.LakeObject) LoadOutput {
	f.t.Helper()
	out, err := f.w.LoadLakeObjects(f.ctx, LoadObjectsInput{Scope: Scope{WaveID: rtWave, ICS: rtICS}, Objects: []schemas.LakeObject{o}})
	if err != nil {
		f.t.Fatalf("load %s into %s: %v", o.Key, o.Table, err)
	}
	return out.ByKey[o.Key]
}

func (f *responseFixture) land(name string, header []string, rows ...[]string) {
	f.t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	if err := store.PutBytes(f.ctx, f.st, schemas.ResponseLandingKey(rtWave, rtICS, rtDay, name), b.Bytes()); err != nil {
		f.t.Fatal(err)
	}
}

const secretComment = "My neighbour Mrs Example drove me to every appointment."

// landDay lands one day of supplier files: two complete patient responses (S002 twice,
// the second a duplicate), one for a record outside the sample, an undelivered letter
// (S003) and an opt-out (S004).
func (f *responseFixture) landDay() {
	header := schemas.ResponseExtractHeader([]string{"P_ACCESS_EASE", "P_SERVICES_USED", "P_FT_GOOD"})
	resp := func(id, at, ft string) []string {
		return []string{id, "patient", "patient-2026.1", "online", at, "Y", "2", "1;4", ft}
	}
	f.land("responses_online.csv", header,
		resp("S001", "2026-03-04T10:00:00Z", ""),
		resp("S002", "2026-03-04T11:00:00Z", secretComment),
		resp("S002", "2026-03-04T12:00:00Z", ""),
		resp("S999", "2026-03-04T12:30:00Z", ""))
	f.land("undelivered.csv", []string{"SURVEY_RECORD_ID", "RETURNED_AT", "REASON"}, []string{"S003", "2026-03-04", "addressee_gone_away"})
	f.land("optouts.csv", []string{"SURVEY_RECORD_ID", "OPTED_OUT_AT", "REASON"}, []string{"S004", "2026-03-04T09:00:00Z", "does_not_want"})
}

func (f *responseFixture) loadDay() LoadResponsesOutput {
	f.t.Helper()
	out, err := f.a.LoadResponses(f.ctx, LoadResponsesInput{Scope: Scope{WaveID: rtWave, ICS: rtICS},
		Questionnaires: Questionnaires{PatientVersion: "patient-2026.1", CarerVersion: "carer-2026.1"}, Date: rtDay})
	if err != nil {
		f.t.Fatalf("LoadResponses: %v", err)
	}
	return out
}

// warehouseSnapshot is what an analyst would see of the response load.
type warehouseSnapshot struct {
	responseRows, answerRows, responses, rejections, duplicates, outcomeEvents int
	outcomes                                                                   map[string]int
	sampled, completed, undelivered, optedOut                                  int
	adjustedRate                                                               float64
}

func (f *responseFixture) snapshot() warehouseSnapshot {
	f.t.Helper()
	s := warehouseSnapshot{outcomes: map[string]int{}}
	err := f.w.Warehouse.Read(f.ctx, func(db *sql.DB) error {
		for q, dst := range map[string]*int{
			`SELECT count(*) FROM responses`:                           &s.responseRows,
			`SELECT count(*) FROM response_answers`:                    &s.answerRows,
			`SELECT count(*) FROM respondents`:                         &s.responses,
			`SELECT count(*) FROM response_rejections`:                 &s.rejections,
			`SELECT count(*) FROM response_duplicates`:                 &s.duplicates,
			`SELECT count(*) FROM outcome_events WHERE wave = 'W1'`:    &s.outcomeEvents,
			`SELECT sampled FROM response_rates WHERE ics = 'QE1'`:     &s.sampled,
			`SELECT completed FROM response_rates WHERE ics = 'QE1'`:   &s.completed,
			`SELECT undelivered FROM response_rates WHERE ics = 'QE1'`: &s.undelivered,
			`SELECT opted_out FROM response_rates WHERE ics = 'QE1'`:   &s.optedOut,
		} {
			if err := db.QueryRowContext(f.ctx, q).Scan(dst); err != nil {
				return errors.Join(errors.New(q), err)
			}
		}
		if err := db.QueryRowContext(f.ctx, `SELECT adjusted_response_rate_pct FROM response_rates WHERE ics = 'QE1'`).Scan(&s.adjustedRate); err != nil {
			return err
		}
		rows, err := db.QueryContext(f.ctx, `SELECT survey_record_id, outcome FROM outcomes WHERE wave_id = 'W1'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var o int
			if err := rows.Scan(&id, &o); err != nil {
				return err
			}
			s.outcomes[id] = o
		}
		return rows.Err()
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func TestLoadResponsesIntoWarehouse(t *testing.T) {
	f := newResponseFixture(t)
	f.landDay()
	out := f.loadDay()
	if out.NoFiles || out.Files != 3 || out.RowsRead != 6 || out.Loaded != 4 || out.Rejected != 1 || out.Duplicates != 1 {
		t.Fatalf("load counts %+v", out)
	}
	if out.FreeTextItems != 1 {
		t.Errorf("free text items %d, want 1", out.FreeTextItems)
	}
	tables := map[schemas.Table]int{}
	for _, o := range out.Objects {
		tables[o.Table]++
		if !bytes.HasPrefix([]byte(o.Key), []byte(schemas.AreaLake.Prefix())) {
			t.Errorf("object %s outside the lake handed to the warehouse", o.Key)
		}
		if lo := f.warehouseLoad(o); lo.Skipped || lo.Rows == 0 {
			t.Errorf("%s: %+v", o.Key, lo)
		}
	}
	for _, want := range []schemas.Table{schemas.TableResponses, schemas.TableOutcomeEvents, schemas.TableResponseRejections, schemas.TableResponseDuplicates} {
		if tables[want] == 0 {
			t.Errorf("no %s object among %v", want, out.Objects)
		}
	}

	s := f.snapshot()
	want := map[string]int{"S001": 1, "S002": 1, "S003": 2, "S004": 4, "S005": 6, "S006": 6}
	for id, o := range want {
		if s.outcomes[id] != o {
			t.Errorf("outcome of %s = %d, want %d", id, s.outcomes[id], o)
		}
	}
	// Two responses are stored (S002's second is a same-day duplicate, recorded in
	// response_duplicates only); each has 3 answer codes in the long view.
	if s.responseRows != 2 || s.responses != 2 || s.answerRows != 6 || s.duplicates != 1 || s.rejections == 0 {
		t.Errorf("warehouse %+v", s)
	}
	if s.sampled != 6 || s.completed != 2 || s.undelivered != 1 || s.optedOut != 1 || s.adjustedRate != 40 {
		t.Errorf("response_rates %+v (adjusted base leaves the undelivered out: 2/5 = 40%%)", s)
	}

	// The analyst views answer by practice, group, day and mailing.
	err := f.w.Warehouse.Read(f.ctx, func(db *sql.DB) error {
		var n, day, completed int
		var step string
		if err := db.QueryRowContext(f.ctx, `SELECT count(*) FROM response_rates_by_practice WHERE ics = 'QE1'`).Scan(&n); err != nil || n != 2 {
			t.Errorf("by practice: %d rows, %v", n, err)
		}
		if err := db.QueryRowContext(f.ctx, `SELECT count(DISTINCT dimension) FROM response_rates_by_group`).Scan(&n); err != nil || n != 4 {
			t.Errorf("by group: %d dimensions, %v", n, err)
		}
		if err := db.QueryRowContext(f.ctx, `SELECT fieldwork_day, completed FROM response_rates_by_day WHERE ics = 'QE1'`).Scan(&day, &completed); err != nil || day != 2 || completed != 2 {
			t.Errorf("by day: day %d completed %d, %v", day, completed, err)
		}
		if err := db.QueryRowContext(f.ctx, `SELECT step, completed_after_step FROM response_rates_by_mailing`).Scan(&step, &completed); err != nil || step != "invitation" || completed != 2 {
			t.Errorf("by mailing: %s %d, %v", step, completed, err)
		}
		// One row per response and a column per question, per questionnaire version.
		var ease, used string
		if err := db.QueryRowContext(f.ctx, `SELECT "P_ACCESS_EASE", "P_SERVICES_USED" FROM responses_wide_patient_2026_1 WHERE survey_record_id = 'S001'`).Scan(&ease, &used); err != nil || ease != "2" || used != "1;4" {
			t.Errorf("wide view: %q %q, %v", ease, used, err)
		}
		if err := db.QueryRowContext(f.ctx, `SELECT count(*) FROM response_answers WHERE question_id = 'P_SERVICES_USED' AND answer_code IN ('1', '4')`).Scan(&n); err != nil || n != 4 {
			t.Errorf("long view: %d P_SERVICES_USED codes, %v", n, err)
		}
		// Free text never reaches the warehouse, in any table or column.
		rows, err := db.QueryContext(f.ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tbl, col string
			if err := rows.Scan(&tbl, &col); err != nil {
				return err
			}
			var hits int
			q := `SELECT count(*) FROM "` + tbl + `" WHERE "` + col + `" LIKE '%Mrs Example%'`
			if err := db.QueryRowContext(f.ctx, q).Scan(&hits); err != nil {
				return err
			}
			if hits > 0 {
				t.Errorf("free text found in %s.%s", tbl, col)
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}

	// Respondents, opt-outs and undelivered drop out of the next mailing's selection.
	sel, err := f.w.SelectRecipients(f.ctx, SelectInput{Scope: Scope{WaveID: rtWave, ICS: rtICS}, Step: "reminder1", Channel: mailing.ChannelLetter, Round: "due"})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := lake.GetRows[schemas.Selection](f.ctx, f.st, sel.Key, schemas.SelectionLayout())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0].SurveyRecordID != "S005" || ids[1].SurveyRecordID != "S006" {
		t.Errorf("reminder selection %v, want S005 and S006", ids)
	}
}

func TestLoadResponsesTwiceChangesNothing(t *testing.T) {
	f := newResponseFixture(t)
	f.landDay()
	first := f.loadDay()
	for _, o := range first.Objects {
		f.warehouseLoad(o)
	}
	before := f.snapshot()

	second := f.loadDay()
	if second.FilesSkipped != 3 || second.Loaded != 0 || second.RowsRead != 0 {
		t.Errorf("second load %+v, want every file skipped", second)
	}
	// The second run still names the day's objects, so a warehouse load that never
	// finished after the first is completed by it; the warehouse skips what it holds.
	if len(second.Objects) != len(first.Objects) {
		t.Fatalf("second load lists %d objects, first %d", len(second.Objects), len(first.Objects))
	}
	for _, o := range second.Objects {
		if lo := f.warehouseLoad(o); !lo.Skipped {
			t.Errorf("%s loaded again: %+v", o.Key, lo)
		}
	}
	if after := f.snapshot(); after.responseRows != before.responseRows || after.answerRows != before.answerRows || after.outcomeEvents != before.outcomeEvents ||
		after.rejections != before.rejections || after.duplicates != before.duplicates || after.completed != before.completed {
		t.Errorf("a repeated load changed the warehouse: %+v then %+v", before, after)
	}
}

func TestLoadResponsesNoFilesAndNoSample(t *testing.T) {
	f := newResponseFixture(t)
	out := f.loadDay()
	if !out.NoFiles || len(out.Objects) != 0 {
		t.Errorf("empty day: %+v", out)
	}
	_, err := f.a.LoadResponses(f.ctx, LoadResponsesInput{Scope: Scope{WaveID: rtWave, ICS: "QJK"},
		Questionnaires: Questionnaires{PatientVersion: "patient-2026.1"}, Date: rtDay})
	var appErr *temporal.ApplicationError
	if !errors.As(ApplicationError(err), &appErr) || !appErr.NonRetryable() || appErr.Type() != string(fault.Configuration) {
		t.Errorf("load before intake: %v, want a non-retryable configuration error", err)
	}
	_, err = f.a.LoadResponses(f.ctx, LoadResponsesInput{Scope: Scope{WaveID: rtWave, ICS: rtICS},
		Questionnaires: Questionnaires{PatientVersion: "patient-1999.9"}, Date: rtDay})
	if !errors.As(ApplicationError(err), &appErr) || !appErr.NonRetryable() {
		t.Errorf("unknown questionnaire version: %v, want a non-retryable error", err)
	}
}

// A day loaded after the ICS's closing record is loaded all the same, and says so in
// its result and the audit trail; a day loaded before it, or a load that brings
// nothing new, does not.
func TestLoadResponsesAfterTheClosingRecordSaysSo(t *testing.T) {
	f := newResponseFixture(t)
	f.landDay()
	before := f.loadDay()
	if before.AfterClosingRecord {
		t.Errorf("a load before the closing record is marked after it: %+v", before)
	}
	record := []schemas.FinalOutcome{{SurveyRecordID: "S001", WaveID: rtWave, ICS: rtICS, Outcome: 6}}
	if err := lake.PutRows(f.ctx, f.st, schemas.FinalOutcomesKey(rtWave, rtICS), schemas.FinalOutcomeLayout(), record); err != nil {
		t.Fatal(err)
	}
	if again := f.loadDay(); again.AfterClosingRecord || again.Loaded != 0 {
		t.Errorf("a repeated load that brings nothing is marked after the closing record: %+v", again)
	}

	next := rtDay.AddDate(0, 0, 1)
	header := schemas.ResponseExtractHeader([]string{"P_ACCESS_EASE"})
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	_ = w.Write([]string{"S005", "patient", "patient-2026.1", "paper", "2026-03-05T10:00:00Z", "Y", "2"})
	w.Flush()
	if err := store.PutBytes(f.ctx, f.st, schemas.ResponseLandingKey(rtWave, rtICS, next, "responses_paper.csv"), b.Bytes()); err != nil {
		t.Fatal(err)
	}
	ctx, events := audit.WithCollector(f.ctx)
	late, err := f.a.LoadResponses(ctx, LoadResponsesInput{Scope: Scope{WaveID: rtWave, ICS: rtICS},
		Questionnaires: Questionnaires{PatientVersion: "patient-2026.1", CarerVersion: "carer-2026.1"}, Date: next})
	if err != nil {
		t.Fatal(err)
	}
	if !late.AfterClosingRecord || late.Loaded != 1 || len(late.Objects) == 0 {
		t.Errorf("late load %+v, want the response loaded and marked after the closing record", late)
	}
	var found map[string]any
	for _, e := range events.Events() {
		if e.Kind == "responses_after_closing_record" {
			found = e.Details
		}
	}
	if found == nil || found["loaded"] != 1 || found["load_date"] != "2026-03-05" || found["outcome_1_completed"] != 1 {
		t.Errorf("audit of the late load: %v", found)
	}
}

// A supplier's file that lands after the ICS's retention has run is loaded and then
// deleted, as the retention would: its SHA-256, size and rows recorded in the lineage
// object and the audit trail first; the free text stays in the free-text area. A
// repeat (a retried activity) finds the files gone and still hands the warehouse the
// day's objects. Before the retention, the load deletes nothing.
func TestLoadResponsesAfterRetentionDeletesTheLandedFiles(t *testing.T) {
	f := newResponseFixture(t)
	in := LoadResponsesInput{Scope: Scope{WaveID: rtWave, ICS: rtICS},
		Questionnaires: Questionnaires{PatientVersion: "patient-2026.1", CarerVersion: "carer-2026.1"}, Date: rtDay}
	landed := func() []string {
		t.Helper()
		infos, err := f.st.List(f.ctx, schemas.ResponseLandingPrefix(rtWave, rtICS, rtDay))
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, i := range infos {
			keys = append(keys, i.Key)
		}
		return keys
	}

	f.landDay()
	if before := f.loadDay(); before.AfterRetention || before.LandedDeleted != 0 || len(landed()) != 3 {
		t.Fatalf("a load before the retention: %+v, %d files left, want none deleted", before, len(landed()))
	}

	// The retention runs (the sample as landed), and the supplier's files of a day
	// land after it, one of them a file the load does not know.
	sample := schemas.LandingKey(rtWave, rtICS, "sample.csv")
	if err := store.PutBytes(f.ctx, f.st, sample, []byte("RECORD_ID\n1\n")); err != nil {
		t.Fatal(err)
	}
	rin := RetentionInput{Scope: in.Scope, Landed: []LandedFile{{Key: sample, Rows: 1}}}
	if _, err := f.a.RecordRetentionLineage(f.ctx, rin); err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.DeleteIdentifiable(f.ctx, rin); err != nil {
		t.Fatal(err)
	}
	in.Date = rtDay.AddDate(0, 0, 1)
	late := schemas.ResponseLandingPrefix(rtWave, rtICS, in.Date)
	header := schemas.ResponseExtractHeader([]string{"P_ACCESS_EASE", "P_FT_GOOD"})
	files := map[string]string{
		late + "responses_paper.csv": strings.Join(header, ",") + "\nS005,patient,patient-2026.1,paper,2026-03-05T10:00:00Z,Y,2," + secretComment + "\n",
		late + "optouts.csv":         "SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\nS006,2026-03-05T10:00:00Z,too_ill\n",
		late + "notes.txt":           "not a supplier file\n",
	}
	for k, b := range files {
		if err := store.PutBytes(f.ctx, f.st, k, []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, events := audit.WithCollector(f.ctx)
	out, err := f.a.LoadResponses(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !out.AfterRetention || out.LandedDeleted != len(files) || out.Loaded != 2 || out.FreeTextItems != 1 || len(out.Objects) == 0 {
		t.Errorf("load after the retention: %+v, want 2 rows loaded and %d files deleted", out, len(files))
	}
	for k := range files {
		if ok, _ := store.Exists(f.ctx, f.st, k); ok {
			t.Errorf("%s stayed in the landing area after its load", k)
		}
	}
	if n := len(landed()); n != 0 {
		t.Errorf("%d files left of the day before the retention, which deleted them", n)
	}
	l, err := retention.ReadLineage(f.ctx, f.st, rtWave, rtICS)
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]bool{}
	for _, e := range events.Events() {
		if e.Kind == "landed_file_lineage" {
			audited[e.Details["key"].(string)] = true
		}
	}
	for k, b := range files {
		sum := sha256.Sum256([]byte(b))
		i := slices.IndexFunc(l.Files, func(f retention.FileLineage) bool { return f.Key == k })
		rows := 1
		if strings.HasSuffix(k, ".txt") {
			rows = -1 // not counted
		}
		if i < 0 || l.Files[i].SHA256 != hex.EncodeToString(sum[:]) || l.Files[i].Size != int64(len(b)) || l.Files[i].Rows != rows {
			t.Errorf("lineage of %s: %+v", k, l.Files)
		}
		if !audited[k] {
			t.Errorf("no landed_file_lineage event for %s", k)
		}
	}
	texts, err := f.st.List(f.ctx, schemas.FreeTextRoot(rtWave, rtICS))
	if err != nil || len(texts) != 2 {
		t.Errorf("free text: %d objects (%v), want the two days' kept", len(texts), err)
	}

	again, err := f.a.LoadResponses(f.ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !again.NoFiles || !again.AfterRetention || again.LandedDeleted != 0 || !slices.Equal(again.Objects, out.Objects) {
		t.Errorf("the load again: %+v, want no files, the day's objects all the same", again)
	}
}
