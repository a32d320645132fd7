package linkage_test

import (
	"context"
	"fmt"
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

	// Plain counts: providers_12m groups of P_REPEAT_STORY, and every match rate.
	want := map[string]int64{}
	providers := map[string]string{}
	for _, r := range readAll[schemas.LinkedRespondent](t, w.st, res.Tables[schemas.TableLinkedRespondents].Key, schemas.LinkedRespondentLayout()) {
		g := "5+"
		switch n := r.DistinctProviders12M; {
		case n <= 2:
			g = fmt.Sprint(n)
		case n <= 4:
			g = "3-4"
		}
		providers[r.ReleasePseudonym] = g
	}
	for _, a := range readAll[schemas.LinkedAnswer](t, w.st, res.Tables[schemas.TableLinkedAnswers].Key, schemas.LinkedAnswerLayout()) {
		if a.QuestionID != "P_REPEAT_STORY" || !a.Scored || !a.InBase {
			continue
		}
		cat := "not_positive"
		if a.Positive {
			cat = "positive"
		}
		want[schemas.LinkageAggregateExperienceByBurden+"/P_REPEAT_STORY/providers_12m/"+providers[a.ReleasePseudonym]+"/"+cat]++
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
