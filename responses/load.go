// Package responses is the daily response load (SPEC §2 step 4): it reads the survey
// supplier's files for one wave, ICS and day from the restricted landing area, validates every row,
// de-duplicates people who answered twice, records outcome events, and writes the lake
// partitions for that load date — with free text going only to the free-text area
// (schemas.FreeTextKey), read by named ICB users only. The supplier's files are read
// with schemas.ResponseLandingPrefix.
//
// Outcome events are the undelivered letters and opt-outs. An opt-out row with reason
// withdraw_linkage (schemas.OptOutWithdrawLinkage) is not one: the person withdraws only
// their consent to linkage and stays in the survey, so the row is written as a
// consent-withdrawn event (schemas.ConsentEvent, naming the file, its checksum and the
// row) to schemas.LinkageOptOutConsentKey, where the linkage reads consent events, and
// counts as loaded. A completed questionnaire
// (outcome 1) is not written again as an event: it is the kept complete patient
// response itself, from which the warehouse's completions and outcomes views derive it.
// Writing every completion again as an event, in the lake and in the warehouse, cost a
// fifth of a day's load of 50,000 responses.
//
// Guarantees:
//   - Nothing is dropped silently: for every file, rows read = loaded + rejected +
//     duplicates, and the load fails if that does not hold. Each rejected row has at
//     least one ResponseRejection naming the file, row, field and reason code.
//   - Each output object is written whole (one atomic Put) under a name derived from the
//     input file's checksum, and a file's load marker is written only after all of its
//     outputs. A killed or retried load therefore rewrites the same objects with the same
//     bytes, and a file already loaded (by checksum) is skipped — re-loading is a no-op.
//   - A day with no files is a valid, empty result (NoFiles), not an error.
//
// The package needs no Temporal: the workflow layer calls Load from an activity.
package responses

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/wavespec"
)

// PriorResponse is the response already kept for a person by an earlier load.
type PriorResponse struct {
	ResponseID string
	Complete   bool
	ReceivedAt time.Time
	Channel    string
}

// LoadConfig says what to load and how to judge it.
type LoadConfig struct {
	WaveID string
	ICS    string
	// Landing is the prefix holding the day's files; empty means
	// schemas.ResponseLandingPrefix(WaveID, ICS, day).
	Landing string
	// Questionnaires are the resolved questionnaires of this wave and ICS, by version.
	Questionnaires map[string]*questionnaire.Questionnaire
	// Known reports whether a survey record id belongs to this wave and ICS, and whether
	// an invitation was sent for it (so the patient, or a carer on their behalf, could
	// answer). Required.
	Known func(surveyRecordID string) (known bool, invitedAsPatient bool)
	// AlreadyLoaded reports whether a file with this SHA-256 was loaded before. Optional:
	// the load's own markers (schemas.ResponseLoadMarkerKey) are always consulted as well.
	AlreadyLoaded func(sha256 string) bool
	// FirstMailing returns when the ICS's first invitation was sent (zero when unknown):
	// no response, undelivered letter or opt-out can be dated before that day. Optional;
	// without it (or when it is zero) the floor is wavespec.EarliestSamplingDate.
	FirstMailing func() time.Time
	// Prior returns the response kept for a person (survey record id and respondent
	// type) by an earlier load. Optional: when nil it is built from the lake with
	// PriorFromLake.
	Prior func(surveyRecordID, respondentType string) (PriorResponse, bool)
}

// FileResult is what happened to one landing file.
type FileResult struct {
	Key            string   `json:"key"`
	SHA256         string   `json:"sha256"`
	Size           int64    `json:"size"`
	Kind           string   `json:"kind"` // online, paper, phone, undelivered, optouts, or "" when unknown
	Format         string   `json:"format"`
	Skipped        bool     `json:"skipped,omitempty"` // loaded before (same checksum)
	Rows           int      `json:"rows"`
	Loaded         int      `json:"loaded"`
	Rejected       int      `json:"rejected"`
	Duplicates     int      `json:"duplicates"`
	Superseded     int      `json:"superseded,omitempty"` // responses kept by earlier loads replaced
	Rejections     int      `json:"rejections"`           // rejection records (a row may have several)
	UnknownColumns []string `json:"unknown_columns,omitempty"`
	OtherReasons   int      `json:"other_reasons,omitempty"` // REASON values outside the code list, stored as "other"
	// LinkageWithdrawals are the opt-out rows (counted in Loaded) that withdrew only the
	// person's consent to linkage: consent events, not outcome events.
	LinkageWithdrawals int      `json:"linkage_withdrawals,omitempty"`
	Outputs            []string `json:"outputs,omitempty"`
	// FileRejection is the reason code when the whole file was rejected (a file-level
	// rejection: unknown_file, unreadable_file, missing_column), so none of it loaded.
	FileRejection string `json:"file_rejection,omitempty"`
	// Lines counts the non-blank lines of a file rejected unread (unknown_file) when it
	// is text, header included: what it may hold. 0 when not text (e.g. compressed).
	Lines int `json:"lines,omitempty"`
}

// RejectedFile names a file of a day's load rejected whole, for the people who run the
// load: its base name (the supplier's, not a person's), the reason code, and the rows
// it held (read, or for a file not read, its non-blank lines when it is text).
type RejectedFile struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
	Rows   int    `json:"rows,omitempty"`
	Lines  int    `json:"lines,omitempty"`
}

// RejectedFiles lists the files of this run rejected whole, by name.
func (r *LoadResult) RejectedFiles() []RejectedFile {
	var out []RejectedFile
	for _, f := range r.Files {
		if f.FileRejection != "" && !f.Skipped {
			out = append(out, RejectedFile{File: path.Base(f.Key), Reason: f.FileRejection, Rows: f.Rows, Lines: f.Lines})
		}
	}
	return out
}

// LoadResult summarises one day's load. It holds no identifiable data.
type LoadResult struct {
	WaveID        string         `json:"wave_id"`
	ICS           string         `json:"ics"`
	LoadDate      string         `json:"load_date"`
	NoFiles       bool           `json:"no_files"`
	Files         []FileResult   `json:"files"`
	FilesSkipped  int            `json:"files_skipped"`
	RowsRead      int            `json:"rows_read"`
	Loaded        int            `json:"loaded"`
	Rejected      int            `json:"rejected"`
	Duplicates    int            `json:"duplicates"`
	Superseded    int            `json:"superseded"`
	Responses     map[string]int `json:"responses"` // kept responses by respondent type
	Outcomes      map[int]int    `json:"outcomes"`  // outcomes set, by code: completed (kept complete patient responses) and the events
	FreeTextItems int            `json:"free_text_items"`
	// LinkageWithdrawals are the opt-out rows that withdrew only linkage consent (in Loaded).
	LinkageWithdrawals int            `json:"linkage_withdrawals,omitempty"`
	ByReason           map[string]int `json:"rejections_by_reason"`
	Outputs            []string       `json:"outputs"`
	// Reconciled are the kept responses demoted after the write (reconcile): a second
	// kept response for a person, left by a load of the ICS that ran at the same time.
	Reconciled int `json:"reconciled,omitempty"`
}

// LoadedChecksums lists the checksums of files fully loaded by this run (not skipped,
// not of an unknown kind), for a caller that keeps its own AlreadyLoaded record.
func (r *LoadResult) LoadedChecksums() []string {
	var out []string
	for _, f := range r.Files {
		if !f.Skipped && f.Kind != "" {
			out = append(out, f.SHA256)
		}
	}
	return out
}

// responseID is the deterministic id of the response in row of the file with sha: the
// hash of "{sha}:{row}".
func responseID(sha string, row int) string { return rowID('R', "", sha, row) }

// eventID is the deterministic id of the outcome event from row of the file with sha:
// the hash of "outcome:{sha}:{row}".
func eventID(sha string, row int) string { return rowID('E', "outcome:", sha, row) }

// rowID hashes "{prefix}{sha}:{row}" and renders tag and the first 12 bytes of the hash
// in hex. It is called for every row, so it builds the input and the id in stack buffers
// rather than through fmt (the ids are the same).
func rowID(tag byte, prefix, sha string, row int) string {
	var in [128]byte
	b := append(in[:0], prefix...)
	b = append(b, sha...)
	b = append(b, ':')
	b = strconv.AppendInt(b, int64(row), 10)
	h := sha256.Sum256(b)
	var out [25]byte
	out[0] = tag
	hex.Encode(out[1:], h[:12])
	return string(out[:])
}

// responseRowGroup is the row group of the responses object, the largest of a day's
// load: the warehouse scans row groups side by side, so a day's file of 50,000 rows
// loads on every core rather than on one (lake.DefaultRowGroup would make it one group).
const responseRowGroup = 16 * 1024

// candidate is one valid response row before de-duplication.
type candidate struct {
	id         string
	file       int // index into the run's files
	row        int
	recordID   string
	respType   string
	version    string
	channel    string
	receivedAt time.Time
	complete   bool
	answers    []string // by answer column of schemas.ResponseRowLayout; nil until one is answered
	freeText   []answer
	kept       bool
	next       *candidate // the same person's next candidate, in dedupe
}

type answer struct{ question, value string }

// rowResults is what validating rows of a file produced. A large file is validated in
// shards side by side, each into its own rowResults, merged in row order after.
type rowResults struct {
	rejections   []schemas.ResponseRejection
	rejected     map[int]bool
	cands        []*candidate
	outcomes     []schemas.OutcomeEvent
	consent      []schemas.ConsentEvent // withdraw_linkage opt-out rows
	loaded       int                    // outcome and consent events (undelivered, opt-outs)
	otherReasons int
	// Candidates and their answers are handed out of slabs, an allocation per slabRows
	// rows rather than two a row: fewer, larger objects for the garbage collector.
	candSlab   []candidate
	answerSlab []string
}

const slabRows = 512

func (out *rowResults) newCandidate() *candidate {
	if len(out.candSlab) == 0 {
		out.candSlab = make([]candidate, slabRows)
	}
	c := &out.candSlab[0]
	out.candSlab = out.candSlab[1:]
	return c
}

func (out *rowResults) newAnswers(n int) []string {
	if len(out.answerSlab) < n {
		out.answerSlab = make([]string, n*slabRows)
	}
	a := out.answerSlab[:n:n]
	out.answerSlab = out.answerSlab[n:]
	return a
}

// fileWork is a file being loaded in this run.
type fileWork struct {
	rowResults
	res        FileResult
	isResponse bool
	table      *table
	dups       []schemas.DuplicateResponse
	writeMark  bool
}

// Load loads the supplier files for day. See the package documentation.
func Load(ctx context.Context, st store.Store, cfg LoadConfig, day time.Time) (*LoadResult, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	prefix := cfg.Landing
	if prefix == "" {
		prefix = schemas.ResponseLandingPrefix(cfg.WaveID, cfg.ICS, day)
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	res := &LoadResult{
		WaveID: cfg.WaveID, ICS: cfg.ICS, LoadDate: day.Format(time.DateOnly),
		Responses: map[string]int{}, Outcomes: map[int]int{}, ByReason: map[string]int{},
	}
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("responses: list %s: %w", prefix, err)
	}
	if len(infos) == 0 {
		res.NoFiles = true
		audit.Record(ctx, "responses_loaded", res.auditDetails())
		return res, nil
	}

	l := &loader{cfg: cfg, st: st, day: day, questionColumns: map[string]bool{}, answerColumn: map[string]int{}}
	layout := schemas.ResponseRowLayout()
	l.answerColumns = layout.Extras()
	for i, c := range layout.ExtensionColumns() {
		l.answerColumn[c.Name] = i
	}
	for _, qn := range cfg.Questionnaires {
		for _, q := range qn.Questions {
			l.questionColumns[q.ID] = true
			if _, ok := l.answerColumn[q.ID]; q.Closed() && !ok {
				return nil, fmt.Errorf("responses: question %s of %s has no column in the responses table: the catalogue and the questionnaires differ", q.ID, qn.ResolvedName())
			}
		}
	}
	// Files of a known name first: when the same bytes land under a known name and an
	// unknown one, the known one is loaded and the other skipped as the same bytes.
	slices.SortStableFunc(infos, func(a, b store.Info) int {
		_, _, ka := schemas.ClassifyResponseFile(a.Key)
		_, _, kb := schemas.ClassifyResponseFile(b.Key)
		switch {
		case ka && !kb:
			return -1
		case kb && !ka:
			return 1
		}
		return 0
	})
	seenSHA := map[string]bool{}
	var work []*fileWork
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("responses: %w", err)
		}
		if strings.HasSuffix(info.Key, "/") {
			continue // a "directory" placeholder object
		}
		fw, err := l.open(ctx, info, seenSHA)
		if err != nil {
			return nil, err
		}
		if fw.res.Skipped {
			res.FilesSkipped++
			res.Files = append(res.Files, fw.res)
			audit.Record(ctx, "response_file_skipped", map[string]any{
				"wave_id": cfg.WaveID, "ics": cfg.ICS, "file": path.Base(fw.res.Key), "sha256": fw.res.SHA256,
			})
			continue
		}
		work = append(work, fw)
	}
	for i, fw := range work {
		l.validateFile(i, fw)
		// Nothing reads the parsed rows again: dropped, the garbage collector no longer
		// scans their slices of cells while the outputs are built and encoded.
		fw.table = nil
	}
	if err := l.dedupe(ctx, work); err != nil {
		return nil, err
	}
	// Every row is accounted for before anything is written.
	for _, fw := range work {
		for _, c := range fw.cands {
			if c.kept {
				fw.res.Loaded++
			}
		}
		if f := fw.res; f.Rows != f.Loaded+f.Rejected+f.Duplicates {
			return nil, fmt.Errorf("responses: %s: %d rows read but %d loaded + %d rejected + %d duplicates",
				f.Key, f.Rows, f.Loaded, f.Rejected, f.Duplicates)
		}
	}
	for _, fw := range work {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("responses: %w", err)
		}
		if err := l.write(ctx, fw, res); err != nil {
			return nil, err
		}
		f := fw.res
		res.Files = append(res.Files, f)
		res.RowsRead += f.Rows
		res.Loaded += f.Loaded
		res.Rejected += f.Rejected
		res.Duplicates += f.Duplicates
		res.Superseded += f.Superseded
		res.LinkageWithdrawals += f.LinkageWithdrawals
		res.Outputs = append(res.Outputs, f.Outputs...)
		audit.Record(ctx, "response_file_loaded", map[string]any{
			"wave_id": cfg.WaveID, "ics": cfg.ICS, "load_date": res.LoadDate, "file": path.Base(f.Key),
			"kind": f.Kind, "sha256": f.SHA256, "size": f.Size, "rows": f.Rows, "loaded": f.Loaded,
			"rejected": f.Rejected, "duplicates": f.Duplicates, "linkage_withdrawals": f.LinkageWithdrawals,
			"unknown_columns": f.UnknownColumns, "file_rejection": f.FileRejection,
		})
	}
	// Last, once this load's markers are written: a load of another day of the ICS
	// that ran at the same time may have kept a second response for a person.
	key, n, err := l.reconcile(ctx)
	if err != nil {
		return nil, err
	}
	if key != "" {
		res.Reconciled = n
		res.Outputs = append(res.Outputs, key)
		audit.Record(ctx, "responses_reconciled", map[string]any{
			"wave_id": cfg.WaveID, "ics": cfg.ICS, "load_date": res.LoadDate, "demoted": n, "object": key,
		})
	}
	sort.Slice(res.Files, func(i, j int) bool { return res.Files[i].Key < res.Files[j].Key })
	if res.RowsRead != res.Loaded+res.Rejected+res.Duplicates {
		return nil, fmt.Errorf("responses: %d rows read but %d loaded + %d rejected + %d duplicates",
			res.RowsRead, res.Loaded, res.Rejected, res.Duplicates)
	}
	audit.Record(ctx, "responses_loaded", res.auditDetails())
	return res, nil
}

func (r *LoadResult) auditDetails() map[string]any {
	outcomes := map[string]int{}
	for code, n := range r.Outcomes {
		outcomes[fmt.Sprint(code)] = n
	}
	return map[string]any{
		"wave_id": r.WaveID, "ics": r.ICS, "load_date": r.LoadDate, "no_files": r.NoFiles,
		"files": len(r.Files), "files_skipped": r.FilesSkipped, "rows_read": r.RowsRead,
		"loaded": r.Loaded, "rejected": r.Rejected, "duplicates": r.Duplicates, "superseded": r.Superseded, "reconciled": r.Reconciled,
		"responses": r.Responses, "outcomes": outcomes, "free_text_items": r.FreeTextItems,
		"linkage_withdrawals": r.LinkageWithdrawals, "rejections_by_reason": r.ByReason,
	}
}

func (c *LoadConfig) validate() error {
	var errs []error
	if c.WaveID == "" || strings.ContainsAny(c.WaveID, "/=") {
		errs = append(errs, fmt.Errorf("wave id %q is empty or contains / or =", c.WaveID))
	}
	if c.ICS == "" || strings.ContainsAny(c.ICS, "/=") {
		errs = append(errs, fmt.Errorf("ICS %q is empty or contains / or =", c.ICS))
	}
	if c.Known == nil {
		errs = append(errs, errors.New("no Known function"))
	}
	if len(c.Questionnaires) == 0 {
		errs = append(errs, errors.New("no questionnaires"))
	}
	for v, qn := range c.Questionnaires {
		if qn == nil || qn.Version != v {
			errs = append(errs, fmt.Errorf("questionnaire keyed %q is nil or has another version", v))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("responses: invalid load config: %w", errors.Join(errs...))
	}
	return nil
}

type loader struct {
	cfg             LoadConfig
	floorOnce       sync.Once
	floor           time.Time // the day no date of a row can be before (notBefore)
	floorMailing    bool      // floor is the ICS's first mailing day
	st              store.Store
	day             time.Time
	questionColumns map[string]bool
	answerColumn    map[string]int // closed question id to its answer column
	answerColumns   int
}

// notBefore is the start of the earliest day a row's date can be: the day of the ICS's
// first mailing when known (LoadConfig.FirstMailing), else the day ICSs were
// established. A row dated before it (1970-01-01, 1900-01-01) is rejected.
func (l *loader) notBefore() time.Time {
	l.floorOnce.Do(func() {
		l.floor = wavespec.EarliestSamplingDate
		if l.cfg.FirstMailing != nil {
			if t := l.cfg.FirstMailing(); !t.IsZero() {
				t = t.UTC()
				l.floor, l.floorMailing = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
			}
		}
	})
	return l.floor
}

// notBeforeWhat names the floor notBefore gives, for a message.
func (l *loader) notBeforeWhat() string {
	d := l.notBefore().Format(time.DateOnly)
	if l.floorMailing {
		return "the ICS's first mailing (" + d + ")"
	}
	return "ICSs were established (" + d + ")"
}

// maxFileBytes bounds a landing file: each is read into memory whole, with the day's
// other files, and parsing takes several times its size. A day's extract of one ICS is
// a few megabytes (about 300 bytes a response in ice demo's extracts, so 50,000
// responses, far more than a day brings, are some 15 MiB; long comments make it more,
// nowhere near this bound); a file past this bound (a cumulative extract, a field filled by mistake) would take
// the worker's memory at every retry, so it is rejected unread. A variable so a test
// can lower it.
var maxFileBytes int64 = 512 << 20

// readLanding reads a landing file and its SHA-256 and size; a file larger than
// maxFileBytes is hashed as it streams by and not kept (b is nil, tooLarge true).
// listed is the size the listing gave (0 if none): the buffer is that large at once.
func readLanding(ctx context.Context, st store.Store, key string, listed int64) (b []byte, sha string, size int64, tooLarge bool, err error) {
	rc, err := st.Get(ctx, key)
	if err != nil {
		return nil, "", 0, false, err
	}
	defer rc.Close()
	h := sha256.New()
	var buf bytes.Buffer
	if listed > 0 && listed <= maxFileBytes {
		buf.Grow(int(listed) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.TeeReader(io.LimitReader(rc, maxFileBytes+1), h))
	if err != nil {
		return nil, "", 0, false, err
	}
	size = n
	if n > maxFileBytes {
		rest, err := io.Copy(h, rc)
		if err != nil {
			return nil, "", 0, false, err
		}
		return nil, hex.EncodeToString(h.Sum(nil)), size + rest, true, nil
	}
	return buf.Bytes(), hex.EncodeToString(h.Sum(nil)), size, false, nil
}

// open checksums a landing file, decides whether it is skipped, and reads it.
func (l *loader) open(ctx context.Context, info store.Info, seenSHA map[string]bool) (*fileWork, error) {
	b, sha, size, tooLarge, err := readLanding(ctx, l.st, info.Key, info.Size)
	if err != nil {
		return nil, fmt.Errorf("responses: read %s: %w", info.Key, err)
	}
	kind, format, known := schemas.ClassifyResponseFile(info.Key)
	fw := &fileWork{
		res:        FileResult{Key: info.Key, SHA256: sha, Size: size, Kind: kind, Format: format},
		rowResults: rowResults{rejected: map[int]bool{}},
		// A file of an unknown name is marked too once its rejection is written: the
		// rejection then reaches the warehouse with the day's objects (DayObjects
		// passes on only marked files' objects), and a re-run says it was dealt with.
		writeMark: true,
	}
	if seenSHA[sha] {
		fw.res.Skipped = true // the same bytes under a second name in this run
		return fw, nil
	}
	seenSHA[sha] = true
	done := known && l.cfg.AlreadyLoaded != nil && l.cfg.AlreadyLoaded(sha)
	if !done {
		mk := schemas.ResponseLoadMarkerKey(l.cfg.WaveID, l.cfg.ICS, sha)
		done, err = store.Exists(ctx, l.st, mk)
		if err != nil {
			return nil, fmt.Errorf("responses: check load marker of %s: %w", info.Key, err)
		}
		if done && known {
			// The same bytes rejected before under a name the load did not know are
			// loaded now that they come under a known one.
			mb, err := store.ReadAll(ctx, l.st, mk)
			if err != nil {
				return nil, fmt.Errorf("responses: read load marker of %s: %w", info.Key, err)
			}
			var m struct {
				Kind          string `json:"kind"`
				FileRejection string `json:"file_rejection"`
			}
			if err := json.Unmarshal(mb, &m); err != nil {
				return nil, fmt.Errorf("responses: load marker %s: %w", mk, err)
			}
			done = !(m.Kind == "" && m.FileRejection == schemas.RejectUnknownFile)
		}
	}
	if done {
		fw.res.Skipped = true
		return fw, nil
	}
	if !known {
		fw.res.Lines = textLines(b)
		fw.fileReject(l, schemas.RejectUnknownFile, "",
			"file name is not responses_{online|paper|phone}, undelivered or optouts with .csv or .jsonl: the file is not read")
		return fw, nil
	}
	fw.isResponse = kind != schemas.FileUndelivered && kind != schemas.FileOptOuts
	if tooLarge {
		fw.fileReject(l, schemas.RejectUnreadableFile, "",
			fmt.Sprintf("file is larger than %d MiB (%d bytes), far more than a day's extract: the file is not read; send the day's responses only", maxFileBytes>>20, size))
		return fw, nil
	}
	t, err := readTable(b, format)
	var fe *fileError
	switch {
	case errors.As(err, &fe):
		fw.fileReject(l, fe.reason, fe.field, fe.msg)
		return fw, nil
	case err != nil:
		return nil, fmt.Errorf("responses: read %s: %w", info.Key, err)
	}
	fw.table = t
	fw.res.Rows = len(t.records)
	return fw, nil
}

func (fw *fileWork) fileReject(l *loader, reason, field, msg string) {
	fw.rejections = append(fw.rejections, l.rejection(fw, 0, "", field, reason, msg))
	if fw.res.FileRejection == "" {
		fw.res.FileRejection = reason
	}
}

// textLines counts the non-blank lines of b when it is UTF-8 text (no NUL byte), else 0.
func textLines(b []byte) int {
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) {
		return 0
	}
	n := 0
	for ln := range bytes.Lines(b) {
		if len(bytes.TrimSpace(ln)) > 0 {
			n++
		}
	}
	return n
}

func (l *loader) rejection(fw *fileWork, row int, recordID, field, reason, msg string) schemas.ResponseRejection {
	return schemas.ResponseRejection{
		Wave: l.cfg.WaveID, ICS: l.cfg.ICS, LoadDate: l.day, File: path.Base(fw.res.Key), Row: int32(row),
		SurveyRecordID: recordID, Field: field, ReasonCode: reason, Message: msg, SourceSHA256: fw.res.SHA256,
	}
}

func (out *rowResults) reject(l *loader, fw *fileWork, rec *record, recordID, field, reason, msg string) {
	out.rejections = append(out.rejections, l.rejection(fw, rec.row, recordID, field, reason, msg))
	out.rejected[rec.row] = true
}

// minShardRows is the smallest file validated in parallel shards.
var minShardRows = 4096 // a variable so a test can compare sharded and single-pass loads

// validateFile checks every row of a file and turns the valid ones into candidates
// (responses) or outcome events (undelivered, opt-outs).
func (l *loader) validateFile(idx int, fw *fileWork) {
	if fw.table == nil {
		return
	}
	var required []string
	switch fw.res.Kind {
	case schemas.FileUndelivered:
		required = schemas.UndeliveredLayout().RequiredNames()
	case schemas.FileOptOuts:
		required = schemas.OptOutLayout().RequiredNames()
	default:
		required = schemas.ResponseExtractLayout().RequiredNames()
	}
	if fw.res.Format == "csv" {
		have := map[string]bool{}
		for _, c := range fw.table.columns {
			have[c] = true
		}
		var missing []string
		for _, c := range required {
			if !have[c] {
				missing = append(missing, c)
				fw.fileReject(l, schemas.RejectMissingColumn, c, "required column "+c+" is missing: the whole file is rejected")
			}
		}
		if len(missing) > 0 {
			fw.res.Rejected = fw.res.Rows
			return
		}
	}
	fixed := map[string]bool{}
	for _, c := range required {
		fixed[c] = true
	}
	fixed["REASON"] = true
	for _, c := range fw.table.columns {
		if !fixed[c] && !(fw.isResponse && l.questionColumns[c]) {
			fw.res.UnknownColumns = append(fw.res.UnknownColumns, safeColumn(c))
		}
	}
	// The question columns in file order: answers are judged in that order, so the
	// rejections (and so the outputs) are deterministic.
	var questionCols []int
	for i, c := range fw.table.columns {
		if !l.isFixedResponseColumn(c) {
			questionCols = append(questionCols, i)
		}
	}
	// Each question column is looked up in each questionnaire once per file rather than
	// once per row: a day's file has tens of thousands of rows of some thirty answers.
	resolved := make(map[*questionnaire.Questionnaire][]questionColumn, len(l.cfg.Questionnaires))
	for _, qn := range l.cfg.Questionnaires {
		qc := make([]questionColumn, len(questionCols))
		for k, ci := range questionCols {
			if q, ok := qn.Question(fw.table.columns[ci]); ok {
				qc[k] = questionColumn{q: q, answer: l.answerColumn[q.ID]}
			}
		}
		resolved[qn] = qc
	}
	// Rows are independent until de-duplication, so a large file is validated in one
	// shard per CPU; the shards' results are joined in row order, as one pass would give.
	n := len(fw.table.records)
	shards := 1
	if n >= minShardRows {
		shards = runtime.GOMAXPROCS(0)
	}
	parts := make([]rowResults, shards)
	var wg sync.WaitGroup
	for s := range parts {
		lo, hi := n*s/shards, n*(s+1)/shards
		out := &parts[s]
		out.rejected = map[int]bool{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				rec := &fw.table.records[i]
				if rec.malformed != "" {
					out.reject(l, fw, rec, "", "", schemas.RejectMalformedRow, rec.malformed)
					continue
				}
				if fw.isResponse {
					if c := l.validateResponse(fw, out, rec, questionCols, resolved); c != nil {
						c.file = idx
						out.cands = append(out.cands, c)
					}
				} else {
					l.validateEvent(fw, out, rec)
				}
			}
		}()
	}
	wg.Wait()
	for _, p := range parts {
		fw.rejections = append(fw.rejections, p.rejections...)
		for row := range p.rejected {
			fw.rejected[row] = true
		}
		fw.cands = append(fw.cands, p.cands...)
		fw.outcomes = append(fw.outcomes, p.outcomes...)
		fw.consent = append(fw.consent, p.consent...)
		fw.res.Loaded += p.loaded
		fw.res.OtherReasons += p.otherReasons
	}
	fw.res.Rejected = len(fw.rejected)
}

// questionColumn is a question column of a file resolved in one questionnaire.
type questionColumn struct {
	q      *questionnaire.Question // nil when the column is not a question of it
	answer int                     // the question's answer column in the responses row
}

func (l *loader) validateResponse(fw *fileWork, out *rowResults, rec *record, questionCols []int, resolved map[*questionnaire.Questionnaire][]questionColumn) *candidate {
	before := len(out.rejections)
	get := func(col string) string { return strings.TrimSpace(fw.table.value(rec, col)) }
	c := out.newCandidate()
	c.row, c.id = rec.row, responseID(fw.res.SHA256, rec.row)

	c.recordID = get("SURVEY_RECORD_ID")
	var known, invited bool
	if c.recordID != "" {
		known, invited = l.cfg.Known(c.recordID)
	}
	// The rejection names the record only when it is one of this wave and ICS: any other
	// value (a name, an address, an NHS number put in the wrong column) is withheld.
	shownID := shownRecordID(c.recordID, known)
	bad := func(field, reason, msg string) {
		out.reject(l, fw, rec, shownID, field, reason, msg)
	}
	if c.recordID == "" {
		bad("SURVEY_RECORD_ID", schemas.RejectMissingValue, "SURVEY_RECORD_ID is empty")
	}
	c.respType = strings.ToLower(get("RESPONDENT_TYPE"))
	switch c.respType {
	case schemas.RespondentPatient, schemas.RespondentCarer:
	case "":
		bad("RESPONDENT_TYPE", schemas.RejectMissingValue, "RESPONDENT_TYPE is empty")
	default:
		bad("RESPONDENT_TYPE", schemas.RejectBadRespondentType, "RESPONDENT_TYPE must be patient or carer")
	}
	c.version = get("QUESTIONNAIRE_VERSION")
	qn := l.cfg.Questionnaires[c.version]
	switch {
	case c.version == "":
		bad("QUESTIONNAIRE_VERSION", schemas.RejectMissingValue, "QUESTIONNAIRE_VERSION is empty")
	case qn == nil:
		bad("QUESTIONNAIRE_VERSION", schemas.RejectUnknownVersion,
			fmt.Sprintf("version %s is not in use in this wave", safeVersion(c.version)))
	case (c.respType == schemas.RespondentPatient || c.respType == schemas.RespondentCarer) && qn.RespondentType != c.respType:
		bad("QUESTIONNAIRE_VERSION", schemas.RejectVersionMismatch,
			fmt.Sprintf("a %s response names the %s questionnaire %s", c.respType, qn.RespondentType, qn.Version))
	}
	c.channel = strings.ToLower(get("CHANNEL"))
	switch {
	case c.channel == "":
		bad("CHANNEL", schemas.RejectMissingValue, "CHANNEL is empty")
	case c.channel != fw.res.Kind:
		bad("CHANNEL", schemas.RejectBadChannel, fmt.Sprintf("CHANNEL is not %s, the channel of this file", fw.res.Kind))
	}
	switch at := get("RECEIVED_AT"); {
	case at == "":
		bad("RECEIVED_AT", schemas.RejectMissingValue, "RECEIVED_AT is empty")
	default:
		t, err := time.Parse(time.RFC3339, at)
		switch {
		case err != nil:
			bad("RECEIVED_AT", schemas.RejectBadTimestamp, "RECEIVED_AT is not an RFC 3339 timestamp")
		case t.After(l.day.Add(25 * time.Hour)):
			bad("RECEIVED_AT", schemas.RejectFutureTimestamp, "RECEIVED_AT is after the load day")
		case t.Before(l.notBefore()):
			bad("RECEIVED_AT", schemas.RejectEarlyTimestamp, "RECEIVED_AT is before "+l.notBeforeWhat())
		default:
			c.receivedAt = t.UTC()
		}
	}
	switch strings.ToUpper(get("COMPLETE")) {
	case "Y":
		c.complete = true
	case "N":
	case "":
		bad("COMPLETE", schemas.RejectMissingValue, "COMPLETE is empty")
	default:
		bad("COMPLETE", schemas.RejectBadComplete, "COMPLETE must be Y or N")
	}
	if c.recordID != "" {
		switch {
		case !known:
			bad("SURVEY_RECORD_ID", schemas.RejectUnknownRecord, unknownRecordMessage(c.recordID))
		case !invited && c.respType == schemas.RespondentCarer:
			bad("SURVEY_RECORD_ID", schemas.RejectCarerNoInvitation, "carer response but no invitation was sent to the patient")
		case !invited:
			bad("SURVEY_RECORD_ID", schemas.RejectNotInvited, "response for a record that was never invited")
		}
	}
	// Answers, in header order so outputs are deterministic.
	closed := 0
	qcols := resolved[qn]
	for k, ci := range questionCols {
		if ci >= len(rec.values) {
			continue // a JSON line without this key
		}
		col, raw := fw.table.columns[ci], rec.values[ci]
		if strings.TrimSpace(raw) == "" {
			continue
		}
		if qn == nil {
			continue // the version is already rejected; answers cannot be judged
		}
		q := qcols[k].q
		if q == nil {
			bad(safeColumn(col), schemas.RejectQuestionNotInVersion, fmt.Sprintf("%s is not a question of %s", safeColumn(col), qn.ResolvedName()))
			continue
		}
		if q.Kind == questionnaire.FreeText {
			c.freeText = append(c.freeText, answer{q.ID, cleanFreeText(raw, q.MaxLength)})
			continue
		}
		cell, msg := closedAnswer(q, col, raw)
		if msg != "" {
			bad(col, schemas.RejectInvalidAnswer, msg)
			continue
		}
		if cell == "" {
			continue
		}
		if c.answers == nil {
			c.answers = out.newAnswers(l.answerColumns)
		}
		c.answers[qcols[k].answer] = cell
		closed++
	}
	if len(out.rejections) > before {
		return nil
	}
	if closed == 0 {
		bad("", schemas.RejectBlankResponse, "no closed question answered: a blank return is a decline, not a response")
		return nil
	}
	return c
}

// closedAnswer judges the raw answer (not blank) to the closed question q in column col:
// the cell to store ("" for none), or the message of the invalid-answer rejection.
func closedAnswer(q *questionnaire.Question, col, raw string) (cell, msg string) {
	if q.Kind == questionnaire.Single && strings.Contains(raw, questionnaire.MultiSeparator) {
		return "", fmt.Sprintf("more than one code for single-choice question %s", col)
	}
	if q.Kind != questionnaire.Multi {
		// One code, as SplitAnswer and canonicalAnswer would give it, without the
		// one-element slice they would allocate for every answer of every row.
		code := strings.TrimSpace(raw)
		if !q.HasOption(code) {
			return "", fmt.Sprintf("%s is not an option of %s", safeCode(code), col)
		}
		return code, ""
	}
	codes := q.SplitAnswer(raw)
	cell, ok := canonicalAnswer(q, codes)
	if !ok {
		for _, code := range codes {
			if !q.HasOption(code) {
				return "", fmt.Sprintf("%s is not an option of %s", safeCode(code), col)
			}
		}
	}
	return cell, ""
}

// canonicalAnswer is the stored form of a closed answer: the code of a Single question;
// the distinct codes of a Multi question in option order, joined by ";" — so the same
// ticks give the same cell however the supplier ordered them. ok is false when a code
// is not an option of q.
func canonicalAnswer(q *questionnaire.Question, codes []string) (cell string, ok bool) {
	if len(codes) == 1 {
		return codes[0], q.HasOption(codes[0])
	}
	ticked := make([]bool, len(q.Options))
	for _, code := range codes {
		found := false
		for i := range q.Options {
			if q.Options[i].Code == code {
				ticked[i], found = true, true
				break
			}
		}
		if !found {
			return "", false
		}
	}
	var b strings.Builder
	for i, t := range ticked {
		if t {
			if b.Len() > 0 {
				b.WriteString(questionnaire.MultiSeparator)
			}
			b.WriteString(q.Options[i].Code)
		}
	}
	return b.String(), true
}

func (l *loader) isFixedResponseColumn(col string) bool {
	_, ok := schemas.ResponseExtractLayout().Column(col)
	return ok
}

// shownRecordID is the survey record id a rejection may hold: the id itself only when
// it is a record of this wave and ICS and has the form of one ("S" and
// pseudo.SurveyRecordIDLen-1 characters of pseudo.AccessCodeAlphabet); otherwise "",
// as whatever else the supplier put in the column (a name, an address, an e-mail
// address, an NHS number) must not reach the lake or the warehouse. The file and row
// still identify the row for the supplier.
func shownRecordID(id string, known bool) string {
	if known && looksLikeRecordID(id) {
		return id
	}
	return ""
}

// looksLikeRecordID reports whether id has the form of a survey record id.
func looksLikeRecordID(id string) bool {
	if len(id) != pseudo.SurveyRecordIDLen || id[0] != 'S' {
		return false
	}
	for i := 1; i < len(id); i++ {
		if strings.IndexByte(pseudo.AccessCodeAlphabet, id[i]) < 0 {
			return false
		}
	}
	return true
}

// unknownRecordMessage is the message of an unknown_record_id rejection; it never holds
// the value.
func unknownRecordMessage(id string) string {
	if looksLikeRecordID(id) {
		return "no such survey record in this wave and ICS (the value has the form of a survey record id: " +
			"a record of another ICS or wave?; value withheld)"
	}
	return "no such survey record in this wave and ICS (the value is not a survey record id; value withheld)"
}

// safeVersion shows a version in a message only when it has the shape of one
// ("patient-2026.1", "carer-2031.12": a respondent type, a year and a number);
// anything else in the column (a shifted column's surname, NHS number, postcode or
// date of birth) is withheld, as the message goes to the lake and the warehouse.
func safeVersion(v string) string {
	if !versionShape.MatchString(v) {
		return "(value withheld: not a questionnaire version)"
	}
	return fmt.Sprintf("%q", v)
}

// versionShape is the form of a questionnaire version.
var versionShape = regexp.MustCompile(`^(patient|carer)-[0-9]{4}\.[0-9]{1,3}$`)

// cleanFreeText removes control characters (keeping line breaks and tabs), trims, and
// truncates to max runes.
func cleanFreeText(s string, max int) string {
	if plainText(s) {
		// Nothing for strings.Map to remove, and one rune per byte.
		s = strings.TrimSpace(s)
		if max > 0 && len(s) > max {
			s = s[:max]
		}
		return s
	}
	return cleanFreeTextPlain(s, max)
}

// cleanFreeTextPlain is cleanFreeText for any text, rune by rune: the general path,
// and the reference the plain-ASCII fast path is tested against.
func cleanFreeTextPlain(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r == '\r' || unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if max > 0 && utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max])
	}
	return s
}

// plainText reports whether s is printable ASCII, line breaks and tabs only: the
// common comment, which cleanFreeText can pass through without re-encoding it.
func plainText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\n' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

func parseEventTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// validateEvent turns an undelivered or opt-out row into an outcome event, or a
// withdraw_linkage opt-out row into a consent-withdrawn event.
func (l *loader) validateEvent(fw *fileWork, out *rowResults, rec *record) {
	get := func(col string) string { return strings.TrimSpace(fw.table.value(rec, col)) }
	timeCol, outcome, reasons := "RETURNED_AT", int32(schemas.OutcomeUndelivered), schemas.UndeliveredReasons
	if fw.res.Kind == schemas.FileOptOuts {
		timeCol, outcome, reasons = "OPTED_OUT_AT", int32(schemas.OutcomeOptedOut), schemas.OptOutReasons
	}
	id := get("SURVEY_RECORD_ID")
	before := len(out.rejections)
	known := false
	if id == "" {
		out.reject(l, fw, rec, "", "SURVEY_RECORD_ID", schemas.RejectMissingValue, "SURVEY_RECORD_ID is empty")
	} else if known, _ = l.cfg.Known(id); !known {
		out.reject(l, fw, rec, "", "SURVEY_RECORD_ID", schemas.RejectUnknownRecord, unknownRecordMessage(id))
	}
	shownID := shownRecordID(id, known)
	var at time.Time
	if raw := get(timeCol); raw == "" {
		out.reject(l, fw, rec, shownID, timeCol, schemas.RejectMissingValue, timeCol+" is empty")
	} else if t, ok := parseEventTime(raw); !ok {
		out.reject(l, fw, rec, shownID, timeCol, schemas.RejectBadTimestamp, timeCol+" is not an RFC 3339 timestamp or yyyy-mm-dd date")
	} else if t.After(l.day.Add(25 * time.Hour)) {
		out.reject(l, fw, rec, shownID, timeCol, schemas.RejectFutureTimestamp, timeCol+" is after the load day")
	} else if t.Before(l.notBefore()) {
		out.reject(l, fw, rec, shownID, timeCol, schemas.RejectEarlyTimestamp, timeCol+" is before "+l.notBeforeWhat())
	} else {
		at = t
	}
	if len(out.rejections) > before {
		return
	}
	reason := strings.ToLower(get("REASON"))
	if reason != "" && !contains(reasons, reason) {
		reason = "other"
		out.otherReasons++
	}
	row := int64(rec.row)
	if fw.res.Kind == schemas.FileOptOuts && reason == schemas.OptOutWithdrawLinkage {
		// Linkage consent only: no outcome event, so the person's outcome (and the next
		// mailing's selection) is untouched. The event is the one linkage.WithdrawalFromOptOut
		// derives from the same row (a test in package linkage holds them equal).
		ref := fw.res.SHA256 + ":" + strconv.FormatInt(row, 10)
		out.consent = append(out.consent, schemas.ConsentEvent{
			EventID: schemas.ConsentEventID(schemas.ConsentSourceOptOut, ref, schemas.ConsentWithdrawn), WaveID: l.cfg.WaveID,
			ICS: l.cfg.ICS, SurveyRecordID: id, RespondentType: schemas.RespondentPatient, Event: schemas.ConsentWithdrawn,
			At: at.UTC(), SourceKind: schemas.ConsentSourceOptOut, SourceRef: ref, SourceFile: path.Base(fw.res.Key),
			SourceRow: row, SourceSHA256: fw.res.SHA256, Reason: reason,
		})
		out.loaded++
		return
	}
	if fw.res.Kind == schemas.FileOptOuts && reason == schemas.OptOutDeceased {
		outcome = schemas.OutcomeDeceased
	}
	out.outcomes = append(out.outcomes, schemas.OutcomeEvent{
		EventID: eventID(fw.res.SHA256, rec.row), Wave: l.cfg.WaveID, ICS: l.cfg.ICS, LoadDate: l.day, SurveyRecordID: id, Outcome: outcome, At: at,
		Reason: reason, SourceFile: path.Base(fw.res.Key), SourceSHA256: fw.res.SHA256, SourceRow: &row,
	})
	out.loaded++
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// dedupe keeps one response per person and respondent type: the first complete one by
// received time, else the first incomplete one; a response another load kept counts,
// and is discarded (a duplicates record of this load) when this day's is preferred.
func (l *loader) dedupe(ctx context.Context, work []*fileWork) error {
	// A person's candidates are chained through candidate.next, in the order met, so
	// the many who answered once cost one map entry and no slice.
	type chain struct{ head, tail *candidate }
	n := 0
	for _, fw := range work {
		n += len(fw.cands)
	}
	groups := make(map[[2]string]chain, n)
	keys := make([][2]string, 0, n)
	for _, fw := range work {
		for _, c := range fw.cands {
			k := [2]string{c.recordID, c.respType}
			ch, ok := groups[k]
			if !ok {
				keys = append(keys, k)
				groups[k] = chain{c, c}
				continue
			}
			ch.tail.next = c
			ch.tail = c
			groups[k] = ch
		}
	}
	if len(keys) == 0 {
		return nil
	}
	prior := l.cfg.Prior
	if prior == nil {
		p, err := PriorFromLake(ctx, l.st, l.cfg.WaveID, l.cfg.ICS)
		if err != nil {
			return err
		}
		prior = p
	}
	// The ids of this run's candidates, built only when a prior response is found: a
	// day without earlier loads never needs them.
	var inRun map[string]bool
	var cs []*candidate
	for _, k := range keys {
		cs = cs[:0]
		for c := groups[k].head; c != nil; c = c.next {
			cs = append(cs, c)
		}
		if len(cs) > 1 { // most people answer once
			slices.SortStableFunc(cs, arrivalOrder)
		}
		p, hasPrior := prior(k[0], k[1])
		if hasPrior && inRun == nil {
			inRun = map[string]bool{}
			for _, fw := range work {
				for _, c := range fw.cands {
					inRun[c.id] = true
				}
			}
		}
		if hasPrior && inRun[p.ResponseID] {
			// A previous attempt of this very load wrote it; judge the day afresh.
			hasPrior = false
		}
		// The run's own choice: the first complete candidate by received time, else
		// the first. Against a prior response the preferred of the two is kept, by
		// preferred: which load met a person first does not decide.
		best := cs[0]
		for _, c := range cs {
			if c.complete {
				best = c
				break
			}
		}
		var keep *candidate
		reason := schemas.DuplicateSameDay
		switch {
		case !hasPrior || preferred(best.prior(), p):
			keep = best
		case p.Complete:
			reason = schemas.DuplicateEarlierDay
		default:
			reason = schemas.DuplicateIncompleteLater
		}
		keptID := p.ResponseID
		if keep != nil {
			keep.kept = true
			keptID = keep.id
			if hasPrior {
				why := schemas.DuplicateSupersededByDone
				if p.Complete || !keep.complete {
					why = schemas.DuplicateOfFirstReceived
				}
				fw := work[keep.file]
				fw.dups = append(fw.dups, l.duplicate(k, keep.id, p.ResponseID, p.ReceivedAt, p.Complete, p.Channel,
					why, fw.res.SHA256))
				fw.res.Superseded++
			}
		}
		for _, c := range cs {
			if c.kept {
				continue
			}
			fw := work[c.file]
			fw.dups = append(fw.dups, l.duplicate(k, keptID, c.id, c.receivedAt, c.complete, c.channel, reason, fw.res.SHA256))
			fw.res.Duplicates++
		}
	}
	return nil
}

// prior is c as the response a later load would find kept.
func (c *candidate) prior() PriorResponse {
	return PriorResponse{ResponseID: c.id, Complete: c.complete, ReceivedAt: c.receivedAt, Channel: c.channel}
}

// arrivalOrder orders a person's candidates by received time, then by file and row.
func arrivalOrder(a, b *candidate) int {
	if c := a.receivedAt.Compare(b.receivedAt); c != 0 {
		return c
	}
	if c := cmp.Compare(a.file, b.file); c != 0 {
		return c
	}
	return cmp.Compare(a.row, b.row)
}

func (l *loader) duplicate(k [2]string, kept, discarded string, at time.Time, complete bool, channel, reason, sha string) schemas.DuplicateResponse {
	return schemas.DuplicateResponse{
		Wave: l.cfg.WaveID, ICS: l.cfg.ICS, LoadDate: l.day, SurveyRecordID: k[0], RespondentType: k[1],
		KeptResponseID: kept, DiscardedResponseID: discarded, DiscardedReceivedAt: at,
		DiscardedComplete: complete, DiscardedChannel: channel, Reason: reason, SourceSHA256: sha,
	}
}

// write stores a file's outputs, then its load marker.
func (l *loader) write(ctx context.Context, fw *fileWork, res *LoadResult) error {
	part := func(table schemas.LakeTable) string {
		return schemas.ResponsePartKey(table, l.cfg.WaveID, l.cfg.ICS, l.day, fw.res.SHA256)
	}
	type output struct {
		key   string
		rows  int
		write func(key string) error
		err   error
	}
	// The objects are independent, so they are encoded side by side (Parquet encoding is
	// CPU-bound); each is still one atomic Put, and the marker waits for all of them.
	var (
		outputs []*output
		wg      sync.WaitGroup
	)
	start := func(o *output) {
		outputs = append(outputs, o)
		if o.rows == 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := o.write(o.key); err != nil {
				o.err = fmt.Errorf("responses: write %s: %w", o.key, err)
			}
		}()
	}

	// The responses object takes longest to encode, so it starts before the other
	// objects' rows are built.
	rows := make([]schemas.ResponseRow, 0, len(fw.cands))
	for _, c := range fw.cands {
		if !c.kept {
			continue
		}
		res.Responses[c.respType]++
		rows = append(rows, schemas.ResponseRow{
			ResponseID: c.id, Wave: l.cfg.WaveID, ICS: l.cfg.ICS, LoadDate: l.day, SurveyRecordID: c.recordID,
			RespondentType: c.respType, QuestionnaireVersion: c.version, Channel: c.channel,
			ReceivedAt: c.receivedAt, Complete: c.complete, SourceSHA256: fw.res.SHA256, Answers: c.answers,
		})
	}
	start(&output{key: part(schemas.LakeResponses), rows: len(rows), write: func(k string) error {
		return lake.PutRowGroups(ctx, l.st, k, schemas.ResponseRowLayout(), rows, responseRowGroup)
	}})

	var texts []schemas.FreeTextRow
	for _, c := range fw.cands {
		if !c.kept {
			continue
		}
		for _, a := range c.freeText {
			if a.value == "" {
				continue
			}
			texts = append(texts, schemas.FreeTextRow{
				ResponseID: c.id, Wave: l.cfg.WaveID, ICS: l.cfg.ICS, LoadDate: l.day,
				RespondentType: c.respType, QuestionID: a.question, Text: a.value,
			})
		}
		if c.complete && c.respType == schemas.RespondentPatient {
			res.Outcomes[schemas.OutcomeCompleted]++
		}
	}
	for _, o := range fw.outcomes {
		res.Outcomes[int(o.Outcome)]++
	}
	fw.res.LinkageWithdrawals = len(fw.consent)
	for _, r := range fw.rejections {
		res.ByReason[r.ReasonCode]++
	}
	res.FreeTextItems += len(texts)
	fw.res.Rejections = len(fw.rejections)

	start(&output{key: schemas.FreeTextKey(l.cfg.WaveID, l.cfg.ICS, l.day, fw.res.SHA256), rows: len(texts), write: func(k string) error {
		return lake.PutRows(ctx, l.st, k, schemas.FreeTextLayout(), texts)
	}})
	start(&output{key: part(schemas.LakeResponseOutcomes), rows: len(fw.outcomes), write: func(k string) error {
		return lake.PutRows(ctx, l.st, k, schemas.OutcomeEventLayout(), fw.outcomes)
	}})
	start(&output{key: schemas.LinkageOptOutConsentKey(l.cfg.WaveID, l.cfg.ICS, fw.res.SHA256), rows: len(fw.consent), write: func(k string) error {
		return lake.PutRows(ctx, l.st, k, schemas.ConsentEventLayout(), fw.consent)
	}})
	start(&output{key: part(schemas.LakeResponseRejections), rows: len(fw.rejections), write: func(k string) error {
		return lake.PutRows(ctx, l.st, k, schemas.ResponseRejectionLayout(), fw.rejections)
	}})
	start(&output{key: part(schemas.LakeDuplicates), rows: len(fw.dups), write: func(k string) error {
		return lake.PutRows(ctx, l.st, k, schemas.DuplicateResponseLayout(), fw.dups)
	}})
	wg.Wait()
	var errs []error
	for _, o := range outputs {
		errs = append(errs, o.err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, o := range outputs {
		if o.rows > 0 {
			fw.res.Outputs = append(fw.res.Outputs, o.key)
		}
	}
	if !fw.writeMark {
		return nil
	}
	marker := struct {
		FileResult
		WaveID   string `json:"wave_id"`
		ICS      string `json:"ics"`
		LoadDate string `json:"load_date"`
	}{fw.res, l.cfg.WaveID, l.cfg.ICS, res.LoadDate}
	b, err := json.MarshalIndent(marker, "", "  ")
	if err != nil {
		return fmt.Errorf("responses: encode load marker: %w", err)
	}
	mk := schemas.ResponseLoadMarkerKey(l.cfg.WaveID, l.cfg.ICS, fw.res.SHA256)
	if err := store.PutBytes(ctx, l.st, mk, b); err != nil {
		return fmt.Errorf("responses: write load marker %s: %w", mk, err)
	}
	return nil
}
