package activities

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/questionnaire"
	"icesurvey/responses"
	"icesurvey/retention"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Questionnaires names the questionnaire versions and local questions of one ICS's
// wave, so the load (and the dev simulator) judge answers against what was fielded.
type Questionnaires struct {
	PatientVersion string   `json:"patient_version"`
	CarerVersion   string   `json:"carer_version,omitempty"`
	LocalQuestions []string `json:"local_questions,omitempty"`
}

func (q Questionnaires) versions() []string {
	v := []string{q.PatientVersion}
	if q.CarerVersion != "" {
		v = append(v, q.CarerVersion)
	}
	return v
}

// Resolve resolves the versions from the embedded catalogue. An unknown version or
// local question is a fault.Configuration error no retry can fix.
func (q Questionnaires) Resolve() (map[string]*questionnaire.Questionnaire, error) {
	if q.PatientVersion == "" {
		return nil, fault.New(fault.Configuration, "no patient questionnaire version")
	}
	set, err := questionnaire.ResolveSet(q.versions(), q.LocalQuestions)
	if err != nil {
		return nil, fault.Wrap(fault.Configuration, err)
	}
	return set, nil
}

// LoadResponses runs the daily response load for one ICS and day (responses.Load): it
// validates, de-duplicates and derives outcome events, writing the lake partitions of
// the day and the free text to the restricted area, and lists the day's lake objects
// (responses.DayObjects) for the warehouse. Loading the same files again changes
// nothing.
func (a *Activities) LoadResponses(ctx context.Context, in LoadResponsesInput) (LoadResponsesOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	if in.Date.IsZero() {
		return LoadResponsesOutput{}, fault.New(fault.Configuration, "no load date")
	}
	qns, err := in.Questionnaires.Resolve()
	if err != nil {
		return LoadResponsesOutput{}, err
	}
	// The sample and mailing history are read while the load reads and parses the
	// day's files. A failed read cancels the load's context, which it checks before it
	// writes, and is the activity's error.
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	known, firstMailing, knownErr, err := responses.KnownFromLake(loadCtx, cancel, a.Store, in.WaveID, in.ICS)
	if err != nil {
		return LoadResponsesOutput{}, err
	}
	res, err := responses.Load(loadCtx, a.Store, responses.LoadConfig{
		WaveID: in.WaveID, ICS: in.ICS, Questionnaires: qns, Known: known, FirstMailing: firstMailing,
	}, in.Date)
	if kerr := knownErr(); kerr != nil {
		return LoadResponsesOutput{}, kerr // the cause, rather than the load's "context canceled"
	}
	if err != nil {
		return LoadResponsesOutput{}, err
	}
	out := LoadResponsesOutput{
		LoadDate: res.LoadDate, NoFiles: res.NoFiles, Files: len(res.Files), FilesSkipped: res.FilesSkipped,
		RowsRead: res.RowsRead, Loaded: res.Loaded, Rejected: res.Rejected, Duplicates: res.Duplicates,
		Superseded: res.Superseded, Responses: res.Responses, Outcomes: res.Outcomes,
		FreeTextItems: res.FreeTextItems, ByReason: res.ByReason, RejectedFiles: res.RejectedFiles(),
	}
	if res.NoFiles {
		// A retry after this load deleted the day's files (its ICS's retention had
		// begun) still hands the warehouse the day's objects.
		if gone, err := deletedAfterRetention(ctx, a.Store, in); err != nil || !gone {
			return out, err
		}
		out.AfterRetention = true
		out.Objects, err = responses.DayObjects(ctx, a.Store, in.WaveID, in.ICS, in.Date)
		return out, err
	}
	if res.Loaded > 0 || len(res.Outcomes) > 0 {
		if err := markAfterClosingRecord(ctx, a.Store, in, &out); err != nil {
			return out, err
		}
	}
	if out.Objects, err = responses.DayObjects(ctx, a.Store, in.WaveID, in.ICS, in.Date); err != nil {
		return out, err
	}
	// Last, once every output is stored: a retry finds the files gone (above).
	if err := deleteAfterRetention(ctx, a.Store, in, res, &out); err != nil {
		return out, err
	}
	return out, nil
}

// deleteAfterRetention deletes the day's landed files once loaded when the ICS's
// retention has begun (retention.Started): the retention ran once and will not come
// for them, and a supplier's file holds free text and identifiers. As the retention
// does (retention.DeleteLanded), each file's SHA-256, size and rows are recorded first
// in the ICS's retention lineage object and the audit trail. The free text the load
// wrote stays in the free-text area, which the retention keeps too.
func deleteAfterRetention(ctx context.Context, st store.Store, in LoadResponsesInput, res *responses.LoadResult, out *LoadResponsesOutput) error {
	started, err := retention.Started(ctx, st, in.WaveID, in.ICS)
	if err != nil || !started {
		return err
	}
	s := retention.Scope{WaveID: in.WaveID, ICS: in.ICS}
	var keys []string
	for _, f := range res.Files {
		s.Landed = append(s.Landed, retention.LandedFile{Key: f.Key, SHA256: f.SHA256, Rows: f.Rows})
		keys = append(keys, f.Key)
	}
	files, n, err := retention.DeleteLanded(ctx, st, s, keys, time.Now())
	if err != nil {
		return err
	}
	for _, f := range files {
		recordLineage(ctx, f)
	}
	out.AfterRetention, out.LandedDeleted = true, n
	audit.Record(ctx, "landed_files_deleted_after_retention", map[string]any{"load_date": out.LoadDate,
		"files": len(keys), "deleted": n, "lineage": schemas.RetentionLineageKey(in.WaveID, in.ICS),
		"kept": []string{schemas.FreeTextRoot(in.WaveID, in.ICS), schemas.AreaLake.Prefix()}})
	slog.InfoContext(ctx, "landed files deleted once loaded: the ICS's retention has run",
		"wave", in.WaveID, "ics", in.ICS, "load_date", out.LoadDate, "deleted", n)
	return nil
}

// deletedAfterRetention reports whether the day's landed files were deleted after the
// ICS's retention had begun: its lineage records a file of the day's landing folder.
func deletedAfterRetention(ctx context.Context, st store.Store, in LoadResponsesInput) (bool, error) {
	started, err := retention.Started(ctx, st, in.WaveID, in.ICS)
	if err != nil || !started {
		return false, err
	}
	l, err := retention.ReadLineage(ctx, st, in.WaveID, in.ICS)
	if err != nil {
		return false, err
	}
	day := schemas.ResponseLandingPrefix(in.WaveID, in.ICS, in.Date)
	return slices.ContainsFunc(l.Files, func(f retention.FileLineage) bool { return strings.HasPrefix(f.Key, day) }), nil
}

// markAfterClosingRecord says so when a load brings responses or outcomes for an ICS
// whose closing record (its people's final outcomes) is already written: they are
// kept and loaded, and a later release counts them, but the record, taken once the
// final loads were in, is not rewritten. The data engineer sees it in the load's
// result, the audit trail and the log.
func markAfterClosingRecord(ctx context.Context, st store.Store, in LoadResponsesInput, out *LoadResponsesOutput) error {
	record := schemas.FinalOutcomesKey(in.WaveID, in.ICS)
	closed, err := store.Exists(ctx, st, record)
	if err != nil || !closed {
		return err
	}
	out.AfterClosingRecord = true
	details := map[string]any{"load_date": out.LoadDate, "loaded": out.Loaded, "closing_record": record}
	for code, n := range out.Outcomes {
		details[fmt.Sprintf("outcome_%d_%s", code, schemas.OutcomeName(code))] = n
	}
	audit.Record(ctx, "responses_after_closing_record", details)
	slog.WarnContext(ctx, "responses loaded after the ICS's closing record: counted by later releases, not by the record",
		"wave", in.WaveID, "ics", in.ICS, "load_date", out.LoadDate, "loaded", out.Loaded)
	return nil
}
