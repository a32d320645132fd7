package publication

import (
	"fmt"
	"math"
	"slices"

	"icesurvey/codes"
	"icesurvey/disclosure"
	"icesurvey/estimate"
)

// Kinds of checked table.
const (
	kindICS       = "ics"            // one question's rows for every ICS
	kindEngland   = "england"        // its one row for England
	kindBreakdown = "breakdown"      // its rows for one breakdown within one ICS
	kindRates     = "response_rates" // response rates by ICS, or England's
)

// checkedTable is a table that passed disclosure control, with what its rows are. Every
// published row is read from one, through the accessors of disclosure.Checked, which
// refuse withheld values: this is what makes an unchecked figure impossible to write.
type checkedTable struct {
	kind           string
	checked        *disclosure.Checked
	respondentType string
	questionID     string
	option         string // the option of a multi-choice question's table
	ics            string // a breakdown table's ICS
	breakdown      string // a breakdown table's variable
	// englandWithheld: an England table whose figures are withheld because a column
	// total of its by-ICS table is (unweighted counts, where % reveal totals).
	englandWithheld bool
}

// spec is the shape of one question's tables: a single-choice question's options, or
// one option of a multi-choice question as yes/no (E2: each option its own measure).
type spec struct {
	option int // −1: the options of a single-choice question
	// measure is the table's % positive, nil for a distribution only.
	measure *estimate.Measure
	// overBase: a multi-choice option's table counts those in the base (a measure);
	// otherwise everyone who answered.
	overBase bool
}

func (u *unit) specs() []spec {
	c := u.q.c
	ms := c.Measures()
	if !c.Multi {
		s := spec{option: -1}
		if len(ms) > 0 {
			s.measure = &ms[0]
		}
		return []spec{s}
	}
	var out []spec
	for j, code := range c.Options {
		s := spec{option: j}
		for i := range ms {
			if ms[i].Label == code {
				s.measure, s.overBase = &ms[i], true
			}
		}
		out = append(out, s)
	}
	return out
}

var yesNo = []string{"yes", "no"}

// table starts an empty table of the spec.
func (s spec) table(c *estimate.Compiled, name string, unweighted, columnTotals bool) disclosure.Table {
	t := disclosure.Table{Name: name, Unweighted: unweighted, ColumnTotals: columnTotals}
	if s.option < 0 {
		t.Categories = c.Options
		t.BaseCategories = c.BaseOptions()
		if s.measure != nil {
			t.PositiveCategories = c.PositiveOptions()
		}
		return t
	}
	t.Categories = yesNo
	if s.measure != nil {
		t.PositiveCategories = []bool{true, false}
	}
	return t
}

// addRow adds group's row of tally x to t: counts, each count's weighted share, the
// weighted base, and the % positive figures [p, lower, upper, n_eff, deff].
func (s spec) addRow(t *disclosure.Table, group string, x *estimate.Tally, z float64) {
	t.Groups = append(t.Groups, group)
	switch {
	case s.option < 0:
		counts, share := x.Distribution()
		t.Counts = append(t.Counts, counts)
		t.CellValues = append(t.CellValues, share)
		t.RowValues = append(t.RowValues, []float64{x.BaseW})
	case s.overBase:
		j := s.option
		yes, yesW := x.BaseCount[j], x.BaseCountW[j]
		t.Counts = append(t.Counts, []int64{yes, x.Base - yes})
		t.CellValues = append(t.CellValues, []float64{yesW / x.BaseW, (x.BaseW - yesW) / x.BaseW})
		t.RowValues = append(t.RowValues, []float64{x.BaseW})
	default:
		j := s.option
		yes, yesW := x.Count[j], x.CountW[j]
		t.Counts = append(t.Counts, []int64{yes, x.Answered - yes})
		t.CellValues = append(t.CellValues, []float64{yesW / x.AnsweredW, (x.AnsweredW - yesW) / x.AnsweredW})
		t.RowValues = append(t.RowValues, []float64{x.AnsweredW})
	}
	if s.measure != nil {
		e := x.Estimate(*s.measure, z)
		t.PositiveValues = append(t.PositiveValues, []float64{e.P, e.Lower, e.Upper, e.NEff, e.Deff})
	}
}

// unit computes one question of one respondent type: tallies, estimates, tables and
// their rows.
type unit struct {
	pop       *population
	q         *question
	qi        int
	frame     *frameData
	published []bool
	present   [][][]bool // [ICS][breakdown][level]: the level has frame or respondents
	p         Params
	r         *Results
}

type unitOut struct {
	results  []ResultRow
	dists    []DistributionRow
	tables   []*checkedTable
	withheld Withheld
}

// breakdownTallies are one breakdown's tallies of one question: level-major, [l·K + k].
type breakdownTallies struct {
	b    int    // index in codes.Breakdowns
	name string // the variable
	t    []estimate.Tally
	rest []estimate.Tally // the same group in England excluding the ICS
}

// checkedSet is one spec's checked tables.
type checkedSet struct {
	spec
	ics, eng *checkedTable
	brk      map[[2]int]*checkedTable // (ICS, breakdown position in Params.Breakdowns)
	// englandWithheld: England's figures would reveal a withheld column total.
	englandWithheld bool
}

func (u *unit) run() (*unitOut, error) {
	c, q, pop, p := u.q.c, u.q, u.pop, u.p
	K := len(u.frame.icss)
	z := p.Estimate.Z
	ans := pop.answers[u.qi]
	T := estimate.NewTallies(c, K)
	if err := estimate.Tabulate(c, ans, pop.weights, pop.gICS, T); err != nil {
		return nil, fmt.Errorf("publication: %w", err)
	}
	eng := estimate.NewTallies(c, 1)
	estimate.Pool(&eng[0], T, -1)
	rest := estimate.NewTallies(c, K)
	estimate.PoolExcluding(rest, T)
	var rows []int
	for k := range K {
		if q.asked[k] && u.published[k] {
			rows = append(rows, k)
		}
	}
	var brks []breakdownTallies
	if pop.weighted {
		for _, v := range p.Breakdowns {
			b := breakdownIndex(v)
			L := len(declaredLevels[b])
			bt := breakdownTallies{b: b, name: v, t: estimate.NewTallies(c, L*K)}
			if err := estimate.Tabulate(c, ans, pop.weights, pop.gBrk[b], bt.t); err != nil {
				return nil, fmt.Errorf("publication: %w", err)
			}
			if p.GroupComparison == CompareSameGroup {
				bt.rest = estimate.NewTallies(c, L*K)
				for l := range L {
					estimate.PoolExcluding(bt.rest[l*K:(l+1)*K], bt.t[l*K:(l+1)*K])
				}
			}
			brks = append(brks, bt)
		}
	}

	out := &unitOut{}
	groups := 1 + len(rows)
	if pop.weighted {
		groups += len(rows) * 17 // at most 4 + 5 + 6 + 2 demographic groups
	}
	out.dists = make([]DistributionRow, 0, groups*len(c.Options))
	out.results = make([]ResultRow, 0, groups*len(c.Measures()))
	unweighted := !pop.weighted
	columnTotals := unweighted || p.EnglandCounts
	check := func(kind string, t disclosure.Table, ct *checkedTable) (*checkedTable, error) {
		checked, err := disclosure.Check(t, p.Disclosure)
		if err != nil {
			return nil, fmt.Errorf("publication: %w", err)
		}
		ct.kind, ct.checked, ct.respondentType, ct.questionID = kind, checked, pop.typ, q.info.ID
		out.tables = append(out.tables, ct)
		out.withheld.add(kind, checked.Summary())
		return ct, nil
	}
	var sets []*checkedSet
	for _, s := range u.specs() {
		name := q.info.ID
		opt := ""
		if s.option >= 0 {
			opt = c.Options[s.option]
			name += "=" + opt
		}
		name += " (" + pop.typ + ")"
		set := &checkedSet{spec: s, brk: map[[2]int]*checkedTable{}}
		t := s.table(c, name+" by ICS", unweighted, columnTotals)
		for _, k := range rows {
			s.addRow(&t, u.frame.icss[k], &T[k], z)
		}
		if s.measure != nil && !columnTotals && eng[0].Base >= int64(p.Disclosure.MinBase) {
			// England's row publishes its base (when not under min_base): the sum of
			// these rows' bases. Without column totals nothing else tells the check so,
			// and a lone withheld row's base (and, through England's weighted sums, its
			// answers) would be England's less the others'.
			t.Facts = append(t.Facts, baseSum(&t))
		}
		var err error
		if set.ics, err = check(kindICS, t, &checkedTable{option: opt}); err != nil {
			return nil, err
		}
		t = s.table(c, name+" England", unweighted, false)
		s.addRow(&t, "ENG", &eng[0], z)
		if set.eng, err = check(kindEngland, t, &checkedTable{option: opt}); err != nil {
			return nil, err
		}
		if unweighted {
			// An unweighted England % is a ratio of column totals: it is published only
			// when every total is.
			for j := range set.ics.checked.NumCategories() {
				if set.ics.checked.ColumnTotalStatus(j).Withheld() {
					set.englandWithheld = true
				}
			}
			set.eng.englandWithheld = set.englandWithheld
			if set.englandWithheld {
				out.withheld.EnglandRowsWithheld++
			}
		}
		for _, k := range rows {
			for bi, bt := range brks {
				t := s.table(c, fmt.Sprintf("%s, %s by %s", name, u.frame.icss[k], bt.name), false, false)
				for l, level := range declaredLevels[bt.b] {
					if u.present[k][bt.b][l] {
						s.addRow(&t, level, &bt.t[l*K+k], z)
					}
				}
				if len(t.Groups) == 0 {
					continue
				}
				// Every respondent of the ICS is in exactly one of the breakdown's groups
				// (levels come from the frame, never missing): the ICS's own row is the
				// groups' published total.
				t.Margin = margin(set.ics.checked, u.frame.icss[k])
				if set.brk[[2]int{k, bi}], err = check(kindBreakdown, t, &checkedTable{option: opt, ics: u.frame.icss[k], breakdown: bt.name}); err != nil {
					return nil, err
				}
			}
		}
		sets = append(sets, set)
	}

	// Rows, group by group: England, then each ICS and its demographic groups.
	minBase := int64(p.Disclosure.MinBase)
	em := emitter{u: u, out: out}
	for _, set := range sets {
		em.england(set)
	}
	for _, k := range rows {
		status := u.r.icss[k].Status
		if unweighted {
			status = StatusUnweighted
		}
		// England excluding k, and its published status: the ICS row of the one other ICS
		// it holds, when it holds only one; else published when its base reaches min_base.
		icsRest := func(set *checkedSet) (estimate.Estimate, bool) {
			re := rest[k].Estimate(*set.measure, z)
			if j := soleOther(T, k); j >= 0 {
				return re, rowPublished(set.ics, u.frame.icss[j])
			}
			return re, re.Base >= minBase
		}
		for _, set := range sets {
			flag := func(e estimate.Estimate, pub bool) estimate.Flag {
				re, rePub := icsRest(set)
				return estimate.Compare(e, pub, re, rePub, z)
			}
			em.rows(set, set.ics, u.frame.icss[k], GeographyICS, u.frame.icss[k], GroupAll, GroupAll, status, true, flag)
		}
		for bi, bt := range brks {
			for l, level := range declaredLevels[bt.b] {
				if !u.present[k][bt.b][l] {
					continue
				}
				for _, set := range sets {
					ct := set.brk[[2]int{k, bi}]
					if ct == nil {
						continue
					}
					flag := func(e estimate.Estimate, pub bool) estimate.Flag {
						if bt.rest == nil {
							re, rePub := icsRest(set)
							return estimate.Compare(e, pub, re, rePub, z)
						}
						// The same group in England excluding k: the one other ICS's
						// group row, when only one other ICS has the group.
						re := bt.rest[l*K+k].Estimate(*set.measure, z)
						rePub := re.Base >= minBase
						if j := soleOther(bt.t[l*K:(l+1)*K], k); j >= 0 {
							rePub = rowPublished(set.brk[[2]int{j, bi}], level)
						}
						return estimate.Compare(e, pub, re, rePub, z)
					}
					em.rows(set, ct, level, GeographyICS, u.frame.icss[k], bt.name, level, status, false, flag)
				}
			}
		}
	}
	return out, nil
}

// baseSum is the published fact that the sum of every row's base categories is known.
func baseSum(t *disclosure.Table) disclosure.Fact {
	var f disclosure.Fact
	for _, g := range t.Groups {
		for j := range t.Categories {
			if t.BaseCategories == nil || t.BaseCategories[j] {
				f.Cells = append(f.Cells, disclosure.Cell{Group: g, Category: j})
			}
		}
	}
	return f
}

// soleOther is the one ICS other than k whose tally has respondents in the base, or
// −1 when there are none or several: England excluding k is then that ICS's row alone
// (PUBLICATION.md D gives no flag when either side is withheld).
func soleOther(ts []estimate.Tally, k int) int {
	only := -1
	for j := range ts {
		if j == k || ts[j].Base == 0 {
			continue
		}
		if only >= 0 {
			return -1
		}
		only = j
	}
	return only
}

// rowPublished reports whether group's % positive is published in ct.
func rowPublished(ct *checkedTable, group string) bool {
	if ct == nil {
		return false
	}
	i, ok := ct.checked.Row(group)
	return ok && !ct.checked.PositiveStatus(i).Withheld()
}

// margin is ICS ics's row of its by-ICS table as published: the total of the rows of
// each of its breakdown tables (nil when the ICS has no row there).
func margin(c *disclosure.Checked, ics string) *disclosure.Margin {
	i, ok := c.Row(ics)
	if !ok {
		return nil
	}
	m := &disclosure.Margin{Status: make([]disclosure.Status, c.NumCategories())}
	for j := range m.Status {
		m.Status[j] = c.CellStatus(i, j)
	}
	published := !c.RowStatus(i).Withheld()
	m.Base, m.Total = published, published
	m.Positive = c.HasPositive() && !c.PositiveStatus(i).Withheld()
	return m
}

// emitter reads rows out of checked tables.
type emitter struct {
	u   *unit
	out *unitOut
}

func (em *emitter) base(set *checkedSet) (measure string, positive, excluded []string) {
	q := em.u.q
	excluded = slices.Clone(q.info.Excluded)
	if set.option >= 0 {
		code := q.c.Options[set.option]
		return code, []string{code}, excluded
	}
	return "", slices.Clone(q.info.Positive), excluded
}

// england emits England's rows of one spec. England's counts are published only for an
// unweighted table (whose % reveal them anyway) or with Params.EnglandCounts, and then
// only where the by-ICS table publishes that column's total.
func (em *emitter) england(set *checkedSet) {
	u := em.u
	status := StatusPooled
	if !u.pop.weighted {
		status = StatusUnweighted
	}
	countsPublished := !u.pop.weighted || u.p.EnglandCounts
	em.emit(set, set.eng, 0, GeographyEngland, "", GroupAll, GroupAll, status, set.englandWithheld,
		func(j int) bool { return countsPublished && !set.ics.checked.ColumnTotalStatus(j).Withheld() }, nil)
}

// rows emits an ICS's or a demographic group's rows of one spec, read from row group
// of ct; ICS rows publish their counts, demographic groups' do not.
func (em *emitter) rows(set *checkedSet, ct *checkedTable, group, geography, ics, gvar, glevel, status string, counts bool,
	flag func(estimate.Estimate, bool) estimate.Flag) {
	i, ok := ct.checked.Row(group)
	if !ok {
		return
	}
	em.emit(set, ct, i, geography, ics, gvar, glevel, status, false, func(int) bool { return counts }, flag)
}

func finite(v float64, ok bool) Figure { return figure(v, ok && !math.IsNaN(v) && !math.IsInf(v, 0)) }

func (em *emitter) emit(set *checkedSet, ct *checkedTable, i int, geography, ics, gvar, glevel, wstatus string, withheld bool,
	countOK func(j int) bool, flag func(estimate.Estimate, bool) estimate.Flag) {
	u, c := em.u, ct.checked
	if set.measure != nil {
		measure, positive, excluded := em.base(set)
		row := ResultRow{Geography: geography, ICS: ics, GroupVariable: gvar, GroupLevel: glevel, RespondentType: u.pop.typ,
			QuestionID: u.q.info.ID, Measure: measure, PositiveCodes: positive, ExcludedCodes: excluded, WeightingStatus: wstatus,
			Status: c.PositiveStatus(i)}
		if withheld {
			row.Status = disclosure.Secondary
		} else {
			n, ok := c.Base(i)
			row.BaseUnweighted = count(n, ok)
			row.BaseWeighted = finite(c.RowValue(i, 0))
			pv := func(k int, scale float64) Figure {
				v, ok := c.PositiveValue(i, k)
				return finite(v*scale, ok)
			}
			row.PctPositive, row.CILower, row.CIUpper = pv(0, 100), pv(1, 100), pv(2, 100)
			row.NEff, row.Deff = pv(3, 1), pv(4, 1)
			if flag != nil {
				p, okP := c.PositiveValue(i, 0)
				n, okN := c.PositiveValue(i, 3)
				row.VsEngland = flag(estimate.Estimate{P: p, NEff: n}, okP && okN && !row.Status.Withheld())
			}
		}
		em.out.results = append(em.out.results, row)
	}
	cats := []int{0} // a multi-choice option's "yes"
	if set.option < 0 {
		cats = make([]int, c.NumCategories())
		for j := range cats {
			cats[j] = j
		}
	}
	for _, j := range cats {
		code := c.Category(j)
		if set.option >= 0 {
			code = u.q.c.Options[set.option]
		}
		row := DistributionRow{Geography: geography, ICS: ics, GroupVariable: gvar, GroupLevel: glevel, RespondentType: u.pop.typ,
			QuestionID: u.q.info.ID, OptionCode: code, WeightingStatus: wstatus, Status: c.CellStatus(i, j)}
		if row.Status == disclosure.Published && c.RowStatus(i) == disclosure.Caution {
			row.Status = disclosure.Caution
		}
		if withheld {
			row.Status = disclosure.Secondary
		} else {
			v, ok := c.CellValue(i, j)
			row.PctWeighted = finite(v*100, ok)
			if countOK(j) {
				n, ok := c.Count(i, j)
				row.CountUnweighted = count(n, ok)
			}
		}
		em.out.dists = append(em.out.dists, row)
	}
}

// responseRates checks and reads the response-rate tables: every ICS's sampled people
// by outcome group (ResponseGroups), with column totals because England's rates are
// ratios of them. Every count of the table is published unless withheld, so the rates
// are published only when the counts they are ratios of are: they then add no fact to
// what the audit saw (and the table is checked as counts, not as unweighted
// percentages, which would withhold the rate together with counts it does not reveal).
func (r *Results) responseRates(frame *frameData) error {
	cats := make([]string, len(ResponseGroups))
	for i, g := range ResponseGroups {
		cats[i] = g.Name
	}
	positive := []bool{true, false, false}
	grouped := func(o [6]int64) []int64 {
		out := make([]int64, len(ResponseGroups))
		for i, g := range ResponseGroups {
			for _, code := range g.Outcomes {
				out[i] += o[code-1]
			}
		}
		return out
	}
	rates := func(c []int64) []float64 {
		sampled := c[0] + c[1] + c[2]
		return []float64{100 * float64(c[0]) / float64(sampled), 100 * float64(c[0]) / float64(sampled-c[1])}
	}
	tab := disclosure.Table{Name: "response rates by ICS", Categories: cats, PositiveCategories: positive, ColumnTotals: true}
	totals := make([]int64, len(cats))
	for k, ics := range frame.icss {
		if slices.Contains(r.params.Exclude, ics) {
			continue
		}
		c := grouped(frame.outcomes[k])
		tab.Groups = append(tab.Groups, ics)
		tab.Counts = append(tab.Counts, c)
		tab.PositiveValues = append(tab.PositiveValues, rates(c))
		for j, n := range c {
			totals[j] += n
		}
	}
	if len(tab.Groups) == 0 {
		return nil
	}
	byICS, err := disclosure.Check(tab, r.params.Disclosure)
	if err != nil {
		return fmt.Errorf("publication: %w", err)
	}
	engTab := disclosure.Table{Name: "response rates, England", Groups: []string{"ENG"}, Categories: cats, PositiveCategories: positive,
		Counts: [][]int64{totals}, PositiveValues: [][]float64{rates(totals)}}
	eng, err := disclosure.Check(engTab, r.params.Disclosure)
	if err != nil {
		return fmt.Errorf("publication: %w", err)
	}
	engWithheld := false
	for j := range cats {
		engWithheld = engWithheld || byICS.ColumnTotalStatus(j).Withheld()
	}
	r.tables = append(r.tables, &checkedTable{kind: kindRates, checked: byICS},
		&checkedTable{kind: kindRates, checked: eng, englandWithheld: engWithheld})
	r.withheld.add(kindRates, byICS.Summary())
	r.withheld.add(kindRates, eng.Summary())
	if engWithheld {
		r.withheld.EnglandRowsWithheld++
	}
	read := func(c *disclosure.Checked, i int, geography, ics string, withheld bool) ResponseRateRow {
		row := ResponseRateRow{Geography: geography, ICS: ics, Status: c.RowStatus(i)}
		if withheld {
			row.Status = disclosure.Secondary
		}
		for j := range cats {
			row.GroupStatus[j] = c.CellStatus(i, j)
			if withheld {
				row.GroupStatus[j] = disclosure.Secondary
				continue
			}
			n, ok := c.Count(i, j)
			row.Groups[j] = count(n, ok)
		}
		if withheld {
			return row
		}
		n, ok := c.Base(i)
		row.Sampled = count(n, ok)
		// The rate is completed / sampled, the adjusted rate completed / (sampled less
		// not reached): each only where its counts are published.
		_, completed := c.Count(i, 0)
		_, reached := c.Count(i, 1)
		v, ok := c.PositiveValue(i, 0)
		row.ResponseRate = finite(v, ok && completed)
		v, ok = c.PositiveValue(i, 1)
		row.AdjustedResponseRate = finite(v, ok && completed && reached)
		return row
	}
	r.rates = append(r.rates, read(eng, 0, GeographyEngland, "", engWithheld))
	for i := range byICS.NumGroups() {
		r.rates = append(r.rates, read(byICS, i, GeographyICS, byICS.Group(i), false))
	}
	return nil
}

// presentLevels marks, per ICS and breakdown, the levels with an eligible frame count
// or a respondent: the rows of the ICS's breakdown tables (the same for every question).
func presentLevels(frame *frameData, pop *population) [][][]bool {
	out := make([][][]bool, len(frame.icss))
	for k := range frame.icss {
		out[k] = make([][]bool, len(codes.Breakdowns))
		for b := range codes.Breakdowns {
			out[k][b] = make([]bool, len(declaredLevels[b]))
			for l, n := range frame.counts[k][b] {
				out[k][b][l] = n > 0
			}
		}
	}
	for i, k := range pop.ics {
		for b := range codes.Breakdowns {
			out[k][b][pop.level[b][i]] = true
		}
	}
	return out
}
