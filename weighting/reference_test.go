package weighting

import (
	"math"
	"math/rand/v2"
	"testing"
)

// capReRake is the slow reference for W4: "cap, re-rake, repeat until nothing is
// capped", on respondents one by one (not cells), with the capped respondents held at
// their bound while the others are re-raked to 1e-13, then every respondent's
// uncapped weight d·exp(η) compared with the bounds again; it stops when the set of
// capped respondents no longer changes. Its fixed point meets the margins with
// w = d·clip(exp(η)), the definition, so it must agree with W4 wherever it converges.
// ok is false when it does not (it is not guaranteed to: that is why it is not the
// definition).
func capReRake(in Input, r *Result, lo, hi float64) (w []float64, ok bool) {
	n, nv := r.Respondents, len(in.Vars)
	d := r.BaseWeight
	lambda := make([][]float64, nv)
	for v := range lambda {
		lambda[v] = make([]float64, len(r.Levels[v]))
	}
	eta := func(i int) float64 {
		s := 0.0
		for v := range nv {
			s += lambda[v][r.LevelOf[v][i]]
		}
		return s
	}
	state := make([]int8, n) // -1 capped at lo, +1 capped at hi, 0 free
	weight := func(i int) float64 {
		switch state[i] {
		case -1:
			return lo * d
		case 1:
			return hi * d
		}
		return d * math.Exp(eta(i))
	}
	for outer := 0; outer < 100; outer++ {
		converged := false
		for sweep := 0; sweep < 200000 && !converged; sweep++ {
			for v := range nv {
				a := make([]float64, len(r.Levels[v]))
				b := make([]float64, len(r.Levels[v]))
				for i := range n {
					l := r.LevelOf[v][i]
					if state[i] == 0 {
						b[l] += d * math.Exp(eta(i))
					} else {
						a[l] += weight(i)
					}
				}
				for l, lv := range r.Levels[v] {
					if b[l] == 0 || lv.Frame-a[l] <= 0 {
						return nil, false // the capped set leaves this level nothing to rake
					}
					lambda[v][l] += math.Log((lv.Frame - a[l]) / b[l])
				}
			}
			worst := 0.0
			for v := range nv {
				s := make([]float64, len(r.Levels[v]))
				for i := range n {
					s[r.LevelOf[v][i]] += weight(i)
				}
				for l, lv := range r.Levels[v] {
					worst = max(worst, math.Abs(s[l]/lv.Frame-1))
				}
			}
			converged = worst < 1e-13
		}
		if !converged {
			return nil, false
		}
		changed := false
		for i := range n {
			g := math.Exp(eta(i))
			s := int8(0)
			switch {
			case g < lo:
				s = -1
			case g > hi:
				s = 1
			}
			if s != state[i] {
				state[i], changed = s, true
			}
		}
		if !changed {
			w = make([]float64, n)
			for i := range n {
				w[i] = weight(i)
			}
			return w, true
		}
	}
	return nil, false
}

// TestBoundedAgreesWithReference: on random feasible ICSs that need trimming, W4's
// weights agree with the slow reference to 1e-9 of d.
func TestBoundedAgreesWithReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 4))
	trimmed, agreed := 0, 0
	for k := 0; k < 3000 && trimmed < 150; k++ {
		in := randomICS(rng, 2+rng.IntN(2))
		p := Params{Lo: 0.3 + 0.5*rng.Float64(), Hi: 1.3 + 2*rng.Float64(), MinLevelN: 1 + rng.IntN(8), Tol: 1e-12, MaxSweeps: 10000}
		for _, x := range in.Vars {
			p.Vars = append(p.Vars, x.Name)
		}
		r, err := Weight(in, p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != Trimmed {
			continue
		}
		trimmed++
		ref, ok := capReRake(in, r, p.Lo, p.Hi)
		if !ok {
			continue
		}
		agreed++
		for i, w := range r.Weights {
			if math.Abs(w-ref[i]) > 1e-9*r.BaseWeight {
				t.Fatalf("case %d respondent %d: W4 %.15g, reference %.15g (d %v)", k, i, w, ref[i], r.BaseWeight)
			}
		}
	}
	t.Logf("%d trimmed ICSs, the reference converged and agreed on %d", trimmed, agreed)
	if trimmed < 100 || agreed < trimmed*3/4 {
		t.Fatalf("too few comparisons: %d trimmed, %d agreed", trimmed, agreed)
	}
}
