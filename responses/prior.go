package responses

import (
	"context"
	"fmt"
	"time"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// PriorFromLake builds the Prior hook of LoadConfig from what earlier loads of the wave
// and ICS wrote to the lake. Only files whose load marker exists count, so the outputs
// of an interrupted attempt are never mistaken for an earlier day's responses. For each
// person and respondent type the kept response is the one not discarded in any
// duplicates partition (the first complete one by received time if several remain).
func PriorFromLake(ctx context.Context, st store.Store, wave, ics string) (func(surveyRecordID, respondentType string) (PriorResponse, bool), error) {
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
	type key struct{ id, typ string }
	kept := map[key]PriorResponse{}
	respParts, err := st.List(ctx, schemas.LakePartition(schemas.LakeResponses, wave, ics))
	if err != nil {
		return nil, fmt.Errorf("responses: list responses: %w", err)
	}
	for _, p := range respParts {
		if !schemas.IsParquet(p.Key) {
			continue
		}
		err := lake.Scan(ctx, st, p.Key, schemas.ResponseFixedLayout(), func(r *schemas.ResponseRow) error {
			if !done[r.SourceSHA256] || discarded[r.ResponseID] {
				return nil
			}
			k := key{r.SurveyRecordID, r.RespondentType}
			cur, ok := kept[k]
			if !ok || better(r.Complete, r.ReceivedAt, cur) {
				kept[k] = PriorResponse{ResponseID: r.ResponseID, Complete: r.Complete, ReceivedAt: r.ReceivedAt, Channel: r.Channel}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("responses: read prior responses: %w", err)
		}
	}
	return func(id, typ string) (PriorResponse, bool) {
		p, ok := kept[key{id, typ}]
		return p, ok
	}, nil
}

// better reports whether a response (complete, at) should be kept over cur.
func better(complete bool, at time.Time, cur PriorResponse) bool {
	if complete != cur.Complete {
		return complete
	}
	return at.Before(cur.ReceivedAt)
}
