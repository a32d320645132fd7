package chart

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// IntervalBars is a horizontal bar chart of proportions with interval whiskers and a
// comparator marker per bar: typically each closed question's % positive with its 95%
// interval, against England excluding the ICS.
type IntervalBars struct {
	ID          string // unique on the page; made safe
	Title       string
	Description string // what the chart shows, for screen readers (the <desc>)
	// ValueLabel names the measure ("% positive"); IntervalLabel the interval
	// ("95% confidence interval"); ComparatorLabel the comparator ("England excluding QMM").
	ValueLabel      string
	IntervalLabel   string
	ComparatorLabel string
	// ComparedWith names what each bar's Compare is against, when that is not the
	// comparator marked ("England excluding QMM" while the marker is England's own
	// figure); default ComparatorLabel.
	ComparedWith string
	// LabelHeader heads the table's first column ("Question" by default).
	LabelHeader string
	// CautionBase is the base below which a value carries the caution mark, as the
	// note under the table says it (the release's caution_base; 0: the default 30).
	CautionBase int
	Bars        []Bar
}

// Bar is one row: a proportion, its interval, and its comparator's proportion.
type Bar struct {
	Label string
	// Value, Lower and Upper are proportions in [0, 1]. They are never read when
	// Withheld is set.
	Value, Lower, Upper float64
	// Base is the unweighted number of respondents the value rests on.
	Base int
	// Caution marks a value on a small base (published with a caution mark).
	Caution bool
	// Withheld: the value is suppressed, for the reason Why (default BaseTooSmall(10)).
	// BaseShown: the release publishes a withheld value's base (secondary suppression
	// of the % alone), and the table shows Base; otherwise it shows Why.Base.
	Withheld  bool
	Why       Withholding
	BaseShown bool
	// Comparator is the comparator's proportion, if HasComparator and not
	// ComparatorWithheld.
	Comparator         float64
	HasComparator      bool
	ComparatorWithheld bool
	// Compare is the published comparison with the comparator.
	Compare Comparison
}

// Withholding is why a value is withheld, in the words each place that says so needs.
type Withholding struct {
	// Reason labels the chart's gap and the table's value cell ("withheld: fewer than
	// 10 responses").
	Reason string
	// Summary is the reason in the chart's one-line summary ("fewer than 10 responses").
	Summary string
	// Note explains the reason under the table.
	Note string
	// Base is the table's base cell when the base is withheld too ("fewer than 10").
	Base string
}

// BaseTooSmall: the small-number rule's status B, a base under minBase.
func BaseTooSmall(minBase int) Withholding {
	return Withholding{
		Reason:  fmt.Sprintf("withheld: fewer than %d responses", minBase),
		Summary: fmt.Sprintf("fewer than %d responses", minBase),
		Note:    fmt.Sprintf("Withheld: fewer than %d responses, so the value is not shown.", minBase),
		Base:    fmt.Sprintf("fewer than %d", minBase),
	}
}

// SmallCount: status P (primary suppression), a count of 1 to minCount−1.
func SmallCount(minCount int) Withholding {
	return Withholding{
		Reason:  "withheld: a small count (primary suppression)",
		Summary: "a small count",
		Note:    fmt.Sprintf("Withheld (primary suppression): the value rests on a count of 1 to %d, so it is not shown.", minCount-1),
		Base:    "withheld",
	}
}

// SecondarySuppression: status S, a value withheld so that another withheld value
// cannot be worked out from it, not because its own base is small.
func SecondarySuppression() Withholding {
	return Withholding{
		Reason:  "withheld: would reveal another withheld figure (secondary suppression)",
		Summary: "to protect another withheld figure",
		Note:    "Withheld (secondary suppression): not shown so that another withheld figure cannot be worked out from it, not because its own base is small.",
		Base:    "withheld",
	}
}

func (b Bar) why() Withholding { return b.Why.orDefault() }

// orDefault is the reason, or the base rule at its default threshold when none is given.
func (w Withholding) orDefault() Withholding {
	if w == (Withholding{}) {
		return BaseTooSmall(10)
	}
	return w
}

// Layout of a bar chart, in viewBox units.
const (
	barPlotX     = 0.0
	barPlotW     = 250.0 // the 0–100% track
	barValueX    = 258.0 // where the value text starts
	barHeight    = 20.0
	barRowGap    = 14.0
	barAxisH     = 22.0
	markerRadius = 5.0
	comparatorHW = 2.0 // half the width of the comparator's tick
)

// Render draws the chart and builds its table and summary.
func (c IntervalBars) Render() Chart {
	id := safeID(c.ID)
	valueLabel := orDefault(c.ValueLabel, "% positive")
	intervalLabel := orDefault(c.IntervalLabel, "95% confidence interval")
	comparator := orDefault(c.ComparatorLabel, "England")
	comparedWith := orDefault(c.ComparedWith, comparator)

	var w svgWriter
	// Legend: the bar, the interval, the comparator's tick and the three shapes, flowed
	// onto as many lines as the width needs.
	legend := []struct {
		label string
		draw  func(x, y float64)
	}{
		{valueLabel, func(x, y float64) {
			w.printf(`<rect x="%s" y="%s" width="14" height="10" fill="%s"/>`, num(x), num(y-9), NHSBlue)
		}},
		{intervalLabel, func(x, y float64) {
			w.printf(`<path d="M%s %sH%sM%s %sV%sM%s %sV%s" stroke="%s" stroke-width="1.5" fill="none"/>`, num(x), num(y-4), num(x+14), num(x), num(y-8), num(y), num(x+14), num(y-8), num(y), NHSBlack)
		}},
		{comparator, func(x, y float64) {
			w.printf(`<rect x="%s" y="%s" width="%s" height="14" fill="%s"/>`, num(x+5), num(y-11), num(comparatorHW*2), NHSDarkPink)
		}},
	}
	for _, cmp := range []Comparison{Higher, Lower, Similar} {
		cmp := cmp
		legend = append(legend, struct {
			label string
			draw  func(x, y float64)
		}{cmp.Word(), func(x, y float64) { w.marker(cmp, x+7, y-4, 4.5, NHSBlack) }})
	}
	type placed struct{ x, y float64 }
	at := make([]placed, len(legend))
	lx, ly := 0.0, 14.0
	for i, item := range legend {
		wd := 18 + textWidth(item.label, smallFont) + 12
		if lx > 0 && lx+wd > viewWidth {
			lx, ly = 0, ly+lineHeight
		}
		at[i] = placed{lx, ly}
		lx += wd
	}
	legendBottom := ly + 8

	// Lay out rows: each bar's label wraps onto lines above its bar.
	type rowLayout struct {
		lines []string
		top   float64 // y of the first label line's box
		barY  float64
	}
	rows := make([]rowLayout, len(c.Bars))
	y := legendBottom + 6
	for i, b := range c.Bars {
		lines := wrap(b.Label, viewWidth, fontSize)
		rows[i] = rowLayout{lines: lines, top: y, barY: y + float64(len(lines))*lineHeight + 4}
		y = rows[i].barY + barHeight + barRowGap
	}
	axisY := y - barRowGap + 6
	height := axisY + barAxisH

	w.open(id, height, c.Title, c.Description)
	w.hatch(id)

	w.printf(`<g class="ice-chart__legend">`)
	for i, item := range legend {
		item.draw(at[i].x, at[i].y)
		w.text(at[i].x+18, at[i].y, smallFont, "start", NHSBlack, "", item.label)
	}
	w.printf(`</g>`)

	// Grid lines at 0, 25, 50, 75 and 100%.
	w.printf(`<g class="ice-chart__grid">`)
	for _, t := range []float64{0, 0.25, 0.5, 0.75, 1} {
		x := barPlotX + t*barPlotW
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, num(x), num(legendBottom), num(x), num(axisY), NHSMidGrey)
		anchor := "middle"
		if t == 0 {
			anchor = "start"
		} else if t == 1 {
			anchor = "end"
		}
		w.text(x, axisY+14, smallFont, anchor, NHSBlack, "", fmt.Sprintf("%d%%", int(t*100)))
	}
	w.printf(`</g>`)

	for i, b := range c.Bars {
		r := rows[i]
		w.printf(`<g class="ice-chart__bar">`)
		for j, line := range r.lines {
			w.text(0, r.top+float64(j+1)*lineHeight-3, fontSize, "start", NHSBlack, "", line)
		}
		if b.Withheld {
			w.gap(id, barPlotX, r.barY, barPlotW, barHeight, b.why().Reason)
			w.printf(`</g>`)
			continue
		}
		v, lo, hi := clamp01(b.Value), clamp01(b.Lower), clamp01(b.Upper)
		w.printf(`<title>%s</title>`, esc(barSentence(b, valueLabel, comparator, comparedWith)))
		w.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(barPlotX), num(r.barY), num(barPlotW), num(barHeight), NHSPaleGrey)
		w.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(barPlotX), num(r.barY), num(v*barPlotW), num(barHeight), NHSBlue)
		// The whisker: a white halo under a black line, so it reads on the bar and off it.
		mid := r.barY + barHeight/2
		x1, x2 := barPlotX+lo*barPlotW, barPlotX+hi*barPlotW
		whisker := fmt.Sprintf(`M%s %sH%sM%s %sV%sM%s %sV%s`, num(x1), num(mid), num(x2), num(x1), num(mid-5), num(mid+5), num(x2), num(mid-5), num(mid+5))
		w.printf(`<path d="%s" stroke="%s" stroke-width="4" fill="none"/>`, whisker, NHSWhite)
		w.printf(`<path d="%s" stroke="%s" stroke-width="1.5" fill="none"/>`, whisker, NHSBlack)
		if b.HasComparator && !b.ComparatorWithheld {
			cx := barPlotX + clamp01(b.Comparator)*barPlotW
			w.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"/>`,
				num(cx-comparatorHW), num(r.barY-4), num(comparatorHW*2), num(barHeight+8), NHSDarkPink, NHSWhite)
		}
		label := Percent(v)
		if b.Caution {
			label += "†"
		}
		w.text(barValueX, r.barY+barHeight/2+fontSize/2-2, fontSize, "start", NHSBlack, "bold", label)
		if b.Compare != NoComparison {
			w.marker(b.Compare, barValueX+textWidth(label, fontSize)+12, r.barY+barHeight/2, markerRadius, NHSBlack)
		}
		w.printf(`</g>`)
	}
	w.close()

	return Chart{ID: id, SVG: htmlOf(w), Table: c.table(id, valueLabel, intervalLabel, comparator, comparedWith), Summary: c.summary(comparedWith)}
}

func barSentence(b Bar, valueLabel, comparator, comparedWith string) string {
	// "50.0% positive", not "50.0% % positive": a label that starts with "%" names the
	// measure a percentage already says.
	s := fmt.Sprintf("%s: %s %s (%s to %s)", b.Label, Percent(clamp01(b.Value)), strings.TrimSpace(strings.TrimPrefix(valueLabel, "%")), Percent(clamp01(b.Lower)), Percent(clamp01(b.Upper)))
	if b.HasComparator && !b.ComparatorWithheld {
		s += fmt.Sprintf("; %s %s", comparator, Percent(clamp01(b.Comparator)))
	}
	if b.Compare != NoComparison {
		s += "; " + b.Compare.Word() + " " + b.Compare.Preposition() + " " + comparedWith
	}
	return s
}

func (c IntervalBars) table(id, valueLabel, intervalLabel, comparator, comparedWith string) Table {
	t := Table{
		ID:      id + "-table",
		Caption: c.Title,
		Columns: []Column{
			{Label: orDefault(c.LabelHeader, "Question")},
			{Label: valueLabel, Numeric: true},
			{Label: intervalLabel, Numeric: true},
			{Label: comparator, Numeric: true},
			{Label: "Compared with " + comparedWith},
			{Label: "Base (respondents)", Numeric: true},
		},
	}
	caution := false
	var notes []string // the withheld bars' notes, each once, in order
	for _, b := range c.Bars {
		comp := cell("")
		if b.HasComparator {
			if b.ComparatorWithheld {
				comp = withheldCell("withheld")
			} else {
				comp = cell(Percent(clamp01(b.Comparator)))
			}
		}
		if b.Withheld {
			why := b.why()
			base := withheldCell(why.Base)
			if b.BaseShown {
				base = cell(fmt.Sprint(b.Base))
			}
			t.Rows = append(t.Rows, []Cell{cell(b.Label), withheldCell(why.Reason), withheldCell("withheld"), comp, cell("no comparison"), base})
			if !slices.Contains(notes, why.Note) {
				notes = append(notes, why.Note)
			}
			continue
		}
		v := Percent(clamp01(b.Value))
		if b.Caution {
			v += "†"
			caution = true
		}
		t.Rows = append(t.Rows, []Cell{
			cell(b.Label), cell(v),
			cell(Percent(clamp01(b.Lower)) + " to " + Percent(clamp01(b.Upper))),
			comp, cell(b.Compare.Label()), cell(fmt.Sprint(b.Base)),
		})
	}
	if caution {
		t.Notes = append(t.Notes, fmt.Sprintf("† based on fewer than %d responses: interpret with caution.", cmp.Or(c.CautionBase, 30)))
	}
	t.Notes = append(t.Notes, notes...)
	if t.HasWithheld() && len(notes) == 0 {
		t.Notes = append(t.Notes, withheldComparatorNote)
	}
	return t
}

func (c IntervalBars) summary(comparator string) string {
	var higher, lower, similar, withheld int
	var reasons []string // the withheld bars' reasons, each once, in order
	byReason := map[string]int{}
	for _, b := range c.Bars {
		switch {
		case b.Withheld:
			withheld++
			r := b.why().Summary
			if byReason[r] == 0 {
				reasons = append(reasons, r)
			}
			byReason[r]++
		case b.Compare == Higher:
			higher++
		case b.Compare == Lower:
			lower++
		case b.Compare == Similar:
			similar++
		}
	}
	n := len(c.Bars)
	if n == 0 {
		return "There are no results to show."
	}
	parts := []string{}
	if higher+lower+similar > 0 {
		parts = append(parts, fmt.Sprintf("%d higher than %s, %d lower and %d similar", higher, comparator, lower, similar))
	}
	if rest := n - withheld - higher - lower - similar; rest > 0 {
		parts = append(parts, fmt.Sprintf("%d without a comparison", rest))
	}
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%d withheld (%s)", byReason[r], r))
	}
	return fmt.Sprintf("Of %d %s: %s.", n, plural(n, "result", "results"), strings.Join(parts, "; "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// withheldComparatorNote explains a withheld comparator when no bar is withheld.
const withheldComparatorNote = "Withheld: not shown under the release's small-number rule."
