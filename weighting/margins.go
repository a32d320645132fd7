package weighting

import (
	"icesurvey/fault"

	"fmt"
	"math"
)

// ErrNoRespondents is returned (wrapped, naming the ICS) for an ICS with no
// respondents: it has no weights and nothing of it can be published.
var ErrNoRespondents = fault.New(fault.BadInput, "no respondents")

// Variable is one raking variable of one ICS.
type Variable struct {
	// Name is the variable, as Params.Vars names it.
	Name string
	// Levels are the level codes in the layout's declared order, which breaks every
	// tie in the collapse.
	Levels []string
	// Frame is the eligible frame count of each level (same length as Levels).
	Frame []float64
	// Of is each respondent's level, an index into Levels (one entry per respondent).
	Of []int
}

// Input is one ICS's respondents and frame margins.
type Input struct {
	ICS string
	// Vars has one Variable per Params.Vars, in that order.
	Vars []Variable
}

// Level is one level of a variable after the collapse.
type Level struct {
	// Label is the level's code, or the codes it merged joined by "+" in level order.
	Label string
	// Members are the original level codes it holds, in level order.
	Members []string
	// Frame is its frame total T.
	Frame float64
	// N is its number of respondents.
	N int
}

// Collapse records one merge of M2.
type Collapse struct {
	Var string
	// Level is the sparse level taken (its label at the time), with N respondents.
	Level string
	N     int
	// Into is the neighbour it was merged into.
	Into string
	// Label is the merged level's label: the earlier label, "+", the later one.
	Label string
}

// Dropped records a level dropped by M2 because it had no frame and no respondents.
type Dropped struct {
	Var, Level string
}

// margins is one ICS's collapsed design: each variable's levels and each
// respondent's collapsed level.
type margins struct {
	total     float64 // N
	n         int     // respondents
	levels    [][]Level
	of        [][]int // [var][respondent] collapsed level index
	collapses []Collapse
	dropped   []Dropped
}

// prepare checks the input against p (shape, M1) and collapses sparse levels (M2).
// Every error names the ICS, and the variable, level or respondent at fault.
func prepare(in Input, p Params) (*margins, error) {
	if len(in.Vars) != len(p.Vars) {
		return nil, fmt.Errorf("weighting: ICS %s: %d variables given, parameters name %d (%v)", in.ICS, len(in.Vars), len(p.Vars), p.Vars)
	}
	n := -1
	for v, x := range in.Vars {
		if x.Name != p.Vars[v] {
			return nil, fmt.Errorf("weighting: ICS %s: variable %d is %q, parameters want %q", in.ICS, v+1, x.Name, p.Vars[v])
		}
		if len(x.Levels) != len(x.Frame) {
			return nil, fmt.Errorf("weighting: ICS %s: %s: %d levels but %d frame counts", in.ICS, x.Name, len(x.Levels), len(x.Frame))
		}
		if len(x.Levels) == 0 {
			return nil, fmt.Errorf("weighting: ICS %s: %s has no levels", in.ICS, x.Name)
		}
		seen := map[string]bool{}
		for l, code := range x.Levels {
			if seen[code] {
				return nil, fmt.Errorf("weighting: ICS %s: %s: level %q declared twice", in.ICS, x.Name, code)
			}
			seen[code] = true
			if f := x.Frame[l]; !(f >= 0) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("weighting: ICS %s: %s=%s: frame count %v is not a finite count ≥ 0", in.ICS, x.Name, code, f)
			}
		}
		if n >= 0 && len(x.Of) != n {
			return nil, fmt.Errorf("weighting: ICS %s: %s has %d respondents, %s has %d", in.ICS, x.Name, len(x.Of), in.Vars[0].Name, n)
		}
		n = len(x.Of)
		for i, l := range x.Of {
			if l < 0 || l >= len(x.Levels) {
				return nil, fmt.Errorf("weighting: ICS %s: respondent %d: %s level index %d is not one of the %d declared levels", in.ICS, i+1, x.Name, l, len(x.Levels))
			}
		}
	}
	m := &margins{n: n, levels: make([][]Level, len(in.Vars)), of: make([][]int, len(in.Vars))}
	// M1: every margin has the same total, to 1e-12 relative; never rescaled.
	for v, x := range in.Vars {
		t := 0.0
		for _, f := range x.Frame {
			t += f
		}
		if v == 0 {
			m.total = t
			continue
		}
		if math.Abs(t-m.total) > 1e-12*math.Max(t, m.total) {
			return nil, fmt.Errorf("weighting: ICS %s: margin totals differ: %s sums to %s, %s to %s (M1: the release fails, margins are never rescaled)",
				in.ICS, in.Vars[0].Name, formatFloat(m.total), x.Name, formatFloat(t))
		}
	}
	if m.total == 0 {
		return nil, fmt.Errorf("weighting: ICS %s: the frame margins are all zero", in.ICS)
	}
	if n == 0 {
		return nil, fmt.Errorf("weighting: ICS %s: %w", in.ICS, ErrNoRespondents)
	}
	for v, x := range in.Vars {
		if err := m.collapse(in.ICS, x, p.MinLevelN, v); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// collapse applies M2 to one variable: drop levels with frame 0 and no
// respondents (frame 0 with respondents is an error), then, while more than one level
// remains and the smallest respondent count is below minN, merge that level (ties:
// earliest) into its neighbour with fewer respondents (ties: the preceding one; at an
// end, its only neighbour). The merged level takes the earlier position.
func (m *margins) collapse(ics string, x Variable, minN, v int) error {
	count := make([]int, len(x.Levels))
	for _, l := range x.Of {
		count[l]++
	}
	type level struct {
		Level
		orig []int // original level indexes
	}
	var ls []level
	for l, code := range x.Levels {
		if x.Frame[l] == 0 {
			if count[l] > 0 {
				return fmt.Errorf("weighting: ICS %s: %s=%s has %d respondents but frame count 0 (M2)", ics, x.Name, code, count[l])
			}
			m.dropped = append(m.dropped, Dropped{Var: x.Name, Level: code})
			continue
		}
		ls = append(ls, level{Level{Label: code, Members: []string{code}, Frame: x.Frame[l], N: count[l]}, []int{l}})
	}
	for len(ls) > 1 {
		s := 0
		for i := range ls {
			if ls[i].N < ls[s].N {
				s = i
			}
		}
		if ls[s].N >= minN {
			break
		}
		into := s - 1
		switch {
		case s == 0:
			into = 1
		case s == len(ls)-1:
		case ls[s+1].N < ls[s-1].N:
			into = s + 1
		}
		a, b := min(s, into), max(s, into)
		merged := level{Level{
			Label:   ls[a].Label + "+" + ls[b].Label,
			Members: append(append([]string(nil), ls[a].Members...), ls[b].Members...),
			Frame:   ls[a].Frame + ls[b].Frame,
			N:       ls[a].N + ls[b].N,
		}, append(append([]int(nil), ls[a].orig...), ls[b].orig...)}
		m.collapses = append(m.collapses, Collapse{Var: x.Name, Level: ls[s].Label, N: ls[s].N, Into: ls[into].Label, Label: merged.Label})
		ls[a] = merged
		ls = append(ls[:b], ls[b+1:]...)
	}
	index := make([]int, len(x.Levels))
	m.levels[v] = make([]Level, len(ls))
	for i, l := range ls {
		m.levels[v][i] = l.Level
		for _, o := range l.orig {
			index[o] = i
		}
	}
	of := make([]int, len(x.Of))
	for i, l := range x.Of {
		of[i] = index[l]
	}
	m.of[v] = of
	return nil
}
