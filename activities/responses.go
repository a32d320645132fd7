package activities

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"icesurvey/lake"
	"icesurvey/questionnaire"
	"icesurvey/responses"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Warehouse tables the daily response load feeds. The lake names two of them
// differently (outcomes, duplicates), so the mapping lives here, next to the activity
// that reports the lake objects.
const (
	TableResponses          = "responses"
	TableResponseRejections = "response_rejections"
	TableResponseDuplicates = "response_duplicates"
	TableOutcomeEvents      = "outcome_events"
)

// responseLakeTables maps a lake table written by responses.Load to the warehouse table
// it is loaded into. Free text is deliberately absent: it stays in the restricted area
// and never reaches the warehouse.
var responseLakeTables = []struct{ lake, warehouse string }{
	{schemas.TableResponses, TableResponses},
	{schemas.TableOutcomes, TableOutcomeEvents},
	{schemas.TableResponseRejections, TableResponseRejections},
	{schemas.TableDuplicates, TableResponseDuplicates},
}

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

// resolve resolves the versions from the embedded catalogue. An unknown version or
// local question is a configuration error no retry can fix.
func (q Questionnaires) resolve() (map[string]*questionnaire.Questionnaire, error) {
	if q.PatientVersion == "" {
		return nil, NonRetryable(ErrConfiguration, errors.New("no patient questionnaire version"))
	}
	set, err := questionnaire.ResolveSet(q.versions(), q.LocalQuestions)
	if err != nil {
		return nil, NonRetryable(ErrConfiguration, err)
	}
	return set, nil
}

// LoadResponsesInput asks for one ICS's supplier files of one day to be loaded.
type LoadResponsesInput struct {
	Scope
	Questionnaires
	// Date is the load date: the landing folder landing/{wave}/{ics}/responses/{date}/.
	Date time.Time `json:"date"`
}

// LakeObject is one lake object and the warehouse table it belongs in.
type LakeObject struct {
	Table string `json:"table"`
	Key   string `json:"key"`
}

// LoadResponsesOutput reports a day's load: counts only (no rows, nothing
// identifiable) and the lake objects the warehouse must load.
type LoadResponsesOutput struct {
	LoadDate      string         `json:"load_date"`
	NoFiles       bool           `json:"no_files"`
	Files         int            `json:"files"`
	FilesSkipped  int            `json:"files_skipped"`
	RowsRead      int            `json:"rows_read"`
	Loaded        int            `json:"loaded"`
	Rejected      int            `json:"rejected"`
	Duplicates    int            `json:"duplicates"`
	Superseded    int            `json:"superseded"`
	Responses     map[string]int `json:"responses,omitempty"`
	Outcomes      map[int]int    `json:"outcomes,omitempty"`
	FreeTextItems int            `json:"free_text_items"`
	ByReason      map[string]int `json:"rejections_by_reason,omitempty"`
	// Objects are every complete lake object of the day's partitions, not only those
	// written by this call: a file loaded by an earlier run whose warehouse load never
	// finished (a terminated workflow) is then loaded by the next run of the same day.
	// The warehouse skips objects it already holds.
	Objects []LakeObject `json:"objects,omitempty"`
}

// LoadResponses runs the daily response load for one ICS and day (responses.Load): it
// validates, de-duplicates and derives outcome events, writing the lake partitions of
// the day and the free text to the restricted area. Loading the same files again
// changes nothing.
func (a *Activities) LoadResponses(ctx context.Context, in LoadResponsesInput) (LoadResponsesOutput, error) {
	stop := heartbeatEvery(ctx, 10*time.Second)
	defer stop()
	if in.Date.IsZero() {
		return LoadResponsesOutput{}, NonRetryable(ErrConfiguration, errors.New("no load date"))
	}
	qns, err := in.Questionnaires.resolve()
	if err != nil {
		return LoadResponsesOutput{}, err
	}
	// The sample and mailing history are read while the load reads and parses the
	// day's files. A failed read cancels the load's context, which it checks before it
	// writes, and is the activity's error.
	loadCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	known, knownErr, err := a.knownRecords(loadCtx, cancel, in.WaveID, in.ICS)
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
	if out.Objects, err = dayObjects(ctx, a.Store, in.WaveID, in.ICS, in.Date); err != nil {
		return out, err
	}
	return out, nil
}

// knownRecords builds the load's Known hook from the lake: the wave's accepted sample
// (who exists) and the mailing history (who was invited). It fails, without retry,
// when the ICS has no sample yet: every response would otherwise be rejected as an
// unknown record and its file marked loaded for good.
//
// The sample and history are read in the background: Known waits for them, and wait
// reports whether reading them failed. A failure calls cancel before Known returns, so
// a load that judged a row against incomplete sets sees its context cancelled before
// it writes. (A load that never called Known did not depend on the sets.)
func (a *Activities) knownRecords(ctx context.Context, cancel context.CancelFunc, wave, ics string) (known func(string) (bool, bool), wait func() error, err error) {
	sampleKey := schemas.LakePartition("sample", wave, ics) + "sample.parquet"
	ok, err := store.Exists(ctx, a.Store, sampleKey)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, nil, NonRetryable(ErrConfiguration, fmt.Errorf("wave %s ICS %s has no accepted sample (%s): responses cannot be judged before intake", wave, ics, sampleKey))
	}
	const sampled, invited = 1, 2
	var (
		ids     map[string]uint8 // one lookup per response answers both questions
		readErr error
		ready   = make(chan struct{})
	)
	go func() {
		defer close(ready)
		ids, readErr = a.readKnown(ctx, sampleKey, wave, ics, sampled, invited)
		if readErr != nil {
			cancel()
		}
	}()
	known = func(id string) (bool, bool) {
		<-ready
		f := ids[id]
		return f&sampled != 0, f&invited != 0
	}
	wait = func() error {
		<-ready
		return readErr
	}
	return known, wait, nil
}

// readKnown reads the sample's ids (flagged sampled) and the ids the mailing history
// says were sent a message (flagged invited).
func (a *Activities) readKnown(ctx context.Context, sampleKey, wave, ics string, sampled, invited uint8) (map[string]uint8, error) {
	ids := map[string]uint8{}
	if err := lake.ScanStrings(ctx, a.Store, sampleKey, []string{"survey_record_id"}, func(r []string) error {
		ids[r[0]] |= sampled
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read sample %s: %w", sampleKey, err)
	}
	prefix := schemas.LakePartition("mailing_history", wave, ics)
	infos, err := a.Store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	for _, inf := range infos {
		if !strings.HasSuffix(inf.Key, ".parquet") {
			continue
		}
		err := lake.ScanStrings(ctx, a.Store, inf.Key, []string{"survey_record_id", "result"}, func(r []string) error {
			// A message that failed for good reached nobody; any other was sent.
			if r[1] != "permanent-failure" {
				ids[r[0]] |= invited
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read mailing history %s: %w", inf.Key, err)
		}
	}
	return ids, nil
}

// dayObjects lists the lake objects of one load date that belong in the warehouse.
// Only objects of files whose load marker exists count: an object left by an attempt
// killed before its marker is not yet known to be whole and final.
func dayObjects(ctx context.Context, st store.Store, wave, ics string, day time.Time) ([]LakeObject, error) {
	markers, err := st.List(ctx, path.Dir(responses.LoadMarkerKey(wave, ics, "x"))+"/")
	if err != nil {
		return nil, err
	}
	done := map[string]bool{} // part file names of loaded files
	for _, m := range markers {
		sha := strings.TrimSuffix(path.Base(m.Key), ".json")
		if len(sha) >= 16 {
			done["part-"+sha[:16]+".parquet"] = true
		}
	}
	var out []LakeObject
	for _, t := range responseLakeTables {
		infos, err := st.List(ctx, schemas.ResponseLoadPartition(t.lake, wave, ics, day))
		if err != nil {
			return nil, err
		}
		for _, inf := range infos {
			if done[path.Base(inf.Key)] {
				out = append(out, LakeObject{Table: t.warehouse, Key: inf.Key})
			}
		}
	}
	// Each object is its own warehouse transaction and the views join at query time,
	// so the order is not needed for correctness; a stable one keeps histories comparable.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Table != out[j].Table {
			return out[i].Table < out[j].Table
		}
		return out[i].Key < out[j].Key
	})
	return out, nil
}
