// Command publication-bench measures the statistics of a national release against R's
// survey package on the same respondents.
//
// It generates a national wave of -ics ICSs, each with -patients patients (weighted)
// and -carers carers (unweighted) — 42 × (1,000 + 330) = 55,860 respondents by
// default — answering 25 closed patient questions and 20 closed carer questions
// (single- and multi-choice, scored and distribution-only), with each ICS's frame
// margins (age band, gender, eFI band) and response patterns that leave some ICSs
// needing no trimming, most trimmed and a few infeasible. The files go to -dir as CSV.
// It then times, each in a child process of its own:
//
//	go  the statistics of the release, in Go (weighting, estimate, disclosure):
//	    weighting of every ICS (M1–M3, W1–W4); every measure of every question
//	    for each ICS and for England; England excluding each ICS; the breakdowns
//	    within each ICS by age band, gender, ethnicity group and eFI band, each
//	    compared with England excluding its ICS (the same group); and disclosure
//	    control (S1–S5, exact audit) of every table: by ICS, by each breakdown
//	    within each ICS, England; a multi-choice question as one yes/no table
//	    per option. Timed after the CSV files are parsed into columns.
//	r   R's part of it, with the survey package: calibrate (raking; bounded where
//	    the unbounded weights leave [lo·d, hi·d]) for every ICS and svymean,
//	    n_eff and prop.test for every measure of every question by ICS, patients
//	    weighted and carers unweighted. Timed inside R after its files are read
//	    (R's start-up and read.csv are not counted; CPU and peak RSS are the
//	    whole Rscript process's).
//
// and prints the harness table (rows = respondents), Go's own phases, and the ratio of
// R's part to Go's same part (raking and ICS-level estimates) and to Go's whole
// statistics. The target (issue #14): the whole release under 2 s on 2 cores, and at
// least 10× faster than R's part. The R part is skipped when Rscript is absent.
//
//	go run ./bench/publication -mode statistics -runs 3
//
// With -mode release (the default) it times the release end to end instead: a
// national wave's DuckDB warehouse is built once as setup (the real layouts, lake
// objects and migrations; the questionnaires of the catalogue and some bank
// questions), and each run opens its snapshot read-only and times publication.Compute
// and publication.Write, from the snapshot to every written file (CSV, XLSX, Parquet,
// metadata). R's part is bench.R on the same respondents with each ICS's collapsed
// raking levels (see national.go).
//
//	go run ./bench/publication -runs 3
package main

import (
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"icesurvey/bench/internal/harness"
	"icesurvey/estimate"
)

//go:embed bench.R
var benchR []byte

// partResult is what a child process reports on stdout.
type partResult struct {
	harness.Measure

	// Go only: the phases, in seconds, and what came out.
	WeightSeconds     float64   `json:"weight_seconds,omitempty"`
	ICSSeconds        float64   `json:"ics_seconds,omitempty"`
	RestSeconds       float64   `json:"rest_seconds,omitempty"`
	DisclosureSeconds float64   `json:"disclosure_seconds,omitempty"`
	ParseSeconds      float64   `json:"parse_seconds,omitempty"`
	ReleaseCPU        float64   `json:"release_cpu_seconds,omitempty"`
	PhaseCPU          []float64 `json:"phase_cpu_seconds,omitempty"`
	Statuses          string    `json:"statuses,omitempty"`
	Estimates         int       `json:"estimates,omitempty"`
	Tables            int       `json:"tables,omitempty"`
	Flags             string    `json:"flags,omitempty"`
	Withheld          string    `json:"withheld,omitempty"`
	// R only.
	RICS       int     `json:"r_ics,omitempty"`
	REstimates int     `json:"r_estimates,omitempty"`
	RPartCPU   float64 `json:"r_part_cpu_seconds,omitempty"`
}

func main() {
	nICS := flag.Int("ics", 42, "ICSs")
	nPat := flag.Int("patients", 1000, "patients per ICS")
	nCar := flag.Int("carers", 330, "carers per ICS")
	mode := flag.String("mode", "release", "release: the release end to end from a warehouse snapshot; statistics: the statistics alone from CSV")
	f := harness.RegisterFlags("go", "release")
	harness.Main("publication-bench", f, func() error {
		if *mode == "release" && f.Part == "" {
			return runNational(*nICS, *nPat, *nCar, f)
		}
		return run(*nICS, *nPat, *nCar, f)
	})
}

// withR is parts and R's part, "r", when Rscript is installed.
func withR(parts ...string) []string {
	if _, err := exec.LookPath("Rscript"); err == nil {
		parts = append(parts, "r")
	}
	return parts
}

// rSkipped is said when R's part did not run.
const rSkipped = "R part skipped: Rscript is not installed (infra/test.sh installs r-base-core, r-cran-survey, r-cran-mass)"

func run(nICS, nPat, nCar int, f *harness.Flags) error {
	switch f.Part {
	case "go":
		return harness.Report(runGo(f.Dir))
	case "r":
		return reportR(f.Dir)
	case "release":
		return harness.Report(runRelease(f.Dir))
	case "":
	default:
		return fmt.Errorf("unknown part %q", f.Part)
	}
	dir, cleanup, err := harness.WorkDir(f.Dir, "publication-bench-*")
	if err != nil {
		return err
	}
	defer cleanup()
	start := time.Now()
	n, err := generate(dir, nICS, nPat, nCar)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d ICSs, %d respondents (%d patients, %d carers each), %d + %d closed questions in %.1fs\n\n",
		nICS, n, nPat, nCar, len(patientQuestions), len(carerQuestions), time.Since(start).Seconds())
	results, err := harness.Fastest[partResult](f.Runs, withR("go"), f.CPUProfile, func() (string, error) { return dir, nil })
	if err != nil {
		return err
	}
	g := results[0]
	harness.PrintTable(os.Stdout, harness.Measures(results)...)
	fmt.Printf("\ngo phases, wall (CPU): parse %.3fs (not timed) · weighting %.3fs (%.3fs) · ICS-level estimates %.3fs (%.3fs) · England, breakdowns, comparisons %.3fs (%.3fs) · disclosure %.3fs (%.3fs)\n",
		g.ParseSeconds, g.WeightSeconds, g.PhaseCPU[0], g.ICSSeconds, g.PhaseCPU[1], g.RestSeconds, g.PhaseCPU[2], g.DisclosureSeconds, g.PhaseCPU[3])
	fmt.Printf("go: weighting %s; %d estimates; flags %s; %d tables checked, withheld %s\n", g.Statuses, g.Estimates, g.Flags, g.Tables, g.Withheld)
	fmt.Printf("whole statistics of the release: %.3fs wall, %.3fs CPU on %d cores (target < 2 s)\n", g.Seconds, g.ReleaseCPU, runtime.GOMAXPROCS(0))
	if len(results) < 2 {
		fmt.Println(rSkipped)
		return nil
	}
	r := results[1]
	same, sameCPU := g.WeightSeconds+g.ICSSeconds, g.PhaseCPU[0]+g.PhaseCPU[1]
	fmt.Printf("r: %d ICSs weighted, %d estimates (Go's ICS-level part: %d); its part took %.2fs wall, %.2fs CPU\n",
		r.RICS, r.REstimates, icsEstimates(nICS), r.Seconds, r.RPartCPU)
	fmt.Printf("R's part / Go's same part (raking + ICS-level estimates): %.0fx wall, %.0fx CPU (target 10x)\n", r.Seconds/same, r.RPartCPU/sameCPU)
	fmt.Printf("R's part / Go's whole statistics: %.1fx wall, %.1fx CPU\n", r.Seconds/g.Seconds, r.RPartCPU/g.ReleaseCPU)
	return nil
}

// ---------------------------------------------------------------------------------
// The wave

var (
	ageLevels    = []string{"18-64", "65-74", "75-84", "85+"}
	genderLevels = []string{"1", "2", "9"}
	efiLevels    = []string{"moderate", "severe"}
	// Ethnicity: the NHS Data Dictionary's five top-level groups and not stated.
	ethLevels  = []string{"white", "mixed", "asian", "black", "other", "not_stated"}
	weightVars = []string{"age_band", "gender", "efi_band"}
)

type question struct {
	estimate.Question
	carer bool
}

var patientQuestions, carerQuestions = makeQuestions()

func makeQuestions() (p, c []question) {
	opts := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Itoa(i + 1)
		}
		return out
	}
	add := func(list *[]question, carer bool, prefix string, i int, q estimate.Question) {
		q.ID = fmt.Sprintf("%s%02d", prefix, i+1)
		*list = append(*list, question{q, carer})
	}
	for _, spec := range []struct {
		carer  bool
		prefix string
		n      int
	}{{false, "P", 25}, {true, "C", 20}} {
		list := &p
		if spec.carer {
			list = &c
		}
		for i := range spec.n {
			switch {
			case i%8 == 3: // multi-choice, "none" excluded
				k := 6 + i%8
				o := opts(k)
				add(list, spec.carer, spec.prefix, i, estimate.Question{Options: o, Positive: o[:k-1], Excluded: o[k-1:], Multi: true})
			case i%8 == 6: // distribution only
				add(list, spec.carer, spec.prefix, i, estimate.Question{Options: opts(3 + i%5)})
			case i%5 == 0: // yes / no, no "don't know"
				add(list, spec.carer, spec.prefix, i, estimate.Question{Options: opts(2), Positive: []string{"1"}})
			default: // a scale with a "don't know"
				k := 4 + i%3
				o := opts(k)
				add(list, spec.carer, spec.prefix, i, estimate.Question{Options: o, Positive: o[:2-i%2], Excluded: o[k-1:]})
			}
		}
	}
	return p, c
}

// generate writes respondents.csv, margins.csv and questions.csv, and returns the
// number of respondents.
func generate(dir string, nICS, nPat, nCar int) (int, error) {
	rng := rand.New(rand.NewPCG(14, 42))
	all := append(append([]question(nil), patientQuestions...), carerQuestions...)
	qrows := [][]string{{"question", "type", "options", "positive", "excluded", "multi"}}
	for _, q := range all {
		t := "patient"
		if q.carer {
			t = "carer"
		}
		qrows = append(qrows, []string{q.ID, t, strings.Join(q.Options, ";"), strings.Join(q.Positive, ";"), strings.Join(q.Excluded, ";"), strconv.FormatBool(q.Multi)})
	}
	if err := writeCSV(filepath.Join(dir, "questions.csv"), qrows); err != nil {
		return 0, err
	}
	head := []string{"ics", "type", "id", "age_band", "gender", "efi_band", "ethnicity"}
	for _, q := range all {
		head = append(head, q.ID)
	}
	resp := [][]string{head}
	mrows := [][]string{{"ics", "variable", "position", "level", "frame"}}
	draw := func(shares []float64) int {
		u := rng.Float64()
		for i, s := range shares {
			if u < s {
				return i
			}
			u -= s
		}
		return len(shares) - 1
	}
	n := 0
	for k := range nICS {
		code := fmt.Sprintf("Q%02d", k)
		// The frame, and who responds: the young and the severe respond less, more
		// so in some ICSs (most then need trimming; a few cannot be trimmed).
		skew := 0.2 + 0.08*rng.Float64()
		switch {
		case k%10 == 9:
			skew = 0.12 // the young respond too little to be weighted up within hi
		case k%7 == 0:
			skew = 0.8
		}
		frameAge := []float64{0.12 + 0.06*rng.Float64(), 0.30, 0.32, 0}
		frameAge[3] = 1 - frameAge[0] - frameAge[1] - frameAge[2]
		frameGender := []float64{0.44, 0.55, 0.01}
		frameEFI := []float64{0.58 + 0.1*rng.Float64(), 0}
		frameEFI[1] = 1 - frameEFI[0]
		respAge := normalise([]float64{frameAge[0] * skew, frameAge[1], frameAge[2] * 1.05, frameAge[3] * 0.9})
		pSevere := []float64{frameEFI[1] * skew, frameEFI[1] * 0.75, frameEFI[1] * 0.8, frameEFI[1] * 0.9}
		N := 3800 + rng.IntN(600)
		for v, shares := range [][]float64{frameAge, frameGender, frameEFI} {
			levels := [][]string{ageLevels, genderLevels, efiLevels}[v]
			left := N
			for l, s := range shares {
				t := int(math.Round(float64(N) * s))
				if l == len(shares)-1 {
					t = left
				}
				left -= t
				mrows = append(mrows, []string{code, weightVars[v], strconv.Itoa(l), levels[l], strconv.Itoa(t)})
			}
		}
		effect := 0.15 * (rng.Float64() - 0.5)
		for i := range nPat + nCar {
			carer := i >= nPat
			age, gender := draw(respAge), draw(frameGender)
			efi := 0
			if rng.Float64() < pSevere[age] {
				efi = 1
			}
			eth := draw([]float64{0.82, 0.03, 0.07, 0.035, 0.015, 0.03})
			t := "patient"
			if carer {
				t = "carer"
			}
			row := []string{code, t, fmt.Sprintf("%s-%05d", code, i), ageLevels[age], genderLevels[gender], efiLevels[efi], ethLevels[eth]}
			good := 0.72 + effect - 0.08*float64(efi) - 0.03*float64(age)
			for _, q := range all {
				if q.carer != carer || rng.Float64() < 0.05 {
					row = append(row, "")
					continue
				}
				row = append(row, answer(rng, q, good))
			}
			resp = append(resp, row)
			n++
		}
	}
	if err := writeCSV(filepath.Join(dir, "margins.csv"), mrows); err != nil {
		return 0, err
	}
	return n, writeCSV(filepath.Join(dir, "respondents.csv"), resp)
}

func answer(rng *rand.Rand, q question, good float64) string {
	k := len(q.Options)
	if q.Multi {
		var ticks []string
		for i, o := range q.Options[:k-1] {
			if rng.Float64() < 0.1+0.05*float64(i%4) {
				ticks = append(ticks, o)
			}
		}
		if len(ticks) == 0 {
			return q.Options[k-1]
		}
		return strings.Join(ticks, ";")
	}
	if len(q.Excluded) > 0 && rng.Float64() < 0.06 {
		return q.Excluded[0]
	}
	if len(q.Positive) > 0 && rng.Float64() < good {
		return q.Positive[rng.IntN(len(q.Positive))]
	}
	rest := q.Options[len(q.Positive) : k-len(q.Excluded)]
	if len(rest) == 0 {
		rest = q.Options
	}
	return rest[rng.IntN(len(rest))]
}

func normalise(x []float64) []float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	for i := range x {
		x[i] /= s
	}
	return x
}

func writeCSV(path string, rows [][]string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// icsEstimates is how many ICS-level estimates R's part makes: every measure of every
// question for every ICS.
func icsEstimates(nICS int) int {
	n := 0
	for _, q := range append(append([]question(nil), patientQuestions...), carerQuestions...) {
		c, err := estimate.Compile(q.Question)
		if err != nil {
			panic(err)
		}
		n += len(c.Measures())
	}
	return n * nICS
}

// ---------------------------------------------------------------------------------
// The R part

// reportR runs bench.R and reports its own timing of the statistics, with the CPU
// time and peak RSS of the whole Rscript process.
func reportR(dir string) error {
	script := filepath.Join(dir, "bench.R")
	if err := os.WriteFile(script, benchR, 0o644); err != nil {
		return err
	}
	cmd := exec.Command("Rscript", "--vanilla", script, dir)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("r part: Rscript %s: %w", script, err)
	}
	var secs, cpu float64
	var nICS, nEst int
	if _, err := fmt.Sscan(string(out), &secs, &cpu, &nICS, &nEst); err != nil {
		return fmt.Errorf("r part: Rscript printed %q: %w", out, err)
	}
	rows, err := countRows(filepath.Join(dir, "respondents.csv"))
	if err != nil {
		return err
	}
	r := partResult{Measure: harness.Measure{Part: "r", Rows: rows, Seconds: secs}, RICS: nICS, REstimates: nEst, RPartCPU: cpu}
	// The harness reads this process's peak RSS; R's is its child's.
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakKiB = ru.Maxrss
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func countRows(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		return 0, err
	}
	return int64(len(rows) - 1), nil
}
