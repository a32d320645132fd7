package workflows

import (
	"fmt"
	"sort"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/fault"
)

// DailyLoadInput starts the daily response load of one wave.
type DailyLoadInput struct {
	WaveID string   `json:"wave_id"`
	ICS    []string `json:"ics"`
	// Questionnaires fielded in the wave; LocalQuestions apply to every ICS unless
	// LocalQuestionsByICS names the ICS.
	activities.Questionnaires
	LocalQuestionsByICS map[string][]string `json:"local_questions_by_ics,omitempty"`
	// Date is the load date. Zero: the day of the schedule's scheduled start time
	// (TemporalScheduledStartTime), else of the workflow's start, minus LagDays.
	Date time.Time `json:"date,omitzero"`
	// LagDays is how many days before the run's day the loaded day is, when Date is
	// zero: 1 loads yesterday's folder, complete by the time an early-morning run
	// starts.
	LagDays int `json:"lag_days,omitempty"`
	// Simulate asks the dev stack's survey-supplier simulator for the day's files first.
	// Only `ice dev` serves it.
	Simulate bool `json:"simulate,omitempty"`
	// SimDayLength is the wave's fieldwork day length, for the simulator only.
	SimDayLength time.Duration `json:"sim_day_length,omitempty"`
}

// DailyLoadICSResult is one ICS's day.
type DailyLoadICSResult struct {
	ICS       string                           `json:"ics"`
	Simulated *activities.SimulateOutput       `json:"simulated,omitempty"`
	Load      activities.LoadResponsesOutput   `json:"load"`
	Warehouse map[string]activities.LoadOutput `json:"warehouse,omitempty"` // by lake key
	Error     string                           `json:"error,omitempty"`
}

// DailyLoadResult is the outcome of one day's load.
type DailyLoadResult struct {
	WaveID string               `json:"wave_id"`
	Date   string               `json:"date"`
	ICS    []DailyLoadICSResult `json:"ics"`
	// NoFiles lists the ICSs for which no file arrived that day: recorded, not an error.
	NoFiles []string `json:"no_files,omitempty"`
}

// DailyLoadWorkflow loads one day's supplier files for every ICS of a wave: optionally
// simulate (dev only), load into the lake, then load each lake object into the
// warehouse. ICSs load in parallel, each on its own; one ICS's failure is reported
// and fails the run only after the others have finished.
func DailyLoadWorkflow(ctx workflow.Context, in DailyLoadInput) (DailyLoadResult, error) {
	if in.WaveID == "" || len(in.ICS) == 0 {
		return DailyLoadResult{}, temporal.NewNonRetryableApplicationError("a daily load needs a wave and at least one ICS", string(fault.Configuration), nil)
	}
	date := loadDate(ctx, in)
	if in.Date.IsZero() && workflow.GetVersion(ctx, changeOneLoadPerDay, workflow.DefaultVersion, 1) >= 1 {
		// Started by the schedule (its own ID per scheduled time): the day is loaded under
		// the day's one ID, the ID a backfill of that day uses, so the two never run at once.
		return loadAsTheDay(ctx, in, date)
	}
	res := DailyLoadResult{WaveID: in.WaveID, Date: date.Format(time.DateOnly), ICS: make([]DailyLoadICSResult, len(in.ICS))}

	wg := workflow.NewWaitGroup(ctx)
	for i, ics := range in.ICS {
		wg.Add(1)
		workflow.Go(ctx, func(ctx workflow.Context) {
			defer wg.Done()
			res.ICS[i] = loadICS(ctx, in, ics, date)
		})
	}
	wg.Wait(ctx)

	var failed []string
	for _, r := range res.ICS {
		if r.Error != "" {
			failed = append(failed, r.ICS+": "+r.Error)
		} else if r.Load.NoFiles {
			res.NoFiles = append(res.NoFiles, r.ICS)
		}
	}
	sort.Strings(res.NoFiles)
	flushAudit(ctx, in.WaveID)
	if len(failed) > 0 {
		return res, fmt.Errorf("daily load %s %s failed for %d of %d ICSs: %v", in.WaveID, res.Date, len(failed), len(in.ICS), failed)
	}
	return res, nil
}

// changeOneLoadPerDay versions the scheduled daily load: from version 1 a run started
// by the schedule loads its day in a child under DailyLoadWorkflowID (#13 item 6).
const changeOneLoadPerDay = "one-load-per-day"

// dayBusyWait is how long a scheduled load waits before trying again when its day is
// being loaded under the day's ID (a backfill); dayBusyTries bounds the waiting.
const (
	dayBusyWait  = 5 * time.Minute
	dayBusyTries = 144 // 12 hours
)

// loadAsTheDay runs the load of date as a child workflow with the day's one ID. If a
// load of that day is running (started by hand), it waits for it to end and then loads
// the day again, which changes nothing that load did but catches files that came since.
func loadAsTheDay(ctx workflow.Context, in DailyLoadInput, date time.Time) (DailyLoadResult, error) {
	day := in
	day.Date = date
	id := DailyLoadWorkflowID(in.WaveID, date)
	for try := 1; ; try++ {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			TaskQueue:             activities.TaskQueue,
			TypedSearchAttributes: temporal.NewSearchAttributes(SAWaveID.ValueSet(in.WaveID), SAICS.ValueSet(in.ICS)),
		})
		child := workflow.ExecuteChildWorkflow(cctx, DailyLoadWorkflow, day)
		err := child.GetChildWorkflowExecution().Get(ctx, nil)
		if temporal.IsWorkflowExecutionAlreadyStartedError(err) && try < dayBusyTries {
			if err := workflow.Sleep(ctx, dayBusyWait); err != nil {
				return DailyLoadResult{}, err
			}
			continue
		}
		if err != nil {
			return DailyLoadResult{WaveID: in.WaveID, Date: date.Format(time.DateOnly)}, fmt.Errorf("start the load of %s as %s: %w", date.Format(time.DateOnly), id, err)
		}
		var res DailyLoadResult
		err = child.Get(ctx, &res)
		return res, err
	}
}

// loadDate is the day to load, at midnight UTC (the landing folders are UTC dates).
func loadDate(ctx workflow.Context, in DailyLoadInput) time.Time {
	d := in.Date
	if d.IsZero() {
		if at, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(SAScheduledStartTime); ok && !at.IsZero() {
			d = at
		} else {
			d = workflow.Now(ctx)
		}
		d = d.UTC().AddDate(0, 0, -in.LagDays)
	}
	d = d.UTC()
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
}

func loadICS(ctx workflow.Context, in DailyLoadInput, ics string, date time.Time) DailyLoadICSResult {
	r := DailyLoadICSResult{ICS: ics}
	scope := activities.Scope{WaveID: in.WaveID, ICS: ics}
	qs := in.Questionnaires
	if local, ok := in.LocalQuestionsByICS[ics]; ok {
		qs.LocalQuestions = local
	}
	fail := func(what string, err error) DailyLoadICSResult {
		// The cause once, with its kind (whether a retry can fix it) and activity.
		r.Error = what + ": " + activities.FailureText(err)
		return r
	}

	if in.Simulate {
		var sim activities.SimulateOutput
		// The simulator reads the warehouse, so it runs on the dev stack's warehouse
		// queue; only the dev stack registers it, by name (sim/devsim).
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Simulator)), activities.ActivitySimulateResponses,
			activities.SimulateInput{Scope: scope, Questionnaires: qs, Date: date, DayLength: in.SimDayLength}).Get(ctx, &sim); err != nil {
			return fail("simulate", err)
		}
		r.Simulated = &sim
	}

	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Long)), a.LoadResponses,
		activities.LoadResponsesInput{Scope: scope, Questionnaires: qs, Date: date}).Get(ctx, &r.Load); err != nil {
		return fail("load responses", err)
	}
	if len(r.Load.Objects) == 0 {
		return r
	}
	// The day's objects go into the warehouse together, in one transaction: analysts
	// never see a day's responses without its duplicates and outcomes.
	out, err := loadIntoWarehouse(ctx, scope, r.Load.Objects)
	if err != nil {
		return fail("load the day's lake objects into the warehouse", err)
	}
	r.Warehouse = out.ByKey
	return r
}
