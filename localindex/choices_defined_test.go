package localindex

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/profiles"
	"icesurvey/store"
)

// A profile an analyst defined in the store (not built in) is one the local index's
// checks and records know, with its own statements; before it is defined it is not.
func TestDefinedProfileIsKnownToTheLocalIndex(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base, err := profiles.Get("south-asian-diabetes")
	if err != nil {
		t.Fatal(err)
	}
	const id = "south-asian-diabetes-east"
	if err := CheckExpectation(ctx, st, id, base.ExpectedCare[0].ID); fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), `no profile "`+id+`"`) {
		t.Fatalf("before it is defined: %v; want no profile %q", err, id)
	}
	yaml := builtInProfileYAML(t, "south-asian-diabetes")
	yaml = strings.Replace(yaml, "id: south-asian-diabetes\n", "id: "+id+"\n", 1)
	if _, err := profiles.Define(ctx, st, []byte(yaml), id+".yaml", "fay.analyst", time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := CheckExpectation(ctx, st, id, base.ExpectedCare[0].ID); err != nil {
		t.Errorf("after it is defined: %v", err)
	}
	if err := CheckExpectation(ctx, st, id, "no-such-statement"); fault.KindOf(err) != fault.BadInput {
		t.Errorf("a statement it does not have: %v", err)
	}
	v, err := RecordVerdict(ctx, st, "W1", "QMM", id, Verdict{Expectation: base.ExpectedCare[0].ID, Verdict: "partly", Analyst: "fay.analyst",
		At: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)})
	if err != nil || v.Verdict != "partly" {
		t.Errorf("a verdict on the defined profile: %+v, %v", v, err)
	}
}

// builtInProfileYAML is a built-in profile's file, the form an analyst starts from.
func builtInProfileYAML(t *testing.T, id string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "profiles", "defs", id+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
