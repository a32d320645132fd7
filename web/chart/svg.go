package chart

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
)

// Chart is one rendered chart: the picture, the same numbers as a table, and a sentence.
type Chart struct {
	// ID is the safe id prefix every element id of this chart starts with.
	ID string
	// SVG is the <svg> element, ready to place in a page.
	SVG template.HTML
	// Table holds exactly the numbers the picture shows.
	Table Table
	// Summary is one sentence saying what the chart shows, in words.
	Summary string
}

// HTML is the chart as a <figure>: the SVG, the summary as its caption, then the table.
func (c Chart) HTML() template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<figure class="ice-chart" id="%s-figure">`, c.ID)
	b.WriteString(string(c.SVG))
	fmt.Fprintf(&b, `<figcaption class="nhsuk-body-s ice-chart__summary" id="%s-summary">%s</figcaption>`, c.ID, esc(c.Summary))
	b.WriteString(`</figure>`)
	b.WriteString(string(c.Table.HTML()))
	return template.HTML(b.String())
}

// DefaultWithheldReason is the label of a value withheld by the small-number rule.
const DefaultWithheldReason = "withheld: fewer than 10 responses"

// Comparison is how a value compares with its comparator (England excluding the ICS).
type Comparison int

const (
	// NoComparison: no comparison is made (a side withheld, or no comparator).
	NoComparison Comparison = iota
	Higher
	Lower
	Similar
)

// Word is the comparison in words, as the table and the summary say it.
func (c Comparison) Word() string {
	switch c {
	case Higher:
		return "higher"
	case Lower:
		return "lower"
	case Similar:
		return "similar"
	}
	return ""
}

// Preposition joins the comparison's word to what it compares with: "higher than",
// "similar to".
func (c Comparison) Preposition() string {
	if c == Similar {
		return "to"
	}
	return "than"
}

// Symbol is the comparison's shape as a text character (▲ ▼ ●), for tables and text.
func (c Comparison) Symbol() string {
	switch c {
	case Higher:
		return "▲"
	case Lower:
		return "▼"
	case Similar:
		return "●"
	}
	return ""
}

// Label is the symbol and the word together ("▲ higher"), never the colour alone.
func (c Comparison) Label() string {
	if c == NoComparison {
		return "no comparison"
	}
	return c.Symbol() + " " + c.Word()
}

// Percent formats a proportion (0–1) as a percentage with one decimal place, correctly
// rounded (PUBLICATION.md P: strconv.FormatFloat(x, 'f', 1, 64)).
func Percent(p float64) string { return strconv.FormatFloat(p*100, 'f', 1, 64) + "%" }

// num formats an SVG coordinate: at most two decimals, no trailing zeros, never "-0".
func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		x = 0
	}
	s := strconv.FormatFloat(math.Round(x*100)/100, 'f', -1, 64)
	if s == "-0" {
		return "0"
	}
	return s
}

// esc escapes text for both HTML and XML (SVG) contexts.
func esc(s string) string {
	return template.HTMLEscapeString(s)
}

// safeID keeps letters, digits, '-' and '_' of s (anything else becomes '-'), and starts
// it with a letter, so an id never breaks out of its attribute or collides with a CSS
// selector's syntax.
func safeID(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	id := b.String()
	if id == "" || !(id[0] >= 'a' && id[0] <= 'z' || id[0] >= 'A' && id[0] <= 'Z') {
		id = "c" + id
	}
	return id
}

// Text metrics: the charts estimate widths from a fixed average advance so that the
// layout is deterministic and independent of the fonts a browser has.
const (
	viewWidth   = 340.0 // the viewBox width every chart is drawn in: near 1:1 at 320 px
	fontSize    = 13.0
	smallFont   = 11.0
	charAdvance = 0.56 // average advance of a sans-serif character, in ems
	lineHeight  = 16.0
)

func textWidth(s string, size float64) float64 {
	return float64(len([]rune(s))) * size * charAdvance
}

// wrap breaks s into lines of at most width units at the given font size, at spaces
// (a single word longer than the width is kept whole on its own line).
func wrap(s string, width, size float64) []string {
	maxChars := int(width / (size * charAdvance))
	if maxChars < 8 {
		maxChars = 8
	}
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	line := words[0]
	for _, w := range words[1:] {
		if len([]rune(line))+1+len([]rune(w)) > maxChars {
			lines = append(lines, line)
			line = w
			continue
		}
		line += " " + w
	}
	return append(lines, line)
}

// svgWriter accumulates an SVG document.
type svgWriter struct {
	b strings.Builder
}

func (w *svgWriter) printf(format string, args ...any) { fmt.Fprintf(&w.b, format, args...) }

// open writes the <svg> start tag with its accessible name and description.
func (w *svgWriter) open(id string, height float64, title, desc string) {
	w.printf(`<svg xmlns="http://www.w3.org/2000/svg" class="ice-chart__svg" id="%s" viewBox="0 0 %s %s" width="100%%" role="img" aria-labelledby="%s-title %s-desc" focusable="false">`,
		id, num(viewWidth), num(height), id, id)
	w.printf(`<title id="%s-title">%s</title>`, id, esc(title))
	w.printf(`<desc id="%s-desc">%s</desc>`, id, esc(desc))
}

func (w *svgWriter) close() { w.b.WriteString(`</svg>`) }

// text writes a text element; anchor is "start", "middle" or "end".
func (w *svgWriter) text(x, y float64, size float64, anchor, fill, weight, s string) {
	attrs := ""
	if anchor != "" && anchor != "start" {
		attrs += fmt.Sprintf(` text-anchor="%s"`, anchor)
	}
	if weight != "" {
		attrs += fmt.Sprintf(` font-weight="%s"`, weight)
	}
	w.printf(`<text x="%s" y="%s" font-size="%s" fill="%s"%s>%s</text>`, num(x), num(y), num(size), fill, attrs, esc(s))
}

// marker draws a comparison's shape centred at (x, y): ▲ higher, ▼ lower, ● similar.
func (w *svgWriter) marker(c Comparison, x, y, r float64, fill string) {
	switch c {
	case Higher:
		w.printf(`<path d="M%s %sL%s %sL%s %sZ" fill="%s"/>`, num(x), num(y-r), num(x+r), num(y+r*0.8), num(x-r), num(y+r*0.8), fill)
	case Lower:
		w.printf(`<path d="M%s %sL%s %sL%s %sZ" fill="%s"/>`, num(x), num(y+r), num(x+r), num(y-r*0.8), num(x-r), num(y-r*0.8), fill)
	case Similar:
		w.printf(`<circle cx="%s" cy="%s" r="%s" fill="%s"/>`, num(x), num(y), num(r*0.8), fill)
	}
}

// hatch defines the diagonal pattern that fills a withheld gap.
func (w *svgWriter) hatch(id string) {
	w.printf(`<defs><pattern id="%s-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="%s"/><line x1="0" y1="0" x2="0" y2="6" stroke="%s" stroke-width="2"/></pattern></defs>`,
		id, NHSWhite, NHSMidGrey)
}

// gap draws a labelled withheld gap: a hatched, outlined box with the reason written in it.
func (w *svgWriter) gap(id string, x, y, width, height float64, reason string) {
	w.printf(`<g class="ice-chart__withheld"><title>%s</title>`, esc(reason))
	w.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="url(#%s-hatch)" stroke="%s" stroke-dasharray="4 3"/>`,
		num(x), num(y), num(width), num(height), id, NHSDarkGrey)
	label := reason
	if textWidth(label, smallFont)+8 > width {
		label = "withheld"
	}
	// The label sits on a white plate so the hatching never runs through the letters.
	tw := textWidth(label, smallFont) + 8
	w.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>`, num(x+4), num(y+height/2-smallFont/2-2), num(tw), num(smallFont+4), NHSWhite)
	w.text(x+8, y+height/2+smallFont/2-1.5, smallFont, "start", NHSBlack, "", label)
	w.b.WriteString(`</g>`)
}

func clamp01(x float64) float64 {
	if math.IsNaN(x) || x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

func htmlOf(w svgWriter) template.HTML { return template.HTML(w.b.String()) }
