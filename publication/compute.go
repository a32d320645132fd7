package publication

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"icesurvey/codes"
	"icesurvey/estimate"
	"icesurvey/fault"
	"icesurvey/internal/parallel"
	"icesurvey/questionnaire"
	"icesurvey/weighting"
)

// question is one published question of one respondent type.
type question struct {
	info QuestionInfo
	c    *estimate.Compiled
	bit  map[string]uint64 // option code → its bit in an answer mask
	// asked[k] says ICS k asked it (a version of its respondents has it, or it added it
	// from the bank).
	asked []bool
}

// population is one respondent type's respondents, as columns, grouped by ICS.
type population struct {
	typ       string
	weighted  bool
	questions []*question
	// raw and cols are the fetched respondents and the answer columns packed in
	// their rows, until parse.
	raw     rawRows
	cols    []string
	ics     []int32    // respondent → ICS index
	level   [][]int32  // [breakdown (codes.Breakdowns)][respondent] declared level (patients)
	answers [][]uint64 // [question][respondent] answer mask, 0 = not asked or not answered
	weights []float64  // nil for an unweighted population
	perICS  []int      // respondents per ICS
	// gICS is each respondent's ICS, or −1 when the ICS is not published; gBrk the
	// same for each breakdown's groups (level·K + ICS).
	gICS []int32
	gBrk [][]int32
}

// Compute computes a release's figures from db, a read-only snapshot of the
// warehouse (see warehouse.Snapshot), for wave: the weights of every ICS (PUBLICATION.md
// M and W), every closed question's % positive, interval, effective base, design
// effect, comparison with England and response distribution by ICS, by demographic
// group within each ICS and for England (E, C, D), the response rates by ICS, and
// disclosure control of every table (S). Everything it returns has passed
// disclosure.Check; withheld figures carry no value.
//
// An error means the release cannot be made (margins that disagree, a sample value
// outside the declared levels, an answer that is not an option: each named by table,
// ICS, record and field). An ICS whose raking fails (rake_failed) or that has no
// respondents is not an error: it is reported in ICSs, unpublished.
func Compute(ctx context.Context, db *sql.DB, wave string, p Params) (*Results, error) {
	if wave == "" {
		return nil, fault.New(fault.BadInput, "publication: no wave given")
	}
	if err := p.Validate(); err != nil {
		return nil, fault.Wrap(fault.Configuration, err)
	}
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, fmt.Errorf("publication: questionnaires: %w", err)
	}
	r := &Results{wave: wave, params: p, codeVersion: codeVersion(p)}
	lap := time.Now()
	phase := func(name string) {
		now := time.Now()
		r.phases = append(r.phases, Phase{name, now.Sub(lap).Seconds()})
		lap = now
	}
	// The snapshot is read in three queries side by side: the frame and outcomes, and
	// each respondent type's respondents (with every answer column its questionnaires
	// can have: which versions and bank questions were used is read off them).
	columns, err := responseColumns(ctx, db)
	if err != nil {
		return nil, err
	}
	patients := &population{typ: questionnaire.Patient, weighted: true}
	carers := &population{typ: questionnaire.Carer}
	var frame *frameData
	reads := []func() error{
		func() (err error) { frame, err = readFrame(ctx, db, wave); return err },
		func() error { return patients.fetch(ctx, db, wave, typeColumns(cat, patients.typ, columns)) },
		func() error { return carers.fetch(ctx, db, wave, typeColumns(cat, carers.typ, columns)) },
	}
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = read()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	phase("read the snapshot")
	for _, ics := range p.Exclude {
		if _, ok := frame.index(ics); !ok {
			return nil, fault.Errorf(fault.BadInput, "publication: exclude names ICS %s, which has no sample in wave %s", ics, wave)
		}
	}
	if !slices.ContainsFunc(frame.icss, func(ics string) bool { return !slices.Contains(p.Exclude, ics) }) {
		return nil, fault.Errorf(fault.BadInput, "publication: exclude leaves out every ICS of wave %s (%s): a release publishes at least one",
			wave, strings.Join(frame.icss, ", "))
	}
	for ics := range p.LocalQuestions {
		if _, ok := frame.index(ics); !ok {
			return nil, fault.Errorf(fault.BadInput, "publication: local questions name ICS %s, which has no sample in wave %s", ics, wave)
		}
	}
	bank := cat.Bank()
	for _, pop := range []*population{patients, carers} {
		defs, err := pop.chooseQuestions(cat, frame, pop.usage(bank, p.LocalQuestions == nil), p, columns)
		if err != nil {
			return nil, err
		}
		r.defs = append(r.defs, defs...)
		if err := pop.parse(frame); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	phase("parse the answers")

	// Weighting (patients), one ICS at a time on every core.
	K := len(frame.icss)
	results, start, err := weightPatients(frame, patients, p)
	if err != nil {
		return nil, err
	}
	published := make([]bool, K)
	patients.weights = make([]float64, len(patients.ics))
	for k, ics := range frame.icss {
		rep := ICSReport{ICS: ics, Patients: patients.perICS[k], Carers: carers.perICS[k], FrameTotal: frameTotal(frame, k), Weighting: results[k]}
		switch res := results[k]; {
		case slices.Contains(p.Exclude, ics):
			rep.Status, rep.Reason = StatusExcluded, "left out of this release by its parameters"
			if p.ExcludeReason != "" {
				rep.Reason = "left out of this release: " + p.ExcludeReason
			}
		case res == nil:
			rep.Status, rep.Reason = StatusNoRespondents, "no completed patient questionnaire"
		case res.Status == weighting.RakeFailed:
			rep.Status, rep.Reason = string(res.Status), res.Reason
		default:
			rep.Status, rep.Reason, rep.Published = string(res.Status), res.Reason, true
			copy(patients.weights[start[k]:start[k+1]], res.Weights)
		}
		published[k] = rep.Published
		r.icss = append(r.icss, rep)
	}
	for _, pop := range []*population{patients, carers} {
		pop.groups(published, p, K)
		for _, q := range pop.questions {
			for k, ics := range frame.icss {
				if q.asked[k] && published[k] {
					q.info.ICSs = append(q.info.ICSs, ics)
				}
			}
			if len(q.info.ICSs) > 0 {
				r.questions = append(r.questions, q.info)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	phase("weighting")

	// Every question's figures and tables, one question at a time on every core.
	type job struct {
		pop *population
		q   int
	}
	var jobs []job
	for _, pop := range []*population{patients, carers} {
		for qi, q := range pop.questions {
			if len(q.info.ICSs) > 0 {
				jobs = append(jobs, job{pop, qi})
			}
		}
	}
	outs := make([]*unitOut, len(jobs))
	present := presentLevels(frame, patients)
	err = parallel.Indexed(len(jobs), func(i int) error {
		u := &unit{pop: jobs[i].pop, q: jobs[i].pop.questions[jobs[i].q], qi: jobs[i].q, frame: frame, published: published,
			present: present, p: p, r: r}
		out, err := u.run()
		outs[i] = out
		return err
	})
	if err != nil {
		return nil, err
	}
	// The rows are gathered into slices made once at their final length: appended
	// question by question, the distribution rows alone were copied and reallocated
	// several times over (tens of MiB for a national release).
	var nResults, nDists, nTables int
	for _, o := range outs {
		nResults, nDists, nTables = nResults+len(o.results), nDists+len(o.dists), nTables+len(o.tables)
	}
	r.results = slices.Grow(r.results, nResults)
	r.dists = slices.Grow(r.dists, nDists)
	r.tables = slices.Grow(r.tables, nTables)
	for _, o := range outs {
		r.results = append(r.results, o.results...)
		r.dists = append(r.dists, o.dists...)
		r.tables = append(r.tables, o.tables...)
		r.withheld.merge(o.withheld)
	}
	phase("estimates, comparisons and disclosure control")
	if err := r.responseRates(frame); err != nil {
		return nil, err
	}
	objects, err := readLineage(ctx, db, wave)
	if err != nil {
		return nil, err
	}
	if objects == nil {
		objects = []LakeObject{}
	}
	digest := LineageSHA256(objects)
	for _, table := range []string{"results", "distributions", "response_rates"} {
		r.lineage = append(r.lineage, TableLineage{Table: table, ObjectsSHA256: digest, Objects: objects})
	}
	phase("response rates and lineage")
	r.sealed = true
	return r, nil
}

// weightPatients weights each ICS's patients (PUBLICATION.md M and W), one ICS at a
// time on every core: results[k] is ICS k's weighting, nil when the ICS is left out by
// p or has no respondents; start[k] is the position of ICS k's first respondent.
func weightPatients(frame *frameData, patients *population, p Params) (results []*weighting.Result, start []int, err error) {
	K := len(frame.icss)
	start = make([]int, K+1)
	for k, n := range patients.perICS {
		start[k+1] = start[k] + n
	}
	results = make([]*weighting.Result, K)
	err = parallel.Indexed(K, func(k int) error {
		if slices.Contains(p.Exclude, frame.icss[k]) || start[k+1] == start[k] {
			return nil // left out, or no respondents to weight
		}
		in := weighting.Input{ICS: frame.icss[k]}
		for _, v := range p.Weighting.Vars {
			b := breakdownIndex(v)
			of := make([]int, start[k+1]-start[k])
			for i := range of {
				of[i] = int(patients.level[b][start[k]+i])
			}
			in.Vars = append(in.Vars, weighting.Variable{Name: v, Levels: declaredLevels[b], Frame: frame.counts[k][b], Of: of})
		}
		res, err := weighting.Weight(in, p.Weighting)
		if errors.Is(err, weighting.ErrNoRespondents) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("publication: %w", err)
		}
		results[k] = res
		return nil
	})
	return results, start, err
}

func frameTotal(f *frameData, k int) float64 {
	t := 0.0
	for _, n := range f.counts[k][0] {
		t += n
	}
	return t
}

// chooseQuestions picks the population's questions: every closed question of every
// questionnaire version its respondents answered (in catalogue order, each id once),
// then every bank question an ICS added; and which ICSs asked each. It returns the
// versions' definitions for the metadata.
func (pop *population) chooseQuestions(cat *questionnaire.Catalogue, frame *frameData, use *usage, p Params, columns map[string]bool) ([]Questionnaire, error) {
	K := len(frame.icss)
	used := map[string]bool{}
	for ics, vs := range use.versions[pop.typ] {
		if _, ok := frame.index(ics); !ok {
			return nil, fmt.Errorf("publication: table responses: ICS %s has %s responses but no sample in the wave", ics, pop.typ)
		}
		for _, v := range vs {
			used[v] = true
		}
	}
	byID := map[string]*question{}
	add := func(q questionnaire.Question, local bool) (*question, error) {
		if have, ok := byID[q.ID]; ok {
			if !sameDefinition(have.info, q) {
				return nil, fmt.Errorf("publication: question %s is defined differently by two questionnaire versions of the wave (options, positive or excluded codes)", q.ID)
			}
			return have, nil
		}
		if !columns[q.ID] {
			return nil, fmt.Errorf("publication: table responses has no column %s (the snapshot predates the question)", q.ID)
		}
		c, err := estimate.Compile(estimate.FromQuestionnaire(&q))
		if err != nil {
			return nil, fmt.Errorf("publication: %w", err)
		}
		info := QuestionInfo{RespondentType: pop.typ, ID: q.ID, Text: q.Text, Multi: q.Kind == questionnaire.Multi, Local: local,
			Positive: slices.Clone(q.Positive), Excluded: slices.Clone(q.Excluded)}
		bit := map[string]uint64{}
		for i, o := range q.Options {
			info.Options = append(info.Options, Option{o.Code, o.Label})
			bit[o.Code] = 1 << i
		}
		qq := &question{info: info, c: c, bit: bit, asked: make([]bool, K)}
		byID[q.ID] = qq
		pop.questions = append(pop.questions, qq)
		return qq, nil
	}
	var defs []Questionnaire
	for _, v := range cat.Versions() {
		if !used[v] {
			continue
		}
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			return nil, fmt.Errorf("publication: %w", err)
		}
		if qn.RespondentType != pop.typ {
			return nil, fmt.Errorf("publication: table responses: %s responses name questionnaire %s, which is for %s respondents", pop.typ, v, qn.RespondentType)
		}
		defs = append(defs, Questionnaire{Version: v, RespondentType: pop.typ, Digest: qn.Digest})
		for _, q := range qn.Questions {
			if !q.Closed() {
				continue
			}
			qq, err := add(q, false)
			if err != nil {
				return nil, err
			}
			for k, ics := range frame.icss {
				if slices.Contains(use.versions[pop.typ][ics], v) {
					qq.asked[k] = true
				}
			}
		}
	}
	for v := range used {
		if !slices.Contains(cat.Versions(), v) {
			return nil, fault.Errorf(fault.BadInput, "publication: table responses: questionnaire_version %q is not in the questionnaire catalogue", v)
		}
	}
	bank := cat.Bank()
	if p.LocalQuestions != nil {
		for ics, ids := range p.LocalQuestions {
			for _, id := range ids {
				if !slices.ContainsFunc(bank, func(q questionnaire.Question) bool { return q.ID == id }) {
					return nil, fault.Errorf(fault.BadInput, "publication: local questions of %s: %s is not a question of the bank", ics, id)
				}
			}
		}
	}
	for _, q := range bank {
		if !q.Closed() || !slices.Contains(q.RespondentTypes, pop.typ) {
			continue
		}
		var asked []bool
		for k, ics := range frame.icss {
			var added bool
			if p.LocalQuestions != nil {
				added = slices.Contains(p.LocalQuestions[ics], q.ID)
			} else {
				added = slices.Contains(use.bank[pop.typ][ics], q.ID)
			}
			if added {
				if asked == nil {
					asked = make([]bool, K)
				}
				asked[k] = true
			}
		}
		if asked == nil {
			continue
		}
		qq, err := add(q, true)
		if err != nil {
			return nil, err
		}
		for k := range asked {
			qq.asked[k] = qq.asked[k] || asked[k]
		}
	}
	if len(defs) > 0 {
		var ids []string
		for _, q := range pop.questions {
			if q.info.Local {
				ids = append(ids, q.info.ID)
			}
		}
		defs[len(defs)-1].BankQuestions = ids
	}
	return defs, nil
}

func sameDefinition(have QuestionInfo, q questionnaire.Question) bool {
	if have.Multi != (q.Kind == questionnaire.Multi) || len(have.Options) != len(q.Options) ||
		!slices.Equal(have.Positive, q.Positive) || !slices.Equal(have.Excluded, q.Excluded) {
		return false
	}
	for i, o := range q.Options {
		if have.Options[i].Code != o.Code {
			return false
		}
	}
	return true
}

// typeColumns lists the answer columns the population's respondents can have — every
// closed question of every catalogue version for its respondent type and every bank
// question offered to it — that the snapshot's responses table holds.
func typeColumns(cat *questionnaire.Catalogue, typ string, columns map[string]bool) []string {
	var out []string
	seen := map[string]bool{}
	add := func(q questionnaire.Question) {
		if q.Closed() && columns[q.ID] && !seen[q.ID] {
			seen[q.ID] = true
			out = append(out, q.ID)
		}
	}
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil || qn.RespondentType != typ {
			continue
		}
		for _, q := range qn.Questions {
			add(q)
		}
	}
	for _, q := range cat.Bank() {
		if slices.Contains(q.RespondentTypes, typ) {
			add(q)
		}
	}
	return out
}

// usage reads off the fetched respondents which questionnaire versions each ICS's
// respondents answered and, when bankFromAnswers, which bank questions each ICS's
// respondents answered at least once (the ICS added them).
func (pop *population) usage(bank []questionnaire.Question, bankFromAnswers bool) *usage {
	u := &usage{versions: map[string]map[string][]string{pop.typ: {}}, bank: map[string]map[string][]string{pop.typ: {}}}
	versions, banks := u.versions[pop.typ], u.bank[pop.typ]
	isBank := make([]bool, len(pop.cols))
	for c, id := range pop.cols {
		isBank[c] = bankFromAnswers && slices.ContainsFunc(bank, func(q questionnaire.Question) bool { return q.ID == id })
	}
	for i := range pop.raw.len() {
		r := pop.raw.at(i)
		if r.version != "" && !slices.Contains(versions[r.ics], r.version) {
			versions[r.ics] = append(versions[r.ics], r.version)
		}
		if !bankFromAnswers || r.answers == "" {
			continue
		}
		c, rest := 0, r.answers
		for {
			end := strings.Index(rest, answerSep)
			field := rest
			if end >= 0 {
				field = rest[:end]
			}
			if c < len(isBank) && isBank[c] && field != "" && !slices.Contains(banks[r.ics], pop.cols[c]) {
				banks[r.ics] = append(banks[r.ics], pop.cols[c])
			}
			if end < 0 {
				break
			}
			rest, c = rest[end+len(answerSep):], c+1
		}
	}
	for ics := range versions {
		slices.Sort(versions[ics])
	}
	return u
}

// fetch reads the population's respondents with the answers of cols, unparsed.
func (pop *population) fetch(ctx context.Context, db *sql.DB, wave string, cols []string) error {
	pop.cols = cols
	keep := func(r *rawRespondent) error {
		pop.raw.add(r)
		return nil
	}
	if pop.weighted {
		return readPatients(ctx, db, wave, cols, keep)
	}
	return readCarers(ctx, db, wave, cols, keep)
}

// parse converts the fetched respondents into columns: each one's ICS, frame levels
// (patients) and an answer mask per question, in row chunks side by side.
func (pop *population) parse(frame *frameData) error {
	K, n := len(frame.icss), pop.raw.len()
	pop.ics = make([]int32, n)
	pop.answers = make([][]uint64, len(pop.questions))
	for qi := range pop.answers {
		pop.answers[qi] = make([]uint64, n)
	}
	if pop.weighted {
		pop.level = make([][]int32, len(codes.Breakdowns))
		for b := range pop.level {
			pop.level[b] = make([]int32, n)
		}
	}
	// The position of each fetched column among the questions, or −1.
	colQ := make([]int, len(pop.cols))
	for c, id := range pop.cols {
		colQ[c] = slices.IndexFunc(pop.questions, func(q *question) bool { return q.info.ID == id })
	}
	chunks := min(runtime.GOMAXPROCS(0), max(1, n/4096))
	err := parallel.Indexed(chunks, func(chunk int) error {
		var fields []string
		for i := chunk * n / chunks; i < (chunk+1)*n/chunks; i++ {
			r := pop.raw.at(i)
			k, ok := frame.index(r.ics)
			if !ok {
				return fault.Errorf(fault.BadInput, "publication: table responses, response %s: ICS %s has no sample in the wave", r.responseID, r.ics)
			}
			pop.ics[i] = int32(k)
			if pop.weighted {
				for b := range codes.Breakdowns {
					l := levelOf(b, r.levels[b])
					if l < 0 {
						return fmt.Errorf("publication: table sample, ICS %s, survey record %s, field %s: %q is not one of the declared levels %v",
							r.ics, r.recordID, codes.Breakdowns[b], r.levels[b], declaredLevels[b])
					}
					pop.level[b][i] = int32(l)
				}
			}
			if (r.answers == "" && r.responseID == "") || len(pop.cols) == 0 {
				continue // a completion recorded without its response, or no answers fetched (weights only)
			}
			fields = splitInto(fields[:0], r.answers, answerSep)
			if len(fields) != len(pop.cols) {
				return fault.Errorf(fault.BadInput, "publication: table responses, response %s: %d answer fields for %d columns", r.responseID, len(fields), len(pop.cols))
			}
			for c, cell := range fields {
				qi := colQ[c]
				if qi < 0 || cell == "" {
					continue
				}
				q := pop.questions[qi]
				m, err := q.mask(cell)
				if err != nil {
					return fault.Errorf(fault.BadInput, "publication: table responses, response %s, field %s: %w", r.responseID, q.info.ID, err)
				}
				if q.asked[k] {
					pop.answers[qi][i] = m // else a bank question the ICS did not add
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	pop.perICS = make([]int, K)
	for i, k := range pop.ics {
		pop.perICS[k]++
		if i > 0 && k < pop.ics[i-1] {
			// The weighting takes each ICS's respondents as one run.
			return fmt.Errorf("publication: %s respondents are not in ICS order (ICS %s after %s)", pop.typ, frame.icss[k], frame.icss[pop.ics[i-1]])
		}
	}
	pop.raw = rawRows{}
	return nil
}

// rawRows holds the fetched respondents in blocks of a fixed size: filling them copies
// nothing, where one growing slice was copied over and over (tens of MiB for a
// national wave).
type rawRows struct {
	blocks [][]rawRespondent
	n      int
}

const rawBlock = 4096

func (rr *rawRows) add(r *rawRespondent) {
	if rr.n%rawBlock == 0 {
		rr.blocks = append(rr.blocks, make([]rawRespondent, 0, rawBlock))
	}
	b := &rr.blocks[len(rr.blocks)-1]
	*b = append(*b, *r)
	rr.n++
}

func (rr *rawRows) len() int { return rr.n }

// at is the i-th respondent fetched.
func (rr *rawRows) at(i int) *rawRespondent { return &rr.blocks[i/rawBlock][i%rawBlock] }

// splitInto splits s by sep into dst (reused).
func splitInto(dst []string, s, sep string) []string {
	for {
		i := strings.Index(s, sep)
		if i < 0 {
			return append(dst, s)
		}
		dst = append(dst, s[:i])
		s = s[i+len(sep):]
	}
}

// mask converts an answer cell (one code, or a multi answer's codes joined by ";") to
// its answer mask; "" is no answer.
func (q *question) mask(cell string) (uint64, error) {
	if cell == "" {
		return 0, nil
	}
	if !q.info.Multi {
		b, ok := q.bit[cell]
		if !ok {
			return 0, fmt.Errorf("answer %q is not one of the question's options", cell)
		}
		return b, nil
	}
	var m uint64
	for cell != "" {
		code := cell
		if i := strings.IndexByte(cell, ';'); i >= 0 {
			code, cell = cell[:i], cell[i+1:]
		} else {
			cell = ""
		}
		b, ok := q.bit[code]
		if !ok {
			return 0, fmt.Errorf("answer code %q is not one of the question's options", code)
		}
		m |= b
	}
	return m, nil
}

// groups sets each respondent's ICS group and breakdown groups, −1 where the ICS is
// not published.
func (pop *population) groups(published []bool, p Params, K int) {
	pop.gICS = make([]int32, len(pop.ics))
	for i, k := range pop.ics {
		pop.gICS[i] = -1
		if published[k] {
			pop.gICS[i] = k
		}
	}
	if !pop.weighted {
		return
	}
	pop.gBrk = make([][]int32, len(codes.Breakdowns))
	for _, v := range p.Breakdowns {
		b := breakdownIndex(v)
		g := make([]int32, len(pop.ics))
		for i, k := range pop.ics {
			g[i] = -1
			if published[k] {
				g[i] = pop.level[b][i]*int32(K) + k
			}
		}
		pop.gBrk[b] = g
	}
}
