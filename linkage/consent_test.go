package linkage

import (
	"context"
	"strings"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

// response builds a loaded response answering the consent question of version with code.
func response(t *testing.T, id, record, version, consent string, at time.Time) schemas.ResponseRow {
	t.Helper()
	l := schemas.ResponseRowLayout()
	r := schemas.ResponseRow{ResponseID: id, Wave: "W1", ICS: "QMM", SurveyRecordID: record, QuestionnaireVersion: version,
		RespondentType: strings.SplitN(version, "-", 2)[0], ReceivedAt: at, Complete: true, SourceSHA256: "abc",
		Answers: make([]string, l.Extras())}
	qn, err := questionnaire.Resolve(version, nil)
	if err != nil {
		t.Fatal(err)
	}
	i, ok := answerIndex(l, qn.ConsentQuestion)
	if !ok {
		t.Fatalf("no column %s", qn.ConsentQuestion)
	}
	r.Answers[i] = consent
	return r
}

func consentQuestions(t *testing.T) map[string]ConsentQuestion {
	t.Helper()
	cat, err := questionnaire.Default()
	if err != nil {
		t.Fatal(err)
	}
	qs, err := ConsentQuestions(cat)
	if err != nil {
		t.Fatal(err)
	}
	return qs
}

func TestConsentFromResponse(t *testing.T) {
	qs := consentQuestions(t)
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		version, answer, want string
	}{
		{"patient-2026.1", "1", schemas.ConsentGiven},
		{"patient-2026.1", "2", schemas.ConsentDeclined},
		{"patient-2026.1", "", ""},
		{"carer-2026.1", "1", schemas.ConsentGiven},
	} {
		r := response(t, "R1", "S1", tc.version, tc.answer, at)
		ev, ok := ConsentFromResponse(&r, qs)
		if (tc.want == "") == ok || ev.Event != tc.want {
			t.Errorf("%s answer %q: event %q ok %v, want %q", tc.version, tc.answer, ev.Event, ok, tc.want)
			continue
		}
		if ok && (ev.SourceKind != schemas.ConsentSourceResponse || ev.SourceRef != "R1" || !ev.At.Equal(at) || ev.RespondentType != r.RespondentType) {
			t.Errorf("event %+v does not name its response", ev)
		}
		again, _ := ConsentFromResponse(&r, qs)
		if again.EventID != ev.EventID {
			t.Error("event id not deterministic")
		}
	}
}

func TestWithdrawals(t *testing.T) {
	at := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	ev, err := WithdrawalFromOptOut(OptOutRow{WaveID: "W1", ICS: "QMM", File: "optouts.csv", Row: 7, SHA256: "f00",
		OptOut: schemas.OptOut{SurveyRecordID: "S1", OptedOutAt: at, Reason: "does_not_want"}})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Event != schemas.ConsentWithdrawn || ev.SourceFile != "optouts.csv" || ev.SourceRow != 7 || ev.Reason != "does_not_want" || ev.RespondentType != schemas.RespondentPatient {
		t.Errorf("opt-out withdrawal %+v", ev)
	}
	if _, err := WithdrawalFromOptOut(OptOutRow{File: "optouts.csv", Row: 3, SHA256: "f", OptOut: schemas.OptOut{OptedOutAt: at}}); err == nil || !strings.Contains(err.Error(), "optouts.csv row 3: SURVEY_RECORD_ID") {
		t.Errorf("empty record id: %v", err)
	}
	oe := schemas.OutcomeEvent{EventID: "E1", Wave: "W1", ICS: "QMM", SurveyRecordID: "S2", Outcome: schemas.OutcomeOptedOut, At: at, Reason: "too_ill", SourceFile: "optouts.csv", SourceSHA256: "f"}
	before, ok, err := WithdrawalFromOutcomeEvent(oe)
	if err != nil || !ok || before.SourceRef != "E1" || before.SurveyRecordID != "S2" || before.SourceRow != 0 {
		t.Errorf("loaded opt-out written before outcome events kept their row: %+v %v %v", before, ok, err)
	}
	// An outcome event that keeps its row names it; its id is the same as without it.
	row := int64(12)
	oe.SourceRow = &row
	if ev, ok, err := WithdrawalFromOutcomeEvent(oe); err != nil || !ok || ev.SourceRef != "E1" || ev.SourceRow != 12 ||
		ev.SourceFile != "optouts.csv" || ev.SourceSHA256 != "f" || ev.EventID != before.EventID {
		t.Errorf("loaded opt-out with its row: %+v %v %v", ev, ok, err)
	}
	oe.SourceFile = "undelivered.csv"
	if _, ok, _ := WithdrawalFromOutcomeEvent(oe); ok {
		t.Error("an undelivered letter counted as a withdrawal")
	}
	// A late opt-out recorded with `ice wave opt-out` withdraws; a death found by the DBS
	// check, in the same part of the lake, does not.
	late := schemas.OutcomeEvent{EventID: "optout/S4", Wave: "W1", ICS: "QMM", SurveyRecordID: "S4", Outcome: schemas.OutcomeOptedOut,
		At: at, Reason: "Operator", SourceFile: schemas.LateOptOutSource}
	if ev, ok, err := WithdrawalFromLateOptOut(late); err != nil || !ok || ev.Event != schemas.ConsentWithdrawn || ev.SourceKind != schemas.ConsentSourceLateOptOut ||
		ev.SourceRef != "optout/S4" || ev.Reason != "operator" || ev.SurveyRecordID != "S4" || !ev.At.Equal(at) {
		t.Errorf("late opt-out: %+v %v %v", ev, ok, err)
	}
	if _, ok, err := WithdrawalFromOutcomeEvent(late); ok || err != nil {
		t.Errorf("a late opt-out read as a row of the supplier's file: %v %v", ok, err)
	}
	if _, ok, err := WithdrawalFromLateOptOut(schemas.OutcomeEvent{EventID: "dbs/S5", SurveyRecordID: "S5", Outcome: schemas.OutcomeDeceased, At: at}); ok || err != nil {
		t.Errorf("a death counted as a late opt-out: %v %v", ok, err)
	}
	late.SurveyRecordID = " "
	if _, _, err := WithdrawalFromLateOptOut(late); err == nil || !strings.Contains(err.Error(), "optout/S4") {
		t.Errorf("a late opt-out naming no one: %v", err)
	}
	op := OperatorWithdrawal{WaveID: "W1", ICS: "QMM", SurveyRecordID: "S3", Operator: "A. Engineer", Reason: "requested_by_person", At: at, CommandID: "u1"}
	ev, err = WithdrawalByOperator(op)
	if err != nil || ev.Operator != "A. Engineer" || ev.SourceKind != schemas.ConsentSourceOperator {
		t.Fatalf("operator withdrawal %+v %v", ev, err)
	}
	op.Operator, op.Reason = "", "because Barbara Hunt phoned"
	if _, err := WithdrawalByOperator(op); err == nil || !strings.Contains(err.Error(), "operator is missing") ||
		!strings.Contains(err.Error(), "the reason is not a code: one of withdraw_linkage, ") || strings.Contains(err.Error(), "Hunt") {
		t.Errorf("bad command: %v", err)
	}
}

func TestLatestEventRule(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id, record, rtype, event string, at time.Time) schemas.ConsentEvent {
		return schemas.ConsentEvent{EventID: id, SurveyRecordID: record, RespondentType: rtype, Event: event, At: at}
	}
	P, C := schemas.RespondentPatient, schemas.RespondentCarer
	events := []schemas.ConsentEvent{
		ev("a", "given", P, schemas.ConsentGiven, t0),
		ev("b", "withdrawn", P, schemas.ConsentGiven, t0),
		ev("c", "withdrawn", P, schemas.ConsentWithdrawn, t0.Add(time.Hour)),
		ev("d", "regiven", P, schemas.ConsentWithdrawn, t0),
		ev("e", "regiven", P, schemas.ConsentGiven, t0.Add(24*time.Hour)), // consent given again later
		ev("f", "tie", P, schemas.ConsentGiven, t0),
		ev("g", "tie", P, schemas.ConsentWithdrawn, t0), // same instant: withdrawal wins
		ev("h", "declined", P, schemas.ConsentDeclined, t0),
		ev("i", "carer", C, schemas.ConsentGiven, t0), // a carer's consent never links
		ev("j", "changed", P, schemas.ConsentGiven, t0),
		ev("k", "changed", P, schemas.ConsentDeclined, t0.Add(time.Minute)), // a later "no"
		ev("l", "opted-out", P, schemas.ConsentWithdrawn, t0),               // an opt-out, never consented
	}
	latest := Latest(events)
	for record, want := range map[string]bool{"given": true, "withdrawn": false, "regiven": true, "tie": false,
		"declined": false, "carer": false, "changed": false, "opted-out": false, "nobody": false} {
		if got := Linkable(latest, record); got != want {
			t.Errorf("Linkable(%s) = %v, want %v", record, got, want)
		}
	}
	// Order of the input does not matter.
	for i, j := 0, len(events)-1; i < j; i, j = i+1, j-1 {
		events[i], events[j] = events[j], events[i]
	}
	rev := Latest(events)
	for s, e := range latest {
		if rev[s].EventID != e.EventID {
			t.Errorf("%v: latest %s forwards, %s backwards", s, e.EventID, rev[s].EventID)
		}
	}
	c := CountConsent(events)
	if c.PatientsGiven != 2 || c.CarersGiven != 1 || c.PatientsWithdrew != 3 || c.PatientsWithdrewAfterGiving != 2 || c.PatientsDeclined != 2 {
		t.Errorf("counts %+v", c)
	}
}

func TestLatestConsentGivenMatchesLinkable(t *testing.T) {
	// A release's cohort works each person's consent out as the events stream past
	// (latestConsentGiven): it must say what Linkable says of Latest, for every rule of
	// TestLatestEventRule and for ties that only the event id breaks, a repeated id, an
	// event with no time, carers' events and events of records outside the cohort; the
	// events are split over two objects, read in turn.
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	ev := func(id, record, rtype, event string, at time.Time) schemas.ConsentEvent {
		return schemas.ConsentEvent{EventID: id, WaveID: "W1", SurveyRecordID: record, RespondentType: rtype, Event: event, At: at}
	}
	P, C := schemas.RespondentPatient, schemas.RespondentCarer
	first := []schemas.ConsentEvent{
		ev("a", "given", P, schemas.ConsentGiven, t0),
		ev("b", "withdrawn", P, schemas.ConsentGiven, t0),
		ev("c", "withdrawn", P, schemas.ConsentWithdrawn, t0.Add(time.Hour)),
		ev("d", "regiven", P, schemas.ConsentWithdrawn, t0),
		ev("e", "regiven", P, schemas.ConsentGiven, t0.Add(24*time.Hour)),
		ev("f", "tie", P, schemas.ConsentGiven, t0),
		ev("g", "tie", P, schemas.ConsentWithdrawn, t0),
		ev("h", "declined", P, schemas.ConsentDeclined, t0),
		ev("i", "carer", C, schemas.ConsentGiven, t0),
		ev("i2", "carer-given", C, schemas.ConsentDeclined, t0.Add(time.Hour)),
		ev("i3", "carer-given", P, schemas.ConsentGiven, t0),
		ev("j", "changed", P, schemas.ConsentGiven, t0),
		ev("k", "changed", P, schemas.ConsentDeclined, t0.Add(time.Minute)),
		ev("m2", "id-tie", P, schemas.ConsentGiven, t0),
		ev("m1", "id-tie", P, "unknown", t0), // same instant and restrictiveness: the larger id wins
		ev("n", "no-time", P, schemas.ConsentGiven, time.Time{}),
		ev("x", "outside", P, schemas.ConsentGiven, t0),
	}
	second := []schemas.ConsentEvent{
		ev("m3", "id-tie2", P, "other", t0),
		ev("m3", "id-tie2", P, schemas.ConsentGiven, t0), // the same id again: the first stays
		ev("o", "no-time", P, schemas.ConsentDeclined, time.Time{}.Add(-time.Hour)),
		ev("p", "late", P, schemas.ConsentDeclined, t0),
		ev("q", "late", P, schemas.ConsentGiven, t0.Add(time.Second)),
	}
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for name, events := range map[string][]schemas.ConsentEvent{"a-first": first, "b-second": second} {
		if err := lake.PutRows(ctx, st, schemas.LinkageConsentKey("W1", name), schemas.ConsentEventLayout(), events); err != nil {
			t.Fatal(err)
		}
	}
	records := []string{"given", "withdrawn", "regiven", "tie", "declined", "carer", "carer-given", "changed", "id-tie", "id-tie2", "no-time", "late", "nobody"}
	byID := map[string]int32{}
	for i, r := range records {
		byID[r] = int32(i)
	}
	got, err := latestConsentGiven(ctx, st, "W1", byID, len(records))
	if err != nil {
		t.Fatal(err)
	}
	all, err := ReadConsentEvents(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(first)+len(second) {
		t.Fatalf("read %d events, wrote %d", len(all), len(first)+len(second))
	}
	latest := Latest(all)
	for i, r := range records {
		if want := Linkable(latest, r); got[i] != want {
			t.Errorf("%s: latestConsentGiven says %v, Linkable %v", r, got[i], want)
		}
	}
	if !got[byID["given"]] || !got[byID["carer-given"]] || got[byID["tie"]] || !got[byID["late"]] {
		t.Errorf("the rules' plain cases went wrong: %v", got)
	}
}
