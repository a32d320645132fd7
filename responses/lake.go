package responses

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// KnownFromLake builds the load's Known hook from the lake: the wave's accepted sample
// (who exists) and the mailing history (who was invited). It fails with a
// fault.Configuration error when the ICS has no sample yet: every response would
// otherwise be rejected as an unknown record and its file marked loaded for good.
//
// The sample and history are read in the background: Known waits for them, and wait
// reports whether reading them failed. A failure calls cancel before Known returns, so
// a load that judged a row against incomplete sets sees its context cancelled before
// it writes. (A load that never called Known did not depend on the sets.)
//
// firstMailing (for LoadConfig.FirstMailing) is when the ICS's first message was sent,
// zero when none was; it waits for the read as Known does.
func KnownFromLake(ctx context.Context, cancel context.CancelFunc, st store.Store, wave, ics string) (known func(string) (bool, bool), firstMailing func() time.Time, wait func() error, err error) {
	sampleKey := schemas.SampleKey(wave, ics)
	ok, err := store.Exists(ctx, st, sampleKey)
	if err != nil {
		return nil, nil, nil, err
	}
	if !ok {
		return nil, nil, nil, fault.Errorf(fault.Configuration, "wave %s ICS %s has no accepted sample (%s): responses cannot be judged before intake", wave, ics, sampleKey)
	}
	const sampled, invited = 1, 2
	var (
		ids     map[string]uint8 // one lookup per response answers both questions
		first   time.Time
		readErr error
		ready   = make(chan struct{})
	)
	go func() {
		defer close(ready)
		ids, first, readErr = readKnown(ctx, st, wave, ics, sampled, invited)
		if readErr != nil {
			cancel()
		}
	}()
	known = func(id string) (bool, bool) {
		<-ready
		f := ids[id]
		return f&sampled != 0, f&invited != 0
	}
	firstMailing = func() time.Time {
		<-ready
		return first
	}
	wait = func() error {
		<-ready
		return readErr
	}
	return known, firstMailing, wait, nil
}

// readKnown reads the sample's ids (flagged sampled) and the ids the mailing history
// says were sent a message (flagged invited), and when the first message was sent.
func readKnown(ctx context.Context, st store.Store, wave, ics string, sampled, invited uint8) (map[string]uint8, time.Time, error) {
	var first time.Time
	ids := map[string]uint8{}
	sampleKey := schemas.SampleKey(wave, ics)
	if err := lake.ScanStrings(ctx, st, sampleKey, []string{"survey_record_id"}, func(r []string) error {
		ids[r[0]] |= sampled
		return nil
	}); err != nil {
		return nil, first, fmt.Errorf("read sample %s: %w", sampleKey, err)
	}
	infos, err := st.List(ctx, schemas.LakePartition(schemas.LakeMailingHistory, wave, ics))
	if err != nil {
		return nil, first, err
	}
	for _, inf := range infos {
		if !schemas.IsParquet(inf.Key) {
			continue
		}
		err := lake.ScanColumns(ctx, st, inf.Key, []string{"survey_record_id", "result", "sent_at"}, nil, func(cols []arrow.Array, rows int) error {
			id, ok1 := cols[0].(*array.String)
			result, ok2 := cols[1].(*array.String)
			sent, ok3 := cols[2].(*array.Timestamp)
			if !ok1 || !ok2 || !ok3 {
				return fmt.Errorf("survey_record_id, result or sent_at is not of its type")
			}
			for r := range rows {
				// A message that failed for good reached nobody; any other was sent.
				if result.Value(r) == schemas.ResultPermanentFailure {
					continue
				}
				ids[id.Value(r)] |= invited
				if !sent.IsNull(r) {
					if t := time.UnixMicro(int64(sent.Value(r))).UTC(); first.IsZero() || t.Before(first) {
						first = t
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, first, fmt.Errorf("read mailing history %s: %w", inf.Key, err)
		}
	}
	return ids, first, nil
}

// DayObjects lists the lake objects of one load date that belong in the warehouse:
// every complete object of the day's partitions, not only those the last load wrote, so
// a file loaded by an earlier run whose warehouse load never finished (a terminated
// workflow) is loaded by the next run of the same day (the warehouse skips objects it
// already holds). Only objects of files whose load marker exists count: an object left
// by an attempt killed before its marker is not yet known to be whole and final. The
// day's reconcile objects (ResponseReconcileKey) count too.
func DayObjects(ctx context.Context, st store.Store, wave, ics string, day time.Time) ([]schemas.LakeObject, error) {
	markers, err := st.List(ctx, schemas.ResponseLoadMarkerPrefix(wave, ics))
	if err != nil {
		return nil, err
	}
	done := map[string]bool{} // keys of loaded files' objects
	var out []schemas.LakeObject
	for _, t := range schemas.ResponseLoadTables {
		for _, m := range markers {
			if sha := schemas.ResponseLoadMarkerSHA(m.Key); len(sha) >= 16 {
				done[schemas.ResponsePartKey(t, wave, ics, day, sha)] = true
			}
		}
		infos, err := st.List(ctx, schemas.ResponseLoadPartition(t, wave, ics, day))
		if err != nil {
			return nil, err
		}
		for _, inf := range infos {
			// A reconcile object (ResponseReconcileKey) is written whole after the
			// markers of every file its records name, so it is final when it exists.
			if done[inf.Key] || (t == schemas.LakeDuplicates && isReconcileObject(inf.Key)) {
				out = append(out, t.Object(inf.Key))
			}
		}
	}
	// Each object's rows join at query time, so the order is not needed for
	// correctness; a stable one keeps histories comparable.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}

func isReconcileObject(key string) bool {
	return strings.HasPrefix(path.Base(key), schemas.ResponseReconcilePrefix) && schemas.IsParquet(key)
}
