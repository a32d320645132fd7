package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"icesurvey/activities"
	"icesurvey/fault"
	"icesurvey/mailing"
	"icesurvey/schemas"
)

// ICSInput is what one ICS's fieldwork needs, fixed when it starts. It is declared for
// the workflow, not read from the wave spec's YAML, so the spec's file format can change
// without changing a running workflow's input (WaveWorkflow derives it: ICSInputs).
type ICSInput struct {
	WaveID string `json:"wave_id"`
	ICS    string `json:"ics"`
	// SampleFile and MailingFile are the store keys of the ICS's two files.
	SampleFile   string    `json:"sample_file"`
	MailingFile  string    `json:"mailing_file"`
	SamplingDate time.Time `json:"sampling_date"`
	MinEligible  int       `json:"min_eligible"`
	// DayLength is one fieldwork day on the workflow's clock (24h, seconds in a demo).
	DayLength time.Duration `json:"day_length"`
	// Steps are the mailing steps in the order they go out; fieldwork closes on day
	// FieldworkDays.
	Steps         []mailing.Step `json:"steps"`
	FieldworkDays int            `json:"fieldwork_days"`
	// FinalLoadDays after the close, the closing record is taken: the daily loads of
	// the supplier's last files come first (zero: at the close).
	FinalLoadDays int    `json:"final_load_days,omitempty"`
	SurveyURL     string `json:"survey_url"`
	// RetentionDays after close, the identifiable mailing data is deleted.
	RetentionDays int `json:"retention_days"`
	// DBSPollEvery is how often the DBS reply is looked for (wall clock); past
	// DBSReplyDeadline an unanswered request is reported overdue.
	DBSPollEvery     time.Duration `json:"dbs_poll_every"`
	DBSReplyDeadline time.Duration `json:"dbs_reply_deadline"`
	// SMSHours is the window of England's clock the SMS steps are sent in
	// (mailing.ParseSendingHours), on a 24h DayLength only (mailing.HoursApply); empty
	// (an execution started before it existed): mailing.DefaultSMSHours, for its SMS
	// steps sent since (changeSMSSendingHours).
	SMSHours string `json:"sms_hours,omitempty"`
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
	// optOutMu records the late opt-outs one at a time (changeOptOutsOneAtATime).
	optOutMu workflow.Mutex
	// dbsAttempts is the last DBS request attempt of each step, so a step checked again
	// (after the wait for the SMS sending hours) sends a request of a new id.
	dbsAttempts map[string]int
	// closeAt is when fieldwork closes (day FieldworkDays, from day 0: dayZero moves
	// it); with closeOnDay (changeCloseOnItsDay) nothing the mailings wait for holds it
	// back.
	closeAt    time.Time
	closeOnDay bool
	// retentionFrom, when set, is when the retention period starts (the close,
	// changeRetentionFromClose); unset, it starts when the retention workflow does (the
	// closing record, or the failure or cancellation of the ICS).
	retentionFrom time.Time
	// smsHours is the window the SMS steps are sent in (changeSMSSendingHours); the
	// zero window when none applies (the wave runs in compressed days).
	smsHours mailing.SendingHours
}

// errFieldworkClosed: the close day came before a mailing step went out
// (changeCloseOnItsDay); it is not sent.
var errFieldworkClosed = errors.New("fieldwork closed before the step went out")

// ICSWorkflow runs one ICS's fieldwork: intake, declaration, a deceased check before
// every letter, the mailings on their timers, and close. At close (or when it is
// cancelled or fails) it starts the deletion of the identifiable data after the
// retention period (RetentionWorkflow) and ends: a wave's execution lasts its
// fieldwork, not its retention.
func ICSWorkflow(ctx workflow.Context, in ICSInput) (ICSResult, error) {
	if in.WaveID == "" || in.ICS == "" || len(in.Steps) == 0 {
		return ICSResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("ICS workflow input names no wave, ICS or mailing steps (%q, %q)", in.WaveID, in.ICS), string(fault.Configuration), nil)
	}
	r := &icsRun{in: in, dueDay: map[string]int{}, optOutMu: workflow.NewMutex(ctx), dbsAttempts: map[string]int{}}
	if mailing.HoursApply(in.DayLength) {
		hours := in.SMSHours
		if hours == "" {
			hours = mailing.DefaultSMSHours // started before sms_hours: its texts are no less at night
		}
		h, err := mailing.ParseSendingHours(hours)
		if err != nil {
			return ICSResult{}, temporal.NewNonRetryableApplicationError(
				"ICS workflow input: sms_hours "+err.Error(), string(fault.Configuration), nil)
		}
		r.smsHours = h
	}
	r.status = ICSStatus{WaveID: in.WaveID, ICS: in.ICS, StartedAt: workflow.Now(ctx).UTC()}
	for _, s := range in.Steps {
		r.dueDay[s.Name] = s.Day
		r.status.Mailings = append(r.status.Mailings, MailingStatus{Step: s.Name, Channel: s.Channel, Day: s.Day, State: MailingScheduled})
	}
	if err := r.registerHandlers(ctx); err != nil {
		return ICSResult{}, err
	}
	err := r.run(ctx)
	if err != nil && r.status.Retention == nil {
		// Cancelled or failed: the files it sent and whatever identifiable data it made
		// are deleted after the retention period all the same. (A failed run reset to
		// carry on finds the retention started, and it deletes on its own timer: reset
		// within the retention period, or start the wave again.)
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		change := versionRetentionOnFailure
		if ctx.Err() != nil {
			change = versionRetentionOnCancel
		}
		if workflow.GetVersion(dctx, change, workflow.DefaultVersion, 1) == 1 {
			if rerr := r.startRetention(dctx); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
		if workflow.GetVersion(dctx, versionEndedEarlyRecorded, workflow.DefaultVersion, 1) == 1 {
			in := activities.EndedEarlyInput{Scope: r.scope(), Cancelled: ctx.Err() != nil, Reason: "cancelled"}
			if !in.Cancelled {
				in.Reason = activities.FailureText(err)
			}
			// A record that cannot be written must not hide why the ICS ended.
			if rerr := workflow.ExecuteActivity(workflow.WithActivityOptions(dctx, activities.Options(activities.Storage)),
				a.RecordFieldworkEndedEarly, in).Get(dctx, nil); rerr != nil {
				workflow.GetLogger(dctx).Warn("the record that the ICS ended early was not written", "error", rerr)
			}
			r.flushAudit(dctx)
		}
	}
	if ctx.Err() == nil {
		// An update still running (an opt-out being recorded) finishes before the run
		// ends, so its caller gets its answer.
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}
	return ICSResult{Status: r.status}, err
}

// run is the story.
func (r *icsRun) run(ctx workflow.Context) error {
	if err := r.intakeAndDeclare(ctx); err != nil {
		return err
	}
	start := workflow.Now(ctx)
	r.closeAt = start.Add(time.Duration(r.in.FieldworkDays) * r.in.DayLength)
	r.closeOnDay = workflow.GetVersion(ctx, changeCloseOnItsDay, workflow.DefaultVersion, 1) >= 1
	dayZeroIsTheInvitation := workflow.GetVersion(ctx, changeDayZeroIsTheInvitation, workflow.DefaultVersion, 1) >= 1
	for i := range r.in.Steps {
		err := r.mail(ctx, start, i)
		if errors.Is(err, errFieldworkClosed) {
			r.notSent(i, NotSentFieldworkClosed)
			break
		}
		if err != nil {
			return err
		}
		if i == 0 && dayZeroIsTheInvitation {
			start = r.dayZero(start)
		}
	}
	return r.close(ctx)
}

// dayZero is the day the schedule's days count from once its first step (the
// invitation) has gone out (changeDayZeroIsTheInvitation): the day it went out, less
// the day it was due on. SPEC §6 counts the schedule from the invitation and closes
// fieldwork no earlier than day 56; counted from the declaration, the time the
// invitation waited for its DBS reply (hours, or days when the reply is overdue) or a
// pause would come off the fieldwork and off the gap before each later step. Never
// earlier than the declaration.
func (r *icsRun) dayZero(declared time.Time) time.Time {
	first := r.status.Mailings[0]
	if first.State != MailingSent {
		return declared
	}
	zero := first.SentAt.Add(-time.Duration(r.dueDay[first.Step]) * r.in.DayLength)
	if !zero.After(declared) {
		return declared
	}
	r.closeAt = zero.Add(time.Duration(r.in.FieldworkDays) * r.in.DayLength)
	r.status.DayZero = zero.UTC()
	return zero
}

// notSent records that step i and every later step not sent never will be, and why.
func (r *icsRun) notSent(i int, why string) {
	for j := i; j < len(r.status.Mailings); j++ {
		if ms := &r.status.Mailings[j]; ms.State != MailingSent {
			ms.State, ms.NotSent = MailingNotSent, why
		}
	}
}

// stepsNotSent lists the steps that never went out, for the closing's audit event.
func (r *icsRun) stepsNotSent() []activities.NotSentStep {
	var out []activities.NotSentStep
	for _, ms := range r.status.Mailings {
		if ms.State == MailingNotSent {
			out = append(out, activities.NotSentStep{Step: ms.Step, Why: ms.NotSent})
		}
	}
	return out
}

// closed reports whether fieldwork's close day has come (changeCloseOnItsDay): then
// no step is sent, whatever it waited for.
func (r *icsRun) closed(ctx workflow.Context) bool {
	return r.closeOnDay && !workflow.Now(ctx).Before(r.closeAt)
}

func (r *icsRun) scope() activities.Scope {
	return activities.Scope{WaveID: r.in.WaveID, ICS: r.in.ICS}
}

func (r *icsRun) setStage(ctx workflow.Context, stage Stage, waitingOn string) {
	r.status.Stage = stage
	r.status.WaitingOn = waitingOn
	_ = workflow.UpsertTypedSearchAttributes(ctx, SAStage.ValueSet(string(stage)))
}

// ---- handlers ----------------------------------------------------------------------

func (r *icsRun) registerHandlers(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryStatus, r.query); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateDeclare, r.declare,
		workflow.UpdateHandlerOptions{Validator: r.validateDeclare}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateMove, r.move,
		workflow.UpdateHandlerOptions{Validator: r.validateMove}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateOptOut, r.optOut,
		workflow.UpdateHandlerOptions{Validator: r.validateOptOut}); err != nil {
		return err
	}
	workflow.Go(ctx, r.receiveSignals)
	return nil
}

func (r *icsRun) query() (ICSStatus, error) { return r.status, nil }

// validateDeclare refuses a declaration that is unsigned, repeated, or of a sample that
// failed intake, is not yet validated or is short.
func (r *icsRun) validateDeclare(ctx workflow.Context, req DeclareRequest) error {
	switch {
	case strings.TrimSpace(req.By) == "":
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
}

// declare signs the sample declaration: the mailings may start.
func (r *icsRun) declare(ctx workflow.Context, req DeclareRequest) (DeclarationState, error) {
	d := DeclarationState{By: req.By, At: workflow.Now(ctx).UTC()}
	r.status.Declaration = &d
	r.wake = true
	return d, nil
}

// validateMove refuses a move of a step already under way, to a day outside fieldwork,
// or past a neighbour.
func (r *icsRun) validateMove(ctx workflow.Context, req MoveRequest) error {
	ms := r.status.Mailings
	for i, m := range ms {
		if m.Step != req.Step {
			continue
		}
		if m.State != MailingScheduled {
			return fmt.Errorf("mailing %s is already %s and cannot be moved", req.Step, m.State)
		}
		if req.Day < 0 || req.Day >= r.in.FieldworkDays {
			return fmt.Errorf("day %d is outside fieldwork (0..%d)", req.Day, r.in.FieldworkDays-1)
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
}

// move moves a step that has not gone out to another fieldwork day.
func (r *icsRun) move(ctx workflow.Context, req MoveRequest) (MailingStatus, error) {
	r.dueDay[req.Step] = req.Day
	for i := range r.status.Mailings {
		if r.status.Mailings[i].Step == req.Step {
			r.status.Mailings[i].Day = req.Day
			r.wake = true
			return r.status.Mailings[i], nil
		}
	}
	return MailingStatus{}, fmt.Errorf("no mailing step %q", req.Step)
}

// validateOptOut refuses an opt-out naming nobody (or naming them twice over), with a
// reason that is no code (free text would be recorded in the history, the lake and the
// warehouse), before the declaration (correct the sample file instead) or after
// fieldwork has closed.
func (r *icsRun) validateOptOut(ctx workflow.Context, req OptOutRequest) error {
	_, reasonOK := schemas.LateOptOutReason(req.Reason)
	switch {
	case req.SurveyRecordID == "" && req.AccessCode == "":
		return errors.New("name the person by --record (survey record ID) or --access-code")
	case req.SurveyRecordID != "" && req.AccessCode != "":
		return errors.New("name the person by --record (survey record ID) or --access-code, not both")
	case req.SurveyRecordID != "" && !activities.IsSurveyRecordID(strings.ToUpper(strings.TrimSpace(req.SurveyRecordID))):
		// Not repeated: an NHS number or a name typed here must not reach the history.
		return fmt.Errorf("--record is not a survey record id (S and %d letters and digits, as in the mailing files and responses; not the sample's RECORD_ID, an NHS number or a name); what was given is not repeated or recorded",
			activities.SurveyRecordIDLen-1)
	case req.AccessCode != "" && !activities.IsAccessCode(req.AccessCode):
		return errors.New("--access-code is not an access code (XXXX-XXXX-XXXX); what was given is not repeated or recorded")
	case !reasonOK:
		return fmt.Errorf("the reason is a code, one of %s (free text is not recorded)", strings.Join(schemas.LateOptOutReasons, ", "))
	case r.status.Declaration == nil:
		return errors.New("the sample is not declared yet: correct the sample file instead")
	case r.status.Stage == StageClosing || r.status.Stage == StageClosed:
		return fmt.Errorf("fieldwork for %s has closed (stage %s)", r.in.ICS, r.status.Stage)
	}
	return nil
}

// optOut records a late opt-out in the lake and the warehouse; every mailing that
// starts after it leaves the person out.
func (r *icsRun) optOut(ctx workflow.Context, req OptOutRequest) (string, error) {
	r.optOutsInFlight++
	defer func() { r.optOutsInFlight-- }()
	if workflow.GetVersion(ctx, changeOptOutsOneAtATime, workflow.DefaultVersion, 1) >= 1 {
		if err := r.optOutMu.Lock(ctx); err != nil {
			return "", err
		}
		defer r.optOutMu.Unlock()
	}
	var out activities.OptOutOutput
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Storage)),
		a.RecordOptOut, activities.OptOutInput{Scope: r.scope(), SurveyRecordID: req.SurveyRecordID,
			AccessCode: req.AccessCode, Reason: req.Reason}).Get(ctx, &out)
	if err != nil {
		return "", err
	}
	if _, err := loadIntoWarehouse(ctx, r.scope(), out.Objects); err != nil {
		return "", err
	}
	r.status.LateOptOuts++
	r.optOuts++
	return out.SurveyRecordID, nil
}

func (r *icsRun) onPause()      { r.status.Paused = true; r.wake = true }
func (r *icsRun) onResume()     { r.status.Paused = false; r.wake = true }
func (r *icsRun) onRevalidate() { r.revalidate = true; r.wake = true }
func (r *icsRun) onRetryDBS()   { r.retryDBS = true; r.wake = true }

// receiveSignals hands each operator signal to its handler, for as long as the run lasts.
func (r *icsRun) receiveSignals(ctx workflow.Context) {
	handlers := []struct {
		ch     workflow.ReceiveChannel
		handle func()
	}{
		{workflow.GetSignalChannel(ctx, SignalPause), r.onPause},
		{workflow.GetSignalChannel(ctx, SignalResume), r.onResume},
		{workflow.GetSignalChannel(ctx, SignalRevalidate), r.onRevalidate},
		{workflow.GetSignalChannel(ctx, SignalRetryDBS), r.onRetryDBS},
	}
	for {
		sel := workflow.NewSelector(ctx)
		for _, h := range handlers {
			sel.AddReceive(h.ch, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil); h.handle() })
		}
		sel.Select(ctx)
	}
}

// ---- the story ---------------------------------------------------------------------

// intakeAndDeclare validates the files and waits for the declaration; a file replaced
// (revalidate signal) before the declaration is validated again.
func (r *icsRun) intakeAndDeclare(ctx workflow.Context) error {
	for {
		r.setStage(ctx, StageIntake, "")
		r.revalidate = false
		var out activities.IntakeOutput
		err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Long)),
			a.Intake, activities.IntakeInput{
				Scope: r.scope(), SampleFile: r.in.SampleFile, MailingFile: r.in.MailingFile,
				SamplingDate: r.in.SamplingDate, MinEligible: r.in.MinEligible,
			}).Get(ctx, &out)
		runs := 1
		if r.status.Intake != nil {
			runs = r.status.Intake.Runs + 1
		}
		if kind, msg := activities.FaultOf(err); kind == fault.BadInput {
			r.intake = nil
			r.status.IntakeError = msg
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
			ReportKey: out.ReportKey, Runs: runs, Warnings: out.Warnings}
		if _, err := loadIntoWarehouse(ctx, r.scope(), out.Objects); err != nil {
			return err
		}
		waiting := "the sample declaration (`ice wave declare " + r.in.WaveID + " --ics " + r.in.ICS + " --by NAME`)"
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

// mail waits until step i is due (and the wave is not paused), then sends it. From
// changeCloseOnItsDay, the wait (a pause's too) ends at the close, and a step not sent
// by then is not sent: errFieldworkClosed.
func (r *icsRun) mail(ctx workflow.Context, start time.Time, i int) error {
	step := r.in.Steps[i]
	ms := &r.status.Mailings[i]
	// Until the step falls due (its day can be moved meanwhile).
	if _, err := r.hold(ctx, StageFieldwork, func(time.Time) (time.Time, string) {
		due := start.Add(time.Duration(r.dueDay[step.Name]) * r.in.DayLength)
		ms.DueAt = due.UTC()
		return due, fmt.Sprintf("%s due on day %d", step.Name, r.dueDay[step.Name])
	}, nil); err != nil {
		return err
	}

	r.setStage(ctx, StageMailing, step.Name)
	// Executions started before #13 items 4 and 5 keep their recorded shape: no receipts,
	// and a DBS check before letters only.
	receiptsAndSMSCheck := workflow.GetVersion(ctx, changeSMSReceiptsAndDBS, workflow.DefaultVersion, 1) >= 1
	if receiptsAndSMSCheck {
		// The receipts of the SMS steps sent so far come first: a number that failed for
		// good must leave its person out of this selection.
		if err := r.fetchReceipts(ctx, i); err != nil {
			return err
		}
	}
	ms.State = MailingSelecting
	seen := r.optOuts
	sel, err := r.selectRecipients(ctx, step, "due")
	if err != nil {
		return err
	}
	if (step.Channel == mailing.ChannelLetter || receiptsAndSMSCheck) && sel.Count > 0 {
		// No message goes to someone who has died: a fresh check of exactly these people
		// (SMS included, #13 item 5: a text to a bereaved family is as bad as a letter).
		ms.State = MailingChecking
		if err := r.deceasedCheck(ctx, step.Name, sel.Key); err != nil {
			return err
		}
		if step.Channel == mailing.ChannelSMS && workflow.GetVersion(ctx, changeSMSSendingHours, workflow.DefaultVersion, 1) >= 1 {
			// Texts only at sociable hours in England: a step that fell due, or whose
			// reply came, at night waits for the window; the selection after it is
			// fresh, so nobody who answered meanwhile is texted. A reply is as old as
			// the wait (a night, or a pause taken in it): after a wait the people are
			// checked again, and a reply that comes after the hours have closed waits
			// for them again.
			for {
				waited, err := r.awaitSMSHours(ctx, i)
				if err != nil {
					return err
				}
				if !waited {
					break
				}
				ms.State = MailingChecking
				if err := r.deceasedCheck(ctx, step.Name, sel.Key); err != nil {
					return err
				}
			}
		}
		if sel, err = r.selectRecipients(ctx, step, "checked"); err != nil {
			return err
		}
		if workflow.GetVersion(ctx, changeMailingStageAfterDBS, workflow.DefaultVersion, 1) >= 1 {
			// The reply is in: the status says the step is being sent, not that it still
			// waits for the reply (an SMS step at Notify's rate limit takes minutes).
			r.setStage(ctx, StageMailing, step.Name)
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
	if r.closed(ctx) {
		return errFieldworkClosed // the selection and its check took until the close
	}
	ms.Selected = sel.Count
	ms.InAnotherICS = sel.InAnotherICS
	ms.State = MailingSending
	var out activities.SendOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Long)),
		a.SendMailing, activities.SendInput{Scope: r.scope(), Step: step, SelectionKey: sel.Key,
			SurveyURL: r.in.SurveyURL}).Get(ctx, &out); err != nil {
		return fmt.Errorf("send %s: %w", step.Name, err)
	}
	if _, err := loadIntoWarehouse(ctx, r.scope(), out.Objects); err != nil {
		return err
	}
	ms.Sent = out.Sent + out.AlreadySent
	ms.Failed = out.Failed
	ms.SentAt = workflow.Now(ctx).UTC()
	ms.State = MailingSent
	if step.Channel == mailing.ChannelSMS && receiptsAndSMSCheck &&
		workflow.GetVersion(ctx, changeEarlyReceipts, workflow.DefaultVersion, 1) >= 1 {
		// Notify deletes a message after the service's data retention period (7 days by
		// default), and the next step may be 11 days off: the receipts are fetched once
		// they are final, while Notify still holds them.
		ms.ReceiptsDueAt = ms.SentAt.Add(time.Duration(mailing.ReceiptsAfterDays) * r.in.DayLength)
	}
	r.flushAudit(ctx)
	return nil
}

// changeSMSReceiptsAndDBS versions the mailing story: from version 1 each step first
// fetches the delivery receipts of the SMS steps before it, and SMS steps get the same
// fresh DBS check as letters (#13 items 4 and 5).
const changeSMSReceiptsAndDBS = "sms-receipts-and-dbs"

// changeMailingStageAfterDBS versions the mailing story: from version 1 the stage goes
// back to mailing once the step's DBS reply is in.
const changeMailingStageAfterDBS = "mailing-stage-after-dbs"

// changeEarlyReceipts versions the mailing story: from version 1 the receipts of an SMS
// step are fetched mailing.ReceiptsAfterDays after it was sent (and each day after
// while some are not final), not only before the next step, which may come after
// Notify has deleted the messages.
const changeEarlyReceipts = "early-sms-receipts"

// changeCloseOnItsDay versions the mailing story: from version 1 fieldwork closes on
// its day whatever a step waits for — a pause (of the ICS or the wave), a DBS reply,
// a retry of a rejected one — and nothing is mailed at or after the close: the steps
// not sent by then are recorded as not sent (MailingNotSent), and the closing record
// is taken at its time. Before, a pause held the close back until the resume, which
// then sent every overdue step at once, after fieldwork had ended.
const changeCloseOnItsDay = "close-on-its-day"

// changeDayZeroIsTheInvitation versions the mailing story: from version 1 the days of
// the steps after the first, and the close, count from the day the first step went out
// (icsRun.dayZero), not from the declaration.
const changeDayZeroIsTheInvitation = "day-zero-is-the-invitation"

// changeSMSSendingHours versions the mailing story: from version 1 an SMS step, its
// DBS reply in, waits until England's clock is inside the wave's SMS sending hours
// (ICSInput.SMSHours, on a 24h day) and the ICS is not paused, before its recipients are
// selected again and it is sent. Before, a text went as soon as it fell due and its
// reply came: at 03:00 after an invitation sent late in the evening.
const changeSMSSendingHours = "sms-sending-hours"

// changeOptOutsOneAtATime versions the late opt-out: from version 1 the opt-outs of an
// ICS are recorded one at a time. RecordOptOut reads whether the person was opted out,
// then writes the opt-out: two of the same person at once (two engineers, or one by
// record and one by access code) both found none, both wrote, the second over the
// first's time and reason, and both were answered "opted out" (and counted).
const changeOptOutsOneAtATime = "opt-outs-one-at-a-time"

// changeFinalLoadWait versions the close: from version 1 the closing record waits
// FinalLoadDays after the close for the daily loads of the supplier's last files.
const changeFinalLoadWait = "final-load-wait"

// changeRetentionFromClose versions the close: from version 1 the retention period
// (RetentionDays) counts from fieldwork's close, as the wave spec's retention_days says,
// not from the closing record taken FinalLoadDays later (changeFinalLoadWait), which
// kept the identifiable data that many days longer than the spec said.
const changeRetentionFromClose = "retention-from-close"

// awaitSMSHours holds SMS step i, its DBS reply in, until the SMS sending hours are
// open and the ICS is not paused (changeSMSSendingHours). The receipts passes falling
// due meanwhile run; a cancellation ends the wait, and so does the close: the step is
// then not sent (errFieldworkClosed), like one the close comes before. It reports
// whether it waited at all.
func (r *icsRun) awaitSMSHours(ctx workflow.Context, i int) (waited bool, err error) {
	if r.smsHours.IsZero() {
		return false, nil // a wave in compressed days
	}
	step := r.in.Steps[i]
	ms := &r.status.Mailings[i]
	state := ms.State
	defer func() { ms.State = state }()
	return r.hold(ctx, StageMailing, func(now time.Time) (time.Time, string) {
		opens := r.smsHours.NextOpening(now)
		return opens, fmt.Sprintf("%s: the SMS sending hours (%s in England), from %s",
			step.Name, r.smsHours, mailing.InEngland(opens).Format("15:04 Mon 2 Jan"))
	}, func() { ms.State = MailingAwaitingHours })
}

// hold holds the ICS until the time target gives has come and the ICS is not paused,
// saying on stage what it waits for (WaitingForResume while paused; waiting, if given,
// is called before each wait). target is asked again after every wake (a step moved,
// the next opening). The receipts passes of earlier SMS steps falling due meanwhile run
// (paused or not: reading them sends nothing). The close ends the hold: fieldwork is
// over (the ICS was paused past its close day, or is resumed after it), nothing more is
// mailed, and the closing record follows at its time (errFieldworkClosed). A
// cancellation ends it too. It reports whether it waited at all.
func (r *icsRun) hold(ctx workflow.Context, stage Stage, target func(now time.Time) (time.Time, string), waiting func()) (waited bool, err error) {
	for {
		now := workflow.Now(ctx)
		at, waitingOn := target(now)
		if r.closed(ctx) {
			return waited, errFieldworkClosed
		}
		receipts, receiptsAt := r.nextReceipts()
		if receipts >= 0 && !now.Before(receiptsAt) {
			if err := r.receiptsPass(ctx, receipts); err != nil {
				return waited, err
			}
			continue
		}
		if !now.Before(at) && !r.status.Paused {
			return waited, nil
		}
		if waiting != nil {
			waiting()
		}
		wait := at.Sub(now)
		if r.status.Paused {
			r.setStage(ctx, stage, WaitingForResume)
			wait = 0
		} else {
			r.setStage(ctx, stage, waitingOn)
		}
		if r.closeOnDay && (wait <= 0 || r.closeAt.Sub(now) < wait) {
			wait = r.closeAt.Sub(now) // > 0: the close has not come
		}
		if receipts >= 0 && (wait <= 0 || receiptsAt.Sub(now) < wait) {
			wait = receiptsAt.Sub(now)
		}
		r.wake, waited = false, true
		if wait > 0 {
			_, err = workflow.AwaitWithTimeout(ctx, wait, func() bool { return r.wake })
		} else {
			err = workflow.Await(ctx, func() bool { return r.wake })
		}
		if err != nil {
			return waited, err
		}
	}
}

// fetchReceipts fetches the delivery receipts of every SMS step before step upTo that
// went out and whose receipts are not all final, and loads them into the warehouse
// (the mailing history), so the next selection sees each permanent failure.
func (r *icsRun) fetchReceipts(ctx workflow.Context, upTo int) error {
	for j := range upTo {
		ms := &r.status.Mailings[j]
		if ms.Channel != mailing.ChannelSMS || ms.State != MailingSent || ms.ReceiptsFinal {
			continue
		}
		if err := r.fetchStepReceipts(ctx, j); err != nil {
			return err
		}
	}
	return nil
}

// fetchStepReceipts fetches the delivery receipts of SMS step j and loads them into the
// warehouse. Once every one is final no later pass is due.
func (r *icsRun) fetchStepReceipts(ctx workflow.Context, j int) error {
	ms := &r.status.Mailings[j]
	var out activities.ReceiptsOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Network)),
		a.FetchReceipts, activities.ReceiptsInput{Scope: r.scope(), Step: ms.Step}).Get(ctx, &out); err != nil {
		return fmt.Errorf("delivery receipts of %s: %w", ms.Step, err)
	}
	if _, err := loadIntoWarehouse(ctx, r.scope(), out.Objects); err != nil {
		return err
	}
	ms.Delivered, ms.PermanentFailures, ms.TemporaryFailures = out.Delivered, out.PermanentFailures, out.TemporaryFailures
	ms.ReceiptsExpired = out.Expired
	ms.ReceiptsFinal = out.Final()
	if ms.ReceiptsFinal {
		ms.ReceiptsDueAt = time.Time{}
	}
	return nil
}

// nextReceipts is the SMS step whose receipts pass (changeEarlyReceipts) is due first,
// and when; -1 when none is.
func (r *icsRun) nextReceipts() (int, time.Time) {
	next, at := -1, time.Time{}
	for j, ms := range r.status.Mailings {
		if ms.ReceiptsDueAt.IsZero() || ms.ReceiptsFinal {
			continue
		}
		if next < 0 || ms.ReceiptsDueAt.Before(at) {
			next, at = j, ms.ReceiptsDueAt
		}
	}
	return next, at
}

// receiptsPass fetches the receipts of SMS step j now; while some are not final, the
// next pass is a day later (a temporary failure takes Notify up to 72 hours; a message
// Notify has deleted since is final as receipt-expired).
func (r *icsRun) receiptsPass(ctx workflow.Context, j int) error {
	if err := r.fetchStepReceipts(ctx, j); err != nil {
		return err
	}
	if ms := &r.status.Mailings[j]; !ms.ReceiptsFinal {
		ms.ReceiptsDueAt = workflow.Now(ctx).UTC().Add(r.in.DayLength)
	}
	r.flushAudit(ctx)
	return nil
}

// sleepUntil sleeps until t, running each receipts pass that falls due before it.
func (r *icsRun) sleepUntil(ctx workflow.Context, t time.Time) error {
	for {
		j, at := r.nextReceipts()
		if j < 0 || !at.Before(t) {
			break
		}
		if d := at.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return err
			}
		}
		if err := r.receiptsPass(ctx, j); err != nil {
			return err
		}
	}
	if d := t.Sub(workflow.Now(ctx)); d > 0 {
		return workflow.Sleep(ctx, d)
	}
	return nil
}

func (r *icsRun) selectRecipients(ctx workflow.Context, step mailing.Step, round string) (activities.SelectOutput, error) {
	var sel activities.SelectOutput
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.SelectRecipients, activities.SelectInput{Scope: r.scope(), Step: step.Name, Channel: step.Channel, Round: round}).Get(ctx, &sel)
	if err != nil {
		return sel, fmt.Errorf("select recipients for %s: %w", step.Name, err)
	}
	_, err = loadIntoWarehouse(ctx, r.scope(), sel.Objects)
	return sel, err
}

// deceasedCheck sends a DBS request for a selection and waits durably for the reply.
// The wait is an activity retried on the poll interval (activities.PollOptions), so no
// worker slot is held and the history does not grow however long the reply takes; past
// the deadline the status says the reply is overdue, and the mailing keeps waiting.
func (r *icsRun) deceasedCheck(ctx workflow.Context, step, selectionKey string) error {
	// A step checked again goes on from its last request's attempt: a request id is
	// used once.
	for attempt := r.dbsAttempts[step] + 1; ; attempt++ {
		if r.closed(ctx) {
			return errFieldworkClosed // no request for a step that will not be sent
		}
		r.dbsAttempts[step] = attempt
		requestID := schemas.DBSRequestID(r.in.WaveID, r.in.ICS, step, attempt)
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

		cctx, cancelCollect := workflow.WithCancel(ctx)
		collect := workflow.ExecuteActivity(workflow.WithActivityOptions(cctx, activities.PollOptions(r.in.DBSPollEvery)), a.CollectDBS,
			activities.DBSCollectInput{Scope: r.scope(), RequestID: requestID})
		tctx, cancelDeadline := workflow.WithCancel(ctx)
		deadline := workflow.NewTimer(tctx, r.in.DBSReplyDeadline)
		var out activities.DBSCollectOutput
		var collectErr error
		done, closed := false, false
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
		if r.closeOnDay {
			// The close does not wait for the reply: the step is then not sent.
			sel.AddFuture(workflow.NewTimer(tctx, r.closeAt.Sub(workflow.Now(ctx))), func(f workflow.Future) {
				if f.Get(ctx, nil) == nil {
					closed, done = true, true
				}
			})
		}
		for !done {
			sel.Select(ctx)
		}
		cancelDeadline()
		if closed {
			cancelCollect()
			return errFieldworkClosed
		}
		if kind, msg := activities.FaultOf(collectErr); kind == fault.ReplyMismatch {
			cur.Rejected = msg
			r.setStage(ctx, StageDBS, "a valid DBS reply: "+requestID+" was rejected ("+msg+"); `ice wave retry-dbs` sends a new request")
			r.retryDBS = false
			r.flushAudit(ctx)
			if r.closeOnDay {
				// Until the close at most: then the step is not sent.
				if d := r.closeAt.Sub(workflow.Now(ctx)); d > 0 {
					if _, err := workflow.AwaitWithTimeout(ctx, d, func() bool { return r.retryDBS }); err != nil {
						return err
					}
				}
				continue // the loop's first check sees the close
			}
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
		_, err := loadIntoWarehouse(ctx, r.scope(), out.Objects)
		return err
	}
}

// close waits for the end of fieldwork, records the final outcomes and starts the
// retention workflow, which outlives this one.
func (r *icsRun) close(ctx workflow.Context) error {
	r.setStage(ctx, StageFieldwork, fmt.Sprintf("fieldwork to close on day %d", r.in.FieldworkDays))
	if err := r.sleepUntil(ctx, r.closeAt); err != nil {
		return err
	}
	if r.in.FinalLoadDays > 0 && workflow.GetVersion(ctx, changeFinalLoadWait, workflow.DefaultVersion, 1) >= 1 {
		// Fieldwork is over, and nothing more is mailed; but a response received on the
		// last day is in that day's supplier folder, which the daily load reads the next
		// morning. The closing record waits for it, so that nobody who answered in time
		// is recorded as a non-responder, and the release drafted at the wave's end
		// counts them.
		recordAt := r.closeAt.Add(time.Duration(r.in.FinalLoadDays) * r.in.DayLength)
		r.setStage(ctx, StageClosing, fmt.Sprintf("the supplier's last files: the closing record on day %d", r.in.FieldworkDays+r.in.FinalLoadDays))
		if d := recordAt.Sub(workflow.Now(ctx)); d > 0 {
			if err := workflow.Sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	r.setStage(ctx, StageClosing, "")
	if workflow.GetVersion(ctx, changeSMSReceiptsAndDBS, workflow.DefaultVersion, 1) >= 1 {
		// The last receipts, so the closing record and the history agree with Notify.
		if err := r.fetchReceipts(ctx, len(r.in.Steps)); err != nil {
			return err
		}
	}
	var out activities.CloseOutput
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.CloseFieldwork, activities.CloseInput{Scope: r.scope(), NotSent: r.stepsNotSent()}).Get(ctx, &out); err != nil {
		return fmt.Errorf("close fieldwork: %w", err)
	}
	r.status.Outcomes = out.Outcomes
	if _, err := loadIntoWarehouse(ctx, r.scope(), out.Objects); err != nil {
		return err
	}
	r.flushAudit(ctx)

	if workflow.GetVersion(ctx, changeRetentionFromClose, workflow.DefaultVersion, 1) >= 1 {
		r.retentionFrom = r.closeAt
	}
	if err := r.startRetention(ctx); err != nil {
		return err
	}
	r.setStage(ctx, StageClosed, "")
	return nil
}

// landed lists the files the ICS sent, with what the last intake made of them, for
// the retention's lineage.
func (r *icsRun) landed() []activities.LandedFile {
	files := []activities.LandedFile{{Key: r.in.SampleFile}, {Key: r.in.MailingFile}}
	if r.intake != nil {
		files[0].SHA256, files[0].Rows = r.intake.SampleSHA256, r.intake.RowsRead
		files[1].SHA256, files[1].Rows = r.intake.MailingSHA256, r.intake.MailingRowsRead
	}
	return files
}

// startRetention starts the deletion of the ICS's identifiable data after the
// retention period (RetentionWorkflow), which outlives this run.
func (r *icsRun) startRetention(ctx workflow.Context) error {
	after := time.Duration(r.in.RetentionDays) * r.in.DayLength
	if !r.retentionFrom.IsZero() {
		// RetentionDays count from the close (changeRetentionFromClose), not from the
		// closing record final_load_days later; a record later than the retention's end
		// deletes at once.
		after = max(0, r.retentionFrom.Add(after).Sub(workflow.Now(ctx)))
	}
	id := RetentionWorkflowID(r.in.WaveID, r.in.ICS)
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID: id,
		TaskQueue:  activities.TaskQueue,
		// The deletion must happen however this run ends after starting it.
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			SAWaveID.ValueSet(r.in.WaveID), SAICS.ValueSet([]string{r.in.ICS}), SAStage.ValueSet(string(StageRetention))),
	})
	child := workflow.ExecuteChildWorkflow(cctx, RetentionWorkflow, RetentionInput{WaveID: r.in.WaveID, ICS: r.in.ICS, After: after,
		Landed: r.landed()})
	if err := child.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return fmt.Errorf("start the retention of %s: %w", id, err)
	}
	r.status.Retention = &RetentionState{WorkflowID: id, DeleteAt: workflow.Now(ctx).Add(after).UTC()}
	return nil
}

// flushAudit compacts the wave's audit trail into the lake and the warehouse. A failure
// here never stops fieldwork: the events stay pending and the next flush takes them.
func (r *icsRun) flushAudit(ctx workflow.Context) { flushAudit(ctx, r.in.WaveID) }

// loadIntoWarehouse hands the lake objects an activity wrote to the warehouse: those it
// holds are loaded all in one transaction (the LoadLakeObjects activity, on the
// warehouse queue); nothing for the warehouse is no call. Every story that writes to
// the lake passes its activities' objects here.
func loadIntoWarehouse(ctx workflow.Context, scope activities.Scope, written []schemas.LakeObject) (activities.LoadObjectsOutput, error) {
	var out activities.LoadObjectsOutput
	var objects []schemas.LakeObject
	for _, o := range written {
		if o.InWarehouse() {
			objects = append(objects, o)
		}
	}
	if len(objects) == 0 {
		return out, nil
	}
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.LoadLakeObjects, activities.LoadObjectsInput{Scope: scope, Objects: objects}).Get(ctx, &out)
	if err != nil {
		tables := make([]schemas.Table, len(objects))
		for i, o := range objects {
			tables[i] = o.Table
		}
		return out, fmt.Errorf("load %v into the warehouse: %w", tables, err)
	}
	return out, nil
}

// flushAudit compacts the wave's audit events into the lake and the warehouse; a
// failure never fails the caller (the events stay pending for the next flush).
func flushAudit(ctx workflow.Context, wave string) {
	_ = workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, activities.Options(activities.Warehouse)),
		wa.FlushAudit, activities.FlushAuditInput{Scope: activities.Scope{WaveID: wave}}).Get(ctx, nil)
}
