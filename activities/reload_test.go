package activities

import (
	"context"
	"database/sql"
	"fmt"
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
