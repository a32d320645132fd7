package disclosure

import (
	"errors"
	"math/big"
)

// An exact linear program: x ≥ 0, A·x = b, with A's entries 0 or ±1 and b integer, as
// the attacker's knowledge of a table always is. Solved by the two-phase simplex
// method with Bland's rule (which cannot cycle) in rational arithmetic, so a width of
// zero is exactly zero and a width above zero is exactly above zero.

var errInfeasible = errors.New("disclosure: the attacker's constraints have no solution, though the true table satisfies them")

type lp struct {
	m, n  int       // constraint rows, columns (without the right-hand side)
	a     []big.Rat // m × (n+1), row-major; column n is the right-hand side
	basis []int
}

// newLP builds the phase-1 problem: rows are (coefficients, rhs) with rhs ≥ 0 after
// sign flips; the artificial columns follow the n structural ones.
func newLP(rows [][]int8, rhs []int64, n int) *lp {
	m := len(rows)
	t := &lp{m: m, n: n + m, a: make([]big.Rat, m*(n+m+1)), basis: make([]int, m)}
	w := t.n + 1
	for i, row := range rows {
		sign := int64(1)
		if rhs[i] < 0 {
			sign = -1
		}
		for j, c := range row {
			if c != 0 {
				t.a[i*w+j].SetInt64(sign * int64(c))
			}
		}
		t.a[i*w+n+i].SetInt64(1)
		t.a[i*w+t.n].SetInt64(sign * rhs[i])
		t.basis[i] = n + i
	}
	return t
}

func (t *lp) at(i, j int) *big.Rat { return &t.a[i*(t.n+1)+j] }

// pivot makes column j basic in row r, updating the rows and the reduced costs obj.
func (t *lp) pivot(r, j int, obj []big.Rat) {
	w := t.n + 1
	var inv, f, tmp big.Rat
	inv.Inv(t.at(r, j))
	row := t.a[r*w : r*w+w]
	for k := range row {
		if row[k].Sign() != 0 {
			row[k].Mul(&row[k], &inv)
		}
	}
	eliminate := func(dst []big.Rat) {
		if dst[j].Sign() == 0 {
			return
		}
		f.Set(&dst[j])
		for k := range dst {
			if row[k].Sign() != 0 {
				tmp.Mul(&f, &row[k])
				dst[k].Sub(&dst[k], &tmp)
			}
		}
	}
	for i := 0; i < t.m; i++ {
		if i != r {
			eliminate(t.a[i*w : i*w+w])
		}
	}
	eliminate(obj)
	t.basis[r] = j
}

// simplex minimises with reduced costs obj (obj[n] holds minus the objective's value)
// over the columns below limit. It reports false when the objective is unbounded.
func (t *lp) simplex(obj []big.Rat, limit int) bool {
	var ratio, best big.Rat
	for {
		enter := -1
		for j := 0; j < limit; j++ {
			if obj[j].Sign() < 0 {
				enter = j
				break
			}
		}
		if enter < 0 {
			return true
		}
		leave := -1
		for i := 0; i < t.m; i++ {
			aij := t.at(i, enter)
			if aij.Sign() <= 0 {
				continue
			}
			ratio.Quo(t.at(i, t.n), aij)
			if leave < 0 {
				leave = i
				best.Set(&ratio)
				continue
			}
			switch c := ratio.Cmp(&best); {
			case c < 0, c == 0 && t.basis[i] < t.basis[leave]:
				leave = i
				best.Set(&ratio)
			}
		}
		if leave < 0 {
			return false
		}
		t.pivot(leave, enter, obj)
	}
}

// feasible runs phase 1 and removes the artificial columns, leaving a basic feasible
// solution of the structural problem (n structural columns).
func (t *lp) feasible(n int) error {
	w := t.n + 1
	obj := make([]big.Rat, w)
	for i := 0; i < t.m; i++ {
		for k := 0; k < w; k++ {
			if k >= n && k < t.n {
				continue // artificial: reduced cost 0 while basic
			}
			obj[k].Sub(&obj[k], t.at(i, k))
		}
	}
	t.simplex(obj, t.n)
	if obj[t.n].Sign() != 0 {
		return errInfeasible
	}
	// Drive artificials out of the basis; a row with no structural entry is redundant.
	for i := 0; i < t.m; i++ {
		if t.basis[i] < n {
			continue
		}
		j := 0
		for ; j < n && t.at(i, j).Sign() == 0; j++ {
		}
		if j < n {
			t.pivot(i, j, obj)
			continue
		}
		t.removeRow(i)
		i--
	}
	// Drop the artificial columns.
	a := make([]big.Rat, t.m*(n+1))
	for i := 0; i < t.m; i++ {
		for k := 0; k < n; k++ {
			a[i*(n+1)+k].Set(t.at(i, k))
		}
		a[i*(n+1)+n].Set(t.at(i, t.n))
	}
	t.a, t.n = a, n
	return nil
}

func (t *lp) removeRow(i int) {
	w := t.n + 1
	t.a = append(t.a[:i*w], t.a[(i+1)*w:]...)
	t.basis = append(t.basis[:i], t.basis[i+1:]...)
	t.m--
}

func (t *lp) clone() *lp {
	c := &lp{m: t.m, n: t.n, a: make([]big.Rat, len(t.a)), basis: append([]int(nil), t.basis...)}
	for i := range t.a {
		c.a[i].Set(&t.a[i])
	}
	return c
}

// optimum returns min (sign = +1) or max (sign = −1) of the sum of the columns
// cols from the feasible basis t, without changing t; ok is false when the maximum
// is unbounded.
func (t *lp) optimum(cols []int, sign int) (v *big.Rat, ok bool) {
	s := t.clone()
	w := s.n + 1
	c := make([]int64, s.n) // the objective's coefficients
	for _, k := range cols {
		c[k] = int64(sign)
	}
	obj := make([]big.Rat, w)
	for j := 0; j < s.n; j++ {
		obj[j].SetInt64(c[j])
	}
	// Reduced costs: c_j − c_B·B⁻¹A_j; obj[n] = −c_B·B⁻¹b.
	var tmp, cb big.Rat
	for i := 0; i < s.m; i++ {
		if cbi := c[s.basis[i]]; cbi != 0 {
			cb.SetInt64(cbi)
			for j := 0; j < w; j++ {
				if a := s.at(i, j); a.Sign() != 0 {
					tmp.Mul(&cb, a)
					obj[j].Sub(&obj[j], &tmp)
				}
			}
		}
	}
	if !s.simplex(obj, s.n) {
		return nil, false
	}
	v = new(big.Rat).Neg(&obj[s.n])
	if sign < 0 {
		v.Neg(v)
	}
	return v, true
}
