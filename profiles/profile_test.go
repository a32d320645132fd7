package profiles

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestEmbeddedProfiles(t *testing.T) {
	want := []string{"black-men-multimorbidity-cancer", "learning-disability-hospital-discharge", "south-asian-diabetes",
		"women-multimorbidity-heart", "young-people-mental-health-transition"}
	if got := strings.Join(IDs(), ","); got != strings.Join(want, ",") {
		t.Fatalf("profiles %s, want the methodology's five: %s", got, strings.Join(want, ","))
	}
	for _, id := range want {
		p, err := Get(id)
		if err != nil {
			t.Fatal(err)
		}
		national, pending := 0, 0
		for _, e := range p.ExpectedCare {
			if e.Level == LevelNational && e.Status == StatusInPlace && strings.HasPrefix(e.Source, "NICE") {
				national++
			}
			if e.Source == SourcePending {
				pending++
				if e.Status != StatusToBeRecorded {
					t.Errorf("%s %s: pending source with status %s", id, e.ID, e.Status)
				}
			}
		}
		if national == 0 || pending == 0 {
			t.Errorf("%s: %d national NICE expectations, %d left for the local team; want both", id, national, pending)
		}
	}
	if _, err := Get("nope"); err == nil {
		t.Error("unknown profile found")
	}
}

// A profile's own limitations hold whatever the linkage has done: linked conditions are
// never applied to the survey cohort (linkage outputs are keyed by release pseudonyms,
// which join to no survey response), so none may say they wait for linkage.
func TestProfileLimitationsDoNotWaitForLinkage(t *testing.T) {
	for _, id := range IDs() {
		p, err := Get(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range p.Limitations {
			low := strings.ToLower(l)
			for _, stale := range []string{"until link", "once link", "when link", "until the link", "linkage exists", "linked data exists"} {
				if strings.Contains(low, stale) {
					t.Errorf("%s: limitation %q waits for linkage (%q), but a linkage release never narrows the survey cohort", id, l, stale)
				}
			}
		}
	}
}

// Each broken field is named, with the file.
func TestProfileValidationErrors(t *testing.T) {
	orig, err := os.ReadFile("defs/south-asian-diabetes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	session := "sessions:\n  - {id: fg-1, method: focus_group, date: 2026-05-12, participants: 6, consent_recorded: true, transcript_key: sessions/x/fg-1.txt, codebook_version: ice-integration-themes-v1}\n"
	withSession := strings.Replace(string(orig), "sessions: []\n", session, 1)
	if _, err := Parse([]byte(withSession), "ok.yaml"); err != nil {
		t.Fatalf("valid session refused: %v", err)
	}
	cases := []struct {
		name, base, from, to, want string
	}{
		{"level", "", "    level: local\n    status: to_be_recorded\n    themes: [burden", "    level: regional\n    status: to_be_recorded\n    themes: [burden", "expected_care[1].level: \"regional\""},
		{"pending source in place", "", "    status: to_be_recorded\n    themes: [burden", "    status: in_place\n    themes: [burden", "expected_care[1].status: in_place, but the source is still to be recorded"},
		{"date", "", "date: 2015-12", "date: Dec 2015", "expected_care[0].date"},
		{"theme", "", "themes: [holistic, involvement]", "themes: [holistic, kindness]", `expected_care[0].themes[1]: no theme "kindness"`},
		{"question", "", "questions: [P_LISTENED, P_INVOLVED, P_CARE_PLAN]", "questions: [P_LISTENED, P_NOPE]", `expected_care[0].questions[1]: no closed question "P_NOPE"`},
		{"cohort", "", "ethnic_groups: [south_asian]", "ethnic_groups: [southasian]", "characteristics.cohort.ethnic_groups[0]"},
		{"stakeholder", "", "status: not_yet_contacted}\n  - {organisation: Primary", "status: ignored}\n  - {organisation: Primary", `stakeholders[0].status: "ignored"`},
		{"unknown field", "", "rationale: >-", "rational: >-", "field rational not found"},
		{"small focus group", withSession, "participants: 6", "participants: 3", "sessions[0].participants: 3: a focus group has 5 to 8 people"},
		{"interview of two", withSession, "method: focus_group, date: 2026-05-12, participants: 6", "method: interview, date: 2026-05-12, participants: 2", "sessions[0].participants: 2: an interview is 1:1"},
		{"no consent", withSession, "consent_recorded: true", "consent_recorded: false", "sessions[0].consent_recorded: false"},
		{"transcript key", withSession, "transcript_key: sessions/x/fg-1.txt", "transcript_key: ../secret", "sessions[0].transcript_key"},
		{"codebook", withSession, "codebook_version: ice-integration-themes-v1", "codebook_version: v9", `sessions[0].codebook_version: "v9"`},
		{"session date", withSession, "date: 2026-05-12", "date: 2026-05", `sessions[0].date: "2026-05"`},
		{"action", "", "action_plan: []", "action_plan:\n  - {id: a1, action: Combine the annual checks, owner: '', status: planned, addresses: [nope]}", "action_plan[0].owner: empty"},
		{"action target", "", "action_plan: []", "action_plan:\n  - {id: a1, action: Combine the annual checks, owner: PCN, status: planned, addresses: [nope]}", `action_plan[0].addresses[0]: "nope" is not an expected_care id`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := c.base
			if base == "" {
				base = string(orig)
			}
			if !strings.Contains(base, c.from) {
				t.Fatalf("fixture: %q not found", c.from)
			}
			_, err := Parse([]byte(strings.Replace(base, c.from, c.to, 1)), "broken.yaml")
			if err == nil || !strings.Contains(err.Error(), "broken.yaml: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error from broken.yaml containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestParseDateAndStaleness(t *testing.T) {
	ref := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		date  string
		stale bool
	}{
		{"2023-06-01", false}, // exactly three years
		{"2023-05-31", true},
		{"2023-05", true},  // stands for 2023-05-31
		{"2023-06", false}, // stands for 2023-06-30
		{"2022", true},     // 2022-12-31
		{"2023", false},    // 2023-12-31: could be within three years, so not flagged
	}
	for _, c := range cases {
		if got := (Evidence{Date: c.date}).Stale(ref); got != c.stale {
			t.Errorf("%s: stale %v, want %v", c.date, got, c.stale)
		}
	}
	for _, bad := range []string{"", "2023-13", "23-01-01", "2023/01/01"} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	p := &Profile{
		Evidence:     []Evidence{{ID: "old", Source: "GP Patient Survey", Date: "2021"}, {ID: "new", Source: "Local Healthwatch report", Date: "2025-11"}},
		ExpectedCare: []Expectation{{ID: "x", Status: StatusAspirational}, {ID: "y", Status: StatusToBeRecorded}},
		Stakeholders: []Stakeholder{{Organisation: "Trust A", Status: EngagementDidNotEngage}},
	}
	if s := p.StaleEvidence(ref); len(s) != 1 || s[0].ID != "old" {
		t.Errorf("stale evidence %v", s)
	}
	w := strings.Join(p.Warnings(ref), "\n")
	for _, want := range []string{"evidence old", "x is aspirational", "y: source to be recorded", "Trust A did not engage", "no focus groups"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
}
