// Package idscan is the search for identifiable data that the privacy tests run over
// what the pipeline leaves behind (store objects, Parquet files, warehouse tables,
// logs). It has two ways to look:
//
//   - Tokens, for identifiers of one fixed shape (NHS numbers, project and release
//     pseudonyms): every run of letters and digits of a text, compared in lower case
//     with a set.
//   - Matcher and Scanner, for the identifiers of input rows in any form (names,
//     addresses, spaced numbers): each needle found where it stands as a whole word.
//
// It is imported by tests only.
package idscan

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/internal/duckmem"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Tokens returns the runs of ASCII letters and digits of text that are in forbidden,
// compared in lower case (so forbidden holds lower-case tokens), in the order found.
func Tokens(text string, forbidden map[string]bool) []string {
	var found []string
	start := -1
	for i := 0; i <= len(text); i++ {
		alnum := i < len(text) && (text[i] >= '0' && text[i] <= '9' || text[i] >= 'a' && text[i] <= 'z' || text[i] >= 'A' && text[i] <= 'Z')
		switch {
		case alnum && start < 0:
			start = i
		case !alnum && start >= 0:
			if tok := strings.ToLower(text[start:i]); forbidden[tok] {
				found = append(found, tok)
			}
			start = -1
		}
	}
	return found
}

// ParquetText is every value of every column of a Parquet file as text, a line each,
// with the column names: what a reader of the file can see once it is decompressed.
func ParquetText(t testing.TB, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	var b strings.Builder
	for i := 0; i < int(tbl.NumCols()); i++ {
		col := tbl.Column(i)
		b.WriteString(col.Name() + "\n")
		for _, chunk := range col.Data().Chunks() {
			for r := 0; r < chunk.Len(); r++ {
				b.WriteString(chunk.ValueStr(r))
				b.WriteByte('\n')
			}
		}
	}
	return b.String()
}

// VarcharColumns passes each VARCHAR column of db, as "warehouse table.column", with
// its non-null values a line each, to check. where, when not empty, is an SQL condition
// on information_schema.columns (table_name, column_name) choosing the columns.
func VarcharColumns(ctx context.Context, db *sql.DB, where string, check func(column, text string)) error {
	q := `SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'`
	if where != "" {
		q += " AND (" + where + ")"
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return fmt.Errorf("listing the VARCHAR columns: %w", err)
	}
	var cols [][2]string
	for rows.Next() {
		var c [2]string
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range cols {
		r, err := db.QueryContext(ctx, fmt.Sprintf(`SELECT %s FROM %s WHERE %[1]s IS NOT NULL`, schemas.QuoteIdent(c[1]), schemas.QuoteIdent(c[0])))
		if err != nil {
			return fmt.Errorf("reading %s.%s: %w", c[0], c[1], err)
		}
		var b strings.Builder
		for r.Next() {
			var s string
			if err := r.Scan(&s); err != nil {
				r.Close()
				return fmt.Errorf("reading %s.%s: %w", c[0], c[1], err)
			}
			b.WriteString(s + "\n")
		}
		r.Close()
		if err := r.Err(); err != nil {
			return fmt.Errorf("reading %s.%s: %w", c[0], c[1], err)
		}
		check("warehouse "+c[0]+"."+c[1], b.String())
	}
	return nil
}

// Needle is one identifier of one input row, in one of the forms it may take.
type Needle struct {
	Text, Kind string
}

// Finding is where an identifier was found.
type Finding struct {
	Where, Kind, Text string
}

func (f Finding) String() string { return fmt.Sprintf("%s: %s %q", f.Where, f.Kind, f.Text) }

// Matcher finds needles in text (Aho–Corasick), each only where it stands as a whole
// word: not inside a longer number or name.
type Matcher struct {
	next  []map[byte]int
	fail  []int
	out   [][]int
	words []Needle
}

// NewMatcher builds the matcher of words.
func NewMatcher(words []Needle) *Matcher {
	m := &Matcher{next: []map[byte]int{{}}, fail: []int{0}, out: [][]int{nil}, words: words}
	for i, w := range words {
		s := 0
		for j := 0; j < len(w.Text); j++ {
			c := w.Text[j]
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

// Find returns the needles found in b, each once.
func (m *Matcher) Find(b []byte) []Needle {
	var found []Needle
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
			start := i + 1 - len(m.words[w].Text)
			if hit[w] || wordByte(b, start-1) && wordByte(b, start) || wordByte(b, i+1) && wordByte(b, i) {
				continue
			}
			hit[w] = true
			found = append(found, m.words[w])
		}
	}
	return found
}

// Scanner collects findings from everywhere it is pointed at; safe for concurrent use.
type Scanner struct {
	m        *Matcher
	mu       sync.Mutex
	findings []Finding
}

// NewScanner returns a scanner for needles.
func NewScanner(needles []Needle) *Scanner { return &Scanner{m: NewMatcher(needles)} }

// Bytes scans b, found at where.
func (s *Scanner) Bytes(where string, b []byte) {
	for _, n := range s.m.Find(b) {
		s.mu.Lock()
		s.findings = append(s.findings, Finding{Where: where, Kind: n.Kind, Text: n.Text})
		s.mu.Unlock()
	}
}

// Rows scans every value of every row a query returns, as text.
func (s *Scanner) Rows(ctx context.Context, db *sql.DB, where, query string, args ...any) error {
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
	s.Bytes(where, buf.Bytes())
	return nil
}

// Store scans every object of a file store but those skip names: Parquet objects
// through DuckDB (their pages are compressed), every other object as it is. It
// returns the keys it scanned.
func (s *Scanner) Store(t testing.TB, ctx context.Context, st *store.FileStore, skip func(key string) bool) []string {
	t.Helper()
	infos, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	// The scan reads patients' (synthetic) data: it spills, if it must, to a private
	// directory removed after it, as the pipeline's own in-memory databases do.
	db, err := duckmem.Open("idscan")
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
			if err := s.Rows(ctx, db.DB, where, "SELECT * FROM read_parquet(?)", filepath.Join(st.Root(), filepath.FromSlash(inf.Key))); err != nil {
				t.Fatal(err)
			}
			continue
		}
		b, err := store.ReadAll(ctx, st, inf.Key)
		if err != nil {
			t.Fatal(err)
		}
		s.Bytes(where, b)
	}
	return scanned
}

// Database scans every column of every table of a DuckDB database, named name in the
// findings, and returns how many tables it scanned.
func (s *Scanner) Database(ctx context.Context, db *sql.DB, name string) (tables int, err error) {
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
		if err := s.Rows(ctx, db, name+" table "+n[1], q); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// Files scans every file under dir but those skip names (a directory's name ends in
// "/"), as bytes, and returns the paths it scanned, relative to dir.
func (s *Scanner) Files(t testing.TB, dir string, skip func(rel string) bool) []string {
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
		s.Bytes("file "+rel, b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return scanned
}

// Report is every finding so far, sorted.
func (s *Scanner) Report() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.findings))
	for i, f := range s.findings {
		out[i] = f.String()
	}
	sort.Strings(out)
	return out
}

// SyncBuffer is a log sink safe for many goroutines (a logger's, a stack's).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes is a copy of what was written so far.
func (b *SyncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// String is what was written so far.
func (b *SyncBuffer) String() string { return string(b.Bytes()) }
