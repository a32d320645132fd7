package linkage_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"icesurvey/codes"
	"icesurvey/linkage"
	"icesurvey/schemas"
)

// build validates the synthetic extracts and builds release id.
func (w *testWave) build(t *testing.T, release, truthKey string) *linkage.ReleaseResult {
	t.Helper()
	res, err := linkage.BuildRelease(context.Background(), w.st, linkage.ReleaseConfig{WaveID: w.wave, ReleaseID: release,
		ProjectKey: testKey, TruthKey: truthKey})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestReleaseMatchRatesEqualTheTruthFiles(t *testing.T) {
	w := newTestWave(t, 400, 160, "QMM", "QWE", "QJK")
	gs, _ := w.generate(t, "csv")
	res := w.build(t, "R1", gs.TruthKey)
	truth := readAll[schemas.LinkageTruth](t, w.st, gs.TruthKey, schemas.LinkageTruthLayout())
	rates := readAll[schemas.LinkageMatchRate](t, w.st, res.Tables[schemas.TableLinkageMatchRates].Key, schemas.LinkageMatchRateLayout())

	// The truth's answer, computed here from the truth file and the generator's own
	// record of who consents: a consenter is found in a dataset when some row the
	// truth expects to be accepted carries their key.
	found := map[string]map[string]bool{} // dataset → pseudonym
	for _, tr := range truth {
		if tr.Expected != schemas.TruthAccepted {
			continue
		}
		if found[tr.DatasetID] == nil {
			found[tr.DatasetID] = map[string]bool{}
		}
		found[tr.DatasetID][tr.DeliveredKey] = true
		if found["any"] == nil {
			found["any"] = map[string]bool{}
		}
		found["any"][tr.DeliveredKey] = true
	}
	type cell struct{ dataset, dim, cat string }
	want := map[cell][2]int64{}
	for _, p := range w.cohort.People {
		if !w.stats.Consenting[p.SurveyRecordID] {
			continue
		}
		for _, ds := range append(w.defs.IDs(), "any") {
			linked := int64(0)
			if found[ds][p.NHSPseudonym] {
				linked = 1
			}
			for dim, cat := range map[string]string{"all": "all", "ics": p.ICS, "age_band": p.AgeBand, "gender": p.Gender,
				"ethnicity_group": p.EthnicityGroup, "efi_band": p.EFIBand} {
				c := want[cell{ds, dim, cat}]
				want[cell{ds, dim, cat}] = [2]int64{c[0] + 1, c[1] + linked}
			}
		}
	}
	if len(rates) != len(want) {
		t.Errorf("%d match-rate cells, the truth has %d", len(rates), len(want))
	}
	varied := map[string]bool{}
	for _, r := range rates {
		c := want[cell{r.DatasetID, r.Dimension, r.Category}]
		if r.Consenters != c[0] || r.Linked != c[1] {
			t.Errorf("%s %s=%s: report %d of %d, truth %d of %d", r.DatasetID, r.Dimension, r.Category, r.Linked, r.Consenters, c[1], c[0])
		}
		if r.Consenters > 0 && r.MatchRate != float64(r.Linked)/float64(r.Consenters) {
			t.Errorf("%s %s=%s: rate %v", r.DatasetID, r.Dimension, r.Category, r.MatchRate)
		}
		if r.Dimension == "ethnicity_group" && r.DatasetID == "gpad" {
			varied[fmt.Sprintf("%.2f", r.MatchRate)] = true
		}
	}
	if len(varied) < 2 {
		t.Errorf("match rates do not vary by ethnic group: %v", varied)
	}
	// Precision and recall: below one (false links, match failures), above nothing.
	if len(res.Accuracy) != len(w.defs.IDs()) {
		t.Fatalf("accuracy for %d datasets", len(res.Accuracy))
	}
	for _, a := range res.Accuracy {
		if a.Precision <= 0.9 || a.Precision > 1 || a.Recall <= 0.5 || a.Recall >= 1 {
			t.Errorf("%s: precision %.3f recall %.3f", a.DatasetID, a.Precision, a.Recall)
		}
	}
	if res.Consented != int64(len(w.stats.Consenting)) || res.Sampled != int64(w.stats.Sampled) || res.Linked == 0 {
		t.Errorf("flow %d sampled %d consented %d linked", res.Sampled, res.Consented, res.Linked)
	}
}

// TestLinkedRespondentsAgainstAPlainReference recomputes every linked respondent's
// utilisation from the lake's accepted rows with plain Go and compares it with what the
// SQL built.
func TestLinkedRespondentsAgainstAPlainReference(t *testing.T) {
	w := newTestWave(t, 300, 150)
	w.generate(t, "csv")
	res := w.build(t, "R1", "")
	got := readAll[schemas.LinkedRespondent](t, w.st, res.Tables[schemas.TableLinkedRespondents].Key, schemas.LinkedRespondentLayout())
	rel, err := linkage.NewReleaser(testKey, w.wave, "R1")
	if err != nil {
		t.Fatal(err)
	}
	var acts []schemas.LinkageActivity
	for _, id := range w.defs.IDs() {
		acts = append(acts, readAll[schemas.LinkageActivity](t, w.st, schemas.LinkageActivityPrefix(id, w.wave), schemas.LinkageActivityLayout())...)
	}
	measure := map[[2]string]linkage.MeasureDef{}
	for _, d := range w.defs.All() {
		for typ, m := range d.Measures {
			measure[[2]string{d.ID, typ}] = m
		}
	}
	byKey := map[string][]schemas.LinkageActivity{}
	for _, a := range acts {
		byKey[a.NHSPseudonym] = append(byKey[a.NHSPseudonym], a)
	}
	want := map[string]schemas.LinkedRespondent{}
	for _, p := range w.cohort.People {
		if !p.Consented {
			continue
		}
		r := schemas.LinkedRespondent{ReleaseID: "R1", WaveID: w.wave, ReleasePseudonym: rel.Pseudonym(p.NHSPseudonym), ICS: p.ICS,
			AgeBand: p.AgeBand, Gender: p.Gender, EthnicityGroup: p.EthnicityGroup, EFIBand: p.EFIBand, ResponseMonth: p.ResponseDate.Format("2006-01")}
		from6, from12 := codes.MonthsBefore(p.ResponseDate, 6), codes.MonthsBefore(p.ResponseDate, 12)
		datasets := map[string]bool{}
		type set = map[string]bool
		svc, prov, days := [2]set{{}, {}}, [2]set{{}, {}}, [2]set{{}, {}}
		for _, a := range byKey[p.NHSPseudonym] {
			datasets[a.DatasetID] = true
			m, ok := measure[[2]string{a.DatasetID, a.ActivityType}]
			if !ok || a.ActivityDate.Before(from12) || !a.ActivityDate.Before(p.ResponseDate) {
				continue
			}
			for w, in := range []bool{!a.ActivityDate.Before(from6), true} {
				if !in {
					continue
				}
				add := func(six, twelve *int64, n int64) {
					if w == 0 {
						*six += n
					} else {
						*twelve += n
					}
				}
				switch m.Measure {
				case "gp_appointments":
					add(&r.GPAppointments6M, &r.GPAppointments12M, 1)
				case "ae_attendances":
					add(&r.AEAttendances6M, &r.AEAttendances12M, 1)
				case "emergency_admissions":
					add(&r.EmergencyAdmissions6M, &r.EmergencyAdmissions12M, 1)
				case "elective_admissions":
					add(&r.ElectiveAdmissions6M, &r.ElectiveAdmissions12M, 1)
				case "outpatient_attendances":
					add(&r.Outpatient6M, &r.Outpatient12M, 1)
				case "community_contacts":
					add(&r.Community6M, &r.Community12M, 1)
				case "mental_health_contacts":
					add(&r.MentalHealth6M, &r.MentalHealth12M, 1)
				case "social_care_services":
					add(&r.SocialCare6M, &r.SocialCare12M, 1)
				}
				if m.BedDays {
					add(&r.BedDays6M, &r.BedDays12M, int64(a.DurationDays))
				}
				svc[w][a.DatasetID], prov[w][a.ProviderCode], days[w][a.ActivityDate.Format(time.DateOnly)] = true, true, true
			}
		}
		r.DatasetsLinked = int64(len(datasets))
		r.DistinctServices6M, r.DistinctServices12M = int64(len(svc[0])), int64(len(svc[1]))
		r.DistinctProviders6M, r.DistinctProviders12M = int64(len(prov[0])), int64(len(prov[1]))
		r.ContactDays6M, r.ContactDays12M = int64(len(days[0])), int64(len(days[1]))
		want[r.ReleasePseudonym] = r
	}
	if len(got) != len(want) {
		t.Fatalf("%d linked respondents, want %d", len(got), len(want))
	}
	nonzero := 0
	for _, g := range got {
		if g != want[g.ReleasePseudonym] {
			t.Errorf("linked respondent\n got %+v\nwant %+v", g, want[g.ReleasePseudonym])
		}
		if g.GPAppointments12M > 0 && g.BedDays12M > 0 && g.DistinctProviders12M > 2 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Error("no respondent has GP appointments, bed days and several providers: the test data say nothing")
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
}
