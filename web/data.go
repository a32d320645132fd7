package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"icesurvey/freetext"
	"icesurvey/schemas"
)

// The data the pages read, declared here by their consumer. The production
// implementation reads a read-only snapshot of the warehouse and the published
// (disclosure-checked) release; tests use a small in-memory one. None of these may
// return a value the release's suppression rules withhold: a withheld value comes back
// with its Status set and no number in it.

// Freshness tells the pages how recent their data is.
type Freshness interface {
	// DataStatus describes the snapshot the pages read now.
	DataStatus(ctx context.Context) (DataStatus, error)
}

// DataStatus is the "data as of" of the snapshot in use, and whether a newer one waits.
type DataStatus struct {
	// AsOf is when the snapshot's data was loaded (the end of its daily load).
	AsOf time.Time
	// LoadDate is the supplier day the last daily load covered ("2026-11-30").
	LoadDate string
	// Newer is set when a later daily load has finished and its snapshot is not in use
	// yet; NewerAsOf is its time.
	Newer     bool
	NewerAsOf time.Time
}

// Waves lists the fieldwork waves the dashboard can show.
type Waves interface {
	Waves(ctx context.Context) ([]Wave, error)
}

// Wave is one fieldwork wave and its ICSs.
type Wave struct {
	ID   string
	Name string // "Phase 1, spring 2027"
	ICSs []ICS
}

// ICS is one Integrated Care System in a wave.
type ICS struct {
	Code string // the ICB's ODS code, e.g. QMM
	Name string
}

// Fieldwork is the wave overview's data: progress and response rates, which rest on
// outcome codes and are not suppressed below ICS level (they hold no survey answers),
// but are shown only for whole ICSs and England.
type Fieldwork interface {
	// Progress lists each ICS's fieldwork position in wave order.
	Progress(ctx context.Context, wave string) ([]ICSProgress, error)
	// ResponseByDay is one ICS's cumulative response rate on each fieldwork day, with
	// the mailing days.
	ResponseByDay(ctx context.Context, wave, ics string) (DailyResponse, error)
}

// ICSProgress is one ICS's fieldwork position. The counts are the release's response
// rate table's, checked by the same disclosure control: the sample's final outcomes in
// three groups (completed 1; not reached 2, 3, 5; not responded 4, 6), so a small
// count of deaths or opt-outs is never shown. A withheld count carries no number.
type ICSProgress struct {
	ICS          ICS
	Stage        string // "fieldwork", "closed", …
	FieldworkDay int
	// Sampled is everyone in the declared sample (SampledWithheld: not shown).
	Sampled         int
	SampledWithheld bool
	// Groups are the outcome groups, OutcomeGroups order; GroupWithheld marks each
	// withheld one.
	Groups        [3]int
	GroupWithheld [3]bool
	// Rate is the adjusted response rate (completed over sampled less not reached),
	// 0–1; RateWithheld when the counts it is a ratio of are withheld.
	Rate         float64
	RateWithheld bool
}

// OutcomeGroups name ICSProgress.Groups while fieldwork is open; ClosedOutcomeGroups
// once it has ended (no one is still to respond).
var (
	OutcomeGroups       = [3]string{"Completed", "Not reached (undelivered, deceased or ineligible)", "Not responded yet, opted out or too ill"}
	ClosedOutcomeGroups = [3]string{"Completed", "Not reached (undelivered, deceased or ineligible)", "Not responded, opted out or too ill"}
)

// Fieldwork stages of an ICS (ICSProgress.Stage) and of a wave (WaveStage).
const (
	StageFieldwork  = "fieldwork"
	StageClosed     = "closed"
	StageEndedEarly = "ended early"
)

// fieldworkOpen reports whether an ICS at this stage may still receive responses.
func fieldworkOpen(stage string) bool { return stage != StageClosed && stage != StageEndedEarly }

// WaveStage is the wave's fieldwork stage from its ICSs': fieldwork while any ICS's
// fieldwork is open (or nothing is known), closed once every ICS has ended and one at
// least closed, ended early when every ICS's fieldwork ended before its close.
func WaveStage(progress []ICSProgress) string {
	if len(progress) == 0 {
		return StageFieldwork
	}
	closed := false
	for _, p := range progress {
		if fieldworkOpen(p.Stage) {
			return StageFieldwork
		}
		closed = closed || p.Stage == StageClosed
	}
	if closed {
		return StageClosed
	}
	return StageEndedEarly
}

// DailyResponse is a response-rate-by-day line.
type DailyResponse struct {
	Days     []DayRate
	Mailings []Mailing
	// MinCount is the release's min_count the days were checked against: a day is
	// withheld while its cumulative count is 1 to MinCount−1 (0: the default 5).
	MinCount int
}

// DayRate is the cumulative response rate at the end of a fieldwork day.
type DayRate struct {
	Day       int
	Responses int
	Rate      float64 // proportion of the eligible sample
	// Withheld: the day's count is a small one (1 to DailyResponse.MinCount−1), so
	// neither it nor the rate is shown.
	Withheld bool
}

// Mailing is one mailing step's day ("Reminder letter 1", day 14).
type Mailing struct {
	Day   int
	Label string
}

// Results is the published, disclosure-checked results: % positive per closed question
// with its interval and comparison with England excluding the ICS, overall or by a
// demographic breakdown.
type Results interface {
	// Themes lists the themes pages exist for, in display order.
	Themes(ctx context.Context, wave string) ([]Theme, error)
	// Measures returns a theme's measures for the query. When the query's base is below
	// the release's minimum it returns an error wrapping ErrTooFewResponses, and the page
	// refuses the filter with a message instead of showing an empty table.
	Measures(ctx context.Context, q Query) (MeasureSet, error)
}

// ErrTooFewResponses: the filters select fewer respondents than the release's minimum
// base (or every figure is withheld), so nothing may be shown for them. A Results may
// return it as a *TooFewResponsesError, which says more.
var ErrTooFewResponses = errors.New("too few responses to show any figure")

// TooFewResponsesError is ErrTooFewResponses (errors.Is holds) with what the page needs
// to say why nothing is shown: the minimum base the figures were checked with, and
// whether the figures have no row at all for the filters (nothing withheld: nothing to
// show).
type TooFewResponsesError struct {
	MinBase   int  // 0: the default, 10
	NoFigures bool // the figures hold no row for the filters
}

func (e *TooFewResponsesError) Error() string {
	if e.NoFigures {
		return "no figures for these filters"
	}
	return fmt.Sprintf("fewer than %d responses", cmp.Or(e.MinBase, 10))
}

// Is makes errors.Is(err, ErrTooFewResponses) hold.
func (e *TooFewResponsesError) Is(target error) bool { return target == ErrTooFewResponses }

// ErrNotFound: the wave, release, ICS or theme asked for does not exist. The pages
// answer it with "Page not found".
var ErrNotFound = errors.New("not found")

// Theme is one theme page ("care-administration", "Care administration").
type Theme struct {
	ID   string
	Name string
	// Brochure marks the four themes the brochure names (care administration, care
	// integration, waiting times, emotional support); the others are the
	// questionnaire's own sections.
	Brochure bool
	// RespondentTypes are the respondent types with questions in the theme.
	RespondentTypes []string
}

// Query selects a theme's results.
type Query struct {
	Wave           string
	ICS            string
	RespondentType string // RespondentPatient or RespondentCarer
	Theme          string
	Breakdown      string // "" (the whole ICS) or one of the Breakdown* constants
	// Release is "" for the live figures (computed from the snapshot through the
	// release's method and disclosure control) or a published release's id.
	Release string
}

// Respondent types.
const (
	RespondentPatient = "patient"
	RespondentCarer   = "carer"
)

// Breakdowns (group variables of the release).
const (
	BreakdownNone      = ""
	BreakdownAgeBand   = "age_band"
	BreakdownGender    = "gender"
	BreakdownEthnicity = "ethnicity_group"
	BreakdownEFIBand   = "efi_band"
)

// MeasureSet is a theme's published measures for one query.
type MeasureSet struct {
	ReleaseID string
	// Method names the estimation and suppression method in one or two sentences, as the
	// release's metadata states it; it goes into every download's metadata block.
	Method string
	// Weighted is false for carers' results (published unweighted).
	Weighted bool
	// MinBase and MinCount are the small-number rule's thresholds the figures were
	// checked with (min_base, min_count); 0 means the defaults, 10 and 5.
	MinBase, MinCount int
	// CautionBase is the base under which a figure carries the caution mark
	// (caution_base); 0 means the default, 30.
	CautionBase int
	// Confidence is the intervals' confidence level, a fraction (0.95 is 95 %), which
	// the comparisons with England use too; 0 means the default, 0.95.
	Confidence float64
	Measures   []Measure
}

// Measure is one question's result for one group, as the release publishes it.
type Measure struct {
	QuestionID   string
	QuestionText string
	// Group is the breakdown level's label ("75–84"), or "" for the whole ICS.
	Group string
	// Status is the release's mark: "" published, "L" published with caution, "B"
	// withheld (base under the minimum), "P" withheld (a small count: primary
	// suppression), "S" withheld so that another withheld figure cannot be worked out
	// (secondary suppression). A withheld measure carries no numbers, except its Base
	// where the release publishes it (BaseShown: an S on the % alone).
	Status      string
	Base        int
	BaseShown   bool
	PctPositive float64 // proportion 0–1
	CILower     float64
	CIUpper     float64
	// England is the same question's result for England excluding the ICS.
	England    float64
	HasEngland bool
	VsEngland  string // "higher", "lower", "similar" or ""
}

// Withheld reports whether the release withholds the measure's numbers.
func (m Measure) Withheld() bool { return withheldMark(m.Status) }

// withheldMark reports whether a release's status mark withholds the numbers: B (base
// too small), P (primary) or S (secondary suppression); "" and L (caution) publish them.
func withheldMark(status string) bool { return status == "B" || status == "P" || status == "S" }

// Releases lists a wave's releases of published comparable data (optional: without it
// the releases page says there are none).
type Releases interface {
	Releases(ctx context.Context, wave string) ([]Release, error)
}

// Release is one release of a wave, as the warehouse records it.
type Release struct {
	ID               string
	Status           string // "draft" or "published"
	ApprovedBy       string
	ApprovedAt       time.Time // zero while a draft
	ICSsPublished    []string
	ICSsNotPublished []string
	ResultRows       int64
	CellsWithheld    int64
}

// Practices gives the response rate by GP practice within an ICS: a local breakdown,
// shown only to the ICS's analysts, checked by disclosure control like every table.
type Practices interface {
	PracticeRates(ctx context.Context, wave, ics string) ([]PracticeRate, error)
}

// PracticeRate is one practice's response position. A withheld value has its flag
// set and no number.
type PracticeRate struct {
	Practice string // ODS practice code
	// Status is the row's mark: "" published, "L" caution, "B"/"S" withheld whole.
	Status            string
	Eligible          int // the sample less those found deceased or ineligible
	Completed         int
	CompletedWithheld bool
	Rate              float64 // Completed / Eligible, 0–1
}

// Withheld reports whether the practice's row is withheld whole.
func (p PracticeRate) Withheld() bool { return withheldMark(p.Status) }

// FreeTextSource reads one ICS's free-text comments from the restricted area for the
// free-text page, which passes them through freetext.Read (access check, redaction,
// audit event) before anything is shown. The dashboard itself never touches a store.
type FreeTextSource interface {
	Comments(ctx context.Context, wave, ics string) ([]freetext.Comment, error)
}

// AuditSink stores free-text audit events (in the restricted audit store). A page is
// shown only after its event is stored; a failure to store refuses the page.
type AuditSink interface {
	RecordFreeText(ctx context.Context, e freetext.AuditEvent) error
}

// FreeTextThemes gives a theme page the free-text comments coded to the integration
// themes that belong with its closed questions (issue #17): counts of the codes that
// stand (response_themes, final) for one ICS and respondent type, by polarity, after
// the publication's disclosure rules. Counts only: no text, no response id. Optional:
// without it the theme pages show no free-text section.
type FreeTextThemes interface {
	// FreeTextThemeCounts returns the counts of the integration themes mapped to the
	// theme page, in codebook order; none when the page has no integration theme. A
	// withheld count carries no number.
	FreeTextThemeCounts(ctx context.Context, wave, ics, respondentType, theme string) ([]FreeTextThemeCount, error)
}

// FreeTextThemeCount is one integration theme's count of coded comments.
type FreeTextThemeCount struct {
	Theme string // codebook id ("continuity")
	Name  string // "Lack of continuity"
	// Negative and Positive count the comments coded to the theme with each polarity.
	Negative, Positive Count
}

// Count is a disclosure-checked count: Withheld set means the rules withhold it, and
// N is then zero and must not be shown.
type Count struct {
	N        int64
	Withheld bool
}

// Linkage gives the linked health and care activity page (issue #15): what the wave's
// current linkage release let be shown of the consenting respondents' linked activity,
// after the linkage's disclosure control (linkage_disclosed). Counts and shares only,
// each as the release published it: a withheld one carries no number. Optional:
// without it the page does not exist.
type Linkage interface {
	// LinkedAggregates returns the wave's current linkage release's disclosed
	// aggregates; a wave with no linkage release gives a zero LinkedRelease.
	LinkedAggregates(ctx context.Context, wave string) (LinkedRelease, error)
}

// LinkedRelease is one linkage release's disclosed aggregates.
type LinkedRelease struct {
	ReleaseID string // "" when the wave has no linkage release
	// Method says how the figures were made and checked, for the downloads' metadata.
	Method string
	// MinBase is the smallest base the release's aggregates were shown with (the
	// disclosure rules' min_base), for the reason a withheld group is given.
	MinBase int
	Cells   []LinkedCell
}

// The linkage's aggregates (LinkedCell.Aggregate), as schemas declares them.
const (
	AggregateExperienceByBurden    = schemas.LinkageAggregateExperienceByBurden
	AggregateExperienceByCondition = schemas.LinkageAggregateExperienceByCondition
	AggregateMatchRates            = schemas.LinkageAggregateMatchRates
	// AggregateConsentRates: of the respondents in each category of a frame variable
	// (Subject and Grouping), how many consented to linkage and how many did not.
	AggregateConsentRates = schemas.LinkageAggregateConsentRates
	// AggregateExperienceByConsent: a question's positive answers of the respondents
	// who consented and of those who did not (GroupValue consented or not_consented).
	AggregateExperienceByConsent = schemas.LinkageAggregateExperienceByConsent
)

// LinkedCell is one cell of a disclosed aggregate: of the Base respondents in group
// GroupValue of Grouping, Count are in Category (for experience, positive or
// not_positive on the question Subject; for match rates, linked or not_linked in the
// dataset Subject).
type LinkedCell struct {
	Aggregate   string
	Subject     string // a question id or a dataset id
	SubjectText string // the question's text or the dataset's title
	Grouping    string // providers_12m, condition, ics, age_band, …
	GroupValue  string // "3-4", "heart_failure", "QMM", …
	GroupLabel  string // how people name the group value ("Heart failure"); GroupValue when empty
	Category    string
	// Count, Base and Share are zero and must not be shown when Withheld.
	Count, Base int64
	Share       float64
	// Status is the release's mark: "" published, "L" caution, "B" base too small,
	// "P" primary, "S" secondary suppression.
	Status string
}

// Withheld reports whether the release withholds the cell's numbers.
func (c LinkedCell) Withheld() bool { return withheldMark(c.Status) }
