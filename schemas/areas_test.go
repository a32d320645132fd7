package schemas

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var updateREADME = flag.Bool("update", false, "rewrite the README's store-areas section from Areas")

// The README's table of store areas and its bucket policies are generated from Areas;
// this fails when they drift apart (go test ./schemas -run TestREADMEStoreAreas -update).
func TestREADMEStoreAreas(t *testing.T) {
	const readme = "../README.md"
	b, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, AreasREADMEBegin), strings.Index(s, AreasREADMEEnd)
	if i < 0 || j < i {
		t.Fatalf("%s has no store-areas section between its markers", readme)
	}
	got := s[i : j+len(AreasREADMEEnd)]
	if want := AreasREADME(); got != want {
		if *updateREADME {
			if err := os.WriteFile(readme, []byte(s[:i]+want+s[j+len(AreasREADMEEnd):]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's store-areas section differs from schemas.Areas; run go test ./schemas -run TestREADMEStoreAreas -update", readme)
	}
}

// No area's prefix lies inside another's, so one policy statement per prefix grants
// exactly that area; every area is declared once, and every policy is valid JSON.
func TestAreasAreDisjoint(t *testing.T) {
	seen := map[Area]bool{}
	for _, a := range Areas {
		if seen[a.Area] {
			t.Errorf("%s declared twice", a.Area)
		}
		seen[a.Area] = true
		for _, o := range Areas {
			if a.Area != o.Area && strings.HasPrefix(a.Area.Prefix(), o.Area.Prefix()) {
				t.Errorf("%s lies inside %s", a.Area.Prefix(), o.Area.Prefix())
			}
		}
		if !a.Public && len(a.ReaderRoles) == 0 && a.Area != AreaRestricted {
			t.Errorf("%s: no reader role but the worker", a.Area)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(BucketPolicy(a)), &v); err != nil {
			t.Errorf("%s: policy: %v", a.Area, err)
		}
	}
	for _, k := range []string{FreeTextRoot("w", "QMM"), LandingKey("w", "QMM", "sample.csv"), ContactsKey("w", "QMM"), PublishPrefix("w", "r1")} {
		if _, ok := AreaOf(k); !ok {
			t.Errorf("%s lies in no declared area", k)
		}
	}
	if a, _ := AreaOf(FreeTextRoot("w", "QMM")); a.Area != AreaFreeText {
		t.Errorf("free text lies in %s", a.Area)
	}
	if a, _ := AreaOf(ResponseLandingPrefix("w", "QMM", time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC))); a.Area != AreaRestrictedLanding {
		t.Errorf("supplier extracts land in %s", a.Area)
	}
}
