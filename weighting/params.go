package weighting

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Params are the weighting parameters of a release (PUBLICATION.md, "Parameters").
// Every one is configurable per release; the values used go into the release's
// metadata through Metadata.
type Params struct {
	// Vars are the raking variables, in sweep order.
	Vars []string
	// Lo and Hi bound each weight as multiples of the base weight d = N/n:
	// Lo·d ≤ w ≤ Hi·d.
	Lo, Hi float64
	// MinLevelN is the fewest respondents a level may keep before M2 collapses it
	// into a neighbour.
	MinLevelN int
	// Tol is the convergence tolerance on the largest relative margin error after a
	// sweep: raking stops when err < Tol.
	Tol float64
	// MaxSweeps is the most sweeps either raking may take before giving up.
	MaxSweeps int
}

// DefaultParams are the documented defaults: vars (age_band, gender, efi_band),
// lo 0.2, hi 5, min_level_n 5, tol 1e-12, max_sweeps 10,000.
func DefaultParams() Params {
	return Params{
		Vars:      []string{"age_band", "gender", "efi_band"},
		Lo:        0.2,
		Hi:        5,
		MinLevelN: 5,
		Tol:       1e-12,
		MaxSweeps: 10000,
	}
}

// Validate reports every parameter that is out of range.
func (p Params) Validate() error {
	var errs []error
	if len(p.Vars) == 0 {
		errs = append(errs, errors.New("weighting: vars is empty"))
	}
	seen := map[string]bool{}
	for _, v := range p.Vars {
		if v == "" || strings.ContainsAny(v, ",\n") {
			errs = append(errs, fmt.Errorf("weighting: vars: bad variable name %q", v))
		}
		if seen[v] {
			errs = append(errs, fmt.Errorf("weighting: vars: %q named twice", v))
		}
		seen[v] = true
	}
	if !(p.Lo > 0 && p.Lo <= 1) || math.IsInf(p.Lo, 0) {
		errs = append(errs, fmt.Errorf("weighting: lo = %v, want 0 < lo ≤ 1", p.Lo))
	}
	if !(p.Hi >= 1) || math.IsInf(p.Hi, 0) {
		errs = append(errs, fmt.Errorf("weighting: hi = %v, want 1 ≤ hi < ∞", p.Hi))
	}
	if p.Lo >= p.Hi {
		errs = append(errs, fmt.Errorf("weighting: lo = %v ≥ hi = %v, want lo < hi (lo = hi = 1 allows no weighting at all)", p.Lo, p.Hi))
	}
	if p.MinLevelN < 1 {
		errs = append(errs, fmt.Errorf("weighting: min_level_n = %d, want ≥ 1 (a level without respondents cannot be raked)", p.MinLevelN))
	}
	if !(p.Tol > 0) || math.IsInf(p.Tol, 0) {
		errs = append(errs, fmt.Errorf("weighting: tol = %v, want a finite tol > 0", p.Tol))
	}
	if p.MaxSweeps < 1 {
		errs = append(errs, fmt.Errorf("weighting: max_sweeps = %d, want ≥ 1", p.MaxSweeps))
	}
	return errors.Join(errs...)
}

// Param is one parameter as it is written into a release's metadata.
type Param struct {
	Name  string
	Value string
}

// Metadata lists the parameters, named as PUBLICATION.md names them and formatted
// exactly (shortest representation that reads back to the same float64), in a fixed
// order, so the same parameters always write the same metadata.
func (p Params) Metadata() []Param {
	return []Param{
		{"vars", strings.Join(p.Vars, ",")},
		{"lo", formatFloat(p.Lo)},
		{"hi", formatFloat(p.Hi)},
		{"min_level_n", strconv.Itoa(p.MinLevelN)},
		{"tol", formatFloat(p.Tol)},
		{"max_sweeps", strconv.Itoa(p.MaxSweeps)},
	}
}

func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
