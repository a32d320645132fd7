package responses

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

// raceStore makes two loads of one ICS interleave the way a backfill and the 06:00 run
// can: a load's first load marker is held back until both loads have read the ICS's
// markers once (which de-duplication does before anything is written), so each judges
// its day without the other's responses. The barrier gives way after a while so that a
// load which never lists the markers cannot hang the test.
type raceStore struct {
	*store.FileStore
	mu      sync.Mutex
	lists   int
	release chan struct{}
}

func (s *raceStore) List(ctx context.Context, prefix string) ([]store.Info, error) {
	if prefix == schemas.ResponseLoadMarkerPrefix(wave, ics) {
		s.mu.Lock()
		if s.lists++; s.lists == 2 {
			close(s.release)
		}
		s.mu.Unlock()
	}
	return s.FileStore.List(ctx, prefix)
}

func (s *raceStore) Put(ctx context.Context, key string, r io.Reader) error {
	if strings.HasPrefix(key, schemas.ResponseLoadMarkerPrefix(wave, ics)) {
		select {
		case <-s.release:
		case <-time.After(5 * time.Second):
		}
	}
	return s.FileStore.Put(ctx, key, r)
}

// keptByPerson is the lake's kept responses (not discarded by a duplicates record of a
// loaded file) by survey record id and respondent type.
func keptByPerson(t *testing.T, st store.Store) map[string][]schemas.ResponseRow {
	t.Helper()
	discarded := map[string]bool{}
	for _, d := range duplicatesOf(t, st) {
		discarded[d.DiscardedResponseID] = true
	}
	out := map[string][]schemas.ResponseRow{}
	for _, r := range responsesOf(t, st) {
		if !discarded[r.ResponseID] {
			k := r.SurveyRecordID + "/" + r.RespondentType
			out[k] = append(out[k], r)
		}
	}
	return out
}

// Two loads of different days of one ICS run at once (a backfill and the scheduled run,
// or two backfills): the lake must still end with one kept response per person, the
// first received.
func TestConcurrentLoadsOfDifferentDays(t *testing.T) {
	const people = 40
	for _, order := range []string{"together", "later day first"} {
		t.Run(order, func(t *testing.T) {
			f := newFixture(t)
			var day1Rows, day2Rows []map[string]string
			for i := 1; i <= people; i++ {
				id := fmt.Sprintf("S%03d", i)
				day1Rows = append(day1Rows, row(id, "2026-02-10T09:00:00Z", nil))
				day2Rows = append(day2Rows, row(id, "2026-02-11T09:00:00Z", map[string]string{"CHANNEL": "paper"}))
			}
			f.landResponses(day1, "online", day1Rows...)
			f.landResponses(day2, "paper", day2Rows...)
			rs := &raceStore{FileStore: f.st, release: make(chan struct{})}
			var st store.Store = rs
			results := make([]*LoadResult, 2)
			if order == "later day first" {
				// The scheduled run of today loads before a backfill of an earlier day.
				for i, d := range []time.Time{day2, day1} {
					var err error
					if results[i], err = Load(context.Background(), f.st, f.cfg, d); err != nil {
						t.Fatal(err)
					}
				}
				if r := results[1]; r.Loaded != people || r.Superseded != people {
					t.Errorf("earlier day loaded second: loaded %d, superseded %d, want %d each", r.Loaded, r.Superseded, people)
				}
			} else {
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, d := range []time.Time{day1, day2} {
					wg.Add(1)
					go func() {
						defer wg.Done()
						results[i], errs[i] = Load(context.Background(), st, f.cfg, d)
					}()
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						t.Fatal(err)
					}
				}
				// Both judged their day alone (the barrier saw to it): the second
				// kept responses were demoted after the write, in an object the
				// warehouse takes with the day that demoted them.
				demoted := 0
				for i, r := range results {
					if r.Loaded != people {
						t.Errorf("load %d loaded %d, want %d (each judged its day alone)", i, r.Loaded, people)
					}
					if r.Reconciled == 0 {
						continue
					}
					demoted = max(demoted, r.Reconciled)
					objs, err := DayObjects(context.Background(), f.st, wave, ics, []time.Time{day1, day2}[i])
					if err != nil {
						t.Fatal(err)
					}
					found := false
					for _, o := range objs {
						found = found || o.Key == r.Outputs[len(r.Outputs)-1]
					}
					if !found {
						t.Errorf("load %d: reconcile object %s not among the day's objects %v", i, r.Outputs[len(r.Outputs)-1], objs)
					}
				}
				if demoted != people {
					t.Errorf("demoted %d after the write, want %d", demoted, people)
				}
			}
			for _, d := range duplicatesOf(t, f.st) {
				if d.Reason != schemas.DuplicateOfFirstReceived || d.DiscardedChannel != "paper" {
					t.Errorf("duplicate %+v, want the paper response discarded as %s", d, schemas.DuplicateOfFirstReceived)
				}
			}
			kept := keptByPerson(t, f.st)
			if len(kept) != people {
				t.Fatalf("%d people have a kept response, want %d", len(kept), people)
			}
			twice := 0
			for k, rs := range kept {
				if len(rs) != 1 {
					twice++
					continue
				}
				if want := day1.Add(9 * time.Hour); !rs[0].ReceivedAt.Equal(want) {
					t.Errorf("%s: kept the response received %s, want the first, received %s", k, rs[0].ReceivedAt, want)
				}
			}
			if twice > 0 {
				t.Fatalf("%d of %d people have more than one kept response", twice, people)
			}
			// What the load will judge the next day by agrees.
			prior, err := PriorFromLake(context.Background(), f.st, wave, ics)
			if err != nil {
				t.Fatal(err)
			}
			if p, ok := prior("S001", "patient"); !ok || p.Channel != "online" {
				t.Errorf("prior = %+v %v, want the day-1 online response", p, ok)
			}
		})
	}
}
