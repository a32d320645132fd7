package linkage

import (
	"icesurvey/fault"

	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"log/slog"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Extracts (CSV or Parquet) land under schemas.LinkageLandingPrefix and are validated
// like the sample: every row is checked against its dataset's definition; a bad row is
// kept as one or more schemas.LinkageRejection naming the file, row, field and reason
// (never a value); rows read = accepted + rejected + excluded, asserted before anything
// is stored; an accepted row goes to the lake in the canonical shape.
//
// A row about someone in the sample who may not be linked (no kept response, consent
// declined or withdrawn) is excluded: its values are not kept anywhere, only that the
// row existed. So the activity of people who did not consent never enters the lake.
//
// An extract keyed by anything but this project's pseudonym is refused whole (an
// *ExtractError, nothing stored). Two tests decide it:
//
//  1. the manifest: an extract may come with "{file}.manifest.json" naming
//     "pseudonym_key_id" (and "dataset"); a key id other than the project key's
//     fingerprint (KeyID) refuses it;
//  2. the keys themselves: of the distinct well-formed person keys (64 hex digits) in the
//     extract, at least MinKnownShare (default one half) must be pseudonyms of the
//     wave's sample. A pseudonym under another key, or of another cohort, is
//     indistinguishable from random: the chance that one falls in a sample of n people
//     is n/2^256, so a foreign extract matches none, while a true one matches all but
//     its few bad keys. An extract with no well-formed key at all (keyed by NHS number
//     or a local id) is refused by the same test.

// DefaultMinKnownShare is the least share of an extract's distinct person keys that
// must be pseudonyms of the wave's sample.
const DefaultMinKnownShare = 0.5

// File-level reasons (ExtractError.Reason).
const (
	ExtractFormatUnsupported = "FILE_FORMAT_UNSUPPORTED"
	ExtractEmpty             = "FILE_EMPTY"
	ExtractHeaderMissing     = "HEADER_MISSING_COLUMN"
	ExtractHeaderDuplicate   = "HEADER_DUPLICATE_COLUMN"
	ExtractCSVMalformed      = "CSV_MALFORMED"
	ExtractParquetUnreadable = "PARQUET_UNREADABLE"
	ExtractManifestInvalid   = "MANIFEST_INVALID"
	ExtractKeyIDMismatch     = "KEY_ID_MISMATCH"
	ExtractDatasetMismatch   = "DATASET_MISMATCH"
	ExtractForeignKeys       = "KEYS_NOT_PROJECT_PSEUDONYMS"
)

// Row-level reasons (schemas.LinkageRejection.ReasonCode).
const (
	ReasonRowMalformed     = "ROW_MALFORMED"
	ReasonValueMissing     = "VALUE_MISSING"
	ReasonPersonKeyInvalid = "PERSON_KEY_INVALID"
	ReasonPersonKeyUnknown = "PERSON_KEY_UNKNOWN"
	ReasonDateInvalid      = "DATE_INVALID"
	ReasonDateOutOfRange   = "DATE_OUT_OF_RANGE"
	ReasonDateInFuture     = "DATE_IN_FUTURE"
	ReasonEndBeforeStart   = "END_BEFORE_START"
	ReasonEndTooLate       = "END_TOO_LONG_AFTER_START"
	ReasonCodeNotInList    = "CODE_NOT_IN_LIST"
	ReasonPatternMismatch  = "PATTERN_MISMATCH"
	ReasonICD10Invalid     = "ICD10_INVALID"
	ReasonSNOMEDInvalid    = "SNOMED_INVALID"
	ReasonODSInvalid       = "ODS_CODE_INVALID"
	ReasonLACodeInvalid    = "LA_CODE_INVALID"
	ReasonIntegerInvalid   = "INTEGER_INVALID"
	ReasonRecordDuplicate  = "RECORD_DUPLICATE"
	// ReasonNotLinkable excludes a valid row about a sampled person who may not be linked.
	ReasonNotLinkable = "PERSON_NOT_LINKABLE"
)

// ExtractError is the refusal of a whole extract: retrying will not help; the data
// provider must send a corrected file. Message never holds a value of the extract.
type ExtractError struct {
	File    string // store key
	Row     int64  // 1-based data row; 0 for the whole file
	Field   string
	Reason  string
	Message string
}

func (e *ExtractError) Error() string {
	var b strings.Builder
	b.WriteString("linkage: extract ")
	b.WriteString(e.File)
	if e.Row > 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": field %s", e.Field)
	}
	fmt.Fprintf(&b, ": %s: %s", e.Reason, e.Message)
	return b.String()
}

// FaultKind implements fault.Classified: the provider must send a corrected file.
func (e *ExtractError) FaultKind() fault.Kind { return fault.BadInput }

// IsExtractError reports whether err is (or wraps) an *ExtractError.
func IsExtractError(err error) bool {
	var e *ExtractError
	return errors.As(err, &e)
}

// ErrReconciliation means the counts of a validation do not add up: a defect, never bad
// data. Nothing is stored when it happens.
var ErrReconciliation = errors.New("linkage: extract reconciliation failed")

// ExtractManifest is the optional "{extract}.manifest.json" a data provider sends.
type ExtractManifest struct {
	Dataset        string `json:"dataset"`
	PseudonymKeyID string `json:"pseudonym_key_id"`
	// AsOf is the last date the extract covers (yyyy-mm-dd): a later date in it is in
	// the future whenever it is validated.
	AsOf string `json:"as_of,omitempty"`
	Rows *int64 `json:"rows,omitempty"`
}

// ManifestKey is the manifest's key beside an extract.
func ManifestKey(extractKey string) string { return extractKey + ".manifest.json" }

// ExtractConfig says how to judge one extract.
type ExtractConfig struct {
	WaveID     string
	Definition *Definition
	Cohort     *Cohort
	// ProjectKeyID is KeyID of the project key; a manifest naming another refuses the
	// extract. Required.
	ProjectKeyID string
	// MinKnownShare: 0 means DefaultMinKnownShare.
	MinKnownShare float64
	// AsOf: a date after it is in the future. Zero means today (UTC). A manifest's
	// earlier as-of date wins.
	AsOf time.Time
}

// ExtractResult is the outcome of validating one extract. It holds no personal data.
type ExtractResult struct {
	WaveID    string `json:"wave_id"`
	DatasetID string `json:"dataset_id"`
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`
	Bytes     int64  `json:"bytes"`
	Format    string `json:"format"`
	AsOf      string `json:"as_of"` // dates after it were rejected as in the future
	// Definition is the definition's version and digest, for the audit trail.
	Definition string `json:"definition"`

	// RowsRead = Accepted + Rejected + Excluded.
	RowsRead int64 `json:"rows_read"`
	Accepted int64 `json:"accepted"`
	Rejected int64 `json:"rejected"`
	Excluded int64 `json:"excluded"`
	// ByReason counts rejected and excluded rows by their first reason.
	ByReason map[string]int64 `json:"by_reason"`
	// Findings is the number of rejection lines (a row may have several).
	Findings  int64 `json:"findings"`
	Diagnoses int64 `json:"diagnoses"`

	DistinctKeys   int64    `json:"distinct_keys"`
	KnownKeys      int64    `json:"known_keys"`
	KnownShare     float64  `json:"known_share"`
	ManifestKeyID  string   `json:"manifest_key_id,omitempty"`
	UnknownColumns []string `json:"unknown_columns,omitempty"`

	ActivityKey   string `json:"activity_key"`
	DiagnosesKey  string `json:"diagnoses_key"`
	RejectionsKey string `json:"rejections_key"`
	ReportKey     string `json:"report_key"`
}

// ExtractFormat is the format of an extract by its name: "csv" or "parquet".
func ExtractFormat(key string) (string, bool) {
	switch strings.ToLower(path.Ext(key)) {
	case ".csv":
		return "csv", true
	case ".parquet":
		return "parquet", true
	}
	return "", false
}

// ValidateExtract checks the extract at key against cfg.Definition and stores the
// accepted rows, their diagnosis codes and the rejections in the lake and the CSV
// rejection report in reports/, each with one atomic Put (a retry writes the same
// objects). A refused extract stores nothing and returns an *ExtractError.
func ValidateExtract(ctx context.Context, st store.Store, cfg ExtractConfig, key string) (*ExtractResult, error) {
	if cfg.Definition == nil || cfg.Cohort == nil || cfg.WaveID == "" || cfg.ProjectKeyID == "" {
		return nil, errors.New("linkage: ValidateExtract needs the wave, a definition, the cohort and the project key id")
	}
	if cfg.Cohort.WaveID != cfg.WaveID {
		return nil, fmt.Errorf("linkage: the cohort is of wave %s, not %s", cfg.Cohort.WaveID, cfg.WaveID)
	}
	if cfg.MinKnownShare == 0 {
		cfg.MinKnownShare = DefaultMinKnownShare
	}
	if cfg.AsOf.IsZero() {
		cfg.AsOf = time.Now().UTC()
	}
	cfg.AsOf = time.Date(cfg.AsOf.Year(), cfg.AsOf.Month(), cfg.AsOf.Day(), 0, 0, 0, 0, time.UTC)
	format, ok := ExtractFormat(key)
	if !ok {
		return nil, &ExtractError{File: key, Reason: ExtractFormatUnsupported, Message: "an extract must be .csv (UTF-8) or .parquet"}
	}
	d := cfg.Definition
	res := &ExtractResult{WaveID: cfg.WaveID, DatasetID: d.ID, Key: key, Format: format, ByReason: map[string]int64{},
		Definition: d.Version + " " + d.Digest[:16]}
	if err := checkManifest(ctx, st, key, d, cfg.ProjectKeyID, res, &cfg.AsOf); err != nil {
		return nil, err
	}
	res.AsOf = cfg.AsOf.Format(time.DateOnly)
	local, cleanup, err := lake.LocalCopy(ctx, st, key)
	if err != nil {
		return nil, fmt.Errorf("linkage: read %s: %w", key, err)
	}
	defer cleanup()
	f, err := os.Open(local)
	if err != nil {
		return nil, fmt.Errorf("linkage: open %s: %w", key, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	res.Bytes = fi.Size()
	if res.Bytes == 0 {
		return nil, &ExtractError{File: key, Reason: ExtractEmpty, Message: "the file is empty (not even a header)"}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("linkage: checksum %s: %w", key, err)
	}
	res.SHA256 = hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}

	v, err := newValidator(cfg, res)
	if err != nil {
		return nil, err
	}
	defer v.discard()
	switch format {
	case "csv":
		err = readCSV(ctx, f, key, v)
	default:
		err = readParquet(ctx, f, key, v)
	}
	if err != nil {
		return nil, err
	}
	if err := v.finish(); err != nil {
		return nil, err
	}
	if err := v.store(ctx, st); err != nil {
		return nil, err
	}
	audit.Record(ctx, "linkage_extract_validated", map[string]any{
		"wave": res.WaveID, "dataset": res.DatasetID, "key": res.Key, "sha256": res.SHA256, "definition": res.Definition,
		"rows_read": res.RowsRead, "accepted": res.Accepted, "rejected": res.Rejected, "excluded": res.Excluded,
		"by_reason": res.ByReason, "known_share": res.KnownShare,
	})
	slog.InfoContext(ctx, "linkage extract validated", "wave", res.WaveID, "dataset", res.DatasetID, "key", res.Key,
		"rows_read", res.RowsRead, "accepted", res.Accepted, "rejected", res.Rejected, "excluded", res.Excluded,
		"known_share", res.KnownShare)
	return res, nil
}

func checkManifest(ctx context.Context, st store.Store, key string, d *Definition, projectKeyID string, res *ExtractResult, asOf *time.Time) error {
	mk := ManifestKey(key)
	b, err := store.ReadAll(ctx, st, mk)
	switch {
	case errors.Is(err, store.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("linkage: read %s: %w", mk, err)
	}
	var m ExtractManifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return &ExtractError{File: mk, Reason: ExtractManifestInvalid, Message: "not a JSON object with dataset and pseudonym_key_id: " + err.Error()}
	}
	if m.Dataset != "" && m.Dataset != d.ID {
		return &ExtractError{File: key, Field: "dataset", Reason: ExtractDatasetMismatch,
			Message: fmt.Sprintf("the manifest names dataset %q, but the extract was given as %s", m.Dataset, d.ID)}
	}
	res.ManifestKeyID = m.PseudonymKeyID
	if m.AsOf != "" {
		t, err := time.Parse(time.DateOnly, m.AsOf)
		if err != nil {
			return &ExtractError{File: mk, Field: "as_of", Reason: ExtractManifestInvalid, Message: "as_of is not a yyyy-mm-dd date"}
		}
		if t.Before(*asOf) {
			*asOf = t
		}
	}
	if m.PseudonymKeyID != "" && m.PseudonymKeyID != projectKeyID {
		return &ExtractError{File: key, Field: "pseudonym_key_id", Reason: ExtractKeyIDMismatch,
			Message: fmt.Sprintf("the manifest says the person keys were made with key %s, not this project's key %s", m.PseudonymKeyID, projectKeyID)}
	}
	return nil
}

// readCSV feeds the rows of a CSV extract to v.
func readCSV(ctx context.Context, f *os.File, key string, v *validator) error {
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
	if fi, err := f.Stat(); err == nil {
		v.expect(fi.Size() / 80) // about the bytes of a row of the synthetic extracts
	}
	vals := make([]string, len(v.cols))
	badRun := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if v.res.RowsRead&0xFFF == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("linkage: read %s: %w", key, err)
			}
			if badRun++; badRun > 100 {
				return &ExtractError{File: key, Row: v.res.RowsRead + 1, Reason: ExtractCSVMalformed, Message: "over 100 rows in a row cannot be read as CSV"}
			}
			v.malformed("the row cannot be read as CSV: " + pe.Err.Error())
			continue
		}
		badRun = 0
		if len(rec) != v.width {
			v.malformed(fmt.Sprintf("%d fields, the header has %d", len(rec), v.width))
			continue
		}
		for i, c := range v.cols {
			if c.src >= 0 {
				vals[i] = strings.TrimSpace(rec[c.src])
			} else {
				vals[i] = ""
			}
		}
		if err := v.row(vals); err != nil {
			return err
		}
	}
}

// colState is one definition column as the validator meets it in a file.
type colState struct {
	def       *ColumnDef
	src       int // index in the file's columns; -1 when absent
	notBefore int // index in cols of the date this one may not precede; -1 when none
	match     func(string) bool
}

// validator judges the rows of one extract and writes its outputs to temporary files.
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

	seen    *rowSet // record id (or row) hash → first row
	seed    maphash.Seed
	known   []bool // cohort people whose key appeared
	unknown map[[32]byte]struct{}

	act  *lake.Writer[schemas.LinkageActivity]
	dx   *lake.Writer[schemas.LinkageDiagnosis]
	rej  *lake.Writer[schemas.LinkageRejection]
	csv  *csv.Writer
	csvB *bufio.Writer
	tmp  []*os.File
	rep  hash.Hash

	findings []finding
	dates    []time.Time // the row's parsed dates, by column
	have     []bool
	rowNo    int64
	a        schemas.LinkageActivity
	dxRows   []schemas.LinkageDiagnosis
	codes    []byte
}

type finding struct {
	field, reason, msg string
}

func newValidator(cfg ExtractConfig, res *ExtractResult) (*validator, error) {
	d := cfg.Definition
	v := &validator{cfg: cfg, res: res, file: path.Base(res.Key), byName: map[string]int{}, seen: newRowSet(0),
		seed: maphash.MakeSeed(), known: make([]bool, len(cfg.Cohort.People)), unknown: map[[32]byte]struct{}{},
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
	v.dates, v.have = make([]time.Time, len(v.cols)), make([]bool, len(v.cols))
	var err error
	newTemp := func(pattern string) (*os.File, error) {
		f, err := os.CreateTemp("", pattern)
		if err == nil {
			v.tmp = append(v.tmp, f)
		}
		return f, err
	}
	fa, err := newTemp("ice-linkage-activity-*.parquet")
	if err != nil {
		return nil, err
	}
	if v.act, err = lake.NewWriter[schemas.LinkageActivity](fa, schemas.LinkageActivityLayout()); err != nil {
		v.discard()
		return nil, err
	}
	fd, err := newTemp("ice-linkage-dx-*.parquet")
	if err != nil {
		v.discard()
		return nil, err
	}
	if v.dx, err = lake.NewWriter[schemas.LinkageDiagnosis](fd, schemas.LinkageDiagnosisLayout()); err != nil {
		v.discard()
		return nil, err
	}
	fr, err := newTemp("ice-linkage-rej-*.parquet")
	if err != nil {
		v.discard()
		return nil, err
	}
	if v.rej, err = lake.NewWriter[schemas.LinkageRejection](fr, schemas.LinkageRejectionLayout()); err != nil {
		v.discard()
		return nil, err
	}
	fc, err := newTemp("ice-linkage-report-*.csv")
	if err != nil {
		v.discard()
		return nil, err
	}
	v.rep = sha256.New()
	v.csvB = bufio.NewWriterSize(io.MultiWriter(fc, v.rep), 64<<10)
	v.csv = csv.NewWriter(v.csvB)
	if err := v.csv.Write(schemas.LinkageRejectionLayout().Names()); err != nil {
		v.discard()
		return nil, err
	}
	return v, nil
}

func (v *validator) discard() {
	for _, f := range v.tmp {
		f.Close()
		os.Remove(f.Name())
	}
	v.tmp = nil
}

// expect sizes the duplicate index for an extract of about rows rows, so it is not
// grown (and rehashed) over and over.
func (v *validator) expect(rows int64) {
	if rows > 0 && v.seen.n == 0 {
		v.seen = newRowSet(int(min(rows, 1<<28)))
	}
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
	return nil
}

func (v *validator) add(field, reason, msg string) {
	v.findings = append(v.findings, finding{field, reason, msg})
}

// malformed records a row that could not be split into the header's fields.
func (v *validator) malformed(msg string) {
	v.res.RowsRead++
	v.rowNo = v.res.RowsRead
	v.findings = v.findings[:0]
	v.add("", ReasonRowMalformed, msg)
	v.reject(schemas.LinkageRejected)
}

// row judges one row; vals holds the definition's columns in order ("" when absent).
func (v *validator) row(vals []string) error {
	v.res.RowsRead++
	v.rowNo = v.res.RowsRead
	v.findings = v.findings[:0]
	d := v.cfg.Definition
	a := &v.a
	*a = schemas.LinkageActivity{WaveID: v.cfg.WaveID, DatasetID: d.ID, SourceFile: v.file, SourceRow: v.rowNo, SourceSHA256: v.res.SHA256}
	v.dxRows = v.dxRows[:0]
	v.codes = v.codes[:0]

	// Generic checks of every column, in definition order.
	dates, have := v.dates, v.have
	clear(have)
	for i, c := range v.cols {
		def, s := c.def, vals[i]
		if s == "" {
			if def.Required {
				v.add(def.Name, ReasonValueMissing, def.Name+" is empty")
			}
			continue
		}
		switch def.Type {
		case TypeDate:
			t, ok := ParseExtractDate(s)
			switch {
			case !ok:
				v.add(def.Name, ReasonDateInvalid, def.Name+" is not a yyyy-mm-dd or yyyymmdd date")
			case t.After(v.cfg.AsOf):
				v.add(def.Name, ReasonDateInFuture, def.Name+" is after the extract's as-of date "+v.cfg.AsOf.Format(time.DateOnly))
			case (!def.min.IsZero() && t.Before(def.min)) || (!def.max.IsZero() && t.After(def.max)):
				v.add(def.Name, ReasonDateOutOfRange, fmt.Sprintf("%s is outside %s to %s", def.Name, orDash(def.MinDate), orDash(def.MaxDate)))
			default:
				dates[i], have[i] = t, true
			}
			continue
		case TypeInteger:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || (def.Min != nil && n < *def.Min) || (def.Max != nil && n > *def.Max) {
				v.add(def.Name, ReasonIntegerInvalid, def.Name+" is not a whole number in its range")
			}
			continue
		}
		switch def.Check {
		case CheckPseudonym:
			if _, ok := NormalisePseudonym(s); !ok {
				v.add(def.Name, ReasonPersonKeyInvalid, def.Name+" is not a project pseudonym (64 hex digits)")
				continue
			}
		case CheckICD10:
			if _, _, _, ok := NormaliseICD10(s); !ok {
				v.add(def.Name, ReasonICD10Invalid, def.Name+" is not an ICD-10 code")
				continue
			}
		case CheckSNOMED:
			if !ValidSNOMEDConceptID(s) {
				v.add(def.Name, ReasonSNOMEDInvalid, def.Name+" is not a SNOMED CT concept id (check digit, partition)")
				continue
			}
		case CheckODS:
			if !ValidODSCode(s) {
				v.add(def.Name, ReasonODSInvalid, def.Name+" is not an ODS code (3, 5 or 6 upper-case letters and digits)")
				continue
			}
		case CheckODSPractice:
			if len(s) != 6 || s[0] < 'A' || s[0] > 'Z' || !allDigits(s[1:]) {
				v.add(def.Name, ReasonODSInvalid, def.Name+" is not a GP practice code (a letter and five digits)")
				continue
			}
		case CheckLACode:
			if !ValidLACode(s) {
				v.add(def.Name, ReasonLACodeInvalid, def.Name+" is not an English local authority's ONS code")
				continue
			}
		}
		if c.match != nil && !c.match(s) {
			v.add(def.Name, ReasonPatternMismatch, def.Name+" does not have the shape the definition requires")
			continue
		}
		if len(def.Values) > 0 {
			if _, ok := def.Values[s]; !ok {
				v.add(def.Name, ReasonCodeNotInList, def.Name+" is not one of the definition's codes")
			}
		}
	}
	// Date order.
	for i, c := range v.cols {
		def, j := c.def, c.notBefore
		if j < 0 || !have[i] || !have[j] {
			continue
		}
		switch {
		case dates[i].Before(dates[j]):
			v.add(def.Name, ReasonEndBeforeStart, def.Name+" is before "+def.NotBefore)
		case def.MaxDaysAfter > 0 && dates[i].Sub(dates[j]) > time.Duration(def.MaxDaysAfter)*24*time.Hour:
			v.add(def.Name, ReasonEndTooLate, fmt.Sprintf("%s is more than %d days after %s", def.Name, def.MaxDaysAfter, def.NotBefore))
		}
	}
	// The person.
	key, keyOK := NormalisePseudonym(vals[v.person])
	var p *Person
	if keyOK {
		var k [32]byte
		hex.Decode(k[:], []byte(key))
		if i, ok := v.cfg.Cohort.byKey[k]; ok {
			v.known[i] = true
			p = &v.cfg.Cohort.People[i]
		} else {
			v.unknown[k] = struct{}{}
			v.add(v.cols[v.person].def.Name, ReasonPersonKeyUnknown, "the person key is not a pseudonym of anyone in this wave's sample")
		}
	}
	// A repeated record (by its id, or by the whole row when the dataset has none): the
	// first is kept, each later one rejected.
	var hsh uint64
	if v.record >= 0 && vals[v.record] != "" {
		hsh = maphash.String(v.seed, vals[v.record])
	} else if v.record < 0 {
		var mh maphash.Hash
		mh.SetSeed(v.seed)
		for _, s := range vals {
			mh.WriteString(s)
			mh.WriteByte(0)
		}
		hsh = mh.Sum64()
	}
	if hsh != 0 {
		if first, dup := v.seen.putFirst(hsh, v.rowNo); dup {
			field := ""
			if v.record >= 0 {
				field = v.cols[v.record].def.Name
			}
			v.add(field, ReasonRecordDuplicate, fmt.Sprintf("the record repeats row %d", first))
		}
	}
	if len(v.findings) > 0 {
		v.reject(schemas.LinkageRejected)
		return nil
	}
	if !p.Consented {
		v.add("", ReasonNotLinkable, "the person has not consented to linkage (no kept response, declined or withdrawn): the row is not kept")
		v.reject(schemas.LinkageExcluded)
		return nil
	}
	// Accepted: the canonical row.
	a.NHSPseudonym = p.NHSPseudonym
	a.RowID = rowID(v.res.SHA256, v.rowNo)
	a.ActivityDate = dates[v.start]
	if v.end >= 0 && have[v.end] {
		e := dates[v.end]
		a.EndDate = &e
		a.DurationDays = int32(e.Sub(a.ActivityDate).Hours() / 24)
	}
	typDef := v.cols[v.typ].def
	a.ActivityType = typDef.Values[vals[v.typ]]
	a.PointOfDelivery = vals[v.typ]
	if v.pod >= 0 {
		a.PointOfDelivery = vals[v.pod]
	}
	a.ProviderCode = vals[v.provider]
	for n, i := range v.diags {
		s := vals[i]
		if s == "" {
			continue
		}
		dx := schemas.LinkageDiagnosis{RowID: a.RowID, WaveID: a.WaveID, DatasetID: a.DatasetID, NHSPseudonym: a.NHSPseudonym,
			ActivityDate: a.ActivityDate, Position: int32(n + 1), CodeSystem: v.cols[i].def.Check}
		if dx.CodeSystem == CheckICD10 {
			dx.Code, dx.Code3, dx.Code4, _ = NormaliseICD10(s)
		} else {
			dx.Code = s
		}
		if len(v.codes) > 0 {
			v.codes = append(v.codes, ';')
		}
		v.codes = append(v.codes, dx.Code...)
		v.dxRows = append(v.dxRows, dx)
	}
	a.DiagnosisCodes = string(v.codes)
	if err := v.act.Write(a); err != nil {
		return err
	}
	for i := range v.dxRows {
		if err := v.dx.Write(&v.dxRows[i]); err != nil {
			return err
		}
	}
	v.res.Diagnoses += int64(len(v.dxRows))
	v.res.Accepted++
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// reject writes the row's findings with the disposition and counts it.
func (v *validator) reject(disposition string) {
	if disposition == schemas.LinkageExcluded {
		v.res.Excluded++
	} else {
		v.res.Rejected++
	}
	v.res.ByReason[v.findings[0].reason]++
	for _, f := range v.findings {
		r := schemas.LinkageRejection{WaveID: v.cfg.WaveID, DatasetID: v.cfg.Definition.ID, File: v.file, Row: v.rowNo,
			Field: f.field, ReasonCode: f.reason, Disposition: disposition, Message: f.msg, SourceSHA256: v.res.SHA256}
		// Errors surface at finish: the writers keep the first.
		_ = v.rej.Write(&r)
		// The CSV report is for the data provider: the errors to correct. An excluded
		// row is no error, and most rows of an extract for the whole sample are
		// excluded; they are in the lake's rejections object and counted.
		if disposition == schemas.LinkageRejected {
			_ = v.csv.Write([]string{r.WaveID, r.DatasetID, r.File, strconv.FormatInt(r.Row, 10), r.Field, r.ReasonCode, r.Disposition, r.Message, r.SourceSHA256})
		}
		v.res.Findings++
	}
}

// rowID is the deterministic id of an accepted row: the extract's checksum and row.
func rowID(sha string, row int64) string {
	h := sha256.Sum256([]byte("linkage-row:" + sha + ":" + strconv.FormatInt(row, 10)))
	return "A" + hex.EncodeToString(h[:12])
}

// finish closes the outputs, applies the whole-extract key test and reconciles.
func (v *validator) finish() error {
	r := v.res
	for _, k := range v.known {
		if k {
			r.KnownKeys++
		}
	}
	r.DistinctKeys = r.KnownKeys + int64(len(v.unknown))
	if r.DistinctKeys > 0 {
		r.KnownShare = float64(r.KnownKeys) / float64(r.DistinctKeys)
	}
	keyName := v.cols[v.person].def.Name
	switch {
	case r.RowsRead > 0 && r.DistinctKeys == 0:
		return &ExtractError{File: r.Key, Field: keyName, Reason: ExtractForeignKeys,
			Message: "no row carries a well-formed project pseudonym (64 hex digits): the extract is keyed by something else (an NHS number or a local id?)"}
	case r.DistinctKeys > 0 && r.KnownShare < v.cfg.MinKnownShare:
		return &ExtractError{File: r.Key, Field: keyName, Reason: ExtractForeignKeys,
			Message: fmt.Sprintf("only %d of %d distinct person keys (%.1f%%, below %.0f%%) are pseudonyms of this wave's sample: the extract was pseudonymised with another key or is for another cohort",
				r.KnownKeys, r.DistinctKeys, 100*r.KnownShare, 100*v.cfg.MinKnownShare)}
	}
	if r.RowsRead != r.Accepted+r.Rejected+r.Excluded {
		return fmt.Errorf("%w: %s: %d rows read, %d accepted + %d rejected + %d excluded", ErrReconciliation, r.Key, r.RowsRead, r.Accepted, r.Rejected, r.Excluded)
	}
	var sum int64
	for _, n := range r.ByReason {
		sum += n
	}
	if sum != r.Rejected+r.Excluded {
		return fmt.Errorf("%w: %s: reasons count %d rows, rejected + excluded %d", ErrReconciliation, r.Key, sum, r.Rejected+r.Excluded)
	}
	if v.act.Rows() != r.Accepted {
		return fmt.Errorf("%w: %s: %d rows written, %d accepted", ErrReconciliation, r.Key, v.act.Rows(), r.Accepted)
	}
	for _, c := range []interface{ Close() error }{v.act, v.dx, v.rej} {
		if err := c.Close(); err != nil {
			return fmt.Errorf("linkage: write outputs of %s: %w", r.Key, err)
		}
	}
	v.csv.Flush()
	if err := v.csv.Error(); err != nil {
		return fmt.Errorf("linkage: write report of %s: %w", r.Key, err)
	}
	if err := v.csvB.Flush(); err != nil {
		return fmt.Errorf("linkage: write report of %s: %w", r.Key, err)
	}
	return nil
}

// store puts the four outputs.
func (v *validator) store(ctx context.Context, st store.Store) error {
	r := v.res
	d := v.cfg.Definition
	r.ActivityKey = schemas.LinkageActivityKey(d.ID, r.WaveID, r.SHA256)
	r.DiagnosesKey = schemas.LinkageDiagnosesKey(d.ID, r.WaveID, r.SHA256)
	r.RejectionsKey = schemas.LinkageRejectionsKey(d.ID, r.WaveID, r.SHA256)
	r.ReportKey = schemas.LinkageRejectionReportKey(r.WaveID, d.ID, v.file)
	// The report first and the activity last: a crash in between leaves no accepted
	// rows without their rejections beside them.
	for i, k := range []string{r.ReportKey, r.RejectionsKey, r.DiagnosesKey, r.ActivityKey} {
		f := v.tmp[3-i]
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := st.Put(ctx, k, f); err != nil {
			return fmt.Errorf("linkage: store %s: %w", k, err)
		}
	}
	return nil
}
