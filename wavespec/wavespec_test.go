package wavespec

import (
	"strings"
	"testing"
	"time"
)

const good = `
wave_id: W1
sampling_date: 2026-11-02
templates: {sms_reminder_1: 11111111-1111-4111-8111-111111111111, sms_reminder_2: 11111111-1111-4111-8111-111111111112, sms_reminder_3: 11111111-1111-4111-8111-111111111113}
ics:
  - {code: QMM, sample_file: s.csv, mailing_file: m.csv}
`

func TestParseDefaults(t *testing.T) {
	s, err := Parse("wave.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	if s.DayLength.D() != 24*time.Hour || s.MinEligible != 4000 || s.RetentionDays != 90 || len(s.Schedule.Steps) != 6 || s.Schedule.FieldworkDays < 56 ||
		s.Schedule.FinalLoadDays != 2 {
		t.Errorf("defaults not applied: %+v", s)
	}
	for _, st := range s.Schedule.Steps {
		if st.Channel == "sms" && !strings.Contains(st.Template, "-4111-") {
			t.Errorf("step %s template %q not mapped", st.Name, st.Template)
		}
	}
}

// The closing record's wait for the final loads: two days unless the spec says, under
// schedule, with or without steps of its own (0 included).
func TestFinalLoadDays(t *testing.T) {
	steps := `
  fieldwork_days: 56
  steps:
    - {name: invitation, day: 0, channel: letter, template: invitation_letter, carer_insert: true}
    - {name: reminder, day: 14, channel: letter, template: reminder_letter_1}
`
	for _, c := range []struct {
		name, schedule string
		want           int
	}{
		{"default", "", 2},
		{"said, default steps", "schedule: {final_load_days: 5}\n", 5},
		{"steps of its own, unsaid", "schedule:" + steps, 2},
		{"steps of its own, said", "schedule:\n  final_load_days: 7" + steps, 7},
		// Zero has a meaning of its own, the record at the close: it is kept.
		{"said zero, default steps", "schedule: {final_load_days: 0}\n", 0},
		{"said zero, steps of its own", "schedule:\n  final_load_days: 0" + steps, 0},
		{"null: left out", "schedule: {final_load_days: null}\n", 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("wave.yaml", []byte(good+c.schedule))
			if err != nil {
				t.Fatal(err)
			}
			if s.Schedule.FinalLoadDays != c.want {
				t.Errorf("final_load_days %d, want %d", s.Schedule.FinalLoadDays, c.want)
			}
		})
	}
}

// A fieldwork length given without steps of its own is kept with the default steps
// (it was replaced by 56).
func TestFieldworkDaysKeptWithDefaultSteps(t *testing.T) {
	for _, c := range []struct {
		schedule string
		want     int
	}{
		{"", 56},
		{"schedule: {fieldwork_days: 70}\n", 70},
		{"schedule: {fieldwork_days: 70, final_load_days: 3}\n", 70},
	} {
		s, err := Parse("wave.yaml", []byte(good+c.schedule))
		if err != nil {
			t.Fatalf("%q: %v", c.schedule, err)
		}
		if s.Schedule.FieldworkDays != c.want || len(s.Schedule.Steps) != 6 {
			t.Errorf("%q: fieldwork_days %d with %d steps, want %d with the 6 default steps", c.schedule, s.Schedule.FieldworkDays, len(s.Schedule.Steps), c.want)
		}
	}
}

// longWave is a wave id of the most characters allowed.
var longWave = strings.Repeat("w", 64)

// A wave id of the most characters allowed, with the default schedule's step names,
// makes DBS request IDs that can be sent.
func TestLongestWaveIDWithDefaultSteps(t *testing.T) {
	if _, err := Parse("wave.yaml", []byte(strings.Replace(good, "W1", longWave, 1))); err != nil {
		t.Fatal(err)
	}
}

func TestParseErrorsNameTheField(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"bad wave id", strings.Replace(good, "W1", "W 1", 1), "wave_id"},
		{"wave id the reports area reserves", strings.Replace(good, "wave_id: W1", "wave_id: Profiles", 1), `wave_id "Profiles": reserved`},
		{"wave id of the publication reports", strings.Replace(good, "wave_id: W1", "wave_id: publication", 1), `wave_id "publication": reserved`},
		{"wave id of the linkage reports", strings.Replace(good, "wave_id: W1", "wave_id: linkage", 1), `wave_id "linkage": reserved`},
		{"blank survey URL", good + "survey_url: \"  \"\n", `survey_url "  ": want the https:// address`},
		{"survey URL without https", good + "survey_url: www.icesurvey.nhs.uk\n", "survey_url"},
		{"no sampling date", strings.Replace(good, "sampling_date: 2026-11-02\n", "", 1), "sampling_date"},
		{"bad date", strings.Replace(good, "2026-11-02", "02/11/2026", 1), "yyyy-mm-dd"},
		{"unmapped SMS template", strings.Replace(good, "sms_reminder_2: 11111111-1111-4111-8111-111111111112, ", "", 1), "not a GOV.UK Notify template ID"},
		{"bad ICS code", strings.Replace(good, "code: QMM", "code: Norfolk", 1), "ics[0].code"},
		// Codes intake refuses (every ICB code is Qxx) ended the ICS after the wave began.
		{"ICS code not Q", strings.Replace(good, "code: QMM", "code: ABC", 1), `ics[0].code "ABC": want the ICB's 3-character ODS code (Q and two letters or digits`},
		{"ICS code lower case", strings.Replace(good, "code: QMM", "code: qmm", 1), `ics[0].code "qmm"`},
		{"one file for both", strings.Replace(good, "mailing_file: m.csv", "mailing_file: s.csv", 1), `sample_file and mailing_file are the same file "s.csv"`},
		{"a format intake cannot read", strings.Replace(good, "sample_file: s.csv", "sample_file: s.py", 1), `ics[0] (QMM).sample_file "s.py": intake reads .csv or .xlsx files, not ".py"`},
		{"mailing file without extension", strings.Replace(good, "mailing_file: m.csv", "mailing_file: mailing", 1), `ics[0] (QMM).mailing_file "mailing"`},
		{"sampling date far ahead", strings.Replace(good, "2026-11-02", "2099-11-02", 1), "sampling_date 2099-11-02 is more than a year from today: is the year right?"},
		{"sampling date before ICSs", strings.Replace(good, "2026-11-02", "1900-01-01", 1), "sampling_date 1900-01-01 is before ICSs existed (2022-07-01)"},
		// A fieldwork length given without steps is kept, so checked like any other.
		{"fieldwork too short, default steps", good + "schedule: {fieldwork_days: 10}\n", "fieldwork of 10 days is shorter than the minimum 56"},
		{"duplicate ICS", good + "  - {code: QMM, sample_file: a.csv, mailing_file: b.csv}\n", "appears twice"},
		{"missing file", strings.Replace(good, ", mailing_file: m.csv", "", 1), "mailing_file"},
		{"empty file", "", "wave spec wave.yaml: the file is empty"},
		{"only comments", "# to fill in\n\n", "wave spec wave.yaml: the file is empty"},
		{"unknown field", good + "colour: blue\n", "colour"},
		{"bad duration", good + "day_length: soon\n", "duration"},
		{"final loads too long", good + "schedule: {final_load_days: 15}\n", "final_load_days 15 must be from 0 to 14"},
		{"final loads negative", good + "schedule: {final_load_days: -1}\n", "final_load_days -1"},
		// The SMS sending hours, on England's clock.
		{"SMS hours not a window", good + "schedule: {sms_hours: \"9-8\"}\n", `schedule: mailing: invalid schedule: sms_hours "9-8": opening time "9" is not a time of day HH:MM`},
		{"SMS hours one time", good + "schedule: {sms_hours: \"09:00\"}\n", `sms_hours "09:00": want the opening and closing times of day in England joined by '-', like "09:00-20:00"`},
		{"SMS hours overnight", good + "schedule: {sms_hours: \"20:00-09:00\"}\n", `sms_hours "20:00-09:00": opens at 20:00, not before it closes at 09:00`},
		{"SMS hours past midnight", good + "schedule: {sms_hours: \"09:00-25:00\"}\n", `sms_hours "09:00-25:00": closing time "25:00" is not a time of day`},
		{"SMS hours with steps of its own", good + "schedule:\n  fieldwork_days: 56\n  sms_hours: 9am-8pm\n  steps:\n    - {name: invitation, day: 0, channel: letter, template: invitation_letter, carer_insert: true}\n",
			`sms_hours "9am-8pm": opening time "9am" is not a time of day HH:MM`},
		{"SMS hours empty", good + "schedule: {sms_hours: \"\"}\n", `schedule.sms_hours is empty: give the hours of England's clock SMS steps are sent in, like "09:00-20:00" (leave it out for that default; "00:00-24:00" sends at any hour)`},
		// Negatives: a retention of -5 deleted the identifiable data at the close.
		{"negative retention", good + "retention_days: -5\n", "retention_days -5 must not be negative"},
		{"negative minimum", good + "min_eligible: -1\n", "min_eligible -1 must not be negative"},
		{"negative day length", good + "day_length: -1h\n", "day_length -1h0m0s must be positive"},
		{"negative DBS poll", good + "dbs: {poll_every: -1m}\n", "dbs.poll_every -1m0s must be positive"},
		{"negative DBS deadline", good + "dbs: {reply_deadline: -1h}\n", "dbs.reply_deadline -1h0m0s must be positive"},
		// A zero written in the spec is not taken for one left out (min_eligible: 0 ran
		// with 4000).
		{"zero minimum", good + "min_eligible: 0\n", "min_eligible 0: the smallest eligible sample must be at least 1 (leave it out for the default 4000)"},
		{"zero retention", good + "retention_days: 0\n", "retention_days 0: the identifiable data are kept at least 1 day after the close (leave it out for the default 90)"},
		{"zero day length", good + "day_length: 0s\n", "day_length 0s: must be positive"},
		{"zero DBS poll", good + "dbs: {poll_every: 0s}\n", "dbs.poll_every 0s: must be positive"},
		{"zero DBS deadline", good + "dbs: {reply_deadline: 0h}\n", "dbs.reply_deadline 0s: must be positive"},
		// The first release's parameters, checked as a parameters file's, lines and all.
		{"publication parameter unknown", good + "publication:\n  z: 2\n", "wave spec wave.yaml: publication: line 8: unknown field \"z\": z is computed from confidence"},
		{"publication parameter of the wrong type", good + "publication:\n  min_base: ten\n", `wave spec wave.yaml: publication: line 8: field min_base: "ten", want a whole number`},
		{"publication confidence as a percentage", good + "publication: {confidence: 95}\n", "wave spec wave.yaml: publication: estimate: confidence = 95, want 0 < confidence < 1 (a fraction"},
		{"publication not a mapping", good + "publication: [min_base]\n", "wave spec wave.yaml: publication: line 7: want a mapping"},
		{"DBS request IDs too long", strings.Replace(good, "W1", longWave, 1) +
			"schedule: {fieldwork_days: 56, steps: [{name: a-rather-long-name-for-the-first-letter, day: 0, channel: letter, template: invitation_letter, carer_insert: true}]}\n",
			`with schedule step "a-rather-long-name-for-the-first-letter" makes DBS request IDs of up to 112 characters`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("wave.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "wave spec wave.yaml: ") {
				t.Fatalf("err = %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// Settings written as null are left out: the defaults fill them.
func TestNullIsLeftOut(t *testing.T) {
	s, err := Parse("wave.yaml", []byte(good+"min_eligible: null\nretention_days:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.MinEligible != DefaultMinEligible || s.RetentionDays != DefaultRetentionDays {
		t.Errorf("min_eligible %d, retention_days %d: want the defaults", s.MinEligible, s.RetentionDays)
	}
}

// A spec's publication: mapping sets the first release's parameters; left out, or
// empty, it sets none (the defaults).
func TestPublicationParameters(t *testing.T) {
	s, err := Parse("wave.yaml", []byte(good+"publication:\n  confidence: 0.9\n  min_base: 20\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Publication == nil || s.Publication.Confidence == nil || *s.Publication.Confidence != 0.9 || s.Publication.MinBase == nil || *s.Publication.MinBase != 20 || s.Publication.Lo != nil {
		t.Errorf("publication parameters read as %+v", s.Publication)
	}
	for _, spec := range []string{good, good + "publication: {}\n", good + "publication:\n"} {
		s, err := Parse("wave.yaml", []byte(spec))
		if err != nil || s.Publication != nil {
			t.Errorf("%q: publication %+v (%v), want none", spec, s.Publication, err)
		}
	}
}

// TestQuestionnairesCheckedAtStart: the questionnaire versions and each ICS's local
// questions are first used by the daily load, after the wave has started and mailed;
// one the catalogue does not have is refused by the spec, naming the field.
func TestQuestionnairesCheckedAtStart(t *testing.T) {
	withLocal := strings.Replace(good, "mailing_file: m.csv}", "mailing_file: m.csv, local_questions: [LQ_LONELINESS, LQ_CARER_BREAK]}", 1)
	if _, err := Parse("wave.yaml", []byte(withLocal)); err != nil {
		t.Fatalf("bank questions (one only for carers): %v", err)
	}
	if _, err := Parse("wave.yaml", []byte(good+"questionnaire_version: patient-2026.1\ncarer_questionnaire_version: carer-2026.1\n")); err != nil {
		t.Fatalf("the catalogue's versions: %v", err)
	}
	for _, c := range []struct{ name, yaml, want string }{
		{"unknown patient version", good + "questionnaire_version: patient-2062.1\n", `questionnaire_version "patient-2062.1": not in the questionnaire catalogue (have carer-2026.1, patient-2026.1)`},
		{"carer version as the patient's", good + "questionnaire_version: carer-2026.1\n", `questionnaire_version "carer-2026.1": a carer questionnaire, not a patient one`},
		{"patient version as the carer's", good + "carer_questionnaire_version: patient-2026.1\n", `carer_questionnaire_version "patient-2026.1": a patient questionnaire, not a carer one`},
		{"misspelt local question", strings.Replace(withLocal, "LQ_LONELINESS", "LQ_LONELYNESS", 1), `ics[0] (QMM).local_questions[0] "LQ_LONELYNESS": not a question of the question bank`},
		{"core question as a local one", strings.Replace(withLocal, "LQ_CARER_BREAK", "P_CONSENT_LINK", 1), `ics[0] (QMM).local_questions[1] "P_CONSENT_LINK": not a question of the question bank`},
		{"local question twice", strings.Replace(withLocal, "LQ_CARER_BREAK", "LQ_LONELINESS", 1), `ics[0] (QMM).local_questions[1] "LQ_LONELINESS": named twice`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("wave.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), "wave spec wave.yaml: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming wave.yaml with %q", err, c.want)
			}
		})
	}
}

// TestOwnStepsNeedFieldworkDays: a schedule given in full without fieldwork_days is
// refused with one message naming the field, not one per step ("day 0 is not before
// fieldwork closes on day 0", ...).
func TestOwnStepsNeedFieldworkDays(t *testing.T) {
	steps := `schedule:
  steps:
    - {name: invitation, day: 0, channel: letter, template: invitation_letter, carer_insert: true}
    - {name: reminder, day: 21, channel: letter, template: reminder_letter_1}
`
	_, err := Parse("wave.yaml", []byte(good+steps))
	want := "wave spec wave.yaml: schedule.fieldwork_days is required with steps of the spec's own (the day fieldwork closes, counted from day 0: at least 56)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if _, err := Parse("wave.yaml", []byte(good+strings.Replace(steps, "schedule:\n", "schedule:\n  fieldwork_days: 63\n", 1))); err != nil {
		t.Fatalf("with fieldwork_days: %v", err)
	}
}

// TestOwnStepsInviteCarers: people are asked to pass an invitation on to their carer
// (SPEC §2), by the insert a letter encloses. A schedule of the spec's own in which no
// letter carries it (the README's custom schedule never said so) invited no carer, and
// nothing told the engineer; it is refused, naming the field.
func TestOwnStepsInviteCarers(t *testing.T) {
	own := `schedule:
  fieldwork_days: 63
  steps:
    - {name: invitation, day: 0, channel: letter, template: invitation_letter}
    - {name: reminder, day: 21, channel: letter, template: reminder_letter_1}
`
	_, err := Parse("wave.yaml", []byte(good+own))
	want := "schedule.steps: no letter encloses the carer insert (carer_insert: true on the invitation, as the default schedule has it)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want %q", err, want)
	}
	for _, where := range []string{"invitation_letter}", "reminder_letter_1}"} {
		ok := strings.Replace(own, where, strings.TrimSuffix(where, "}")+", carer_insert: true}", 1)
		if _, err := Parse("wave.yaml", []byte(good+ok)); err != nil {
			t.Errorf("insert with %s: %v", where, err)
		}
	}
}

// The SMS sending hours: 09:00-20:00 in England unless the spec says, under schedule,
// with the default steps or its own.
func TestSMSHours(t *testing.T) {
	steps := `
  fieldwork_days: 56
  steps:
    - {name: invitation, day: 0, channel: letter, template: invitation_letter, carer_insert: true}
`
	for _, c := range []struct{ name, schedule, want string }{
		{"default", "", "09:00-20:00"},
		{"null: left out", "schedule: {sms_hours: null}\n", "09:00-20:00"},
		{"said, default steps", "schedule: {sms_hours: \"10:00-19:30\"}\n", "10:00-19:30"},
		{"said with other schedule settings", "schedule: {fieldwork_days: 70, sms_hours: \"08:00-21:00\"}\n", "08:00-21:00"},
		{"steps of its own, unsaid", "schedule:" + steps, "09:00-20:00"},
		{"steps of its own, said", "schedule:\n  sms_hours: \"00:00-24:00\"" + steps, "00:00-24:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse("wave.yaml", []byte(good+c.schedule))
			if err != nil {
				t.Fatal(err)
			}
			if s.Schedule.SMSHours != c.want {
				t.Errorf("schedule.sms_hours %q, want %q", s.Schedule.SMSHours, c.want)
			}
		})
	}
}
