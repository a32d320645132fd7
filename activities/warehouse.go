package activities

import (
	"context"
	"fmt"
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
	// FreeText decides who may have a report that quotes free text (access.FileGate);
	// nil refuses every such report.
	FreeText FreeTextGate
	flushMu  sync.Mutex
}

// LoadLakeObjects loads lake objects of one wave and ICS, each into its warehouse
// table, in one warehouse transaction (warehouse.LoadLakeObjects): analysts see all of
// them or none. Objects already loaded are skipped, so a retry changes nothing.
func (w *WarehouseActivities) LoadLakeObjects(ctx context.Context, in LoadObjectsInput) (LoadObjectsOutput, error) {
	loaded, err := w.Warehouse.LoadLakeObjects(ctx, w.Store, in.WaveID, in.ICS, in.Objects)
	if err != nil {
		return LoadObjectsOutput{}, err
	}
	out := LoadObjectsOutput{ByKey: make(map[string]LoadOutput, len(loaded))}
	for _, l := range loaded {
		out.ByKey[l.Key] = LoadOutput{Rows: l.Rows, Skipped: l.Skipped}
		audit.Record(ctx, "warehouse_load", map[string]any{"table": l.Table, "key": l.Key, "sha256": l.SHA256, "rows": l.Rows, "skipped": l.Skipped})
	}
	return out, nil
}

// SelectRecipients decides, at the moment a mailing falls due, who it goes to
// (warehouse.Recipients: everyone still without an outcome, and for SMS only valid
// mobiles that have not failed for good; nobody another ICS's sample of the wave holds
// and keeps, counted as InAnotherICS). The list is written to the lake (pseudonymous
// ids only) and its key returned.
func (w *WarehouseActivities) SelectRecipients(ctx context.Context, in SelectInput) (SelectOutput, error) {
	ids, elsewhere, err := w.Warehouse.Recipients(ctx, in.WaveID, in.ICS, in.Channel)
	if err != nil {
		return SelectOutput{}, err
	}
	key := schemas.SelectionKey(in.WaveID, in.ICS, in.Step, in.Round)
	if err := lake.PutRows(ctx, w.Store, key, schemas.SelectionLayout(), ids); err != nil {
		return SelectOutput{}, err
	}
	audit.Record(ctx, "recipients_selected", map[string]any{"step": in.Step, "channel": in.Channel, "round": in.Round, "count": len(ids),
		"in_another_ics": elsewhere, "key": key})
	return SelectOutput{Key: key, Count: len(ids), InAnotherICS: elsewhere, Objects: []schemas.LakeObject{schemas.LakeMailingSelection.Object(key)}}, nil
}

// CloseFieldwork gives every record of an ICS its final outcome code
// (warehouse.FinalOutcomes) and writes them to the lake as the closing record of the
// wave. Its audit event names the mailing steps that never went out, and why.
func (w *WarehouseActivities) CloseFieldwork(ctx context.Context, in CloseInput) (CloseOutput, error) {
	rows, counts, err := w.Warehouse.FinalOutcomes(ctx, in.WaveID, in.ICS)
	if err != nil {
		return CloseOutput{}, err
	}
	out := CloseOutput{Outcomes: counts, Key: schemas.FinalOutcomesKey(in.WaveID, in.ICS)}
	out.Objects = []schemas.LakeObject{schemas.LakeFinalOutcomes.Object(out.Key)}
	if err := lake.PutRows(ctx, w.Store, out.Key, schemas.FinalOutcomeLayout(), rows); err != nil {
		return out, err
	}
	details := map[string]any{"records": len(rows), "key": out.Key}
	for code, n := range out.Outcomes {
		details[fmt.Sprintf("outcome_%d_%s", code, schemas.OutcomeName(code))] = n
	}
	if len(in.NotSent) > 0 {
		notSent := make([]string, len(in.NotSent))
		for i, s := range in.NotSent {
			notSent[i] = s.Step + ": " + s.Why
		}
		details["steps_not_sent"] = notSent
	}
	audit.Record(ctx, "fieldwork_closed", details)
	return out, nil
}

// FlushAudit compacts a wave's pending audit events into a lake batch, loads it into
// audit_log, and only then discards the pending objects. Its own load is not an event
// of the wave, so it records none.
func (w *WarehouseActivities) FlushAudit(ctx context.Context, in FlushAuditInput) (FlushAuditOutput, error) {
	w.flushMu.Lock()
	defer w.flushMu.Unlock()
	key, events, pendingKeys, err := audit.Compact(ctx, w.Store, in.WaveID)
	if err != nil || key == "" {
		return FlushAuditOutput{}, err
	}
	// audit_log is keyed by event ID: a batch rewritten after a crash adds nothing twice.
	if _, err := w.Warehouse.LoadLakeObjects(ctx, w.Store, in.WaveID, in.ICS, []schemas.LakeObject{schemas.LakeAudit.Object(key)}); err != nil {
		return FlushAuditOutput{}, err // names the batch; kept unwrapped so its error type shows in the trail
	}
	if err := audit.Discard(ctx, w.Store, pendingKeys); err != nil {
		return FlushAuditOutput{}, err
	}
	return FlushAuditOutput{Events: len(events), BatchKey: key}, nil
}
