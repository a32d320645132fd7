// Package wavespec reads and checks the wave specification a data engineer starts a
// fieldwork wave with (`ice wave start --spec wave.yaml`).
package wavespec

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"icesurvey/dbs"
	"icesurvey/mailing"
	"icesurvey/notify"
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
	var s Spec
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			// The decoder's word for a file with no document in it.
			return nil, fmt.Errorf("wave spec %s: the file is empty (or holds only comments): a spec gives at least wave_id, sampling_date and ics (each ICS with its code, sample_file and mailing_file)", name)
		}
		return nil, fmt.Errorf("wave spec %s: %w", name, err)
	}
	s.Defaults()
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("wave spec %s: %w", name, err)
	}
	return &s, nil
}

// Defaults fills every setting the spec leaves out.
func (s *Spec) Defaults() {
	if s.DayLength == 0 {
		s.DayLength = Duration(24 * time.Hour)
	}
	if s.MinEligible == 0 {
		s.MinEligible = 4000
	}
	if s.RetentionDays == 0 {
		s.RetentionDays = 90
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
		// The default steps, with what the spec did say of the schedule.
		allowShort, finalLoads := s.Schedule.AllowShortFieldwork, s.Schedule.FinalLoadDays
		s.Schedule = mailing.DefaultSchedule()
		s.Schedule.AllowShortFieldwork, s.Schedule.FinalLoadDays = allowShort, finalLoads
	}
	if s.Schedule.FinalLoadDays == 0 {
		s.Schedule.FinalLoadDays = mailing.DefaultFinalLoadDays
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

var (
	waveIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	icsPattern    = regexp.MustCompile(`^[A-Z0-9]{3}$`)
)

// Validate checks the spec, naming the field at fault.
func (s *Spec) Validate() error {
	if !waveIDPattern.MatchString(s.WaveID) {
		return fmt.Errorf("wave_id %q: want letters, digits, '-' or '_' (at most 64)", s.WaveID)
	}
	// The address printed on every letter: one that cannot be typed into a browser
	// would only be found once the print files had gone.
	if u, err := url.Parse(s.SurveyURL); err != nil || u.Scheme != "https" || u.Host == "" || strings.TrimSpace(s.SurveyURL) != s.SurveyURL {
		return fmt.Errorf("survey_url %q: want the https:// address printed on the letters", s.SurveyURL)
	}
	if s.SamplingDate.IsZero() {
		return fmt.Errorf("sampling_date is required (yyyy-mm-dd)")
	}
	if s.DayLength <= 0 {
		return fmt.Errorf("day_length must be positive")
	}
	if s.MinEligible < 0 {
		return fmt.Errorf("min_eligible must not be negative")
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
	if len(s.ICSs) == 0 {
		return fmt.Errorf("ics: at least one ICS is required")
	}
	seen := map[string]bool{}
	for i, ics := range s.ICSs {
		if !icsPattern.MatchString(ics.Code) {
			return fmt.Errorf("ics[%d].code %q: want the ICB's 3-character ODS code", i, ics.Code)
		}
		if seen[ics.Code] {
			return fmt.Errorf("ics[%d].code %s appears twice", i, ics.Code)
		}
		seen[ics.Code] = true
		if ics.SampleFile == "" || ics.MailingFile == "" {
			return fmt.Errorf("ics[%d] (%s): sample_file and mailing_file are required", i, ics.Code)
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
