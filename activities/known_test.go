package activities

import (
	"strings"
	"testing"

	"icesurvey/schemas"
	"icesurvey/store"
)

// The sample and mailing history are read while the load runs: a history that cannot
// be read must still fail the activity, with its own error, and leave the day unloaded
// (no marker, no lake objects), as when they were read before the load started.
func TestLoadResponsesFailsWhenTheMailingHistoryCannotBeRead(t *testing.T) {
	f := newResponseFixture(t)
	f.landDay()
	bad := schemas.MailingHistoryKey(rtWave, rtICS, "reminder")
	if err := store.PutBytes(f.ctx, f.st, bad, []byte("not a parquet file")); err != nil {
		t.Fatal(err)
	}
	_, err := f.a.LoadResponses(f.ctx, LoadResponsesInput{Scope: Scope{WaveID: rtWave, ICS: rtICS},
		Questionnaires: Questionnaires{PatientVersion: "patient-2026.1", CarerVersion: "carer-2026.1"}, Date: rtDay})
	if err == nil || !strings.Contains(err.Error(), "read mailing history") {
		t.Fatalf("LoadResponses = %v, want the mailing history's read error", err)
	}
	markers, err := f.st.List(f.ctx, schemas.ResponseLoadMarkerPrefix(rtWave, rtICS))
	if err != nil {
		t.Fatal(err)
	}
	if len(markers) != 0 {
		t.Errorf("%d load markers written by a failed load", len(markers))
	}
	for _, table := range schemas.ResponseLoadTables {
		objs, err := f.st.List(f.ctx, schemas.LakePartition(table, rtWave, rtICS))
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 0 {
			t.Errorf("%s: %d objects written by a failed load", table, len(objs))
		}
	}

	// Once the history reads, the day loads.
	if err := f.st.Delete(f.ctx, bad); err != nil {
		t.Fatal(err)
	}
	if out := f.loadDay(); out.Loaded == 0 {
		t.Fatalf("reload after the history was fixed: %+v", out)
	}
}
