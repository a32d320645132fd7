// Package mailing is the survey's contact with people: the mailing schedule (SPEC §6),
// the message references that make every send idempotent, the print files handed to
// the print supplier (the only letter channel: the Notify letter path was removed), and
// exactly-once batches of SMS sent through GOV.UK Notify.
//
// Nothing in this package knows about Temporal. Everything it writes goes to the
// store's restricted area (schemas.RestrictedPrefix); its audit events and errors carry
// references, survey record ids and counts, never a name, address or phone number.
package mailing

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
)

// Channels a step can use.
const (
	ChannelLetter = "letter"
	ChannelSMS    = "sms"
)

// MinFieldworkDays is the shortest fieldwork the brochure allows: at least 8 weeks.
const MinFieldworkDays = 56

// MaxReminderLetters is how many reminder letters the brochure allows (p. 13: "up to
// two reminder letters, with the second reminder also including a paper
// questionnaire"); SMS reminders are not counted.
const MaxReminderLetters = 2

// DefaultFinalLoadDays is how many days after fieldwork closes the closing record
// waits for the daily loads of the supplier's last files (convention): a response
// received on the last day is in that day's folder, which the schedule loads the next
// morning.
const DefaultFinalLoadDays = 2

// MaxFinalLoadDays bounds that wait: the closing record, the release drafted from it
// and the retention clock all wait for it.
const MaxFinalLoadDays = 14

// Step is one mailing of a wave: what goes out on which day after the wave starts.
type Step struct {
	// Name identifies the step in references, keys and the audit trail: lower-case
	// letters, digits, '-' and '_'.
	Name string `yaml:"name" json:"name"`
	// Day is the number of days after the wave's start (day 0) the step goes out.
	Day int `yaml:"day" json:"day"`
	// Channel is ChannelLetter or ChannelSMS.
	Channel string `yaml:"channel" json:"channel"`
	// Template is the Notify template id (a UUID) for steps sent through Notify, or
	// the print supplier's template name for printed letters. DefaultSchedule uses
	// symbolic names; a wave's configuration replaces them (WithTemplates).
	Template string `yaml:"template" json:"template"`
	// PaperQuestionnaire encloses a paper questionnaire (letters only).
	PaperQuestionnaire bool `yaml:"paper_questionnaire,omitempty" json:"paper_questionnaire,omitempty"`
	// CarerInsert encloses the insert asking the person to pass the carer
	// questionnaire invitation on to their carer (letters only).
	CarerInsert bool `yaml:"carer_insert,omitempty" json:"carer_insert,omitempty"`
}

// Date is the calendar day the step goes out for a wave that started on start.
func (s Step) Date(start time.Time) time.Time { return start.AddDate(0, 0, s.Day) }

// Kind is "invitation" for the day-0 letter and "reminder" for every other step.
func (s Step) Kind() string {
	if s.Day == 0 && s.Channel == ChannelLetter {
		return "invitation"
	}
	return "reminder"
}

// Schedule is a wave's mailing plan.
type Schedule struct {
	Steps []Step `yaml:"steps" json:"steps"`
	// FieldworkDays is the day fieldwork closes, counted from day 0.
	FieldworkDays int `yaml:"fieldwork_days" json:"fieldwork_days"`
	// FinalLoadDays is how many days after the close the closing record (each person's
	// final outcome) is taken, so that the daily loads bring in the supplier's last
	// files first: no mailing goes out in those days. Left out of a wave spec, it is
	// DefaultFinalLoadDays; written as 0, the record is taken at the close (so it is
	// always written out, never omitted as empty).
	FinalLoadDays int `yaml:"final_load_days" json:"final_load_days,omitempty"`
	// AllowShortFieldwork lifts the 56-day minimum, for tests and demonstrations only.
	AllowShortFieldwork bool `yaml:"allow_short_fieldwork,omitempty" json:"allow_short_fieldwork,omitempty"`
	// SMSHours is the window of England's clock the SMS steps are sent in, "HH:MM-HH:MM"
	// (ParseSendingHours): an SMS step that falls due, or whose DBS reply comes, outside
	// it waits for it to open. It applies only to a wave in real days (HoursApply), not
	// to one in compressed days. Left out of a wave spec, it is DefaultSMSHours;
	// "00:00-24:00" sends at any hour.
	SMSHours string `yaml:"sms_hours,omitempty" json:"sms_hours,omitempty"`
}

// DefaultSchedule is the SPEC §6 convention: invitation letter on day 0 (with the carer
// insert), SMS reminders on days 3, 17 and 31, reminder letters on days 14 and 28 (the
// second with a paper questionnaire and the carer insert again), closing on day 56.
func DefaultSchedule() Schedule {
	return Schedule{
		Steps: []Step{
			{Name: "invitation", Day: 0, Channel: ChannelLetter, Template: "invitation_letter", CarerInsert: true},
			{Name: "sms1", Day: 3, Channel: ChannelSMS, Template: "sms_reminder_1"},
			{Name: "reminder1", Day: 14, Channel: ChannelLetter, Template: "reminder_letter_1"},
			{Name: "sms2", Day: 17, Channel: ChannelSMS, Template: "sms_reminder_2"},
			{Name: "reminder2", Day: 28, Channel: ChannelLetter, Template: "reminder_letter_2", PaperQuestionnaire: true, CarerInsert: true},
			{Name: "sms3", Day: 31, Channel: ChannelSMS, Template: "sms_reminder_3"},
		},
		FieldworkDays: MinFieldworkDays,
		FinalLoadDays: DefaultFinalLoadDays,
		SMSHours:      DefaultSMSHours,
	}
}

var stepNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// Validate checks the schedule and reports every problem at once: at least one step;
// the first a letter on day 0; at most two reminder letters, the second enclosing the
// paper questionnaire; days in ascending order (two steps may share a day);
// unique, key-safe names; a known channel and a template on every step; enclosures only
// on letters; every step before the close; fieldwork of at least 56 days unless
// AllowShortFieldwork is set; a wait for the final loads of at most
// MaxFinalLoadDays; and SMS sending hours, when given, that ParseSendingHours reads.
func (s Schedule) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if len(s.Steps) == 0 {
		add("no steps")
	} else if first := s.Steps[0]; first.Channel != ChannelLetter || first.Day != 0 {
		add("the first step must be a letter on day 0, got %s on day %d", first.Channel, first.Day)
	}
	seen := map[string]bool{}
	reminders := 0 // letters after the first: reminder letters
	for i, st := range s.Steps {
		if i > 0 && st.Channel == ChannelLetter {
			reminders++
			switch {
			case reminders == 2 && !st.PaperQuestionnaire:
				add("step %q: the second reminder letter must enclose the paper questionnaire (paper_questionnaire: true)", st.Name)
			case reminders == MaxReminderLetters+1:
				add("step %q: a third reminder letter (people are sent up to two)", st.Name)
			}
		}
		switch {
		case !stepNameRE.MatchString(st.Name):
			add("step %d: name %q must be 1-40 of a-z, 0-9, '-' and '_', starting with a letter or digit", i+1, st.Name)
		case seen[st.Name]:
			add("step %d: duplicate name %q", i+1, st.Name)
		}
		seen[st.Name] = true
		if st.Channel != ChannelLetter && st.Channel != ChannelSMS {
			add("step %q: channel %q must be %q or %q", st.Name, st.Channel, ChannelLetter, ChannelSMS)
		}
		if st.Template == "" {
			add("step %q: no template", st.Name)
		}
		if st.Channel == ChannelSMS && (st.PaperQuestionnaire || st.CarerInsert) {
			add("step %q: an SMS cannot have enclosures", st.Name)
		}
		if st.Day < 0 {
			add("step %q: day %d is negative", st.Name, st.Day)
		}
		if i > 0 && st.Day < s.Steps[i-1].Day {
			add("step %q: day %d comes before the previous step's day %d (steps must be in day order)", st.Name, st.Day, s.Steps[i-1].Day)
		}
		if st.Day >= s.FieldworkDays {
			add("step %q: day %d is not before fieldwork closes on day %d", st.Name, st.Day, s.FieldworkDays)
		}
	}
	if s.FieldworkDays < MinFieldworkDays && !s.AllowShortFieldwork {
		add("fieldwork of %d days is shorter than the minimum %d (set allow_short_fieldwork only for tests and demonstrations)", s.FieldworkDays, MinFieldworkDays)
	}
	if s.FieldworkDays < 1 {
		add("fieldwork_days must be at least 1")
	}
	if s.FinalLoadDays < 0 || s.FinalLoadDays > MaxFinalLoadDays {
		add("final_load_days %d must be from 0 to %d (the days after the close the closing record waits for the supplier's last files)", s.FinalLoadDays, MaxFinalLoadDays)
	}
	if s.SMSHours != "" {
		if _, err := ParseSendingHours(s.SMSHours); err != nil {
			add("sms_hours %v (the hours of England's clock SMS steps are sent in)", err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mailing: invalid schedule: %w", err)
	}
	return nil
}

// Step returns the step called name.
func (s Schedule) Step(name string) (Step, bool) {
	for _, st := range s.Steps {
		if st.Name == name {
			return st, true
		}
	}
	return Step{}, false
}

// CloseDate is the day fieldwork closes for a wave that started on start.
func (s Schedule) CloseDate(start time.Time) time.Time { return start.AddDate(0, 0, s.FieldworkDays) }

// WithTemplates returns a copy of the schedule with each step's Template replaced by
// ids[Template] where there is one (e.g. symbolic names to Notify template ids).
func (s Schedule) WithTemplates(ids map[string]string) Schedule {
	out := s
	out.Steps = append([]Step(nil), s.Steps...)
	for i := range out.Steps {
		if id, ok := ids[out.Steps[i].Template]; ok {
			out.Steps[i].Template = id
		}
	}
	return out
}

// ParseSchedule reads a schedule from YAML (or JSON, which YAML includes), refusing
// unknown fields, and validates it.
func ParseSchedule(data []byte) (Schedule, error) {
	var s Schedule
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return Schedule{}, fmt.Errorf("mailing: parse schedule: %w", err)
	}
	if err := s.Validate(); err != nil {
		return Schedule{}, err
	}
	return s, nil
}
