package codes

import (
	"slices"
	"strings"
	"testing"
)

func TestEthnicGroupsPartitionTheCategories(t *testing.T) {
	seen := map[string]string{}
	for _, g := range EthnicGroups {
		for _, c := range g.Members {
			if other, dup := seen[c]; dup {
				t.Errorf("code %s is in %s and %s", c, other, g.Code)
			}
			seen[c] = g.Code
		}
	}
	for _, e := range EthnicCategories {
		g, ok := EthnicGroupOf(e.Code)
		if !ok {
			t.Errorf("code %s (%s) is in no group", e.Code, e.Name)
			continue
		}
		// The Data Dictionary's names start with their top-level group.
		want := map[string]string{"White": EthnicGroupWhite, "Mixed": EthnicGroupMixed, "Asian": EthnicGroupAsian,
			"Black": EthnicGroupBlack, "Other": EthnicGroupOther, "Not": EthnicGroupNotStated}
		first := strings.Fields(e.Name)[0]
		if want[first] != g {
			t.Errorf("code %s (%s) is in group %s, want %s", e.Code, e.Name, g, want[first])
		}
		if EthnicGroups[EthnicGroupIndexOf(e.Code)].Code != g {
			t.Errorf("EthnicGroupIndexOf(%s) disagrees with EthnicGroupOf", e.Code)
		}
	}
	if len(seen) != len(EthnicCategories) {
		t.Errorf("groups hold %d codes, the Data Dictionary has %d", len(seen), len(EthnicCategories))
	}
	for _, bad := range []string{"", "a", "Q", "98", "AB"} {
		if g, ok := EthnicGroupOf(bad); ok || EthnicGroupIndexOf(bad) != -1 {
			t.Errorf("EthnicGroupOf(%q) = %q, %v; want no group", bad, g, ok)
		}
	}
}

func TestBreakdownLevels(t *testing.T) {
	for _, v := range Breakdowns {
		levels, ok := BreakdownLevels(v)
		if !ok || len(levels) == 0 {
			t.Fatalf("%s: no levels", v)
		}
		for _, l := range levels {
			if BreakdownLevelName(v, l) == "" {
				t.Errorf("%s=%s has no name", v, l)
			}
		}
	}
	// Declared orders (PUBLICATION.md M2): ages ascending, gender codes ascending,
	// eFI moderate then severe; and nobody outside the cohort.
	ages, _ := BreakdownLevels(BreakdownAgeBand)
	if !slices.Equal(ages, AgeBands[1:]) {
		t.Errorf("age bands %v, want the cohort's %v", ages, AgeBands[1:])
	}
	genders, _ := BreakdownLevels(BreakdownGender)
	if !slices.IsSorted(genders) {
		t.Errorf("gender codes %v are not ascending", genders)
	}
	for _, g := range genders {
		if c, ok := NormaliseGender(g); !ok || c != g {
			t.Errorf("gender level %q is not a canonical code", g)
		}
	}
	efi, _ := BreakdownLevels(BreakdownEFIBand)
	if !slices.Equal(efi, []string{EFIModerate, EFISevere}) {
		t.Errorf("eFI bands %v", efi)
	}
	if _, ok := BreakdownLevels("postcode"); ok {
		t.Error("an unknown variable has levels")
	}
}
