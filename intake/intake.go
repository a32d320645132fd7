// Package intake checks and loads the two files an ICS sends for a wave — the sample
// file (analysis variables) and the mailing file (contact details), joined by the ICS's
// RECORD_ID (SPEC §3–4) — and produces:
//
//   - the pseudonymised analysis records of the accepted sample, in the lake
//     (lake/sample/wave=W/ics=I/sample.parquet, schemas.SampleRecord);
//   - the identifiable contact records of the same people, in the restricted area
//     (restricted/W/I/contacts.parquet, schemas.Contact), each with its survey record id
//     and access code;
//   - a rejection and exclusion report for the ICS beside the sample file
//     (rejections.csv, schemas.RejectionRow), whose messages never repeat personal data;
//   - a Result with the counts, the reconciliation and the figures of the sample
//     declaration that is signed off before any mailing.
//
// # Passes
//
// The files are streamed, never held in memory, and no per-record state is kept in
// memory either: peak memory does not grow with the files. What one pass needs from
// another goes to temporary spill files, hash-partitioned by RECORD_ID (or NHS
// number) so that each partition covers about partitionBytes of input and is joined
// in memory on its own (spill.go). The passes are:
//
//  1. the mailing file, each row checked, and (side by side with it) the sample file,
//     its RECORD_IDs and NHS numbers: both spilled;
//  2. per partition: the sample rows joined with the mailing rows of their RECORD_ID,
//     and repeated NHS numbers found (every occurrence of a repeated RECORD_ID or NHS
//     number is rejected, so these must be known before any row is judged);
//  3. the sample file again: each row checked, joined, excluded or accepted, and the
//     analysis record written; the outcome of each spilled, with the person's HMAC
//     (one per accepted person: it gives both the survey record id and the access
//     code);
//  4. per partition: each mailing row joined with the outcome of its sample record;
//  5. the mailing file again: contact records written for accepted people,
//     mailing-file findings reported (a row the first pass found nothing wrong with
//     is not checked again).
//
// Passes 3 and 5 read each row's partition results in row order, so the outputs and
// the report are in the files' row order whatever the partitioning. The first pass
// over each input takes its SHA-256 (for the audit trail and the declaration) and its
// fingerprint: size, rows and CRC-32C. The later pass must find the same fingerprint,
// or the intake fails with ErrInputChanged before anything is stored.
//
// # Dispositions
//
// Every sample row ends as exactly one of accepted, excluded (valid, but outside the
// cohort: frailty fit or mild, under 18, registered under 6 months, type 1 opt-out,
// dissent, no UK postal address: see below) or rejected (an error the ICS must
// correct). A record
// with any error is rejected, even if it would also be excluded. Every mailing row ends
// as used (its person accepted), excluded, or rejected (on its own account, or because
// its sample record was). Both reconciliations are asserted before anything is written.
// A bad mobile number only means no SMS.
//
// # No UK postal address
//
// Patients without a UK postal address are outside the cohort (brochure p. 17), so
// such a record is excluded with reason NO_UK_POSTAL_ADDRESS, not rejected. A record
// has no UK postal address when its POSTCODE is an NHS pseudo-postcode (ZZ99, in
// either file), or when its address is abroad: the mailing file's POSTCODE is empty or
// not a UK postcode, and its last address line (or the POSTCODE field itself) is
// nothing but the name of a country outside the UK (codes.ForeignCountry: "France",
// "U.S.A.", "Republic of Ireland"; never England, Wales, Scotland, Northern Ireland,
// the UK or a Crown Dependency), and the sample file's POSTCODE is empty or not a UK
// postcode either. An address abroad needs no UK address shape (two lines and a
// postcode). A UK address whose postcode is missing or malformed is still rejected
// (POSTCODE_INVALID) for the ICS to correct, and a sample file giving a UK postcode
// for an address the mailing file has abroad is rejected (POSTCODE_MISMATCH).
//
// # Idempotency
//
// Outputs are built in temporary files and stored with one Put each, replacing what is
// there. Survey record ids and access codes are HMACs of (wave, ICS, RECORD_ID), so a
// retried intake of the same files writes byte-identical objects.
//
// # Errors
//
// A file that cannot be read as the contract requires gives a *FileError (not
// retryable). A Config that cannot work wraps ErrInvalidConfig. Store errors are
// returned wrapped, and are worth retrying.
package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path"
	"strings"
	"sync"
	"time"

	"icesurvey/audit"
	"icesurvey/codes"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// DefaultMinEligible is the smallest starting sample per ICS (SPEC §3).
const DefaultMinEligible = 4000

// MaxRecordIDLen is the longest RECORD_ID accepted.
const MaxRecordIDLen = 64

// Config says which wave and ICS the files belong to and how to judge them.
type Config struct {
	WaveID       string
	ICS          string    // ICB ODS code every row's ICS_CODE must carry
	SamplingDate time.Time // ages, eligibility and registration length are judged on this calendar date
	MinEligible  int       // eligible records wanted; 0 means DefaultMinEligible
	PseudonymKey []byte    // project HMAC key (at least pseudo.MinKeyLen bytes)
}

// Input names the two files in the store. The format follows the extension: .csv
// (UTF-8) or .xlsx (first worksheet).
type Input struct {
	SampleKey  string
	MailingKey string
}

// Result is the outcome of an intake. It holds no personal data.
type Result struct {
	WaveID string `json:"wave_id"`
	ICS    string `json:"ics"`

	SampleKey     string `json:"sample_key"`
	MailingKey    string `json:"mailing_key"`
	SampleSHA256  string `json:"sample_sha256"`
	MailingSHA256 string `json:"mailing_sha256"`
	SampleBytes   int64  `json:"sample_bytes"`
	MailingBytes  int64  `json:"mailing_bytes"`

	// Sample rows: RowsRead = Accepted + Excluded + Rejected.
	RowsRead int `json:"rows_read"`
	Accepted int `json:"accepted"`
	Excluded int `json:"excluded"`
	Rejected int `json:"rejected"`
	// ByReason counts excluded and rejected sample rows by their first reason; it sums
	// to Excluded + Rejected.
	ByReason map[string]int `json:"by_reason"`

	// Mailing rows: MailingRowsRead = MailingUsed + MailingExcluded + MailingRejected,
	// and MailingUsed = Accepted.
	MailingRowsRead int `json:"mailing_rows_read"`
	MailingUsed     int `json:"mailing_used"`
	MailingExcluded int `json:"mailing_excluded"`
	MailingRejected int `json:"mailing_rejected"`
	// MailingByReason counts rejected mailing rows by first reason (including
	// SAMPLE_RECORD_REJECTED); it sums to MailingRejected.
	MailingByReason map[string]int `json:"mailing_by_reason"`

	// NoSMS counts accepted people without a usable mobile number; MobileUnusable
	// those of them whose MOBILE was filled in but is not a UK mobile number.
	NoSMS          int `json:"no_sms"`
	MobileUnusable int `json:"mobile_unusable"`

	// Findings is the number of lines in the report (a row may have several).
	Findings int `json:"findings"`

	// Shortfall is how many eligible records the sample lacks (MinEligible − Accepted,
	// or 0). A shortfall is flagged, not an error.
	Shortfall int      `json:"shortfall"`
	Warnings  []string `json:"warnings"`

	Declaration Declaration `json:"declaration"`

	SampleParquetKey    string `json:"sample_parquet_key"`
	SampleParquetSHA256 string `json:"sample_parquet_sha256"`
	ContactsKey         string `json:"contacts_key"`
	ContactsSHA256      string `json:"contacts_sha256"`
	ReportKey           string `json:"report_key"`
	ReportSHA256        string `json:"report_sha256"`
}

// Declaration holds the figures of the sample declaration an ICS signs off before any
// mailing: the size and make-up of the accepted sample.
type Declaration struct {
	WaveID       string `json:"wave_id"`
	ICS          string `json:"ics"`
	ICSName      string `json:"ics_name,omitempty"`
	SamplingDate string `json:"sampling_date"` // yyyy-mm-dd

	SampleSHA256  string `json:"sample_sha256"`
	MailingSHA256 string `json:"mailing_sha256"`

	RowsRead    int  `json:"rows_read"`
	Eligible    int  `json:"eligible"` // accepted records
	Excluded    int  `json:"excluded"`
	Rejected    int  `json:"rejected"`
	MinEligible int  `json:"min_eligible"`
	Shortfall   int  `json:"shortfall"`
	MeetsTarget bool `json:"meets_target"`

	Practices        int           `json:"practices"`
	SmallestPractice PracticeCount `json:"smallest_practice"`
	LargestPractice  PracticeCount `json:"largest_practice"`

	ByAgeBand   map[string]int `json:"by_age_band"`
	ByGender    map[string]int `json:"by_gender"`
	ByEFIBand   map[string]int `json:"by_efi_band"`
	ByEthnicity map[string]int `json:"by_ethnicity"`

	ExcludedByReason map[string]int `json:"excluded_by_reason"`
	RejectedByReason map[string]int `json:"rejected_by_reason"`

	WithMobile int `json:"with_mobile"`
}

// PracticeCount is one GP practice's contribution to the sample.
type PracticeCount struct {
	Code    string `json:"code"`
	Records int    `json:"records"`
}

// Run checks the sample and mailing files in, writes the outputs and returns the result.
func Run(ctx context.Context, st store.Store, cfg Config, in Input) (*Result, error) {
	r, err := newRun(ctx, st, cfg, in)
	if err != nil {
		return nil, err
	}
	defer r.cleanup()
	start := time.Now()
	r.phases.start = start
	if err := r.joinFiles(); err != nil {
		return nil, err
	}
	if err := r.reconcile(); err != nil {
		return nil, err
	}
	r.declare()
	r.phases.mark("reconcile")
	if err := r.store(); err != nil {
		return nil, err
	}
	r.phases.mark("store")
	r.recordAudit()
	slog.InfoContext(ctx, "sample intake done", "wave", cfg.WaveID, "ics", cfg.ICS,
		"rows", r.res.RowsRead, "accepted", r.res.Accepted, "excluded", r.res.Excluded,
		"rejected", r.res.Rejected, "mailing_rows", r.res.MailingRowsRead, "shortfall", r.res.Shortfall,
		"seconds", time.Since(start).Seconds(), "phase_seconds", r.phases.attrs())
	return r.res, nil
}

// entry is the per-RECORD_ID state of the join (kept small: one per person).
type entry struct {
	nhs       uint64        // accepted: NHS number for the contact record
	person    pseudo.Person // accepted: whence the survey record id and access code
	dob       int32         // accepted: date of birth, days since 1970-01-01
	mailRow   int32         // first mailing row with this RECORD_ID
	sampleRow int32         // first sample row with this RECORD_ID
	idx       int32         // the RECORD_ID's number in its spill partition
	postcode  [8]byte       // mailing postcode, normalised, NUL padded
	mailN     uint8         // mailing rows with this RECORD_ID (saturating)
	sampleN   uint8         // sample rows with this RECORD_ID (saturating)
	mailIssue uint8         // index+1 in mailingIssueCodes of the mailing row's first finding
	rowIssue  uint8         // k records: like mailIssue, of this mailing row
	flags     uint8
	state     uint8
	gender    uint8 // accepted: index+1 in genderCodes
}

const (
	flagHasMobile      = 1 << iota // a usable mobile number
	flagMobileUnusable             // MOBILE filled in but not a UK mobile
	flagNoUKAddress                // pseudo-postcode: no UK postal address
	flagAbroad                     // mailing address abroad: no UK postcode, a country outside the UK named
)

const (
	stateNone = iota
	stateAccepted
	stateExcluded
	stateRejected
)

func sat(n uint8) uint8 {
	if n == math.MaxUint8 {
		return n
	}
	return n + 1
}

// finding is one report line's worth of problem with a row.
type finding struct {
	field, reason, msg string
}

type run struct {
	ctx context.Context
	st  store.Store
	cfg Config
	in  Input
	res *Result

	sampling time.Time // sampling date, midnight UTC
	// samplingDay and regCutoff are the dates every sample row is compared with:
	// the sampling date, and the last registration date of at least 6 months.
	samplingDay, regCutoff codes.Date
	icsName                string

	sample   *sampleSink
	contacts *contactSink
	sampleRp *reportFile
	mailRp   *reportFile

	tally     tally
	phases    phases
	mailingFP fingerprint // the mailing file as its first pass found it
}

func newRun(ctx context.Context, st store.Store, cfg Config, in Input) (*run, error) {
	if cfg.MinEligible == 0 {
		cfg.MinEligible = DefaultMinEligible
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case cfg.WaveID == "":
		return nil, bad("WaveID is empty")
	case !codes.ValidICSCode(cfg.ICS):
		return nil, bad("ICS %q is not an ICB ODS code", cfg.ICS)
	case cfg.SamplingDate.IsZero():
		return nil, bad("SamplingDate is not set")
	case cfg.MinEligible < 0:
		return nil, bad("MinEligible is negative")
	case in.SampleKey == "" || in.MailingKey == "":
		return nil, bad("both SampleKey and MailingKey are needed")
	case in.SampleKey == in.MailingKey:
		return nil, bad("SampleKey and MailingKey are the same object")
	}
	if err := pseudo.CheckKey(cfg.PseudonymKey); err != nil {
		return nil, bad("%v", err)
	}
	for _, k := range []string{in.MailingKey, in.SampleKey} {
		if err := checkFormat(k); err != nil {
			return nil, err
		}
	}
	res := &Result{
		WaveID: cfg.WaveID, ICS: cfg.ICS, SampleKey: in.SampleKey, MailingKey: in.MailingKey,
		ByReason: map[string]int{}, MailingByReason: map[string]int{},
		SampleParquetKey: schemas.SampleKey(cfg.WaveID, cfg.ICS),
		ContactsKey:      schemas.ContactsKey(cfg.WaveID, cfg.ICS),
		ReportKey:        schemas.RejectionReportKey(in.SampleKey),
	}
	for _, k := range []string{in.SampleKey, in.MailingKey, res.SampleParquetKey, res.ContactsKey, res.ReportKey} {
		if err := store.ValidateKey(k); err != nil {
			return nil, bad("%v", err)
		}
	}
	y, m, d := cfg.SamplingDate.Date()
	sampling := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// A phase-1 ICS by its phase-1 name (QHM is the Durham place); any other board by
	// the table of England's 42 (a phase-2 ICS is named on its declaration too).
	name, ok := codes.ICSName(cfg.ICS)
	if !ok {
		name = schemas.ICSName(cfg.ICS)
	}
	return &run{
		ctx: ctx, st: st, cfg: cfg, in: in, res: res,
		sampling:    sampling,
		samplingDay: codes.DateOf(sampling),
		regCutoff:   codes.DateOf(codes.MonthsBefore(sampling, 6)),
		icsName:     name,
	}, nil
}

func (r *run) cleanup() {
	if r.sample != nil {
		r.sample.discard()
	}
	if r.contacts != nil {
		r.contacts.discard()
	}
	if r.sampleRp != nil {
		r.sampleRp.discard()
	}
	if r.mailRp != nil {
		r.mailRp.discard()
	}
}

func (r *run) warn(format string, a ...any) {
	r.res.Warnings = append(r.res.Warnings, fmt.Sprintf(format, a...))
}

// checkCtx is called every few thousand rows.
func (r *run) checkCtx(n int) error {
	if n&4095 == 0 {
		if err := r.ctx.Err(); err != nil {
			return fmt.Errorf("intake: %w", err)
		}
	}
	return nil
}

// eachRow calls fn with the fields and the file row number of every data row of in,
// checking for cancellation as it goes, and returns how many rows there were. An fn
// error stops the pass.
func (r *run) eachRow(in *input, fn func(fields [][]byte, row int) error) (int, error) {
	n := 0
	for {
		fields, row, err := in.src.next()
		if errorsIsEOF(err) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		if err := r.checkCtx(n); err != nil {
			return n, err
		}
		if err := fn(fields, row); err != nil {
			return n, err
		}
	}
}

func rowNumber(key string, row int) (int32, error) {
	if row > math.MaxInt32 {
		return 0, &FileError{File: key, Row: row, Reason: FileTooManyRows, Message: "the file has too many rows"}
	}
	return int32(row), nil
}

// ---------------------------------------------------------------------------------
// Reconciliation, declaration, outputs, audit

func (r *run) reconcile() error {
	res := r.res
	sum := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	var problems []string
	if res.RowsRead != res.Accepted+res.Excluded+res.Rejected {
		problems = append(problems, fmt.Sprintf("sample rows %d != accepted %d + excluded %d + rejected %d",
			res.RowsRead, res.Accepted, res.Excluded, res.Rejected))
	}
	if s := sum(res.ByReason); s != res.Excluded+res.Rejected {
		problems = append(problems, fmt.Sprintf("sample reasons sum to %d, not excluded + rejected %d", s, res.Excluded+res.Rejected))
	}
	if res.MailingRowsRead != res.MailingUsed+res.MailingExcluded+res.MailingRejected {
		problems = append(problems, fmt.Sprintf("mailing rows %d != used %d + excluded %d + rejected %d",
			res.MailingRowsRead, res.MailingUsed, res.MailingExcluded, res.MailingRejected))
	}
	if s := sum(res.MailingByReason); s != res.MailingRejected {
		problems = append(problems, fmt.Sprintf("mailing reasons sum to %d, not rejected %d", s, res.MailingRejected))
	}
	if res.MailingUsed != res.Accepted {
		problems = append(problems, fmt.Sprintf("contacts %d != accepted %d", res.MailingUsed, res.Accepted))
	}
	if r.sample.total != int64(res.Accepted) || r.contacts.total != int64(res.Accepted) {
		problems = append(problems, fmt.Sprintf("written analysis %d / contact %d records != accepted %d",
			r.sample.total, r.contacts.total, res.Accepted))
	}
	if len(problems) > 0 {
		audit.Record(r.ctx, "intake.reconciliation_failed", map[string]any{
			"wave_id": r.cfg.WaveID, "ics": r.cfg.ICS, "problems": problems})
		return fmt.Errorf("%w: %v", ErrReconciliation, problems)
	}
	res.Shortfall = max(0, r.cfg.MinEligible-res.Accepted)
	if res.Shortfall > 0 {
		r.warn("eligible sample %d is %d short of the %d wanted", res.Accepted, res.Shortfall, r.cfg.MinEligible)
	}
	if res.RowsRead > 0 && res.Rejected*10 > res.RowsRead {
		r.warn("%d of %d sample records (%.1f%%) were rejected", res.Rejected, res.RowsRead, 100*float64(res.Rejected)/float64(res.RowsRead))
	}
	return nil
}

// store puts the three outputs, each replacing any earlier object at its key. All
// three are finished before any is stored, and they are stored side by side.
func (r *run) store() error {
	ctx := r.ctx
	_, sampleSum, err := r.sample.finish()
	if err != nil {
		return err
	}
	_, contactsSum, err := r.contacts.finish()
	if err != nil {
		return err
	}
	rd, err := joinReports(r.sampleRp, r.mailRp)
	if err != nil {
		return err
	}
	puts := []struct {
		key string
		put func() error
	}{
		{r.res.SampleParquetKey, func() error { return r.putFile(r.res.SampleParquetKey, r.sample.file, &r.sample.stored) }},
		{r.res.ContactsKey, func() error { return r.putFile(r.res.ContactsKey, r.contacts.file, &r.contacts.stored) }},
		{r.res.ReportKey, func() error { return r.st.Put(ctx, r.res.ReportKey, rd) }},
	}
	errs := make([]error, len(puts))
	var wg sync.WaitGroup
	for i, p := range puts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.put(); err != nil {
				errs[i] = fmt.Errorf("intake: store %s: %w", p.key, err)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.res.SampleParquetSHA256 = sampleSum
	r.res.ContactsSHA256 = contactsSum
	r.res.ReportSHA256 = rd.sum()
	return nil
}

func (r *run) recordAudit() {
	res := r.res
	base := func(m map[string]any) map[string]any {
		m["wave_id"], m["ics"] = r.cfg.WaveID, r.cfg.ICS
		return m
	}
	audit.Record(r.ctx, "intake.file_received", base(map[string]any{
		"file": schemas.FileSample, "key": res.SampleKey, "sha256": res.SampleSHA256,
		"bytes": res.SampleBytes, "rows": res.RowsRead}))
	audit.Record(r.ctx, "intake.file_received", base(map[string]any{
		"file": schemas.FileMailing, "key": res.MailingKey, "sha256": res.MailingSHA256,
		"bytes": res.MailingBytes, "rows": res.MailingRowsRead}))
	audit.Record(r.ctx, "intake.records_classified", base(map[string]any{
		"accepted": res.Accepted, "excluded": res.Excluded, "rejected": res.Rejected,
		"by_reason": res.ByReason, "mailing_by_reason": res.MailingByReason,
		"no_sms": res.NoSMS, "mobile_unusable": res.MobileUnusable, "findings": res.Findings,
		"min_eligible": r.cfg.MinEligible, "shortfall": res.Shortfall, "warnings": res.Warnings}))
	audit.Record(r.ctx, "intake.reconciled", base(map[string]any{
		"rows_read": res.RowsRead, "accepted": res.Accepted, "excluded": res.Excluded, "rejected": res.Rejected,
		"mailing_rows_read": res.MailingRowsRead, "mailing_used": res.MailingUsed,
		"mailing_excluded": res.MailingExcluded, "mailing_rejected": res.MailingRejected, "balanced": true}))
	audit.Record(r.ctx, "intake.outputs_written", base(map[string]any{
		"sample_key": res.SampleParquetKey, "sample_sha256": res.SampleParquetSHA256,
		"contacts_key": res.ContactsKey, "contacts_sha256": res.ContactsSHA256,
		"report_key": res.ReportKey, "report_sha256": res.ReportSHA256}))
}

// joinFiles runs the passes over the two files and the partitioned joins between
// them (see spill.go).
func (r *run) joinFiles() error {
	var size int64
	for _, k := range []string{r.in.SampleKey, r.in.MailingKey} {
		if info, err := r.st.Stat(r.ctx, k); err == nil {
			size += info.Size
			if strings.EqualFold(path.Ext(k), ".xlsx") {
				size += 4 * info.Size // compressed
			}
		}
	}
	sp, err := newSpillSet(size)
	if err != nil {
		return err
	}
	defer sp.remove()
	// The first passes over the two files are independent: run them side by side.
	var (
		keys    *sampleKeys
		keysErr error
		wg      sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		keys, keysErr = r.scanSampleKeys(sp)
	}()
	err = r.scanMailing(sp)
	wg.Wait()
	r.phases.mark("scan")
	if err != nil {
		return err
	}
	if keysErr != nil {
		return keysErr
	}
	r.res.Warnings = append(r.res.Warnings, keys.warnings...)
	if err := sp.forPartitions(sp.joinSample); err != nil {
		return err
	}
	r.phases.mark("join_sample")
	if err := r.processSample(sp, keys); err != nil {
		return err
	}
	r.phases.mark("sample_pass")
	if err := sp.forPartitions(sp.joinMailing); err != nil {
		return err
	}
	r.phases.mark("join_mailing")
	defer r.phases.mark("contacts_pass")
	return r.writeContacts(sp)
}

// errorsIsEOF reports the end of a row source.
func errorsIsEOF(err error) bool { return errors.Is(err, io.EOF) }

// phases times the stages of a run, for the log line that ends it: where the time of
// a slow intake went.
type phases struct {
	start, last time.Time
	names       []string
	seconds     []float64
}

// mark ends the phase called name, begun when the one before it ended.
func (p *phases) mark(name string) {
	now := time.Now()
	from := p.last
	if from.IsZero() {
		from = p.start
	}
	p.names = append(p.names, name)
	p.seconds = append(p.seconds, now.Sub(from).Seconds())
	p.last = now
}

func (p *phases) attrs() slog.Value {
	as := make([]slog.Attr, len(p.names))
	for i, n := range p.names {
		as[i] = slog.Float64(n, math.Round(p.seconds[i]*1000)/1000)
	}
	return slog.GroupValue(as...)
}
