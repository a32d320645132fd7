package linkage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
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

	Tables   map[string]TableOutput    `json:"tables"`
	Reports  []string                  `json:"reports"`
	Accuracy []schemas.LinkageAccuracy `json:"accuracy,omitempty"`
	Retired  []string                  `json:"retired,omitempty"`
	Seconds  map[string]float64        `json:"phase_seconds"`
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
	started := time.Now()
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	rel, err := NewReleaser(cfg.ProjectKey, cfg.WaveID, cfg.ReleaseID)
	if err != nil {
		return nil, err
	}
	res := &ReleaseResult{WaveID: cfg.WaveID, ReleaseID: cfg.ReleaseID, ReleaseKeyID: rel.KeyID(), ProjectKeyID: KeyID(cfg.ProjectKey),
		Tables: map[string]TableOutput{}, Seconds: map[string]float64{}}
	for _, cl := range cfg.Codelists.Lists {
		res.Codelists = append(res.Codelists, cl.ID+" "+cl.Version+" "+cl.Status)
	}
	for _, d := range cfg.Definitions.All() {
		res.Definitions = append(res.Definitions, d.ID+" "+d.Version+" "+d.Digest[:16])
	}
	phase := func(name string, t time.Time) { res.Seconds[name] = time.Since(t).Seconds() }

	t := time.Now()
	cohort, err := LoadCohort(ctx, st, cfg.WaveID)
	if err != nil {
		return nil, err
	}
	phase("cohort", t)
	t = time.Now()
	dir, err := os.MkdirTemp(cfg.TempDir, "ice-linkage-stage-*")
	if err != nil {
		return nil, fmt.Errorf("linkage: staging directory: %w", err)
	}
	// The staged frame holds project and release pseudonyms side by side: it never
	// outlives the build.
	defer os.RemoveAll(dir)
	if err := stageTo(dir+"/", cohort, rel, cfg); err != nil {
		return nil, err
	}
	phase("stage", t)

	t = time.Now()
	eng, err := openEngine(ctx, st, cfg, dir+"/")
	if err != nil {
		return nil, err
	}
	defer eng.close()
	phase("bind", t)

	t = time.Now()
	if err := eng.linkedOutputs(ctx, st, cfg, res); err != nil {
		return nil, err
	}
	phase("linked_outputs", t)
	t = time.Now()
	if err := eng.qualityReport(ctx, st, cfg, res); err != nil {
		return nil, err
	}
	phase("quality_report", t)
	t = time.Now()
	retired, err := RetireEarlierReleases(ctx, st, cfg.WaveID, cfg.ReleaseID, cfg.Definitions)
	if err != nil {
		return nil, err
	}
	res.Retired = retired
	phase("retire", t)
	res.Seconds["total"] = time.Since(started).Seconds()
	audit.Record(ctx, "linkage_release_built", map[string]any{
		"wave": res.WaveID, "release": res.ReleaseID, "release_key_id": res.ReleaseKeyID, "codelists": res.Codelists,
		"definitions": res.Definitions, "sampled": res.Sampled, "responded": res.Responded, "consented": res.Consented,
		"linked": res.Linked, "retired_objects": len(res.Retired),
	})
	slog.InfoContext(ctx, "linkage release built", "wave", res.WaveID, "release", res.ReleaseID, "sampled", res.Sampled,
		"responded", res.Responded, "consented", res.Consented, "linked", res.Linked, "phase_seconds", res.Seconds)
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
	for i := range cohort.People {
		p := &cohort.People[i]
		f := &out[i]
		*f = schemas.LinkageFrame{SurveyRecordID: p.SurveyRecordID, ICS: p.ICS, NHSPseudonym: p.NHSPseudonym, AgeBand: p.AgeBand,
			Gender: p.Gender, EthnicityGroup: p.EthnicityGroup, EFIBand: p.EFIBand, Responded: p.Responded, Consented: p.Consented}
		if p.Responded {
			d := p.ResponseDate
			f6, f12, lb := codes.MonthsBefore(d, 6), codes.MonthsBefore(d, 12), codes.MonthsBefore(d, lookbackMonths)
			f.ResponseDate, f.From6M, f.From12M, f.LookbackFrom = &d, &f6, &f12, &lb
		}
		if p.Consented {
			f.ReleasePseudonym = rel.Pseudonym(p.NHSPseudonym)
		}
	}
	return out
}

// stageTo writes the staged relations under dir (a local directory ending in /).
func stageTo(dir string, cohort *Cohort, rel *Releaser, cfg ReleaseConfig) error {
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
			return writeLocal(dir+"frame/part-0.parquet", schemas.LinkageFrameLayout(), Frame(cohort, rel, cfg.LookbackMonths))
		},
		func() error {
			return writeLocal(dir+"answers/part-0.parquet", schemas.LinkageAnswerLayout(), cohort.Answers)
		},
		func() error {
			return writeLocal(dir+"measure_map/part-0.parquet", schemas.LinkageMeasureLayout(), measures)
		},
		func() error {
			return writeLocal(dir+"codelist/part-0.parquet", schemas.LinkageCodeLayout(), cfg.Codelists.Stage())
		},
		func() error {
			return writeLocal(dir+"datasets/part-0.parquet", schemas.LinkageDatasetLayout(), datasets)
		},
	} {
		if err := w(); err != nil {
			return fmt.Errorf("linkage: stage: %w", err)
		}
	}
	return nil
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
	cohort, err := LoadCohort(ctx, st, cfg.WaveID)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(cfg.TempDir, "ice-linkage-stage-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := stageTo(dir+"/", cohort, rel, cfg); err != nil {
		return "", err
	}
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

func openEngine(ctx context.Context, st store.Store, cfg ReleaseConfig, dir string) (*engine, error) {
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
		return nil, err
	}
	rels := stagedRelations(dir)
	var activity []string
	for _, id := range cfg.Definitions.IDs() {
		files, err := e.localFiles(ctx, st, schemas.LinkageActivityPrefix(id, cfg.WaveID))
		if err != nil {
			e.close()
			return nil, err
		}
		activity = append(activity, files...)
	}
	diagnoses, err := e.localFiles(ctx, st, schemas.LinkageDiagnosesPrefix(cfg.WaveID))
	if err != nil {
		e.close()
		return nil, err
	}
	rels = append(rels, Relation{"activity", schemas.LinkageActivityLayout(), activity},
		Relation{"diagnoses", schemas.LinkageDiagnosisLayout(), diagnoses})
	if cfg.TruthKey != "" {
		p, cleanup, err := lake.LocalCopy(ctx, st, cfg.TruthKey)
		if err != nil {
			e.close()
			return nil, fmt.Errorf("linkage: truth file: %w", err)
		}
		e.cleanups = append(e.cleanups, cleanup)
		rels = append(rels, Relation{"truth", schemas.LinkageTruthLayout(), []string{p}})
	}
	for _, r := range rels {
		for _, s := range Dialects["duckdb"].Bind(r) {
			if _, err := e.conn.ExecContext(ctx, s); err != nil {
				e.close()
				return nil, fmt.Errorf("linkage: bind %s: %w", r.Name, err)
			}
		}
	}
	for _, name := range Materialised {
		q, err := Query(name)
		if err != nil {
			e.close()
			return nil, err
		}
		if _, err := e.conn.ExecContext(ctx, Dialects["duckdb"].Materialise(name, q)); err != nil {
			e.close()
			return nil, fmt.Errorf("linkage: %s: %w", name, err)
		}
	}
	return e, nil
}

// put stores rows as the release's object of table.
func put[T any](ctx context.Context, st store.Store, res *ReleaseResult, table string, l *schemas.Layout, rows []T) error {
	defer timed(res, "write:"+table)()
	key := schemas.LinkedKey(table, res.WaveID, res.ReleaseID)
	if err := lake.PutRows(ctx, st, key, l, rows); err != nil {
		return fmt.Errorf("linkage: write %s: %w", table, err)
	}
	res.Tables[table] = TableOutput{Key: key, Rows: int64(len(rows))}
	return nil
}

// timed records how long the caller's step took, under name.
func timed(res *ReleaseResult, name string) func() {
	t := time.Now()
	return func() { res.Seconds[name] += time.Since(t).Seconds() }
}

func (e *engine) run(ctx context.Context, name string) (string, error) {
	q, err := Query(name)
	if err != nil {
		return "", err
	}
	return q, nil
}

// linkedOutputs writes linked_respondents, linked_conditions, linked_answers and each
// dataset's linked activity.
func (e *engine) linkedOutputs(ctx context.Context, st store.Store, cfg ReleaseConfig, res *ReleaseResult) error {
	q, err := e.run(ctx, "linked_respondents")
	if err != nil {
		return err
	}
	resp, err := queryRows(ctx, e.conn, q, schemas.LinkedRespondentLayout(), func(r *schemas.LinkedRespondent, extra map[string]any) {
		r.ReleaseID, r.WaveID = cfg.ReleaseID, cfg.WaveID
		if d, ok := extra["response_date"].(time.Time); ok {
			r.ResponseMonth = d.Format("2006-01")
		}
	})
	if err != nil {
		return fmt.Errorf("linkage: linked_respondents: %w", err)
	}
	sort.Slice(resp, func(i, j int) bool { return resp[i].ReleasePseudonym < resp[j].ReleasePseudonym })
	if err := put(ctx, st, res, schemas.TableLinkedRespondents, schemas.LinkedRespondentLayout(), resp); err != nil {
		return err
	}

	if q, err = e.run(ctx, "linked_conditions"); err != nil {
		return err
	}
	listOf := map[string]*Codelist{}
	for _, cl := range cfg.Codelists.Lists {
		for _, c := range cl.Conditions {
			listOf[c.ID] = cl
		}
	}
	conds, err := queryRows(ctx, e.conn, q, schemas.LinkedConditionLayout(), func(c *schemas.LinkedCondition, _ map[string]any) {
		c.ReleaseID, c.WaveID = cfg.ReleaseID, cfg.WaveID
		if cl := listOf[c.ConditionID]; cl != nil {
			c.CodelistID, c.CodelistVersion = cl.ID, cl.Version
		}
	})
	if err != nil {
		return fmt.Errorf("linkage: linked_conditions: %w", err)
	}
	sort.Slice(conds, func(i, j int) bool {
		if conds[i].ReleasePseudonym != conds[j].ReleasePseudonym {
			return conds[i].ReleasePseudonym < conds[j].ReleasePseudonym
		}
		return conds[i].ConditionID < conds[j].ConditionID
	})
	if err := put(ctx, st, res, schemas.TableLinkedConditions, schemas.LinkedConditionLayout(), conds); err != nil {
		return err
	}

	if q, err = e.run(ctx, "linked_answers"); err != nil {
		return err
	}
	answers, err := queryRows(ctx, e.conn, q, schemas.LinkedAnswerLayout(), func(a *schemas.LinkedAnswer, _ map[string]any) {
		a.ReleaseID, a.WaveID = cfg.ReleaseID, cfg.WaveID
	})
	if err != nil {
		return fmt.Errorf("linkage: linked_answers: %w", err)
	}
	sort.Slice(answers, func(i, j int) bool {
		a, b := &answers[i], &answers[j]
		if a.ReleasePseudonym != b.ReleasePseudonym {
			return a.ReleasePseudonym < b.ReleasePseudonym
		}
		if a.QuestionID != b.QuestionID {
			return a.QuestionID < b.QuestionID
		}
		return a.AnswerCode < b.AnswerCode
	})
	if err := put(ctx, st, res, schemas.TableLinkedAnswers, schemas.LinkedAnswerLayout(), answers); err != nil {
		return err
	}

	// Each dataset's linked activity, with only the columns its definition lets an
	// export carry.
	if q, err = e.run(ctx, "linked_activity"); err != nil {
		return err
	}
	for _, d := range cfg.Definitions.All() {
		cols := append([]string{sqlQuote(cfg.ReleaseID) + " AS release_id", sqlQuote(cfg.WaveID) + " AS wave_id",
			"x.release_pseudonym", "x.dataset_id"}, prefixed("x.", d.Export)...)
		sel := fmt.Sprintf("SELECT %s FROM (%s) x WHERE x.dataset_id = %s ORDER BY x.release_pseudonym, x.activity_date",
			strings.Join(cols, ", "), strings.TrimSpace(q), sqlQuote(d.ID))
		table := schemas.LinkedActivityTable(d.ID)
		local := e.dir + table + ".parquet"
		if _, err := e.conn.ExecContext(ctx, Dialects["duckdb"].Create(table, local, sel)); err != nil {
			return fmt.Errorf("linkage: %s: %w", table, err)
		}
		var n int64
		if err := e.conn.QueryRowContext(ctx, "SELECT COUNT(*) FROM read_parquet("+sqlQuote(local)+")").Scan(&n); err != nil {
			return err
		}
		key := schemas.LinkedKey(table, cfg.WaveID, cfg.ReleaseID)
		if err := putFile(ctx, st, key, local); err != nil {
			return err
		}
		res.Tables[table] = TableOutput{Key: key, Rows: n}
	}
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

// qualityReport writes the cohort flow, match rates, consent bias and (for synthetic
// data) accuracy, to the lake and as CSV.
func (e *engine) qualityReport(ctx context.Context, st store.Store, cfg ReleaseConfig, res *ReleaseResult) error {
	set := func(release, wave *string) { *release, *wave = cfg.ReleaseID, cfg.WaveID }
	q, err := e.run(ctx, "quality_flow")
	if err != nil {
		return err
	}
	flow, err := queryRows(ctx, e.conn, q, schemas.LinkageFlowLayout(), func(f *schemas.LinkageFlow, _ map[string]any) { set(&f.ReleaseID, &f.WaveID) })
	if err != nil {
		return fmt.Errorf("linkage: quality_flow: %w", err)
	}
	stageOrder := map[string]int{schemas.FlowSampled: 0, schemas.FlowResponded: 1, schemas.FlowConsented: 2, schemas.FlowLinked: 3}
	sort.Slice(flow, func(i, j int) bool {
		a, b := &flow[i], &flow[j]
		if a.ICS != b.ICS {
			return a.ICS < b.ICS
		}
		if a.Stage != b.Stage {
			return stageOrder[a.Stage] < stageOrder[b.Stage]
		}
		return a.DatasetID < b.DatasetID
	})
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
	if err := putReport(ctx, st, res, schemas.TableLinkageFlow, schemas.LinkageFlowLayout(), flow); err != nil {
		return err
	}

	if q, err = e.run(ctx, "quality_match_rates"); err != nil {
		return err
	}
	rates, err := queryRows(ctx, e.conn, q, schemas.LinkageMatchRateLayout(), func(m *schemas.LinkageMatchRate, _ map[string]any) {
		set(&m.ReleaseID, &m.WaveID)
		if m.Consenters > 0 {
			m.MatchRate = float64(m.Linked) / float64(m.Consenters)
		}
	})
	if err != nil {
		return fmt.Errorf("linkage: quality_match_rates: %w", err)
	}
	sort.Slice(rates, func(i, j int) bool {
		a, b := &rates[i], &rates[j]
		if a.DatasetID != b.DatasetID {
			return a.DatasetID < b.DatasetID
		}
		if a.Dimension != b.Dimension {
			return a.Dimension < b.Dimension
		}
		return a.Category < b.Category
	})
	if err := putReport(ctx, st, res, schemas.TableLinkageMatchRates, schemas.LinkageMatchRateLayout(), rates); err != nil {
		return err
	}

	if q, err = e.run(ctx, "quality_consent_bias"); err != nil {
		return err
	}
	bias, err := queryRows(ctx, e.conn, q, schemas.LinkageConsentBiasLayout(), func(b *schemas.LinkageConsentBias, _ map[string]any) {
		set(&b.ReleaseID, &b.WaveID)
		if b.ConsentersBase > 0 {
			s := float64(b.Consenters) / float64(b.ConsentersBase)
			b.ConsentersShare = &s
		}
		if b.NonConsentersBase > 0 {
			s := float64(b.NonConsenters) / float64(b.NonConsentersBase)
			b.NonConsentersShare = &s
		}
		if b.ConsentersShare != nil && b.NonConsentersShare != nil {
			d := 100 * (*b.ConsentersShare - *b.NonConsentersShare)
			b.DifferencePctPoints = &d
		}
	})
	if err != nil {
		return fmt.Errorf("linkage: quality_consent_bias: %w", err)
	}
	sort.Slice(bias, func(i, j int) bool {
		if bias[i].Dimension != bias[j].Dimension {
			return bias[i].Dimension < bias[j].Dimension
		}
		return bias[i].Category < bias[j].Category
	})
	if err := putReport(ctx, st, res, schemas.TableLinkageConsentBias, schemas.LinkageConsentBiasLayout(), bias); err != nil {
		return err
	}

	if cfg.TruthKey == "" {
		return nil
	}
	if q, err = e.run(ctx, "quality_accuracy"); err != nil {
		return err
	}
	acc, err := queryRows(ctx, e.conn, q, schemas.LinkageAccuracyLayout(), func(a *schemas.LinkageAccuracy, _ map[string]any) {
		set(&a.ReleaseID, &a.WaveID)
		if a.Linked > 0 {
			a.Precision = float64(a.Correct) / float64(a.Linked)
		}
		if a.TruePairs > 0 {
			a.Recall = float64(a.Correct) / float64(a.TruePairs)
		}
	})
	if err != nil {
		return fmt.Errorf("linkage: quality_accuracy: %w", err)
	}
	sort.Slice(acc, func(i, j int) bool { return acc[i].DatasetID < acc[j].DatasetID })
	res.Accuracy = acc
	return putReport(ctx, st, res, schemas.TableLinkageAccuracy, schemas.LinkageAccuracyLayout(), acc)
}

// putReport stores a quality table in the lake and as CSV under the release's reports.
func putReport[T any](ctx context.Context, st store.Store, res *ReleaseResult, table string, l *schemas.Layout, rows []T) error {
	if err := put(ctx, st, res, table, l, rows); err != nil {
		return err
	}
	b, err := CSV(l, rows)
	if err != nil {
		return err
	}
	key := schemas.LinkageReportPrefix(res.WaveID, res.ReleaseID) + table + ".csv"
	if err := store.PutBytes(ctx, st, key, b); err != nil {
		return fmt.Errorf("linkage: store %s: %w", key, err)
	}
	res.Reports = append(res.Reports, key)
	return nil
}

// RetireEarlierReleases deletes the person-level outputs and the exports of every
// release of the wave but keep, and returns the keys deleted. Quality reports (counts
// only) are kept.
func RetireEarlierReleases(ctx context.Context, st store.Store, wave, keep string, defs *Definitions) ([]string, error) {
	var prefixes []string
	for _, t := range PersonLevelTables(defs) {
		prefixes = append(prefixes, fmt.Sprintf("lake/%s/wave=%s/", t, wave))
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
