package activities

import (
	"bytes"
	"context"
	"testing"

	"icesurvey/lake"
	"icesurvey/mailing"
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

// A send drops anyone whose opt-out was recorded after the selection was made.
func TestSendHonoursOptOutRecordedAfterSelection(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{Store: st, PseudonymKey: bytes.Repeat([]byte{7}, 32)}
	contacts := []schemas.Contact{
		{SurveyRecordID: "S1", ICS: "QMM", LastName: "A", Address1: "1 Road", Address2: "Town", Postcode: "NR1 1AA", AccessCode: "AAAA-AAAA-AAAA"},
		{SurveyRecordID: "S2", ICS: "QMM", LastName: "B", Address1: "2 Road", Address2: "Town", Postcode: "NR1 1AB", AccessCode: "BBBB-BBBB-BBBB"},
	}
	if err := lake.PutRows(ctx, st, contactsKey("w", "QMM"), schemas.ContactLayout(), contacts); err != nil {
		t.Fatal(err)
	}
	selKey := "lake/mailing_selection/wave=w/ics=QMM/invitation-due.parquet"
	if err := lake.PutRows(ctx, st, selKey, schemas.SelectionLayout(), []schemas.Selection{{SurveyRecordID: "S1"}, {SurveyRecordID: "S2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RecordOptOut(ctx, OptOutInput{Scope: Scope{WaveID: "w", ICS: "QMM"}, SurveyRecordID: "S2"}); err != nil {
		t.Fatal(err)
	}
	out, err := a.SendMailing(ctx, SendInput{Scope: Scope{WaveID: "w", ICS: "QMM"}, SelectionKey: selKey, SurveyURL: "https://x",
		Step: mailing.Step{Name: "invitation", Day: 0, Channel: mailing.ChannelLetter, Template: "invitation"}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Sent != 1 {
		t.Fatalf("sent %d letters, want 1 (S2 opted out after the selection)", out.Sent)
	}
	hist, err := lake.GetRows[schemas.MailingEvent](ctx, st, out.HistoryKey, schemas.MailingEventLayout())
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].SurveyRecordID != "S1" {
		t.Errorf("history = %+v, want only S1", hist)
	}
}
