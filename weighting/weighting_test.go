package weighting

import (
	"math"
	"math/rand/v2"
	"testing"
)

// twoByTwo builds an ICS with variables A (a1, a2) and B (b1, b2), n[i][j]
// respondents in cell (ai, bj), and the given frame margins.
func twoByTwo(n [2][2]int, fa, fb [2]float64) Input {
	var a, b []int
	for i := range 2 {
		for j := range 2 {
			for range n[i][j] {
				a, b = append(a, i), append(b, j)
			}
		}
	}
	return Input{ICS: "QHM", Vars: []Variable{
		{Name: "A", Levels: []string{"a1", "a2"}, Frame: fa[:], Of: a},
		{Name: "B", Levels: []string{"b1", "b2"}, Frame: fb[:], Of: b},
	}}
}

func abParams(lo, hi float64) Params {
	return Params{Vars: []string{"A", "B"}, Lo: lo, Hi: hi, MinLevelN: 1, Tol: 1e-12, MaxSweeps: 10000}
}

// cellWeight returns the weight of the first respondent in cell (i, j).
func cellWeight(t *testing.T, in Input, r *Result, i, j int) float64 {
	t.Helper()
	for k := range in.Vars[0].Of {
		if in.Vars[0].Of[k] == i && in.Vars[1].Of[k] == j {
			return r.Weights[k]
		}
	}
	t.Fatalf("no respondent in cell (%d, %d)", i, j)
	return 0
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestRakeByHand: cells n = [[2, 1], [1, 2]], N = 12 (d = 2), A margins (6, 6), B
// margins (4, 8). With w_ij = d·x_i·y_j and y_1 = 1, the margins give
// 4·y2² − 5·y2 − 8 = 0, so y2 = (5 + √153)/8, x1 = 3/(2 + y2), x2 = 3/(1 + 2·y2).
func TestRakeByHand(t *testing.T) {
	in := twoByTwo([2][2]int{{2, 1}, {1, 2}}, [2]float64{6, 6}, [2]float64{4, 8})
	r, err := Weight(in, abParams(0.01, 100))
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != NotNeeded || r.BaseWeight != 2 {
		t.Fatalf("status %s d %v", r.Status, r.BaseWeight)
	}
	y2 := (5 + math.Sqrt(153)) / 8
	x1, x2 := 3/(2+y2), 3/(1+2*y2)
	want := [2][2]float64{{2 * x1, 2 * x1 * y2}, {2 * x2, 2 * x2 * y2}}
	for i := range 2 {
		for j := range 2 {
			if got := cellWeight(t, in, r, i, j); !near(got, want[i][j], 1e-11) {
				t.Errorf("w(a%d,b%d) = %.15g, want %.15g", i+1, j+1, got, want[i][j])
			}
		}
	}
	checkSolution(t, in, abParams(0.01, 100), r)
}

// TestBoundedByHand: cells n = [[1, 3], [3, 3]], N = n = 10 (d = 1), margins
// A = B = (5.2, 4.8), bounds [0.5, 2]. Unbounded, w11 = 5.2 − 3s with
// 2s² − 10s + 8.32 = 0, about 2.037 > 2. Bounded, w11 = 2 and the margins give
// w12 = w21 = 3.2/3, w22 = 1.6/3; the KKT condition holds: w12·w21/w22 = 2.13 ≥ 2.
func TestBoundedByHand(t *testing.T) {
	in := twoByTwo([2][2]int{{1, 3}, {3, 3}}, [2]float64{5.2, 4.8}, [2]float64{5.2, 4.8})
	p := abParams(0.5, 2)
	r, err := Weight(in, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Trimmed {
		t.Fatalf("status %s (%s)", r.Status, r.Reason)
	}
	want := [2][2]float64{{2, 3.2 / 3}, {3.2 / 3, 1.6 / 3}}
	for i := range 2 {
		for j := range 2 {
			if got := cellWeight(t, in, r, i, j); !near(got, want[i][j], 1e-11) {
				t.Errorf("w(a%d,b%d) = %.15g, want %.15g", i+1, j+1, got, want[i][j])
			}
		}
	}
	if r.MaxRatio != 2 || !near(r.MinRatio, 1.6/3, 1e-12) {
		t.Errorf("ratio range [%v, %v]", r.MinRatio, r.MaxRatio)
	}
	checkSolution(t, in, p, r)

	// The unbounded solution, for the record.
	s := (10 - math.Sqrt(100-66.56)) / 4
	ru, err := Weight(in, abParams(0.01, 100))
	if err != nil {
		t.Fatal(err)
	}
	if got := cellWeight(t, in, ru, 0, 0); ru.Status != NotNeeded || !near(got, 5.2-3*s, 1e-11) {
		t.Errorf("unbounded w11 = %.15g (%s), want %.15g", got, ru.Status, 5.2-3*s)
	}
}

func TestInfeasible(t *testing.T) {
	t.Run("W3: a level's ratio at or beyond a bound", func(t *testing.T) {
		// a1: 2 respondents for a frame of 12 of 16 (d = 16/8 = 2): r = 12/4 = 3 ≥ hi 2.5.
		in := twoByTwo([2][2]int{{1, 1}, {3, 3}}, [2]float64{12, 4}, [2]float64{8, 8})
		r, err := Weight(in, abParams(0.5, 2.5))
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != InfeasibleUntrimmed || r.BoundedSweeps != 0 || r.Reason == "" {
			t.Fatalf("status %s bounded sweeps %d reason %q", r.Status, r.BoundedSweeps, r.Reason)
		}
		checkSolution(t, in, abParams(0.5, 2.5), r) // the W1 weights, kept
	})
	t.Run("W4: every level feasible, jointly not", func(t *testing.T) {
		// n = 1 per cell, N = n = 4... scaled: margins (3.8, 1.2) both ways, bounds
		// [0.5, 2]: w11 ≤ 2 forces w12 = w21 = 1.8 and w22 = 1.2 − 1.8 < 0.
		in := twoByTwo([2][2]int{{1, 1}, {1, 1}}, [2]float64{3.8, 1.2}, [2]float64{3.8, 1.2})
		// Frame total 5, n 4: d = 1.25; in units of d the margins are (3.04, 0.96):
		// r = 1.52 and 0.48 — the second is below lo 0.5, so scale lo down.
		p := abParams(0.4, 2)
		r, err := Weight(in, p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != InfeasibleUntrimmed || r.BoundedSweeps == 0 || r.BoundedSweeps > p.MaxSweeps {
			t.Fatalf("status %s, bounded sweeps %d (%s)", r.Status, r.BoundedSweeps, r.Reason)
		}
		checkSolution(t, in, p, r)
	})
}

func TestRakeFailed(t *testing.T) {
	// Respondents only in (a1, b1) and (a2, b2): the weights of a1 are those of b1, so
	// margins a1 = 6 and b1 = 4 cannot both hold. Raking oscillates; it must stop.
	in := twoByTwo([2][2]int{{3, 0}, {0, 3}}, [2]float64{6, 4}, [2]float64{4, 6})
	p := abParams(0.2, 5)
	p.MaxSweeps = 500
	r, err := Weight(in, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != RakeFailed || r.Weights != nil || r.Sweeps != 500 || r.Reason == "" {
		t.Fatalf("status %s sweeps %d weights %v reason %q", r.Status, r.Sweeps, r.Weights != nil, r.Reason)
	}
}

// checkSolution verifies a result against the definition, respondent by respondent:
// the margins are met to 1e-9, the weights respect their bounds when trimmed or not
// needed, and every weight is d·clip(exp(Σ multipliers), lo, hi) (clipped only when
// trimmed) — with margins met, that is the optimality condition of the unique
// minimiser.
func checkSolution(t *testing.T, in Input, p Params, r *Result) {
	t.Helper()
	if r.Status == RakeFailed {
		return
	}
	d := r.BaseWeight
	for v := range in.Vars {
		sums := make([]float64, len(r.Levels[v]))
		for i, w := range r.Weights {
			sums[r.LevelOf[v][i]] += w
		}
		for l, lv := range r.Levels[v] {
			if !near(sums[l], lv.Frame, 1e-9) {
				t.Errorf("%s: %s=%s: Σw = %.15g, frame %.15g", r.ICS, in.Vars[v].Name, lv.Label, sums[l], lv.Frame)
			}
		}
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	if r.Status == Trimmed {
		lo, hi = p.Lo, p.Hi
	}
	for i, w := range r.Weights {
		eta := 0.0
		for v := range in.Vars {
			eta += r.Multipliers[v][r.LevelOf[v][i]]
		}
		if want := d * min(max(math.Exp(eta), lo), hi); !near(w, want, 1e-9) {
			t.Fatalf("%s: respondent %d: w = %.15g, d·clip(exp(η)) = %.15g", r.ICS, i, w, want)
		}
		if r.Status == Trimmed || r.Status == NotNeeded {
			if w < p.Lo*d*(1-1e-9) || w > p.Hi*d*(1+1e-9) {
				t.Fatalf("%s: respondent %d: w/d = %v outside [%v, %v]", r.ICS, i, w/d, p.Lo, p.Hi)
			}
		}
	}
}

// randomICS draws an ICS with nv variables: respondents skewed against the frame
// so that some need trimming, some cannot be trimmed, some need nothing.
func randomICS(rng *rand.Rand, nv int) Input {
	n := 20 + rng.IntN(400)
	in := Input{ICS: "R"}
	for v := range nv {
		k := 2 + rng.IntN(4)
		x := Variable{Name: string(rune('A' + v)), Levels: make([]string, k), Frame: make([]float64, k), Of: make([]int, n)}
		resp := make([]float64, k)
		for l := range k {
			x.Levels[l] = string(rune('a'+v)) + string(rune('0'+l))
			resp[l] = 0.2 + rng.Float64()
		}
		cum := 0.0
		for _, r := range resp {
			cum += r
		}
		for i := range n {
			u := rng.Float64() * cum
			l := 0
			for ; l < k-1 && u > resp[l]; l++ {
				u -= resp[l]
			}
			x.Of[i] = l
		}
		in.Vars = append(in.Vars, x)
	}
	// Respondents correlate across variables: copy some of the first variable's
	// levels into the others, so the cells are uneven.
	for v := 1; v < nv; v++ {
		for i := range n {
			if rng.IntN(3) == 0 {
				in.Vars[v].Of[i] = min(in.Vars[0].Of[i], len(in.Vars[v].Levels)-1)
			}
		}
	}
	total := float64(3*n + rng.IntN(5*n))
	for v := range in.Vars {
		x := &in.Vars[v]
		share := make([]float64, len(x.Levels))
		s := 0.0
		for l := range share {
			share[l] = 0.3 + rng.Float64()
			s += share[l]
		}
		left := total
		for l := range share {
			if l == len(share)-1 {
				x.Frame[l] = left
				break
			}
			x.Frame[l] = math.Round(total * share[l] / s)
			left -= x.Frame[l]
		}
	}
	return in
}

// TestRandomProperties: over random ICSs, every status's weights meet every collapsed
// margin to 1e-9 and have the optimality form, trimmed and not-needed weights respect
// the bounds, and every status is seen.
func TestRandomProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 1))
	seen := map[Status]int{}
	for k := 0; k < 2000; k++ {
		in := randomICS(rng, 2+rng.IntN(2))
		p := Params{Lo: 0.3 + 0.5*rng.Float64(), Hi: 1.3 + 2*rng.Float64(), MinLevelN: 1 + rng.IntN(8), Tol: 1e-12, MaxSweeps: 2000}
		for _, x := range in.Vars {
			p.Vars = append(p.Vars, x.Name)
		}
		r, err := Weight(in, p)
		if err != nil {
			t.Fatalf("case %d: %v", k, err)
		}
		seen[r.Status]++
		checkSolution(t, in, p, r)
		if t.Failed() {
			t.Fatalf("case %d: status %s", k, r.Status)
		}
	}
	t.Logf("statuses over 2000 random ICSs: %v", seen)
	for _, s := range []Status{NotNeeded, Trimmed, InfeasibleUntrimmed} {
		if seen[s] < 20 {
			t.Errorf("only %d cases of %s: the generator does not exercise it", seen[s], s)
		}
	}
}
