package responses

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// PriorFromLake builds the Prior hook of LoadConfig from what earlier loads of the wave
// and ICS wrote to the lake. Only files whose load marker exists count, so the outputs
// of an interrupted attempt are never mistaken for an earlier day's responses. For each
// person and respondent type the kept response is the one not discarded in any
// duplicates partition (the preferred one, by preferred, if several remain: a load
// running at the same time may have kept another, which reconcile demotes).
func PriorFromLake(ctx context.Context, st store.Store, wave, ics string) (func(surveyRecordID, respondentType string) (PriorResponse, bool), error) {
	all, err := keptInLake(ctx, st, wave, ics)
	if err != nil {
		return nil, err
	}
	kept := make(map[person]PriorResponse, len(all))
	for k, rs := range all {
		best := rs[0]
		for _, r := range rs[1:] {
			if preferred(r.PriorResponse, best.PriorResponse) {
				best = r
			}
		}
		kept[k] = best.PriorResponse
	}
	return func(id, typ string) (PriorResponse, bool) {
		p, ok := kept[person{id, typ}]
		return p, ok
	}, nil
}

// person is a survey record id and respondent type: who has one kept response.
type person struct{ id, typ string }

// keptResponse is a response of a loaded file not discarded by any loaded duplicates record.
type keptResponse struct {
	PriorResponse
	sha string // its source file
}

// keptInLake lists, for each person, every response of a loaded file (one whose load
// marker exists) that no duplicates record of a loaded file discards: one, unless loads
// of the ICS ran at the same time.
func keptInLake(ctx context.Context, st store.Store, wave, ics string) (map[person][]keptResponse, error) {
	done := map[string]bool{}
	markers, err := st.List(ctx, schemas.ResponseLoadMarkerPrefix(wave, ics))
	if err != nil {
		return nil, fmt.Errorf("responses: list load markers: %w", err)
	}
	for _, m := range markers {
		done[schemas.ResponseLoadMarkerSHA(m.Key)] = true
	}
	discarded := map[string]bool{}
	dupParts, err := st.List(ctx, schemas.LakePartition(schemas.LakeDuplicates, wave, ics))
	if err != nil {
		return nil, fmt.Errorf("responses: list duplicates: %w", err)
	}
	for _, p := range dupParts {
		if !schemas.IsParquet(p.Key) {
			continue
		}
		err := lake.Scan(ctx, st, p.Key, schemas.DuplicateResponseLayout(), func(d *schemas.DuplicateResponse) error {
			if done[d.SourceSHA256] {
				discarded[d.DiscardedResponseID] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("responses: read prior duplicates: %w", err)
		}
	}
	kept := map[person][]keptResponse{}
	seen := map[string]bool{}
	respParts, err := st.List(ctx, schemas.LakePartition(schemas.LakeResponses, wave, ics))
	if err != nil {
		return nil, fmt.Errorf("responses: list responses: %w", err)
	}
	for _, p := range respParts {
		if !schemas.IsParquet(p.Key) {
			continue
		}
		err := lake.Scan(ctx, st, p.Key, schemas.ResponseFixedLayout(), func(r *schemas.ResponseRow) error {
			if !done[r.SourceSHA256] || discarded[r.ResponseID] || seen[r.ResponseID] {
				return nil
			}
			seen[r.ResponseID] = true
			k := person{r.SurveyRecordID, r.RespondentType}
			kept[k] = append(kept[k], keptResponse{
				PriorResponse: PriorResponse{ResponseID: r.ResponseID, Complete: r.Complete, ReceivedAt: r.ReceivedAt, Channel: r.Channel},
				sha:           r.SourceSHA256,
			})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("responses: read prior responses: %w", err)
		}
	}
	return kept, nil
}

// preferred reports whether response a is kept over b for one person: a complete
// response over an incomplete one, then the first received, then (a tie) the smaller
// response id. It depends on the two responses only, not on which load met them first,
// so loads of different days reach the same kept response in any order.
func preferred(a, b PriorResponse) bool {
	if a.Complete != b.Complete {
		return a.Complete
	}
	if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
		return c < 0
	}
	return a.ResponseID < b.ResponseID
}

// reconcile demotes all but the preferred kept response of each person in the lake: the
// second kept response left by a load of the ICS that ran at the same time as this one
// (each judged its day before the other's responses were loaded). It runs after this
// load's markers are written, so of two loads running at once at least the second to
// write sees both (the store's List shows a completed Put), whichever it is. The
// records go to one duplicates object of this load's day, named by its content, so the
// warehouse takes them with the day (DayObjects) and a retried load rewrites the same
// object. It returns the object's key ("" when nothing was demoted) and how many
// responses it demoted.
func (l *loader) reconcile(ctx context.Context) (string, int, error) {
	all, err := keptInLake(ctx, l.st, l.cfg.WaveID, l.cfg.ICS)
	if err != nil {
		return "", 0, err
	}
	var dups []schemas.DuplicateResponse
	for k, rs := range all {
		if len(rs) < 2 {
			continue
		}
		best := rs[0]
		for _, r := range rs[1:] {
			if preferred(r.PriorResponse, best.PriorResponse) {
				best = r
			}
		}
		for _, r := range rs {
			if r.ResponseID == best.ResponseID {
				continue
			}
			reason := schemas.DuplicateOfFirstReceived
			if best.Complete && !r.Complete {
				reason = schemas.DuplicateSupersededByDone
			}
			// The record names the kept response's file: loaded, so the record counts
			// (PriorFromLake) as soon as it is written.
			dups = append(dups, l.duplicate([2]string{k.id, k.typ}, best.ResponseID, r.ResponseID, r.ReceivedAt, r.Complete, r.Channel, reason, best.sha))
		}
	}
	if len(dups) == 0 {
		return "", 0, nil
	}
	slices.SortFunc(dups, func(a, b schemas.DuplicateResponse) int {
		return strings.Compare(a.DiscardedResponseID, b.DiscardedResponseID)
	})
	h := sha256.New()
	for _, d := range dups {
		fmt.Fprintf(h, "%s>%s\n", d.DiscardedResponseID, d.KeptResponseID)
	}
	key := schemas.ResponseReconcileKey(l.cfg.WaveID, l.cfg.ICS, l.day, hex.EncodeToString(h.Sum(nil)))
	if err := lake.PutRows(ctx, l.st, key, schemas.DuplicateResponseLayout(), dups); err != nil {
		return "", 0, fmt.Errorf("responses: write %s: %w", key, err)
	}
	return key, len(dups), nil
}
