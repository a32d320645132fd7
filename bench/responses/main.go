// Command responses-bench measures the daily response load against DuckDB on the same
// supplier file.
//
// It generates one day's online response extract of -n rows for the latest patient
// questionnaire (answers drawn from each question's options, some multi-choice, some
// incomplete returns, free text with commas, quotes, line breaks and accents, about 2%
// rejectable rows of every kind the load checks and about 3% people answering twice),
// plus what the load needs to judge it: the wave's accepted sample in the lake
// (schemas.SampleRecord, via lake.PutRows) and the mailing history that says who was
// invited. It then times, each in a child process of its own so peak memory is per part:
//
//	pipeline  the real path of DailyLoadWorkflow for one ICS and day:
//	          activities.LoadResponses (sample and mailing history read from the lake,
//	          responses.Load: validate, de-duplicate, write the day's Parquet partitions
//	          and free text), then activities.WarehouseActivities.LoadLakeObjects for
//	          the lake objects it reports (one warehouse transaction), into a DuckDB warehouse file that already
//	          has its schema (warehouse.Open runs before the clock starts)
//	duckdb    DuckDB alone on the same file, in a fresh DuckDB file:
//	          CREATE TABLE t AS SELECT * FROM read_csv('responses_online.csv'),
//	          timed from opening the file to closing it (so the checkpoint to disk
//	          counts, as it does for each of the pipeline's warehouse transactions)
//
// and prints rows, seconds, rows/s, CPU seconds and peak RSS (VmHWM) of both, and the
// ratio. Rows are the data rows of the supplier file for both parts.
//
// -runs N keeps the fastest of N runs of each part, the parts taking turns so a machine
// that gets busier or quieter weighs on both alike (each pipeline run gets a fresh copy
// of the store and warehouse, so a re-run is never a no-op); -cpuprofile writes a CPU
// profile of the pipeline part.
//
//	go run ./bench/responses -n 50000
package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"icesurvey/activities"
	"icesurvey/bench/internal/harness"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

const (
	wave = "BENCH"
	ics  = "QMM"
)

var (
	loadDay  = time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	benchKey = []byte("bench-key-not-secret-0123456789abcdef")
)

// partResult is what a child process reports on stdout.
type partResult struct {
	harness.Measure

	// Pipeline only.
	Loaded        int     `json:"loaded,omitempty"`
	Rejected      int     `json:"rejected,omitempty"`
	Duplicates    int     `json:"duplicates,omitempty"`
	FreeText      int     `json:"free_text,omitempty"`
	Objects       int     `json:"objects,omitempty"`
	WarehouseRows int64   `json:"warehouse_rows,omitempty"`
	LoadSeconds   float64 `json:"load_seconds,omitempty"`
	WHSeconds     float64 `json:"warehouse_seconds,omitempty"`
	ByTable       string  `json:"by_table,omitempty"`
}

func main() {
	n := flag.Int("n", 50000, "response rows in the day's extract")
	sampleFactor := flag.Float64("sample", 2, "sampled people per response row (the Known lookup and sample scan scale with it)")
	f := harness.RegisterFlags("pipeline")
	harness.Main("responses-bench", f, func() error { return run(*n, *sampleFactor, f.Runs, f.Dir, f.Part, f.CPUProfile) })
}

func landingKey() string {
	return schemas.ResponseLandingKey(wave, ics, loadDay, schemas.ResponseFileName(schemas.ChannelOnline, "csv"))
}
func sampleKey() string  { return schemas.SampleKey(wave, ics) }
func mailingKey() string { return schemas.MailingHistoryKey(wave, ics, "invitation") }

func run(n int, sampleFactor float64, runs int, dir, part, cpuProfile string) error {
	switch part {
	case "pipeline":
		return harness.Report(runPipeline(dir))
	case "duckdb":
		return harness.Report(runDuckDB(dir))
	case "":
	default:
		return fmt.Errorf("unknown part %q", part)
	}
	if n < 100 {
		return fmt.Errorf("-n %d: want at least 100 rows", n)
	}
	dir, cleanup, err := harness.WorkDir(dir, "responses-bench-*")
	if err != nil {
		return err
	}
	defer cleanup()
	start := time.Now()
	g, err := generate(filepath.Join(dir, "seed"), n, sampleFactor)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d response rows (%d sampled, %d invited) in %.1fs: extract %.1f MiB, %d columns\n",
		n, g.sampled, g.invited, time.Since(start).Seconds(), float64(g.bytes)/(1<<20), g.columns)
	fmt.Printf("expected: %d loaded, %d rejected, %d duplicates, %d free-text answers\n\n",
		g.loaded, g.rejected, g.duplicates, g.freeText)

	// A fresh copy for each run: a second pipeline run on the same store would find the
	// file's load marker and skip it.
	results, err := harness.Fastest[partResult](runs, []string{"pipeline", "duckdb"}, cpuProfile, func() (string, error) {
		work := filepath.Join(dir, "run")
		if err := os.RemoveAll(work); err != nil {
			return "", err
		}
		return work, copyTree(filepath.Join(dir, "seed"), work)
	})
	if err != nil {
		return err
	}
	pl, dk := results[0], results[1]
	if pl.Loaded != g.loaded || pl.Rejected != g.rejected || pl.Duplicates != g.duplicates || pl.FreeText != g.freeText {
		fmt.Printf("WARNING: load counts differ from the generator's: loaded %d/%d rejected %d/%d duplicates %d/%d free text %d/%d\n\n",
			pl.Loaded, g.loaded, pl.Rejected, g.rejected, pl.Duplicates, g.duplicates, pl.FreeText, g.freeText)
	}
	if dk.Rows != pl.Rows {
		fmt.Printf("WARNING: DuckDB read %d rows, the load read %d\n\n", dk.Rows, pl.Rows)
	}

	harness.PrintTable(os.Stdout, &pl.Measure, &dk.Measure)
	fmt.Printf("\npipeline: responses.Load (LoadResponses activity) %.2fs; warehouse %.2fs for %d lake objects, %d rows (%s)\n",
		pl.LoadSeconds, pl.WHSeconds, pl.Objects, pl.WarehouseRows, pl.ByTable)
	fmt.Printf("          %d loaded, %d rejected, %d duplicates, %d free-text answers\n", pl.Loaded, pl.Rejected, pl.Duplicates, pl.FreeText)
	ratio := pl.Seconds / dk.Seconds
	verdict := "within"
	if ratio > 2 {
		verdict = "OVER"
	}
	fmt.Printf("\npipeline/duckdb ratio: %.2fx wall time, %.2fx CPU time (target 2x: %s)\n", ratio, pl.CPU/dk.CPU, verdict)
	return nil
}

func runPipeline(dir string) (partResult, error) {
	ctx := context.Background()
	st, err := store.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		return partResult{}, err
	}
	version, err := questionnaire.Latest(questionnaire.Patient)
	if err != nil {
		return partResult{}, err
	}
	// The warehouse exists with its schema before a day's load: migrations are not timed.
	wh, err := warehouse.Open(ctx, filepath.Join(dir, "warehouse.duckdb"))
	if err != nil {
		return partResult{}, err
	}
	scope := activities.Scope{WaveID: wave, ICS: ics}
	a := &activities.Activities{Store: st}
	wa := &activities.WarehouseActivities{Store: st, Warehouse: wh}

	start := time.Now()
	out, err := a.LoadResponses(ctx, activities.LoadResponsesInput{
		Scope: scope, Questionnaires: activities.Questionnaires{PatientVersion: version}, Date: loadDay,
	})
	if err != nil {
		return partResult{}, err
	}
	loadDone := time.Now()
	var whRows int64
	byTable := map[schemas.Table]int64{}
	var tables []schemas.Table
	lo, err := wa.LoadLakeObjects(ctx, activities.LoadObjectsInput{Scope: scope, Objects: out.Objects})
	if err != nil {
		return partResult{}, err
	}
	for _, o := range out.Objects {
		if _, ok := byTable[o.Table]; !ok {
			tables = append(tables, o.Table)
		}
		byTable[o.Table] += lo.ByKey[o.Key].Rows
		whRows += lo.ByKey[o.Key].Rows
	}
	end := time.Now()
	var parts []string
	for _, t := range tables {
		parts = append(parts, fmt.Sprintf("%s %d", t, byTable[t]))
	}
	return partResult{
		Measure: harness.Measure{Part: "pipeline", Rows: int64(out.RowsRead), Seconds: end.Sub(start).Seconds()},
		Loaded:  out.Loaded, Rejected: out.Rejected, Duplicates: out.Duplicates, FreeText: out.FreeTextItems,
		Objects: len(out.Objects), WarehouseRows: whRows, ByTable: strings.Join(parts, ", "),
		LoadSeconds: loadDone.Sub(start).Seconds(), WHSeconds: end.Sub(loadDone).Seconds(),
	}, nil
}

func runDuckDB(dir string) (partResult, error) {
	in := filepath.Join(dir, "store", filepath.FromSlash(landingKey()))
	dbPath := filepath.Join(dir, "duckdb-only.duckdb")
	q := fmt.Sprintf("CREATE TABLE t AS SELECT * FROM read_csv('%s')", strings.ReplaceAll(in, "'", "''"))
	start := time.Now()
	db, err := sql.Open("duckdb", dbPath)
	if err != nil {
		return partResult{}, err
	}
	if _, err := db.Exec(q); err != nil {
		db.Close()
		return partResult{}, err
	}
	if err := db.Close(); err != nil {
		return partResult{}, err
	}
	secs := time.Since(start).Seconds()
	// Count afterwards, outside the clock.
	db, err = sql.Open("duckdb", dbPath)
	if err != nil {
		return partResult{}, err
	}
	defer db.Close()
	var rows int64
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&rows); err != nil {
		return partResult{}, err
	}
	return partResult{Measure: harness.Measure{Part: "duckdb", Rows: rows, Seconds: secs}}, nil
}

// copyTree copies the regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(target, 0o750)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// ---------------------------------------------------------------------------------
// Generator

var (
	goodComments = []string{
		"The district nurses were kind and always explained what they were doing.",
		"My GP practice rang me after I came out of hospital to check how I was.",
		"The pharmacist sorted out my medicines, so I take fewer tablets.",
		"Having one care coordinator to call has made a real difference.",
		"The physio came to the house, which made it much easier – thank you!",
		"Staff listened to \"what matters to me\", not just my conditions.",
		"Everyone at the café-style drop-in was friendly.",
		"Appointments were arranged on the same day so I only travelled once.",
	}
	improveComments = []string{
		"I have to tell my story again every time I see someone new.",
		"The hospital and the GP did not seem to share information about my medicines.",
		"It took weeks to get a reply about my care package; nobody rang back.",
		"I had several separate appointments that could have been combined.",
		"I was not told who to contact out of hours when things got worse.",
		"Discharge from hospital was rushed, and the support at home was not ready.",
		"Letters arrive after the appointment they are about.\nPlease sort this out.",
		"The receptionist said \"ring back tomorrow\" three days running.",
	}
)

// rejectKinds are the rejectable rows the generator plants, one in every 50 rows, in
// turn, so every kind also appears near the top of the file (where DuckDB's sniffer
// looks) and the rest are spread through it.
var rejectKinds = []string{
	"unknown_record", "invalid_answer", "bad_timestamp", "wrong_channel", "bad_complete",
	"two_codes_single", "blank_response", "not_invited", "missing_record_id", "future_timestamp",
}

type generated struct {
	bytes                                  int64
	columns                                int
	sampled, invited                       int
	loaded, rejected, duplicates, freeText int
}

// generate writes the lake sample, the mailing history and the day's online response
// extract into a file store under dir.
func generate(dir string, n int, sampleFactor float64) (generated, error) {
	ctx := context.Background()
	var g generated
	st, err := store.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		return g, err
	}
	version, err := questionnaire.Latest(questionnaire.Patient)
	if err != nil {
		return g, err
	}
	qn, err := questionnaire.Resolve(version, nil)
	if err != nil {
		return g, err
	}
	rng := rand.New(rand.NewPCG(42, 2026))

	// The accepted sample and who was invited (the last 1% never were).
	g.sampled = max(int(float64(n)*sampleFactor), n+n/10)
	g.invited = g.sampled - g.sampled/100
	keyed := pseudo.New(benchKey)
	ids := make([]string, g.sampled)
	sample := make([]schemas.SampleRecord, g.sampled)
	mailings := make([]schemas.MailingEvent, 0, g.invited)
	invitedAt := loadDay.AddDate(0, 0, -14).Add(9 * time.Hour)
	bands := []string{"65-74", "75-84", "85+", "18-64"}
	efi := []string{"moderate", "severe", "mild", "fit"}
	for i := range sample {
		ids[i] = keyed.SurveyRecordID(wave, ics, "R"+strconv.Itoa(1000000+i))
		age := 65 + rng.IntN(30)
		sample[i] = schemas.SampleRecord{
			SurveyRecordID: ids[i], WaveID: wave, ICS: ics,
			NHSPseudonym:   fmt.Sprintf("%064x", rng.Uint64()),
			GPPracticeCode: fmt.Sprintf("D8%04d", rng.IntN(120)), Age: int32(age), AgeBand: bands[rng.IntN(len(bands))],
			Gender: strconv.Itoa(1 + rng.IntN(2)), Ethnicity: "A", EFIScore: 0.25 + 0.5*rng.Float64(),
			EFIBand: efi[rng.IntN(len(efi))], RegistrationDate: loadDay.AddDate(-1-rng.IntN(30), 0, 0),
			HasMobile: rng.IntN(10) < 7, PostcodeDistrict: "NR" + strconv.Itoa(1+rng.IntN(35)),
		}
		if i < g.invited {
			mailings = append(mailings, schemas.MailingEvent{
				Reference: wave + "-" + ics + "-" + ids[i] + "-invitation", WaveID: wave, ICS: ics,
				SurveyRecordID: ids[i], Step: "invitation", Channel: "letter", SentAt: invitedAt, Result: "queued",
			})
		}
	}
	if err := lake.PutRows(ctx, st, sampleKey(), schemas.SampleRecordLayout(), sample); err != nil {
		return g, err
	}
	if err := lake.PutRows(ctx, st, mailingKey(), schemas.MailingEventLayout(), mailings); err != nil {
		return g, err
	}

	// The extract: responders are drawn from the invited, in order of arrival.
	path := filepath.Join(st.Root(), filepath.FromSlash(landingKey()))
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return g, err
	}
	f, err := os.Create(path)
	if err != nil {
		return g, err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	qids := qn.IDs()
	header := schemas.ResponseExtractHeader(qids)
	g.columns = len(header)
	if err := w.Write(header); err != nil {
		return g, err
	}
	order := rng.Perm(g.invited)
	next := 0
	type answered struct {
		complete bool
		freeText int
	}
	var earlier []string            // ids of the valid rows so far, for duplicates
	byID := map[string][]answered{} // valid rows of each person, in order of arrival
	rec := make([]string, len(header))
	step := 24 * time.Hour / time.Duration(n+1)
	for i := 0; i < n; i++ {
		at := loadDay.Add(time.Duration(i+1)*step + time.Duration(rng.IntN(int(step/time.Second)+1))*time.Second/2)
		complete := rng.IntN(100) < 92
		reject := ""
		if i%50 == 7 {
			reject = rejectKinds[(i/50)%len(rejectKinds)]
		}
		var id string
		dup := false
		switch {
		case reject == "unknown_record":
			id = keyed.SurveyRecordID(wave, "XXX", "R"+strconv.Itoa(i))
		case reject == "not_invited":
			id = ids[g.invited+rng.IntN(g.sampled-g.invited)]
		case reject == "missing_record_id":
			id = ""
		case reject == "" && len(earlier) > 0 && rng.IntN(100) < 3:
			// The same person answering again later in the day.
			id, dup = earlier[rng.IntN(len(earlier))], true
		default:
			id = ids[order[next%len(order)]]
			next++
		}
		for j := range rec {
			rec[j] = ""
		}
		rec[0], rec[1], rec[2], rec[3] = id, schemas.RespondentPatient, version, schemas.ChannelOnline
		rec[4] = at.Format(time.RFC3339)
		rec[5] = "N"
		if complete {
			rec[5] = "Y"
		}
		// Answers: a complete return leaves ~4% of items blank; an incomplete one stops
		// part of the way through.
		answerable := len(qn.Questions)
		if !complete {
			answerable = 3 + rng.IntN(len(qn.Questions)/2)
		}
		latent := rng.NormFloat64() * 0.8
		ft := 0
		for k := range qn.Questions {
			q := &qn.Questions[k]
			if k >= answerable {
				break
			}
			col := 6 + k
			switch q.Kind {
			case questionnaire.FreeText:
				if s := comment(rng, q.ID); s != "" {
					rec[col] = s
					ft++
				}
			case questionnaire.Multi:
				if rng.IntN(100) < 4 {
					continue
				}
				rec[col] = multi(rng, q)
			default:
				if rng.IntN(100) < 4 && q.Theme != questionnaire.ThemeConsent {
					continue
				}
				rec[col] = single(rng, q, latent)
			}
		}
		rec[6] = first(rec[6], qn.Questions[0]) // at least one closed answer
		switch reject {
		case "invalid_answer":
			rec[7] = "9"
		case "bad_timestamp":
			rec[4] = at.Format("02/01/2006 15:04")
		case "wrong_channel":
			rec[3] = schemas.ChannelPaper
		case "bad_complete":
			rec[5] = "maybe"
		case "two_codes_single":
			rec[7] = "1;2"
		case "blank_response":
			for k, q := range qn.Questions {
				if q.Closed() {
					rec[6+k] = ""
				}
			}
		case "future_timestamp":
			rec[4] = loadDay.AddDate(0, 0, 3).Format(time.RFC3339)
		}
		if err := w.Write(rec); err != nil {
			return g, err
		}
		if reject != "" {
			g.rejected++
			continue
		}
		if dup {
			g.duplicates++
		} else {
			earlier = append(earlier, id)
		}
		byID[id] = append(byID[id], answered{complete, ft})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return g, err
	}
	info, err := f.Stat()
	if err != nil {
		return g, err
	}
	g.bytes = info.Size()
	// The load keeps each person's first complete response, else their first one
	// (received times rise with the row, so arrival order is row order).
	g.loaded = len(byID)
	for _, rows := range byID {
		keep := rows[0]
		for _, r := range rows {
			if r.complete {
				keep = r
				break
			}
		}
		g.freeText += keep.freeText
	}
	return g, nil
}

// single draws a single-choice answer: scored questions lean positive with the
// person's latent experience; others are uniform over the options.
func single(rng *rand.Rand, q *questionnaire.Question, latent float64) string {
	if len(q.Positive) == 0 {
		if q.Theme == questionnaire.ThemeConsent && rng.IntN(100) < 78 {
			return q.Options[0].Code
		}
		return q.Options[rng.IntN(len(q.Options))].Code
	}
	if len(q.Excluded) > 0 && rng.IntN(100) < 7 {
		return q.Excluded[rng.IntN(len(q.Excluded))]
	}
	if rng.Float64() < 0.7+0.15*latent {
		return q.Positive[rng.IntN(len(q.Positive))]
	}
	var neg []string
	for _, o := range q.Options {
		if !q.IsPositive(o.Code) && !contains(q.Excluded, o.Code) {
			neg = append(neg, o.Code)
		}
	}
	return neg[rng.IntN(len(neg))]
}

// multi draws one to four distinct codes of a tick-all-that-apply question.
func multi(rng *rand.Rand, q *questionnaire.Question) string {
	k := 1 + rng.IntN(min(4, len(q.Options)))
	picked := rng.Perm(len(q.Options))[:k]
	codes := make([]string, k)
	for i, p := range picked {
		codes[i] = q.Options[p].Code
	}
	return strings.Join(codes, questionnaire.MultiSeparator)
}

func comment(rng *rand.Rand, id string) string {
	if rng.IntN(100) >= 35 {
		return ""
	}
	bank := goodComments
	if strings.Contains(id, "IMPROVE") {
		bank = improveComments
	}
	n := 1 + rng.IntN(3)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = bank[rng.IntN(len(bank))]
	}
	return strings.Join(parts, " ")
}

// first makes sure the first question (closed) has an answer.
func first(cur string, q questionnaire.Question) string {
	if cur != "" || !q.Closed() {
		return cur
	}
	return q.Options[0].Code
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
