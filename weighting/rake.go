package weighting

import (
	"math"
	"slices"
)

// cells is the cross-classification of respondents by their collapsed levels. Every
// respondent of a cell has the same base weight d and the same η (a sum of one
// multiplier per variable level), so the same weight: raking runs on the cells, a few
// dozen, instead of on every respondent, and its sums are the respondents' sums.
type cells struct {
	n       []float64 // respondents per cell
	lev     [][]int32 // [var][cell] level of the cell
	byLevel [][][]int // [var][level] cells in the level
	of      []int32   // respondent -> cell
	target  [][]float64
	// Scratch for the bounded step, reused across levels and sweeps.
	bps []breakpoint
}

type breakpoint struct {
	t    float64 // the step t = e^δ at which the cell leaves lo or reaches hi
	cell int
	high bool // reaching hi (else leaving lo)
}

// newCells builds the cells of m; targets are in units of d (T_level / d).
func newCells(m *margins, d float64) *cells {
	nv := len(m.levels)
	c := &cells{of: make([]int32, m.n), lev: make([][]int32, nv), byLevel: make([][][]int, nv), target: make([][]float64, nv)}
	radix := 1
	small := true
	for _, ls := range m.levels {
		radix *= len(ls)
		if radix > 1<<16 {
			small = false
		}
	}
	var dense []int32
	var sparse map[uint64]int32
	if small {
		dense = make([]int32, radix)
		for i := range dense {
			dense[i] = -1
		}
	} else {
		sparse = map[uint64]int32{}
	}
	for i := 0; i < m.n; i++ {
		var key uint64
		for v := range m.levels {
			key = key*uint64(len(m.levels[v])) + uint64(m.of[v][i])
		}
		var id int32
		var ok bool
		if small {
			id = dense[key]
			ok = id >= 0
		} else {
			id, ok = sparse[key]
		}
		if !ok {
			id = int32(len(c.n))
			c.n = append(c.n, 0)
			for v := range m.levels {
				c.lev[v] = append(c.lev[v], int32(m.of[v][i]))
			}
			if small {
				dense[key] = id
			} else {
				sparse[key] = id
			}
		}
		c.n[id]++
		c.of[i] = id
	}
	for v, ls := range m.levels {
		c.byLevel[v] = make([][]int, len(ls))
		c.target[v] = make([]float64, len(ls))
		for l := range ls {
			c.target[v][l] = ls[l].Frame / d
		}
		for id, l := range c.lev[v] {
			c.byLevel[v][l] = append(c.byLevel[v][l], id)
		}
	}
	c.bps = make([]breakpoint, 0, 2*len(c.n))
	return c
}

// marginError is max over every level of |Σ_level g / target − 1|, the relative error
// of the weights w = d·g against the frame totals T = d·target.
func (c *cells) marginError(g []float64) float64 {
	worst := 0.0
	for v := range c.byLevel {
		for l, ids := range c.byLevel[v] {
			s := 0.0
			for _, id := range ids {
				s += c.n[id] * g[id]
			}
			e := math.Abs(s/c.target[v][l] - 1)
			if !(e <= worst) { // NaN counts as the worst
				worst = e
			}
		}
	}
	return worst
}

// rake is W1: from η = 0, sweep the variables in order, each level's weights
// multiplied by target/sum, until the margin error after a sweep is below tol.
// It returns g = w/d per cell, each level's multiplier (ln of its total factor), the
// sweeps taken and whether it converged.
func (c *cells) rake(tol float64, maxSweeps int) (g []float64, lambda [][]float64, sweeps int, err float64, ok bool) {
	g = make([]float64, len(c.n))
	for i := range g {
		g[i] = 1
	}
	lambda = zeroLike(c.target)
	for sweeps = 1; sweeps <= maxSweeps; sweeps++ {
		for v := range c.byLevel {
			for l, ids := range c.byLevel[v] {
				s := 0.0
				for _, id := range ids {
					s += c.n[id] * g[id]
				}
				r := c.target[v][l] / s
				if !(r > 0) || math.IsInf(r, 0) { // a weight vanished or overflowed: no solution
					return g, lambda, sweeps, math.Inf(1), false
				}
				for _, id := range ids {
					g[id] *= r
				}
				lambda[v][l] += math.Log(r)
			}
		}
		if err = c.marginError(g); err < tol {
			return g, lambda, sweeps, err, true
		}
		if math.IsNaN(err) {
			return g, lambda, sweeps, err, false
		}
	}
	return g, lambda, maxSweeps, err, false
}

// rakeBounded is W4: the same sweeps, each level's step the exact δ with
// Σ_level n·clip(e^{η+δ}, lo, hi) = target. u holds e^η per cell; the weights are
// g = clip(u, lo, hi). Every level's target must lie strictly between lo and hi
// times its respondents (W3), so each step has a solution.
func (c *cells) rakeBounded(lo, hi, tol float64, maxSweeps int) (g []float64, lambda [][]float64, sweeps int, err float64, ok bool) {
	u := make([]float64, len(c.n))
	g = make([]float64, len(c.n))
	for i := range u {
		u[i] = 1
	}
	lambda = zeroLike(c.target)
	for sweeps = 1; sweeps <= maxSweeps; sweeps++ {
		for v := range c.byLevel {
			for l, ids := range c.byLevel[v] {
				t := c.step(ids, u, c.target[v][l], lo, hi)
				if !(t > 0) || math.IsInf(t, 0) {
					return clipAll(g, u, lo, hi), lambda, sweeps, math.Inf(1), false
				}
				for _, id := range ids {
					u[id] *= t
				}
				lambda[v][l] += math.Log(t)
			}
		}
		if err = c.marginError(clipAll(g, u, lo, hi)); err < tol {
			return g, lambda, sweeps, err, true
		}
		if math.IsNaN(err) {
			return g, lambda, sweeps, err, false
		}
	}
	return g, lambda, maxSweeps, err, false
}

func clipAll(g, u []float64, lo, hi float64) []float64 {
	for i, x := range u {
		g[i] = min(max(x, lo), hi)
	}
	return g
}

// step solves Σ_{cells} n·clip(u·t, lo, hi) = target for t = e^δ. The left side is
// continuous and non-decreasing in t, linear between the breakpoints lo/u and hi/u:
// try the plain step; if a cell would clip, walk the sorted breakpoints to the
// segment that holds the target and solve A + B·t = target there, with A the clipped
// cells' n·bound and B the free cells' n·u.
func (c *cells) step(ids []int, u []float64, target, lo, hi float64) float64 {
	b := 0.0
	for _, id := range ids {
		b += c.n[id] * u[id]
	}
	t := target / b
	clips := false
	for _, id := range ids {
		if x := u[id] * t; x < lo || x > hi {
			clips = true
			break
		}
	}
	if !clips {
		return t
	}
	bps := c.bps[:0]
	a := 0.0
	for _, id := range ids {
		bps = append(bps, breakpoint{lo / u[id], id, false}, breakpoint{hi / u[id], id, true})
		a += c.n[id] * lo
	}
	slices.SortFunc(bps, func(x, y breakpoint) int {
		switch {
		case x.t < y.t:
			return -1
		case x.t > y.t:
			return 1
		case !x.high && y.high: // leave lo before reaching hi at the same t
			return -1
		case x.high && !y.high:
			return 1
		}
		return x.cell - y.cell
	})
	c.bps = bps
	// Running A and B locate the segment; they are then recomputed afresh for it so
	// no rounding carries over from the walk.
	b = 0
	left := 0.0
	for k, bp := range bps {
		if b > 0 && a+b*bp.t >= target {
			return c.solveSegment(ids, u, target, lo, hi, left, bp.t)
		}
		if bp.high {
			b -= c.n[bp.cell] * u[bp.cell]
			a += c.n[bp.cell] * hi
		} else {
			a -= c.n[bp.cell] * lo
			b += c.n[bp.cell] * u[bp.cell]
		}
		left = bps[k].t
	}
	// Every cell is at hi beyond the last breakpoint: only reached when the target is
	// not below hi·n, which W3 rules out.
	return math.NaN()
}

// solveSegment solves A + B·t = target on the breakpoint segment [left, right].
func (c *cells) solveSegment(ids []int, u []float64, target, lo, hi, left, right float64) float64 {
	mid := left + (right-left)/2
	a, b := 0.0, 0.0
	for _, id := range ids {
		switch x := u[id] * mid; {
		case x <= lo:
			a += c.n[id] * lo
		case x >= hi:
			a += c.n[id] * hi
		default:
			b += c.n[id] * u[id]
		}
	}
	t := (target - a) / b
	return min(max(t, left), right)
}

func zeroLike(x [][]float64) [][]float64 {
	out := make([][]float64, len(x))
	for i := range x {
		out[i] = make([]float64, len(x[i]))
	}
	return out
}
