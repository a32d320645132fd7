package workflows

import (
	"fmt"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/wavespec"
)

// WaveResult summarises a finished wave.
type WaveResult struct {
	Status WaveStatus           `json:"status"`
	ICS    map[string]ICSStatus `json:"ics"`
}

// ICSInputs derives each ICS's input from a wave spec, in spec order.
func ICSInputs(spec wavespec.Spec) []ICSInput {
	out := make([]ICSInput, len(spec.ICSs))
	for i, ics := range spec.ICSs {
		out[i] = ICSInput{
			WaveID: spec.WaveID, ICS: ics.Code, SampleFile: ics.SampleFile, MailingFile: ics.MailingFile,
			SamplingDate: spec.SamplingDate.Time, MinEligible: spec.MinEligible, DayLength: spec.DayLength.D(),
			Steps: spec.Schedule.Steps, FieldworkDays: spec.Schedule.FieldworkDays, FinalLoadDays: spec.Schedule.FinalLoadDays, SurveyURL: spec.SurveyURL,
			RetentionDays: spec.RetentionDays, DBSPollEvery: spec.DBS.PollEvery.D(), DBSReplyDeadline: spec.DBS.ReplyDeadline.D(),
			SMSHours: spec.Schedule.SMSHours,
		}
	}
	return out
}

// waveRun is the state of one wave workflow execution.
type waveRun struct {
	status WaveStatus
}

// WaveWorkflow runs a fieldwork wave: one child workflow per ICS, so one ICS's failure
// never stops another. Pause and resume reach every ICS through it. It ends when every
// ICS has closed fieldwork (each has then started its own retention workflow).
func WaveWorkflow(ctx workflow.Context, spec wavespec.Spec) (WaveResult, error) {
	w := &waveRun{status: WaveStatus{WaveID: spec.WaveID, Stage: WaveFieldwork}}
	res := WaveResult{ICS: map[string]ICSStatus{}}
	if err := workflow.SetQueryHandler(ctx, QueryStatus, w.query); err != nil {
		return res, err
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(string(w.status.Stage)))

	type child struct {
		idx    int
		future workflow.ChildWorkflowFuture
	}
	var children []child
	for i, in := range ICSInputs(spec) {
		id := ICSWorkflowID(spec.WaveID, in.ICS)
		w.status.ICS = append(w.status.ICS, WaveICSStatus{ICS: in.ICS, WorkflowID: id})
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:        id,
			TaskQueue:         activities.TaskQueue,
			ParentClosePolicy: enums.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				SAWaveID.ValueSet(spec.WaveID), SAICS.ValueSet([]string{in.ICS}), SAStage.ValueSet(string(StageIntake))),
		})
		children = append(children, child{idx: i, future: workflow.ExecuteChildWorkflow(cctx, ICSWorkflow, in)})
	}
	workflow.Go(ctx, w.forwardSignals)

	pending := len(children)
	sel := workflow.NewSelector(ctx)
	for _, c := range children {
		sel.AddFuture(c.future, func(f workflow.Future) {
			var out ICSResult
			err := f.Get(ctx, &out)
			w.status.ICS[c.idx].Done = true
			if err != nil {
				// The deepest classified cause, once, with its kind and activity, not
				// the chain of every wrapper (activities.FailureText).
				w.status.ICS[c.idx].Error = activities.FailureText(err)
			} else {
				res.ICS[spec.ICSs[c.idx].Code] = out.Status
			}
			pending--
		})
	}
	for pending > 0 {
		sel.Select(ctx)
		if ctx.Err() != nil {
			break
		}
	}
	w.status.Stage = WaveCompleted
	for _, c := range w.status.ICS {
		if c.Error != "" {
			w.status.Stage = WaveCompletedWithFailures
		}
	}
	if ctx.Err() != nil {
		w.status.Stage = WaveCancelled
	}
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(string(w.status.Stage)))
	// Every ICS has closed: the draft of the wave's published comparable data starts
	// (issue #14). Versioned, as waves recorded before it end without this child.
	if workflow.GetVersion(ctx, "auto-publication", workflow.DefaultVersion, 1) == 1 && ctx.Err() == nil && len(res.ICS) > 0 {
		// An ICS whose fieldwork ended early (cancelled, or failed) has partial figures,
		// not comparable ones: the draft leaves it out (a later release may take it in).
		var endedEarly []string
		for _, c := range w.status.ICS {
			if c.Error != "" {
				endedEarly = append(endedEarly, c.ICS)
			}
		}
		w.startPublication(ctx, spec.WaveID, endedEarly, spec.Publication)
	}
	fctx, cancel := workflow.NewDisconnectedContext(ctx)
	defer cancel()
	flushAudit(fctx, spec.WaveID)
	res.Status = w.status
	if ctx.Err() != nil {
		return res, temporal.NewCanceledError()
	}
	return res, nil
}

func (w *waveRun) query() (WaveStatus, error) { return w.status, nil }

// forwardSignals passes the operator's pause and resume on to every ICS still running.
func (w *waveRun) forwardSignals(ctx workflow.Context) {
	pause := workflow.GetSignalChannel(ctx, SignalPause)
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	for {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(pause, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			w.onPauseOrResume(ctx, SignalPause, true)
		})
		sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			w.onPauseOrResume(ctx, SignalResume, false)
		})
		sel.Select(ctx)
	}
}

// onPauseOrResume records the wave's pause and signals it to each running ICS.
func (w *waveRun) onPauseOrResume(ctx workflow.Context, signal string, paused bool) {
	w.status.Paused = paused
	for _, c := range w.status.ICS {
		if !c.Done {
			_ = workflow.SignalExternalWorkflow(ctx, c.WorkflowID, "", signal, nil).Get(ctx, nil)
		}
	}
}

// startPublication starts the draft of the wave's first release (PublicationWorkflow,
// abandoned: it waits for a person's sign-off, which the wave does not). One already
// started (`ice publish` before the wave ended) is left to run. A failure to start is
// reported in the status, never fails the wave: `ice publish --wave W` starts it too.
// params are the spec's publication parameters (nil: the defaults).
func (w *waveRun) startPublication(ctx workflow.Context, wave string, exclude []string, params *activities.ReleaseParams) {
	id := PublicationWorkflowID(wave, FirstReleaseID)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            id,
		TaskQueue:             activities.TaskQueue,
		ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(SAWaveID.ValueSet(wave)),
	})
	in := PublicationInput{WaveID: wave, ReleaseID: FirstReleaseID, Exclude: exclude, Params: params}
	if len(exclude) > 0 {
		in.ExcludeReason = "its fieldwork ended early (cancelled or failed), so its figures are partial; a later release may take it in"
	}
	child := workflow.ExecuteChildWorkflow(cctx, PublicationWorkflow, in)
	err := child.GetChildWorkflowExecution().Get(ctx, nil)
	switch {
	case err == nil || temporal.IsWorkflowExecutionAlreadyStartedError(err):
		w.status.Publication = id
	default:
		w.status.PublicationError = fmt.Sprintf("start %s: %v (start it with `ice publish --wave %s`)", id, err, wave)
	}
}
