package weighting

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// oneVar builds an input with a single variable whose levels have the given frame
// counts and respondent counts (respondents listed level by level).
func oneVar(levels []string, frame []float64, n []int) Input {
	var of []int
	for l, k := range n {
		for range k {
			of = append(of, l)
		}
	}
	return Input{ICS: "QXX", Vars: []Variable{{Name: "age_band", Levels: levels, Frame: frame, Of: of}}}
}

func oneVarParams(minN int) Params {
	p := DefaultParams()
	p.Vars = []string{"age_band"}
	p.MinLevelN = minN
	return p
}

func labels(ls []Level) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Label)
	}
	return out
}

func TestCollapse(t *testing.T) {
	for _, tc := range []struct {
		name      string
		levels    []string
		frame     []float64
		n         []int
		minN      int
		want      []string // collapsed labels
		wantN     []int
		wantFrame []float64
		collapses []Collapse
		dropped   []Dropped
	}{
		{
			name:   "nothing sparse",
			levels: []string{"a", "b", "c"}, frame: []float64{10, 20, 30}, n: []int{5, 6, 7}, minN: 5,
			want: []string{"a", "b", "c"}, wantN: []int{5, 6, 7}, wantFrame: []float64{10, 20, 30},
		},
		{
			name:   "middle level into the smaller neighbour (the following one)",
			levels: []string{"a", "b", "c", "d"}, frame: []float64{10, 20, 30, 40}, n: []int{9, 2, 6, 8}, minN: 5,
			want: []string{"a", "b+c", "d"}, wantN: []int{9, 8, 8}, wantFrame: []float64{10, 50, 40},
			collapses: []Collapse{{Var: "age_band", Level: "b", N: 2, Into: "c", Label: "b+c"}},
		},
		{
			name:   "neighbours tie: the preceding one",
			levels: []string{"a", "b", "c"}, frame: []float64{10, 20, 30}, n: []int{7, 1, 7}, minN: 5,
			want: []string{"a+b", "c"}, wantN: []int{8, 7}, wantFrame: []float64{30, 30},
			collapses: []Collapse{{Var: "age_band", Level: "b", N: 1, Into: "a", Label: "a+b"}},
		},
		{
			name:   "smallest ties: the earliest is taken first",
			levels: []string{"a", "b", "c", "d"}, frame: []float64{1, 2, 3, 4}, n: []int{9, 3, 9, 3}, minN: 5,
			// b (earliest of the two 3s) goes into a (9 vs 9: preceding); then d (3) into c+? no: c.
			want: []string{"a+b", "c+d"}, wantN: []int{12, 12}, wantFrame: []float64{3, 7},
			collapses: []Collapse{
				{Var: "age_band", Level: "b", N: 3, Into: "a", Label: "a+b"},
				{Var: "age_band", Level: "d", N: 3, Into: "c", Label: "c+d"},
			},
		},
		{
			name:   "first level: its only neighbour",
			levels: []string{"a", "b", "c"}, frame: []float64{5, 20, 30}, n: []int{0, 50, 3},
			minN: 5,
			// a (0) is the smallest: into b. Then c (3) into a+b.
			want: []string{"a+b+c"}, wantN: []int{53}, wantFrame: []float64{55},
			collapses: []Collapse{
				{Var: "age_band", Level: "a", N: 0, Into: "b", Label: "a+b"},
				{Var: "age_band", Level: "c", N: 3, Into: "a+b", Label: "a+b+c"},
			},
		},
		{
			name:   "last level: its only neighbour, merged label keeps level order",
			levels: []string{"a", "b", "c"}, frame: []float64{10, 20, 30}, n: []int{20, 10, 4}, minN: 5,
			want: []string{"a", "b+c"}, wantN: []int{20, 14}, wantFrame: []float64{10, 50},
			collapses: []Collapse{{Var: "age_band", Level: "c", N: 4, Into: "b", Label: "b+c"}},
		},
		{
			name:   "frame 0 and no respondents: dropped before collapsing",
			levels: []string{"a", "b", "c", "d"}, frame: []float64{10, 0, 30, 40}, n: []int{6, 0, 2, 9}, minN: 5,
			// Without b, c (2) sits between a (6) and d (9): into a.
			want: []string{"a+c", "d"}, wantN: []int{8, 9}, wantFrame: []float64{40, 40},
			collapses: []Collapse{{Var: "age_band", Level: "c", N: 2, Into: "a", Label: "a+c"}},
			dropped:   []Dropped{{Var: "age_band", Level: "b"}},
		},
		{
			name:   "a frame level without respondents is collapsed, not dropped",
			levels: []string{"a", "b"}, frame: []float64{10, 30}, n: []int{0, 12}, minN: 5,
			want: []string{"a+b"}, wantN: []int{12}, wantFrame: []float64{40},
			collapses: []Collapse{{Var: "age_band", Level: "a", N: 0, Into: "b", Label: "a+b"}},
		},
		{
			name:   "one level left stops the collapse even when sparse",
			levels: []string{"a", "b"}, frame: []float64{10, 30}, n: []int{1, 2}, minN: 5,
			want: []string{"a+b"}, wantN: []int{3}, wantFrame: []float64{40},
			collapses: []Collapse{{Var: "age_band", Level: "a", N: 1, Into: "b", Label: "a+b"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := oneVar(tc.levels, tc.frame, tc.n)
			m, err := prepare(in, oneVarParams(tc.minN))
			if err != nil {
				t.Fatal(err)
			}
			got := m.levels[0]
			if !reflect.DeepEqual(labels(got), tc.want) {
				t.Fatalf("levels %v, want %v", labels(got), tc.want)
			}
			for i, l := range got {
				if l.N != tc.wantN[i] || l.Frame != tc.wantFrame[i] {
					t.Errorf("level %s: n %d frame %v, want %d %v", l.Label, l.N, l.Frame, tc.wantN[i], tc.wantFrame[i])
				}
				if strings.Join(l.Members, "+") != l.Label {
					t.Errorf("level %s has members %v", l.Label, l.Members)
				}
			}
			if !reflect.DeepEqual(m.collapses, tc.collapses) {
				t.Errorf("collapses %+v, want %+v", m.collapses, tc.collapses)
			}
			if !reflect.DeepEqual(m.dropped, tc.dropped) {
				t.Errorf("dropped %+v, want %+v", m.dropped, tc.dropped)
			}
			// Every respondent is mapped to the collapsed level holding its level.
			for i, orig := range in.Vars[0].Of {
				l := got[m.of[0][i]]
				found := false
				for _, mem := range l.Members {
					found = found || mem == tc.levels[orig]
				}
				if !found {
					t.Fatalf("respondent %d (level %s) mapped to %s", i, tc.levels[orig], l.Label)
				}
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	two := func(f2 []float64) Input {
		return Input{ICS: "QMM", Vars: []Variable{
			{Name: "age_band", Levels: []string{"a", "b"}, Frame: []float64{10, 10}, Of: []int{0, 1, 1}},
			{Name: "gender", Levels: []string{"1", "2"}, Frame: f2, Of: []int{0, 1, 1}},
		}}
	}
	p := DefaultParams()
	p.Vars = []string{"age_band", "gender"}
	p.MinLevelN = 1
	for _, tc := range []struct {
		name string
		in   Input
		p    Params
		want string
	}{
		{"M1 totals differ", two([]float64{10, 10.5}), p, "ICS QMM: margin totals differ: age_band sums to 20, gender to 20.5"},
		{"M1 within 1e-12 passes", two([]float64{10, 10 + 1e-14}), p, ""},
		{"frame 0 with respondents", oneVar([]string{"a", "b"}, []float64{0, 5}, []int{2, 8}), oneVarParams(5), "ICS QXX: age_band=a has 2 respondents but frame count 0"},
		{"negative frame", oneVar([]string{"a", "b"}, []float64{-1, 5}, []int{2, 8}), oneVarParams(5), "age_band=a: frame count -1"},
		{"level index out of range", Input{ICS: "QMM", Vars: []Variable{{Name: "age_band", Levels: []string{"a"}, Frame: []float64{3}, Of: []int{0, 2}}}}, oneVarParams(1), "ICS QMM: respondent 2: age_band level index 2"},
		{"wrong variable", two([]float64{10, 10}), DefaultParams(), "2 variables given, parameters name 3"},
		{"duplicate level", oneVar([]string{"a", "a"}, []float64{1, 5}, []int{2, 8}), oneVarParams(5), `level "a" declared twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Weight(tc.in, tc.p)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	_, err := Weight(oneVar([]string{"a"}, []float64{5}, []int{0}), oneVarParams(1))
	if !errors.Is(err, ErrNoRespondents) || !strings.Contains(err.Error(), "QXX") {
		t.Fatalf("no respondents: %v", err)
	}
}

func TestParams(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	want := []Param{{"vars", "age_band,gender,efi_band"}, {"lo", "0.2"}, {"hi", "5"}, {"min_level_n", "5"}, {"tol", "1e-12"}, {"max_sweeps", "10000"}}
	if got := DefaultParams().Metadata(); !reflect.DeepEqual(got, want) {
		t.Fatalf("metadata %v, want %v", got, want)
	}
	bad := Params{Vars: []string{"a", "a"}, Lo: 1.5, Hi: 0.5, MinLevelN: 0, Tol: 0, MaxSweeps: 0}
	err := bad.Validate()
	for _, s := range []string{`"a" named twice`, "lo = 1.5", "hi = 0.5", "min_level_n = 0", "tol = 0", "max_sweeps = 0"} {
		if err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("Validate: %v, want it to mention %q", err, s)
		}
	}
}
