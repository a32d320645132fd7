// Package surveysim simulates the survey supplier for `ice dev` and for tests (never
// the production worker: see internal/importrules): given the
// people of a wave, which mailing steps have gone out and on which day, it writes the
// day's supplier files (responses by channel, undelivered returns, opt-outs) into the
// landing area in exactly the layout the daily response load reads (schemas/response.go).
//
// The simulation is a deterministic function of (seed, wave, ICS, person, step days):
// each person's "fate" — whether their letter comes back, whether they opt out, which
// mailing prompts them to answer, by which channel, how many days later, whether a
// carer answers too, whether they answer twice — is drawn from a random stream keyed by
// those inputs alone. Simulating a day twice writes the same bytes; simulating days in
// any order gives the same files; adding a later mailing step never rewrites the past.
//
// Realism, roughly after NHS postal-online surveys: online responses peak one to three
// days after each letter or SMS; paper returns arrive four to fourteen days after the
// paper questionnaire; response propensity varies by age band and frailty; answers vary
// by ICS and demographic group around question-specific baselines; a few percent of
// letters come back undelivered, a few percent opt out (rarely because the person has
// died), some people answer twice, some start online and finish later, and about one
// carer answers for every three patients.
//
// Free-text comments carry the six integration themes (themes.Default) at rates that
// vary by ICS and by frailty and respondent group, in the phrases of the profiles'
// synthetic session notes (profiles.SynthComment), and about one in twenty-five holds
// personal data — a name, phone or NHS number, street or postcode — as real comments
// do, for the redactor to remove before anyone reads them. Like everything here they
// are synthetic: no real person is described.
package surveysim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	"icesurvey/profiles"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Person is one invited person as the simulator needs them: the pseudonymous survey
// record id and the group variables answers and response propensity depend on.
type Person struct {
	SurveyRecordID string
	// AgeBand is "18-64", "65-74", "75-84" or "85+".
	AgeBand string
	// Gender is the sample's gender code (1 male, 2 female, 9 indeterminate, 0/X not known).
	Gender string
	// EFIBand is "moderate" or "severe".
	EFIBand   string
	HasMobile bool
	// Steps, when not nil, are the mailing steps this person was actually sent (people
	// who responded or opted out are dropped from later mailings). Nil means every step
	// in mailedSteps (SMS steps only with a mobile).
	Steps []string
}

// StepKind is what a mailing step puts in front of a person.
type StepKind int

// Step kinds.
const (
	Letter      StepKind = iota // a letter with the web address and access code
	PaperLetter                 // a reminder letter with a paper questionnaire
	SMS                         // a text message with the web link
)

// DefaultStepKinds are the steps of the default schedule (SPEC §6).
var DefaultStepKinds = map[string]StepKind{
	"invitation": Letter,
	"sms1":       SMS,
	"reminder1":  Letter,
	"sms2":       SMS,
	"reminder2":  PaperLetter,
	"sms3":       SMS,
}

// KindOf classifies a step name: the Simulator's StepKinds, then DefaultStepKinds, then
// by name ("sms" → SMS, "paper" → PaperLetter, anything else a letter).
func (s *Simulator) KindOf(step string) StepKind {
	if k, ok := s.StepKinds[step]; ok {
		return k
	}
	if k, ok := DefaultStepKinds[step]; ok {
		return k
	}
	l := strings.ToLower(step)
	switch {
	case strings.Contains(l, "sms") || strings.Contains(l, "text"):
		return SMS
	case strings.Contains(l, "paper"):
		return PaperLetter
	}
	return Letter
}

// Rates are the simulation's probabilities. The zero value of a field means its default.
type Rates struct {
	Undelivered    float64 // a person's letters come back: 0.03
	OptOut         float64 // a person opts out at some point: 0.025
	Deceased       float64 // share of opt-outs reporting a death: 0.12
	LetterResponse float64 // a letter prompts a response: 0.13
	SMSResponse    float64 // an SMS prompts a response: 0.05
	PaperResponse  float64 // a paper questionnaire prompts a response: 0.15
	Carer          float64 // a carer answers: 0.09 (more when the patient answered)
	Duplicate      float64 // a responder prompted twice answers twice: 0.25
	Partial        float64 // an online responder first saves an incomplete response: 0.06
	Abandon        float64 // an online responder never completes: 0.03
	ItemMissing    float64 // a question left blank in a complete response: 0.03
	// WithdrawLinkage: a patient who answered later withdraws their consent to linkage
	// only (an opt-out row with reason withdraw_linkage): 0.03
	WithdrawLinkage float64
}

func (r Rates) withDefaults() Rates {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&r.Undelivered, 0.03)
	def(&r.OptOut, 0.025)
	def(&r.Deceased, 0.12)
	def(&r.LetterResponse, 0.13)
	def(&r.SMSResponse, 0.05)
	def(&r.PaperResponse, 0.15)
	def(&r.Carer, 0.09)
	def(&r.Duplicate, 0.25)
	def(&r.Partial, 0.06)
	def(&r.Abandon, 0.03)
	def(&r.ItemMissing, 0.03)
	def(&r.WithdrawLinkage, 0.03)
	return r
}

// Simulator is a deterministic survey supplier.
type Simulator struct {
	Seed int64
	// Questionnaires by respondent type ("patient", "carer"): the resolved questionnaires
	// of the wave and ICS, local questions included. A missing carer questionnaire means
	// no carer responses.
	Questionnaires map[string]*questionnaire.Questionnaire
	// StepKinds overrides the classification of mailing steps.
	StepKinds map[string]StepKind
	Rates     Rates
}

// Summary counts what one simulated day produced. It holds no identifiable data.
type Summary struct {
	Day         string         `json:"day"`
	Files       []string       `json:"files"`
	ByChannel   map[string]int `json:"by_channel"` // response rows by channel
	Patients    int            `json:"patients"`   // patient response rows
	Carers      int            `json:"carers"`     // carer response rows
	Incomplete  int            `json:"incomplete"`
	Duplicates  int            `json:"duplicates"` // extra responses from someone who already answered
	Undelivered int            `json:"undelivered"`
	OptOuts     int            `json:"opt_outs"`
	// LinkageWithdrawals are opt-out rows that withdraw linkage consent only (reason
	// withdraw_linkage); not counted in OptOuts.
	LinkageWithdrawals int `json:"linkage_withdrawals"`
	Deceased           int `json:"deceased"` // opt-outs reporting a death
}

// Day writes the supplier files for fieldwork day dayIndex (day 0 is the invitation
// mailing; mailedSteps maps each step sent so far to its fieldwork day) into
// schemas.ResponseLandingPrefix(wave, ics, day). Only files with rows are written; a
// quiet day writes nothing. Calling Day again with the same inputs rewrites the same
// bytes.
func (s *Simulator) Day(ctx context.Context, st store.Store, wave, ics string, day time.Time, dayIndex int, people []Person, mailedSteps map[string]int) (Summary, error) {
	day = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	sum := Summary{Day: day.Format(time.DateOnly), ByChannel: map[string]int{}}
	pq := s.Questionnaires[questionnaire.Patient]
	if pq == nil {
		return sum, errors.New("surveysim: no patient questionnaire")
	}
	if cq := s.Questionnaires[questionnaire.Carer]; cq != nil && cq.RespondentType != questionnaire.Carer {
		return sum, fmt.Errorf("surveysim: questionnaire %s given as the carer questionnaire", cq.Version)
	}
	if pq.RespondentType != questionnaire.Patient {
		return sum, fmt.Errorf("surveysim: questionnaire %s given as the patient questionnaire", pq.Version)
	}
	rates := s.Rates.withDefaults()
	steps := s.sortedSteps(mailedSteps)

	var resp []response
	var undelivered, optouts [][]string
	for i := range people {
		if i%512 == 0 {
			if err := ctx.Err(); err != nil {
				return sum, fmt.Errorf("surveysim: %w", err)
			}
		}
		p := &people[i]
		if p.SurveyRecordID == "" {
			return sum, fmt.Errorf("surveysim: person %d has no survey record id", i)
		}
		f := s.fate(rates, wave, ics, p, steps)
		if f.undeliveredDay == dayIndex {
			undelivered = append(undelivered, []string{p.SurveyRecordID,
				day.Add(f.undeliveredAt).Format(time.RFC3339), f.undeliveredReason})
			sum.Undelivered++
		}
		if f.optOutDay == dayIndex {
			optouts = append(optouts, []string{p.SurveyRecordID, day.Add(f.optOutAt).Format(time.RFC3339), f.optOutReason})
			sum.OptOuts++
			if f.optOutReason == schemas.OptOutDeceased {
				sum.Deceased++
			}
		}
		if f.linkWithdrawDay == dayIndex {
			optouts = append(optouts, []string{p.SurveyRecordID, day.Add(f.linkWithdrawAt).Format(time.RFC3339), schemas.OptOutWithdrawLinkage})
			sum.LinkageWithdrawals++
		}
		for _, r := range f.responses {
			if r.day != dayIndex {
				continue
			}
			r.person = p
			r.receivedAt = day.Add(r.offset)
			resp = append(resp, r)
		}
	}

	columns := s.columns()
	for _, ch := range schemas.Channels {
		var rows []response
		for _, r := range resp {
			if r.channel == ch {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		sort.Slice(rows, func(i, j int) bool {
			if !rows[i].receivedAt.Equal(rows[j].receivedAt) {
				return rows[i].receivedAt.Before(rows[j].receivedAt)
			}
			if rows[i].person.SurveyRecordID != rows[j].person.SurveyRecordID {
				return rows[i].person.SurveyRecordID < rows[j].person.SurveyRecordID
			}
			return rows[i].seq < rows[j].seq
		})
		records := make([][]string, 0, len(rows))
		for _, r := range rows {
			rec, err := s.render(rates, wave, ics, r, columns)
			if err != nil {
				return sum, err
			}
			records = append(records, rec)
			sum.ByChannel[ch]++
			if r.respType == questionnaire.Carer {
				sum.Carers++
			} else {
				sum.Patients++
			}
			if !r.complete {
				sum.Incomplete++
			}
			if r.duplicate {
				sum.Duplicates++
			}
		}
		key := schemas.ResponseLandingKey(wave, ics, day, schemas.ResponseFileName(ch, "csv"))
		if err := putCSV(ctx, st, key, schemas.ResponseExtractHeader(columns), records); err != nil {
			return sum, err
		}
		sum.Files = append(sum.Files, key)
	}
	for _, f := range []struct {
		name   string
		layout *schemas.Layout
		rows   [][]string
	}{
		{schemas.SupplierFileName(schemas.FileUndelivered, "csv"), schemas.UndeliveredLayout(), undelivered},
		{schemas.SupplierFileName(schemas.FileOptOuts, "csv"), schemas.OptOutLayout(), optouts},
	} {
		if len(f.rows) == 0 {
			continue
		}
		sort.Slice(f.rows, func(i, j int) bool {
			if f.rows[i][1] != f.rows[j][1] {
				return f.rows[i][1] < f.rows[j][1]
			}
			return f.rows[i][0] < f.rows[j][0]
		})
		key := schemas.ResponseLandingKey(wave, ics, day, f.name)
		if err := putCSV(ctx, st, key, f.layout.Names(), f.rows); err != nil {
			return sum, err
		}
		sum.Files = append(sum.Files, key)
	}
	return sum, nil
}

// columns are the question columns of the day's response files: the patient questions,
// then the carer questions.
func (s *Simulator) columns() []string {
	var out []string
	seen := map[string]bool{}
	for _, rt := range []string{questionnaire.Patient, questionnaire.Carer} {
		qn := s.Questionnaires[rt]
		if qn == nil {
			continue
		}
		for _, id := range qn.IDs() {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

func putCSV(ctx context.Context, st store.Store, key string, header []string, rows [][]string) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		return fmt.Errorf("surveysim: encode %s: %w", key, err)
	}
	if err := w.WriteAll(rows); err != nil {
		return fmt.Errorf("surveysim: encode %s: %w", key, err)
	}
	if err := store.PutBytes(ctx, st, key, b.Bytes()); err != nil {
		return fmt.Errorf("surveysim: write %s: %w", key, err)
	}
	return nil
}

type step struct {
	name string
	day  int
	kind StepKind
}

func (s *Simulator) sortedSteps(mailed map[string]int) []step {
	out := make([]step, 0, len(mailed))
	for name, d := range mailed {
		out = append(out, step{name: name, day: d, kind: s.KindOf(name)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].day != out[j].day {
			return out[i].day < out[j].day
		}
		return out[i].name < out[j].name
	})
	return out
}

// rng is a random stream keyed by the seed and parts alone.
func (s *Simulator) rng(parts ...string) *rand.Rand {
	h := sha256.New()
	var seed [8]byte
	binary.LittleEndian.PutUint64(seed[:], uint64(s.Seed))
	h.Write(seed[:])
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	sum := h.Sum(nil)
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}

// unit maps a key to a stable number in [-1, 1): ICS and question effects.
func (s *Simulator) unit(parts ...string) float64 { return s.rng(parts...).Float64()*2 - 1 }

// propensity is how much more (or less) likely than average a person is to respond.
func (s *Simulator) propensity(ics string, p *Person) float64 {
	m := 1 + 0.2*s.unit("ics-response", ics)
	switch p.AgeBand {
	case "18-64":
		m *= 0.7
	case "65-74":
		m *= 1.15
	case "75-84":
		m *= 1.05
	case "85+":
		m *= 0.8
	}
	if p.EFIBand == "severe" {
		m *= 0.85
	}
	return m
}

// response is one simulated response before rendering.
type response struct {
	person     *Person
	respType   string
	channel    string
	day        int
	offset     time.Duration // time of day
	receivedAt time.Time
	complete   bool
	duplicate  bool
	seq        int // distinguishes a person's responses
}

// fate is everything that happens to one person during fieldwork.
type fate struct {
	undeliveredDay    int // -1 when never
	undeliveredAt     time.Duration
	undeliveredReason string
	optOutDay         int // -1 when never
	optOutAt          time.Duration
	optOutReason      string
	linkWithdrawDay   int // -1 when never: the day of a withdraw_linkage opt-out row
	linkWithdrawAt    time.Duration
	responses         []response
}

func (s *Simulator) personSteps(p *Person, steps []step) []step {
	var out []step
	for _, st := range steps {
		if st.kind == SMS && !p.HasMobile {
			continue
		}
		if p.Steps != nil && !contains(p.Steps, st.name) {
			continue
		}
		out = append(out, st)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// lag draws the days from a prompt to a response on a channel.
func lag(r *rand.Rand, channel string) int {
	switch channel {
	case schemas.ChannelPaper:
		// Posted back, then scanned: 4-14 days, peaking around a week.
		return 4 + pick(r, []float64{0.08, 0.14, 0.18, 0.16, 0.13, 0.1, 0.08, 0.06, 0.04, 0.02, 0.01})
	case schemas.ChannelPhone:
		return 1 + pick(r, []float64{0.25, 0.25, 0.2, 0.12, 0.1, 0.08})
	default:
		// Online: the same day to ten days, peaking one to two days after the prompt.
		return pick(r, []float64{0.14, 0.3, 0.2, 0.12, 0.08, 0.05, 0.04, 0.03, 0.02, 0.01, 0.01})
	}
}

// pick draws an index with the given weights.
func pick(r *rand.Rand, w []float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	u := r.Float64() * total
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

func timeOfDay(r *rand.Rand, channel string) time.Duration {
	from, to := 7, 23 // online: early morning to late evening
	switch channel {
	case schemas.ChannelPaper:
		from, to = 9, 17 // scanning hours
	case schemas.ChannelPhone:
		from, to = 9, 20 // freephone hours
	}
	return time.Duration(from)*time.Hour + time.Duration(r.Int64N(int64(to-from)*3600))*time.Second
}

func (s *Simulator) fate(rates Rates, wave, ics string, p *Person, all []step) fate {
	f := fate{undeliveredDay: -1, optOutDay: -1, linkWithdrawDay: -1}
	steps := s.personSteps(p, all)
	if len(steps) == 0 {
		return f
	}
	id := p.SurveyRecordID
	base := s.rng("fate", wave, ics, id)
	firstLetter := -1
	for _, st := range steps {
		if st.kind != SMS {
			firstLetter = st.day
			break
		}
	}
	// Every draw is made, in a fixed order, whatever the steps so far.
	undelivered := base.Float64() < rates.Undelivered
	undDelay, undAt := 3+base.IntN(10), timeOfDay(base, schemas.ChannelPaper)
	undReason := schemas.UndeliveredReasons[pick(base, []float64{0.45, 0.3, 0.15, 0.05, 0.05})]
	optOut := base.Float64() < rates.OptOut
	optDelay, optAt := 1+base.IntN(25), timeOfDay(base, schemas.ChannelPhone)
	optReason := "does_not_want"
	switch u := base.Float64(); {
	case u < rates.Deceased:
		optReason = schemas.OptOutDeceased
	case u < rates.Deceased+0.35:
		optReason = "too_ill"
	case u > 0.97:
		optReason = "other"
	}
	// Engagement links a patient's and a carer's willingness to answer.
	engaged := base.Float64() < 0.35
	if undelivered && firstLetter >= 0 {
		f.undeliveredDay, f.undeliveredAt, f.undeliveredReason = firstLetter+undDelay, undAt, undReason
	}
	if optOut {
		f.optOutDay, f.optOutAt, f.optOutReason = steps[0].day+optDelay, optAt, optReason
	}
	prop := s.propensity(ics, p)
	if engaged {
		prop *= 1.5
	} else {
		prop *= 0.73
	}

	// Each step this person was sent may prompt a response, independently of the others,
	// so adding a later step never changes what earlier steps did.
	var cands []response
	for _, st := range steps {
		if st.kind != SMS && undelivered {
			continue // the letter never arrived
		}
		r := s.rng("step", wave, ics, id, st.name)
		var rate float64
		switch st.kind {
		case Letter:
			rate = rates.LetterResponse
		case SMS:
			rate = rates.SMSResponse
		case PaperLetter:
			rate = rates.PaperResponse
		}
		if r.Float64() >= rate*prop {
			continue
		}
		ch := schemas.ChannelOnline
		switch u := r.Float64(); {
		case st.kind == PaperLetter && u < 0.72:
			ch = schemas.ChannelPaper
		case u > 0.95:
			ch = schemas.ChannelPhone
		}
		cands = append(cands, response{
			respType: questionnaire.Patient, channel: ch, day: st.day + lag(r, ch),
			offset: timeOfDay(r, ch), complete: true,
		})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].day < cands[j].day })
	if optOut {
		kept := cands[:0]
		for _, c := range cands {
			if c.day < f.optOutDay {
				kept = append(kept, c)
			}
		}
		cands = kept
	}
	// seq identifies the role of a response (0 saved part-way, 1 main, 2 second
	// response, 3 carer), so its answers never depend on which others exist.
	add := func(r response, seq int) {
		r.seq = seq
		f.responses = append(f.responses, r)
	}
	responded := len(cands) > 0
	if responded {
		main := cands[0]
		r := s.rng("main", wave, ics, id)
		u, dupU := r.Float64(), r.Float64()
		if main.channel == schemas.ChannelOnline {
			switch {
			case u < rates.Abandon:
				main.complete = false
			case u < rates.Abandon+rates.Partial:
				// Saved part-way, finished later the same day or the next.
				first := main
				first.complete = false
				first.offset = time.Duration(7+r.IntN(4)) * time.Hour
				main.day += r.IntN(2)
				main.offset = first.offset + time.Duration(1+r.IntN(10))*time.Hour
				add(first, 0)
			}
		}
		add(main, 1)
		// Some withdraw their consent to linkage later, and only that: they stay in the
		// survey. The draws come from a stream of their own, so the other fates are
		// the same as without them.
		if !optOut {
			w := s.rng("withdraw-linkage", wave, ics, id)
			if u, delay, at := w.Float64(), 2+w.IntN(14), timeOfDay(w, schemas.ChannelPhone); u < rates.WithdrawLinkage {
				f.linkWithdrawDay, f.linkWithdrawAt = main.day+delay, at
			}
		}
		if len(cands) > 1 && dupU < rates.Duplicate {
			dup := cands[1]
			dup.duplicate = true
			add(dup, 2)
		}
	}
	// A carer, more likely when the patient answered too. The carer answers after the
	// invitation passed on to them, or after the paper pack; every draw is made whatever
	// the steps so far, so later steps never change an earlier day.
	if s.Questionnaires[questionnaire.Carer] != nil {
		r := s.rng("carer", wave, ics, id)
		u, viaPaper, chU, extra, completeU := r.Float64(), r.Float64() < 0.3, r.Float64(), r.IntN(5), r.Float64()
		rate := rates.Carer * 0.6
		if engaged {
			rate = rates.Carer * 1.6
		}
		var prompt *step
		for i := range steps {
			if (viaPaper && steps[i].kind == PaperLetter) || (!viaPaper && steps[i].kind != SMS) {
				prompt = &steps[i]
				break
			}
		}
		if u < rate && prompt != nil && !undelivered && !(optOut && optReason == schemas.OptOutDeceased) {
			ch := schemas.ChannelOnline
			switch {
			case prompt.kind == PaperLetter && chU < 0.5:
				ch = schemas.ChannelPaper
			case chU > 0.96:
				ch = schemas.ChannelPhone
			}
			add(response{
				respType: questionnaire.Carer, channel: ch, day: prompt.day + lag(r, ch) + extra,
				offset: timeOfDay(r, ch), complete: completeU > 0.04,
			}, 3)
		}
	}
	return f
}

// render draws the answers of one response and lays out its CSV record.
func (s *Simulator) render(rates Rates, wave, ics string, r response, columns []string) ([]string, error) {
	qn := s.Questionnaires[r.respType]
	if qn == nil {
		return nil, fmt.Errorf("surveysim: no %s questionnaire", r.respType)
	}
	p := r.person
	rng := s.rng("answers", wave, ics, p.SurveyRecordID, r.respType, fmt.Sprint(r.seq))
	// The person's latent experience: ICS effect + group effect + individual variation.
	latent := 0.35*s.unit("ics-experience", ics) + 0.6*rng.NormFloat64()
	switch p.EFIBand {
	case "severe":
		latent -= 0.25
	}
	switch p.AgeBand {
	case "18-64":
		latent -= 0.2
	case "85+":
		latent += 0.1
	}
	if r.respType == questionnaire.Carer {
		latent -= 0.2 // carers are, on the whole, more critical
	}
	answers := map[string]string{}
	answerable := len(qn.Questions)
	if !r.complete {
		answerable = 2 + rng.IntN(max(1, len(qn.Questions)/2))
	}
	for i := range qn.Questions {
		q := &qn.Questions[i]
		if i >= answerable {
			break
		}
		if r.complete && q.Theme != questionnaire.ThemeConsent && rng.Float64() < rates.ItemMissing {
			continue
		}
		answers[q.ID] = s.answer(rng, ics, q, p, r, latent)
	}
	// Never render an empty response: a blank return is not a response.
	if !anyClosed(qn, answers) {
		for i := range qn.Questions {
			if q := &qn.Questions[i]; q.Closed() {
				answers[q.ID] = q.Options[0].Code
				break
			}
		}
	}
	rec := make([]string, 0, 6+len(columns))
	complete := "N"
	if r.complete {
		complete = "Y"
	}
	rec = append(rec, p.SurveyRecordID, r.respType, qn.Version, r.channel, r.receivedAt.Format(time.RFC3339), complete)
	for _, c := range columns {
		rec = append(rec, answers[c])
	}
	return rec, nil
}

func anyClosed(qn *questionnaire.Questionnaire, answers map[string]string) bool {
	for id, v := range answers {
		if q, ok := qn.Question(id); ok && q.Closed() && v != "" {
			return true
		}
	}
	return false
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

var ageBandCodes = map[string]string{"18-64": "1", "65-74": "2", "75-84": "3", "85+": "4"}

func (s *Simulator) answer(rng *rand.Rand, ics string, q *questionnaire.Question, p *Person, r response, latent float64) string {
	switch {
	case q.Kind == questionnaire.FreeText:
		return s.freeText(rng, ics, q.ID, p, r)
	case q.Theme == questionnaire.ThemeConsent:
		if rng.Float64() < 0.78 {
			return q.Options[0].Code
		}
		return q.Options[len(q.Options)-1].Code
	case q.SampleField == "age_band" && r.respType == questionnaire.Patient:
		if c, ok := ageBandCodes[p.AgeBand]; ok && q.HasOption(c) && rng.Float64() < 0.97 {
			return c
		}
	case q.SampleField == "gender" && r.respType == questionnaire.Patient:
		if (p.Gender == "1" || p.Gender == "2") && q.HasOption(p.Gender) && rng.Float64() < 0.98 {
			return p.Gender
		}
	case q.Kind == questionnaire.Multi:
		var codes []string
		for i, o := range q.Options {
			if i == len(q.Options)-1 && strings.HasPrefix(o.Label, "None") {
				if len(codes) == 0 {
					codes = append(codes, o.Code)
				}
				break
			}
			if rng.Float64() < 0.28 {
				codes = append(codes, o.Code)
			}
		}
		if len(codes) == 0 {
			codes = append(codes, q.Options[rng.IntN(len(q.Options))].Code)
		}
		return strings.Join(codes, questionnaire.MultiSeparator)
	case q.Scored():
		return s.scored(rng, ics, q, latent)
	}
	// Unscored single choice (demographics): skewed towards the earlier options.
	w := make([]float64, len(q.Options))
	for i := range w {
		w[i] = 1 / float64(i+1)
	}
	return q.Options[pick(rng, w)].Code
}

// scored draws an answer to a scored question: excluded ("don't know", "not
// applicable") sometimes, else positive with a probability set by the question's own
// baseline, the ICS and the person's latent experience.
func (s *Simulator) scored(rng *rand.Rand, ics string, q *questionnaire.Question, latent float64) string {
	if len(q.Excluded) > 0 && rng.Float64() < 0.07 {
		return q.Excluded[rng.IntN(len(q.Excluded))]
	}
	baseline := 0.9 + 0.9*s.unit("question", q.ID)          // some questions score much lower than others
	interaction := 0.25 * s.unit("ics-question", ics, q.ID) // an ICS is better at some things
	if rng.Float64() < sigmoid(baseline+interaction+latent) {
		if len(q.Positive) == 1 || rng.Float64() < 0.6 {
			return q.Positive[0]
		}
		return q.Positive[1+rng.IntN(len(q.Positive)-1)]
	}
	var neg []string
	for _, o := range q.Options {
		if !q.IsPositive(o.Code) && !contains(q.Excluded, o.Code) {
			neg = append(neg, o.Code)
		}
	}
	w := make([]float64, len(neg))
	for i := range w {
		w[i] = 1 / float64(i+1) // milder negatives are more common
	}
	return neg[pick(rng, w)]
}

// freeText draws a comment, or none. The "what was good" question mostly praises and
// the "what could be better" question mostly complains; each theme's rate moves with
// the ICS (up to ±50 %), is higher for the severely frail and for carers, whose care
// crosses more services.
func (s *Simulator) freeText(rng *rand.Rand, ics, id string, p *Person, r response) string {
	if rng.Float64() > 0.35 {
		return ""
	}
	return s.comment(rng, ics, id, p, r.respType).Text
}

// comment draws one comment with its truth (the themes and personal data put in).
func (s *Simulator) comment(rng *rand.Rand, ics, id string, p *Person, respType string) profiles.NoteLine {
	positive := 0.8
	if strings.Contains(id, "IMPROVE") {
		positive = 0.1
	}
	group := 1.0
	if p.EFIBand == "severe" {
		group *= 1.25
	}
	if respType == questionnaire.Carer {
		group *= 1.2
	}
	rates := make(map[string]float64, len(profiles.DefaultThemeRates))
	for theme, base := range profiles.DefaultThemeRates {
		rates[theme] = min(0.9, base*group*(1+0.5*s.unit("ics-theme", ics, theme)))
	}
	return profiles.SynthComment(rng, profiles.CommentSpec{ThemeRates: rates, PositiveShare: positive, PersonalDataRate: 0.04})
}
