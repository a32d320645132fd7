package activities

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/questionnaire"
	"icesurvey/responses"
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
	known, knownErr, err := responses.KnownFromLake(loadCtx, cancel, a.Store, in.WaveID, in.ICS)
	if err != nil {
		return LoadResponsesOutput{}, err
	}
	res, err := responses.Load(loadCtx, a.Store, responses.LoadConfig{
		WaveID: in.WaveID, ICS: in.ICS, Questionnaires: qns, Known: known,
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
		FreeTextItems: res.FreeTextItems, ByReason: res.ByReason,
	}
	if res.NoFiles {
		return out, nil
	}
	if res.Loaded > 0 || len(res.Outcomes) > 0 {
		if err := markAfterClosingRecord(ctx, a.Store, in, &out); err != nil {
			return out, err
		}
	}
	if out.Objects, err = responses.DayObjects(ctx, a.Store, in.WaveID, in.ICS, in.Date); err != nil {
		return out, err
	}
	return out, nil
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
