package dashdata

import (
	"context"
	"fmt"
	"slices"

	"icesurvey/disclosure"
	"icesurvey/themes"
	"icesurvey/web"
)

var _ web.FreeTextThemes = (*Source)(nil)

// FreeTextThemeCounts returns, for a theme page, the free-text comments of one ICS and
// respondent type coded to the integration themes themes.yaml maps to the page (its
// free_text list), by polarity. The counts are the snapshot's response_themes (the
// codes that stand: final), checked as one table of every theme with the release's
// disclosure rules before any is picked out, so a withheld count (and one that would
// reveal it) comes back without a number. They are read once per snapshot, ICS and
// respondent type.
func (s *Source) FreeTextThemeCounts(ctx context.Context, wave, ics, respondentType, theme string) ([]web.FreeTextThemeCount, error) {
	t, ok := s.cat.theme(theme)
	if !ok {
		return nil, fmt.Errorf("dashdata: theme %q: %w", theme, web.ErrNotFound)
	}
	if len(t.FreeText) == 0 {
		return nil, nil
	}
	sn, err := s.snap()
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(sn.waves, func(w web.Wave) bool {
		return w.ID == wave && slices.ContainsFunc(w.ICSs, func(i web.ICS) bool { return i.Code == ics })
	}) {
		return nil, fmt.Errorf("dashdata: wave %q, ICS %q: %w", wave, ics, web.ErrNotFound)
	}
	all, err := s.themeCounts(ctx, sn, wave, ics, respondentType)
	if err != nil {
		return nil, err
	}
	var out []web.FreeTextThemeCount
	for _, c := range all {
		if slices.Contains(t.FreeText, c.Theme) {
			out = append(out, c)
		}
	}
	return out, nil
}

// themeCounts reads and checks an ICS's counts of every theme, cached in the snapshot.
// It is localindex.ThemeCounts's query and check (the profile report's), written here
// when localindex still linked the PDF printer, which the dashboard may not; the
// printer is now package printpdf, so this could call localindex.ThemeCounts
// (TestFreeTextThemeCountsAgreeWithLocalIndex keeps the two equal): the comments (one
// per response and question) whose standing codes include each theme, by polarity, as
// one table of every codebook theme through disclosure.Check with the release's
// parameters, so a small count and any count that would reveal it are withheld.
func (s *Source) themeCounts(ctx context.Context, sn *snapshot, wave, ics, respondentType string) ([]web.FreeTextThemeCount, error) {
	key := wave + "\x00" + ics + "\x00" + respondentType
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if sn.themeCountsCache == nil {
		sn.themeCountsCache = map[string][]web.FreeTextThemeCount{}
	}
	if c, ok := sn.themeCountsCache[key]; ok {
		return c, nil
	}
	rows, err := sn.db.QueryContext(ctx, `SELECT theme, polarity, count(DISTINCT response_id || '/' || question_id)
FROM response_themes WHERE final AND wave = ? AND ics = ? AND respondent_type = ? GROUP BY ALL`, wave, ics, respondentType)
	if err != nil {
		return nil, fmt.Errorf("dashdata: reading the free-text theme counts of %s %s: %w", wave, ics, err)
	}
	defer rows.Close()
	cb := themes.Default()
	ids := cb.ThemeIDs()
	t := disclosure.Table{Name: fmt.Sprintf("free-text themes of %s %s %s comments", wave, ics, respondentType),
		Groups: ids, Categories: []string{"negative", "positive"}, Counts: make([][]int64, len(ids))}
	for i := range t.Counts {
		t.Counts[i] = make([]int64, 2)
	}
	for rows.Next() {
		var theme, pol string
		var n int64
		if err := rows.Scan(&theme, &pol, &n); err != nil {
			return nil, fmt.Errorf("dashdata: reading the free-text theme counts of %s %s: %w", wave, ics, err)
		}
		i := slices.Index(ids, theme)
		if i < 0 {
			return nil, fmt.Errorf("dashdata: response_themes of %s %s: theme %q is not in codebook %s", wave, ics, theme, themes.DefaultVersion)
		}
		j := 0
		if pol == string(themes.Positive) {
			j = 1
		}
		t.Counts[i][j] += n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("dashdata: reading the free-text theme counts of %s %s: %w", wave, ics, err)
	}
	total := int64(0)
	for _, c := range t.Counts {
		total += c[0] + c[1]
	}
	out := make([]web.FreeTextThemeCount, 0, len(ids))
	if total == 0 {
		// Nothing coded yet: zeros, which reveal nobody, so the page can say so (the
		// check would withhold every row for its base of 0).
		for _, id := range ids {
			th, _ := cb.Theme(id)
			out = append(out, web.FreeTextThemeCount{Theme: id, Name: th.Name})
		}
		sn.themeCountsCache[key] = out
		return out, nil
	}
	checked, err := disclosure.Check(t, s.params.Disclosure)
	if err != nil {
		return nil, fmt.Errorf("dashdata: disclosure check of %s: %w", t.Name, err)
	}
	figure := func(i, j int) web.Count {
		if n, ok := checked.Count(i, j); ok && !checked.RowStatus(i).Withheld() {
			return web.Count{N: n}
		}
		return web.Count{Withheld: true}
	}
	for _, id := range ids {
		th, _ := cb.Theme(id)
		i, ok := checked.Row(id)
		if !ok {
			return nil, fmt.Errorf("dashdata: disclosure check of %s lost theme %s", t.Name, id)
		}
		out = append(out, web.FreeTextThemeCount{Theme: id, Name: th.Name, Negative: figure(i, 0), Positive: figure(i, 1)})
	}
	sn.themeCountsCache[key] = out
	return out, nil
}
