package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"icesurvey/audit"
	"icesurvey/dbs"
	"icesurvey/intake"
	"icesurvey/lake"
	"icesurvey/mailing"
	"icesurvey/notify"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// SMSSender is what the SMS steps need from GOV.UK Notify (*notify.Client).
type SMSSender = mailing.Sender

// Activities run on the main task queue; any number of workers may serve it.
type Activities struct {
	Store        store.Store
	PseudonymKey []byte
	DBS          dbs.Transport
	Notify       SMSSender
}

// Intake validates one ICS's sample and mailing files. A malformed file fails
// without retry, with a message naming the file, row and field.
func (a *Activities) Intake(ctx context.Context, in IntakeInput) (IntakeOutput, error) {
	stop := heartbeatEvery(ctx, 10*time.Second)
	defer stop()
	res, err := intake.Run(ctx, a.Store, intake.Config{
		WaveID: in.WaveID, ICS: in.ICS, SamplingDate: in.SamplingDate, MinEligible: in.MinEligible, PseudonymKey: a.PseudonymKey,
	}, intake.Input{SampleKey: in.SampleFile, MailingKey: in.MailingFile})
	if err != nil {
		if intake.IsFileError(err) || errors.Is(err, store.ErrNotExist) {
			return IntakeOutput{}, BadInput(err)
		}
		return IntakeOutput{}, err
	}
	return IntakeOutput{
		RowsRead: res.RowsRead, MailingRowsRead: res.MailingRowsRead, Accepted: res.Accepted,
		Excluded: res.Excluded, Rejected: res.Rejected, NoSMS: res.NoSMS, ByReason: res.ByReason,
		Shortfall: res.Shortfall > 0, MinEligible: res.Accepted + res.Shortfall,
		SampleKey: res.SampleParquetKey, ContactsKey: res.ContactsKey, ReportKey: res.ReportKey,
		SampleSHA256: res.SampleSHA256, MailingSHA256: res.MailingSHA256, Warnings: res.Warnings,
		Declaration: res.Declaration,
	}, nil
}

// RecordDeclaration stores the signed sample declaration beside the ICS's reports.
func (a *Activities) RecordDeclaration(ctx context.Context, in DeclarationInput) error {
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	key := schemas.ReportsPrefix(in.WaveID, in.ICS) + "declaration.json"
	if err := store.PutBytes(ctx, a.Store, key, b); err != nil {
		return err
	}
	audit.Record(ctx, "declaration_signed", map[string]any{"by": in.By, "at": in.At, "accepted": in.Accepted, "key": key})
	return nil
}

func contactsKey(wave, ics string) string {
	return schemas.RestrictedPrefix(wave, ics) + "contacts.parquet"
}

func (a *Activities) selection(ctx context.Context, key string) (map[string]bool, error) {
	ids := map[string]bool{}
	err := lake.Scan(ctx, a.Store, key, schemas.SelectionLayout(), func(s *schemas.Selection) error {
		ids[s.SurveyRecordID] = true
		return nil
	})
	return ids, err
}

// SubmitDBS sends a deceased check for everyone in a selection. Submitting the same
// request again sends nothing new.
func (a *Activities) SubmitDBS(ctx context.Context, in DBSSubmitInput) (DBSSubmitOutput, error) {
	stop := heartbeatEvery(ctx, 10*time.Second)
	defer stop()
	ids, err := a.selection(ctx, in.SelectionKey)
	if err != nil {
		return DBSSubmitOutput{}, err
	}
	res, err := dbs.Submit(ctx, a.Store, a.DBS, in.WaveID, in.ICS, in.RequestID, contactsKey(in.WaveID, in.ICS),
		func(id string) bool { return ids[id] })
	if err != nil {
		if dbs.IsPermanent(err) {
			return DBSSubmitOutput{}, NonRetryable(ErrConfiguration, err)
		}
		return DBSSubmitOutput{}, err
	}
	return DBSSubmitOutput{Sent: res.Records}, nil
}

func isParseError(err error) bool {
	var pe *dbs.ParseError
	return errors.As(err, &pe)
}

// errReplyNotReady is returned while the DBS reply has not arrived; the activity's
// retry policy is the poll interval.
var errReplyNotReady = errors.New("DBS reply not arrived yet")

// CollectDBS fetches and applies the reply to a request: deaths become outcome events
// in the lake, superseded NHS numbers update the restricted contacts.
func (a *Activities) CollectDBS(ctx context.Context, in DBSCollectInput) (DBSCollectOutput, error) {
	out, ready, err := dbs.Collect(ctx, a.Store, a.DBS, in.WaveID, in.ICS, in.RequestID)
	if err != nil {
		if dbs.IsMismatch(err) || isParseError(err) {
			return DBSCollectOutput{}, NonRetryable(ErrReplyMismatch, err)
		}
		return DBSCollectOutput{}, err
	}
	if !ready {
		return DBSCollectOutput{}, errReplyNotReady
	}
	res := DBSCollectOutput{Sent: out.Sent, Matched: out.Matched, Deceased: out.Deceased, Superseded: out.Superseded,
		Unmatched: out.Unmatched, Multiple: out.Multiple, CrossCheckFailed: out.CrossCheckFailed}
	if out.UpdatedContactsKey != "" {
		// The updated contacts become the current ones for every later mailing and check.
		b, err := store.ReadAll(ctx, a.Store, out.UpdatedContactsKey)
		if err != nil {
			return res, err
		}
		if err := store.PutBytes(ctx, a.Store, contactsKey(in.WaveID, in.ICS), b); err != nil {
			return res, err
		}
		// The analysis record must follow: its pseudonym is of the old number, and every
		// later linkage would key on it.
		n, err := a.repseudonymise(ctx, in.WaveID, in.ICS, out.NewNHSNumbers)
		if err != nil {
			return res, err
		}
		if n > 0 {
			res.SampleKey = sampleKey(in.WaveID, in.ICS)
		}
		audit.Record(ctx, "nhs_numbers_superseded", map[string]any{"request_id": in.RequestID, "updated": out.NHSNumbersUpdated,
			"sample_records_repseudonymised": n})
	}
	if len(out.DeceasedIDs) > 0 {
		now := time.Now().UTC()
		events := make([]schemas.OutcomeEvent, 0, len(out.DeceasedIDs))
		for _, id := range out.DeceasedIDs {
			at := now
			if d, ok := out.DatesOfDeath[id]; ok {
				at = d
			}
			events = append(events, schemas.OutcomeEvent{EventID: "dbs/" + in.RequestID + "/" + id, Wave: in.WaveID, ICS: in.ICS, LoadDate: now.Truncate(24 * time.Hour),
				SurveyRecordID: id, Outcome: schemas.OutcomeDeceased, At: at, Reason: "dbs_deceased",
				SourceFile: out.ResultsKey})
		}
		res.OutcomesKey = schemas.LakePartition("outcome_events", in.WaveID, in.ICS) + "dbs-" + in.RequestID + ".parquet"
		if err := lake.PutRows(ctx, a.Store, res.OutcomesKey, schemas.OutcomeEventLayout(), events); err != nil {
			return res, err
		}
	}
	audit.Record(ctx, "dbs_applied", map[string]any{"request_id": in.RequestID, "sent": out.Sent, "matched": out.Matched,
		"deceased": out.Deceased, "superseded": out.Superseded, "unmatched": out.Unmatched, "multiple": out.Multiple,
		"cross_check_failed": out.CrossCheckFailed})
	return res, nil
}

// SendMailing sends one mailing step to a selection: letters as a print file for the
// supplier, SMS through GOV.UK Notify. Each message has a deterministic reference, and
// a re-run sends nothing twice.
func (a *Activities) SendMailing(ctx context.Context, in SendInput) (SendOutput, error) {
	stop := heartbeatEvery(ctx, 10*time.Second)
	defer stop()
	step := in.Step
	if step.Name == "" {
		return SendOutput{}, NonRetryable(ErrConfiguration, fmt.Errorf("wave %s: mailing step without a name", in.WaveID))
	}
	ids, err := a.selection(ctx, in.SelectionKey)
	if err != nil {
		return SendOutput{}, err
	}
	// An opt-out recorded after the selection was made still wins.
	optedOut, err := a.optedOut(ctx, in.WaveID, in.ICS)
	if err != nil {
		return SendOutput{}, err
	}
	dropped := 0
	for id := range optedOut {
		if ids[id] {
			delete(ids, id)
			dropped++
		}
	}
	var recipients []schemas.Contact
	err = lake.Scan(ctx, a.Store, contactsKey(in.WaveID, in.ICS), schemas.ContactLayout(), func(c *schemas.Contact) error {
		if ids[c.SurveyRecordID] {
			recipients = append(recipients, *c)
		}
		return nil
	})
	if err != nil {
		return SendOutput{}, err
	}
	now := time.Now().UTC()
	out := SendOutput{Channel: step.Channel}
	var history []schemas.MailingEvent
	switch step.Channel {
	case mailing.ChannelLetter:
		key := mailing.PrintFileKey(in.WaveID, in.ICS, step.Name)
		m, err := mailing.WritePrintFile(ctx, a.Store, key, step, in.SurveyURL, recipients)
		if err != nil {
			return out, err
		}
		out.PrintFile, out.Sent = key, m.Rows
		for _, c := range recipients {
			history = append(history, schemas.MailingEvent{Reference: mailing.Reference(in.WaveID, in.ICS, c.SurveyRecordID, step.Name),
				WaveID: in.WaveID, ICS: in.ICS, SurveyRecordID: c.SurveyRecordID, Step: step.Name, Channel: step.Channel,
				SentAt: now, Result: "queued-for-print"})
		}
	case mailing.ChannelSMS:
		if a.Notify == nil {
			return out, NonRetryable(ErrConfiguration, errors.New("no GOV.UK Notify client configured for SMS"))
		}
		msgs, err := mailing.SMSMessages(in.WaveID, in.ICS, step, recipients, func(c schemas.Contact) map[string]string {
			return map[string]string{"access_code": c.AccessCode, "survey_url": in.SurveyURL}
		})
		if err != nil {
			return out, NonRetryable(ErrConfiguration, err)
		}
		ledger := schemas.RestrictedPrefix(in.WaveID, in.ICS) + "sms-ledger/" + step.Name + "/"
		res, err := mailing.SendSMSBatch(ctx, a.Store, a.Notify, ledger, msgs, func(done int) { activity.RecordHeartbeat(ctx, done) })
		if err != nil {
			if notify.IsPermanent(err) {
				// A bad template or key fails every message alike: stop, don't retry.
				return out, NonRetryable(ErrConfiguration, err)
			}
			return out, err
		}
		out.Sent, out.AlreadySent, out.Failed = res.Sent, res.AlreadySent, res.Failed
		failed := map[string]bool{}
		for _, id := range res.PermanentFailures {
			failed[id] = true
		}
		for _, m := range msgs {
			result := "sent"
			if failed[m.SurveyRecordID] {
				result = "permanent-failure"
			}
			history = append(history, schemas.MailingEvent{Reference: m.Reference, WaveID: in.WaveID, ICS: in.ICS,
				SurveyRecordID: m.SurveyRecordID, Step: step.Name, Channel: step.Channel, SentAt: now, Result: result})
		}
	default:
		return out, NonRetryable(ErrConfiguration, fmt.Errorf("step %s: unknown channel %q", step.Name, step.Channel))
	}
	out.HistoryKey = schemas.LakePartition("mailing_history", in.WaveID, in.ICS) + step.Name + ".parquet"
	if err := lake.PutRows(ctx, a.Store, out.HistoryKey, schemas.MailingEventLayout(), history); err != nil {
		return out, err
	}
	audit.Record(ctx, "mailing_sent", map[string]any{"step": step.Name, "channel": step.Channel, "selected": len(ids),
		"opted_out_since_selection": dropped,
		"sent":                      out.Sent, "already_sent": out.AlreadySent, "failed": out.Failed, "print_file": out.PrintFile})
	return out, nil
}

// DeleteRestricted deletes a wave's identifiable mailing data for one ICS (contacts,
// DBS requests and replies, print files, the SMS ledger) once the retention period
// after fieldwork has passed. The free-text answers stay: they are restricted response
// data the ICB's named users read after fieldwork, not mailing data. The audit trail
// records how much went.
func (a *Activities) DeleteRestricted(ctx context.Context, in Scope) (RetentionOutput, error) {
	prefix := schemas.RestrictedPrefix(in.WaveID, in.ICS)
	keep := schemas.FreeTextRoot(in.WaveID, in.ICS)
	infos, err := a.Store.List(ctx, prefix)
	if err != nil {
		return RetentionOutput{}, err
	}
	deleted := 0
	for _, inf := range infos {
		if !strings.HasPrefix(inf.Key, prefix) || strings.HasPrefix(inf.Key, keep) {
			continue
		}
		if err := a.Store.Delete(ctx, inf.Key); err != nil {
			return RetentionOutput{}, err
		}
		deleted++
	}
	audit.Record(ctx, "identifiable_data_deleted", map[string]any{"prefix": prefix, "objects": deleted, "kept": keep})
	return RetentionOutput{Deleted: deleted}, nil
}

// heartbeatEvery heartbeats in the background until stop is called, for activities
// whose domain call has no progress hook.
func heartbeatEvery(ctx context.Context, every time.Duration) (stop func()) {
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

func sampleKey(wave, ics string) string {
	return schemas.LakePartition("sample", wave, ics) + "sample.parquet"
}

// repseudonymise rewrites the lake sample with the pseudonyms of superseded NHS numbers
// (newNumbers: survey record ID → new number) and says how many records changed.
// Applying the same numbers again changes nothing.
func (a *Activities) repseudonymise(ctx context.Context, wave, ics string, newNumbers map[string]string) (int, error) {
	if len(newNumbers) == 0 {
		return 0, nil
	}
	keyed := pseudo.New(a.PseudonymKey)
	rows, err := lake.GetRows[schemas.SampleRecord](ctx, a.Store, sampleKey(wave, ics), schemas.SampleRecordLayout())
	if err != nil {
		return 0, err
	}
	changed := 0
	for i := range rows {
		nhs, ok := newNumbers[rows[i].SurveyRecordID]
		if !ok {
			continue
		}
		if p := keyed.NHSPseudonym(nhs); p != rows[i].NHSPseudonym {
			rows[i].NHSPseudonym = p
			changed++
		}
	}
	if changed == 0 {
		return 0, nil
	}
	if err := lake.PutRows(ctx, a.Store, sampleKey(wave, ics), schemas.SampleRecordLayout(), rows); err != nil {
		return 0, err
	}
	return changed, nil
}
