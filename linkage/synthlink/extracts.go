// Package synthlink makes synthetic test data for the linkage: extracts of every
// secondary dataset for a wave's pseudonymised sample (Generate), with a restricted
// truth file saying who truly had what and what validation should make of every row,
// so every linkage rule has test data and the quality report has known answers; and,
// for tests and benchmarks, a synthetic wave in the lake (WriteWave).
//
// The extracts follow the dataset definitions (linkage/defs): each column is filled by
// its role, so a changed definition needs no change here. Activity is plausible for
// frail older adults: more GP appointments, admissions and community contacts with
// severe frailty and with age, people absent from a dataset they never used (few from
// GP appointments, most from mental health services), longer stays for emergency
// admissions. Match failures — a person's activity missing from an extract because the
// source record's NHS number was missing or wrong — are commoner for some ethnic groups
// and for younger and the oldest people, and vary by dataset (rarest in GP data,
// commonest in social care). A few rows are delivered under another sampled person's
// key (false links, so precision is below one). Faults are injected at a set rate:
// impossible and future dates, codes outside the lists, malformed ICD-10 and SNOMED CT
// codes, malformed person keys, keys of nobody in the sample, missing values, an end
// before its start, and duplicated records.
//
// Nothing identifies a real person: the people are the wave's synthetic sample, keyed
// by their project pseudonyms only. The truth file holds those pseudonyms, so it is
// written to the restricted area (schemas.LinkageTruthKey).
package synthlink

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/codes"
	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Config says what to generate.
type Config struct {
	WaveID string
	Seed   uint64
	// Format is "csv" (the default) or "parquet". In Parquet, date columns are typed
	// DATE, so an impossible date cannot be written: that fault becomes a future date.
	Format string
	// FaultRate is the probability that a delivered row carries one fault; 0 means
	// DefaultFaultRate, a negative rate none.
	FaultRate float64
	// Scale multiplies every activity rate (1 when 0).
	Scale float64
	// AsOf is the extracts' as-of date; zero means 30 days after the wave's last loaded
	// response, or Today if that is later: no extract is drawn in the future, and
	// validation would judge every later activity date as in the future.
	AsOf time.Time
	// Today is the day the extracts are drawn (zero: the real clock's, UTC). A wave on a
	// compressed clock (ice demo) has responses dated ahead of it.
	Today time.Time
	// Months of activity before AsOf (DefaultMonths when 0).
	Months int
	// ProjectKeyID, when set, is written to a manifest beside each extract with the
	// as-of date. Without a manifest, validation must be given AsOf.
	ProjectKeyID string
	// NoTruth skips the truth file (a benchmark's extracts need none).
	NoTruth     bool
	Definitions *linkage.Definitions // the embedded ones when nil
}

// Defaults.
const (
	DefaultFaultRate = 0.02
	DefaultMonths    = 27
)

// Faults injected into extract rows (schemas.LinkageTruth.Fault).
const (
	FaultNone          = "none"
	FaultMatchFailure  = "match_failure" // not delivered
	FaultWrongPerson   = "wrong_person"  // delivered under another sampled person's key
	FaultBadDate       = "bad_date"
	FaultFutureDate    = "future_date"
	FaultBadCode       = "bad_code"
	FaultBadDiagnosis  = "bad_diagnosis"
	FaultBadProvider   = "bad_provider"
	FaultInvalidKey    = "invalid_key"
	FaultUnknownKey    = "unknown_key" // an extra row about nobody in the sample
	FaultMissingValue  = "missing_value"
	FaultEndBefore     = "end_before_start"
	FaultDuplicate     = "duplicate" // an extra copy of a row
	faultKindsRowLevel = 9
)

// DatasetStats counts one dataset's extract.
type DatasetStats struct {
	Key          string           `json:"key"`
	Rows         int64            `json:"rows"`
	People       int              `json:"people"`        // sampled people with any activity
	NotDelivered int64            `json:"not_delivered"` // activities lost to match failures
	Faults       map[string]int64 `json:"faults"`
}

// Stats describes what Generate wrote.
type Stats struct {
	WaveID   string                   `json:"wave_id"`
	AsOf     string                   `json:"as_of"`
	Rows     int64                    `json:"rows"`
	Datasets map[string]*DatasetStats `json:"datasets"`
	TruthKey string                   `json:"truth_key,omitempty"`
}

// model is the activity of one dataset for frail people: [moderate, severe].
type model struct {
	user    [2]float64         // probability of any activity in the period
	perYear [2]float64         // activities a year for a user
	types   map[string]float64 // canonical type → share
	miss    float64            // base probability that a person's activity is not delivered
}

var models = map[string]model{
	"gpad":    {[2]float64{0.96, 0.98}, [2]float64{14, 20}, map[string]float64{"attended": 0.92, "did_not_attend": 0.05, "other": 0.03}, 0.01},
	"op":      {[2]float64{0.72, 0.8}, [2]float64{5, 6.5}, map[string]float64{"attended": 0.85, "did_not_attend": 0.08, "cancelled": 0.07}, 0.03},
	"ecds":    {[2]float64{0.45, 0.6}, [2]float64{1.5, 1.9}, map[string]float64{"attended": 1}, 0.06},
	"apc":     {[2]float64{0.35, 0.5}, [2]float64{1.4, 1.8}, map[string]float64{"emergency": 0.7, "elective": 0.25, "transfer": 0.02, "other": 0.03}, 0.03},
	"csds":    {[2]float64{0.35, 0.55}, [2]float64{12, 18}, map[string]float64{"attended": 0.88, "did_not_attend": 0.05, "cancelled": 0.07}, 0.05},
	"mhsds":   {[2]float64{0.06, 0.1}, [2]float64{8, 9}, map[string]float64{"attended": 0.85, "did_not_attend": 0.1, "cancelled": 0.05}, 0.05},
	"asc_cld": {[2]float64{0.2, 0.35}, [2]float64{2.5, 3.5}, map[string]float64{"request": 0.2, "assessment": 0.25, "service": 0.45, "review": 0.1}, 0.1},
}

var defaultModel = model{[2]float64{0.3, 0.4}, [2]float64{2, 3}, map[string]float64{"attended": 1}, 0.05}

// missFactor raises the chance of a match failure by ethnic group: NHS numbers are
// missing or wrong more often in the records of some groups.
var missFactor = map[string]float64{"white": 1, "mixed": 2.5, "asian": 3, "black": 3.5, "other": 3.5, "not_stated": 4}

// prevalence of the latent conditions among frail older people (illustrative).
var prevalence = map[string]float64{"diabetes": 0.28, "heart_failure": 0.15, "copd": 0.14, "dementia": 0.2,
	"cancer": 0.12, "severe_mental_illness": 0.02, "learning_disability": 0.01, "stroke": 0.1,
	"atrial_fibrillation": 0.2, "chronic_kidney_disease": 0.25}

var (
	genericICD10  = []string{"J181", "N390", "S720", "R55X", "I10X", "R296", "J22X", "A419", "E86X", "K590", "M545", "R069"}
	genericSNOMED = []string{"125605004", "267036007", "21522001", "29857009", "386661006", "68566005", "233604007",
		"1912002", "271594007", "419284004"}
	treatmentFunctions = []string{"100", "110", "300", "320", "330", "340", "400", "430", "502", "130"}
	mhTeamTypes        = []string{"C02", "A05", "A06", "C04", "A08"}
)

// truthWriter streams the truth rows.
type truthWriter struct {
	w *lake.Writer[schemas.LinkageTruth]
	f *os.File
}

// Generate writes an extract of every dataset for the wave's sample in the lake, to
// the restricted landing area, and (unless NoTruth) the truth file.
func Generate(ctx context.Context, st store.Store, cfg Config) (*Stats, error) {
	defs := cfg.Definitions
	if defs == nil {
		var err error
		if defs, err = linkage.DefaultDefinitions(); err != nil {
			return nil, err
		}
	}
	if cfg.Format == "" {
		cfg.Format = "csv"
	}
	if cfg.Format != "csv" && cfg.Format != "parquet" {
		return nil, fmt.Errorf("synthlink: format %q is not csv or parquet", cfg.Format)
	}
	switch {
	case cfg.FaultRate == 0:
		cfg.FaultRate = DefaultFaultRate
	case cfg.FaultRate < 0:
		cfg.FaultRate = 0
	}
	if cfg.Scale == 0 {
		cfg.Scale = 1
	}
	if cfg.Months == 0 {
		cfg.Months = DefaultMonths
	}
	cohort, err := linkage.LoadCohort(ctx, st, cfg.WaveID)
	if err != nil {
		return nil, err
	}
	if cfg.AsOf.IsZero() {
		var last time.Time
		for _, p := range cohort.People {
			if p.ResponseDate.After(last) {
				last = p.ResponseDate
			}
		}
		if last.IsZero() {
			return nil, fmt.Errorf("synthlink: wave %s has no responses in the lake; give an as-of date", cfg.WaveID)
		}
		cfg.AsOf = last.AddDate(0, 0, 30)
		today := cfg.Today
		if today.IsZero() {
			today = time.Now()
		}
		today = time.Date(today.UTC().Year(), today.UTC().Month(), today.UTC().Day(), 0, 0, 0, 0, time.UTC)
		if cfg.AsOf.After(today) {
			cfg.AsOf = today
		}
	}
	cls, err := linkage.DefaultCodelists()
	if err != nil {
		return nil, err
	}
	conditions := map[string]linkage.Condition{}
	for _, cl := range cls.Lists {
		for _, c := range cl.Conditions {
			conditions[c.ID] = c
		}
	}
	var tw *truthWriter
	if !cfg.NoTruth {
		f, err := os.CreateTemp("", "ice-synth-truth-*.parquet")
		if err != nil {
			return nil, err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w, err := lake.NewWriter[schemas.LinkageTruth](f, schemas.LinkageTruthLayout())
		if err != nil {
			return nil, err
		}
		tw = &truthWriter{w: w, f: f}
	}
	stats := &Stats{WaveID: cfg.WaveID, AsOf: cfg.AsOf.Format(time.DateOnly), Datasets: map[string]*DatasetStats{}}
	for n, d := range defs.All() {
		ds, err := generateDataset(ctx, st, cfg, d, cohort, conditions, tw, uint64(n))
		if err != nil {
			return nil, fmt.Errorf("synthlink: %s: %w", d.ID, err)
		}
		stats.Datasets[d.ID] = ds
		stats.Rows += ds.Rows
	}
	if tw != nil {
		if err := tw.w.Close(); err != nil {
			return nil, err
		}
		if _, err := tw.f.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		stats.TruthKey = schemas.LinkageTruthKey(cfg.WaveID)
		if err := st.Put(ctx, stats.TruthKey, tw.f); err != nil {
			return nil, err
		}
	}
	return stats, nil
}

// personState is what the generator draws once per person.
type personState struct {
	p          *linkage.Person
	practice   string
	severe     bool
	ageFactor  float64
	conditions []string
}

// rowSink writes one extract's rows as CSV or Parquet.
type rowSink interface {
	write(vals []string) error
	close() error
}

func generateDataset(ctx context.Context, st store.Store, cfg Config, d *linkage.Definition, cohort *linkage.Cohort,
	conditions map[string]linkage.Condition, tw *truthWriter, n uint64) (*DatasetStats, error) {
	m, ok := models[d.ID]
	if !ok {
		m = defaultModel
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1000+n))
	// The same person draws the same conditions and practice in every dataset.
	ds := &DatasetStats{Faults: map[string]int64{}}
	ext := "." + cfg.Format
	ds.Key = schemas.LinkageLandingPrefix(cfg.WaveID, d.ID) + d.ID + "_" + cfg.AsOf.Format("20060102") + ext
	f, err := os.CreateTemp("", "ice-synth-extract-*"+ext)
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	header := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		header[i] = c.Name
	}
	var sink rowSink
	if cfg.Format == "csv" {
		sink, err = newCSVSink(f, header)
	} else {
		sink, err = newParquetSink(f, d)
	}
	if err != nil {
		return nil, err
	}
	typeNames := make([]string, 0, len(m.types))
	for t := range m.types {
		typeNames = append(typeNames, t)
	}
	sort.Strings(typeNames)
	rawOf := map[string][]string{} // canonical type → raw codes
	typCol := d.ColumnsWithRole(linkage.RoleActivityType)[0]
	for code, t := range typCol.Values {
		rawOf[t] = append(rawOf[t], code)
	}
	for _, v := range rawOf {
		sort.Strings(v)
	}
	hasEnd := len(d.ColumnsWithRole(linkage.RoleEndDate)) > 0
	dxSystem := d.DiagnosisSystem()
	days := int(cfg.AsOf.Sub(cfg.AsOf.AddDate(0, -cfg.Months, 0)).Hours() / 24)
	vals := make([]string, len(d.Columns))
	seq := 0
	fileName := ds.Key[len(schemas.LinkageLandingPrefix(cfg.WaveID, d.ID)):]
	var row int64
	emit := func(t schemas.LinkageTruth) error {
		if err := sink.write(vals); err != nil {
			return err
		}
		row++
		ds.Rows++
		if tw != nil {
			t.WaveID, t.DatasetID, t.File, t.Row = cfg.WaveID, d.ID, fileName, row
			if err := tw.w.Write(&t); err != nil {
				return err
			}
		}
		return nil
	}
	people := cohort.People
	for pi := range people {
		if pi&0x3FF == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ps := personOf(cfg.Seed, &people[pi], conditions)
		sev := 0
		if ps.severe {
			sev = 1
		}
		user := m.user[sev] * math.Min(1.3, ps.ageFactor)
		if d.ID == "mhsds" && slices.Contains(ps.conditions, "dementia") {
			user *= 2.5
		}
		if rng.Float64() >= user {
			continue
		}
		ds.People++
		count := poisson(rng, m.perYear[sev]*ps.ageFactor*cfg.Scale*float64(cfg.Months)/12)
		if count == 0 {
			count = 1
		}
		// A match failure loses all of a person's activity in this dataset.
		miss := m.miss * missFactor[ps.p.EthnicityGroup]
		switch ps.p.AgeBand {
		case codes.Age18to64:
			miss *= 1.8
		case codes.Age85Plus:
			miss *= 1.3
		}
		missed := rng.Float64() < miss
		for range count {
			seq++
			start := cfg.AsOf.AddDate(0, 0, -1-rng.IntN(days))
			typ := pick(rng, m.types, typeNames)
			truth := schemas.LinkageTruth{TrueOwner: ps.p.NHSPseudonym, DeliveredKey: ps.p.NHSPseudonym, ActivityDate: start,
				ActivityType: typ, Fault: FaultNone, Expected: schemas.TruthAccepted}
			if missed {
				ds.NotDelivered++
				truth.Fault, truth.Expected, truth.DeliveredKey = FaultMatchFailure, schemas.TruthNotDelivered, ""
				if tw != nil {
					truth.WaveID, truth.DatasetID = cfg.WaveID, d.ID
					if err := tw.w.Write(&truth); err != nil {
						return nil, err
					}
				}
				continue
			}
			var end time.Time
			if hasEnd {
				end = endDate(rng, d.ID, typ, start)
				if end.After(cfg.AsOf) {
					end = time.Time{} // still in hospital, or the service continues
				}
			}
			key := ps.p.NHSPseudonym
			if rng.Float64() < 0.002 {
				other := &people[rng.IntN(len(people))]
				if other != ps.p {
					key = other.NHSPseudonym
					truth.DeliveredKey, truth.Fault = key, FaultWrongPerson
				}
			}
			fill(rng, d, vals, key, fmt.Sprintf("%s%09d", idPrefix(d.ID), seq), start, end, rawOf[typ], ps, dxSystem, conditions)
			fault := FaultNone
			if cfg.FaultRate > 0 && rng.Float64() < cfg.FaultRate {
				fault = inject(rng, cfg, d, vals, &truth)
				if fault != FaultNone {
					ds.Faults[fault]++
				}
			}
			if err := emit(truth); err != nil {
				return nil, err
			}
			switch fault {
			case FaultDuplicate:
				// The copy is rejected; the original (already written) is kept.
				dup := truth
				dup.Fault, dup.Expected, dup.Reason = FaultDuplicate, schemas.TruthRejected, linkage.ReasonRecordDuplicate
				if err := emit(dup); err != nil {
					return nil, err
				}
			case FaultUnknownKey:
				// A row about someone outside the sample, after this one.
				seq++
				fill(rng, d, vals, randomKey(rng), fmt.Sprintf("%s%09d", idPrefix(d.ID), seq), start, end, rawOf[typ], ps, dxSystem, conditions)
				extra := schemas.LinkageTruth{DeliveredKey: vals[keyCol(d)], ActivityDate: start, ActivityType: typ,
					Fault: FaultUnknownKey, Expected: schemas.TruthRejected, Reason: linkage.ReasonPersonKeyUnknown}
				if err := emit(extra); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := sink.close(); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := st.Put(ctx, ds.Key, f); err != nil {
		return nil, err
	}
	if cfg.ProjectKeyID != "" {
		m := linkage.ExtractManifest{Dataset: d.ID, PseudonymKeyID: cfg.ProjectKeyID, AsOf: cfg.AsOf.Format(time.DateOnly), Rows: &ds.Rows}
		b, _ := json.MarshalIndent(m, "", "  ")
		if err := store.PutBytes(ctx, st, linkage.ManifestKey(ds.Key), b); err != nil {
			return nil, err
		}
	}
	return ds, nil
}

func idPrefix(dataset string) string {
	h := sha256.Sum256([]byte(dataset))
	return "X" + hex.EncodeToString(h[:2])
}

func keyCol(d *linkage.Definition) int {
	for i, c := range d.Columns {
		if c.Role == linkage.RolePersonKey {
			return i
		}
	}
	return 0
}

// personOf draws a person's latent state from a stream keyed by the person alone, so
// every dataset sees the same conditions.
func personOf(seed uint64, p *linkage.Person, conditions map[string]linkage.Condition) personState {
	h := sha256.Sum256([]byte(p.NHSPseudonym))
	rng := rand.New(rand.NewPCG(seed, uint64(h[0])<<56|uint64(h[1])<<48|uint64(h[2])<<40|uint64(h[3])<<32|uint64(h[4])<<24|uint64(h[5])<<16|uint64(h[6])<<8|uint64(h[7])))
	ps := personState{p: p, severe: p.EFIBand == codes.EFISevere, ageFactor: 1}
	switch p.AgeBand {
	case codes.Age18to64:
		ps.ageFactor = 0.85
	case codes.Age75to84:
		ps.ageFactor = 1.05
	case codes.Age85Plus:
		ps.ageFactor = 1.15
	}
	names := make([]string, 0, len(prevalence))
	for c := range prevalence {
		names = append(names, c)
	}
	sort.Strings(names)
	for _, c := range names {
		if _, ok := conditions[c]; ok && rng.Float64() < prevalence[c] {
			ps.conditions = append(ps.conditions, c)
		}
	}
	ps.practice = fmt.Sprintf("%c%05d", 'A'+byte(h[8]%26), int(h[9])<<8|int(h[10]))
	ps.practice = ps.practice[:6]
	return ps
}

func poisson(rng *rand.Rand, mean float64) int {
	if mean > 30 {
		return max(0, int(math.Round(mean+math.Sqrt(mean)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

func pick(rng *rand.Rand, shares map[string]float64, names []string) string {
	x := rng.Float64()
	for _, n := range names {
		if x < shares[n] {
			return n
		}
		x -= shares[n]
	}
	return names[len(names)-1]
}

func endDate(rng *rand.Rand, dataset, typ string, start time.Time) time.Time {
	switch {
	case dataset == "apc" && typ == "emergency":
		return start.AddDate(0, 0, int(rng.ExpFloat64()*8))
	case dataset == "apc":
		return start.AddDate(0, 0, int(rng.ExpFloat64()*2))
	case dataset == "ecds":
		return start.AddDate(0, 0, rng.IntN(2))
	case typ == "service":
		return start.AddDate(0, 0, 14+rng.IntN(400))
	}
	return start
}

// fill writes a clean row of dataset d into vals, column by column by role.
func fill(rng *rand.Rand, d *linkage.Definition, vals []string, key, id string, start, end time.Time, raw []string,
	ps personState, dxSystem string, conditions map[string]linkage.Condition) {
	dx := 0
	for i := range d.Columns {
		c := &d.Columns[i]
		v := ""
		switch c.Role {
		case linkage.RolePersonKey:
			v = key
		case linkage.RoleRecordID:
			v = id
		case linkage.RoleActivityDate:
			v = start.Format(time.DateOnly)
		case linkage.RoleEndDate:
			if !end.IsZero() {
				v = end.Format(time.DateOnly)
			}
		case linkage.RoleActivityType:
			v = raw[rng.IntN(len(raw))]
		case linkage.RoleProvider:
			v = provider(rng, c.Check, ps)
		case linkage.RoleDiagnosis:
			dx++
			if dx == 1 && !c.Required && rng.Float64() < 0.3 {
				break // an optional primary diagnosis often unrecorded
			}
			if dx > 1 && rng.Float64() < 0.4 {
				break
			}
			v = diagnosis(rng, dxSystem, ps, conditions, d.ID)
		default:
			v = codeFor(rng, c)
		}
		vals[i] = v
	}
}

func codeFor(rng *rand.Rand, c *linkage.ColumnDef) string {
	if len(c.Values) > 0 {
		keys := make([]string, 0, len(c.Values))
		for k := range c.Values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return keys[rng.IntN(len(keys))]
	}
	switch c.Pattern {
	case "[0-9]{3}":
		return treatmentFunctions[rng.IntN(len(treatmentFunctions))]
	case "[A-Z][0-9]{2}":
		return mhTeamTypes[rng.IntN(len(mhTeamTypes))]
	}
	return ""
}

// provider is a provider code of the person's area: their own practice for GP data, a
// local authority for social care, and otherwise one of a few trusts of their ICS
// (sometimes one further away).
func provider(rng *rand.Rand, check string, ps personState) string {
	ics := ps.p.ICS
	switch check {
	case linkage.CheckODSPractice:
		return ps.practice
	case linkage.CheckLACode:
		h := sha256.Sum256([]byte(ics))
		return fmt.Sprintf("E10%06d", int(h[0])*100+rng.IntN(2))
	}
	h := sha256.Sum256([]byte(ics))
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	n := rng.IntN(4)
	if rng.Float64() < 0.08 {
		n = 4 + rng.IntN(20) // out of area
	}
	return "R" + string(alnum[(int(h[0])+n)%len(alnum)]) + string(alnum[(int(h[1])+3*n)%len(alnum)])
}

// diagnosis is a code of one of the person's conditions or a common reason for care.
func diagnosis(rng *rand.Rand, system string, ps personState, conditions map[string]linkage.Condition, dataset string) string {
	if dataset == "mhsds" {
		switch {
		case slices.Contains(ps.conditions, "dementia"):
			return []string{"F03X", "F019", "G309"}[rng.IntN(3)]
		case slices.Contains(ps.conditions, "severe_mental_illness"):
			return []string{"F209", "F319"}[rng.IntN(2)]
		}
		return []string{"F329", "F419"}[rng.IntN(2)]
	}
	if len(ps.conditions) > 0 && rng.Float64() < 0.45 {
		c := conditions[ps.conditions[rng.IntN(len(ps.conditions))]]
		if system == linkage.CheckSNOMED && len(c.SNOMED) > 0 {
			return c.SNOMED[rng.IntN(len(c.SNOMED))]
		}
		if system == linkage.CheckICD10 && len(c.ICD10) > 0 {
			p := c.ICD10[rng.IntN(len(c.ICD10))]
			if len(p) == 3 {
				p += strconv.Itoa(rng.IntN(10))
			}
			return p
		}
	}
	if system == linkage.CheckSNOMED {
		return genericSNOMED[rng.IntN(len(genericSNOMED))]
	}
	return genericICD10[rng.IntN(len(genericICD10))]
}

func randomKey(rng *rand.Rand) string {
	var b [32]byte
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return hex.EncodeToString(b[:])
}

// inject puts one fault into a clean row and records what validation should say. It
// returns the fault (none when the dataset cannot carry the one drawn).
func inject(rng *rand.Rand, cfg Config, d *linkage.Definition, vals []string, t *schemas.LinkageTruth) string {
	col := func(role string) int {
		for i, c := range d.Columns {
			if c.Role == role {
				return i
			}
		}
		return -1
	}
	reject := func(fault, reason string) string {
		t.Fault, t.Expected, t.Reason = fault, schemas.TruthRejected, reason
		return fault
	}
	start, end, typ, prov, key := col(linkage.RoleActivityDate), col(linkage.RoleEndDate), col(linkage.RoleActivityType),
		col(linkage.RoleProvider), col(linkage.RolePersonKey)
	switch k := rng.IntN(faultKindsRowLevel); k {
	case 0, 1:
		if k == 0 && cfg.Format == "csv" {
			vals[start] = vals[start][:5] + "02-30" // never a date
			if end >= 0 {
				vals[end] = ""
			}
			return reject(FaultBadDate, linkage.ReasonDateInvalid)
		}
		vals[start] = cfg.AsOf.AddDate(0, 0, 5+rng.IntN(30)).Format(time.DateOnly)
		if end >= 0 {
			vals[end] = ""
		}
		return reject(FaultFutureDate, linkage.ReasonDateInFuture)
	case 2:
		vals[typ] = "ZZ"
		return reject(FaultBadCode, linkage.ReasonCodeNotInList)
	case 3:
		dx := col(linkage.RoleDiagnosis)
		if dx < 0 {
			break
		}
		if d.DiagnosisSystem() == linkage.CheckSNOMED {
			vals[dx] = "73211008" // diabetes mellitus with a wrong check digit
			return reject(FaultBadDiagnosis, linkage.ReasonSNOMEDInvalid)
		}
		vals[dx] = "E1"
		return reject(FaultBadDiagnosis, linkage.ReasonICD10Invalid)
	case 4:
		vals[prov] = "r1"
		reason := linkage.ReasonODSInvalid
		if d.Columns[prov].Check == linkage.CheckLACode {
			reason = linkage.ReasonLACodeInvalid
		}
		return reject(FaultBadProvider, reason)
	case 5:
		vals[key] = "NOT-A-PSEUDONYM"
		t.DeliveredKey = vals[key]
		return reject(FaultInvalidKey, linkage.ReasonPersonKeyInvalid)
	case 6:
		vals[prov] = ""
		return reject(FaultMissingValue, linkage.ReasonValueMissing)
	case 7:
		if end < 0 {
			return FaultUnknownKey // this dataset has no end date: an extra row about nobody instead
		}
		s, _ := time.Parse(time.DateOnly, vals[start])
		vals[end] = s.AddDate(0, 0, -3).Format(time.DateOnly)
		return reject(FaultEndBefore, linkage.ReasonEndBeforeStart)
	case 8:
		return FaultDuplicate
	}
	return FaultNone
}

// newCSVSink writes a header and rows as CSV.
func newCSVSink(w io.Writer, header []string) (rowSink, error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write(header); err != nil {
		return nil, err
	}
	return &csvSink{bw: bw, cw: cw}, nil
}

type csvSink struct {
	bw *bufio.Writer
	cw *csv.Writer
}

func (c *csvSink) write(vals []string) error { return c.cw.Write(vals) }

func (c *csvSink) close() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// writerOnly hides the file's Close from the Parquet writer, which would close it.
type writerOnly struct{ io.Writer }

// parquetSink writes rows as Parquet: dates as DATE, everything else as text.
type parquetSink struct {
	w      *pqarrow.FileWriter
	sc     *arrow.Schema
	isDate []bool
	bs     []array.Builder
	n      int
}

func newParquetSink(w io.Writer, d *linkage.Definition) (rowSink, error) {
	fields := make([]arrow.Field, len(d.Columns))
	isDate := make([]bool, len(d.Columns))
	for i, c := range d.Columns {
		t := arrow.DataType(arrow.BinaryTypes.String)
		if c.Type == linkage.TypeDate {
			t, isDate[i] = arrow.FixedWidthTypes.Date32, true
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: true}
	}
	sc := arrow.NewSchema(fields, nil)
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithCompressionLevel(1))
	fw, err := pqarrow.NewFileWriter(sc, writerOnly{w}, props, pqarrow.DefaultWriterProps())
	if err != nil {
		return nil, err
	}
	s := &parquetSink{w: fw, sc: sc, isDate: isDate}
	for _, f := range fields {
		s.bs = append(s.bs, array.NewBuilder(memory.DefaultAllocator, f.Type))
	}
	return s, nil
}

func (s *parquetSink) write(vals []string) error {
	for i, v := range vals {
		switch b := s.bs[i].(type) {
		case *array.Date32Builder:
			t, ok := linkage.ParseExtractDate(v)
			if v == "" || !ok {
				b.AppendNull()
				continue
			}
			b.Append(arrow.Date32FromTime(t))
		case *array.StringBuilder:
			if v == "" {
				b.AppendNull()
				continue
			}
			b.Append(v)
		}
	}
	if s.n++; s.n == 64<<10 {
		return s.flush()
	}
	return nil
}

func (s *parquetSink) flush() error {
	if s.n == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(s.bs))
	for i, b := range s.bs {
		cols[i] = b.NewArray()
	}
	rec := array.NewRecordBatch(s.sc, cols, int64(s.n))
	defer rec.Release()
	for _, c := range cols {
		c.Release()
	}
	s.n = 0
	return s.w.WriteBuffered(rec)
}

func (s *parquetSink) close() error {
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Close()
}
