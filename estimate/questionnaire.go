package estimate

import (
	"slices"

	"icesurvey/questionnaire"
)

// FromQuestionnaire returns the estimation view of a closed questionnaire question:
// its option codes in printed order, positive and excluded codes, and whether it is
// multi-choice. Compile validates it.
func FromQuestionnaire(q *questionnaire.Question) Question {
	out := Question{ID: q.ID, Positive: slices.Clone(q.Positive), Excluded: slices.Clone(q.Excluded), Multi: q.Kind == questionnaire.Multi}
	for _, o := range q.Options {
		out.Options = append(out.Options, o.Code)
	}
	return out
}
