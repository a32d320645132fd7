// Package wavespec reads and checks the wave specification a data engineer starts a
// fieldwork wave with (`ice wave start --spec wave.yaml`).
package wavespec

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"icesurvey/codes"
	"icesurvey/dbs"
	"icesurvey/mailing"
	"icesurvey/notify"
	"icesurvey/publication"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

// Spec is one fieldwork wave.
type Spec struct {
	WaveID               string `yaml:"wave_id" json:"wave_id"`
	SamplingDate         Date   `yaml:"sampling_date" json:"sampling_date"`
	QuestionnaireVersion string `yaml:"questionnaire_version" json:"questionnaire_version"`
	CarerQuestionnaire   string `yaml:"carer_questionnaire_version,omitempty" json:"carer_questionnaire_version,omitempty"`
	// DayLength is how long one fieldwork day lasts on the wave's clock: 24h in
	// production, a few seconds in the demo.
	DayLength     Duration         `yaml:"day_length" json:"day_length"`
	MinEligible   int              `yaml:"min_eligible" json:"min_eligible"`
	RetentionDays int              `yaml:"retention_days" json:"retention_days"`
	SurveyURL     string           `yaml:"survey_url" json:"survey_url"`
	Schedule      mailing.Schedule `yaml:"schedule" json:"schedule"`
	// Templates maps the schedule\'s template names to GOV.UK Notify template IDs.
	Templates map[string]string `yaml:"templates,omitempty" json:"templates,omitempty"`
	DBS       DBSSettings       `yaml:"dbs" json:"dbs"`
	ICSs      []ICS             `yaml:"ics" json:"ics"`
	// Publication sets the parameters of the release the wave drafts when its
	// fieldwork ends (r1), by PUBLICATION.md's names, as `ice publish --params FILE`
	// sets a later release's; left out, r1 is made with the defaults. Parse reads the
	// spec's `publication:` mapping with the parameters file's own checks
	// (publication.OverridesOf).
	Publication *publication.Overrides `yaml:"-" json:"publication,omitempty"`
}

// DBSSettings tunes the deceased check.
type DBSSettings struct {
	// PollEvery is how often (on the wall clock) the reply is looked for.
	PollEvery Duration `yaml:"poll_every" json:"poll_every"`
	// ReplyDeadline is when an unanswered request is reported overdue. The mailing still
	// waits for the reply: it never goes out unchecked.
	ReplyDeadline Duration `yaml:"reply_deadline" json:"reply_deadline"`
}

// ICS is one Integrated Care System in the wave, with its two input files.
type ICS struct {
	Code           string   `yaml:"code" json:"code"`
	SampleFile     string   `yaml:"sample_file" json:"sample_file"`
	MailingFile    string   `yaml:"mailing_file" json:"mailing_file"`
	LocalQuestions []string `yaml:"local_questions,omitempty" json:"local_questions,omitempty"`
}

// Load reads and validates a spec file, filling defaults.
func Load(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wave spec: %w", err)
	}
	return Parse(path, b)
}

// Parse decodes and validates a spec; name is used in error messages.
func Parse(name string, b []byte) (*Spec, error) {
	// The spec, and its publication parameters as YAML for their own strict reader.
	var doc struct {
		Spec        `yaml:",inline"`
		Publication yaml.Node `yaml:"publication"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			// The decoder's word for a file with no document in it.
			return nil, fmt.Errorf("wave spec %s: the file is empty (or holds only comments): a spec gives at least wave_id, sampling_date and ics (each ICS with its code, sample_file and mailing_file)", name)
		}
		return nil, fmt.Errorf("wave spec %s: %w", name, err)
	}
	s := doc.Spec
	if doc.Publication.Kind != 0 {
		// Its errors name the spec and its publication: mapping, a line each.
		o, err := publication.OverridesOf("wave spec "+name+": publication", &doc.Publication)
		if err != nil {
			return nil, err
		}
		if !o.Empty() {
			s.Publication = o
		}
	}
	// Defaults takes a zero for a setting left out; one the spec gives as zero is not
	// left out, and must not be replaced without a word.
	var w written
	if err := yaml.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("wave spec %s: %w", name, err)
	}
	if err := w.checkZeros(); err != nil {
		return nil, fmt.Errorf("wave spec %s: %w", name, err)
	}
	s.Defaults()
	if w.Schedule.FinalLoadDays != nil && *w.Schedule.FinalLoadDays == 0 {
		s.Schedule.FinalLoadDays = 0 // written: the closing record is taken at the close
	}
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("wave spec %s: %w", name, err)
	}
	return &s, nil
}

// written is the settings Defaults fills when they are zero, as the spec's YAML gives
// them: nil when left out (or null), so that a zero written in the spec is told apart
// from one left out.
type written struct {
	DayLength     *Duration `yaml:"day_length"`
	MinEligible   *int      `yaml:"min_eligible"`
	RetentionDays *int      `yaml:"retention_days"`
	Schedule      struct {
		FinalLoadDays *int    `yaml:"final_load_days"`
		FieldworkDays *int    `yaml:"fieldwork_days"`
		Steps         []any   `yaml:"steps"`
		SMSHours      *string `yaml:"sms_hours"`
	} `yaml:"schedule"`
	DBS struct {
		PollEvery     *Duration `yaml:"poll_every"`
		ReplyDeadline *Duration `yaml:"reply_deadline"`
	} `yaml:"dbs"`
}

// checkZeros refuses a zero written where it has no meaning of its own: a zero there
// would else be silently replaced by the default (schedule.final_load_days: 0 has one,
// the closing record at the close, and is kept).
func (w written) checkZeros() error {
	zeroDuration := func(d *Duration) bool { return d != nil && *d == 0 }
	zeroInt := func(n *int) bool { return n != nil && *n == 0 }
	switch {
	case zeroDuration(w.DayLength):
		return fmt.Errorf("day_length 0s: must be positive (leave it out for the default 24h)")
	case zeroInt(w.MinEligible):
		return fmt.Errorf("min_eligible 0: the smallest eligible sample must be at least 1 (leave it out for the default %d)", DefaultMinEligible)
	case zeroInt(w.RetentionDays):
		return fmt.Errorf("retention_days 0: the identifiable data are kept at least 1 day after the close (leave it out for the default %d)", DefaultRetentionDays)
	case zeroDuration(w.DBS.PollEvery):
		return fmt.Errorf("dbs.poll_every 0s: must be positive (leave it out for the default 1m)")
	case zeroDuration(w.DBS.ReplyDeadline):
		return fmt.Errorf("dbs.reply_deadline 0s: must be positive (leave it out for the default 48h)")
	case w.Schedule.SMSHours != nil && strings.TrimSpace(*w.Schedule.SMSHours) == "":
		return fmt.Errorf("schedule.sms_hours is empty: give the hours of England's clock SMS steps are sent in, like %q (leave it out for that default; %q sends at any hour)",
			mailing.DefaultSMSHours, "00:00-24:00")
	case len(w.Schedule.Steps) > 0 && w.Schedule.FieldworkDays == nil:
		// Else every step was "not before fieldwork closes on day 0".
		return fmt.Errorf("schedule.fieldwork_days is required with steps of the spec's own (the day fieldwork closes, counted from day 0: at least %d)", mailing.MinFieldworkDays)
	}
	return nil
}

// Defaults of the settings a spec may leave out.
const (
	DefaultMinEligible   = 4000
	DefaultRetentionDays = 90
)

// Defaults fills every setting the spec leaves out: a zero is taken as left out (Parse
// refuses a zero written in the spec where it has no meaning of its own, and keeps
// schedule.final_load_days: 0).
func (s *Spec) Defaults() {
	if s.DayLength == 0 {
		s.DayLength = Duration(24 * time.Hour)
	}
	if s.MinEligible == 0 {
		s.MinEligible = DefaultMinEligible
	}
	if s.RetentionDays == 0 {
		s.RetentionDays = DefaultRetentionDays
	}
	if s.SurveyURL == "" {
		s.SurveyURL = "https://www.icesurvey.nhs.uk"
	}
	if s.QuestionnaireVersion == "" {
		s.QuestionnaireVersion = "patient-2026.1"
	}
	if s.CarerQuestionnaire == "" {
		s.CarerQuestionnaire = "carer-2026.1"
	}
	if len(s.Schedule.Steps) == 0 {
		// The default steps, with what the spec did say of the schedule: a fieldwork
		// length given is kept (and checked by Validate like any other).
		given := s.Schedule
		s.Schedule = mailing.DefaultSchedule()
		s.Schedule.AllowShortFieldwork, s.Schedule.FinalLoadDays = given.AllowShortFieldwork, given.FinalLoadDays
		if given.SMSHours != "" {
			s.Schedule.SMSHours = given.SMSHours
		}
		if given.FieldworkDays != 0 {
			s.Schedule.FieldworkDays = given.FieldworkDays
		}
	}
	if s.Schedule.FinalLoadDays == 0 {
		s.Schedule.FinalLoadDays = mailing.DefaultFinalLoadDays
	}
	if s.Schedule.SMSHours == "" {
		s.Schedule.SMSHours = mailing.DefaultSMSHours
	}
	if len(s.Templates) > 0 {
		s.Schedule = s.Schedule.WithTemplates(s.Templates)
	}
	if s.DBS.PollEvery == 0 {
		s.DBS.PollEvery = Duration(time.Minute)
	}
	if s.DBS.ReplyDeadline == 0 {
		s.DBS.ReplyDeadline = Duration(48 * time.Hour)
	}
}

var waveIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// EarliestSamplingDate is the day ICSs were established (1 July 2022): no wave samples
// before it.
var EarliestSamplingDate = time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC)

// Validate checks the spec, naming the field at fault.
func (s *Spec) Validate() error {
	if !waveIDPattern.MatchString(s.WaveID) {
		return fmt.Errorf("wave_id %q: want letters, digits, '-' or '_' (at most 64)", s.WaveID)
	}
	for _, r := range schemas.ReservedWaveIDs() {
		if strings.EqualFold(s.WaveID, r) {
			return fmt.Errorf("wave_id %q: reserved (the store's reports/%s/ is not a wave's); choose another", s.WaveID, r)
		}
	}
	// The address printed on every letter: one that cannot be typed into a browser
	// would only be found once the print files had gone.
	if u, err := url.Parse(s.SurveyURL); err != nil || u.Scheme != "https" || u.Host == "" || strings.TrimSpace(s.SurveyURL) != s.SurveyURL {
		return fmt.Errorf("survey_url %q: want the https:// address printed on the letters", s.SurveyURL)
	}
	if s.SamplingDate.IsZero() {
		return fmt.Errorf("sampling_date is required (yyyy-mm-dd)")
	}
	// A mistyped year would only be found by intake, after the wave had started (its id
	// used up): every person rejected as born after the sampling date, or more than 130
	// years before it.
	if s.SamplingDate.Before(EarliestSamplingDate) {
		return fmt.Errorf("sampling_date %s is before ICSs existed (%s): is the year right?", s.SamplingDate.Format(time.DateOnly), EarliestSamplingDate.Format(time.DateOnly))
	}
	if latest := time.Now().UTC().AddDate(1, 0, 0); s.SamplingDate.After(latest) {
		return fmt.Errorf("sampling_date %s is more than a year from today: is the year right?", s.SamplingDate.Format(time.DateOnly))
	}
	if s.DayLength <= 0 {
		return fmt.Errorf("day_length %s must be positive", s.DayLength.D())
	}
	if s.MinEligible < 0 {
		return fmt.Errorf("min_eligible %d must not be negative", s.MinEligible)
	}
	// A negative retention would delete the identifiable data at the close, as soon as
	// it is made: before anyone could check the closing record.
	if s.RetentionDays < 0 {
		return fmt.Errorf("retention_days %d must not be negative (the days after the close the identifiable data are kept)", s.RetentionDays)
	}
	if s.DBS.PollEvery < 0 {
		return fmt.Errorf("dbs.poll_every %s must be positive", s.DBS.PollEvery.D())
	}
	if s.DBS.ReplyDeadline < 0 {
		return fmt.Errorf("dbs.reply_deadline %s must be positive", s.DBS.ReplyDeadline.D())
	}
	if err := s.Schedule.Validate(); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	for _, st := range s.Schedule.Steps {
		// The step names its DBS requests with the wave and ICS: the longest must be a
		// valid request ID, or the deceased check before that step could never be sent.
		if id := schemas.DBSRequestID(s.WaveID, "XXX", st.Name, schemas.MaxDBSRequestAttempt); dbs.ValidRequestID(id) != nil {
			return fmt.Errorf("wave_id %q with schedule step %q makes DBS request IDs of up to %d characters (like %s), over the 100 allowed: shorten one of them",
				s.WaveID, st.Name, len(id), id)
		}
		if st.Channel == mailing.ChannelSMS && !notify.IsUUID(st.Template) {
			return fmt.Errorf("schedule step %s: template %q is not a GOV.UK Notify template ID (map it under the spec's templates)", st.Name, st.Template)
		}
	}
	// People are asked to pass an invitation on to their carer (SPEC §2): the carer
	// questionnaire reaches carers only through the insert a letter encloses.
	if !slices.ContainsFunc(s.Schedule.Steps, func(st mailing.Step) bool { return st.Channel == mailing.ChannelLetter && st.CarerInsert }) {
		return fmt.Errorf("schedule.steps: no letter encloses the carer insert (carer_insert: true on the invitation, as the default schedule has it): no carer would be asked to answer")
	}
	if len(s.ICSs) == 0 {
		return fmt.Errorf("ics: at least one ICS is required")
	}
	seen := map[string]bool{}
	for i, ics := range s.ICSs {
		// Intake's own rule (codes.ValidICSCode): a code the spec let through and intake
		// refused would end the ICS after the wave had started.
		if !codes.ValidICSCode(ics.Code) {
			return fmt.Errorf("ics[%d].code %q: want the ICB's 3-character ODS code (Q and two letters or digits, like QMM)", i, ics.Code)
		}
		if seen[ics.Code] {
			return fmt.Errorf("ics[%d].code %s appears twice", i, ics.Code)
		}
		seen[ics.Code] = true
		if ics.SampleFile == "" || ics.MailingFile == "" {
			return fmt.Errorf("ics[%d] (%s): sample_file and mailing_file are required", i, ics.Code)
		}
		if ics.SampleFile == ics.MailingFile {
			return fmt.Errorf("ics[%d] (%s): sample_file and mailing_file are the same file %q: the sample and the mailing file are two files", i, ics.Code, ics.SampleFile)
		}
		for _, f := range []struct{ field, path string }{{"sample_file", ics.SampleFile}, {"mailing_file", ics.MailingFile}} {
			if ext := strings.ToLower(path.Ext(f.path)); !slices.Contains(schemas.IntakeFileExtensions, ext) {
				return fmt.Errorf("ics[%d] (%s).%s %q: intake reads %s files, not %q", i, ics.Code, f.field, f.path, strings.Join(schemas.IntakeFileExtensions, " or "), ext)
			}
		}
	}
	return s.checkQuestionnaires()
}

// checkQuestionnaires refuses questionnaire versions and local questions the embedded
// catalogue does not have: the daily load is the first to use them, after the wave has
// started (its id used up) and mailed, and would fail every day.
func (s *Spec) checkQuestionnaires() error {
	cat, err := questionnaire.Default()
	if err != nil {
		return err
	}
	for _, v := range []struct{ field, version, typ string }{
		{"questionnaire_version", s.QuestionnaireVersion, questionnaire.Patient},
		{"carer_questionnaire_version", s.CarerQuestionnaire, questionnaire.Carer},
	} {
		if v.version == "" {
			continue // Defaults fills them; a spec built in code may leave them to the load
		}
		qn, err := cat.Resolve(v.version, nil)
		if err != nil {
			return fmt.Errorf("%s %q: not in the questionnaire catalogue (have %s)", v.field, v.version, strings.Join(cat.Versions(), ", "))
		}
		if qn.RespondentType != v.typ {
			return fmt.Errorf("%s %q: a %s questionnaire, not a %s one", v.field, v.version, qn.RespondentType, v.typ)
		}
	}
	bank := map[string]bool{}
	for _, q := range cat.Bank() {
		bank[q.ID] = true
	}
	for i, ics := range s.ICSs {
		for j, id := range ics.LocalQuestions {
			switch {
			case !bank[id]:
				return fmt.Errorf("ics[%d] (%s).local_questions[%d] %q: not a question of the question bank", i, ics.Code, j, id)
			case slices.Contains(ics.LocalQuestions[:j], id):
				return fmt.Errorf("ics[%d] (%s).local_questions[%d] %q: named twice", i, ics.Code, j, id)
			}
		}
	}
	return nil
}

// Codes lists the wave's ICS codes in spec order.
func (s *Spec) Codes() []string {
	out := make([]string, len(s.ICSs))
	for i, c := range s.ICSs {
		out[i] = c.Code
	}
	return out
}

// Date is a calendar date written yyyy-mm-dd.
type Date struct{ time.Time }

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Date) UnmarshalYAML(n *yaml.Node) error {
	t, err := time.Parse("2006-01-02", n.Value)
	if err != nil {
		return fmt.Errorf("line %d: date %q: want yyyy-mm-dd", n.Line, n.Value)
	}
	d.Time = t
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Date) MarshalYAML() (any, error) { return d.Format("2006-01-02"), nil }

// Duration is a time.Duration written like "24h" or "3s".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: duration %q: %w", n.Line, n.Value, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
