package publication

import (
	"slices"

	"icesurvey/disclosure"
	"icesurvey/estimate"
	"icesurvey/weighting"
)

// Geography levels of a row.
const (
	GeographyICS     = "ics"
	GeographyEngland = "england"
)

// GroupAll is the group variable and level of a row for a whole ICS, or England.
const GroupAll = "all"

// Weighting statuses of rows that are not one ICS's patients, and of ICSs that are not
// published.
const (
	// StatusPooled: England's patients, pooled with each ICS's own weights (E5).
	StatusPooled = "pooled"
	// StatusUnweighted: carers, who have no frame (w = 1).
	StatusUnweighted = "unweighted"
	// StatusNoRespondents: an ICS with a frame but no completed questionnaire.
	StatusNoRespondents = "no_respondents"
	// StatusExcluded: an ICS left out by Params.Exclude.
	StatusExcluded = "excluded"
)

// Figure is a published number, or nothing when it was withheld or is not published
// for its kind of row. Only this package makes one that holds a value, from a table
// that passed disclosure control.
type Figure struct {
	v  float64
	ok bool
}

// Value is the figure and whether it is published (0 and false when not).
func (f Figure) Value() (float64, bool) { return f.v, f.ok }

// Count is a published count, or nothing (see Figure).
type Count struct {
	n  int64
	ok bool
}

// Value is the count and whether it is published.
func (c Count) Value() (int64, bool) { return c.n, c.ok }

// figure and count keep the value only when it is published: a withheld one is not
// carried, even unexported.
func figure(v float64, ok bool) Figure {
	if !ok {
		return Figure{}
	}
	return Figure{v, true}
}

func count(n int64, ok bool) Count {
	if !ok {
		return Count{}
	}
	return Count{n, true}
}

// ResultRow is one % positive figure of one group (PUBLICATION.md §P): a question's
// (for a multi-choice question, one option's) result for an ICS, for a demographic
// group within an ICS, or for England. Percentages are 0–100, unrounded.
type ResultRow struct {
	Geography      string // GeographyICS or GeographyEngland
	ICS            string // "" for England
	GroupVariable  string // GroupAll or a breakdown variable
	GroupLevel     string // GroupAll or the level
	RespondentType string // patient or carer
	QuestionID     string
	// Measure is "" for a single-choice question's one measure, else the option code.
	Measure        string
	PositiveCodes  []string
	ExcludedCodes  []string
	BaseUnweighted Count
	BaseWeighted   Figure
	PctPositive    Figure
	CILower        Figure
	CIUpper        Figure
	NEff           Figure
	Deff           Figure
	// VsEngland compares the row with England excluding its ICS (D); NoFlag when not
	// compared.
	VsEngland estimate.Flag
	// Status is the row's % positive status: Published, Caution (L), BaseTooSmall (B),
	// Secondary (S).
	Status          disclosure.Status
	WeightingStatus string
}

// DistributionRow is one option's share of a question in one group (E4).
type DistributionRow struct {
	Geography      string
	ICS            string
	GroupVariable  string
	GroupLevel     string
	RespondentType string
	QuestionID     string
	OptionCode     string
	// CountUnweighted is published for an ICS's own rows (and England's where the
	// release publishes England's counts); never for a demographic group, whose counts
	// would add up to its ICS's and could be worked back from them.
	CountUnweighted Count
	// PctWeighted is the weighted % of those who answered (for an option of a scored
	// multi-choice question that has excluded codes: of those in the base).
	PctWeighted Figure
	// Status is the cell's: Published, Caution (the row's L), BaseTooSmall, Primary,
	// Secondary.
	Status          disclosure.Status
	WeightingStatus string
}

// ResponseRateRow is one ICS's (or England's) response position from the final
// outcome codes (SPEC §6), in three groups: Groups[0] completed (1), Groups[1] not
// reached (2 undelivered, 3 deceased, 5 ineligible), Groups[2] not responded (4 opted
// out or too ill, 6 no response), each with its status.
type ResponseRateRow struct {
	Geography   string
	ICS         string
	Sampled     Count
	Groups      [3]Count
	GroupStatus [3]disclosure.Status
	// ResponseRate is completed / sampled; AdjustedResponseRate completed / (sampled
	// less not reached); both 0–100.
	ResponseRate         Figure
	AdjustedResponseRate Figure
	Status               disclosure.Status
}

// ResponseGroups name the response-rate groups and the outcome codes each holds.
var ResponseGroups = []struct {
	Name     string
	Outcomes []int
}{{"completed", []int{1}}, {"not_reached", []int{2, 3, 5}}, {"not_responded", []int{4, 6}}}

// ICSReport is one ICS of the wave: whether it is published and how it was weighted.
type ICSReport struct {
	ICS       string
	Published bool
	// Status is the weighting status (weighting.Status values), or StatusNoRespondents
	// or StatusExcluded.
	Status string
	Reason string
	// Patients and Carers are the respondents; FrameTotal the eligible frame N.
	Patients, Carers int
	FrameTotal       float64
	// Weighting is the weighting's full record (nil when the ICS was not weighted).
	Weighting *weighting.Result
}

// QuestionInfo is one published question of one respondent type.
type QuestionInfo struct {
	RespondentType string
	ID             string
	Text           string
	Multi          bool
	Local          bool // a bank question
	Options        []Option
	Positive       []string
	Excluded       []string
	// ICSs are the ICSs that asked it (and are published), sorted.
	ICSs []string
}

// Option is an answer option.
type Option struct {
	Code  string
	Label string
}

// Scored reports whether the question is published as % positive.
func (q QuestionInfo) Scored() bool { return len(q.Positive) > 0 }

// Results is a release's figures, computed from a warehouse snapshot by Compute: every
// figure has passed disclosure control, and withheld ones carry no value. Only
// Compute makes a Results; Write and the dashboard read it.
type Results struct {
	wave        string
	params      Params
	icss        []ICSReport
	questions   []QuestionInfo
	results     []ResultRow
	dists       []DistributionRow
	rates       []ResponseRateRow
	withheld    Withheld
	lineage     []TableLineage
	defs        []Questionnaire
	codeVersion string
	// tables are the checked tables the rows were read from, for the tests' audit.
	tables []*checkedTable
	phases []Phase
	sealed bool
}

// Phase is one step of Compute and its wall time, for benchmarks and logs.
type Phase struct {
	Name    string
	Seconds float64
}

// Phases are Compute's steps and their wall times.
func (r *Results) Phases() []Phase { return slices.Clone(r.phases) }

// Wave is the wave the release is of.
func (r *Results) Wave() string { return r.wave }

// Params are the parameters the figures were computed with.
func (r *Results) Params() Params { return r.params }

// ICSs reports every ICS of the wave, sorted by code.
func (r *Results) ICSs() []ICSReport { return slices.Clone(r.icss) }

// Questions lists the published questions, patients' then carers', in
// questionnaire order (bank questions last).
func (r *Results) Questions() []QuestionInfo { return slices.Clone(r.questions) }

// Results are the % positive rows, question by question: England first, then each ICS
// followed by its demographic groups.
func (r *Results) Results() []ResultRow { return slices.Clone(r.results) }

// Distributions are the distribution rows, in the order of Results, options in
// questionnaire order within each group.
func (r *Results) Distributions() []DistributionRow { return slices.Clone(r.dists) }

// ResponseRates are the response rates: England, then each ICS.
func (r *Results) ResponseRates() []ResponseRateRow { return slices.Clone(r.rates) }

// ResultsFor returns the % positive rows of one question for one respondent type.
func (r *Results) ResultsFor(respondentType, questionID string) []ResultRow {
	var out []ResultRow
	for _, row := range r.results {
		if row.RespondentType == respondentType && row.QuestionID == questionID {
			out = append(out, row)
		}
	}
	return out
}

// Withheld counts what disclosure control withheld across the release.
func (r *Results) Withheld() Withheld { return r.withheld }

// Lineage is, per published table, the lake objects the figures were computed from.
func (r *Results) Lineage() []TableLineage { return slices.Clone(r.lineage) }

// CodeVersion names the code that computed the figures.
func (r *Results) CodeVersion() string { return r.codeVersion }

// Withheld counts, by status, what the release's disclosure control withheld, over
// every table it checked (disclosure.Summary, summed) and by kind of table.
type Withheld struct {
	Tables int                `json:"tables_checked"`
	Total  disclosure.Summary `json:"total"`
	// ByKind splits the total by kind of table: "ics", "england", "breakdown",
	// "response_rates".
	ByKind map[string]disclosure.Summary `json:"by_kind"`
	// EnglandRowsWithheld counts England rows withheld because an ICS's column total
	// they would reveal was withheld (unweighted tables only).
	EnglandRowsWithheld int `json:"england_rows_withheld"`
}

func (w *Withheld) add(kind string, s disclosure.Summary) {
	w.Tables++
	w.Total.Add(s)
	if w.ByKind == nil {
		w.ByKind = map[string]disclosure.Summary{}
	}
	k := w.ByKind[kind]
	k.Add(s)
	w.ByKind[kind] = k
}

func (w *Withheld) merge(o Withheld) {
	w.Tables += o.Tables
	w.Total.Add(o.Total)
	w.EnglandRowsWithheld += o.EnglandRowsWithheld
	for kind, s := range o.ByKind {
		if w.ByKind == nil {
			w.ByKind = map[string]disclosure.Summary{}
		}
		k := w.ByKind[kind]
		k.Add(s)
		w.ByKind[kind] = k
	}
}

// CellsWithheld is every count withheld: in published rows (P and S) and in rows
// withheld whole.
func (w Withheld) CellsWithheld() int {
	return w.Total.CellsPrimary + w.Total.CellsSecondary + w.Total.CellsInWithheldRows
}
