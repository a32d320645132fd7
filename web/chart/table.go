package chart

import (
	"fmt"
	"html/template"
	"strings"
)

// Table is the accessible table behind a chart, and the exact content of its CSV and
// XLSX downloads: what the page shows is what the file holds.
type Table struct {
	// ID is the table's element id.
	ID string
	// Caption names the table (the chart's title).
	Caption string
	// Columns are the column headers; the first column holds row headers.
	Columns []Column
	Rows    [][]Cell
	// Notes explain marks used in the cells (for example the withheld mark).
	Notes []string
}

// Column is one column header.
type Column struct {
	Label   string
	Numeric bool // right-aligned, and a number where the cell is not withheld
}

// Cell is one table cell as shown.
type Cell struct {
	Text string
	// Withheld marks a cell whose value the suppression rules withhold: Text then says so
	// in words and holds no number.
	Withheld bool
}

// HTML renders the table in the NHS.UK design system's table markup: a caption, column
// headers with scope="col", and the first cell of each row as a row header.
func (t Table) HTML() template.HTML {
	var b strings.Builder
	// The container scrolls sideways on a narrow screen; it is a focusable, named region
	// so that keyboard users can scroll it too (WCAG 2.1.1). Its name is "Table: " and
	// the caption, not the caption alone: the section around it is a region named by its
	// heading, which is often the same sentence, and two regions of one name cannot be
	// told apart in a screen reader's list of landmarks.
	fmt.Fprintf(&b, `<div class="nhsuk-table-container ice-table" id="%s-container" role="region" aria-labelledby="%s-kind %s-caption" tabindex="0">`, t.ID, t.ID, t.ID)
	fmt.Fprintf(&b, `<span id="%s-kind" hidden="">Table:</span>`, t.ID)
	fmt.Fprintf(&b, `<table class="nhsuk-table" id="%s">`, t.ID)
	fmt.Fprintf(&b, `<caption class="nhsuk-table__caption nhsuk-table__caption--s" id="%s-caption">%s</caption>`, t.ID, esc(t.Caption))
	b.WriteString(`<thead class="nhsuk-table__head"><tr class="nhsuk-table__row">`)
	for _, c := range t.Columns {
		class := "nhsuk-table__header"
		if c.Numeric {
			class += " nhsuk-table__header--numeric"
		}
		fmt.Fprintf(&b, `<th class="%s" scope="col">%s</th>`, class, esc(c.Label))
	}
	b.WriteString(`</tr></thead><tbody class="nhsuk-table__body">`)
	for _, row := range t.Rows {
		b.WriteString(`<tr class="nhsuk-table__row">`)
		for i, c := range row {
			numeric := i < len(t.Columns) && t.Columns[i].Numeric
			if i == 0 {
				fmt.Fprintf(&b, `<th class="nhsuk-table__header" scope="row">%s</th>`, esc(c.Text))
				continue
			}
			class := "nhsuk-table__cell"
			if numeric {
				class += " nhsuk-table__cell--numeric"
			}
			if c.Withheld {
				class += " ice-table__withheld"
			}
			fmt.Fprintf(&b, `<td class="%s">%s</td>`, class, esc(c.Text))
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</tbody></table></div>`)
	for _, n := range t.Notes {
		fmt.Fprintf(&b, `<p class="nhsuk-body-s ice-table__note">%s</p>`, esc(n))
	}
	return template.HTML(b.String())
}

// Text returns the table as rows of strings: the header row first, then every row,
// exactly as the HTML shows them. Downloads are written from this.
func (t Table) Text() [][]string {
	out := make([][]string, 0, len(t.Rows)+1)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Label
	}
	out = append(out, head)
	for _, row := range t.Rows {
		r := make([]string, len(row))
		for i, c := range row {
			r[i] = c.Text
		}
		out = append(out, r)
	}
	return out
}

// HasWithheld reports whether any cell is withheld.
func (t Table) HasWithheld() bool {
	for _, row := range t.Rows {
		for _, c := range row {
			if c.Withheld {
				return true
			}
		}
	}
	return false
}

func cell(s string) Cell         { return Cell{Text: s} }
func withheldCell(s string) Cell { return Cell{Text: s, Withheld: true} }
