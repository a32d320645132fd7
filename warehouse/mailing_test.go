package warehouse

import (
	"context"
	"fmt"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/schemas"
	"icesurvey/store"
)

// outcomeWorld puts a sample in the warehouse whose people carry every combination of
// outcome events (one person per subset of schemas.OutcomePrecedence), plus two people
// with mobiles one of whom had an SMS fail for good, all through LoadLakeObjects in one
// transaction. It returns each person's event codes.
func outcomeWorld(t *testing.T) (*Warehouse, map[string][]int32) {
	t.Helper()
	ctx := context.Background()
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const wave, ics = "w1", "QMM"
	codes := map[string][]int32{}
	var sample []schemas.SampleRecord
	var events []schemas.OutcomeEvent
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	n := len(schemas.OutcomePrecedence)
	for mask := 0; mask < 1<<n; mask++ {
		id := fmt.Sprintf("S%03d", mask)
		sample = append(sample, schemas.SampleRecord{SurveyRecordID: id, WaveID: wave, ICS: ics, NHSPseudonym: "p" + id,
			RegistrationDate: at, HasMobile: mask%2 == 0})
		codes[id] = nil
		for i, c := range schemas.OutcomePrecedence {
			if mask&(1<<i) != 0 {
				codes[id] = append(codes[id], c)
				events = append(events, schemas.OutcomeEvent{EventID: fmt.Sprintf("%s/%d", id, c), Wave: wave, ICS: ics,
					LoadDate: at, SurveyRecordID: id, Outcome: c, At: at})
			}
		}
	}
	history := []schemas.MailingEvent{
		{Reference: "r0", WaveID: wave, ICS: ics, SurveyRecordID: "S000", Step: "sms1", Channel: mailing.ChannelSMS, SentAt: at, Result: schemas.ResultPermanentFailure},
	}
	put := func(key string, layout *schemas.Layout, rows any) {
		var err error
		switch r := rows.(type) {
		case []schemas.SampleRecord:
			err = lake.PutRows(ctx, st, key, layout, r)
		case []schemas.OutcomeEvent:
			err = lake.PutRows(ctx, st, key, layout, r)
		case []schemas.MailingEvent:
			err = lake.PutRows(ctx, st, key, layout, r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	put(schemas.SampleKey(wave, ics), schemas.SampleRecordLayout(), sample)
	put(schemas.DBSOutcomesKey(wave, ics, "r1"), schemas.OutcomeEventLayout(), events)
	put(schemas.MailingHistoryKey(wave, ics, "sms1"), schemas.MailingEventLayout(), history)
	objs := []schemas.LakeObject{
		schemas.SampleObject(wave, ics),
		schemas.LakeOutcomeEvents.Object(schemas.DBSOutcomesKey(wave, ics, "r1")),
		schemas.LakeMailingHistory.Object(schemas.MailingHistoryKey(wave, ics, "sms1")),
		schemas.SampleObject(wave, ics), // named twice: loaded once
	}
	loaded, err := w.LoadLakeObjects(ctx, st, wave, ics, objs)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 3 || loaded[0].Rows != int64(len(sample)) || loaded[1].Rows != int64(len(events)) || loaded[0].SHA256 == "" {
		t.Fatalf("loaded %+v", loaded)
	}
	again, err := w.LoadLakeObjects(ctx, st, wave, ics, objs[:3])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range again {
		if !l.Skipped {
			t.Errorf("%s loaded twice", l.Key)
		}
	}
	return w, codes
}

// The outcomes view ranks a person's events exactly as schemas.CurrentOutcome does, for
// every combination of codes: the SQL is generated from the one declared precedence.
func TestOutcomesViewFollowsThePrecedence(t *testing.T) {
	w, codes := outcomeWorld(t)
	final, counts, err := w.FinalOutcomes(context.Background(), "w1", "QMM")
	if err != nil {
		t.Fatal(err)
	}
	if len(final) != len(codes) {
		t.Fatalf("%d final outcomes for %d people", len(final), len(codes))
	}
	total := 0
	for _, f := range final {
		if want := schemas.CurrentOutcome(codes[f.SurveyRecordID]); f.Outcome != want {
			t.Errorf("%s with events %v: outcome %d, want %d", f.SurveyRecordID, codes[f.SurveyRecordID], f.Outcome, want)
		}
		total += counts[int(f.Outcome)]
	}
	if counts[schemas.OutcomeNoResponse] != 1 || counts[schemas.OutcomeCompleted] != len(codes)/2 {
		t.Errorf("counts %v", counts)
	}
}

// A letter goes to everyone still at the default outcome; an SMS only to those of them
// with a mobile whose number has not failed for good.
func TestRecipients(t *testing.T) {
	w, _ := outcomeWorld(t)
	ctx := context.Background()
	letters, _, err := w.Recipients(ctx, "w1", "QMM", mailing.ChannelLetter)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 || letters[0].SurveyRecordID != "S000" {
		t.Errorf("letter recipients %+v, want only S000 (no events)", letters)
	}
	sms, _, err := w.Recipients(ctx, "w1", "QMM", mailing.ChannelSMS)
	if err != nil {
		t.Fatal(err)
	}
	if len(sms) != 0 {
		t.Errorf("SMS recipients %+v, want none: S000's SMS failed for good", sms)
	}
}

func TestLoadLakeObjectsRefusesAnUnknownTable(t *testing.T) {
	w := openTemp(t)
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.LoadLakeObjects(context.Background(), st, "w1", "QMM", []schemas.LakeObject{{Table: "nowhere", Key: "lake/x.parquet"}})
	if fault.KindOf(err) != fault.Configuration {
		t.Errorf("err = %v, want a Configuration fault", err)
	}
}
