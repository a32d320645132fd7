package publication

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"icesurvey/disclosure"
	"icesurvey/estimate"
	"icesurvey/questionnaire"
	"icesurvey/weighting"
)

// The release's weighting and estimation, for a group the release does not publish
// (the local index's experience-profile cohorts, #17): the same weights (ReadWeights)
// and the same estimate, interval and small-number rule as a published group's row
// (EstimateGroup), so a cohort's figure sits beside its ICS's and England's published
// ones on the same method.

// Weights are the patients' weights of one wave as a release computes them
// (PUBLICATION.md M and W), by response id. Carers are unweighted (w = 1) and are not
// in it.
type Weights struct {
	wave       string
	byResponse map[string]float64
	// ICSs says, per ICS of the wave's frame, whether its patients were weighted
	// (Published) and the weighting status, as a release's metadata does.
	ICSs []ICSReport
}

// ReadWeights computes the weights of wave's patients from db, a read-only snapshot of
// the warehouse, exactly as Compute does for a release with parameters p (the frame
// margins, the sparse-level collapses, bounded raking): the same snapshot and p give
// the same weights. An ICS whose weighting fails or that p leaves out has no weights
// (its ICSReport says why).
func ReadWeights(ctx context.Context, db *sql.DB, wave string, p Params) (*Weights, error) {
	if wave == "" {
		return nil, errors.New("publication: no wave given")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	frame, err := readFrame(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	patients := &population{typ: questionnaire.Patient, weighted: true}
	if err := patients.fetch(ctx, db, wave, nil); err != nil {
		return nil, err
	}
	ids := make([]string, patients.raw.len())
	for i := range ids {
		ids[i] = patients.raw.at(i).responseID
	}
	if err := patients.parse(frame); err != nil {
		return nil, err
	}
	results, start, err := weightPatients(frame, patients, p)
	if err != nil {
		return nil, err
	}
	w := &Weights{wave: wave, byResponse: make(map[string]float64, len(ids))}
	for k, ics := range frame.icss {
		rep := ICSReport{ICS: ics, Patients: patients.perICS[k], FrameTotal: frameTotal(frame, k), Weighting: results[k]}
		switch res := results[k]; {
		case res == nil && start[k+1] > start[k]:
			rep.Status, rep.Reason = StatusExcluded, "left out by the parameters"
		case res == nil:
			rep.Status, rep.Reason = StatusNoRespondents, "no completed patient questionnaire"
		default:
			rep.Status, rep.Reason = string(res.Status), res.Reason
			rep.Published = res.Status != weighting.RakeFailed
			if rep.Published {
				for i, wt := range res.Weights {
					if id := ids[start[k]+i]; id != "" {
						w.byResponse[id] = wt
					}
				}
			}
		}
		w.ICSs = append(w.ICSs, rep)
	}
	return w, nil
}

// Weight is a patient response's weight; false when the response is not a weighted
// completed questionnaire of the wave (not a patient's, not the first complete one of
// its survey record, or its ICS was not weighted).
func (w *Weights) Weight(responseID string) (float64, bool) {
	v, ok := w.byResponse[responseID]
	return v, ok
}

// Wave is the wave the weights are of.
func (w *Weights) Wave() string { return w.wave }

// GroupPositiveValues names the positive values of an EstimateGroup table's row, in
// order (disclosure.Checked.PositiveValue's j): the % positive and its interval as
// proportions, the effective base and the design effect.
var GroupPositiveValues = []string{"p", "ci_lower", "ci_upper", "n_eff", "deff"}

// EstimateGroup computes one group's % positive on a single-choice, scored question
// as a release computes a published group's (E1–E3, C) and checks it by the release's
// small-number rule (S1–S3, a table of the question's options without column totals,
// as a demographic group within an ICS is checked): answers are the group's option
// codes ("" for no answer), weights their weights (nil: unweighted, as carers). The
// returned table has one row, name; read it only through its accessors, which refuse
// withheld figures.
func EstimateGroup(q *questionnaire.Question, name string, answers []string, weights []float64, p Params) (*disclosure.Checked, error) {
	if q.Kind != questionnaire.Single {
		return nil, fmt.Errorf("publication: question %s: only single-choice questions have one %% positive", q.ID)
	}
	if weights != nil && len(weights) != len(answers) {
		return nil, fmt.Errorf("publication: question %s: %d answers, %d weights", q.ID, len(answers), len(weights))
	}
	c, err := estimate.Compile(estimate.FromQuestionnaire(q))
	if err != nil {
		return nil, fmt.Errorf("publication: question %s: %w", q.ID, err)
	}
	ms := c.Measures()
	if len(ms) == 0 {
		return nil, fmt.Errorf("publication: question %s is not scored", q.ID)
	}
	masks := make([]uint64, len(answers))
	groups := make([]int32, len(answers))
	for i, a := range answers {
		if a == "" {
			continue
		}
		if masks[i], err = c.Mask(a); err != nil {
			return nil, fmt.Errorf("publication: group %s, question %s, answer %d: %w", name, q.ID, i+1, err)
		}
	}
	t := estimate.NewTallies(c, 1)
	if err := estimate.Tabulate(c, masks, weights, groups, t); err != nil {
		return nil, fmt.Errorf("publication: %w", err)
	}
	s := spec{option: -1, measure: &ms[0]}
	tab := s.table(c, name+" "+q.ID, weights == nil, false)
	s.addRow(&tab, name, &t[0], p.Estimate.Z)
	checked, err := disclosure.Check(tab, p.Disclosure)
	if err != nil {
		return nil, fmt.Errorf("publication: disclosure check of %s: %w", tab.Name, err)
	}
	return checked, nil
}
