package publication

import (
	"fmt"
	"math"
	"testing"
)

// TestBreakdownsCannotBeDifferenced plays the attacker on the tests' release: within
// an ICS, every breakdown's groups partition the ICS's respondents, so the ICS's own
// row is their published total. For each ICS, question (measure) and breakdown it
// works back, by subtracting the published groups from the ICS row, any group's base,
// weighted base, % positive, and (in the distribution) any option's weighted amount,
// Σw = weighted % × Σw of those who answered. None may come out exactly when withheld.
// The attack is first shown to work: treated as unknown, a published group is worked
// back to its published figures.
func TestBreakdownsCannotBeDifferenced(t *testing.T) {
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	if failures, checked, withheld := attackResults(r); len(failures) > 0 || checked == 0 || withheld == 0 {
		t.Errorf("checked %d breakdowns (%d with a withheld group); worked back:", checked, withheld)
		for i, f := range failures {
			if i == 20 {
				t.Errorf("… and %d more", len(failures)-20)
				break
			}
			t.Errorf("  %s", f)
		}
	}
	if failures, checked := attackDistributions(r); len(failures) > 0 || checked == 0 {
		t.Errorf("checked %d option columns; worked back:", checked)
		for i, f := range failures {
			if i == 20 {
				t.Errorf("… and %d more", len(failures)-20)
				break
			}
			t.Errorf("  %s", f)
		}
	}
}

type attackKey struct{ ics, typ, question, measure, breakdown string }

// attackResults differences every breakdown of the results table. It returns what
// it worked back of withheld groups, the breakdowns it checked and how many of them
// had a withheld group. A published group worked back differently from what is
// published is a failure too (the attack must be the real one).
func attackResults(r *Results) (failures []string, checked, withheld int) {
	icsRow := map[attackKey]*ResultRow{}
	groups := map[attackKey][]*ResultRow{}
	var keys []attackKey
	for i := range r.results {
		x := &r.results[i]
		if x.Geography != GeographyICS {
			continue
		}
		k := attackKey{x.ICS, x.RespondentType, x.QuestionID, x.Measure, ""}
		if x.GroupVariable == GroupAll {
			icsRow[k] = x
			continue
		}
		k.breakdown = x.GroupVariable
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], x)
	}
	for _, k := range keys {
		top := icsRow[attackKey{k.ics, k.typ, k.question, k.measure, ""}]
		if top == nil {
			continue
		}
		rows := groups[k]
		checked++
		// The three sums the ICS row publishes: base, Σw, Σw of the positive.
		n, nOK := top.BaseUnweighted.Value()
		w, wOK := top.BaseWeighted.Value()
		p, pOK := top.PctPositive.Value()
		type unknown struct{ base, weighted, positive []int }
		var u unknown
		var sumN int64
		var sumW, sumPW float64
		for i, x := range rows {
			bn, ok := x.BaseUnweighted.Value()
			if !ok {
				u.base = append(u.base, i)
			}
			sumN += bn
			bw, okW := x.BaseWeighted.Value()
			if !okW {
				u.weighted = append(u.weighted, i)
			}
			sumW += bw
			bp, okP := x.PctPositive.Value()
			if !okP || !okW {
				u.positive = append(u.positive, i)
			} else {
				sumPW += bp / 100 * bw
			}
		}
		if len(u.base) > 0 {
			withheld++
		}
		name := func(i int) string {
			x := rows[i]
			return fmt.Sprintf("%s %s %s%s by %s = %s", k.ics, k.typ, k.question, map[bool]string{true: "=" + k.measure}[k.measure != ""], k.breakdown, x.GroupLevel)
		}
		if nOK && len(u.base) == 1 {
			failures = append(failures, fmt.Sprintf("%s (%s): base %d", name(u.base[0]), rows[u.base[0]].Status, n-sumN))
		}
		var gotW float64
		if wOK && len(u.weighted) == 1 {
			gotW = w - sumW
			failures = append(failures, fmt.Sprintf("%s (%s): weighted base %.4f", name(u.weighted[0]), rows[u.weighted[0]].Status, gotW))
		}
		if wOK && pOK && len(u.positive) == 1 {
			i := u.positive[0]
			bw, ok := rows[i].BaseWeighted.Value()
			if !ok && len(u.weighted) == 1 {
				bw, ok = gotW, true
			}
			if ok && bw > 0 {
				failures = append(failures, fmt.Sprintf("%s (%s): %% positive %.2f", name(i), rows[i].Status, 100*(p/100*w-sumPW)/bw))
			}
		}
		// The attack is real: with nothing withheld, each group is the total less the
		// others.
		if len(u.base) == 0 && len(u.positive) == 0 && nOK && wOK && pOK {
			for _, x := range rows {
				bn, _ := x.BaseUnweighted.Value()
				bw, _ := x.BaseWeighted.Value()
				bp, _ := x.PctPositive.Value()
				if n-(sumN-bn) != bn || math.Abs(w-(sumW-bw)-bw) > 1e-6*w ||
					math.Abs(100*(p/100*w-(sumPW-bp/100*bw))/bw-bp) > 1e-6 {
					failures = append(failures, fmt.Sprintf("%s %s: the groups do not add up to the ICS", k.ics, k.breakdown))
				}
			}
		}
	}
	return failures, checked, withheld
}

// attackDistributions differences every option column of every breakdown of the
// distribution table in weighted amounts: a row's Σw of those who answered is its
// weighted base over the weighted % of its base options (for the ICS and for each
// group whose base options are all published), an option's amount its % of that.
func attackDistributions(r *Results) (failures []string, checked int) {
	type rowKey struct {
		attackKey
		level string
	}
	base := map[rowKey]float64{} // weighted base, where published
	for _, x := range r.results {
		if v, ok := x.BaseWeighted.Value(); ok && x.Geography == GeographyICS && x.Measure == "" {
			base[rowKey{attackKey{x.ICS, x.RespondentType, x.QuestionID, "", x.GroupVariable}, x.GroupLevel}] = v
		}
	}
	excluded := map[[2]string]map[string]bool{}
	for _, x := range r.results {
		k := [2]string{x.RespondentType, x.QuestionID}
		if excluded[k] == nil {
			excluded[k] = map[string]bool{}
			for _, c := range x.ExcludedCodes {
				excluded[k][c] = true
			}
		}
	}
	// Each row's options, in order.
	rows := map[rowKey][]*DistributionRow{}
	var order []rowKey
	for i := range r.dists {
		x := &r.dists[i]
		if x.Geography != GeographyICS {
			continue
		}
		k := rowKey{attackKey{x.ICS, x.RespondentType, x.QuestionID, "", x.GroupVariable}, x.GroupLevel}
		if rows[k] == nil {
			order = append(order, k)
		}
		rows[k] = append(rows[k], x)
	}
	// answered is a row's Σw of those who answered, when it can be read off.
	answered := func(k rowKey) (float64, bool) {
		bw, ok := base[k]
		if !ok {
			return 0, false
		}
		ex := excluded[[2]string{k.typ, k.question}]
		share := 0.0
		for _, x := range rows[k] {
			if ex[x.OptionCode] {
				continue
			}
			v, ok := x.PctWeighted.Value()
			if !ok {
				return 0, false
			}
			share += v / 100
		}
		if !(share > 0) || share > 1+1e-9 {
			return 0, false // a multi-choice question's shares: not a partition of those who answered
		}
		return bw / share, true
	}
	byBreakdown := map[attackKey][]rowKey{}
	var brks []attackKey
	for _, k := range order {
		if k.breakdown == GroupAll {
			continue
		}
		if byBreakdown[k.attackKey] == nil {
			brks = append(brks, k.attackKey)
		}
		byBreakdown[k.attackKey] = append(byBreakdown[k.attackKey], k)
	}
	for _, bk := range brks {
		top := rowKey{attackKey{bk.ics, bk.typ, bk.question, "", GroupAll}, GroupAll}
		topA, ok := answered(top)
		if !ok {
			continue
		}
		for j, tx := range rows[top] {
			tp, ok := tx.PctWeighted.Value()
			if !ok {
				continue
			}
			checked++
			rest := tp / 100 * topA
			var unknown []rowKey
			for _, g := range byBreakdown[bk] {
				a, okA := answered(g)
				v, okV := rows[g][j].PctWeighted.Value()
				if !okA || !okV {
					unknown = append(unknown, g)
					continue
				}
				rest -= v / 100 * a
			}
			if len(unknown) == 1 {
				g := unknown[0]
				failures = append(failures, fmt.Sprintf("%s %s %s by %s = %s, option %s (%s): Σw %.4f",
					g.ics, g.typ, g.question, g.breakdown, g.level, tx.OptionCode, rows[g][j].Status, rest))
			}
		}
	}
	return failures, checked
}
