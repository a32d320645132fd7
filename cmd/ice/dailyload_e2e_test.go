//go:build !production

package main

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"icesurvey/publication"
	"icesurvey/warehouse"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// TestDailyLoadBackfill runs a wave on the embedded server, backfills a week of daily
// response loads through the real DailyLoadWorkflow (the dev simulator standing in for
// the survey supplier), and checks that responses reach the warehouse, that a second
// backfill of the same days changes nothing, and that people who responded get no
// mailing chosen after their response was loaded.
func TestDailyLoadBackfill(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "e2e-load"
	dayLength := 600 * time.Millisecond
	spec, _ := e2eWave(t, ctx, st, wave, 400, dayLength, "QUY")
	// The spec's publication: sets r1's parameters (checked after the publication).
	cautionBase := 31
	spec.Publication = &waveclient.ReleaseParams{CautionBase: &cautionBase}
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	if _, err := wc.Declare(ctx, wave, "QUY", "Test Engineer"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, 2*time.Minute, "the invitation sent", func(ics []waveclient.ICSStatus) bool {
		return ics[0].Mailings[0].State == workflows.MailingSent
	})

	in := waveclient.DailyLoadInput{WaveID: wave, ICS: []string{"QUY"}, Simulate: true, SimDayLength: dayLength,
		Questionnaires: waveclient.Questionnaires{PatientVersion: spec.QuestionnaireVersion, CarerVersion: spec.CarerQuestionnaire}}
	from := time.Now().UTC().Truncate(24 * time.Hour) // fieldwork day 0 is the day of the first message
	to := from.AddDate(0, 0, 6)
	// A backfill for an ICS the wave does not have is refused before any day loads.
	if _, err := iceOnServer(t, ctx, st)("load", "backfill", "--wave", wave, "--ics", "QXX", "--from", from.Format(time.DateOnly),
		"--to", to.Format(time.DateOnly)); err == nil || !strings.Contains(err.Error(), "has no ICS QXX (its ICSs: QUY)") {
		t.Errorf("a backfill of an ICS not in the wave: %v", err)
	}
	first, err := wc.Backfill(ctx, in, from, to, nil)
	if err != nil {
		t.Fatalf("backfill: %v", err)
	}
	if len(first) != 7 {
		t.Fatalf("backfill ran %d days, want 7", len(first))
	}
	loaded := 0
	for _, d := range first {
		for _, r := range d.ICS {
			loaded += r.Load.Loaded
		}
	}
	if loaded == 0 {
		t.Fatal("a week of fieldwork loaded no responses")
	}
	// The history of a day that loaded responses, simulated first, for the replay tests (before
	// the reload below runs the same day again).
	for _, d := range first {
		if d.ICS[0].Load.Loaded > 0 {
			day, _ := time.Parse(time.DateOnly, d.Date)
			recordHistories(t, ctx, wc, map[string]string{"dailyload.json": workflows.DailyLoadWorkflowID(wave, day)})
			break
		}
	}
	count := func() (responses, completed int) {
		err := warehouse.WithRetry(ctx, 30*time.Second, func() error {
			return st.Warehouse.Read(ctx, func(db *sql.DB) error {
				if err := db.QueryRowContext(ctx, `SELECT count(DISTINCT response_id) FROM responses WHERE wave = ?`, wave).Scan(&responses); err != nil {
					return err
				}
				return db.QueryRowContext(ctx, `SELECT count(*) FROM outcomes WHERE wave_id = ? AND outcome = 1`, wave).Scan(&completed)
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return responses, completed
	}
	responses, completed := count()
	if responses == 0 || completed == 0 {
		t.Fatalf("warehouse has %d responses and %d completed outcomes after the backfill", responses, completed)
	}

	// Loading the same days' files again changes nothing. (Without the simulator: asked
	// again, it would answer for mailings sent since, which are new files.)
	reload := in
	reload.Simulate = false
	again, err := wc.Backfill(ctx, reload, from, to, nil)
	if err != nil {
		t.Fatalf("second backfill: %v", err)
	}
	for _, d := range again {
		for _, r := range d.ICS {
			if r.Load.Loaded != 0 {
				t.Errorf("reloading %s loaded %d more responses", d.Date, r.Load.Loaded)
			}
		}
	}
	if r2, c2 := count(); r2 != responses || c2 != completed {
		t.Errorf("after reloading: %d responses, %d completed; before: %d, %d", r2, c2, responses, completed)
	}
	loadedAt := time.Now()

	if _, err := wc.WaitWave(ctx, wave); err != nil {
		t.Fatalf("wave: %v", err)
	}
	// Nobody whose completed questionnaire was in the warehouse got a mailing chosen
	// after that. A mailing chosen just before may start sending a little later, more so
	// on a loaded machine: allow four fieldwork days.
	err = st.Warehouse.Read(ctx, func(db *sql.DB) error {
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM mailing_history h
			JOIN completions c ON c.wave = h.wave_id AND c.survey_record_id = h.survey_record_id
			WHERE h.wave_id = ? AND h.sent_at > ?`, wave, loadedAt.Add(4*dayLength)).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("%d messages went to people whose completed response had been loaded", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("backfilled 7 days: %d responses, %d completed outcomes", responses, completed)

	// The wave drafted its release when QUY closed: publish it (issue #14).
	checkPublication(t, ctx, st, wc, wave, spec.Codes())
	// The wave drafted r1 with its spec's parameters, and drafting it again by hand
	// (checkPublication's re-run, with none given) kept them.
	meta, err := publication.ReadMetadata(ctx, st.Store, wave, waveclient.FirstReleaseID)
	if err != nil {
		t.Fatal(err)
	}
	if nd := strings.Join(notDefault(meta.Parameters), ", "); nd != "caution_base 31" {
		t.Errorf("release r1 of a wave whose spec sets caution_base 31: parameters not the defaults %q", nd)
	}
}
