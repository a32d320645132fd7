package mailing_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/notify/notifytest"
	"icesurvey/schemas"
	"icesurvey/store"
)

// sendFixture is an ICS whose six contacts are in the restricted area and whose
// selection names the first five.
func sendFixture(t *testing.T) (*store.FileStore, []schemas.Contact, string) {
	t.Helper()
	ctx := context.Background()
	st := newStore(t)
	contacts := testContacts(6)
	for i := range contacts {
		contacts[i].Postcode = "NR1 1AA"
	}
	if err := lake.PutRows(ctx, st, schemas.ContactsKey("W1", "QMM"), schemas.ContactLayout(), contacts); err != nil {
		t.Fatal(err)
	}
	var sel []schemas.Selection
	for _, c := range contacts[:5] {
		sel = append(sel, schemas.Selection{SurveyRecordID: c.SurveyRecordID})
	}
	key := schemas.SelectionKey("W1", "QMM", "step", "due")
	if err := lake.PutRows(ctx, st, key, schemas.SelectionLayout(), sel); err != nil {
		t.Fatal(err)
	}
	return st, contacts, key
}

func history(t *testing.T, st store.Store, objs []schemas.LakeObject) map[string]string {
	t.Helper()
	if len(objs) != 1 || objs[0].Table != schemas.TableMailingHistory {
		t.Fatalf("objects %+v, want the step's mailing history", objs)
	}
	rows, err := lake.GetRows[schemas.MailingEvent](context.Background(), st, objs[0].Key, schemas.MailingEventLayout())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.SurveyRecordID] = r.Result
	}
	return out
}

// A letter goes to the selection less anyone who opted out since it was made, as a
// print file, and each letter is in the mailing history; sending again changes nothing.
func TestSendLetterHonoursLateOptOuts(t *testing.T) {
	ctx := context.Background()
	st, contacts, sel := sendFixture(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	opt, err := mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: "W1", ICS: "QMM", AccessCode: strings.ToLower(contacts[1].AccessCode)}, now)
	if err == nil {
		t.Fatalf("a malformed access code was accepted: %+v", opt)
	}
	opt, err = mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: "W1", ICS: "QMM", SurveyRecordID: contacts[1].SurveyRecordID}, now)
	if err != nil || opt.SurveyRecordID != contacts[1].SurveyRecordID || len(opt.Objects) != 1 || opt.Objects[0].Table != schemas.TableOutcomeEvents {
		t.Fatalf("opt-out: %+v %v", opt, err)
	}
	step := mailing.Step{Name: "invitation", Channel: mailing.ChannelLetter, Template: "invitation_letter"}
	req := mailing.SendRequest{Wave: "W1", ICS: "QMM", Step: step, SelectionKey: sel, SurveyURL: "https://s.example"}
	res, err := mailing.Send(ctx, st, nil, req, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Selected != 5 || res.OptedOutSinceSelection != 1 || res.Sent != 4 || res.PrintFile != schemas.PrintFileKey("W1", "QMM", "invitation") {
		t.Errorf("result %+v", res)
	}
	got := history(t, st, res.Objects)
	if len(got) != 4 || got[contacts[1].SurveyRecordID] != "" || got[contacts[0].SurveyRecordID] != schemas.ResultQueuedForPrint {
		t.Errorf("history %v", got)
	}
	again, err := mailing.Send(ctx, st, nil, req, now, nil)
	if err != nil || again.Sent != 4 {
		t.Errorf("sending again: %+v %v", again, err)
	}
}

// An SMS goes through Notify once; a number Notify refuses for good is recorded as a
// permanent failure, the others as sent.
func TestSendSMSRecordsPermanentFailures(t *testing.T) {
	ctx := context.Background()
	st, contacts, sel := sendFixture(t)
	contacts[2].Mobile = "+441632960002" // a landline: Notify refuses it
	if err := lake.PutRows(ctx, st, schemas.ContactsKey("W1", "QMM"), schemas.ContactLayout(), contacts); err != nil {
		t.Fatal(err)
	}
	_, client := newNotify(t, notifytest.Options{})
	step := mailing.Step{Name: "sms1", Day: 3, Channel: mailing.ChannelSMS, Template: smsTemplate}
	req := mailing.SendRequest{Wave: "W1", ICS: "QMM", Step: step, SelectionKey: sel, SurveyURL: "https://s.example"}
	res, err := mailing.Send(ctx, st, client, req, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 4 || res.Failed != 1 {
		t.Errorf("result %+v", res)
	}
	got := history(t, st, res.Objects)
	if got[contacts[2].SurveyRecordID] != schemas.ResultPermanentFailure || got[contacts[0].SurveyRecordID] != schemas.ResultSent {
		t.Errorf("history %v", got)
	}
	again, err := mailing.Send(ctx, st, client, req, time.Now(), nil)
	if err != nil || again.Sent != 0 || again.AlreadySent != 4 {
		t.Errorf("sending again: %+v %v", again, err)
	}
}

// What no retry can fix says so: a step without a name, SMS without a Notify client,
// an unknown channel, an opt-out naming nobody in the sample.
func TestSendFaults(t *testing.T) {
	ctx := context.Background()
	st, _, sel := sendFixture(t)
	for _, tt := range []struct {
		name string
		step mailing.Step
		want fault.Kind
	}{
		{"no name", mailing.Step{Channel: mailing.ChannelLetter}, fault.Configuration},
		{"sms without Notify", mailing.Step{Name: "sms1", Channel: mailing.ChannelSMS, Template: smsTemplate}, fault.Configuration},
		{"unknown channel", mailing.Step{Name: "fax1", Channel: "fax"}, fault.Configuration},
	} {
		_, err := mailing.Send(ctx, st, nil, mailing.SendRequest{Wave: "W1", ICS: "QMM", Step: tt.step, SelectionKey: sel}, time.Now(), nil)
		if fault.KindOf(err) != tt.want {
			t.Errorf("%s: %v (kind %q), want %s", tt.name, err, fault.KindOf(err), tt.want)
		}
	}
	_, err := mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: "W1", ICS: "QMM", SurveyRecordID: "SNOBODY"}, time.Now())
	if fault.KindOf(err) != fault.BadInput {
		t.Errorf("opt-out of nobody: %v", err)
	}
	if errors.Is(err, store.ErrNotExist) {
		t.Errorf("opt-out of nobody reads as a missing object: %v", err)
	}
}
