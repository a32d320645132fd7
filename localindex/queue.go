package localindex

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/themes"
)

// QueueEntry is one comment of a coder's queue: redacted text, and the machine's
// suggestions unless the comment is coded blind.
type QueueEntry struct {
	ResponseID, QuestionID string
	Text                   string // redacted by the coding run; the reader's path redacts it again
	Position               int    // the comment's place in the ICS's coding queue (1 first)
	Evaluation             bool   // in the evaluation slice
	DoubleCoded            bool   // in the blind double-coding sample
	// Blind: shown without suggestions — the evaluation slice, and a double-coded
	// comment another coder has already coded (the second coder sees neither the
	// first coder's decision nor the machine's guess).
	Blind       bool
	Suggestions []themes.ThemeCode // nil when Blind
}

// Unit is the entry's coding unit id.
func (e QueueEntry) Unit() string { return UnitID(e.ResponseID, e.QuestionID) }

// CoderQueue is what is left for one coder to code in an ICS, in the coding queue's
// order (most uncertain first, the evaluation slice interleaved), as the last coding
// run queued it: comments the coder has decided leave their queue, and so do comments
// another coder has decided, except the double-coding sample until it has its
// second coder. The dashboard's coding page and `ice themes code` both take their
// comments from here, so a coder sees the same queue in either place.
func CoderQueue(ctx context.Context, st store.Store, wave, ics, coder string) ([]QueueEntry, error) {
	rows, err := ReadRedacted(ctx, st, wave, ics)
	if err != nil {
		return nil, err
	}
	decisions, err := ReadDecisions(ctx, st, wave, ics, themes.Default())
	if err != nil {
		return nil, err
	}
	coders := map[string][]string{}
	for _, d := range decisions {
		coders[d.Unit] = append(coders[d.Unit], d.Coder)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].QueuePosition < rows[j].QueuePosition })
	out := make([]QueueEntry, 0, len(rows))
	for i, r := range rows {
		u := UnitID(r.ResponseID, r.QuestionID)
		by := coders[u]
		switch {
		case slices.Contains(by, coder):
			continue // decided by this coder (who changes a decision by sending it again)
		case len(by) >= 2, len(by) == 1 && !r.DoubleCoded:
			continue // coded as often as the plan asks
		}
		e := QueueEntry{ResponseID: r.ResponseID, QuestionID: r.QuestionID, Text: r.Text, Position: int(r.QueuePosition),
			Evaluation: r.Evaluation, DoubleCoded: r.DoubleCoded, Blind: r.Evaluation || len(by) > 0}
		if !e.Blind && r.Scores != "" {
			var scores []themes.ThemeScore
			if err := json.Unmarshal([]byte(r.Scores), &scores); err != nil {
				return nil, fmt.Errorf("%s queue item %d (%s) field scores: %w", schemas.RedactedCommentsKey(wave, ics), i+1, u, err)
			}
			for _, s := range scores {
				if s.Suggested() {
					e.Suggestions = append(e.Suggestions, themes.ThemeCode{Theme: s.Theme, Polarity: s.Polarity})
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}
