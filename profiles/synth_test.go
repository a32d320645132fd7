package profiles

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"icesurvey/freetext"
)

func TestSynthSessionDeterministicAndValid(t *testing.T) {
	p, err := Get("south-asian-diabetes")
	if err != nil {
		t.Fatal(err)
	}
	spec := SessionSpec{Profile: p, SessionID: "fg-2026-05-a", Date: time.Date(2026, 5, 12, 0, 0, 0, 0, time.UTC), Seed: 42}
	a, err := SynthSession(spec)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SynthSession(spec)
	if a.Text != b.Text {
		t.Fatal("same spec, different notes")
	}
	spec.Seed = 43
	if c, _ := SynthSession(spec); c.Text == a.Text {
		t.Fatal("another seed gave the same notes")
	}
	if a.Contributions() != 40 || !strings.Contains(a.Text, "Facilitator: ") || !strings.Contains(a.Text, "P1: ") {
		t.Errorf("%d contributions; notes:\n%s", a.Contributions(), a.Text)
	}
	// The session record is valid in the profile.
	withSession := *p
	withSession.Sessions = append(append([]Session{}, p.Sessions...), a.Session)
	if err := withSession.Validate(); err != nil {
		t.Fatalf("generated session record invalid: %v", err)
	}
	for _, bad := range []SessionSpec{
		{Profile: p, SessionID: "Bad Id", Date: spec.Date},
		{Profile: p, SessionID: "s1"},
		{Profile: p, SessionID: "s1", Date: spec.Date, Method: "survey"},
		{Profile: p, SessionID: "s1", Date: spec.Date, ThemeRates: map[string]float64{"kindness": 0.5}},
		{SessionID: "s1", Date: spec.Date},
	} {
		if _, err := SynthSession(bad); err == nil {
			t.Errorf("bad spec accepted: %+v", bad)
		}
	}
}

// Over many sessions each theme appears at its stated rate, praise at its share,
// and personal data at its rate.
func TestSynthSessionRates(t *testing.T) {
	p, _ := Get("women-multimorbidity-heart")
	rates := map[string]float64{"communication": 0.4, "information": 0.1, "continuity": 0.3, "involvement": 0.2, "holistic": 0.15, "burden": 0.5}
	counts := map[string]int{}
	lines, pos, themed, personal := 0, 0, 0, 0
	for s := range 60 {
		n, err := SynthSession(SessionSpec{Profile: p, SessionID: "fg-rate", Date: time.Now(), Seed: uint64(s), ThemeRates: rates, PositiveShare: 0.3, PersonalDataRate: 0.2})
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range n.ThemeCounts() {
			counts[k] += v
		}
		lines += n.Contributions()
		for _, l := range n.Lines {
			for _, th := range l.Themes {
				themed++
				if th.Polarity == "positive" {
					pos++
				}
			}
			if len(l.PersonalData) > 0 {
				personal++
			}
		}
	}
	tol := func(p float64, n int) float64 { return 4 * math.Sqrt(p*(1-p)/float64(n)) }
	for _, id := range sortedThemeIDs(counts) {
		got := float64(counts[id]) / float64(lines)
		if math.Abs(got-rates[id]) > tol(rates[id], lines) {
			t.Errorf("theme %s at %.3f of %d contributions, stated %.2f", id, got, lines, rates[id])
		}
	}
	if got := float64(pos) / float64(themed); math.Abs(got-0.3) > tol(0.3, themed) {
		t.Errorf("positive share %.3f, stated 0.30", got)
	}
	if got := float64(personal) / float64(lines); math.Abs(got-0.2) > tol(0.2, lines) {
		t.Errorf("personal data in %.3f of contributions, stated 0.20", got)
	}
}

// The personal data the generator writes is what the redactor removes.
func TestSynthSessionRedacted(t *testing.T) {
	for _, id := range IDs() {
		p, _ := Get(id)
		n, err := SynthSession(SessionSpec{Profile: p, SessionID: "fg-pii", Date: time.Now(), Seed: 5, Contributions: 120, PersonalDataRate: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, l := range n.Lines {
			red := freetext.Redact(l.Text)
			for _, d := range l.PersonalData {
				found++
				if strings.Contains(red.Text, d.Value) {
					t.Errorf("%s: %s %q survives redaction: %q", id, d.Kind, d.Value, red.Text)
				}
			}
		}
		if found < 30 {
			t.Errorf("%s: only %d pieces of personal data generated", id, found)
		}
	}
}

func TestSynthCommentCarriesThemesAtTheirRates(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rates := map[string]float64{"continuity": 0.5, "burden": 0.1}
	counts := map[string]int{}
	personal := 0
	const n = 4000
	for range n {
		l := SynthComment(rng, CommentSpec{ThemeRates: rates, PositiveShare: 0.3, PersonalDataRate: 0.1})
		if l.Text == "" {
			t.Fatal("empty comment")
		}
		for _, c := range l.Themes {
			counts[c.Theme]++
		}
		if len(l.PersonalData) > 0 {
			personal++
		}
	}
	for id, r := range rates {
		if got := float64(counts[id]) / n; got < r-0.03 || got > r+0.03 {
			t.Errorf("theme %s in %.3f of comments, want %.2f", id, got, r)
		}
	}
	if counts["involvement"] != 0 {
		t.Errorf("involvement drawn %d times at rate 0", counts["involvement"])
	}
	if got := float64(personal) / n; got < 0.07 || got > 0.13 {
		t.Errorf("personal data in %.3f of comments, want 0.10", got)
	}
}
