package audit

import (
	"context"
	"testing"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

func TestTrailKeepsEveryAttemptAndSurvivesCompaction(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	attempt := func(n int32, outcome string, at time.Time) Event {
		end := at.Add(time.Second)
		return Event{EventID: "wave/w1/ics/QMM/run/5/" + string(rune('0'+n)), WaveID: "w1", ICS: "QMM", Kind: "activity_attempt",
			WorkflowID: "wave/w1/ics/QMM", RunID: "run", ActivityType: "Intake", ActivityID: "5", Attempt: n,
			StartedAt: at, EndedAt: &end, Outcome: outcome, InputSHA256: "in", Details: "{}"}
	}
	// A failed attempt and its retry are two objects, never one overwritten.
	if err := Write(ctx, st, []Event{attempt(1, "error", t0)}); err != nil {
		t.Fatal(err)
	}
	if err := Write(ctx, st, []Event{attempt(2, "ok", t0.Add(time.Minute)),
		{EventID: "x#1", WaveID: "w1", ICS: "QMM", Kind: "file_received", StartedAt: t0.Add(time.Minute), Details: `{"rows":10}`}}); err != nil {
		t.Fatal(err)
	}
	pending, keys, err := Pending(ctx, st, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 3 || len(keys) != 2 {
		t.Fatalf("pending %d events in %d objects, want 3 in 2", len(pending), len(keys))
	}
	batch, events, pkeys, err := Compact(ctx, st, "w1")
	if err != nil || batch == "" || len(events) != 3 {
		t.Fatalf("compact: %q %d %v", batch, len(events), err)
	}
	// A crash before Discard means the next compaction writes the same events again;
	// the trail still shows each event once.
	if _, _, _, err := Compact(ctx, st, "w1"); err != nil {
		t.Fatal(err)
	}
	trail, err := Trail(ctx, st, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 3 {
		t.Fatalf("trail has %d events, want 3", len(trail))
	}
	if trail[0].Attempt != 1 || trail[0].Outcome != "error" || trail[1].Attempt != 2 || trail[1].Outcome != "ok" {
		t.Errorf("trail order/content: %+v", trail[:2])
	}
	if err := Discard(ctx, st, pkeys); err != nil {
		t.Fatal(err)
	}
	if pending, _, _ := Pending(ctx, st, "w1"); len(pending) != 0 {
		t.Errorf("%d pending after discard", len(pending))
	}
	if trail, _ := Trail(ctx, st, "w1"); len(trail) != 3 {
		t.Errorf("trail after discard has %d events, want 3 (from the lake batch)", len(trail))
	}
}

func TestRecordOutsideAnAttemptIsANoOp(t *testing.T) {
	Record(context.Background(), "x", map[string]any{"a": 1}) // must not panic
	ctx, c := WithCollector(context.Background())
	Record(ctx, "mailing_sent", map[string]any{"sent": 3, "step": "sms1"})
	ev := c.Events()
	if len(ev) != 1 || ev[0].Kind != "mailing_sent" {
		t.Fatalf("events = %+v", ev)
	}
	if got := DetailsJSON(ev[0].Details); got != `{"sent":3,"step":"sms1"}` {
		t.Errorf("details = %s", got)
	}
}

// A flush killed after its batch reached the lake, and before the pending events were
// discarded, is retried when more events have arrived: the retry rewrites the same
// batch with every pending event, so no batch is left behind unloaded.
func TestCompactRetriedAfterACrashRewritesItsBatch(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	ev := func(id string, at time.Time) Event {
		return Event{EventID: id, WaveID: "w1", ICS: "QMM", Kind: "file_received", StartedAt: at, Details: "{}"}
	}
	if err := Write(ctx, st, []Event{ev("a", t0), ev("b", t0)}); err != nil {
		t.Fatal(err)
	}
	first, _, _, err := Compact(ctx, st, "w1")
	if err != nil {
		t.Fatal(err)
	}
	// The crash: nothing discarded; then another attempt's events arrive.
	if err := Write(ctx, st, []Event{ev("c", t0.Add(time.Minute))}); err != nil {
		t.Fatal(err)
	}
	second, events, pkeys, err := Compact(ctx, st, "w1")
	if err != nil {
		t.Fatal(err)
	}
	if second != first || len(events) != 3 {
		t.Fatalf("retried compaction wrote %s with %d events, want %s again with 3", second, len(events), first)
	}
	if err := Discard(ctx, st, pkeys); err != nil {
		t.Fatal(err)
	}
	batches, err := st.List(ctx, schemas.AuditBatchPrefix("w1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 {
		t.Errorf("%d batches in the lake, want 1", len(batches))
	}
	// The next flush, after a successful one, starts a batch of its own.
	if err := Write(ctx, st, []Event{ev("d", t0.Add(2*time.Minute))}); err != nil {
		t.Fatal(err)
	}
	third, events, _, err := Compact(ctx, st, "w1")
	if err != nil || third == first || len(events) != 1 {
		t.Errorf("next compaction: %s with %d events (%v), want a new batch of 1", third, len(events), err)
	}
	if trail, _ := Trail(ctx, st, "w1"); len(trail) != 4 {
		t.Errorf("trail has %d events, want 4", len(trail))
	}
}
