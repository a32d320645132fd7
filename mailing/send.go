package mailing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// SendRequest asks for one mailing step to go out to a selection (a lake object of
// schemas.Selection, written when the step fell due).
type SendRequest struct {
	Wave, ICS    string
	Step         Step
	SelectionKey string
	SurveyURL    string
}

// SendResult reports a step sent: counts only, the print file for a letter, and the
// lake objects written (the step's mailing history) for the warehouse to load.
type SendResult struct {
	Channel                string
	Selected               int
	OptedOutSinceSelection int
	Sent                   int
	AlreadySent            int
	Failed                 int
	PrintFile              string
	Objects                []schemas.LakeObject
}

// Send sends one mailing step to a selection: letters as a print file for the supplier
// (WritePrintFile), SMS through GOV.UK Notify exactly once (SendSMSBatch, its ledger in
// the restricted area). An opt-out recorded after the selection was made still wins.
// Every message is recorded in the mailing history, sent at now. Sending the same
// request again sends nothing twice and rewrites the same history. progress, if not
// nil, is told how many SMS are done.
func Send(ctx context.Context, st store.Store, sms Sender, req SendRequest, now time.Time, progress func(done int)) (SendResult, error) {
	step := req.Step
	out := SendResult{Channel: step.Channel}
	if step.Name == "" {
		return out, fault.Errorf(fault.Configuration, "mailing: wave %s: mailing step without a name", req.Wave)
	}
	ids, err := ReadSelection(ctx, st, req.SelectionKey)
	if err != nil {
		return out, err
	}
	out.Selected = len(ids)
	optedOut, err := OptedOut(ctx, st, req.Wave, req.ICS)
	if err != nil {
		return out, err
	}
	for id := range optedOut {
		if ids[id] {
			delete(ids, id)
			out.OptedOutSinceSelection++
		}
	}
	var recipients []schemas.Contact
	err = lake.Scan(ctx, st, schemas.ContactsKey(req.Wave, req.ICS), schemas.ContactLayout(), func(c *schemas.Contact) error {
		if ids[c.SurveyRecordID] {
			recipients = append(recipients, *c)
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	var history []schemas.MailingEvent
	event := func(ref, id, result string) schemas.MailingEvent {
		return schemas.MailingEvent{Reference: ref, WaveID: req.Wave, ICS: req.ICS, SurveyRecordID: id, Step: step.Name,
			Channel: step.Channel, SentAt: now, Result: result}
	}
	switch step.Channel {
	case ChannelLetter:
		key := schemas.PrintFileKey(req.Wave, req.ICS, step.Name)
		m, err := WritePrintFile(ctx, st, key, step, req.SurveyURL, recipients)
		if err != nil {
			return out, err
		}
		out.PrintFile, out.Sent = key, m.Rows
		for _, c := range recipients {
			history = append(history, event(Reference(req.Wave, req.ICS, c.SurveyRecordID, step.Name), c.SurveyRecordID, schemas.ResultQueuedForPrint))
		}
	case ChannelSMS:
		if sms == nil {
			return out, fault.New(fault.Configuration, "mailing: no GOV.UK Notify client configured for SMS")
		}
		msgs, err := SMSMessages(req.Wave, req.ICS, step, recipients, func(c schemas.Contact) map[string]string {
			return map[string]string{"access_code": c.AccessCode, "survey_url": req.SurveyURL}
		})
		if err != nil {
			return out, fault.Wrap(fault.Configuration, err)
		}
		// A bad template or key fails every message alike: the batch stops with Notify's
		// error, whose kind (package fault) says no retry will help.
		res, err := SendSMSBatch(ctx, st, sms, schemas.SMSLedgerPrefix(req.Wave, req.ICS, step.Name), msgs, progress)
		if err != nil {
			return out, err
		}
		out.Sent, out.AlreadySent, out.Failed = res.Sent, res.AlreadySent, res.Failed
		failed := map[string]bool{}
		for _, id := range res.PermanentFailures {
			failed[id] = true
		}
		for _, m := range msgs {
			result := schemas.ResultSent
			if failed[m.SurveyRecordID] {
				result = schemas.ResultPermanentFailure
			}
			history = append(history, event(m.Reference, m.SurveyRecordID, result))
		}
	default:
		return out, fault.Errorf(fault.Configuration, "mailing: step %s: unknown channel %q", step.Name, step.Channel)
	}
	key := schemas.MailingHistoryKey(req.Wave, req.ICS, step.Name)
	if err := lake.PutRows(ctx, st, key, schemas.MailingEventLayout(), history); err != nil {
		return out, err
	}
	out.Objects = []schemas.LakeObject{schemas.LakeMailingHistory.Object(key)}
	audit.Record(ctx, "mailing_sent", map[string]any{"step": step.Name, "channel": step.Channel, "selected": out.Selected,
		"opted_out_since_selection": out.OptedOutSinceSelection,
		"sent":                      out.Sent, "already_sent": out.AlreadySent, "failed": out.Failed, "print_file": out.PrintFile})
	return out, nil
}

// ReadSelection reads a mailing's recipient list: the set of survey record IDs.
func ReadSelection(ctx context.Context, st store.Store, key string) (map[string]bool, error) {
	ids := map[string]bool{}
	err := lake.Scan(ctx, st, key, schemas.SelectionLayout(), func(s *schemas.Selection) error {
		ids[s.SurveyRecordID] = true
		return nil
	})
	return ids, err
}

// OptOutRequest names a person who opted out late, by survey record ID or by the
// access code printed on their letter.
type OptOutRequest struct {
	Wave, ICS      string
	SurveyRecordID string
	AccessCode     string
	Reason         string
}

// OptOutResult names the person and the lake object written (their outcome event).
type OptOutResult struct {
	SurveyRecordID string
	Objects        []schemas.LakeObject
}

// RecordOptOut writes a late opt-out (outcome 4), effective at now, to the lake: from
// that moment every send leaves the person out (Send reads OptedOut). The person must
// be in the ICS's accepted sample, and the reason one of schemas.LateOptOutReasons
// (empty: the default); an unknown ID or code, a malformed code, free text for a
// reason, or both an ID and a code, is a fault.BadInput. A person opted out already is
// refused, saying when and why (a fault.BadInput too): the first opt-out stands in the
// lake, not overwritten by the second. The same call again (the same now: a retried
// activity passes the time it was first scheduled) rewrites the same object.
func RecordOptOut(ctx context.Context, st store.Store, req OptOutRequest, now time.Time) (OptOutResult, error) {
	reason, ok := schemas.LateOptOutReason(req.Reason)
	if !ok {
		// Not quoted: free text is what must not reach a log.
		return OptOutResult{}, fault.Errorf(fault.BadInput, "the reason of an opt-out is a code, one of %s (free text is not recorded)",
			strings.Join(schemas.LateOptOutReasons, ", "))
	}
	if req.SurveyRecordID != "" && req.AccessCode != "" {
		return OptOutResult{}, fault.Errorf(fault.BadInput, "an opt-out names the person by survey record ID or by access code, not both")
	}
	// Stored to the microsecond: a retried call's time must read back equal.
	now = now.UTC().Truncate(time.Microsecond)
	// Survey record ids are upper case; one typed in lower case is the same id.
	id := strings.ToUpper(strings.TrimSpace(req.SurveyRecordID))
	code := ""
	if req.AccessCode != "" {
		c, ok := pseudo.NormaliseAccessCode(req.AccessCode)
		if !ok {
			// Not quoted: a name or a phone number typed here must not reach a log.
			return OptOutResult{}, fault.Errorf(fault.BadInput, "the --access-code given is not an access code (XXXX-XXXX-XXXX); it is not repeated")
		}
		code = c
	}
	found := false
	err := lake.Scan(ctx, st, schemas.ContactsKey(req.Wave, req.ICS), schemas.ContactLayout(), func(c *schemas.Contact) error {
		if (id != "" && c.SurveyRecordID == id) || (code != "" && c.AccessCode == code) {
			id, found = c.SurveyRecordID, true
		}
		return nil
	})
	if err != nil {
		return OptOutResult{}, err
	}
	if !found {
		// The value is named only when it is a survey record id, which identifies
		// nobody: anything else (an NHS number, a name) and an access code (which lets
		// its holder answer as the person) are not repeated, as the refusal reaches the
		// workflow's history, the worker's log and the audit trail.
		what := "survey record " + id
		if req.AccessCode != "" {
			what = "the access code given"
		}
		hint := ""
		if req.AccessCode == "" && !pseudo.IsSurveyRecordID(id) {
			what = "the survey record given (not repeated)"
			// The ICB's own RECORD_ID is what a data engineer has at hand, and never
			// matches: say what is asked for.
			hint = fmt.Sprintf(" (a survey record id is S and %d letters and digits, as in the mailing files and responses; not the sample's RECORD_ID)",
				pseudo.SurveyRecordIDLen-1)
		}
		return OptOutResult{}, fault.Errorf(fault.BadInput, "%s is not in the %s sample of wave %s%s", what, req.ICS, req.Wave, hint)
	}
	key := schemas.OptOutKey(req.Wave, req.ICS, id)
	if err := firstOptOutStands(ctx, st, key, id, now); err != nil {
		return OptOutResult{}, err
	}
	ev := schemas.OutcomeEvent{EventID: "optout/" + id, Wave: req.Wave, ICS: req.ICS, LoadDate: now.Truncate(24 * time.Hour),
		SurveyRecordID: id, Outcome: schemas.OutcomeOptedOut, At: now, Reason: reason, SourceFile: schemas.LateOptOutSource}
	if err := lake.PutRows(ctx, st, key, schemas.OutcomeEventLayout(), []schemas.OutcomeEvent{ev}); err != nil {
		return OptOutResult{}, err
	}
	audit.Record(ctx, "late_opt_out", map[string]any{"survey_record_id": id, "reason": reason})
	return OptOutResult{SurveyRecordID: id, Objects: []schemas.LakeObject{schemas.LakeOutcomeEvents.Object(key)}}, nil
}

// firstOptOutStands refuses a second late opt-out of survey record id (its object at
// key): the first one's time and reason stay in the lake. An object made at now is
// this same opt-out's, written by an earlier attempt.
func firstOptOutStands(ctx context.Context, st store.Store, key, id string, now time.Time) error {
	rows, err := lake.GetRows[schemas.OutcomeEvent](ctx, st, key, schemas.OutcomeEventLayout())
	if errors.Is(err, store.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the opt-out already recorded for %s: %w", id, err)
	}
	for _, ev := range rows {
		if ev.At.Equal(now) {
			continue
		}
		// One recorded before reasons were codes may hold free text: not repeated.
		reason := "reason " + ev.Reason
		if !slices.Contains(schemas.LateOptOutReasons, ev.Reason) {
			reason = "a reason that is no code"
		}
		return fault.Errorf(fault.BadInput, "survey record %s was already opted out at %s with %s; the first opt-out stands",
			id, ev.At.UTC().Format(time.RFC3339), reason)
	}
	return nil
}

// OptedOut lists everyone with a late opt-out recorded in the lake (one object each,
// named by survey record ID), so a send can honour opt-outs newer than its selection.
func OptedOut(ctx context.Context, st store.Store, wave, ics string) (map[string]bool, error) {
	prefix := schemas.OptOutPrefix(wave, ics)
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(infos))
	for _, inf := range infos {
		if id, ok := schemas.OptOutRecordID(prefix, inf.Key); ok {
			out[id] = true
		}
	}
	return out, nil
}
