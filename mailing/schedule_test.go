package mailing_test

import (
	"strings"
	"testing"
	"time"

	"icesurvey/mailing"
)

func TestDefaultSchedule(t *testing.T) {
	s := mailing.DefaultSchedule()
	if err := s.Validate(); err != nil {
		t.Fatalf("default schedule invalid: %v", err)
	}
	want := []struct {
		name, channel string
		day           int
		paper         bool
	}{
		{"invitation", "letter", 0, false}, {"sms1", "sms", 3, false}, {"reminder1", "letter", 14, false},
		{"sms2", "sms", 17, false}, {"reminder2", "letter", 28, true}, {"sms3", "sms", 31, false},
	}
	if len(s.Steps) != len(want) {
		t.Fatalf("%d steps, want %d", len(s.Steps), len(want))
	}
	for i, w := range want {
		got := s.Steps[i]
		if got.Name != w.name || got.Channel != w.channel || got.Day != w.day || got.PaperQuestionnaire != w.paper {
			t.Errorf("step %d = %+v, want %+v", i, got, w)
		}
	}
	if s.FieldworkDays < 56 {
		t.Errorf("fieldwork %d days", s.FieldworkDays)
	}
	if !s.Steps[0].CarerInsert || s.Steps[0].Kind() != "invitation" || s.Steps[2].Kind() != "reminder" {
		t.Errorf("invitation step wrong: %+v", s.Steps[0])
	}
	start := time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)
	if d := s.Steps[4].Date(start); !d.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("reminder2 date %v", d)
	}
	if d := s.CloseDate(start); !d.Equal(start.AddDate(0, 0, 56)) {
		t.Errorf("close date %v", d)
	}
	if st, ok := s.Step("sms2"); !ok || st.Day != 17 {
		t.Errorf("Step(sms2) = %+v, %v", st, ok)
	}
	mapped := s.WithTemplates(map[string]string{"sms_reminder_1": "f33517ff-2a88-4f6e-b855-c550268ce08a"})
	if mapped.Steps[1].Template != "f33517ff-2a88-4f6e-b855-c550268ce08a" || s.Steps[1].Template != "sms_reminder_1" {
		t.Errorf("WithTemplates changed the wrong schedule")
	}
}

func TestScheduleValidate(t *testing.T) {
	letter := func(name string, day int) mailing.Step {
		return mailing.Step{Name: name, Day: day, Channel: "letter", Template: "t"}
	}
	sms := func(name string, day int) mailing.Step {
		return mailing.Step{Name: name, Day: day, Channel: "sms", Template: "t"}
	}
	tests := []struct {
		name    string
		s       mailing.Schedule
		wantErr string
	}{
		{"minimal", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0)}, FieldworkDays: 56}, ""},
		{"same day allowed", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), sms("s", 0)}, FieldworkDays: 60}, ""},
		{"short fieldwork allowed for demo", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), sms("s", 1)}, FieldworkDays: 3, AllowShortFieldwork: true}, ""},
		{"no steps", mailing.Schedule{FieldworkDays: 56}, "no steps"},
		{"sms first", mailing.Schedule{Steps: []mailing.Step{sms("s", 0), letter("inv", 1)}, FieldworkDays: 56}, "first step must be a letter on day 0"},
		{"letter not day 0", mailing.Schedule{Steps: []mailing.Step{letter("inv", 1)}, FieldworkDays: 56}, "first step must be a letter on day 0"},
		{"descending days", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), sms("a", 10), sms("b", 5)}, FieldworkDays: 56}, "day order"},
		{"duplicate names", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), sms("inv", 3)}, FieldworkDays: 56}, "duplicate name"},
		{"bad name", mailing.Schedule{Steps: []mailing.Step{letter("Inv/1", 0)}, FieldworkDays: 56}, "name"},
		{"bad channel", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), {Name: "e", Day: 2, Channel: "email", Template: "t"}}, FieldworkDays: 56}, "channel"},
		{"no template", mailing.Schedule{Steps: []mailing.Step{{Name: "inv", Channel: "letter"}}, FieldworkDays: 56}, "no template"},
		{"sms with enclosure", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), {Name: "s", Day: 3, Channel: "sms", Template: "t", PaperQuestionnaire: true}}, FieldworkDays: 56}, "enclosures"},
		{"short fieldwork", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0)}, FieldworkDays: 42}, "shorter than the minimum"},
		{"step after close", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), sms("s", 60)}, FieldworkDays: 56}, "not before fieldwork closes"},
		{"step after short close", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), sms("s", 5)}, FieldworkDays: 5, AllowShortFieldwork: true}, "not before fieldwork closes"},
		// SPEC §2 (brochure p. 13): up to two reminder letters, the second with a paper
		// questionnaire.
		{"one reminder letter, no paper", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), letter("r1", 14)}, FieldworkDays: 56}, ""},
		{"two reminder letters, the second with paper", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), letter("r1", 14),
			{Name: "r2", Day: 28, Channel: "letter", Template: "t", PaperQuestionnaire: true}}, FieldworkDays: 56}, ""},
		{"second reminder letter without paper", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), letter("r1", 14), letter("r2", 28)}, FieldworkDays: 56},
			`step "r2": the second reminder letter must enclose the paper questionnaire`},
		{"three reminder letters", mailing.Schedule{Steps: []mailing.Step{letter("inv", 0), letter("r1", 14),
			{Name: "r2", Day: 28, Channel: "letter", Template: "t", PaperQuestionnaire: true}, letter("r3", 42)}, FieldworkDays: 56},
			`step "r3": a third reminder letter (people are sent up to two)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.s.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseSchedule(t *testing.T) {
	yml := `
fieldwork_days: 63
steps:
  - {name: invitation, day: 0, channel: letter, template: inv, carer_insert: true}
  - {name: text1, day: 2, channel: sms, template: f33517ff-2a88-4f6e-b855-c550268ce08a}
  - {name: final, day: 21, channel: letter, template: rem, paper_questionnaire: true}
`
	s, err := mailing.ParseSchedule([]byte(yml))
	if err != nil {
		t.Fatalf("ParseSchedule: %v", err)
	}
	if s.FieldworkDays != 63 || len(s.Steps) != 3 || !s.Steps[0].CarerInsert || !s.Steps[2].PaperQuestionnaire {
		t.Errorf("parsed %+v", s)
	}
	js := `{"fieldwork_days": 10, "allow_short_fieldwork": true, "steps": [{"name": "inv", "day": 0, "channel": "letter", "template": "x"}]}`
	if _, err := mailing.ParseSchedule([]byte(js)); err != nil {
		t.Errorf("JSON: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown field": "fieldwork_days: 56\nsteps: [{name: inv, day: 0, channel: letter, template: x, colour: red}]",
		"invalid":       "fieldwork_days: 20\nsteps: [{name: inv, day: 0, channel: letter, template: x}]",
		"not yaml":      "steps: [",
	} {
		if _, err := mailing.ParseSchedule([]byte(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}
