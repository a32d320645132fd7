package localindex

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"icesurvey/disclosure"
	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/profiles"
	"icesurvey/publication"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/themes"
)

// ProfileReportInput asks for one profile's side-by-side report for one ICS of a wave.
type ProfileReportInput struct {
	Wave, ICS, Profile string
	At                 time.Time // the report's date: evidence older than three years at it is flagged
	PDF                bool      // also print the HTML to PDF in headless Chromium
}

// ProfileReportResult is where the report went and what it holds.
type ProfileReportResult struct {
	HTMLKey      string   `json:"html_key"`
	PDFKey       string   `json:"pdf_key,omitempty"`
	Expectations int      `json:"expectations"`
	Limitations  []string `json:"limitations"`
}

// Figure is a number as the report may show it: Text is the figure, or the
// disclosure status that withheld it.
type Figure struct {
	Text     string
	Withheld bool
}

// PctRow is one row of a question's evidence: the cohort, the ICS or England.
type PctRow struct {
	Label      string
	Base       Figure
	PctPos     Figure
	Interval   Figure
	Caution    bool
	StatusNote string
}

// QuestionEvidence is one closed question's % positive for the cohort, the ICS and
// England.
type QuestionEvidence struct {
	QuestionID string
	Text       string
	Rows       []PctRow
}

// ThemeCount is one theme's count of comments or session contributions, by polarity,
// after disclosure control.
type ThemeCount struct {
	Theme, Name        string
	Negative, Positive Figure
}

// ExpectationView is one expected-care statement with its evidence side by side.
type ExpectationView struct {
	profiles.Expectation
	Survey        []QuestionEvidence
	SurveyThemes  []ThemeCount
	SessionThemes []ThemeCount
	// Quotes are the quotations a coder chose for this statement (redacted).
	Quotes []ChosenQuote
	// Verdict is the analyst's latest verdict; nil when none is recorded yet.
	Verdict *Verdict
	Actions []profiles.Action
}

// ProfileData is everything the report shows, gathered from the warehouse and the
// free-text area; every count in it has passed disclosure control.
type ProfileData struct {
	Wave, ICS    string
	Profile      *profiles.Profile
	At           time.Time
	CohortSQL    profiles.SQL
	Cohort       Figure // respondents in the cohort in this ICS
	Expectations []ExpectationView
	SurveyThemes []ThemeCount // every theme, the cohort's survey comments
	Sessions     []SessionSummary
	SessionTotal []ThemeCount
	Limitations  []string
	Disclosure   disclosure.Params
	// Release is the published release the ICS and England rows are read from: the
	// wave's latest published release that has figures for the ICS; "" when none has.
	Release string
	// ReleaseICSs are the ICSs with figures in Release, and ReleaseLeftOut its ICSs
	// without (left out, or without respondents): England in a release is the
	// aggregate of its ICSs with figures, so a release that leaves ICSs out has an
	// England of fewer than all of them (empty when the release does not record them).
	ReleaseICSs, ReleaseLeftOut []string
	// ReleasesWithout are the published releases, later than Release (all of them
	// when Release is ""), that have no figures for the ICS, newest first.
	ReleasesWithout []string
	// Candidates counts the quotations the machine proposes for a coder to choose.
	Candidates int
	// Params are the release's parameters the cohort's figures are computed with.
	Params  publication.Params
	weights *publication.Weights
	cohortN int64 // the group's respondents in the ICS (Cohort before disclosure control)
}

// SessionSummary is one session's record and how much of it was read.
type SessionSummary struct {
	profiles.Session
	// RecordedIn says where the session's record (method, date, participants,
	// consent) comes from: RecordedInProfile, RecordedBeside, or "" when its notes
	// were found without a record (the record's fields are then unknown).
	RecordedIn    string
	Found         bool
	Contributions int
}

// Where a session's record comes from.
const (
	RecordedInProfile = "the profile's definition"
	RecordedBeside    = "its session record beside the notes"
)

// Recorded reports whether the session's method, date, participants and consent are
// known.
func (s SessionSummary) Recorded() bool { return s.RecordedIn != "" }

// GatherProfile reads a profile's evidence for one ICS of a wave: % positive on the
// statement's questions for the ICS and England as published (the wave's latest
// published release, published_results) and for the cohort computed by the release's
// method (its weights, Wilson interval on the effective base, its small-number rule:
// package publication), the themes coded in the cohort's survey comments
// (response_themes, final codes), the themes the model finds in the profile's session
// notes in the ICS's free-text area (redacted first), the quotations a coder chose and
// the analyst's verdicts.
func GatherProfile(ctx context.Context, st store.Store, db *sql.DB, in ProfileReportInput) (*ProfileData, error) {
	p, err := profiles.Lookup(ctx, st, in.Profile)
	if err != nil {
		return nil, err
	}
	if in.At.IsZero() {
		in.At = time.Now().UTC()
	}
	params := publication.DefaultParams()
	d := &ProfileData{Wave: in.Wave, ICS: in.ICS, Profile: p, At: in.At, Disclosure: params.Disclosure, Params: params}
	d.CohortSQL, err = p.Characteristics.Cohort.Where(profiles.SQLOptions{})
	if err != nil {
		return nil, fault.Wrap(fault.Configuration, fmt.Errorf("profile %s: %w", p.ID, err))
	}
	cb := themes.Default()
	// The release first: its parameters are the ones the figures are computed and
	// described with.
	if err := d.choosePublishedRelease(ctx, db); err != nil {
		return nil, err
	}

	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+d.CohortSQL.From+` WHERE s.wave_id = ? AND s.ics = ? AND `+d.CohortSQL.Where,
		in.Wave, in.ICS).Scan(&n); err != nil {
		return nil, fmt.Errorf("profile %s: count the cohort: %w", p.ID, err)
	}
	d.Cohort, d.cohortN = Figure{Text: fmt.Sprint(n)}, n
	if n > 0 && n < int64(d.Disclosure.MinBase) {
		d.Cohort = Figure{Text: fmt.Sprintf("fewer than %d", d.Disclosure.MinBase), Withheld: true}
	}

	surveyCounts, err := d.surveyThemes(ctx, db)
	if err != nil {
		return nil, err
	}
	d.SurveyThemes, err = checkThemes(cb, "survey comments, "+p.ID, surveyCounts, d.Disclosure)
	if err != nil {
		return nil, err
	}
	sessionCounts, candidates, err := d.sessionThemes(ctx, st)
	if err != nil {
		return nil, err
	}
	d.Candidates = len(candidates)
	chosen, err := ChosenQuotes(ctx, st, in.Wave, in.ICS, p.ID)
	if err != nil {
		return nil, err
	}
	verdicts, err := LatestVerdicts(ctx, st, in.Wave, in.ICS, p.ID)
	if err != nil {
		return nil, err
	}
	d.SessionTotal, err = checkThemes(cb, "session notes, "+p.ID, sessionCounts, d.Disclosure)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(d.Sessions, func(s SessionSummary) bool { return s.Found }) {
		// Nothing to count, so nothing withheld: the cells say there is no session
		// (disclosure control would mark the empty rows "base too small").
		none := Figure{Text: "no sessions"}
		if len(d.Sessions) > 0 {
			none.Text = "no session notes"
		}
		for i := range d.SessionTotal {
			d.SessionTotal[i].Negative, d.SessionTotal[i].Positive = none, none
		}
	}

	// A quotation chosen from a session whose consent is no longer on record (its
	// record changed since) is not shown: the methodology uses only such sessions.
	unusable := map[string]bool{}
	for _, s := range d.Sessions {
		if !s.Recorded() || !s.ConsentRecorded {
			unusable["session "+s.ID] = true
		}
	}
	var dropped int
	for id, qs := range chosen {
		kept := qs[:0:0]
		for _, q := range qs {
			if unusable[q.Source] {
				dropped++
				continue
			}
			kept = append(kept, q)
		}
		chosen[id] = kept
	}
	if dropped > 0 {
		d.Limitations = append(d.Limitations, fmt.Sprintf("%s chosen from sessions whose consent is not on record %s not shown.",
			plural(dropped, "quotation", "quotations"), map[bool]string{true: "is", false: "are"}[dropped == 1]))
	}
	for _, e := range p.ExpectedCare {
		v := ExpectationView{Expectation: e, Quotes: chosen[e.ID]}
		if vd, ok := verdicts[e.ID]; ok {
			v.Verdict = &vd
		}
		for _, q := range e.Questions {
			ev, err := d.questionEvidence(ctx, db, q)
			if err != nil {
				return nil, err
			}
			if ev != nil {
				v.Survey = append(v.Survey, *ev)
			}
		}
		for _, t := range e.Themes {
			for _, c := range d.SurveyThemes {
				if c.Theme == t {
					v.SurveyThemes = append(v.SurveyThemes, c)
				}
			}
			for _, c := range d.SessionTotal {
				if c.Theme == t {
					v.SessionThemes = append(v.SessionThemes, c)
				}
			}
		}
		for _, a := range p.ActionPlan {
			for _, id := range a.Addresses {
				if id == e.ID {
					v.Actions = append(v.Actions, a)
				}
			}
		}
		d.Expectations = append(d.Expectations, v)
	}

	d.Limitations = append(d.Limitations, p.Limitations...)
	d.Limitations = append(d.Limitations, d.sessionWarnings(p.Warnings(in.At))...)
	for _, u := range d.CohortSQL.Unevaluated {
		// Not "until linked data exists": a linkage release changes nothing here. Its
		// outputs are keyed by release pseudonyms, which join to no survey response.
		d.Limitations = append(d.Limitations, "The cohort is wider than the profile's group: "+u+" are not applied. "+
			"Linked health and care data is keyed by release pseudonyms, which by design cannot be joined to survey responses, "+
			"so the cohort takes in respondents with and without them (the linkage release's own outputs compare answers by condition).")
	}
	d.Limitations = append(d.Limitations,
		d.releaseLimitation(),
		fmt.Sprintf("Small samples: the group's percentages are weighted as the publication weights patients (bounded raking to each ICS's sample frame; carers unweighted), with %s%% Wilson intervals on the effective sample size, which is smaller than the number of respondents when weights vary; a row with fewer than %d respondents and counts from 1 to %d are withheld with the counts that would reveal them (the publication's disclosure rules); rows under %d respondents are marked for caution.",
			d.ConfidencePercent(), d.Disclosure.MinBase, d.Disclosure.MinCount-1, d.Disclosure.CautionBase),
		"The group's figure is not published by the release: its weights make the ICS's respondents match the ICS's sample frame by age band, gender and frailty, not the group's own population, so it describes the group's respondents, weighted, rather than everyone in the group.",
		"Themes in survey comments are the codes that stand: a coder's decision where one exists, else the classifier's suggestion. Themes in session notes are the classifier's suggestions until a coder has coded the notes. Quotations are chosen by a named coder from the machine's redacted candidates; a statement without a chosen quotation says so.",
		"Qualitative saturation is not established by these counts: a theme not heard may not have been asked about.")
	found := 0
	for _, s := range d.Sessions {
		if s.Found {
			found++
		}
	}
	if len(d.Sessions) > 0 && found < len(d.Sessions) {
		d.Limitations = append(d.Limitations, fmt.Sprintf("Only %d of the profile's %d sessions have notes in the free-text area of %s.", found, len(d.Sessions), in.ICS))
	}
	return d, nil
}

// sessionWarnings are the profile's warnings as the sessions found bear them out: a
// profile whose definition lists no session, but whose notes were found and read, is
// not said to have none; the sessions read without being in the definition are named,
// with those whose record (or consent) is missing.
func (d *ProfileData) sessionWarnings(warnings []string) []string {
	var beside, unrecorded, noConsent []string
	for _, s := range d.Sessions {
		if !s.Found {
			continue
		}
		switch s.RecordedIn {
		case RecordedBeside:
			beside = append(beside, s.ID)
		case "":
			unrecorded = append(unrecorded, s.ID)
		}
		if s.Recorded() && !s.ConsentRecorded {
			noConsent = append(noConsent, s.ID)
		}
	}
	out := make([]string, 0, len(warnings)+3)
	for _, w := range warnings {
		if w == profiles.WarnNoSessions && len(beside)+len(unrecorded) > 0 {
			continue
		}
		out = append(out, w)
	}
	if n := len(beside) + len(unrecorded); n > 0 {
		out = append(out, fmt.Sprintf("%s read from the free-text area %s not in the profile's definition, so not checked against the methodology (5 to 8 people in a focus group, recorded consent): %s.",
			plural(n, "session's notes", "sessions' notes"), map[bool]string{true: "is", false: "are"}[n == 1], strings.Join(append(slices.Clone(beside), unrecorded...), ", ")))
	}
	if len(unrecorded) > 0 {
		out = append(out, "No session record (method, date, participants, consent) was found beside the notes of "+strings.Join(unrecorded, ", ")+
			": the sessions table says not recorded, and the notes were not used (no theme counted, no quotation offered), as consent is not on record.")
	}
	if len(noConsent) > 0 {
		out = append(out, "Consent is not recorded for "+strings.Join(noConsent, ", ")+
			": the methodology uses only sessions with recorded consent, so their notes were not used (no theme counted, no quotation offered).")
	}
	return out
}

// plural is n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (d *ProfileData) surveyThemes(ctx context.Context, db *sql.DB) (map[string][2]int64, error) {
	out := map[string][2]int64{}
	rows, err := db.QueryContext(ctx, `SELECT t.theme, t.polarity, count(DISTINCT t.response_id || '/' || t.question_id)
FROM `+d.CohortSQL.From+` JOIN response_themes t ON t.response_id = r.response_id AND t.wave = r.wave AND t.ics = r.ics
WHERE t.final AND s.wave_id = ? AND s.ics = ? AND `+d.CohortSQL.Where+`
GROUP BY ALL`, d.Wave, d.ICS)
	if err != nil {
		return nil, fmt.Errorf("profile %s: survey themes: %w", d.Profile.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var theme, pol string
		var n int64
		if err := rows.Scan(&theme, &pol, &n); err != nil {
			return nil, err
		}
		c := out[theme]
		if pol == string(themes.Positive) {
			c[1] += n
		} else {
			c[0] += n
		}
		out[theme] = c
	}
	return out, rows.Err()
}

// sessionThemes scores each participant's line of the profile's session notes in the
// ICS's free-text area, after redaction, and keeps the short themed lines as
// candidate quotations for a coder to choose, shortest first.
func (d *ProfileData) sessionThemes(ctx context.Context, st store.Store) (map[string][2]int64, []Candidate, error) {
	counts := map[string][2]int64{}
	var cands []Candidate
	seen := map[string]bool{}
	var model *themes.Model
	for _, s := range d.Profile.Sessions {
		d.Sessions = append(d.Sessions, SessionSummary{Session: s, RecordedIn: RecordedInProfile})
	}
	key := func(s profiles.Session) string {
		k := s.TranscriptKey
		if k == "" {
			k = profiles.TranscriptKey(d.Profile.ID, s.ID)
		}
		return schemas.FreeTextRoot(d.Wave, d.ICS) + k
	}
	// Sessions written by `ice synth sessions` for this wave and ICS that the profile
	// file does not list yet are read too.
	infos, err := st.List(ctx, schemas.FreeTextRoot(d.Wave, d.ICS)+strings.TrimSuffix(profiles.TranscriptKey(d.Profile.ID, ""), ".txt"))
	if err != nil {
		return nil, nil, err
	}
	listed := map[string]bool{}
	for _, s := range d.Sessions {
		listed[key(s.Session)] = true
	}
	for _, inf := range infos {
		if !listed[inf.Key] && strings.HasSuffix(inf.Key, ".txt") {
			id := strings.TrimSuffix(inf.Key[strings.LastIndex(inf.Key, "/")+1:], ".txt")
			sum := SessionSummary{Session: profiles.Session{ID: id, TranscriptKey: profiles.TranscriptKey(d.Profile.ID, id)}}
			// Its record, as `ice synth sessions` (or the analyst) wrote it beside the
			// notes: the report shows what it says of the session.
			recKey := schemas.FreeTextRoot(d.Wave, d.ICS) + profiles.SessionRecordKey(d.Profile.ID, id)
			if b, err := store.ReadAll(ctx, st, recKey); err == nil {
				rec, err := profiles.ParseSessionRecord(b)
				if err != nil {
					return nil, nil, fault.Wrap(fault.BadInput, fmt.Errorf("session record %s: %w", recKey, err))
				}
				rec.ID, rec.TranscriptKey = id, sum.TranscriptKey
				sum.Session, sum.RecordedIn = rec, RecordedBeside
			} else if !errors.Is(err, store.ErrNotExist) {
				return nil, nil, fmt.Errorf("session record %s: %w", recKey, err)
			}
			d.Sessions = append(d.Sessions, sum)
		}
	}
	r := freetext.Default()
	for i := range d.Sessions {
		s := &d.Sessions[i]
		b, err := store.ReadAll(ctx, st, key(s.Session))
		if err != nil {
			continue // no notes yet: said in the limitations
		}
		s.Found = true
		if !s.Recorded() || !s.ConsentRecorded {
			// The methodology uses only sessions whose participants' consent is on
			// record: notes without it are neither counted nor offered for quotation
			// (the sessions table and the limitations say so).
			continue
		}
		if model == nil {
			if model, err = loadModel(ctx, st, d.Wave, d.ICS); err != nil {
				return nil, nil, err
			}
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			speaker, text, ok := strings.Cut(sc.Text(), ": ")
			if !ok || speaker == "Facilitator" || !strings.HasPrefix(speaker, "P") {
				continue
			}
			s.Contributions++
			red := r.Redact(text).Text
			var th []string
			for _, sg := range model.Suggest(red) {
				c := counts[sg.Theme]
				if sg.Polarity == themes.Positive {
					c[1]++
				} else {
					c[0]++
				}
				counts[sg.Theme] = c
				th = append(th, sg.Theme)
			}
			source := "session " + s.ID
			id := candidateID(source, red)
			if len(th) == 0 || len(red) > maxQuoteLen || seen[id] {
				continue
			}
			seen[id] = true
			c := Candidate{ID: id, Source: source, Text: red, Themes: th}
			for _, e := range d.Profile.ExpectedCare {
				if slices.ContainsFunc(e.Themes, func(t string) bool { return slices.Contains(th, t) }) {
					c.Expectations = append(c.Expectations, e.ID)
				}
			}
			cands = append(cands, c)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return len(cands[i].Text) < len(cands[j].Text) })
	return counts, cands, nil
}

// loadModel reads the model the ICS's last coding run used, or trains the baseline
// when the ICS has not been coded.
func loadModel(ctx context.Context, st store.Store, wave, ics string) (*themes.Model, error) {
	b, err := store.ReadAll(ctx, st, schemas.ThemeModelKey(wave, ics))
	if err == nil {
		return themes.DecodeModel(bytes.NewReader(b))
	}
	base, err := themes.TrainBaseline(nil)
	if err != nil {
		return nil, err
	}
	return base.Model, nil
}

func checkThemes(cb *themes.Codebook, name string, counts map[string][2]int64, p disclosure.Params) ([]ThemeCount, error) {
	ids := cb.ThemeIDs()
	t := disclosure.Table{Name: name, Groups: ids, Categories: []string{"negative", "positive"}, Counts: make([][]int64, len(ids))}
	for i, id := range ids {
		c := counts[id]
		t.Counts[i] = []int64{c[0], c[1]}
	}
	checked, err := disclosure.Check(t, p)
	if err != nil {
		return nil, fmt.Errorf("disclosure check of %s: %w", name, err)
	}
	out := make([]ThemeCount, 0, len(ids))
	for _, id := range ids {
		th, _ := cb.Theme(id)
		i, _ := checked.Row(id)
		tc := ThemeCount{Theme: id, Name: th.Name}
		tc.Negative = countFigure(checked, i, 0)
		tc.Positive = countFigure(checked, i, 1)
		out = append(out, tc)
	}
	return out, nil
}

func countFigure(c *disclosure.Checked, i, j int) Figure {
	if n, ok := c.Count(i, j); ok {
		return Figure{Text: fmt.Sprint(n)}
	}
	st := c.CellStatus(i, j)
	if rs := c.RowStatus(i); rs.Withheld() {
		st = rs
	}
	return Figure{Text: "withheld (" + statusName(st) + ")", Withheld: true}
}

func statusName(s disclosure.Status) string {
	switch s {
	case disclosure.BaseTooSmall:
		return "base too small"
	case disclosure.Primary:
		return "small count"
	case disclosure.Secondary:
		return "secondary"
	}
	return "withheld"
}

// question finds a closed, scored question in the catalogue's questionnaires.
func question(id string) (*questionnaire.Question, error) {
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, err
	}
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			continue
		}
		if q, ok := qn.Question(id); ok {
			return q, nil
		}
	}
	for _, q := range cat.Bank() {
		if q.ID == id {
			return &q, nil
		}
	}
	return nil, fmt.Errorf("question %s is not in the questionnaire catalogue", id)
}

// questionEvidence is % positive on one question for the cohort (computed by the
// release's method), and for the ICS and England as the wave's published release
// has them (the cohort's respondent type, the whole ICS and England rows).
func (d *ProfileData) questionEvidence(ctx context.Context, db *sql.DB, id string) (*QuestionEvidence, error) {
	q, err := question(id)
	if err != nil {
		return nil, fault.Wrap(fault.Configuration, fmt.Errorf("profile %s: %w", d.Profile.ID, err))
	}
	if !q.Scored() || q.Kind != questionnaire.Single {
		return nil, nil
	}
	if ok, err := hasColumn(ctx, db, id); err != nil || !ok {
		return nil, err // a question no response of this warehouse answers
	}
	ev := &QuestionEvidence{QuestionID: id, Text: q.Text}
	row, err := d.cohortRow(ctx, db, q)
	if err != nil {
		return nil, err
	}
	ev.Rows = append(ev.Rows, row)
	rows, err := d.publishedRows(ctx, db, id)
	if err != nil {
		return nil, err
	}
	ev.Rows = append(ev.Rows, rows...)
	return ev, nil
}

// cohortRow computes the cohort's % positive on q with the release's weights,
// interval and small-number rule (publication.ReadWeights, publication.EstimateGroup).
// A patient response the release does not weight (not the first complete
// questionnaire of its survey record, or its ICS not weighted) is left out, as the
// release leaves it out; carers count with weight 1, as the release counts them.
func (d *ProfileData) cohortRow(ctx context.Context, db *sql.DB, q *questionnaire.Question) (PctRow, error) {
	row := PctRow{Label: "This profile's group in " + d.ICS + " (weighted as the publication weights)"}
	// An empty group needs no weights: a wave with free text and sessions but no
	// survey responses in the warehouse still gets its report, saying so.
	if d.weights == nil && d.cohortN > 0 {
		w, err := publication.ReadWeights(ctx, db, d.Wave, d.Params)
		if err != nil {
			return row, fmt.Errorf("profile %s: the publication's weights of %s: %w", d.Profile.ID, d.Wave, err)
		}
		d.weights = w
	}
	rows, err := db.QueryContext(ctx, `SELECT r.response_id, r.respondent_type, CAST(r.`+schemas.QuoteIdent(q.ID)+` AS VARCHAR) FROM `+d.CohortSQL.From+
		` WHERE s.wave_id = ? AND s.ics = ? AND r.complete AND `+d.CohortSQL.Where+` ORDER BY r.response_id`, d.Wave, d.ICS)
	if err != nil {
		return row, fmt.Errorf("profile %s question %s: the group's answers: %w", d.Profile.ID, q.ID, err)
	}
	defer rows.Close()
	var answers []string
	var weights []float64
	for rows.Next() {
		var rid, typ string
		var a sql.NullString
		if err := rows.Scan(&rid, &typ, &a); err != nil {
			return row, err
		}
		w := 1.0
		if typ == questionnaire.Patient {
			var ok bool
			if w, ok = d.weights.Weight(rid); !ok {
				continue
			}
		}
		answers = append(answers, a.String)
		weights = append(weights, w)
	}
	if err := rows.Err(); err != nil {
		return row, err
	}
	checked, err := publication.EstimateGroup(q, d.Profile.ID+" in "+d.ICS, answers, weights, d.Params)
	if err != nil {
		return row, err
	}
	if n, ok := checked.Base(0); ok {
		row.Base = Figure{Text: fmt.Sprint(n)}
	} else {
		row.Base = Figure{Text: fmt.Sprintf("fewer than %d", d.Disclosure.MinBase), Withheld: true}
	}
	row.Caution = checked.RowStatus(0) == disclosure.Caution
	p, ok1 := checked.PositiveValue(0, 0)
	lo, ok2 := checked.PositiveValue(0, 1)
	hi, ok3 := checked.PositiveValue(0, 2)
	switch {
	case ok1 && !math.IsNaN(p):
		row.PctPos = Figure{Text: pct(100 * p)}
		if ok2 && ok3 {
			row.Interval = Figure{Text: pct(100*lo) + " to " + pct(100*hi)}
		}
	case ok1:
		row.PctPos = Figure{Text: "no answers", Withheld: true}
	default:
		row.PctPos = Figure{Text: "withheld (" + statusName(checked.PositiveStatus(0)) + ")", Withheld: true}
	}
	if row.Interval.Text == "" {
		row.Interval = Figure{Text: "—", Withheld: true}
	}
	return row, nil
}

// pct formats a percentage as the release formats it: one decimal place.
func pct(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) + "%" }

// choosePublishedRelease sets the release the ICS and England rows come from: the
// wave's latest published release with figures for the ICS (rows of the ICS in
// published_results). A later release that leaves the ICS out (built with it
// excluded, or without its respondents) is passed over, and named in the
// limitations: its rows would say nothing of the ICS, though an earlier release has
// them.
func (d *ProfileData) choosePublishedRelease(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT r.release_id, r.icss_published, r.icss_not_published, r.parameters,
	EXISTS (SELECT 1 FROM published_results p WHERE p.release_id = r.release_id AND p.wave_id = r.wave_id AND p.geography_level = ? AND p.ics = ?)
FROM releases r WHERE r.wave_id = ? AND r.status = 'published'
ORDER BY r.approved_at DESC NULLS LAST, r.release_id DESC`, publication.GeographyICS, d.ICS, d.Wave)
	if err != nil {
		return fmt.Errorf("the published releases of %s: %w", d.Wave, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, pub, notPub string
		var params sql.NullString
		var has bool
		if err := rows.Scan(&id, &pub, &notPub, &params, &has); err != nil {
			return fmt.Errorf("the published releases of %s: %w", d.Wave, err)
		}
		if !has {
			d.ReleasesWithout = append(d.ReleasesWithout, id)
			continue
		}
		d.Release, d.ReleaseICSs, d.ReleaseLeftOut = id, splitList(pub), splitList(notPub)
		if params.Valid {
			if err := d.useReleaseParams(id, params.String); err != nil {
				return err
			}
		}
		break
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("the published releases of %s: %w", d.Wave, err)
	}
	return nil
}

// useReleaseParams takes the release's parameters (its releases row's, as its
// metadata lists them) for the cohort's figures, so they are computed as the release's
// rows beside them were and the report states the release's confidence level. The
// small-number rule is the stricter of the release's and the defaults', threshold by
// threshold: the report also shows theme counts of free text, and a release drafted
// with a smaller minimum base does not make the local index show smaller numbers.
func (d *ProfileData) useReleaseParams(release, list string) error {
	p, err := publication.ParamsOfJSON(list)
	if err != nil {
		return fmt.Errorf("release %s of %s: %w", release, d.Wave, err)
	}
	def := publication.DefaultParams().Disclosure
	p.Disclosure.MinBase = max(p.Disclosure.MinBase, def.MinBase)
	p.Disclosure.CautionBase = max(p.Disclosure.CautionBase, def.CautionBase, p.Disclosure.MinBase)
	p.Disclosure.MinCount = max(p.Disclosure.MinCount, def.MinCount)
	if err := p.Validate(); err != nil {
		return fmt.Errorf("release %s of %s: %w", release, d.Wave, err)
	}
	d.Params, d.Disclosure = p, p.Disclosure
	return nil
}

// ConfidencePercent is the intervals' confidence level as a percentage ("95").
func (d *ProfileData) ConfidencePercent() string {
	return publication.Percent(d.Params.Estimate.Confidence)
}

// splitList splits a release's list of ICSs joined by ";".
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ";")
}

// englandLabel is the England row's label: a release that leaves ICSs out publishes
// England as the aggregate of its other ICSs, and the label says which.
func (d *ProfileData) englandLabel() string {
	l := "England (as published, release " + d.Release
	if len(d.ReleaseLeftOut) > 0 && len(d.ReleaseICSs) > 0 {
		l += ": its ICSs with figures, " + strings.Join(d.ReleaseICSs, ", ") + ", not " + strings.Join(d.ReleaseLeftOut, ", ")
	}
	return l + ")"
}

// publishedRows are the ICS's and England's rows for question id as the release
// published them (figures NULL where withheld, with their status), or rows saying
// there is no published release yet.
func (d *ProfileData) publishedRows(ctx context.Context, db *sql.DB, id string) ([]PctRow, error) {
	typ := questionnaire.Patient
	if rt := d.Profile.Characteristics.Cohort.RespondentTypes; len(rt) == 1 {
		typ = rt[0]
	}
	labels := []string{"Everyone in " + d.ICS, "England"}
	if d.Release == "" {
		text := "no published release yet"
		if len(d.ReleasesWithout) > 0 {
			text = "no published release has " + d.ICS
		}
		out := make([]PctRow, len(labels))
		for i, l := range labels {
			none := Figure{Text: text, Withheld: true}
			out[i] = PctRow{Label: l + " (as published)", Base: none, PctPos: none, Interval: Figure{Text: "—", Withheld: true}}
		}
		return out, nil
	}
	labels = []string{"Everyone in " + d.ICS + " (as published, release " + d.Release + ")", d.englandLabel()}
	var out []PctRow
	for i, geo := range []string{publication.GeographyICS, publication.GeographyEngland} {
		ics := d.ICS
		if geo == publication.GeographyEngland {
			ics = ""
		}
		row := PctRow{Label: labels[i]}
		var base sql.NullInt64
		var p, lo, hi sql.NullFloat64
		var status string
		err := db.QueryRowContext(ctx, `SELECT base_unweighted, pct_positive, ci_lower, ci_upper, status FROM published_results
WHERE release_id = ? AND wave_id = ? AND geography_level = ? AND ics = ? AND group_variable = ? AND respondent_type = ? AND question_id = ?`,
			d.Release, d.Wave, geo, ics, publication.GroupAll, typ, id).Scan(&base, &p, &lo, &hi, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			none := Figure{Text: "not in the release", Withheld: true}
			row.Base, row.PctPos, row.Interval = none, none, Figure{Text: "—", Withheld: true}
			out = append(out, row)
			continue
		case err != nil:
			return nil, fmt.Errorf("profile %s question %s: published figures of release %s: %w", d.Profile.ID, id, d.Release, err)
		}
		row.Base = Figure{Text: "not published", Withheld: true}
		if base.Valid {
			row.Base = Figure{Text: fmt.Sprint(base.Int64)}
		} else if status == "B" {
			row.Base = Figure{Text: fmt.Sprintf("fewer than %d", d.Disclosure.MinBase), Withheld: true}
		}
		row.Caution = status == "L"
		row.PctPos = Figure{Text: "withheld (" + publishedStatus(status) + ")", Withheld: true}
		row.Interval = Figure{Text: "—", Withheld: true}
		if p.Valid && !slices.Contains([]string{"B", "P", "S"}, status) {
			row.PctPos = Figure{Text: pct(p.Float64)}
			if lo.Valid && hi.Valid {
				row.Interval = Figure{Text: pct(lo.Float64) + " to " + pct(hi.Float64)}
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func publishedStatus(s string) string {
	switch s {
	case "B":
		return "base too small"
	case "P":
		return "small count"
	case "S":
		return "secondary"
	}
	return "not published"
}

// releaseLimitation says where the ICS and England figures come from.
func (d *ProfileData) releaseLimitation() string {
	without := ""
	if n := len(d.ReleasesWithout); n > 0 {
		verb := "leaves"
		if n > 1 {
			verb = "leave"
		}
		without = " (published release " + strings.Join(d.ReleasesWithout, ", ") + " " + verb + " " + d.ICS + " out)"
	}
	if d.Release == "" {
		if without != "" {
			return "The ICS's and England's figures are shown as published; no published release of wave " + d.Wave + " has figures for " + d.ICS + without + ", so none are shown."
		}
		return "The ICS's and England's figures are shown as published; wave " + d.Wave + " has no published release yet, so none are shown."
	}
	s := "The ICS's and England's figures are release " + d.Release + "'s, as published (withheld figures stay withheld): the latest published release of wave " + d.Wave + " with figures for " + d.ICS + without + "."
	if len(d.ReleaseLeftOut) > 0 && len(d.ReleaseICSs) > 0 {
		s += " Its England is the aggregate of the ICSs it publishes (" + strings.Join(d.ReleaseICSs, ", ") + "), not of " + strings.Join(d.ReleaseLeftOut, ", ") + ", which it leaves out."
	}
	return s + " The group's are computed here on the same method from the warehouse as it is now, which may hold responses the release did not."
}

func hasColumn(ctx context.Context, db *sql.DB, col string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'responses' AND column_name = ?`, col).Scan(&n)
	return n > 0, err
}

// ThemeCounts is, for the dashboard's theme pages, the comments of one ICS of a wave
// whose standing codes (response_themes, final) include each theme, by polarity and
// respondent type ("patient", "carer"), after the publication's disclosure rules.
func ThemeCounts(ctx context.Context, db *sql.DB, wave, ics, respondentType string) ([]ThemeCount, error) {
	rows, err := db.QueryContext(ctx, `SELECT theme, polarity, count(DISTINCT response_id || '/' || question_id)
FROM response_themes WHERE final AND wave = ? AND ics = ? AND respondent_type = ? GROUP BY ALL`, wave, ics, respondentType)
	if err != nil {
		return nil, fmt.Errorf("theme counts of %s %s: %w", wave, ics, err)
	}
	defer rows.Close()
	counts := map[string][2]int64{}
	for rows.Next() {
		var theme, pol string
		var n int64
		if err := rows.Scan(&theme, &pol, &n); err != nil {
			return nil, err
		}
		c := counts[theme]
		if pol == string(themes.Positive) {
			c[1] += n
		} else {
			c[0] += n
		}
		counts[theme] = c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return checkThemes(themes.Default(), fmt.Sprintf("themes of %s %s %s comments", wave, ics, respondentType), counts, disclosure.DefaultParams())
}
