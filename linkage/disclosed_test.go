package linkage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"icesurvey/disclosure"
	"icesurvey/linkage"
	"icesurvey/schemas"
)

// The disclosed aggregates publish the true counts where they publish any (checked
// here against counts made in plain Go from the release's person-level outputs and its
// match rates), never a count of 1 to min_count-1 or a base under min_base, and a
// withheld cell carries no count, share or empty status.
func TestDiscloseAggregatesPublishesTrueCountsAndNoSmallOnes(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 300, 150)
	w.generate(t, "csv")
	res := w.build(t, "R1", "")
	p := disclosure.DefaultParams()
	dr, err := linkage.DiscloseAggregates(ctx, w.st, w.wave, "R1", p)
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll[schemas.LinkageDisclosed](t, w.st, dr.Key, schemas.LinkageDisclosedLayout())
	if len(rows) != dr.Cells || dr.Withheld == 0 || dr.Withheld == dr.Cells {
		t.Fatalf("%d rows, result %+v", len(rows), dr)
	}

	// Plain counts: providers_12m and eFI band groups of every question, and every
	// match rate.
	want := map[string]int64{}
	providers, efi := map[string]string{}, map[string]string{}
	for _, r := range readAll[schemas.LinkedRespondent](t, w.st, res.Tables[schemas.TableLinkedRespondents].Key, schemas.LinkedRespondentLayout()) {
		g := "5+"
		switch n := r.DistinctProviders12M; {
		case n <= 2:
			g = fmt.Sprint(n)
		case n <= 4:
			g = "3-4"
		}
		providers[r.ReleasePseudonym] = g
		efi[r.ReleasePseudonym] = r.EFIBand
	}
	for _, a := range readAll[schemas.LinkedAnswer](t, w.st, res.Tables[schemas.TableLinkedAnswers].Key, schemas.LinkedAnswerLayout()) {
		if !a.Scored || !a.InBase {
			continue
		}
		cat := "not_positive"
		if a.Positive {
			cat = "positive"
		}
		k := schemas.LinkageAggregateExperienceByBurden + "/" + a.QuestionID + "/"
		want[k+"providers_12m/"+providers[a.ReleasePseudonym]+"/"+cat]++
		want[k+"efi_band/"+efi[a.ReleasePseudonym]+"/"+cat]++
	}
	for _, m := range readAll[schemas.LinkageMatchRate](t, w.st, res.Tables[schemas.TableLinkageMatchRates].Key, schemas.LinkageMatchRateLayout()) {
		k := schemas.LinkageAggregateMatchRates + "/" + m.DatasetID + "/" + m.Dimension + "/" + m.Category + "/"
		want[k+"linked"], want[k+"not_linked"] = m.Linked, m.Consenters-m.Linked
	}
	// Consent: each frame category's respondents who consented and who did not, and a
	// question's positive answers on each side, counted here from the frame and the
	// answers kept in the release (the linked answers are the consenters').
	for _, b := range readAll[schemas.LinkageConsentBias](t, w.st, res.Tables[schemas.TableLinkageConsentBias].Key, schemas.LinkageConsentBiasLayout()) {
		if q, ok := strings.CutPrefix(b.Dimension, "question:"); ok {
			k := schemas.LinkageAggregateExperienceByConsent + "/" + q + "/consent/"
			want[k+"consented/positive"], want[k+"consented/not_positive"] = b.Consenters, b.ConsentersBase-b.Consenters
			want[k+"not_consented/positive"], want[k+"not_consented/not_positive"] = b.NonConsenters, b.NonConsentersBase-b.NonConsenters
			continue
		}
		k := schemas.LinkageAggregateConsentRates + "/" + b.Dimension + "/" + b.Dimension + "/" + b.Category + "/"
		want[k+"consented"], want[k+"not_consented"] = b.Consenters, b.NonConsenters
	}
	consentedBy := map[string]int64{} // age band → consenters, from the release's people
	for _, r := range readAll[schemas.LinkedRespondent](t, w.st, res.Tables[schemas.TableLinkedRespondents].Key, schemas.LinkedRespondentLayout()) {
		consentedBy[r.AgeBand]++
	}
	compared, burden, consent := 0, 0, 0
	for _, r := range rows {
		k := r.Aggregate + "/" + r.Subject + "/" + r.Grouping + "/" + r.GroupValue + "/" + r.Category
		if r.Count == nil {
			if r.Share != nil || r.Status == "" || r.Status == "L" {
				t.Errorf("%s: withheld with share %v status %q", k, r.Share, r.Status)
			}
			continue
		}
		if *r.Count > 0 && *r.Count < int64(p.MinCount) || r.Base == nil || *r.Base < int64(p.MinBase) {
			t.Errorf("%s: published count %d base %v", k, *r.Count, r.Base)
		}
		if n, ok := want[k]; ok || r.Aggregate == schemas.LinkageAggregateMatchRates {
			compared++
			if r.Aggregate == schemas.LinkageAggregateExperienceByBurden {
				burden++
			}
			if r.Aggregate == schemas.LinkageAggregateConsentRates || r.Aggregate == schemas.LinkageAggregateExperienceByConsent {
				consent++
			}
			if r.Aggregate == schemas.LinkageAggregateConsentRates && r.Subject == "age_band" && r.Category == "consented" && *r.Count != consentedBy[r.GroupValue] {
				t.Errorf("%s: published %d consenters, the release links %d", k, *r.Count, consentedBy[r.GroupValue])
			}
			if *r.Count != n {
				t.Errorf("%s: published %d, the true count is %d", k, *r.Count, n)
			}
		}
	}
	if compared < 20 || burden == 0 || consent < 10 {
		t.Errorf("only %d published cells compared with plain counts (%d of experience by burden, %d of consent)", compared, burden, consent)
	}
}

// An attacker who has the published linkage_disclosed table works back every withheld
// count they can by differencing: a row's cells sum to its base; each grouping of an
// aggregate and subject covers the same people, so every grouping's column sums to the
// same total (the match rates' "all" row, or any grouping shown whole); the consent
// rates' frame variables all cover the respondents; and the aggregates are tied to one
// another: a question's consenters by burden are the consenting row of its experience
// by consent, and a group's consenters in the match rates are its consenters in the
// consent rates (the match rates' "all" row their total). Equations with one unknown
// are solved until nothing changes; no withheld count may be found so.
func TestDiscloseAggregatesWithheldCountsCannotBeDifferenced(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		perICS, respondents int
		icss                []string
	}{
		{300, 150, nil},
		{200, 90, []string{"QMM", "QWE", "QJK"}},
	} {
		t.Run(fmt.Sprint(c.perICS, "/", c.respondents, "/", len(c.icss)), func(t *testing.T) {
			w := newTestWave(t, c.perICS, c.respondents, c.icss...)
			w.generate(t, "csv")
			w.build(t, "R1", "")
			dr, err := linkage.DiscloseAggregates(ctx, w.st, w.wave, "R1", disclosure.DefaultParams())
			if err != nil {
				t.Fatal(err)
			}
			truth, err := linkage.AggregateCountsForTest(ctx, w.st, w.wave, "R1")
			if err != nil {
				t.Fatal(err)
			}
			rows := readAll[schemas.LinkageDisclosed](t, w.st, dr.Key, schemas.LinkageDisclosedLayout())
			recovered, withheld := differencingAttack(t, rows, truth)
			if withheld == 0 {
				t.Fatal("nothing withheld: the test proves nothing")
			}
			for _, r := range recovered {
				t.Error(r)
			}
			t.Logf("%d withheld counts, %d worked back", withheld, len(recovered))
		})
	}
}

// differencingAttack solves the published table's linear equations by elimination of
// single unknowns and returns each withheld count it found (checked against truth, so
// that a wrong equation fails the test rather than passing it).
func differencingAttack(t *testing.T, rows []schemas.LinkageDisclosed, truth map[string]int64) (recovered []string, withheld int) {
	t.Helper()
	known := map[string]int64{}
	type term struct {
		v    string
		coef int64
	}
	var eqs [][]term
	family := func(r schemas.LinkageDisclosed) string {
		switch r.Aggregate {
		case schemas.LinkageAggregateConsentRates:
			return r.Aggregate
		case schemas.LinkageAggregateExperienceByCondition:
			return "" // a person can have several conditions or none: no partition
		}
		return r.Aggregate + "/" + r.Subject
	}
	rowSums := map[string][]term{}     // base variable → its cells
	columnSums := map[string][]term{}  // family/grouping/category → cells
	columnTotal := map[string]string{} // family/grouping/category → total variable
	for _, r := range rows {
		rowKey := r.Aggregate + "/" + r.Subject + "/" + r.Grouping + "/" + r.GroupValue
		cell, base := "cell:"+rowKey+"/"+r.Category, "base:"+rowKey
		if r.Count != nil {
			known[cell] = *r.Count
		} else {
			withheld++
		}
		if r.Base != nil {
			known[base] = *r.Base
		}
		rowSums[base] = append(rowSums[base], term{cell, 1})
		if f := family(r); f != "" {
			k := f + "|" + r.Grouping + "|" + r.Category
			columnSums[k] = append(columnSums[k], term{cell, 1})
			columnTotal[k] = "total:" + f + "/" + r.Category
		}
	}
	for base, cells := range rowSums {
		eqs = append(eqs, append([]term{{base, -1}}, cells...))
	}
	for k, cells := range columnSums {
		eqs = append(eqs, append([]term{{columnTotal[k], -1}}, cells...))
	}
	// Ties between aggregates.
	for _, r := range rows {
		switch r.Aggregate {
		case schemas.LinkageAggregateExperienceByConsent:
			if r.GroupValue == "consented" {
				eqs = append(eqs, []term{{"cell:" + r.Aggregate + "/" + r.Subject + "/" + r.Grouping + "/consented/" + r.Category, 1},
					{"total:" + schemas.LinkageAggregateExperienceByBurden + "/" + r.Subject + "/" + r.Category, -1}})
			}
		case schemas.LinkageAggregateMatchRates:
			if r.Category != "linked" {
				continue
			}
			base := "base:" + r.Aggregate + "/" + r.Subject + "/" + r.Grouping + "/" + r.GroupValue
			if r.Grouping == "all" {
				eqs = append(eqs, []term{{base, 1}, {"total:" + schemas.LinkageAggregateConsentRates + "/consented", -1}})
			} else {
				eqs = append(eqs, []term{{base, 1}, {"cell:" + schemas.LinkageAggregateConsentRates + "/" + r.Grouping + "/" + r.Grouping + "/" + r.GroupValue + "/consented", -1}})
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for _, eq := range eqs {
			var unknown []term
			var sum int64
			for _, x := range eq {
				if n, ok := known[x.v]; ok {
					sum += x.coef * n
				} else if !slices.Contains(unknown, x) {
					unknown = append(unknown, x)
				}
			}
			if len(unknown) != 1 {
				continue
			}
			u := unknown[0]
			n := -sum / u.coef
			known[u.v] = n
			changed = true
			if cell, ok := strings.CutPrefix(u.v, "cell:"); ok {
				want, found := truth[cell]
				if !found || want != n {
					t.Fatalf("the attack's equations are wrong: %s worked back as %d, truly %d (found %v)", cell, n, want, found)
				}
				recovered = append(recovered, fmt.Sprintf("withheld count %s = %d worked back by differencing", cell, n))
			}
		}
	}
	slices.Sort(recovered)
	return recovered, withheld
}
