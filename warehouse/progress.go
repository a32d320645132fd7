package warehouse

import (
	"context"
	"database/sql"
	"time"

	"icesurvey/schemas"
)

// Progress is how far a wave's fieldwork has come, as the warehouse knows it.
type Progress struct {
	// FieldworkStart is when the wave's first message went out (zero before).
	FieldworkStart time.Time
	// CompletedPct is the share of each ICS's sample with a completed questionnaire.
	CompletedPct map[string]float64
	// AuditEvents is how many of the wave's audit events are in audit_log.
	AuditEvents int64
}

// WaveProgress reads a wave's progress (for `ice demo`'s running commentary).
func (w *Warehouse) WaveProgress(ctx context.Context, wave string) (Progress, error) {
	p := Progress{CompletedPct: map[string]float64{}}
	err := w.Read(ctx, func(db *sql.DB) error {
		var first sql.NullTime
		if err := db.QueryRowContext(ctx, `SELECT min(sent_at) FROM mailing_history WHERE wave_id = ?`, wave).Scan(&first); err != nil {
			return err
		}
		if first.Valid {
			p.FieldworkStart = first.Time.UTC()
		}
		rows, err := db.QueryContext(ctx, `SELECT ics, 100.0 * count(*) FILTER (WHERE outcome = ?) / count(*) FROM outcomes
			WHERE wave_id = ? GROUP BY ics`, schemas.OutcomeCompleted, wave)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ics string
			var pct float64
			if err := rows.Scan(&ics, &pct); err != nil {
				return err
			}
			p.CompletedPct[ics] = pct
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return db.QueryRowContext(ctx, `SELECT count(*) FROM audit_log WHERE wave_id = ?`, wave).Scan(&p.AuditEvents)
	})
	return p, err
}
