package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Key layout of the trail in the store (schemas.AuditPendingKey, schemas.AuditBatchKey):
//
//	audit/pending/{wave}/{started-unixnano}-{digest}.jsonl   one object per attempt
//	lake/audit/wave={wave}/batch-{digest}.parquet            compacted batches
//
// Events that belong to no wave (e.g. a schedule's own bookkeeping) are filed under _none.

// Write appends one attempt's events to the trail. Each call writes a new object with a
// unique key, so nothing is ever overwritten: a retried attempt is a second object.
func Write(ctx context.Context, st store.Store, events []Event) error {
	if len(events) == 0 {
		return nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i := range events {
		if err := enc.Encode(&events[i]); err != nil {
			return fmt.Errorf("audit: encode event %s: %w", events[i].EventID, err)
		}
	}
	sum := sha256.Sum256([]byte(events[0].EventID))
	key := schemas.AuditPendingKey(events[0].WaveID, events[0].StartedAt, hex.EncodeToString(sum[:8]))
	if err := store.PutBytes(ctx, st, key, buf.Bytes()); err != nil {
		return fmt.Errorf("audit: write trail: %w", err)
	}
	return nil
}

// Pending reads the not yet compacted events of a wave, with the keys they came from.
func Pending(ctx context.Context, st store.Store, wave string) ([]Event, []string, error) {
	infos, err := st.List(ctx, schemas.AuditPendingPrefix(wave))
	if err != nil {
		return nil, nil, fmt.Errorf("audit: list pending: %w", err)
	}
	var events []Event
	var keys []string
	for _, inf := range infos {
		b, err := store.ReadAll(ctx, st, inf.Key)
		if err != nil {
			return nil, nil, fmt.Errorf("audit: read pending: %w", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
		for sc.Scan() {
			var e Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				return nil, nil, fmt.Errorf("audit: decode %s: %w", inf.Key, err)
			}
			events = append(events, e)
		}
		if err := sc.Err(); err != nil {
			return nil, nil, fmt.Errorf("audit: read %s: %w", inf.Key, err)
		}
		keys = append(keys, inf.Key)
	}
	return events, keys, nil
}

// Compact moves a wave's pending events into one Parquet batch in the lake. The caller
// loads the batch into the warehouse and then calls Discard with the returned keys.
//
// The batch key is a digest of the oldest pending object's key, not of the events: a
// compaction retried after a crash (before Discard) rewrites the same batch, now with
// whatever events arrived in between, instead of leaving the first batch behind in the
// lake, never loaded, its events repeated in the next (the crash campaign, bench/chaos,
// found such a batch when the worker was killed between the batch and its load).
func Compact(ctx context.Context, st store.Store, wave string) (batchKey string, events []Event, pendingKeys []string, err error) {
	events, pendingKeys, err = Pending(ctx, st, wave)
	if err != nil || len(events) == 0 {
		return "", nil, nil, err
	}
	sortEvents(events)
	oldest := slices.Min(pendingKeys)
	h := sha256.New()
	h.Write([]byte(oldest))
	batchKey = schemas.AuditBatchKey(wave, hex.EncodeToString(h.Sum(nil))[:24])
	if err := lake.PutRows(ctx, st, batchKey, Layout(), events); err != nil {
		return "", nil, nil, fmt.Errorf("audit: write batch: %w", err)
	}
	return batchKey, events, pendingKeys, nil
}

// Discard deletes pending objects once their events are safely in the lake.
func Discard(ctx context.Context, st store.Store, keys []string) error {
	for _, k := range keys {
		if err := st.Delete(ctx, k); err != nil {
			return fmt.Errorf("audit: discard pending: %w", err)
		}
	}
	return nil
}

// HasTrail reports whether the store holds any of a wave's audit trail, compacted or
// pending, without reading it. Every wave run has one: none means the wave id or the
// store is not the one meant.
func HasTrail(ctx context.Context, st store.Store, wave string) (bool, error) {
	for _, prefix := range []string{schemas.AuditBatchPrefix(wave), schemas.AuditPendingPrefix(wave)} {
		infos, err := st.List(ctx, prefix)
		if err != nil {
			return false, fmt.Errorf("audit: list %s: %w", prefix, err)
		}
		if len(infos) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// Trail returns a wave's whole audit trail, compacted and pending, in time order, each
// event once (a batch re-written after a crash may repeat events; event IDs are unique).
func Trail(ctx context.Context, st store.Store, wave string) ([]Event, error) {
	infos, err := st.List(ctx, schemas.AuditBatchPrefix(wave))
	if err != nil {
		return nil, fmt.Errorf("audit: list batches: %w", err)
	}
	seen := map[string]bool{}
	var out []Event
	add := func(e Event) {
		if !seen[e.EventID] {
			seen[e.EventID] = true
			out = append(out, e)
		}
	}
	for _, inf := range infos {
		if !schemas.IsParquet(inf.Key) {
			continue
		}
		rows, err := lake.GetRows[Event](ctx, st, inf.Key, Layout())
		if err != nil {
			return nil, fmt.Errorf("audit: read batch: %w", err)
		}
		for _, e := range rows {
			add(e)
		}
	}
	pending, _, err := Pending(ctx, st, wave)
	if err != nil {
		return nil, err
	}
	for _, e := range pending {
		add(e)
	}
	sortEvents(out)
	return out, nil
}

func sortEvents(events []Event) {
	sort.SliceStable(events, func(i, j int) bool {
		if !events[i].StartedAt.Equal(events[j].StartedAt) {
			return events[i].StartedAt.Before(events[j].StartedAt)
		}
		return events[i].EventID < events[j].EventID
	})
}
