package synthlink_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/store"
)

var key = []byte("synthlink-test-key-0123456789abcdefghij")

func wave(t *testing.T) *store.FileStore {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := synthlink.WriteWave(ctx, st, synthlink.WaveConfig{WaveID: "W1", ICSs: []string{"QMM", "QWE", "QJK", "QNX", "QUY"},
		PerICS: 400, Respondents: 150, ConsentRate: 0.7, Seed: 3, ProjectKey: key}); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestGenerateIsDeterministic(t *testing.T) {
	ctx := context.Background()
	var first map[string][]byte
	for range 2 {
		st := wave(t)
		gs, err := synthlink.Generate(ctx, st, synthlink.Config{WaveID: "W1", Seed: 5})
		if err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for id, ds := range gs.Datasets {
			b, err := store.ReadAll(ctx, st, ds.Key)
			if err != nil {
				t.Fatal(err)
			}
			files[id] = b
		}
		if first == nil {
			first = files
			continue
		}
		for id, b := range files {
			if !bytes.Equal(b, first[id]) {
				t.Errorf("%s differs between two runs of one config", id)
			}
		}
	}
}

// TestActivityIsPlausible checks the truth file against what the generator promises:
// more GP appointments and admissions with severe frailty, match failures commoner
// outside the white group, every fault present.
func TestActivityIsPlausible(t *testing.T) {
	ctx := context.Background()
	st := wave(t)
	gs, err := synthlink.Generate(ctx, st, synthlink.Config{WaveID: "W1", Seed: 5, FaultRate: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	cohort, err := linkage.LoadCohort(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	truth, err := lake.GetRows[schemas.LinkageTruth](ctx, st, gs.TruthKey, schemas.LinkageTruthLayout())
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ dataset, band string }
	activity := map[key]float64{}
	people := map[string]float64{}
	missed, had := map[string]float64{}, map[string]float64{}
	missedPeople := map[string]map[string]bool{}
	faults := map[string]int{}
	for _, tr := range truth {
		faults[tr.Fault]++
		if tr.TrueOwner == "" {
			continue
		}
		p, ok := cohort.Lookup(tr.TrueOwner)
		if !ok {
			t.Fatalf("a truth row's owner is not in the sample")
		}
		activity[key{tr.DatasetID, p.EFIBand}]++
		g := "white"
		if p.EthnicityGroup != "white" {
			g = "other"
		}
		had[g]++
		if tr.Expected == schemas.TruthNotDelivered {
			missed[g]++
			if missedPeople[tr.DatasetID] == nil {
				missedPeople[tr.DatasetID] = map[string]bool{}
			}
			missedPeople[tr.DatasetID][tr.TrueOwner] = true
		}
	}
	for _, p := range cohort.People {
		people[p.EFIBand]++
	}
	for _, ds := range []string{"gpad", "apc", "csds"} {
		mod := activity[key{ds, "moderate"}] / people["moderate"]
		sev := activity[key{ds, "severe"}] / people["severe"]
		if sev <= mod*1.1 {
			t.Errorf("%s: %.1f a person with severe frailty, %.1f with moderate", ds, sev, mod)
		}
	}
	if missed["other"]/had["other"] <= missed["white"]/had["white"] {
		t.Errorf("match failures: %.3f outside the white group, %.3f within", missed["other"]/had["other"], missed["white"]/had["white"])
	}
	if len(missedPeople["asc_cld"]) == 0 || len(missedPeople["gpad"]) == 0 {
		t.Error("no match failures in a dataset")
	}
	for _, f := range []string{synthlink.FaultBadDate, synthlink.FaultFutureDate, synthlink.FaultBadCode, synthlink.FaultBadDiagnosis,
		synthlink.FaultBadProvider, synthlink.FaultInvalidKey, synthlink.FaultUnknownKey, synthlink.FaultMissingValue,
		synthlink.FaultEndBefore, synthlink.FaultDuplicate, synthlink.FaultWrongPerson, synthlink.FaultMatchFailure} {
		if faults[f] == 0 {
			t.Errorf("no %s in the truth", f)
		}
	}
	for _, ds := range gs.Datasets {
		if ds.People == 0 || ds.Rows == 0 || ds.People >= len(cohort.People) && ds.Key != gs.Datasets["gpad"].Key {
			t.Errorf("%s: %d people, %d rows", ds.Key, ds.People, ds.Rows)
		}
	}
}

// A national-size wave's ICSs are the 42 boards, each with a name on the dashboard.
func TestICBCodesAreNamed(t *testing.T) {
	if len(synthlink.ICBCodes) != len(schemas.ICSNames) {
		t.Errorf("%d ICB codes, %d named", len(synthlink.ICBCodes), len(schemas.ICSNames))
	}
	for _, c := range synthlink.ICBCodes {
		if schemas.ICSName(c) == "" {
			t.Errorf("%s has no name in schemas.ICSNames", c)
		}
	}
}

// TestAsOfIsNeverAfterToday: an extract is drawn on or before the day it is made. A
// wave whose responses lie ahead of the real clock (ice demo's compressed clock) must
// not get extracts as of a later day, whose activity validation would reject as in
// the future.
func TestAsOfIsNeverAfterToday(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		today time.Time
		want  string
	}{
		{"responses long past: 30 days after the last", time.Date(2026, 12, 7, 15, 4, 5, 0, time.UTC), "2026-04-08"},
		{"responses ahead of today: today", time.Date(2026, 2, 1, 23, 59, 0, 0, time.UTC), "2026-02-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := wave(t)
			gs, err := synthlink.Generate(ctx, st, synthlink.Config{WaveID: "W1", Seed: 5, Today: tc.today})
			if err != nil {
				t.Fatal(err)
			}
			if gs.AsOf != tc.want {
				t.Fatalf("as of %s, want %s", gs.AsOf, tc.want)
			}
			truth, err := lake.GetRows[schemas.LinkageTruth](ctx, st, gs.TruthKey, schemas.LinkageTruthLayout())
			if err != nil {
				t.Fatal(err)
			}
			asOf, _ := time.Parse(time.DateOnly, tc.want)
			for _, tr := range truth {
				if tr.ActivityDate.After(asOf) && tr.Fault != synthlink.FaultFutureDate {
					t.Fatalf("%s row %d: activity on %s after the as-of date %s, fault %q", tr.File, tr.Row, tr.ActivityDate.Format(time.DateOnly), tc.want, tr.Fault)
				}
			}
		})
	}
}
