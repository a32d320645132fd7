package linkage_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

// TestResponseColumnsAgreeWithLakeScan rebuilds each person's kept response and staged
// answers from rows read the plain way (lake.Scan into schemas.ResponseRow) and compares
// them with the cohort's, which reads the responses column by column.
func TestResponseColumnsAgreeWithLakeScan(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 250, 120, "QMM", "QWE")
	discarded := map[string]bool{}
	for _, d := range readAll[schemas.DuplicateResponse](t, w.st, "lake/duplicates/wave=W1/", schemas.DuplicateResponseLayout()) {
		discarded[d.DiscardedResponseID] = true
	}
	var rows []schemas.ResponseRow
	infos, _ := w.st.List(ctx, "lake/responses/wave=W1/")
	for _, in := range infos {
		rs, err := lake.GetRows[schemas.ResponseRow](ctx, w.st, in.Key, schemas.ResponseRowLayout())
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rs...)
	}
	kept := map[string]schemas.ResponseRow{}
	for _, r := range rows {
		if r.RespondentType != schemas.RespondentPatient || !r.Complete || discarded[r.ResponseID] {
			continue
		}
		if have, ok := kept[r.SurveyRecordID]; !ok || r.ReceivedAt.Before(have.ReceivedAt) {
			kept[r.SurveyRecordID] = r
		}
	}
	if len(discarded) == 0 || len(kept) == 0 {
		t.Fatal("no duplicates or no responses in the test wave")
	}
	cat, _ := questionnaire.Default()
	qn, _ := cat.Resolve("patient-2026.1", nil)
	ext := schemas.ResponseRowLayout().ExtensionColumns()
	var want []string
	for _, r := range kept {
		for j, col := range ext {
			q, ok := qn.Question(col.Name)
			if !ok || !q.Closed() || q.Theme == questionnaire.ThemeConsent || j >= len(r.Answers) || r.Answers[j] == "" {
				continue
			}
			for _, code := range q.SplitAnswer(r.Answers[j]) {
				want = append(want, fmt.Sprintf("%s %s %s %v %v", r.SurveyRecordID, q.ID, code, q.IsPositive(code), q.InBase(code)))
			}
		}
	}
	var got []string
	for _, a := range w.cohort.Answers {
		got = append(got, fmt.Sprintf("%s %s %s %v %v", w.cohort.People[a.PersonIndex].SurveyRecordID, a.QuestionID, a.AnswerCode, a.Positive, a.InBase))
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("staged answers differ: %d from the cohort, %d from lake.Scan", len(got), len(want))
	}
	for _, p := range w.cohort.People {
		r, ok := kept[p.SurveyRecordID]
		if p.Responded != ok || (ok && (p.ResponseID != r.ResponseID || !p.ResponseDate.Equal(dayInEngland(t, r.ReceivedAt)))) {
			t.Errorf("%s: responded %v (%s on %v), lake.Scan %v (%s at %v)", p.SurveyRecordID, p.Responded, p.ResponseID, p.ResponseDate, ok, r.ResponseID, r.ReceivedAt)
		}
	}
}

// A wave with no sample in the lake (a mistyped id, an intake never run) is refused for
// good, not retried: there is nobody to link, and no retry changes that.
func TestCohortOfAWaveWithNoSampleIsRefused(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 20, 10, "QMM")
	for name, load := range map[string]func(context.Context, store.Store, string) (*linkage.Cohort, error){
		"LoadCohort": linkage.LoadCohort, "LoadLinkable": linkage.LoadLinkable,
	} {
		if _, err := load(ctx, w.st, "W1"); err != nil {
			t.Fatalf("%s of the test wave: %v", name, err)
		}
		_, err := load(ctx, w.st, "W2")
		if !errors.Is(err, linkage.ErrNoSample) || fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), "wave W2") {
			t.Errorf("%s of a wave with no sample: %v, want ErrNoSample (BadInput) naming W2", name, err)
		}
	}
}

// A person's standing consent, read from their ICS's partition alone, is what the
// wave's whole derivation and the stored events make of them.
func TestStandingConsentIsTheWavesLatest(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 60, 40)
	derived, err := linkage.DeriveConsent(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := linkage.ReadConsentEvents(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	latest := linkage.Latest(append(derived, stored...))
	checked, consenting := 0, 0
	for _, p := range w.cohort.People {
		s := linkage.Subject{SurveyRecordID: p.SurveyRecordID, RespondentType: schemas.RespondentPatient}
		got, ok, err := linkage.StandingConsent(ctx, w.st, w.wave, p.ICS, s)
		if err != nil {
			t.Fatal(err)
		}
		want, wantOK := latest[s]
		if ok != wantOK || got.EventID != want.EventID {
			t.Errorf("%s (%s): standing %v %+v, the wave's latest %v %+v", p.SurveyRecordID, p.ICS, ok, got, wantOK, want)
		}
		if ok {
			checked++
		}
		if p.Consented != (ok && got.Event == schemas.ConsentGiven) {
			t.Errorf("%s: consented %v in the cohort, standing %+v", p.SurveyRecordID, p.Consented, got)
		}
		if p.Consented {
			consenting++
		}
	}
	if checked < 20 || consenting == 0 {
		t.Errorf("only %d people with a consent event (%d consenting)", checked, consenting)
	}
}

// dayInEngland is the calendar date in England of at, as midnight UTC.
func dayInEngland(t *testing.T, at time.Time) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	y, m, d := at.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
