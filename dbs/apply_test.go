package dbs

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"icesurvey/dbs/dbstest"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/schemas"
)

// A checked reply reaches the wave: a death becomes an outcome event in the lake, a
// superseded NHS number becomes the current contact's and re-keys the analysis record
// (or every later linkage would use the old number's pseudonym), and both objects are
// returned for the warehouse. Applying the reply again changes nothing more.
func TestCheckAppliesTheReply(t *testing.T) {
	ctx := context.Background()
	st := dbstest.FileStore(t)
	const wave, ics = "w", "QMM"
	key := bytes.Repeat([]byte{7}, 32)
	keyed := pseudo.New(key)
	alive, dead, moved := dbstest.Contact(t, "S1", "943476591"), dbstest.Contact(t, "S2", "401023213"), dbstest.Contact(t, "S3", "500000001")
	putContacts(t, st, schemas.ContactsKey(wave, ics), []schemas.Contact{alive, dead, moved})
	sample := []schemas.SampleRecord{
		{SurveyRecordID: "S1", WaveID: wave, ICS: ics, NHSPseudonym: keyed.NHSPseudonym(alive.NHSNumber)},
		{SurveyRecordID: "S2", WaveID: wave, ICS: ics, NHSPseudonym: keyed.NHSPseudonym(dead.NHSNumber)},
		{SurveyRecordID: "S3", WaveID: wave, ICS: ics, NHSPseudonym: keyed.NHSPseudonym(moved.NHSNumber)},
	}
	if err := lake.PutRows(ctx, st, schemas.SampleKey(wave, ics), schemas.SampleRecordLayout(), sample); err != nil {
		t.Fatal(err)
	}
	clk := &dbstest.Clock{T: time.Date(2025, 2, 3, 9, 0, 0, 0, time.UTC)}
	fake := newFakeDBS(st, "")
	fake.Now, fake.Delay = clk.Now, time.Hour
	fake.Deaths[dead.NHSNumber] = dbstest.Date(2025, 1, 20)
	newNumber := dbstest.NHS(t, "700000001")
	fake.Superseded[moved.NHSNumber] = newNumber
	if _, err := Submit(ctx, st, fake, wave, ics, "r1", schemas.ContactsKey(wave, ics), nil); err != nil {
		t.Fatal(err)
	}

	_, err := Check(ctx, st, fake, keyed, wave, ics, "r1")
	if !errors.Is(err, ErrReplyNotReady) || fault.KindOf(err) != fault.NotReady {
		t.Fatalf("before the reply: %v, want ErrReplyNotReady (NotReady)", err)
	}
	clk.Advance(time.Hour)
	got, err := Check(ctx, st, fake, keyed, wave, ics, "r1")
	if err != nil {
		t.Fatal(err)
	}
	want := []schemas.LakeObject{
		{Table: schemas.TableOutcomeEvents, Key: schemas.DBSOutcomesKey(wave, ics, "r1")},
		{Table: schemas.TableSample, Key: schemas.SampleKey(wave, ics)},
	}
	if len(got.Objects) != 2 || got.Objects[0] != want[0] || got.Objects[1] != want[1] {
		t.Errorf("objects %+v, want %+v", got.Objects, want)
	}
	if got.Outcome.Deceased != 1 || got.Outcome.Superseded != 1 || got.Repseudonymised != 1 {
		t.Errorf("outcome %+v, %d re-keyed", got.Outcome, got.Repseudonymised)
	}
	events, err := lake.GetRows[schemas.OutcomeEvent](ctx, st, want[0].Key, schemas.OutcomeEventLayout())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].SurveyRecordID != "S2" || events[0].Outcome != schemas.OutcomeDeceased || !events[0].At.Equal(dbstest.Date(2025, 1, 20)) {
		t.Errorf("outcome events %+v", events)
	}
	rows, err := lake.GetRows[schemas.SampleRecord](ctx, st, schemas.SampleKey(wave, ics), schemas.SampleRecordLayout())
	if err != nil {
		t.Fatal(err)
	}
	if rows[2].NHSPseudonym != keyed.NHSPseudonym(newNumber) || rows[0].NHSPseudonym != sample[0].NHSPseudonym {
		t.Error("the sample was not re-keyed to the new number, or a record whose number did not change was")
	}
	contacts, err := lake.GetRows[schemas.Contact](ctx, st, schemas.ContactsKey(wave, ics), schemas.ContactLayout())
	if err != nil {
		t.Fatal(err)
	}
	if contacts[2].NHSNumber != newNumber {
		t.Errorf("current contacts still hold the superseded number")
	}

	again, err := Check(ctx, st, fake, keyed, wave, ics, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if again.Repseudonymised != 0 || len(again.Objects) != 1 {
		t.Errorf("checking the same reply again: %d re-keyed, objects %+v", again.Repseudonymised, again.Objects)
	}
}
