package publication

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"icesurvey/codes"
	"icesurvey/disclosure"
	"icesurvey/internal/csvcell"
	"icesurvey/schemas"
)

// The files for people (results.csv, distributions.csv, response_rates.csv and the
// workbook) show what the Parquet files hold in the GP Patient Survey's shape:
// percentages to one decimal place, the base, the interval and a status mark. A
// withheld figure shows its mark (B, P or S) in its place; a base withheld because it
// is too small shows as "<10". Each ICS is named beside its code (ics_name, from
// schemas.ICSNames; empty for England and for a code the table does not know), as
// people know it; the Parquet files keep the code alone.

// cell is one value for people: text, or a number already rounded for display (s
// holds its digits; a sheet stores the number they read as).
type cell struct {
	s   string
	num bool
}

func text(s string) cell { return cell{s: s} }

// formatPct formats a percentage for people: one decimal place, correctly rounded
// (PUBLICATION.md §P).
func formatPct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// pctCell is a percentage rounded to one decimal place, correctly (FormatFloat).
func pctCell(v float64) cell { return cell{s: formatPct(v), num: true} }

func intCell(n int64) cell { return cell{s: strconv.FormatInt(n, 10), num: true} }

// roundCell is a number rounded to d decimal places.
func roundCell(v float64, d int) cell { return cell{s: strconv.FormatFloat(v, 'f', d, 64), num: true} }

// number is the value a sheet stores for a numeric cell: the rounded digits read back.
func (c cell) number() float64 {
	f, _ := strconv.ParseFloat(c.s, 64)
	return f
}

// figureCell shows a published figure, or its mark in its place.
func figureCell(f Figure, st disclosure.Status, format func(float64) cell) cell {
	if v, ok := f.Value(); ok {
		return format(v)
	}
	return text(st.String())
}

// labels looks up the names people read.
type labels struct {
	questions map[[2]string]*QuestionInfo
	minBase   int
}

func newLabels(r *Results) *labels {
	l := &labels{questions: map[[2]string]*QuestionInfo{}, minBase: r.params.Disclosure.MinBase}
	for i := range r.questions {
		q := &r.questions[i]
		l.questions[[2]string{q.RespondentType, q.ID}] = q
	}
	return l
}

func (l *labels) question(typ, id string) string {
	if q := l.questions[[2]string{typ, id}]; q != nil {
		return q.Text
	}
	return ""
}

func (l *labels) option(typ, id, code string) string {
	if q := l.questions[[2]string{typ, id}]; q != nil {
		for _, o := range q.Options {
			if o.Code == code {
				return o.Label
			}
		}
	}
	return ""
}

func geographyName(g string) string {
	if g == GeographyEngland {
		return "England"
	}
	return "ICS"
}

func groupCells(gvar, glevel string) (breakdown, group, name cell) {
	if gvar == GroupAll {
		return text(""), text(""), text("")
	}
	return text(gvar), text(glevel), text(codes.BreakdownLevelName(gvar, glevel))
}

// definition says which answers a result's % positive counts and which it leaves out
// of the base (PUBLICATION.md E1, E2), each as "code: label" joined by "; ": without it
// a reader cannot tell what the percentage is of (C_OWN_HEALTH_AFFECTED's positive
// answer is "No"). A multi-choice option's measure counts that option alone.
func (l *labels) definition(x *ResultRow) (positive, excluded string) {
	named := func(codes []string) string {
		parts := make([]string, len(codes))
		for i, c := range codes {
			parts[i] = c
			if lab := l.option(x.RespondentType, x.QuestionID, c); lab != "" {
				parts[i] += ": " + lab
			}
		}
		return strings.Join(parts, "; ")
	}
	return named(x.PositiveCodes), named(x.ExcludedCodes)
}

var resultsHeader = []string{"respondents", "question_id", "question", "measure", "measure_label", "positive_answers", "excluded_from_base",
	"geography", "ics", "ics_name", "breakdown", "group", "group_name",
	"pct_positive", "ci_lower", "ci_upper", "base", "effective_base", "vs_england_excluding_ics", "mark", "weighting"}

// resultCells appends a result row's cells to dst.
func (l *labels) resultCells(dst []cell, x *ResultRow) []cell {
	breakdown, group, name := groupCells(x.GroupVariable, x.GroupLevel)
	base := text(x.Status.String())
	if n, ok := x.BaseUnweighted.Value(); ok {
		base = intCell(n)
	} else if x.Status == disclosure.BaseTooSmall {
		base = text("<" + strconv.Itoa(l.minBase))
	}
	measureLabel := ""
	if x.Measure != "" {
		measureLabel = l.option(x.RespondentType, x.QuestionID, x.Measure)
	}
	positive, excluded := l.definition(x)
	return append(dst, text(x.RespondentType), text(x.QuestionID), text(l.question(x.RespondentType, x.QuestionID)), text(x.Measure), text(measureLabel),
		text(positive), text(excluded), text(geographyName(x.Geography)), text(x.ICS), text(schemas.ICSName(x.ICS)), breakdown, group, name,
		figureCell(x.PctPositive, x.Status, pctCell), figureCell(x.CILower, x.Status, pctCell), figureCell(x.CIUpper, x.Status, pctCell),
		base, figureCell(x.NEff, x.Status, func(v float64) cell { return roundCell(v, 0) }),
		text(string(x.VsEngland)), text(x.Status.String()), text(x.WeightingStatus))
}

// distributionsHeader: the question's text is in results.csv and the workbook, not
// repeated on each of a question's hundreds of rows here.
var distributionsHeader = []string{"respondents", "question_id", "option_code", "option", "geography", "ics", "ics_name", "breakdown", "group", "group_name",
	"pct", "count", "mark", "weighting"}

// countsPublished reports whether a distribution row is of a kind whose counts are
// published (an ICS's own row; England's where the release publishes its counts).
func countsPublished(r *Results, x *DistributionRow) bool {
	if x.Geography == GeographyEngland {
		return x.RespondentType != "patient" || r.params.EnglandCounts
	}
	return x.GroupVariable == GroupAll
}

// distributionCells appends a distribution row's cells to dst.
func (l *labels) distributionCells(dst []cell, r *Results, x *DistributionRow) []cell {
	breakdown, group, name := groupCells(x.GroupVariable, x.GroupLevel)
	n := text("")
	if v, ok := x.CountUnweighted.Value(); ok {
		n = intCell(v)
	} else if countsPublished(r, x) {
		n = text(x.Status.String())
	}
	return append(dst, text(x.RespondentType), text(x.QuestionID), text(x.OptionCode),
		text(l.option(x.RespondentType, x.QuestionID, x.OptionCode)), text(geographyName(x.Geography)), text(x.ICS), text(schemas.ICSName(x.ICS)), breakdown, group, name,
		figureCell(x.PctWeighted, x.Status, pctCell), n, text(x.Status.String()), text(x.WeightingStatus))
}

var ratesHeader = []string{"geography", "ics", "ics_name", "sampled", "completed", "not_reached", "not_responded",
	"response_rate", "adjusted_response_rate", "mark"}

// rateCells appends a response-rate row's cells to dst.
func rateCells(dst []cell, x *ResponseRateRow) []cell {
	out := append(dst, text(geographyName(x.Geography)), text(x.ICS), text(schemas.ICSName(x.ICS)))
	if n, ok := x.Sampled.Value(); ok {
		out = append(out, intCell(n))
	} else {
		out = append(out, text(x.Status.String()))
	}
	for j, c := range x.Groups {
		if n, ok := c.Value(); ok {
			out = append(out, intCell(n))
		} else {
			out = append(out, text(x.GroupStatus[j].String()))
		}
	}
	return append(out, figureCell(x.ResponseRate, x.Status, pctCell), figureCell(x.AdjustedResponseRate, x.Status, pctCell), text(x.Status.String()))
}

// encodeCSV writes a CSV file: the header, then n rows of cells (row appends row i's
// to dst), as encoding/csv writes them (appendCSV), no text cell a formula.
func encodeCSV(header []string, n int, row func(dst []cell, i int) []cell) []byte {
	buf := make([]byte, 0, 128*(n+1))
	cs := make([]cell, 0, len(header))
	for _, h := range header {
		cs = append(cs, text(h))
	}
	buf = appendCSV(buf, cs)
	for i := range n {
		cs = row(cs[:0], i)
		for j := range cs {
			// Text that a spreadsheet would run as a formula starts with an apostrophe
			// (csvcell): the files are for people, and a definition's text is text.
			if !cs[j].num {
				cs[j].s = csvcell.Inert(cs[j].s)
			}
		}
		buf = appendCSV(buf, cs)
	}
	return buf
}

// appendCSV appends one record of cells to buf exactly as encoding/csv's Writer
// writes it (comma-separated, "\n" line ends), without its copies through a bufio
// writer: a field is quoted when it holds a comma, quote, CR or LF, is `\.` or starts
// with white space, and a quote inside is doubled. TestAppendCSVMatchesEncodingCSV
// holds the two to the same bytes.
func appendCSV(buf []byte, cs []cell) []byte {
	for i, c := range cs {
		if i > 0 {
			buf = append(buf, ',')
		}
		f := c.s
		if !csvNeedsQuotes(f) {
			buf = append(buf, f...)
			continue
		}
		buf = append(buf, '"')
		for f != "" {
			j := strings.IndexByte(f, '"')
			if j < 0 {
				buf = append(buf, f...)
				break
			}
			buf = append(buf, f[:j+1]...)
			buf = append(buf, '"')
			f = f[j+1:]
		}
		buf = append(buf, '"')
	}
	return append(buf, '\n')
}

// csvNeedsQuotes is encoding/csv's Writer.fieldNeedsQuotes for a comma separator.
func csvNeedsQuotes(f string) bool {
	if f == "" {
		return false
	}
	if f == `\.` {
		return true
	}
	for i := 0; i < len(f); i++ {
		if c := f[i]; c == '\n' || c == '\r' || c == '"' || c == ',' {
			return true
		}
	}
	r, _ := utf8.DecodeRuneInString(f)
	return unicode.IsSpace(r)
}

func resultsCSV(r *Results) ([]byte, error) {
	l := newLabels(r)
	return encodeCSV(resultsHeader, len(r.results), func(dst []cell, i int) []cell { return l.resultCells(dst, &r.results[i]) }), nil
}

func distributionsCSV(r *Results) ([]byte, error) {
	l := newLabels(r)
	return encodeCSV(distributionsHeader, len(r.dists), func(dst []cell, i int) []cell { return l.distributionCells(dst, r, &r.dists[i]) }), nil
}

func ratesCSV(r *Results) ([]byte, error) {
	return encodeCSV(ratesHeader, len(r.rates), func(dst []cell, i int) []cell { return rateCells(dst, &r.rates[i]) }), nil
}

// humanHeader turns a CSV header into a sheet's column titles.
func humanHeader(h []string) []string {
	out := make([]string, len(h))
	for i, s := range h {
		words := strings.Split(s, "_")
		for j, w := range words {
			switch w {
			case "ics":
				words[j] = "ICS" // an initialism, as the pages write it
			case "england":
				words[j] = "England"
			}
		}
		s = strings.Join(words, " ")
		out[i] = strings.ToUpper(s[:1]) + s[1:]
	}
	return out
}
