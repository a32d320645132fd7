package chart

import (
	"fmt"
	"math"
	"strings"
)

// Trend is a line chart over whole-number x values (fieldwork days, for example), with
// events marked as labelled vertical lines (mailing days on a response-rate-by-day line).
type Trend struct {
	ID          string
	Title       string
	Description string
	XLabel      string // the x axis ("Fieldwork day")
	YLabel      string // the y axis ("Response rate")
	// Percent formats y values as percentages of proportions; otherwise as whole numbers.
	Percent bool
	// YMax fixes the top of the y axis; 0 picks a round value above the largest y.
	YMax   float64
	Series []Series
	Events []Event
	// Why is why the withheld points are withheld, as the gap's label, the table's
	// note and the summary say it; zero: BaseTooSmall(10).
	Why Withholding
}

func (c Trend) why() Withholding { return c.Why.orDefault() }

// Series is one line. Each series has its own colour, marker shape and dash pattern.
type Series struct {
	Name   string
	Points []Point
}

// Point is one value; a withheld point's Y is never read.
type Point struct {
	X        int
	Y        float64
	Withheld bool
}

// Event is a marked x position, such as a mailing day.
type Event struct {
	X     int
	Label string
}

const (
	trendLeft   = 44.0
	trendRight  = viewWidth - 8
	trendPlotH  = 180.0
	trendTopPad = 8.0
)

var dashes = []string{"", "6 3", "2 3", "8 3 2 3"}

// Render draws the chart and builds its table and summary.
func (c Trend) Render() Chart {
	minX, maxX, maxY := c.extent()
	yMax := c.YMax
	if yMax <= 0 {
		yMax = niceCeil(maxY, c.Percent)
	}
	return c.render(safeID(c.ID), minX, maxX, yMax)
}

func (c Trend) extent() (minX, maxX int, maxY float64) {
	first := true
	for _, s := range c.Series {
		for _, p := range s.Points {
			if first || p.X < minX {
				minX = p.X
			}
			if first || p.X > maxX {
				maxX = p.X
			}
			first = false
			if !p.Withheld && p.Y > maxY {
				maxY = p.Y
			}
		}
	}
	for _, e := range c.Events {
		if first || e.X < minX {
			minX = e.X
		}
		if first || e.X > maxX {
			maxX = e.X
		}
		first = false
	}
	if maxX == minX {
		maxX = minX + 1
	}
	return minX, maxX, maxY
}

// niceCeil is a round axis maximum at or above v: for proportions a multiple of 10%
// (at most 100%), for counts 1, 2 or 5 times a power of ten.
func niceCeil(v float64, percent bool) float64 {
	if percent {
		if v <= 0 {
			return 0.1
		}
		return math.Min(1, math.Ceil(v*10-1e-9)/10)
	}
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func (c Trend) format(y float64) string {
	if c.Percent {
		return Percent(y)
	}
	return fmt.Sprint(int64(math.Round(y)))
}

func (c Trend) render(id string, minX, maxX int, yMax float64) Chart {
	legendLines := 1
	if len(c.Series) > 1 {
		legendLines = 1 + (len(c.Series)-1)/2
	}
	legendH := float64(legendLines)*lineHeight + 6
	plotTop := legendH + trendTopPad + 14 // room for event labels
	plotBottom := plotTop + trendPlotH
	height := plotBottom + 40

	xOf := func(x int) float64 {
		return trendLeft + float64(x-minX)/float64(maxX-minX)*(trendRight-trendLeft)
	}
	yOf := func(y float64) float64 {
		return plotBottom - math.Max(0, math.Min(y, yMax))/yMax*trendPlotH
	}

	var w svgWriter
	w.open(id, height, c.Title, c.Description)
	w.hatch(id)

	// Legend: each series' line, marker and name; two to a line.
	w.printf(`<g class="ice-chart__legend">`)
	for i, s := range c.Series {
		lx := float64(i%2) * viewWidth / 2
		ly := float64(i/2)*lineHeight + 12
		w.printf(`<path d="M%s %sH%s" stroke="%s" stroke-width="2" fill="none"%s/>`, num(lx), num(ly-4), num(lx+22), seriesColour(i), dashAttr(i))
		seriesMarker(&w, i, lx+11, ly-4, seriesColour(i))
		w.text(lx+28, ly, smallFont, "start", NHSBlack, "", s.Name)
	}
	w.printf(`</g>`)

	// Axes and grid: y ticks at quarters of the axis maximum.
	w.printf(`<g class="ice-chart__grid">`)
	for i := 0; i <= 4; i++ {
		y := yMax * float64(i) / 4
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, num(trendLeft), num(yOf(y)), num(trendRight), num(yOf(y)), NHSPaleGrey)
		w.text(trendLeft-4, yOf(y)+4, smallFont, "end", NHSBlack, "", c.format(y))
	}
	w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, num(trendLeft), num(plotBottom), num(trendRight), num(plotBottom), NHSDarkGrey)
	for _, x := range xTicks(minX, maxX) {
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1"/>`, num(xOf(x)), num(plotBottom), num(xOf(x)), num(plotBottom+4), NHSDarkGrey)
		w.text(xOf(x), plotBottom+16, smallFont, "middle", NHSBlack, "", fmt.Sprint(x))
	}
	w.text((trendLeft+trendRight)/2, plotBottom+34, smallFont, "middle", NHSBlack, "", orDefault(c.XLabel, "Day"))
	w.printf(`</g>`)

	// Events: dashed vertical lines with a short label above the plot.
	for i, e := range c.Events {
		x := xOf(e.X)
		w.printf(`<g class="ice-chart__event"><title>%s</title>`, esc(fmt.Sprintf("%s (%s %d)", e.Label, strings.ToLower(orDefault(c.XLabel, "day")), e.X)))
		w.printf(`<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1" stroke-dasharray="3 3"/>`, num(x), num(plotTop-4), num(x), num(plotBottom), NHSDarkGrey)
		w.text(x, plotTop-8, smallFont, "middle", NHSBlack, "bold", eventTag(i))
		w.printf(`</g>`)
	}

	// Withheld points: a hatched band the width of a day, labelled, with a gap in the line.
	step := (trendRight - trendLeft) / float64(maxX-minX)
	for _, s := range c.Series {
		for _, p := range s.Points {
			if p.Withheld {
				bw := math.Max(4, step*0.8)
				w.gap(id, xOf(p.X)-bw/2, plotTop, bw, trendPlotH, c.why().Reason)
			}
		}
	}

	for i, s := range c.Series {
		colour := seriesColour(i)
		var d strings.Builder
		pen := false
		for _, p := range s.Points {
			if p.Withheld {
				pen = false
				continue
			}
			if pen {
				fmt.Fprintf(&d, "L%s %s", num(xOf(p.X)), num(yOf(p.Y)))
			} else {
				fmt.Fprintf(&d, "M%s %s", num(xOf(p.X)), num(yOf(p.Y)))
				pen = true
			}
		}
		w.printf(`<g class="ice-chart__series">`)
		if d.Len() > 0 {
			w.printf(`<path d="%s" stroke="%s" stroke-width="2" fill="none" stroke-linejoin="round"%s/>`, d.String(), colour, dashAttr(i))
		}
		// Markers only where there are few points, or at the last point.
		for j, p := range s.Points {
			if p.Withheld || len(s.Points) > 20 && j != len(s.Points)-1 {
				continue
			}
			seriesMarker(&w, i, xOf(p.X), yOf(p.Y), colour)
		}
		w.printf(`</g>`)
	}
	w.close()
	return Chart{ID: id, SVG: htmlOf(w), Table: c.table(id), Summary: c.summary()}
}

// eventTag is the short label drawn over an event line: A, B, C…; the table and the
// event's title give the full label.
func eventTag(i int) string {
	s := ""
	for i >= 0 {
		s = string(rune('A'+i%26)) + s
		i = i/26 - 1
	}
	return s
}

func dashAttr(i int) string {
	if d := dashes[i%len(dashes)]; d != "" {
		return fmt.Sprintf(` stroke-dasharray="%s"`, d)
	}
	return ""
}

// seriesMarker draws series i's marker shape: circle, square, triangle, diamond.
func seriesMarker(w *svgWriter, i int, x, y float64, colour string) {
	const r = 3.5
	switch i % 4 {
	case 0:
		w.printf(`<circle cx="%s" cy="%s" r="%s" fill="%s" stroke="%s" stroke-width="1"/>`, num(x), num(y), num(r), colour, NHSWhite)
	case 1:
		w.printf(`<rect x="%s" y="%s" width="%s" height="%s" fill="%s" stroke="%s" stroke-width="1"/>`, num(x-r), num(y-r), num(2*r), num(2*r), colour, NHSWhite)
	case 2:
		w.printf(`<path d="M%s %sL%s %sL%s %sZ" fill="%s" stroke="%s" stroke-width="1"/>`, num(x), num(y-r-1), num(x+r+1), num(y+r), num(x-r-1), num(y+r), colour, NHSWhite)
	default:
		w.printf(`<path d="M%s %sL%s %sL%s %sL%s %sZ" fill="%s" stroke="%s" stroke-width="1"/>`, num(x), num(y-r-1), num(x+r+1), num(y), num(x), num(y+r+1), num(x-r-1), num(y), colour, NHSWhite)
	}
}

// xTicks picks at most about eight whole-number ticks across [minX, maxX].
func xTicks(minX, maxX int) []int {
	span := maxX - minX
	step := 1
	for _, s := range []int{1, 2, 5, 7, 10, 14, 20, 28, 50, 100, 200, 500, 1000} {
		step = s
		if span/s <= 8 {
			break
		}
	}
	var ticks []int
	start := minX
	if r := minX % step; r != 0 {
		start = minX - r
		if start < minX {
			start += step
		}
	}
	for x := start; x <= maxX; x += step {
		ticks = append(ticks, x)
	}
	return ticks
}

func (c Trend) table(id string) Table {
	t := Table{ID: id + "-table", Caption: c.Title}
	t.Columns = []Column{{Label: orDefault(c.XLabel, "Day")}}
	for _, s := range c.Series {
		t.Columns = append(t.Columns, Column{Label: s.Name, Numeric: true})
	}
	if len(c.Events) > 0 {
		t.Columns = append(t.Columns, Column{Label: "Marked events"})
	}
	// One row per x value present in any series or event, ascending.
	xs := map[int]bool{}
	for _, s := range c.Series {
		for _, p := range s.Points {
			xs[p.X] = true
		}
	}
	for _, e := range c.Events {
		xs[e.X] = true
	}
	minX, maxX, _ := c.extent()
	for x := minX; x <= maxX; x++ {
		if !xs[x] {
			continue
		}
		row := []Cell{cell(fmt.Sprint(x))}
		for _, s := range c.Series {
			cl := cell("")
			for _, p := range s.Points {
				if p.X != x {
					continue
				}
				if p.Withheld {
					cl = withheldCell("withheld")
				} else {
					cl = cell(c.format(p.Y))
				}
			}
			row = append(row, cl)
		}
		if len(c.Events) > 0 {
			var labels []string
			for i, e := range c.Events {
				if e.X == x {
					labels = append(labels, eventTag(i)+": "+e.Label)
				}
			}
			row = append(row, cell(strings.Join(labels, "; ")))
		}
		t.Rows = append(t.Rows, row)
	}
	if t.HasWithheld() {
		t.Notes = append(t.Notes, c.why().Note)
	}
	return t
}

func (c Trend) summary() string {
	var parts []string
	for _, s := range c.Series {
		var first, last *Point
		withheld := 0
		for i := range s.Points {
			p := &s.Points[i]
			if p.Withheld {
				withheld++
				continue
			}
			if first == nil {
				first = p
			}
			last = p
		}
		switch {
		case first == nil:
			parts = append(parts, fmt.Sprintf("%s: every value withheld (%s)", s.Name, c.why().Summary))
		case first == last:
			parts = append(parts, fmt.Sprintf("%s: %s at %s %d", s.Name, c.format(first.Y), strings.ToLower(orDefault(c.XLabel, "day")), first.X))
		default:
			verb := "rose"
			if last.Y < first.Y {
				verb = "fell"
			} else if c.format(last.Y) == c.format(first.Y) {
				parts = append(parts, fmt.Sprintf("%s stayed at %s from %s %d to %d", s.Name, c.format(first.Y), strings.ToLower(orDefault(c.XLabel, "day")), first.X, last.X))
				break
			}
			parts = append(parts, fmt.Sprintf("%s %s from %s at %s %d to %s at %s %d", s.Name, verb, c.format(first.Y), strings.ToLower(orDefault(c.XLabel, "day")), first.X, c.format(last.Y), strings.ToLower(orDefault(c.XLabel, "day")), last.X))
		}
		if withheld > 0 && first != nil {
			parts[len(parts)-1] += fmt.Sprintf(" (%d %s withheld)", withheld, plural(withheld, "value", "values"))
		}
	}
	if len(parts) == 0 {
		return "There are no results to show."
	}
	s := strings.Join(parts, "; ")
	if len(c.Events) > 0 {
		var evs []string
		for i, e := range c.Events {
			evs = append(evs, fmt.Sprintf("%s %s (%d)", eventTag(i), e.Label, e.X))
		}
		s += "; marked: " + strings.Join(evs, ", ")
	}
	return s + "."
}
