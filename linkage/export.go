package linkage

import (
	"icesurvey/fault"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/parquet/file"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The UDAL-style export of a release: the person-level outputs as Parquet files under
// schemas.LinkageExportPrefix, with manifest.json (dataset, file, rows, SHA-256 and
// columns of each; the release pseudonym's key id; the release) written last, so a
// manifest always describes whole files. It is the form a data engineer hands to a
// national platform.
//
// Every file is checked before anything is written, and the export refused whole if
// any carries a column the definitions do not allow: a dataset's linked activity may
// carry its definition's export columns and the release's keys, the other outputs the
// columns of their declared layouts, and no file ever a column named like a direct or
// stable identifier (ForbiddenColumns), whatever a layout says. The release pseudonym
// column must hold release pseudonyms (32 hex digits), never a project pseudonym.

// ForbiddenColumns may never appear in an export.
var ForbiddenColumns = []string{"nhs_number", "nhs_pseudonym", "person_key", "survey_record_id", "response_id",
	"row_id", "source_row", "source_file", "source_sha256", "access_code", "postcode", "date_of_birth", "name", "address"}

// ExportConfig names the release to export.
type ExportConfig struct {
	WaveID     string
	ReleaseID  string
	ProjectKey []byte // only for the release key's id in the manifest
	// Definitions: the embedded ones when nil.
	Definitions *Definitions
}

// ManifestFile is one file of an export.
type ManifestFile struct {
	Dataset string   `json:"dataset"`
	File    string   `json:"file"`
	Rows    int64    `json:"rows"`
	SHA256  string   `json:"sha256"`
	Columns []string `json:"columns"`
}

// Manifest describes an export.
type Manifest struct {
	Release        string         `json:"release"`
	Wave           string         `json:"wave"`
	PseudonymKeyID string         `json:"pseudonym_key_id"`
	Pseudonym      string         `json:"pseudonym"`
	Files          []ManifestFile `json:"files"`
}

// ExportError refuses an export: a file carries a column it may not, or a value that is
// not a release pseudonym.
type ExportError struct {
	File    string
	Column  string
	Reason  string
	Message string
}

// FaultKind implements fault.Classified: an export that would carry a forbidden column
// or value is refused until the definitions are corrected; no retry makes it safe.
func (e *ExportError) FaultKind() fault.Kind { return fault.Configuration }

func (e *ExportError) Error() string {
	return fmt.Sprintf("linkage: export refused: %s: column %s: %s: %s", e.File, e.Column, e.Reason, e.Message)
}

// Export refusal reasons.
const (
	ExportColumnNotAllowed = "COLUMN_NOT_ALLOWED"
	ExportColumnForbidden  = "COLUMN_FORBIDDEN"
	ExportNotAPseudonym    = "NOT_A_RELEASE_PSEUDONYM"
	ExportFileMissing      = "FILE_MISSING"
)

// AllowedColumns lists the columns an exported file of table may carry.
func AllowedColumns(table string, defs *Definitions) ([]string, error) {
	switch table {
	case schemas.TableLinkedRespondents:
		return schemas.LinkedRespondentLayout().Names(), nil
	case schemas.TableLinkedConditions:
		return schemas.LinkedConditionLayout().Names(), nil
	case schemas.TableLinkedAnswers:
		return schemas.LinkedAnswerLayout().Names(), nil
	}
	for _, d := range defs.All() {
		if table == schemas.LinkedActivityTable(d.ID) {
			return append([]string{"release_id", "wave_id", "release_pseudonym", "dataset_id"}, d.Export...), nil
		}
	}
	return nil, fmt.Errorf("linkage: %s is not an exportable table", table)
}

// Export copies a release's person-level outputs to the export prefix with a manifest.
func Export(ctx context.Context, st store.Store, cfg ExportConfig) (*Manifest, error) {
	if cfg.Definitions == nil {
		var err error
		if cfg.Definitions, err = DefaultDefinitions(); err != nil {
			return nil, err
		}
	}
	rel, err := NewReleaser(cfg.ProjectKey, cfg.WaveID, cfg.ReleaseID)
	if err != nil {
		return nil, err
	}
	m := &Manifest{Release: cfg.ReleaseID, Wave: cfg.WaveID, PseudonymKeyID: rel.KeyID(),
		Pseudonym: "release_pseudonym: HMAC-SHA256 under a key derived for this release; not joinable with another release"}
	type checked struct {
		table, local string
		cleanup      func()
		file         ManifestFile
	}
	var files []checked
	defer func() {
		for _, f := range files {
			f.cleanup()
		}
	}()
	for _, table := range PersonLevelTables(cfg.Definitions) {
		key := schemas.LinkedKey(table, cfg.WaveID, cfg.ReleaseID)
		local, cleanup, err := lake.LocalCopy(ctx, st, key)
		if errors.Is(err, store.ErrNotExist) {
			return nil, &ExportError{File: key, Reason: ExportFileMissing, Message: "the release has no such output: build the release first"}
		}
		if err != nil {
			return nil, err
		}
		files = append(files, checked{table: table, local: local, cleanup: cleanup})
		c := &files[len(files)-1]
		allowed, err := AllowedColumns(table, cfg.Definitions)
		if err != nil {
			return nil, err
		}
		cols, rows, err := parquetColumns(local)
		if err != nil {
			return nil, fmt.Errorf("linkage: export %s: %w", key, err)
		}
		for _, col := range cols {
			if slices.Contains(ForbiddenColumns, strings.ToLower(col)) {
				return nil, &ExportError{File: key, Column: col, Reason: ExportColumnForbidden, Message: "an identifier that never leaves the pipeline"}
			}
			if !slices.Contains(allowed, col) {
				return nil, &ExportError{File: key, Column: col, Reason: ExportColumnNotAllowed,
					Message: fmt.Sprintf("not among the columns the definitions allow for %s (%s)", table, strings.Join(allowed, ", "))}
			}
		}
		if slices.Contains(cols, "release_pseudonym") {
			var bad error
			err := lake.ScanStrings(ctx, st, key, []string{"release_pseudonym"}, func(row []string) error {
				if len(row[0]) != ReleasePseudonymLen || !isHex(row[0]) {
					bad = &ExportError{File: key, Column: "release_pseudonym", Reason: ExportNotAPseudonym,
						Message: fmt.Sprintf("a value is not %d hex digits", ReleasePseudonymLen)}
					return bad
				}
				return nil
			})
			if bad != nil {
				return nil, bad
			}
			if err != nil {
				return nil, err
			}
		}
		dataset := table
		if id, ok := strings.CutPrefix(table, schemas.LinkedActivityTable("")); ok {
			dataset = id
		}
		c.file = ManifestFile{Dataset: dataset, File: table + ".parquet", Rows: rows, Columns: cols}
	}
	prefix := schemas.LinkageExportPrefix(cfg.WaveID, cfg.ReleaseID)
	for i := range files {
		f := &files[i]
		sum, err := putHashed(ctx, st, prefix+f.file.File, f.local)
		if err != nil {
			return nil, err
		}
		f.file.SHA256 = sum
		m.Files = append(m.Files, f.file)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := store.PutBytes(ctx, st, prefix+"manifest.json", append(b, '\n')); err != nil {
		return nil, fmt.Errorf("linkage: store the export manifest: %w", err)
	}
	var rows int64
	for _, f := range m.Files {
		rows += f.Rows
	}
	audit.Record(ctx, "linkage_exported", map[string]any{"wave": cfg.WaveID, "release": cfg.ReleaseID,
		"files": len(m.Files), "rows": rows, "pseudonym_key_id": m.PseudonymKeyID, "prefix": prefix})
	return m, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parquetColumns reads a Parquet file's column names and row count from its footer.
func parquetColumns(path string) ([]string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, 0, err
	}
	defer pf.Close()
	sc := pf.MetaData().Schema
	cols := make([]string, sc.NumColumns())
	for i := range cols {
		cols[i] = sc.Column(i).Path()
	}
	return cols, pf.NumRows(), nil
}

// putHashed stores the local file at key and returns its SHA-256.
func putHashed(ctx context.Context, st store.Store, key, local string) (string, error) {
	f, err := os.Open(local)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	if err := st.Put(ctx, key, f); err != nil {
		return "", fmt.Errorf("linkage: export %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
