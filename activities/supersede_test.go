package activities

import (
	"bytes"
	"context"
	"testing"

	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// A superseded NHS number (DBS status 40) must re-key the analysis record too, or every
// later linkage would use the old number's pseudonym.
func TestSupersededNumberRepseudonymisesTheSample(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := bytes.Repeat([]byte{7}, 32)
	a := &Activities{Store: st, PseudonymKey: key}
	rows := []schemas.SampleRecord{
		{SurveyRecordID: "S1", WaveID: "w", ICS: "QMM", NHSPseudonym: pseudo.NHSPseudonym(key, "9434765919")},
		{SurveyRecordID: "S2", WaveID: "w", ICS: "QMM", NHSPseudonym: pseudo.NHSPseudonym(key, "9434765870")},
	}
	if err := lake.PutRows(ctx, st, sampleKey("w", "QMM"), schemas.SampleRecordLayout(), rows); err != nil {
		t.Fatal(err)
	}
	newNumbers := map[string]string{"S1": "9434765927"}
	n, err := a.repseudonymise(ctx, "w", "QMM", newNumbers)
	if err != nil || n != 1 {
		t.Fatalf("repseudonymise: %d changed, %v", n, err)
	}
	got, err := lake.GetRows[schemas.SampleRecord](ctx, st, sampleKey("w", "QMM"), schemas.SampleRecordLayout())
	if err != nil {
		t.Fatal(err)
	}
	if got[0].NHSPseudonym != pseudo.NHSPseudonym(key, "9434765927") {
		t.Errorf("S1 still has the old pseudonym")
	}
	if got[1].NHSPseudonym != rows[1].NHSPseudonym {
		t.Errorf("S2 changed although its number did not")
	}
	if n, err := a.repseudonymise(ctx, "w", "QMM", newNumbers); err != nil || n != 0 {
		t.Errorf("applying the same reply again changed %d records (%v)", n, err)
	}
}
