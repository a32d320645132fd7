package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"icesurvey/bench/internal/harness"
	"icesurvey/publication"
	"icesurvey/publication/pubsynth"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// The end-to-end benchmark (-mode release): a national wave's warehouse is built once
// as setup (pubsynth: the real layouts, lake objects and migrations, loaded with
// warehouse.LoadParquet) and snapshotted; then each run, in a child process, opens the
// snapshot read-only and times publication.Compute and publication.Write — every
// closed question of the questionnaires and the bank questions the ICSs added, every
// breakdown, the disclosure control of every table, and every file of the release
// (CSV, XLSX, Parquet, metadata) — from the snapshot to the written files. R's part
// is bench.R on the same respondents, exported from the warehouse with each ICS's
// collapsed raking levels.

// nationalSpec is the national wave: nICS ICSs of nPat patients and nCar carers, with
// response patterns that leave most ICSs needing trimming and a few infeasible.
func nationalSpec(nICS, nPat, nCar int) pubsynth.Spec {
	spec := pubsynth.Spec{Wave: "NATIONAL", Seed: 2026, Duplicates: 0.01, Incomplete: 0.02, LocalQuestions: map[string][]string{}}
	for k := range nICS {
		code := fmt.Sprintf("Q%02d", k)
		ics := pubsynth.ICS{Code: code, Sampled: 4 * nPat, Patients: nPat, Carers: nCar,
			Deceased: nPat / 25, Ineligible: nPat / 100, OptedOut: nPat / 20, Undelivered: nPat / 30,
			YoungPropensity: 0.2 + 0.03*float64(k%4), SeverePropensity: 0.35 + 0.04*float64(k%3), Effect: 0.02 * float64(k%7-3)}
		switch {
		case k%10 == 9:
			ics.YoungPropensity = 0.1 // the young respond too little to be weighted up within hi
		case k%7 == 0:
			ics.YoungPropensity, ics.SeverePropensity = 0.9, 0.9
		}
		switch k % 3 {
		case 0:
			spec.LocalQuestions[code] = []string{"LQ_LONELINESS", "LQ_DIGITAL_SERVICES", "LQ_CARER_BREAK"}
		case 1:
			spec.LocalQuestions[code] = []string{"LQ_MEDICINES_REVIEW"}
		}
		spec.ICSs = append(spec.ICSs, ics)
	}
	return spec
}

// releaseResult is the release part's report.
type releaseResult struct {
	harness.Measure
	ComputeSeconds float64 `json:"compute_seconds"`
	// ReleaseCPU is the user and system CPU time of the timed part alone.
	ReleaseCPU   float64 `json:"release_cpu_seconds"`
	WriteSeconds float64 `json:"write_seconds"`
	ResultRows   int     `json:"result_rows"`
	DistRows     int     `json:"distribution_rows"`
	Files        int     `json:"files"`
	Bytes        int64   `json:"bytes"`
	Summary      string  `json:"summary"`
	Phases       string  `json:"phases"`
	// R only (see partResult).
	RICS       int     `json:"r_ics,omitempty"`
	REstimates int     `json:"r_estimates,omitempty"`
	RPartCPU   float64 `json:"r_part_cpu_seconds,omitempty"`
}

// runRelease is the timed part: from the snapshot to the written files.
func runRelease(dir string) (releaseResult, error) {
	ctx := context.Background()
	out, err := os.MkdirTemp(dir, "release-*")
	if err != nil {
		return releaseResult{}, err
	}
	defer os.RemoveAll(out)
	st, err := store.NewFileStore(out)
	if err != nil {
		return releaseResult{}, err
	}
	p := publication.DefaultParams()
	p.CodeVersion = "bench"
	start, cpu0 := time.Now(), cpuSeconds()
	db, err := warehouse.OpenReadOnly(filepath.Join(dir, "snapshot.duckdb"))
	if err != nil {
		return releaseResult{}, err
	}
	defer db.Close()
	r, err := publication.Compute(ctx, db, "NATIONAL", p)
	if err != nil {
		return releaseResult{}, err
	}
	computed := time.Now()
	m, err := publication.Write(ctx, st, r, "bench")
	if err != nil {
		return releaseResult{}, err
	}
	end := time.Now()
	res := releaseResult{Measure: harness.Measure{Part: "release", Seconds: end.Sub(start).Seconds()}, ReleaseCPU: cpuSeconds() - cpu0,
		ComputeSeconds: computed.Sub(start).Seconds(), WriteSeconds: end.Sub(computed).Seconds(),
		ResultRows: len(r.Results()), DistRows: len(r.Distributions()), Files: len(m.Files) + 1}
	for _, rep := range r.ICSs() {
		res.Rows += int64(rep.Patients + rep.Carers)
	}
	var phases []string
	for _, ph := range r.Phases() {
		phases = append(phases, fmt.Sprintf("%s %.3fs", ph.Name, ph.Seconds))
	}
	res.Phases = strings.Join(phases, " · ")
	for _, f := range m.Files {
		res.Bytes += f.Bytes
	}
	s := m.Summary
	var statuses []string
	for _, x := range s.WeightingStatuses {
		statuses = append(statuses, fmt.Sprintf("%s %d", x.Status, x.ICSs))
	}
	res.Summary = fmt.Sprintf("%d ICSs published (%s); %d tables checked; withheld: rows %d, cells P %d, S %d, in withheld rows %d; %% positive %d; England rows %d",
		len(s.ICSsPublished), strings.Join(statuses, ", "), s.TablesChecked, s.RowsWithheld, s.CellsPrimary, s.CellsSecondary,
		s.CellsInWithheldRows, s.PositiveWithheld, s.EnglandRowsWithheld)
	return res, nil
}

// setupNational builds the national warehouse and its snapshot in dir, and exports
// the respondents for R.
func setupNational(dir string, nICS, nPat, nCar int) error {
	ctx := context.Background()
	if _, err := os.Stat(filepath.Join(dir, "snapshot.duckdb")); err == nil {
		fmt.Println("reusing the national warehouse snapshot in", dir)
		return nil
	}
	start := time.Now()
	w, err := pubsynth.Build(ctx, filepath.Join(dir, "wave"), nationalSpec(nICS, nPat, nCar))
	if err != nil {
		return err
	}
	if err := warehouse.Snapshot(ctx, w.Warehouse.Path(), filepath.Join(dir, "snapshot.duckdb"), time.Minute); err != nil {
		return err
	}
	fmt.Printf("built the national warehouse (%d ICSs, %d complete questionnaires, %d lake objects) in %.1fs\n",
		nICS, w.Respondents, len(w.Objects), time.Since(start).Seconds())
	db, err := warehouse.OpenReadOnly(filepath.Join(dir, "snapshot.duckdb"))
	if err != nil {
		return err
	}
	defer db.Close()
	return exportForR(ctx, db, dir)
}

// exportForR writes respondents.csv, margins.csv and questions.csv in bench.R's
// format: each ICS's patients with their collapsed raking levels (as the release's
// weighting collapsed them, so R rakes the same margins), its carers, every question
// (a bank question asked of both patients and carers as two columns).
func exportForR(ctx context.Context, db *sql.DB, dir string) error {
	p := publication.DefaultParams()
	r, err := publication.Compute(ctx, db, "NATIONAL", p)
	if err != nil {
		return err
	}
	col := func(typ, id string, both map[string]bool) string {
		if both[id] && typ == "carer" {
			return id + "__carer"
		}
		return id
	}
	types := map[string][]string{}
	for _, q := range r.Questions() {
		types[q.ID] = append(types[q.ID], q.RespondentType)
	}
	both := map[string]bool{}
	for id, ts := range types {
		both[id] = len(ts) > 1
	}
	qrows := [][]string{{"question", "type", "options", "positive", "excluded", "multi"}}
	var cols []string
	var colType []string
	var colID []string
	for _, q := range r.Questions() {
		var opts []string
		for _, o := range q.Options {
			opts = append(opts, o.Code)
		}
		c := col(q.RespondentType, q.ID, both)
		cols = append(cols, c)
		colType = append(colType, q.RespondentType)
		colID = append(colID, q.ID)
		qrows = append(qrows, []string{c, q.RespondentType, strings.Join(opts, ";"), strings.Join(q.Positive, ";"), strings.Join(q.Excluded, ";"), strconv.FormatBool(q.Multi)})
	}
	if err := writeCSV(filepath.Join(dir, "questions.csv"), qrows); err != nil {
		return err
	}
	// Collapsed levels: label of each original level, per ICS and variable.
	label := map[[3]string]string{}
	mrows := [][]string{{"ics", "variable", "position", "level", "frame"}}
	published := map[string]bool{}
	for _, rep := range r.ICSs() {
		if !rep.Published {
			continue
		}
		published[rep.ICS] = true
		for v, ls := range rep.Weighting.Levels {
			for pos, l := range ls {
				mrows = append(mrows, []string{rep.ICS, p.Weighting.Vars[v], strconv.Itoa(pos), l.Label, strconv.FormatFloat(l.Frame, 'g', -1, 64)})
				for _, m := range l.Members {
					label[[3]string{rep.ICS, p.Weighting.Vars[v], m}] = l.Label
				}
			}
		}
	}
	if err := writeCSV(filepath.Join(dir, "margins.csv"), mrows); err != nil {
		return err
	}
	head := append([]string{"ics", "type", "id", "age_band", "gender", "efi_band"}, cols...)
	rows := [][]string{head}
	quoted := make([]string, len(colID))
	for i, id := range colID {
		quoted[i] = `CAST(r."` + id + `" AS VARCHAR)`
	}
	q := `WITH resp AS (
  SELECT r.*, row_number() OVER (PARTITION BY r.ics, r.survey_record_id, r.respondent_type ORDER BY r.received_at, r.response_id) AS rn
  FROM current_responses r WHERE r.wave = 'NATIONAL' AND r.complete
)
SELECT r.ics, r.respondent_type, r.survey_record_id, s.age_band, s.gender, s.efi_band, ` + strings.Join(quoted, ", ") + `
FROM resp r JOIN sample s ON s.wave_id = r.wave AND s.ics = r.ics AND s.survey_record_id = r.survey_record_id
WHERE r.rn = 1 ORDER BY r.ics, r.respondent_type DESC, r.survey_record_id`
	rs, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rs.Close()
	vals := make([]sql.NullString, 6+len(colID))
	dst := make([]any, len(vals))
	for i := range vals {
		dst[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(dst...); err != nil {
			return err
		}
		ics, typ := vals[0].String, vals[1].String
		if !published[ics] {
			continue
		}
		row := []string{ics, typ, vals[2].String}
		for v, name := range []string{"age_band", "gender", "efi_band"} {
			x := vals[3+v].String
			if typ == "patient" {
				x = label[[3]string{ics, name, x}]
			}
			row = append(row, x)
		}
		for i := range colID {
			x := ""
			if colType[i] == typ {
				x = vals[6+i].String
			}
			row = append(row, x)
		}
		rows = append(rows, row)
	}
	if err := rs.Err(); err != nil {
		return err
	}
	slices.SortStableFunc(rows[1:], func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return writeCSV(filepath.Join(dir, "respondents.csv"), rows)
}

// runNational builds the national warehouse (setup, not timed) and times the release
// and R's part, each in child processes.
func runNational(nICS, nPat, nCar int, f *harness.Flags) error {
	dir, cleanup, err := harness.WorkDir(f.Dir, "publication-bench-*")
	if err != nil {
		return err
	}
	defer cleanup()
	if err := setupNational(dir, nICS, nPat, nCar); err != nil {
		return err
	}
	results, err := harness.Fastest[releaseResult](f.Runs, withR("release"), f.CPUProfile, func() (string, error) { return dir, nil })
	if err != nil {
		return err
	}
	g := results[0]
	fmt.Println()
	harness.PrintTable(os.Stdout, harness.Measures(results)...)
	fmt.Printf("\nrelease, wall: compute (read the snapshot, weight, estimate, check every table) %.3fs · write %d files (%.1f MiB) %.3fs\n",
		g.ComputeSeconds, g.Files, float64(g.Bytes)/(1<<20), g.WriteSeconds)
	fmt.Printf("compute phases: %s\n", g.Phases)
	fmt.Printf("release: %d result rows, %d distribution rows (%.0f rows/s written); %s\n", g.ResultRows, g.DistRows,
		float64(g.ResultRows+g.DistRows)/g.Seconds, g.Summary)
	fmt.Printf("the whole national release: %.3fs wall, %.2fs CPU (%.2fs the whole process) on %d cores (target < 2 s); load average %s\n",
		g.Seconds, g.ReleaseCPU, g.CPU, runtime.GOMAXPROCS(0), loadAverage())
	if len(results) < 2 {
		fmt.Println(rSkipped)
		return nil
	}
	r := results[1]
	fmt.Printf("r: %d ICSs weighted, %d estimates (raking and ICS-level estimates only); its part took %.2fs wall, %.2fs CPU\n",
		r.RICS, r.REstimates, r.Seconds, r.RPartCPU)
	fmt.Printf("R's part / Go's whole release: %.1fx wall, %.1fx CPU (target 10x)\n", r.Seconds/g.Seconds, r.RPartCPU/g.ReleaseCPU)
	return nil
}

// loadAverage is the machine's 1-minute load average, for the record: the parts'
// wall times depend on what else runs.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
