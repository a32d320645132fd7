package publication

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"icesurvey/codes"
	"icesurvey/disclosure"
	"icesurvey/estimate"
	"icesurvey/weighting"
)

// Group comparisons (PUBLICATION.md D) for a demographic group within ICS k.
const (
	// CompareSameGroup compares the group with the same group in England excluding
	// ICS k (women aged 85+ in k against women aged 85+ elsewhere): the default, as it
	// asks whether the ICS serves that group differently, not whether the group differs
	// from everyone (which it may do everywhere).
	CompareSameGroup = "same_group"
	// CompareWholeRest compares the group with all of England excluding ICS k.
	CompareWholeRest = "england_excluding_ics"
)

// Params are every parameter of a release. Every one is configurable; DefaultParams
// are PUBLICATION.md's defaults; Metadata lists the values used, which the release's
// metadata records.
type Params struct {
	// Weighting: vars, lo, hi, min_level_n, tol, max_sweeps (PUBLICATION.md M and W).
	Weighting weighting.Params
	// Estimate: the confidence level and its z (C).
	Estimate estimate.Params
	// Disclosure: min_base, caution_base, min_count (S).
	Disclosure disclosure.Params
	// Breakdowns are the demographic breakdowns within each ICS (patients), in
	// publication order; a subset of codes.Breakdowns.
	Breakdowns []string
	// GroupComparison says what a demographic group within an ICS is compared with:
	// CompareSameGroup (default) or CompareWholeRest.
	GroupComparison string
	// EnglandCounts publishes England's unweighted patient counts (the by-ICS tables'
	// column totals, so S4 applies to them). Default false: England's patient figures
	// are published as percentages only.
	EnglandCounts bool
	// LocalQuestions names, per ICS, the bank questions it added (the wave spec's
	// local_questions). Nil: a bank question counts as added by an ICS when any of its
	// respondents answered it.
	LocalQuestions map[string][]string
	// Exclude names ICSs left out of this release: none of their figures are
	// published, nor pooled into England.
	Exclude []string
	// ExcludeReason says why Exclude's ICSs are left out, in each one's report (say, its
	// fieldwork ended early); empty: "by its parameters".
	ExcludeReason string
	// CodeVersion names the code that computed the release. Empty: the module version
	// and VCS revision of the running binary (runtime/debug.ReadBuildInfo).
	CodeVersion string
	// FileTime is the time written inside files that carry one (the workbook's
	// document properties and its zip entries), so a release is byte-identical
	// whenever it is made. Zero: 1980-01-01T00:00:00Z, the zip format's epoch.
	FileTime time.Time
}

// DefaultParams are PUBLICATION.md's defaults: vars (age_band, gender, efi_band), lo 0.2,
// hi 5, min_level_n 5, tol 1e-12, max_sweeps 10,000; 95 % intervals; min_base 10,
// caution_base 30, min_count 5; breakdowns by age band, gender, ethnic group and eFI
// band, each compared with the same group elsewhere; England as percentages only.
func DefaultParams() Params {
	return Params{
		Weighting:       weighting.DefaultParams(),
		Estimate:        estimate.DefaultParams(),
		Disclosure:      disclosure.DefaultParams(),
		Breakdowns:      slices.Clone(codes.Breakdowns),
		GroupComparison: CompareSameGroup,
	}
}

// defaultFileTime is the zip format's epoch, written when FileTime is zero.
var defaultFileTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

func (p Params) fileTime() time.Time {
	if p.FileTime.IsZero() {
		return defaultFileTime
	}
	return p.FileTime.UTC()
}

// Validate reports every parameter out of range.
func (p Params) Validate() error {
	errs := []error{p.Weighting.Validate(), p.Estimate.Validate(), p.Disclosure.Validate()}
	for _, v := range p.Weighting.Vars {
		if _, ok := codes.BreakdownLevels(v); !ok {
			errs = append(errs, fmt.Errorf("publication: vars: %q is not a sample variable the release knows (%v)", v, codes.Breakdowns))
		}
	}
	seen := map[string]bool{}
	for _, b := range p.Breakdowns {
		if _, ok := codes.BreakdownLevels(b); !ok {
			errs = append(errs, fmt.Errorf("publication: breakdowns: %q is not one of %v", b, codes.Breakdowns))
		}
		if seen[b] {
			errs = append(errs, fmt.Errorf("publication: breakdowns: %q named twice", b))
		}
		seen[b] = true
	}
	if p.GroupComparison != CompareSameGroup && p.GroupComparison != CompareWholeRest {
		errs = append(errs, fmt.Errorf("publication: group_comparison = %q, want %s or %s", p.GroupComparison, CompareSameGroup, CompareWholeRest))
	}
	for ics, ids := range p.LocalQuestions {
		if ics == "" {
			errs = append(errs, errors.New("publication: local questions for an empty ICS code"))
		}
		for _, id := range ids {
			if id == "" {
				errs = append(errs, fmt.Errorf("publication: local questions of %s: an empty question id", ics))
			}
		}
	}
	for _, ics := range p.Exclude {
		if ics == "" {
			errs = append(errs, errors.New("publication: exclude names an empty ICS code"))
		}
	}
	return errors.Join(errs...)
}

// Param is one parameter as the metadata records it.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Metadata lists every parameter in a fixed order, named as PUBLICATION.md names
// them, formatted exactly.
func (p Params) Metadata() []Param {
	var out []Param
	for _, x := range p.Weighting.Metadata() {
		out = append(out, Param{x.Name, x.Value})
	}
	for _, x := range p.Estimate.Metadata() {
		out = append(out, Param{x.Name, x.Value})
	}
	for _, x := range p.Disclosure.Metadata() {
		out = append(out, Param{x.Name, x.Value})
	}
	local := make([]string, 0, len(p.LocalQuestions))
	for ics, ids := range p.LocalQuestions {
		local = append(local, ics+"="+strings.Join(ids, "+"))
	}
	slices.Sort(local)
	localValue := "from the answers"
	if p.LocalQuestions != nil {
		localValue = strings.Join(local, ";")
	}
	exclude := slices.Clone(p.Exclude)
	slices.Sort(exclude)
	out = append(out,
		Param{"breakdowns", strings.Join(p.Breakdowns, ",")},
		Param{"group_comparison", p.GroupComparison},
		Param{"england_counts", strconv.FormatBool(p.EnglandCounts)},
		Param{"local_questions", localValue},
		Param{"exclude", strings.Join(exclude, ",")},
		Param{"file_time", p.fileTime().Format(time.RFC3339)},
	)
	return out
}

// ParamsOf reads back the parameters a release's metadata lists (Params.Metadata):
// every one named in PUBLICATION.md, so a reader of a release (the dashboard, which
// has its release.parquet row) states the release's own confidence level and
// thresholds. The names are the parameters file's (Overrides), read through the same
// table, and z as the metadata gives it (a listed confidence without z gets its exact
// quantile). A parameter the list lacks keeps its default; one it gives that does not
// parse is an error naming it. Nothing is validated: this is what the release used.
// What Metadata lists but ParamsOf does not read back (local questions, exclusions,
// file time, code version) is left at its default.
func ParamsOf(list []Param) (Params, error) {
	o := &Overrides{}
	fields := o.byName()
	var z *float64
	var errs []error
	for _, x := range list {
		if x.Name == "z" {
			v, err := strconv.ParseFloat(x.Value, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("publication: parameter z = %q: %w", x.Value, err))
				continue
			}
			z = &v
			continue
		}
		f, ok := fields[x.Name]
		if !ok {
			continue
		}
		if err := f.setText(x.Value); err != nil {
			errs = append(errs, fmt.Errorf("publication: parameter %s = %q: %w", x.Name, x.Value, err))
		}
	}
	p := o.apply(DefaultParams())
	setIf(&p.Estimate.Z, z)
	return p, errors.Join(errs...)
}

// ParamsOfJSON is ParamsOf of the list as a release's record holds it (the warehouse's
// releases.parameters: a JSON array of {name, value}).
func ParamsOfJSON(list string) (Params, error) {
	var params []Param
	if err := json.Unmarshal([]byte(list), &params); err != nil {
		return DefaultParams(), fmt.Errorf("publication: its parameters: %w", err)
	}
	return ParamsOf(params)
}
