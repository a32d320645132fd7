package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/mailing"
	"icesurvey/wavespec"
)

// ICSInput starts one ICS's fieldwork.
type ICSInput struct {
	Spec wavespec.Spec `json:"spec"`
	ICS  string        `json:"ics"`
}

// ICSResult is how an ICS's fieldwork ended.
type ICSResult struct {
	Status ICSStatus `json:"status"`
}

var (
	a  *activities.Activities
	wa *activities.WarehouseActivities
)

// icsRun is the state of one ICS workflow execution.
type icsRun struct {
	in         ICSInput
	spec       wavespec.Spec
	ics        wavespec.ICS
	status     ICSStatus
	intake     *activities.IntakeOutput
	wake       bool // a signal or update changed something a wait depends on
	revalidate bool
	retryDBS   bool
	dueDay     map[string]int
	// optOuts counts late opt-outs recorded; optOutsInFlight those being recorded. A
	// mailing re-selects when one lands between its selection and its send.
	optOuts         int
	optOutsInFlight int
}

// ICSWorkflow runs one ICS's fieldwork: intake, declaration, a deceased check before
// every letter, the mailings on their timers, close, and the deletion of identifiable
// data after the retention period.
func ICSWorkflow(ctx workflow.Context, in ICSInput) (ICSResult, error) {
	r := &icsRun{in: in, spec: in.Spec, dueDay: map[string]int{}}
	for _, c := range in.Spec.ICSs {
		if c.Code == in.ICS {
			r.ics = c
		}
	}
	if r.ics.Code == "" {
		return ICSResult{}, temporal.NewNonRetryableApplicationError("ICS "+in.ICS+" is not in the wave spec", activities.ErrConfiguration, nil)
	}
	r.status = ICSStatus{WaveID: in.Spec.WaveID, ICS: in.ICS, StartedAt: workflow.Now(ctx).UTC()}
	for _, s := range in.Spec.Schedule.Steps {
		r.dueDay[s.Name] = s.Day
		r.status.Mailings = append(r.status.Mailings, MailingStatus{Step: s.Name, Channel: s.Channel, Day: s.Day, State: "scheduled"})
	}
	if err := r.handlers(ctx); err != nil {
		return ICSResult{}, err
	}

	if err := r.intakeAndDeclare(ctx); err != nil {
		return r.result(), err
	}
	start := workflow.Now(ctx)
	for i := range r.spec.Schedule.Steps {
		if err := r.mail(ctx, start, i); err != nil {
			return r.result(), err
		}
	}
	if err := r.close(ctx, start); err != nil {
		return r.result(), err
	}
	return r.result(), nil
}

func (r *icsRun) result() ICSResult { return ICSResult{Status: r.status} }

func (r *icsRun) scope() activities.Scope {
	return activities.Scope{WaveID: r.spec.WaveID, ICS: r.in.ICS}
}

func (r *icsRun) setStage(ctx workflow.Context, stage, waitingOn string) {
	r.status.Stage = stage
	r.status.WaitingOn = waitingOn
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(stage))
}

func (r *icsRun) handlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, func() (ICSStatus, error) { return r.status, nil }); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDeclare,
		func(ctx workflow.Context, req DeclareRequest) (DeclarationState, error) {
			d := DeclarationState{By: req.By, At: workflow.Now(ctx).UTC()}
			r.status.Declaration = &d
			r.wake = true
			return d, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req DeclareRequest) error {
			switch {
			case req.By == "":
				return errors.New("the declaration must name who signs it (--by)")
			case r.status.Declaration != nil:
				return fmt.Errorf("the sample for %s was already declared by %s", r.in.ICS, r.status.Declaration.By)
			case r.status.IntakeError != "":
				return fmt.Errorf("intake failed for %s: %s; replace the file and revalidate first", r.in.ICS, r.status.IntakeError)
			case r.intake == nil || r.status.Stage != StageDeclaration:
				return fmt.Errorf("intake for %s has not finished (stage %s)", r.in.ICS, r.status.Stage)
			case r.intake.Shortfall:
				return fmt.Errorf("the eligible sample for %s is short: %d accepted, %d needed", r.in.ICS, r.intake.Accepted, r.intake.MinEligible)
			}
			return nil
		}}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateMove,
		func(ctx workflow.Context, req MoveRequest) (MailingStatus, error) {
			r.dueDay[req.Step] = req.Day
			for i := range r.status.Mailings {
				if r.status.Mailings[i].Step == req.Step {
					r.status.Mailings[i].Day = req.Day
					r.wake = true
					return r.status.Mailings[i], nil
				}
			}
			return MailingStatus{}, fmt.Errorf("no mailing step %q", req.Step)
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req MoveRequest) error {
			ms := r.status.Mailings
			for i, m := range ms {
				if m.Step != req.Step {
					continue
				}
				if m.State != "scheduled" {
					return fmt.Errorf("mailing %s is already %s and cannot be moved", req.Step, m.State)
				}
				if req.Day < 0 || req.Day >= r.spec.Schedule.FieldworkDays {
					return fmt.Errorf("day %d is outside fieldwork (0..%d)", req.Day, r.spec.Schedule.FieldworkDays-1)
				}
				// Steps go out in schedule order, so a move past a neighbour would silently
				// hold that neighbour back: refuse it and say which to move first.
				if i > 0 && req.Day < ms[i-1].Day {
					return fmt.Errorf("day %d is before %s (day %d): steps go out in order", req.Day, ms[i-1].Step, ms[i-1].Day)
				}
				if i+1 < len(ms) && req.Day > ms[i+1].Day {
					return fmt.Errorf("day %d is after %s (day %d): move that step first", req.Day, ms[i+1].Step, ms[i+1].Day)
				}
				return nil
			}
			return fmt.Errorf("no mailing step %q in the schedule", req.Step)
		}}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateOptOut,
		func(ctx workflow.Context, req OptOutRequest) (string, error) {
			r.optOutsInFlight++
			defer func() { r.optOutsInFlight-- }()
			var out activities.OptOutOutput
			err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)),
				a.RecordOptOut, activities.OptOutInput{Scope: r.scope(), SurveyRecordID: req.SurveyRecordID,
					AccessCode: req.AccessCode, Reason: req.Reason}).Get(ctx, &out)
			if err != nil {
				return "", err
			}
			if err := r.load(ctx, "outcome_events", out.OutcomesKey); err != nil {
				return "", err
			}
			r.status.LateOptOuts++
			r.optOuts++
			return out.SurveyRecordID, nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, req OptOutRequest) error {
			switch {
			case req.SurveyRecordID == "" && req.AccessCode == "":
				return errors.New("name the person by --record (survey record ID) or --access-code")
			case r.status.Declaration == nil:
				return errors.New("the sample is not declared yet: correct the sample file instead")
			case r.status.Stage == StageClosing || r.status.Stage == StageRetention || r.status.Stage == StageDone:
				return fmt.Errorf("fieldwork for %s has closed (stage %s)", r.in.ICS, r.status.Stage)
			}
			return nil
		}}); err != nil {
		return err
	}
	pause := workflow.GetSignalChannel(ctx, SignalPause)
	resume := workflow.GetSignalChannel(ctx, SignalResume)
	reval := workflow.GetSignalChannel(ctx, SignalRevalidate)
	retry := workflow.GetSignalChannel(ctx, SignalRetryDBS)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			sel := workflow.NewSelector(ctx)
			sel.AddReceive(pause, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.status.Paused = true; r.wake = true })
			sel.AddReceive(resume, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.status.Paused = false; r.wake = true })
			sel.AddReceive(reval, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.revalidate = true; r.wake = true })
			sel.AddReceive(retry, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); r.retryDBS = true; r.wake = true })
			sel.Select(ctx)
		}
	})
	return nil
}

// intakeAndDeclare validates the files and waits for the declaration; a file replaced
// (revalidate signal) before the declaration is validated again.
func (r *icsRun) intakeAndDeclare(ctx workflow.Context) error {
	for {
		r.setStage(ctx, StageIntake, "")
		r.revalidate = false
		var out activities.IntakeOutput
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Long)),
			a.Intake, activities.IntakeInput{
				Scope: r.scope(), SampleFile: r.ics.SampleFile, MailingFile: r.ics.MailingFile,
				SamplingDate: r.spec.SamplingDate.Time, MinEligible: r.spec.MinEligible,
			}).Get(ctx, &out)
		runs := 1
		if r.status.Intake != nil {
			runs = r.status.Intake.Runs + 1
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrBadInput {
			r.intake = nil
			r.status.IntakeError = appErr.Message()
			r.status.Intake = &IntakeStatus{Runs: runs}
			r.setStage(ctx, StageIntakeFailed, "a corrected file and `ice wave revalidate`")
			r.flushAudit(ctx)
			if err := workflow.Await(ctx, func() bool { return r.revalidate }); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("intake: %w", err)
		}
		r.intake = &out
		r.status.IntakeError = ""
		r.status.Intake = &IntakeStatus{RowsRead: out.RowsRead, Accepted: out.Accepted, Excluded: out.Excluded,
			Rejected: out.Rejected, NoSMS: out.NoSMS, Shortfall: out.Shortfall, ByReason: out.ByReason,
			ReportKey: out.ReportKey, Runs: runs}
		if err := r.load(ctx, "sample", out.SampleKey); err != nil {
			return err
		}
		waiting := "the sample declaration (`ice wave declare " + r.spec.WaveID + " --ics " + r.in.ICS + " --by NAME`)"
		if out.Shortfall {
			waiting = fmt.Sprintf("a larger sample: %d eligible, %d needed (replace the files and revalidate)", out.Accepted, out.MinEligible)
		}
		r.setStage(ctx, StageDeclaration, waiting)
		r.flushAudit(ctx)
		if err := workflow.Await(ctx, func() bool { return r.status.Declaration != nil || r.revalidate }); err != nil {
			return err
		}
		if r.status.Declaration == nil {
			continue // a file was replaced: validate again
		}
		d := r.status.Declaration
		return workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)),
			a.RecordDeclaration, activities.DeclarationInput{Scope: r.scope(), By: d.By, At: d.At,
				SampleKey: out.SampleKey, Accepted: out.Accepted}).Get(ctx, nil)
	}
}

// mail waits until step i is due (and the wave is not paused), then sends it.
func (r *icsRun) mail(ctx workflow.Context, start time.Time, i int) error {
	step := r.spec.Schedule.Steps[i]
	ms := &r.status.Mailings[i]
	dayLen := r.spec.DayLength.D()
	for {
		due := start.Add(time.Duration(r.dueDay[step.Name]) * dayLen)
		ms.DueAt = due.UTC()
		now := workflow.Now(ctx)
		if !now.Before(due) && !r.status.Paused {
			break
		}
		if r.status.Paused {
			r.setStage(ctx, StageFieldwork, "resume (the wave is paused)")
		} else {
			r.setStage(ctx, StageFieldwork, fmt.Sprintf("%s due on day %d", step.Name, r.dueDay[step.Name]))
		}
		r.wake = false
		wait := due.Sub(now)
		if r.status.Paused {
			wait = 0
		}
		var err error
		if wait > 0 {
			_, err = workflow.AwaitWithTimeout(ctx, wait, func() bool { return r.wake })
		} else {
			err = workflow.Await(ctx, func() bool { return r.wake })
		}
		if err != nil {
			return err
		}
	}

	r.setStage(ctx, StageMailing, step.Name)
	ms.State = "selecting"
	seen := r.optOuts
	sel, err := r.selectRecipients(ctx, step, "due")
	if err != nil {
		return err
	}
	if step.Channel == mailing.ChannelLetter && sel.Count > 0 {
		// No letter goes to someone who has died: a fresh check of exactly these people.
		ms.State = "checking"
		if err := r.deceasedCheck(ctx, step.Name, sel.Key); err != nil {
			return err
		}
		if sel, err = r.selectRecipients(ctx, step, "checked"); err != nil {
			return err
		}
	}
	// An opt-out accepted before the send starts must win: wait for any being recorded,
	// and choose again if one landed after the selection.
	for round := 1; ; round++ {
		if err := workflow.Await(ctx, func() bool { return r.optOutsInFlight == 0 }); err != nil {
			return err
		}
		if r.optOuts == seen {
			break
		}
		seen = r.optOuts
		if sel, err = r.selectRecipients(ctx, step, fmt.Sprintf("opt-out-%d", round)); err != nil {
			return err
		}
	}
	ms.Selected = sel.Count
	ms.State = "sending"
	var out activities.SendOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Long)),
		a.SendMailing, activities.SendInput{Scope: r.scope(), Step: step, SelectionKey: sel.Key,
			SurveyURL: r.spec.SurveyURL}).Get(ctx, &out); err != nil {
		return fmt.Errorf("send %s: %w", step.Name, err)
	}
	if err := r.load(ctx, "mailing_history", out.HistoryKey); err != nil {
		return err
	}
	ms.Sent = out.Sent + out.AlreadySent
	ms.Failed = out.Failed
	ms.SentAt = workflow.Now(ctx).UTC()
	ms.State = "sent"
	r.flushAudit(ctx)
	return nil
}

func (r *icsRun) selectRecipients(ctx workflow.Context, step mailing.Step, round string) (activities.SelectOutput, error) {
	var sel activities.SelectOutput
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.SelectRecipients, activities.SelectInput{Scope: r.scope(), Step: step.Name, Channel: step.Channel, Round: round}).Get(ctx, &sel)
	if err != nil {
		return sel, fmt.Errorf("select recipients for %s: %w", step.Name, err)
	}
	return sel, nil
}

// deceasedCheck sends a DBS request for a selection and waits durably for the reply.
// The wait is an activity retried on a fixed interval, so no worker slot is held and the
// history does not grow however long the reply takes; past the deadline the status says
// the reply is overdue, and the mailing keeps waiting.
func (r *icsRun) deceasedCheck(ctx workflow.Context, step, selectionKey string) error {
	for attempt := 1; ; attempt++ {
		requestID := fmt.Sprintf("%s-%s-%s-%d", r.spec.WaveID, r.in.ICS, step, attempt)
		r.setStage(ctx, StageDBS, "the DBS reply to "+requestID)
		st := DBSStatus{RequestID: requestID, ForStep: step, SentAt: workflow.Now(ctx).UTC()}
		r.status.DBS = append(r.status.DBS, st)
		cur := &r.status.DBS[len(r.status.DBS)-1]
		var sub activities.DBSSubmitOutput
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Network)),
			a.SubmitDBS, activities.DBSSubmitInput{Scope: r.scope(), RequestID: requestID, SelectionKey: selectionKey}).Get(ctx, &sub); err != nil {
			return fmt.Errorf("submit DBS request %s: %w", requestID, err)
		}
		cur.Sent = sub.Sent

		poll := r.spec.DBS.PollEvery.D()
		opts := activities.Options(activities.Network)
		opts.StartToCloseTimeout = 2 * time.Minute
		opts.HeartbeatTimeout = 0
		opts.RetryPolicy.InitialInterval = poll
		opts.RetryPolicy.BackoffCoefficient = 1
		opts.RetryPolicy.MaximumInterval = poll
		collect := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), a.CollectDBS,
			activities.DBSCollectInput{Scope: r.scope(), RequestID: requestID})
		tctx, cancelDeadline := workflow.WithCancel(ctx)
		deadline := workflow.NewTimer(tctx, r.spec.DBS.ReplyDeadline.D())
		var out activities.DBSCollectOutput
		var collectErr error
		done := false
		// One selector: it fires each future once, so a deadline that has passed is not
		// selected again while the reply is still awaited.
		sel := workflow.NewSelector(ctx)
		sel.AddFuture(collect, func(f workflow.Future) { collectErr = f.Get(ctx, &out); done = true })
		sel.AddFuture(deadline, func(f workflow.Future) {
			if f.Get(ctx, nil) != nil {
				return // cancelled because the reply came
			}
			cur.Overdue = true
			r.setStage(ctx, StageDBS, "the DBS reply to "+requestID+", now OVERDUE: the mailing waits")
		})
		for !done {
			sel.Select(ctx)
		}
		cancelDeadline()
		var appErr *temporal.ApplicationError
		if errors.As(collectErr, &appErr) && appErr.Type() == activities.ErrReplyMismatch {
			cur.Rejected = appErr.Message()
			r.setStage(ctx, StageDBS, "a valid DBS reply: "+requestID+" was rejected ("+appErr.Message()+"); `ice wave retry-dbs` sends a new request")
			r.retryDBS = false
			r.flushAudit(ctx)
			if err := workflow.Await(ctx, func() bool { return r.retryDBS }); err != nil {
				return err
			}
			continue
		}
		if collectErr != nil {
			return fmt.Errorf("collect DBS reply %s: %w", requestID, collectErr)
		}
		cur.Replied = true
		cur.Matched, cur.Deceased, cur.Superseded = out.Matched, out.Deceased, out.Superseded
		cur.Unmatched, cur.Multiple, cur.CrossCheckFailed = out.Unmatched, out.Multiple, out.CrossCheckFailed
		if out.OutcomesKey != "" {
			if err := r.load(ctx, "outcome_events", out.OutcomesKey); err != nil {
				return err
			}
		}
		if out.SampleKey != "" {
			if err := r.load(ctx, "sample", out.SampleKey); err != nil {
				return err
			}
		}
		return nil
	}
}

func (r *icsRun) close(ctx workflow.Context, start time.Time) error {
	closeAt := start.Add(time.Duration(r.spec.Schedule.FieldworkDays) * r.spec.DayLength.D())
	r.setStage(ctx, StageFieldwork, fmt.Sprintf("fieldwork to close on day %d", r.spec.Schedule.FieldworkDays))
	if d := closeAt.Sub(workflow.Now(ctx)); d > 0 {
		if err := workflow.Sleep(ctx, d); err != nil {
			return err
		}
	}
	r.setStage(ctx, StageClosing, "")
	var out activities.CloseOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.CloseFieldwork, r.scope()).Get(ctx, &out); err != nil {
		return fmt.Errorf("close fieldwork: %w", err)
	}
	r.status.Outcomes = out.Outcomes
	r.flushAudit(ctx)

	r.setStage(ctx, StageRetention, fmt.Sprintf("deletion of identifiable mailing data %d days after close", r.spec.RetentionDays))
	if err := workflow.Sleep(ctx, time.Duration(r.spec.RetentionDays)*r.spec.DayLength.D()); err != nil {
		return err
	}
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)),
		a.DeleteRestricted, r.scope()).Get(ctx, nil); err != nil {
		return fmt.Errorf("delete identifiable data: %w", err)
	}
	r.setStage(ctx, StageDone, "")
	r.flushAudit(ctx)
	return nil
}

func (r *icsRun) load(ctx workflow.Context, table, key string) error {
	if key == "" {
		return nil
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.LoadLakeObject, activities.LoadInput{Scope: r.scope(), Table: table, Key: key}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("load %s into the warehouse: %w", table, err)
	}
	return nil
}

// flushAudit compacts the wave's audit trail into the lake and the warehouse. A failure
// here never stops fieldwork: the events stay pending and the next flush takes them.
func (r *icsRun) flushAudit(ctx workflow.Context) {
	_ = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.FlushAudit, activities.FlushAuditInput{Scope: activities.Scope{WaveID: r.spec.WaveID}}).Get(ctx, nil)
}
