package dashdata

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"icesurvey/publication"
	"icesurvey/publication/pubsynth"
	"icesurvey/web"
)

// A release's figures are described with the release's own parameters — its
// confidence level, minimum and caution bases — not the dashboard's, and the live
// figures with the dashboard's.
func TestReleaseFiguresStateTheReleasesParameters(t *testing.T) {
	ctx := context.Background()
	w, err := pubsynth.Build(ctx, t.TempDir(), pubsynth.Spec{Wave: "W3", Seed: 5, ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 400, Patients: 150, Carers: 30, Deceased: 5, Ineligible: 2, OptedOut: 6, Undelivered: 7},
		{Code: "QBB", Sampled: 300, Patients: 100, Carers: 20, Deceased: 3, Ineligible: 2, OptedOut: 4, Undelivered: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := publication.ParseOverrides("r2.yaml", []byte("min_base: 20\ncaution_base: 50\nconfidence: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Apply(publication.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	p.CodeVersion = "test"
	var res *publication.Results
	if err := w.Warehouse.Read(ctx, func(db *sql.DB) error {
		res, err = publication.Compute(ctx, db, "W3", p)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m, err := publication.Write(ctx, w.Store, res, "R2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Warehouse.LoadLakeObjects(ctx, w.Store, "W3", "", m.WarehouseObjects()); err != nil {
		t.Fatal(err)
	}
	src, err := Open(ctx, Config{Warehouse: w.Warehouse.Path(), SnapshotDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	q := web.Query{Wave: "W3", ICS: "QAA", RespondentType: web.RespondentPatient, Theme: "care-administration", Release: "R2"}
	rel, err := src.Measures(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if rel.MinBase != 20 || rel.CautionBase != 50 || rel.Confidence != 0.9 || rel.MinCount != 5 {
		t.Errorf("release R2's set: min_base %d, caution_base %d, confidence %v, min_count %d; want 20, 50, 0.9, 5",
			rel.MinBase, rel.CautionBase, rel.Confidence, rel.MinCount)
	}
	for _, want := range []string{"90% Wilson intervals", "rows under 20 responses withheld", "under 50 marked for caution"} {
		if !strings.Contains(rel.Method, want) {
			t.Errorf("release R2's method does not say %q: %s", want, rel.Method)
		}
	}
	q.Release = ""
	live, err := src.Measures(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if live.MinBase != 10 || live.CautionBase != 30 || live.Confidence != 0.95 || !strings.Contains(live.Method, "95% Wilson intervals") {
		t.Errorf("live figures: min_base %d, caution_base %d, confidence %v, method %s", live.MinBase, live.CautionBase, live.Confidence, live.Method)
	}
}
