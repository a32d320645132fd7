// Package pubsynth builds a synthetic wave's warehouse for the publication tests and
// benchmark: pseudonymous sample records, outcome events, patient and carer responses
// (with duplicates and incomplete responses, as the daily loads leave them) written as
// lake objects in the real layouts, and loaded into a DuckDB warehouse made by the real
// migrations through warehouse.LoadParquet, recorded in loaded_files with their
// SHA-256. Answers follow the embedded questionnaire catalogue.
//
// Nothing here is real: ids, pseudonyms and answers are drawn from a seeded generator,
// so the same Spec always builds the same lake objects, byte for byte.
package pubsynth

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"icesurvey/codes"
	"icesurvey/lake"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// ICS is one synthetic ICS of a wave.
type ICS struct {
	Code string
	// Sampled is the declared sample; Patients and Carers the complete questionnaires.
	Sampled, Patients, Carers int
	// Deceased, Ineligible, OptedOut and Undelivered are outcome counts among the
	// sampled people who did not respond.
	Deceased, Ineligible, OptedOut, Undelivered int
	// AgeShares are the frame's shares of the age bands 18-64, 65-74, 75-84, 85+;
	// GenderShares of the gender codes 0, 1, 2, 9, X; Severe the share of severe
	// frailty; EthnicShares of the 18 ethnic category codes (A … Z, 99). Zero
	// values take the defaults.
	AgeShares    []float64
	GenderShares []float64
	Severe       float64
	EthnicShares []float64
	// YoungPropensity and SeverePropensity scale how likely the 18-64 and the severely
	// frail are to respond, relative to everyone else (1: as likely; small values make
	// the raking need trimming, very small ones infeasible bounds).
	YoungPropensity, SeverePropensity float64
	// Effect shifts the share of positive answers in this ICS.
	Effect float64
	// LateOptOuts of the OptedOut are an operator's late opt-outs, one lake object per
	// person (schemas.OptOutKey); DBSRequest, when set, puts the Deceased in the object
	// of that DBS reply (schemas.DBSOutcomesKey), as the pipeline stores them. The other
	// outcomes are in the response load's outcomes object. Where an outcome is stored
	// changes no figure.
	LateOptOuts int
	DBSRequest  string
}

// Spec is a synthetic wave.
type Spec struct {
	Wave string
	ICSs []ICS
	Seed uint64
	// LocalQuestions are the bank questions each ICS added (asked of its patients
	// and, where the bank offers them, its carers).
	LocalQuestions map[string][]string
	// Duplicates is the share of patient respondents who also sent a second, later
	// response that the load discarded as a duplicate.
	Duplicates float64
	// Incomplete is the share of non-respondents who sent an incomplete response.
	Incomplete float64
}

// Wave is a built synthetic wave: its store (the lake) and warehouse.
type Wave struct {
	Store     store.Store
	Warehouse *warehouse.Warehouse
	// Objects are the lake objects loaded, by key, with their warehouse table.
	Objects map[string]schemas.Table
	// Respondents counts the complete questionnaires (patients and carers).
	Respondents int
}

var (
	defaultAge    = []float64{0.15, 0.30, 0.32, 0.23}
	defaultGender = []float64{0.002, 0.44, 0.55, 0.006, 0.002}
	// A … S, Z, 99 in codes.EthnicCategories order.
	defaultEthnic = []float64{0.78, 0.02, 0.04, 0.005, 0.004, 0.006, 0.005, 0.025, 0.02, 0.008, 0.01, 0.01, 0.012, 0.004, 0.004, 0.008, 0.015, 0.015}
)

type person struct {
	rec       schemas.SampleRecord
	age, efi  int
	outcome   int
	respond   bool
	propensty float64
}

// Build writes the wave's lake objects under dir/store and its warehouse at
// dir/warehouse.duckdb.
func Build(ctx context.Context, dir string, spec Spec) (*Wave, error) {
	st, err := store.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		return nil, err
	}
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, err
	}
	pv, err := questionnaire.Latest(questionnaire.Patient)
	if err != nil {
		return nil, err
	}
	cv, err := questionnaire.Latest(questionnaire.Carer)
	if err != nil {
		return nil, err
	}
	layout := schemas.ResponseRowLayout()
	answerCols := layout.ExtensionColumns()
	rng := rand.New(rand.NewPCG(spec.Seed, 14))
	w := &Wave{Store: st, Objects: map[string]schemas.Table{}}
	day := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	put := func(table schemas.Table, key string, write func() error) error {
		if err := write(); err != nil {
			return fmt.Errorf("pubsynth: %s: %w", key, err)
		}
		w.Objects[key] = table
		return nil
	}
	for _, ics := range spec.ICSs {
		if ics.Patients+ics.Deceased+ics.Ineligible+ics.OptedOut+ics.Undelivered > ics.Sampled {
			return nil, fmt.Errorf("pubsynth: ICS %s: more outcomes than people sampled", ics.Code)
		}
		if ics.LateOptOuts > ics.OptedOut {
			return nil, fmt.Errorf("pubsynth: ICS %s: more late opt-outs than opt-outs", ics.Code)
		}
		pq, err := cat.Resolve(pv, localFor(cat, spec.LocalQuestions[ics.Code], questionnaire.Patient))
		if err != nil {
			return nil, err
		}
		cq, err := cat.Resolve(cv, localFor(cat, spec.LocalQuestions[ics.Code], questionnaire.Carer))
		if err != nil {
			return nil, err
		}
		people := sample(rng, spec.Wave, ics)
		chooseRespondents(rng, people, ics)
		var recs []schemas.SampleRecord
		for _, p := range people {
			recs = append(recs, p.rec)
		}
		key := schemas.SampleKey(spec.Wave, ics.Code)
		if err := put(schemas.TableSample, key, func() error { return lake.PutRows(ctx, st, key, schemas.SampleRecordLayout(), recs) }); err != nil {
			return nil, err
		}
		src := sum(spec.Wave + ics.Code)
		var events, deceased []schemas.OutcomeEvent
		late := 0
		var responses []schemas.ResponseRow
		var dups []schemas.DuplicateResponse
		at := day.Add(9 * time.Hour)
		respond := func(p *person, typ string, qn *questionnaire.Questionnaire, complete bool, n int) schemas.ResponseRow {
			return schemas.ResponseRow{ResponseID: fmt.Sprintf("%s-%s-%06d", ics.Code, typ[:1], n), Wave: spec.Wave, ICS: ics.Code,
				LoadDate: day, SurveyRecordID: p.rec.SurveyRecordID, RespondentType: typ, QuestionnaireVersion: qn.Version,
				Channel: schemas.Channels[n%3], ReceivedAt: at.Add(time.Duration(n) * time.Second), Complete: complete,
				SourceSHA256: src, Answers: answers(rng, p, qn, answerCols, ics.Effect, complete)}
		}
		n := 0
		for i := range people {
			p := &people[i]
			switch {
			case p.respond:
				r := respond(p, questionnaire.Patient, pq, true, n)
				responses = append(responses, r)
				n++
				if rng.Float64() < spec.Duplicates {
					d := respond(p, questionnaire.Patient, pq, true, n)
					d.ReceivedAt = r.ReceivedAt.Add(time.Hour)
					responses = append(responses, d)
					dups = append(dups, schemas.DuplicateResponse{Wave: spec.Wave, ICS: ics.Code, LoadDate: day, SurveyRecordID: p.rec.SurveyRecordID,
						RespondentType: questionnaire.Patient, KeptResponseID: r.ResponseID, DiscardedResponseID: d.ResponseID,
						DiscardedReceivedAt: d.ReceivedAt, DiscardedComplete: true, DiscardedChannel: d.Channel,
						Reason: schemas.DuplicateSameDay, SourceSHA256: src})
					n++
				}
			case p.outcome == 6 && rng.Float64() < spec.Incomplete:
				responses = append(responses, respond(p, questionnaire.Patient, pq, false, n))
				n++
			}
			if p.outcome >= 2 && p.outcome <= 5 {
				ev := schemas.OutcomeEvent{EventID: fmt.Sprintf("%s-e%06d", ics.Code, i), Wave: spec.Wave, ICS: ics.Code,
					LoadDate: day, SurveyRecordID: p.rec.SurveyRecordID, Outcome: int32(p.outcome), At: at, SourceFile: "synthetic.csv", SourceSHA256: src}
				switch {
				case p.outcome == schemas.OutcomeOptedOut && late < ics.LateOptOuts:
					late++
					key := schemas.OptOutKey(spec.Wave, ics.Code, p.rec.SurveyRecordID)
					if err := put(schemas.TableOutcomeEvents, key, func() error {
						return lake.PutRows(ctx, st, key, schemas.OutcomeEventLayout(), []schemas.OutcomeEvent{ev})
					}); err != nil {
						return nil, err
					}
				case p.outcome == schemas.OutcomeDeceased && ics.DBSRequest != "":
					deceased = append(deceased, ev)
				default:
					events = append(events, ev)
				}
			}
		}
		// Carers answer with the invitation of a patient (any sampled person).
		order := rng.Perm(len(people))
		for c := 0; c < ics.Carers; c++ {
			responses = append(responses, respond(&people[order[c]], questionnaire.Carer, cq, true, n))
			n++
		}
		if len(deceased) > 0 {
			key := schemas.DBSOutcomesKey(spec.Wave, ics.Code, ics.DBSRequest)
			if err := put(schemas.TableOutcomeEvents, key, func() error { return lake.PutRows(ctx, st, key, schemas.OutcomeEventLayout(), deceased) }); err != nil {
				return nil, err
			}
		}
		base := func(table schemas.LakeTable) string {
			return schemas.ResponseLoadPartition(table, spec.Wave, ics.Code, day) + string(table) + ".parquet"
		}
		key = base(schemas.LakeResponses)
		if err := put(schemas.TableResponses, key, func() error { return lake.PutRows(ctx, st, key, layout, responses) }); err != nil {
			return nil, err
		}
		key = base(schemas.LakeResponseOutcomes)
		if err := put(schemas.TableOutcomeEvents, key, func() error { return lake.PutRows(ctx, st, key, schemas.OutcomeEventLayout(), events) }); err != nil {
			return nil, err
		}
		key = base(schemas.LakeDuplicates)
		if err := put(schemas.TableResponseDuplicates, key, func() error { return lake.PutRows(ctx, st, key, schemas.DuplicateResponseLayout(), dups) }); err != nil {
			return nil, err
		}
		w.Respondents += ics.Patients + ics.Carers
	}
	wh, err := warehouse.Open(ctx, filepath.Join(dir, "warehouse.duckdb"))
	if err != nil {
		return nil, err
	}
	w.Warehouse = wh
	keys := make([]string, 0, len(w.Objects))
	for k := range w.Objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	err = wh.Write(ctx, func(tx *sql.Tx) error {
		for _, key := range keys {
			t, err := warehouse.LookupTable(w.Objects[key])
			if err != nil {
				return err
			}
			digest, _, err := store.SHA256(ctx, st, key)
			if err != nil {
				return err
			}
			path, cleanup, err := lake.LocalCopy(ctx, st, key)
			if err != nil {
				return err
			}
			var partition []any
			if len(t.PartitionBy) > 0 {
				partition = []any{spec.Wave, icsOf(key)}
			}
			_, _, err = warehouse.LoadParquet(ctx, tx, t, path, key, digest, partition...)
			cleanup()
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

func icsOf(key string) string {
	i := strings.Index(key, "/ics=")
	rest := key[i+5:]
	return rest[:strings.IndexByte(rest, '/')]
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func localFor(cat *questionnaire.Catalogue, ids []string, typ string) []string {
	var out []string
	for _, q := range cat.Bank() {
		if slices.Contains(ids, q.ID) && slices.Contains(q.RespondentTypes, typ) {
			out = append(out, q.ID)
		}
	}
	return out
}

func draw(rng *rand.Rand, shares []float64) int {
	u := rng.Float64()
	for i, s := range shares {
		if u < s {
			return i
		}
		u -= s
	}
	return len(shares) - 1
}

func or(x, def []float64) []float64 {
	if len(x) == 0 {
		return def
	}
	return x
}

// sample draws the ICS's sampled people.
func sample(rng *rand.Rand, wave string, ics ICS) []person {
	ages, _ := codes.BreakdownLevels(codes.BreakdownAgeBand)
	genders, _ := codes.BreakdownLevels(codes.BreakdownGender)
	severe := ics.Severe
	if severe == 0 {
		severe = 0.4
	}
	young, sev := ics.YoungPropensity, ics.SeverePropensity
	if young == 0 {
		young = 1
	}
	if sev == 0 {
		sev = 1
	}
	out := make([]person, ics.Sampled)
	for i := range out {
		p := &out[i]
		p.age = draw(rng, or(ics.AgeShares, defaultAge))
		g := draw(rng, or(ics.GenderShares, defaultGender))
		e := draw(rng, or(ics.EthnicShares, defaultEthnic))
		if rng.Float64() < severe {
			p.efi = 1
		}
		age := []int{18, 65, 75, 85}[p.age] + rng.IntN([]int{47, 10, 10, 12}[p.age])
		score := 0.25 + 0.11*rng.Float64()
		if p.efi == 1 {
			score = 0.37 + 0.4*rng.Float64()
		}
		id := fmt.Sprintf("%s-%06d", ics.Code, i)
		p.rec = schemas.SampleRecord{SurveyRecordID: id, WaveID: wave, ICS: ics.Code, NHSPseudonym: sum("nhs" + wave + id),
			GPPracticeCode: fmt.Sprintf("A%05d", 81001+i%40), Age: int32(age), AgeBand: ages[p.age], Gender: genders[g],
			Ethnicity: codes.EthnicCategories[e].Code, EFIScore: score, EFIBand: codes.EFIBand(score),
			RegistrationDate: time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC), HasMobile: i%3 != 0, PostcodeDistrict: "NR1"}
		p.propensty = 1
		if p.age == 0 {
			p.propensty *= young
		}
		if p.efi == 1 {
			p.propensty *= sev
		}
		p.outcome = 6
	}
	return out
}

// chooseRespondents picks exactly ics.Patients respondents, with probability
// proportional to their propensity (Efraimidis–Spirakis), then the other outcomes
// among the rest.
func chooseRespondents(rng *rand.Rand, people []person, ics ICS) {
	keys := make([]float64, len(people))
	idx := make([]int, len(people))
	for i := range people {
		keys[i] = math.Pow(rng.Float64(), 1/people[i].propensty)
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return keys[idx[a]] > keys[idx[b]] })
	for _, i := range idx[:ics.Patients] {
		people[i].respond, people[i].outcome = true, 1
	}
	rest := idx[ics.Patients:]
	rng.Shuffle(len(rest), func(a, b int) { rest[a], rest[b] = rest[b], rest[a] })
	next := 0
	for _, o := range []struct{ code, n int }{{3, ics.Deceased}, {5, ics.Ineligible}, {4, ics.OptedOut}, {2, ics.Undelivered}} {
		for range o.n {
			people[rest[next]].outcome = o.code
			next++
		}
	}
}

// answers draws a response's answer columns (in the responses layout's extension
// order): each question of qn answered, most of the time; positive answers more
// likely for the younger and less frail, shifted by the ICS's effect.
func answers(rng *rand.Rand, p *person, qn *questionnaire.Questionnaire, cols []schemas.Column, effect float64, complete bool) []string {
	good := 0.72 + effect - 0.1*float64(p.efi) - 0.03*float64(p.age)
	out := make([]string, len(cols))
	for i, col := range cols {
		q, ok := qn.Question(col.Name)
		if !ok || !q.Closed() || rng.Float64() < 0.05 || (!complete && i%2 == 0) {
			continue
		}
		out[i] = answer(rng, q, good, p)
	}
	return out
}

func answer(rng *rand.Rand, q *questionnaire.Question, good float64, p *person) string {
	k := len(q.Options)
	code := func(i int) string { return q.Options[i].Code }
	if q.Kind == questionnaire.Multi {
		var ticks []string
		for i := range k - 1 {
			if rng.Float64() < 0.08+0.06*float64(i%4)+0.05*float64(p.efi) {
				ticks = append(ticks, code(i))
			}
		}
		if len(ticks) == 0 {
			return code(k - 1)
		}
		return strings.Join(ticks, ";")
	}
	switch q.SampleField {
	case codes.BreakdownAgeBand:
		if rng.Float64() < 0.95 {
			return code(min(p.age, k-1))
		}
	case codes.BreakdownEthnicity:
		if i := slices.IndexFunc(q.Options, func(o questionnaire.Option) bool { return o.Code == p.rec.Ethnicity }); i >= 0 && rng.Float64() < 0.9 {
			return code(i)
		}
	}
	if len(q.Excluded) > 0 && rng.Float64() < 0.06 {
		return q.Excluded[rng.IntN(len(q.Excluded))]
	}
	if len(q.Positive) > 0 {
		if rng.Float64() < good {
			return q.Positive[rng.IntN(len(q.Positive))]
		}
		var rest []string
		for _, o := range q.Options {
			if !slices.Contains(q.Positive, o.Code) && !slices.Contains(q.Excluded, o.Code) {
				rest = append(rest, o.Code)
			}
		}
		if len(rest) > 0 {
			return rest[rng.IntN(len(rest))]
		}
	}
	// A distribution: earlier options more likely.
	w := make([]float64, k)
	t := 0.0
	for i := range w {
		w[i] = 1 / float64(i+2)
		t += w[i]
	}
	for i := range w {
		w[i] /= t
	}
	return code(draw(rng, w))
}
