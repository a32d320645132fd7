package estimate

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"icesurvey/questionnaire"
)

func close(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestWilson(t *testing.T) {
	z2 := Z95 * Z95
	for _, tc := range []struct {
		name         string
		p, n         float64
		lower, upper float64
	}{
		// At p = 0 the interval is [0, (z²/n)/(1 + z²/n)]; at p = 1 its mirror.
		{"p=0", 0, 10, 0, (z2 / 10) / (1 + z2/10)},
		{"p=1", 1, 10, 1 - (z2/10)/(1+z2/10), 1},
		// At p = 1/2 the centre is 1/2 and half = z/(1 + z²/n)·√(1/4n + z²/4n²).
		{"p=1/2", 0.5, 100, 0.5 - Z95/(1+z2/100)*math.Sqrt(0.25/100+z2/40000), 0.5 + Z95/(1+z2/100)*math.Sqrt(0.25/100+z2/40000)},
		// R: prop.test(x, n, correct = FALSE)$conf.int, printed to 17 digits.
		{"R 0/10", 0, 10, 0, 0.27753279986288915},
		{"R 5/10", 0.5, 10, 0.23659309051256402, 0.76340690948743595},
		{"R 81/263", 81.0 / 263, 263, 0.25528851987827428, 0.36620957698280016},
		{"R 3.7/12.4 (n_eff need not be whole)", 3.7 / 12.4, 12.4, 0.11849810787828967, 0.57364777290741731},
		{"R 1/1", 1, 1, 0.2065493143772375, 1},
	} {
		lo, hi := Wilson(tc.p, tc.n, Z95)
		if !close(lo, tc.lower, 1e-14) || !close(hi, tc.upper, 1e-14) {
			t.Errorf("%s: Wilson(%v, %v) = [%.17g, %.17g], want [%.17g, %.17g]", tc.name, tc.p, tc.n, lo, hi, tc.lower, tc.upper)
		}
	}
	if lo, hi := Wilson(0, 7, Z95); lo != 0 || hi >= 1 {
		t.Errorf("p = 0: [%v, %v], want exactly 0 below", lo, hi)
	}
	if lo, hi := Wilson(1, 7, Z95); hi != 1 || lo <= 0 {
		t.Errorf("p = 1: [%v, %v], want exactly 1 above", lo, hi)
	}
	if lo, hi := Wilson(0.3, 0, Z95); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("n = 0: [%v, %v], want NaN", lo, hi)
	}
}

func TestParams(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	if p := ParamsFor(0.9); !close(p.Z, 1.6448536269514722, 1e-13) || p.Validate() != nil {
		t.Errorf("90%%: z = %.17g", p.Z)
	}
	if err := (Params{Confidence: 0.95, Z: 1.645}).Validate(); err == nil {
		t.Error("a z that does not match its confidence passed")
	}
	want := []Param{{"confidence", "0.95"}, {"z", "1.959963984540054"}}
	if got := DefaultParams().Metadata(); !reflect.DeepEqual(got, want) {
		t.Errorf("metadata %v", got)
	}
}

func mustCompile(t *testing.T, q Question) *Compiled {
	t.Helper()
	c, err := Compile(q)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		q    Question
		want string
	}{
		{Question{ID: "Q1", Options: []string{"1", "1"}}, `option "1" listed twice`},
		{Question{ID: "Q2", Options: []string{"1", "2"}, Positive: []string{"3"}}, `positive code "3" is not an option`},
		{Question{ID: "Q3", Options: []string{"1", "2"}, Positive: []string{"1"}, Excluded: []string{"1"}}, "both positive and excluded"},
		{Question{ID: "Q4"}, "0 options"},
	} {
		_, err := Compile(tc.q)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.q.ID) {
			t.Errorf("%s: %v, want %q", tc.q.ID, err, tc.want)
		}
	}
}

// TestSingleByHand: options 1 (very good), 2 (fairly good), 3 (poor), 9 (don't know,
// excluded); positive 1, 2. Respondents (answer, weight):
//
//	1 w2, 2 w1, 3 w1, 3 w4, 9 w3, (no answer) w5
//
// Base: 4 respondents, Σw = 8, Σw² = 4+1+1+16 = 22; positive Σw = 3, so p = 3/8;
// n_eff = 64/22; deff = 4·22/64 = 1.375. Distribution over the 5 who answered
// (Σw = 11): counts 1, 1, 2, 1; shares 2/11, 1/11, 5/11, 3/11.
func TestSingleByHand(t *testing.T) {
	c := mustCompile(t, Question{ID: "P_OVERALL", Options: []string{"1", "2", "3", "9"}, Positive: []string{"1", "2"}, Excluded: []string{"9"}})
	codes := []string{"1", "2", "3", "3", "9", ""}
	weights := []float64{2, 1, 1, 4, 3, 5}
	answers := make([]uint64, len(codes))
	for i, code := range codes {
		if code != "" {
			answers[i], _ = c.Mask(code)
		}
	}
	ts := NewTallies(c, 1)
	if err := Tabulate(c, answers, weights, make([]int32, len(codes)), ts); err != nil {
		t.Fatal(err)
	}
	ms := c.Measures()
	if len(ms) != 1 {
		t.Fatalf("measures %v", ms)
	}
	e := ts[0].Estimate(ms[0], Z95)
	if e.Base != 4 || e.BaseW != 8 || e.Positive != 2 || e.P != 3.0/8 || !close(e.NEff, 64.0/22, 1e-15) || !close(e.Deff, 1.375, 1e-15) {
		t.Errorf("estimate %+v", e)
	}
	lo, hi := Wilson(3.0/8, 64.0/22, Z95)
	if e.Lower != lo || e.Upper != hi {
		t.Errorf("interval [%v, %v], want [%v, %v]", e.Lower, e.Upper, lo, hi)
	}
	counts, share := ts[0].Distribution()
	if !reflect.DeepEqual(counts, []int64{1, 1, 2, 1}) {
		t.Errorf("counts %v", counts)
	}
	for i, want := range []float64{2.0 / 11, 1.0 / 11, 5.0 / 11, 3.0 / 11} {
		if !close(share[i], want, 1e-15) {
			t.Errorf("share %d = %v, want %v", i, share[i], want)
		}
	}
	// Carers: the same respondents unweighted.
	tu := NewTallies(c, 1)
	if err := Tabulate(c, answers, nil, make([]int32, len(codes)), tu); err != nil {
		t.Fatal(err)
	}
	if e := tu[0].Estimate(ms[0], Z95); e.P != 0.5 || e.NEff != 4 || e.Deff != 1 || e.BaseW != 4 {
		t.Errorf("unweighted %+v", e)
	}
}

// TestMultiByHand: services used, options A, B, C and N ("none", excluded). Each
// non-excluded option is its own yes/no measure over the base (those who ticked
// something other than only N).
//
//	{A, B} w1, {B} w2, {N} w4, {A, C} w3, {} w9
//
// Base: 3 respondents, Σw = 6. A: Σw 4 → 2/3; B: 3 → 1/2; C: 3 → 1/2.
func TestMultiByHand(t *testing.T) {
	c := mustCompile(t, Question{ID: "P_SERVICES", Options: []string{"A", "B", "C", "N"}, Positive: []string{"A", "B", "C"}, Excluded: []string{"N"}, Multi: true})
	var answers []uint64
	for _, codes := range [][]string{{"A", "B"}, {"B"}, {"N"}, {"A", "C"}, nil} {
		m, err := c.Mask(codes...)
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, m)
	}
	ts := NewTallies(c, 1)
	if err := Tabulate(c, answers, []float64{1, 2, 4, 3, 9}, []int32{0, 0, 0, 0, 0}, ts); err != nil {
		t.Fatal(err)
	}
	ms := c.Measures()
	if len(ms) != 3 || ms[0].Label != "A" || ms[2].Label != "C" {
		t.Fatalf("measures %+v", ms)
	}
	for i, want := range []struct {
		p   float64
		pos int64
	}{{2.0 / 3, 2}, {0.5, 2}, {0.5, 1}} {
		e := ts[0].Estimate(ms[i], Z95)
		if e.Base != 3 || !close(e.P, want.p, 1e-15) || e.Positive != want.pos {
			t.Errorf("measure %s: %+v, want p %v positive %d", ms[i].Label, e, want.p, want.pos)
		}
	}
	if _, err := (&Compiled{Question: Question{ID: "X"}}).Mask("Z"); err == nil {
		t.Error("an unknown code was accepted")
	}
	single := mustCompile(t, Question{ID: "S", Options: []string{"1", "2"}})
	if _, err := single.Mask("1", "2"); err == nil {
		t.Error("two codes for a single-choice question were accepted")
	}
	if err := Tabulate(single, []uint64{3}, nil, []int32{0}, NewTallies(single, 1)); err == nil {
		t.Error("Tabulate accepted a two-code answer to a single-choice question")
	}
	if single.Scored() || single.Measures() != nil {
		t.Error("a question without positive codes is a distribution only")
	}
}

// TestPool: England is the sum of the ICSs' tallies; England excluding k sums the
// others, so a figure that is 0 everywhere else is exactly 0.
func TestPool(t *testing.T) {
	c := mustCompile(t, Question{ID: "Q", Options: []string{"1", "2"}, Positive: []string{"1"}})
	answers := []uint64{1, 2, 2, 1, 2, 2}
	weights := []float64{0.5, 1.5, 2, 3, 1, 1}
	groups := []int32{0, 0, 1, 2, 2, 1}
	ics := NewTallies(c, 3)
	if err := Tabulate(c, answers, weights, groups, ics); err != nil {
		t.Fatal(err)
	}
	all := NewTallies(c, 1)
	if err := Tabulate(c, answers, weights, make([]int32, 6), all); err != nil {
		t.Fatal(err)
	}
	pooled := NewTallies(c, 2)
	Pool(&pooled[0], ics, -1)
	if !reflect.DeepEqual(pooled[0], all[0]) {
		t.Errorf("pooled %+v, want %+v", pooled[0], all[0])
	}
	Pool(&pooled[1], ics, 2) // without ICS 2: respondents 0, 1, 2, 5
	m := c.Measures()[0]
	if e := pooled[1].Estimate(m, Z95); e.Base != 4 || e.P != 0.5/5 {
		t.Errorf("England excluding 2: %+v", e)
	}
	Pool(&pooled[1], ics, 0) // without ICS 0: ICS 1 has no positive answer, ICS 2 one
	if e := ics[1].Estimate(m, Z95); e.P != 0 || e.Lower != 0 {
		t.Errorf("ICS 1: %+v", e)
	}
}

func TestCompare(t *testing.T) {
	est := func(p, n float64) Estimate { return Estimate{Base: int64(n), P: p, NEff: n} }
	// z = (0.6 − 0.5)/√(0.24/100 + 0.25/1000) = 0.1/√0.00265 = 1.9426: similar.
	// With n_eff,k = 120: √(0.002 + 0.00025) = 0.04743, z = 2.108: higher.
	for _, tc := range []struct {
		name          string
		k, rest       Estimate
		kPub, restPub bool
		want          Flag
	}{
		{"similar", est(0.6, 100), est(0.5, 1000), true, true, Similar},
		{"higher", est(0.6, 120), est(0.5, 1000), true, true, Higher},
		{"lower", est(0.4, 120), est(0.5, 1000), true, true, Lower},
		{"k withheld", est(0.9, 120), est(0.5, 1000), false, true, NoFlag},
		{"rest withheld", est(0.9, 120), est(0.5, 1000), true, false, NoFlag},
		{"no variance", est(1, 120), est(1, 1000), true, true, NoFlag},
		{"no variance at 0 and 1", est(0, 120), est(1, 1000), true, true, NoFlag},
		{"one side at 1 is fine", est(1, 120), est(0.9, 1000), true, true, Higher},
		{"no base", Estimate{P: math.NaN()}, est(0.5, 1000), true, true, NoFlag},
	} {
		if got := Compare(tc.k, tc.kPub, tc.rest, tc.restPub, Z95); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestEveryQuestionnaireQuestionCompiles: every closed question of every embedded
// questionnaire version and of the bank is a valid estimation question.
func TestEveryQuestionnaireQuestionCompiles(t *testing.T) {
	cat, err := questionnaire.Default()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			t.Fatal(err)
		}
		bank := cat.Bank()
		qs := append(qn.Questions, bank...)
		for i := range qs {
			q := &qs[i]
			if !q.Closed() {
				continue
			}
			c, err := Compile(FromQuestionnaire(q))
			if err != nil {
				t.Errorf("%s: %v", v, err)
				continue
			}
			n++
			if c.Scored() != q.Scored() || c.Multi != (q.Kind == questionnaire.Multi) {
				t.Errorf("%s %s: scored %v multi %v", v, q.ID, c.Scored(), c.Multi)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d closed questions", n)
	}
}

// TestPoolExcluding: each out[k] is the sum of the others, as Pool computes it.
func TestPoolExcluding(t *testing.T) {
	c := mustCompile(t, Question{ID: "Q", Options: []string{"1", "2", "3"}, Positive: []string{"1"}, Excluded: []string{"3"}})
	for n := 1; n <= 5; n++ {
		answers := []uint64{1, 2, 4, 1, 2, 1, 4, 2, 1}
		weights := []float64{0.5, 1.5, 2, 3, 1, 1, 0.25, 4, 2}
		groups := make([]int32, len(answers))
		for i := range groups {
			groups[i] = int32(i % n)
		}
		src := NewTallies(c, n)
		if err := Tabulate(c, answers, weights, groups, src); err != nil {
			t.Fatal(err)
		}
		out := NewTallies(c, n)
		PoolExcluding(out, src)
		want := NewTallies(c, 1)
		for k := range n {
			Pool(&want[0], src, k)
			if out[k].Base != want[0].Base || out[k].Answered != want[0].Answered || !reflect.DeepEqual(out[k].Count, want[0].Count) ||
				math.Abs(out[k].BaseW-want[0].BaseW) > 1e-12 || math.Abs(out[k].BaseCountW[0]-want[0].BaseCountW[0]) > 1e-12 {
				t.Errorf("n %d, k %d: %+v, want %+v", n, k, out[k], want[0])
			}
		}
	}
}

// A group whose every answer in the base is positive has p = 1 exactly, and one with
// none has p = 0 (C: the interval is defined there, ending at 1 or 0; D: two such
// groups are not compared), however the weights' sums round: Σ_positive w is added up
// option by option and Σ_B w respondent by respondent, which in floating point need
// not agree (0.3 + 0.1 + 0.2 by option is 0.9999999999999998 of the running total;
// 1.1, 2.2, 3.3 give 1.0000000000000002, outside [0, 1], and no interval at all).
func TestAllOrNonePositiveIsExact(t *testing.T) {
	c, err := Compile(Question{ID: "Q", Options: []string{"1", "2", "3", "9"}, Positive: []string{"1", "2"}, Excluded: []string{"9"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		codes   []string
		weights []float64
		want    float64
	}{
		{"all positive, 0.3 0.1 0.2", []string{"1", "2", "1"}, []float64{0.3, 0.1, 0.2}, 1},
		{"all positive, 0.7 0.1 0.2", []string{"1", "2", "1"}, []float64{0.7, 0.1, 0.2}, 1},
		{"all positive, 1.1 2.2 3.3", []string{"1", "2", "1"}, []float64{1.1, 2.2, 3.3}, 1},
		{"all positive beside an excluded answer", []string{"1", "9", "2", "1"}, []float64{1.1, 0.4, 2.2, 3.3}, 1},
		{"none positive", []string{"3", "3", "9", "3"}, []float64{1.1, 2.2, 0.5, 3.3}, 0},
	} {
		answers := make([]uint64, len(tc.codes))
		for i, code := range tc.codes {
			if answers[i], err = c.Mask(code); err != nil {
				t.Fatal(err)
			}
		}
		ts := NewTallies(c, 1)
		if err := Tabulate(c, answers, tc.weights, make([]int32, len(answers)), ts); err != nil {
			t.Fatal(err)
		}
		e := ts[0].Estimate(c.Measures()[0], Z95)
		if e.P != tc.want {
			t.Errorf("%s: p = %v, want exactly %v", tc.name, e.P, tc.want)
		}
		lo, hi := Wilson(tc.want, e.NEff, Z95)
		if e.Lower != lo || e.Upper != hi || math.IsNaN(e.Lower) || math.IsNaN(e.Upper) {
			t.Errorf("%s: interval [%v, %v], want [%v, %v]", tc.name, e.Lower, e.Upper, lo, hi)
		}
		if f := Compare(e, true, e, true, Z95); f != NoFlag {
			t.Errorf("%s: compared with itself: %q, want no flag (p(1−p) is 0 on both sides)", tc.name, f)
		}
	}
}
