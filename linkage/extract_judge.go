package linkage

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/duckdb/duckdb-go/v2"

	"icesurvey/codes"
	"icesurvey/internal/csvcell"
	"icesurvey/schemas"
	"icesurvey/store"
)

// An extract is judged in an in-memory DuckDB (the cohort's engine, shared by the
// wave's validations, each with its own temporary tables), so that ten million rows are
// checked by a vectorised engine rather than one Go call per value, with every rule of
// the definition applied as the Go validator before it did:
//
//   - A row whose key is a known project pseudonym of someone who may not be linked is
//     excluded on the key alone (judge): only how many there are, and whose keys they
//     were (for the share of known keys), is kept.
//   - A column whose values repeat (dates, codes, providers, diagnoses: a few thousand
//     distinct values in millions of rows) is judged once per distinct value, in Go, by
//     the same checks as always (judgeValue); the engine joins each row to its value's
//     verdict.
//   - The person key is judged in SQL once per distinct key (a few rows each): looked
//     up in the cohort, and its form checked (64 hex digits) when it is not found. The
//     rows are then joined to the verdicts of the keys judged in full.
//   - The record id, which hardly repeats, is judged in SQL: its pattern and code list
//     are SQL predicates. A record id checked by anything else is judged in Go like the
//     other columns.
//   - A repeated record is found by grouping on its id (or the whole row), so the
//     first is kept and each later one names it.
//
// The judged rows' verdicts are one compact table (base); the findings of rejected rows
// and the accepted rows are read from it, and the engine writes the lake objects as
// Parquet in the layouts' column order and types, sorted by row. The sort carries the
// row's person (p) and record id; its pseudonym and record key are found after it, by
// the engine's Go functions (engine_funcs.go).

// Column modes: how a definition column is judged.
const (
	judgeAbsent = iota // not in the file: empty in every row
	judgeValues        // each distinct value in Go
	judgeKey           // the person key, in SQL
	judgeRecord        // the record id's pattern and code list, in SQL
)

// colState is one definition column as the validator meets it in a file.
type colState struct {
	def       *ColumnDef
	src       int    // index in the file's columns; -1 when absent
	text      string // SQL giving the raw value as text ("" for NULL), over the file
	mode      int
	notBefore int // index in cols of the date this one may not precede; -1 when none
	match     func(string) bool
}

// finding is one reason a row is not accepted.
type finding struct {
	field, reason, msg string
}

// validator judges one extract and writes its outputs to temporary files.
type validator struct {
	cfg   ExtractConfig
	res   *ExtractResult
	file  string
	cols  []colState // in definition order
	width int        // fields in the header

	// role positions in cols (-1 when absent)
	person, record, start, end, typ, pod, provider int
	diags                                          []int
	byName                                         map[string]int // upper-case column name → cols index

	conn    *sql.Conn
	unshare func() // gives the validation's share of the engine's threads back (Cohort.share)
	dir     string // temporary directory of the engine's files

	malformed int64 // CSV rows that could not be split into the header's fields
}

func newValidator(ctx context.Context, cfg ExtractConfig, res *ExtractResult) (*validator, error) {
	d := cfg.Definition
	v := &validator{cfg: cfg, res: res, file: path.Base(res.Key), byName: map[string]int{},
		person: -1, record: -1, start: -1, end: -1, typ: -1, pod: -1, provider: -1}
	for i := range d.Columns {
		c := &d.Columns[i]
		v.cols = append(v.cols, colState{def: c, src: -1, notBefore: -1, match: patternMatcher(c.re)})
		v.byName[strings.ToUpper(c.Name)] = i
		switch c.Role {
		case RolePersonKey:
			v.person = i
		case RoleRecordID:
			v.record = i
		case RoleActivityDate:
			v.start = i
		case RoleEndDate:
			v.end = i
		case RoleActivityType:
			v.typ = i
		case RolePointOfDelivery:
			v.pod = i
		case RoleProvider:
			v.provider = i
		case RoleDiagnosis:
			v.diags = append(v.diags, i)
		}
	}
	for i := range v.cols {
		if nb := v.cols[i].def.NotBefore; nb != "" {
			v.cols[i].notBefore = v.byName[strings.ToUpper(nb)]
		}
	}
	if v.person < 0 || v.start < 0 || v.typ < 0 || v.provider < 0 {
		return nil, fmt.Errorf("linkage: definition %s lacks a person key, activity date, activity type or provider column", d.ID)
	}
	if k := v.cols[v.person].def; !k.Required || k.Check != CheckPseudonym || k.Pattern != "" || len(k.Values) > 0 || k.Type == TypeDate || k.Type == TypeInteger {
		return nil, fmt.Errorf("linkage: definition %s: the person key %s must be a required text column checked as a pseudonym, with no pattern or code list", d.ID, k.Name)
	}
	dir, err := os.MkdirTemp("", "ice-linkage-extract-*")
	if err != nil {
		return nil, err
	}
	v.dir = dir
	db, err := cfg.Cohort.engine()
	if err != nil {
		v.close()
		return nil, err
	}
	// The connection's tables and views are temporary: each validation has its own,
	// beside the cohort's table that they all share, and they go with the connection.
	if v.conn, err = db.Conn(ctx); err != nil {
		v.close()
		return nil, fmt.Errorf("linkage: open the validation engine: %w", err)
	}
	if v.unshare, err = cfg.Cohort.share(ctx, v.conn); err != nil {
		v.close()
		return nil, err
	}
	return v, nil
}

func (v *validator) close() {
	if v.unshare != nil {
		v.unshare()
	}
	if v.conn != nil {
		v.conn.Close()
	}
	if v.dir != "" {
		os.RemoveAll(v.dir)
	}
}

func (v *validator) exec(ctx context.Context, what, q string) error {
	if _, err := v.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("linkage: validate %s: %s: %w", v.res.Key, what, err)
	}
	return nil
}

// appendRows fills a temporary table through DuckDB's appender.
func (v *validator) appendRows(table string, fill func(a *duckdb.Appender) error) error {
	return appendTo(v.conn, "temp", table, fill)
}

// appendTo fills catalog's table through DuckDB's appender.
func appendTo(conn *sql.Conn, catalog, table string, fill func(a *duckdb.Appender) error) error {
	return conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), catalog, "main", table)
		if err != nil {
			return err
		}
		if err := fill(a); err != nil {
			a.Close()
			return err
		}
		return a.Close()
	})
}

// header maps the file's column names to the definition's (case-insensitively).
func (v *validator) header(names []string) error {
	v.width = len(names)
	seen := map[string]bool{}
	for j, raw := range names {
		n := strings.ToUpper(strings.TrimSpace(raw))
		if seen[n] {
			return &ExtractError{File: v.res.Key, Field: strings.TrimSpace(raw), Reason: ExtractHeaderDuplicate, Message: "the column appears twice in the header"}
		}
		seen[n] = true
		if i, ok := v.byName[n]; ok {
			v.cols[i].src = j
		} else {
			v.res.UnknownColumns = append(v.res.UnknownColumns, strings.TrimSpace(raw))
		}
	}
	// A column named like a direct identifier refuses the extract on its name: none of
	// its values is read.
	var identifiers []string
	for _, n := range v.res.UnknownColumns {
		if DirectIdentifierColumn(n) {
			identifiers = append(identifiers, n)
		}
	}
	if len(identifiers) > 0 {
		return &ExtractError{File: v.res.Key, Field: strings.Join(identifiers, ","), Reason: ExtractIdentifierColumn,
			Message: fmt.Sprintf("column(s) %s are named like direct identifiers (NHS number, date of birth, postcode, name, address): a linkage extract may carry none; the provider must send it again without them (no value of it was read)",
				strings.Join(identifiers, ", "))}
	}
	var missing []string
	for _, c := range v.cols {
		if c.src < 0 && c.def.Required {
			missing = append(missing, c.def.Name)
		}
	}
	if len(missing) > 0 {
		return &ExtractError{File: v.res.Key, Field: strings.Join(missing, ","), Reason: ExtractHeaderMissing,
			Message: fmt.Sprintf("required column(s) %s missing from the header (names are case-insensitive)", strings.Join(missing, ", "))}
	}
	for i := range v.cols {
		c := &v.cols[i]
		switch {
		case c.src < 0:
			c.mode = judgeAbsent
		case i == v.person:
			c.mode = judgeKey
		case i == v.record && c.def.Check == "" && c.def.Type != TypeDate && c.def.Type != TypeInteger:
			c.mode = judgeRecord
		default:
			c.mode = judgeValues
		}
	}
	return nil
}

// loadCSV reads a CSV extract into the engine as text, row by row: a row that cannot be
// split into the header's fields is rejected as malformed (and numbered like the rest).
func (v *validator) loadCSV(ctx context.Context, f *os.File) error {
	key := v.res.Key
	br := bufio.NewReaderSize(f, 256<<10)
	if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return &ExtractError{File: key, Reason: ExtractCSVMalformed, Message: "the header row cannot be read as CSV"}
	}
	if err := v.header(header); err != nil {
		return err
	}
	var cols []string
	for i := range v.cols {
		c := &v.cols[i]
		if c.src >= 0 {
			c.text = fmt.Sprintf("coalesce(r%d, '')", i)
			cols = append(cols, fmt.Sprintf("r%d VARCHAR", i))
		}
	}
	if err := v.exec(ctx, "load", "CREATE TEMP TABLE src (rn BIGINT, "+strings.Join(cols, ", ")+")"); err != nil {
		return err
	}
	if err := v.exec(ctx, "load", "CREATE TEMP TABLE malformed (rn BIGINT, msg VARCHAR)"); err != nil {
		return err
	}
	type bad struct {
		row int64
		msg string
	}
	var bads []bad
	var row int64
	badRun := 0
	err = v.appendRows("src", func(a *duckdb.Appender) error {
		vals := make([]driver.Value, 0, len(cols)+1)
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return nil
			}
			if row&0xFFF == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				var pe *csv.ParseError
				if !errors.As(err, &pe) {
					return fmt.Errorf("linkage: read %s: %w", key, err)
				}
				if badRun++; badRun > 100 {
					return &ExtractError{File: key, Row: row + 1, Reason: ExtractCSVMalformed, Message: "over 100 rows in a row cannot be read as CSV"}
				}
				row++
				bads = append(bads, bad{row, "the row cannot be read as CSV: " + pe.Err.Error()})
				continue
			}
			badRun = 0
			row++
			if len(rec) != v.width {
				bads = append(bads, bad{row, fmt.Sprintf("%d fields, the header has %d", len(rec), v.width)})
				continue
			}
			if field := notText(rec); field >= 0 {
				bads = append(bads, bad{row, fmt.Sprintf("field %d is not UTF-8 text", field+1)})
				continue
			}
			vals = append(vals[:0], row)
			for _, c := range v.cols {
				if c.src >= 0 {
					vals = append(vals, rec[c.src])
				}
			}
			if err := a.AppendRow(vals...); err != nil {
				return err
			}
		}
	})
	if err != nil {
		if IsExtractError(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		return fmt.Errorf("linkage: validate %s: load: %w", key, err)
	}
	v.malformed = int64(len(bads))
	return v.appendRows("malformed", func(a *duckdb.Appender) error {
		for _, b := range bads {
			if err := a.AppendRow(b.row, b.msg); err != nil {
				return err
			}
		}
		return nil
	})
}

// notText is the first field that is not UTF-8 text (or holds a NUL), or -1: the engine
// holds text only.
func notText(rec []string) int {
	for i, f := range rec {
		if !utf8.ValidString(f) || strings.IndexByte(f, 0) >= 0 {
			return i
		}
	}
	return -1
}

// judgeValue checks one trimmed value of column i on its own, as every row holding it
// is judged: its finding (if any) and, for a date, the date.
func (v *validator) judgeValue(i int, s string) (f *finding, d time.Time, ok bool) {
	c := v.cols[i]
	def := c.def
	if s == "" {
		if def.Required {
			return &finding{def.Name, ReasonValueMissing, message(def.Name, ReasonValueMissing)}, d, false
		}
		return nil, d, false
	}
	switch def.Type {
	case TypeDate:
		t, ok := ParseExtractDate(s)
		switch {
		case !ok:
			return &finding{def.Name, ReasonDateInvalid, def.Name + " is not a yyyy-mm-dd or yyyymmdd date"}, d, false
		case t.After(v.cfg.AsOf):
			return &finding{def.Name, ReasonDateInFuture, def.Name + " is after the extract's as-of date " + v.cfg.AsOf.Format(time.DateOnly)}, d, false
		case (!def.min.IsZero() && t.Before(def.min)) || (!def.max.IsZero() && t.After(def.max)):
			return &finding{def.Name, ReasonDateOutOfRange, fmt.Sprintf("%s is outside %s to %s", def.Name, orDash(def.MinDate), orDash(def.MaxDate))}, d, false
		}
		return nil, t, true
	case TypeInteger:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || (def.Min != nil && n < *def.Min) || (def.Max != nil && n > *def.Max) {
			return &finding{def.Name, ReasonIntegerInvalid, def.Name + " is not a whole number in its range"}, d, false
		}
		return nil, d, false
	}
	switch def.Check {
	case CheckPseudonym:
		if _, ok := NormalisePseudonym(s); !ok {
			return &finding{def.Name, ReasonPersonKeyInvalid, message(def.Name, ReasonPersonKeyInvalid)}, d, false
		}
	case CheckICD10:
		if _, _, _, ok := NormaliseICD10(s); !ok {
			return &finding{def.Name, ReasonICD10Invalid, def.Name + " is not an ICD-10 code"}, d, false
		}
	case CheckSNOMED:
		if !ValidSNOMEDConceptID(s) {
			return &finding{def.Name, ReasonSNOMEDInvalid, def.Name + " is not a SNOMED CT concept id (check digit, partition)"}, d, false
		}
	case CheckODS:
		if !ValidODSCode(s) {
			return &finding{def.Name, ReasonODSInvalid, def.Name + " is not an ODS code (3, 5 or 6 upper-case letters and digits)"}, d, false
		}
	case CheckODSPractice:
		if len(s) != 6 || s[0] < 'A' || s[0] > 'Z' || !allDigits(s[1:]) {
			return &finding{def.Name, ReasonODSInvalid, def.Name + " is not a GP practice code (a letter and five digits)"}, d, false
		}
	case CheckLACode:
		if !ValidLACode(s) {
			return &finding{def.Name, ReasonLACodeInvalid, def.Name + " is not an English local authority's ONS code"}, d, false
		}
	}
	if c.match != nil && !c.match(s) {
		return &finding{def.Name, ReasonPatternMismatch, message(def.Name, ReasonPatternMismatch)}, d, false
	}
	if len(def.Values) > 0 {
		if _, ok := def.Values[s]; !ok {
			return &finding{def.Name, ReasonCodeNotInList, message(def.Name, ReasonCodeNotInList)}, d, false
		}
	}
	return nil, d, false
}

// message is the text of a finding of one of the checks judged both in Go (judgeValue)
// and in SQL (the key and the record id), so that both say the same.
func message(column, reason string) string {
	switch reason {
	case ReasonValueMissing:
		return column + " is empty"
	case ReasonPersonKeyInvalid:
		return column + " is not a project pseudonym (64 hex digits)"
	case ReasonPatternMismatch:
		return column + " does not have the shape the definition requires"
	case ReasonCodeNotInList:
		return column + " is not one of the definition's codes"
	}
	panic("linkage: no message for " + reason)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// valuesTable judges every distinct value of column i and gives the engine the
// verdicts as table v{i}: the raw text, an id, the trimmed value, the finding's reason
// and message (NULL when none), the date, the canonical type (the activity type
// column) and the normalised code (diagnosis columns).
func (v *validator) valuesTable(ctx context.Context, i int) error {
	c := v.cols[i]
	t := fmt.Sprintf("v%d", i)
	if err := v.exec(ctx, c.def.Name, "CREATE TEMP TABLE "+t+
		" (raw VARCHAR, id INTEGER, s VARCHAR, reason VARCHAR, msg VARCHAR, d DATE, mapped VARCHAR, code VARCHAR, code3 VARCHAR, code4 VARCHAR)"); err != nil {
		return err
	}
	rows, err := v.conn.QueryContext(ctx, fmt.Sprintf("SELECT DISTINCT c%d FROM judged", i))
	if err != nil {
		return fmt.Errorf("linkage: validate %s: %s: %w", v.res.Key, c.def.Name, err)
	}
	var raws []string
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			rows.Close()
			return fmt.Errorf("linkage: validate %s: %s: %w", v.res.Key, c.def.Name, err)
		}
		raws = append(raws, raw)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("linkage: validate %s: %s: %w", v.res.Key, c.def.Name, err)
	}
	diag := c.def.Role == RoleDiagnosis
	return v.appendRows(t, func(a *duckdb.Appender) error {
		for id, raw := range raws {
			s := strings.TrimSpace(raw)
			f, d, ok := v.judgeValue(i, s)
			var reason, msg, date, mapped, code, code3, code4 any
			if f != nil {
				reason, msg = f.reason, f.msg
			}
			if ok {
				date = d
			}
			if i == v.typ && f == nil {
				mapped = c.def.Values[s]
			}
			if diag && f == nil && s != "" {
				code = s
				if c.def.Check == CheckICD10 {
					n, n3, n4, _ := NormaliseICD10(s)
					code, code3, code4 = n, n3, n4
				} else {
					code3, code4 = "", ""
				}
			}
			if err := a.AppendRow(raw, int32(id), s, reason, msg, date, mapped, code, code3, code4); err != nil {
				return err
			}
		}
		return nil
	})
}

// tr is the SQL trimming a column's text as strings.TrimSpace does. Trimming by a set
// of characters is slow in the engine (ten times a plain scan), and almost no value
// needs it: one that begins and ends with a printable ASCII character is left as it
// is, and only the others are trimmed.
func tr(text string) string {
	return fmt.Sprintf("CASE WHEN ascii(%[1]s) BETWEEN 33 AND 126 AND ascii(%[1]s[-1]) BETWEEN 33 AND 126 THEN %[1]s ELSE trim(%[1]s, %[2]s) END",
		text, sqlQuote(spaceChars()))
}

// judge finds every row's verdict and writes the outputs.
//
// A row about someone in the sample who may not be linked (their key is a known
// project pseudonym, and they did not consent or withdrew) is excluded on its key
// alone: nothing else in it is read, checked or kept. The data of people who did not
// consent is not examined, and most rows of an extract for the whole sample are theirs.
// Every other row (a consenter's, or one whose key is missing, malformed or unknown) is
// judged in full.
func (v *validator) judge(ctx context.Context) error {
	key := v.cols[v.person]
	// The keys are judged once each, not once per row: an extract holds a few rows for
	// each of a few hundred thousand keys. A key is looked up as it comes (keys are
	// written in lower case, with no spaces), and only a key not found so is trimmed,
	// lower-cased and looked up again. A key not found either way says, by its trimmed
	// text, whether it is missing, malformed or unknown; an unknown key's normalised form
	// is kept for the share of known keys.
	if err := v.exec(ctx, "person keys", "CREATE TEMP TABLE keys AS SELECT "+key.text+" AS key, count(*) AS n FROM src GROUP BY ALL"); err != nil {
		return v.unreadable(err)
	}
	tk := tr("key")
	wellFormed := fmt.Sprintf("length(%[1]s) = 64 AND regexp_full_match(%[1]s, '[0-9a-fA-F]{64}')", tk)
	if err := v.exec(ctx, "person keys", fmt.Sprintf(`CREATE TEMP TABLE jk AS
SELECT key, n, p, consented,
  CASE WHEN p IS NOT NULL THEN NULL WHEN %[1]s = '' THEN '%[2]s' WHEN %[3]s THEN '%[4]s' ELSE '%[5]s' END AS kreason,
  CASE WHEN p IS NULL AND %[3]s THEN nk END AS unk
FROM (SELECT s1.key, s1.n, s1.nk, coalesce(s1.p0, k1.p) AS p, coalesce(s1.consented0, k1.consented) AS consented
  FROM (SELECT s0.key, s0.n, CASE WHEN k0.p IS NULL THEN lower(%[1]s) END AS nk, k0.p AS p0, k0.consented AS consented0
    FROM keys s0 LEFT JOIN cohort k0 ON k0.k = s0.key) s1
  LEFT JOIN cohort k1 ON k1.k = s1.nk)`, tk, ReasonValueMissing, wellFormed, ReasonPersonKeyUnknown, ReasonPersonKeyInvalid)); err != nil {
		return err
	}
	// The record's identity: its id, or the whole row when the dataset has none.
	var recText string
	switch {
	case v.record >= 0 && v.cols[v.record].src >= 0:
		recText = tr(v.cols[v.record].text)
	case v.record < 0:
		var parts []string
		for _, c := range v.cols {
			if c.src >= 0 {
				parts = append(parts, tr(c.text))
			} else {
				parts = append(parts, "''")
			}
		}
		recText = "concat_ws(chr(0), " + strings.Join(parts, ", ") + ")"
	}
	var cols []string
	for i, c := range v.cols {
		if c.mode == judgeValues {
			cols = append(cols, fmt.Sprintf("%s AS c%d", c.text, i))
		}
	}
	if recText != "" {
		cols = append(cols, recText+" AS rec")
	}
	// The key itself is not kept: the person's index and the key's verdict stand for
	// it, and copying a 64-character key into every judged row costs more than the rest
	// of the row. Only the rows whose key is judged in full are read beyond their key.
	cols = append([]string{"src.rn", "j.p", "j.consented", "j.kreason"}, cols...)
	if err := v.exec(ctx, "judged rows", "CREATE TEMP TABLE judged AS SELECT "+strings.Join(cols, ", ")+
		" FROM src JOIN (SELECT key, p, consented, kreason FROM jk WHERE consented IS DISTINCT FROM FALSE) j ON j.key = "+key.text); err != nil {
		return v.unreadable(err)
	}
	for i, c := range v.cols {
		if c.mode == judgeValues {
			if err := v.valuesTable(ctx, i); err != nil {
				return err
			}
		}
	}
	if recText != "" {
		if err := v.exec(ctx, "repeated records",
			"CREATE TEMP TABLE dups AS SELECT rec, min(rn) AS first FROM judged WHERE rec <> '' GROUP BY rec HAVING count(*) > 1"); err != nil {
			return err
		}
	}

	var sel, joins, bad []string
	sel = append(sel, "s.rn", "s.p", "s.consented", "s.kreason")
	bad = append(bad, "(s.p IS NULL)::INTEGER")
	if v.record >= 0 && v.cols[v.record].mode == judgeRecord {
		c := v.cols[v.record]
		var w []string
		if c.def.Required {
			w = append(w, fmt.Sprintf("WHEN s.rec = '' THEN '%s'", ReasonValueMissing))
		} else {
			w = append(w, "WHEN s.rec = '' THEN NULL")
		}
		if c.def.Pattern != "" {
			w = append(w, fmt.Sprintf("WHEN NOT regexp_full_match(s.rec, %s) THEN '%s'", sqlQuote(c.def.Pattern), ReasonPatternMismatch))
		}
		if len(c.def.Values) > 0 {
			var codes []string
			for code := range c.def.Values {
				codes = append(codes, sqlQuote(code))
			}
			w = append(w, fmt.Sprintf("WHEN s.rec NOT IN (%s) THEN '%s'", strings.Join(codes, ", "), ReasonCodeNotInList))
		}
		sel = append(sel, "CASE "+strings.Join(w, " ")+" END AS rreason")
		bad = append(bad, "(rreason IS NOT NULL)::INTEGER")
	}
	for i, c := range v.cols {
		if c.mode != judgeValues {
			continue
		}
		joins = append(joins, fmt.Sprintf("LEFT JOIN v%d ON v%d.raw = s.c%d", i, i, i))
		sel = append(sel, fmt.Sprintf("v%d.id AS v%d", i, i))
		bad = append(bad, fmt.Sprintf("(v%d.reason IS NOT NULL)::INTEGER", i))
	}
	// Date order: both dates valid, and this one before the other or too long after.
	for i, c := range v.cols {
		if !v.ordered(i) {
			continue
		}
		j := c.notBefore
		late := "FALSE"
		if c.def.MaxDaysAfter > 0 {
			late = fmt.Sprintf("v%d.d - v%d.d > %d", i, j, c.def.MaxDaysAfter)
		}
		sel = append(sel, fmt.Sprintf("CASE WHEN v%d.d IS NULL OR v%d.d IS NULL THEN NULL WHEN v%d.d < v%d.d THEN '%s' WHEN %s THEN '%s' END AS o%d",
			i, j, i, j, ReasonEndBeforeStart, late, ReasonEndTooLate, i))
		bad = append(bad, fmt.Sprintf("(o%d IS NOT NULL)::INTEGER", i))
	}
	if recText != "" {
		joins = append(joins, "LEFT JOIN dups ON dups.rec = s.rec AND s.rn > dups.first")
		sel = append(sel, "s.rec", "dups.first AS dup_first")
		bad = append(bad, "(dups.first IS NOT NULL)::INTEGER")
	} else {
		sel = append(sel, "''::VARCHAR AS rec", "NULL::BIGINT AS dup_first")
	}
	sel = append(sel, "("+strings.Join(bad, " + ")+") AS nbad")
	base := fmt.Sprintf("CREATE TEMP TABLE base AS SELECT %s\nFROM judged s\n%s", strings.Join(sel, ",\n  "), strings.Join(joins, "\n"))
	if err := v.exec(ctx, "judge the rows", base); err != nil {
		return err
	}
	if err := v.exec(ctx, "judge the rows", "DROP TABLE judged"); err != nil {
		return err
	}
	return v.outputs(ctx)
}

// unreadable makes the engine's refusal of a Parquet extract's content (a string that
// is not UTF-8, a page that cannot be decoded) the refusal of the extract: the provider
// must send a readable file. The engine's message is not repeated: it may quote a
// value. Any other failure (memory, the disk) stays a failure of the validation.
func (v *validator) unreadable(err error) error {
	var de *duckdb.Error
	if v.res.Format == "parquet" && errors.As(err, &de) &&
		(de.Type == duckdb.ErrorTypeInvalidInput || de.Type == duckdb.ErrorTypeConversion || de.Type == duckdb.ErrorTypeSerialization) {
		return &ExtractError{File: v.res.Key, Reason: ExtractParquetUnreadable,
			Message: "a value cannot be read (text that is not UTF-8, or a corrupt page)"}
	}
	return err
}

// ordered reports whether column i is a date that may not precede another date column.
func (v *validator) ordered(i int) bool {
	c := v.cols[i]
	j := c.notBefore
	return j >= 0 && c.mode == judgeValues && v.cols[j].mode == judgeValues && c.def.Type == TypeDate && v.cols[j].def.Type == TypeDate
}

// outputs reads the findings, the accepted and the excluded rows out of the verdicts,
// counts and reconciles them, and writes the four outputs to the engine's directory.
func (v *validator) outputs(ctx context.Context) error {
	n := len(v.cols)
	key := v.cols[v.person].def.Name
	var branches []string
	branches = append(branches, fmt.Sprintf(`SELECT rn, %d AS ord, %s AS field, kreason AS reason,
  CASE kreason WHEN '%s' THEN %s ELSE %s END AS msg FROM base WHERE nbad > 0 AND kreason IN ('%s', '%s')`,
		v.person, sqlQuote(key), ReasonValueMissing, sqlQuote(message(key, ReasonValueMissing)), sqlQuote(message(key, ReasonPersonKeyInvalid)),
		ReasonValueMissing, ReasonPersonKeyInvalid))
	if v.record >= 0 && v.cols[v.record].mode == judgeRecord {
		name := v.cols[v.record].def.Name
		branches = append(branches, fmt.Sprintf(`SELECT rn, %d, %s, rreason,
  CASE rreason WHEN '%s' THEN %s WHEN '%s' THEN %s ELSE %s END FROM base WHERE nbad > 0 AND rreason IS NOT NULL`,
			v.record, sqlQuote(name), ReasonValueMissing, sqlQuote(message(name, ReasonValueMissing)),
			ReasonPatternMismatch, sqlQuote(message(name, ReasonPatternMismatch)),
			sqlQuote(message(name, ReasonCodeNotInList))))
	}
	for i, c := range v.cols {
		if c.mode != judgeValues {
			continue
		}
		branches = append(branches, fmt.Sprintf("SELECT b.rn, %d, %s, x.reason, x.msg FROM base b JOIN v%d x ON x.id = b.v%d WHERE b.nbad > 0 AND x.reason IS NOT NULL",
			i, sqlQuote(c.def.Name), i, i))
		if v.ordered(i) {
			branches = append(branches, fmt.Sprintf("SELECT rn, %d, %s, o%d, CASE o%d WHEN '%s' THEN %s ELSE %s END FROM base WHERE o%d IS NOT NULL",
				n+i, sqlQuote(c.def.Name), i, i, ReasonEndBeforeStart, sqlQuote(c.def.Name+" is before "+c.def.NotBefore),
				sqlQuote(fmt.Sprintf("%s is more than %d days after %s", c.def.Name, c.def.MaxDaysAfter, c.def.NotBefore)), i))
		}
	}
	branches = append(branches, fmt.Sprintf("SELECT rn, %d, %s, '%s', %s FROM base WHERE kreason = '%s'",
		2*n, sqlQuote(key), ReasonPersonKeyUnknown, sqlQuote("the person key is not a pseudonym of anyone in this wave's sample"), ReasonPersonKeyUnknown))
	recName := ""
	if v.record >= 0 {
		recName = v.cols[v.record].def.Name
	}
	branches = append(branches, fmt.Sprintf("SELECT rn, %d, %s, '%s', 'the record repeats row ' || dup_first FROM base WHERE dup_first IS NOT NULL",
		2*n+1, sqlQuote(recName), ReasonRecordDuplicate))
	if v.malformed > 0 {
		branches = append(branches, fmt.Sprintf("SELECT rn, -1, '', '%s', msg FROM malformed", ReasonRowMalformed))
	}
	if err := v.exec(ctx, "findings", "CREATE TEMP TABLE findings AS SELECT * FROM (\n"+strings.Join(branches, "\nUNION ALL\n")+"\n)"); err != nil {
		return err
	}

	// Counts, reconciled before anything is stored.
	r := v.res
	var inSource, inBase, badRows, findingRows, findings, unknown int64
	if err := v.conn.QueryRowContext(ctx, "SELECT count(*) FROM src").Scan(&inSource); err != nil {
		return fmt.Errorf("linkage: validate %s: count: %w", r.Key, err)
	}
	if err := v.conn.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (nbad > 0), count(*) FILTER (nbad = 0 AND consented),
  (SELECT coalesce(sum(n) FILTER (consented = FALSE), 0) FROM jk), (SELECT count(DISTINCT p) FROM jk), (SELECT count(DISTINCT unk) FROM jk) FROM base`).
		Scan(&inBase, &badRows, &r.Accepted, &r.Excluded, &r.KnownKeys, &unknown); err != nil {
		return fmt.Errorf("linkage: validate %s: count: %w", r.Key, err)
	}
	if inSource != inBase+r.Excluded {
		return fmt.Errorf("%w: %s: %d rows in the source, %d judged + %d excluded", ErrReconciliation, r.Key, inSource, inBase, r.Excluded)
	}
	if err := v.conn.QueryRowContext(ctx, "SELECT count(DISTINCT rn), count(*) FROM findings").Scan(&findingRows, &findings); err != nil {
		return fmt.Errorf("linkage: validate %s: count: %w", r.Key, err)
	}
	r.RowsRead = inBase + r.Excluded + v.malformed
	r.Rejected = badRows + v.malformed
	r.Findings = findings
	if r.Excluded > 0 {
		r.Findings++ // the line that counts them
	}
	if findingRows != r.Rejected {
		return fmt.Errorf("%w: %s: %d rows with findings, %d rejected", ErrReconciliation, r.Key, findingRows, r.Rejected)
	}
	rows, err := v.conn.QueryContext(ctx, "SELECT reason, count(*) FROM (SELECT arg_min(reason, ord) AS reason FROM findings GROUP BY rn) GROUP BY reason")
	if err != nil {
		return fmt.Errorf("linkage: validate %s: count: %w", r.Key, err)
	}
	for rows.Next() {
		var reason string
		var k int64
		if err := rows.Scan(&reason, &k); err != nil {
			rows.Close()
			return err
		}
		r.ByReason[reason] += k
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if r.Excluded > 0 {
		r.ByReason[ReasonNotLinkable] += r.Excluded
	}
	// A truncated or incomplete transfer: the manifest says how many rows were sent.
	if m := r.ManifestRows; m != nil && *m != r.RowsRead {
		return &ExtractError{File: r.Key, Field: "rows", Reason: ExtractRowCountMismatch,
			Message: fmt.Sprintf("the manifest says %d rows, the file holds %d: a truncated or incomplete transfer? the provider must send it again", *m, r.RowsRead)}
	}
	// The malformed keys (not empty, not 64 hex digits) count among the distinct keys, so
	// that an extract keyed mostly by something else is refused even when a few of its
	// keys are pseudonyms; one that is a valid NHS number refuses the extract outright.
	tk := tr("key")
	if err := v.conn.QueryRowContext(ctx, fmt.Sprintf("SELECT count(DISTINCT %s) FROM jk WHERE kreason = '%s'", tk, ReasonPersonKeyInvalid)).
		Scan(&r.MalformedKeys); err != nil {
		return fmt.Errorf("linkage: validate %s: count: %w", r.Key, err)
	}
	nhs, err := v.nhsNumberKey(ctx)
	if err != nil {
		return err
	}
	if nhs {
		return &ExtractError{File: r.Key, Field: key, Reason: ExtractNHSNumberKeys,
			Message: "a person key is a valid NHS number (ten digits with their check digit): the extract is keyed by NHS numbers, not this project's pseudonyms, and carries a direct identifier; the provider must send it again keyed by pseudonyms"}
	}
	r.DistinctKeys = r.KnownKeys + unknown + r.MalformedKeys
	if r.DistinctKeys > 0 {
		r.KnownShare = float64(r.KnownKeys) / float64(r.DistinctKeys)
	}
	switch {
	case r.RowsRead > 0 && r.KnownKeys+unknown == 0:
		return &ExtractError{File: r.Key, Field: key, Reason: ExtractForeignKeys,
			Message: "no row carries a well-formed project pseudonym (64 hex digits): the extract is keyed by something else (a local id?)"}
	case r.DistinctKeys > 0 && r.KnownShare < v.cfg.MinKnownShare:
		return &ExtractError{File: r.Key, Field: key, Reason: ExtractForeignKeys,
			Message: fmt.Sprintf("only %d of %d distinct person keys (%.1f%%, below %.0f%%; %d of them not 64 hex digits) are pseudonyms of this wave's sample: the extract was pseudonymised with another key, is for another cohort or is keyed by something else",
				r.KnownKeys, r.DistinctKeys, 100*r.KnownShare, 100*v.cfg.MinKnownShare, r.MalformedKeys)}
	}
	if r.RowsRead != r.Accepted+r.Rejected+r.Excluded {
		return fmt.Errorf("%w: %s: %d rows read, %d accepted + %d rejected + %d excluded", ErrReconciliation, r.Key, r.RowsRead, r.Accepted, r.Rejected, r.Excluded)
	}
	var sum int64
	for _, k := range r.ByReason {
		sum += k
	}
	if sum != r.Rejected+r.Excluded {
		return fmt.Errorf("%w: %s: reasons count %d rows, rejected + excluded %d", ErrReconciliation, r.Key, sum, r.Rejected+r.Excluded)
	}

	// The record keys' secret is bound as a parameter, not written into the query: it is
	// the connection's variable (recordKey).
	if err := v.exec(ctx, "record keys", "CREATE TEMP TABLE rkey (s VARCHAR)"); err != nil {
		return err
	}
	if _, err := v.conn.ExecContext(ctx, "INSERT INTO rkey VALUES (?)", recordKeySecret(v.cfg.ProjectKey, r.DatasetID)); err != nil {
		return fmt.Errorf("linkage: validate %s: record keys: %w", r.Key, err)
	}
	if err := v.exec(ctx, "record keys", "SET VARIABLE "+recordKeyVar+" = (SELECT s FROM rkey)"); err != nil {
		return err
	}
	after := v.constants("q.rn")
	after["record_key"] = recordKey("q.rec")
	written, err := v.copy(ctx, "activity", schemas.LinkageActivityLayout(), v.activitySelect(), "q.rn", after)
	if err != nil {
		return err
	}
	if written != r.Accepted {
		return fmt.Errorf("%w: %s: %d rows written, %d accepted", ErrReconciliation, r.Key, written, r.Accepted)
	}
	if r.Diagnoses, err = v.copy(ctx, "diagnoses", schemas.LinkageDiagnosisLayout(), v.diagnosisSelect(), "q._rn, q.position", v.constants("q._rn")); err != nil {
		return err
	}
	// The excluded rows are one line for the whole file (row 0), with their number: a
	// line per row would say only that a row existed, at a cost of a tenth of the
	// validation.
	excluded := ""
	if r.Excluded > 0 {
		excluded = fmt.Sprintf("\n  UNION ALL SELECT 0, 0, '', '%s', '%s', %s", ReasonNotLinkable, schemas.LinkageExcluded, sqlQuote(fmt.Sprintf(
			"%d rows about sampled people who may not be linked (no kept response, consent declined or withdrawn) were excluded on their key alone: nothing else in them was read or kept", r.Excluded)))
	}
	rej := fmt.Sprintf(`SELECT %s AS wave_id, %s AS dataset_id, %s AS file, rn AS "row", field, reason AS reason_code, disposition, msg AS message, %s AS source_sha256, ord
FROM (SELECT rn, ord, field, reason, '%s' AS disposition, msg FROM findings%s)`,
		sqlQuote(r.WaveID), sqlQuote(r.DatasetID), sqlQuote(v.file), sqlQuote(r.SHA256), schemas.LinkageRejected, excluded)
	if _, err := v.copy(ctx, "rejections", schemas.LinkageRejectionLayout(), rej, `q."row", q.ord`, nil); err != nil {
		return err
	}
	return v.report(ctx)
}

// nhsNumberKey reports whether any malformed person key is a valid NHS number (ten
// digits, maybe spaced or hyphenated in groups, with their Modulus 11 check digit).
// Only the keys shaped like one are read out of the engine, and none is kept.
func (v *validator) nhsNumberKey(ctx context.Context) (bool, error) {
	tk := tr("key")
	rows, err := v.conn.QueryContext(ctx, fmt.Sprintf("SELECT DISTINCT %[1]s FROM jk WHERE kreason = '%[2]s' AND regexp_full_match(%[1]s, '[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}')",
		tk, ReasonPersonKeyInvalid))
	if err != nil {
		return false, fmt.Errorf("linkage: validate %s: person keys: %w", v.res.Key, err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return false, err
		}
		if codes.ValidNHSNumber(s) {
			return true, nil
		}
	}
	return false, rows.Err()
}

// copy writes the query's rows as the layout's columns, cast to their types, in order
// (orderBy, over the query's columns, or the query's own order when it is empty).
// A column named in after is not the query's: it is computed from the query's row (q)
// after the sort (an SQL expression), or is a constant, so the sort carries neither the
// constants (the wave, the file, its checksum) nor the row id built from the row
// number: carried through the sort, they made it take two thirds of the validation's
// peak memory.
// Zstandard at its fastest level: most of the bytes are pseudonyms and ids, which no
// level compresses, and the fastest costs a quarter less than the default.
func (v *validator) copy(ctx context.Context, name string, l *schemas.Layout, query, orderBy string, after map[string]any) (int64, error) {
	cols := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		expr := fmt.Sprintf(`q."%s"`, c.Name)
		switch e := after[c.Name].(type) {
		case constant:
			cols[i] = fmt.Sprintf(`%s AS "%s"`, e.duckDB(c.Type), c.Name)
			continue
		case string:
			expr = e
		}
		cols[i] = fmt.Sprintf(`CAST(%s AS %s) AS "%s"`, expr, c.Type.DuckDB(), c.Name)
	}
	if orderBy != "" {
		query = "SELECT * FROM (" + query + ") q ORDER BY " + orderBy
	}
	stmt := fmt.Sprintf("COPY (SELECT %s FROM (%s) q) TO %s (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1)",
		strings.Join(cols, ", "), query, sqlQuote(filepath.Join(v.dir, name+".parquet")))
	res, err := v.conn.ExecContext(ctx, stmt)
	if err != nil {
		return 0, fmt.Errorf("linkage: validate %s: write %s: %w", v.res.Key, name, err)
	}
	return res.RowsAffected()
}

// valueOf is the SQL of one of column i's verdict fields for an accepted row (a), with
// the join it needs; an absent column is empty.
func (v *validator) valueOf(i int, field string, joins map[int]bool) string {
	if i < 0 || v.cols[i].mode != judgeValues {
		if field == "d" || field == "code" {
			return "NULL"
		}
		return "''"
	}
	joins[i] = true
	return fmt.Sprintf("x%d.%s", i, field)
}

func joinsOf(joins map[int]bool) string {
	var b strings.Builder
	for i := range joins {
		fmt.Fprintf(&b, " LEFT JOIN v%d x%d ON x%d.id = a.v%d", i, i, i, i)
	}
	return b.String()
}

// rowID is the SQL of an accepted row's id from its row number (rn): deterministic, and
// unique in a wave — "A", the first 12 hex digits of the extract's SHA-256, "-" and the
// row number.
func (v *validator) rowID(rn string) string {
	return fmt.Sprintf("'A%s-' || %s", v.res.SHA256[:12], rn)
}

// constants are the columns every accepted row of the extract has the same, and its
// person's pseudonym from the cohort's index of them (p, pseudonymFunc), computed after
// the sort (copy).
func (v *validator) constants(rn string) map[string]any {
	r := v.res
	return map[string]any{"row_id": v.rowID(rn), "wave_id": constant(r.WaveID), "dataset_id": constant(r.DatasetID),
		"source_file": constant(v.file), "source_sha256": constant(r.SHA256), "source_order": constant(sourceOrder(r.LandedAt, r.SHA256)),
		"nhs_pseudonym": pseudonymFuncName + "(q.p)"}
}

// sourceOrder is an extract's source_order: its landing time, fixed width so that
// text order is time order, then its SHA-256 (two extracts landed in the same instant
// are ordered by it, so the order is total and a retry computes the same).
func sourceOrder(landed time.Time, sha string) string {
	return landed.UTC().Format("2006-01-02T15:04:05.000000000Z") + " " + sha
}

// recordKey is the SQL of an accepted row's record_key from its record id (rec): the
// first 128 bits of the SHA-256 of the dataset's record-key secret (the connection's
// variable recordKeyVar) and the row's record id, as hex (recordKeyFunc); empty when
// it has none. The secret is a fixed 64 hex digits, so no two ids give the same input.
// It is computed after the sort (copy), which carries the id, not the longer key.
func recordKey(rec string) string {
	return fmt.Sprintf("CASE WHEN %[1]s = '' THEN '' ELSE %[2]s(getvariable('%[3]s'), %[1]s) END", rec, recordKeyFuncName, recordKeyVar)
}

// recordKeyVar is the connection's variable holding the record keys' secret.
const recordKeyVar = "ice_record_key_secret"

// activitySelect is the canonical row of each accepted row, but for its constants and
// pseudonym (constants) and its record key, and with its person (p) and record id
// (rec).
func (v *validator) activitySelect() string {
	joins := map[int]bool{}
	start := v.valueOf(v.start, "d", joins)
	end, duration := "NULL", "0"
	if v.end >= 0 && v.cols[v.end].mode == judgeValues {
		end = v.valueOf(v.end, "d", joins)
		duration = fmt.Sprintf("coalesce(%s - %s, 0)", end, start)
	}
	pod := v.valueOf(v.typ, "s", joins)
	if v.pod >= 0 {
		pod = v.valueOf(v.pod, "s", joins)
	}
	var codes []string
	for _, i := range v.diags {
		codes = append(codes, v.valueOf(i, "code", joins))
	}
	dx := "''"
	if len(codes) > 0 {
		dx = "concat_ws(';', " + strings.Join(codes, ", ") + ")"
	}
	return fmt.Sprintf(`SELECT a.rn, a.p, %s AS activity_date,
  %s AS end_date, %s AS duration_days, %s AS activity_type, %s AS point_of_delivery, %s AS provider_code, %s AS diagnosis_codes,
  a.rn AS source_row, a.rec
FROM base a%s WHERE a.nbad = 0 AND a.consented`,
		start, end, duration, v.valueOf(v.typ, "mapped", joins), pod,
		v.valueOf(v.provider, "s", joins), dx, joinsOf(joins))
}

// diagnosisSelect is each diagnosis code of the accepted rows, primary first, but for
// its constants and pseudonym (constants), and with its person (p).
func (v *validator) diagnosisSelect() string {
	var parts []string
	for n, i := range v.diags {
		if v.cols[i].mode != judgeValues {
			continue
		}
		joins := map[int]bool{}
		start := v.valueOf(v.start, "d", joins)
		code := v.valueOf(i, "code", joins)
		parts = append(parts, fmt.Sprintf(`SELECT a.rn AS _rn, a.p,
  %s AS activity_date, %d AS position, %s AS code_system, %s AS code, x%d.code3 AS code3, x%d.code4 AS code4
FROM base a%s WHERE a.nbad = 0 AND a.consented AND %s IS NOT NULL`,
			start, n+1, sqlQuote(v.cols[i].def.Check), code, i, i, joinsOf(joins), code))
	}
	if len(parts) == 0 {
		return `SELECT 0 AS _rn, NULL::INTEGER AS p, NULL AS activity_date,
  0 AS position, '' AS code_system, '' AS code, '' AS code3, '' AS code4 WHERE FALSE`
	}
	return strings.Join(parts, "\nUNION ALL\n")
}

// report writes the CSV rejection report for the data provider: the errors to correct.
// An excluded row is no error (most rows of an extract for the whole sample are
// excluded); those are in the lake's rejections object and counted.
func (v *validator) report(ctx context.Context) error {
	f, err := os.Create(filepath.Join(v.dir, "report.csv"))
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 64<<10)
	w := csv.NewWriter(bw)
	if err := w.Write(schemas.LinkageRejectionLayout().Names()); err != nil {
		return err
	}
	rows, err := v.conn.QueryContext(ctx, "SELECT rn, field, reason, msg FROM findings ORDER BY rn, ord")
	if err != nil {
		return fmt.Errorf("linkage: validate %s: report: %w", v.res.Key, err)
	}
	defer rows.Close()
	r := v.res
	for rows.Next() {
		var rn int64
		var field, reason, msg string
		if err := rows.Scan(&rn, &field, &reason, &msg); err != nil {
			return err
		}
		// The provider's people open it in a spreadsheet: the file's name is theirs, and
		// no cell may be read as a formula (csvcell). The lake keeps it verbatim.
		if err := w.Write(csvcell.Row([]string{r.WaveID, r.DatasetID, v.file, strconv.FormatInt(rn, 10), field, reason, schemas.LinkageRejected, msg, r.SHA256})); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("linkage: write report of %s: %w", r.Key, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("linkage: write report of %s: %w", r.Key, err)
	}
	return f.Close()
}

// store puts the four outputs: the report first and the activity last, so a crash in
// between leaves no accepted rows without their rejections beside them.
func (v *validator) store(ctx context.Context, st store.Store) error {
	r := v.res
	d := v.cfg.Definition
	r.ActivityKey = schemas.LinkageActivityKey(d.ID, r.WaveID, r.SHA256)
	r.DiagnosesKey = schemas.LinkageDiagnosesKey(d.ID, r.WaveID, r.SHA256)
	r.RejectionsKey = schemas.LinkageRejectionsKey(d.ID, r.WaveID, r.SHA256)
	r.ReportKey = schemas.LinkageRejectionReportKey(r.WaveID, d.ID, v.file)
	for _, o := range []struct{ key, file string }{
		{r.ReportKey, "report.csv"}, {r.RejectionsKey, "rejections.parquet"}, {r.DiagnosesKey, "diagnoses.parquet"}, {r.ActivityKey, "activity.parquet"},
	} {
		if err := putFile(ctx, st, o.key, filepath.Join(v.dir, o.file)); err != nil {
			return err
		}
	}
	return nil
}
