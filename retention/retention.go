// Package retention decides and carries out what the retention of one ICS deletes: at
// the retention point (a set time after fieldwork closes, or after the ICS is
// cancelled) every object of the ICS that holds a name, address, phone number, date of
// birth or NHS number goes.
//
// What goes (Plan): everything of the ICS in the restricted landing area (the sample
// and mailing files as received, their rejection reports, the supplier's daily
// extracts), the files the ICS's spec named wherever they lie (and the rejection
// report beside each), everything of the ICS in the restricted area (contacts, DBS
// requests, manifests, replies and results, print files and their manifests, the SMS
// ledger), and the copies a DBS transport keeps in the store of the ICS's requests.
// What stays: the pseudonymised lake, the free-text area (response data the named ICB
// users read after fieldwork), reports and the audit trail. A plan that would delete
// anything in those areas is refused (ErrProtected).
//
// Lineage survives the deletion: before any landed file is deleted, its SHA-256, size
// and row count are recorded (RecordLineage) in the ICS's retention lineage object and
// the audit trail, and Delete refuses to delete a landed file that has no lineage
// (ErrNoLineage). Both steps are idempotent: a repeat records and deletes nothing more.
//
// The retention runs once. A file of the ICS that lands after it has begun (Started: a
// supplier's late extract) is deleted by the load that reads it, with its lineage
// recorded alike (DeleteLanded).
//
// Privacy: nothing here logs; errors name keys, never contents.
package retention

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/store"
)

// LandedFile is a file the ICS sent, as the intake saw it. Rows is what the intake
// counted (0 when it never ran, then the file's own records are counted); SHA256 the
// intake's digest, checked against the file's.
type LandedFile struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256,omitempty"`
	Rows   int    `json:"rows,omitempty"`
}

// Scope is one ICS of one wave and the files it sent.
type Scope struct {
	WaveID string
	ICS    string
	Landed []LandedFile
}

func (s Scope) check() error {
	if s.WaveID == "" || s.ICS == "" || strings.Contains(s.WaveID, "/") || strings.Contains(s.ICS, "/") {
		return fault.Errorf(fault.Configuration, "retention: bad scope (wave %q, ICS %q)", s.WaveID, s.ICS)
	}
	return nil
}

// ErrProtected: a plan would delete an object of an area the retention keeps.
var ErrProtected = fault.New(fault.Configuration, "retention: refusing to delete an object the retention keeps")

// ErrNoLineage: a landed file would be deleted before its lineage was recorded.
var ErrNoLineage = fault.New(fault.Conflict, "retention: landed file has no recorded lineage")

// Plan is what the retention of one ICS deletes.
type Plan struct {
	// Landed are the files as received (and their rejection reports): their lineage is
	// recorded before they go.
	Landed []string `json:"landed"`
	// Identifiable are the mailing process's objects.
	Identifiable []string `json:"identifiable"`
	// DBSRequests are the IDs of the ICS's DBS requests, whose copies a transport
	// keeps in the store (dbs.Forgetter).
	DBSRequests []string `json:"dbs_requests"`
}

// Prefixes are the prefixes whose listing MakePlan needs.
func Prefixes(s Scope) []string {
	p := []string{schemas.RestrictedLandingPrefix(s.WaveID, s.ICS), schemas.RestrictedPrefix(s.WaveID, s.ICS)}
	for _, f := range s.Landed {
		switch dir := path.Dir(f.Key); {
		case f.Key == "":
		case dir == ".": // at the store's root: the file and its report, by name
			p = append(p, f.Key, schemas.RejectionReportKey(f.Key))
		default:
			p = append(p, dir+"/")
		}
	}
	slices.Sort(p)
	return slices.Compact(p)
}

// kept reports whether key lies in an area the retention never deletes from.
func kept(key string) bool {
	for _, a := range []schemas.Area{schemas.AreaFreeText, schemas.AreaLake, schemas.AreaPublish, schemas.AreaDrafts, schemas.AreaReports, schemas.AreaAudit, schemas.AreaExport} {
		if strings.HasPrefix(key, a.Prefix()) {
			return true
		}
	}
	return false
}

// MakePlan decides, from the keys listed under Prefixes, what the retention deletes.
func MakePlan(s Scope, listed []string) (Plan, error) {
	if err := s.check(); err != nil {
		return Plan{}, err
	}
	landing := schemas.RestrictedLandingPrefix(s.WaveID, s.ICS)
	restricted := schemas.RestrictedPrefix(s.WaveID, s.ICS)
	dbsDir := restricted + "dbs/"
	named := map[string]bool{}
	for _, f := range s.Landed {
		if f.Key != "" {
			named[f.Key] = true
			named[schemas.RejectionReportKey(f.Key)] = true
		}
	}
	var p Plan
	requests := map[string]bool{}
	for _, k := range listed {
		switch {
		case strings.HasPrefix(k, landing) || named[k]:
			p.Landed = append(p.Landed, k)
		case strings.HasPrefix(k, restricted):
			p.Identifiable = append(p.Identifiable, k)
			if rest, ok := strings.CutPrefix(k, dbsDir); ok && strings.HasSuffix(rest, schemas.DBSRequest) && !strings.Contains(rest, "/") {
				requests[strings.TrimSuffix(rest, schemas.DBSRequest)] = true
			}
		default:
			continue
		}
		if kept(k) {
			return Plan{}, fmt.Errorf("%w: %s", ErrProtected, k)
		}
	}
	for id := range requests {
		p.DBSRequests = append(p.DBSRequests, id)
	}
	sort.Strings(p.Landed)
	sort.Strings(p.Identifiable)
	sort.Strings(p.DBSRequests)
	return p, nil
}

// FileLineage is what stays of a deleted landed file.
type FileLineage struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Rows is the intake's count of data rows, or (RowsCounted) the file's own count
	// of records after its header; -1 when it cannot be counted (a workbook the
	// intake never read).
	Rows        int       `json:"rows"`
	RowsCounted bool      `json:"rows_counted,omitempty"`
	RecordedAt  time.Time `json:"recorded_at"`
}

// Lineage is the retention lineage object of one ICS (schemas.RetentionLineageKey).
type Lineage struct {
	WaveID string        `json:"wave_id"`
	ICS    string        `json:"ics"`
	Files  []FileLineage `json:"files"`
	// written: read from the store (not a new, empty lineage).
	written bool
}

func (l *Lineage) has(key string) bool {
	return slices.ContainsFunc(l.Files, func(f FileLineage) bool { return f.Key == key })
}

// ReadLineage returns the ICS's lineage object (empty if none is recorded).
func ReadLineage(ctx context.Context, st store.Store, wave, ics string) (*Lineage, error) {
	key := schemas.RetentionLineageKey(wave, ics)
	b, err := store.ReadAll(ctx, st, key)
	if errors.Is(err, store.ErrNotExist) {
		return &Lineage{WaveID: wave, ICS: ics}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("retention: read %s: %w", key, err)
	}
	var l Lineage
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fault.Errorf(fault.Conflict, "retention: %s: %v", key, err)
	}
	l.written = true
	return &l, nil
}

// Started reports whether the retention of the ICS has begun: its lineage object is
// written (RecordLineage writes it, even with no file to record, before anything is
// deleted). From then on, a file of the ICS that lands is deleted by the load that
// reads it (DeleteLanded), since no run of the retention will come again.
func Started(ctx context.Context, st store.Store, wave, ics string) (bool, error) {
	key := schemas.RetentionLineageKey(wave, ics)
	ok, err := store.Exists(ctx, st, key)
	if err != nil {
		return false, fmt.Errorf("retention: check %s: %w", key, err)
	}
	return ok, nil
}

// DeleteLanded deletes, as the retention does, landed files of an ICS read after its
// retention has begun (a supplier's late extract, loaded): their SHA-256, size and
// rows recorded in the lineage object first (RecordLineage, with s.Landed as the
// reader's digests and row counts), then the files (Delete). It returns the lineage
// of keys and how many of them were deleted now; a repeat deletes nothing more, and a
// key already gone is passed over. A key outside the ICS's landed files (s.Landed and
// its restricted landing area) is refused.
func DeleteLanded(ctx context.Context, st store.Store, s Scope, keys []string, now time.Time) ([]FileLineage, int, error) {
	p, err := MakePlan(s, keys)
	if err != nil {
		return nil, 0, err
	}
	if len(p.Landed) != len(slices.Compact(slices.Sorted(slices.Values(keys)))) {
		return nil, 0, fault.Errorf(fault.Configuration, "retention: %s/%s: not every key is a landed file of the ICS: %v", s.WaveID, s.ICS, keys)
	}
	l, err := RecordLineage(ctx, st, s, p, now)
	if err != nil {
		return nil, 0, err
	}
	d, err := Delete(ctx, st, s, Plan{Landed: p.Landed}, nil)
	if err != nil {
		return nil, 0, err
	}
	var files []FileLineage
	for _, f := range l.Files {
		if slices.Contains(p.Landed, f.Key) {
			files = append(files, f)
		}
	}
	return files, d.Landed, nil
}

// List lists the keys under the scope's Prefixes.
func List(ctx context.Context, st store.Store, s Scope) ([]string, error) {
	var keys []string
	for _, p := range Prefixes(s) {
		infos, err := st.List(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("retention: list %s: %w", p, err)
		}
		for _, inf := range infos {
			keys = append(keys, inf.Key)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys), nil
}

// RecordLineage records, in the ICS's lineage object, the SHA-256, size and rows of
// every landed file of the plan not yet recorded, and returns the whole lineage (for
// the audit trail). A file whose digest differs from the intake's is still recorded,
// with both, as a Conflict: the file was replaced after the intake and must be looked
// at before it is deleted.
func RecordLineage(ctx context.Context, st store.Store, s Scope, p Plan, now time.Time) (*Lineage, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	l, err := ReadLineage(ctx, st, s.WaveID, s.ICS)
	if err != nil {
		return nil, err
	}
	intake := map[string]LandedFile{}
	for _, f := range s.Landed {
		intake[f.Key] = f
	}
	added := 0
	for _, k := range p.Landed {
		if l.has(k) {
			continue
		}
		f, err := measure(ctx, st, k)
		if errors.Is(err, store.ErrNotExist) {
			continue // gone already (deleted by hand): nothing to record
		}
		if err != nil {
			return nil, err
		}
		if in, ok := intake[k]; ok {
			if in.SHA256 != "" && in.SHA256 != f.SHA256 {
				return nil, fault.Errorf(fault.Conflict, "retention: %s: SHA-256 %s differs from the intake's %s (replaced after intake?)", k, f.SHA256, in.SHA256)
			}
			if in.Rows > 0 {
				f.Rows, f.RowsCounted = in.Rows, false
			}
		}
		f.RecordedAt = now.UTC()
		l.Files = append(l.Files, f)
		added++
	}
	// Written even with nothing to record: the object says the ICS's retention has
	// begun (Started), and a file that lands later is deleted by the load that reads
	// it (DeleteLanded).
	if added > 0 || !l.written {
		b, err := json.MarshalIndent(l, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := store.PutBytes(ctx, st, schemas.RetentionLineageKey(s.WaveID, s.ICS), b); err != nil {
			return nil, fmt.Errorf("retention: write lineage: %w", err)
		}
	}
	return l, nil
}

// measure streams one object for its digest, size and record count.
func measure(ctx context.Context, st store.Store, key string) (FileLineage, error) {
	r, err := st.Get(ctx, key)
	if err != nil {
		return FileLineage{}, err
	}
	defer r.Close()
	h := sha256.New()
	counter := newRowCounter(key)
	n, err := io.Copy(io.MultiWriter(h, counter), r)
	if err != nil {
		return FileLineage{}, fmt.Errorf("retention: read %s: %w", key, err)
	}
	rows, counted := counter.rows()
	return FileLineage{Key: key, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, Rows: rows, RowsCounted: counted}, nil
}

// rowCounter counts a file's records as it streams by: CSV records after the header,
// or non-blank JSON lines; anything else (a workbook) is not counted.
type rowCounter struct {
	pw    *io.PipeWriter
	done  chan struct{}
	n     int
	ok    bool
	write bool
}

func newRowCounter(key string) *rowCounter {
	c := &rowCounter{done: make(chan struct{})}
	ext := strings.ToLower(path.Ext(key))
	if ext != ".csv" && ext != ".jsonl" && ext != ".ndjson" {
		close(c.done)
		return c
	}
	pr, pw := io.Pipe()
	c.pw, c.write = pw, true
	go func() {
		defer close(c.done)
		if ext == ".csv" {
			cr := csv.NewReader(pr)
			cr.FieldsPerRecord, cr.LazyQuotes, cr.ReuseRecord = -1, true, true
			for {
				_, err := cr.Read()
				if err == io.EOF {
					c.ok = true
					break
				}
				if err != nil {
					break // not CSV after all: not counted
				}
				c.n++
			}
			c.n-- // the header
			_, _ = io.Copy(io.Discard, pr)
			return
		}
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 64<<20)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) != "" {
				c.n++
			}
		}
		c.ok = sc.Err() == nil
		_, _ = io.Copy(io.Discard, pr)
	}()
	return c
}

func (c *rowCounter) Write(p []byte) (int, error) {
	if !c.write {
		return len(p), nil
	}
	return c.pw.Write(p)
}

func (c *rowCounter) rows() (int, bool) {
	if c.write {
		c.pw.Close()
	}
	<-c.done
	if !c.ok {
		return -1, false
	}
	return max(c.n, 0), true
}

// Deleted reports a deletion.
type Deleted struct {
	Landed       int `json:"landed"`
	Identifiable int `json:"identifiable"`
	// TransportCopies are the DBS transport's copies deleted.
	TransportCopies int `json:"transport_copies"`
	// LeftToLoad are the supplier's files (under the ICS's responses/ landing folder)
	// whose lineage is not recorded: they landed after RecordLineage, and the load that
	// reads them records their lineage and deletes them (DeleteLanded), as it does any
	// file landing once the retention has begun. Deleting one would lose its lineage,
	// and refusing (ErrNoLineage) failed the whole retention, keeping every
	// identifiable object of the ICS.
	LeftToLoad []string `json:"left_to_load,omitempty"`
}

// Total is every object deleted.
func (d Deleted) Total() int { return d.Landed + d.Identifiable + d.TransportCopies }

// Forget deletes a transport's copies of one DBS request (dbs.Forgetter.Forget); nil
// when the transport keeps none in the store.
type Forget func(ctx context.Context, requestID string) ([]string, error)

// Delete carries out a plan: each landed file only once its lineage is recorded
// (ErrNoLineage otherwise; a supplier's file landed since is left to its load,
// Deleted.LeftToLoad), then the transport's copies of the DBS requests, then the
// mailing process's objects (the DBS exchange among them, which names the requests). Objects already gone are not counted.
func Delete(ctx context.Context, st store.Store, s Scope, p Plan, forget Forget) (Deleted, error) {
	var d Deleted
	if err := s.check(); err != nil {
		return d, err
	}
	l, err := ReadLineage(ctx, st, s.WaveID, s.ICS)
	if err != nil {
		return d, err
	}
	del := func(k string) (bool, error) {
		if kept(k) {
			return false, fmt.Errorf("%w: %s", ErrProtected, k)
		}
		ok, err := store.Exists(ctx, st, k)
		if err != nil || !ok {
			return false, err
		}
		if err := st.Delete(ctx, k); err != nil {
			return false, fmt.Errorf("retention: delete %s: %w", k, err)
		}
		return true, nil
	}
	supplier := schemas.RestrictedLandingPrefix(s.WaveID, s.ICS) + "responses/"
	for _, k := range p.Landed {
		if !l.has(k) {
			if strings.HasPrefix(k, supplier) {
				d.LeftToLoad = append(d.LeftToLoad, k)
				continue
			}
			if ok, err := store.Exists(ctx, st, k); err != nil || !ok {
				continue // gone already
			}
			return d, fmt.Errorf("%w: %s", ErrNoLineage, k)
		}
		ok, err := del(k)
		if err != nil {
			return d, err
		}
		if ok {
			d.Landed++
		}
	}
	// The transport's copies first: the request IDs are read from the ICS's DBS
	// exchange, which goes next, so a retry after a partial deletion still finds them.
	if forget != nil {
		for _, id := range p.DBSRequests {
			keys, err := forget(ctx, id)
			if err != nil {
				return d, fmt.Errorf("retention: forget DBS request %s: %w", id, err)
			}
			d.TransportCopies += len(keys)
		}
	}
	for _, k := range p.Identifiable {
		ok, err := del(k)
		if err != nil {
			return d, err
		}
		if ok {
			d.Identifiable++
		}
	}
	return d, nil
}
