package codes

// The groups the published comparable data breaks each ICS down by (PUBLICATION.md,
// and issue #14): age band, person stated gender, ethnic group and eFI band, each
// taken from the sample frame. They are declared here once, with their level order,
// which the weighting's collapse uses to break ties (PUBLICATION.md M2: age bands
// ascending, gender codes ascending, eFI bands moderate then severe).

// Ethnic groups: the NHS Data Dictionary's five top-level groups of the 17 ethnic
// categories, and "not stated" for Z (not stated) and 99 (not known).
const (
	EthnicGroupWhite     = "white"
	EthnicGroupMixed     = "mixed"
	EthnicGroupAsian     = "asian"
	EthnicGroupBlack     = "black"
	EthnicGroupOther     = "other"
	EthnicGroupNotStated = "not_stated"
)

// EthnicGroup is one published ethnic group and the ethnic category codes it holds.
type EthnicGroup struct {
	Code    string
	Name    string
	Members []string
}

// EthnicGroups lists the groups in the Data Dictionary's order, then not stated. Every
// code of EthnicCategories is in exactly one group.
var EthnicGroups = []EthnicGroup{
	{EthnicGroupWhite, "White", []string{"A", "B", "C"}},
	{EthnicGroupMixed, "Mixed or multiple ethnic groups", []string{"D", "E", "F", "G"}},
	{EthnicGroupAsian, "Asian or Asian British", []string{"H", "J", "K", "L"}},
	{EthnicGroupBlack, "Black or Black British", []string{"M", "N", "P"}},
	{EthnicGroupOther, "Other ethnic group", []string{"R", "S"}},
	{EthnicGroupNotStated, "Not stated", []string{"Z", EthnicNotKnown}},
}

// ethnicGroupIndex is each canonical ethnic category code's group, by position in
// EthnicGroups.
var ethnicGroupIndex = func() map[string]int {
	m := map[string]int{}
	for g, eg := range EthnicGroups {
		for _, c := range eg.Members {
			m[c] = g
		}
	}
	return m
}()

// EthnicGroupOf returns the group of a canonical ethnic category code (as the sample
// holds it: "A" … "Z", "99") and whether the code is one.
func EthnicGroupOf(code string) (string, bool) {
	g, ok := ethnicGroupIndex[code]
	if !ok {
		return "", false
	}
	return EthnicGroups[g].Code, true
}

// EthnicGroupIndexOf is the position in EthnicGroups of a code's group, or −1.
func EthnicGroupIndexOf(code string) int {
	g, ok := ethnicGroupIndex[code]
	if !ok {
		return -1
	}
	return g
}

// Breakdown variables of the published data, as the sample table names them (the
// ethnicity breakdown is by EthnicGroups of the sample's ethnicity code).
const (
	BreakdownAgeBand   = "age_band"
	BreakdownGender    = "gender"
	BreakdownEthnicity = "ethnicity"
	BreakdownEFIBand   = "efi_band"
)

// Breakdowns lists the breakdown variables in publication order.
var Breakdowns = []string{BreakdownAgeBand, BreakdownGender, BreakdownEthnicity, BreakdownEFIBand}

// BreakdownLevels returns the levels of a breakdown variable in their declared order
// (the cohort's: nobody under 18, nobody fit or mildly frail), and whether the
// variable is one.
func BreakdownLevels(variable string) ([]string, bool) {
	switch variable {
	case BreakdownAgeBand:
		return []string{Age18to64, Age65to74, Age75to84, Age85Plus}, true
	case BreakdownGender:
		// Ascending codes, bytewise: 0, 1, 2, 9, X.
		return []string{GenderNotKnown, GenderMale, GenderFemale, GenderIndeterminate, GenderNotKnownX}, true
	case BreakdownEthnicity:
		out := make([]string, len(EthnicGroups))
		for i, g := range EthnicGroups {
			out[i] = g.Code
		}
		return out, true
	case BreakdownEFIBand:
		return []string{EFIModerate, EFISevere}, true
	}
	return nil, false
}

// BreakdownLevelName names a level of a breakdown variable for people ("" when
// unknown).
func BreakdownLevelName(variable, level string) string {
	switch variable {
	case BreakdownAgeBand:
		for _, b := range AgeBands {
			if b == level {
				return "Aged " + level
			}
		}
	case BreakdownGender:
		if n := GenderName(level); n != "" {
			return "Gender " + level + ": " + n
		}
	case BreakdownEthnicity:
		for _, g := range EthnicGroups {
			if g.Code == level {
				return g.Name
			}
		}
	case BreakdownEFIBand:
		if level == EFIModerate || level == EFISevere {
			return "eFI " + level + " frailty"
		}
	}
	return ""
}
