package rcheck

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// recorder is a testing.TB that keeps the errors it is given instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper()             {}
func (r *recorder) Logf(string, ...any) {}
func (r *recorder) Errorf(format string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, a...))
}

func TestMaxDiff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		pairs     [][2]float64
		tol       float64
		wantWorst float64
		wantWhere string
		wantFail  bool
	}{
		{"within", [][2]float64{{1, 1 + 1e-12}, {2, 2}}, 1e-9, 1e-12, "0", false},
		{"largest kept", [][2]float64{{1, 1.5}, {2, 2.1}, {3, 3.2}}, 1e-9, 0.5, "0", true},
		{"NaN is the worst", [][2]float64{{1, 1}, {math.NaN(), 1}, {1, 9}}, 1e-9, math.Inf(1), "1", true},
		{"nothing compared", nil, 1e-9, 0, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := MaxDiff{Name: tc.name}
			for i, p := range tc.pairs {
				d.Add(p[0], p[1], fmt.Sprint(i))
			}
			if d.N != len(tc.pairs) || math.Abs(d.Worst-tc.wantWorst) > 1e-15 && d.Worst != tc.wantWorst || d.Where != tc.wantWhere {
				t.Errorf("got %+v, want worst %g at %q over %d", d, tc.wantWorst, tc.wantWhere, len(tc.pairs))
			}
			r := &recorder{TB: t}
			Within(r, tc.tol, &d)
			if failed := len(r.errs) > 0; failed != tc.wantFail {
				t.Errorf("Within failed = %v (%v), want %v", failed, r.errs, tc.wantFail)
			}
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.csv")
	WriteCSV(t, path, [][]string{{"ics", "weight"}, {"QAA", "1.5"}, {"Q,B", "2"}})
	rows := ReadCSV(t, path)
	var got []string
	for i, r := range rows {
		got = append(got, fmt.Sprintf("%s=%g", r["ics"], Num(t, "x.csv", i, "weight", r["weight"])))
	}
	if want := []string{"QAA=1.5", "Q,B=2"}; !slices.Equal(got, want) {
		t.Errorf("read back %v, want %v", got, want)
	}
}
