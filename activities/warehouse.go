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
	out, err := w.LoadLakeObjects(ctx, LoadObjectsInput{Scope: in.Scope, Objects: []LakeObject{{Table: in.Table, Key: in.Key}}})
	if err != nil {
		return LoadOutput{}, err
	}
	return out.ByKey[in.Key], nil
}

// LoadLakeObjects loads several lake objects of one wave and ICS, each into its
// warehouse table, in one warehouse transaction: analysts see all of them or none (a
// day's responses never without its duplicates), and the file is opened and
// checkpointed once. Objects already loaded are skipped, so a retry changes nothing.
func (w *WarehouseActivities) LoadLakeObjects(ctx context.Context, in LoadObjectsInput) (LoadObjectsOutput, error) {
	out, sums, err := w.loadObjects(ctx, in)
	if err != nil {
		return out, err
	}
	for _, o := range in.Objects {
		lo := out.ByKey[o.Key]
		audit.Record(ctx, "warehouse_load", map[string]any{"table": o.Table, "key": o.Key, "sha256": sums[o.Key], "rows": lo.Rows, "skipped": lo.Skipped})
	}
	return out, nil
}

// loadObjects does the work of LoadLakeObjects without the audit events (the audit
// flush uses it: its own load is not an event of the wave). It returns each object's
// SHA-256 by key.
func (w *WarehouseActivities) loadObjects(ctx context.Context, in LoadObjectsInput) (LoadObjectsOutput, map[string]string, error) {
	type object struct {
		LakeObject
		table     warehouse.Table
		partition []any
		path, sum string
	}
	objs := make([]object, 0, len(in.Objects))
	seen := map[LakeObject]bool{}
	for _, o := range in.Objects {
		if seen[o] {
			continue
		}
		seen[o] = true
		t, err := warehouse.LookupTable(o.Table)
		if err != nil {
			return LoadObjectsOutput{}, nil, NonRetryable(ErrConfiguration, err)
		}
		ob := object{LakeObject: o, table: t}
		if len(t.PartitionBy) > 0 {
			ob.partition = []any{in.WaveID, in.ICS}
		}
		// A local copy, hashed once: on S3 each object is downloaded once.
		path, cleanup, err := lake.LocalCopy(ctx, w.Store, o.Key)
		if err != nil {
			return LoadObjectsOutput{}, nil, err
		}
		defer cleanup()
		if ob.sum, err = fileSHA256(path); err != nil {
			return LoadObjectsOutput{}, nil, fmt.Errorf("load %s: %w", o.Key, err)
		}
		ob.path = path
		objs = append(objs, ob)
	}
	out := LoadObjectsOutput{ByKey: make(map[string]LoadOutput, len(objs))}
	err := w.Warehouse.Write(ctx, func(tx *sql.Tx) error {
		for _, o := range objs {
			n, skipped, err := warehouse.LoadParquet(ctx, tx, o.table, o.path, o.Key, o.sum, o.partition...)
			if err != nil {
				return err
			}
			out.ByKey[o.Key] = LoadOutput{Rows: n, Skipped: skipped}
		}
		return nil
	})
	if err != nil {
		return LoadObjectsOutput{}, nil, retryableWarehouse(err)
	}
	sums := make(map[string]string, len(objs))
	for _, o := range objs {
		sums[o.Key] = o.sum
	}
	return out, sums, nil
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
	if _, _, err := w.loadObjects(ctx, LoadObjectsInput{Scope: in.Scope, Objects: []LakeObject{{Table: "audit_log", Key: key}}}); err != nil {
		return FlushAuditOutput{}, err // names the batch; kept unwrapped so its error type shows in the trail
	}
	if err := audit.Discard(ctx, w.Store, pendingKeys); err != nil {
		return FlushAuditOutput{}, err
	}
	return FlushAuditOutput{Events: len(events), BatchKey: key}, nil
}
