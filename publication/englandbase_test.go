package publication

import (
	"context"
	"database/sql"
	"testing"

	"icesurvey/publication/pubsynth"
)

// England's row publishes its base, n_base of every published ICS that asked the
// question together: England's base less the published ICS rows' bases is the base of
// the withheld ones. With one ICS row withheld (B) beside published ones, that gave
// its base exactly (S1 shows it as <10), and the weighted sums England's % and
// weighted base add up to gave its respondents' answers: here an ICS of one patient,
// whose one answer England less the other ICS showed. The by-ICS table is checked
// knowing the bases' sum, so a second row is withheld with it.
func TestEnglandBaseDoesNotGiveAWithheldICS(t *testing.T) {
	w, err := pubsynth.Build(context.Background(), t.TempDir(), pubsynth.Spec{Wave: "W3", Seed: 5,
		ICSs: []pubsynth.ICS{
			{Code: "QAA", Sampled: 300, Patients: 90, Carers: 20},
			{Code: "QBB", Sampled: 100, Patients: 1, Carers: 1},
			{Code: "QCC", Sampled: 200, Patients: 60, Carers: 15},
		}})
	if err != nil {
		t.Fatal(err)
	}
	var r *Results
	if err := w.Warehouse.Read(context.Background(), func(db *sql.DB) (err error) {
		r, err = Compute(context.Background(), db, "W3", testParams())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	type key struct{ typ, q, measure string }
	england := map[key]ResultRow{}
	published := map[key]int64{}
	withheld := map[key][]string{}
	for _, x := range r.Results() {
		k := key{x.RespondentType, x.QuestionID, x.Measure}
		switch {
		case x.GroupVariable != GroupAll:
		case x.Geography == GeographyEngland:
			england[k] = x
		case x.Status.Withheld():
			withheld[k] = append(withheld[k], x.ICS)
		default:
			n, _ := x.BaseUnweighted.Value()
			published[k] += n
		}
	}
	var checked int
	for k, e := range england {
		n, ok := e.BaseUnweighted.Value()
		if !ok || len(withheld[k]) == 0 {
			continue
		}
		checked++
		if len(withheld[k]) == 1 {
			t.Errorf("%s %s %s: England's base %d less the published ICSs' %d gives %s's withheld base, %d",
				k.typ, k.q, k.measure, n, published[k], withheld[k][0], n-published[k])
		}
	}
	if checked == 0 {
		t.Fatal("no question with a withheld ICS row: the test checks nothing")
	}
}
