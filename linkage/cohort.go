package linkage

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/internal/duckmem"
	"icesurvey/internal/england"
	"icesurvey/lake"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The cohort is every sampled person of a wave with what linkage needs of them: the
// frame variables, whether they responded (a kept complete patient response: the first
// complete patient response not discarded as a duplicate, as the warehouse's
// completions view has it), when, their answers, and whether they may be linked now
// (responded, and their latest patient consent event is "given").

// Person is one sampled person of the cohort.
type Person struct {
	SurveyRecordID string
	ICS            string
	NHSPseudonym   string
	AgeBand        string
	Gender         string
	EthnicityGroup string
	EFIBand        string
	Responded      bool
	ResponseDate   time.Time // the kept response's calendar date in England (at midnight UTC); zero unless Responded
	ResponseID     string
	Consented      bool // Responded and Linkable
}

// Cohort is a wave's sampled people, indexed by project pseudonym.
type Cohort struct {
	WaveID  string
	People  []Person
	Answers []schemas.LinkageAnswer // of the kept responses, scored
	Consent ConsentCounts
	Events  []schemas.ConsentEvent
	byKey   map[[32]byte]int32
	byID    map[string]int32
	db      *duckmem.DB // the engine extracts are judged in (engine), made on first use
	// threads is the engine's own number of threads, and judging the validations in it
	// now (share); both guarded by engineMu.
	threads, judging int
}

// Lookup finds the person with a normalised (lower-case hex) project pseudonym.
func (c *Cohort) Lookup(pseudonym string) (*Person, bool) {
	var k [32]byte
	if len(pseudonym) != 64 {
		return nil, false
	}
	if _, err := hex.Decode(k[:], []byte(pseudonym)); err != nil {
		return nil, false
	}
	i, ok := c.byKey[k]
	if !ok {
		return nil, false
	}
	return &c.People[i], true
}

// Person finds the person with a survey record id.
func (c *Cohort) Person(surveyRecordID string) (*Person, bool) {
	i, ok := c.byID[surveyRecordID]
	if !ok {
		return nil, false
	}
	return &c.People[i], true
}

// Counts of the cohort flow before linking.
func (c *Cohort) Counts() (sampled, responded, consented int) {
	for i := range c.People {
		p := &c.People[i]
		sampled++
		if p.Responded {
			responded++
		}
		if p.Consented {
			consented++
		}
	}
	return
}

// EthnicityGroup maps an ethnic category code (SPEC §4) to its broad group, the level
// at which match rates and consent bias are reported.
func EthnicityGroup(code string) string {
	switch strings.ToUpper(strings.TrimSpace(code)) {
	case "A", "B", "C":
		return "white"
	case "D", "E", "F", "G":
		return "mixed"
	case "H", "J", "K", "L":
		return "asian"
	case "M", "N", "P":
		return "black"
	case "R", "S":
		return "other"
	}
	return "not_stated"
}

// EthnicityGroups lists the groups in report order.
var EthnicityGroups = []string{"white", "mixed", "asian", "black", "other", "not_stated"}

// lakeObjects lists the Parquet objects under prefix.
func lakeObjects(ctx context.Context, st store.Store, prefix string) ([]string, error) {
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, fmt.Errorf("linkage: list %s: %w", prefix, err)
	}
	var out []string
	for _, in := range infos {
		if strings.HasSuffix(in.Key, ".parquet") {
			out = append(out, in.Key)
		}
	}
	return out, nil
}

// scanAll streams every row of every Parquet object under prefix.
func scanAll[T any](ctx context.Context, st store.Store, prefix string, l *schemas.Layout, fn func(*T) error) error {
	keys, err := lakeObjects(ctx, st, prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := lake.Scan(ctx, st, k, l, fn); err != nil {
			return fmt.Errorf("linkage: read %s: %w", k, err)
		}
	}
	return nil
}

func waveRoot(table schemas.LakeTable, wave string) string {
	return schemas.LakeWavePrefix(table, wave)
}

// DeriveConsent derives the consent events of a wave from the lake: given or declined
// from every loaded response's consent answer (a response later discarded as a
// duplicate still said what it said: the latest statement wins), withdrawn from every
// loaded opt-out and every late opt-out recorded with `ice wave opt-out`. Operator
// withdrawals are recorded apart (RecordWithdrawal).
func DeriveConsent(ctx context.Context, st store.Store, wave string) ([]schemas.ConsentEvent, error) {
	return deriveConsent(ctx, st, wave, func(t schemas.LakeTable) string { return waveRoot(t, wave) })
}

// deriveConsent is DeriveConsent over the lake objects under root(table): the wave's,
// or one ICS's partition.
func deriveConsent(ctx context.Context, st store.Store, wave string, root func(schemas.LakeTable) string) ([]schemas.ConsentEvent, error) {
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, err
	}
	qs, err := ConsentQuestions(cat)
	if err != nil {
		return nil, err
	}
	var out []schemas.ConsentEvent
	err = scanAll(ctx, st, root(schemas.LakeResponses), schemas.ResponseRowLayout(), func(r *schemas.ResponseRow) error {
		if ev, ok := ConsentFromResponse(r, qs); ok {
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Withdrawals: the opt-outs of the supplier's files, loaded as outcomes, and the late
	// opt-outs recorded with `ice wave opt-out`, among the outcome events.
	for _, src := range []struct {
		table    schemas.LakeTable
		withdraw func(schemas.OutcomeEvent) (schemas.ConsentEvent, bool, error)
	}{
		{schemas.LakeResponseOutcomes, WithdrawalFromOutcomeEvent},
		{schemas.LakeOutcomeEvents, WithdrawalFromLateOptOut},
	} {
		var werr error
		err = scanAll(ctx, st, root(src.table), schemas.OutcomeEventLayout(), func(e *schemas.OutcomeEvent) error {
			ev, ok, err := src.withdraw(*e)
			if err != nil && werr == nil {
				werr = err
			}
			if ok {
				out = append(out, ev)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if werr != nil {
			return nil, werr
		}
	}
	slices.SortFunc(out, func(a, b schemas.ConsentEvent) int { return cmp.Compare(a.EventID, b.EventID) })
	return slices.CompactFunc(out, func(a, b schemas.ConsentEvent) bool { return a.EventID == b.EventID }), nil
}

// WriteDerivedConsent stores the derived events of a wave as one lake object, replacing
// the one before (derivation is deterministic, so a retry writes the same bytes).
func WriteDerivedConsent(ctx context.Context, st store.Store, wave string, events []schemas.ConsentEvent) (string, error) {
	key := schemas.LinkageConsentKey(wave, "derived")
	if err := lake.PutRows(ctx, st, key, schemas.ConsentEventLayout(), events); err != nil {
		return "", fmt.Errorf("linkage: write consent events: %w", err)
	}
	return key, nil
}

// RecordWithdrawal stores one operator's withdrawal as its own lake object, named by
// the event id, so a retried command writes the same object.
func RecordWithdrawal(ctx context.Context, st store.Store, ev schemas.ConsentEvent) (string, error) {
	if ev.SourceKind != schemas.ConsentSourceOperator || ev.Event != schemas.ConsentWithdrawn {
		return "", fmt.Errorf("linkage: %s is not an operator's withdrawal", ev.EventID)
	}
	key := schemas.LinkageConsentKey(ev.WaveID, "operator-"+ev.EventID)
	if err := lake.PutRows(ctx, st, key, schemas.ConsentEventLayout(), []schemas.ConsentEvent{ev}); err != nil {
		return "", fmt.Errorf("linkage: record withdrawal: %w", err)
	}
	return key, nil
}

// ReadConsentEvents reads every stored consent event of a wave.
func ReadConsentEvents(ctx context.Context, st store.Store, wave string) ([]schemas.ConsentEvent, error) {
	var out []schemas.ConsentEvent
	err := scanAll(ctx, st, schemas.LinkageConsentPrefix(wave), schemas.ConsentEventLayout(), func(e *schemas.ConsentEvent) error {
		out = append(out, *e)
		return nil
	})
	return out, err
}

// StandingConsent is a subject's latest consent event as the next release will find
// it: the events derived from the lake as it is now (from the partition of ics, the
// subject's, so a national wave is not read whole for one person), with every stored
// one (operator withdrawals among them). ok is false when the subject has no consent
// event at all.
func StandingConsent(ctx context.Context, st store.Store, wave, ics string, s Subject) (ev schemas.ConsentEvent, ok bool, err error) {
	derived, err := deriveConsent(ctx, st, wave, func(t schemas.LakeTable) string { return schemas.LakePartition(t, wave, ics) })
	if err != nil {
		return ev, false, err
	}
	stored, err := ReadConsentEvents(ctx, st, wave)
	if err != nil {
		return ev, false, err
	}
	var theirs []schemas.ConsentEvent
	for _, e := range slices.Concat(derived, stored) {
		if e.SurveyRecordID == s.SurveyRecordID && e.RespondentType == s.RespondentType {
			theirs = append(theirs, e)
		}
	}
	ev, ok = Latest(theirs)[s]
	return ev, ok, nil
}

// ErrNoSample: the wave has no sample in the lake, so there is nobody to link (a
// mistyped wave id, or a wave whose intake never ran). No retry can change that.
var ErrNoSample = fault.New(fault.BadInput, "linkage: no sample in the lake")

// LoadCohort reads a wave's sample, responses, duplicates and stored consent events from
// the lake and builds its cohort, with every kept response's answers scored and the
// consent events counted.
func LoadCohort(ctx context.Context, st store.Store, wave string) (*Cohort, error) {
	return loadCohort(ctx, st, wave, true)
}

// LoadLinkable builds a wave's cohort as validating extracts and purging withdrawals
// need it: the people, their keys and whether they may be linked, with no Answers,
// Events or Consent counts (the release's cohort, read at a fraction of the cost).
func LoadLinkable(ctx context.Context, st store.Store, wave string) (*Cohort, error) {
	return loadCohort(ctx, st, wave, false)
}

// loadCohort builds the cohort; full false gives a release's cohort, with no
// Answers, Events or Consent counts: the release stages the answers with DuckDB
// straight from the response objects (stageAnswers), so it skips the second,
// every-column read of the responses that scoring them here takes, and it needs of the
// consent events only each subject's latest.
func loadCohort(ctx context.Context, st store.Store, wave string, full bool) (*Cohort, error) {
	c := &Cohort{WaveID: wave, byKey: map[[32]byte]int32{}, byID: map[string]int32{}}
	// Only the sample's text columns are needed: read as text, with no row structs.
	sampleKeys, err := lakeObjects(ctx, st, waveRoot(schemas.LakeSample, wave))
	if err != nil {
		return nil, err
	}
	cols := []string{"survey_record_id", "ics", "nhs_pseudonym", "age_band", "gender", "ethnicity", "efi_band"}
	// The frame variables take a handful of values each: one copy of each is kept.
	intern := newInterner()
	for n, key := range sampleKeys {
		if n > 0 {
			// A wave's sample is one object per ICS, of about the same size: room for the
			// rest at the first ones' rate, not a doubling (and copying) at a time.
			c.People = slices.Grow(c.People, len(c.People)/n*(len(sampleKeys)-n))
		}
		if n == 1 {
			// The same for the indexes, whose growth (rehashing every entry each time)
			// cost as much as filling them: sized for the whole sample once the first
			// object's size is known.
			size := len(c.People) * len(sampleKeys) * 9 / 8
			byKey, byID := make(map[[32]byte]int32, size), make(map[string]int32, size)
			maps.Copy(byKey, c.byKey)
			maps.Copy(byID, c.byID)
			c.byKey, c.byID = byKey, byID
		}
		err = lake.ScanStrings(ctx, st, key, cols, func(row []string) error {
			var k [32]byte
			if _, err := hex.Decode(k[:], []byte(row[2])); err != nil || len(row[2]) != 64 {
				return fmt.Errorf("sample record %s: nhs_pseudonym is not 64 hex digits", row[0])
			}
			if _, dup := c.byKey[k]; dup {
				// Intake refuses a repeated NHS number within an ICS and flags one across
				// ICSs; a person sampled twice is linked once, as the first record.
				return nil
			}
			id := strings.Clone(row[0])
			c.byKey[k] = int32(len(c.People))
			c.byID[id] = int32(len(c.People))
			c.People = append(c.People, Person{SurveyRecordID: id, ICS: intern(row[1]),
				NHSPseudonym: strings.Clone(row[2]), AgeBand: intern(row[3]), Gender: intern(row[4]),
				EthnicityGroup: EthnicityGroup(row[5]), EFIBand: intern(row[6])})
			return nil
		})
		if err != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("linkage: read sample of %s: %w", wave, err)
	}
	if len(c.People) == 0 {
		return nil, fmt.Errorf("%w: wave %s (is the wave id right, and has its intake run?)", ErrNoSample, wave)
	}
	discarded := map[string]bool{}
	err = scanAll(ctx, st, waveRoot(schemas.LakeDuplicates, wave), schemas.DuplicateResponseLayout(), func(d *schemas.DuplicateResponse) error {
		discarded[d.DiscardedResponseID] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Each person's kept response: the first complete patient response not discarded.
	type keptResponse struct {
		id string
		at time.Time
	}
	kept := map[int32]keptResponse{}
	err = scanResponses(ctx, st, wave, false, func(rc *responseCols, rows int) error {
		for r := range rows {
			if rc.rtype.Value(r) != schemas.RespondentPatient || !rc.complete.Value(r) {
				continue
			}
			id := rc.id.Value(r)
			if discarded[id] {
				continue
			}
			i, ok := c.byID[rc.record.Value(r)]
			if !ok {
				continue // a response the load accepted for a record this sample lacks cannot be linked
			}
			at := rc.receivedAt(r)
			if have, ok := kept[i]; !ok || at.Before(have.at) || (at.Equal(have.at) && id < have.id) {
				kept[i] = keptResponse{strings.Clone(id), at}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var linkable func(i int32) bool
	if full {
		events, err := ReadConsentEvents(ctx, st, wave)
		if err != nil {
			return nil, err
		}
		c.Events = events
		c.Consent = CountConsent(events)
		latest := Latest(events)
		linkable = func(i int32) bool { return Linkable(latest, c.People[i].SurveyRecordID) }
	} else {
		// A release consults only each person's latest patient event: it reads no more
		// of the events than that takes, and neither keeps them nor counts them.
		given, err := latestConsentGiven(ctx, st, wave, c.byID, len(c.People))
		if err != nil {
			return nil, err
		}
		linkable = func(i int32) bool { return given[i] }
	}
	questions, err := questionIndex()
	if err != nil {
		return nil, err
	}
	ext := schemas.ResponseRowLayout().ExtensionColumns()
	qs := make([]*questionnaire.Question, len(ext)) // by extension column: the closed questions staged
	for j, col := range ext {
		if q, ok := questions[col.Name]; ok && q.Theme != questionnaire.ThemeConsent {
			qs[j] = q
		}
	}
	for i, k := range kept {
		p := &c.People[i]
		p.Responded, p.ResponseID = true, k.id
		p.ResponseDate = responseDay(k.at)
		p.Consented = linkable(i)
	}
	if !full {
		return c, nil
	}
	keptIDs := make(map[string]int32, len(kept))
	for i, k := range kept {
		keptIDs[k.id] = i
	}
	// Each question's options scored once: a national wave has millions of answers, and
	// an answer that is one of its question's options (nearly all) then takes the
	// option's code and scores without an allocation or a search.
	scored := make([]map[string]schemas.LinkageAnswer, len(qs))
	for j, q := range qs {
		if q == nil {
			continue
		}
		scored[j] = make(map[string]schemas.LinkageAnswer, len(q.Options))
		for _, o := range q.Options {
			scored[j][o.Code] = schemas.LinkageAnswer{QuestionID: q.ID, AnswerCode: o.Code, Scored: q.Scored(),
				Positive: q.IsPositive(o.Code), InBase: q.InBase(o.Code)}
		}
	}
	answer := func(j int, i int32, code string) schemas.LinkageAnswer {
		a, ok := scored[j][code]
		if !ok {
			q := qs[j]
			code = strings.Clone(code)
			a = schemas.LinkageAnswer{QuestionID: q.ID, AnswerCode: code, Scored: q.Scored(), Positive: q.IsPositive(code), InBase: q.InBase(code)}
		}
		a.PersonIndex = i
		return a
	}
	c.Answers = make([]schemas.LinkageAnswer, 0, len(kept)*len(qs)/2)
	err = scanResponses(ctx, st, wave, true, func(rc *responseCols, rows int) error {
		for r := range rows {
			i, ok := keptIDs[rc.id.Value(r)]
			if !ok {
				continue
			}
			for j, q := range qs {
				if q == nil || rc.answers[j] == nil {
					continue
				}
				raw := strings.TrimSpace(rc.answers[j](r))
				if raw == "" {
					continue
				}
				if q.Kind != questionnaire.Multi {
					c.Answers = append(c.Answers, answer(j, i, raw)) // SplitAnswer's one code
					continue
				}
				for _, code := range q.SplitAnswer(raw) {
					c.Answers = append(c.Answers, answer(j, i, code))
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// questionIndex maps every closed question id of the catalogue (each version's and the
// bank's) to its definition; an id means one question in every version.
func questionIndex() (map[string]*questionnaire.Question, error) {
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, err
	}
	out := map[string]*questionnaire.Question{}
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			return nil, err
		}
		for i := range qn.Questions {
			if q := &qn.Questions[i]; q.Closed() {
				out[q.ID] = q
			}
		}
	}
	for _, q := range cat.Bank() {
		if q.Closed() {
			out[q.ID] = &q
		}
	}
	return out, nil
}

// SampledICS finds the ICS of a survey record id in a wave's sample in the lake (ok
// false when the wave has no such record), reading only the two columns it needs: an
// operator's withdrawal must name someone the wave sampled.
func SampledICS(ctx context.Context, st store.Store, wave, surveyRecordID string) (ics string, ok bool, err error) {
	keys, err := lakeObjects(ctx, st, waveRoot(schemas.LakeSample, wave))
	if err != nil {
		return "", false, err
	}
	for _, key := range keys {
		err = lake.ScanStrings(ctx, st, key, []string{"survey_record_id", "ics"}, func(row []string) error {
			if !ok && row[0] == surveyRecordID {
				ics, ok = strings.Clone(row[1]), true
			}
			return nil
		})
		if err != nil {
			return "", false, fmt.Errorf("linkage: read sample of %s: %w", wave, err)
		}
		if ok {
			break
		}
	}
	return ics, ok, nil
}

// responseDay is the calendar date in England, as midnight UTC (a DATE column), of a
// response received at at: one received at 00:30 BST on 1 April (23:30 UTC on 31
// March) was made on 1 April, the day the activity windows (activity_date <
// response_date) and the response month count from, as the providers' activity dates
// are days in England.
func responseDay(at time.Time) time.Time { return england.Day(at) }
