package chart

import (
	"bytes"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Fixtures: one of each chart kind, with withheld values, caution marks and labels that
// need escaping.
func barsFixture() IntervalBars {
	return IntervalBars{
		ID:              "theme-admin",
		Title:           "Care administration: % positive, QMM against England excluding QMM",
		Description:     "Each question's percentage of positive answers in QMM with its 95% confidence interval, and England excluding QMM.",
		ComparatorLabel: "England excluding QMM",
		Bars: []Bar{
			{Label: "Ease of getting through to the GP practice", Value: 0.6234, Lower: 0.59, Upper: 0.655, Base: 812, Comparator: 0.58, HasComparator: true, Compare: Higher},
			{Label: "Told who to contact about care <& \"quotes\">", Value: 0.4412, Lower: 0.39, Upper: 0.49, Base: 25, Caution: true, Comparator: 0.51, HasComparator: true, Compare: Lower},
			{Label: "Enough support from local services", Value: 0.7001, Lower: 0.67, Upper: 0.73, Base: 640, Comparator: 0.69, HasComparator: true, Compare: Similar},
			{Label: "A question answered by very few people", Value: 0.8765, Lower: 0.5, Upper: 0.95, Base: 7, Withheld: true, Comparator: 0.6, HasComparator: true},
		},
	}
}

func stackedFixture() Stacked {
	return Stacked{
		ID:          "dist-access",
		Title:       "How easy was it to get through? Answers by age band",
		Description: "The share of each answer in each age band.",
		Categories:  []string{"Very easy", "Fairly easy", "Not very easy", "Not at all easy"},
		LabelHeader: "Age band",
		Rows: []StackedRow{
			{Label: "65–74", Shares: []float64{0.31, 0.42, 0.17, 0.10}, Counts: []int{62, 84, 34, 20}},
			{Label: "75–84", Shares: []float64{0.5, 0.3, 0.1337, 0.0663}, Counts: []int{60, 36, 3, 8}, CellWithheld: []bool{false, false, true, true}},
			{Label: "85+", Shares: []float64{0.9111, 0.0889, 0, 0}, Counts: []int{8, 1, 0, 0}, Withheld: true},
		},
	}
}

func trendFixture() Trend {
	return Trend{
		ID:          "rr-by-day",
		Title:       "Response rate by fieldwork day",
		Description: "Cumulative response rate on each day of fieldwork, with the mailing days marked.",
		XLabel:      "Fieldwork day",
		Percent:     true,
		Series: []Series{
			{Name: "QMM", Points: []Point{{X: 0, Y: 0}, {X: 3, Y: 0.05}, {X: 7, Y: 0.12}, {X: 14, Y: 0.18}, {X: 17, Y: 0.23}, {X: 28, Y: 0.31}, {X: 31, Y: 0.3555, Withheld: true}, {X: 56, Y: 0.41}}},
			{Name: "England", Points: []Point{{X: 0, Y: 0}, {X: 3, Y: 0.04}, {X: 7, Y: 0.1}, {X: 14, Y: 0.16}, {X: 17, Y: 0.2}, {X: 28, Y: 0.3}, {X: 31, Y: 0.33, Withheld: false}, {X: 56, Y: 0.4}}},
		},
		Events: []Event{{0, "Invitation letter"}, {14, "Reminder letter 1"}, {28, "Reminder 2 with paper questionnaire"}},
	}
}

func multiplesFixture() Multiples {
	a := trendFixture()
	a.Title, a.Series = "QMM", a.Series[:1]
	b := trendFixture()
	b.Title, b.Series = "QJK", []Series{{Name: "QJK", Points: []Point{{X: 0, Y: 0}, {X: 14, Y: 0.2}, {X: 56, Y: 0.5}}}}
	return Multiples{ID: "rr-multiples", Title: "Response rate by day, each ICS", Trends: []Trend{a, b}}
}

func renderAll() map[string]Chart {
	m := multiplesFixture().Render()
	out := map[string]Chart{
		"bars":    barsFixture().Render(),
		"stacked": stackedFixture().Render(),
		"trend":   trendFixture().Render(),
	}
	for i, p := range m.Panels {
		out["multiples-"+string(rune('1'+i))] = p
	}
	return out
}

func TestGolden(t *testing.T) {
	for name, c := range renderAll() {
		got := string(c.HTML())
		path := filepath.Join("testdata", name+".golden.html")
		if *update {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v (run go test ./web/chart -update)", name, err)
		}
		if got != string(want) {
			t.Errorf("%s: output differs from %s (run with -update after checking the change)", name, path)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := renderAll(), renderAll()
	for name := range a {
		if a[name].HTML() != b[name].HTML() || a[name].Summary != b[name].Summary {
			t.Errorf("%s: two renders differ", name)
		}
	}
}

// wellFormed parses s as XML, failing on any syntax error.
func wellFormed(t *testing.T, name, s string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v", name, err)
		}
	}
}

func TestWellFormedAndAccessible(t *testing.T) {
	for name, c := range renderAll() {
		svg := string(c.SVG)
		wellFormed(t, name+" svg", svg)
		wellFormed(t, name+" figure", "<root>"+string(c.HTML())+"</root>")
		for _, want := range []string{
			`role="img"`, `aria-labelledby="` + c.ID + `-title ` + c.ID + `-desc"`,
			`<title id="` + c.ID + `-title">`, `<desc id="` + c.ID + `-desc">`,
			`viewBox="0 0 340 `, `width="100%"`,
		} {
			if !strings.Contains(svg, want) {
				t.Errorf("%s: SVG lacks %s", name, want)
			}
		}
		if strings.Contains(svg, "style=") || strings.Contains(svg, "<script") {
			t.Errorf("%s: SVG has an inline style or script, which the CSP forbids", name)
		}
		if regexp.MustCompile(`<svg[^>]* height=`).MatchString(svg) {
			t.Errorf("%s: SVG has a fixed height", name)
		}
		if c.Summary == "" || strings.Count(c.Summary, ". ") > 0 || !strings.HasSuffix(c.Summary, ".") {
			t.Errorf("%s: summary is not one sentence: %q", name, c.Summary)
		}
		if len(c.Table.Rows) == 0 || !strings.Contains(string(c.Table.HTML()), `scope="col"`) || !strings.Contains(string(c.Table.HTML()), `scope="row"`) {
			t.Errorf("%s: table lacks rows or header scopes", name)
		}
	}
}

func TestEscaping(t *testing.T) {
	c := barsFixture().Render()
	h := string(c.HTML())
	if strings.Contains(h, `<& "quotes">`) {
		t.Fatal("a label reached the output unescaped")
	}
	if !strings.Contains(h, "&lt;&amp; &#34;quotes&#34;&gt;") {
		t.Fatal("the escaped label is missing")
	}
	evil := IntervalBars{ID: `x" onload="alert(1)`, Title: `</title><script>alert(1)</script>`, Bars: []Bar{{Label: "a"}}}
	out := string(evil.Render().HTML())
	wellFormed(t, "evil", "<root>"+out+"</root>")
	if strings.Contains(out, "<script>") || strings.Contains(out, `" onload="`) {
		t.Fatalf("unsafe id or title leaked: %s", out[:200])
	}
}

// A withheld value must never appear as a number: the renderers must not read it. Two
// renders whose withheld items hold different numbers must be byte-identical, and the
// distinctive numbers must appear nowhere.
func TestWithheldNeverShown(t *testing.T) {
	b1, b2 := barsFixture(), barsFixture()
	b2.Bars[3].Value, b2.Bars[3].Lower, b2.Bars[3].Upper, b2.Bars[3].Base = 0.1234, 0.05, 0.2, 3
	s1, s2 := stackedFixture(), stackedFixture()
	s2.Rows[1].Shares[2], s2.Rows[1].Shares[3] = 0.0111, 0.1889 // same sum, other split
	s2.Rows[2].Shares, s2.Rows[2].Counts = []float64{0.2222, 0.7778, 0, 0}, []int{2, 7, 0, 0}
	t1, t2 := trendFixture(), trendFixture()
	t2.Series[0].Points[6].Y = 0.2777
	pairs := []struct {
		name   string
		a, b   Chart
		secret []string
	}{
		{"bars", b1.Render(), b2.Render(), []string{"87.7", "87.6", "95.0", "50.0%", "12.3"}},
		{"stacked", s1.Render(), s2.Render(), []string{"13.4", "6.6", "91.1", "8.9%", "1.1%", "18.9", "22.2", "77.8"}},
		{"trend", t1.Render(), t2.Render(), []string{"35.6", "27.8"}},
	}
	for _, p := range pairs {
		if p.a.HTML() != p.b.HTML() || p.a.Summary != p.b.Summary {
			t.Errorf("%s: a withheld value changed the output", p.name)
		}
		all := string(p.a.HTML()) + p.a.Summary + string(p.b.HTML()) + p.b.Summary
		for _, s := range p.secret {
			if strings.Contains(all, s) {
				t.Errorf("%s: withheld number %s appears in the output", p.name, s)
			}
		}
		if !strings.Contains(string(p.a.SVG), "withheld") {
			t.Errorf("%s: no labelled withheld gap in the SVG", p.name)
		}
		for _, row := range p.a.Table.Rows {
			for _, c := range row {
				if c.Withheld && regexp.MustCompile(`[0-9]`).MatchString(strings.ReplaceAll(c.Text, "fewer than 10", "")) {
					t.Errorf("%s: withheld cell holds a number: %q", p.name, c.Text)
				}
			}
		}
	}
	// The withheld bar is drawn as a gap, never as a zero-width bar.
	svg := string(b1.Render().SVG)
	if !strings.Contains(svg, DefaultWithheldReason) {
		t.Error("the withheld bar's gap is not labelled with the reason")
	}
}

func TestComparisonInWordsAndShapes(t *testing.T) {
	c := barsFixture().Render()
	table := string(c.Table.HTML())
	for _, want := range []string{"▲ higher", "▼ lower", "● similar", "no comparison"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	// Shapes in the SVG: two triangles (higher, lower) and a circle per legend and bar.
	if n := strings.Count(string(c.SVG), "<circle"); n != 2 {
		t.Errorf("want 2 circles (legend and one similar bar), have %d", n)
	}
	if c.Summary != "Of 4 results: 1 higher than England excluding QMM, 1 lower and 1 similar; 1 withheld (fewer than 10 responses)." {
		t.Errorf("summary: %q", c.Summary)
	}
}

func TestTableMatchesPicture(t *testing.T) {
	c := barsFixture().Render()
	rows := c.Table.Text()
	if rows[1][1] != "62.3%" || rows[2][1] != "44.1%†" || rows[1][2] != "59.0% to 65.5%" || rows[1][3] != "58.0%" {
		t.Errorf("table rows: %q", rows[1:3])
	}
	// Every published value in the table is also written in the picture.
	for _, row := range c.Table.Rows {
		if !row[1].Withheld && !strings.Contains(string(c.SVG), row[1].Text) {
			t.Errorf("value %s in the table is not in the SVG", row[1].Text)
		}
	}
	tr := trendFixture().Render()
	if got := tr.Table.Text(); got[0][0] != "Fieldwork day" || got[len(got)-1][1] != "41.0%" {
		t.Errorf("trend table: %q", got)
	}
	if tr.Summary != "QMM rose from 0.0% at fieldwork day 0 to 41.0% at fieldwork day 56 (1 value withheld); England rose from 0.0% at fieldwork day 0 to 40.0% at fieldwork day 56; marked: A Invitation letter (0), B Reminder letter 1 (14), C Reminder 2 with paper questionnaire (28)." {
		t.Errorf("trend summary: %q", tr.Summary)
	}
}

func TestMultiplesShareScales(t *testing.T) {
	m := multiplesFixture().Render()
	if len(m.Panels) != 2 {
		t.Fatalf("want 2 panels, have %d", len(m.Panels))
	}
	// Both panels' y axes top out at the same value (50%, from the QJK panel).
	for i, p := range m.Panels {
		if !strings.Contains(string(p.SVG), ">50.0%</text>") {
			t.Errorf("panel %d does not share the 50%% y maximum", i+1)
		}
	}
	if m.Panels[0].ID == m.Panels[1].ID {
		t.Error("panels share an id")
	}
	wellFormed(t, "multiples", "<root>"+string(m.HTML())+"</root>")
}

func TestPaletteContrast(t *testing.T) {
	for _, c := range append(append([]string{}, seriesColours...), NHSBlue, NHSDarkPink, NHSDarkGrey, NHSMidGrey) {
		if r := contrast(c, NHSWhite); r < 3 {
			t.Errorf("%s on white: %.2f:1, below 3:1 for graphics", c, r)
		}
	}
	for _, c := range []string{NHSBlack, NHSDarkGrey} {
		if r := contrast(c, NHSWhite); r < 4.5 {
			t.Errorf("text colour %s on white: %.2f:1, below 4.5:1", c, r)
		}
	}
	for _, c := range seriesColours {
		if r := contrast(c, textOn(c)); r < 4.5 {
			t.Errorf("label on %s: %.2f:1, below 4.5:1", c, r)
		}
	}
	if r := contrast("#000000", "#ffffff"); r < 20.9 || r > 21.1 {
		t.Errorf("black on white should be 21:1, have %.2f", r)
	}
}

func TestWrapAndNumbers(t *testing.T) {
	lines := wrap("one two three four five six seven eight nine ten eleven twelve", 100, 13)
	for _, l := range lines {
		if len(l) > 14 {
			t.Errorf("line too long: %q", l)
		}
	}
	if strings.Join(lines, " ") != "one two three four five six seven eight nine ten eleven twelve" {
		t.Errorf("wrap lost words: %q", lines)
	}
	for in, want := range map[float64]string{0: "0", -0.001: "0", 1.005: "1", 12.345: "12.35", 3: "3"} {
		if got := num(in); got != want && !(in == 1.005 && got == "1.01") && !(in == 12.345 && got == "12.34") {
			t.Errorf("num(%v) = %s, want %s", in, got, want)
		}
	}
	if Percent(0.1235) != "12.3%" && Percent(0.1235) != "12.4%" {
		t.Errorf("Percent: %s", Percent(0.1235))
	}
	if got := safeID("1 a<b>"); got != "c1-a-b-" {
		t.Errorf("safeID: %q", got)
	}
	if got := xTicks(0, 56); len(got) == 0 || got[0] != 0 || got[len(got)-1] > 56 {
		t.Errorf("xTicks: %v", got)
	}
	var buf bytes.Buffer
	buf.WriteString(eventTag(0) + eventTag(25) + eventTag(26))
	if buf.String() != "AZAA" {
		t.Errorf("eventTag: %q", buf.String())
	}
}

func TestMultiplesOfBars(t *testing.T) {
	a, b := barsFixture(), barsFixture()
	a.Title, b.Title = "Question one", "Question two"
	m := Multiples{ID: "by-age", Title: "By age band", Bars: []IntervalBars{a, b}}.Render()
	if len(m.Panels) != 2 || m.Panels[0].ID != "by-age-1" || m.Panels[1].ID != "by-age-2" {
		t.Fatalf("panels: %d", len(m.Panels))
	}
	if !strings.HasPrefix(m.Summary, "Question one: Of 4 results") || !strings.Contains(m.Summary, "; Question two: Of 4 results") {
		t.Errorf("summary: %q", m.Summary)
	}
	if strings.Contains(string(m.HTML()), `id="theme-admin`) {
		t.Error("a panel kept its own chart's id instead of the set's")
	}
	if (Multiples{ID: "x"}).Render().Summary != "There are no results to show." {
		t.Error("empty multiples summary")
	}
}

// The stacked chart's summary counts a group as shown only when one of its cells is:
// a row whose every cell is withheld (the practice chart's small practices) is a
// withheld group, as a row withheld whole is.
func TestStackedSummaryCounts(t *testing.T) {
	cats := []string{"Completed", "Not yet completed"}
	open := func(label string, a, b float64) StackedRow {
		return StackedRow{Label: label, Shares: []float64{a, b}}
	}
	allCells := func(label string) StackedRow {
		return StackedRow{Label: label, Shares: []float64{0.4, 0.6}, CellWithheld: []bool{true, true}}
	}
	whole := func(label string) StackedRow {
		return StackedRow{Label: label, Shares: []float64{0.4, 0.6}, Withheld: true}
	}
	cases := []struct {
		name string
		rows []StackedRow
		want string
	}{
		{"all shown", []StackedRow{open("A", 0.3, 0.7), open("B", 0.6, 0.4)},
			`"Completed" is the largest share in 1 of 2 groups shown.`},
		{"rows withheld whole", []StackedRow{open("A", 0.3, 0.7), whole("B"), whole("C")},
			`"Not yet completed" is the largest share in 1 of 1 group shown; 2 groups are withheld by the small-number rule.`},
		{"rows with every cell withheld", []StackedRow{open("A", 0.3, 0.7), open("B", 0.2, 0.8), allCells("C"), allCells("D"), whole("E")},
			`"Not yet completed" is the largest share in 2 of 2 groups shown; 3 groups are withheld by the small-number rule.`},
		{"one cell withheld is still shown", []StackedRow{{Label: "A", Shares: []float64{0.3, 0.7}, CellWithheld: []bool{false, true}}},
			`"Completed" is the largest share in 1 of 1 group shown.`},
		{"nothing shown", []StackedRow{allCells("A"), whole("B")},
			`2 groups are withheld by the small-number rule.`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Stacked{ID: "s", Categories: cats, Rows: c.rows}.Render().Summary
			if got != c.want {
				t.Errorf("summary %q, want %q", got, c.want)
			}
		})
	}
}

// A withheld bar says why it is withheld — base too small (with the configured
// threshold), a small count, or secondary suppression — in its gap, its table row,
// the table's notes and the summary; and its base cell shows the base only where the
// release publishes it.
func TestWithheldBarSaysWhy(t *testing.T) {
	cases := []struct {
		name    string
		bar     Bar
		value   string // the value cell
		base    string // the base cell
		note    string // in the notes
		summary string // in the summary
		mustNot []string
	}{
		{"base too small, default threshold", Bar{Label: "Q", Withheld: true, Why: BaseTooSmall(10)},
			"withheld: fewer than 10 responses", "fewer than 10", "fewer than 10 responses", "1 withheld (fewer than 10 responses)", []string{"secondary"}},
		{"base too small, threshold 20", Bar{Label: "Q", Withheld: true, Why: BaseTooSmall(20)},
			"withheld: fewer than 20 responses", "fewer than 20", "fewer than 20 responses", "1 withheld (fewer than 20 responses)", []string{"fewer than 10", "secondary"}},
		{"primary", Bar{Label: "Q", Withheld: true, Why: SmallCount(5)},
			"withheld: a small count (primary suppression)", "withheld", "a count of 1 to 4", "1 withheld (a small count)", []string{"fewer than", "secondary"}},
		{"secondary, base published", Bar{Label: "Q", Withheld: true, Why: SecondarySuppression(), Base: 42, BaseShown: true},
			"withheld: would reveal another withheld figure (secondary suppression)", "42", "not because its own base is small", "1 withheld (to protect another withheld figure)", []string{"fewer than"}},
		{"secondary, base withheld", Bar{Label: "Q", Withheld: true, Why: SecondarySuppression(), Base: 7777},
			"withheld: would reveal another withheld figure (secondary suppression)", "withheld", "secondary suppression", "1 withheld (to protect another withheld figure)", []string{"fewer than", "7777"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := IntervalBars{ID: "x", Title: "T", Bars: []Bar{tc.bar, {Label: "R", Value: 0.5, Lower: 0.4, Upper: 0.6, Base: 100}}}.Render()
			row := c.Table.Rows[0]
			if row[1].Text != tc.value || !row[1].Withheld {
				t.Errorf("value cell %+v, want %q", row[1], tc.value)
			}
			if row[5].Text != tc.base {
				t.Errorf("base cell %+v, want %q", row[5], tc.base)
			}
			notes := strings.Join(c.Table.Notes, " ")
			if !strings.Contains(notes, tc.note) {
				t.Errorf("notes %q, want %q", notes, tc.note)
			}
			if !strings.Contains(c.Summary, tc.summary) {
				t.Errorf("summary %q, want %q", c.Summary, tc.summary)
			}
			if !strings.Contains(string(c.SVG), tc.value) {
				t.Errorf("the gap is not labelled %q", tc.value)
			}
			all := string(c.HTML()) + c.Summary
			for _, s := range tc.mustNot {
				if strings.Contains(all, s) {
					t.Errorf("output says %q", s)
				}
			}
		})
	}
	// Two reasons in one chart: each counted and explained once.
	c := IntervalBars{ID: "y", Bars: []Bar{
		{Label: "A", Withheld: true, Why: BaseTooSmall(10)}, {Label: "B", Withheld: true, Why: SecondarySuppression()},
		{Label: "C", Withheld: true, Why: SecondarySuppression()}}}.Render()
	if !strings.Contains(c.Summary, "1 withheld (fewer than 10 responses); 2 withheld (to protect another withheld figure)") || len(c.Table.Notes) != 2 {
		t.Errorf("summary %q, notes %q", c.Summary, c.Table.Notes)
	}
}

// Each bar's tooltip compares in good English: "higher than", "lower than", "similar to".
func TestBarSentenceComparison(t *testing.T) {
	for _, tc := range []struct {
		cmp  Comparison
		want string
	}{{Higher, "; higher than England excluding QMM"}, {Lower, "; lower than England excluding QMM"}, {Similar, "; similar to England excluding QMM"}} {
		c := IntervalBars{ID: "x", ComparedWith: "England excluding QMM", Bars: []Bar{{Label: "Q", Value: 0.5, Lower: 0.4, Upper: 0.6, Base: 50, Compare: tc.cmp}}}.Render()
		if !strings.Contains(string(c.SVG), tc.want+"</title>") {
			t.Errorf("%s: the tooltip does not end %q:\n%s", tc.cmp.Word(), tc.want, c.SVG)
		}
	}
}

// TestBarSentenceNamesTheValueOnce: a bar's tooltip reads "50.0% positive", not
// "50.0% % positive": a value label that starts with "%" is not said after a
// percentage a second time; any other label is said in full.
func TestBarSentenceNamesTheValueOnce(t *testing.T) {
	for _, tc := range []struct{ label, want string }{
		{"", "Q: 50.0% positive (40.0% to 60.0%)"},
		{"% positive", "Q: 50.0% positive (40.0% to 60.0%)"},
		{"% who knew", "Q: 50.0% who knew (40.0% to 60.0%)"},
		{"share positive", "Q: 50.0% share positive (40.0% to 60.0%)"},
	} {
		c := IntervalBars{ID: "x", ValueLabel: tc.label, Bars: []Bar{{Label: "Q", Value: 0.5, Lower: 0.4, Upper: 0.6, Base: 50}}}.Render()
		if !strings.Contains(string(c.SVG), "<title>"+tc.want+"</title>") {
			t.Errorf("value label %q: the tooltip is not %q:\n%s", tc.label, tc.want, c.SVG)
		}
	}
}

// The caution mark's note names the release's caution base, not always 30
// (PUBLICATION.md S1: caution_base is a release parameter).
func TestCautionNoteNamesTheThreshold(t *testing.T) {
	bars := []Bar{{Label: "Q", Value: 0.5, Lower: 0.3, Upper: 0.7, Base: 40, Caution: true}}
	for _, tc := range []struct {
		caution int
		want    string
		not     string
	}{
		{0, "† based on fewer than 30 responses: interpret with caution.", "fewer than 50"},
		{50, "† based on fewer than 50 responses: interpret with caution.", "fewer than 30"},
	} {
		c := IntervalBars{ID: "c", Title: "T", CautionBase: tc.caution, Bars: bars}.Render()
		notes := strings.Join(c.Table.Notes, " ")
		if !strings.Contains(notes, tc.want) || strings.Contains(notes, tc.not) {
			t.Errorf("caution base %d: notes %q, want %q and not %q", tc.caution, notes, tc.want, tc.not)
		}
	}
}

// A trend's withheld points say why they are withheld — the gap's label, the table's
// note and the summary — in the words of the rule that withheld them: the dashboard's
// response-by-day line withholds a day whose cumulative count is 1 to min_count−1, not
// one with "fewer than 10 responses".
func TestTrendWithheldSaysWhy(t *testing.T) {
	tr := Trend{ID: "rr", Title: "T", Percent: true, Why: SmallCount(5),
		Series: []Series{{Name: "QMM", Points: []Point{{X: 0, Withheld: true}, {X: 1, Withheld: true}}}}}
	c := tr.Render()
	all := string(c.HTML()) + c.Summary
	for _, w := range []string{"withheld: a small count (primary suppression)", "a count of 1 to 4", "every value withheld (a small count)"} {
		if !strings.Contains(all, w) {
			t.Errorf("the trend does not say %q", w)
		}
	}
	if strings.Contains(all, "fewer than 10") {
		t.Errorf("the trend says \"fewer than 10\" of points withheld for a small count")
	}
	// Without a reason: the base rule at its default threshold, as before.
	tr.Why = Withholding{}
	c = tr.Render()
	if all := string(c.HTML()) + c.Summary; !strings.Contains(all, "withheld: fewer than 10 responses") {
		t.Errorf("the default reason is not the base rule's")
	}
}
