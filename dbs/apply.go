package dbs

import (
	"context"
	"fmt"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// ErrReplyNotReady is returned by Check while the reply to a request has not arrived:
// a transient fault.NotReady, polled for by the caller's retry policy.
var ErrReplyNotReady = fault.New(fault.NotReady, "dbs: reply not arrived yet")

// Checked is a deceased check applied to the wave: the reply's counts and the lake
// objects written (the deaths' outcome events and, when superseded NHS numbers changed
// pseudonyms, the sample), which the warehouse must load together.
type Checked struct {
	Outcome *Outcome
	// Repseudonymised counts sample records re-keyed for a superseded NHS number.
	Repseudonymised int
	Objects         []schemas.LakeObject
}

// Check collects the reply to requestID (Collect) and applies it to the wave (Apply).
// It fails with ErrReplyNotReady while the reply has not come, and with a
// *ParseError or *ReplyMismatchError (fault.ReplyMismatch) for a reply that cannot
// be used. Checking the same reply again writes the same objects.
func Check(ctx context.Context, st store.Store, tr Transport, keyed *pseudo.Keyed, wave, ics, requestID string) (Checked, error) {
	out, ready, err := Collect(ctx, st, tr, wave, ics, requestID)
	if err != nil {
		return Checked{}, err
	}
	if !ready {
		return Checked{}, fmt.Errorf("%w: %s", ErrReplyNotReady, requestID)
	}
	return Apply(ctx, st, keyed, wave, ics, out, time.Now().UTC())
}

// Apply applies a reconciled reply to the wave: superseded NHS numbers become the
// current contacts (every later mailing and check uses them) and re-key the lake
// sample's pseudonyms (package pseudo), and each death becomes an outcome event in the
// lake (outcome 3, at the date of death, loaded on the day of now). It is idempotent.
func Apply(ctx context.Context, st store.Store, keyed *pseudo.Keyed, wave, ics string, o *Outcome, now time.Time) (Checked, error) {
	res := Checked{Outcome: o}
	if o.UpdatedContactsKey != "" {
		b, err := store.ReadAll(ctx, st, o.UpdatedContactsKey)
		if err != nil {
			return res, fmt.Errorf("dbs: apply %s: read updated contacts: %w", o.RequestID, err)
		}
		if err := store.PutBytes(ctx, st, schemas.ContactsKey(wave, ics), b); err != nil {
			return res, fmt.Errorf("dbs: apply %s: store contacts: %w", o.RequestID, err)
		}
		// The analysis record must follow: its pseudonym is of the old number, and every
		// later linkage would key on it.
		n, err := repseudonymiseSample(ctx, st, keyed, wave, ics, o.NewNHSNumbers)
		if err != nil {
			return res, fmt.Errorf("dbs: apply %s: %w", o.RequestID, err)
		}
		res.Repseudonymised = n
		audit.Record(ctx, "nhs_numbers_superseded", map[string]any{"request_id": o.RequestID, "updated": o.NHSNumbersUpdated,
			"sample_records_repseudonymised": n})
	}
	if len(o.DeceasedIDs) > 0 {
		events := make([]schemas.OutcomeEvent, 0, len(o.DeceasedIDs))
		for _, id := range o.DeceasedIDs {
			at := now
			if d, ok := o.DatesOfDeath[id]; ok {
				at = d
			}
			events = append(events, schemas.OutcomeEvent{EventID: "dbs/" + o.RequestID + "/" + id, Wave: wave, ICS: ics,
				LoadDate: now.Truncate(24 * time.Hour), SurveyRecordID: id, Outcome: schemas.OutcomeDeceased, At: at,
				Reason: "dbs_deceased", SourceFile: o.ResultsKey})
		}
		key := schemas.DBSOutcomesKey(wave, ics, o.RequestID)
		if err := lake.PutRows(ctx, st, key, schemas.OutcomeEventLayout(), events); err != nil {
			return res, fmt.Errorf("dbs: apply %s: %w", o.RequestID, err)
		}
		res.Objects = append(res.Objects, schemas.LakeOutcomeEvents.Object(key))
	}
	if res.Repseudonymised > 0 {
		res.Objects = append(res.Objects, schemas.SampleObject(wave, ics))
	}
	audit.Record(ctx, "dbs_applied", map[string]any{"request_id": o.RequestID, "sent": o.Sent, "matched": o.Matched,
		"deceased": o.Deceased, "superseded": o.Superseded, "unmatched": o.Unmatched, "multiple": o.Multiple,
		"cross_check_failed": o.CrossCheckFailed})
	return res, nil
}

// repseudonymiseSample rewrites the lake sample with the pseudonyms of superseded NHS
// numbers (newNumbers: survey record ID → new number) and says how many records
// changed. Applying the same numbers again changes nothing and writes nothing.
func repseudonymiseSample(ctx context.Context, st store.Store, keyed *pseudo.Keyed, wave, ics string, newNumbers map[string]string) (int, error) {
	if len(newNumbers) == 0 {
		return 0, nil
	}
	key := schemas.SampleKey(wave, ics)
	rows, err := lake.GetRows[schemas.SampleRecord](ctx, st, key, schemas.SampleRecordLayout())
	if err != nil {
		return 0, fmt.Errorf("read the sample: %w", err)
	}
	changed := pseudo.RepseudonymiseRecords(keyed, rows, newNumbers,
		func(r *schemas.SampleRecord) string { return r.SurveyRecordID },
		func(r *schemas.SampleRecord) *string { return &r.NHSPseudonym })
	if changed == 0 {
		return 0, nil
	}
	if err := lake.PutRows(ctx, st, key, schemas.SampleRecordLayout(), rows); err != nil {
		return 0, fmt.Errorf("rewrite the sample: %w", err)
	}
	return changed, nil
}
