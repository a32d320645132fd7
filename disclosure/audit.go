package disclosure

import (
	"math/big"
	"slices"
)

// The attacker's knowledge of a table, as linear constraints on its withheld counts
// (the unknowns, each ≥ 0): every published fact is an equation whose right-hand side
// is the sum of the unknowns it holds (the published counts in it are subtracted
// out), and a withheld row's base is known to lie in a range. S5 asks, for each
// unknown, whether it takes more than one value on this polytope.

type consKind int8

const (
	eq consKind = iota // Σ x = rhs
	le                 // Σ x ≤ rhs
	ge                 // Σ x ≥ rhs
)

type constraint struct {
	vars []int
	rhs  int64
	cur  int64 // Σ of the true values: rhs for an equation
	kind consKind
	// What published it: a row's fact (base, total, positive; a withheld row's
	// range), a column total, or a further fact; and the row or column.
	origin origin
	index  int
	// published are the fact's published cells (kept only by buildFull).
	published []int
}

type origin int8

const (
	fromRow origin = iota
	fromPositive
	fromColumn
	fromFact
)

type system struct {
	cells  []int   // var → cell index
	varOf  []int   // cell index → var, −1 when published
	val    []int64 // var → true count
	cons   []constraint
	consOf [][]int // var → constraints holding it
	// Scratch.
	touched []int
	mark    []bool  // per constraint, touched by the move being checked
	delta   []int64 // per constraint, Σ of a move's changes
	comp    []int   // var → component, −1 until computed
	lps     map[int]*lp
	slab    []int // backing of the constraints' vars
	back    []int // backing of consOf
	count   []int
	rowBuf  []int
}

// build reads the attacker's constraints off the state, into the state's scratch
// system (valid until the next build of the same check).
func build(s *state) *system {
	if s.scratch == nil {
		s.scratch = &system{}
	}
	return buildWith(s, false, s.scratch)
}

// buildFull also keeps each constraint's published cells, in a system of its own.
func buildFull(s *state) *system { return buildWith(s, true, &system{}) }

// reuse returns b[:n], reallocated when too short.
func reuse[T any](b []T, n int) []T {
	if cap(b) < n {
		return make([]T, n, n+n/2)
	}
	return b[:n]
}

func buildWith(s *state, keepPublished bool, sys *system) *system {
	// With nothing published across rows (no column totals, no further facts) and
	// min_base ≥ 3, a withheld row's counts are never exact: a row withheld for its
	// base has a base in [1, min_base − 1] (or [0, min_base − 1]), so each of its base
	// counts can be 0 or at least 1 (one base count: it ranges over [1, min_base − 1]),
	// and its other counts are unbounded; a row withheld whole by the audit has only a
	// lower bound. Such rows are then left out of the system altogether.
	isolated := !s.colTotals && len(s.facts) == 0 && s.p.MinBase >= 3 && !s.keepWithheldRows
	n := 0
	for k := range s.counts {
		if s.withheld(k) && !(isolated && !s.open(k/s.cols)) {
			n++
		}
	}
	sys.cells, sys.val, sys.cons, sys.consOf, sys.lps = sys.cells[:0], sys.val[:0], sys.cons[:0], sys.consOf[:0], nil
	if n == 0 {
		sys.varOf = nil
		return sys // nothing unknown: most tables, checked without allocating
	}
	sys.varOf = reuse(sys.varOf, len(s.counts))
	for k := range sys.varOf {
		sys.varOf[k] = -1
	}
	for k := range s.counts {
		if s.withheld(k) && !(isolated && !s.open(k/s.cols)) {
			sys.varOf[k] = len(sys.cells)
			sys.cells = append(sys.cells, k)
			sys.val = append(sys.val, s.counts[k])
		}
	}
	var from origin
	var index int
	slab := sys.slab[:0]
	add := func(cells []int, kind consKind, bound int64) {
		c := constraint{kind: kind, origin: from, index: index}
		first := len(slab)
		for _, k := range cells {
			if v := sys.varOf[k]; v >= 0 {
				slab = append(slab, v)
				c.cur += sys.val[v]
			} else if keepPublished {
				c.published = append(c.published, k)
			}
		}
		if len(slab) == first {
			return
		}
		c.vars = slab[first:len(slab):len(slab)]
		c.rhs = c.cur
		if kind != eq {
			c.rhs = bound
		}
		sys.cons = append(sys.cons, c)
	}
	cells := sys.rowBuf[:0]
	rowCells := func(r int, in []bool) []int {
		cells = cells[:0]
		for j := 0; j < s.cols; j++ {
			if in == nil || in[j] {
				cells = append(cells, r*s.cols+j)
			}
		}
		return cells
	}
	for r := 0; r < s.rows; r++ {
		from, index = fromRow, r
		switch s.row[r] {
		case BaseTooSmall:
			if isolated {
				continue
			}
			// Shown as "<min_base": the base is below min_base (and, the row being
			// shown, at least 1 when it truly is).
			add(rowCells(r, s.baseCols), le, int64(s.p.MinBase-1))
			if s.base[r] >= 1 {
				add(rowCells(r, s.baseCols), ge, 1)
			}
		case Secondary:
			if isolated {
				continue
			}
			// Withheld whole though not for its base: the base is at least min_base.
			add(rowCells(r, s.baseCols), ge, int64(s.p.MinBase))
		default:
			if !s.anyWithheld(r) {
				continue // nothing of this row is unknown: its facts hold no unknown
			}
			add(rowCells(r, s.baseCols), eq, 0)
			if s.unweighted {
				// An unweighted % of a published non-zero count gives the row's total
				// (count / %); the % positive times the base gives the positive count.
				if s.totalRevealed(r) {
					add(rowCells(r, nil), eq, 0)
				}
				if s.posCols != nil && !s.posWithheld[r] {
					from = fromPositive
					add(rowCells(r, s.posCols), eq, 0)
				}
			}
		}
	}
	if s.colTotals {
		for j := 0; j < s.cols; j++ {
			if s.totalStatus[j] != Published {
				continue
			}
			from, index = fromColumn, j
			cells = cells[:0]
			for r := 0; r < s.rows; r++ {
				cells = append(cells, r*s.cols+j)
			}
			add(cells, eq, 0)
		}
	}
	for i, f := range s.facts {
		from, index = fromFact, i
		add(f, eq, 0)
	}
	sys.slab, sys.rowBuf = slab, cells
	count := reuse(sys.count, n+1)
	clear(count)
	for _, c := range sys.cons {
		for _, v := range c.vars {
			count[v+1]++
		}
	}
	for v := 1; v <= n; v++ {
		count[v] += count[v-1]
	}
	back := reuse(sys.back, count[n])
	sys.consOf = reuse(sys.consOf, n)
	for v := range sys.consOf {
		sys.consOf[v] = back[count[v]:count[v]:count[v+1]]
	}
	for i, c := range sys.cons {
		for _, v := range c.vars {
			sys.consOf[v] = append(sys.consOf[v], i)
		}
	}
	sys.count, sys.back = count, back
	nc := len(sys.cons)
	sys.delta = reuse(sys.delta, nc)
	clear(sys.delta)
	sys.mark = reuse(sys.mark, nc)
	clear(sys.mark)
	sys.comp = reuse(sys.comp, n)
	for i := range sys.comp {
		sys.comp[i] = -1
	}
	return sys
}

// anyWithheld reports whether row r has a withheld count.
func (s *state) anyWithheld(r int) bool {
	for j := 0; j < s.cols; j++ {
		if s.cell[r*s.cols+j] != Published {
			return true
		}
	}
	return false
}

// totalRevealed reports whether an unweighted row's total can be read off a
// published count and its %: some published count in the row is not zero.
func (s *state) totalRevealed(r int) bool {
	for j := 0; j < s.cols; j++ {
		if k := r*s.cols + j; !s.withheld(k) && s.counts[k] > 0 {
			return true
		}
	}
	return false
}

// varAt is cell k's unknown, or −1 when k is published or left out.
func (sys *system) varAt(k int) int {
	if sys.varOf == nil {
		return -1
	}
	return sys.varOf[k]
}

// move is one change to an unknown in a candidate certificate.
type move struct {
	v int
	d int64
}

// feasibleMove reports whether changing the unknowns by ms keeps every count ≥ 0 and
// every constraint true: then the true table changed by ms is another table the
// attacker cannot rule out, and every unknown ms changes has an interval wider than 0.
func (sys *system) feasibleMove(ms []move) bool {
	for _, m := range ms {
		if sys.val[m.v]+m.d < 0 {
			return false
		}
	}
	sys.touched = sys.touched[:0]
	for _, m := range ms {
		for _, c := range sys.consOf[m.v] {
			if !sys.mark[c] {
				sys.mark[c] = true
				sys.touched = append(sys.touched, c)
			}
			sys.delta[c] += m.d
		}
	}
	ok := true
	for _, c := range sys.touched {
		d := sys.delta[c]
		con := &sys.cons[c]
		switch con.kind {
		case eq:
			ok = ok && d == 0
		case le:
			ok = ok && con.cur+d <= con.rhs
		case ge:
			ok = ok && con.cur+d >= con.rhs
		}
	}
	for _, c := range sys.touched {
		sys.delta[c], sys.mark[c] = 0, false
	}
	return ok
}

// certified looks for a cheap certificate that unknown v is not pinned: a feasible
// integer move of one unknown, of two unknowns of the same row, or of four unknowns
// at the corners of a rectangle. Sufficient, not necessary: when it finds none, the
// exact linear program decides.
func (sys *system) certified(s *state, v int) bool {
	if len(sys.consOf[v]) == 0 {
		return true // nothing bounds it above
	}
	if sys.feasibleMove([]move{{v, 1}}) || sys.feasibleMove([]move{{v, -1}}) {
		return true
	}
	k := sys.cells[v]
	r, j := k/s.cols, k%s.cols
	var ms [4]move
	for j2 := 0; j2 < s.cols; j2++ {
		u := sys.varOf[r*s.cols+j2]
		if j2 == j || u < 0 {
			continue
		}
		ms[0], ms[1] = move{v, 1}, move{u, -1}
		if sys.feasibleMove(ms[:2]) {
			return true
		}
		ms[0], ms[1] = move{v, -1}, move{u, 1}
		if sys.feasibleMove(ms[:2]) {
			return true
		}
		for r2 := 0; r2 < s.rows; r2++ {
			x, y := sys.varOf[r2*s.cols+j], sys.varOf[r2*s.cols+j2]
			if r2 == r || x < 0 || y < 0 {
				continue
			}
			for _, d := range [2]int64{1, -1} {
				ms = [4]move{{v, d}, {u, -d}, {x, -d}, {y, d}}
				if sys.feasibleMove(ms[:]) {
					return true
				}
			}
		}
	}
	return false
}

// obviouslyPinned finds the cheap proofs that v is exact: it is alone in an
// equation, or in an equation whose unknowns sum to 0, or it is the one unknown by
// which one equation's unknowns exceed another's (a total less a base).
func (sys *system) obviouslyPinned(v int) bool {
	for _, c := range sys.consOf[v] {
		con := &sys.cons[c]
		if con.kind != eq {
			continue
		}
		if len(con.vars) == 1 || con.rhs == 0 {
			return true
		}
		for i := range sys.cons {
			b := &sys.cons[i]
			if b.kind == eq && len(b.vars) == len(con.vars)-1 && subsetOf(b.vars, con.vars) && !slices.Contains(b.vars, v) {
				return true
			}
		}
	}
	return false
}

// subsetOf reports whether every element of a is in b (both short).
func subsetOf(a, b []int) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}

// pinned reports whether unknown v has an attacker interval of width 0.
func (sys *system) pinned(s *state, v int) (bool, error) {
	if sys.obviouslyPinned(v) {
		return true, nil
	}
	if sys.certified(s, v) {
		return false, nil
	}
	lo, hi, err := sys.interval(v)
	if err != nil {
		return false, err
	}
	return hi != nil && lo.Cmp(hi) == 0, nil
}

// interval is the exact attacker interval of unknown v: min and max of it over the
// constraints of its component; hi is nil when it is unbounded above.
func (sys *system) interval(v int) (lo, hi *big.Rat, err error) {
	return sys.sumInterval([]int{v})
}

// sumInterval is the exact attacker interval of the sum of the unknowns vars: the sum
// over their components of each component's min and max.
func (sys *system) sumInterval(vars []int) (lo, hi *big.Rat, err error) {
	lo, hi = new(big.Rat), new(big.Rat)
	done := map[int]bool{}
	for _, v := range vars {
		if sys.comp[v] < 0 {
			sys.label(v)
		}
		id := sys.comp[v]
		if done[id] {
			continue
		}
		done[id] = true
		t, colOf, err := sys.componentLP(v)
		if err != nil {
			return nil, nil, err
		}
		var cols []int
		for _, u := range vars {
			if sys.comp[u] == id {
				cols = append(cols, colOf[u])
			}
		}
		min, _ := t.optimum(cols, 1)
		lo.Add(lo, min)
		if hi != nil {
			if max, ok := t.optimum(cols, -1); ok {
				hi.Add(hi, max)
			} else {
				hi = nil
			}
		}
	}
	return lo, hi, nil
}

// componentLP returns the phase-1 solved program of v's component (the unknowns
// linked to it through constraints) and each of its unknowns' column. Cached per
// component.
func (sys *system) componentLP(v int) (*lp, map[int]int, error) {
	if sys.comp[v] < 0 {
		sys.label(v)
	}
	id := sys.comp[v]
	var vars []int
	for u, c := range sys.comp {
		if c == id {
			vars = append(vars, u)
		}
	}
	colOf := make(map[int]int, len(vars))
	for i, u := range vars {
		colOf[u] = i
	}
	if t, ok := sys.lps[id]; ok {
		return t, colOf, nil
	}
	var rows [][]int8
	var rhs []int64
	n := len(vars)
	var conIDs []int
	seen := map[int]bool{}
	for _, u := range vars {
		for _, c := range sys.consOf[u] {
			if !seen[c] {
				seen[c] = true
				conIDs = append(conIDs, c)
			}
		}
	}
	slack := 0
	for _, c := range conIDs {
		if sys.cons[c].kind != eq {
			slack++
		}
	}
	s := n
	for _, c := range conIDs {
		con := &sys.cons[c]
		row := make([]int8, n+slack)
		for _, u := range con.vars {
			row[colOf[u]] = 1
		}
		switch con.kind {
		case le:
			row[s] = 1
			s++
		case ge:
			row[s] = -1
			s++
		}
		rows = append(rows, row)
		rhs = append(rhs, con.rhs)
	}
	t := newLP(rows, rhs, n+slack)
	if err := t.feasible(n + slack); err != nil {
		return nil, nil, err
	}
	if sys.lps == nil {
		sys.lps = map[int]*lp{}
	}
	sys.lps[id] = t
	return t, colOf, nil
}

// label marks v's component.
func (sys *system) label(v int) {
	id := v
	stack := []int{v}
	sys.comp[v] = id
	for len(stack) > 0 {
		u := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range sys.consOf[u] {
			for _, x := range sys.cons[c].vars {
				if sys.comp[x] < 0 {
					sys.comp[x] = id
					stack = append(stack, x)
				}
			}
		}
	}
}

// target is what the audit found exact: a cell, a withheld column total, or the base
// (or positive count) of a withheld row.
type target struct {
	cell  int  // −1 unless a cell
	total int  // column, −1 unless a total
	row   int  // withheld row, −1 unless a row's sum
	pos   bool // the row's positive count, not its base
}

var none = target{-1, -1, -1, false}

// firstPinned audits every withheld cell in order (rows, then columns), then every
// withheld column total, then every withheld row's base and positive count, and
// returns the first whose interval has width 0, or none.
func firstPinned(s *state) (target, error) {
	sys := build(s)
	for v := range sys.cells {
		p, err := sys.pinned(s, v)
		if err != nil {
			return none, err
		}
		if x := (target{sys.cells[v], -1, -1, false}); p && !s.left[x] {
			return x, nil
		}
	}
	for j, st := range s.totalStatus {
		if st == Published {
			continue
		}
		p, err := sys.totalPinned(s, j)
		if err != nil {
			return none, err
		}
		if x := (target{-1, j, -1, false}); p && !s.left[x] {
			return x, nil
		}
	}
	if !s.rowRemedy() {
		return none, nil
	}
	for r := 0; r < s.rows; r++ {
		if s.open(r) {
			continue
		}
		for _, pos := range []bool{false, true} {
			if pos && s.posCols == nil {
				continue
			}
			x := target{-1, -1, r, pos}
			p, err := sys.sumPinned(s, s.rowVars(sys, x))
			if err != nil {
				return none, err
			}
			if p && !s.left[x] {
				return x, nil
			}
		}
	}
	return none, nil
}

// rowRemedy reports whether anything is left that could protect a withheld row's
// sums: a published row, or a column total the check may withhold. (With neither —
// every row withheld and the totals a Margin's — nothing in the table can help.)
func (s *state) rowRemedy() bool {
	if s.smallestOpenRow() >= 0 {
		return true
	}
	if s.totalsFixed {
		return false
	}
	for j, st := range s.totalStatus {
		if st == Published && (s.baseCols == nil || s.baseCols[j]) {
			return true
		}
	}
	return false
}

// rowVars lists the unknowns of target row x's base (or positive) categories.
func (s *state) rowVars(sys *system, x target) []int {
	in := s.baseCols
	if x.pos {
		in = s.posCols
	}
	var vars []int
	for j := 0; j < s.cols; j++ {
		if in == nil || in[j] {
			if v := sys.varAt(x.row*s.cols + j); v >= 0 {
				vars = append(vars, v)
			}
		}
	}
	return vars
}

// sumPinned reports whether the sum of the unknowns vars takes one value; no unknowns
// (a row left out of the system) is never exact. Certificate: a feasible move of one
// of them changes the sum.
func (sys *system) sumPinned(s *state, vars []int) (bool, error) {
	if len(vars) == 0 {
		return false, nil
	}
	for _, v := range vars {
		if len(sys.consOf[v]) == 0 || sys.feasibleMove([]move{{v, 1}}) || sys.feasibleMove([]move{{v, -1}}) {
			return false, nil
		}
	}
	lo, hi, err := sys.sumInterval(vars)
	if err != nil {
		return false, err
	}
	return hi != nil && lo.Cmp(hi) == 0, nil
}

// pinnedTarget reports whether x (withheld in s) is exact.
func pinnedTarget(s *state, x target) (bool, error) {
	sys := build(s)
	if x.cell >= 0 {
		v := sys.varAt(x.cell)
		if v < 0 {
			return false, nil // a withheld row's cell with nothing across rows: never exact
		}
		return sys.pinned(s, v)
	}
	if x.row >= 0 {
		return sys.sumPinned(s, s.rowVars(sys, x))
	}
	return sys.totalPinned(s, x.total)
}

// columnVars lists the unknowns of column j.
func (sys *system) columnVars(s *state, j int) []int {
	var vars []int
	for r := 0; r < s.rows; r++ {
		if v := sys.varAt(r*s.cols + j); v >= 0 {
			vars = append(vars, v)
		}
	}
	return vars
}

// totalPinned reports whether column j's (withheld) total is exact: its unknowns'
// sum takes one value. Certificates: a feasible move of one of them, or of one and
// another unknown of its row in another column, changes the sum.
func (sys *system) totalPinned(s *state, j int) (bool, error) {
	vars := sys.columnVars(s, j)
	if len(vars) == 0 {
		return true, nil // every count of the column is published
	}
	for _, v := range vars {
		if len(sys.consOf[v]) == 0 || sys.feasibleMove([]move{{v, 1}}) || sys.feasibleMove([]move{{v, -1}}) {
			return false, nil
		}
		r := sys.cells[v] / s.cols
		for j2 := 0; j2 < s.cols; j2++ {
			u := sys.varOf[r*s.cols+j2]
			if j2 == j || u < 0 {
				continue
			}
			if sys.feasibleMove([]move{{v, 1}, {u, -1}}) || sys.feasibleMove([]move{{v, -1}, {u, 1}}) {
				return false, nil
			}
		}
	}
	lo, hi, err := sys.sumInterval(vars)
	if err != nil {
		return false, err
	}
	return hi != nil && lo.Cmp(hi) == 0, nil
}
