package activities

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// WarehouseActivities write the DuckDB warehouse. They are registered on the warehouse
// task queue by exactly one worker process.
type WarehouseActivities struct {
	Store     store.Store
	Warehouse *warehouse.Warehouse
	flushMu   sync.Mutex
}

// LoadLakeObject loads one lake object into its warehouse table. Loading the same
// object twice changes nothing.
func (w *WarehouseActivities) LoadLakeObject(ctx context.Context, in LoadInput) (LoadOutput, error) {
	t, err := warehouse.LookupTable(in.Table)
	if err != nil {
		return LoadOutput{}, NonRetryable(ErrConfiguration, err)
	}
	var partition []any
	if len(t.PartitionBy) > 0 {
		partition = []any{in.WaveID, in.ICS}
	}
	out, sum, err := w.load(ctx, t, in.Key, partition)
	if err != nil {
		return out, err
	}
	audit.Record(ctx, "warehouse_load", map[string]any{"table": in.Table, "key": in.Key, "sha256": sum, "rows": out.Rows, "skipped": out.Skipped})
	return out, nil
}

// load copies a lake object to a local file once, hashes that copy, and loads it into
// table t in one warehouse transaction.
func (w *WarehouseActivities) load(ctx context.Context, t warehouse.Table, key string, partition []any) (LoadOutput, string, error) {
	path, cleanup, err := lake.LocalCopy(ctx, w.Store, key)
	if err != nil {
		return LoadOutput{}, "", err
	}
	defer cleanup()
	sum, err := fileSHA256(path)
	if err != nil {
		return LoadOutput{}, "", fmt.Errorf("load %s: %w", key, err)
	}
	var out LoadOutput
	err = w.Warehouse.Write(ctx, func(tx *sql.Tx) error {
		n, skipped, err := warehouse.LoadParquet(ctx, tx, t, path, key, sum, partition...)
		out = LoadOutput{Rows: n, Skipped: skipped}
		return err
	})
	if err != nil {
		return out, sum, retryableWarehouse(err)
	}
	return out, sum, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// SelectRecipients decides, at the moment a mailing falls due, who it goes to:
// everyone in the sample whose outcome is still "no response" — so nobody who has
// responded, opted out, died or had a letter returned undelivered — and for SMS only
// those with a valid mobile whose number has not failed for good. The list is written
// to the lake (pseudonymous ids only) and its key returned.
func (w *WarehouseActivities) SelectRecipients(ctx context.Context, in SelectInput) (SelectOutput, error) {
	q := `SELECT o.survey_record_id FROM outcomes o
		JOIN sample s ON s.wave_id = o.wave_id AND s.ics = o.ics AND s.survey_record_id = o.survey_record_id
		WHERE o.wave_id = ? AND o.ics = ? AND o.outcome = 6`
	if in.Channel == "sms" {
		q += ` AND s.has_mobile AND NOT EXISTS (SELECT 1 FROM mailing_history h
			WHERE h.wave_id = o.wave_id AND h.ics = o.ics AND h.survey_record_id = o.survey_record_id
			AND h.channel = 'sms' AND h.result = 'permanent-failure')`
	}
	q += ` ORDER BY o.survey_record_id`
	var ids []schemas.Selection
	err := w.Warehouse.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, q, in.WaveID, in.ICS)
		if err != nil {
			return fmt.Errorf("select recipients: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var s schemas.Selection
			if err := rows.Scan(&s.SurveyRecordID); err != nil {
				return err
			}
			ids = append(ids, s)
		}
		return rows.Err()
	})
	if err != nil {
		return SelectOutput{}, retryableWarehouse(err)
	}
	key := fmt.Sprintf("%s%s-%s.parquet", schemas.LakePartition("mailing_selection", in.WaveID, in.ICS), in.Step, in.Round)
	if err := lake.PutRows(ctx, w.Store, key, schemas.SelectionLayout(), ids); err != nil {
		return SelectOutput{}, err
	}
	audit.Record(ctx, "recipients_selected", map[string]any{"step": in.Step, "channel": in.Channel, "round": in.Round, "count": len(ids), "key": key})
	return SelectOutput{Key: key, Count: len(ids)}, nil
}

// CloseFieldwork gives every record of an ICS its final outcome code and writes them
// to the lake as the closing record of the wave.
func (w *WarehouseActivities) CloseFieldwork(ctx context.Context, in Scope) (CloseOutput, error) {
	type final struct {
		SurveyRecordID string `col:"survey_record_id,key"`
		WaveID         string `col:"wave_id"`
		ICS            string `col:"ics"`
		Outcome        int32  `col:"outcome"`
	}
	var rows []final
	out := CloseOutput{Outcomes: map[int]int{}}
	err := w.Warehouse.Read(ctx, func(db *sql.DB) error {
		rs, err := db.QueryContext(ctx, `SELECT survey_record_id, outcome FROM outcomes WHERE wave_id = ? AND ics = ? ORDER BY survey_record_id`, in.WaveID, in.ICS)
		if err != nil {
			return fmt.Errorf("final outcomes: %w", err)
		}
		defer rs.Close()
		for rs.Next() {
			f := final{WaveID: in.WaveID, ICS: in.ICS}
			if err := rs.Scan(&f.SurveyRecordID, &f.Outcome); err != nil {
				return err
			}
			out.Outcomes[int(f.Outcome)]++
			rows = append(rows, f)
		}
		return rs.Err()
	})
	if err != nil {
		return out, retryableWarehouse(err)
	}
	out.Key = schemas.LakePartition("final_outcomes", in.WaveID, in.ICS) + "final_outcomes.parquet"
	if err := lake.PutRows(ctx, w.Store, out.Key, schemas.LayoutOf[final]("final_outcomes"), rows); err != nil {
		return out, err
	}
	details := map[string]any{"records": len(rows), "key": out.Key}
	for code, n := range out.Outcomes {
		details[fmt.Sprintf("outcome_%d_%s", code, schemas.OutcomeName(code))] = n
	}
	audit.Record(ctx, "fieldwork_closed", details)
	return out, nil
}

// FlushAudit compacts a wave's pending audit events into a lake batch, loads it into
// audit_log, and only then discards the pending objects.
func (w *WarehouseActivities) FlushAudit(ctx context.Context, in FlushAuditInput) (FlushAuditOutput, error) {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	key, events, pendingKeys, err := audit.Compact(ctx, w.Store, in.WaveID)
	if err != nil || key == "" {
		return FlushAuditOutput{}, err
	}
	// audit_log is keyed by event ID: a batch rewritten after a crash adds nothing twice.
	if _, _, err := w.load(ctx, warehouse.Tables["audit_log"], key, nil); err != nil {
		return FlushAuditOutput{}, err // names the batch; kept unwrapped so its error type shows in the trail
	}
	if err := audit.Discard(ctx, w.Store, pendingKeys); err != nil {
		return FlushAuditOutput{}, err
	}
	return FlushAuditOutput{Events: len(events), BatchKey: key}, nil
}
