//go:build !production

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/internal/idscan"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The identifiers the retention test searches for (internal/idscan) in everything a
// wave leaves behind: the store, the warehouse, the logs and the audit trail.

// inputIdentifiers reads the NHS numbers of the sample files and the names, first
// address lines and mobile numbers of the mailing files (as staged in the store), in
// the forms they may take downstream: NHS numbers plain and spaced, mobiles as
// written, digits only and in +44 form, names in full and (when distinctive) the
// surname alone.
// methodEponyms are surnames the pipeline's own method texts name (a release's
// metadata cites "Wilson score intervals"): alone, such a surname in the output is the
// method, not a person; the person's full name is still searched for.
var methodEponyms = map[string]bool{"Wilson": true, "Krippendorff": true, "Cohen": true}

func inputIdentifiers(t *testing.T, ctx context.Context, st store.Store, files []string) []idscan.Needle {
	t.Helper()
	seen := map[string]bool{}
	var out []idscan.Needle
	add := func(kind, s string) {
		s = strings.TrimSpace(s)
		if len(s) < 5 || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, idscan.Needle{Text: s, Kind: kind})
	}
	for _, key := range files {
		b, err := store.ReadAll(ctx, st, key)
		if err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord, r.LazyQuotes = -1, true
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[strings.ToUpper(strings.TrimSpace(h))] = i
		}
		get := func(row []string, name string) string {
			if i, ok := col[name]; ok && i < len(row) {
				return strings.TrimSpace(row[i])
			}
			return ""
		}
		for _, row := range rows[1:] {
			if nhs := get(row, "NHS_NUMBER"); nhs != "" {
				digits := onlyDigits(nhs)
				add("NHS number", digits)
				if len(digits) == 10 {
					add("NHS number", digits[:3]+" "+digits[3:6]+" "+digits[6:])
				}
			}
			first, last := get(row, "FIRST_NAME"), get(row, "LAST_NAME")
			if first != "" && last != "" {
				add("name", first+" "+last)
			}
			if len(last) >= 6 && !methodEponyms[last] {
				add("surname", last)
			}
			add("first address line", get(row, "ADDRESS_1"))
			if m := get(row, "MOBILE"); m != "" {
				add("mobile", m)
				d := onlyDigits(m)
				if len(d) >= 10 {
					add("mobile", d)
					if strings.HasPrefix(d, "0") {
						add("mobile", "+44"+d[1:])
					}
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no identifiers read from %v", files)
	}
	return out
}

func onlyDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// The search can fail: an identifier deliberately kept in the restricted area, in a
// Parquet object, in a log and in a database table is found; the same identifiers in
// the free-text area, or inside a longer number or name, are not.
func TestIdentifierSearchFindsWhatIsKept(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mailing := schemas.LandingKey("w", "QMM", "mailing.csv")
	sample := schemas.LandingKey("w", "QMM", "sample.csv")
	put := func(k, body string) {
		if err := store.PutBytes(ctx, st, k, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	put(sample, "RECORD_ID,NHS_NUMBER\n1,9434765919\n2,9434765870\n")
	put(mailing, "RECORD_ID,FIRST_NAME,LAST_NAME,ADDRESS_1,MOBILE\n1,Ann,Greenhalgh,12 Mill Lane,07700 900123\n")
	needles := inputIdentifiers(t, ctx, st, []string{sample, mailing})

	// What a faulty retention might leave: a kept contacts object, a Parquet file.
	put(schemas.ContactsKey("w", "QMM")+".csv", "survey_record_id,mobile\nS1,+447700900123\n")
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	pq := filepath.Join(st.Root(), filepath.FromSlash(schemas.SampleKey("w", "QMM")))
	if err := os.MkdirAll(filepath.Dir(pq), 0o750); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`COPY (SELECT 'S1' AS id, '12 Mill Lane' AS line UNION ALL SELECT 'S2', 'x') TO '%s' (FORMAT parquet, COMPRESSION zstd)`, pq)); err != nil {
		t.Fatal(err)
	}
	// Free text is the one place they may stay; a longer number is not an NHS number.
	put(schemas.FreeTextKey("w", "QMM", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), "abcdef0123456789"), "Ann Greenhalgh was kind")
	put(schemas.AreaReports.Prefix()+"w/QMM/other.json", `{"id":"194347659190","name":"Greenhalghs"}`)

	s := idscan.NewScanner(needles)
	s.Store(t, ctx, st, func(k string) bool {
		return strings.HasPrefix(k, schemas.AreaFreeText.Prefix()) || k == sample || k == mailing
	})
	logs := t.TempDir()
	if err := os.WriteFile(filepath.Join(logs, "worker.log"), []byte("level=INFO msg=sent to=943 476 5870\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	s.Files(t, logs, func(string) bool { return false })
	if _, err := db.ExecContext(ctx, `CREATE TABLE contacts AS SELECT 'Ann Greenhalgh' AS name, 42 AS n`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Database(ctx, db, "warehouse"); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.Report(), "\n")
	for _, want := range []string{
		`store restricted/w/QMM/contacts.parquet.csv: mobile "+447700900123"`,
		`store lake/sample/wave=w/ics=QMM/sample.parquet: first address line "12 Mill Lane"`,
		`file worker.log: NHS number "943 476 5870"`,
		`warehouse table contacts: name "Ann Greenhalgh"`,
		`warehouse table contacts: surname "Greenhalgh"`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("not found: %s", want)
		}
	}
	if strings.Contains(got, "free-text") || strings.Contains(got, "reports/") {
		t.Errorf("found where it must not:\n%s", got)
	}
	if len(s.Report()) != 5 {
		t.Errorf("findings:\n%s", got)
	}
}
