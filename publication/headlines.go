package publication

import (
	"context"
	"fmt"

	"icesurvey/lake"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

// ReadResults reads the % positive figures of the release that m lists (a draft's
// manifest or a published one's) as written (results.parquet): withheld figures are
// nil, with their status.
func ReadResults(ctx context.Context, st store.Store, m Manifest) ([]schemas.PublishedResult, error) {
	for _, f := range m.Files {
		if f.Table != schemas.TablePublishedResults {
			continue
		}
		rows, err := lake.GetRows[schemas.PublishedResult](ctx, st, f.Key, schemas.PublishedResultLayout())
		if err != nil {
			return nil, fmt.Errorf("publication: read %s: %w", f.Key, err)
		}
		return rows, nil
	}
	return nil, fmt.Errorf("publication: %s lists no %s", m.ManifestKey, schemas.TablePublishedResults)
}

// Headline is one ICS's published % positive for one question, with its interval.
type Headline struct {
	QuestionID string
	Pct        float64
	CILower    float64
	CIUpper    float64
	Base       int64
	VsEngland  string
	Status     string
}

// Headlines picks up to n headline figures per ICS from a release's results: the
// whole-ICS patient figures of the single-choice questions, in the order the
// release's metadata lists its questions, that were published with a value (a
// withheld figure is never shown). The same release always gives the same headlines.
func Headlines(meta *Metadata, rows []schemas.PublishedResult, n int) map[string][]Headline {
	type key struct{ ics, question string }
	byKey := map[key]*schemas.PublishedResult{}
	for i := range rows {
		r := &rows[i]
		if r.GeographyLevel == GeographyICS && r.GroupVariable == GroupAll && r.RespondentType == questionnaire.Patient &&
			r.PctPositive != nil && r.CILower != nil && r.CIUpper != nil && r.BaseUnweighted != nil {
			byKey[key{r.ICS, r.QuestionID}] = r
		}
	}
	out := map[string][]Headline{}
	for _, im := range meta.ICSs {
		if !im.Published {
			continue
		}
		for _, q := range meta.Questions {
			if len(out[im.ICS]) == n {
				break
			}
			if q.RespondentType != questionnaire.Patient || q.Multi || len(q.Positive) == 0 {
				continue
			}
			if r := byKey[key{im.ICS, q.ID}]; r != nil {
				out[im.ICS] = append(out[im.ICS], Headline{QuestionID: q.ID, Pct: *r.PctPositive, CILower: *r.CILower, CIUpper: *r.CIUpper,
					Base: *r.BaseUnweighted, VsEngland: r.VsEngland, Status: r.Status})
			}
		}
	}
	return out
}
