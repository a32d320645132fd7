package linkage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"icesurvey/audit"
	"icesurvey/codes"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// A release is one build of the linked outputs of a wave, named by a release id, keyed
// by that release's pseudonyms. It is built afresh from the lake every time: the
// consent events as they stand (so a withdrawal since the last release removes the
// person from every output of this one), the validated extracts, the sample and the
// kept responses. Building a release retires the wave's earlier ones: their
// person-level outputs and exports are deleted (their quality reports, counts only, are
// kept), so a withdrawn person is in no linked output the pipeline still holds. An
// export already handed to a platform is the recipient's to delete under the data
// sharing agreement; the manifest names the release it came from.

// DefaultLookbackMonths is how far before the response condition flags and exported
// activity reach.
const DefaultLookbackMonths = 24

// ReleaseConfig says which release to build.
type ReleaseConfig struct {
	WaveID     string
	ReleaseID  string
	ProjectKey []byte
	// Definitions and Codelists: the embedded ones when nil.
	Definitions *Definitions
	Codelists   *Codelists
	// LookbackMonths: DefaultLookbackMonths when 0.
	LookbackMonths int
	// TruthKey, for synthetic data, is the truth file to measure precision and recall
	// against.
	TruthKey string
	// TempDir holds the staged relations while the release is built (the system's
	// temporary directory when empty). They are deleted before BuildRelease returns.
	TempDir string
}

// TableOutput is one object a release wrote.
type TableOutput struct {
	Key  string `json:"key"`
	Rows int64  `json:"rows"`
}

// ReleaseResult describes a built release. It holds no personal data.
type ReleaseResult struct {
	WaveID       string `json:"wave_id"`
	ReleaseID    string `json:"release_id"`
	ReleaseKeyID string `json:"release_key_id"`
	ProjectKeyID string `json:"project_key_id"`
	// Codelists names each code list used: id, version and status.
	Codelists []string `json:"codelists"`
	// Definitions names each dataset definition: id, version and digest.
	Definitions []string `json:"definitions"`

	Sampled   int64 `json:"sampled"`
	Responded int64 `json:"responded"`
	Consented int64 `json:"consented"`
	Linked    int64 `json:"linked"` // consenters found in at least one dataset
	// Superseded is how many of the lake's accepted rows a later extract's row of the
	// same record replaced (superseded_records): left out of every output.
	Superseded int64 `json:"superseded"`

	Tables   map[string]TableOutput    `json:"tables"`
	Reports  []string                  `json:"reports"`
	Accuracy []schemas.LinkageAccuracy `json:"accuracy,omitempty"`
	Retired  []string                  `json:"retired,omitempty"`
	Seconds  map[string]float64        `json:"phase_seconds"`
	// CPUSeconds is the CPU time (user and system, of every thread: DuckDB's workers
	// too) the process spent in each phase. It is the process's, so it is the build's
	// only when nothing else runs in the process (the benchmark); 0 where the system
	// does not say.
	CPUSeconds map[string]float64 `json:"phase_cpu_seconds"`
}

// PersonLevelTables are the release's tables that hold one row per person (or per
// person's answer, condition or activity): the ones a later release retires.
func PersonLevelTables(defs *Definitions) []string {
	out := []string{schemas.TableLinkedRespondents, schemas.TableLinkedConditions, schemas.TableLinkedAnswers}
	for _, id := range defs.IDs() {
		out = append(out, schemas.LinkedActivityTable(id))
	}
	return out
}

// QualityTables are the release's quality report tables (counts only).
var QualityTables = []string{schemas.TableLinkageFlow, schemas.TableLinkageMatchRates, schemas.TableLinkageConsentBias, schemas.TableLinkageAccuracy}

// BuildRelease builds the linked outputs and the linkage quality report of one release.
func BuildRelease(ctx context.Context, st store.Store, cfg ReleaseConfig) (*ReleaseResult, error) {
	started, startedCPU := time.Now(), processCPU()
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	rel, err := NewReleaser(cfg.ProjectKey, cfg.WaveID, cfg.ReleaseID)
	if err != nil {
		return nil, err
	}
	res := &ReleaseResult{WaveID: cfg.WaveID, ReleaseID: cfg.ReleaseID, ReleaseKeyID: rel.KeyID(), ProjectKeyID: KeyID(cfg.ProjectKey),
		Tables: map[string]TableOutput{}, Seconds: map[string]float64{}, CPUSeconds: map[string]float64{}}
	for _, cl := range cfg.Codelists.Lists {
		res.Codelists = append(res.Codelists, cl.ID+" "+cl.Version+" "+cl.Status)
	}
	for _, d := range cfg.Definitions.All() {
		res.Definitions = append(res.Definitions, d.ID+" "+d.Version+" "+d.Digest[:16])
	}
	cpuAt := processCPU()
	phase := func(name string, t time.Time) {
		res.Seconds[name] = time.Since(t).Seconds()
		now := processCPU()
		res.CPUSeconds[name], cpuAt = now-cpuAt, now
	}

	t := time.Now()
	dir, err := os.MkdirTemp(cfg.TempDir, "ice-linkage-stage-*")
	if err != nil {
		return nil, fmt.Errorf("linkage: staging directory: %w", err)
	}
	// The staged frame holds project and release pseudonyms side by side: it never
	// outlives the build.
	defer os.RemoveAll(dir)
	eng, err := stageRelease(ctx, st, cfg, rel, dir+"/", func() { phase("cohort", t); t = time.Now() }, true)
	if err != nil {
		return nil, err
	}
	defer eng.close()
	phase("stage", t)

	t = time.Now()
	if err := eng.bind(ctx, st, cfg); err != nil {
		return nil, err
	}
	phase("bind", t)

	t = time.Now()
	if res.Superseded, err = eng.materialise(ctx); err != nil {
		return nil, err
	}
	phase("materialise", t)

	t = time.Now()
	if err := eng.outputs(ctx, st, cfg, res); err != nil {
		return nil, err
	}
	phase("outputs", t)
	t = time.Now()
	retired, err := RetireEarlierReleases(ctx, st, cfg.WaveID, cfg.ReleaseID, cfg.Definitions)
	if err != nil {
		return nil, err
	}
	res.Retired = retired
	phase("retire", t)
	res.Seconds["total"] = time.Since(started).Seconds()
	res.CPUSeconds["total"] = processCPU() - startedCPU
	audit.Record(ctx, "linkage_release_built", map[string]any{
		"wave": res.WaveID, "release": res.ReleaseID, "release_key_id": res.ReleaseKeyID, "codelists": res.Codelists,
		"definitions": res.Definitions, "sampled": res.Sampled, "responded": res.Responded, "consented": res.Consented,
		"linked": res.Linked, "superseded": res.Superseded, "retired_objects": len(res.Retired),
	})
	slog.InfoContext(ctx, "linkage release built", "wave", res.WaveID, "release", res.ReleaseID, "sampled", res.Sampled,
		"responded", res.Responded, "consented", res.Consented, "linked", res.Linked, "superseded", res.Superseded, "phase_seconds", res.Seconds)
	return res, nil
}

func (cfg *ReleaseConfig) defaults() error {
	var err error
	if cfg.Definitions == nil {
		if cfg.Definitions, err = DefaultDefinitions(); err != nil {
			return err
		}
	}
	if cfg.Codelists == nil {
		if cfg.Codelists, err = DefaultCodelists(); err != nil {
			return err
		}
	}
	if cfg.LookbackMonths == 0 {
		cfg.LookbackMonths = DefaultLookbackMonths
	}
	if cfg.LookbackMonths < 12 {
		return fmt.Errorf("linkage: a lookback of %d months is shorter than the 12-month window", cfg.LookbackMonths)
	}
	return nil
}

// Frame builds the staged frame of a cohort for one release: every sampled person with
// their window dates and, if they consented, their release pseudonym.
func Frame(cohort *Cohort, rel *Releaser, lookbackMonths int) []schemas.LinkageFrame {
	out := make([]schemas.LinkageFrame, len(cohort.People))
	dates := make([][4]time.Time, len(cohort.People))
	for i := range cohort.People {
		frameRow(&out[i], &dates[i], i, &cohort.People[i], rel, lookbackMonths)
	}
	return out
}

// frameRow sets f to the frame's row of person p, the cohort's i-th, with its dates
// held in dates (f points into it).
func frameRow(f *schemas.LinkageFrame, dates *[4]time.Time, i int, p *Person, rel *Releaser, lookbackMonths int) {
	*f = schemas.LinkageFrame{PersonIndex: int32(i), SurveyRecordID: p.SurveyRecordID, ICS: p.ICS, NHSPseudonym: p.NHSPseudonym, AgeBand: p.AgeBand,
		Gender: p.Gender, EthnicityGroup: p.EthnicityGroup, EFIBand: p.EFIBand, Responded: p.Responded, Consented: p.Consented}
	if p.Responded {
		d := p.ResponseDate
		dates[0], dates[1], dates[2], dates[3] = d, codes.MonthsBefore(d, 6), codes.MonthsBefore(d, 12), codes.MonthsBefore(d, lookbackMonths)
		f.ResponseDate, f.From6M, f.From12M, f.LookbackFrom = &dates[0], &dates[1], &dates[2], &dates[3]
		f.ResponseMonth = d.Format("2006-01")
	}
	if p.Consented {
		f.ReleasePseudonym = rel.Pseudonym(p.NHSPseudonym)
	}
}

// writeFrame writes the staged frame of a cohort to path a row at a time, with no
// slice of the whole frame (as large again as the cohort, and all of it for the
// collector to scan).
func writeFrame(path string, cohort *Cohort, rel *Releaser, lookbackMonths int, options ...lake.WriterOption) error {
	return writeLocalStream(path, schemas.LinkageFrameLayout(), func(emit func(*schemas.LinkageFrame) error) error {
		var f schemas.LinkageFrame
		var dates [4]time.Time
		for i := range cohort.People {
			frameRow(&f, &dates, i, &cohort.People[i], rel, lookbackMonths)
			if err := emit(&f); err != nil {
				return err
			}
		}
		return nil
	}, options...)
}

// stageRelease reads the release's cohort from the lake (cohortRead is called once it
// is read) and stages every relation under dir (a local directory ending in /): the
// answers by DuckDB, in the engine it returns for the release's queries. local says
// the relations are read on this machine only and deleted with the build: they are
// written uncompressed, as compressing them (the frame's pseudonyms hardly shrink) cost
// more than the space it saved, and every query reading them decompressed them again.
func stageRelease(ctx context.Context, st store.Store, cfg ReleaseConfig, rel *Releaser, dir string, cohortRead func(), local bool) (*engine, error) {
	var options []lake.WriterOption
	if local {
		options = append(options, lake.Uncompressed())
	}
	cohort, err := loadCohort(ctx, st, cfg.WaveID, false)
	if err != nil {
		return nil, err
	}
	cohortRead()
	answers, err := stageTo(dir, cohort, rel, cfg, options...)
	if err != nil {
		return nil, err
	}
	if local {
		answers.compression = "uncompressed"
	}
	// The cohort is staged (its answers' inputs too) and needed no more. Its memory
	// goes back to the system now, before DuckDB's queries take theirs, so the build's
	// peak is the larger of the two rather than their sum.
	cohort = nil
	debug.FreeOSMemory()
	eng, err := newEngine(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := stageAnswers(ctx, eng.conn, st, answers); err != nil {
		eng.close()
		return nil, fmt.Errorf("linkage: stage: %w", err)
	}
	return eng, nil
}

// stageTo writes the staged relations under dir (a local directory ending in /) but
// the answers, and the inputs of the answers' query, which the caller runs with DuckDB
// (stageAnswers) once the cohort is let go.
func stageTo(dir string, cohort *Cohort, rel *Releaser, cfg ReleaseConfig, options ...lake.WriterOption) (*answerStage, error) {
	var answers *answerStage
	var measures []schemas.LinkageMeasure
	var datasets []schemas.LinkageDataset
	for _, d := range cfg.Definitions.All() {
		datasets = append(datasets, schemas.LinkageDataset{DatasetID: d.ID})
		types := make([]string, 0, len(d.Measures))
		for t := range d.Measures {
			types = append(types, t)
		}
		sort.Strings(types)
		for _, t := range types {
			m := d.Measures[t]
			measures = append(measures, schemas.LinkageMeasure{DatasetID: d.ID, ActivityType: t, Measure: m.Measure, BedDays: m.BedDays})
		}
	}
	for _, w := range []func() error{
		func() error {
			return writeFrame(dir+"frame/part-0.parquet", cohort, rel, cfg.LookbackMonths, options...)
		},
		func() (err error) {
			answers, err = prepareAnswers(dir, cohort, options...)
			return err
		},
		func() error {
			return writeLocal(dir+"measure_map/part-0.parquet", schemas.LinkageMeasureLayout(), measures, options...)
		},
		func() error {
			return writeLocal(dir+"codelist/part-0.parquet", schemas.LinkageCodeLayout(), cfg.Codelists.Stage(), options...)
		},
		func() error {
			return writeLocal(dir+"datasets/part-0.parquet", schemas.LinkageDatasetLayout(), datasets, options...)
		},
	} {
		if err := w(); err != nil {
			return nil, fmt.Errorf("linkage: stage: %w", err)
		}
	}
	return answers, nil
}

// StageRelations writes the staged relations of a release to the restricted area
// (StagePrefix), for a distributed engine running PortableScript. The caller deletes
// them when the run ends (DeleteStage).
func StageRelations(ctx context.Context, st store.Store, cfg ReleaseConfig) (string, error) {
	if err := cfg.defaults(); err != nil {
		return "", err
	}
	rel, err := NewReleaser(cfg.ProjectKey, cfg.WaveID, cfg.ReleaseID)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "ice-linkage-stage-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	eng, err := stageRelease(ctx, st, cfg, rel, dir+"/", func() {}, false)
	if err != nil {
		return "", err
	}
	defer eng.close()
	prefix := StagePrefix(cfg.WaveID, cfg.ReleaseID)
	for _, r := range stagedLayouts() {
		f, err := os.Open(filepath.Join(dir, r.Name, "part-0.parquet"))
		if err != nil {
			return "", err
		}
		err = st.Put(ctx, prefix+r.Name+"/part-0.parquet", f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("linkage: stage %s: %w", r.Name, err)
		}
	}
	return prefix, nil
}

// DeleteStage removes the staged relations of a release from the restricted area.
func DeleteStage(ctx context.Context, st store.Store, wave, release string) error {
	infos, err := st.List(ctx, StagePrefix(wave, release))
	if err != nil {
		return err
	}
	for _, in := range infos {
		if err := st.Delete(ctx, in.Key); err != nil {
			return err
		}
	}
	return nil
}

// engine is a DuckDB session with the relations bound.
type engine struct {
	db       *sql.DB
	conn     *sql.Conn
	cleanups []func()
	dir      string
	// noneSuperseded: the activity objects' statistics show that no dataset has rows
	// of more than one extract, so no row is superseded (bind).
	noneSuperseded bool
}

func (e *engine) close() {
	if e.conn != nil {
		e.conn.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
	for _, c := range e.cleanups {
		c()
	}
}

// localFiles gives local copies of the Parquet objects under prefix.
func (e *engine) localFiles(ctx context.Context, st store.Store, prefix string) ([]string, error) {
	keys, err := lakeObjects(ctx, st, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, k := range keys {
		p, cleanup, err := lake.LocalCopy(ctx, st, k)
		if err != nil {
			return nil, err
		}
		e.cleanups = append(e.cleanups, cleanup)
		out = append(out, p)
	}
	return out, nil
}

// newEngine opens a DuckDB session spilling to dir, with nothing bound yet.
func newEngine(ctx context.Context, dir string) (*engine, error) {
	e := &engine{dir: dir}
	var err error
	if e.db, err = sql.Open("duckdb", ""); err != nil {
		return nil, fmt.Errorf("linkage: open DuckDB: %w", err)
	}
	if e.conn, err = e.db.Conn(ctx); err != nil {
		e.close()
		return nil, fmt.Errorf("linkage: open DuckDB: %w", err)
	}
	// DuckDB spills to this directory, not beside the (in-memory) database.
	if _, err := e.conn.ExecContext(ctx, "SET temp_directory = "+sqlQuote(dir+"duckdb.tmp")); err != nil {
		e.close()
		return nil, fmt.Errorf("linkage: set up DuckDB: %w", err)
	}
	return e, nil
}

// bind makes the staged relations (under e.dir) and the lake's queryable.
func (e *engine) bind(ctx context.Context, st store.Store, cfg ReleaseConfig) error {
	dir := e.dir
	rels := stagedRelations(dir)
	var activity []string
	for _, id := range cfg.Definitions.IDs() {
		files, err := e.localFiles(ctx, st, schemas.LinkageActivityPrefix(id, cfg.WaveID))
		if err != nil {
			return err
		}
		activity = append(activity, files...)
	}
	diagnoses, err := e.localFiles(ctx, st, schemas.LinkageDiagnosesPrefix(cfg.WaveID))
	if err != nil {
		return err
	}
	lenient, err := lacksColumns(activity, schemas.LinkageActivityLayout())
	if err != nil {
		return err
	}
	if e.noneSuperseded, err = oneExtractPerDataset(ctx, e.conn, activity); err != nil {
		return err
	}
	rels = append(rels, Relation{Name: "activity", Layout: schemas.LinkageActivityLayout(), Locations: activity, Lenient: lenient},
		Relation{Name: "diagnoses", Layout: schemas.LinkageDiagnosisLayout(), Locations: diagnoses})
	if cfg.TruthKey != "" {
		p, cleanup, err := lake.LocalCopy(ctx, st, cfg.TruthKey)
		if err != nil {
			return fmt.Errorf("linkage: truth file: %w", err)
		}
		e.cleanups = append(e.cleanups, cleanup)
		rels = append(rels, Relation{Name: "truth", Layout: schemas.LinkageTruthLayout(), Locations: []string{p}})
	}
	for _, r := range rels {
		for _, s := range Dialects["duckdb"].Bind(r) {
			if _, err := e.conn.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("linkage: bind %s: %w", r.Name, err)
			}
		}
	}
	return nil
}

// lacksColumns reports whether any of the local Parquet files lacks a column of l (an
// object of the validated extracts written before record_key and source_order were
// kept: its rows are each a record of their own).
func lacksColumns(files []string, l *schemas.Layout) (bool, error) {
	for _, f := range files {
		cols, _, err := parquetColumns(f)
		if err != nil {
			return false, fmt.Errorf("linkage: read %s: %w", filepath.Base(f), err)
		}
		if len(cols) < len(l.Columns) {
			return true, nil
		}
		have := map[string]bool{}
		for _, c := range cols {
			have[c] = true
		}
		for _, c := range l.Columns {
			if !have[c.Name] {
				return true, nil
			}
		}
	}
	return false, nil
}

// materialise computes the shared relations (Materialised) the outputs read, and
// returns how many activity rows are superseded. When none is (the common case: every
// dataset in one extract), the relations that leave the superseded rows out are the
// lake's relations themselves, and superseded_records, when the objects' statistics
// already show it empty (noneSuperseded), is not computed.
func (e *engine) materialise(ctx context.Context) (int64, error) {
	d := Dialects["duckdb"]
	var superseded int64
	for _, name := range Materialised {
		q, err := Query(name)
		if err != nil {
			return 0, err
		}
		stmt := d.materialise(name, q)
		switch {
		case name == "superseded_records" && e.noneSuperseded:
			stmt = d.Materialise(name, "SELECT CAST(NULL AS VARCHAR) AS row_id WHERE 1 = 0")
		case unsuperseded[name] != "" && superseded == 0:
			stmt = d.View(name, "SELECT * FROM "+unsuperseded[name])
		}
		if _, err := e.conn.ExecContext(ctx, stmt); err != nil {
			return 0, fmt.Errorf("linkage: %s: %w", name, err)
		}
		if name == "superseded_records" {
			if err := e.conn.QueryRowContext(ctx, "SELECT count(*) FROM superseded_records").Scan(&superseded); err != nil {
				return 0, fmt.Errorf("linkage: superseded_records: %w", err)
			}
		}
	}
	return superseded, nil
}

// oneExtractPerDataset reports whether the statistics of the local activity objects
// show every dataset's rows to be of one extract: each row group of one dataset_id and
// one source_order (its minimum and maximum equal, or no value at all), the same for
// every row group of the dataset. Then superseded_records is empty (no dataset has
// rows of two extracts to compare), which is the common case, and this is known from
// the objects' footers without reading a row. Anything the statistics do not settle
// (a row group without them, of two datasets or two extracts) answers false, and the
// release computes superseded_records as the query says.
func oneExtractPerDataset(ctx context.Context, conn *sql.Conn, files []string) (bool, error) {
	if len(files) == 0 {
		return true, nil
	}
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = sqlQuote(f)
	}
	rows, err := conn.QueryContext(ctx, fmt.Sprintf(`SELECT file_name, row_group_id, row_group_num_rows, path_in_schema, stats_min_value, stats_max_value, stats_null_count
FROM parquet_metadata([%s]) WHERE path_in_schema IN ('dataset_id', 'source_order')`, strings.Join(quoted, ", ")))
	if err != nil {
		return false, fmt.Errorf("linkage: activity statistics: %w", err)
	}
	defer rows.Close()
	type group struct {
		dataset, order sql.NullString
		orderKnown     bool
	}
	groups := map[[2]any]*group{}
	for rows.Next() {
		var file, col string
		var rg, n int64
		var lo, hi sql.NullString
		var nulls sql.NullInt64
		if err := rows.Scan(&file, &rg, &n, &col, &lo, &hi, &nulls); err != nil {
			return false, fmt.Errorf("linkage: activity statistics: %w", err)
		}
		g := groups[[2]any{file, rg}]
		if g == nil {
			g = &group{}
			groups[[2]any{file, rg}] = g
		}
		switch {
		case n == 0:
			// no rows: says nothing, and nothing is needed of it
			g.orderKnown = true
			continue
		case lo.Valid && hi.Valid && lo.String == hi.String:
		case !lo.Valid && !hi.Valid && col == "source_order" && nulls.Valid && nulls.Int64 == n:
			// every source_order NULL: the rows of an object written before it was kept,
			// which no MIN or MAX counts
		default:
			return false, nil
		}
		if col == "dataset_id" {
			g.dataset = lo
		} else {
			g.order, g.orderKnown = lo, true
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("linkage: activity statistics: %w", err)
	}
	order := map[string]string{} // by dataset: its one source_order
	for _, g := range groups {
		if !g.orderKnown || !g.order.Valid {
			// no source_order column (an object written before it was kept), or none but
			// NULL: its rows are no record's versions
			continue
		}
		if !g.dataset.Valid {
			return false, nil
		}
		if o, ok := order[g.dataset.String]; ok && o != g.order.String {
			return false, nil
		}
		order[g.dataset.String] = g.order.String
	}
	return true, nil
}

// timed records how long the caller's step took, under name.
func timed(res *ReleaseResult, name string) func() {
	t, c := time.Now(), processCPU()
	return func() {
		res.Seconds[name] += time.Since(t).Seconds()
		res.CPUSeconds[name] += processCPU() - c
	}
}

// output is one table of a release: the query that makes it, its layout, and the
// order of its rows (none for the large ones).
type output struct {
	table   string
	query   string // a SQL file, or SQL text when sql is set
	sql     string
	layout  *schemas.Layout
	orderBy string
	// dataset and columns, of a dataset's activity export (no layout): its dataset, a
	// constant of every row, and the columns sql gives, in order.
	dataset string
	columns []string
}

// releaseOutputs are the release's tables, in the order they are made.
func releaseOutputs(defs *Definitions) []output {
	out := []output{
		{table: schemas.TableLinkedRespondents, query: "linked_respondents", layout: schemas.LinkedRespondentLayout(), orderBy: "release_pseudonym"},
		{table: schemas.TableLinkedConditions, query: "linked_conditions", layout: schemas.LinkedConditionLayout(), orderBy: "release_pseudonym, condition_id"},
		// The two large outputs are not sorted: a sort cost as much again as the
		// query, and their readers need no order.
		{table: schemas.TableLinkedAnswers, query: "linked_answers", layout: schemas.LinkedAnswerLayout()},
	}
	for _, d := range defs.All() {
		cols := append([]string{"release_pseudonym", "dataset_id"}, d.Export...)
		out = append(out, output{table: schemas.LinkedActivityTable(d.ID), query: "linked_activity", dataset: d.ID, columns: cols,
			sql: fmt.Sprintf("SELECT %s FROM (%s) a WHERE a.dataset_id = %s", strings.Join(prefixed("a.", cols), ", "), "%s", sqlQuote(d.ID))})
	}
	return append(out,
		output{table: schemas.TableLinkageFlow, query: "quality_flow", layout: schemas.LinkageFlowLayout(),
			orderBy: "ics, CASE stage WHEN 'sampled' THEN 0 WHEN 'responded' THEN 1 WHEN 'consented' THEN 2 ELSE 3 END, dataset_id"},
		output{table: schemas.TableLinkageMatchRates, query: "quality_match_rates", layout: schemas.LinkageMatchRateLayout(), orderBy: "dataset_id, dimension, category"},
		output{table: schemas.TableLinkageConsentBias, query: "quality_consent_bias", layout: schemas.LinkageConsentBiasLayout(), orderBy: "dimension, category"},
	)
}

var accuracyOutput = output{table: schemas.TableLinkageAccuracy, query: "quality_accuracy", layout: schemas.LinkageAccuracyLayout(), orderBy: "dataset_id"}

// statement is the query that makes an output's rows: the SQL file, wrapped to give the
// layout's columns with their declared types (and the release's ids as constants) in a
// fixed order, so a file written by the engine reads back as the layout. konst, when
// set, writes each constant column (the release, the wave, an export's dataset): the
// DuckDB engine's cheaper constants (constant.duckDB); the portable scripts, without
// it, cast literals.
func (o output) statement(typ func(schemas.Type) string, konst func(string, schemas.Type) string, release, wave string) (string, error) {
	q, err := Query(o.query)
	if err != nil {
		return "", err
	}
	q = strings.TrimSpace(q)
	if o.sql != "" {
		q = fmt.Sprintf(o.sql, q)
	}
	consts := map[string]string{"release_id": release, "wave_id": wave}
	var cols []string
	switch {
	case o.layout == nil && konst == nil:
		cols = []string{sqlQuote(release) + " AS release_id", sqlQuote(wave) + " AS wave_id", "q.*"}
	case o.layout == nil:
		cols = []string{konst(release, schemas.String) + " AS release_id", konst(wave, schemas.String) + " AS wave_id"}
		if o.dataset == "" || len(o.columns) == 0 {
			cols = append(cols, "q.*")
			break
		}
		for _, c := range o.columns {
			if c == "dataset_id" {
				cols = append(cols, konst(o.dataset, schemas.String)+" AS dataset_id")
				continue
			}
			cols = append(cols, "q."+c)
		}
	default:
		for _, c := range o.layout.Columns {
			if v, ok := consts[c.Name]; ok {
				if konst != nil {
					cols = append(cols, fmt.Sprintf("%s AS %s", konst(v, c.Type), c.Name))
					continue
				}
				cols = append(cols, fmt.Sprintf("CAST(%s AS %s) AS %s", sqlQuote(v), typ(c.Type), c.Name))
				continue
			}
			cols = append(cols, fmt.Sprintf("CAST(q.%s AS %s) AS %s", c.Name, typ(c.Type), c.Name))
		}
	}
	stmt := fmt.Sprintf("SELECT %s\nFROM (\n%s\n) q", strings.Join(cols, ", "), q)
	if o.orderBy != "" {
		stmt += "\nORDER BY " + o.orderBy
	}
	return stmt, nil
}

// create makes one output: the engine writes it as Parquet, and it is stored at the
// release's key.
func (e *engine) create(ctx context.Context, st store.Store, res *ReleaseResult, o output) error {
	defer timed(res, "table:"+o.table)()
	stmt, err := o.statement(duckType, func(v string, t schemas.Type) string { return constant(v).duckDB(t) }, res.ReleaseID, res.WaveID)
	if err != nil {
		return err
	}
	local := e.dir + o.table + ".parquet"
	if _, err := e.conn.ExecContext(ctx, Dialects["duckdb"].Create(o.table, local, stmt)); err != nil {
		return fmt.Errorf("linkage: %s: %w", o.table, err)
	}
	_, rows, err := parquetColumns(local)
	if err != nil {
		return err
	}
	key := schemas.LinkedKey(o.table, res.WaveID, res.ReleaseID)
	if err := putFile(ctx, st, key, local); err != nil {
		return err
	}
	res.Tables[o.table] = TableOutput{Key: key, Rows: rows}
	return nil
}

func prefixed(p string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = p + n
	}
	return out
}

func putFile(ctx context.Context, st store.Store, key, local string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := st.Put(ctx, key, f); err != nil {
		return fmt.Errorf("linkage: store %s: %w", key, err)
	}
	return nil
}

// outputs makes every table of the release, then the quality report's CSV files and
// the release's figures from the (small) quality tables.
func (e *engine) outputs(ctx context.Context, st store.Store, cfg ReleaseConfig, res *ReleaseResult) error {
	outs := releaseOutputs(cfg.Definitions)
	if cfg.TruthKey != "" {
		outs = append(outs, accuracyOutput)
	}
	for _, o := range outs {
		if err := e.create(ctx, st, res, o); err != nil {
			return err
		}
	}
	defer timed(res, "reports")()
	flow, err := report[schemas.LinkageFlow](ctx, st, res, schemas.TableLinkageFlow, schemas.LinkageFlowLayout())
	if err != nil {
		return err
	}
	for _, f := range flow {
		if f.ICS != "ALL" {
			continue
		}
		switch {
		case f.Stage == schemas.FlowSampled:
			res.Sampled = f.People
		case f.Stage == schemas.FlowResponded:
			res.Responded = f.People
		case f.Stage == schemas.FlowConsented:
			res.Consented = f.People
		case f.Stage == schemas.FlowLinked && f.DatasetID == "any":
			res.Linked = f.People
		}
	}
	if _, err := report[schemas.LinkageMatchRate](ctx, st, res, schemas.TableLinkageMatchRates, schemas.LinkageMatchRateLayout()); err != nil {
		return err
	}
	if _, err := report[schemas.LinkageConsentBias](ctx, st, res, schemas.TableLinkageConsentBias, schemas.LinkageConsentBiasLayout()); err != nil {
		return err
	}
	if cfg.TruthKey != "" {
		if res.Accuracy, err = report[schemas.LinkageAccuracy](ctx, st, res, schemas.TableLinkageAccuracy, schemas.LinkageAccuracyLayout()); err != nil {
			return err
		}
	}
	return nil
}

// report reads a quality table of the release back and stores it as CSV under the
// release's reports.
func report[T any](ctx context.Context, st store.Store, res *ReleaseResult, table string, l *schemas.Layout) ([]T, error) {
	rows, err := lake.GetRows[T](ctx, st, res.Tables[table].Key, l)
	if err != nil {
		return nil, err
	}
	b, err := CSV(l, rows)
	if err != nil {
		return nil, err
	}
	key := schemas.LinkageReportPrefix(res.WaveID, res.ReleaseID) + table + ".csv"
	if err := store.PutBytes(ctx, st, key, b); err != nil {
		return nil, fmt.Errorf("linkage: store %s: %w", key, err)
	}
	res.Reports = append(res.Reports, key)
	return rows, nil
}

// RetireEarlierReleases deletes the person-level outputs and the exports of every
// release of the wave but keep, and returns the keys deleted. Quality reports (counts
// only) are kept.
func RetireEarlierReleases(ctx context.Context, st store.Store, wave, keep string, defs *Definitions) ([]string, error) {
	var prefixes []string
	for _, t := range PersonLevelTables(defs) {
		prefixes = append(prefixes, schemas.LakeWavePrefix(schemas.LakeTable(t), wave))
	}
	prefixes = append(prefixes, strings.TrimSuffix(schemas.LinkageExportPrefix(wave, "x"), "x/"))
	var gone []string
	for _, p := range prefixes {
		infos, err := st.List(ctx, p)
		if err != nil {
			return gone, err
		}
		for _, in := range infos {
			rest := strings.TrimPrefix(in.Key, p)
			release, _, _ := strings.Cut(strings.TrimPrefix(rest, "release="), "/")
			if release == keep {
				continue
			}
			if err := st.Delete(ctx, in.Key); err != nil && !errors.Is(err, store.ErrNotExist) {
				return gone, fmt.Errorf("linkage: retire %s: %w", in.Key, err)
			}
			gone = append(gone, in.Key)
		}
	}
	if len(gone) > 0 {
		audit.Record(ctx, "linkage_releases_retired", map[string]any{"wave": wave, "kept": keep, "objects": len(gone)})
	}
	return gone, nil
}
