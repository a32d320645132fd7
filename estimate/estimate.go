// Package estimate produces the published figures for one closed question in one
// group of respondents (PUBLICATION.md, sections E, C and D): the base (E1), the
// weighted % positive (E2), the effective sample size and design effect (E3), the
// response distribution (E4), England pooled and England excluding an ICS (E5), the
// Wilson score interval on the effective sample size (C) and the comparison with
// England (D). Carers' results are the same computations with every weight 1.
//
// It works in two steps so a national release is one pass over the respondents:
// Tabulate adds each respondent's answer and weight into the Tally of its group
// (sufficient statistics: counts, Σw, Σw² per option and over the base); tallies of
// disjoint groups add up (Tally.Add) to pool England; Tally.Estimate and
// Tally.Distribution then compute the figures. Nothing is rounded: values are returned
// unrounded, and rounding happens only when a release formats them.
//
// What it guarantees: the figures are exactly PUBLICATION.md's formulas, which the R
// survey package reproduces (svymean for % positive, prop.test(p·n_eff, n_eff,
// correct = FALSE) for the interval); the cross-check test runs R on a synthetic wave
// and agrees to 1e-9. The interval is defined at p = 0 and p = 1. The same input gives
// the same bits.
//
// Privacy: tallies hold counts and weight sums of groups, never a respondent; but
// they are not yet safe to publish — small numbers are withheld only by package
// disclosure, which every published table must pass. The package does no I/O.
package estimate

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
)

// Z95 is the normal quantile of a 95 % two-sided interval (PUBLICATION.md's z).
const Z95 = 1.959963984540054

// MaxOptions is the most options a closed question may have: an answer is a bit mask.
const MaxOptions = 64

// Params are the estimation parameters of a release.
type Params struct {
	// Confidence is the interval's coverage (0.95) and Z its normal quantile.
	Confidence float64
	Z          float64
}

// DefaultParams: 95 %, z = 1.959963984540054.
func DefaultParams() Params { return Params{Confidence: 0.95, Z: Z95} }

// ParamsFor returns the parameters for another confidence level, with z its exact
// two-sided normal quantile √2·erf⁻¹(confidence); 0.95 gives Z95 itself.
func ParamsFor(confidence float64) Params {
	if confidence == 0.95 {
		return DefaultParams()
	}
	return Params{Confidence: confidence, Z: math.Sqrt2 * math.Erfinv(confidence)}
}

// Validate checks that the confidence is in (0, 1) and z is its quantile.
func (p Params) Validate() error {
	if !(p.Confidence > 0 && p.Confidence < 1) {
		hint := ""
		if p.Confidence > 1 && p.Confidence < 100 {
			hint = fmt.Sprintf(" (a fraction, not a percentage: %v for %v %%)", p.Confidence/100, p.Confidence)
		}
		return fmt.Errorf("estimate: confidence = %v, want 0 < confidence < 1%s", p.Confidence, hint)
	}
	if want := math.Sqrt2 * math.Erfinv(p.Confidence); !(math.Abs(p.Z-want) <= 1e-12*want) {
		return fmt.Errorf("estimate: z = %v is not the quantile of confidence %v (%v)", p.Z, p.Confidence, want)
	}
	return nil
}

// Param is one parameter as written into a release's metadata.
type Param struct{ Name, Value string }

// Metadata lists the parameters in a fixed order, formatted exactly.
func (p Params) Metadata() []Param {
	return []Param{
		{"confidence", strconv.FormatFloat(p.Confidence, 'g', -1, 64)},
		{"z", strconv.FormatFloat(p.Z, 'g', -1, 64)},
	}
}

// Question is a closed question as the questionnaire defines it.
type Question struct {
	ID string
	// Options are the option codes in questionnaire order (at most MaxOptions).
	Options []string
	// Positive are the codes counted as positive; empty for a question reported as a
	// distribution only.
	Positive []string
	// Excluded are the codes left out of the base ("don't know", "not needed").
	Excluded []string
	// Multi is true for a tick-all-that-apply question.
	Multi bool
}

// Compiled is a validated Question with its codes as bit masks.
type Compiled struct {
	Question
	index    map[string]int
	base     uint64 // options that put a respondent in the base
	positive uint64
	all      uint64
}

// Compile validates q: 1 to MaxOptions distinct non-empty codes, positive and excluded
// codes among them and disjoint.
func Compile(q Question) (*Compiled, error) {
	c := &Compiled{Question: q, index: make(map[string]int, len(q.Options))}
	var errs []error
	if len(q.Options) == 0 || len(q.Options) > MaxOptions {
		errs = append(errs, fmt.Errorf("%d options, want 1 to %d", len(q.Options), MaxOptions))
	}
	for i, code := range q.Options {
		if code == "" {
			errs = append(errs, fmt.Errorf("option %d has an empty code", i+1))
		}
		if _, dup := c.index[code]; dup {
			errs = append(errs, fmt.Errorf("option %q listed twice", code))
		}
		if i < MaxOptions {
			c.index[code] = i
		}
	}
	mask := func(field string, codes []string) uint64 {
		var m uint64
		for _, code := range codes {
			i, ok := c.index[code]
			if !ok {
				errs = append(errs, fmt.Errorf("%s code %q is not an option", field, code))
				continue
			}
			m |= 1 << i
		}
		return m
	}
	c.positive = mask("positive", q.Positive)
	excluded := mask("excluded", q.Excluded)
	if c.positive&excluded != 0 {
		errs = append(errs, errors.New("a code is both positive and excluded"))
	}
	if n := len(q.Options); n >= MaxOptions {
		c.all = ^uint64(0)
	} else {
		c.all = 1<<n - 1
	}
	c.base = c.all &^ excluded
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("estimate: question %s: %w", q.ID, err)
	}
	return c, nil
}

// Mask returns the answer mask of the codes a respondent gave (none: 0, not answered).
// A single-choice question takes at most one code.
func (c *Compiled) Mask(codes ...string) (uint64, error) {
	var m uint64
	for _, code := range codes {
		i, ok := c.index[code]
		if !ok {
			return 0, fmt.Errorf("question %s: %q is not an option", c.ID, code)
		}
		m |= 1 << i
	}
	if !c.Multi && bits.OnesCount64(m) > 1 {
		return 0, fmt.Errorf("question %s: %d codes for a single-choice question", c.ID, bits.OnesCount64(m))
	}
	return m, nil
}

// Scored reports whether the question is published as % positive.
func (c *Compiled) Scored() bool { return c.positive != 0 }

// Measure is one "% positive" figure of a question.
type Measure struct {
	// Label is "" for a single-choice question's one measure, else the option code.
	Label string
	// Positive are the options that count as a yes, as a mask.
	Positive uint64
}

// Measures lists the question's % positive measures (E2): none for a question
// reported as a distribution only; one for a single-choice question (its positive
// options); for a multi-choice question, one per option that is not excluded, each its
// own yes/no measure over those in the base.
func (c *Compiled) Measures() []Measure {
	if !c.Scored() {
		return nil
	}
	if !c.Multi {
		return []Measure{{Positive: c.positive}}
	}
	var ms []Measure
	for i, code := range c.Options {
		if c.base&(1<<i) != 0 {
			ms = append(ms, Measure{Label: code, Positive: 1 << i})
		}
	}
	return ms
}

// InBase reports whether an answer puts the respondent in the base (E1): answered,
// with at least one code that is not excluded.
func (c *Compiled) InBase(mask uint64) bool { return mask&c.base != 0 }

// BaseOptions and PositiveOptions report, per option in order, whether it counts in
// the base and whether it is positive: the column sets a disclosure table needs.
func (c *Compiled) BaseOptions() []bool     { return maskBools(c.base, len(c.Options)) }
func (c *Compiled) PositiveOptions() []bool { return maskBools(c.positive, len(c.Options)) }

func maskBools(m uint64, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = m&(1<<i) != 0
	}
	return out
}

// Tally is the sufficient statistics of one question in one group.
type Tally struct {
	// Answered and AnsweredW count the respondents who gave any answer, and their Σw.
	Answered  int64
	AnsweredW float64
	// Base, BaseW and BaseW2 are n_base, Σ_B w and Σ_B w² (E1, E3).
	Base   int64
	BaseW  float64
	BaseW2 float64
	// Count and CountW are each option's unweighted count and Σw over those who
	// answered (E4).
	Count  []int64
	CountW []float64
	// BaseCount and BaseCountW are the same over the base only: each option's yes
	// count of a multi-choice measure, the positive sums of a single-choice one.
	BaseCount  []int64
	BaseCountW []float64
}

// NewTallies returns n empty tallies for c, sharing four backing arrays.
func NewTallies(c *Compiled, n int) []Tally {
	k := len(c.Options)
	ts := make([]Tally, n)
	ic := make([]int64, 2*k*n)
	fc := make([]float64, 2*k*n)
	for i := range ts {
		o := 2 * k * i
		ts[i].Count, ts[i].BaseCount = ic[o:o+k:o+k], ic[o+k:o+2*k:o+2*k]
		ts[i].CountW, ts[i].BaseCountW = fc[o:o+k:o+k], fc[o+k:o+2*k:o+2*k]
	}
	return ts
}

// Tabulate adds respondent i's answer answers[i] (a Mask; 0 = not answered) with
// weight weights[i] into tallies[groups[i]]; a negative group leaves the respondent
// out. weights nil means every weight is 1 (carers: unweighted).
func Tabulate(c *Compiled, answers []uint64, weights []float64, groups []int32, tallies []Tally) error {
	if len(groups) != len(answers) || (weights != nil && len(weights) != len(answers)) {
		return fmt.Errorf("estimate: question %s: %d answers, %d weights, %d groups", c.ID, len(answers), len(weights), len(groups))
	}
	for i, a := range answers {
		g := groups[i]
		if a == 0 || g < 0 {
			continue
		}
		if int(g) >= len(tallies) {
			return fmt.Errorf("estimate: question %s: respondent %d: group %d of %d", c.ID, i+1, g, len(tallies))
		}
		if a&^c.all != 0 || (!c.Multi && a&(a-1) != 0) {
			return fmt.Errorf("estimate: question %s: respondent %d: answer mask %#x is not an answer to this question", c.ID, i+1, a)
		}
		w := 1.0
		if weights != nil {
			w = weights[i]
		}
		t := &tallies[g]
		t.Answered++
		t.AnsweredW += w
		inBase := a&c.base != 0
		if inBase {
			t.Base++
			t.BaseW += w
			t.BaseW2 += w * w
		}
		for m := a; m != 0; m &= m - 1 {
			o := bits.TrailingZeros64(m)
			t.Count[o]++
			t.CountW[o] += w
			if inBase {
				t.BaseCount[o]++
				t.BaseCountW[o] += w
			}
		}
	}
	return nil
}

// Add adds another group's tally (disjoint respondents) into t: E5's pooling.
func (t *Tally) Add(o *Tally) {
	t.Answered += o.Answered
	t.AnsweredW += o.AnsweredW
	t.Base += o.Base
	t.BaseW += o.BaseW
	t.BaseW2 += o.BaseW2
	for i := range t.Count {
		t.Count[i] += o.Count[i]
		t.CountW[i] += o.CountW[i]
		t.BaseCount[i] += o.BaseCount[i]
		t.BaseCountW[i] += o.BaseCountW[i]
	}
}

// Pool sums src into dst in order, leaving out src[skip] (skip < 0: none): England is
// Pool(dst, ics, -1) and England excluding k is Pool(dst, ics, k). Summing the others
// rather than subtracting k from England keeps an exact 0 an exact 0.
func Pool(dst *Tally, src []Tally, skip int) {
	dst.Reset()
	for k := range src {
		if k != skip {
			dst.Add(&src[k])
		}
	}
}

// PoolExcluding sets out[k] to the sum of every src but src[k], for each k: England
// excluding each ICS, or excluding each ICS's group, in O(len(src)) additions (a sum of
// the ones before k and a sum of the ones after, so an exact 0 stays an exact 0). out
// must hold len(src) tallies of the same question (NewTallies).
func PoolExcluding(out, src []Tally) {
	n := len(src)
	if n == 0 {
		return
	}
	// out[k] first holds the sum of src[k+1:], then gains the sum of src[:k].
	out[n-1].Reset()
	for k := n - 2; k >= 0; k-- {
		out[k].Reset()
		out[k].Add(&out[k+1])
		out[k].Add(&src[k+1])
	}
	if n == 1 {
		return
	}
	var before Tally
	before.Count = make([]int64, len(src[0].Count))
	before.CountW = make([]float64, len(src[0].Count))
	before.BaseCount = make([]int64, len(src[0].Count))
	before.BaseCountW = make([]float64, len(src[0].Count))
	for k := 1; k < n; k++ {
		before.Add(&src[k-1])
		out[k].Add(&before)
	}
}

// Reset empties t, keeping its arrays.
func (t *Tally) Reset() {
	t.Answered, t.AnsweredW, t.Base, t.BaseW, t.BaseW2 = 0, 0, 0, 0, 0
	clear(t.Count)
	clear(t.CountW)
	clear(t.BaseCount)
	clear(t.BaseCountW)
}

// Estimate is one % positive figure of one group.
type Estimate struct {
	// Base is n_base, BaseW Σ_B w (E1).
	Base  int64
	BaseW float64
	// Positive is the unweighted count of positive answers in the base: a published
	// fact when the figures are unweighted (p·n_base), which disclosure must know.
	Positive int64
	// P is the % positive as a proportion (E2); NaN when the base is empty.
	P float64
	// Lower and Upper are the Wilson interval on NEff (C).
	Lower, Upper float64
	// NEff = (Σw)²/Σw² and Deff = n_base·Σw²/(Σw)² (E3).
	NEff, Deff float64
}

// Estimate computes measure m's figures for this group with quantile z.
func (t *Tally) Estimate(m Measure, z float64) Estimate {
	e := Estimate{Base: t.Base, BaseW: t.BaseW}
	pw := 0.0
	for mm := m.Positive; mm != 0; mm &= mm - 1 {
		o := bits.TrailingZeros64(mm)
		pw += t.BaseCountW[o]
		e.Positive += t.BaseCount[o]
	}
	if t.Base == 0 || !(t.BaseW > 0) {
		e.P, e.Lower, e.Upper, e.NEff, e.Deff = math.NaN(), math.NaN(), math.NaN(), 0, math.NaN()
		return e
	}
	// Σ_positive w is added up option by option and Σ_B w respondent by respondent: in
	// floating point the two need not agree when every answer in the base is positive
	// (1.1, 2.2, 3.3 give p = 1.0000000000000002, outside [0, 1]). p is 1 exactly when
	// every answer is positive, 0 exactly when none is (C and D are defined there).
	switch {
	case e.Positive == t.Base:
		e.P = 1
	case e.Positive == 0:
		e.P = 0
	default:
		e.P = min(1, max(0, pw/t.BaseW))
	}
	e.NEff = t.BaseW * t.BaseW / t.BaseW2
	e.Deff = float64(t.Base) * t.BaseW2 / (t.BaseW * t.BaseW)
	e.Lower, e.Upper = Wilson(e.P, e.NEff, z)
	return e
}

// Distribution returns each option's unweighted count and weighted share of those who
// answered (E4): Σw of the option / Σw of everyone who answered. A multi-choice
// question's shares sum to more than 1. Shares are NaN when nobody answered.
func (t *Tally) Distribution() (counts []int64, share []float64) {
	counts = slices.Clone(t.Count)
	share = make([]float64, len(t.Count))
	for i, w := range t.CountW {
		share[i] = w / t.AnsweredW
		if t.Answered == 0 {
			share[i] = math.NaN()
		}
	}
	return counts, share
}

// Wilson is the Wilson score interval for a proportion p on n (here n_eff) with
// normal quantile z (C): centre = (p + z²/2n)/(1 + z²/n),
// half = z/(1 + z²/n)·√(p(1−p)/n + z²/4n²), clipped to [0, 1]. It is defined at
// p = 0 and p = 1; NaN when n ≤ 0 or p is not in [0, 1].
func Wilson(p, n, z float64) (lower, upper float64) {
	if !(n > 0) || !(p >= 0 && p <= 1) {
		return math.NaN(), math.NaN()
	}
	z2n := z * z / n
	centre := (p + z2n/2) / (1 + z2n)
	half := z / (1 + z2n) * math.Sqrt(p*(1-p)/n+z2n/(4*n))
	lower, upper = max(0, centre-half), min(1, centre+half)
	// At the ends the formula is exactly 0 (p = 0) or 1 (p = 1); say so rather than
	// leave a rounding residue of 1e-17.
	if p == 0 {
		lower = 0
	}
	if p == 1 {
		upper = 1
	}
	return lower, upper
}

// Flag is the comparison of a group with England excluding its ICS (D).
type Flag string

// Flags. NoFlag is published as an empty value.
const (
	Higher  Flag = "higher"
	Lower   Flag = "lower"
	Similar Flag = "similar"
	NoFlag  Flag = ""
)

// Compare flags k against rest (England excluding k's ICS): z = (p_k − p_rest) /
// √(p_k(1−p_k)/n_eff,k + p_rest(1−p_rest)/n_eff,rest); higher or lower when |z| > zq,
// else similar. NoFlag when either side is not published (withheld by disclosure
// control: the caller says which), either has no base, or
// p_k(1−p_k) + p_rest(1−p_rest) = 0.
func Compare(k Estimate, kPublished bool, rest Estimate, restPublished bool, zq float64) Flag {
	if !kPublished || !restPublished || !(k.NEff > 0) || !(rest.NEff > 0) || math.IsNaN(k.P) || math.IsNaN(rest.P) {
		return NoFlag
	}
	vk, vr := k.P*(1-k.P), rest.P*(1-rest.P)
	if vk+vr == 0 {
		return NoFlag
	}
	z := (k.P - rest.P) / math.Sqrt(vk/k.NEff+vr/rest.NEff)
	switch {
	case z > zq:
		return Higher
	case z < -zq:
		return Lower
	}
	return Similar
}
