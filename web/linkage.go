package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"icesurvey/access"
	"icesurvey/web/chart"
)

// The linked health and care activity page (issue #15): how the consenting
// respondents' experience varies with their treatment burden and conditions, and how
// many of them each dataset found, as the wave's linkage release disclosed it. Every
// number is a cell of linkage_disclosed as the release's disclosure control left it:
// the page adds no figure of its own, and shows a withheld cell as withheld.

// burdenGroupings are the treatment-burden groupings of experience_by_burden, in the
// order offered.
var burdenGroupings = []option{
	{Value: "providers_12m", Label: "Providers seen in the 12 months before responding"},
	{Value: "services_12m", Label: "Services used in the 12 months before responding"},
	{Value: "contact_days_12m", Label: "Days with a contact in the 12 months before responding"},
	{Value: "emergency_admissions_12m", Label: "Emergency admissions in the 12 months before responding"},
	{Value: "efi_band", Label: "Frailty (eFI band)"},
}

// matchGroupings are the groupings of match_rates, in the order offered.
var matchGroupings = []option{
	{Value: "all", Label: "All consenting respondents"},
	{Value: "ics", Label: "ICS"},
	{Value: "age_band", Label: "Age band"},
	{Value: "gender", Label: "Gender"},
	{Value: "ethnicity_group", Label: "Ethnicity group"},
	{Value: "efi_band", Label: "Frailty (eFI band)"},
}

// consentGroupings are the frame variables the consent rates are by: the match rates'
// groupings but the whole cohort.
var consentGroupings = matchGroupings[1:]

// cautionMark follows a figure published on a small base (status L), as the profiles
// page marks one.
const cautionMark = " (small base: treat with caution)"

// defaultLinkedQuestion is the question the page opens on: the brochure's example,
// "I don't have to repeat my story", when the release has it.
const defaultLinkedQuestion = "P_REPEAT_STORY"

type linkageView struct {
	Wave      Wave
	ReleaseID string
	Form      filterForm
	Sections  []section
}

// linkageView builds the page for the form's question (question), burden grouping
// (burden) and match-rate grouping (found_by).
func (s *Server) linkageView(ctx context.Context, waveID string, form url.Values) (linkageView, error) {
	if s.deps.Linkage == nil {
		return linkageView{}, notFoundError("This dashboard does not show linked activity.")
	}
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return linkageView{}, err
	}
	rel, err := s.deps.Linkage.LinkedAggregates(ctx, wave.ID)
	if err != nil {
		return linkageView{}, fmt.Errorf("reading the linked aggregates: %w", err)
	}
	v := linkageView{Wave: wave, ReleaseID: rel.ReleaseID}
	if rel.ReleaseID == "" {
		return v, nil
	}
	status, err := s.deps.Freshness.DataStatus(ctx)
	if err != nil {
		return linkageView{}, err
	}

	// The filters: only what the release has.
	var questions []option
	seen := map[string]bool{}
	for _, c := range rel.Cells {
		if c.Aggregate == AggregateExperienceByBurden && !seen[c.Subject] {
			seen[c.Subject] = true
			questions = append(questions, option{Value: c.Subject, Label: orDefault(c.SubjectText, c.Subject)})
		}
	}
	question := form.Get("question")
	if question == "" {
		question = defaultLinkedQuestion
		if !seen[question] && len(questions) > 0 {
			question = questions[0].Value
		}
	}
	if len(questions) > 0 && !seen[question] {
		return linkageView{}, notFoundError(fmt.Sprintf("The linkage release has no question %q.", question))
	}
	burden := orDefault(form.Get("burden"), burdenGroupings[0].Value)
	if !slices.ContainsFunc(burdenGroupings, func(o option) bool { return o.Value == burden }) {
		return linkageView{}, notFoundError(fmt.Sprintf("There is no grouping %q.", burden))
	}
	foundBy := orDefault(form.Get("found_by"), "ics")
	if !slices.ContainsFunc(matchGroupings, func(o option) bool { return o.Value == foundBy }) {
		return linkageView{}, notFoundError(fmt.Sprintf("There is no grouping %q.", foundBy))
	}
	consentBy := orDefault(form.Get("consent_by"), "ics")
	if !slices.ContainsFunc(consentGroupings, func(o option) bool { return o.Value == consentBy }) {
		return linkageView{}, notFoundError(fmt.Sprintf("There is no grouping %q.", consentBy))
	}
	base := "/waves/" + url.PathEscape(wave.ID) + "/linkage"
	v.Form = filterForm{Action: base}
	if len(questions) > 0 {
		v.Form.Selects = append(v.Form.Selects, selectOf("question", "Question", questions, question), selectOf("burden", "Experience by", burdenGroupings, burden))
	}
	v.Form.Selects = append(v.Form.Selects, selectOf("found_by", "Found in each dataset, by", matchGroupings, foundBy),
		selectOf("consent_by", "Consent to linkage, by", consentGroupings, consentBy))
	query := url.Values{"question": {question}, "burden": {burden}, "found_by": {foundBy}, "consent_by": {consentBy}}
	meta := func(filters string) [][2]string {
		return [][2]string{
			{"Wave", waveTitle(wave) + " (" + wave.ID + ")"},
			{"Linkage release", rel.ReleaseID},
			{"Filters", filters},
			{"Data as of", status.AsOf.In(london).Format("2006-01-02 15:04 MST")},
			{"Method", rel.Method},
			{"Suppression marks", "withheld: a base or a count under the minimum, or a count that would reveal one (the publication's disclosure rules, see Method);" + cautionMark + ": published on a small base"},
		}
	}
	questionText := question
	if i := slices.IndexFunc(questions, func(o option) bool { return o.Value == question }); i >= 0 {
		questionText = questions[i].Label
	}
	burdenLabel := labelOf(burdenGroupings, burden)

	experience := func(id, aggregate, grouping, heading, groupHeader string) section {
		cells := filterCells(rel.Cells, aggregate, question, grouping)
		st := chart.Stacked{ID: id, Title: heading, LabelHeader: groupHeader, Categories: []string{"Positive", "Not positive"},
			WithheldNote: linkedWithheldNote(rel.MinBase),
			Description: "For each group of consenting respondents, a 100% bar of the share whose answer to \"" + questionText +
				"\" was positive and the share whose answer was not."}
		for _, g := range groupValues(cells) {
			label := g.label
			if slices.ContainsFunc(g.cells, func(c LinkedCell) bool { return c.Status == "L" }) {
				label += cautionMark
			}
			st.Rows = append(st.Rows, stackedRow(label, g.cells, []string{"positive", "not_positive"}, rel.MinBase))
		}
		rendered := st.Render()
		sec := section{ID: id, Heading: heading, Chart: &rendered, Table: rendered.Table}
		if len(st.Rows) == 0 {
			sec.Chart, sec.Empty = nil, true
			sec.Intro = "The release has no figures for this question and grouping."
		}
		sec.Meta = meta("question " + question + "; " + groupHeader)
		sec.withDownloads(base+"/download", query)
		return sec
	}
	if len(questions) > 0 {
		v.Sections = append(v.Sections,
			experience("burden", AggregateExperienceByBurden, burden,
				"“"+questionText+"”: positive answers by "+inSentence(burdenLabel), burdenLabel),
			experience("conditions", AggregateExperienceByCondition, "condition",
				"“"+questionText+"”: positive answers by condition", "Condition"))
	}

	// Found in each dataset: one table, a row per dataset and group.
	caption := "Consenting respondents found in each dataset, by " + inSentence(labelOf(matchGroupings, foundBy))
	if foundBy == "all" {
		caption = "Consenting respondents found in each dataset"
	}
	t := chart.Table{ID: "found-table", Caption: caption,
		Columns: []chart.Column{{Label: "Dataset"}, {Label: labelOf(matchGroupings, foundBy)}, {Label: "Found", Numeric: true},
			{Label: "Consenting respondents", Numeric: true}, {Label: "% found", Numeric: true}}}
	withheld := false
	var datasets []string
	for _, c := range rel.Cells {
		if c.Aggregate == AggregateMatchRates && !slices.Contains(datasets, c.Subject) {
			datasets = append(datasets, c.Subject)
		}
	}
	for _, d := range datasets {
		for _, g := range groupValues(filterCells(rel.Cells, AggregateMatchRates, d, foundBy)) {
			i := slices.IndexFunc(g.cells, func(c LinkedCell) bool { return c.Category == "linked" })
			if i < 0 {
				continue
			}
			c := g.cells[i]
			row := []chart.Cell{{Text: orDefault(c.SubjectText, c.Subject)}, {Text: groupLabel(wave, foundBy, g)}}
			if c.Withheld() {
				withheld = true
				w := chart.Cell{Text: "withheld", Withheld: true}
				row = append(row, w, w, w)
			} else {
				row = append(row, chart.Cell{Text: strconv.FormatInt(c.Count, 10)}, chart.Cell{Text: strconv.FormatInt(c.Base, 10)}, chart.Cell{Text: shareText(c)})
			}
			t.Rows = append(t.Rows, row)
		}
	}
	found := section{ID: "found", Heading: "Consenting respondents found in each dataset", Table: t,
		Intro: "A consenting respondent is found in a dataset when the provider's extract holds at least one valid row about them."}
	if withheld {
		found.Intro += " " + withheldNote
	}
	found.Meta = meta("found in each dataset by " + foundBy)
	found.withDownloads(base+"/download", query)
	v.Sections = append(v.Sections, found)

	// Consent: who consented, and whether those who did answered differently. Linked
	// figures speak for the consenters only; these say how far they are like the rest.
	ct := chart.Table{ID: "consent-table", Caption: "Respondents who consented to linkage, by " + inSentence(labelOf(consentGroupings, consentBy)),
		Columns: []chart.Column{{Label: labelOf(consentGroupings, consentBy)}, {Label: "Consented", Numeric: true},
			{Label: "Did not consent", Numeric: true}, {Label: "% consented", Numeric: true}}}
	consentWithheld := false
	for _, g := range groupValues(filterCells(rel.Cells, AggregateConsentRates, consentBy, consentBy)) {
		row := []chart.Cell{{Text: groupLabel(wave, consentBy, g)}}
		var share string
		for _, cat := range []string{"consented", "not_consented"} {
			i := slices.IndexFunc(g.cells, func(c LinkedCell) bool { return c.Category == cat })
			if i < 0 || g.cells[i].Withheld() {
				consentWithheld = true
				row = append(row, chart.Cell{Text: "withheld", Withheld: true})
				continue
			}
			c := g.cells[i]
			row = append(row, chart.Cell{Text: strconv.FormatInt(c.Count, 10)})
			if cat == "consented" {
				share = shareText(c)
			}
		}
		if share == "" {
			row = append(row, chart.Cell{Text: "withheld", Withheld: true})
		} else {
			row = append(row, chart.Cell{Text: share})
		}
		ct.Rows = append(ct.Rows, row)
	}
	consent := section{ID: "consent", Heading: "Who consented to linkage", Table: ct,
		Intro: "Only respondents who consented are linked. Where consent differs between groups, the linked figures above lean towards the groups that consented more."}
	if consentWithheld {
		consent.Intro += " " + withheldNote
	}
	consent.Meta = meta("consent by " + consentBy)
	consent.withDownloads(base+"/download", query)
	v.Sections = append(v.Sections, consent)
	if len(questions) > 0 {
		v.Sections = append(v.Sections, experience("consent-experience", AggregateExperienceByConsent, "consent",
			"“"+questionText+"”: positive answers of those who consented and those who did not", "Respondents"))
	}
	return v, nil
}

// groupValue is one group's cells, in the order the release gives them.
type groupValue struct {
	label string
	cells []LinkedCell
}

// groupLabel names a group in a table: an ICS as the pages name it ("Norfolk and
// Waveney (QMM)"), any other group by its label.
func groupLabel(wave Wave, grouping string, g groupValue) string {
	if grouping == "ics" {
		if j := slices.IndexFunc(wave.ICSs, func(x ICS) bool { return x.Code == g.cells[0].GroupValue }); j >= 0 {
			return icsLabel(wave.ICSs[j])
		}
	}
	return g.label
}

// shareText is a published cell's share as a percentage, marked when its base is small.
func shareText(c LinkedCell) string {
	if c.Status == "L" {
		return chart.Percent(c.Share) + cautionMark
	}
	return chart.Percent(c.Share)
}

// filterCells are the cells of one aggregate, subject and grouping.
func filterCells(cells []LinkedCell, aggregate, subject, grouping string) []LinkedCell {
	var out []LinkedCell
	for _, c := range cells {
		if c.Aggregate == aggregate && c.Subject == subject && c.Grouping == grouping {
			out = append(out, c)
		}
	}
	return out
}

// groupValues groups cells by group value, ordered as people count ("1", "2", "3-4",
// "5+", "12-23" after "0-11"), then by label.
func groupValues(cells []LinkedCell) []groupValue {
	var out []groupValue
	for _, c := range cells {
		i := slices.IndexFunc(out, func(g groupValue) bool { return g.cells[0].GroupValue == c.GroupValue })
		if i < 0 {
			out = append(out, groupValue{label: orDefault(c.GroupLabel, c.GroupValue)})
			i = len(out) - 1
		}
		out[i].cells = append(out[i].cells, c)
	}
	slices.SortStableFunc(out, func(a, b groupValue) int {
		na, oka := leadingNumber(a.cells[0].GroupValue)
		nb, okb := leadingNumber(b.cells[0].GroupValue)
		switch {
		case oka && okb && na != nb:
			return na - nb
		case oka != okb:
			if oka {
				return -1
			}
			return 1
		}
		return strings.Compare(a.label, b.label)
	})
	return out
}

// inSentence is a label as it reads inside a sentence: its first letter in lower case,
// unless its first word is an initialism ("ICS") — "Frailty (eFI band)" gives
// "frailty (eFI band)".
func inSentence(label string) string {
	first, _, _ := strings.Cut(label, " ")
	if len(first) > 1 && strings.ToUpper(first) == first {
		return label
	}
	return strings.ToLower(label[:1]) + label[1:]
}

// leadingNumber is the whole number a group value starts with ("3-4" → 3).
func leadingNumber(s string) (int, bool) {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(s[:end])
	return n, err == nil
}

// linkedWithheldNote is a linked chart's note on what it withheld: the release's
// aggregates were checked with the publication's rules and minBase.
func linkedWithheldNote(minBase int) string {
	base := "a base under the minimum"
	if minBase > 0 {
		base = fmt.Sprintf("fewer than %d respondents in the group", minBase)
	}
	return "Withheld: " + base + ", or a small count and the cell that would reveal it, so the value is not shown."
}

// stackedRow is one group's 100% bar over categories: withheld whole when its base is,
// a cell withheld when the release withheld it. A withheld cell carries no number.
func stackedRow(label string, cells []LinkedCell, categories []string, minBase int) chart.StackedRow {
	row := chart.StackedRow{Label: label, Shares: make([]float64, len(categories)), Counts: make([]int, len(categories)),
		CellWithheld: make([]bool, len(categories))}
	for j, cat := range categories {
		i := slices.IndexFunc(cells, func(c LinkedCell) bool { return c.Category == cat })
		if i < 0 || cells[i].Withheld() {
			row.CellWithheld[j] = true
			if i >= 0 && cells[i].Status == "B" {
				row.Withheld = true
			}
			continue
		}
		row.Shares[j], row.Counts[j] = cells[i].Share, int(cells[i].Count)
	}
	if !slices.Contains(row.CellWithheld, false) {
		row.Withheld = true
	}
	if row.Withheld {
		row.Shares, row.Counts = nil, nil
		row.WithheldReason = "withheld: a small count, or one that would reveal it"
		if slices.ContainsFunc(cells, func(c LinkedCell) bool { return c.Status == "B" }) {
			row.WithheldReason = "withheld: fewer respondents in the group than the minimum base"
			if minBase > 0 {
				row.WithheldReason = fmt.Sprintf("withheld: fewer than %d respondents in the group", minBase)
			}
		}
	}
	return row
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Server) linkagePage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.linkageView(r.Context(), r.PathValue("wave"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWithStatus(w, r, "linkage", waveTitle(v.Wave)+": linked health and care activity", u, v,
		[]crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}})
}

func (s *Server) downloadLinkage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.linkageView(r.Context(), r.PathValue("wave"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.download(w, r, v.Sections, "ice-"+v.Wave.ID+"-linkage")
}
