package disclosure

import (
	"strings"
	"testing"
)

// render writes a checked table as one string per row: the row's status, ":", then
// one character per cell ("." published, else its status), then "+" and the %
// positive's status when it was withheld by the audit.
func render(c *Checked) []string {
	var out []string
	for i := 0; i < c.NumGroups(); i++ {
		var b strings.Builder
		b.WriteString(c.Group(i))
		b.WriteString(" ")
		b.WriteString(c.RowStatus(i).String())
		b.WriteString(":")
		for j := 0; j < c.NumCategories(); j++ {
			if s := c.CellStatus(i, j); s == Published {
				b.WriteByte('.')
			} else {
				b.WriteString(s.String())
			}
		}
		if c.HasPositive() && c.RowStatus(i) != BaseTooSmall && c.RowStatus(i) != Secondary && c.PositiveStatus(i) == Secondary {
			b.WriteString("+S")
		}
		out = append(out, b.String())
	}
	if c.total != nil {
		var b strings.Builder
		b.WriteString("total:")
		for j := 0; j < c.NumCategories(); j++ {
			if st := c.ColumnTotalStatus(j); st == Published {
				b.WriteByte('.')
			} else {
				b.WriteString(st.String())
			}
		}
		out = append(out, b.String())
	}
	return out
}

func cols(s string) []bool {
	if s == "" {
		return nil
	}
	out := make([]bool, len(s))
	for i := range s {
		out[i] = s[i] == 'x'
	}
	return out
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		name       string
		groups     []string
		counts     [][]int64
		base, pos  string // "x" marks a category in the set; "" = all (base) / none (pos)
		unweighted bool
		colTotals  bool
		want       []string
	}{
		{
			name:   "S1: base below 10 withheld whole, below 30 cautioned",
			groups: []string{"a", "b", "c"}, counts: [][]int64{{5, 4, 0}, {5, 5, 0}, {10, 10, 10}},
			want: []string{"a B:BBB", "b L:...", "c :..."},
		},
		{
			name:   "S1 counts the base categories only",
			groups: []string{"a"}, counts: [][]int64{{5, 4, 30}}, base: "xx.",
			want: []string{"a B:BBB"},
		},
		{
			name:   "S2 and S3: a count 1–4 withheld, then the smallest non-zero of its row",
			groups: []string{"a"}, counts: [][]int64{{3, 0, 12, 20}},
			want: []string{"a :P.S."},
		},
		{
			name:   "S3 ties go to the earliest category",
			groups: []string{"a"}, counts: [][]int64{{3, 12, 12, 20}},
			want: []string{"a :PS.."},
		},
		{
			name:   "S3 prefers non-zero over zero",
			groups: []string{"a"}, counts: [][]int64{{3, 0, 40}},
			want: []string{"a :P.S"},
		},
		{
			name:   "zero and min_count are published",
			groups: []string{"a"}, counts: [][]int64{{0, 5, 40}},
			want: []string{"a :..."},
		},
		{
			name:   "two primaries need no secondary",
			groups: []string{"a"}, counts: [][]int64{{1, 4, 40}},
			want: []string{"a :PP."},
		},
		{
			name:   "S4 alternates with S3 where column totals are published",
			groups: []string{"a", "b", "c"}, counts: [][]int64{{3, 20, 20}, {30, 30, 30}, {25, 40, 50}}, colTotals: true,
			want: []string{"a :PS.", "b :SS.", "c :SS.", "total:..."},
		},
		{
			name:   "without column totals S4 does nothing",
			groups: []string{"a", "b", "c"}, counts: [][]int64{{3, 20, 20}, {30, 30, 30}, {25, 40, 50}},
			want: []string{"a :PS.", "b :...", "c :..."},
		},
		{
			// S3 withholds the don't-know count (7), which is not in the base: the
			// base then gives A = 33 − 30 = 3. S5 withholds B too.
			name:   "S5: a base that works back a primary is caught and fixed",
			groups: []string{"a"}, counts: [][]int64{{3, 30, 7}}, base: "xx.",
			want: []string{"a :PSS"},
		},
		{
			name:   "weighted: a % positive is not a count",
			groups: []string{"a"}, counts: [][]int64{{3, 40, 20}}, pos: "x..",
			want: []string{"a :P.S"},
		},
		{
			// Unweighted, % positive × base = the one positive count: the audit
			// withholds the % positive.
			name:   "unweighted: the % positive would give the primary back",
			groups: []string{"a"}, counts: [][]int64{{3, 40, 20}}, pos: "x..", unweighted: true,
			want: []string{"a :P.S+S"},
		},
		{
			name:   "unweighted: two positive categories share the secret",
			groups: []string{"a"}, counts: [][]int64{{3, 20, 40}}, pos: "xx.", unweighted: true,
			want: []string{"a :PS."},
		},
		{
			// Unweighted, a small don't-know count is the total (from any count and
			// its %) less the base; it stays exact until no count of the row is
			// published, and the one positive count is then the % positive × base.
			name:   "unweighted: a small excluded count",
			groups: []string{"a"}, counts: [][]int64{{150, 150, 3}}, base: "xx.", pos: "x..", unweighted: true,
			want: []string{"a :SSP+S"},
		},
		{
			// Column totals give a's cells (57 − 30 − 25 = 2, 78 − 40 − 35 = 3)
			// although a is withheld for its base: S5 withholds in the column, S3 and
			// S4 follow, and a rectangle of withheld counts protects them.
			// Withholding b's and c's cells would leave a's base the totals less b's and
			// c's bases: the smaller of them is withheld whole instead.
			name:   "a withheld row is protected through its column",
			groups: []string{"a", "b", "c"}, counts: [][]int64{{2, 3}, {30, 40}, {25, 35}}, colTotals: true,
			want: []string{"a B:BB", "b :..", "c S:SS", "total:.."},
		},
		{
			// Each of a's cells is given by its column, and its base by the totals less
			// the other bases: a second row is withheld whole.
			name:   "a withheld row with three pinned cells",
			groups: []string{"a", "b", "c"}, counts: [][]int64{{2, 3, 0}, {30, 40, 20}, {25, 35, 22}}, colTotals: true,
			want: []string{"a B:BBB", "b :...", "c S:SSS", "total:..."},
		},
		{
			// One group: its column totals are its counts. A small total is itself a
			// primary count; the cells' base then protects the two small ones.
			name:   "column totals of one group",
			groups: []string{"a"}, counts: [][]int64{{38, 56, 3, 1, 5}}, colTotals: true,
			want: []string{"a :..PP.", "total:..PP."},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab := Table{Name: tc.name, Groups: tc.groups, Categories: make([]string, len(tc.counts[0])), Counts: tc.counts,
				BaseCategories: cols(tc.base), PositiveCategories: cols(tc.pos), Unweighted: tc.unweighted, ColumnTotals: tc.colTotals}
			for j := range tab.Categories {
				tab.Categories[j] = string(rune('A' + j))
			}
			c, err := Check(tab, DefaultParams())
			if err != nil {
				t.Fatal(err)
			}
			got := render(c)
			if strings.Join(got, " | ") != strings.Join(tc.want, " | ") {
				t.Fatalf("got  %v\nwant %v", got, tc.want)
			}
			assertProtected(t, c, tab)
		})
	}
}

// TestAuditIsNeeded: the S5 case above, stopped after S1–S4, leaves the primary
// exact; the full check does not.
func TestAuditIsNeeded(t *testing.T) {
	tab := Table{Name: "crafted", Groups: []string{"a"}, Categories: []string{"1", "2", "9"}, Counts: [][]int64{{3, 30, 7}}, BaseCategories: []bool{true, true, false}}
	s, _, err := load(tab, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	s.suppressWithoutAudit()
	sys := build(s)
	lo, hi, err := sys.interval(sys.varOf[0])
	if err != nil {
		t.Fatal(err)
	}
	if hi == nil || lo.Cmp(hi) != 0 || lo.RatString() != "3" {
		t.Fatalf("after S1–S4 the primary's interval is [%v, %v], want exactly 3", lo, hi)
	}
	c, err := Check(tab, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if got := render(c)[0]; got != "a :PSS" {
		t.Fatalf("after S5: %s", got)
	}
	assertProtected(t, c, tab)
}

func TestValuesWithheld(t *testing.T) {
	tab := Table{
		Name: "values", Groups: []string{"b", "a", "c"}, Categories: []string{"1", "2", "3"},
		Counts:             [][]int64{{3, 40, 20}, {2, 3, 1}, {10, 10, 10}},
		PositiveCategories: []bool{true, false, false}, Unweighted: true,
		CellValues:     [][]float64{{0.05, 0.6, 0.35}, {0.3, 0.5, 0.2}, {1.0 / 3, 1.0 / 3, 1.0 / 3}},
		PositiveValues: [][]float64{{0.05, 0.01, 0.1}, {0.3, 0.1, 0.6}, {1.0 / 3, 0.2, 0.5}},
		RowValues:      [][]float64{{63}, {6}, {30}},
	}
	c, err := Check(tab, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	// Sorted: a (B), b (the unweighted case above), c.
	if got := strings.Join(render(c), " | "); got != "a B:BBB | b :P.S+S | c :..." {
		t.Fatalf("statuses %s", got)
	}
	if _, ok := c.Base(0); ok {
		t.Error("a withheld row's base was given")
	}
	if n, ok := c.Base(1); !ok || n != 63 {
		t.Errorf("base of b: %d %v", n, ok)
	}
	if _, ok := c.Count(1, 0); ok {
		t.Error("a primary count was given")
	}
	if v, ok := c.CellValue(1, 1); !ok || v != 0.6 {
		t.Errorf("b's published value: %v %v", v, ok)
	}
	if _, ok := c.CellValue(1, 2); ok {
		t.Error("a secondary cell's value was given")
	}
	if _, ok := c.PositiveValue(1, 0); ok {
		t.Error("a withheld % positive was given")
	}
	if v, ok := c.PositiveValue(2, 1); !ok || v != 0.2 {
		t.Errorf("c's %% positive figure: %v %v", v, ok)
	}
	if _, ok := c.RowValue(0, 0); ok {
		t.Error("a withheld row's figure was given")
	}
	if v, ok := c.RowValue(1, 0); !ok || v != 63 {
		t.Errorf("b's row figure: %v %v", v, ok)
	}
	if i, ok := c.Row("c"); !ok || i != 2 {
		t.Errorf("Row(c) = %d %v", i, ok)
	}
	want := Summary{Rows: 3, Cells: 9, RowsBase: 1, CellsPrimary: 1, CellsSecondary: 1, CellsInWithheldRows: 3, PositiveWithheld: 1, RowsCaution: 0}
	if got := c.Summary(); got != want {
		t.Errorf("summary %+v, want %+v", got, want)
	}
}

func TestTableErrors(t *testing.T) {
	ok := Table{Name: "T", Groups: []string{"a", "b"}, Categories: []string{"1", "2"}, Counts: [][]int64{{1, 2}, {3, 4}}}
	for _, tc := range []struct {
		name   string
		change func(*Table)
		want   string
	}{
		{"duplicate group", func(t *Table) { t.Groups[1] = "a" }, `table "T": group "a" appears twice`},
		{"negative count", func(t *Table) { t.Counts[1] = []int64{3, -1} }, `group "b", category "2": count -1 < 0`},
		{"short row", func(t *Table) { t.Counts[0] = []int64{1} }, `group "a": 1 counts for 2 categories`},
		{"rows", func(t *Table) { t.Counts = t.Counts[:1] }, "2 groups but 1 rows of counts"},
		{"base size", func(t *Table) { t.BaseCategories = []bool{true} }, "BaseCategories has 1 entries for 2 categories"},
		{"empty base", func(t *Table) { t.BaseCategories = []bool{false, false} }, "no category is in the base"},
		{"fact group", func(t *Table) { t.Facts = []Fact{{Cells: []Cell{{"z", 0}}}} }, `fact 1: unknown group "z"`},
		{"fact category", func(t *Table) { t.Facts = []Fact{{Cells: []Cell{{"a", 2}}}} }, `fact 1: group "a": category 2 of 2`},
		{"values", func(t *Table) { t.CellValues = [][]float64{{1, 2}, {3}} }, `group "b": 1 cell values for 2 categories`},
	} {
		tab := ok
		tab.Groups = append([]string(nil), ok.Groups...)
		tab.Counts = append([][]int64(nil), ok.Counts...)
		tc.change(&tab)
		_, err := Check(tab, DefaultParams())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if err := (Params{MinBase: 1, CautionBase: 0, MinCount: 0}).Validate(); err == nil {
		t.Error("bad parameters accepted")
	}
}

// TestFacts: a published subtotal over groups a and b of category 0 (a further fact)
// would give a's primary back once b's is published; the audit withholds b's too.
func TestFacts(t *testing.T) {
	tab := Table{Name: "facts", Groups: []string{"a", "b"}, Categories: []string{"1", "2", "3"},
		Counts: [][]int64{{3, 20, 30}, {12, 25, 40}},
		Facts:  []Fact{{Cells: []Cell{{"a", 0}, {"b", 0}}}}}
	c, err := Check(tab, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(render(c), " | "); got != "a :PS. | b :SS." {
		t.Fatalf("statuses %s", got)
	}
	assertProtected(t, c, tab)
}

// assertProtected recomputes, from the checked table alone and with the exact linear
// program only (no shortcut), every withheld cell's attacker interval and fails if
// any has width 0.
func assertProtected(t *testing.T, c *Checked, tab Table) {
	t.Helper()
	s := stateOf(t, c, tab)
	sys := build(s)
	for v, k := range sys.cells {
		lo, hi, err := sys.interval(v)
		if err != nil {
			t.Fatal(err)
		}
		if hi != nil && lo.Cmp(hi) == 0 {
			t.Fatalf("%s: cell (%s, %s) = %d is exact: %v", tab.Name, c.Group(k/s.cols), c.Category(k%s.cols), s.counts[k], render(c))
		}
	}
}

// stateOf rebuilds the attacker's view from a Checked table's statuses.
func stateOf(t *testing.T, c *Checked, tab Table) *state {
	t.Helper()
	s, _, err := load(tab, DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	s.p = DefaultParams()
	for j := range s.totalStatus {
		s.totalStatus[j] = c.ColumnTotalStatus(j)
	}
	for i := 0; i < s.rows; i++ {
		s.row[i] = c.RowStatus(i)
		s.posWithheld[i] = c.RowStatus(i) != BaseTooSmall && c.RowStatus(i) != Secondary && c.PositiveStatus(i) == Secondary
		for j := 0; j < s.cols; j++ {
			st := c.CellStatus(i, j)
			if st == Primary || st == Secondary {
				if !c.RowStatus(i).Withheld() {
					s.cell[i*s.cols+j] = st
				}
			}
		}
	}
	return s
}

// suppressWithoutAudit is S1–S4 only.
func (s *state) suppressWithoutAudit() {
	s.primary()
	s.secondary()
}
