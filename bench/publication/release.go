package main

import (
	"encoding/csv"
	"fmt"
	"icesurvey/internal/parallel"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"icesurvey/bench/internal/harness"
	"icesurvey/disclosure"
	"icesurvey/estimate"
	"icesurvey/weighting"
)

// breakdowns are the demographic breakdowns within each ICS, in publication order.
var breakdowns = []struct {
	name   string
	levels []string
}{{"age_band", ageLevels}, {"gender", genderLevels}, {"ethnicity", ethLevels}, {"efi_band", efiLevels}}

// population is one respondent type's columns, respondents grouped by ICS.
type population struct {
	carer     bool
	questions []*estimate.Compiled
	ics       []int32
	level     [4][]int32 // per breakdown, each respondent's level
	answers   [][]uint64 // per question, each respondent's answer mask
	weights   []float64  // nil for carers
	start     []int      // ICS k's respondents are [start[k], start[k+1])
}

type parsed struct {
	ics      []string
	frames   [][3][]float64 // per ICS, per weighting variable, per level
	patients population
	carers   population
}

// parse reads the benchmark's CSV files into columns: what a release reads from the
// warehouse snapshot. Not timed.
func parse(dir string) (*parsed, error) {
	p := &parsed{}
	index := map[string]int{}
	for _, pop := range []*population{&p.patients, &p.carers} {
		qs := patientQuestions
		if pop == &p.carers {
			pop.carer, qs = true, carerQuestions
		}
		for _, q := range qs {
			c, err := estimate.Compile(q.Question)
			if err != nil {
				return nil, err
			}
			pop.questions = append(pop.questions, c)
		}
		pop.answers = make([][]uint64, len(qs))
	}
	mf, err := os.Open(filepath.Join(dir, "margins.csv"))
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	mr := csv.NewReader(mf)
	if _, err := mr.Read(); err != nil {
		return nil, err
	}
	for {
		rec, err := mr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		k, ok := index[rec[0]]
		if !ok {
			k = len(p.ics)
			index[rec[0]] = k
			p.ics = append(p.ics, rec[0])
			p.frames = append(p.frames, [3][]float64{})
		}
		v := slices.Index(weightVars, rec[1])
		t, err := strconv.ParseFloat(rec[4], 64)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("margins.csv: bad row %v", rec)
		}
		p.frames[k][v] = append(p.frames[k][v], t)
	}
	rf, err := os.Open(filepath.Join(dir, "respondents.csv"))
	if err != nil {
		return nil, err
	}
	defer rf.Close()
	r := csv.NewReader(rf)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	levelIndex := func(levels []string, s string) (int32, error) {
		i := slices.Index(levels, s)
		if i < 0 {
			return 0, fmt.Errorf("respondents.csv: unknown level %q", s)
		}
		return int32(i), nil
	}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		pop := &p.patients
		if rec[1] == "carer" {
			pop = &p.carers
		}
		k := int32(index[rec[0]])
		for len(pop.start) <= int(k) {
			pop.start = append(pop.start, len(pop.ics))
		}
		pop.ics = append(pop.ics, k)
		for b, bd := range breakdowns {
			l, err := levelIndex(bd.levels, rec[col[bd.name]])
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", line, err)
			}
			pop.level[b] = append(pop.level[b], l)
		}
		for q, c := range pop.questions {
			raw := rec[col[c.ID]]
			var m uint64
			if raw != "" {
				m, err = c.Mask(strings.Split(raw, ";")...)
				if err != nil {
					return nil, fmt.Errorf("line %d: %w", line, err)
				}
			}
			pop.answers[q] = append(pop.answers[q], m)
		}
	}
	for _, pop := range []*population{&p.patients, &p.carers} {
		pop.start = append(pop.start, len(pop.ics))
	}
	return p, nil
}

// runGo parses the wave, then times the statistics of the release.
func runGo(dir string) (partResult, error) {
	t0 := time.Now()
	p, err := parse(dir)
	if err != nil {
		return partResult{}, err
	}
	res := partResult{Measure: harness.Measure{Part: "go", Rows: int64(len(p.patients.ics) + len(p.carers.ics))}, ParseSeconds: time.Since(t0).Seconds()}
	start, cpu0 := time.Now(), cpuSeconds()
	out, err := release(p)
	if err != nil {
		return partResult{}, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.ReleaseCPU = cpuSeconds() - cpu0
	res.WeightSeconds, res.ICSSeconds, res.RestSeconds, res.DisclosureSeconds = out.phase[0], out.phase[1], out.phase[2], out.phase[3]
	res.PhaseCPU = out.phaseCPU[:]
	res.Statuses, res.Estimates, res.Tables = out.statuses, out.estimates, out.tables
	res.Flags = fmt.Sprintf("higher %d, lower %d, similar %d, none %d", out.flags[estimate.Higher], out.flags[estimate.Lower], out.flags[estimate.Similar], out.flags[estimate.NoFlag])
	s := out.withheld
	res.Withheld = fmt.Sprintf("rows B %d, S %d; cells P %d, S %d; %% positive %d (of %d rows, %d cells)",
		s.RowsBase, s.RowsSecondary, s.CellsPrimary, s.CellsSecondary, s.PositiveWithheld, s.Rows, s.Cells)
	return res, nil
}

// cpuSeconds is this process's user and system CPU time so far: on a shared machine
// the statistics' own cost, whatever else runs.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

type releaseOut struct {
	phase     [4]float64
	phaseCPU  [4]float64
	statuses  string
	estimates int
	tables    int
	flags     map[estimate.Flag]int
	withheld  disclosure.Summary
}

// figures are one question's tallies and estimates, kept for its tables.
type figures struct {
	c      *estimate.Compiled
	ics    []estimate.Tally   // by ICS
	rest   []estimate.Tally   // England excluding each ICS
	eng    []estimate.Tally   // England
	by     [][]estimate.Tally // per breakdown, level-major: [l*K + k]
	icsEst [][]estimate.Estimate
	byEst  [][][]estimate.Estimate // [breakdown][measure][l*K+k]
	pop    *population
	q      int
	// What this question added to the release.
	estimates int
	flags     map[estimate.Flag]int
	tables    int
	withheld  disclosure.Summary
}

// release computes every figure of the national release and checks every table.
func release(p *parsed) (*releaseOut, error) {
	out := &releaseOut{flags: map[estimate.Flag]int{}}
	K := len(p.ics)
	z := estimate.Z95
	lap, lapCPU := time.Now(), cpuSeconds()
	phase := func(i int) {
		now, cpu := time.Now(), cpuSeconds()
		out.phase[i], out.phaseCPU[i] = now.Sub(lap).Seconds(), cpu-lapCPU
		lap, lapCPU = now, cpu
	}

	// Weighting (patients).
	wp := weighting.DefaultParams()
	pat := &p.patients
	pat.weights = make([]float64, len(pat.ics))
	results := make([]*weighting.Result, K)
	err := parallel.Indexed(K, func(k int) error {
		lo, hi := pat.start[k], pat.start[k+1]
		in := weighting.Input{ICS: p.ics[k]}
		for v, b := range []int{0, 1, 3} { // age band, gender, eFI band
			of := make([]int, hi-lo)
			for i := range of {
				of[i] = int(pat.level[b][lo+i])
			}
			in.Vars = append(in.Vars, weighting.Variable{Name: weightVars[v], Levels: breakdowns[b].levels, Frame: p.frames[k][v], Of: of})
		}
		r, err := weighting.Weight(in, wp)
		if err != nil {
			return err
		}
		if r.Status == weighting.RakeFailed {
			return fmt.Errorf("%s: %s", r.ICS, r.Reason)
		}
		copy(pat.weights[lo:hi], r.Weights)
		results[k] = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	statuses := map[weighting.Status]int{}
	for _, r := range results {
		statuses[r.Status]++
	}
	out.statuses = fmt.Sprintf("not_needed %d, trimmed %d, infeasible_untrimmed %d", statuses[weighting.NotNeeded], statuses[weighting.Trimmed], statuses[weighting.InfeasibleUntrimmed])
	phase(0)

	// ICS-level estimates.
	var all []*figures
	for _, pop := range []*population{&p.patients, &p.carers} {
		for q, c := range pop.questions {
			all = append(all, &figures{c: c, pop: pop, q: q, flags: map[estimate.Flag]int{}})
		}
	}
	err = parallel.Indexed(len(all), func(i int) error {
		f := all[i]
		f.ics = estimate.NewTallies(f.c, K)
		if err := estimate.Tabulate(f.c, f.pop.answers[f.q], f.pop.weights, f.pop.ics, f.ics); err != nil {
			return err
		}
		for _, m := range f.c.Measures() {
			est := make([]estimate.Estimate, K)
			for k := range f.ics {
				est[k] = f.ics[k].Estimate(m, z)
			}
			f.icsEst = append(f.icsEst, est)
			f.estimates += K
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	phase(1)

	// England, England excluding each ICS, the breakdowns, the comparisons.
	groups := [2][4][]int32{}
	for i, pop := range []*population{&p.patients, &p.carers} {
		for b := range breakdowns {
			g := make([]int32, len(pop.ics))
			for j, k := range pop.ics {
				g[j] = pop.level[b][j]*int32(K) + k
			}
			groups[i][b] = g
		}
	}
	err = parallel.Indexed(len(all), func(i int) error {
		f := all[i]
		pi := 0
		if f.pop.carer {
			pi = 1
		}
		f.eng = estimate.NewTallies(f.c, 1)
		estimate.Pool(&f.eng[0], f.ics, -1)
		f.rest = estimate.NewTallies(f.c, K)
		estimate.PoolExcluding(f.rest, f.ics)
		ms := f.c.Measures()
		for mi, m := range ms {
			f.eng[0].Estimate(m, z)
			f.estimates++
			for k := range K {
				rest := f.rest[k].Estimate(m, z)
				f.estimates++
				f.flags[estimate.Compare(f.icsEst[mi][k], f.icsEst[mi][k].Base >= 10, rest, true, z)]++
			}
		}
		f.by = make([][]estimate.Tally, len(breakdowns))
		f.byEst = make([][][]estimate.Estimate, len(breakdowns))
		for b, bd := range breakdowns {
			L := len(bd.levels)
			t := estimate.NewTallies(f.c, L*K)
			if err := estimate.Tabulate(f.c, f.pop.answers[f.q], f.pop.weights, groups[pi][b], t); err != nil {
				return err
			}
			rest := estimate.NewTallies(f.c, L*K)
			for l := range L {
				estimate.PoolExcluding(rest[l*K:(l+1)*K], t[l*K:(l+1)*K])
			}
			f.by[b] = t
			f.byEst[b] = make([][]estimate.Estimate, len(ms))
			for mi, m := range ms {
				est := make([]estimate.Estimate, L*K)
				for g := range t {
					est[g] = t[g].Estimate(m, z)
					r := rest[g].Estimate(m, z)
					f.estimates += 2
					f.flags[estimate.Compare(est[g], est[g].Base >= 10, r, true, z)]++
				}
				f.byEst[b][mi] = est
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	phase(2)

	// Disclosure control of every table.
	dp := disclosure.DefaultParams()
	err = parallel.Indexed(len(all), func(i int) error {
		f := all[i]
		unweighted := f.pop.carer
		check := func(tab disclosure.Table) error {
			c, err := disclosure.Check(tab, dp)
			if err != nil {
				return err
			}
			f.tables++
			f.withheld.Add(c.Summary())
			return nil
		}
		// One table per (set of groups): by ICS, England, each ICS's breakdowns.
		type rowsOf struct {
			name    string
			groups  []string
			tallies []*estimate.Tally
			est     func(mi int) []estimate.Estimate
		}
		var sets []rowsOf
		icsRows := make([]*estimate.Tally, K)
		for k := range K {
			icsRows[k] = &f.ics[k]
		}
		sets = append(sets, rowsOf{"by ICS", p.ics, icsRows, func(mi int) []estimate.Estimate { return f.icsEst[mi] }})
		sets = append(sets, rowsOf{"England", []string{"ENG"}, []*estimate.Tally{&f.eng[0]}, nil})
		for b, bd := range breakdowns {
			L := len(bd.levels)
			for k := range K {
				rows := make([]*estimate.Tally, L)
				for l := range L {
					rows[l] = &f.by[b][l*K+k]
				}
				sets = append(sets, rowsOf{p.ics[k] + " by " + bd.name, bd.levels, rows, func(mi int) []estimate.Estimate {
					e := make([]estimate.Estimate, L)
					for l := range L {
						e[l] = f.byEst[b][mi][l*K+k]
					}
					return e
				}})
			}
		}
		for _, set := range sets {
			if !f.c.Multi {
				tab := disclosure.Table{Name: f.c.ID + " " + set.name, Groups: set.groups, Categories: f.c.Options,
					BaseCategories: f.c.BaseOptions(), Unweighted: unweighted}
				if f.c.Scored() {
					tab.PositiveCategories = f.c.PositiveOptions()
				}
				var ests []estimate.Estimate
				if set.est != nil && f.c.Scored() {
					ests = set.est(0)
				}
				for r, t := range set.tallies {
					counts, share := t.Distribution()
					tab.Counts = append(tab.Counts, counts)
					tab.CellValues = append(tab.CellValues, share)
					tab.RowValues = append(tab.RowValues, []float64{t.BaseW})
					if ests != nil {
						e := ests[r]
						tab.PositiveValues = append(tab.PositiveValues, []float64{e.P, e.Lower, e.Upper, e.NEff, e.Deff})
					}
				}
				if err := check(tab); err != nil {
					return err
				}
				continue
			}
			// Multi-choice: each option its own yes/no table over the base.
			for mi, m := range f.c.Measures() {
				o := slices.Index(f.c.Options, m.Label)
				tab := disclosure.Table{Name: f.c.ID + "=" + m.Label + " " + set.name, Groups: set.groups, Categories: []string{"yes", "no"},
					PositiveCategories: []bool{true, false}, Unweighted: unweighted}
				var ests []estimate.Estimate
				if set.est != nil {
					ests = set.est(mi)
				}
				for r, t := range set.tallies {
					tab.Counts = append(tab.Counts, []int64{t.BaseCount[o], t.Base - t.BaseCount[o]})
					if ests != nil {
						e := ests[r]
						tab.PositiveValues = append(tab.PositiveValues, []float64{e.P, e.Lower, e.Upper, e.NEff, e.Deff})
					}
				}
				if err := check(tab); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	phase(3)
	for _, f := range all {
		out.estimates += f.estimates
		out.tables += f.tables
		out.withheld.Add(f.withheld)
		for fl, n := range f.flags {
			out.flags[fl] += n
		}
	}
	return out, nil
}
