package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"icesurvey/access"
	"icesurvey/web/chart"
)

// section is one chart or table on a page, with its downloads. The download handler
// rebuilds the same section from the same request, so the file holds what was shown.
type section struct {
	ID       string
	Heading  string
	Intro    string
	Chart    *chart.Chart // nil: a table only
	Table    chart.Table
	CSVHref  string
	XLSXHref string
	// Meta is the download's metadata block (wave, filters, data as of, method, marks).
	Meta [][2]string
	// Empty: there is nothing to show, so the section is its heading and intro only.
	Empty bool
	// Sub: the section sits under a heading of the page's own (the carers' page's
	// questionnaire sections), so its heading is an h3, not an h2.
	Sub bool
}

// withDownloads sets a section's download links: base is the page's download path and
// query the page's filters, so the file is built with exactly the page's filters.
func (sec *section) withDownloads(base string, query url.Values) {
	q := ""
	if enc := query.Encode(); enc != "" {
		q = "?" + enc
	}
	sec.CSVHref = base + "/" + sec.ID + ".csv" + q
	sec.XLSXHref = base + "/" + sec.ID + ".xlsx" + q
}

// selectField is one <select> of the filter form.
type selectField struct {
	Name    string
	Label   string
	Options []option
}

type option struct {
	Value    string
	Label    string
	Selected bool
}

type filterForm struct {
	Action  string
	Selects []selectField
}

// breakdowns are the group variables a theme page can break results down by.
var breakdowns = []option{
	{Value: BreakdownNone, Label: "None (the whole ICS)"},
	{Value: BreakdownAgeBand, Label: "Age band"},
	{Value: BreakdownGender, Label: "Gender"},
	{Value: BreakdownEthnicity, Label: "Ethnicity group"},
	{Value: BreakdownEFIBand, Label: "eFI (frailty) band"},
}

var respondentTypes = []option{
	{Value: RespondentPatient, Label: "Patients"},
	{Value: RespondentCarer, Label: "Carers"},
}

func labelOf(opts []option, v string) string {
	for _, o := range opts {
		if o.Value == v {
			return o.Label
		}
	}
	return v
}

func selectOf(name, label string, opts []option, selected string) selectField {
	f := selectField{Name: name, Label: label}
	for _, o := range opts {
		o.Selected = o.Value == selected
		f.Options = append(f.Options, o)
	}
	return f
}

func (s *Server) findWave(ctx context.Context, id string) (Wave, error) {
	waves, err := s.deps.Waves.Waves(ctx)
	if err != nil {
		return Wave{}, fmt.Errorf("listing waves: %w", err)
	}
	for _, w := range waves {
		if w.ID == id {
			return w, nil
		}
	}
	return Wave{}, notFoundError(fmt.Sprintf("There is no wave %q.", id))
}

func waveTitle(w Wave) string {
	if w.Name != "" {
		return w.Name
	}
	return "Wave " + w.ID
}

// icsName is how an ICS is named in a sentence: its name, or its code when it has none.
func icsName(i ICS) string {
	if i.Name == "" {
		return i.Code
	}
	return i.Name
}

func icsLabel(i ICS) string {
	if i.Name == "" {
		return i.Code
	}
	return i.Name + " (" + i.Code + ")"
}

// ---- Theme page ---------------------------------------------------------------

type themeView struct {
	Wave     Wave
	Theme    Theme
	Query    Query
	ICS      ICS
	Form     filterForm
	Refused  string // non-empty: the filters were refused, and why
	Sections []section
	// FreeTextThemes is the free-text theme counts beside the questions (nil: none);
	// never part of Sections, whose tables are the release's.
	FreeTextThemes *section
	// Breakdowns lists the ICSs whose breakdowns this user may see, for the hint.
	BreakdownICSs []string
	// ProfilesHref links the ICS's experience profiles (#17), for its analysts.
	ProfilesHref string
}

// themeView builds the theme page for the request's filters. It is the one place the
// page and its downloads get their numbers from.
func (s *Server) themeView(ctx context.Context, u access.User, waveID, themeID string, form url.Values) (themeView, error) {
	return s.themeViewWithPrefix(ctx, u, waveID, themeID, form, "", "")
}

// themeViewWithPrefix builds a theme's view; prefix keeps its sections' ids unique on a
// page that shows several themes, whose downloads are under download (default: the
// theme page's own).
func (s *Server) themeViewWithPrefix(ctx context.Context, u access.User, waveID, themeID string, form url.Values, prefix, download string) (themeView, error) {
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return themeView{}, err
	}
	themes, err := s.deps.Results.Themes(ctx, wave.ID)
	if err != nil {
		return themeView{}, fmt.Errorf("listing themes: %w", err)
	}
	i := slices.IndexFunc(themes, func(t Theme) bool { return t.ID == themeID })
	if i < 0 {
		return themeView{}, notFoundError(fmt.Sprintf("There is no theme %q in this wave.", themeID))
	}
	if len(wave.ICSs) == 0 {
		return themeView{}, notFoundError(fmt.Sprintf("Wave %s has no ICSs yet.", wave.ID))
	}
	v := themeView{Wave: wave, Theme: themes[i]}
	var codes []string
	for _, ics := range wave.ICSs {
		codes = append(codes, ics.Code)
	}
	v.BreakdownICSs = access.BreakdownICSs(u, codes)

	// Filters: unknown values are refused as not found, never guessed at.
	q := Query{Wave: wave.ID, Theme: themeID, ICS: form.Get("ics"), RespondentType: form.Get("respondent"), Breakdown: form.Get("breakdown"), Release: form.Get("release")}
	releaseOpts, err := s.releaseOptions(ctx, wave.ID, q.Release)
	if err != nil {
		return themeView{}, err
	}
	if q.ICS == "" {
		q.ICS = codes[0]
		if len(v.BreakdownICSs) > 0 {
			q.ICS = v.BreakdownICSs[0]
		}
	}
	j := slices.IndexFunc(wave.ICSs, func(i ICS) bool { return i.Code == q.ICS })
	if j < 0 {
		return themeView{}, notFoundError(fmt.Sprintf("There is no ICS %q in this wave.", q.ICS))
	}
	v.ICS = wave.ICSs[j]
	if s.deps.Profiles != nil && access.MaySeeBreakdowns(u, v.ICS.Code) {
		v.ProfilesHref = "/waves/" + url.PathEscape(wave.ID) + "/profiles?" + url.Values{"ics": {v.ICS.Code}}.Encode()
	}
	typeOpts := respondentTypes
	if ts := v.Theme.RespondentTypes; len(ts) > 0 {
		typeOpts = nil
		for _, o := range respondentTypes {
			if slices.Contains(ts, o.Value) {
				typeOpts = append(typeOpts, o)
			}
		}
	}
	if q.RespondentType == "" && len(typeOpts) > 0 {
		q.RespondentType = typeOpts[0].Value
	}
	if !slices.ContainsFunc(respondentTypes, func(o option) bool { return o.Value == q.RespondentType }) {
		return themeView{}, notFoundError(fmt.Sprintf("There is no respondent type %q.", q.RespondentType))
	}
	if !slices.ContainsFunc(typeOpts, func(o option) bool { return o.Value == q.RespondentType }) {
		return themeView{}, notFoundError(fmt.Sprintf("%s has no questions for %s.", v.Theme.Name, strings.ToLower(labelOf(respondentTypes, q.RespondentType))))
	}
	if !slices.ContainsFunc(breakdowns, func(o option) bool { return o.Value == q.Breakdown }) {
		return themeView{}, notFoundError(fmt.Sprintf("There is no breakdown %q.", q.Breakdown))
	}
	if q.Breakdown != BreakdownNone && !access.MaySeeBreakdowns(u, q.ICS) {
		return themeView{}, forbiddenError(fmt.Sprintf("Breakdowns by age band, gender, ethnicity group and eFI band of %s are shown only to its analysts. You can see the results of every ICS as a whole, and the breakdowns of: %s.",
			icsLabel(v.ICS), listOrNone(v.BreakdownICSs)))
	}
	v.Query = q

	var icsOpts []option
	for _, i := range wave.ICSs {
		icsOpts = append(icsOpts, option{Value: i.Code, Label: icsLabel(i)})
	}
	bOpts := breakdowns
	if !access.MaySeeBreakdowns(u, q.ICS) {
		bOpts = breakdowns[:1]
	}
	v.Form = filterForm{
		Action: "/waves/" + url.PathEscape(wave.ID) + "/themes/" + url.PathEscape(themeID),
		Selects: []selectField{
			selectOf("ics", "ICS", icsOpts, q.ICS),
			selectOf("respondent", "Respondents", typeOpts, q.RespondentType),
			selectOf("breakdown", "Break down by", bOpts, q.Breakdown),
		},
	}
	if len(releaseOpts) > 1 {
		v.Form.Selects = append(v.Form.Selects, selectOf("release", "Figures", releaseOpts, q.Release))
	}

	if prefix == "" && q.Breakdown == BreakdownNone {
		if v.FreeTextThemes, err = s.freeTextThemesSection(ctx, v); err != nil {
			return themeView{}, err
		}
	}

	rel, rels, err := s.release(ctx, wave.ID, q.Release)
	if err != nil {
		return themeView{}, err
	}
	set, err := s.deps.Results.Measures(ctx, q)
	if errors.Is(err, ErrTooFewResponses) {
		v.Refused = refusal(v.ICS, q, rel, rels, err)
		return v, nil
	}
	if err != nil {
		return themeView{}, fmt.Errorf("reading measures for %s: %w", themeID, err)
	}
	status, err := s.deps.Freshness.DataStatus(ctx)
	if err != nil {
		return themeView{}, fmt.Errorf("reading the data status: %w", err)
	}
	comparator := "England excluding " + icsName(v.ICS)
	release := set.ReleaseID
	if q.Release == "" {
		release = "live figures (not a published release): " + set.ReleaseID
	}
	meta := [][2]string{
		{"Wave", waveTitle(wave) + " (" + wave.ID + ")"},
		{"Theme", v.Theme.Name},
		{"ICS", icsLabel(v.ICS)},
		{"Respondents", labelOf(respondentTypes, q.RespondentType)},
		{"Breakdown", labelOf(breakdowns, q.Breakdown)},
		{"Release", release},
		{"Data as of", status.AsOf.In(london).Format("2006-01-02 15:04 MST")},
		{"Method", set.Method},
		{"Weighting", map[bool]string{true: "weighted to the sample frame", false: "unweighted (carers have no sample frame)"}[set.Weighted]},
		{"Suppression marks", fmt.Sprintf("'withheld': not shown, because the base is under %d responses, or a count is a small one (primary suppression), or it would let another withheld figure be worked out (secondary suppression), as each row says; '†': fewer than %d responses, interpret with caution", cmp.Or(set.MinBase, 10), cmp.Or(set.CautionBase, 30))},
		{"Comparison", "▲ higher / ▼ lower / ● similar: compared with " + comparator + " at the " + confidencePercent(set.Confidence) + "% level; the marker is England's figure (" + englandCovers(rel) + ")"},
	}
	if download == "" {
		download = v.Form.Action + "/download"
	}
	filters := url.Values{"ics": {q.ICS}, "respondent": {q.RespondentType}, "breakdown": {q.Breakdown}}
	if q.Release != "" {
		filters.Set("release", q.Release)
	}

	// Group the measures: without a breakdown one chart of every question; with one, a
	// chart per question of its groups.
	type group struct {
		key, title string
		bars       []chart.Bar
	}
	var groups []*group
	find := func(key, title string) *group {
		for _, g := range groups {
			if g.key == key {
				return g
			}
		}
		g := &group{key: key, title: title}
		groups = append(groups, g)
		return g
	}
	for _, m := range set.Measures {
		var g *group
		label := m.QuestionText
		if q.Breakdown == BreakdownNone {
			g = find("all", v.Theme.Name)
		} else {
			g = find(m.QuestionID, m.QuestionText)
			label = m.Group
		}
		g.bars = append(g.bars, measureBar(label, m, set.MinBase, set.MinCount))
	}
	who := strings.ToLower(labelOf(respondentTypes, q.RespondentType))
	for n, g := range groups {
		id := prefix + "results"
		heading := fmt.Sprintf("%s: %% positive among %s in %s", g.title, who, icsName(v.ICS))
		labelHeader := "Question"
		if q.Breakdown != BreakdownNone {
			id = fmt.Sprintf("%sq%d", prefix, n+1)
			heading = fmt.Sprintf("%s: by %s", g.title, strings.ToLower(labelOf(breakdowns, q.Breakdown)))
			labelHeader = labelOf(breakdowns, q.Breakdown)
		}
		c := chart.IntervalBars{
			ID: id, Title: heading,
			Description:     fmt.Sprintf("Horizontal bars of the percentage of positive answers with %s%% confidence intervals, for %s in %s, with a marker at England's figure; each is compared with %s.", confidencePercent(set.Confidence), who, icsLabel(v.ICS), comparator),
			ComparatorLabel: "England", ComparedWith: comparator, LabelHeader: labelHeader, Bars: g.bars,
			CautionBase: set.CautionBase,
		}.Render()
		sec := section{ID: id, Heading: heading, Chart: &c, Table: c.Table, Meta: meta}
		sec.withDownloads(download, filters)
		v.Sections = append(v.Sections, sec)
	}
	return v, nil
}

// measureBar maps a published measure onto a bar. A withheld measure passes no number
// on but the base the release publishes with it: the bar gets its label, the withheld
// flag and why, from the measure's status (minBase and minCount the thresholds, 0 for
// the defaults).
func measureBar(label string, m Measure, minBase, minCount int) chart.Bar {
	if m.Withheld() {
		b := chart.Bar{Label: label, Withheld: true, Why: withholding(m.Status, minBase, minCount)}
		if m.BaseShown && m.Status != "B" {
			b.Base, b.BaseShown = m.Base, true
		}
		return b
	}
	b := chart.Bar{
		Label: label, Value: m.PctPositive, Lower: m.CILower, Upper: m.CIUpper, Base: m.Base,
		Caution: m.Status == "L", Comparator: m.England, HasComparator: m.HasEngland,
	}
	switch m.VsEngland {
	case "higher":
		b.Compare = chart.Higher
	case "lower":
		b.Compare = chart.Lower
	case "similar":
		b.Compare = chart.Similar
	}
	return b
}

// withholding says why a figure with a withheld status mark is withheld.
func withholding(status string, minBase, minCount int) chart.Withholding {
	if minBase == 0 {
		minBase = 10
	}
	if minCount == 0 {
		minCount = 5
	}
	switch status {
	case "S":
		return chart.SecondarySuppression()
	case "P":
		return chart.SmallCount(minCount)
	}
	return chart.BaseTooSmall(minBase)
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}

// ---- Wave overview ------------------------------------------------------------

type overviewView struct {
	Wave     Wave
	Stage    string // the wave's fieldwork stage (WaveStage)
	Sections []section
	Themes   []Theme
	Linkage  bool // the linked activity page exists
}

// withheldNote explains the withheld mark in a table of counts.
const withheldNote = "Withheld: a small count (1 to 4), or a count that would reveal one, is not shown (the release's small-number rule)."

func (s *Server) overviewView(ctx context.Context, waveID string) (overviewView, error) {
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return overviewView{}, err
	}
	v := overviewView{Wave: wave, Linkage: s.deps.Linkage != nil}
	if v.Themes, err = s.deps.Results.Themes(ctx, wave.ID); err != nil {
		return overviewView{}, fmt.Errorf("listing themes: %w", err)
	}
	progress, err := s.deps.Fieldwork.Progress(ctx, wave.ID)
	if err != nil {
		return overviewView{}, fmt.Errorf("reading fieldwork progress: %w", err)
	}
	status, err := s.deps.Freshness.DataStatus(ctx)
	if err != nil {
		return overviewView{}, fmt.Errorf("reading the data status: %w", err)
	}
	meta := [][2]string{
		{"Wave", waveTitle(wave) + " (" + wave.ID + ")"},
		{"Data as of", status.AsOf.In(london).Format("2006-01-02 15:04 MST")},
		{"Method", "Adjusted response rate: completed questionnaires (outcome 1) over the declared sample less those not reached (2 undelivered, 3 deceased, 5 ineligible); unweighted. Outcomes are shown in the release's three groups, so a small count of deaths is never shown."},
		{"Suppression marks", "'withheld': a small count (1 to 4), or one that would reveal it, as the release's disclosure control withholds it"},
	}
	download := "/waves/" + url.PathEscape(wave.ID) + "/download"

	prog := chart.Table{ID: "progress-table", Caption: "Fieldwork progress by ICS", Columns: []chart.Column{
		{Label: "ICS"}, {Label: "Stage"}, {Label: "Fieldwork day", Numeric: true}, {Label: "Sampled", Numeric: true},
		{Label: "Completed questionnaires", Numeric: true}, {Label: "Adjusted response rate", Numeric: true},
	}}
	v.Stage = WaveStage(progress)
	groups, notResponded := OutcomeGroups, "not responded yet"
	if v.Stage != StageFieldwork {
		groups, notResponded = ClosedOutcomeGroups, "not responded"
	}
	stacked := chart.Stacked{ID: "outcomes", Title: "Outcome of each person in the sample, by ICS", LabelHeader: "ICS", Categories: groups[:],
		Description: "For each ICS, 100% bars of the share of the sample in each outcome group: completed, not reached (undelivered, deceased or ineligible), and " + notResponded + ", opted out or too ill."}
	for _, p := range progress {
		count := func(n int, withheld bool) chart.Cell {
			if withheld {
				return chart.Cell{Text: "withheld", Withheld: true}
			}
			return chart.Cell{Text: fmt.Sprint(n)}
		}
		rate := chart.Cell{Text: "withheld", Withheld: true}
		if !p.RateWithheld {
			rate = chart.Cell{Text: chart.Percent(p.Rate)}
		}
		prog.Rows = append(prog.Rows, []chart.Cell{{Text: icsLabel(p.ICS)}, {Text: p.Stage}, {Text: fmt.Sprint(p.FieldworkDay)},
			count(p.Sampled, p.SampledWithheld), count(p.Groups[0], p.GroupWithheld[0]), rate})
		row := chart.StackedRow{Label: p.ICS.Code, CellWithheld: p.GroupWithheld[:]}
		if p.SampledWithheld || p.Sampled == 0 {
			row.Withheld = true
		} else {
			for i, n := range p.Groups {
				row.Counts = append(row.Counts, n)
				share := 0.0
				if !p.GroupWithheld[i] {
					share = float64(n) / float64(p.Sampled)
				}
				row.Shares = append(row.Shares, share)
			}
		}
		stacked.Rows = append(stacked.Rows, row)
	}
	if prog.HasWithheld() {
		prog.Notes = append(prog.Notes, withheldNote)
	}
	sec := section{ID: "progress", Heading: "Fieldwork progress", Table: prog, Meta: meta}
	sec.withDownloads(download, nil)
	v.Sections = append(v.Sections, sec)

	var trends []chart.Trend
	for _, p := range progress {
		d, err := s.deps.Fieldwork.ResponseByDay(ctx, wave.ID, p.ICS.Code)
		if err != nil {
			return overviewView{}, fmt.Errorf("reading responses by day for %s: %w", p.ICS.Code, err)
		}
		t := chart.Trend{
			ID: "rr-" + p.ICS.Code, Title: "Response rate by fieldwork day, " + icsLabel(p.ICS), XLabel: "Fieldwork day", Percent: true,
			Description: "A line of the cumulative response rate on each fieldwork day, with the mailing days marked by dashed lines labelled A, B, C.",
			Series:      []chart.Series{{Name: p.ICS.Code}},
			// A day is withheld for its small cumulative count, not a small base.
			Why: chart.SmallCount(cmp.Or(d.MinCount, 5)),
		}
		for _, dr := range d.Days {
			if dr.Withheld {
				t.Series[0].Points = append(t.Series[0].Points, chart.Point{X: dr.Day, Withheld: true})
				continue
			}
			t.Series[0].Points = append(t.Series[0].Points, chart.Point{X: dr.Day, Y: dr.Rate})
		}
		for _, m := range d.Mailings {
			t.Events = append(t.Events, chart.Event{X: m.Day, Label: m.Label})
		}
		trends = append(trends, t)
	}
	multiples := chart.Multiples{ID: "rr", Title: "Response rate by fieldwork day", Trends: trends}.Render()
	for i, panel := range multiples.Panels {
		p := panel
		sec := section{ID: p.ID, Heading: trends[i].Title, Chart: &p, Table: p.Table, Meta: meta}
		sec.withDownloads(download, nil)
		v.Sections = append(v.Sections, sec)
	}

	oc := stacked.Render()
	osec := section{ID: oc.ID, Heading: "Outcomes by ICS", Chart: &oc, Table: oc.Table, Meta: meta}
	osec.withDownloads(download, nil)
	v.Sections = append(v.Sections, osec)
	return v, nil
}

// releaseOptions lists the figures a page can show: the live figures, then each
// release of the wave. A release asked for that does not exist is not found.
func (s *Server) releaseOptions(ctx context.Context, wave, asked string) ([]option, error) {
	opts := []option{{Value: "", Label: "Live (latest data)"}}
	if s.deps.Releases != nil {
		rels, err := s.deps.Releases.Releases(ctx, wave)
		if err != nil {
			return nil, fmt.Errorf("listing releases: %w", err)
		}
		for _, r := range rels {
			opts = append(opts, option{Value: r.ID, Label: "Release " + r.ID + " (" + r.Status + ")"})
		}
	}
	if !slices.ContainsFunc(opts, func(o option) bool { return o.Value == asked }) {
		return nil, notFoundError(fmt.Sprintf("There is no release %q of this wave.", asked))
	}
	return opts, nil
}

// release is the wave's release id ("" for the live figures: none) as the releases
// list has it, with the ICSs it publishes and leaves out, and the wave's releases.
func (s *Server) release(ctx context.Context, wave, id string) (*Release, []Release, error) {
	if id == "" || s.deps.Releases == nil {
		return nil, nil, nil
	}
	rels, err := s.deps.Releases.Releases(ctx, wave)
	if err != nil {
		return nil, nil, fmt.Errorf("listing releases: %w", err)
	}
	for i := range rels {
		if rels[i].ID == id {
			return &rels[i], rels, nil
		}
	}
	return nil, rels, nil
}

// hasICS reports whether the release has figures for the ICS (a release that lists
// neither its published nor its unpublished ICSs is taken to have them).
func (r Release) hasICS(code string) bool {
	return !slices.Contains(r.ICSsNotPublished, code) && (len(r.ICSsPublished) == 0 || slices.Contains(r.ICSsPublished, code))
}

// englandCovers says which ICSs England's figure is of: a release's England is the
// aggregate of the ICSs it publishes, not of those it leaves out.
func englandCovers(rel *Release) string {
	if rel == nil || len(rel.ICSsNotPublished) == 0 || len(rel.ICSsPublished) == 0 {
		return "all ICSs"
	}
	return "the ICSs of release " + rel.ID + ", " + strings.Join(rel.ICSsPublished, ", ") + "; not " + strings.Join(rel.ICSsNotPublished, ", ") + ", which it leaves out"
}

// refusal says why nothing is shown for the filters: the chosen release has no figures
// for the ICS (and which release has), or the figures hold none for the filters, or
// every figure is withheld for a base under the minimum.
func refusal(ics ICS, q Query, rel *Release, rels []Release, cause error) string {
	filters := fmt.Sprintf("%s, %s, %s", icsLabel(ics), strings.ToLower(labelOf(respondentTypes, q.RespondentType)), strings.ToLower(labelOf(breakdowns, q.Breakdown)))
	if rel != nil && !rel.hasICS(ics.Code) {
		msg := fmt.Sprintf("%s is not in release %s: the release has no figures for it", icsLabel(ics), rel.ID)
		if len(rel.ICSsNotPublished) > 0 {
			msg += " (ICSs not published: " + strings.Join(rel.ICSsNotPublished, ", ") + ")"
		}
		var has []string
		for _, r := range rels {
			if r.ID != rel.ID && r.hasICS(ics.Code) {
				has = append(has, r.ID+" ("+r.Status+")")
			}
		}
		if len(has) > 0 {
			return msg + ". Release " + strings.Join(has, ", ") + " has figures for " + ics.Code + ": choose it under Figures, or the live figures."
		}
		return msg + ", and no other release has: choose the live figures under Figures."
	}
	var tf *TooFewResponsesError
	errors.As(cause, &tf)
	if tf != nil && tf.NoFigures {
		return filters + ": the figures have no results for this combination of filters (no responses counted for it). Choose another ICS or respondent type."
	}
	minBase := 10
	if tf != nil && tf.MinBase > 0 {
		minBase = tf.MinBase
	}
	return fmt.Sprintf("%s: fewer than %d responses, so no results are shown for this combination of filters. Choose a broader breakdown, or another ICS or respondent type.", filters, minBase)
}

// stageTitle is a wave's stage in a heading.
func stageTitle(stage string) string {
	if stage == StageEndedEarly {
		return "fieldwork ended early"
	}
	return stage
}

// confidencePercent is an interval's confidence level as a percentage ("95" for 0.95,
// the default when 0), to 12 significant digits so 0.57 is "57".
func confidencePercent(confidence float64) string {
	return strconv.FormatFloat(100*cmp.Or(confidence, 0.95), 'g', 12, 64)
}
