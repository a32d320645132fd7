package publication

import (
	"context"
	"testing"

	"icesurvey/store"
)

// Headlines read back from a written release are the release's own whole-ICS patient
// figures: at most n per published ICS, none for an unpublished or withheld one, each
// inside its interval, and equal to what Compute made.
func TestHeadlinesFromWrittenRelease(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := Write(ctx, st, r, "r1")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := ReadDraftMetadata(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := ReadResults(ctx, st, m)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Results()) {
		t.Fatalf("read %d result rows, wrote %d", len(rows), len(r.Results()))
	}
	want := map[[2]string]float64{}
	for _, x := range r.Results() {
		if v, ok := x.PctPositive.Value(); ok && x.Geography == GeographyICS && x.GroupVariable == GroupAll && x.Measure == "" && x.RespondentType == "patient" {
			want[[2]string{x.ICS, x.QuestionID}] = v
		}
	}
	h := Headlines(meta, rows, 3)
	published := 0
	for _, im := range meta.ICSs {
		got := h[im.ICS]
		if !im.Published {
			if len(got) != 0 {
				t.Errorf("%s is not published but has headlines %+v", im.ICS, got)
			}
			continue
		}
		published++
		available := 0
		for k := range want {
			if k[0] == im.ICS {
				available++
			}
		}
		if len(got) != min(3, available) {
			t.Errorf("%s: %d headlines, %d figures published", im.ICS, len(got), available)
		}
		for _, x := range got {
			if x.Pct < x.CILower || x.Pct > x.CIUpper {
				t.Errorf("%s %s: %v outside [%v, %v]", im.ICS, x.QuestionID, x.Pct, x.CILower, x.CIUpper)
			}
			if w, ok := want[[2]string{im.ICS, x.QuestionID}]; !ok || w != x.Pct {
				t.Errorf("%s %s: headline %v, computed %v (%v)", im.ICS, x.QuestionID, x.Pct, w, ok)
			}
		}
	}
	if published == 0 {
		t.Fatal("no published ICS in the test wave")
	}
}
