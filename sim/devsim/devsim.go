// Package devsim holds the dev stack's simulator activities: the survey supplier
// (sim/surveysim) writing each day's files for the people actually mailed. Only the dev
// stack registers them (Register), never `ice worker`; the production worker does not
// link this package (internal/importrules checks).
package devsim

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/worker"

	"icesurvey/activities"
	"icesurvey/audit"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/sim/surveysim"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// DevSimulators stand in for the survey supplier in the embedded dev stack and tests.
// They are registered only by the dev stack, on its warehouse worker (they read the
// warehouse, whose file only that process may open while it writes) — never by
// `ice worker`, so a production DailyLoadWorkflow asked to simulate finds no worker and
// never writes invented responses into a real landing area.
type DevSimulators struct {
	Store     store.Store
	Warehouse *warehouse.Warehouse
	// Seed makes the simulated supplier deterministic: the same seed, wave and mailings
	// give the same files.
	Seed int64
}

// SimulateResponses writes the day's supplier files (responses, undelivered returns,
// opt-outs) into the landing area for the people actually mailed, as the mailing
// history in the warehouse records them. Running it twice writes the same bytes.
func (d *DevSimulators) SimulateResponses(ctx context.Context, in activities.SimulateInput) (activities.SimulateOutput, error) {
	stop := activities.HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	qns, err := in.Questionnaires.Resolve()
	if err != nil {
		return activities.SimulateOutput{}, err
	}
	sim := &surveysim.Simulator{Seed: d.Seed, Questionnaires: map[string]*questionnaire.Questionnaire{}}
	for _, qn := range qns {
		sim.Questionnaires[qn.RespondentType] = qn
	}
	dayLen := in.DayLength
	if dayLen <= 0 {
		dayLen = 24 * time.Hour
	}
	people, first, stepSent, err := d.mailed(ctx, in.WaveID, in.ICS)
	if err != nil {
		return activities.SimulateOutput{}, err
	}
	out := activities.SimulateOutput{Invited: len(people)}
	if len(people) == 0 {
		return out, nil // nobody mailed yet: the supplier has nothing to send
	}
	start := time.Date(first.Year(), first.Month(), first.Day(), 0, 0, 0, 0, time.UTC)
	date := time.Date(in.Date.Year(), in.Date.Month(), in.Date.Day(), 0, 0, 0, 0, time.UTC)
	out.FieldworkDay = int(date.Sub(start) / (24 * time.Hour))
	if out.FieldworkDay < 0 {
		return out, nil
	}
	steps := map[string]int{}
	for step, at := range stepSent {
		steps[step] = int(at.Sub(first) / dayLen)
	}
	sum, err := sim.Day(ctx, d.Store, in.WaveID, in.ICS, date, out.FieldworkDay, people, steps)
	if err != nil {
		return out, err
	}
	out.Summary = activities.SimulatedDay(sum)
	audit.Record(ctx, "responses_simulated", map[string]any{"date": sum.Day, "fieldwork_day": out.FieldworkDay,
		"files": len(sum.Files), "patients": sum.Patients, "carers": sum.Carers, "undelivered": sum.Undelivered, "opt_outs": sum.OptOuts, "linkage_withdrawals": sum.LinkageWithdrawals})
	return out, nil
}

// mailed reads, read-only, who in the sample was sent which steps, when fieldwork
// began (the first message) and when each step first went out.
func (d *DevSimulators) mailed(ctx context.Context, wave, ics string) (people []surveysim.Person, first time.Time, stepSent map[string]time.Time, err error) {
	stepSent = map[string]time.Time{}
	err = d.Warehouse.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT s.survey_record_id, s.age_band, s.gender, s.efi_band, s.has_mobile, h.step, h.sent_at
			FROM sample s JOIN mailing_history h ON h.wave_id = s.wave_id AND h.ics = s.ics AND h.survey_record_id = s.survey_record_id
			WHERE s.wave_id = ? AND s.ics = ? AND h.result <> ?
			ORDER BY s.survey_record_id, h.sent_at, h.step`, wave, ics, schemas.ResultPermanentFailure)
		if err != nil {
			return fmt.Errorf("dev simulator: read mailings: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var p surveysim.Person
			var step string
			var at time.Time
			if err := rows.Scan(&p.SurveyRecordID, &p.AgeBand, &p.Gender, &p.EFIBand, &p.HasMobile, &step, &at); err != nil {
				return err
			}
			at = at.UTC()
			if n := len(people); n == 0 || people[n-1].SurveyRecordID != p.SurveyRecordID {
				p.Steps = []string{}
				people = append(people, p)
			}
			cur := &people[len(people)-1]
			cur.Steps = append(cur.Steps, step)
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if t, ok := stepSent[step]; !ok || at.Before(t) {
				stepSent[step] = at
			}
		}
		return rows.Err()
	})
	sort.SliceStable(people, func(i, j int) bool { return people[i].SurveyRecordID < people[j].SurveyRecordID })
	return people, first, stepSent, err
}

// Register registers d's activities on w (the dev stack's warehouse worker) under the
// names the workflows call them by.
func Register(w worker.ActivityRegistry, d *DevSimulators) {
	w.RegisterActivityWithOptions(d.SimulateResponses, activity.RegisterOptions{Name: activities.ActivitySimulateResponses})
}
