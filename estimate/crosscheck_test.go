package estimate_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"icesurvey/disclosure"
	"icesurvey/estimate"
	"icesurvey/internal/rcheck"
	"icesurvey/weighting"
)

// The synthetic wave of the cross-check: ICSs built to cover every weighting path.
var (
	ageLevels    = []string{"18-64", "65-74", "75-84", "85+"}
	genderLevels = []string{"1", "2", "9"}
	efiLevels    = []string{"moderate", "severe"}
)

type icsSpec struct {
	code string
	n    int
	N    int
	// Respondents' shares by age and gender, and P(severe) by age band.
	respAge, respGender, pSevere []float64
	// Frame shares of each variable.
	frameAge, frameGender, frameEFI []float64
}

var wave = []icsSpec{
	// Respondents in proportion to the frame: raking moves little.
	{code: "QAA", n: 400, N: 1500,
		respAge: []float64{0.10, 0.30, 0.35, 0.25}, respGender: []float64{0.45, 0.54, 0.01}, pSevere: []float64{0.3, 0.35, 0.4, 0.5},
		frameAge: []float64{0.11, 0.29, 0.35, 0.25}, frameGender: []float64{0.46, 0.53, 0.01}, frameEFI: []float64{0.6, 0.4}},
	// The young and severe hardly respond: unbounded weights pass hi, but every
	// level is feasible: trimmed.
	{code: "QBB", n: 600, N: 2500,
		respAge: []float64{0.07, 0.28, 0.40, 0.25}, respGender: []float64{0.40, 0.59, 0.01}, pSevere: []float64{0.08, 0.35, 0.45, 0.55},
		frameAge: []float64{0.26, 0.26, 0.28, 0.20}, frameGender: []float64{0.47, 0.52, 0.01}, frameEFI: []float64{0.55, 0.45}},
	// Small: sparse levels collapse (18-64 and gender 9), its groups are suppressed.
	{code: "QCC", n: 70, N: 260,
		respAge: []float64{0.04, 0.30, 0.36, 0.30}, respGender: []float64{0.47, 0.52, 0.01}, pSevere: []float64{0.25, 0.05, 0.45, 0.7},
		frameAge: []float64{0.08, 0.30, 0.34, 0.28}, frameGender: []float64{0.45, 0.53, 0.02}, frameEFI: []float64{0.45, 0.55}},
	// The young are a third of the frame but 4 % of respondents: T/Σd ≥ hi.
	{code: "QDD", n: 500, N: 2000,
		respAge: []float64{0.04, 0.32, 0.36, 0.28}, respGender: []float64{0.45, 0.54, 0.01}, pSevere: []float64{0.3, 0.4, 0.4, 0.5},
		frameAge: []float64{0.34, 0.24, 0.24, 0.18}, frameGender: []float64{0.46, 0.53, 0.01}, frameEFI: []float64{0.6, 0.4}},
	// Small again, every level feasible on its own but not all together: everyone
	// 85+ is severe, the frame's 85+ nearly fill its severe total, and the few other
	// severe respondents cannot go below lo: the bounded raking never converges
	// (infeasible_untrimmed after max_sweeps).
	{code: "QEE", n: 70, N: 260,
		respAge: []float64{0.04, 0.30, 0.36, 0.30}, respGender: []float64{0.47, 0.52, 0.01}, pSevere: []float64{0.2, 0.1, 0.1, 1},
		frameAge: []float64{0.08, 0.27, 0.30, 0.35}, frameGender: []float64{0.45, 0.53, 0.02}, frameEFI: []float64{0.648, 0.352}},
}

var questions = []estimate.Question{
	{ID: "Q_OVERALL", Options: []string{"1", "2", "3", "4", "5"}, Positive: []string{"1", "2"}, Excluded: []string{"5"}},
	{ID: "Q_INVOLVED", Options: []string{"1", "2", "3"}, Positive: []string{"1"}, Excluded: []string{"3"}},
	{ID: "Q_SUPPORT", Options: []string{"A", "B", "C", "N"}, Positive: []string{"A", "B", "C"}, Excluded: []string{"N"}, Multi: true},
	{ID: "Q_CONTACT", Options: []string{"1", "2", "3"}},
}

type respondent struct {
	id               string
	age, gender, efi int
	answers          []string // codes joined by ";", "" = not answered
}

func draw(rng *rand.Rand, shares []float64) int {
	u := rng.Float64()
	for i, s := range shares {
		if u < s {
			return i
		}
		u -= s
	}
	return len(shares) - 1
}

func frame(N int, shares []float64) []float64 {
	out := make([]float64, len(shares))
	left := N
	for i, s := range shares {
		if i == len(shares)-1 {
			out[i] = float64(left)
			break
		}
		out[i] = math.Round(float64(N) * s)
		left -= int(out[i])
	}
	return out
}

// makeWave draws the respondents of every ICS (deterministic).
func makeWave() map[string][]respondent {
	rng := rand.New(rand.NewPCG(14, 2026))
	out := map[string][]respondent{}
	for _, spec := range wave {
		for i := range spec.n {
			r := respondent{id: fmt.Sprintf("%s%04d", spec.code, i), age: draw(rng, spec.respAge), gender: draw(rng, spec.respGender)}
			if rng.Float64() < spec.pSevere[r.age] {
				r.efi = 1
			}
			good := 0.75 - 0.1*float64(r.efi) - 0.05*float64(r.age)
			pick := func(p []float64) string {
				return []string{"1", "2", "3", "4", "5"}[draw(rng, p)]
			}
			var a []string
			if rng.Float64() < 0.95 {
				a = append(a, pick([]float64{good / 2, good / 2, (1 - good) / 3, (1 - good) / 3, (1 - good) / 3}))
			} else {
				a = append(a, "")
			}
			if rng.Float64() < 0.9 {
				a = append(a, pick([]float64{good * 0.8, 0.85 - good*0.8, 0.15}))
			} else {
				a = append(a, "")
			}
			var ticks []string
			for j, o := range []string{"A", "B", "C"} {
				if rng.Float64() < 0.2+0.15*float64(j)+0.1*float64(r.efi) {
					ticks = append(ticks, o)
				}
			}
			if len(ticks) == 0 && rng.Float64() < 0.7 {
				ticks = []string{"N"}
			}
			a = append(a, strings.Join(ticks, ";"))
			a = append(a, pick([]float64{0.5, 0.3, 0.2}))
			r.answers = a
			out[spec.code] = append(out[spec.code], r)
		}
	}
	return out
}

// TestCrossCheckR weights and estimates a synthetic wave here and with R's survey
// package, and requires them to agree to 1e-9: the weights (and each ICS's status and
// collapsed levels), every % positive, n_eff and both interval ends, for each ICS
// weighted and unweighted, England and England excluding each ICS.
func TestCrossCheckR(t *testing.T) {
	rscript := rcheck.Rscript(t)
	const tol = 1e-9
	wp := weighting.DefaultParams()
	people := makeWave()
	dir := rcheck.Dir(t)

	// Inputs for R.
	params := [][]string{{"name", "value"}}
	for _, p := range wp.Metadata() {
		params = append(params, []string{p.Name, p.Value})
	}
	params = append(params, []string{"r_epsilon", "1e-14"}, []string{"r_maxit", "1000"})
	rcheck.WriteCSV(t, filepath.Join(dir, "params.csv"), params)
	margins := [][]string{{"ics", "variable", "position", "level", "frame"}}
	resp := [][]string{{"ics", "id", "age_band", "gender", "efi_band"}}
	for _, q := range questions {
		resp[0] = append(resp[0], q.ID)
	}
	qs := [][]string{{"question", "options", "positive", "excluded", "multi"}}
	for _, q := range questions {
		qs = append(qs, []string{q.ID, strings.Join(q.Options, ";"), strings.Join(q.Positive, ";"), strings.Join(q.Excluded, ";"), strconv.FormatBool(q.Multi)})
	}
	rcheck.WriteCSV(t, filepath.Join(dir, "questions.csv"), qs)

	// Go: weights.
	results := map[string]*weighting.Result{}
	for _, spec := range wave {
		rs := people[spec.code]
		in := weighting.Input{ICS: spec.code}
		for v, x := range []struct {
			levels []string
			shares []float64
			of     func(respondent) int
		}{
			{ageLevels, spec.frameAge, func(r respondent) int { return r.age }},
			{genderLevels, spec.frameGender, func(r respondent) int { return r.gender }},
			{efiLevels, spec.frameEFI, func(r respondent) int { return r.efi }},
		} {
			vr := weighting.Variable{Name: wp.Vars[v], Levels: x.levels, Frame: frame(spec.N, x.shares)}
			for _, r := range rs {
				vr.Of = append(vr.Of, x.of(r))
			}
			for l, level := range x.levels {
				margins = append(margins, []string{spec.code, wp.Vars[v], strconv.Itoa(l), level, strconv.FormatFloat(vr.Frame[l], 'g', -1, 64)})
			}
			in.Vars = append(in.Vars, vr)
		}
		res, err := weighting.Weight(in, wp)
		if err != nil {
			t.Fatal(err)
		}
		results[spec.code] = res
		for _, r := range rs {
			resp = append(resp, append([]string{spec.code, r.id, ageLevels[r.age], genderLevels[r.gender], efiLevels[r.efi]}, r.answers...))
		}
		t.Logf("%s: n %d, status %s, sweeps %d+%d, w/d in [%.4f, %.4f], collapses %v", spec.code, res.Respondents, res.Status,
			res.Sweeps, res.BoundedSweeps, res.MinRatio, res.MaxRatio, res.Collapses)
	}
	rcheck.WriteCSV(t, filepath.Join(dir, "margins.csv"), margins)
	rcheck.WriteCSV(t, filepath.Join(dir, "respondents.csv"), resp)

	// The wave covers what it was built for.
	want := map[string]weighting.Status{"QAA": weighting.NotNeeded, "QBB": weighting.Trimmed, "QCC": weighting.Trimmed,
		"QDD": weighting.InfeasibleUntrimmed, "QEE": weighting.InfeasibleUntrimmed}
	for code, st := range want {
		if results[code].Status != st {
			t.Errorf("%s: status %s, the wave was built for %s", code, results[code].Status, st)
		}
	}
	if r := results["QEE"]; r.BoundedSweeps != wp.MaxSweeps {
		t.Errorf("QEE: bounded sweeps %d, the wave was built for a bounded raking that does not converge", r.BoundedSweeps)
	}
	if len(results["QCC"].Collapses) == 0 {
		t.Error("QCC: no level collapsed")
	}

	// R.
	rcheck.Run(t, rscript, filepath.Join("testdata", "crosscheck.R"), dir)

	// Weights, statuses and levels.
	wDiff := rcheck.MaxDiff{Name: "weight"}
	rMethod := map[string]string{}
	for i, row := range rcheck.ReadCSV(t, filepath.Join(dir, "r_weights.csv")) {
		res := results[row["ics"]]
		rMethod[row["ics"]] = row["status"] + " by " + row["method"]
		if string(res.Status) != row["status"] {
			t.Errorf("%s: status %s, R %s", row["ics"], res.Status, row["status"])
			continue
		}
		k, err := strconv.Atoi(strings.TrimPrefix(row["id"], row["ics"]))
		if err != nil {
			t.Fatal(err)
		}
		wDiff.Add(res.Weights[k], rcheck.Num(t, "r_weights.csv", i, "weight", row["weight"]), row["id"])
	}
	t.Logf("R: %v", rMethod)
	levels := map[string][]string{}
	for _, row := range rcheck.ReadCSV(t, filepath.Join(dir, "r_levels.csv")) {
		key := row["ics"] + " " + row["variable"]
		levels[key] = append(levels[key], row["label"])
	}
	for code, res := range results {
		for v, ls := range res.Levels {
			var got []string
			for _, l := range ls {
				got = append(got, l.Label)
			}
			if key := code + " " + wp.Vars[v]; !slices.Equal(got, levels[key]) {
				t.Errorf("%s: collapsed levels %v, R %v", key, got, levels[key])
			}
		}
	}

	// Go: estimates.
	codes := make([]string, len(wave))
	for i, s := range wave {
		codes[i] = s.code
	}
	type key struct{ group, weighting, question, measure string }
	goEst := map[key]estimate.Estimate{}
	for qi, q := range questions {
		c, err := estimate.Compile(q)
		if err != nil {
			t.Fatal(err)
		}
		var answers []uint64
		var weights []float64
		var groups []int32
		for g, code := range codes {
			for k, r := range people[code] {
				m, err := c.Mask(strings.Split(r.answers[qi], ";")...)
				if r.answers[qi] == "" {
					m, err = 0, nil
				}
				if err != nil {
					t.Fatal(err)
				}
				answers = append(answers, m)
				weights = append(weights, results[code].Weights[k])
				groups = append(groups, int32(g))
			}
		}
		ics := estimate.NewTallies(c, len(codes))
		if err := estimate.Tabulate(c, answers, weights, groups, ics); err != nil {
			t.Fatal(err)
		}
		unw := estimate.NewTallies(c, len(codes))
		if err := estimate.Tabulate(c, answers, nil, groups, unw); err != nil {
			t.Fatal(err)
		}
		pool := estimate.NewTallies(c, 1)
		for _, m := range c.Measures() {
			for g, code := range codes {
				goEst[key{code, "weighted", q.ID, m.Label}] = ics[g].Estimate(m, estimate.Z95)
				goEst[key{code, "unweighted", q.ID, m.Label}] = unw[g].Estimate(m, estimate.Z95)
				estimate.Pool(&pool[0], ics, g)
				goEst[key{"england-" + code, "weighted", q.ID, m.Label}] = pool[0].Estimate(m, estimate.Z95)
			}
			estimate.Pool(&pool[0], ics, -1)
			goEst[key{"england", "weighted", q.ID, m.Label}] = pool[0].Estimate(m, estimate.Z95)
		}
	}
	pDiff, nDiff, loDiff, hiDiff := rcheck.MaxDiff{Name: "% positive"}, rcheck.MaxDiff{Name: "n_eff"}, rcheck.MaxDiff{Name: "CI lower"}, rcheck.MaxDiff{Name: "CI upper"}
	rEst := rcheck.ReadCSV(t, filepath.Join(dir, "r_estimates.csv"))
	for i, row := range rEst {
		k := key{row["group"], row["weighting"], row["question"], row["measure"]}
		e, ok := goEst[k]
		if !ok {
			t.Errorf("R estimated %v, Go did not", k)
			continue
		}
		delete(goEst, k)
		where := fmt.Sprint(k)
		if strconv.FormatInt(e.Base, 10) != row["base"] {
			t.Errorf("%s: base %d, R %s", where, e.Base, row["base"])
		}
		pDiff.Add(e.P, rcheck.Num(t, "r_estimates.csv", i, "p", row["p"]), where)
		nDiff.Add(e.NEff, rcheck.Num(t, "r_estimates.csv", i, "n_eff", row["n_eff"]), where)
		loDiff.Add(e.Lower, rcheck.Num(t, "r_estimates.csv", i, "lower", row["lower"]), where)
		hiDiff.Add(e.Upper, rcheck.Num(t, "r_estimates.csv", i, "upper", row["upper"]), where)
	}
	for k := range goEst {
		t.Errorf("Go estimated %v, R did not", k)
	}
	rcheck.Within(t, tol, &wDiff, &pDiff, &nDiff, &loDiff, &hiDiff)

	// The small ICS's breakdown by age band is suppressed: a row of too few and a
	// small count withheld.
	qc := mustCompileX(t, questions[0])
	rs := people["QCC"]
	answers := make([]uint64, len(rs))
	groups := make([]int32, len(rs))
	for k, r := range rs {
		if r.answers[0] != "" {
			answers[k], _ = qc.Mask(r.answers[0])
		}
		groups[k] = int32(r.age)
	}
	tallies := estimate.NewTallies(qc, len(ageLevels))
	if err := estimate.Tabulate(qc, answers, results["QCC"].Weights, groups, tallies); err != nil {
		t.Fatal(err)
	}
	tab := disclosure.Table{Name: "Q_OVERALL by age band, QCC", Groups: ageLevels, Categories: qc.Options, BaseCategories: qc.BaseOptions(), PositiveCategories: qc.PositiveOptions()}
	for g := range ageLevels {
		tab.Counts = append(tab.Counts, tallies[g].Count)
	}
	checked, err := disclosure.Check(tab, disclosure.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	sum := checked.Summary()
	t.Logf("QCC Q_OVERALL by age band: %+v", sum)
	if sum.RowsBase == 0 || sum.CellsPrimary == 0 {
		t.Errorf("QCC's breakdown was not suppressed: %+v", sum)
	}
}

func mustCompileX(t *testing.T, q estimate.Question) *estimate.Compiled {
	t.Helper()
	c, err := estimate.Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
