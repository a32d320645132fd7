// Command intake-bench measures the sample intake against DuckDB on the same input.
//
// It generates a sample file and a matching mailing file of -n records (CSV, with a
// realistic share of exclusions and errors), then times, each in a child process of
// its own so peak memory is per part:
//
//	intake  intake.Run: both files checked, joined and written as validated Parquet
//	        (analysis records, contacts, rejection report)
//	duckdb  COPY (SELECT * FROM read_csv('…')) TO '…' (FORMAT parquet) of each of the
//	        two files, in-memory DuckDB: the same pair of files converted with no checks
//	        at all (its time is the sum of the two statements)
//
// and prints rows (record pairs), seconds, rows/s, CPU seconds (user + system of the
// whole child) and peak RSS (VmHWM) of both, and their ratios.
//
// The intake's own log line goes to stderr. -runs N keeps the fastest of N runs of
// each part; -cpuprofile writes a CPU profile of the intake part.
//
//	go run ./bench/intake -n 1000000
package main

import (
	"bufio"
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"icesurvey/bench/internal/harness"
	"icesurvey/codes"
	"icesurvey/intake"
	"icesurvey/schemas"
	"icesurvey/store"
)

const (
	wave = "BENCH"
	ics  = "QMM"
)

var (
	samplingDate = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	benchKey     = []byte("bench-key-not-secret-0123456789abcdef")
)

// partResult is what a child process reports on stdout.
type partResult struct {
	harness.Measure
	Accepted int64 `json:"accepted,omitempty"`
}

func main() {
	n := flag.Int("n", 1000000, "records to generate")
	f := harness.RegisterFlags("intake")
	harness.Main("intake-bench", f, func() error { return run(*n, f.Runs, f.Dir, f.Part, f.CPUProfile) })
}

func sampleKey() string  { return schemas.LandingKey(wave, ics, "sample.csv") }
func mailingKey() string { return schemas.LandingKey(wave, ics, "mailing.csv") }

func run(n, runs int, dir, part, cpuProfile string) error {
	switch part {
	case "intake":
		return harness.Report(runIntake(dir))
	case "duckdb":
		return harness.Report(runDuckDB(dir))
	case "":
	default:
		return fmt.Errorf("unknown part %q", part)
	}
	dir, cleanup, err := harness.WorkDir(dir, "intake-bench-*")
	if err != nil {
		return err
	}
	defer cleanup()
	start := time.Now()
	sBytes, mBytes, err := generate(dir, n)
	if err != nil {
		return err
	}
	fmt.Printf("generated %d records in %.1fs: sample %.1f MiB, mailing %.1f MiB\n\n",
		n, time.Since(start).Seconds(), float64(sBytes)/(1<<20), float64(mBytes)/(1<<20))
	results, err := harness.Fastest[partResult](runs, []string{"intake", "duckdb"}, cpuProfile, func() (string, error) { return dir, nil })
	if err != nil {
		return err
	}
	harness.PrintTable(os.Stdout, harness.Measures(results)...)
	in, dd := results[0], results[1]
	fmt.Printf("\nrows are record pairs (a sample row and its mailing row); duckdb converts both CSV files to Parquet, unchecked\n")
	fmt.Printf("intake/duckdb ratio: %.2fx wall time (target 2x), %.2fx CPU time; intake accepted %d of %d\n",
		in.Seconds/dd.Seconds, in.CPU/dd.CPU, in.Accepted, in.Rows)
	return nil
}

func runIntake(dir string) (partResult, error) {
	st, err := store.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		return partResult{}, err
	}
	cfg := intake.Config{WaveID: wave, ICS: ics, SamplingDate: samplingDate, PseudonymKey: benchKey}
	start := time.Now()
	res, err := intake.Run(context.Background(), st, cfg, intake.Input{SampleKey: sampleKey(), MailingKey: mailingKey()})
	if err != nil {
		return partResult{}, err
	}
	return partResult{Measure: harness.Measure{Part: "intake", Rows: int64(res.RowsRead), Seconds: time.Since(start).Seconds()}, Accepted: int64(res.Accepted)}, nil
}

func runDuckDB(dir string) (partResult, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return partResult{}, err
	}
	defer db.Close()
	// Warm up the connection so its start-up is not timed.
	if _, err := db.Exec("SELECT 1"); err != nil {
		return partResult{}, err
	}
	var (
		rows int64
		secs float64
	)
	for _, f := range []struct{ key, out string }{{sampleKey(), "duckdb-sample.parquet"}, {mailingKey(), "duckdb-mailing.parquet"}} {
		in := filepath.Join(dir, "store", filepath.FromSlash(f.key))
		out := filepath.Join(dir, f.out)
		q := fmt.Sprintf("COPY (SELECT * FROM read_csv('%s')) TO '%s' (FORMAT parquet)",
			strings.ReplaceAll(in, "'", "''"), strings.ReplaceAll(out, "'", "''"))
		start := time.Now()
		res, err := db.Exec(q)
		if err != nil {
			return partResult{}, err
		}
		secs += time.Since(start).Seconds()
		n, err := res.RowsAffected()
		if err != nil {
			return partResult{}, err
		}
		if f.key == sampleKey() {
			rows = n
		}
	}
	return partResult{Measure: harness.Measure{Part: "duckdb", Rows: rows, Seconds: secs}}, nil
}

// ---------------------------------------------------------------------------------
// Generator

var (
	outwards = []string{"NR1", "NR2", "NR3", "NR4", "NR5", "NR6", "NR7", "NR8", "NR9", "NR10", "NR11", "NR12", "NR13",
		"NR14", "NR15", "NR16", "NR17", "NR18", "NR19", "NR20", "NR21", "NR22", "NR23", "NR24", "NR25", "NR26", "NR27",
		"NR28", "NR29", "NR30", "NR31", "NR32", "NR33", "NR34", "NR35", "IP19", "IP20", "IP21", "IP22", "IP24", "IP25",
		"IP26", "PE30", "PE31", "PE32", "PE33", "PE34", "PE35", "PE36", "PE37", "PE38"}
	inwardLetters = "ABDEFGHJLNPQRSTUWXYZ"
	firstNames    = []string{"Ann", "Brian", "Carol", "David", "Eileen", "Frank", "Grace", "Harold", "Irene", "John", "Kathleen", "Leonard", "Margaret", "Norman", "Olive", "Peter", "Zoë", "Siobhán"}
	lastNames     = []string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright", "O'Brien", "Khan", "Lewis", "Walker", "Hughes", "Green"}
	streets       = []string{"High Street", "Church Lane", "Mill Road", "Station Road", "The Street", "Norwich Road", "Green Lane", "Manor Close"}
	towns         = []string{"Norwich", "Great Yarmouth", "Lowestoft", "King's Lynn", "Thetford", "Dereham", "Diss", "Cromer", "Wymondham"}
	ethnicities   = []string{"A", "A", "A", "A", "A", "A", "A", "A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99"}
)

// generate writes the sample and mailing CSV files of n records into the store under dir.
func generate(dir string, n int) (sampleBytes, mailingBytes int64, err error) {
	// Where intake reads them: the restricted landing area (the keys, not a path by hand).
	sampleFile := filepath.Join(dir, "store", filepath.FromSlash(sampleKey()))
	mailingFile := filepath.Join(dir, "store", filepath.FromSlash(mailingKey()))
	if err := os.MkdirAll(filepath.Dir(sampleFile), 0o750); err != nil {
		return 0, 0, err
	}
	sf, err := os.Create(sampleFile)
	if err != nil {
		return 0, 0, err
	}
	defer sf.Close()
	mf, err := os.Create(mailingFile)
	if err != nil {
		return 0, 0, err
	}
	defer mf.Close()
	sw, mw := bufio.NewWriterSize(sf, 1<<20), bufio.NewWriterSize(mf, 1<<20)
	sw.WriteString("RECORD_ID,NHS_NUMBER,POSTCODE,AGE,DATE_OF_BIRTH,GENDER,ETHNICITY,GP_PRACTICE_CODE,ICS_CODE,REGISTRATION_DATE,EFI_SCORE,TYPE1_OPT_OUT,DISSENT\n")
	mw.WriteString("RECORD_ID,TITLE,FIRST_NAME,LAST_NAME,ADDRESS_1,ADDRESS_2,ADDRESS_3,ADDRESS_4,ADDRESS_5,POSTCODE,MOBILE\n")
	rng := rand.New(rand.NewPCG(42, 2026))
	nhsBase := 400000000
	var b []byte
	for i := 0; i < n; i++ {
		id := "R" + strconv.Itoa(1000000+i)
		// NHS number: the next nine digits with a valid check digit.
		var nhs string
		for {
			nhsBase++
			s := strconv.Itoa(nhsBase)
			if d, ok := codes.NHSCheckDigit(s); ok {
				nhs = s + strconv.Itoa(d)
				break
			}
		}
		pc := outwards[rng.IntN(len(outwards))] + " " + strconv.Itoa(rng.IntN(10)) +
			string(inwardLetters[rng.IntN(len(inwardLetters))]) + string(inwardLetters[rng.IntN(len(inwardLetters))])
		age := 65 + rng.IntN(35)
		if rng.IntN(10) == 0 {
			age = 18 + rng.IntN(47)
		}
		dob := samplingDate.AddDate(-age-1, 0, 1+rng.IntN(364))
		age = codes.AgeAt(dob, samplingDate)
		reg := samplingDate.AddDate(-1-rng.IntN(30), -rng.IntN(12), -rng.IntN(28))
		deficits := 9 + rng.IntN(20) // mostly moderate or severe
		if rng.IntN(100) < 6 {
			deficits = rng.IntN(9) // some fit or mild
		}
		efi := float64(deficits) / 36
		type1, dissent := "N", ""
		if rng.IntN(100) == 0 {
			type1 = "Y"
		}
		if rng.IntN(200) == 0 {
			dissent = "Y"
		}
		gender := "1"
		if rng.IntN(100) < 55 {
			gender = "2"
		}
		samplePC := pc
		if rng.IntN(500) == 0 {
			samplePC = "QQ1 1AA" // an invalid postcode: rejected
		}
		b = b[:0]
		b = append(b, id...)
		b = append(b, ',')
		b = append(b, nhs...)
		b = append(b, ',')
		b = append(b, samplePC...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(age), 10)
		b = append(b, ',')
		b = dob.AppendFormat(b, "20060102")
		b = append(b, ',')
		b = append(b, gender...)
		b = append(b, ',')
		b = append(b, ethnicities[rng.IntN(len(ethnicities))]...)
		b = append(b, ",D8"...)
		b = append(b, fmt.Sprintf("%04d", rng.IntN(120))...)
		b = append(b, ',')
		b = append(b, ics...)
		b = append(b, ',')
		b = reg.AppendFormat(b, "20060102")
		b = append(b, ',')
		b = strconv.AppendFloat(b, efi, 'f', 4, 64)
		b = append(b, ',')
		b = append(b, type1...)
		b = append(b, ',')
		b = append(b, dissent...)
		b = append(b, '\n')
		sw.Write(b)

		b = b[:0]
		b = append(b, id...)
		b = append(b, ",Mx,"...)
		b = append(b, firstNames[rng.IntN(len(firstNames))]...)
		b = append(b, ',')
		b = append(b, lastNames[rng.IntN(len(lastNames))]...)
		b = append(b, ',')
		if rng.IntN(10) == 0 {
			b = append(b, `"Flat `...)
			b = strconv.AppendInt(b, int64(1+rng.IntN(20)), 10)
			b = append(b, `, The Maltings"`...)
		} else {
			b = strconv.AppendInt(b, int64(1+rng.IntN(200)), 10)
			b = append(b, ' ')
			b = append(b, streets[rng.IntN(len(streets))]...)
		}
		b = append(b, ',')
		b = append(b, towns[rng.IntN(len(towns))]...)
		b = append(b, ",Norfolk,,,"...)
		b = append(b, pc...)
		b = append(b, ',')
		if rng.IntN(100) < 70 {
			b = append(b, "07700 "...)
			b = strconv.AppendInt(b, int64(100000+rng.IntN(900000)), 10)
		}
		b = append(b, '\n')
		mw.Write(b)
	}
	if err := sw.Flush(); err != nil {
		return 0, 0, err
	}
	if err := mw.Flush(); err != nil {
		return 0, 0, err
	}
	si, err := sf.Stat()
	if err != nil {
		return 0, 0, err
	}
	mi, err := mf.Stat()
	if err != nil {
		return 0, 0, err
	}
	return si.Size(), mi.Size(), nil
}
