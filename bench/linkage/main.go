// Command linkage-bench measures the consented linkage of a national-size wave against
// DuckDB doing the plain work on the same Parquet files.
//
// Setup (timed, not compared): a synthetic wave of -ics ICSs, each with -sample people
// sampled and -respondents complete responses, about two thirds consenting; its consent
// derived; and Parquet extracts of every secondary dataset for the whole sample,
// totalling about -rows activity rows (the activity rates scaled to reach it). Then,
// each in a child process of its own so peak memory is per part:
//
//	validate         every extract validated (linkage.ValidateExtract, two at a time):
//	                 non-consenters' rows excluded on their key and counted, every other
//	                 row checked against its definition, consenters' valid rows to the
//	                 lake, bad rows kept as rejections
//	duckdb-validate  the same extracts joined to the consenters and written as Parquet,
//	                 with no checks
//	link             linkage.BuildRelease over the lake: the cohort from the lake, linked
//	                 respondents, conditions, answers, activity, and the quality report
//	duckdb-link      a plain join of the same lake activity files to the consenters and a
//	                 group-by person and dataset (count, bed days, distinct providers in
//	                 the 12-month window), written as Parquet
//
// and prints rows, seconds, rows/s, CPU seconds and peak RSS of each, and the ratios.
// Then the link in its parts, from the CPU time BuildRelease measured in each of its
// phases, beside the CPU time of DuckDB's query alone (both measured inside their
// processes, so neither counts start-up): the cohort read from the lake and staged; the
// join and group-by (the relation of who is found where, and linked_respondents: the
// consenters' activity joined and grouped per person); and the other outputs and the
// quality report.
//
//	go run ./bench/linkage                      # 42 ICSs x 1,330 respondents, 10M rows
//	go run ./bench/linkage -ics 4 -rows 1000000 # a quick look
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"icesurvey/bench/internal/harness"
	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/store"
)

const wave = "BENCH"

var benchKey = []byte("bench-key-not-secret-0123456789abcdef")

// rowsPerPersonAtScale1 is about how many extract rows one sampled person has at scale
// 1 (measured on the generator: 27 months of frail older adults' activity).
const rowsPerPersonAtScale1 = 81.0

type partResult struct {
	harness.Measure
	Accepted int64 `json:"accepted,omitempty"`
	Linked   int64 `json:"linked,omitempty"`
	// PhaseCPU and PhaseSeconds: the link's phases (linkage.ReleaseResult), CPU and wall.
	PhaseCPU     map[string]float64 `json:"phase_cpu,omitempty"`
	PhaseSeconds map[string]float64 `json:"phase_seconds,omitempty"`
	// QueryCPU and QuerySeconds: duckdb-link's query alone.
	QueryCPU     float64 `json:"query_cpu,omitempty"`
	QuerySeconds float64 `json:"query_seconds,omitempty"`
}

func main() {
	icss := flag.Int("ics", 42, "ICSs")
	sample := flag.Int("sample", 4000, "people sampled per ICS")
	respondents := flag.Int("respondents", 1330, "complete responses per ICS")
	rows := flag.Int64("rows", 10_000_000, "extract rows to generate, in all")
	f := harness.RegisterFlags("link", "validate")
	flag.Parse()
	stop := f.StartProfile()
	err := run(*icss, *sample, *respondents, *rows, f)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "linkage-bench:", err)
		os.Exit(1)
	}
}

func run(icss, sample, respondents int, rows int64, f *harness.Flags) error {
	switch f.Part {
	case "validate":
		return harness.Report(runValidate(f.Dir))
	case "duckdb-validate":
		return harness.Report(runDuckDBValidate(f.Dir))
	case "link":
		return harness.Report(runLink(f.Dir))
	case "duckdb-link":
		return harness.Report(runDuckDBLink(f.Dir))
	case "":
	default:
		return fmt.Errorf("unknown part %q", f.Part)
	}
	dir := f.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "linkage-bench-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	start := time.Now()
	n, err := setup(dir, icss, sample, respondents, rows)
	if err != nil {
		return err
	}
	fmt.Printf("set up in %.1fs: %d ICSs, %d sampled, %d respondents, %d consenting; %d extract rows in %d Parquet files\n\n",
		time.Since(start).Seconds(), icss, icss*sample, icss*respondents, n.consenting, n.rows, n.files)
	parts := []string{"validate", "duckdb-validate", "link", "duckdb-link"}
	res, err := harness.Fastest[partResult](f.Runs, parts, f.CPUProfile, func() (string, error) { return dir, nil })
	if err != nil {
		return err
	}
	harness.PrintTable(os.Stdout, &res[0].Measure, &res[1].Measure, &res[2].Measure, &res[3].Measure)
	v, dv, l, dl := res[0], res[1], res[2], res[3]
	fmt.Printf("\nvalidate: extract rows validated (%d accepted into the lake, the rest rejected or excluded); duckdb-validate joins them to the consenters unchecked\n", v.Accepted)
	fmt.Printf("link: lake activity rows of consenters, to %d linked respondents and the quality report; duckdb-link joins and groups them\n", l.Linked)
	fmt.Printf("\nlink/duckdb-link ratio:         %.2fx wall (target 1.5x), %.2fx CPU\n", l.Seconds/dl.Seconds, l.CPU/dl.CPU)
	fmt.Printf("validate/duckdb-validate ratio: %.2fx wall, %.2fx CPU\n", v.Seconds/dv.Seconds, v.CPU/dv.CPU)
	fmt.Printf("both:                           %.2fx wall, %.2fx CPU\n", (v.Seconds+l.Seconds)/(dv.Seconds+dl.Seconds), (v.CPU+l.CPU)/(dv.CPU+dl.CPU))
	printLinkParts(l, dl)
	return nil
}

// printLinkParts prints the link in its parts beside DuckDB's query alone, CPU and wall
// measured inside each process.
func printLinkParts(l, dl partResult) {
	c, w := l.PhaseCPU, l.PhaseSeconds
	lr := "table:" + schemas.TableLinkedRespondents
	parts := []struct {
		name      string
		cpu, wall float64
		compare   bool
	}{
		{"cohort: sample, responses and consent from the lake, staged", c["cohort"] + c["stage"] + c["bind"], w["cohort"] + w["stage"] + w["bind"], false},
		{"join + group-by: found-in pairs, linked_respondents", c["materialise"] + c[lr], w["materialise"] + w[lr], true},
		{"release outputs: answers, conditions, exports, quality report", c["outputs"] - c[lr] + c["retire"], w["outputs"] - w[lr] + w["retire"], false},
		{"whole link (BuildRelease)", c["total"], w["total"], true},
	}
	fmt.Printf("\nlink in parts (CPU and wall measured inside the process, no start-up), %d lake activity rows:\n", l.Rows)
	fmt.Printf("%-64s %8s %8s %12s %s\n", "part", "cpu s", "wall s", "rows/s", "vs duckdb-link query (CPU)")
	for _, p := range parts {
		ratio := ""
		if p.compare {
			ratio = fmt.Sprintf("%.2fx", p.cpu/dl.QueryCPU)
		}
		fmt.Printf("%-64s %8.2f %8.2f %12.0f %s\n", p.name, p.cpu, p.wall, float64(l.Rows)/p.wall, ratio)
	}
	fmt.Printf("%-64s %8.2f %8.2f %12.0f\n", "duckdb-link query: join + group-by, written", dl.QueryCPU, dl.QuerySeconds, float64(dl.Rows)/dl.QuerySeconds)
}

// processCPU is this process's CPU time so far (user and system, every thread).
func processCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

type setupResult struct {
	consenting  int
	rows, files int64
}

func openStore(dir string) (*store.FileStore, error) {
	return store.NewFileStore(filepath.Join(dir, "store"))
}

func setup(dir string, icss, sample, respondents int, rows int64) (setupResult, error) {
	ctx := context.Background()
	var out setupResult
	st, err := openStore(dir)
	if err != nil {
		return out, err
	}
	codes := make([]string, icss)
	for i := range codes {
		codes[i] = synthlink.ICBCodes[i%len(synthlink.ICBCodes)]
		if i >= len(synthlink.ICBCodes) {
			codes[i] = fmt.Sprintf("Q%02d", i)
		}
	}
	if _, err := synthlink.WriteWave(ctx, st, synthlink.WaveConfig{WaveID: wave, ICSs: codes, PerICS: sample,
		Respondents: respondents, ConsentRate: 0.7, WithdrawRate: 0.02, Seed: 1, ProjectKey: benchKey}); err != nil {
		return out, err
	}
	events, err := linkage.DeriveConsent(ctx, st, wave)
	if err != nil {
		return out, err
	}
	if _, err := linkage.WriteDerivedConsent(ctx, st, wave, events); err != nil {
		return out, err
	}
	scale := float64(rows) / (rowsPerPersonAtScale1 * float64(icss*sample))
	gs, err := synthlink.Generate(ctx, st, synthlink.Config{WaveID: wave, Seed: 2, Format: "parquet", Scale: scale, NoTruth: true,
		ProjectKeyID: linkage.KeyID(benchKey)})
	if err != nil {
		return out, err
	}
	out.rows = gs.Rows
	out.files = int64(len(gs.Datasets))
	// The consenters, for DuckDB's joins: their project pseudonym and window.
	cohort, err := linkage.LoadLinkable(ctx, st, wave)
	if err != nil {
		return out, err
	}
	type consenter struct {
		NHSPseudonym string    `col:"nhs_pseudonym"`
		ResponseDate time.Time `col:"response_date,date"`
		From12M      time.Time `col:"from_12m,date"`
	}
	var cs []consenter
	for _, p := range cohort.People {
		if p.Consented {
			cs = append(cs, consenter{p.NHSPseudonym, p.ResponseDate, p.ResponseDate.AddDate(-1, 0, 0)})
		}
	}
	out.consenting = len(cs)
	return out, lake.PutRows(ctx, st, "bench/consenters.parquet", schemas.LayoutOf[consenter]("consenters"), cs)
}

func extractKeys(ctx context.Context, st store.Store, defs *linkage.Definitions) (map[string]string, error) {
	out := map[string]string{}
	for _, id := range defs.IDs() {
		infos, err := st.List(ctx, schemas.LinkageLandingPrefix(wave, id))
		if err != nil {
			return nil, err
		}
		for _, in := range infos {
			if strings.HasSuffix(in.Key, ".parquet") {
				out[id] = in.Key
			}
		}
	}
	return out, nil
}

// extracts opens the store of dir and finds the landed extract of each definition.
func extracts(ctx context.Context, dir string) (*store.FileStore, *linkage.Definitions, map[string]string, error) {
	st, err := openStore(dir)
	if err != nil {
		return nil, nil, nil, err
	}
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		return nil, nil, nil, err
	}
	keys, err := extractKeys(ctx, st, defs)
	return st, defs, keys, err
}

func runValidate(dir string) (partResult, error) {
	ctx := context.Background()
	st, defs, keys, err := extracts(ctx, dir)
	if err != nil {
		return partResult{}, err
	}
	start := time.Now()
	cohort, err := linkage.LoadLinkable(ctx, st, wave)
	if err != nil {
		return partResult{}, err
	}
	defer cohort.Close()
	var (
		mu       sync.Mutex
		read     int64
		accepted int64
		firstErr error
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, 2)
	for _, id := range defs.IDs() {
		d, _ := defs.Get(id)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := linkage.ValidateExtract(ctx, st, linkage.ExtractConfig{WaveID: wave, Definition: d, Cohort: cohort,
				ProjectKeyID: linkage.KeyID(benchKey), ProjectKey: benchKey}, keys[id])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			read += res.RowsRead
			accepted += res.Accepted
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return partResult{}, firstErr
	}
	return partResult{Measure: harness.Measure{Part: "validate", Rows: read, Seconds: time.Since(start).Seconds()}, Accepted: accepted}, nil
}

func openDuckDB() (*sql.DB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, err
	}
	// Warm the connection up so its start-up is not timed.
	if _, err := db.Exec("SELECT 1"); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func runDuckDBValidate(dir string) (partResult, error) {
	ctx := context.Background()
	st, defs, keys, err := extracts(ctx, dir)
	if err != nil {
		return partResult{}, err
	}
	db, err := openDuckDB()
	if err != nil {
		return partResult{}, err
	}
	defer db.Close()
	consenters := filepath.Join(st.Root(), "bench/consenters.parquet")
	var read int64
	start := time.Now()
	for _, id := range defs.IDs() {
		in := filepath.Join(st.Root(), keys[id])
		var n int64
		if err := db.QueryRow("SELECT num_rows FROM parquet_file_metadata(" + quote(in) + ")").Scan(&n); err != nil {
			return partResult{}, err
		}
		read += n
		q := fmt.Sprintf(`COPY (SELECT e.* FROM read_parquet(%s) e JOIN read_parquet(%s) c ON e.PERSON_KEY = c.nhs_pseudonym)
			TO %s (FORMAT parquet, COMPRESSION zstd)`, quote(in), quote(consenters), quote(filepath.Join(dir, "duckdb-"+id+".parquet")))
		if _, err := db.Exec(q); err != nil {
			return partResult{}, err
		}
	}
	return partResult{Measure: harness.Measure{Part: "duckdb-validate", Rows: read, Seconds: time.Since(start).Seconds()}}, nil
}

func runLink(dir string) (partResult, error) {
	ctx := context.Background()
	st, err := openStore(dir)
	if err != nil {
		return partResult{}, err
	}
	n, err := lakeRows(ctx, st)
	if err != nil {
		return partResult{}, err
	}
	start := time.Now()
	res, err := linkage.BuildRelease(ctx, st, linkage.ReleaseConfig{WaveID: wave, ReleaseID: "R1", ProjectKey: benchKey, TempDir: dir})
	if err != nil {
		return partResult{}, err
	}
	return partResult{Measure: harness.Measure{Part: "link", Rows: n, Seconds: time.Since(start).Seconds()}, Linked: res.Consented,
		PhaseCPU: res.CPUSeconds, PhaseSeconds: res.Seconds}, nil
}

// lakeRows counts the lake's accepted activity rows (from the Parquet footers).
func lakeRows(ctx context.Context, st *store.FileStore) (int64, error) {
	files, err := lakeActivity(ctx, st)
	if err != nil {
		return 0, err
	}
	db, err := openDuckDB()
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRow("SELECT sum(num_rows) FROM parquet_file_metadata([" + strings.Join(files, ", ") + "])").Scan(&n)
	return n, err
}

func lakeActivity(ctx context.Context, st *store.FileStore) ([]string, error) {
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		return nil, err
	}
	var files []string
	for _, id := range defs.IDs() {
		infos, err := st.List(ctx, schemas.LinkageActivityPrefix(id, wave))
		if err != nil {
			return nil, err
		}
		for _, in := range infos {
			files = append(files, quote(filepath.Join(st.Root(), in.Key)))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no lake activity: run the validate part first")
	}
	return files, nil
}

func runDuckDBLink(dir string) (partResult, error) {
	ctx := context.Background()
	st, err := openStore(dir)
	if err != nil {
		return partResult{}, err
	}
	files, err := lakeActivity(ctx, st)
	if err != nil {
		return partResult{}, err
	}
	n, err := lakeRows(ctx, st)
	if err != nil {
		return partResult{}, err
	}
	db, err := openDuckDB()
	if err != nil {
		return partResult{}, err
	}
	defer db.Close()
	consenters := filepath.Join(st.Root(), "bench/consenters.parquet")
	q := fmt.Sprintf(`COPY (
  SELECT c.nhs_pseudonym, a.dataset_id, count(*) AS contacts, sum(a.duration_days) AS days,
         count(DISTINCT a.provider_code) AS providers
  FROM read_parquet([%s]) a JOIN read_parquet(%s) c ON a.nhs_pseudonym = c.nhs_pseudonym
  WHERE a.activity_date >= c.from_12m AND a.activity_date < c.response_date
  GROUP BY c.nhs_pseudonym, a.dataset_id
) TO %s (FORMAT parquet, COMPRESSION zstd)`, strings.Join(files, ", "), quote(consenters), quote(filepath.Join(dir, "duckdb-link.parquet")))
	start, cpu := time.Now(), processCPU()
	if _, err := db.Exec(q); err != nil {
		return partResult{}, err
	}
	secs := time.Since(start).Seconds()
	return partResult{Measure: harness.Measure{Part: "duckdb-link", Rows: n, Seconds: secs}, QueryCPU: processCPU() - cpu, QuerySeconds: secs}, nil
}
