package themes

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// PRF is precision, recall and F1 with the counts they come from. A ratio with a
// zero denominator is NaN (undefined), never a flattering 0 or 1.
type PRF struct {
	TP, FP, FN          int
	Precision, Recall   float64
	F1                  float64
	Support             int // comments with the theme in the reference coding
	PolarityAgreement   float64
	PolarityComparisons int
}

func prfOf(tp, fp, fn int) PRF {
	r := PRF{TP: tp, FP: fp, FN: fn, Support: tp + fn}
	r.Precision, r.Recall, r.F1 = ratio(tp, tp+fp), ratio(tp, tp+fn), ratio(2*tp, 2*tp+fp+fn)
	return r
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// ThemeMetrics is one theme's precision, recall and F1.
type ThemeMetrics struct {
	Theme string
	PRF
}

// Evaluation is a classifier's performance on reference codings.
type Evaluation struct {
	CodebookVersion string
	Comments        int
	Themes          []ThemeMetrics
	MacroF1         float64 // mean F1 over themes with support
	MicroF1         float64
}

// Evaluate compares the model's suggestions with people's codings (which should be
// the test split: the fixed random slice the model never saw). Polarity agreement
// counts the comments where both found the theme.
func Evaluate(m *Model, reference []Coding) Evaluation {
	ev := Evaluation{CodebookVersion: m.CodebookVersion, Comments: len(reference)}
	type acc struct{ tp, fp, fn, polSame, polN int }
	accs := make([]acc, len(m.Themes))
	for _, c := range reference {
		scores := m.Scores(c.Text)
		for i, s := range scores {
			want, has := c.Has(s.Theme)
			got := s.Suggested()
			switch {
			case got && has:
				accs[i].tp++
				accs[i].polN++
				if s.Polarity == want {
					accs[i].polSame++
				}
			case got:
				accs[i].fp++
			case has:
				accs[i].fn++
			}
		}
	}
	sumF1, nF1, tp, fp, fn := 0.0, 0, 0, 0, 0
	for i, a := range accs {
		p := prfOf(a.tp, a.fp, a.fn)
		p.PolarityAgreement, p.PolarityComparisons = ratio(a.polSame, a.polN), a.polN
		ev.Themes = append(ev.Themes, ThemeMetrics{Theme: m.Themes[i].Theme, PRF: p})
		if p.Support > 0 {
			f := p.F1
			if math.IsNaN(f) {
				f = 0
			}
			sumF1 += f
			nF1++
		}
		tp, fp, fn = tp+a.tp, fp+a.fp, fn+a.fn
	}
	ev.MacroF1 = math.NaN()
	if nF1 > 0 {
		ev.MacroF1 = sumF1 / float64(nF1)
	}
	ev.MicroF1 = ratio(2*tp, 2*tp+fp+fn)
	return ev
}

// CohenKappa is Cohen's kappa for two coders' presence/absence decisions on the
// same units: (po − pe) / (1 − pe). It is NaN when pe = 1 (both coders used one
// category for every unit: agreement is then undefined, not perfect).
func CohenKappa(a, b []bool) (float64, error) {
	if len(a) != len(b) {
		return 0, fmt.Errorf("kappa: %d and %d decisions", len(a), len(b))
	}
	if len(a) == 0 {
		return 0, errors.New("kappa: no units")
	}
	var both, onlyA, onlyB, neither float64
	for i := range a {
		switch {
		case a[i] && b[i]:
			both++
		case a[i]:
			onlyA++
		case b[i]:
			onlyB++
		default:
			neither++
		}
	}
	n := float64(len(a))
	po := (both + neither) / n
	pa, pb := (both+onlyA)/n, (both+onlyB)/n
	pe := pa*pb + (1-pa)*(1-pb)
	if pe == 1 {
		return math.NaN(), nil
	}
	return (po - pe) / (1 - pe), nil
}

// Missing marks a unit a coder did not code, in KrippendorffAlpha's input.
const Missing = ""

// KrippendorffAlpha is Krippendorff's alpha for nominal data from any number of
// coders with missing values: data[coder][unit] is a category, or Missing. Units
// coded by fewer than two coders are not pairable and are left out (Krippendorff
// 2011, "Computing Krippendorff's alpha-reliability"). alpha = 1 − Do/De from the
// coincidence matrix; NaN when only one category occurs (De = 0).
func KrippendorffAlpha(data [][]string) (float64, error) {
	if len(data) < 2 {
		return 0, fmt.Errorf("alpha: %d coders, want at least 2", len(data))
	}
	units := len(data[0])
	for c := range data {
		if len(data[c]) != units {
			return 0, fmt.Errorf("alpha: coder %d has %d units, coder 0 has %d", c, len(data[c]), units)
		}
	}
	// Coincidences o[v][v'] over pairable units: each ordered pair of values from
	// different coders of unit u adds 1/(m_u − 1).
	o := map[[2]string]float64{}
	for u := range units {
		var vals []string
		for c := range data {
			if data[c][u] != Missing {
				vals = append(vals, data[c][u])
			}
		}
		m := len(vals)
		if m < 2 {
			continue
		}
		for i := range vals {
			for j := range vals {
				if i != j {
					o[[2]string{vals[i], vals[j]}] += 1 / float64(m-1)
				}
			}
		}
	}
	nv := map[string]float64{}
	n := 0.0
	for k, v := range o {
		nv[k[0]] += v
		n += v
	}
	if n == 0 {
		return 0, errors.New("alpha: no unit was coded by two or more coders")
	}
	var observed float64
	for k, v := range o {
		if k[0] != k[1] {
			observed += v
		}
	}
	cats := make([]string, 0, len(nv))
	for k := range nv {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	var expected float64
	for _, a := range cats {
		for _, b := range cats {
			if a != b {
				expected += nv[a] * nv[b]
			}
		}
	}
	if expected == 0 {
		return math.NaN(), nil
	}
	// alpha = 1 − (n − 1) · Σ_{c≠k} o_ck / Σ_{c≠k} n_c·n_k
	return 1 - (n-1)*observed/expected, nil
}

// DoubleCoding is one comment coded blind by two or more coders.
type DoubleCoding struct {
	ResponseID string
	Codings    []Coding // one per coder, each naming its Coder
}

// Agreement is the inter-coder agreement of a double-coded sample.
type Agreement struct {
	Units        int
	Coders       int
	KappaByTheme []ThemeAgreement // first two coders of each unit, presence/absence
	AlphaByTheme []ThemeAgreement // all coders, presence/absence, missing allowed
	// Alpha over every (comment, theme) decision with its polarity as the category
	// ("absent", "positive", "negative").
	Alpha float64
}

// ThemeAgreement is one theme's agreement statistic.
type ThemeAgreement struct {
	Theme string
	Value float64
}

// AgreementOf computes Cohen's kappa per theme (the first two coders of each unit)
// and Krippendorff's alpha (every coder, missing where a coder did not code a
// unit) for a double-coded sample.
func AgreementOf(cb *Codebook, sample []DoubleCoding) (Agreement, error) {
	coderIdx := map[string]int{}
	var coders []string
	for i, d := range sample {
		if len(d.Codings) < 2 {
			return Agreement{}, fmt.Errorf("double coding %d (response %s): %d codings, want at least 2", i, d.ResponseID, len(d.Codings))
		}
		seen := map[string]bool{}
		for j, c := range d.Codings {
			if c.Coder == "" {
				return Agreement{}, fmt.Errorf("double coding %d (response %s): codings[%d].coder empty", i, d.ResponseID, j)
			}
			if seen[c.Coder] {
				return Agreement{}, fmt.Errorf("double coding %d (response %s): coder %s coded it twice", i, d.ResponseID, c.Coder)
			}
			seen[c.Coder] = true
			if _, ok := coderIdx[c.Coder]; !ok {
				coderIdx[c.Coder] = len(coders)
				coders = append(coders, c.Coder)
			}
		}
	}
	ag := Agreement{Units: len(sample), Coders: len(coders)}
	if len(sample) == 0 {
		return ag, errors.New("agreement: no double-coded comments")
	}
	all := make([][]string, len(coders))
	for c := range all {
		all[c] = make([]string, 0, len(sample)*len(cb.Themes))
	}
	for _, t := range cb.Themes {
		var a, b []bool
		pres := make([][]string, len(coders))
		for c := range pres {
			pres[c] = make([]string, len(sample))
		}
		for u, d := range sample {
			_, ha := d.Codings[0].Has(t.ID)
			_, hb := d.Codings[1].Has(t.ID)
			a, b = append(a, ha), append(b, hb)
			for _, c := range d.Codings {
				v := "absent"
				if _, has := c.Has(t.ID); has {
					v = "present"
				}
				pres[coderIdx[c.Coder]][u] = v
			}
		}
		k, err := CohenKappa(a, b)
		if err != nil {
			return ag, err
		}
		ag.KappaByTheme = append(ag.KappaByTheme, ThemeAgreement{t.ID, k})
		al, err := KrippendorffAlpha(pres)
		if err != nil {
			return ag, err
		}
		ag.AlphaByTheme = append(ag.AlphaByTheme, ThemeAgreement{t.ID, al})
		for _, d := range sample {
			got := make([]string, len(coders))
			for _, c := range d.Codings {
				got[coderIdx[c.Coder]] = "absent"
				if pol, has := c.Has(t.ID); has {
					got[coderIdx[c.Coder]] = string(pol)
				}
			}
			for c := range coders {
				all[c] = append(all[c], got[c])
			}
		}
	}
	alpha, err := KrippendorffAlpha(all)
	if err != nil {
		return ag, err
	}
	ag.Alpha = alpha
	return ag, nil
}
