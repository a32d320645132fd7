package chart

import (
	"fmt"
	"strings"
)

// Stacked is a chart of 100% bars: each row is one group's distribution over the same
// ordered categories (a question's answer options, or outcome codes).
type Stacked struct {
	ID          string
	Title       string
	Description string
	// Categories are the options in order; every row's Shares follow this order.
	Categories []string
	// LabelHeader heads the table's first column ("Group" by default).
	LabelHeader string
	Rows        []StackedRow
	// WithheldNote is the table's note on what was withheld and why; empty: the
	// publication's rule with its default thresholds. A page whose figures were checked
	// with other thresholds, or whose rows are not responses, says its own.
	WithheldNote string
}

// StackedRow is one group's distribution.
type StackedRow struct {
	Label string
	// Shares are proportions in [0, 1], one per category, summing to 1 (weighted % for
	// a question, or shares of a count). A share whose CellWithheld is set is never read.
	Shares []float64
	// Counts, when given, are the unweighted counts shown in the table beside each share.
	Counts []int
	// CellWithheld marks single withheld cells (primary and secondary suppression).
	CellWithheld []bool
	// Withheld withholds the whole row (its base is under the minimum).
	Withheld       bool
	WithheldReason string
}

func (r StackedRow) reason() string {
	if r.WithheldReason != "" {
		return r.WithheldReason
	}
	return DefaultWithheldReason
}

func (r StackedRow) cellWithheld(i int) bool {
	return r.Withheld || i < len(r.CellWithheld) && r.CellWithheld[i] || i >= len(r.Shares)
}

const (
	stackPlotW  = viewWidth
	stackHeight = 24.0
	stackGap    = 12.0
)

// Render draws the chart and builds its table and summary.
func (c Stacked) Render() Chart {
	id := safeID(c.ID)
	var w svgWriter

	// Legend: one swatch and label per category, flowed onto as many lines as needed.
	type legendItem struct{ x, y float64 }
	items := make([]legendItem, len(c.Categories))
	lx, ly := 0.0, 14.0
	for i, cat := range c.Categories {
		wd := 18 + textWidth(cat, smallFont) + 14
		if lx > 0 && lx+wd > viewWidth {
			lx, ly = 0, ly+lineHeight+2
		}
		items[i] = legendItem{lx, ly}
		lx += wd
	}
	legendH := ly + 10

	y := legendH + 6
	type rowLayout struct {
		lines []string
		top   float64
		barY  float64
	}
	rows := make([]rowLayout, len(c.Rows))
	for i, r := range c.Rows {
		lines := wrap(r.Label, viewWidth, fontSize)
		rows[i] = rowLayout{lines: lines, top: y, barY: y + float64(len(lines))*lineHeight + 4}
		y = rows[i].barY + stackHeight + stackGap
	}
	height := y + 4

	w.open(id, height, c.Title, c.Description)
	w.hatch(id)
	w.printf(`<g class="ice-chart__legend">`)
	for i, cat := range c.Categories {
		it := items[i]
		w.printf(`<rect x="%s" y="%s" width="12" height="12" fill="%s"/>`, num(it.x), num(it.y-10), seriesColour(i))
		w.text(it.x+17, it.y, smallFont, "start", NHSBlack, "", cat)
	}
	w.printf(`</g>`)

	for i, r := range c.Rows {
		lay := rows[i]
		w.printf(`<g class="ice-chart__stack">`)
		for j, line := range lay.lines {
			w.text(0, lay.top+float64(j+1)*lineHeight-3, fontSize, "start", NHSBlack, "", line)
		}
		if r.Withheld {
			w.gap(id, 0, lay.barY, stackPlotW, stackHeight, r.reason())
			w.printf(`</g>`)
			continue
		}
		x := 0.0
		withheldShare := 1.0
		for k := range c.Categories {
			if r.cellWithheld(k) {
				continue
			}
			share := clamp01(r.Shares[k])
			withheldShare -= share
			wd := share * stackPlotW
			if wd <= 0 {
				continue
			}
			w.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"><title>%s</title></rect>`,
				num(x), num(lay.barY), num(wd), num(stackHeight), seriesColour(k), NHSWhite, esc(fmt.Sprintf("%s: %s", c.Categories[k], Percent(share))))
			if label := Percent(share); textWidth(label, smallFont)+6 <= wd {
				w.text(x+wd/2, lay.barY+stackHeight/2+smallFont/2-1.5, smallFont, "middle", textOn(seriesColour(k)), "bold", label)
			}
			x += wd
		}
		// Withheld cells of a published row are one labelled gap at the end: its width is
		// what the published shares leave, which they already disclose.
		if anyWithheld(r, len(c.Categories)) && withheldShare > 0 {
			w.gap(id, x, lay.barY, withheldShare*stackPlotW, stackHeight, "withheld")
		}
		w.printf(`</g>`)
	}
	w.close()
	return Chart{ID: id, SVG: htmlOf(w), Table: c.table(id), Summary: c.summary()}
}

func anyWithheld(r StackedRow, n int) bool {
	for k := 0; k < n; k++ {
		if r.cellWithheld(k) {
			return true
		}
	}
	return false
}

func (c Stacked) table(id string) Table {
	t := Table{ID: id + "-table", Caption: c.Title}
	t.Columns = append(t.Columns, Column{Label: orDefault(c.LabelHeader, "Group")})
	withCounts := false
	for _, r := range c.Rows {
		if len(r.Counts) > 0 {
			withCounts = true
		}
	}
	for _, cat := range c.Categories {
		t.Columns = append(t.Columns, Column{Label: cat + " (%)", Numeric: true})
		if withCounts {
			t.Columns = append(t.Columns, Column{Label: cat + " (count)", Numeric: true})
		}
	}
	for _, r := range c.Rows {
		row := []Cell{cell(r.Label)}
		for k := range c.Categories {
			if r.cellWithheld(k) {
				text := "withheld"
				if r.Withheld {
					text = r.reason()
				}
				row = append(row, withheldCell(text))
				if withCounts {
					row = append(row, withheldCell("withheld"))
				}
				continue
			}
			row = append(row, cell(Percent(clamp01(r.Shares[k]))))
			if withCounts {
				if k < len(r.Counts) {
					row = append(row, cell(fmt.Sprint(r.Counts[k])))
				} else {
					row = append(row, cell(""))
				}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	if t.HasWithheld() {
		note := c.WithheldNote
		if note == "" {
			note = "Withheld: fewer than 10 responses, or a small count (1 to 4) and the cell that would reveal it, so the value is not shown."
		}
		t.Notes = append(t.Notes, note)
	}
	return t
}

func (c Stacked) summary() string {
	if len(c.Rows) == 0 || len(c.Categories) == 0 {
		return "There are no results to show."
	}
	// The most common category across the published rows: count rows where each is the
	// largest published share (ties: the earlier category).
	top := make([]int, len(c.Categories))
	shown, withheld := 0, 0
	for _, r := range c.Rows {
		best, bestShare := -1, -1.0
		for k := range c.Categories {
			if r.cellWithheld(k) {
				continue
			}
			if s := clamp01(r.Shares[k]); s > bestShare {
				best, bestShare = k, s
			}
		}
		// A row withheld whole, or one whose every cell is withheld, shows nothing:
		// it is a withheld group, not a shown one.
		if best < 0 {
			withheld++
			continue
		}
		shown++
		top[best]++
	}
	var parts []string
	if shown > 0 {
		best := 0
		for k := range top {
			if top[k] > top[best] {
				best = k
			}
		}
		parts = append(parts, fmt.Sprintf("%q is the largest share in %d of %d %s shown", c.Categories[best], top[best], shown, plural(shown, "group", "groups")))
	}
	if withheld > 0 {
		parts = append(parts, fmt.Sprintf("%d %s withheld by the small-number rule", withheld, plural(withheld, "group is", "groups are")))
	}
	return strings.Join(parts, "; ") + "."
}
