package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The extracts step validates every extract of the landing area and reports one it
// cannot read as refused, with the file and reason, while the others go on; a
// withdrawal must name a sampled record, and records the operator's event.
func TestLinkageActivities(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("activities-linkage-test-key-0123456789abcdef")
	ws, err := synthlink.WriteWave(ctx, st, synthlink.WaveConfig{WaveID: "W1", ICSs: []string{"QMM"}, PerICS: 120, Respondents: 60,
		ConsentRate: 0.7, Seed: 3, ProjectKey: key})
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{Store: st, PseudonymKey: key}
	if _, err := a.DeriveLinkageConsent(ctx, Scope{WaveID: "W1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := synthlink.Generate(ctx, st, synthlink.Config{WaveID: "W1", Seed: 5, ProjectKeyID: linkage.KeyID(key)}); err != nil {
		t.Fatal(err)
	}
	bad := schemas.LinkageLandingPrefix("W1", "op") + "op_notes.txt"
	if err := store.PutBytes(ctx, st, bad, []byte("not an extract")); err != nil {
		t.Fatal(err)
	}
	out, err := a.ValidateLinkageExtracts(ctx, Scope{WaveID: "W1"})
	if err != nil {
		t.Fatal(err)
	}
	refused, validated := 0, 0
	for _, e := range out.Extracts {
		switch {
		case e.Key == bad:
			refused++
			if !strings.Contains(e.Refused, bad) || !strings.Contains(e.Refused, linkage.ExtractFormatUnsupported) {
				t.Errorf("refusal %q names neither the file nor the reason", e.Refused)
			}
		case e.Refused != "" || e.RowsRead != e.Accepted+e.Rejected+e.Excluded || e.RowsRead == 0:
			t.Errorf("%s: %+v", e.Key, e)
		default:
			validated++
		}
	}
	if refused != 1 || validated != 7 {
		t.Errorf("%d refused, %d validated of %d", refused, validated, len(out.Extracts))
	}

	_, err = a.RecordLinkageWithdrawal(ctx, LinkageWithdrawalInput{Scope: Scope{WaveID: "W1"}, SurveyRecordID: "NOBODY",
		Operator: "op", Reason: linkage.ReasonWithdrawLinkage, At: time.Now(), CommandID: "c1"})
	if fault.KindOf(err) != fault.BadInput {
		t.Errorf("a withdrawal of an unsampled record: %v (kind %s), want BadInput", err, fault.KindOf(err))
	}
	var id string
	for rec := range ws.Consenting {
		id = rec
		break
	}
	w, err := a.RecordLinkageWithdrawal(ctx, LinkageWithdrawalInput{Scope: Scope{WaveID: "W1"}, SurveyRecordID: id,
		Operator: "op", Reason: linkage.ReasonWithdrawLinkage, At: time.Now(), CommandID: "c2"})
	if err != nil || w.ICS != "QMM" || w.EventID == "" {
		t.Fatalf("withdrawal: %+v, %v", w, err)
	}
	_, err = a.RecordLinkageWithdrawal(ctx, LinkageWithdrawalInput{Scope: Scope{WaveID: "W1"}, SurveyRecordID: id,
		Operator: "op", Reason: "because", At: time.Now(), CommandID: "c3"})
	if fault.KindOf(err) != fault.BadInput {
		t.Errorf("a withdrawal with an unknown reason: %v, want BadInput", err)
	}
}
