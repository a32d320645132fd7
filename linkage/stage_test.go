package linkage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

// TestStagedAnswersMatchCohort holds the release's staged answers (DuckDB reading the
// response objects) to the cohort's (LoadCohort scoring them in Go), row for row, on a
// synthetic wave with an extra load of responses written to try the rules' edges: codes
// padded with spaces (ASCII and not), multi-choice cells with empty and padded parts,
// codes none of the options, a blank cell, and a question left out of the object.
func TestStagedAnswersMatchCohort(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 200, 80, "QMM", "QWE")
	cat, err := questionnaire.Default()
	if err != nil {
		t.Fatal(err)
	}
	qn, err := cat.Resolve("patient-2026.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	ext := schemas.ResponseRowLayout().ExtensionColumns()
	var single, multi, numeric int = -1, -1, -1
	for j, c := range ext {
		q, ok := qn.Question(c.Name)
		if !ok || !q.Closed() || q.Theme == questionnaire.ThemeConsent || len(q.Options) < 2 {
			continue
		}
		switch {
		case q.Kind == questionnaire.Multi && multi < 0:
			multi = j
		case c.Type == schemas.Int32 && numeric < 0:
			numeric = j
		case q.Kind == questionnaire.Single && c.Type == schemas.String && single < 0:
			single = j
		}
	}
	if single < 0 || multi < 0 || numeric < 0 {
		t.Fatalf("the catalogue lacks a text single-choice, a multi-choice or a numeric question (%d %d %d)", single, multi, numeric)
	}
	opt := func(j, i int) string {
		q, _ := qn.Question(ext[j].Name)
		return q.Options[i%len(q.Options)].Code
	}
	// Sampled people who did not respond: each gets a complete patient response here.
	var extra []schemas.ResponseRow
	cells := []func(a []string, i int){
		func(a []string, i int) { a[single] = " " + opt(single, i) + "\t" },
		func(a []string, i int) { a[single] = "\u00a0" + opt(single, i) + "\u3000" },
		func(a []string, i int) { a[single] = "not-a-code" },
		func(a []string, i int) { a[single] = " \u2003 " },
		func(a []string, i int) { a[multi] = " " + opt(multi, i) + " ; ;" + opt(multi, i+1) + "\u00a0" },
		func(a []string, i int) { a[multi] = ";" + opt(multi, i) + ";zz;" },
		func(a []string, i int) { a[numeric] = "997" },
		func(a []string, i int) { a[numeric] = opt(numeric, i) },
	}
	for i, p := range w.cohort.People {
		if p.Responded || len(extra) == 3*len(cells) {
			continue
		}
		a := make([]string, len(ext))
		cells[len(extra)%len(cells)](a, i)
		extra = append(extra, schemas.ResponseRow{ResponseID: fmt.Sprintf("EXTRA-%03d", len(extra)), Wave: w.wave, ICS: p.ICS,
			LoadDate: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), SurveyRecordID: p.SurveyRecordID, RespondentType: schemas.RespondentPatient,
			QuestionnaireVersion: "patient-2026.1", Channel: "online", ReceivedAt: time.Date(2026, 3, 30, 9, 0, 0, 0, time.UTC),
			Complete: true, SourceSHA256: "extra", Answers: a})
	}
	// The object has the fixed columns and the three answer columns only: every other
	// question is absent from it, as from an object loaded before that question existed.
	l, err := schemas.ResponseFixedLayout().Extend(string(schemas.LakeResponses),
		[]schemas.ExtraColumn{{Name: ext[single].Name, Type: ext[single].Type}, {Name: ext[multi].Name, Type: ext[multi].Type},
			{Name: ext[numeric].Name, Type: ext[numeric].Type}}, "")
	if err != nil {
		t.Fatal(err)
	}
	narrow := make([]schemas.ResponseRow, len(extra))
	for i, r := range extra {
		narrow[i] = r
		narrow[i].Answers = []string{r.Answers[single], r.Answers[multi], r.Answers[numeric]}
	}
	key := schemas.ResponseLoadPartition(schemas.LakeResponses, w.wave, "QMM", time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) + "part-extra.parquet"
	if err := lake.PutRows(ctx, w.st, key, l, narrow); err != nil {
		t.Fatal(err)
	}
	cohort, err := linkage.LoadCohort(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	staged, err := linkage.StagedAnswers(ctx, w.st, t.TempDir(), cohort)
	if err != nil {
		t.Fatal(err)
	}
	row := func(a schemas.LinkageAnswer) string {
		return fmt.Sprintf("%s %s %q scored=%v positive=%v in_base=%v", cohort.People[a.PersonIndex].SurveyRecordID, a.QuestionID, a.AnswerCode, a.Scored, a.Positive, a.InBase)
	}
	var want, got []string
	extraAnswers := 0
	for _, a := range cohort.Answers {
		want = append(want, row(a))
		if slices.ContainsFunc(extra, func(r schemas.ResponseRow) bool {
			return r.SurveyRecordID == cohort.People[a.PersonIndex].SurveyRecordID
		}) {
			extraAnswers++
		}
	}
	for _, a := range staged {
		got = append(got, row(a))
	}
	// Each rule is given to 3 people; a single-choice or numeric cell is one answer (the
	// blank one none), a multi-choice cell two.
	if extraAnswers != 3*(1+1+1+0+2+2+1+1) {
		t.Fatalf("the cohort scored %d answers of the extra responses, want 27: the test's rows are not what it meant", extraAnswers)
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		var diff []string
		for _, s := range got {
			if !slices.Contains(want, s) {
				diff = append(diff, "staged only: "+s)
			}
		}
		for _, s := range want {
			if !slices.Contains(got, s) {
				diff = append(diff, "cohort only: "+s)
			}
		}
		t.Errorf("staged answers differ from the cohort's (%d staged, %d in the cohort):\n%s", len(got), len(want), strings.Join(diff, "\n"))
	}
}

// TestReleaseCohortMatchesLoadCohort: a release's cohort (the consent events read only
// for each subject's latest) has the same people, consent and responses as validation's
// (LoadCohort), on a wave with declines, opt-out withdrawals, carers' consent and an
// operator's withdrawal of a consenter.
func TestReleaseCohortMatchesLoadCohort(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 200, 80, "QMM", "QWE")
	var withdrawn string
	for _, p := range w.cohort.People {
		if p.Consented {
			withdrawn = p.SurveyRecordID
			break
		}
	}
	if withdrawn == "" || len(w.stats.Withdrawn) == 0 || w.cohort.Consent.CarersGiven == 0 || w.cohort.Consent.PatientsDeclined == 0 {
		t.Fatalf("the test wave lacks a consenter, an opt-out withdrawal, a carer's consent or a decline: %+v", w.cohort.Consent)
	}
	ev := schemas.ConsentEvent{EventID: "OP-TEST-1", WaveID: w.wave, SurveyRecordID: withdrawn, RespondentType: schemas.RespondentPatient,
		Event: schemas.ConsentWithdrawn, At: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), SourceKind: schemas.ConsentSourceOperator,
		SourceRef: "test", Operator: "tester", Reason: "participant_request"}
	if _, err := linkage.RecordWithdrawal(ctx, w.st, ev); err != nil {
		t.Fatal(err)
	}
	full, err := linkage.LoadCohort(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := linkage.ReleaseCohort(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	if len(full.People) != len(rel.People) {
		t.Fatalf("%d people in the release's cohort, %d in LoadCohort's", len(rel.People), len(full.People))
	}
	consented := 0
	for i := range full.People {
		if full.People[i] != rel.People[i] {
			t.Errorf("person %d: release %+v, LoadCohort %+v", i, rel.People[i], full.People[i])
		}
		if full.People[i].Consented {
			consented++
		}
		if full.People[i].SurveyRecordID == withdrawn && full.People[i].Consented {
			t.Errorf("%s withdrew by the operator and is still consented", withdrawn)
		}
	}
	if consented == 0 || len(rel.Answers) != 0 || len(rel.Events) != 0 {
		t.Errorf("%d consented; the release's cohort has %d answers and %d events (it needs none)", consented, len(rel.Answers), len(rel.Events))
	}
}

// TestStageRelations: the staged relations a distributed engine reads are written to
// the restricted area, the answers among them as LoadCohort scores them, and nothing
// else of the staging (the kept responses' ids and the scoring tables stay local), and
// DeleteStage removes them all.
func TestStageRelations(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 120, 50, "QMM")
	prefix, err := linkage.StageRelations(ctx, w.st, linkage.ReleaseConfig{WaveID: w.wave, ReleaseID: "R1", ProjectKey: testKey, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(prefix, schemas.LinkageRestrictedPrefix(w.wave)) {
		t.Fatalf("staged under %s, not the restricted area", prefix)
	}
	infos, err := w.st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range infos {
		got = append(got, strings.TrimPrefix(in.Key, prefix))
	}
	slices.Sort(got)
	want := []string{"answers/part-0.parquet", "codelist/part-0.parquet", "datasets/part-0.parquet", "frame/part-0.parquet", "measure_map/part-0.parquet"}
	if !slices.Equal(got, want) {
		t.Errorf("staged %v, want %v", got, want)
	}
	answers := readAll[schemas.LinkageAnswer](t, w.st, prefix+"answers/", schemas.LinkageAnswerLayout())
	if len(answers) == 0 || len(answers) != len(w.cohort.Answers) {
		t.Errorf("%d staged answers, %d in the cohort", len(answers), len(w.cohort.Answers))
	}
	if err := linkage.DeleteStage(ctx, w.st, w.wave, "R1"); err != nil {
		t.Fatal(err)
	}
	if infos, err := w.st.List(ctx, prefix); err != nil || len(infos) != 0 {
		t.Errorf("after DeleteStage: %d objects, %v", len(infos), err)
	}
}
