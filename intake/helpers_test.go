package intake

import (
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"icesurvey/codes"
	"icesurvey/store"
)

var (
	testKey      = []byte("test-key-0123456789abcdef-0123456789")
	testSampling = time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
)

var sampleHeader = []string{"RECORD_ID", "NHS_NUMBER", "POSTCODE", "AGE", "DATE_OF_BIRTH", "GENDER", "ETHNICITY",
	"GP_PRACTICE_CODE", "ICS_CODE", "REGISTRATION_DATE", "EFI_SCORE", "TYPE1_OPT_OUT", "DISSENT"}

var mailingHeader = []string{"RECORD_ID", "TITLE", "FIRST_NAME", "LAST_NAME", "ADDRESS_1", "ADDRESS_2", "ADDRESS_3",
	"ADDRESS_4", "ADDRESS_5", "POSTCODE", "MOBILE"}

var testPostcodes = []string{"NR1 3QU", "NR2 4SG", "IP22 4LW", "NR30 1BH", "PE30 1EX"}

// nhsNumber returns the i-th valid test NHS number.
func nhsNumber(i int) string {
	for base := 400000000 + i*7; ; base++ {
		s := strconv.Itoa(base)
		if d, ok := codes.NHSCheckDigit(s); ok {
			return s + strconv.Itoa(d)
		}
	}
}

type row map[string]string

func goodSample(i int) row {
	return row{
		"RECORD_ID": fmt.Sprintf("R%05d", i), "NHS_NUMBER": nhsNumber(i), "POSTCODE": testPostcodes[i%len(testPostcodes)],
		"AGE": "85", "DATE_OF_BIRTH": "19400310", "GENDER": []string{"1", "2"}[i%2], "ETHNICITY": []string{"A", "H", "99"}[i%3],
		"GP_PRACTICE_CODE": []string{"D82001", "D82002"}[i%2], "ICS_CODE": "QMM", "REGISTRATION_DATE": "20100401",
		"EFI_SCORE": "0.3", "TYPE1_OPT_OUT": "N", "DISSENT": "",
	}
}

func goodMailing(i int) row {
	return row{
		"RECORD_ID": fmt.Sprintf("R%05d", i), "TITLE": "Mrs", "FIRST_NAME": "Ann", "LAST_NAME": fmt.Sprintf("Surname%d", i),
		"ADDRESS_1": fmt.Sprintf("%d High Street", i+1), "ADDRESS_2": "Norwich", "ADDRESS_3": "", "ADDRESS_4": "", "ADDRESS_5": "",
		"POSTCODE": testPostcodes[i%len(testPostcodes)], "MOBILE": "07700 900" + fmt.Sprintf("%03d", i%1000),
	}
}

func goodRows(n int) (sample, mailing []row) {
	for i := 0; i < n; i++ {
		sample = append(sample, goodSample(i))
		mailing = append(mailing, goodMailing(i))
	}
	return sample, mailing
}

func csvText(cols []string, rows []row) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(cols)
	for _, r := range rows {
		rec := make([]string, len(cols))
		for i, c := range cols {
			rec[i] = r[c]
		}
		w.Write(rec)
	}
	w.Flush()
	return b.String()
}

func newStore(t *testing.T) *store.FileStore {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func put(t *testing.T, st store.Store, key, text string) {
	t.Helper()
	if err := store.PutBytes(context.Background(), st, key, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

func testConfig() Config {
	return Config{WaveID: "2026-P1", ICS: "QMM", SamplingDate: testSampling, MinEligible: 1, PseudonymKey: testKey}
}

const (
	sampleKey  = "landing/2026-P1/QMM/sample.csv"
	mailingKey = "landing/2026-P1/QMM/mailing.csv"
	reportKey  = "landing/2026-P1/QMM/rejections.csv"
)

// runPair writes the two files and runs the intake.
func runPair(t *testing.T, st store.Store, sample, mailing []row) (*Result, error) {
	t.Helper()
	put(t, st, sampleKey, csvText(sampleHeader, sample))
	put(t, st, mailingKey, csvText(mailingHeader, mailing))
	return Run(context.Background(), st, testConfig(), Input{SampleKey: sampleKey, MailingKey: mailingKey})
}

// reportLines reads the rejection report.
func reportLines(t *testing.T, st store.Store) []map[string]string {
	t.Helper()
	b, err := store.ReadAll(context.Background(), st, reportKey)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	if err != nil {
		t.Fatalf("report is not CSV: %v", err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, c := range recs[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}
