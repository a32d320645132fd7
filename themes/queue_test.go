package themes

import (
	"fmt"
	"math"
	"testing"
)

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("resp-%05d", i)
	}
	return out
}

func TestSamplerShares(t *testing.T) {
	s := DefaultSampler
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	eval, double, both := 0, 0, 0
	all := ids(20000)
	for _, id := range all {
		e, d := s.Evaluation(id), s.DoubleCoded(id)
		if e {
			eval++
		}
		if d {
			double++
		}
		if e && d {
			both++
		}
		// Stable: the same answer every time, whatever else has arrived.
		if e != s.Evaluation(id) || d != s.DoubleCoded(id) {
			t.Fatal("sampler not stable")
		}
	}
	n := float64(len(all))
	// Binomial sd at n = 20000 is under 0.3 points; allow 1.
	if math.Abs(float64(eval)/n-s.Splitter.TestShare) > 0.01 || math.Abs(float64(double)/n-s.DoubleShare) > 0.01 {
		t.Errorf("evaluation share %.3f (want %.2f), double share %.3f (want %.2f)", float64(eval)/n, s.Splitter.TestShare, float64(double)/n, s.DoubleShare)
	}
	// The two samples are drawn independently.
	if exp := n * s.Splitter.TestShare * s.DoubleShare; math.Abs(float64(both)-exp) > 4*math.Sqrt(exp) {
		t.Errorf("%d in both samples, expected about %.0f", both, exp)
	}
	for _, bad := range []float64{0.05, 0.25} {
		b := s
		b.DoubleShare = bad
		if b.Validate() == nil {
			t.Errorf("double share %.2f accepted", bad)
		}
	}
}

func TestPlan(t *testing.T) {
	s := DefaultSampler
	var items []QueueItem
	for i, id := range ids(400) {
		p := float64(i%100) / 100
		items = append(items, QueueItem{ResponseID: id, Scores: []ThemeScore{{Theme: "continuity", Probability: p, Threshold: 0.5}}})
	}
	plan := s.Plan(items)
	if len(plan) != len(items) {
		t.Fatalf("%d planned of %d", len(plan), len(items))
	}
	seen := map[string]bool{}
	lastDist := -1.0
	evalSeen, firstHalfEval := 0, 0
	for i, p := range plan {
		if seen[p.ResponseID] {
			t.Fatalf("%s planned twice", p.ResponseID)
		}
		seen[p.ResponseID] = true
		if p.Evaluation {
			evalSeen++
			if i < len(plan)/2 {
				firstHalfEval++
			}
			if p.ShowSuggestions {
				t.Errorf("%s: evaluation comment shown with suggestions", p.ResponseID)
			}
			continue
		}
		if !p.ShowSuggestions {
			t.Errorf("%s: suggestions hidden outside the evaluation slice", p.ResponseID)
		}
		if p.Distance < lastDist {
			t.Fatalf("position %d: distance %.3f after %.3f: not ordered by uncertainty", i, p.Distance, lastDist)
		}
		lastDist = p.Distance
	}
	// The evaluation slice is spread through the queue, not left to the end.
	if evalSeen == 0 || math.Abs(float64(firstHalfEval)-float64(evalSeen)/2) > 2 {
		t.Errorf("%d evaluation comments, %d in the first half", evalSeen, firstHalfEval)
	}
	// The most uncertain comment (probability at the threshold) comes first among the rest.
	for _, p := range plan {
		if !p.Evaluation {
			if p.Distance != 0 {
				t.Errorf("first non-evaluation comment has distance %.3f, want 0", p.Distance)
			}
			break
		}
	}
	// Order of the input does not matter.
	rev := make([]QueueItem, len(items))
	for i := range items {
		rev[i] = items[len(items)-1-i]
	}
	for i, p := range s.Plan(rev) {
		if p != plan[i] {
			t.Fatalf("position %d differs when the input is reversed", i)
		}
	}
}

func TestSecondCoder(t *testing.T) {
	s := DefaultSampler
	coders := []string{"ann", "bob", "cat"}
	counts := map[string]int{}
	for _, id := range ids(300) {
		c := s.SecondCoder(id, "ann", coders)
		if c == "ann" || c == "" {
			t.Fatalf("%s: second coder %q", id, c)
		}
		if c != s.SecondCoder(id, "ann", []string{"cat", "bob", "ann"}) {
			t.Fatal("second coder depends on the order of the coder list")
		}
		counts[c]++
	}
	if counts["bob"] < 100 || counts["cat"] < 100 {
		t.Errorf("second coders unbalanced: %v", counts)
	}
	if s.SecondCoder("x", "ann", []string{"ann"}) != "" {
		t.Error("a second coder invented when there is none")
	}
}

func TestUncertainty(t *testing.T) {
	if u := Uncertainty(nil); u != 0 {
		t.Errorf("no scores: %v", u)
	}
	near := Uncertainty([]ThemeScore{{Probability: 0.55, Threshold: 0.5}, {Probability: 0.99, Threshold: 0.5}})
	far := Uncertainty([]ThemeScore{{Probability: 0.95, Threshold: 0.9}})
	if !(near < far) {
		t.Errorf("0.55 vs 0.5 (%.3f) should be less certain than 0.95 vs 0.9 (%.3f)", near, far)
	}
}
