package linkage_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/mailing"
	"icesurvey/questionnaire"
	"icesurvey/responses"
	"icesurvey/schemas"
	"icesurvey/store"
)

// rowsByPerson counts the rows of every object under prefix by project pseudonym.
func rowsByPerson(t *testing.T, st store.Store, prefix string) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	infos, err := st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, in := range infos {
		if !strings.HasSuffix(in.Key, ".parquet") {
			continue
		}
		if err := lake.ScanStrings(ctx, st, in.Key, []string{"nhs_pseudonym"}, func(row []string) error {
			out[strings.Clone(row[0])]++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The consented linkage's side of three opt-outs: two loaded by the daily response
// load, one with reason withdraw_linkage (linkage consent only: the response and
// outcome stand) and one that opts the person out of the survey, and a late opt-out an
// operator records with `ice wave opt-out`. The first two become withdrawals naming the
// file and row, the third one naming the outcome event; after them PurgeWithdrawn
// leaves none of the three people's rows in the lake's validated extracts (activity and
// diagnoses), keeps everyone else's row for row, and a second run rewrites nothing.
func TestWithdrawnArePurgedFromTheValidatedExtracts(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 160, 90, "QMM")
	w.generate(t, "csv")
	activityPrefixes := func() []string {
		var out []string
		for _, d := range w.defs.All() {
			out = append(out, schemas.LinkageActivityPrefix(d.ID, w.wave))
		}
		return out
	}
	countAll := func() (activity map[string]int64, diagnoses map[string]int64) {
		activity = map[string]int64{}
		for _, p := range activityPrefixes() {
			for k, n := range rowsByPerson(t, w.st, p) {
				activity[k] += n
			}
		}
		return activity, rowsByPerson(t, w.st, schemas.LinkageDiagnosesPrefix(w.wave))
	}
	act0, dx0 := countAll()
	// Three consenters with activity and diagnosis codes in the lake: the one to
	// withdraw from linkage only, the one to opt out of the survey in the supplier's
	// file, and the one to opt out late.
	var chosen []*linkage.Person
	for i := range w.cohort.People {
		p := &w.cohort.People[i]
		if p.Consented && act0[p.NHSPseudonym] > 0 && dx0[p.NHSPseudonym] > 0 {
			chosen = append(chosen, p)
		}
		if len(chosen) == 3 {
			break
		}
	}
	if len(chosen) < 3 {
		t.Fatal("fewer than three consenters with activity and diagnoses in the lake")
	}
	linkOnly, optedOut, late := chosen[0], chosen[1], chosen[2]

	// The supplier's opt-out file, loaded by the daily response load, a day after the
	// last response.
	day := w.stats.LastResponse.UTC().Truncate(24*time.Hour).AddDate(0, 0, 1)
	file := fmt.Sprintf("SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\n%s,%s,withdraw_linkage\n%s,%s,too_ill\n",
		linkOnly.SurveyRecordID, day.Format(time.DateOnly), optedOut.SurveyRecordID, day.Format(time.DateOnly))
	if err := store.PutBytes(ctx, w.st, schemas.ResponseLandingPrefix(w.wave, "QMM", day)+"optouts.csv", []byte(file)); err != nil {
		t.Fatal(err)
	}
	qs, err := questionnaire.ResolveSet([]string{"patient-2026.1", "carer-2026.1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	known := func(id string) (bool, bool) {
		p, ok := w.cohort.Person(id)
		return ok && p.ICS == "QMM", ok
	}
	res, err := responses.Load(ctx, w.st, responses.LoadConfig{WaveID: w.wave, ICS: "QMM", Questionnaires: qs, Known: known}, day)
	if err != nil {
		t.Fatal(err)
	}
	if res.RowsRead != 2 || res.Loaded != 2 || res.LinkageWithdrawals != 1 || res.Outcomes[schemas.OutcomeOptedOut] != 1 {
		t.Fatalf("load: %+v", res)
	}
	// The late opt-out, recorded as `ice wave opt-out` records it (the person looked up
	// in the ICS's contacts), a day later.
	if err := lake.PutRows(ctx, w.st, schemas.ContactsKey(w.wave, late.ICS), schemas.ContactLayout(),
		[]schemas.Contact{{SurveyRecordID: late.SurveyRecordID, ICS: late.ICS}}); err != nil {
		t.Fatal(err)
	}
	lateAt := day.AddDate(0, 0, 1).Add(10 * time.Hour)
	if _, err := mailing.RecordOptOut(ctx, w.st, mailing.OptOutRequest{Wave: w.wave, ICS: late.ICS, SurveyRecordID: late.SurveyRecordID,
		Reason: "too_ill"}, lateAt); err != nil {
		t.Fatal(err)
	}
	events, err := linkage.DeriveConsent(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := linkage.WriteDerivedConsent(ctx, w.st, w.wave, events); err != nil {
		t.Fatal(err)
	}
	all, err := linkage.ReadConsentEvents(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	// Each withdrawal names the file and its row, whichever way it came.
	rows := map[string]int64{linkOnly.SurveyRecordID: 1, optedOut.SurveyRecordID: 2}
	found := map[string]int{}
	for _, e := range all {
		if e.SurveyRecordID == late.SurveyRecordID && e.Event == schemas.ConsentWithdrawn {
			found[e.SurveyRecordID]++
			if e.SourceKind != schemas.ConsentSourceLateOptOut || e.SourceFile != schemas.LateOptOutSource || e.SourceRef != "optout/"+late.SurveyRecordID ||
				!e.At.Equal(lateAt) || e.Reason != "too_ill" {
				t.Errorf("late opt-out's withdrawal %+v does not name the outcome event, its time and reason", e)
			}
		}
		row, ok := rows[e.SurveyRecordID]
		if !ok || e.Event != schemas.ConsentWithdrawn {
			continue
		}
		found[e.SurveyRecordID]++
		if e.SourceKind != schemas.ConsentSourceOptOut || e.SourceFile != "optouts.csv" || e.SourceRow != row || len(e.SourceSHA256) != 64 {
			t.Errorf("withdrawal %+v does not name the file and row %d", e, row)
		}
	}
	if found[linkOnly.SurveyRecordID] != 1 || found[optedOut.SurveyRecordID] != 1 || found[late.SurveyRecordID] != 1 {
		t.Fatalf("withdrawals by person: %v", found)
	}
	// The event the load wrote is the one linkage derives from the same row.
	for _, e := range all {
		if e.SurveyRecordID != linkOnly.SurveyRecordID || e.Event != schemas.ConsentWithdrawn {
			continue
		}
		want, err := linkage.WithdrawalFromOptOut(linkage.OptOutRow{WaveID: w.wave, ICS: "QMM", File: "optouts.csv", Row: 1,
			SHA256: e.SourceSHA256, OptOut: schemas.OptOut{SurveyRecordID: linkOnly.SurveyRecordID, OptedOutAt: day, Reason: "withdraw_linkage"}})
		if err != nil || want != e {
			t.Errorf("the load's event %+v, linkage derives %+v (%v)", e, want, err)
		}
	}

	cohort, err := linkage.LoadCohort(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := cohort.Person(linkOnly.SurveyRecordID); !p.Responded || p.Consented {
		t.Errorf("withdrawn from linkage only: responded %v (want true), consented %v (want false)", p.Responded, p.Consented)
	}
	if p, _ := cohort.Person(optedOut.SurveyRecordID); p.Consented {
		t.Error("opted out of the survey but still consented")
	}
	if p, _ := cohort.Person(late.SurveyRecordID); p.Consented {
		t.Error("opted out late but still consented")
	}
	pr, err := linkage.PurgeWithdrawn(ctx, w.st, cohort, w.defs)
	if err != nil {
		t.Fatal(err)
	}
	act1, dx1 := countAll()
	wantRows := act0[linkOnly.NHSPseudonym] + act0[optedOut.NHSPseudonym] + act0[late.NHSPseudonym]
	wantDx := dx0[linkOnly.NHSPseudonym] + dx0[optedOut.NHSPseudonym] + dx0[late.NHSPseudonym]
	if pr.People != 3 || pr.Rows != wantRows || pr.Diagnoses != wantDx || pr.Rewritten == 0 || pr.Objects <= pr.Rewritten {
		t.Errorf("purge %+v: want 3 people, %d activity rows, %d diagnosis rows, some objects untouched", pr, wantRows, wantDx)
	}
	var byDataset int64
	for _, n := range pr.ByDataset {
		byDataset += n
	}
	if byDataset != pr.Rows {
		t.Errorf("by dataset %v sums to %d, not %d", pr.ByDataset, byDataset, pr.Rows)
	}
	for _, p := range chosen {
		if act1[p.NHSPseudonym] != 0 || dx1[p.NHSPseudonym] != 0 {
			t.Errorf("a withdrawn person still has %d activity and %d diagnosis rows in the lake", act1[p.NHSPseudonym], dx1[p.NHSPseudonym])
		}
	}
	for k, n := range act0 {
		if k != linkOnly.NHSPseudonym && k != optedOut.NHSPseudonym && k != late.NHSPseudonym && act1[k] != n {
			t.Fatalf("a linkable person's activity rows went from %d to %d", n, act1[k])
		}
	}
	for k, n := range dx0 {
		if k != linkOnly.NHSPseudonym && k != optedOut.NHSPseudonym && k != late.NHSPseudonym && dx1[k] != n {
			t.Fatalf("a linkable person's diagnosis rows went from %d to %d", n, dx1[k])
		}
	}
	// The rewritten objects are whole, readable in their layout.
	for _, p := range activityPrefixes() {
		readAll[schemas.LinkageActivity](t, w.st, p, schemas.LinkageActivityLayout())
	}
	// Idempotent: nothing left to purge, nothing rewritten.
	again, err := linkage.PurgeWithdrawn(ctx, w.st, cohort, w.defs)
	if err != nil {
		t.Fatal(err)
	}
	if again.Rewritten != 0 || again.Rows != 0 || again.Diagnoses != 0 || again.People != 0 || again.Objects != pr.Objects {
		t.Errorf("second purge %+v", again)
	}
	// The log line names no one.
	for _, p := range chosen {
		if strings.Contains(string(logs.Bytes()), p.NHSPseudonym) || strings.Contains(string(logs.Bytes()), p.SurveyRecordID) {
			t.Error("the log names a withdrawn person")
		}
	}
}
