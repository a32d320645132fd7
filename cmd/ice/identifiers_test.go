//go:build !production

package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"icesurvey/schemas"
	"icesurvey/store"
)

// The search for identifiable data that the retention test runs over everything a
// wave leaves behind: the store, the warehouse, the logs and the audit trail.

// needle is one identifier of one input row.
type needle struct {
	text, kind string
}

// finding is where an identifier was found.
type finding struct {
	where, kind, text string
}

func (f finding) String() string { return fmt.Sprintf("%s: %s %q", f.where, f.kind, f.text) }

// inputIdentifiers reads the NHS numbers of the sample files and the names, first
// address lines and mobile numbers of the mailing files (as staged in the store), in
// the forms they may take downstream: NHS numbers plain and spaced, mobiles as
// written, digits only and in +44 form, names in full and (when distinctive) the
// surname alone.
// methodEponyms are surnames the pipeline's own method texts name (a release's
// metadata cites "Wilson score intervals"): alone, such a surname in the output is the
// method, not a person; the person's full name is still searched for.
var methodEponyms = map[string]bool{"Wilson": true, "Krippendorff": true, "Cohen": true}

func inputIdentifiers(t *testing.T, ctx context.Context, st store.Store, files []string) []needle {
	t.Helper()
	seen := map[string]bool{}
	var out []needle
	add := func(kind, s string) {
		s = strings.TrimSpace(s)
		if len(s) < 5 || seen[s] {
			return
		}
		seen[s] = true
		out = append(out, needle{text: s, kind: kind})
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

// matcher finds needles in text (Aho–Corasick), each only where it stands as a whole
// word: not inside a longer number or name.
type matcher struct {
	next  []map[byte]int
	fail  []int
	out   [][]int
	words []needle
}

func newMatcher(words []needle) *matcher {
	m := &matcher{next: []map[byte]int{{}}, fail: []int{0}, out: [][]int{nil}, words: words}
	for i, w := range words {
		s := 0
		for j := 0; j < len(w.text); j++ {
			c := w.text[j]
			n, ok := m.next[s][c]
			if !ok {
				n = len(m.next)
				m.next = append(m.next, map[byte]int{})
				m.fail = append(m.fail, 0)
				m.out = append(m.out, nil)
				m.next[s][c] = n
			}
			s = n
		}
		m.out[s] = append(m.out[s], i)
	}
	var queue []int
	for _, n := range m.next[0] {
		queue = append(queue, n)
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for c, n := range m.next[s] {
			queue = append(queue, n)
			f := m.fail[s]
			for f != 0 {
				if _, ok := m.next[f][c]; ok {
					break
				}
				f = m.fail[f]
			}
			if g, ok := m.next[f][c]; ok && g != n {
				m.fail[n] = g
			}
			m.out[n] = append(m.out[n], m.out[m.fail[n]]...)
		}
	}
	return m
}

func wordByte(b []byte, i int) bool {
	if i < 0 || i >= len(b) {
		return false
	}
	r, _ := utf8.DecodeRune(b[i:])
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// find returns the needles found in b, each once.
func (m *matcher) find(b []byte) []needle {
	var found []needle
	hit := map[int]bool{}
	s := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		for s != 0 {
			if _, ok := m.next[s][c]; ok {
				break
			}
			s = m.fail[s]
		}
		if n, ok := m.next[s][c]; ok {
			s = n
		}
		for _, w := range m.out[s] {
			start := i + 1 - len(m.words[w].text)
			if hit[w] || wordByte(b, start-1) && wordByte(b, start) || wordByte(b, i+1) && wordByte(b, i) {
				continue
			}
			hit[w] = true
			found = append(found, m.words[w])
		}
	}
	return found
}

// scanner collects findings from everywhere it is pointed at.
type scanner struct {
	m        *matcher
	mu       sync.Mutex
	findings []finding
}

func newScanner(needles []needle) *scanner { return &scanner{m: newMatcher(needles)} }

func (s *scanner) bytes(where string, b []byte) {
	for _, n := range s.m.find(b) {
		s.mu.Lock()
		s.findings = append(s.findings, finding{where: where, kind: n.kind, text: n.text})
		s.mu.Unlock()
	}
}

// rows scans every value of every row a query returns, as text.
func (s *scanner) rows(ctx context.Context, db *sql.DB, where, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var buf bytes.Buffer
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				buf.Write(b)
			} else {
				fmt.Fprint(&buf, v)
			}
			buf.WriteByte('\t')
		}
		buf.WriteByte('\n')
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	s.bytes(where, buf.Bytes())
	return nil
}

// store scans every object of a file store but those skip names: Parquet objects
// through DuckDB (their pages are compressed), every other object as it is. It
// returns the keys it scanned.
func (s *scanner) store(t *testing.T, ctx context.Context, st *store.FileStore, skip func(key string) bool) []string {
	t.Helper()
	infos, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var scanned []string
	for _, inf := range infos {
		if skip(inf.Key) {
			continue
		}
		// An object deleted since the listing (an audit batch compacted) holds nothing now.
		if _, err := st.Stat(ctx, inf.Key); errors.Is(err, store.ErrNotExist) {
			continue
		}
		scanned = append(scanned, inf.Key)
		where := "store " + inf.Key
		if schemas.IsParquet(inf.Key) {
			if err := s.rows(ctx, db, where, "SELECT * FROM read_parquet(?)", filepath.Join(st.Root(), filepath.FromSlash(inf.Key))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := store.ReadAll(ctx, st, inf.Key)
		if err != nil {
			t.Fatal(err)
		}
		s.bytes(where, b)
	}
	return scanned
}

// database scans every column of every table of a DuckDB database.
func (s *scanner) database(ctx context.Context, db *sql.DB, name string) (tables int, err error) {
	rows, err := db.QueryContext(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' ORDER BY ALL`)
	if err != nil {
		return 0, err
	}
	var names [][2]string
	for rows.Next() {
		var n [2]string
		if err := rows.Scan(&n[0], &n[1]); err != nil {
			rows.Close()
			return 0, err
		}
		names = append(names, n)
	}
	rows.Close()
	for _, n := range names {
		q := fmt.Sprintf(`SELECT * FROM %q.%q`, n[0], n[1])
		if err := s.rows(ctx, db, name+" table "+n[1], q); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// files scans every file under dir but those skip names, as bytes.
func (s *scanner) files(t *testing.T, dir string, skip func(rel string) bool) []string {
	t.Helper()
	var scanned []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && skip(rel+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if skip(rel) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		scanned = append(scanned, rel)
		s.bytes("file "+rel, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return scanned
}

func (s *scanner) report() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.findings))
	for i, f := range s.findings {
		out[i] = f.String()
	}
	sort.Strings(out)
	return out
}

// syncBuffer is a log sink safe for the stack's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
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

	s := newScanner(needles)
	s.store(t, ctx, st, func(k string) bool {
		return strings.HasPrefix(k, schemas.AreaFreeText.Prefix()) || k == sample || k == mailing
	})
	logs := t.TempDir()
	if err := os.WriteFile(filepath.Join(logs, "worker.log"), []byte("level=INFO msg=sent to=943 476 5870\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	s.files(t, logs, func(string) bool { return false })
	if _, err := db.ExecContext(ctx, `CREATE TABLE contacts AS SELECT 'Ann Greenhalgh' AS name, 42 AS n`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.database(ctx, db, "warehouse"); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(s.report(), "\n")
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
	if len(s.report()) != 5 {
		t.Errorf("findings:\n%s", got)
	}
}
