// Package weighting produces each ICS's respondent weights for the published
// comparable data (PUBLICATION.md, sections M and W): the frame margins are checked
// (M1), sparse levels collapsed deterministically (M2), the base weight set to the mean
// weight d = N/n (M3), and the weights raked to every collapsed margin, bounded to
// [lo·d, hi·d] when the unbounded raking leaves that range (W1–W4).
//
// What it guarantees. The weights are the unique minimiser of Σ w·log(w/d) − w + d
// subject to every collapsed margin and, when the status is trimmed, the bounds:
// w_i = d·clip(exp(η_i), lo, hi) with η_i a sum of one multiplier per variable level
// (Result.Multipliers), met to the relative tolerance tol. That uniqueness is why the
// R survey package (calibrate with calfun = "raking" and bounds = c(lo, hi)) agrees to
// solver precision; the cross-check test in package estimate holds it to 1e-9.
// Every run is deterministic (the same input gives the same bits) and ends within
// max_sweeps: infeasible bounds give infeasible_untrimmed, never a loop. Every collapse
// and dropped level is recorded for the release's metadata; nothing is rescaled
// silently — margins that disagree are an error naming the ICS.
//
// The computation runs on cells (respondents with the same collapsed levels, who
// share a weight), so raking an ICS costs microseconds however many respond.
//
// Privacy: the package sees only level indexes and frame counts, never an identifier;
// its errors name an ICS, a variable, a level or a respondent's position in the input.
// It does no I/O.
package weighting

import (
	"fmt"
	"math"
	"strconv"
)

// Status is an ICS's weighting status (PUBLICATION.md, W).
type Status string

// Weighting statuses.
const (
	// NotNeeded: the unbounded raking's weights are already within the bounds (W2).
	NotNeeded Status = "not_needed"
	// Trimmed: the bounded raking converged (W4); the weights meet the margins and
	// the bounds.
	Trimmed Status = "trimmed"
	// InfeasibleUntrimmed: no bounded solution (W3), or the bounded raking did not
	// converge in max_sweeps (W4); the unbounded raking's weights are kept.
	InfeasibleUntrimmed Status = "infeasible_untrimmed"
	// RakeFailed: the unbounded raking did not converge in max_sweeps (W1); the ICS is
	// not published and Result.Weights is nil.
	RakeFailed Status = "rake_failed"
)

// Result is one ICS's weights and the record the release's metadata keeps of them.
type Result struct {
	ICS    string
	Status Status
	// Reason says why the status is infeasible_untrimmed or rake_failed.
	Reason string
	// FrameTotal is N, Respondents n, BaseWeight d = N/n (M3).
	FrameTotal  float64
	Respondents int
	BaseWeight  float64
	// Weights has one weight per respondent, in input order; nil for rake_failed.
	Weights []float64
	// Sweeps is the unbounded raking's sweeps (W1); BoundedSweeps the bounded
	// raking's (W4; 0 when it did not run).
	Sweeps, BoundedSweeps int
	// MarginError is the largest relative margin error of the weights kept.
	MarginError float64
	// MinRatio and MaxRatio are the smallest and largest w/d.
	MinRatio, MaxRatio float64
	// Levels are each variable's levels after the collapse, in Params.Vars order.
	Levels [][]Level
	// Multipliers are each collapsed level's multiplier (in Levels' shape) of the
	// weights kept: w_i = d·clip(exp(Σ_v Multipliers[v][level_v(i)]), lo, hi), with
	// no clipping unless the status is trimmed.
	Multipliers [][]float64
	// LevelOf is each respondent's collapsed level, per variable: an index into Levels.
	LevelOf [][]int
	// Collapses and Dropped record M2, in the order applied.
	Collapses []Collapse
	Dropped   []Dropped
}

// Weight computes one ICS's weights (M1–M3, W1–W4). An error means the release cannot
// proceed for this ICS (bad margins, a level with respondents but no frame, no
// respondents: errors.Is(err, ErrNoRespondents)); a status of rake_failed is not an
// error but leaves the ICS unpublished.
func Weight(in Input, p Params) (*Result, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m, err := prepare(in, p)
	if err != nil {
		return nil, err
	}
	d := m.total / float64(m.n)
	res := &Result{ICS: in.ICS, FrameTotal: m.total, Respondents: m.n, BaseWeight: d,
		Levels: m.levels, LevelOf: m.of, Collapses: m.collapses, Dropped: m.dropped}
	c := newCells(m, d)

	// W1: unbounded raking.
	g, lambda, sweeps, rakeErr, ok := c.rake(p.Tol, p.MaxSweeps)
	res.Sweeps = sweeps
	if !ok {
		res.Status = RakeFailed
		res.MarginError = rakeErr
		res.Reason = fmt.Sprintf("unbounded raking did not converge in %d sweeps (margin error %s, tol %s)",
			sweeps, formatFloat(rakeErr), formatFloat(p.Tol))
		return res, nil
	}
	keep := func(g []float64, lambda [][]float64, err float64) {
		res.Weights = make([]float64, m.n)
		for i, id := range c.of {
			res.Weights[i] = d * g[id]
		}
		res.Multipliers, res.MarginError = lambda, err
		res.MinRatio, res.MaxRatio = math.Inf(1), math.Inf(-1)
		for _, x := range g {
			res.MinRatio, res.MaxRatio = min(res.MinRatio, x), max(res.MaxRatio, x)
		}
	}
	keep(g, lambda, rakeErr)

	// W2: within the bounds already.
	if res.MinRatio >= p.Lo*(1-1e-9) && res.MaxRatio <= p.Hi*(1+1e-9) {
		res.Status = NotNeeded
		return res, nil
	}
	// W3: a level whose target ratio r = T/Σd is outside (lo, hi) has no bounded solution.
	for v, ls := range m.levels {
		for _, l := range ls {
			if r := l.Frame / (d * float64(l.N)); r <= p.Lo || r >= p.Hi {
				res.Status = InfeasibleUntrimmed
				res.Reason = fmt.Sprintf("no bounded solution: %s=%s needs T/Σd = %s, outside (%s, %s)",
					p.Vars[v], l.Label, strconv.FormatFloat(r, 'g', 6, 64), formatFloat(p.Lo), formatFloat(p.Hi))
				return res, nil
			}
		}
	}
	// W4: bounded raking.
	gb, lambdaB, bsweeps, bErr, ok := c.rakeBounded(p.Lo, p.Hi, p.Tol, p.MaxSweeps)
	res.BoundedSweeps = bsweeps
	if !ok {
		res.Status = InfeasibleUntrimmed
		res.Reason = fmt.Sprintf("bounded raking did not converge in %d sweeps (margin error %s, tol %s): the bounds look jointly infeasible",
			bsweeps, formatFloat(bErr), formatFloat(p.Tol))
		if math.IsInf(bErr, 0) || math.IsNaN(bErr) {
			// The multipliers ran off to infinity: no bounded solution exists.
			res.Reason = fmt.Sprintf("bounded raking diverged after %d sweeps: the bounds are jointly infeasible", bsweeps)
		}
		return res, nil
	}
	keep(gb, lambdaB, bErr)
	res.Status = Trimmed
	return res, nil
}
