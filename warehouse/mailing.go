package warehouse

import (
	"context"
	"database/sql"
	"fmt"

	"icesurvey/mailing"
	"icesurvey/schemas"
)

// Recipients decides, at the moment a mailing step falls due, who it goes to:
// everyone in the ICS's sample whose outcome is still the default (no response) — so
// nobody who has responded, opted out, died or had a letter returned undelivered, nor
// anyone another ICS's sample of the wave holds and keeps (cross_ics_samples: outcome 5
// here) — and for an SMS step only those with a valid mobile whose number has not
// failed for good. The list holds pseudonymous survey record IDs only, in order.
// elsewhere counts those the step would have gone to but for another ICS keeping them.
func (w *Warehouse) Recipients(ctx context.Context, wave, ics, channel string) (ids []schemas.Selection, elsewhere int, err error) {
	q := `SELECT o.survey_record_id FROM outcomes o
		JOIN sample s ON s.wave_id = o.wave_id AND s.ics = o.ics AND s.survey_record_id = o.survey_record_id
		WHERE o.wave_id = ? AND o.ics = ? AND o.outcome = ?`
	args := []any{wave, ics, schemas.OutcomeDefault}
	// Left out as kept by another ICS: nothing else (a completion, death or opt-out of
	// their own here) took them out first, so their outcome is the 5 the view gave them.
	qElsewhere := `SELECT count(*) FROM cross_ics_samples c
		JOIN outcomes o ON o.wave_id = c.wave_id AND o.ics = c.ics AND o.survey_record_id = c.survey_record_id
		JOIN sample s ON s.wave_id = c.wave_id AND s.ics = c.ics AND s.survey_record_id = c.survey_record_id
		WHERE c.wave_id = ? AND c.ics = ? AND c.left_out AND o.outcome = ?`
	argsElsewhere := []any{wave, ics, schemas.OutcomeIneligible}
	if channel == mailing.ChannelSMS {
		q += ` AND s.has_mobile AND NOT EXISTS (SELECT 1 FROM mailing_history h
			WHERE h.wave_id = o.wave_id AND h.ics = o.ics AND h.survey_record_id = o.survey_record_id
			AND h.channel = ? AND h.result = ?)`
		args = append(args, mailing.ChannelSMS, schemas.ResultPermanentFailure)
		qElsewhere += ` AND s.has_mobile`
	}
	q += ` ORDER BY o.survey_record_id`
	err = w.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("warehouse: select recipients: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s schemas.Selection
			if err := rows.Scan(&s.SurveyRecordID); err != nil {
				return err
			}
			ids = append(ids, s)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if err := db.QueryRowContext(ctx, qElsewhere, argsElsewhere...).Scan(&elsewhere); err != nil {
			return fmt.Errorf("warehouse: count recipients kept by another ICS: %w", err)
		}
		return nil
	})
	return ids, elsewhere, err
}

// FinalOutcomes gives every sampled person of an ICS their outcome code as it stands
// (the outcomes view), in survey record ID order, with the count of each code: the
// closing record of the wave.
func (w *Warehouse) FinalOutcomes(ctx context.Context, wave, ics string) ([]schemas.FinalOutcome, map[int]int, error) {
	var out []schemas.FinalOutcome
	counts := map[int]int{}
	err := w.Read(ctx, func(db *sql.DB) error {
		rs, err := db.QueryContext(ctx, `SELECT survey_record_id, outcome FROM outcomes WHERE wave_id = ? AND ics = ? ORDER BY survey_record_id`, wave, ics)
		if err != nil {
			return fmt.Errorf("warehouse: final outcomes: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			f := schemas.FinalOutcome{WaveID: wave, ICS: ics}
			if err := rs.Scan(&f.SurveyRecordID, &f.Outcome); err != nil {
				return err
			}
			counts[int(f.Outcome)]++
			out = append(out, f)
		}
		return rs.Err()
	})
	return out, counts, err
}
