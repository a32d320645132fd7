package activities

import (
	"context"
	"time"

	"icesurvey/audit"
	"icesurvey/dbs"
	"icesurvey/retention"
	"icesurvey/schemas"
)

// LandedFile is a file an ICS sent, as its intake saw it (retention.LandedFile).
type LandedFile struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256,omitempty"`
	Rows   int    `json:"rows,omitempty"`
}

// RetentionInput names the ICS whose identifiable data goes, and the files it sent.
type RetentionInput struct {
	Scope
	Landed []LandedFile `json:"landed,omitempty"`
}

func (in RetentionInput) scope() retention.Scope {
	s := retention.Scope{WaveID: in.WaveID, ICS: in.ICS}
	for _, f := range in.Landed {
		s.Landed = append(s.Landed, retention.LandedFile(f))
	}
	return s
}

// RetentionLineageOutput reports the landed files whose lineage is recorded.
type RetentionLineageOutput struct {
	Files int    `json:"files"`
	Key   string `json:"key"`
}

// RetentionOutput reports the deletion of an ICS's identifiable data.
type RetentionOutput struct {
	Deleted         int `json:"deleted"`
	Landed          int `json:"landed"`
	Identifiable    int `json:"identifiable"`
	TransportCopies int `json:"transport_copies"`
}

// RecordRetentionLineage records the SHA-256, size and row count of each landed file
// the retention will delete (retention.RecordLineage), in the ICS's lineage object and,
// one event per file, in the audit trail, before DeleteIdentifiable runs.
func (a *Activities) RecordRetentionLineage(ctx context.Context, in RetentionInput) (RetentionLineageOutput, error) {
	s := in.scope()
	keys, err := retention.List(ctx, a.Store, s)
	if err != nil {
		return RetentionLineageOutput{}, err
	}
	plan, err := retention.MakePlan(s, keys)
	if err != nil {
		return RetentionLineageOutput{}, err
	}
	l, err := retention.RecordLineage(ctx, a.Store, s, plan, time.Now())
	if err != nil {
		return RetentionLineageOutput{}, err
	}
	for _, f := range l.Files {
		recordLineage(ctx, f)
	}
	return RetentionLineageOutput{Files: len(l.Files), Key: schemas.RetentionLineageKey(in.WaveID, in.ICS)}, nil
}

// DeleteIdentifiable deletes everything identifiable of one ICS (retention.Delete):
// the landed files (whose lineage RecordRetentionLineage recorded), the mailing
// process's data, and the DBS transport's copies of the ICS's requests. The lake and
// the free text stay. A repeat deletes nothing more.
func (a *Activities) DeleteIdentifiable(ctx context.Context, in RetentionInput) (RetentionOutput, error) {
	s := in.scope()
	keys, err := retention.List(ctx, a.Store, s)
	if err != nil {
		return RetentionOutput{}, err
	}
	plan, err := retention.MakePlan(s, keys)
	if err != nil {
		return RetentionOutput{}, err
	}
	var forget retention.Forget
	if f, ok := a.DBS.(dbs.Forgetter); ok {
		forget = f.Forget
	}
	d, err := retention.Delete(ctx, a.Store, s, plan, forget)
	if err != nil {
		return RetentionOutput{}, err
	}
	audit.Record(ctx, "identifiable_data_deleted", map[string]any{"landed": d.Landed, "identifiable": d.Identifiable,
		"transport_copies": d.TransportCopies, "dbs_requests": len(plan.DBSRequests), "late_supplier_files_left_to_load": len(d.LeftToLoad),
		"kept": []string{schemas.FreeTextRoot(in.WaveID, in.ICS), schemas.AreaLake.Prefix()}})
	return RetentionOutput{Deleted: d.Total(), Landed: d.Landed, Identifiable: d.Identifiable, TransportCopies: d.TransportCopies}, nil
}

// DeleteRestricted is the retention activity of retention workflows started before
// RecordRetentionLineage existed (workflow version "retention-deletes-everything"
// unset). It runs the whole retention of the ICS: the lineage, then the deletion.
func (a *Activities) DeleteRestricted(ctx context.Context, in Scope) (RetentionOutput, error) {
	rin := RetentionInput{Scope: in}
	if _, err := a.RecordRetentionLineage(ctx, rin); err != nil {
		return RetentionOutput{}, err
	}
	return a.DeleteIdentifiable(ctx, rin)
}

// recordLineage records one landed file's lineage in the audit trail.
func recordLineage(ctx context.Context, f retention.FileLineage) {
	audit.Record(ctx, "landed_file_lineage", map[string]any{"key": f.Key, "sha256": f.SHA256, "size": f.Size,
		"rows": f.Rows, "rows_counted": f.RowsCounted})
}
