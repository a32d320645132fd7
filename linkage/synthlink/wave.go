package synthlink

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"icesurvey/codes"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

// ICBCodes are the ODS codes of the 42 Integrated Care Boards, for a national-size wave.
var ICBCodes = []string{"QE1", "QF7", "QGH", "QH8", "QHG", "QHL", "QHM", "QJ2", "QJG", "QJK", "QJM", "QK1", "QKK",
	"QKS", "QM7", "QMF", "QMJ", "QMM", "QNC", "QNQ", "QNX", "QOC", "QOP", "QOQ", "QOX", "QPM", "QR1", "QRL", "QRV",
	"QSL", "QT1", "QT6", "QU9", "QUA", "QUE", "QUY", "QVV", "QWE", "QWO", "QWU", "QXU", "QYG"}

// WaveConfig describes a synthetic wave, as intake and the daily response loads would
// have left it in the lake: for tests and benchmarks of the linkage, where running the
// fieldwork first would cost minutes and say nothing more.
type WaveConfig struct {
	WaveID       string
	ICSs         []string
	PerICS       int       // sampled people per ICS
	Respondents  int       // complete patient responses per ICS (at most PerICS)
	ConsentRate  float64   // share of respondents answering yes (varies by group around it)
	WithdrawRate float64   // share of consenters who later opt out (a withdrawal)
	Seed         uint64    //
	SamplingDate time.Time // zero: 2026-01-05
	ProjectKey   []byte
}

// WaveStats is what WriteWave wrote and the consent it meant. Test data only: it holds
// the synthetic NHS numbers, so tests can scan outputs for them.
type WaveStats struct {
	Sampled     int
	Respondents int
	// Consenting is each person the generator means to be linkable (their latest
	// consent statement, by its own record of what it wrote, is yes), by survey record id.
	Consenting map[string]bool
	// Withdrawn are consenters who later opted out; Declined answered no (or said yes
	// and then no in a later response).
	Withdrawn, Declined map[string]bool
	CarerConsents       int
	NHSNumbers          []string
	Pseudonyms          []string
	LastResponse        time.Time
}

// DefaultSamplingDate is the sampling date of a synthetic wave.
var DefaultSamplingDate = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// WriteWave writes a synthetic wave's sample, responses, duplicates and opt-outs to the
// lake. Deterministic for a config.
func WriteWave(ctx context.Context, st store.Store, cfg WaveConfig) (*WaveStats, error) {
	if cfg.SamplingDate.IsZero() {
		cfg.SamplingDate = DefaultSamplingDate
	}
	if cfg.Respondents > cfg.PerICS || cfg.PerICS <= 0 || len(cfg.ICSs) == 0 {
		return nil, fmt.Errorf("synthlink: a wave of %d per ICS with %d respondents over %d ICSs", cfg.PerICS, cfg.Respondents, len(cfg.ICSs))
	}
	if err := pseudo.CheckKey(cfg.ProjectKey); err != nil {
		return nil, err
	}
	patient, err := questionnaire.Resolve("patient-2026.1", nil)
	if err != nil {
		return nil, err
	}
	carer, err := questionnaire.Resolve("carer-2026.1", nil)
	if err != nil {
		return nil, err
	}
	rl := schemas.ResponseRowLayout()
	ext := rl.ExtensionColumns()
	colOf := map[string]int{}
	for i, c := range ext {
		colOf[c.Name] = i
	}
	stats := &WaveStats{Consenting: map[string]bool{}, Withdrawn: map[string]bool{}, Declined: map[string]bool{}}
	keyed := pseudo.New(cfg.ProjectKey)
	counter := 0
	nextNHS := func() string {
		for {
			counter++
			first9 := "9" + fmt.Sprintf("%08d", counter)
			if d, ok := codes.NHSCheckDigit(first9); ok {
				return first9 + strconv.Itoa(d)
			}
		}
	}
	fieldStart := cfg.SamplingDate.AddDate(0, 0, 14)
	for n, ics := range cfg.ICSs {
		rng := rand.New(rand.NewPCG(cfg.Seed, uint64(n)+1))
		var sample []schemas.SampleRecord
		var responses []schemas.ResponseRow
		var dups []schemas.DuplicateResponse
		var optouts []schemas.OutcomeEvent
		practices := make([]string, 20+rng.IntN(30))
		for i := range practices {
			practices[i] = fmt.Sprintf("%c%05d", 'A'+byte(n%26), 81000+n*100+i)
		}
		// Respondents are drawn with a propensity that rises with age (to 84) and
		// falls with severe frailty, so the responding cohort differs from the sample.
		people := make([]int, cfg.PerICS)
		weights := make([]float64, cfg.PerICS)
		for i := range cfg.PerICS {
			nhs := nextNHS()
			ps := keyed.NHSPseudonym(nhs)
			age := 65 + int(math.Min(38, rng.ExpFloat64()*11))
			if rng.Float64() < 0.08 {
				age = 18 + rng.IntN(47)
			}
			deficits := 9 + rng.IntN(19)
			efi := float64(deficits) / 36
			eth := pickEthnicity(rng, n)
			gender := "2"
			if rng.Float64() < 0.43 {
				gender = "1"
			}
			rec := schemas.SampleRecord{
				SurveyRecordID: pseudo.SurveyRecordID(cfg.ProjectKey, cfg.WaveID, ics, fmt.Sprintf("%s-%06d", ics, i)),
				WaveID:         cfg.WaveID, ICS: ics, NHSPseudonym: ps, GPPracticeCode: practices[rng.IntN(len(practices))],
				Age: int32(age), AgeBand: codes.AgeBand(age), Gender: gender, Ethnicity: eth, EFIScore: efi,
				EFIBand: codes.EFIBand(efi), RegistrationDate: cfg.SamplingDate.AddDate(-1-rng.IntN(20), 0, 0),
				HasMobile: rng.Float64() < 0.7, PostcodeDistrict: "ZZ" + strconv.Itoa(1+rng.IntN(20)),
			}
			sample = append(sample, rec)
			stats.NHSNumbers = append(stats.NHSNumbers, nhs)
			stats.Pseudonyms = append(stats.Pseudonyms, ps)
			people[i] = i
			w := 1.0
			switch {
			case age < 65:
				w = 0.6
			case age >= 85:
				w = 0.8
			}
			if rec.EFIBand == codes.EFISevere {
				w *= 0.8
			}
			weights[i] = w
		}
		stats.Sampled += len(sample)
		chosen := weightedSample(rng, weights, cfg.Respondents)
		for _, i := range chosen {
			p := &sample[i]
			at := fieldStart.Add(time.Duration(rng.IntN(50*24)) * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second)
			if at.After(stats.LastResponse) {
				stats.LastResponse = at
			}
			// Consent: less likely among the oldest, the severely frail and where
			// ethnicity is not stated; the rate averages near cfg.ConsentRate.
			pc := cfg.ConsentRate
			if p.Age >= 85 {
				pc -= 0.08
			}
			if p.EFIBand == codes.EFISevere {
				pc -= 0.05
			}
			if p.Ethnicity == "Z" || p.Ethnicity == "99" {
				pc -= 0.15
			}
			yes := rng.Float64() < pc+0.06
			r := answers(rng, patient, p, at, yes, colOf, len(ext))
			r.ResponseID = "R" + p.SurveyRecordID
			responses = append(responses, r)
			stats.Respondents++
			consenting := yes
			if !yes {
				stats.Declined[p.SurveyRecordID] = true
			}
			// One in forty answers again later (a duplicate the load discards); one in
			// five of those changes their consent answer, which then counts (the latest
			// statement wins).
			if rng.Float64() < 0.025 {
				again := yes
				if rng.Float64() < 0.2 {
					again = !yes
				}
				later := at.Add(time.Duration(1+rng.IntN(72)) * time.Hour)
				d := answers(rng, patient, p, later, again, colOf, len(ext))
				d.ResponseID = "D" + p.SurveyRecordID
				responses = append(responses, d)
				dups = append(dups, schemas.DuplicateResponse{Wave: cfg.WaveID, ICS: ics, LoadDate: day(later),
					SurveyRecordID: p.SurveyRecordID, RespondentType: schemas.RespondentPatient, KeptResponseID: r.ResponseID,
					DiscardedResponseID: d.ResponseID, DiscardedReceivedAt: later, DiscardedComplete: true,
					DiscardedChannel: schemas.ChannelOnline, Reason: schemas.DuplicateEarlierDay, SourceSHA256: "synthetic"})
				consenting = again
				if again {
					delete(stats.Declined, p.SurveyRecordID)
				} else {
					stats.Declined[p.SurveyRecordID] = true
				}
				if later.After(stats.LastResponse) {
					stats.LastResponse = later
				}
			}
			if consenting && rng.Float64() < cfg.WithdrawRate {
				out := at.Add(time.Duration(80+rng.IntN(400)) * time.Hour)
				optouts = append(optouts, schemas.OutcomeEvent{EventID: "E" + p.SurveyRecordID, Wave: cfg.WaveID, ICS: ics,
					LoadDate: day(out), SurveyRecordID: p.SurveyRecordID, Outcome: schemas.OutcomeOptedOut, At: out,
					Reason: "does_not_want", SourceFile: "optouts.csv", SourceSHA256: "synthetic-" + ics})
				stats.Withdrawn[p.SurveyRecordID] = true
				consenting = false
			}
			if consenting {
				stats.Consenting[p.SurveyRecordID] = true
			}
			// About one carer for every four patients; carers are never linked.
			if rng.Float64() < 0.25 {
				cr := answers(rng, carer, p, at.Add(time.Hour), rng.Float64() < 0.7, colOf, len(ext))
				cr.ResponseID = "K" + p.SurveyRecordID
				cr.RespondentType = schemas.RespondentCarer
				if AnswerIs(cr, colOf, "C_CONSENT_LINK", "1") {
					stats.CarerConsents++
				}
				responses = append(responses, cr)
			}
		}
		// An undelivered letter is an outcome event but not a withdrawal.
		optouts = append(optouts, schemas.OutcomeEvent{EventID: "U" + ics, Wave: cfg.WaveID, ICS: ics, LoadDate: fieldStart,
			SurveyRecordID: sample[0].SurveyRecordID, Outcome: schemas.OutcomeUndelivered, At: fieldStart,
			Reason: "addressee_gone_away", SourceFile: "undelivered.csv", SourceSHA256: "synthetic"})
		load := day(stats.LastResponse)
		for _, o := range []struct {
			key  string
			put  func(string) error
			rows int
		}{
			{schemas.SampleKey(cfg.WaveID, ics), func(k string) error {
				return lake.PutRows(ctx, st, k, schemas.SampleRecordLayout(), sample)
			}, len(sample)},
			{schemas.ResponseLoadPartition(schemas.LakeResponses, cfg.WaveID, ics, load) + "part-synthetic.parquet", func(k string) error {
				return lake.PutRows(ctx, st, k, rl, responses)
			}, len(responses)},
			{schemas.ResponseLoadPartition(schemas.LakeDuplicates, cfg.WaveID, ics, load) + "part-synthetic.parquet", func(k string) error {
				return lake.PutRows(ctx, st, k, schemas.DuplicateResponseLayout(), dups)
			}, len(dups)},
			{schemas.ResponseLoadPartition(schemas.LakeResponseOutcomes, cfg.WaveID, ics, load) + "part-synthetic.parquet", func(k string) error {
				return lake.PutRows(ctx, st, k, schemas.OutcomeEventLayout(), optouts)
			}, len(optouts)},
		} {
			if err := o.put(o.key); err != nil {
				return nil, fmt.Errorf("synthlink: write %s: %w", o.key, err)
			}
		}
	}
	return stats, nil
}

// AnswerIs reports whether response r answers question id with code.
func AnswerIs(r schemas.ResponseRow, colOf map[string]int, id, code string) bool {
	i, ok := colOf[id]
	return ok && i < len(r.Answers) && r.Answers[i] == code
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// answers fills a complete response of questionnaire qn for person p. Experience
// worsens with frailty (so linked burden and experience are related, as in life), and
// the consent question is answered yes or no.
func answers(rng *rand.Rand, qn *questionnaire.Questionnaire, p *schemas.SampleRecord, at time.Time, consent bool,
	colOf map[string]int, width int) schemas.ResponseRow {
	r := schemas.ResponseRow{Wave: p.WaveID, ICS: p.ICS, LoadDate: day(at), SurveyRecordID: p.SurveyRecordID,
		RespondentType: qn.RespondentType, QuestionnaireVersion: qn.Version, Channel: schemas.ChannelOnline,
		ReceivedAt: at.UTC(), Complete: true, SourceSHA256: "synthetic", Answers: make([]string, width)}
	positive := 0.72
	if p.EFIBand == codes.EFISevere {
		positive = 0.58
	}
	for i := range qn.Questions {
		q := &qn.Questions[i]
		col, ok := colOf[q.ID]
		if !ok || !q.Closed() {
			continue
		}
		switch {
		case q.ID == qn.ConsentQuestion:
			if consent {
				r.Answers[col] = qn.ConsentYes
			} else {
				r.Answers[col] = q.Options[len(q.Options)-1].Code
			}
		case q.Kind == questionnaire.Multi:
			var picked []string
			for _, o := range q.Options[:len(q.Options)-1] {
				if rng.Float64() < 0.3 {
					picked = append(picked, o.Code)
				}
			}
			if len(picked) == 0 {
				picked = []string{q.Options[0].Code}
			}
			r.Answers[col] = joinCodes(picked)
		case q.Scored() && rng.Float64() < positive:
			r.Answers[col] = q.Positive[rng.IntN(len(q.Positive))]
		default:
			if rng.Float64() < 0.08 {
				continue // not answered
			}
			r.Answers[col] = q.Options[rng.IntN(len(q.Options))].Code
		}
	}
	return r
}

func joinCodes(cs []string) string {
	out := ""
	for i, c := range cs {
		if i > 0 {
			out += questionnaire.MultiSeparator
		}
		out += c
	}
	return out
}

// weightedSample draws k distinct indices with probability proportional to weights
// (Efraimidis–Spirakis), returned in index order.
func weightedSample(rng *rand.Rand, weights []float64, k int) []int {
	type kv struct {
		key float64
		i   int
	}
	keys := make([]kv, len(weights))
	for i, w := range weights {
		keys[i] = kv{math.Pow(rng.Float64(), 1/w), i}
	}
	slices.SortFunc(keys, func(a, b kv) int {
		switch {
		case a.key > b.key:
			return -1
		case a.key < b.key:
			return 1
		}
		return a.i - b.i
	})
	out := make([]int, 0, k)
	for _, x := range keys[:k] {
		out = append(out, x.i)
	}
	slices.Sort(out)
	return out
}

// Ethnicity mixes: most ICSs' older frail population, and a London-like one for every
// fifth ICS, so group match rates have people in every group.
var (
	mixShire  = []float64{88, 1, 2.5, 0.3, 0.2, 0.3, 0.2, 0.8, 0.6, 0.2, 0.3, 0.3, 0.3, 0.1, 0.3, 0.4, 3.5, 1.7}
	mixLondon = []float64{58, 2.5, 8, 0.8, 0.4, 0.5, 0.8, 6, 2.5, 0.8, 4.5, 4, 3, 1, 1, 2, 3, 1.5}
	ethCodes  = []string{"A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99"}
)

func pickEthnicity(rng *rand.Rand, ics int) string {
	mix := mixShire
	if ics%5 == 4 {
		mix = mixLondon
	}
	total := 0.0
	for _, w := range mix {
		total += w
	}
	x := rng.Float64() * total
	for i, w := range mix {
		if x < w {
			return ethCodes[i]
		}
		x -= w
	}
	return "A"
}
