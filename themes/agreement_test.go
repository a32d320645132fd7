package themes

import (
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestCohenKappaTextbook(t *testing.T) {
	// The worked example of the Wikipedia article "Cohen's kappa": 50 proposals, both
	// yes 20, A yes B no 5, A no B yes 10, both no 15: po 0.7, pe 0.5, kappa 0.4.
	var a, b []bool
	add := func(n int, x, y bool) {
		for range n {
			a, b = append(a, x), append(b, y)
		}
	}
	add(20, true, true)
	add(5, true, false)
	add(10, false, true)
	add(15, false, false)
	k, err := CohenKappa(a, b)
	if err != nil || !near(k, 0.4, 1e-12) {
		t.Fatalf("kappa %v %v, want 0.4", k, err)
	}
	// Hand computed: 10 units, agree on 8 (3 yes, 5 no); A yes 4, B yes 4.
	// po 0.8; pe 0.4·0.4 + 0.6·0.6 = 0.52; kappa = 0.28/0.48 = 0.58333.
	a = []bool{true, true, true, true, false, false, false, false, false, false}
	b = []bool{true, true, true, false, true, false, false, false, false, false}
	if k, _ := CohenKappa(a, b); !near(k, 0.28/0.48, 1e-12) {
		t.Fatalf("kappa %v, want %v", k, 0.28/0.48)
	}
	// Both coders say "absent" everywhere: undefined, not perfect.
	if k, _ := CohenKappa(make([]bool, 5), make([]bool, 5)); !math.IsNaN(k) {
		t.Fatalf("kappa with one category used %v, want NaN", k)
	}
	if _, err := CohenKappa([]bool{true}, nil); err == nil {
		t.Fatal("unequal lengths accepted")
	}
}

func TestKrippendorffAlphaTextbook(t *testing.T) {
	const m = Missing
	cases := []struct {
		name string
		data [][]string
		want float64
	}{
		// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", A: two
		// observers, binary data: alpha = 0.095.
		{"two coders binary", [][]string{
			{"0", "1", "0", "0", "0", "0", "0", "0", "1", "0"},
			{"1", "1", "1", "0", "0", "1", "0", "0", "0", "0"},
		}, 0.095},
		// Same paper, C: four observers, nominal values, missing data: alpha = 0.743.
		{"four coders nominal missing", [][]string{
			{"1", "2", "3", "3", "2", "1", "4", "1", "2", m, m, m},
			{"1", "2", "3", "3", "2", "2", "4", "1", "2", "5", m, "3"},
			{m, "3", "3", "3", "2", "3", "4", "2", "2", "5", "1", m},
			{"1", "2", "3", "3", "2", "4", "4", "1", "2", "5", "1", m},
		}, 0.743},
		// Perfect agreement with two categories.
		{"perfect", [][]string{{"a", "b", "a"}, {"a", "b", "a"}}, 1},
	}
	for _, c := range cases {
		got, err := KrippendorffAlpha(c.data)
		if err != nil || !near(got, c.want, 0.0005) {
			t.Errorf("%s: alpha %v %v, want %v", c.name, got, err, c.want)
		}
	}
	if _, err := KrippendorffAlpha([][]string{{"a", m}, {m, "b"}}); err == nil {
		t.Error("no pairable unit accepted")
	}
	if a, _ := KrippendorffAlpha([][]string{{"a", "a"}, {"a", "a"}}); !math.IsNaN(a) {
		t.Errorf("one category: %v, want NaN", a)
	}
}

func TestAgreementOf(t *testing.T) {
	cb := Default()
	code := func(coder string, themes ...ThemeCode) Coding { return Coding{Coder: coder, Themes: themes} }
	con := func(p Polarity) ThemeCode { return ThemeCode{"continuity", p} }
	inv := ThemeCode{"involvement", Negative}
	sample := []DoubleCoding{
		{"r1", []Coding{code("a", con(Negative)), code("b", con(Negative))}},
		{"r2", []Coding{code("a", con(Negative), inv), code("b", con(Positive))}},
		{"r3", []Coding{code("a"), code("b", inv)}},
		{"r4", []Coding{code("a", inv), code("b", inv), code("c", inv)}},
	}
	ag, err := AgreementOf(cb, sample)
	if err != nil {
		t.Fatal(err)
	}
	if ag.Units != 4 || ag.Coders != 3 {
		t.Fatalf("units %d coders %d", ag.Units, ag.Coders)
	}
	// continuity presence, coders a and b: (y,y) (y,y) (n,n) (n,n): kappa 1.
	// involvement: (n,n) (y,n) (n,y) (y,y): po 0.5, pe 0.5: kappa 0.
	// burden: never coded: undefined.
	want := map[string]float64{"continuity": 1, "involvement": 0}
	for _, k := range ag.KappaByTheme {
		if w, ok := want[k.Theme]; ok && !near(k.Value, w, 1e-12) {
			t.Errorf("kappa %s = %v, want %v", k.Theme, k.Value, w)
		}
		if k.Theme == "burden" && !math.IsNaN(k.Value) {
			t.Errorf("kappa for a theme nobody coded = %v, want NaN", k.Value)
		}
	}
	if math.IsNaN(ag.Alpha) || ag.Alpha >= 1 || ag.Alpha <= -1 {
		t.Errorf("overall alpha %v", ag.Alpha)
	}
	if _, err := AgreementOf(cb, []DoubleCoding{{"r9", []Coding{code("a")}}}); err == nil || !strings.Contains(err.Error(), "r9") {
		t.Errorf("single coding accepted: %v", err)
	}
	if _, err := AgreementOf(cb, []DoubleCoding{{"r8", []Coding{code("a"), code("a")}}}); err == nil {
		t.Error("one coder twice accepted")
	}
}

func TestPRF(t *testing.T) {
	p := prfOf(6, 2, 4)
	if !near(p.Precision, 0.75, 1e-12) || !near(p.Recall, 0.6, 1e-12) || !near(p.F1, 12.0/18, 1e-12) || p.Support != 10 {
		t.Fatalf("%+v", p)
	}
	if z := prfOf(0, 0, 0); !math.IsNaN(z.Precision) || !math.IsNaN(z.Recall) || !math.IsNaN(z.F1) {
		t.Fatalf("empty counts should be undefined: %+v", z)
	}
}
