package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"time"

	"icesurvey/internal/yamldefs"
	"icesurvey/themes"
)

// Profile is one health and care experience profile (Healthwatch methodology).
type Profile struct {
	ID              string          `yaml:"id"`
	Title           string          `yaml:"title"`
	Characteristics Characteristics `yaml:"characteristics"`
	Rationale       string          `yaml:"rationale"`
	ExpectedCare    []Expectation   `yaml:"expected_care"`
	Evidence        []Evidence      `yaml:"evidence"`
	Sessions        []Session       `yaml:"sessions"`
	Stakeholders    []Stakeholder   `yaml:"stakeholders"`
	ActionPlan      []Action        `yaml:"action_plan"`
	Limitations     []string        `yaml:"limitations"`
}

// Characteristics describe the group in words and as a cohort over the data.
type Characteristics struct {
	Description string `yaml:"description"`
	Cohort      Cohort `yaml:"cohort"`
}

// Levels and statuses of an expectation.
const (
	LevelNational = "national"
	LevelLocal    = "local"

	StatusInPlace      = "in_place"
	StatusAspirational = "aspirational" // a pathway still in development (the methodology asks this be noted)
	StatusToBeRecorded = "to_be_recorded"
)

// SourcePending is the source of an expectation the local team has still to find.
const SourcePending = "to be recorded by the local team"

// Expectation is one statement of what care the group should be able to expect, with
// where it comes from.
type Expectation struct {
	ID        string   `yaml:"id"`
	Statement string   `yaml:"statement"`
	Source    string   `yaml:"source"`              // e.g. "NICE guideline NG28"; SourcePending when not yet found
	Level     string   `yaml:"level"`               // national or local
	Status    string   `yaml:"status"`              // in_place, aspirational or to_be_recorded
	Date      string   `yaml:"date,omitempty"`      // of the source: yyyy, yyyy-mm or yyyy-mm-dd
	Themes    []string `yaml:"themes,omitempty"`    // codebook themes the statement bears on
	Questions []string `yaml:"questions,omitempty"` // closed survey questions that give evidence on it
}

// Evidence is existing insight into the group's experience.
type Evidence struct {
	ID      string   `yaml:"id"`
	Source  string   `yaml:"source"`
	Date    string   `yaml:"date"` // yyyy, yyyy-mm or yyyy-mm-dd
	Level   string   `yaml:"level"`
	Summary string   `yaml:"summary"`
	Themes  []string `yaml:"themes,omitempty"`
}

// Session methods.
const (
	MethodFocusGroup = "focus_group"
	MethodInterview  = "interview"
)

// Session is one focus group or 1:1 interview. Its notes or transcript live in the
// free-text area under TranscriptKey and are read through the freetext package.
type Session struct {
	ID              string `yaml:"id"`
	Method          string `yaml:"method"`
	Date            string `yaml:"date"` // yyyy-mm-dd
	Participants    int    `yaml:"participants"`
	ConsentRecorded bool   `yaml:"consent_recorded"`
	TranscriptKey   string `yaml:"transcript_key"`
	CodebookVersion string `yaml:"codebook_version"`
	Facilitator     string `yaml:"facilitator,omitempty"` // a role, not a name
	Notes           string `yaml:"notes,omitempty"`       // about the session, never its content
}

// Stakeholder engagement statuses (the methodology's stakeholder audit).
const (
	EngagementConsulted    = "consulted"
	EngagementDidNotEngage = "did_not_engage"
	EngagementNotContacted = "not_yet_contacted"
)

// Stakeholder is one organisation in the stakeholder audit.
type Stakeholder struct {
	Organisation string `yaml:"organisation"`
	Type         string `yaml:"type"`
	Status       string `yaml:"status"`
	Date         string `yaml:"date,omitempty"` // of the consultation or last attempt
	Notes        string `yaml:"notes,omitempty"`
}

// Action statuses.
const (
	ActionPlanned    = "planned"
	ActionInProgress = "in_progress"
	ActionDone       = "done"
)

// Action is one line of the action plan.
type Action struct {
	ID        string   `yaml:"id"`
	Action    string   `yaml:"action"`
	Owner     string   `yaml:"owner"` // a role or organisation
	Due       string   `yaml:"due,omitempty"`
	Status    string   `yaml:"status"`
	Addresses []string `yaml:"addresses,omitempty"` // expectation ids
}

//go:embed defs/*.yaml
var defsFS embed.FS

var loadAll = sync.OnceValues(func() (map[string]*Profile, error) { return LoadFS(defsFS, "defs") })

// All returns the embedded profiles by id.
func All() (map[string]*Profile, error) { return loadAll() }

// Get returns one embedded profile.
func Get(id string) (*Profile, error) { return yamldefs.Get(loadAll, "profiles: no profile", id) }

// IDs lists the embedded profile ids, sorted.
func IDs() []string { return yamldefs.Keys(loadAll) }

// LoadFS reads and validates every *.yaml in dir; a file's name must be its id.
// Every fault found is in the error.
func LoadFS(fsys fs.FS, dir string) (map[string]*Profile, error) {
	out, faults, err := yamldefs.Dir(fsys, dir, "id", Parse, func(p *Profile) string { return p.ID })
	if err != nil {
		return nil, err
	}
	if len(faults) > 0 {
		return nil, errors.Join(faults...)
	}
	return out, nil
}

// Parse reads a profile from YAML and validates it; errors name the file and
// field (south-asian-diabetes.yaml: expected_care[2].level: …). Unknown fields are
// errors.
func Parse(data []byte, file string) (*Profile, error) {
	p := &Profile{}
	if err := yamldefs.DecodeStrict(data, p); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := p.Validate(); err != nil {
		var lines []string
		for _, e := range unwrapJoined(err) {
			lines = append(lines, file+": "+e.Error())
		}
		return nil, errors.New(strings.Join(lines, "\n"))
	}
	return p, nil
}

func unwrapJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var (
	reID  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	reKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9/_.=-]*$`)
)

// Validate checks a profile; each error names its field.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if !reID.MatchString(p.ID) {
		bad("id", "%q: want lower-case letters, digits and hyphens", p.ID)
	}
	if strings.TrimSpace(p.Title) == "" {
		bad("title", "empty")
	}
	if strings.TrimSpace(p.Characteristics.Description) == "" {
		bad("characteristics.description", "empty")
	}
	for _, e := range p.Characteristics.Cohort.validate() {
		bad("characteristics.cohort."+e.field, "%s", e.msg)
	}
	if strings.TrimSpace(p.Rationale) == "" {
		bad("rationale", "empty")
	}
	cb, cbErr := themes.Load(themes.DefaultVersion)
	themeOK := func(field string, ids []string) {
		for i, t := range ids {
			if cbErr == nil {
				if _, ok := cb.Theme(t); !ok {
					bad(fmt.Sprintf("%s[%d]", field, i), "no theme %q in codebook %s", t, cb.Version)
				}
			}
		}
	}
	if len(p.ExpectedCare) == 0 {
		bad("expected_care", "empty: a profile says what care the group should expect")
	}
	expIDs := map[string]bool{}
	for i, e := range p.ExpectedCare {
		f := fmt.Sprintf("expected_care[%d]", i)
		if !reID.MatchString(e.ID) {
			bad(f+".id", "%q: want lower-case letters, digits and hyphens", e.ID)
		} else if expIDs[e.ID] {
			bad(f+".id", "%q repeats", e.ID)
		}
		expIDs[e.ID] = true
		if strings.TrimSpace(e.Statement) == "" {
			bad(f+".statement", "empty")
		}
		if strings.TrimSpace(e.Source) == "" {
			bad(f+".source", "empty: name the source, or write %q", SourcePending)
		}
		if e.Level != LevelNational && e.Level != LevelLocal {
			bad(f+".level", "%q, want national or local", e.Level)
		}
		switch e.Status {
		case StatusInPlace, StatusAspirational:
			if e.Source == SourcePending {
				bad(f+".status", "%s, but the source is still to be recorded: use to_be_recorded", e.Status)
			}
			if _, err := ParseDate(e.Date); err != nil {
				bad(f+".date", "%v (a recorded source needs its date)", err)
			}
		case StatusToBeRecorded:
			if e.Date != "" {
				if _, err := ParseDate(e.Date); err != nil {
					bad(f+".date", "%v", err)
				}
			}
		default:
			bad(f+".status", "%q, want in_place, aspirational or to_be_recorded", e.Status)
		}
		themeOK(f+".themes", e.Themes)
		for j, q := range e.Questions {
			if _, _, ok := lookupQuestion(q); !ok {
				bad(fmt.Sprintf("%s.questions[%d]", f, j), "no closed question %q in the questionnaire catalogue", q)
			}
		}
	}
	evIDs := map[string]bool{}
	for i, e := range p.Evidence {
		f := fmt.Sprintf("evidence[%d]", i)
		if !reID.MatchString(e.ID) || evIDs[e.ID] {
			bad(f+".id", "%q: missing, malformed or repeated", e.ID)
		}
		evIDs[e.ID] = true
		if strings.TrimSpace(e.Source) == "" {
			bad(f+".source", "empty")
		}
		if _, err := ParseDate(e.Date); err != nil {
			bad(f+".date", "%v (insight must be dated to judge its age)", err)
		}
		if e.Level != LevelNational && e.Level != LevelLocal {
			bad(f+".level", "%q, want national or local", e.Level)
		}
		if strings.TrimSpace(e.Summary) == "" {
			bad(f+".summary", "empty")
		}
		themeOK(f+".themes", e.Themes)
	}
	sIDs := map[string]bool{}
	for i, s := range p.Sessions {
		f := fmt.Sprintf("sessions[%d]", i)
		if !reID.MatchString(s.ID) || sIDs[s.ID] {
			bad(f+".id", "%q: missing, malformed or repeated", s.ID)
		}
		sIDs[s.ID] = true
		switch s.Method {
		case MethodFocusGroup:
			if s.Participants < 5 || s.Participants > 8 {
				bad(f+".participants", "%d: a focus group has 5 to 8 people (methodology); record fewer as interviews", s.Participants)
			}
		case MethodInterview:
			if s.Participants != 1 {
				bad(f+".participants", "%d: an interview is 1:1", s.Participants)
			}
		default:
			bad(f+".method", "%q, want focus_group or interview", s.Method)
		}
		if d, err := ParseDate(s.Date); err != nil || len(s.Date) != 10 {
			bad(f+".date", "%q: want yyyy-mm-dd", s.Date)
		} else if d.IsZero() {
			bad(f+".date", "missing")
		}
		if !s.ConsentRecorded {
			bad(f+".consent_recorded", "false: a session without recorded consent cannot be used")
		}
		if !reKey.MatchString(s.TranscriptKey) || strings.Contains(s.TranscriptKey, "..") {
			bad(f+".transcript_key", "%q: want an object key in the free-text area", s.TranscriptKey)
		}
		if _, err := themes.Load(s.CodebookVersion); err != nil {
			bad(f+".codebook_version", "%q: no such codebook", s.CodebookVersion)
		}
	}
	for i, s := range p.Stakeholders {
		f := fmt.Sprintf("stakeholders[%d]", i)
		if strings.TrimSpace(s.Organisation) == "" {
			bad(f+".organisation", "empty")
		}
		switch s.Status {
		case EngagementConsulted, EngagementDidNotEngage:
			if _, err := ParseDate(s.Date); err != nil {
				bad(f+".date", "%v (when were they consulted or asked?)", err)
			}
		case EngagementNotContacted:
		default:
			bad(f+".status", "%q, want consulted, did_not_engage or not_yet_contacted", s.Status)
		}
	}
	aIDs := map[string]bool{}
	for i, a := range p.ActionPlan {
		f := fmt.Sprintf("action_plan[%d]", i)
		if !reID.MatchString(a.ID) || aIDs[a.ID] {
			bad(f+".id", "%q: missing, malformed or repeated", a.ID)
		}
		aIDs[a.ID] = true
		if strings.TrimSpace(a.Action) == "" {
			bad(f+".action", "empty")
		}
		if strings.TrimSpace(a.Owner) == "" {
			bad(f+".owner", "empty: every action needs an owner")
		}
		if a.Status != ActionPlanned && a.Status != ActionInProgress && a.Status != ActionDone {
			bad(f+".status", "%q, want planned, in_progress or done", a.Status)
		}
		if a.Due != "" {
			if _, err := ParseDate(a.Due); err != nil {
				bad(f+".due", "%v", err)
			}
		}
		for j, e := range a.Addresses {
			if !expIDs[e] {
				bad(fmt.Sprintf("%s.addresses[%d]", f, j), "%q is not an expected_care id", e)
			}
		}
	}
	return errors.Join(errs...)
}

// ParseDate reads yyyy, yyyy-mm or yyyy-mm-dd. A partial date stands for the last
// day it could be (2021 → 2021-12-31), so an age judged from it is never overstated.
func ParseDate(s string) (time.Time, error) {
	switch len(s) {
	case 4:
		t, err := time.Parse("2006", s)
		if err == nil {
			return t.AddDate(1, 0, -1), nil
		}
	case 7:
		t, err := time.Parse("2006-01", s)
		if err == nil {
			return t.AddDate(0, 1, -1), nil
		}
	case 10:
		t, err := time.Parse(time.DateOnly, s)
		if err == nil {
			return t, nil
		}
	case 0:
		return time.Time{}, errors.New("date missing")
	}
	return time.Time{}, fmt.Errorf("date %q: want yyyy, yyyy-mm or yyyy-mm-dd", s)
}

// MaxInsightYears is the methodology's limit on the age of insight: ideally no older
// than three years.
const MaxInsightYears = 3

// Stale reports whether evidence is older than three years at the reference date.
func (e Evidence) Stale(ref time.Time) bool {
	d, err := ParseDate(e.Date)
	return err == nil && d.Before(ref.AddDate(-MaxInsightYears, 0, 0))
}

// StaleEvidence lists the profile's evidence older than three years at ref.
func (p *Profile) StaleEvidence(ref time.Time) []Evidence {
	var out []Evidence
	for _, e := range p.Evidence {
		if e.Stale(ref) {
			out = append(out, e)
		}
	}
	return out
}

// WarnNoSessions is the warning of a profile whose definition lists no session.
const WarnNoSessions = "no focus groups or interviews recorded yet"

// Warnings are findings that do not make a profile invalid but belong in its report's
// limitations: stale evidence, aspirational and unrecorded expectations, stakeholders
// who did not engage, no sessions yet.
func (p *Profile) Warnings(ref time.Time) []string {
	var w []string
	for _, e := range p.StaleEvidence(ref) {
		w = append(w, fmt.Sprintf("evidence %s (%s, %s) is older than %d years", e.ID, e.Source, e.Date, MaxInsightYears))
	}
	for _, e := range p.ExpectedCare {
		switch e.Status {
		case StatusAspirational:
			w = append(w, fmt.Sprintf("expected care %s is aspirational: the pathway is not yet in place", e.ID))
		case StatusToBeRecorded:
			w = append(w, fmt.Sprintf("expected care %s: source to be recorded by the local team", e.ID))
		}
	}
	for _, s := range p.Stakeholders {
		if s.Status == EngagementDidNotEngage {
			w = append(w, fmt.Sprintf("stakeholder %s did not engage: escalate", s.Organisation))
		}
	}
	if len(p.Sessions) == 0 {
		w = append(w, WarnNoSessions)
	}
	if len(p.Evidence) == 0 {
		w = append(w, "no existing insight recorded yet")
	}
	return w
}
