package localindex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/themes"
)

// ExportQDPX writes one ICS's coded comments as a REFI-QDA project (.qdpx) in the
// free-text area and returns its key: every redacted comment as a source, each
// coder's latest decision as that coder's codings, and for comments no person has
// coded yet the machine's suggestions as the user "model", so a team can carry on in
// NVivo, ATLAS.ti or MAXQDA. Texts are redacted; the export is for named readers.
func ExportQDPX(ctx context.Context, st store.Store, wave, ics string, at time.Time) (string, int, error) {
	cb := themes.Default()
	comments, err := ReadRedacted(ctx, st, wave, ics)
	if err != nil {
		return "", 0, err
	}
	decisions, err := ReadDecisions(ctx, st, wave, ics, cb)
	if err != nil {
		return "", 0, err
	}
	byUnit := map[string][]PersonCoding{}
	for _, d := range decisions {
		byUnit[d.Unit] = append(byUnit[d.Unit], d)
	}
	var codings []themes.Coding
	vars := map[string][]themes.Variable{}
	for _, c := range comments {
		u := UnitID(c.ResponseID, c.QuestionID)
		vars[u] = []themes.Variable{{Name: "wave", Value: wave}, {Name: "ics", Value: ics}, {Name: "question", Value: c.QuestionID},
			{Name: "respondent_type", Value: c.RespondentType}}
		if ds := byUnit[u]; len(ds) > 0 {
			for _, d := range ds {
				codings = append(codings, themes.Coding{ResponseID: u, Text: c.Text, Themes: d.Themes, Coder: d.Coder, CodedAt: d.DecidedAt, CodebookVersion: cb.Version})
			}
			continue
		}
		var scores []themes.ThemeScore
		if err := json.Unmarshal([]byte(c.Scores), &scores); err != nil {
			return "", 0, fmt.Errorf("%s response %s field scores: %w", schemas.RedactedCommentsKey(wave, ics), u, err)
		}
		mc := themes.Coding{ResponseID: u, Text: c.Text, Coder: schemas.CodedByModel, CodedAt: at, CodebookVersion: cb.Version}
		for _, s := range scores {
			if s.Suggested() {
				mc.Themes = append(mc.Themes, themes.ThemeCode{Theme: s.Theme, Polarity: s.Polarity})
			}
		}
		codings = append(codings, mc)
	}
	p, err := themes.ProjectFromCodings(fmt.Sprintf("ICE survey %s %s free text", wave, ics), cb, at, codings, vars)
	if err != nil {
		return "", 0, fmt.Errorf("qdpx for %s %s: %w", wave, ics, err)
	}
	var buf bytes.Buffer
	if err := themes.WriteQDPX(&buf, p); err != nil {
		return "", 0, fmt.Errorf("qdpx for %s %s: %w", wave, ics, err)
	}
	key := schemas.ThemesQDPXKey(wave, ics)
	if err := store.PutBytes(ctx, st, key, buf.Bytes()); err != nil {
		return "", 0, err
	}
	return key, len(p.Sources), nil
}
