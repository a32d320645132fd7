package dashdata

import (
	"context"
	"fmt"

	"icesurvey/localindex"
	"icesurvey/web"
)

var _ web.CodingQueue = FreeTextStore{}

// CodingQueue reads what is left of one coder's queue in an ICS as the last coding
// run wrote it in the free-text area (localindex.CoderQueue: redacted text, queue
// order, the themes the machine suggests unless the comment is coded blind). The web
// page redacts the text again and audits the read.
func (f FreeTextStore) CodingQueue(ctx context.Context, wave, ics, coder string) ([]web.CodingItem, error) {
	entries, err := localindex.CoderQueue(ctx, f.Store, wave, ics, coder)
	if err != nil {
		return nil, fmt.Errorf("dashdata: the coding queue of %s %s: %w", wave, ics, err)
	}
	out := make([]web.CodingItem, 0, len(entries))
	for _, e := range entries {
		it := web.CodingItem{ResponseID: e.ResponseID, QuestionID: e.QuestionID, Text: e.Text, Blind: e.Blind}
		for _, s := range e.Suggestions {
			it.Suggestions = append(it.Suggestions, web.CodedTheme{Theme: s.Theme, Polarity: string(s.Polarity)})
		}
		out = append(out, it)
	}
	return out, nil
}
