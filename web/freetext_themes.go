package web

import (
	"context"
	"fmt"
	"strings"

	"icesurvey/web/chart"
)

// freeTextThemesSection builds a theme page's "What people wrote" section: the free-text
// comments of the ICS and respondent type coded to the integration themes that belong
// with the page's closed questions (issue #17), by polarity, as FreeTextThemes returns
// them after disclosure control. A withheld count is shown as "withheld" and nothing
// else. It returns nil when the page has no integration theme or no source is set.
// The section has no download: it is not part of a release, and its counts are live.
func (s *Server) freeTextThemesSection(ctx context.Context, v themeView) (*section, error) {
	if s.deps.FreeTextThemes == nil {
		return nil, nil
	}
	q := v.Query
	counts, err := s.deps.FreeTextThemes.FreeTextThemeCounts(ctx, q.Wave, q.ICS, q.RespondentType, q.Theme)
	if err != nil {
		return nil, fmt.Errorf("reading the free-text theme counts of %s: %w", q.Theme, err)
	}
	if len(counts) == 0 {
		return nil, nil
	}
	who := strings.ToLower(labelOf(respondentTypes, q.RespondentType))
	t := chart.Table{
		ID:      "free-text-themes-table",
		Caption: fmt.Sprintf("Free-text comments of %s in %s coded to each integration theme, by whether the comment was negative or positive", who, icsName(v.ICS)),
		Columns: []chart.Column{{Label: "Integration theme"}, {Label: "Negative comments", Numeric: true}, {Label: "Positive comments", Numeric: true}},
	}
	cell := func(c Count) chart.Cell {
		if c.Withheld {
			return chart.Cell{Text: "withheld", Withheld: true}
		}
		return chart.Cell{Text: fmt.Sprint(c.N)}
	}
	coded := false
	for _, c := range counts {
		t.Rows = append(t.Rows, []chart.Cell{{Text: c.Name}, cell(c.Negative), cell(c.Positive)})
		coded = coded || c.Negative.Withheld || c.Positive.Withheld || c.Negative.N > 0 || c.Positive.N > 0
	}
	if t.HasWithheld() {
		t.Notes = append(t.Notes, withheldNote)
	}
	sec := &section{
		ID:      "free-text-themes",
		Heading: "What people wrote: integration themes in the free text",
		Intro: "Counts of free-text comments coded to the integration themes on the same subject as the questions above: the code that stands " +
			"(a coder's decision, or else the machine's suggestion), for the ICS as a whole, live (not part of a published release). A comment may be coded to several themes.",
		Table: t,
	}
	if !coded {
		sec.Intro = "No free-text comment of " + who + " in " + icsName(v.ICS) + " has been coded to these themes yet."
		sec.Table.Rows = nil
	}
	return sec, nil
}
