package disclosure

import (
	"errors"
	"fmt"
	"slices"
	"sort"
)

// state is a table being checked: rows sorted by group code, flat counts.
type state struct {
	p                     Params
	rows, cols            int
	counts                []int64
	base                  []int64
	baseCols, posCols     []bool
	unweighted, colTotals bool
	facts                 [][]int // further facts, as flat cell indexes
	row                   []Status
	cell                  []Status
	posWithheld           []bool
	// Column totals (when published): each column's sum over every group, and its
	// status — Published, Primary (1 ≤ total < min_count) or Secondary (S5).
	total       []int64
	totalStatus []Status
	// totalsFixed: the totals' statuses are a Margin's, never changed here;
	// baseSum: the sum of the rows' bases is published (a Margin's base).
	totalsFixed, baseSum bool
	// left are exact figures nothing in the table can protect (a Margin's doing).
	left map[target]bool
	// scratch is reused by every build of one check (never by two at once).
	scratch *system
	// keepWithheldRows makes build keep the rows it may leave out (for the test
	// that proves leaving them out is safe).
	keepWithheldRows bool
}

// withheld reports whether cell k is withheld, by its own status or its row's.
func (s *state) withheld(k int) bool {
	r := s.row[k/s.cols]
	return r == BaseTooSmall || r == Secondary || s.cell[k] != Published
}

// open reports whether row r is published (possibly with a caution mark).
func (s *state) open(r int) bool { return s.row[r] == Published || s.row[r] == Caution }

func (s *state) clone() *state {
	c := *s
	c.row = slices.Clone(s.row)
	c.cell = slices.Clone(s.cell)
	c.posWithheld = slices.Clone(s.posWithheld)
	c.totalStatus = slices.Clone(s.totalStatus)
	return &c
}

// Check applies S1–S5 to t and returns the checked table. An error means t is
// malformed (named by table, group and category), never that it could not be
// protected: withholding more always succeeds in the end.
func Check(t Table, p Params) (*Checked, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s, perm, err := load(t, p)
	if err != nil {
		return nil, err
	}
	if err := s.suppress(); err != nil {
		return nil, fmt.Errorf("disclosure: %s: %w", t.Name, err)
	}
	return s.checked(t, perm), nil
}

// load validates t and lays it out sorted by group code.
func load(t Table, p Params) (*state, []int, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("disclosure: table %q: "+format, append([]any{t.Name}, a...)...)
	}
	rows, cols := len(t.Groups), len(t.Categories)
	if cols == 0 {
		return nil, nil, bad("no categories")
	}
	if len(t.Counts) != rows {
		return nil, nil, bad("%d groups but %d rows of counts", rows, len(t.Counts))
	}
	checkCols := func(name string, m []bool) error {
		if m != nil && len(m) != cols {
			return bad("%s has %d entries for %d categories", name, len(m), cols)
		}
		return nil
	}
	if err := errors.Join(checkCols("BaseCategories", t.BaseCategories), checkCols("PositiveCategories", t.PositiveCategories)); err != nil {
		return nil, nil, err
	}
	if t.BaseCategories != nil && !slices.Contains(t.BaseCategories, true) {
		return nil, nil, bad("no category is in the base")
	}
	if t.CellValues != nil && len(t.CellValues) != rows {
		return nil, nil, bad("CellValues has %d rows for %d groups", len(t.CellValues), rows)
	}
	if t.PositiveValues != nil && len(t.PositiveValues) != rows {
		return nil, nil, bad("PositiveValues has %d rows for %d groups", len(t.PositiveValues), rows)
	}
	if t.RowValues != nil && len(t.RowValues) != rows {
		return nil, nil, bad("RowValues has %d rows for %d groups", len(t.RowValues), rows)
	}
	perm := make([]int, rows)
	for i := range perm {
		perm[i] = i
	}
	sort.Slice(perm, func(a, b int) bool { return t.Groups[perm[a]] < t.Groups[perm[b]] })
	for i := 1; i < rows; i++ {
		if t.Groups[perm[i]] == t.Groups[perm[i-1]] {
			return nil, nil, bad("group %q appears twice", t.Groups[perm[i]])
		}
	}
	s := &state{p: p, rows: rows, cols: cols, counts: make([]int64, rows*cols), base: make([]int64, rows),
		baseCols: t.BaseCategories, posCols: t.PositiveCategories, unweighted: t.Unweighted, colTotals: t.ColumnTotals,
		row: make([]Status, rows), cell: make([]Status, rows*cols), posWithheld: make([]bool, rows)}
	if s.posCols != nil && !slices.Contains(s.posCols, true) {
		s.posCols = nil
	}
	for i, o := range perm {
		g := t.Groups[o]
		if len(t.Counts[o]) != cols {
			return nil, nil, bad("group %q: %d counts for %d categories", g, len(t.Counts[o]), cols)
		}
		if t.CellValues != nil && len(t.CellValues[o]) != cols {
			return nil, nil, bad("group %q: %d cell values for %d categories", g, len(t.CellValues[o]), cols)
		}
		for j, n := range t.Counts[o] {
			if n < 0 {
				return nil, nil, bad("group %q, category %q: count %d < 0", g, t.Categories[j], n)
			}
			s.counts[i*cols+j] = n
			if s.baseCols == nil || s.baseCols[j] {
				s.base[i] += n
			}
		}
	}
	if m := t.Margin; m != nil {
		if len(m.Status) != cols {
			return nil, nil, bad("Margin has %d statuses for %d categories", len(m.Status), cols)
		}
		s.colTotals, s.totalsFixed, s.unweighted, s.baseSum = true, true, true, m.Base
	}
	if s.colTotals {
		s.total, s.totalStatus = make([]int64, cols), make([]Status, cols)
		for k, n := range s.counts {
			s.total[k%cols] += n
		}
	}
	if m := t.Margin; m != nil {
		for j, st := range m.Status {
			if st.Withheld() {
				s.totalStatus[j] = st
			}
		}
		// The margin's base, positive count and total are sums over every row.
		sums := func(in []bool) []int {
			var cells []int
			for k := range s.counts {
				if in == nil || in[k%cols] {
					cells = append(cells, k)
				}
			}
			return cells
		}
		if m.Base {
			s.facts = append(s.facts, sums(s.baseCols))
		}
		if m.Positive && s.posCols != nil {
			s.facts = append(s.facts, sums(s.posCols))
		}
	}
	for f, fact := range t.Facts {
		if len(fact.Cells) == 0 {
			return nil, nil, bad("fact %d has no cells", f+1)
		}
		var cells []int
		for _, c := range fact.Cells {
			i, ok := slices.BinarySearchFunc(perm, c.Group, func(o int, g string) int {
				switch {
				case t.Groups[o] < g:
					return -1
				case t.Groups[o] > g:
					return 1
				}
				return 0
			})
			if !ok {
				return nil, nil, bad("fact %d: unknown group %q", f+1, c.Group)
			}
			if c.Category < 0 || c.Category >= cols {
				return nil, nil, bad("fact %d: group %q: category %d of %d", f+1, c.Group, c.Category, cols)
			}
			cells = append(cells, i*cols+c.Category)
		}
		s.facts = append(s.facts, cells)
	}
	return s, perm, nil
}

// suppress runs S1 and S2 once, then S3–S4 to a fixed point and the S5 audit, until
// the audit passes.
func (s *state) suppress() error {
	s.primary()
	for {
		s.secondary()
		x, err := firstPinned(s)
		if err != nil {
			return err
		}
		switch {
		case x == none:
			return nil
		case x.cell >= 0:
			err = s.protect(x.cell)
		case x.row >= 0:
			err = s.protectRow(x)
		default:
			err = s.protectTotal(x.total)
		}
		if err != nil {
			return err
		}
	}
}

// primary is S1 (base) and S2 (primary cells).
func (s *state) primary() {
	for r := 0; r < s.rows; r++ {
		switch {
		case s.base[r] < int64(s.p.MinBase):
			s.row[r] = BaseTooSmall
		case s.base[r] < int64(s.p.CautionBase):
			s.row[r] = Caution
		}
	}
	for k, n := range s.counts {
		if s.open(k/s.cols) && n >= 1 && n < int64(s.p.MinCount) {
			s.cell[k] = Primary
		}
	}
	// A published column total is a published count too (a Margin's are as given).
	for j, n := range s.total {
		if s.totalsFixed {
			break
		}
		if n >= 1 && n < int64(s.p.MinCount) {
			s.totalStatus[j] = Primary
		}
	}
}

// secondary alternates S3 and S4 (where column totals are published) until neither
// withholds anything more.
func (s *state) secondary() {
	for changed := true; changed; {
		changed = s.secondaryRows()
		if s.colTotals && s.secondaryColumns() {
			changed = true
		}
		if s.secondaryWholeRow() {
			changed = true
		}
	}
}

// baseSumPublished reports whether the sum of the rows' bases is published: a
// Margin's base, or the column totals of every base category.
func (s *state) baseSumPublished() bool {
	if s.baseSum {
		return true
	}
	if !s.colTotals {
		return false
	}
	for j, st := range s.totalStatus {
		if (s.baseCols == nil || s.baseCols[j]) && st != Published {
			return false
		}
	}
	return true
}

// smallestOpenRow is the published row with the smallest base (ties: the lowest
// group code), −1 when none is.
func (s *state) smallestOpenRow() int {
	best := -1
	for r := 0; r < s.rows; r++ {
		if s.open(r) && (best < 0 || s.base[r] < s.base[best]) {
			best = r
		}
	}
	return best
}

// secondaryWholeRow: where the sum of the bases is published, a table with exactly
// one withheld row withholds the published row with the smallest base whole (S), so
// that only the two rows' sum can be worked out.
func (s *state) secondaryWholeRow() bool {
	if !s.baseSumPublished() {
		return false
	}
	withheld := 0
	for r := 0; r < s.rows; r++ {
		if !s.open(r) {
			withheld++
		}
	}
	if withheld != 1 {
		return false
	}
	if r := s.smallestOpenRow(); r >= 0 {
		s.row[r] = Secondary
		return true
	}
	return false
}

// smallest returns the cell with the smallest count among cells, preferring a
// non-zero count (or requiring one, when requireNonZero); ties go to the first
// listed. −1 when there is none.
func (s *state) smallest(cells []int, requireNonZero bool) int {
	best := -1
	for _, k := range cells {
		n := s.counts[k]
		if best < 0 {
			if n > 0 || !requireNonZero {
				best = k
			}
			continue
		}
		b := s.counts[best]
		switch {
		case n == 0 && (requireNonZero || b > 0):
		case b == 0 && n > 0:
			best = k
		case n < b:
			best = k
		}
	}
	return best
}

// unsuppressedInRow lists row r's published cells in column order.
func (s *state) unsuppressedInRow(r int, buf []int) []int {
	buf = buf[:0]
	for j := 0; j < s.cols; j++ {
		if k := r*s.cols + j; !s.withheld(k) {
			buf = append(buf, k)
		}
	}
	return buf
}

// unsuppressedInColumn lists column j's published cells of published rows, in row
// (group code) order, leaving out row skip.
func (s *state) unsuppressedInColumn(j, skip int, buf []int) []int {
	buf = buf[:0]
	for r := 0; r < s.rows; r++ {
		if k := r*s.cols + j; r != skip && s.open(r) && !s.withheld(k) {
			buf = append(buf, k)
		}
	}
	return buf
}

// secondaryRows is S3: a published row with exactly one withheld cell withholds its
// smallest published count, preferring non-zero (ties: the earliest category).
func (s *state) secondaryRows() bool {
	changed := false
	var buf []int
	for r := 0; r < s.rows; r++ {
		if !s.open(r) {
			continue
		}
		withheld := 0
		for j := 0; j < s.cols; j++ {
			if s.cell[r*s.cols+j] != Published {
				withheld++
			}
		}
		if withheld != 1 {
			continue
		}
		buf = s.unsuppressedInRow(r, buf)
		if k := s.smallest(buf, false); k >= 0 {
			s.cell[k] = Secondary
			changed = true
		}
	}
	return changed
}

// secondaryColumns is S4: a column whose total is published, with exactly one
// withheld cell among published rows, withholds its smallest non-zero published count
// (ties: the lowest group code).
func (s *state) secondaryColumns() bool {
	changed := false
	var buf []int
	for j := 0; j < s.cols; j++ {
		if s.totalStatus[j] != Published {
			continue // no total of this column to work a cell back from
		}
		withheld := 0
		for r := 0; r < s.rows; r++ {
			if s.open(r) && s.cell[r*s.cols+j] != Published {
				withheld++
			}
		}
		if withheld != 1 {
			continue
		}
		buf = s.unsuppressedInColumn(j, -1, buf)
		if k := s.smallest(buf, true); k >= 0 {
			s.cell[k] = Secondary
			changed = true
		}
	}
	return changed
}

// protect is S5's remedy for cell k, whose attacker interval has width 0. The spec's
// remedy — withhold the smallest non-zero published count of k's row — is taken
// whenever withholding the row's counts can protect k at all. When it cannot, the
// next step that can on its own is taken: the smallest count of k's column (column
// totals or further facts pin it), the row's % positive (an unweighted table), the
// whole row, the column's total. When no single step can on its own, the first
// available of column, column total, % positive, row, whole row is taken (withholding within the row cannot help alone,
// so the cause is outside it) and the audit runs again. Every step withholds
// something more, so this ends.
func (s *state) protect(k int) error {
	r, j := k/s.cols, k%s.cols
	var row, col []int
	if s.open(r) {
		row = s.unsuppressedInRow(r, nil)
	}
	col = s.unsuppressedInColumn(j, r, nil)
	posOpen := s.open(r) && s.unweighted && s.posCols != nil && !s.posWithheld[r]

	all := func(cells []int) func(*state) {
		return func(h *state) {
			for _, c := range cells {
				h.cell[c] = Secondary
			}
		}
	}
	rowStep := step{len(row) > 0, all(row), func() { s.cell[s.pick(row)] = Secondary }}
	colStep := step{len(col) > 0, all(col), func() { s.cell[s.pick(col)] = Secondary }}
	posStep := step{posOpen, func(h *state) { all(row)(h); h.posWithheld[r] = true }, func() { s.posWithheld[r] = true }}
	wholeStep := step{s.open(r), func(h *state) { h.row[r] = Secondary }, func() { s.row[r] = Secondary }}
	totalOpen := s.colTotals && !s.totalsFixed && s.totalStatus[j] == Published
	totalStep := step{totalOpen, func(h *state) { h.totalStatus[j] = Secondary }, func() { s.totalStatus[j] = Secondary }}
	return s.firstThatHelps(target{k, -1, -1, false},
		[]step{rowStep, colStep, posStep, wholeStep, totalStep},
		[]step{colStep, totalStep, posStep, rowStep, wholeStep})
}

// step is one way to protect an exact value.
type step struct {
	available bool
	try       func(*state) // the most this step could withhold
	do        func()       // what it withholds now
}

// firstThatHelps takes the first available step of helpful whose most (followed by
// S3–S4) would make x inexact; failing that, the first available step of fallback.
func (s *state) firstThatHelps(x target, helpful, fallback []step) error {
	for _, st := range helpful {
		if !st.available {
			continue
		}
		h := s.clone()
		st.try(h)
		h.secondary() // S3–S4 follow any step before the audit runs again
		pinned, err := pinnedTarget(h, x)
		if err != nil {
			return err
		}
		if !pinned {
			st.do()
			return nil
		}
	}
	for _, st := range fallback {
		if st.available {
			st.do()
			return nil
		}
	}
	return s.widen(x)
}

// widen protects x when nothing of its own row or column is left to withhold: it
// looks at every published thing that enters a constraint of x's component — counts
// (smallest non-zero first, then zeros, ties in table order), column totals, %
// positives, rows — and withholds the first that makes x inexact on its own (with
// S3–S4 after it), or else the first of them. Only a further fact, which cannot be
// withheld, can leave nothing to try.
func (s *state) widen(x target) error {
	sys := buildFull(s)
	var start []int
	switch {
	case x.cell >= 0:
		if sys.varAt(x.cell) < 0 {
			return nil // not exact after all (a withheld row with nothing across rows)
		}
		start = []int{sys.varOf[x.cell]}
	case x.row >= 0:
		start = s.rowVars(sys, x)
	default:
		start = sys.columnVars(s, x.total)
	}
	inComp := make([]bool, len(sys.cells))
	for _, v := range start {
		if sys.comp[v] < 0 {
			sys.label(v)
		}
	}
	for v := range sys.cells {
		for _, u := range start {
			inComp[v] = inComp[v] || sys.comp[v] == sys.comp[u]
		}
	}
	var cells []int
	seenCell := map[int]bool{}
	var totals, positives, rows []int
	seen := map[[2]int]bool{}
	addOnce := func(list *[]int, kind, i int) {
		if !seen[[2]int{kind, i}] {
			seen[[2]int{kind, i}] = true
			*list = append(*list, i)
		}
	}
	for _, con := range sys.cons {
		touches := false
		for _, v := range con.vars {
			touches = touches || inComp[v]
		}
		if !touches {
			continue
		}
		for _, k := range con.published {
			if s.open(k/s.cols) && !seenCell[k] {
				seenCell[k] = true
				cells = append(cells, k)
			}
			if s.open(k / s.cols) {
				addOnce(&rows, 3, k/s.cols)
			}
		}
		if (con.origin == fromRow || con.origin == fromPositive) && s.open(con.index) {
			// An open row whose counts are all withheld still publishes its base and
			// % positive: withholding it whole is a step too.
			addOnce(&rows, 3, con.index)
		}
		switch con.origin {
		case fromColumn:
			if !s.totalsFixed {
				addOnce(&totals, 1, con.index)
			}
		case fromPositive:
			addOnce(&positives, 2, con.index)
		}
	}
	slices.SortFunc(cells, func(a, b int) int {
		na, nb := s.counts[a], s.counts[b]
		switch {
		case (na == 0) != (nb == 0):
			if na == 0 {
				return 1
			}
			return -1
		case na != nb:
			return int(na - nb)
		}
		return a - b
	})
	slices.Sort(totals)
	slices.Sort(positives)
	slices.Sort(rows)
	var steps []step
	for _, k := range cells {
		steps = append(steps, step{true, func(h *state) { h.cell[k] = Secondary }, func() { s.cell[k] = Secondary }})
	}
	for _, j := range totals {
		steps = append(steps, step{true, func(h *state) { h.totalStatus[j] = Secondary }, func() { s.totalStatus[j] = Secondary }})
	}
	for _, r := range positives {
		steps = append(steps, step{true, func(h *state) { h.posWithheld[r] = true }, func() { s.posWithheld[r] = true }})
	}
	for _, r := range rows {
		steps = append(steps, step{true, func(h *state) { h.row[r] = Secondary }, func() { s.row[r] = Secondary }})
	}
	if len(steps) == 0 {
		if s.totalsFixed {
			// Everything of the table around x is withheld; what keeps x exact is the
			// margin, published in its own table, which this check cannot withhold.
			// The table withholds all it can; x is left (and skipped from now on).
			if s.left == nil {
				s.left = map[target]bool{}
			}
			s.left[x] = true
			return nil
		}
		if x.row >= 0 {
			return fmt.Errorf("the base or positive count of withheld row %d stays exact with everything around it withheld: a further fact publishes it", x.row+1)
		}
		if x.cell >= 0 {
			return fmt.Errorf("cell (row %d, category %d) stays exact with everything around it withheld: a further fact publishes it", x.cell/s.cols+1, x.cell%s.cols+1)
		}
		return fmt.Errorf("the total of category %d stays exact with everything around it withheld: a further fact publishes it", x.total+1)
	}
	for _, st := range steps {
		h := s.clone()
		st.try(h)
		h.secondary()
		pinned, err := pinnedTarget(h, x)
		if err != nil {
			return err
		}
		if !pinned {
			st.do()
			return nil
		}
	}
	steps[0].do()
	return nil
}

// protectRow is S5's remedy for a withheld row whose base (or positive count) can be
// worked out: withhold whole the published row with the smallest base (ties: lowest
// group code) — the next smallest when that one would not help — or else a column
// total the check may withhold.
func (s *state) protectRow(x target) error {
	var rows []int
	for r := 0; r < s.rows; r++ {
		if s.open(r) {
			rows = append(rows, r)
		}
	}
	slices.SortStableFunc(rows, func(a, b int) int {
		switch {
		case s.base[a] < s.base[b]:
			return -1
		case s.base[a] > s.base[b]:
			return 1
		}
		return 0
	})
	var steps []step
	for _, r := range rows {
		steps = append(steps, step{true, func(h *state) { h.row[r] = Secondary }, func() { s.row[r] = Secondary }})
	}
	if !s.totalsFixed {
		for j, st := range s.totalStatus {
			if st == Published && (s.baseCols == nil || s.baseCols[j]) {
				steps = append(steps, step{true, func(h *state) { h.totalStatus[j] = Secondary }, func() { s.totalStatus[j] = Secondary }})
			}
		}
	}
	return s.firstThatHelps(x, steps, steps)
}

// protectTotal is S5's remedy for a withheld column total that can be worked out:
// withhold the smallest non-zero published count of its column (ties: lowest group
// code), or else the smallest non-zero published total of another column (ties:
// earliest).
func (s *state) protectTotal(j int) error {
	col := s.unsuppressedInColumn(j, -1, nil)
	var others []int
	for j2, st := range s.totalStatus {
		if j2 != j && st == Published {
			others = append(others, j2)
		}
	}
	pickTotal := func() int {
		best := -1
		for _, j2 := range others {
			switch n := s.total[j2]; {
			case best < 0, s.total[best] == 0 && n > 0, n > 0 && n < s.total[best]:
				best = j2
			}
		}
		return best
	}
	colStep := step{len(col) > 0, func(h *state) {
		for _, c := range col {
			h.cell[c] = Secondary
		}
	}, func() { s.cell[s.pick(col)] = Secondary }}
	totalStep := step{len(others) > 0 && !s.totalsFixed, func(h *state) {
		for _, j2 := range others {
			h.totalStatus[j2] = Secondary
		}
	}, func() { s.totalStatus[pickTotal()] = Secondary }}
	return s.firstThatHelps(target{-1, j, -1, false}, []step{colStep, totalStep}, []step{colStep, totalStep})
}

// pick chooses the cell to withhold among published cells: the smallest non-zero
// count, else the first (a zero), ties to the first listed.
func (s *state) pick(cells []int) int { return s.smallest(cells, false) }

// checked builds the output, in sorted row order.
func (s *state) checked(t Table, perm []int) *Checked {
	c := &Checked{
		name:       t.Name,
		groups:     make([]string, s.rows),
		categories: slices.Clone(t.Categories),
		counts:     s.counts,
		base:       s.base,
		row:        s.row,
		cell:       s.cell,
		positive:   make([]Status, s.rows),
		hasPos:     s.posCols != nil,
	}
	for i, o := range perm {
		c.groups[i] = t.Groups[o]
		if s.posWithheld[i] {
			c.positive[i] = Secondary
		}
	}
	if t.CellValues != nil {
		c.cellValues = make([]float64, s.rows*s.cols)
		for i, o := range perm {
			copy(c.cellValues[i*s.cols:], t.CellValues[o])
		}
	}
	copyRows := func(src [][]float64) [][]float64 {
		if src == nil {
			return nil
		}
		out := make([][]float64, s.rows)
		for i, o := range perm {
			out[i] = slices.Clone(src[o])
		}
		return out
	}
	c.posValues, c.rowValues = copyRows(t.PositiveValues), copyRows(t.RowValues)
	c.total, c.totalStatus = s.total, s.totalStatus
	for _, st := range s.totalStatus {
		if st != Published && !s.totalsFixed { // a Margin's are its own table's
			c.summary.TotalsWithheld++
		}
	}
	sum := &c.summary
	sum.Rows, sum.Cells = s.rows, s.rows*s.cols
	for r := 0; r < s.rows; r++ {
		switch s.row[r] {
		case Caution:
			sum.RowsCaution++
		case BaseTooSmall:
			sum.RowsBase++
		case Secondary:
			sum.RowsSecondary++
		}
		if !s.open(r) {
			sum.CellsInWithheldRows += s.cols
			continue
		}
		if s.posWithheld[r] {
			sum.PositiveWithheld++
		}
		for j := 0; j < s.cols; j++ {
			switch s.cell[r*s.cols+j] {
			case Primary:
				sum.CellsPrimary++
			case Secondary:
				sum.CellsSecondary++
			}
		}
	}
	return c
}
