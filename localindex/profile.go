package localindex

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"icesurvey/disclosure"
	"icesurvey/estimate"
	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/profiles"
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
	Quotes        []string // redacted, suggested by the machine for a coder to confirm
	Verdict       string
	Actions       []profiles.Action
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
}

// SessionSummary is one session's record and how much of it was read.
type SessionSummary struct {
	profiles.Session
	Found         bool
	Contributions int
}

// GatherProfile reads a profile's evidence for one ICS of a wave: % positive on the
// statement's questions for the cohort, the ICS and England (unweighted, Wilson 95 %
// intervals, disclosure-checked), the themes coded in the cohort's survey comments
// (response_themes, final codes), and the themes the model finds in the profile's
// session notes in the ICS's free-text area (redacted first).
func GatherProfile(ctx context.Context, st store.Store, db *sql.DB, in ProfileReportInput) (*ProfileData, error) {
	p, err := profiles.Get(in.Profile)
	if err != nil {
		return nil, fault.Wrap(fault.BadInput, err)
	}
	if in.At.IsZero() {
		in.At = time.Now().UTC()
	}
	d := &ProfileData{Wave: in.Wave, ICS: in.ICS, Profile: p, At: in.At, Disclosure: disclosure.DefaultParams()}
	d.CohortSQL, err = p.Characteristics.Cohort.Where(profiles.SQLOptions{})
	if err != nil {
		return nil, fault.Wrap(fault.Configuration, fmt.Errorf("profile %s: %w", p.ID, err))
	}
	cb := themes.Default()

	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+d.CohortSQL.From+` WHERE s.wave_id = ? AND s.ics = ? AND `+d.CohortSQL.Where,
		in.Wave, in.ICS).Scan(&n); err != nil {
		return nil, fmt.Errorf("profile %s: count the cohort: %w", p.ID, err)
	}
	d.Cohort = Figure{Text: fmt.Sprint(n)}
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
	sessionCounts, quotes, err := d.sessionThemes(ctx, st, cb)
	if err != nil {
		return nil, err
	}
	d.SessionTotal, err = checkThemes(cb, "session notes, "+p.ID, sessionCounts, d.Disclosure)
	if err != nil {
		return nil, err
	}

	for _, e := range p.ExpectedCare {
		v := ExpectationView{Expectation: e, Verdict: "not yet recorded by the analyst (met, partly met or not met)"}
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
			if len(v.Quotes) < 2 && len(quotes[t]) > 0 {
				v.Quotes = append(v.Quotes, quotes[t][0])
				quotes[t] = quotes[t][1:]
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
	d.Limitations = append(d.Limitations, p.Warnings(in.At)...)
	for _, u := range d.CohortSQL.Unevaluated {
		d.Limitations = append(d.Limitations, "The cohort is wider than the profile's group: "+u+" is not applied until linked data exists.")
	}
	d.Limitations = append(d.Limitations,
		fmt.Sprintf("Small samples: percentages are unweighted, with 95%% Wilson intervals; a row with fewer than %d respondents and counts from 1 to %d are withheld (the publication's disclosure rules); rows under %d respondents are marked for caution.",
			d.Disclosure.MinBase, d.Disclosure.MinCount-1, d.Disclosure.CautionBase),
		"Themes in survey comments are the codes that stand: a coder's decision where one exists, else the classifier's suggestion. Themes in session notes are the classifier's suggestions until a coder has coded the notes; quotations are suggested by the machine for a coder to choose.",
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
// ICS's free-text area, after redaction, and keeps the shortest themed lines of each
// theme as candidate quotations.
func (d *ProfileData) sessionThemes(ctx context.Context, st store.Store, cb *themes.Codebook) (map[string][2]int64, map[string][]string, error) {
	counts := map[string][2]int64{}
	quotes := map[string][]string{}
	var model *themes.Model
	for _, s := range d.Profile.Sessions {
		d.Sessions = append(d.Sessions, SessionSummary{Session: s})
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
			d.Sessions = append(d.Sessions, SessionSummary{Session: profiles.Session{ID: id, TranscriptKey: profiles.TranscriptKey(d.Profile.ID, id),
				Notes: "notes found in the free-text area; not yet recorded in the profile"}})
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
			for _, sg := range model.Suggest(red) {
				c := counts[sg.Theme]
				if sg.Polarity == themes.Positive {
					c[1]++
				} else {
					c[0]++
				}
				counts[sg.Theme] = c
				if len(red) <= 160 {
					quotes[sg.Theme] = append(quotes[sg.Theme], red)
				}
			}
		}
	}
	for t := range quotes {
		q := quotes[t]
		sort.SliceStable(q, func(i, j int) bool { return len(q[i]) < len(q[j]) })
		quotes[t] = dedupe(q)
	}
	return counts, quotes, nil
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	out := s[:0]
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
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

// questionEvidence is % positive on one question for the cohort, the ICS and England
// (the wave's respondents of the cohort's respondent types), checked for disclosure.
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
	col := "CAST(r." + schemas.QuoteIdent(id) + " AS VARCHAR)"
	pos := quoteList(q.Positive)
	inBase := col + " IS NOT NULL"
	if len(q.Excluded) > 0 {
		inBase += " AND " + col + " NOT IN (" + quoteList(q.Excluded) + ")"
	}
	agg := fmt.Sprintf("count(*) FILTER (WHERE %s AND %s IN (%s)), count(*) FILTER (WHERE %s)", inBase, col, pos, inBase)
	types := "TRUE"
	if rt := d.Profile.Characteristics.Cohort.RespondentTypes; len(rt) > 0 {
		types = "r.respondent_type IN (" + quoteList(rt) + ")"
	}
	queries := []struct {
		label, sql string
		args       []any
	}{
		{"This profile's group in " + d.ICS, `SELECT ` + agg + ` FROM ` + d.CohortSQL.From + ` WHERE s.wave_id = ? AND s.ics = ? AND ` + d.CohortSQL.Where, []any{d.Wave, d.ICS}},
		{"Everyone in " + d.ICS, `SELECT ` + agg + ` FROM current_responses r WHERE r.wave = ? AND r.ics = ? AND ` + types, []any{d.Wave, d.ICS}},
		{"England (every ICS of the wave)", `SELECT ` + agg + ` FROM current_responses r WHERE r.wave = ? AND ` + types, []any{d.Wave}},
	}
	groups := []string{"1", "2", "3"}
	t := disclosure.Table{Name: d.Profile.ID + " " + id, Groups: groups, Categories: []string{"positive", "not positive"},
		Counts: make([][]int64, 3), PositiveCategories: []bool{true, false}, Unweighted: true, PositiveValues: make([][]float64, 3)}
	for i, qq := range queries {
		var posN, base int64
		if err := db.QueryRowContext(ctx, qq.sql, qq.args...).Scan(&posN, &base); err != nil {
			return nil, fmt.Errorf("profile %s question %s (%s): %w", d.Profile.ID, id, qq.label, err)
		}
		t.Counts[i] = []int64{posN, base - posN}
		pct, lo, hi := math.NaN(), math.NaN(), math.NaN()
		if base > 0 {
			pct = float64(posN) / float64(base)
			lo, hi = estimate.Wilson(pct, float64(base), 1.959964)
		}
		t.PositiveValues[i] = []float64{100 * pct, 100 * lo, 100 * hi}
	}
	checked, err := disclosure.Check(t, d.Disclosure)
	if err != nil {
		return nil, fmt.Errorf("disclosure check of %s: %w", t.Name, err)
	}
	ev := &QuestionEvidence{QuestionID: id, Text: q.Text}
	for k, qq := range queries {
		i, _ := checked.Row(groups[k])
		row := PctRow{Label: qq.label}
		rs := checked.RowStatus(i)
		if n, ok := checked.Base(i); ok {
			row.Base = Figure{Text: fmt.Sprint(n)}
		} else {
			row.Base = Figure{Text: fmt.Sprintf("fewer than %d", d.Disclosure.MinBase), Withheld: true}
		}
		row.Caution = rs == disclosure.Caution
		p, ok1 := checked.PositiveValue(i, 0)
		lo, ok2 := checked.PositiveValue(i, 1)
		hi, ok3 := checked.PositiveValue(i, 2)
		switch {
		case ok1 && !math.IsNaN(p):
			row.PctPos = Figure{Text: fmt.Sprintf("%.0f%%", p)}
			if ok2 && ok3 {
				row.Interval = Figure{Text: fmt.Sprintf("%.0f%% to %.0f%%", lo, hi)}
			}
		case ok1:
			row.PctPos = Figure{Text: "no answers", Withheld: true}
		default:
			row.PctPos = Figure{Text: "withheld (" + statusName(checked.PositiveStatus(i)) + ")", Withheld: true}
		}
		if row.Interval.Text == "" {
			row.Interval = Figure{Text: "—", Withheld: true}
		}
		ev.Rows = append(ev.Rows, row)
	}
	return ev, nil
}

func hasColumn(ctx context.Context, db *sql.DB, col string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'responses' AND column_name = ?`, col).Scan(&n)
	return n > 0, err
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
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
