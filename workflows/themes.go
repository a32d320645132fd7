package workflows

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/themes"
)

// ThemeCodingInput starts the coding of a wave's free text (#17).
type ThemeCodingInput struct {
	WaveID string   `json:"wave_id"`
	ICS    []string `json:"ics"`
	// BatchesPerRun is how many batches of decisions one run takes before it
	// continues as new (0: DefaultThemeBatchesPerRun); the server's suggestion to
	// continue, when its history grows large, is followed sooner.
	BatchesPerRun int `json:"batches_per_run,omitempty"`
	// Continued is the state a run hands the next when it continues as new; nil
	// for the first run, which codes every ICS before it takes batches.
	Continued *ThemeCodingCarry `json:"continued,omitempty"`
}

// ThemeCodingCarry is what a coding run carries into the next: its status (counts,
// object keys and the report's figures, a few per ICS, never text) and the ids of
// the latest batches, so a batch resent across the continue-as-new is still known.
type ThemeCodingCarry struct {
	Status  ThemeCodingStatus `json:"status"`
	Batches []string          `json:"batches"` // the latest seen batch ids, oldest first, at most carriedBatchIDs
}

// DefaultThemeBatchesPerRun is how many batches one run takes before continuing as
// new: each batch adds a record, a coding run per ICS, a warehouse load and a report
// (some twenty events), so a run stays far below the history limits.
const DefaultThemeBatchesPerRun = 100

// carriedBatchIDs bounds the batch ids carried into the next run. A resend comes
// moments after its first sending (a lost reply), so the latest ids are the ones that
// matter; RecordThemeDecisions also writes a batch to the same key whatever its run.
const carriedBatchIDs = 1000

// changeThemeContinueAsNew versions the coding's loop: from version 1 a run continues
// as new after its batches (or when the server suggests it), carrying only its status
// and the latest batch ids (#17).
const changeThemeContinueAsNew = "theme-coding-continue-as-new"

// ThemeCodingICS is one ICS's coding: counts and keys of its last run.
type ThemeCodingICS struct {
	ICS  string                       `json:"ics"`
	Last *activities.CodeThemesOutput `json:"last,omitempty"`
}

// ThemeCodingStatus is what the coding workflow reports (the status query).
type ThemeCodingStatus struct {
	WaveID   string                  `json:"wave_id"`
	ICS      []ThemeCodingICS        `json:"ics"`
	Runs     int                     `json:"runs"`
	Batches  int                     `json:"batches"`
	Report   *activities.ThemeReport `json:"report,omitempty"`
	Coded    bool                    `json:"coded"` // the first run of every ICS has finished
	Finished bool                    `json:"finished"`
}

// ThemeDecisionsRequest is a batch of one coder's decisions on one ICS's comments.
type ThemeDecisionsRequest struct {
	ICS   string                `json:"ics"`
	Batch activities.ThemeBatch `json:"batch"`
}

// ThemeDecisionsResult is what a batch changed: the decisions recorded, the ICS's
// new counts and the report with the coders' kappa.
type ThemeDecisionsResult struct {
	Recorded int                         `json:"recorded"`
	ICS      activities.CodeThemesOutput `json:"ics"`
	Report   activities.ThemeReport      `json:"report"`
}

// ExportQDPXRequest asks for one ICS's REFI-QDA export for a named reader.
type ExportQDPXRequest struct {
	ICS string `json:"ics"`
	By  string `json:"by"`
}

// ProfileReportRequest asks for one profile's side-by-side report for one ICS.
type ProfileReportRequest struct {
	ICS     string `json:"ics"`
	Profile string `json:"profile"`
	PDF     bool   `json:"pdf"`
	// By is who the report is for; a report that quotes comments needs a named
	// free-text reader of the ICS (the activity checks the access file).
	By string `json:"by,omitempty"`
}

type themeRun struct {
	in       ThemeCodingInput
	status   ThemeCodingStatus
	cb       *themes.Codebook
	mu       workflow.Mutex
	seen     map[string]bool // batch ids
	seenList []string        // the same, in arrival order (carried into the next run)
	batches  int             // batches taken by this run
	finish   bool
}

// ThemeCodingWorkflow codes a wave's free text to the six integration themes: for
// each ICS the machine redacts, scores and queues the comments and writes the codes
// (response_themes) to the lake and the warehouse; then people's decisions arrive in
// batches as updates, each recorded in the lake before it is acknowledged, so nothing
// is lost if a worker dies, and each retrains the model, rewrites the ICS's codes and
// recomputes the coders' agreement. The workflow also exports coded projects and
// builds profile reports on request, and ends on the finish signal once every
// handler is done. Only keys, counts and codes enter its history, never text. After
// BatchesPerRun batches (or when the server suggests it) it drains its handlers and
// continues as new with its status and the latest batch ids, so its history stays
// bounded however long the coding lasts.
func ThemeCodingWorkflow(ctx workflow.Context, in ThemeCodingInput) (ThemeCodingStatus, error) {
	if in.WaveID == "" || len(in.ICS) == 0 {
		return ThemeCodingStatus{}, temporal.NewNonRetryableApplicationError("theme coding needs a wave and at least one ICS", string(fault.Configuration), nil)
	}
	// The codebook is embedded YAML, the same on every replay; workflowcheck flags the
	// sorted listing of versions an unknown version's error would print (a map walk).
	cb := themes.Default() //workflowcheck:ignore
	r := &themeRun{in: in, cb: cb, mu: workflow.NewMutex(ctx), seen: map[string]bool{},
		status: ThemeCodingStatus{WaveID: in.WaveID}}
	if c := in.Continued; c != nil {
		// A continued run: every ICS was coded by an earlier run.
		r.status = c.Status
		for _, id := range c.Batches {
			r.remember(id)
		}
		r.in.Continued = nil
	} else {
		for _, ics := range in.ICS {
			r.status.ICS = append(r.status.ICS, ThemeCodingICS{ICS: ics})
		}
	}
	if err := r.register(ctx); err != nil {
		return r.status, err
	}

	if in.Continued == nil {
		if err := r.mu.Lock(ctx); err != nil {
			return r.status, err
		}
		for _, ics := range in.ICS {
			if _, err := r.code(ctx, ics); err != nil {
				r.mu.Unlock()
				return r.status, err
			}
		}
		if err := r.report(ctx); err != nil {
			r.mu.Unlock()
			return r.status, err
		}
		r.status.Coded = true
		r.mu.Unlock()
	}

	if workflow.GetVersion(ctx, changeThemeContinueAsNew, workflow.DefaultVersion, 1) >= 1 {
		perRun := cmp.Or(in.BatchesPerRun, DefaultThemeBatchesPerRun)
		cont := func() bool { return r.batches >= perRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() }
		if err := workflow.Await(ctx, func() bool { return r.finish || cont() }); err != nil {
			return r.status, err
		}
		if !r.finish {
			// Batches that arrived meanwhile are taken first: every admitted update
			// completes in this run, and the next starts from their results.
			if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
				return r.status, err
			}
			if !r.finish {
				next := r.in
				next.Continued = &ThemeCodingCarry{Status: r.status, Batches: r.seenList}
				return r.status, workflow.NewContinueAsNewError(ctx, ThemeCodingWorkflow, next)
			}
		}
	} else if err := workflow.Await(ctx, func() bool { return r.finish }); err != nil {
		return r.status, err
	}
	if err := workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) }); err != nil {
		return r.status, err
	}
	r.status.Finished = true
	flushAudit(ctx, in.WaveID)
	return r.status, nil
}

func (r *themeRun) register(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, r.query); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateThemeDecisions, r.decisions,
		workflow.UpdateHandlerOptions{Validator: r.validateDecisions}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateExportQDPX, r.exportQDPX,
		workflow.UpdateHandlerOptions{Validator: r.validateExport}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateProfileReport, r.profileReport,
		workflow.UpdateHandlerOptions{Validator: r.validateProfileReport}); err != nil {
		return err
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		workflow.GetSignalChannel(ctx, SignalFinishCoding).Receive(ctx, nil)
		r.finish = true
	})
	return nil
}

func (r *themeRun) query() (ThemeCodingStatus, error) { return r.status, nil }

// remember notes a recorded batch id, keeping the latest carriedBatchIDs for the
// next run.
func (r *themeRun) remember(id string) {
	r.seen[id] = true
	r.seenList = append(r.seenList, id)
	if len(r.seenList) > carriedBatchIDs {
		delete(r.seen, r.seenList[0])
		r.seenList = r.seenList[1:]
	}
}

func (r *themeRun) knownICS(ics string) error {
	if !slices.Contains(r.in.ICS, ics) {
		return fmt.Errorf("ICS %q is not in the coding of wave %s (%v)", ics, r.in.WaveID, r.in.ICS)
	}
	return nil
}

// validateDecisions refuses a batch without a coder, with a theme or polarity the
// codebook does not have, for an ICS not in the wave, repeated, or after finishing.
func (r *themeRun) validateDecisions(ctx workflow.Context, req ThemeDecisionsRequest) error {
	if r.finish {
		return errors.New("the coding of this wave has finished")
	}
	if err := r.knownICS(req.ICS); err != nil {
		return err
	}
	if req.Batch.ID == "" {
		return errors.New("batch: id: a batch must have an id (it makes a resend harmless)")
	}
	if r.seen[req.Batch.ID] {
		return fmt.Errorf("batch %s was already recorded", req.Batch.ID)
	}
	return req.Batch.Validate(r.cb)
}

func (r *themeRun) decisions(ctx workflow.Context, req ThemeDecisionsRequest) (ThemeDecisionsResult, error) {
	var res ThemeDecisionsResult
	if err := workflow.Await(ctx, func() bool { return r.status.Coded }); err != nil {
		return res, err
	}
	if err := r.mu.Lock(ctx); err != nil {
		return res, err
	}
	defer r.mu.Unlock()
	if r.seen[req.Batch.ID] {
		return res, fmt.Errorf("batch %s was already recorded", req.Batch.ID)
	}
	batch := req.Batch
	batch.DecidedAt = workflow.Now(ctx).UTC()
	var rec activities.RecordThemeDecisionsOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)), a.RecordThemeDecisions,
		activities.RecordThemeDecisionsInput{Scope: activities.Scope{WaveID: r.in.WaveID, ICS: req.ICS}, Batch: batch}).Get(ctx, &rec); err != nil {
		return res, err
	}
	r.remember(req.Batch.ID)
	r.batches++
	r.status.Batches++
	res.Recorded = rec.Decisions
	out, err := r.code(ctx, req.ICS)
	if err != nil {
		return res, err
	}
	res.ICS = out
	if err := r.report(ctx); err != nil {
		return res, err
	}
	res.Report = *r.status.Report
	return res, nil
}

// code runs the machine over one ICS and loads its codes into the warehouse.
func (r *themeRun) code(ctx workflow.Context, ics string) (activities.CodeThemesOutput, error) {
	r.status.Runs++
	scope := activities.Scope{WaveID: r.in.WaveID, ICS: ics}
	var out activities.CodeThemesOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Long)), a.CodeThemes,
		activities.CodeThemesInput{Scope: scope, Run: r.status.Runs, At: workflow.Now(ctx).UTC()}).Get(ctx, &out); err != nil {
		return out, fmt.Errorf("code the free text of %s: %w", ics, err)
	}
	if _, err := loadIntoWarehouse(ctx, scope, out.Objects); err != nil {
		return out, err
	}
	for i := range r.status.ICS {
		if r.status.ICS[i].ICS == ics {
			last := out
			r.status.ICS[i].Last = &last
		}
	}
	return out, nil
}

func (r *themeRun) report(ctx workflow.Context) error {
	icss := append([]string(nil), r.in.ICS...)
	sort.Strings(icss)
	var rep activities.ThemeReport
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)), a.ThemesReport,
		activities.ThemesReportInput{Scope: activities.Scope{WaveID: r.in.WaveID}, ICSs: icss}).Get(ctx, &rep); err != nil {
		return fmt.Errorf("theme coding report: %w", err)
	}
	r.status.Report = &rep
	return nil
}

func (r *themeRun) validateExport(ctx workflow.Context, req ExportQDPXRequest) error {
	if strings.TrimSpace(req.By) == "" {
		return errors.New("an export must name the reader it is for (--by)")
	}
	return r.knownICS(req.ICS)
}

func (r *themeRun) exportQDPX(ctx workflow.Context, req ExportQDPXRequest) (activities.ExportQDPXOutput, error) {
	var out activities.ExportQDPXOutput
	if err := workflow.Await(ctx, func() bool { return r.status.Coded }); err != nil {
		return out, err
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)), a.ExportQDPX,
		activities.ExportQDPXInput{Scope: activities.Scope{WaveID: r.in.WaveID, ICS: req.ICS}, By: req.By, At: workflow.Now(ctx).UTC()}).Get(ctx, &out)
	return out, err
}

func (r *themeRun) validateProfileReport(ctx workflow.Context, req ProfileReportRequest) error {
	if req.Profile == "" {
		return errors.New("a profile report must name the profile (--profile)")
	}
	return r.knownICS(req.ICS)
}

func (r *themeRun) profileReport(ctx workflow.Context, req ProfileReportRequest) (activities.ProfileReportOutput, error) {
	var out activities.ProfileReportOutput
	if err := workflow.Await(ctx, func() bool { return r.status.Coded }); err != nil {
		return out, err
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)), wa.ProfileReport,
		activities.ProfileReportInput{Scope: activities.Scope{WaveID: r.in.WaveID, ICS: req.ICS}, Profile: req.Profile,
			At: workflow.Now(ctx).UTC(), PDF: req.PDF, By: req.By}).Get(ctx, &out)
	return out, err
}
