package profiles

import (
	"context"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/store"
)

// builtInYAML is a built-in profile's file, the form an analyst starts from.
func builtInYAML(t *testing.T, id string) string {
	t.Helper()
	b, err := defsFS.ReadFile("defs/" + id + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An analyst's definition stands beside the built-in profiles for everyone reading the
// store: the latest definition of an id replaces the built-in one, a new id is added,
// and the built-in profiles themselves are untouched.
func TestDefinedProfilesAreInForce(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	const id = "south-asian-diabetes"
	withEvidence := strings.Replace(builtInYAML(t, id), "evidence: []",
		"evidence:\n  - {id: gpps-2025, source: GP Patient Survey 2025, date: 2025-07, level: national, summary: Fewer felt involved in decisions., themes: [involvement]}", 1)
	if withEvidence == builtInYAML(t, id) {
		t.Fatal("the test's edit did not apply")
	}
	d, err := Define(ctx, st, []byte(withEvidence), "/home/fay/"+id+".yaml", "fay.analyst", at)
	if err != nil {
		t.Fatal(err)
	}
	if d.Key != schemas.ProfileDefinitionKey(id, at) || d.By != "fay.analyst" || len(d.SHA256) != 64 {
		t.Errorf("defined as %+v", d)
	}
	// A new profile, and a second definition of the first (the later one stands).
	newYAML := strings.Replace(builtInYAML(t, "women-multimorbidity-heart"), "id: women-multimorbidity-heart", "id: carers-of-people-with-dementia", 1)
	newYAML = strings.Replace(newYAML, "\ntitle: ", "\ntitle: Carers of people with dementia — was ", 1)
	if _, err := Define(ctx, st, []byte(newYAML), "carers-of-people-with-dementia.yaml", "fay.analyst", at); err != nil {
		t.Fatal(err)
	}
	later := strings.Replace(withEvidence, "Fewer felt involved in decisions.", "Fewer felt involved in decisions (2025).", 1)
	if _, err := Define(ctx, st, []byte(later), id+".yaml", "sam.analyst", at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	p, err := Lookup(ctx, st, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Evidence) != 1 || p.Evidence[0].Summary != "Fewer felt involved in decisions (2025)." {
		t.Errorf("the profile in force has evidence %+v, want the later definition's", p.Evidence)
	}
	defined, err := DefinedIn(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := defined[id]; got == nil || got.By != "sam.analyst" || !got.At.Equal(at.Add(time.Hour)) {
		t.Errorf("the latest definition of %s: %+v, want sam.analyst's at %v", id, got, at.Add(time.Hour))
	}
	ids, err := IDsInForce(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	want := append(IDs(), "carers-of-people-with-dementia")
	if len(ids) != len(want) || !strings.Contains(strings.Join(ids, ","), "carers-of-people-with-dementia") {
		t.Errorf("profiles in force %v, want the built-in ones and the new one", ids)
	}
	if b, _ := Get(id); len(b.Evidence) != 0 {
		t.Errorf("the built-in profile changed: %+v", b.Evidence)
	}
	if _, err := Lookup(ctx, st, "no-such-profile"); fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), "carers-of-people-with-dementia") {
		t.Errorf("an unknown profile: %v; want a bad input naming the profiles in force", err)
	}
}

// A definition that fails any check is refused whole, naming the file and field, and
// nothing is written; so is one without its analyst, or under another id's name.
func TestDefineRefusesABadDefinition(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	good := builtInYAML(t, "south-asian-diabetes")
	for _, tc := range []struct {
		name, yaml, file, by, want string
	}{
		{"evidence undated", strings.Replace(good, "evidence: []",
			"evidence:\n  - {id: gpps, source: a survey, date: last spring, level: local, summary: Fewer felt involved.}", 1),
			"south-asian-diabetes.yaml", "fay", "south-asian-diabetes.yaml: evidence[0].date"},
		{"unknown field", good + "\nfavourite_colour: blue\n", "south-asian-diabetes.yaml", "fay", "favourite_colour"},
		{"no analyst", good, "south-asian-diabetes.yaml", " ", "--by"},
		{"another id's name", good, "women-multimorbidity-heart.yaml", "fay", "named after the profile's id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.NewFileStore(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			_, err = Define(ctx, st, []byte(tc.yaml), tc.file, tc.by, at)
			if fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Define: %v; want a bad input naming %q", err, tc.want)
			}
			if infos, err := st.List(ctx, schemas.ProfileDefinitionsPrefix()); err != nil || len(infos) != 0 {
				t.Errorf("written after a refusal: %v %v", infos, err)
			}
		})
	}
}

// A definition in the store that no longer reads is an error naming its key: a report
// must not fall back, in silence, to the built-in profile the analyst replaced.
func TestDefinedProfileUnreadableIsAnError(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := schemas.ProfileDefinitionKey("south-asian-diabetes", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	if err := store.PutBytes(ctx, st, key, []byte("id: south-asian-diabetes\ntitle: [unclosed\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := Lookup(ctx, st, "women-multimorbidity-heart"); err == nil || !strings.Contains(err.Error(), key) {
		t.Errorf("Lookup with an unreadable definition in the store: %v; want an error naming %s", err, key)
	}
}
