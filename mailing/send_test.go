package mailing_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
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

// A late opt-out's reason is a code: free text (a name, a phone number) is refused
// before anything is recorded, and the refusal does not repeat it; a person named both
// by record and access code is refused; a code is recorded lower case, and none given
// is recorded as the default.
func TestOptOutReasonIsACode(t *testing.T) {
	ctx := context.Background()
	st, contacts := optOutFixture(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	const freeText = "Barbara Hunt's daughter phoned from 07700 900123"
	for _, tt := range []struct {
		name       string
		req        mailing.OptOutRequest
		wantReason string // "" for refused
		wantErr    string
	}{
		{"free text", mailing.OptOutRequest{SurveyRecordID: contacts[0].SurveyRecordID, Reason: freeText}, "",
			"one of does_not_want, too_ill, deceased, other"},
		{"withdraw_linkage is no opt-out", mailing.OptOutRequest{SurveyRecordID: contacts[0].SurveyRecordID, Reason: schemas.OptOutWithdrawLinkage}, "",
			"one of does_not_want, too_ill, deceased, other"},
		{"both record and access code", mailing.OptOutRequest{SurveyRecordID: contacts[0].SurveyRecordID, AccessCode: contacts[1].AccessCode}, "",
			"by survey record ID or by access code, not both"},
		{"a code", mailing.OptOutRequest{SurveyRecordID: contacts[2].SurveyRecordID, Reason: " Too_Ill "}, "too_ill", ""},
		{"none given", mailing.OptOutRequest{AccessCode: contacts[3].AccessCode}, schemas.DefaultLateOptOutReason, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Wave, tt.req.ICS = "W1", "QMM"
			actx, col := audit.WithCollector(ctx)
			res, err := mailing.RecordOptOut(actx, st, tt.req, now)
			if tt.wantReason == "" {
				if fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "Hunt") {
					t.Fatalf("err %v (kind %q), want a bad input saying %q and not repeating the text", err, fault.KindOf(err), tt.wantErr)
				}
				if opted, _ := mailing.OptedOut(ctx, st, "W1", "QMM"); len(opted) > 0 && opted[contacts[0].SurveyRecordID] {
					t.Errorf("refused, yet recorded: %v", opted)
				}
				if n := len(col.Events()); n > 0 {
					t.Errorf("refused, yet %d audit events", n)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rows, err := lake.GetRows[schemas.OutcomeEvent](ctx, st, res.Objects[0].Key, schemas.OutcomeEventLayout())
			if err != nil || len(rows) != 1 || rows[0].Reason != tt.wantReason {
				t.Fatalf("recorded %+v %v, want reason %s", rows, err, tt.wantReason)
			}
		})
	}
}

// A person opted out already is refused, saying when and why, and the first opt-out's
// time and reason stay in the lake; the same call again (a retried attempt, which
// records the time it was first scheduled) is not refused.
func TestSecondOptOutRefusedFirstStands(t *testing.T) {
	ctx := context.Background()
	st, contacts := optOutFixture(t)
	first := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	id := contacts[1].SurveyRecordID
	req := mailing.OptOutRequest{Wave: "W1", ICS: "QMM", SurveyRecordID: id, Reason: "too_ill"}
	res, err := mailing.RecordOptOut(ctx, st, req, first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailing.RecordOptOut(ctx, st, req, first); err != nil {
		t.Fatalf("the same opt-out again (a retried attempt): %v", err)
	}
	// Again later, by access code and with another reason.
	_, err = mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: "W1", ICS: "QMM", AccessCode: contacts[1].AccessCode, Reason: "does_not_want"}, first.Add(time.Hour))
	want := "survey record " + id + " was already opted out at 2026-03-02T09:00:00Z with reason too_ill; the first opt-out stands"
	if fault.KindOf(err) != fault.BadInput || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("a second opt-out: %v (kind %q), want a bad input saying %q", err, fault.KindOf(err), want)
	}
	rows, err := lake.GetRows[schemas.OutcomeEvent](ctx, st, res.Objects[0].Key, schemas.OutcomeEventLayout())
	if err != nil || len(rows) != 1 || rows[0].Reason != "too_ill" || !rows[0].At.Equal(first.Truncate(time.Microsecond)) {
		t.Fatalf("the lake's opt-out after a second one: %+v %v, want the first (too_ill at %s)", rows, err, first)
	}
}

// optOutFixture is sendFixture's ICS with access codes of the letters' form.
func optOutFixture(t *testing.T) (*store.FileStore, []schemas.Contact) {
	t.Helper()
	st, contacts, _ := sendFixture(t)
	for i := range contacts {
		contacts[i].AccessCode = fmt.Sprintf("ABCD-EFGH-JK%02d", 22+i)
	}
	if err := lake.PutRows(context.Background(), st, schemas.ContactsKey("W1", "QMM"), schemas.ContactLayout(), contacts); err != nil {
		t.Fatal(err)
	}
	return st, contacts
}

// An opt-out names the person by survey record id: one typed in lower case is the same
// id, and the ICB's RECORD_ID (which a data engineer has at hand) is refused saying
// what is asked for; it said only that the record "is not in the sample".
func TestOptOutRecordIDForms(t *testing.T) {
	ctx := context.Background()
	st, contacts := optOutFixture(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	res, err := mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: "W1", ICS: "QMM", SurveyRecordID: strings.ToLower(contacts[2].SurveyRecordID)}, now)
	if err != nil || len(res.Objects) != 1 || !strings.Contains(res.Objects[0].Key, contacts[2].SurveyRecordID) {
		t.Fatalf("a lower-case survey record id: %+v, %v", res, err)
	}
	_, err = mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: "W1", ICS: "QMM", SurveyRecordID: "NWICE0000001"}, now)
	if want := "not the sample's RECORD_ID"; fault.KindOf(err) != fault.BadInput || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("the ICB's RECORD_ID: %v, want a bad input saying %q", err, want)
	}
}

// The activity's refusal goes to the workflow's history, the worker's log and the
// audit trail: what was typed for --record or --access-code is repeated only when it
// has the form of a survey record id, never when it may be an NHS number, a name or a
// phone number typed in the wrong place (the update's validator refuses those first;
// this is the activity called by anything else).
func TestOptOutRefusalWithholdsWhatWasTyped(t *testing.T) {
	ctx := context.Background()
	st, _ := optOutFixture(t)
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		req      mailing.OptOutRequest
		withheld string
		want     string
	}{
		{"an NHS number for a record", mailing.OptOutRequest{SurveyRecordID: "943 476 5919"}, "476", "not the sample's RECORD_ID"},
		{"a name for a record", mailing.OptOutRequest{SurveyRecordID: "Barbara Hunt"}, "Hunt", "not the sample's RECORD_ID"},
		{"a name and number for an access code", mailing.OptOutRequest{AccessCode: "Hunt 07700 900123"}, "900123", "not an access code"},
		{"an unknown access code", mailing.OptOutRequest{AccessCode: "zzzz-zzzz-zzzz"}, "ZZZZ", "access code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Wave, tt.req.ICS = "W1", "QMM"
			_, err := mailing.RecordOptOut(ctx, st, tt.req, now)
			if fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want a bad input saying %q", err, tt.want)
			}
			if strings.Contains(strings.ToUpper(err.Error()), strings.ToUpper(tt.withheld)) {
				t.Fatalf("the refusal repeats what was typed: %v", err)
			}
		})
	}
	// A well-formed survey record id that is not in the sample is named: it identifies nobody.
	_, err := mailing.RecordOptOut(ctx, st, mailing.OptOutRequest{Wave: "W1", ICS: "QMM", SurveyRecordID: "SZZZZZZZZZZZZZZZZ"}, now)
	if err == nil || !strings.Contains(err.Error(), "SZZZZZZZZZZZZZZZZ") {
		t.Fatalf("an unknown survey record id: %v, want it named", err)
	}
}
