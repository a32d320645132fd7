package activities

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// A partition reloads in chunks, each after the last key of the one before, until
// every object is in the warehouse; a second pass finds them all there. A wave the lake
// holds nothing of, and a release with no manifest, are refused as bad input.
func TestReloadLakePartitionInChunks(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.Open(ctx, t.TempDir()+"/w.duckdb")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		step := fmt.Sprintf("step%d", i)
		ev := schemas.MailingEvent{Reference: "W1-QMM-S00" + fmt.Sprint(i) + "-" + step, WaveID: "W1", ICS: "QMM",
			SurveyRecordID: fmt.Sprintf("S00%d", i), Step: step, Channel: "letter", SentAt: at, Result: schemas.ResultQueuedForPrint}
		if err := lake.PutRows(ctx, st, schemas.MailingHistoryKey("W1", "QMM", step), schemas.MailingEventLayout(), []schemas.MailingEvent{ev}); err != nil {
			t.Fatal(err)
		}
	}
	a, w := &Activities{Store: st}, &WarehouseActivities{Store: st, Warehouse: wh}
	plan, err := a.PlanWarehouseReload(ctx, Scope{WaveID: "W1"})
	if err != nil || len(plan.Partitions) != 1 || plan.Partitions[0] != "QMM" || len(plan.Releases) != 0 || plan.LinkageRelease != "" {
		t.Fatalf("plan %+v, %v; want the partition QMM only", plan, err)
	}
	defer func(n int) { reloadChunkObjects = n }(reloadChunkObjects)
	reloadChunkObjects = 2
	pass := func() (chunks []int, sum WarehouseReloadOutput) {
		chunk := WarehouseReloadChunk{Scope: Scope{WaveID: "W1", ICS: "QMM"}}
		for range 10 {
			out, err := w.ReloadLakePartition(ctx, chunk)
			if err != nil {
				t.Fatal(err)
			}
			chunks = append(chunks, out.Objects)
			sum.Add(out)
			if out.Next == "" {
				return chunks, sum
			}
			chunk.After = out.Next
		}
		t.Fatal("the chunks never end")
		return nil, sum
	}
	chunks, first := pass()
	host, _ := os.Hostname()
	if want := []string{host + ":" + wh.Path()}; !slices.Equal(first.Warehouses, want) {
		t.Errorf("first pass names the warehouses %q, want %q (the file written)", first.Warehouses, want)
	}
	if fmt.Sprint(chunks) != "[2 2 1]" || first.Loaded != 5 || first.Skipped != 0 || first.Rows[string(schemas.TableMailingHistory)] != 5 {
		t.Errorf("first pass: chunks %v, %+v; want 2, 2 and 1 objects, 5 loaded", chunks, first)
	}
	var rows int
	if err := wh.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, "SELECT count(*) FROM mailing_history WHERE wave_id = 'W1'").Scan(&rows)
	}); err != nil || rows != 5 {
		t.Errorf("mailing_history holds %d rows (%v), want 5", rows, err)
	}
	if _, again := pass(); again.Loaded != 0 || again.Skipped != 5 {
		t.Errorf("second pass: %+v; want all 5 already there", again)
	}

	if _, err := a.PlanWarehouseReload(ctx, Scope{WaveID: "NOSUCH"}); fault.KindOf(err) != fault.BadInput {
		t.Errorf("a wave with nothing in the lake: %v, want BadInput", err)
	}
	if _, err := a.PlanWarehouseReload(ctx, Scope{WaveID: "W1/ics=QMM"}); fault.KindOf(err) != fault.BadInput {
		t.Errorf("a wave id that is no wave id: %v, want BadInput", err)
	}
	if _, err := w.ReloadPublicationRelease(ctx, ReleaseInput{Scope: Scope{WaveID: "W1"}, ReleaseID: "r9"}); fault.KindOf(err) != fault.BadInput {
		t.Errorf("a release with no manifest: %v, want BadInput", err)
	}
}

// Each theme-coding run rewrites an ICS's response themes whole, and the warehouse
// replaces the ICS's rows with them; a reload into an empty warehouse must end with the
// rows that stand, not with whichever object's key sorts last. Lakes written before the
// one current object hold an object per run (run-{n}.parquet): the highest-numbered
// stands, until a coding run writes the current object.
func TestReloadKeepsTheStandingResponseThemes(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	put := func(key string, answers int) {
		var rows []schemas.ResponseTheme
		for i := range answers {
			rows = append(rows, schemas.ResponseTheme{Wave: "W1", ICS: "QMM", ResponseID: fmt.Sprintf("R%03d", i), QuestionID: "Q1",
				Theme: "CON", CodedBy: schemas.CodedByModel, Source: schemas.SourceModel, Polarity: "negative", Final: true,
				RespondentType: "patient", CodebookVersion: "v1", CodedAt: at.Add(time.Duration(answers) * time.Minute)})
		}
		if err := lake.PutRows(ctx, st, key, schemas.ResponseThemeLayout(), rows); err != nil {
			t.Fatal(err)
		}
	}
	reload := func() (rows int) {
		wh, err := warehouse.Open(ctx, t.TempDir()+"/w.duckdb")
		if err != nil {
			t.Fatal(err)
		}
		w := &WarehouseActivities{Store: st, Warehouse: wh}
		chunk := WarehouseReloadChunk{Scope: Scope{WaveID: "W1", ICS: "QMM"}}
		for {
			out, err := w.ReloadLakePartition(ctx, chunk)
			if err != nil {
				t.Fatal(err)
			}
			if out.Next == "" {
				break
			}
			chunk.After = out.Next
		}
		if err := wh.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, "SELECT count(*) FROM response_themes WHERE wave = 'W1' AND ics = 'QMM'").Scan(&rows)
		}); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	for run := 1; run <= 12; run++ { // run n of the earlier form codes n answers
		put(schemas.LakePartition(schemas.LakeResponseThemes, "W1", "QMM")+fmt.Sprintf("run-%d.parquet", run), run)
	}
	defer func(n int) { reloadChunkObjects = n }(reloadChunkObjects)
	reloadChunkObjects = 5
	if rows := reload(); rows != 12 {
		t.Errorf("runs 1 to 12 of the earlier form: a reload leaves %d rows of QMM, want the 12 of run 12", rows)
	}
	put(schemas.ResponseThemesKey("W1", "QMM"), 3)
	if rows := reload(); rows != 3 {
		t.Errorf("with the current object: a reload leaves %d rows of QMM, want its 3", rows)
	}
}

// The lake is the truth: an object the warehouse loaded and the lake has since lost
// (deleted by hand, or by a store's lifecycle rule) is named by the reload, with its
// ICS's partition and again with the wave's, which covers every ICS; the response
// themes of the earlier form, which the pipeline deletes itself once the current
// object replaces them, are not.
func TestReloadNamesObjectsGoneFromTheLake(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.Open(ctx, t.TempDir()+"/w.duckdb")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var keys []string
	for i, ics := range []string{"QMM", "QMM", "QJK"} {
		step := fmt.Sprintf("step%d", i)
		ev := schemas.MailingEvent{Reference: fmt.Sprintf("W1-%s-S00%d-%s", ics, i, step), WaveID: "W1", ICS: ics,
			SurveyRecordID: fmt.Sprintf("S00%d", i), Step: step, Channel: "letter", SentAt: at, Result: schemas.ResultQueuedForPrint}
		k := schemas.MailingHistoryKey("W1", ics, step)
		if err := lake.PutRows(ctx, st, k, schemas.MailingEventLayout(), []schemas.MailingEvent{ev}); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	legacy := schemas.LakePartition(schemas.LakeResponseThemes, "W1", "QMM") + "run-1.parquet"
	theme := []schemas.ResponseTheme{{Wave: "W1", ICS: "QMM", ResponseID: "R001", QuestionID: "Q1", Theme: "CON",
		CodedBy: schemas.CodedByModel, Source: schemas.SourceModel, Polarity: "negative", Final: true,
		RespondentType: "patient", CodebookVersion: "v1", CodedAt: at}}
	if err := lake.PutRows(ctx, st, legacy, schemas.ResponseThemeLayout(), theme); err != nil {
		t.Fatal(err)
	}
	w := &WarehouseActivities{Store: st, Warehouse: wh}
	reload := func(ics string) WarehouseReloadOutput {
		out, err := w.ReloadLakePartition(ctx, WarehouseReloadChunk{Scope: Scope{WaveID: "W1", ICS: ics}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, ics := range []string{"QMM", "QJK"} {
		if out := reload(ics); len(out.Gone) != 0 {
			t.Fatalf("a current lake: %s reports %q gone", ics, out.Gone)
		}
	}
	// A coding run writes the current object and deletes the earlier form's; the
	// lake loses QMM's step1 and QJK's step2.
	if err := lake.PutRows(ctx, st, schemas.ResponseThemesKey("W1", "QMM"), schemas.ResponseThemeLayout(), theme); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{legacy, keys[1], keys[2]} {
		if err := st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		ics  string
		want []string
	}{
		{"QMM", []string{keys[1]}},
		{"QJK", []string{keys[2]}},
		{warehouse.WavePartition, []string{keys[2], keys[1]}}, // by key: QJK before QMM
	} {
		if got := reload(tc.ics).Gone; !slices.Equal(got, tc.want) {
			t.Errorf("partition %q: gone %q, want %q", tc.ics, got, tc.want)
		}
	}
}

// loadsDuringList is a store whose first listing, once read, sees an object written
// and loaded into the warehouse by another activity (the warehouse worker runs two at
// once): a daily load or an audit flush while an operator's reload runs.
type loadsDuringList struct {
	store.Store
	once func()
}

func (s *loadsDuringList) List(ctx context.Context, prefix string) ([]store.Info, error) {
	infos, err := s.Store.List(ctx, prefix)
	if s.once != nil && strings.HasPrefix(prefix, schemas.LakeWavePrefix(schemas.LakeMailingHistory, "W1")) {
		f := s.once
		s.once = nil
		f()
	}
	return infos, err
}

// An object written to the lake and loaded while the reload looks for objects gone
// from the lake is not one of them: it is in the lake. Before, the lake was listed
// before the warehouse's loaded files were read, and an object loaded in between was
// named gone, with a WARNING to restore it from a backup.
func TestGoneFromLakeIgnoresObjectsLoadedMeanwhile(t *testing.T) {
	ctx := context.Background()
	fs, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.Open(ctx, t.TempDir()+"/w.duckdb")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	put := func(step string) string {
		ev := schemas.MailingEvent{Reference: "W1-QMM-S001-" + step, WaveID: "W1", ICS: "QMM", SurveyRecordID: "S001",
			Step: step, Channel: "letter", SentAt: at, Result: schemas.ResultQueuedForPrint}
		k := schemas.MailingHistoryKey("W1", "QMM", step)
		if err := lake.PutRows(ctx, fs, k, schemas.MailingEventLayout(), []schemas.MailingEvent{ev}); err != nil {
			t.Fatal(err)
		}
		if _, err := wh.LoadLakeObjects(ctx, fs, "W1", "QMM", []schemas.LakeObject{schemas.LakeMailingHistory.Object(k)}); err != nil {
			t.Fatal(err)
		}
		return k
	}
	put("step0")
	st := &loadsDuringList{Store: fs, once: func() { put("step1") }}
	for _, ics := range []string{"QMM", warehouse.WavePartition} {
		gone, err := wh.GoneFromLake(ctx, st, "W1", ics)
		if err != nil {
			t.Fatal(err)
		}
		if len(gone) != 0 {
			t.Errorf("partition %q: %q named gone from the lake, though the lake holds every object", ics, gone)
		}
		st.once = func() { put("step2") }
	}
}
