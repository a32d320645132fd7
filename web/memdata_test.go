package web

import (
	"context"
	"fmt"
	"sync"
	"time"

	"icesurvey/freetext"
)

// memData is a small in-memory implementation of the data interfaces, for tests only.
// It holds already disclosure-checked values, as the release would: withheld measures
// carry Status "B" — and, to prove the pages never read them, a tell-tale number
// (0.4321) that must never be shown.
type memData struct {
	asOf  time.Time
	newer bool
}

var memWave = Wave{ID: "W1", Name: "Phase 1, spring 2027", ICSs: []ICS{{"QMM", "Norfolk and Waveney"}, {"QJK", "Devon"}}}

const leakedValue = 0.4321 // "43.2%" must appear nowhere

func (m memData) DataStatus(context.Context) (DataStatus, error) {
	s := DataStatus{AsOf: m.asOf, LoadDate: m.asOf.AddDate(0, 0, -1).Format("2006-01-02")}
	if m.newer {
		s.Newer, s.NewerAsOf = true, m.asOf.Add(24*time.Hour)
	}
	return s, nil
}

func (memData) Waves(context.Context) ([]Wave, error) { return []Wave{memWave}, nil }

func (memData) Progress(_ context.Context, wave string) ([]ICSProgress, error) {
	if wave != "W1" {
		return nil, fmt.Errorf("no wave %s", wave)
	}
	return []ICSProgress{
		{ICS: memWave.ICSs[0], Stage: "fieldwork", FieldworkDay: 30, Sampled: 4000, Groups: [3]int{1240, 140, 2620}, Rate: 1240.0 / 3860},
		{ICS: memWave.ICSs[1], Stage: "fieldwork", FieldworkDay: 30, Sampled: 4100, Groups: [3]int{1100, 140, 2860}, Rate: 1100.0 / 3960},
	}, nil
}

func (memData) ResponseByDay(_ context.Context, wave, ics string) (DailyResponse, error) {
	d := DailyResponse{Mailings: []Mailing{{0, "Invitation letter"}, {14, "Reminder letter 1"}, {28, "Reminder letter 2 with paper questionnaire"}}}
	final := 0.31
	if ics == "QJK" {
		final = 0.268
	}
	for day := 0; day <= 30; day += 2 {
		d.Days = append(d.Days, DayRate{Day: day, Rate: final * float64(day) / 30})
	}
	return d, nil
}

func (memData) Themes(context.Context, string) ([]Theme, error) {
	both := []string{RespondentPatient, RespondentCarer}
	return []Theme{{"care-administration", "Care administration", true, both}, {"care-integration", "Care integration", true, both},
		{"coordination", "Continuity and coordination of care", false, both}}, nil
}

var memQuestions = []struct{ id, text string }{
	{"P_ACCESS_EASE", "Ease of getting through to the GP practice"},
	{"P_WHO_TO_CONTACT", "Knew who to contact about their care"},
	{"P_RECORDS_SHARED", "Professionals had the information they needed"},
}

func (memData) Measures(_ context.Context, q Query) (MeasureSet, error) {
	set := MeasureSet{ReleaseID: "R-W1-1", Weighted: q.RespondentType == RespondentPatient,
		Method: "Weighted % positive (bounded raking to the sample frame), 95% Wilson intervals on the effective sample size, compared with England excluding the ICS; small-number suppression (PUBLICATION.md)."}
	if q.RespondentType == RespondentCarer && q.Breakdown == BreakdownEthnicity {
		return MeasureSet{}, fmt.Errorf("carers by ethnicity in %s: %w", q.ICS, ErrTooFewResponses)
	}
	// Figures checked with a minimum base other than 10.
	if q.RespondentType == RespondentCarer && q.Breakdown == BreakdownEFIBand {
		return MeasureSet{}, fmt.Errorf("carers by eFI band in %s: %w", q.ICS, &TooFewResponsesError{MinBase: 20})
	}
	// Release R-W1-2 leaves QJK out: it has no figures for it at all.
	if q.Release == "R-W1-2" && q.ICS == "QJK" {
		return MeasureSet{}, fmt.Errorf("QJK in R-W1-2: %w", &TooFewResponsesError{MinBase: 10, NoFigures: true})
	}
	// Release R-W1-2 was drafted with its own parameters: 90 % intervals, caution under 50.
	if q.Release == "R-W1-2" {
		set.Confidence, set.CautionBase = 0.9, 50
	}
	groups := []string{""}
	switch q.Breakdown {
	case BreakdownAgeBand:
		groups = []string{"65–74", "75–84", "85+"}
	case BreakdownGender:
		groups = []string{"Female", "Male"}
	case BreakdownEFIBand:
		groups = []string{"Moderate", "Severe"}
	case BreakdownEthnicity:
		groups = []string{"White", "Asian or Asian British", "Other"}
	}
	for qi, qq := range memQuestions {
		for gi, g := range groups {
			m := Measure{QuestionID: qq.id, QuestionText: qq.text, Group: g, Base: 400 - 100*gi,
				PctPositive: 0.55 + 0.05*float64(qi) - 0.03*float64(gi), HasEngland: true, England: 0.56}
			m.CILower, m.CIUpper = m.PctPositive-0.04, m.PctPositive+0.04
			m.VsEngland = []string{"similar", "higher", "lower"}[(qi+gi)%3]
			if gi == 1 && qi == 2 {
				m.Status, m.Base = "L", 25
			}
			// The last group of the last question is withheld, and carries a number the
			// page must never show.
			if (q.Breakdown != BreakdownNone && gi == len(groups)-1 && qi == len(memQuestions)-1) || (q.ICS == "QJK" && q.Breakdown == BreakdownNone && qi == 1) {
				m.Status, m.Base, m.PctPositive, m.CILower, m.CIUpper, m.VsEngland = "B", 7, leakedValue, leakedValue-0.1, leakedValue+0.1, ""
			}
			set.Measures = append(set.Measures, m)
		}
	}
	return set, nil
}

func (memData) Releases(_ context.Context, wave string) ([]Release, error) {
	return []Release{{ID: "R-W1-1", Status: "published", ApprovedBy: "Head of Statistics", ApprovedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC),
		ICSsPublished: []string{"QMM", "QJK"}, ResultRows: 1200, CellsWithheld: 37},
		{ID: "R-W1-2", Status: "published", ApprovedBy: "Head of Statistics", ApprovedAt: time.Date(2026, 11, 9, 10, 0, 0, 0, time.UTC),
			ICSsPublished: []string{"QMM"}, ICSsNotPublished: []string{"QJK"}, ResultRows: 600, CellsWithheld: 20}}, nil
}

func (memData) PracticeRates(_ context.Context, wave, ics string) ([]PracticeRate, error) {
	return []PracticeRate{
		{Practice: "D82001", Eligible: 420, Completed: 150, Rate: 150.0 / 420},
		{Practice: "D82002", Eligible: 26, Completed: 9, Rate: 9.0 / 26, Status: "L"},
		// Withheld whole: the tell-tale number must not appear.
		{Practice: "D82003", Status: "B", Eligible: 0, Completed: 0, Rate: leakedValue},
	}, nil
}

// memFreeText serves comments and records audit events, for tests.
type memFreeText struct {
	mu     sync.Mutex
	events []freetext.AuditEvent
	fail   bool
	// comments, when set, are served in place of the three below.
	comments []freetext.Comment
}

func (m *memFreeText) Comments(_ context.Context, wave, ics string) ([]freetext.Comment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.comments != nil {
		return m.comments, nil
	}
	return []freetext.Comment{
		{ResponseID: "r1", QuestionID: "P_FT_GOOD", Text: "Dr Patel at the surgery rang me back the same day, call me on 07700 900123."},
		{ResponseID: "r2", QuestionID: "P_FT_IMPROVE", Text: "The hospital and the district nurses never seemed to talk to each other."},
		{ResponseID: "r3", QuestionID: "P_FT_IMPROVE", Text: "Waiting for the physio took months."},
	}, nil
}

// setComments serves cs from now on (nil: the three comments again).
func (m *memFreeText) setComments(cs []freetext.Comment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.comments = cs
}

// manyComments is n comments r001… to page through, each with a name and a phone
// number to redact, every second one about the physio.
func manyComments(n int) []freetext.Comment {
	var out []freetext.Comment
	for i := 1; i <= n; i++ {
		text := fmt.Sprintf("Comment number %d; ring Dr Patel on 07700 900%03d.", i, i)
		if i%2 == 0 {
			text += " The physio was late."
		}
		out = append(out, freetext.Comment{ResponseID: fmt.Sprintf("r%03d", i), QuestionID: "P_FT_IMPROVE", Text: text})
	}
	return out
}

func (m *memFreeText) RecordFreeText(_ context.Context, e freetext.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return fmt.Errorf("audit store unavailable")
	}
	if err := e.Validate(); err != nil { // as dashdata.FreeTextStore does
		return err
	}
	m.events = append(m.events, e)
	return nil
}

func (m *memFreeText) Events() []freetext.AuditEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]freetext.AuditEvent(nil), m.events...)
}

// leakedCount is what a withheld free-text theme count "would have been": it must
// appear nowhere (FreeTextThemeCounts sets it on withheld counts to prove the pages
// never read them).
const leakedCount = 987654

// FreeTextThemeCounts: care integration's themes for QMM's patients (one count
// withheld), nothing coded yet for QJK, and no integration theme on coordination.
func (memData) FreeTextThemeCounts(_ context.Context, wave, ics, respondentType, theme string) ([]FreeTextThemeCount, error) {
	if wave != "W1" {
		return nil, fmt.Errorf("no wave %s: %w", wave, ErrNotFound)
	}
	if theme != "care-integration" && theme != "care-administration" {
		return nil, nil
	}
	withheld := Count{N: leakedCount, Withheld: true}
	if ics == "QJK" || respondentType == RespondentCarer {
		return []FreeTextThemeCount{{Theme: "communication", Name: "Communication between professionals"},
			{Theme: "holistic", Name: "Lack of holistic care pathways"}}, nil
	}
	return []FreeTextThemeCount{
		{Theme: "communication", Name: "Communication between professionals", Negative: Count{N: 137}, Positive: Count{N: 42}},
		{Theme: "holistic", Name: "Lack of holistic care pathways", Negative: Count{N: 58}, Positive: withheld},
		{Theme: "information", Name: "Lack of information", Negative: Count{N: 71}, Positive: Count{N: 19}},
	}, nil
}

// LinkedAggregates: a small linkage release of W1. Every withheld cell carries the
// tell-tale count and share (leakedCount, leakedValue), which must never be served.
func (memData) LinkedAggregates(_ context.Context, wave string) (LinkedRelease, error) {
	if wave != "W1" {
		return LinkedRelease{}, nil
	}
	const story, story2 = "P_REPEAT_STORY", "P_WHO_TO_CONTACT"
	storyText, story2Text := "Did not have to repeat their story", "Knew who to contact about their care"
	cell := func(agg, subject, subjectText, grouping, value, label, cat string, n, base int64, status string) LinkedCell {
		c := LinkedCell{Aggregate: agg, Subject: subject, SubjectText: subjectText, Grouping: grouping, GroupValue: value, GroupLabel: label,
			Category: cat, Count: n, Base: base, Status: status}
		if c.Withheld() {
			c.Count, c.Base, c.Share = leakedCount, leakedCount, leakedValue
		} else {
			c.Share = float64(n) / float64(base)
		}
		return c
	}
	// e is one group's answers to a question in an experience aggregate.
	e := func(agg, subject, text, grouping, value, label string, pos, base int64, posStatus, negStatus string) []LinkedCell {
		return []LinkedCell{
			cell(agg, subject, text, grouping, value, label, "positive", pos, base, posStatus),
			cell(agg, subject, text, grouping, value, label, "not_positive", base-pos, base, negStatus),
		}
	}
	b := func(subject, text, grouping, value, label string, pos, base int64, posStatus, negStatus string) []LinkedCell {
		return e(AggregateExperienceByBurden, subject, text, grouping, value, label, pos, base, posStatus, negStatus)
	}
	var cells []LinkedCell
	cells = append(cells, b(story, storyText, "providers_12m", "5+", "", 112, 184, "", "")...)
	cells = append(cells, b(story, storyText, "providers_12m", "1", "", 16, 22, "L", "L")...)
	cells = append(cells, b(story, storyText, "providers_12m", "3-4", "", 50, 80, "", "")...)
	cells = append(cells, b(story, storyText, "providers_12m", "2", "", 2, 23, "P", "S")...)
	cells = append(cells, b(story, storyText, "providers_12m", "0", "", 3, 6, "B", "B")...)
	cells = append(cells, b(story, storyText, "efi_band", "severe", "Severe frailty", 90, 150, "", "")...)
	cells = append(cells, b(story2, story2Text, "providers_12m", "5+", "", 140, 184, "", "")...)
	cells = append(cells, e(AggregateExperienceByCondition, story, storyText, "condition", "heart_failure", "Heart failure", 40, 70, "", "")...)
	cells = append(cells, e(AggregateExperienceByCondition, story, storyText, "condition", "dementia", "Dementia", 4, 8, "B", "B")...)
	m := func(dataset, title, grouping, value string, linked, base int64, status string) []LinkedCell {
		return []LinkedCell{
			cell(AggregateMatchRates, dataset, title, grouping, value, "", "linked", linked, base, status),
			cell(AggregateMatchRates, dataset, title, grouping, value, "", "not_linked", base-linked, base, status),
		}
	}
	cells = append(cells, m("gpad", "GP appointments", "ics", "QMM", 157, 165, "")...)
	cells = append(cells, m("gpad", "GP appointments", "ics", "QJK", 163, 173, "")...)
	cells = append(cells, m("apc", "Admitted patient care", "ics", "QMM", 71, 165, "")...)
	cells = append(cells, m("apc", "Admitted patient care", "ics", "QJK", 3, 173, "S")...)
	cells = append(cells, m("gpad", "GP appointments", "all", "all", 320, 338, "")...)
	consent := func(grouping, value, label string, yes, no int64, yesStatus, noStatus string) []LinkedCell {
		base := yes + no
		return []LinkedCell{
			cell(AggregateConsentRates, grouping, "", grouping, value, label, "consented", yes, base, yesStatus),
			cell(AggregateConsentRates, grouping, "", grouping, value, label, "not_consented", no, base, noStatus),
		}
	}
	cells = append(cells, consent("ics", "QMM", "", 165, 60, "", "")...)
	cells = append(cells, consent("ics", "QJK", "", 173, 3, "S", "P")...) // secondary suppression, as the release does
	cells = append(cells, consent("age_band", "75-84", "75–84", 120, 40, "", "")...)
	cells = append(cells, e(AggregateExperienceByConsent, story, storyText, "consent", "consented", "Consented", 200, 330, "", "")...)
	cells = append(cells, e(AggregateExperienceByConsent, story, storyText, "consent", "not_consented", "Did not consent", 50, 100, "", "")...)
	return LinkedRelease{ReleaseID: "R20270301", Method: "Counts of consenting respondents, unweighted; the publication's disclosure rules.", MinBase: 20, Cells: cells}, nil
}
