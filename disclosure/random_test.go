package disclosure

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// bruteSums enumerates every assignment of non-negative integers to the unknowns that
// meets every constraint, and returns each unknown's least and greatest value, and
// the range of the sum of each set of unknowns in sums (as [min, max]); an unknown
// that reaches limit is reported unbounded. ok is false when there were more than
// maxPoints assignments (the case is skipped).
func bruteSums(sys *system, limit int64, maxPoints int, sums [][]int) (lo, hi []int64, unbounded []bool, sumRange [][2]int64, ok bool) {
	m := len(sys.cells)
	lo, hi, unbounded = make([]int64, m), make([]int64, m), make([]bool, m)
	sumRange = make([][2]int64, len(sums))
	for i := range sumRange {
		sumRange[i] = [2]int64{1 << 62, -1}
	}
	for i := range lo {
		lo[i], hi[i] = limit+1, -1
	}
	x := make([]int64, m)
	sum := make([]int64, len(sys.cons))
	left := make([]int, len(sys.cons)) // unknowns not yet assigned
	for c := range sys.cons {
		left[c] = len(sys.cons[c].vars)
	}
	points := 0
	var dfs func(i int) bool
	dfs = func(i int) bool {
		if i == m {
			for c, con := range sys.cons {
				switch {
				case con.kind == eq && sum[c] != con.rhs,
					con.kind == le && sum[c] > con.rhs,
					con.kind == ge && sum[c] < con.rhs:
					return true
				}
			}
			points++
			for v := range x {
				lo[v], hi[v] = min(lo[v], x[v]), max(hi[v], x[v])
			}
			for i, set := range sums {
				t := int64(0)
				for _, v := range set {
					t += x[v]
				}
				sumRange[i] = [2]int64{min(sumRange[i][0], t), max(sumRange[i][1], t)}
			}
			return points <= maxPoints
		}
		from, to := int64(0), limit
		for _, c := range sys.consOf[i] {
			con := &sys.cons[c]
			rem := con.rhs - sum[c]
			switch {
			case con.kind == eq && left[c] == 1:
				from, to = max(from, rem), min(to, rem)
			case con.kind == eq, con.kind == le:
				to = min(to, rem)
			case con.kind == ge && left[c] == 1:
				from = max(from, rem)
			}
		}
		for _, c := range sys.consOf[i] {
			left[c]--
		}
		defer func() {
			for _, c := range sys.consOf[i] {
				left[c]++
			}
		}()
		for val := from; val <= to; val++ {
			x[i] = val
			for _, c := range sys.consOf[i] {
				sum[c] += val
			}
			more := dfs(i + 1)
			for _, c := range sys.consOf[i] {
				sum[c] -= val
			}
			if !more {
				return false
			}
		}
		return true
	}
	if !dfs(0) {
		return nil, nil, nil, nil, false
	}
	for v := range hi {
		unbounded[v] = hi[v] >= limit
	}
	return lo, hi, unbounded, sumRange, true
}

// randomState draws a small table and an arbitrary pattern of withheld cells, rows
// and % positives (not only what the rules would produce), for the exact interval to
// be compared with enumeration.
func randomState(rng *rand.Rand) *state {
	rows, cols := 1+rng.IntN(3), 2+rng.IntN(3)
	p := Params{MinBase: 4, CautionBase: 6, MinCount: 2}
	t := Table{Name: "brute", Categories: make([]string, cols), Unweighted: rng.IntN(2) == 0, ColumnTotals: rng.IntN(2) == 0}
	for j := range t.Categories {
		t.Categories[j] = fmt.Sprint(j)
	}
	for r := range rows {
		t.Groups = append(t.Groups, fmt.Sprint("g", r))
		row := make([]int64, cols)
		for j := range row {
			row[j] = int64(rng.IntN(6))
		}
		t.Counts = append(t.Counts, row)
	}
	if rng.IntN(2) == 0 {
		t.BaseCategories = make([]bool, cols)
		for j := range cols {
			t.BaseCategories[j] = rng.IntN(3) > 0
		}
		t.BaseCategories[rng.IntN(cols)] = true
	}
	if rng.IntN(2) == 0 {
		// Positive categories are base categories (a code is never both positive and
		// excluded), so the row facts nest: total ⊇ base ⊇ positive.
		t.PositiveCategories = make([]bool, cols)
		for j := range cols {
			t.PositiveCategories[j] = (t.BaseCategories == nil || t.BaseCategories[j]) && rng.IntN(2) == 0
		}
	}
	s, _, err := load(t, p)
	if err != nil {
		panic(err)
	}
	s.primary()
	for r := 0; r < s.rows; r++ {
		if s.open(r) && rng.IntN(8) == 0 {
			s.row[r] = Secondary
		}
		s.posWithheld[r] = rng.IntN(4) == 0
	}
	for k := range s.cell {
		if s.open(k/s.cols) && rng.IntN(5) < 2 {
			s.cell[k] = Secondary
		}
	}
	for j := range s.totalStatus {
		if rng.IntN(3) == 0 {
			s.totalStatus[j] = Secondary
		}
	}
	return s
}

// TestIntervalAgainstEnumeration: the exact attacker interval equals the range of
// every integer table the attacker cannot rule out, found by enumeration; the cheap
// certificates and the cheap proofs of exactness never disagree with it. (The
// constraints are totally unimodular — two laminar families, rows' nested facts and
// columns — so the linear program's extremes are integers and the two must agree.)
func TestIntervalAgainstEnumeration(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 5))
	cases, cells, certified, pinnedCheap, exact, unbounded, totals := 0, 0, 0, 0, 0, 0, 0
	for cases < 3000 {
		s := randomState(rng)
		sys := build(s)
		if len(sys.cells) == 0 {
			continue
		}
		var withheldTotals []int
		var sets [][]int
		for j, st := range s.totalStatus {
			if vars := sys.columnVars(s, j); st != Published && len(vars) > 0 {
				withheldTotals = append(withheldTotals, j)
				sets = append(sets, vars)
			}
		}
		lo, hi, unb, sumRange, ok := bruteSums(sys, 40, 200000, sets)
		if !ok {
			continue
		}
		cases++
		for i, j := range withheldTotals {
			rlo, rhi, err := sys.sumInterval(sets[i])
			if err != nil {
				t.Fatal(err)
			}
			bounded := sumRange[i][1] < 40
			if rlo.Cmp(big.NewRat(sumRange[i][0], 1)) != 0 || (rhi == nil) == bounded || (bounded && rhi.Cmp(big.NewRat(sumRange[i][1], 1)) != 0) {
				t.Fatalf("case %d total %d: LP [%v, %v], enumeration %v", cases, j, rlo, rhi, sumRange[i])
			}
			totals++
			p, err := sys.totalPinned(s, j)
			if err != nil || p != (bounded && sumRange[i][0] == sumRange[i][1]) {
				t.Fatalf("case %d total %d: pinned %v (%v), enumeration %v", cases, j, p, err, sumRange[i])
			}
		}
		for v := range sys.cells {
			cells++
			rlo, rhi, err := sys.interval(v)
			if err != nil {
				t.Fatal(err)
			}
			where := fmt.Sprintf("case %d cell %d (%v, %+v)", cases, sys.cells[v], s.counts, sys.cons)
			if rlo.Cmp(big.NewRat(lo[v], 1)) != 0 {
				t.Fatalf("%s: LP min %v, enumeration %d", where, rlo, lo[v])
			}
			switch {
			case unb[v]:
				unbounded++
				if rhi != nil {
					t.Fatalf("%s: LP max %v, enumeration unbounded", where, rhi)
				}
			case rhi == nil || rhi.Cmp(big.NewRat(hi[v], 1)) != 0:
				t.Fatalf("%s: LP max %v, enumeration %d", where, rhi, hi[v])
			}
			width0 := !unb[v] && lo[v] == hi[v]
			if width0 {
				exact++
			}
			if sys.certified(s, v) {
				certified++
				if width0 {
					t.Fatalf("%s: certified movable but exact at %d", where, lo[v])
				}
			}
			if sys.obviouslyPinned(v) {
				pinnedCheap++
				if !width0 {
					t.Fatalf("%s: cheaply pinned but ranges over [%d, %d]", where, lo[v], hi[v])
				}
			}
			if p, err := sys.pinned(s, v); err != nil || p != width0 {
				t.Fatalf("%s: pinned %v (%v), enumeration width 0: %v", where, p, err, width0)
			}
		}
	}
	t.Logf("%d tables, %d withheld cells: %d exact, %d unbounded, %d certified cheaply, %d pinned cheaply; %d withheld column totals",
		cases, cells, exact, unbounded, certified, pinnedCheap, totals)
	if exact < 100 || certified < 1000 {
		t.Fatal("the generator does not exercise both outcomes")
	}
}

// TestWithheldRowsNeverExact proves by enumeration what build relies on to leave
// them out: with nothing published across rows and min_base ≥ 3, no count of a row
// withheld whole (for its base, or by the audit) is ever exact.
func TestWithheldRowsNeverExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 7))
	checked := 0
	for checked < 2000 {
		s := randomState(rng)
		s.colTotals, s.totalStatus, s.total = false, nil, nil
		s.p.MinBase = 3 + rng.IntN(3)
		s.keepWithheldRows = true
		sys := build(s)
		var rows []int
		for v, k := range sys.cells {
			if !s.open(k / s.cols) {
				rows = append(rows, v)
			}
		}
		if len(rows) == 0 {
			continue
		}
		lo, hi, unb, _, ok := bruteSums(sys, 15, 100000, nil)
		if !ok {
			continue
		}
		for _, v := range rows {
			checked++
			if !unb[v] && lo[v] == hi[v] {
				t.Fatalf("cell %d of a withheld row (%v) is exact at %d: %+v", sys.cells[v], s.row, lo[v], sys.cons)
			}
		}
	}
}

// randomTable draws a table like the release's: groups × options, counts from empty
// to large, with excluded and positive options, weighted or not, with or without
// column totals.
func randomTable(rng *rand.Rand, n int) Table {
	rows, cols := 1+rng.IntN(8), 2+rng.IntN(5)
	t := Table{Name: fmt.Sprint("random ", n), Categories: make([]string, cols), Unweighted: rng.IntN(2) == 0, ColumnTotals: rng.IntN(3) == 0}
	for j := range t.Categories {
		t.Categories[j] = fmt.Sprint(j + 1)
	}
	for _, r := range rng.Perm(rows) {
		t.Groups = append(t.Groups, fmt.Sprintf("G%02d", r))
		scale := []float64{4, 15, 60, 250}[rng.IntN(4)]
		row := make([]int64, cols)
		for j := range row {
			if rng.IntN(3) == 0 {
				row[j] = int64(rng.IntN(7))
			} else {
				row[j] = int64(rng.Float64() * scale)
			}
		}
		t.Counts = append(t.Counts, row)
	}
	if rng.IntN(2) == 0 {
		t.BaseCategories = make([]bool, cols)
		for j := range cols {
			t.BaseCategories[j] = j < cols-1 || rng.IntN(2) == 0 // the last option may be "don't know"
		}
	}
	if rng.IntN(3) > 0 {
		t.PositiveCategories = make([]bool, cols)
		for j := range cols {
			t.PositiveCategories[j] = j < 1+rng.IntN(2) && (t.BaseCategories == nil || t.BaseCategories[j])
		}
	}
	return t
}

// TestRandomTables: over 10,000 random tables, no withheld cell can be worked back
// (each checked afresh with the exact linear program alone), every rule's postcondition
// holds, and the result does not depend on the order of the rows.
func TestRandomTables(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	rng := rand.New(rand.NewPCG(14, 6))
	p := DefaultParams()
	var total Summary
	auditActed, withheldCells := 0, 0
	for i := range n {
		tab := randomTable(rng, i)
		c, err := Check(tab, p)
		if err != nil {
			t.Fatalf("table %d: %v", i, err)
		}
		total.Add(c.Summary())
		assertProtected(t, c, tab)
		assertRules(t, c, tab, p)

		// The same table with its rows reversed gives the same result.
		rev := tab
		rev.Groups, rev.Counts = slices.Clone(tab.Groups), slices.Clone(tab.Counts)
		slices.Reverse(rev.Groups)
		slices.Reverse(rev.Counts)
		c2, err := Check(rev, p)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := strings.Join(render(c), "|"), strings.Join(render(c2), "|"); a != b {
			t.Fatalf("table %d: order changes the result: %s vs %s", i, a, b)
		}

		// Did the audit add anything to S1–S4?
		s, perm, _ := load(tab, p)
		s.suppressWithoutAudit()
		for k := range s.cell {
			if s.withheld(k) {
				withheldCells++
			}
		}
		if got := render(c); strings.Join(got, "|") != strings.Join(render(s.checked(tab, perm)), "|") {
			auditActed++
		}
	}
	t.Logf("%d random tables: %+v; the audit withheld more than S1–S4 in %d tables", n, total, auditActed)
	if total.CellsPrimary < n/2 || auditActed < n/50 || total.RowsSecondary == 0 || total.PositiveWithheld == 0 {
		t.Fatalf("the generator does not exercise the rules: %+v, audit acted %d", total, auditActed)
	}
}

// assertRules checks each rule's postcondition on a checked table.
func assertRules(t *testing.T, c *Checked, tab Table, p Params) {
	t.Helper()
	s := stateOf(t, c, tab)
	for r := 0; r < s.rows; r++ {
		rs := c.RowStatus(r)
		switch {
		case s.base[r] < int64(p.MinBase):
			if rs != BaseTooSmall {
				t.Fatalf("%s: row %s base %d has status %q", tab.Name, c.Group(r), s.base[r], rs)
			}
			continue
		case rs == BaseTooSmall:
			t.Fatalf("%s: row %s base %d withheld as B", tab.Name, c.Group(r), s.base[r])
		case s.base[r] < int64(p.CautionBase) && rs != Caution && rs != Secondary:
			t.Fatalf("%s: row %s base %d has status %q, want L", tab.Name, c.Group(r), s.base[r], rs)
		case s.base[r] >= int64(p.CautionBase) && rs == Caution:
			t.Fatalf("%s: row %s base %d marked L", tab.Name, c.Group(r), s.base[r])
		}
		if !s.open(r) {
			continue
		}
		withheld, published := 0, 0
		for j := 0; j < s.cols; j++ {
			n, st := s.counts[r*s.cols+j], c.CellStatus(r, j)
			if small := n >= 1 && n < int64(p.MinCount); small != (st == Primary) {
				t.Fatalf("%s: row %s count %d has status %q", tab.Name, c.Group(r), n, st)
			}
			if st.Withheld() {
				withheld++
			} else {
				published++
			}
		}
		if withheld == 1 && published > 0 {
			t.Fatalf("%s: row %s has one withheld cell (S3): %v", tab.Name, c.Group(r), render(c))
		}
	}
	if !tab.ColumnTotals {
		return
	}
	for j := 0; j < s.cols; j++ {
		if c.ColumnTotalStatus(j) != Published {
			continue
		}
		withheld, nonZero := 0, 0
		for r := 0; r < s.rows; r++ {
			if !s.open(r) {
				continue
			}
			if c.CellStatus(r, j).Withheld() {
				withheld++
			} else if s.counts[r*s.cols+j] > 0 {
				nonZero++
			}
		}
		if withheld == 1 && nonZero > 0 {
			t.Fatalf("%s: column %d has one withheld cell (S4): %v", tab.Name, j, render(c))
		}
	}
}
