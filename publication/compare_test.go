package publication

import (
	"context"
	"database/sql"
	"testing"

	"icesurvey/estimate"
)

// D gives no flag when either side of the comparison is withheld. In a wave of two
// ICSs (or for a group only one other ICS has) England excluding an ICS is the other
// ICS's row, or its demographic group's, alone: a flag beside a withheld row would say
// how far the withheld figure is from the published one. Every flag of a two-ICS
// release must then have both rows published, for ICS rows and demographic groups,
// with either kind of group comparison.
func TestNoFlagAgainstAWithheldRow(t *testing.T) {
	w := smallWave(t)
	for _, cmp := range []string{CompareSameGroup, CompareWholeRest} {
		p := testParams()
		p.GroupComparison = cmp
		var r *Results
		if err := w.Warehouse.Read(context.Background(), func(db *sql.DB) (err error) {
			r, err = Compute(context.Background(), db, "W2", p)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		type key struct{ typ, q, measure, ics, gvar, glevel string }
		rows := map[key]ResultRow{}
		icss := map[string]bool{}
		for _, x := range r.Results() {
			if x.Geography == GeographyICS {
				rows[key{x.RespondentType, x.QuestionID, x.Measure, x.ICS, x.GroupVariable, x.GroupLevel}] = x
				icss[x.ICS] = true
			}
		}
		if len(icss) != 2 {
			t.Fatalf("the wave has ICSs %v, want two", icss)
		}
		var flagged, checked int
		for k, x := range rows {
			if x.VsEngland == estimate.NoFlag {
				continue
			}
			flagged++
			for other := range icss {
				if other == k.ics {
					continue
				}
				ok := key{k.typ, k.q, k.measure, other, k.gvar, k.glevel}
				if cmp == CompareWholeRest {
					ok.gvar, ok.glevel = GroupAll, GroupAll
				}
				y, found := rows[ok]
				if !found {
					continue // the other ICS has no such group: England excluding k is empty
				}
				checked++
				if y.Status.Withheld() {
					t.Errorf("%s: %s %s %s=%s flagged %q against %s's row, withheld (%s)", cmp, k.q, k.ics, k.gvar, k.glevel, x.VsEngland, other, y.Status)
				}
			}
		}
		if checked == 0 {
			t.Fatalf("%s: no flag to check (%d flagged)", cmp, flagged)
		}
	}
}
