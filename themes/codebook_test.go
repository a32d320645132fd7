package themes

import (
	"os"
	"strings"
	"testing"
)

func TestEmbeddedCodebook(t *testing.T) {
	cb := Default()
	want := []string{"communication", "information", "continuity", "involvement", "holistic", "burden"}
	if got := strings.Join(cb.ThemeIDs(), ","); got != strings.Join(want, ",") {
		t.Fatalf("themes %s, want the six of SPEC §10 in order: %s", got, strings.Join(want, ","))
	}
	if v := Versions(); len(v) == 0 || v[0] != DefaultVersion {
		t.Errorf("versions %v", v)
	}
	if _, err := Load("no-such-version"); err == nil || !strings.Contains(err.Error(), DefaultVersion) {
		t.Errorf("unknown version: %v", err)
	}
	for _, th := range cb.Themes {
		if len(th.Patterns) == 0 {
			t.Errorf("theme %s has no patterns", th.ID)
		}
	}
}

// Every broken field is named in the error, with the file.
func TestCodebookValidationErrors(t *testing.T) {
	orig, err := os.ReadFile("codebook/ice-integration-themes-v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, from, to, want string
	}{
		{"bad regexp", `{id: con-knows-me, polarity: positive, negatable: true, match: "`, `{id: con-knows-me, polarity: positive, negatable: true, match: "(`, "themes[2].patterns[4].match: invalid regular expression"},
		{"duplicate theme id", "id: burden", "id: holistic", `themes[5].id: "holistic" repeats themes[4]`},
		{"bad code", "code: BUR", "code: BU", `themes[5].code: "BU" is not three capital letters`},
		{"bad colour", `color: "#8C564B"`, `color: "brown"`, `themes[5].color: "brown" is not #RRGGBB`},
		{"bad polarity", "{id: bur-combined, polarity: positive", "{id: bur-combined, polarity: good", `themes[5].patterns[3].polarity: "good"`},
		{"duplicate pattern id", "{id: bur-exhausting,", "{id: bur-separate,", `themes[5].patterns[2].id: "bur-separate" repeats themes[5].patterns[1]`},
		{"unknown field", "    definition: >-\n      Service users with several", "    defintion: >-\n      Service users with several", "field defintion not found"},
		{"negation window", "  window: 4", "  window: 0", "negation.window: 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(string(orig), c.from) {
				t.Fatalf("test fixture: %q not in the codebook", c.from)
			}
			_, err := Parse([]byte(strings.Replace(string(orig), c.from, c.to, 1)), "broken.yaml")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "broken.yaml: ") {
				t.Fatalf("want an error from broken.yaml containing %q, got %v", c.want, err)
			}
		})
	}
}

func TestParseLabels(t *testing.T) {
	cb := Default()
	got, err := cb.ParseLabels("CON-;BUR+")
	if err != nil || len(got) != 2 || got[0] != (ThemeCode{"continuity", Negative}) || got[1] != (ThemeCode{"burden", Positive}) {
		t.Fatalf("got %v %v", got, err)
	}
	if got, err := cb.ParseLabels("none"); err != nil || got != nil {
		t.Fatalf("none: %v %v", got, err)
	}
	for _, bad := range []string{"XYZ-", "CON", "CON-;CON+", "CON*", ""} {
		if _, err := cb.ParseLabels(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// Any case is taken, as other inputs are.
	for _, in := range []string{"con-;bur+", "Con-; BUR+"} {
		if got, err := cb.ParseLabels(in); err != nil || len(got) != 2 || got[0] != (ThemeCode{"continuity", Negative}) || got[1] != (ThemeCode{"burden", Positive}) {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"None", "NONE", " none "} {
		if got, err := cb.ParseLabels(in); err != nil || got != nil {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	// none with themes is refused for what it is, not as a bad code.
	for _, in := range []string{"none;CON-", "CON-;none", "CON-;None"} {
		_, err := cb.ParseLabels(in)
		if err == nil || !strings.Contains(err.Error(), "none cannot be combined with themes") || strings.Contains(err.Error(), "or none") {
			t.Errorf("%q: %v, want none refused in combination", in, err)
		}
	}
}

func TestRules(t *testing.T) {
	cb := Default()
	cases := []struct {
		text    string
		theme   string
		pattern string
		pol     Polarity
	}{
		{"I see the same GP every time and she knows me.", "continuity", "con-same-professional", Positive},
		{"I never see the same GP twice.", "continuity", "con-same-professional", Negative},
		{"The hospital and the surgery worked together brilliantly.", "communication", "com-talk-each-other", Positive},
		{"The hospital and the surgery don't work together at all.", "communication", "com-talk-each-other", Negative},
		{"Nobody asked me what I wanted.", "involvement", "inv-not-asked", Negative},
		{"The one-stop clinic did everything in one morning.", "burden", "bur-combined", Positive},
		{"I had to tell my story all over again.", "continuity", "con-repeat-story", Negative},
		{"I felt like the postman between the GP and the hospital.", "communication", "com-messenger", Negative},
	}
	for _, c := range cases {
		hits := cb.Rules(c.text)
		found := false
		for _, h := range hits {
			if h.Theme == c.theme && h.Pattern == c.pattern {
				found = true
				if h.Polarity != c.pol {
					t.Errorf("%q: %s polarity %s, want %s", c.text, c.pattern, h.Polarity, c.pol)
				}
			}
		}
		if !found {
			t.Errorf("%q: pattern %s did not match (hits %v)", c.text, c.pattern, hits)
		}
	}
	// A negation in an earlier clause does not reach the pattern.
	for _, h := range cb.Rules("It was not easy, but I see the same GP now.") {
		if h.Pattern == "con-same-professional" && h.Negated {
			t.Error("negation crossed a clause boundary")
		}
	}
	if hits := cb.Rules("The car park was full."); len(hits) != 0 {
		t.Errorf("rules fired on a comment with no theme: %v", hits)
	}
}
