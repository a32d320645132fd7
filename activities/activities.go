// Package activities holds the thin Temporal adapters between the workflows and the
// domain packages (intake, dbs, mailing, warehouse, responses…): each activity unpacks
// its input, calls one domain function and reports counts, keys and the lake objects it
// wrote. The domain logic, and its tests, live in the domain packages.
//
// Each activity is idempotent: run twice with the same input it leaves the same state
// and sends nothing twice. Every attempt is audited by the worker's interceptor, and
// every error mapped to a Temporal application error by ApplicationError (the worker
// applies it), not here. Retry options come from policy.go only.
package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"icesurvey/audit"
	"icesurvey/dbs"
	"icesurvey/fault"
	"icesurvey/intake"
	"icesurvey/mailing"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// SMSSender is what the SMS steps need from GOV.UK Notify (*notify.Client): sends,
// look-ups by reference and delivery receipts.
type SMSSender = mailing.Notify

// Activities run on the main task queue; any number of workers may serve it.
type Activities struct {
	Store        store.Store
	PseudonymKey []byte
	DBS          dbs.Transport
	Notify       SMSSender
	// FreeText decides who may take free text away or code it (access.FileGate); nil
	// refuses every such request.
	FreeText FreeTextGate
}

// Intake validates one ICS's sample and mailing files. A malformed file, or one that
// is not there, fails as fault.BadInput, with a message naming the file, row and field.
func (a *Activities) Intake(ctx context.Context, in IntakeInput) (IntakeOutput, error) {
	for _, f := range []struct{ field, key string }{{"sample_file", in.SampleFile}, {"mailing_file", in.MailingFile}} {
		if err := schemas.CheckIntakeFileKey(f.key); err != nil {
			return IntakeOutput{}, fault.Wrap(fault.BadInput, fmt.Errorf("%s %s: %w", f.field, f.key, err))
		}
	}
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	res, err := intake.Run(ctx, a.Store, intake.Config{
		WaveID: in.WaveID, ICS: in.ICS, SamplingDate: in.SamplingDate, MinEligible: in.MinEligible, PseudonymKey: a.PseudonymKey,
	}, intake.Input{SampleKey: in.SampleFile, MailingKey: in.MailingFile})
	if errors.Is(err, store.ErrNotExist) {
		// A file the spec names and the store lacks: the ICS must send it, or `ice wave
		// start` copied a local file into another store than the workers' (its --store,
		// or ICE_STORE, differs from theirs), where no retention will ever reach it.
		err = fault.Wrap(fault.BadInput, fmt.Errorf("%w (the workers' store is %s: if `ice wave start` copied the file from a local path, "+
			"it wrote it to its own --store or ICE_STORE, which must be the workers'; delete that copy, which holds patients' data "+
			"no retention will reach)", err, a.Store.URL()))
	}
	if err != nil {
		return IntakeOutput{}, err
	}
	return IntakeOutput{
		RowsRead: res.RowsRead, MailingRowsRead: res.MailingRowsRead, Accepted: res.Accepted,
		Excluded: res.Excluded, Rejected: res.Rejected, NoSMS: res.NoSMS, ByReason: res.ByReason,
		Shortfall: res.Shortfall > 0, MinEligible: res.Accepted + res.Shortfall,
		SampleKey: res.SampleParquetKey, ContactsKey: res.ContactsKey, ReportKey: res.ReportKey,
		SampleSHA256: res.SampleSHA256, MailingSHA256: res.MailingSHA256, Warnings: res.Warnings,
		Declaration: res.Declaration,
		Objects:     []schemas.LakeObject{schemas.LakeSample.Object(res.SampleParquetKey)},
	}, nil
}

// RecordDeclaration stores the signed sample declaration beside the ICS's reports.
func (a *Activities) RecordDeclaration(ctx context.Context, in DeclarationInput) error {
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	key := schemas.DeclarationKey(in.WaveID, in.ICS)
	if err := store.PutBytes(ctx, a.Store, key, b); err != nil {
		return err
	}
	audit.Record(ctx, "declaration_signed", map[string]any{"by": in.By, "at": in.At, "accepted": in.Accepted, "key": key})
	return nil
}

// RecordFieldworkEndedEarly records, in the audit trail (and so in the warehouse's
// audit_log, which the dashboard reads), that an ICS's fieldwork ended before its
// close and why: without it an ICS cancelled or failed mid-wave looks as if its
// fieldwork were still running.
func (a *Activities) RecordFieldworkEndedEarly(ctx context.Context, in EndedEarlyInput) error {
	audit.Record(ctx, audit.KindFieldworkEndedEarly, map[string]any{"cancelled": in.Cancelled, "reason": in.Reason})
	return nil
}

// SubmitDBS sends a deceased check for everyone in a selection. Submitting the same
// request again sends nothing new.
func (a *Activities) SubmitDBS(ctx context.Context, in DBSSubmitInput) (DBSSubmitOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	ids, err := mailing.ReadSelection(ctx, a.Store, in.SelectionKey)
	if err != nil {
		return DBSSubmitOutput{}, err
	}
	res, err := dbs.Submit(ctx, a.Store, a.DBS, in.WaveID, in.ICS, in.RequestID, schemas.ContactsKey(in.WaveID, in.ICS),
		func(id string) bool { return ids[id] })
	if err != nil {
		return DBSSubmitOutput{}, err
	}
	return DBSSubmitOutput{Sent: res.Records}, nil
}

// CollectDBS looks once for the reply to a request and applies it (dbs.Check): deaths
// become outcome events in the lake, superseded NHS numbers update the restricted
// contacts and the sample's pseudonyms. While the reply has not come it fails NotReady,
// and its retry policy (activities.PollOptions) is the poll interval.
func (a *Activities) CollectDBS(ctx context.Context, in DBSCollectInput) (DBSCollectOutput, error) {
	res, err := dbs.Check(ctx, a.Store, a.DBS, pseudo.New(a.PseudonymKey), in.WaveID, in.ICS, in.RequestID)
	if err != nil {
		return DBSCollectOutput{}, err
	}
	o := res.Outcome
	return DBSCollectOutput{Sent: o.Sent, Matched: o.Matched, Deceased: o.Deceased, Superseded: o.Superseded,
		Unmatched: o.Unmatched, Multiple: o.Multiple, CrossCheckFailed: o.CrossCheckFailed, Objects: res.Objects}, nil
}

// SendMailing sends one mailing step to a selection (mailing.Send): letters as a print
// file for the supplier, SMS through GOV.UK Notify. Each message has a deterministic
// reference, and a re-run sends nothing twice.
func (a *Activities) SendMailing(ctx context.Context, in SendInput) (SendOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	res, err := mailing.Send(ctx, a.Store, a.Notify, mailing.SendRequest{Wave: in.WaveID, ICS: in.ICS, Step: in.Step,
		SelectionKey: in.SelectionKey, SurveyURL: in.SurveyURL}, time.Now().UTC(),
		func(done int) {
			if activity.IsActivity(ctx) {
				activity.RecordHeartbeat(ctx, done)
			}
		})
	if err != nil {
		return SendOutput{}, err
	}
	return SendOutput{Channel: res.Channel, Sent: res.Sent, AlreadySent: res.AlreadySent, Failed: res.Failed,
		PrintFile: res.PrintFile, Objects: res.Objects}, nil
}

// RecordOptOut writes a late opt-out (outcome 4) to the lake for the warehouse to load
// (mailing.RecordOptOut): the person must be in the ICS's accepted sample, the reason
// a code, and from this moment no send includes them. A person opted out already is
// refused. It is effective when the workflow scheduled it: every attempt records the
// same time, so a retry of an attempt that wrote the opt-out is not taken for a
// second one.
func (a *Activities) RecordOptOut(ctx context.Context, in OptOutInput) (OptOutOutput, error) {
	at := time.Now().UTC()
	if activity.IsActivity(ctx) {
		if t := activity.GetInfo(ctx).ScheduledTime; !t.IsZero() {
			at = t.UTC() // the first attempt's: ActivityInfo.ScheduledTime is not the attempt's own
		}
	}
	res, err := mailing.RecordOptOut(ctx, a.Store, mailing.OptOutRequest{Wave: in.WaveID, ICS: in.ICS,
		SurveyRecordID: in.SurveyRecordID, AccessCode: in.AccessCode, Reason: in.Reason}, at)
	if err != nil {
		return OptOutOutput{}, err
	}
	return OptOutOutput{SurveyRecordID: res.SurveyRecordID, Objects: res.Objects}, nil
}

// HeartbeatEvery heartbeats in the background until stop is called, for activities
// whose domain call has no progress hook. Outside an activity it does nothing.
func HeartbeatEvery(ctx context.Context, every time.Duration) (stop func()) {
	if !activity.IsActivity(ctx) {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
