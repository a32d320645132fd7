package chart

import (
	"fmt"
	"html/template"
	"strings"
)

// Multiples is a set of small charts of one kind drawn on the same scales, for example
// the response rate by day of each ICS, or % positive by age band for each question.
type Multiples struct {
	ID          string
	Title       string
	Description string
	// Trends or Bars: one of the two is used. Trend panels share their x range and y
	// maximum; bar panels already share the 0–100% scale.
	Trends []Trend
	Bars   []IntervalBars
}

// MultiplesChart is the rendered set: each panel is a complete accessible chart.
type MultiplesChart struct {
	ID      string
	Title   string
	Summary string
	Panels  []Chart
}

// Render draws every panel on the shared scales.
func (m Multiples) Render() MultiplesChart {
	id := safeID(m.ID)
	out := MultiplesChart{ID: id, Title: m.Title}
	if len(m.Trends) > 0 {
		minX, maxX, maxY := 0, 0, 0.0
		percent := m.Trends[0].Percent
		yMax := 0.0
		for i, t := range m.Trends {
			lo, hi, y := t.extent()
			if i == 0 || lo < minX {
				minX = lo
			}
			if i == 0 || hi > maxX {
				maxX = hi
			}
			if y > maxY {
				maxY = y
			}
			if t.YMax > yMax {
				yMax = t.YMax
			}
		}
		if yMax <= 0 {
			yMax = niceCeil(maxY, percent)
		}
		for i, t := range m.Trends {
			out.Panels = append(out.Panels, t.render(fmt.Sprintf("%s-%d", id, i+1), minX, maxX, yMax))
		}
	}
	for i, b := range m.Bars {
		b.ID = fmt.Sprintf("%s-%d", id, i+1)
		out.Panels = append(out.Panels, b.Render())
	}
	var sums []string
	for i, p := range out.Panels {
		sums = append(sums, panelTitle(m, i)+": "+strings.TrimSuffix(p.Summary, "."))
	}
	out.Summary = strings.Join(sums, "; ") + "."
	if len(out.Panels) == 0 {
		out.Summary = "There are no results to show."
	}
	return out
}

func panelTitle(m Multiples, i int) string {
	if len(m.Trends) > 0 {
		return m.Trends[i].Title
	}
	return m.Bars[i].Title
}

// HTML lays the panels out as a list that wraps into columns on wide screens and stacks
// on narrow ones, each panel with its own summary and table.
func (c MultiplesChart) HTML() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<section class="ice-multiples" id="%s" aria-labelledby="%s-heading">`, c.ID, c.ID)
	fmt.Fprintf(&b, `<h3 class="nhsuk-heading-s" id="%s-heading">%s</h3>`, c.ID, esc(c.Title))
	b.WriteString(`<ul class="ice-multiples__list nhsuk-list">`)
	for _, p := range c.Panels {
		b.WriteString(`<li class="ice-multiples__panel">`)
		b.WriteString(string(p.HTML()))
		b.WriteString(`</li>`)
	}
	b.WriteString(`</ul></section>`)
	return template.HTML(b.String())
}
