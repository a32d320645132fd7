// Package dashdata is the dashboard's data: it implements the web package's data
// interfaces (Freshness, Waves, Fieldwork, Results, Releases, Practices) over a
// read-only snapshot of the DuckDB warehouse.
//
// What it produces: the live figures of each wave, computed from the snapshot by
// publication.Compute — the release's own method and disclosure control, so the
// dashboard shows exactly what a release made now would publish — and the figures of
// every release loaded into the warehouse's published_* tables; the fieldwork
// progress from the same release's response-rate table; the response rate by fieldwork
// day; and the response by GP practice, checked by disclosure.Check.
//
// How it stays near real time without getting in the writer's way: Open copies the
// warehouse into a snapshot file of its own (warehouse.Snapshot: the warehouse is held
// read-only only for the copy) and computes every wave's live figures once; Refresh
// takes a new snapshot when the warehouse file has changed since, and swaps it in
// whole. DataStatus says when the snapshot's data was loaded, and whether the
// warehouse has changed since (newer data waiting).
//
// What it guarantees: no value that disclosure control withholds is returned. Live
// figures come out of publication.Results, whose withheld figures carry no value; a
// release's withheld figures are NULL in the warehouse; and whatever the source, a
// row whose status withholds it is returned without numbers. A query whose every
// figure is withheld is refused (web.ErrTooFewResponses).
//
// Privacy: the package reads aggregate-ready, pseudonymous warehouse tables and
// returns only checked aggregates (the free-text theme counts too: response_themes
// holds codes, never text); Source reads no free text, and writes nothing but its own
// snapshot files.
package dashdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"icesurvey/audit"
	"icesurvey/codes"
	"icesurvey/disclosure"
	"icesurvey/internal/england"
	"icesurvey/publication"
	"icesurvey/schemas"
	"icesurvey/warehouse"
	"icesurvey/web"
)

// Config configures a Source.
type Config struct {
	// Warehouse is the warehouse file the pipeline writes. Required.
	Warehouse string
	// SnapshotDir is where snapshots are written (default: a new temporary directory,
	// removed by Close).
	SnapshotDir string
	// Params are the release parameters the live figures are computed with (default
	// publication.DefaultParams()).
	Params *publication.Params
	// ICSNames and WaveNames give names to codes ("QMM": "Norfolk and Waveney"). An ICS
	// not in ICSNames is named by schemas.ICSNames, the 42 boards' table.
	ICSNames  map[string]string
	WaveNames map[string]string
	// BusyWait is how long a snapshot waits for a write in progress (default 1 min).
	BusyWait time.Duration
	Logger   *slog.Logger
}

// icsName is the ICS's name: the configuration's, else the boards' table's, else ""
// (the pages then show the code alone).
func (s *Source) icsName(code string) string {
	if n, ok := s.cfg.ICSNames[code]; ok {
		return n
	}
	return schemas.ICSName(code)
}

// Source is the dashboard's data over the current snapshot. It is safe for
// concurrent use.
type Source struct {
	cfg    Config
	params publication.Params
	cat    *catalogue
	tmpDir bool

	refreshMu sync.Mutex // one refresh at a time
	mu        sync.RWMutex
	cur       *snapshot
	retired   []*snapshot // closed at the next refresh: requests may still use them
	seq       int
}

// Interface checks: the web package declares what it reads.
var (
	_ web.Freshness = (*Source)(nil)
	_ web.Waves     = (*Source)(nil)
	_ web.Fieldwork = (*Source)(nil)
	_ web.Results   = (*Source)(nil)
	_ web.Releases  = (*Source)(nil)
	_ web.Practices = (*Source)(nil)
)

// Open takes the first snapshot and computes its figures.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	if cfg.Warehouse == "" {
		return nil, errors.New("dashdata: no warehouse file given")
	}
	if _, err := os.Stat(cfg.Warehouse); err != nil {
		return nil, fmt.Errorf("dashdata: warehouse: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.BusyWait == 0 {
		cfg.BusyWait = time.Minute
	}
	s := &Source{cfg: cfg, params: publication.DefaultParams()}
	if cfg.Params != nil {
		s.params = *cfg.Params
	}
	if err := s.params.Validate(); err != nil {
		return nil, fmt.Errorf("dashdata: %w", err)
	}
	var err error
	if s.cat, err = loadCatalogue(); err != nil {
		return nil, err
	}
	if s.cfg.SnapshotDir == "" {
		if s.cfg.SnapshotDir, err = os.MkdirTemp("", "ice-dashboard-"); err != nil {
			return nil, fmt.Errorf("dashdata: %w", err)
		}
		s.tmpDir = true
	} else if err := os.MkdirAll(s.cfg.SnapshotDir, 0o750); err != nil {
		return nil, fmt.Errorf("dashdata: snapshot directory: %w", err)
	}
	if _, err := s.Refresh(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the snapshots and removes their files.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sn := range append(s.retired, s.cur) {
		if sn != nil {
			sn.close()
		}
	}
	s.cur, s.retired = nil, nil
	if s.tmpDir {
		return os.RemoveAll(s.cfg.SnapshotDir)
	}
	return nil
}

// warehouseChanged is the latest change to the warehouse file or its write-ahead log.
func (s *Source) warehouseChanged() (time.Time, error) {
	fi, err := os.Stat(s.cfg.Warehouse)
	if err != nil {
		return time.Time{}, fmt.Errorf("dashdata: warehouse: %w", err)
	}
	t := fi.ModTime()
	if wal, err := os.Stat(s.cfg.Warehouse + ".wal"); err == nil && wal.ModTime().After(t) {
		t = wal.ModTime()
	}
	return t.UTC(), nil
}

// Refresh takes a new snapshot if the warehouse has changed since the current one was
// taken, computes its figures, and swaps it in. It reports whether it did.
func (s *Source) Refresh(ctx context.Context) (bool, error) {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	changed, err := s.warehouseChanged()
	if err != nil {
		return false, err
	}
	s.mu.RLock()
	cur := s.cur
	s.mu.RUnlock()
	if cur != nil && !changed.After(cur.changed) {
		return false, nil
	}
	s.seq++
	path := filepath.Join(s.cfg.SnapshotDir, fmt.Sprintf("snapshot-%d-%d.duckdb", time.Now().UnixNano(), s.seq))
	start := time.Now()
	if err := warehouse.Snapshot(ctx, s.cfg.Warehouse, path, s.cfg.BusyWait); err != nil {
		return false, fmt.Errorf("dashdata: %w", err)
	}
	sn, err := s.build(ctx, path, changed)
	if err != nil {
		os.Remove(path)
		return false, err
	}
	s.mu.Lock()
	for _, old := range s.retired {
		old.close()
	}
	s.retired = nil
	if s.cur != nil {
		s.retired = append(s.retired, s.cur)
	}
	s.cur = sn
	s.mu.Unlock()
	s.cfg.Logger.Info("dashboard snapshot ready", "as_of", sn.asOf, "waves", len(sn.waves), "seconds", time.Since(start).Seconds())
	return true, nil
}

func (s *Source) snap() (*snapshot, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cur == nil {
		return nil, errors.New("dashdata: closed")
	}
	return s.cur, nil
}

// ---- The snapshot ----------------------------------------------------------------

// snapshot is one read-only copy of the warehouse and everything computed from it.
type snapshot struct {
	path     string
	db       *sql.DB
	changed  time.Time // the warehouse's last change when copied
	asOf     time.Time // the last load in it
	loadDate string
	waves    []web.Wave
	live     map[string]*liveWave

	mu          sync.Mutex
	releases    map[string]*figureSet // by wave and release id (releaseKey): every wave's first release is r1
	releaseList map[string][]web.Release
	practices   map[string][]web.PracticeRate
	// themeCountsCache: free-text theme counts by wave, ICS and respondent type (#17).
	themeCountsCache map[string][]web.FreeTextThemeCount
	// linked: the linkage release's disclosed aggregates by wave (#15).
	linked map[string]web.LinkedRelease
}

// liveWave is a wave's live figures and fieldwork.
type liveWave struct {
	figures  *figureSet
	err      error // Compute's error: no live figures (the page says so)
	progress []web.ICSProgress
	daily    map[string]web.DailyResponse
}

func (sn *snapshot) close() {
	if sn.db != nil {
		sn.db.Close()
	}
	os.Remove(sn.path)
	os.Remove(sn.path + ".wal")
}

func (s *Source) build(ctx context.Context, path string, changed time.Time) (*snapshot, error) {
	db, err := warehouse.OpenReadOnly(path)
	if err != nil {
		return nil, fmt.Errorf("dashdata: %w", err)
	}
	sn := &snapshot{path: path, db: db, changed: changed, live: map[string]*liveWave{},
		releases: map[string]*figureSet{}, releaseList: map[string][]web.Release{}, practices: map[string][]web.PracticeRate{}}
	fail := func(err error) (*snapshot, error) { db.Close(); return nil, err }
	var asOf sql.NullTime
	if err := db.QueryRowContext(ctx, `SELECT max(loaded_at) FROM loaded_files`).Scan(&asOf); err != nil {
		return fail(fmt.Errorf("dashdata: reading loaded_files: %w", err))
	}
	if asOf.Valid {
		sn.asOf = asOf.Time.UTC()
	}
	var day sql.NullTime
	if err := db.QueryRowContext(ctx, `SELECT max(load_date) FROM responses`).Scan(&day); err == nil && day.Valid {
		sn.loadDate = day.Time.Format(time.DateOnly)
	}
	rows, err := db.QueryContext(ctx, `SELECT DISTINCT wave_id, ics FROM sample ORDER BY wave_id, ics`)
	if err != nil {
		return fail(fmt.Errorf("dashdata: reading the waves: %w", err))
	}
	for rows.Next() {
		var wave, ics string
		if err := rows.Scan(&wave, &ics); err != nil {
			rows.Close()
			return fail(err)
		}
		if n := len(sn.waves); n == 0 || sn.waves[n-1].ID != wave {
			sn.waves = append(sn.waves, web.Wave{ID: wave, Name: s.cfg.WaveNames[wave]})
		}
		w := &sn.waves[len(sn.waves)-1]
		w.ICSs = append(w.ICSs, web.ICS{Code: ics, Name: s.icsName(ics)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	for _, w := range sn.waves {
		lw := &liveWave{daily: map[string]web.DailyResponse{}}
		res, err := publication.Compute(ctx, db, w.ID, s.params)
		if err != nil {
			if ctx.Err() != nil {
				return fail(ctx.Err())
			}
			s.cfg.Logger.Warn("dashboard: no live figures for a wave", "wave", w.ID, "err", err)
			lw.err = err
		} else {
			lw.figures = s.liveFigures(res)
			if err := sn.fieldwork(ctx, w, res, lw); err != nil {
				return fail(err)
			}
		}
		sn.live[w.ID] = lw
	}
	// Every release's figures and every ICS's response by practice are read and
	// checked now, once per snapshot, so no page waits for them.
	for _, w := range sn.waves {
		rels, err := s.releasesOf(ctx, sn, w.ID)
		if err != nil {
			return fail(err)
		}
		for _, r := range rels {
			if _, err := s.releaseFigures(ctx, sn, w.ID, r.ID); err != nil {
				return fail(err)
			}
		}
		for _, ics := range w.ICSs {
			if _, err := s.practiceRates(ctx, sn, w.ID, ics.Code); err != nil {
				return fail(err)
			}
		}
	}
	return sn, nil
}

// ---- Figures: one shape for live and released -------------------------------------

// figure is one % positive row, live or released, with its numbers only when published.
type figure struct {
	england        bool
	ics            string
	gvar, glevel   string
	respondentType string
	questionID     string
	measure        string // a multi-choice option's code, else ""
	status         string
	published      bool // the numbers below are set
	base           int64
	baseShown      bool    // a withheld figure's base, published with it (S on the % alone)
	pct, lo, hi    float64 // 0–100
	vs             string
}

type figureSet struct {
	id     string
	method string
	// params are the parameters the figures were computed with: the live figures'
	// (the dashboard's own), or a release's as its releases row records them.
	params publication.Params
	rows   []figure
	// index by (type, question, measure, geography key) for the England comparator.
	england map[string]float64
	// questionIDs present, by type
	types map[string]map[string]bool
	// scope indexes the ICS rows by ICS, respondent type and group variable.
	scope map[string][]int
}

func scopeKey(ics, typ, gvar string) string { return ics + "\x00" + typ + "\x00" + gvar }

func englandKey(typ, q, measure, gvar, glevel string) string {
	return typ + "\x00" + q + "\x00" + measure + "\x00" + gvar + "\x00" + glevel
}

func withheldStatus(s string) bool { return s == "B" || s == "P" || s == "S" }

func (fs *figureSet) index() {
	fs.england = map[string]float64{}
	fs.types = map[string]map[string]bool{}
	fs.scope = map[string][]int{}
	for i, f := range fs.rows {
		if !f.england {
			k := scopeKey(f.ics, f.respondentType, f.gvar)
			fs.scope[k] = append(fs.scope[k], i)
		}
		if fs.types[f.respondentType] == nil {
			fs.types[f.respondentType] = map[string]bool{}
		}
		fs.types[f.respondentType][f.questionID] = true
		if f.england && f.published {
			fs.england[englandKey(f.respondentType, f.questionID, f.measure, f.gvar, f.glevel)] = f.pct
		}
	}
}

func methodText(p publication.Params) string {
	return fmt.Sprintf("%% positive of the scored answers (PUBLICATION.md): patients weighted by bounded raking to each ICS's sample frame, carers unweighted; %s%% Wilson intervals on the effective sample size; compared with England excluding the ICS; small-number rule: rows under %d responses withheld, under %d marked for caution, counts under %d withheld with the counts that would reveal them.",
		publication.Percent(p.Estimate.Confidence), p.Disclosure.MinBase, p.Disclosure.CautionBase, p.Disclosure.MinCount)
}

func (s *Source) liveFigures(res *publication.Results) *figureSet {
	fs := &figureSet{id: "live " + res.Wave(), method: methodText(res.Params()), params: res.Params()}
	for _, r := range res.Results() {
		f := figure{england: r.Geography == publication.GeographyEngland, ics: r.ICS, gvar: r.GroupVariable, glevel: r.GroupLevel,
			respondentType: r.RespondentType, questionID: r.QuestionID, measure: r.Measure, status: r.Status.String(), vs: string(r.VsEngland)}
		pct, okP := r.PctPositive.Value()
		lo, okL := r.CILower.Value()
		hi, okH := r.CIUpper.Value()
		if okP && okL && okH && !withheldStatus(f.status) {
			f.published, f.pct, f.lo, f.hi = true, pct, lo, hi
			f.base, _ = r.BaseUnweighted.Value()
		} else {
			f.vs = ""
			if n, ok := r.BaseUnweighted.Value(); ok && withheldStatus(f.status) && f.status != "B" {
				f.base, f.baseShown = n, true
			}
		}
		fs.rows = append(fs.rows, f)
	}
	fs.index()
	return fs
}

// releaseFigures reads a release's rows from published_results (NULL when withheld).
func (s *Source) releaseFigures(ctx context.Context, sn *snapshot, wave, id string) (*figureSet, error) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if fs, ok := sn.releases[releaseKey(wave, id)]; ok {
		return fs, nil
	}
	var n int
	if err := sn.db.QueryRowContext(ctx, `SELECT count(*) FROM releases WHERE release_id = ? AND wave_id = ?`, id, wave).Scan(&n); err != nil {
		return nil, fmt.Errorf("dashdata: reading release %s: %w", id, err)
	}
	if n == 0 {
		return nil, fmt.Errorf("dashdata: release %q of wave %s: %w", id, wave, web.ErrNotFound)
	}
	rows, err := sn.db.QueryContext(ctx, `SELECT geography_level, ics, group_variable, group_level, respondent_type, question_id,
		positive_codes, base_unweighted, pct_positive, ci_lower, ci_upper, vs_england, status
		FROM published_results WHERE release_id = ? AND wave_id = ?`, id, wave)
	if err != nil {
		return nil, fmt.Errorf("dashdata: reading release %s: %w", id, err)
	}
	defer rows.Close()
	fs := &figureSet{id: id}
	for rows.Next() {
		var geo, positive string
		var base sql.NullInt64
		var pct, lo, hi sql.NullFloat64
		var f figure
		if err := rows.Scan(&geo, &f.ics, &f.gvar, &f.glevel, &f.respondentType, &f.questionID, &positive, &base, &pct, &lo, &hi, &f.vs, &f.status); err != nil {
			return nil, fmt.Errorf("dashdata: reading release %s: %w", id, err)
		}
		f.england = geo == publication.GeographyEngland
		if q, ok := s.cat.questions[f.questionID]; ok && q.Multi {
			f.measure = positive
		}
		if pct.Valid && lo.Valid && hi.Valid && !withheldStatus(f.status) {
			f.published, f.pct, f.lo, f.hi, f.base = true, pct.Float64, lo.Float64, hi.Float64, base.Int64
		} else {
			f.vs = ""
			if base.Valid && withheldStatus(f.status) && f.status != "B" {
				f.base, f.baseShown = base.Int64, true
			}
		}
		fs.rows = append(fs.rows, f)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Rows in the order the live figures have: by question, England first, then ICSs.
	sort.SliceStable(fs.rows, func(i, j int) bool { return s.cat.order(fs.rows[i].questionID) < s.cat.order(fs.rows[j].questionID) })
	var meta, params sql.NullString
	_ = sn.db.QueryRowContext(ctx, `SELECT code_version, parameters FROM releases WHERE release_id = ? AND wave_id = ?`, id, wave).Scan(&meta, &params)
	// The release's own parameters: its confidence level and thresholds, not the
	// dashboard's. A release written before its record held them is described with
	// the dashboard's (the defaults, unless configured).
	fs.params = s.params
	if params.Valid {
		if fs.params, err = publication.ParamsOfJSON(params.String); err != nil {
			return nil, fmt.Errorf("dashdata: release %s of wave %s: %w", id, wave, err)
		}
	}
	fs.method = methodText(fs.params) + " Release " + id + "."
	if meta.Valid && meta.String != "" {
		fs.method += " Code " + meta.String + "."
	}
	fs.index()
	sn.releases[releaseKey(wave, id)] = fs
	return fs, nil
}

// releaseKey is a release's key in the snapshot's cache: a release id names a release
// of one wave only.
func releaseKey(wave, id string) string { return wave + "\x00" + id }

func (c *catalogue) order(id string) int {
	if q, ok := c.questions[id]; ok {
		return q.order
	}
	return len(c.questions)
}

// ---- web.Freshness, web.Waves ------------------------------------------------------

// DataStatus is the snapshot's "data as of", and whether the warehouse has changed since.
func (s *Source) DataStatus(ctx context.Context) (web.DataStatus, error) {
	sn, err := s.snap()
	if err != nil {
		return web.DataStatus{}, err
	}
	st := web.DataStatus{AsOf: sn.asOf, LoadDate: sn.loadDate}
	if changed, err := s.warehouseChanged(); err == nil && changed.After(sn.changed) {
		st.Newer, st.NewerAsOf = true, changed
	}
	return st, nil
}

// Waves lists the waves in the snapshot.
func (s *Source) Waves(ctx context.Context) ([]web.Wave, error) {
	sn, err := s.snap()
	if err != nil {
		return nil, err
	}
	return slices.Clone(sn.waves), nil
}

// ---- web.Results -------------------------------------------------------------------

// Themes lists the theme pages with the respondent types that have questions in them.
func (s *Source) Themes(ctx context.Context, wave string) ([]web.Theme, error) {
	sn, err := s.snap()
	if err != nil {
		return nil, err
	}
	lw := sn.live[wave]
	var present map[string]map[string]bool
	if lw != nil && lw.figures != nil {
		present = lw.figures.types
	}
	var out []web.Theme
	for _, t := range s.cat.themes {
		th := web.Theme{ID: t.ID, Name: t.Name, Brochure: t.brochure}
		for _, typ := range []string{web.RespondentPatient, web.RespondentCarer} {
			for id := range present[typ] {
				if s.cat.inTheme(t, id) {
					th.RespondentTypes = append(th.RespondentTypes, typ)
					break
				}
			}
		}
		if present == nil {
			// No live figures yet: every theme, for both types, so the pages can say so.
			th.RespondentTypes = []string{web.RespondentPatient, web.RespondentCarer}
		}
		if len(th.RespondentTypes) > 0 {
			out = append(out, th)
		}
	}
	return out, nil
}

// groupVariable maps the dashboard's breakdown names onto the release's.
var groupVariable = map[string]string{
	web.BreakdownNone: publication.GroupAll, web.BreakdownAgeBand: codes.BreakdownAgeBand, web.BreakdownGender: codes.BreakdownGender,
	web.BreakdownEthnicity: codes.BreakdownEthnicity, web.BreakdownEFIBand: codes.BreakdownEFIBand,
}

// ErrNoLiveFigures: the wave's live figures could not be computed (for example before
// any response is loaded); the error says why.
var ErrNoLiveFigures = errors.New("dashdata: no live figures for this wave yet")

// Measures returns a theme's figures for one ICS, respondent type and breakdown, from
// the live figures or a release. A withheld figure comes back with its status and no
// numbers; when every figure is withheld the query is refused.
func (s *Source) Measures(ctx context.Context, q web.Query) (web.MeasureSet, error) {
	sn, err := s.snap()
	if err != nil {
		return web.MeasureSet{}, err
	}
	t, ok := s.cat.theme(q.Theme)
	if !ok {
		return web.MeasureSet{}, fmt.Errorf("dashdata: theme %q: %w", q.Theme, web.ErrNotFound)
	}
	gvar, ok := groupVariable[q.Breakdown]
	if !ok {
		return web.MeasureSet{}, fmt.Errorf("dashdata: breakdown %q: %w", q.Breakdown, web.ErrNotFound)
	}
	var fs *figureSet
	if q.Release == "" {
		lw := sn.live[q.Wave]
		if lw == nil {
			return web.MeasureSet{}, fmt.Errorf("dashdata: wave %q: %w", q.Wave, web.ErrNotFound)
		}
		if lw.figures == nil {
			return web.MeasureSet{}, fmt.Errorf("%w: %v (%w)", ErrNoLiveFigures, lw.err, &web.TooFewResponsesError{NoFigures: true})
		}
		fs = lw.figures
	} else if fs, err = s.releaseFigures(ctx, sn, q.Wave, q.Release); err != nil {
		return web.MeasureSet{}, err
	}
	set := web.MeasureSet{ReleaseID: fs.id, Method: fs.method, Weighted: q.RespondentType == web.RespondentPatient,
		MinBase: fs.params.Disclosure.MinBase, MinCount: fs.params.Disclosure.MinCount, CautionBase: fs.params.Disclosure.CautionBase,
		Confidence: fs.params.Estimate.Confidence}
	published := 0
	for _, i := range fs.scope[scopeKey(q.ICS, q.RespondentType, gvar)] {
		f := fs.rows[i]
		if !s.cat.inTheme(t, f.questionID) {
			continue
		}
		m := web.Measure{QuestionID: f.questionID, QuestionText: s.questionText(f.questionID, f.measure), Status: f.status}
		if gvar != publication.GroupAll {
			m.Group = levelLabel(gvar, f.glevel)
		}
		if f.published {
			published++
			m.Base, m.PctPositive, m.CILower, m.CIUpper, m.VsEngland = int(f.base), f.pct/100, f.lo/100, f.hi/100, f.vs
			if e, ok := fs.england[englandKey(f.respondentType, f.questionID, f.measure, publication.GroupAll, publication.GroupAll)]; ok {
				m.England, m.HasEngland = e/100, true
			}
		} else if m.Status == "" || m.Status == "L" {
			m.Status = "B" // no numbers published: shown as withheld, whatever the reason
		} else if f.baseShown {
			m.Base, m.BaseShown = int(f.base), true // the release publishes it with the withheld %
		}
		set.Measures = append(set.Measures, m)
	}
	if published == 0 {
		// Every figure withheld, or none at all (say, an ICS the release leaves out, or
		// respondents it has none of): the page says which.
		return web.MeasureSet{}, fmt.Errorf("dashdata: %s %s in %s by %q: %w", q.Theme, q.RespondentType, q.ICS, q.Breakdown,
			&web.TooFewResponsesError{MinBase: fs.params.Disclosure.MinBase, NoFigures: len(set.Measures) == 0})
	}
	if gvar != publication.GroupAll {
		levels, _ := codes.BreakdownLevels(gvar)
		rank := func(m web.Measure) int {
			for i, l := range levels {
				if levelLabel(gvar, l) == m.Group {
					return i
				}
			}
			return len(levels)
		}
		sort.SliceStable(set.Measures, func(i, j int) bool {
			if set.Measures[i].QuestionID != set.Measures[j].QuestionID {
				return false
			}
			return rank(set.Measures[i]) < rank(set.Measures[j])
		})
	}
	return set, nil
}

func (s *Source) questionText(id, measure string) string {
	q, ok := s.cat.questions[id]
	if !ok {
		return id
	}
	if measure != "" {
		if l, ok := q.Options[measure]; ok {
			return q.Text + " – " + l
		}
		return q.Text + " – option " + measure
	}
	return q.Text
}

// levelLabel names a breakdown level for people.
func levelLabel(gvar, level string) string {
	switch gvar {
	case codes.BreakdownGender:
		switch level {
		case codes.GenderMale:
			return "Male"
		case codes.GenderFemale:
			return "Female"
		case codes.GenderIndeterminate:
			return "Indeterminate"
		case codes.GenderNotKnown:
			return "Not known (0)"
		case codes.GenderNotKnownX:
			return "Not known (X)"
		}
	case codes.BreakdownEthnicity:
		for _, g := range codes.EthnicGroups {
			if g.Code == level {
				return g.Name
			}
		}
	case codes.BreakdownEFIBand:
		return strings.ToUpper(level[:1]) + level[1:] + " frailty"
	case codes.BreakdownAgeBand:
		return strings.Replace(level, "-", "–", 1)
	}
	return level
}

// ---- web.Releases --------------------------------------------------------------

// Releases lists the wave's releases loaded into the warehouse.
func (s *Source) Releases(ctx context.Context, wave string) ([]web.Release, error) {
	sn, err := s.snap()
	if err != nil {
		return nil, err
	}
	sn.mu.Lock()
	rels, ok := sn.releaseList[wave]
	sn.mu.Unlock()
	if ok {
		return slices.Clone(rels), nil
	}
	return s.releasesOf(ctx, sn, wave)
}

func (s *Source) releasesOf(ctx context.Context, sn *snapshot, wave string) ([]web.Release, error) {
	rows, err := sn.db.QueryContext(ctx, `SELECT release_id, status, approved_by, approved_at, icss_published, icss_not_published,
		result_rows, cells_withheld FROM releases WHERE wave_id = ? ORDER BY release_id`, wave)
	if err != nil {
		return nil, fmt.Errorf("dashdata: reading releases: %w", err)
	}
	defer rows.Close()
	var out []web.Release
	for rows.Next() {
		var r web.Release
		var at sql.NullTime
		var pub, notPub string
		if err := rows.Scan(&r.ID, &r.Status, &r.ApprovedBy, &at, &pub, &notPub, &r.ResultRows, &r.CellsWithheld); err != nil {
			return nil, fmt.Errorf("dashdata: reading releases: %w", err)
		}
		if at.Valid {
			r.ApprovedAt = at.Time
		}
		r.ICSsPublished, r.ICSsNotPublished = splitList(pub), splitList(notPub)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sn.mu.Lock()
	sn.releaseList[wave] = out
	sn.mu.Unlock()
	return slices.Clone(out), nil
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}

// ---- web.Fieldwork -----------------------------------------------------------------

// Progress lists each ICS's fieldwork position from the live release's response-rate
// table (counts as disclosure control leaves them).
func (s *Source) Progress(ctx context.Context, wave string) ([]web.ICSProgress, error) {
	sn, err := s.snap()
	if err != nil {
		return nil, err
	}
	lw := sn.live[wave]
	if lw == nil {
		return nil, fmt.Errorf("dashdata: wave %q: %w", wave, web.ErrNotFound)
	}
	if lw.figures == nil {
		// No live figures (so no checked counts): every ICS, nothing counted shown.
		var out []web.ICSProgress
		for _, w := range sn.waves {
			if w.ID != wave {
				continue
			}
			for _, ics := range w.ICSs {
				out = append(out, web.ICSProgress{ICS: ics, Stage: web.StageFieldwork, SampledWithheld: true, GroupWithheld: [3]bool{true, true, true}, RateWithheld: true})
			}
		}
		return out, nil
	}
	return slices.Clone(lw.progress), nil
}

// ResponseByDay is one ICS's cumulative adjusted response rate by fieldwork day.
func (s *Source) ResponseByDay(ctx context.Context, wave, ics string) (web.DailyResponse, error) {
	sn, err := s.snap()
	if err != nil {
		return web.DailyResponse{}, err
	}
	lw := sn.live[wave]
	if lw == nil {
		return web.DailyResponse{}, fmt.Errorf("dashdata: wave %q: %w", wave, web.ErrNotFound)
	}
	return lw.daily[ics], nil
}

// fieldwork fills the wave's progress and daily response from the release's
// response-rate rows and the snapshot's outcome events and mailings.
// icsSet runs a query of ICS codes and returns them as a set.
func (sn *snapshot) icsSet(ctx context.Context, query string, args ...any) (map[string]bool, error) {
	rows, err := sn.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var ics string
		if err := rows.Scan(&ics); err != nil {
			return nil, err
		}
		out[ics] = true
	}
	return out, rows.Err()
}

func (sn *snapshot) fieldwork(ctx context.Context, w web.Wave, res *publication.Results, lw *liveWave) error {
	minCount := int64(res.Params().Disclosure.MinCount)
	rates := map[string]publication.ResponseRateRow{}
	for _, r := range res.ResponseRates() {
		if r.Geography == publication.GeographyICS {
			rates[r.ICS] = r
		}
	}
	// Fieldwork starts at the wave's first mailing (or, without mailings, its first
	// outcome event); a day is counted in Europe/London.
	var start sql.NullTime
	if err := sn.db.QueryRowContext(ctx, `SELECT min(sent_at) FROM mailing_history WHERE wave_id = ?`, w.ID).Scan(&start); err != nil {
		return fmt.Errorf("dashdata: reading mailing_history: %w", err)
	}
	if !start.Valid {
		if err := sn.db.QueryRowContext(ctx, `SELECT least((SELECT min("at") FROM outcome_events WHERE wave = ?), (SELECT min(completed_at) FROM completions WHERE wave = ?))`, w.ID, w.ID).Scan(&start); err != nil {
			return fmt.Errorf("dashdata: reading outcome_events: %w", err)
		}
	}
	dayOf := func(t time.Time) int {
		if !start.Valid {
			return 0
		}
		return fieldworkDay(start.Time, t)
	}
	// Completed questionnaires by ICS and day (a person counted once, on their first).
	// Fieldwork days count from the first mailing (or the first event or completion).
	completions := map[string]map[int]int64{}
	if start.Valid {
		// The warehouse's completions view: each patient's first kept complete response.
		rows, err := sn.db.QueryContext(ctx, `SELECT ics, completed_at FROM completions WHERE wave = ?`, w.ID)
		if err != nil {
			return fmt.Errorf("dashdata: reading completions: %w", err)
		}
		for rows.Next() {
			var ics string
			var at time.Time
			if err := rows.Scan(&ics, &at); err != nil {
				rows.Close()
				return err
			}
			if completions[ics] == nil {
				completions[ics] = map[int]int64{}
			}
			completions[ics][dayOf(at)]++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	var mailings []web.Mailing
	if start.Valid {
		rows, err := sn.db.QueryContext(ctx, `SELECT step, min(sent_at) AS first FROM mailing_history WHERE wave_id = ? GROUP BY step ORDER BY first`, w.ID)
		if err != nil {
			return fmt.Errorf("dashdata: reading mailing days: %w", err)
		}
		for rows.Next() {
			var step string
			var at time.Time
			if err := rows.Scan(&step, &at); err != nil {
				rows.Close()
				return err
			}
			mailings = append(mailings, web.Mailing{Day: dayOf(at), Label: step})
		}
		rows.Close()
	}
	// Today is the fieldwork day of the last load; never before the last completion
	// (a snapshot's load times can precede synthetic or back-filled event times).
	today := max(0, dayOf(sn.asOf))
	for _, byDay := range completions {
		for d := range byDay {
			today = max(today, d)
		}
	}
	// An ICS with a closing record has closed: its days stop at the wave's last one
	// with a completion or a mailing, instead of counting on with the calendar.
	closed, err := sn.icsSet(ctx, `SELECT DISTINCT ics FROM final_outcomes WHERE wave_id = ?`, w.ID)
	if err != nil {
		return fmt.Errorf("dashdata: reading final_outcomes: %w", err)
	}
	lastDay := 0
	for _, m := range mailings {
		lastDay = max(lastDay, m.Day)
	}
	for _, byDay := range completions {
		for d := range byDay {
			lastDay = max(lastDay, d)
		}
	}
	// An ICS whose fieldwork ended before its close (cancelled, or failed for good) has
	// no closing record; its audit trail says it ended, and its days stop too.
	endedEarly, err := sn.icsSet(ctx, `SELECT DISTINCT ics FROM audit_log WHERE wave_id = ? AND kind = ?`, w.ID, audit.KindFieldworkEndedEarly)
	if err != nil {
		return fmt.Errorf("dashdata: reading audit_log: %w", err)
	}
	for _, ics := range w.ICSs {
		r, ok := rates[ics.Code]
		p := web.ICSProgress{ICS: ics, Stage: web.StageFieldwork, FieldworkDay: today, SampledWithheld: true, GroupWithheld: [3]bool{true, true, true}, RateWithheld: true}
		switch {
		case closed[ics.Code]:
			p.Stage, p.FieldworkDay = web.StageClosed, lastDay
		case endedEarly[ics.Code]:
			p.Stage, p.FieldworkDay = web.StageEndedEarly, lastDay
		}
		if ok {
			if n, ok := r.Sampled.Value(); ok {
				p.Sampled, p.SampledWithheld = int(n), false
			}
			for g := range r.Groups {
				if n, ok := r.Groups[g].Value(); ok && !r.GroupStatus[g].Withheld() {
					p.Groups[g], p.GroupWithheld[g] = int(n), false
				}
			}
			if v, ok := r.AdjustedResponseRate.Value(); ok && !r.Status.Withheld() {
				p.Rate, p.RateWithheld = v/100, false
			}
		}
		lw.progress = append(lw.progress, p)
		// The daily line: cumulative completions over the eligible (completed and not
		// responded, both published), a day withheld while its count is a small one.
		d := web.DailyResponse{Mailings: mailings, MinCount: int(minCount)}
		if !p.GroupWithheld[0] && !p.GroupWithheld[2] && p.Groups[0]+p.Groups[2] > 0 && start.Valid {
			eligible := float64(p.Groups[0] + p.Groups[2])
			var cum int64
			for day := 0; day <= p.FieldworkDay; day++ {
				cum += completions[ics.Code][day]
				dr := web.DayRate{Day: day}
				if cum > 0 && cum < minCount {
					dr.Withheld = true
				} else {
					dr.Responses, dr.Rate = int(cum), float64(cum)/eligible
				}
				d.Days = append(d.Days, dr)
			}
		}
		lw.daily[ics.Code] = d
	}
	return nil
}

// fieldworkDay is the fieldwork day t falls on: calendar days in England from the day
// of start (the first mailing), as the warehouse's response_rates_by_day counts them,
// not 24-hour periods from its moment (a response at 09:00 on the 14th day after a
// 16:00 mailing is on day 14, and one at 00:30 BST on the next day is on day 1). A time
// before start's day is on day 0.
func fieldworkDay(start, t time.Time) int {
	day := func(t time.Time) int { return int(england.Day(t).Unix() / 86400) }
	return max(0, day(t)-day(start))
}

// ---- web.Practices ---------------------------------------------------------------

// PracticeRates is the response by GP practice of one ICS: each practice's eligible
// sample (completed and not responded: the release's groups, so the practices add up
// to published ICS counts and reveal no count of deaths) split by completion, checked
// by disclosure.Check with column totals.
func (s *Source) PracticeRates(ctx context.Context, wave, ics string) ([]web.PracticeRate, error) {
	sn, err := s.snap()
	if err != nil {
		return nil, err
	}
	return s.practiceRates(ctx, sn, wave, ics)
}

func (s *Source) practiceRates(ctx context.Context, sn *snapshot, wave, ics string) ([]web.PracticeRate, error) {
	key := wave + "\x00" + ics
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if p, ok := sn.practices[key]; ok {
		return slices.Clone(p), nil
	}
	rows, err := sn.db.QueryContext(ctx, `SELECT s.gp_practice_code,
			count(*) FILTER (WHERE o.outcome = 1), count(*) FILTER (WHERE o.outcome IN (4, 6))
		FROM sample s JOIN outcomes o ON o.wave_id = s.wave_id AND o.ics = s.ics AND o.survey_record_id = s.survey_record_id
		WHERE s.wave_id = ? AND s.ics = ? GROUP BY s.gp_practice_code ORDER BY s.gp_practice_code`, wave, ics)
	if err != nil {
		return nil, fmt.Errorf("dashdata: reading the response by practice: %w", err)
	}
	t := disclosure.Table{Name: "response by practice, " + ics, Categories: []string{"completed", "not_responded"},
		PositiveCategories: []bool{true, false}, Unweighted: true, ColumnTotals: true}
	for rows.Next() {
		var code string
		var done, not int64
		if err := rows.Scan(&code, &done, &not); err != nil {
			rows.Close()
			return nil, err
		}
		if done+not == 0 {
			continue
		}
		t.Groups = append(t.Groups, code)
		t.Counts = append(t.Counts, []int64{done, not})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []web.PracticeRate
	if len(t.Groups) > 0 {
		c, err := disclosure.Check(t, s.params.Disclosure)
		if err != nil {
			return nil, fmt.Errorf("dashdata: %w", err)
		}
		for i := range c.NumGroups() {
			p := web.PracticeRate{Practice: c.Group(i), Status: c.RowStatus(i).String()}
			base, okB := c.Base(i)
			done, okD := c.Count(i, 0)
			_, okN := c.Count(i, 1)
			switch {
			case c.RowStatus(i).Withheld() || !okB:
				p.Status = "B"
			case !okD || !okN || base == 0:
				p.Eligible, p.CompletedWithheld = int(base), true
			default:
				p.Eligible, p.Completed, p.Rate = int(base), int(done), float64(done)/float64(base)
			}
			out = append(out, p)
		}
	}
	sn.practices[key] = out
	return slices.Clone(out), nil
}
