package dashdata

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/themes"
	"icesurvey/web"
)

var _ web.CodingQueue = FreeTextStore{}

// CodingQueue reads an ICS's coding queue as the last coding run wrote it in the
// free-text area (schemas.RedactedCommentsKey: redacted text, queue position, the
// machine's scores), in queue order, with the themes the machine suggests (scores at
// or above their thresholds). The evaluation slice keeps its flag: the page shows it
// without suggestions. The web page redacts the text again and audits the read.
func (f FreeTextStore) CodingQueue(ctx context.Context, wave, ics string) ([]web.CodingItem, error) {
	rows, err := lake.GetRows[schemas.RedactedComment](ctx, f.Store, schemas.RedactedCommentsKey(wave, ics), schemas.RedactedCommentLayout())
	if err != nil {
		return nil, fmt.Errorf("dashdata: reading the coding queue of %s %s: %w", wave, ics, err)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].QueuePosition < rows[j].QueuePosition })
	out := make([]web.CodingItem, 0, len(rows))
	for i, r := range rows {
		it := web.CodingItem{ResponseID: r.ResponseID, QuestionID: r.QuestionID, Text: r.Text, Evaluation: r.Evaluation}
		if r.Scores != "" {
			var scores []themes.ThemeScore
			if err := json.Unmarshal([]byte(r.Scores), &scores); err != nil {
				return nil, fmt.Errorf("dashdata: %s queue item %d (%s/%s) field scores: %w", schemas.RedactedCommentsKey(wave, ics), i, r.ResponseID, r.QuestionID, err)
			}
			for _, s := range scores {
				if s.Suggested() {
					it.Suggestions = append(it.Suggestions, web.CodedTheme{Theme: s.Theme, Polarity: string(s.Polarity)})
				}
			}
		}
		out = append(out, it)
	}
	return out, nil
}
