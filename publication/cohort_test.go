package publication

import (
	"context"
	"math"
	"testing"

	"icesurvey/disclosure"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/warehouse"
)

// TestWeightsAndGroupEstimateMatchTheRelease holds ReadWeights and EstimateGroup to
// Compute: the weights of every weighted ICS are the release's, and a "group" that is
// a whole ICS gets the published ICS row's % positive, interval and status.
func TestWeightsAndGroupEstimateMatchTheRelease(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	p := testParams()
	r := compute(t, snap, "W1", p)
	db, err := warehouse.OpenReadOnly(snap)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w, err := ReadWeights(ctx, db, "W1", p)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := questionnaire.Default()
	if err != nil {
		t.Fatal(err)
	}
	find := func(id string) *questionnaire.Question {
		for _, v := range cat.Versions() {
			if qn, err := cat.Resolve(v, nil); err == nil {
				if q, ok := qn.Question(id); ok {
					return q
				}
			}
		}
		return nil
	}
	compared := 0
	for k, rep := range r.ICSs() {
		got := w.ICSs[k]
		if got.ICS != rep.ICS || got.Status != rep.Status || got.Published != rep.Published {
			t.Fatalf("ICS %d: weights say %s %s %v, the release %s %s %v", k, got.ICS, got.Status, got.Published, rep.ICS, rep.Status, rep.Published)
		}
		if !rep.Published {
			continue
		}
		rows, err := db.QueryContext(ctx, `SELECT response_id FROM current_responses WHERE wave = 'W1' AND ics = ? AND respondent_type = 'patient' ORDER BY response_id`, rep.ICS)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			if _, ok := w.Weight(id); ok {
				ids = append(ids, id)
			}
		}
		rows.Close()
		if len(ids) != len(rep.Weighting.Weights) {
			t.Fatalf("%s: %d weighted responses, the release weighted %d", rep.ICS, len(ids), len(rep.Weighting.Weights))
		}
		var sumW, sumR float64
		for _, id := range ids {
			v, _ := w.Weight(id)
			sumW += v
		}
		for _, v := range rep.Weighting.Weights {
			sumR += v
		}
		if math.Abs(sumW-sumR) > 1e-9*sumR {
			t.Fatalf("%s: weights sum to %g, the release's to %g", rep.ICS, sumW, sumR)
		}
		for _, row := range r.Results() {
			if row.ICS != rep.ICS || row.GroupVariable != GroupAll || row.RespondentType != questionnaire.Patient || row.Measure != "" {
				continue
			}
			q := find(row.QuestionID)
			if q == nil || q.Kind != questionnaire.Single || row.Status == disclosure.Secondary {
				continue // an S row is withheld for another ICS's sake, which one group cannot know
			}
			answers := make([]string, len(ids))
			weights := make([]float64, len(ids))
			for i, id := range ids {
				var a *string
				if err := db.QueryRowContext(ctx, `SELECT CAST(`+schemas.QuoteIdent(row.QuestionID)+` AS VARCHAR) FROM current_responses WHERE response_id = ?`, id).Scan(&a); err != nil {
					t.Fatal(err)
				}
				if a != nil {
					answers[i] = *a
				}
				weights[i], _ = w.Weight(id)
			}
			c, err := EstimateGroup(q, rep.ICS, answers, weights, p)
			if err != nil {
				t.Fatal(err)
			}
			pct, okP := row.PctPositive.Value()
			gp, okG := c.PositiveValue(0, 0)
			if okP != okG {
				t.Fatalf("%s %s: published %v, group estimate published %v", rep.ICS, row.QuestionID, okP, okG)
			}
			if okP {
				lo, _ := row.CILower.Value()
				glo, _ := c.PositiveValue(0, 1)
				if math.Abs(100*gp-pct) > 1e-9 || math.Abs(100*glo-lo) > 1e-9 {
					t.Fatalf("%s %s: group %g%% (lower %g), published %g%% (lower %g)", rep.ICS, row.QuestionID, 100*gp, 100*glo, pct, lo)
				}
			}
			if rs := c.RowStatus(0); (rs == disclosure.BaseTooSmall) != (row.Status == disclosure.BaseTooSmall) {
				t.Fatalf("%s %s: group row status %v, published %v", rep.ICS, row.QuestionID, rs, row.Status)
			}
			compared++
			break // one question per ICS is enough: the weights are what differ
		}
	}
	if compared < 3 {
		t.Fatalf("compared %d ICSs, want at least 3", compared)
	}
}
