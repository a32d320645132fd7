package linkage

import (
	"icesurvey/fault"

	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/store"
)

// Extracts (CSV or Parquet) land under schemas.LinkageLandingPrefix and are validated
// like the sample: every row is checked against its dataset's definition; a bad row is
// kept as one or more schemas.LinkageRejection naming the file, row, field and reason
// (never a value); rows read = accepted + rejected + excluded, asserted before anything
// is stored; an accepted row goes to the lake in the canonical shape.
//
// A row about someone in the sample who may not be linked (no kept response, consent
// declined or withdrawn) is excluded on its key alone: nothing else in it is read,
// checked or kept, and the excluded rows of an extract are counted on one line for the
// whole file (row 0). So the data of people who did not consent is not examined, and
// their activity never enters the lake. (How the rows are judged: extract_judge.go.)
//
// An extract keyed by anything but this project's pseudonym is refused whole (an
// *ExtractError, nothing stored). Two tests decide it:
//
//  1. the manifest: an extract may come with "{file}.manifest.json" naming
//     "pseudonym_key_id" (and "dataset"); a key id other than the project key's
//     fingerprint (KeyID) refuses it;
//  2. the keys themselves: no key may be a valid NHS number (ten digits with their
//     check digit: an extract keyed by NHS numbers carries a direct identifier, and is
//     refused even if a few of its keys are pseudonyms); and of the distinct non-empty
//     person keys in the extract — well-formed (64 hex digits) or not — at least
//     MinKnownShare (default one half) must be pseudonyms of the wave's sample. A
//     pseudonym under another key, or of another cohort, is indistinguishable from
//     random: the chance that one falls in a sample of n people is n/2^256, so a foreign
//     extract matches none, while a true one matches all but its few bad keys. An
//     extract keyed by a local id has few or no known keys and is refused by the same
//     test.
//
// An extract is refused whole, too, when a column it carries beyond its definition's is
// named like a direct identifier (DirectIdentifierColumn: an NHS number, a date of
// birth, a postcode, a name, an address): the provider sent identifiable data a linkage
// extract may not hold. Only its header is read. Other columns beyond the definition's
// are ignored and named (ExtractResult.UnknownColumns). And a manifest's "rows" that is
// not the number of rows read refuses it: a truncated or incomplete transfer.

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
	ExtractNHSNumberKeys     = "PERSON_KEY_IS_NHS_NUMBER"
	ExtractIdentifierColumn  = "DIRECT_IDENTIFIER_COLUMN"
	ExtractRowCountMismatch  = "ROW_COUNT_MISMATCH"
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
	// Rows is the number of data rows (the header not counted) the provider sent: a
	// file holding another number is refused (ExtractRowCountMismatch).
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
	// ProjectKey keys the hash of each accepted row's record id kept in the lake
	// (record_key), by which a release counts a record carried by several extracts
	// once. Required.
	ProjectKey []byte
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
	// LandedAt is when the extract landed (its store modification time, UTC): of two
	// extracts carrying one record, the release keeps the later landed one's row.
	LandedAt time.Time `json:"landed_at"`

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

	// DistinctKeys counts the distinct non-empty person keys: KnownKeys of them are
	// pseudonyms of the wave's sample, MalformedKeys are not 64 hex digits.
	DistinctKeys  int64   `json:"distinct_keys"`
	KnownKeys     int64   `json:"known_keys"`
	MalformedKeys int64   `json:"malformed_keys"`
	KnownShare    float64 `json:"known_share"`
	ManifestKeyID string  `json:"manifest_key_id,omitempty"`
	// ManifestRows is the manifest's row count, when it gives one.
	ManifestRows *int64 `json:"manifest_rows,omitempty"`
	// UnknownColumns are the file's columns the definition does not have (names only):
	// ignored, not read.
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
	if cfg.Definition == nil || cfg.Cohort == nil || cfg.WaveID == "" || cfg.ProjectKeyID == "" || len(cfg.ProjectKey) == 0 {
		return nil, errors.New("linkage: ValidateExtract needs the wave, a definition, the cohort, the project key and its id")
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
	info, err := st.Stat(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("linkage: read %s: %w", key, err)
	}
	res.LandedAt = info.ModTime.UTC()
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

	v, err := newValidator(ctx, cfg, res)
	if err != nil {
		return nil, err
	}
	defer v.close()
	switch format {
	case "csv":
		err = v.loadCSV(ctx, f)
	default:
		err = v.bindParquet(ctx, f, local)
	}
	if err != nil {
		return nil, err
	}
	if err := v.judge(ctx); err != nil {
		return nil, err
	}
	if err := v.store(ctx, st); err != nil {
		return nil, err
	}
	audit.Record(ctx, "linkage_extract_validated", map[string]any{
		"wave": res.WaveID, "dataset": res.DatasetID, "key": res.Key, "sha256": res.SHA256, "definition": res.Definition,
		"rows_read": res.RowsRead, "accepted": res.Accepted, "rejected": res.Rejected, "excluded": res.Excluded,
		"by_reason": res.ByReason, "known_share": res.KnownShare, "unknown_columns": res.UnknownColumns,
	})
	slog.InfoContext(ctx, "linkage extract validated", "wave", res.WaveID, "dataset", res.DatasetID, "key", res.Key,
		"rows_read", res.RowsRead, "accepted", res.Accepted, "rejected", res.Rejected, "excluded", res.Excluded,
		"known_share", res.KnownShare, "unknown_columns", res.UnknownColumns)
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
	if m.Rows != nil && *m.Rows < 0 {
		return &ExtractError{File: mk, Field: "rows", Reason: ExtractManifestInvalid, Message: "rows is negative"}
	}
	res.ManifestRows = m.Rows
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
