package responses

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/store"
)

const (
	wave = "W2026A"
	ics  = "QMM"
)

var (
	day1 = time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
)

// columns used in test files: a mix of patient and carer questions.
var testColumns = []string{"P_ACCESS_EASE", "P_SERVICES_USED", "P_INVOLVED", "P_FT_GOOD", "P_CONSENT_LINK", "C_INVOLVED", "C_FT_GOOD", "LQ_LONELINESS"}

type fixture struct {
	t   *testing.T
	st  *store.FileStore
	cfg LoadConfig
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	qs, err := questionnaire.ResolveSet([]string{"patient-2026.1", "carer-2026.1"}, []string{"LQ_LONELINESS"})
	if err != nil {
		t.Fatal(err)
	}
	// S001-S099 invited; S900 in the sample but never mailed (e.g. found deceased).
	known := func(id string) (bool, bool) {
		if id == "S900" {
			return true, false
		}
		return strings.HasPrefix(id, "S0") && len(id) == 4, strings.HasPrefix(id, "S0")
	}
	return &fixture{t: t, st: st, cfg: LoadConfig{WaveID: wave, ICS: ics, Questionnaires: qs, Known: known}}
}

// row is a valid complete patient response; set overrides fields ("" deletes nothing, use del).
func row(id string, at string, set map[string]string) map[string]string {
	r := map[string]string{
		"SURVEY_RECORD_ID": id, "RESPONDENT_TYPE": "patient", "QUESTIONNAIRE_VERSION": "patient-2026.1",
		"CHANNEL": "online", "RECEIVED_AT": at, "COMPLETE": "Y",
		"P_ACCESS_EASE": "2", "P_SERVICES_USED": "1;4", "P_INVOLVED": "1", "P_CONSENT_LINK": "1",
	}
	for k, v := range set {
		r[k] = v
	}
	return r
}

func carer(id, at string) map[string]string {
	return map[string]string{
		"SURVEY_RECORD_ID": id, "RESPONDENT_TYPE": "carer", "QUESTIONNAIRE_VERSION": "carer-2026.1",
		"CHANNEL": "online", "RECEIVED_AT": at, "COMPLETE": "Y", "C_INVOLVED": "3", "C_FT_GOOD": "The carers' centre was a lifeline.",
	}
}

func csvBytes(t *testing.T, header []string, rows []map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(header); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		rec := make([]string, len(header))
		for i, h := range header {
			rec[i] = r[h]
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	w.Flush()
	return b.Bytes()
}

func (f *fixture) land(day time.Time, name string, b []byte) {
	f.t.Helper()
	if err := store.PutBytes(context.Background(), f.st, schemas.ResponseLandingPrefix(wave, ics, day)+name, b); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) landResponses(day time.Time, channel string, rows ...map[string]string) {
	f.t.Helper()
	f.land(day, schemas.ResponseFileName(channel, "csv"), csvBytes(f.t, schemas.ResponseExtractHeader(testColumns), rows))
}

func (f *fixture) load(day time.Time) *LoadResult {
	f.t.Helper()
	res, err := Load(context.Background(), f.st, f.cfg, day)
	if err != nil {
		f.t.Fatalf("Load: %v", err)
	}
	return res
}

func readTableRows[T any](t *testing.T, st store.Store, prefix string, l *schemas.Layout) []T {
	t.Helper()
	infos, err := st.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, info := range infos {
		rows, err := lake.GetRows[T](context.Background(), st, info.Key, l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

func rejections(t *testing.T, st store.Store, day time.Time) []schemas.ResponseRejection {
	return readTableRows[schemas.ResponseRejection](t, st, schemas.ResponseLoadPartition(schemas.LakeResponseRejections, wave, ics, day), schemas.ResponseRejectionLayout())
}

func TestEmptyDay(t *testing.T) {
	f := newFixture(t)
	ctx, col := audit.WithCollector(context.Background())
	res, err := Load(ctx, f.st, f.cfg, day1)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NoFiles || res.RowsRead != 0 || len(res.Outputs) != 0 {
		t.Fatalf("result = %+v", res)
	}
	ev := col.Events()
	if len(ev) != 1 || ev[0].Kind != "responses_loaded" || ev[0].Details["no_files"] != true {
		t.Fatalf("audit = %+v", ev)
	}
}

func TestConfigValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		mod  func(*LoadConfig)
		want string
	}{
		{"no wave", func(c *LoadConfig) { c.WaveID = "" }, "wave id"},
		{"ics with slash", func(c *LoadConfig) { c.ICS = "Q/M" }, "ICS"},
		{"no known", func(c *LoadConfig) { c.Known = nil }, "no Known"},
		{"no questionnaires", func(c *LoadConfig) { c.Questionnaires = nil }, "no questionnaires"},
		{"mis-keyed", func(c *LoadConfig) {
			c.Questionnaires = map[string]*questionnaire.Questionnaire{"patient-2099.1": f.cfg.Questionnaires["patient-2026.1"]}
		}, "another version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.cfg
			tt.mod(&cfg)
			_, err := Load(context.Background(), f.st, cfg, day1)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestRowRejections(t *testing.T) {
	at := "2026-02-10T09:30:00Z"
	tests := []struct {
		name   string
		row    map[string]string
		field  string
		reason string
	}{
		{"unknown record", row("S777", at, nil), "SURVEY_RECORD_ID", schemas.RejectUnknownRecord},
		{"missing record id", row("", at, nil), "SURVEY_RECORD_ID", schemas.RejectMissingValue},
		{"patient never invited", row("S900", at, nil), "SURVEY_RECORD_ID", schemas.RejectNotInvited},
		{"carer without patient invitation", func() map[string]string { r := carer("S900", at); return r }(), "SURVEY_RECORD_ID", schemas.RejectCarerNoInvitation},
		{"answer not an option", row("S001", at, map[string]string{"P_ACCESS_EASE": "7"}), "P_ACCESS_EASE", schemas.RejectInvalidAnswer},
		{"multi code not an option", row("S001", at, map[string]string{"P_SERVICES_USED": "1;99"}), "P_SERVICES_USED", schemas.RejectInvalidAnswer},
		{"two codes for single question", row("S001", at, map[string]string{"P_INVOLVED": "1;2"}), "P_INVOLVED", schemas.RejectInvalidAnswer},
		{"unknown version", row("S001", at, map[string]string{"QUESTIONNAIRE_VERSION": "patient-2019.1"}), "QUESTIONNAIRE_VERSION", schemas.RejectUnknownVersion},
		{"carer naming patient version", func() map[string]string {
			r := carer("S001", at)
			r["QUESTIONNAIRE_VERSION"] = "patient-2026.1"
			return r
		}(), "QUESTIONNAIRE_VERSION", schemas.RejectVersionMismatch},
		{"question not in version", row("S001", at, map[string]string{"C_INVOLVED": "1"}), "C_INVOLVED", schemas.RejectQuestionNotInVersion},
		{"bad respondent type", row("S001", at, map[string]string{"RESPONDENT_TYPE": "proxy"}), "RESPONDENT_TYPE", schemas.RejectBadRespondentType},
		{"channel not the file's", row("S001", at, map[string]string{"CHANNEL": "paper"}), "CHANNEL", schemas.RejectBadChannel},
		{"bad timestamp", row("S001", "10/02/2026 09:30", nil), "RECEIVED_AT", schemas.RejectBadTimestamp},
		{"timestamp after load day", row("S001", "2026-02-14T09:30:00Z", nil), "RECEIVED_AT", schemas.RejectFutureTimestamp},
		{"bad complete flag", row("S001", at, map[string]string{"COMPLETE": "yes"}), "COMPLETE", schemas.RejectBadComplete},
		{"missing complete flag", row("S001", at, map[string]string{"COMPLETE": ""}), "COMPLETE", schemas.RejectMissingValue},
		{"blank response", row("S001", at, map[string]string{"P_ACCESS_EASE": "", "P_SERVICES_USED": "", "P_INVOLVED": "", "P_CONSENT_LINK": "", "P_FT_GOOD": "only a comment"}), "", schemas.RejectBlankResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.landResponses(day1, "online", tt.row, row("S002", at, nil))
			res := f.load(day1)
			if res.RowsRead != 2 || res.Rejected != 1 || res.Loaded != 1 || res.Duplicates != 0 {
				t.Fatalf("counts read=%d loaded=%d rejected=%d dups=%d", res.RowsRead, res.Loaded, res.Rejected, res.Duplicates)
			}
			rj := rejections(t, f.st, day1)
			found := false
			for _, r := range rj {
				if r.Row != 1 {
					t.Errorf("rejection on row %d, want 1", r.Row)
				}
				if r.ReasonCode == tt.reason && r.Field == tt.field && r.File == "responses_online.csv" {
					found = true
				}
				if strings.Contains(r.Message, "only a comment") {
					t.Errorf("free text leaked into a rejection message: %q", r.Message)
				}
			}
			if !found {
				t.Fatalf("rejections = %+v, want %s on %s", rj, tt.reason, tt.field)
			}
			if res.ByReason[tt.reason] == 0 {
				t.Errorf("ByReason = %v", res.ByReason)
			}
			// The rejected row contributes nothing to the lake.
			rows := readTableRows[schemas.ResponseRow](t, f.st, schemas.ResponseLoadPartition(schemas.LakeResponses, wave, ics, day1), schemas.ResponseRowLayout())
			for _, r := range rows {
				if r.SurveyRecordID != "S002" {
					t.Errorf("rejected row loaded: %+v", r)
				}
			}
		})
	}
}

func TestFileRejections(t *testing.T) {
	header := schemas.ResponseExtractHeader(testColumns)
	good := row("S001", "2026-02-10T09:00:00Z", nil)
	tests := []struct {
		name     string
		file     string
		body     []byte
		rows     int
		reason   string
		field    string
		rejected int
	}{
		{"missing required column", "responses_online.csv",
			csvBytes(t, header[1:], []map[string]string{good, good}), 2, schemas.RejectMissingColumn, "SURVEY_RECORD_ID", 2},
		{"unknown file", "responses_fax.csv", csvBytes(t, header, []map[string]string{good}), 0, schemas.RejectUnknownFile, "", 0},
		{"empty file", "responses_online.csv", nil, 0, schemas.RejectUnreadableFile, "", 0},
		{"duplicate header", "responses_online.csv", []byte("SURVEY_RECORD_ID,survey_record_id\nS001,S001\n"), 0, schemas.RejectUnreadableFile, "SURVEY_RECORD_ID", 0},
		{"wrong field count", "responses_online.csv",
			append(csvBytes(t, header, []map[string]string{good}), []byte("S002,patient\n")...), 2, schemas.RejectMalformedRow, "", 1},
		{"missing column in undelivered", "undelivered.csv", []byte("SURVEY_RECORD_ID,REASON\nS001,gone_away\n"), 1, schemas.RejectMissingColumn, "RETURNED_AT", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.land(day1, tt.file, tt.body)
			res := f.load(day1)
			if res.RowsRead != tt.rows || res.Rejected != tt.rejected {
				t.Fatalf("read=%d rejected=%d, want %d and %d", res.RowsRead, res.Rejected, tt.rows, tt.rejected)
			}
			found := false
			for _, r := range rejections(t, f.st, day1) {
				if r.ReasonCode == tt.reason && r.Field == tt.field {
					found = true
				}
			}
			if !found {
				t.Fatalf("no %s rejection on %q: %+v", tt.reason, tt.field, rejections(t, f.st, day1))
			}
		})
	}
}

func TestUnknownColumnReportedAndIgnored(t *testing.T) {
	f := newFixture(t)
	header := append(schemas.ResponseExtractHeader(testColumns), "SUPPLIER_BATCH")
	r1 := row("S001", "2026-02-10T09:00:00Z", nil)
	r2 := row("S002", "2026-02-10T09:00:00Z", map[string]string{"SUPPLIER_BATCH": "7"})
	f.land(day1, "responses_online.csv", csvBytes(t, header, []map[string]string{r1, r2}))
	res := f.load(day1)
	if got := res.Files[0].UnknownColumns; len(got) != 1 || got[0] != "SUPPLIER_BATCH" {
		t.Fatalf("unknown columns = %v", got)
	}
	// A value in an unknown column is not dropped silently: the row is rejected.
	if res.Loaded != 1 || res.Rejected != 1 || res.ByReason[schemas.RejectQuestionNotInVersion] != 1 {
		t.Fatalf("result = %+v", res)
	}
}

func responsesOf(t *testing.T, st store.Store) map[string]schemas.ResponseRow {
	t.Helper()
	out := map[string]schemas.ResponseRow{}
	infos, err := st.List(context.Background(), schemas.LakePartition(schemas.LakeResponses, wave, ics))
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		rows, err := lake.GetRows[schemas.ResponseRow](context.Background(), st, info.Key, schemas.ResponseRowLayout())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out[r.ResponseID] = r
		}
	}
	return out
}

func duplicatesOf(t *testing.T, st store.Store) []schemas.DuplicateResponse {
	return readTableRows[schemas.DuplicateResponse](t, st, schemas.LakePartition(schemas.LakeDuplicates, wave, ics), schemas.DuplicateResponseLayout())
}

func outcomesOf(t *testing.T, st store.Store) []schemas.OutcomeEvent {
	return readTableRows[schemas.OutcomeEvent](t, st, schemas.LakePartition(schemas.LakeResponseOutcomes, wave, ics), schemas.OutcomeEventLayout())
}

func TestDuplicatesSameDay(t *testing.T) {
	tests := []struct {
		name       string
		online     []map[string]string
		paper      []map[string]string
		keptAt     string // RECEIVED_AT of the kept S001 patient response
		keptDone   bool
		duplicates int
	}{
		{
			name: "two complete: the first received is kept",
			online: []map[string]string{
				row("S001", "2026-02-10T15:00:00Z", nil),
			},
			paper:      []map[string]string{row("S001", "2026-02-10T08:00:00Z", map[string]string{"CHANNEL": "paper"})},
			keptAt:     "2026-02-10T08:00:00Z",
			keptDone:   true,
			duplicates: 1,
		},
		{
			name: "incomplete then complete: the complete one is kept",
			online: []map[string]string{
				row("S001", "2026-02-10T07:00:00Z", map[string]string{"COMPLETE": "N"}),
				row("S001", "2026-02-10T19:00:00Z", nil),
				row("S001", "2026-02-10T20:00:00Z", nil),
			},
			keptAt:     "2026-02-10T19:00:00Z",
			keptDone:   true,
			duplicates: 2,
		},
		{
			name: "only incomplete: the first is kept",
			online: []map[string]string{
				row("S001", "2026-02-10T11:00:00Z", map[string]string{"COMPLETE": "N"}),
				row("S001", "2026-02-10T10:00:00Z", map[string]string{"COMPLETE": "N"}),
			},
			keptAt:     "2026-02-10T10:00:00Z",
			duplicates: 1,
		},
		{
			name: "patient and carer on the same record are not duplicates",
			online: []map[string]string{
				row("S001", "2026-02-10T11:00:00Z", nil),
				carer("S001", "2026-02-10T12:00:00Z"),
			},
			keptAt:   "2026-02-10T11:00:00Z",
			keptDone: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.landResponses(day1, "online", tt.online...)
			if tt.paper != nil {
				f.landResponses(day1, "paper", tt.paper...)
			}
			res := f.load(day1)
			if res.Duplicates != tt.duplicates {
				t.Fatalf("duplicates = %d, want %d", res.Duplicates, tt.duplicates)
			}
			want, _ := time.Parse(time.RFC3339, tt.keptAt)
			var kept []schemas.ResponseRow
			ids := map[string]bool{}
			for _, r := range responsesOf(t, f.st) {
				if r.RespondentType == "patient" && !ids[r.ResponseID] {
					ids[r.ResponseID] = true
					kept = append(kept, r)
				}
			}
			if len(kept) != 1 || !kept[0].ReceivedAt.Equal(want) || kept[0].Complete != tt.keptDone {
				t.Fatalf("kept = %+v, want one received %s complete=%v", kept, tt.keptAt, tt.keptDone)
			}
			dups := duplicatesOf(t, f.st)
			if len(dups) != tt.duplicates {
				t.Fatalf("duplicate records = %d", len(dups))
			}
			for _, d := range dups {
				if d.KeptResponseID != kept[0].ResponseID || d.Reason != schemas.DuplicateSameDay {
					t.Errorf("duplicate = %+v", d)
				}
			}
			// The completion is the kept response: counted, but not written again as an event.
			if want := map[bool]int{true: 1, false: 0}[tt.keptDone]; res.Outcomes[schemas.OutcomeCompleted] != want {
				t.Errorf("completed outcomes = %d, want %d", res.Outcomes[schemas.OutcomeCompleted], want)
			}
			if events := outcomesOf(t, f.st); len(events) != 0 {
				t.Errorf("outcome events %+v, want none (a completion is its response)", events)
			}
		})
	}
}

func TestDuplicatesAcrossDays(t *testing.T) {
	t.Run("complete on day 1, again on day 2", func(t *testing.T) {
		f := newFixture(t)
		f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", nil))
		f.load(day1)
		f.landResponses(day2, "paper", row("S001", "2026-02-11T09:00:00Z", map[string]string{"CHANNEL": "paper"}))
		res := f.load(day2)
		if res.Duplicates != 1 || res.Loaded != 0 {
			t.Fatalf("day 2: %+v", res)
		}
		dups := duplicatesOf(t, f.st)
		if len(dups) != 1 || dups[0].Reason != schemas.DuplicateEarlierDay || dups[0].DiscardedChannel != "paper" {
			t.Fatalf("duplicates = %+v", dups)
		}
		if _, ok := responsesOf(t, f.st)[dups[0].KeptResponseID]; !ok {
			t.Error("kept response id does not name the day-1 response")
		}
		if n := res.Outcomes[schemas.OutcomeCompleted]; n != 0 {
			t.Errorf("day 2 completed outcomes = %d, want 0 (day 1's response is the completion)", n)
		}
	})
	t.Run("incomplete on day 1 superseded by complete on day 2", func(t *testing.T) {
		f := newFixture(t)
		f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", map[string]string{"COMPLETE": "N"}))
		r1 := f.load(day1)
		if r1.Loaded != 1 || r1.Outcomes[schemas.OutcomeCompleted] != 0 {
			t.Fatalf("day 1: %+v", r1)
		}
		f.landResponses(day2, "online", row("S001", "2026-02-11T09:00:00Z", nil))
		r2 := f.load(day2)
		if r2.Loaded != 1 || r2.Superseded != 1 || r2.Outcomes[schemas.OutcomeCompleted] != 1 {
			t.Fatalf("day 2: %+v", r2)
		}
		dups := duplicatesOf(t, f.st)
		if len(dups) != 1 || dups[0].Reason != schemas.DuplicateSupersededByDone || dups[0].DiscardedComplete {
			t.Fatalf("duplicates = %+v", dups)
		}
		// The superseded day-1 response no longer counts as the person's response.
		prior, err := PriorFromLake(context.Background(), f.st, wave, ics)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := prior("S001", "patient")
		if !ok || !p.Complete || p.ResponseID != dups[0].KeptResponseID {
			t.Fatalf("prior = %+v %v", p, ok)
		}
	})
	t.Run("incomplete on both days", func(t *testing.T) {
		f := newFixture(t)
		f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", map[string]string{"COMPLETE": "N"}))
		f.load(day1)
		f.landResponses(day2, "online", row("S001", "2026-02-11T09:00:00Z", map[string]string{"COMPLETE": "N"}))
		r2 := f.load(day2)
		if r2.Duplicates != 1 || r2.Loaded != 0 {
			t.Fatalf("day 2: %+v", r2)
		}
		if d := duplicatesOf(t, f.st); d[0].Reason != schemas.DuplicateIncompleteLater {
			t.Fatalf("duplicates = %+v", d)
		}
	})
	t.Run("caller-supplied prior hook", func(t *testing.T) {
		f := newFixture(t)
		f.cfg.Prior = func(id, typ string) (PriorResponse, bool) {
			return PriorResponse{ResponseID: "Rearlier", Complete: true}, id == "S001" && typ == "patient"
		}
		f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", nil), row("S002", "2026-02-10T09:00:00Z", nil))
		res := f.load(day1)
		if res.Duplicates != 1 || res.Loaded != 1 {
			t.Fatalf("result = %+v", res)
		}
	})
}

func snapshot(t *testing.T, st *store.FileStore) map[string]string {
	t.Helper()
	infos, err := st.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, info := range infos {
		b, err := store.ReadAll(context.Background(), st, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[info.Key] = string(b)
	}
	return out
}

func TestReloadSameFileIsNoOp(t *testing.T) {
	f := newFixture(t)
	f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", nil), row("S777", "2026-02-10T09:00:00Z", nil))
	f.land(day1, "optouts.csv", []byte("SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\nS003,2026-02-10,too_ill\n"))
	first := f.load(day1)
	if first.FilesSkipped != 0 || first.Loaded != 2 || len(first.LoadedChecksums()) != 2 {
		t.Fatalf("first = %+v", first)
	}
	before := snapshot(t, f.st)

	ctx, col := audit.WithCollector(context.Background())
	second, err := Load(ctx, f.st, f.cfg, day1)
	if err != nil {
		t.Fatal(err)
	}
	if second.FilesSkipped != 2 || second.RowsRead != 0 || len(second.Outputs) != 0 {
		t.Fatalf("second = %+v", second)
	}
	skipped := 0
	for _, e := range col.Events() {
		if e.Kind == "response_file_skipped" {
			skipped++
		}
	}
	if skipped != 2 {
		t.Errorf("skipped audit events = %d", skipped)
	}
	after := snapshot(t, f.st)
	if len(before) != len(after) {
		t.Fatalf("objects %d -> %d", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("%s changed on reload", k)
		}
	}

	// The same file re-landed on another day, and a caller's own checksum record.
	b := []byte(before[schemas.ResponseLandingPrefix(wave, ics, day1)+"responses_online.csv"])
	f.land(day2, "responses_online.csv", b)
	if r := f.load(day2); r.FilesSkipped != 1 || r.RowsRead != 0 {
		t.Fatalf("re-landed file: %+v", r)
	}
	f.cfg.AlreadyLoaded = func(sha string) bool { return true }
	f.land(day2, "undelivered.csv", []byte("SURVEY_RECORD_ID,RETURNED_AT,REASON\nS004,2026-02-11,addressee_unknown\n"))
	if r := f.load(day2); r.FilesSkipped != 2 {
		t.Fatalf("AlreadyLoaded hook ignored: %+v", r)
	}
}

// failingStore fails every Put whose key contains fail, once armed.
type failingStore struct {
	*store.FileStore
	fail string
}

func (s *failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if s.fail != "" && strings.Contains(key, s.fail) {
		return errors.New("injected failure")
	}
	return s.FileStore.Put(ctx, key, r)
}

func TestInterruptedLoadRerunsToSameResult(t *testing.T) {
	clean := newFixture(t)
	broken := newFixture(t)
	land := func(f *fixture) {
		f.landResponses(day1, "online",
			row("S001", "2026-02-10T09:00:00Z", nil),
			row("S001", "2026-02-10T10:00:00Z", nil),
			row("S002", "2026-02-10T11:00:00Z", map[string]string{"P_FT_GOOD": "Kind district nurses."}))
		f.landResponses(day1, "paper", row("S003", "2026-02-10T12:00:00Z", map[string]string{"CHANNEL": "paper"}))
	}
	land(clean)
	land(broken)
	want := clean.load(day1)

	// Kill the load after the responses of the first file are written: no marker exists.
	fs := &failingStore{FileStore: broken.st, fail: "/duplicates/"}
	if _, err := Load(context.Background(), fs, broken.cfg, day1); err == nil {
		t.Fatal("injected failure not reported")
	}
	if ok, _ := store.Exists(context.Background(), broken.st, schemas.ResponseLoadMarkerKey(wave, ics, want.Files[0].SHA256)); ok {
		t.Fatal("marker written before all outputs")
	}
	got, err := Load(context.Background(), broken.st, broken.cfg, day1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Loaded != want.Loaded || got.Duplicates != want.Duplicates || got.FilesSkipped != 0 {
		t.Fatalf("rerun = %+v, want %+v", got, want)
	}
	strip := func(m map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			if !strings.HasPrefix(k, schemas.AreaRestrictedLanding.Prefix()) {
				out[k] = v
			}
		}
		return out
	}
	a, b := strip(snapshot(t, clean.st)), strip(snapshot(t, broken.st))
	if len(a) != len(b) {
		t.Fatalf("outputs differ: %d vs %d objects", len(a), len(b))
	}
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s differs between a clean and a retried load", k)
		}
	}
}

func TestFreeTextOnlyInRestrictedArea(t *testing.T) {
	f := newFixture(t)
	secret := "The discharge team at the hospital never told the GP."
	f.landResponses(day1, "online",
		row("S001", "2026-02-10T09:00:00Z", map[string]string{"P_FT_GOOD": secret + "\x00"}),
		carer("S001", "2026-02-10T10:00:00Z"))
	res := f.load(day1)
	if res.FreeTextItems != 2 {
		t.Fatalf("free text items = %d", res.FreeTextItems)
	}
	for _, out := range res.Outputs {
		if strings.HasPrefix(out, "lake/") {
			b, err := store.ReadAll(context.Background(), f.st, out)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, []byte("discharge team")) || bytes.Contains(b, []byte("lifeline")) {
				t.Errorf("free text in lake object %s", out)
			}
		}
	}
	for _, r := range responsesOf(t, f.st) {
		for _, a := range answersOf(r) {
			if strings.Contains(a, "_FT_") {
				t.Errorf("free-text question in responses: %s", a)
			}
		}
	}
	texts := readTableRows[schemas.FreeTextRow](t, f.st, schemas.FreeTextPrefix(wave, ics, day1), schemas.FreeTextLayout())
	sort.Slice(texts, func(i, j int) bool { return texts[i].QuestionID > texts[j].QuestionID })
	if len(texts) != 2 || texts[0].Text != secret || texts[0].QuestionID != "P_FT_GOOD" || texts[1].RespondentType != "carer" {
		t.Fatalf("free text = %+v", texts)
	}
	if _, ok := responsesOf(t, f.st)[texts[0].ResponseID]; !ok {
		t.Error("free text does not join to its response")
	}
}

// answersOf lists a response's answers as QUESTION=cell, in column order.
func answersOf(r schemas.ResponseRow) []string {
	cols := schemas.ResponseRowLayout().ExtensionColumns()
	var out []string
	for i, v := range r.Answers {
		if v != "" {
			out = append(out, cols[i].Name+"="+v)
		}
	}
	return out
}

func TestAnswersWideFormat(t *testing.T) {
	f := newFixture(t)
	f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", map[string]string{"LQ_LONELINESS": "2", "P_SERVICES_USED": "4;1; 4"}))
	f.load(day1)
	rows := readTableRows[schemas.ResponseRow](t, f.st, schemas.LakePartition(schemas.LakeResponses, wave, ics), schemas.ResponseRowLayout())
	if len(rows) != 1 {
		t.Fatalf("%d rows, want one per response", len(rows))
	}
	r := rows[0]
	if r.Wave != wave || r.ICS != ics || !r.LoadDate.Equal(day1) || r.Channel != "online" || !r.Complete || r.QuestionnaireVersion != "patient-2026.1" {
		t.Errorf("row = %+v", r)
	}
	// Answers follow the questionnaire order; a multi answer is its distinct codes in
	// option order, whatever order they were ticked in.
	want := "P_SERVICES_USED=1;4,P_ACCESS_EASE=2,P_INVOLVED=1,P_CONSENT_LINK=1,LQ_LONELINESS=2"
	if got := strings.Join(answersOf(r), ","); got != want {
		t.Fatalf("answers = %s\nwant      %s", got, want)
	}
}

func TestOutcomeEvents(t *testing.T) {
	f := newFixture(t)
	f.landResponses(day1, "phone", row("S001", "2026-02-10T09:00:00Z", map[string]string{"CHANNEL": "phone"}), carer("S002", "2026-02-10T09:00:00Z"))
	f.land(day1, "undelivered.csv", []byte("SURVEY_RECORD_ID,RETURNED_AT,REASON\nS003,2026-02-09,addressee_gone_away\nS004,2026-02-10T08:00:00Z,Mr Smith moved to Leeds\nS777,2026-02-10,addressee_unknown\n"))
	f.land(day1, "optouts.jsonl", []byte(`{"survey_record_id":"S005","opted_out_at":"2026-02-10T10:00:00Z","reason":"too_ill"}
{"SURVEY_RECORD_ID":"S006","OPTED_OUT_AT":"2026-02-10","REASON":"deceased"}

{"SURVEY_RECORD_ID":"S007","OPTED_OUT_AT":"yesterday"}
not json
`))
	res := f.load(day1)
	// phone: carer row has CHANNEL online, so it is rejected.
	if res.Outcomes[schemas.OutcomeCompleted] != 1 || res.Outcomes[schemas.OutcomeUndelivered] != 2 ||
		res.Outcomes[schemas.OutcomeOptedOut] != 1 || res.Outcomes[schemas.OutcomeDeceased] != 1 {
		t.Fatalf("outcomes = %v", res.Outcomes)
	}
	if res.RowsRead != 9 || res.Loaded != 5 || res.Rejected != 4 {
		t.Fatalf("read=%d loaded=%d rejected=%d", res.RowsRead, res.Loaded, res.Rejected)
	}
	byID := map[string]schemas.OutcomeEvent{}
	events := map[string]bool{}
	for _, o := range outcomesOf(t, f.st) {
		byID[o.SurveyRecordID] = o
		if o.EventID == "" || events[o.EventID] {
			t.Errorf("event id %q empty or repeated", o.EventID)
		}
		events[o.EventID] = true
	}
	if o := byID["S004"]; o.Reason != "other" {
		t.Errorf("free-text reason stored: %+v", o)
	}
	if o := byID["S003"]; !o.At.Equal(time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC)) || o.SourceFile != "undelivered.csv" {
		t.Errorf("S003 = %+v", o)
	}
	if o, ok := byID["S001"]; ok {
		t.Errorf("S001's completed response written again as an outcome event: %+v", o)
	}
	reasons := map[string]bool{}
	for _, r := range rejections(t, f.st, day1) {
		reasons[r.ReasonCode+"/"+r.Field] = true
		if strings.Contains(r.Message, "Smith") {
			t.Errorf("identifiable text in a message: %q", r.Message)
		}
	}
	for _, want := range []string{"unknown_record_id/SURVEY_RECORD_ID", "invalid_timestamp/OPTED_OUT_AT", "malformed_row/", "invalid_channel/CHANNEL"} {
		if !reasons[want] {
			t.Errorf("missing rejection %s in %v", want, reasons)
		}
	}
}

func TestJSONLinesResponses(t *testing.T) {
	f := newFixture(t)
	f.land(day1, "responses_online.jsonl", []byte(`{"SURVEY_RECORD_ID":"S001","RESPONDENT_TYPE":"patient","QUESTIONNAIRE_VERSION":"patient-2026.1","CHANNEL":"online","RECEIVED_AT":"2026-02-10T09:00:00+00:00","COMPLETE":true,"P_ACCESS_EASE":1,"P_SERVICES_USED":["2","5"],"P_FT_GOOD":null}
{"SURVEY_RECORD_ID":"S002","RESPONDENT_TYPE":"patient","QUESTIONNAIRE_VERSION":"patient-2026.1","CHANNEL":"online","RECEIVED_AT":"2026-02-10T09:00:00Z","COMPLETE":"N","P_INVOLVED":{"a":1}}
`))
	res := f.load(day1)
	if res.Loaded != 1 || res.Rejected != 1 {
		t.Fatalf("result = %+v", res)
	}
	var got []string
	for _, r := range readTableRows[schemas.ResponseRow](t, f.st, schemas.LakePartition(schemas.LakeResponses, wave, ics), schemas.ResponseRowLayout()) {
		got = append(got, answersOf(r)...)
	}
	if strings.Join(got, ",") != "P_SERVICES_USED=2;5,P_ACCESS_EASE=1" {
		t.Fatalf("rows = %v", got)
	}
}

func TestPartitionLayout(t *testing.T) {
	f := newFixture(t)
	f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", map[string]string{"P_FT_GOOD": "ok"}))
	res := f.load(day1)
	sha := res.Files[0].SHA256
	want := []string{ // no outcomes object: the one response is the only completion
		"lake/responses/wave=W2026A/ics=QMM/load_date=2026-02-10/part-" + sha[:16] + ".parquet",
		schemas.FreeTextKey("W2026A", "QMM", time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC), sha),
	}
	got := append([]string(nil), res.Outputs...)
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("outputs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ok, _ := store.Exists(context.Background(), f.st, schemas.ResponseLoadMarkerKey(wave, ics, sha)); !ok {
		t.Error("no load marker")
	}
}

// TestShardedValidationMatchesOnePass loads a file large enough to be validated in
// parallel shards, with faults and duplicates spread across it (including at the shard
// boundaries), and checks every output is byte for byte what one pass writes.
func TestShardedValidationMatchesOnePass(t *testing.T) {
	var rows []map[string]string
	const n = 3 * 1500
	for i := 0; i < n; i++ {
		id := "S0" + string(rune('0'+i%10)) + string(rune('0'+i/10%10))
		at := time.Date(2026, 2, 10, 8, 0, i%3600, 0, time.UTC).Format(time.RFC3339)
		r := row(id, at, nil)
		switch i % 7 {
		case 0:
			r["P_ACCESS_EASE"] = "9" // not an option
		case 3:
			r["COMPLETE"] = "N"
		case 5:
			r["SURVEY_RECORD_ID"] = "S777" // unknown
		}
		if i == n/2 || i == n/2-1 {
			r["RECEIVED_AT"] = "soon"
		}
		rows = append(rows, r)
	}
	outputs := func(shardAt int) map[string][]byte {
		t.Helper()
		old := minShardRows
		minShardRows = shardAt
		defer func() { minShardRows = old }()
		f := newFixture(t)
		f.landResponses(day1, "online", rows...)
		res := f.load(day1)
		if res.RowsRead != n || res.Rejected == 0 || res.Duplicates == 0 {
			t.Fatalf("result %+v", res)
		}
		out := map[string][]byte{}
		for _, k := range res.Outputs {
			b, err := store.ReadAll(context.Background(), f.st, k)
			if err != nil {
				t.Fatal(err)
			}
			out[k] = b
		}
		return out
	}
	sharded, single := outputs(100), outputs(1<<30)
	if len(sharded) != len(single) || len(single) < 3 {
		t.Fatalf("outputs: %d sharded, %d single", len(sharded), len(single))
	}
	for k, b := range single {
		if !bytes.Equal(sharded[k], b) {
			t.Errorf("%s differs between sharded and single-pass validation", k)
		}
	}
}

// TestConcurrentLoadsOfOneDay runs two loads of the same day at once, as a scheduled
// load and a backfill of that day could: whatever the interleaving, the lake ends up
// with exactly the objects one load writes, byte for byte, and the day's rows are
// counted once as loaded (the other load skips or rewrites the same objects).
func TestConcurrentLoadsOfOneDay(t *testing.T) {
	land := func(f *fixture) {
		f.landResponses(day1, "online",
			row("S001", "2026-02-10T09:00:00Z", nil), row("S002", "2026-02-10T09:30:00Z", nil),
			row("S002", "2026-02-10T10:00:00Z", nil), carer("S003", "2026-02-10T11:00:00Z"))
		f.landResponses(day1, "paper", row("S004", "2026-02-10T08:00:00Z", map[string]string{"CHANNEL": "paper"}),
			row("S001", "2026-02-10T12:00:00Z", map[string]string{"CHANNEL": "paper"}))
		f.land(day1, "optouts.csv", []byte("SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\nS005,2026-02-10,too_ill\n"))
	}
	objects := func(st store.Store) map[string][]byte {
		t.Helper()
		out := map[string][]byte{}
		for _, prefix := range []string{schemas.AreaLake.Prefix(), schemas.AreaFreeText.Prefix()} {
			infos, err := st.List(context.Background(), prefix)
			if err != nil {
				t.Fatal(err)
			}
			for _, inf := range infos {
				b, err := store.ReadAll(context.Background(), st, inf.Key)
				if err != nil {
					t.Fatal(err)
				}
				out[inf.Key] = b
			}
		}
		return out
	}

	single := newFixture(t)
	land(single)
	want := single.load(day1)
	wantObjects := objects(single.st)

	for i := 0; i < 5; i++ {
		f := newFixture(t)
		land(f)
		results := make([]*LoadResult, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for j := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[j], errs[j] = Load(context.Background(), f.st, f.cfg, day1)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got := objects(f.st)
		if len(got) != len(wantObjects) {
			t.Fatalf("run %d: %d objects, one load writes %d", i, len(got), len(wantObjects))
		}
		for k, b := range wantObjects {
			if !bytes.Equal(got[k], b) {
				t.Errorf("run %d: %s differs from what one load writes", i, k)
			}
		}
		// Each file is either loaded by a run or skipped by it, and loaded by at least one.
		for _, r := range results {
			if r.RowsRead+countSkippedRows(r, want) != want.RowsRead {
				t.Errorf("run %d: a load read %d rows and skipped files, want %d in all", i, r.RowsRead, want.RowsRead)
			}
		}
	}
}

// countSkippedRows is how many rows of the single load's files r skipped.
func countSkippedRows(r, single *LoadResult) int {
	rows := map[string]int{}
	for _, f := range single.Files {
		rows[f.SHA256] = f.Rows
	}
	n := 0
	for _, f := range r.Files {
		if f.Skipped {
			n += rows[f.SHA256]
		}
	}
	return n
}

// An opt-out row with reason withdraw_linkage withdraws the person's consent to linkage
// and nothing else: it is a consent event naming the file, its checksum and the row (in
// the linkage's consent partition), not an outcome event, so the person's response and
// outcome stand; it counts as loaded. Other opt-outs keep their outcome events, which now
// name their row too. Loading the file again writes nothing more.
func TestLinkageWithdrawalOptOuts(t *testing.T) {
	f := newFixture(t)
	f.landResponses(day1, "online", row("S001", "2026-02-10T09:00:00Z", nil))
	optouts := []byte("SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\n" +
		"S001,2026-02-10T15:00:00Z,withdraw_linkage\n" + // row 1: linkage only, after responding
		"S005,2026-02-10,too_ill\n" + // row 2: out of the survey
		"S008,2026-02-10T11:00:00Z,WITHDRAW_LINKAGE\n" + // row 3: codes are case-insensitive
		"S777,2026-02-10,withdraw_linkage\n") // row 4: no such record: rejected
	f.land(day1, "optouts.csv", optouts)
	sum := sha256.Sum256(optouts)
	sha := hex.EncodeToString(sum[:])
	res := f.load(day1)
	if res.RowsRead != 5 || res.Loaded != 4 || res.Rejected != 1 || res.RowsRead != res.Loaded+res.Rejected+res.Duplicates {
		t.Fatalf("read=%d loaded=%d rejected=%d duplicates=%d", res.RowsRead, res.Loaded, res.Rejected, res.Duplicates)
	}
	if res.LinkageWithdrawals != 2 || res.Outcomes[schemas.OutcomeOptedOut] != 1 || res.Outcomes[schemas.OutcomeCompleted] != 1 {
		t.Fatalf("linkage withdrawals %d, outcomes %v", res.LinkageWithdrawals, res.Outcomes)
	}
	key := schemas.LinkageOptOutConsentKey(wave, ics, sha)
	var fileOutputs []string
	for _, fr := range res.Files {
		if fr.Kind == schemas.FileOptOuts {
			fileOutputs = fr.Outputs
			if fr.LinkageWithdrawals != 2 || fr.Rows != fr.Loaded+fr.Rejected {
				t.Errorf("opt-out file result %+v", fr)
			}
		}
	}
	if !slices.Contains(fileOutputs, key) {
		t.Errorf("outputs %v lack the consent events %s", fileOutputs, key)
	}
	outcomes := outcomesOf(t, f.st)
	if len(outcomes) != 1 || outcomes[0].SurveyRecordID != "S005" || outcomes[0].SourceRow == nil || *outcomes[0].SourceRow != 2 {
		t.Fatalf("outcome events %+v: want S005's alone, naming row 2", outcomes)
	}
	events, err := lake.GetRows[schemas.ConsentEvent](context.Background(), f.st, key, schemas.ConsentEventLayout())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"S001": 1, "S008": 3}
	if len(events) != len(want) {
		t.Fatalf("%d consent events, want %d: %+v", len(events), len(want), events)
	}
	for _, e := range events {
		if row, ok := want[e.SurveyRecordID]; !ok || e.SourceRow != row || e.SourceFile != "optouts.csv" || e.SourceSHA256 != sha ||
			e.Event != schemas.ConsentWithdrawn || e.SourceKind != schemas.ConsentSourceOptOut || e.Reason != schemas.OptOutWithdrawLinkage ||
			e.RespondentType != schemas.RespondentPatient || e.WaveID != wave || e.ICS != ics || e.EventID == "" ||
			e.SourceRef != fmt.Sprintf("%s:%d", sha, row) {
			t.Errorf("consent event %+v", e)
		}
	}
	// S001's response stands.
	kept := readTableRows[schemas.ResponseRow](t, f.st, schemas.LakePartition(schemas.LakeResponses, wave, ics), schemas.ResponseRowLayout())
	if len(kept) != 1 || kept[0].SurveyRecordID != "S001" {
		t.Errorf("responses %d, want S001's", len(kept))
	}
	var s777 bool
	for _, r := range rejections(t, f.st, day1) {
		s777 = s777 || (r.SurveyRecordID == "" && r.Row == 4 && r.File == "optouts.csv" && r.ReasonCode == schemas.RejectUnknownRecord)
	}
	if !s777 {
		t.Error("the withdrawal of an unknown record was not rejected with its file and row")
	}
	if again := f.load(day1); again.FilesSkipped != 2 || again.LinkageWithdrawals != 0 || again.Loaded != 0 {
		t.Errorf("second load: %+v", again)
	}
}

// TestUnknownVersionMessageWithholdsValues: a QUESTIONNAIRE_VERSION that is no version
// (a column shifted by the supplier: a surname, an NHS number, a postcode, a date of
// birth) must not be quoted in the rejection, which goes to the lake and the
// warehouse; one with the shape of a version is named, so the supplier can tell
// which it sent.
func TestUnknownVersionMessageWithholdsValues(t *testing.T) {
	at := "2026-02-10T09:30:00Z"
	tests := []struct {
		value string
		shown bool
	}{
		{"patient-2019.1", true},
		{"carer-2031.12", true},
		{"ZQXNEEDLE", false},
		{"Smith", false},
		{"9434765919", false},
		{"NR13QU", false},
		{"19280229", false},
		{"o-brien", false},
		{"Mary-Jane_Smith", false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			f := newFixture(t)
			f.landResponses(day1, "online", row("S001", at, map[string]string{"QUESTIONNAIRE_VERSION": tt.value}), row("S002", at, nil))
			f.load(day1)
			var msg string
			for _, r := range rejections(t, f.st, day1) {
				if r.ReasonCode == schemas.RejectUnknownVersion {
					msg = r.Message
				}
			}
			if msg == "" {
				t.Fatalf("no %s rejection", schemas.RejectUnknownVersion)
			}
			if got := strings.Contains(msg, tt.value); got != tt.shown {
				t.Fatalf("message %q: value shown %v, want %v", msg, got, tt.shown)
			}
		})
	}
}

// A landing file is read into memory whole, with every file of the day: one far larger
// than a day's extract can be (a cumulative extract, a file filled by mistake) would
// take the worker's memory, and the load would fail again at each retry. It is
// rejected as a file, unread, its SHA-256 taken as it streams by, and marked done so a
// re-run does not read it again; the day's other files load.
func TestOversizedFileRejectedUnread(t *testing.T) {
	header := schemas.ResponseExtractHeader(testColumns)
	var rows []map[string]string
	for i := range 40 {
		rows = append(rows, row(fmt.Sprintf("S%03d", i+1), "2026-02-10T09:00:00Z", nil))
	}
	big := csvBytes(t, header, rows)
	small := csvBytes(t, header, rows[:1])
	defer func(m int64) { maxFileBytes = m }(maxFileBytes)
	maxFileBytes = int64(len(big) - 1)
	if int64(len(small)) > maxFileBytes {
		t.Fatal("the small file must be under the bound")
	}
	f := newFixture(t)
	f.land(day1, "responses_paper.csv", big)
	f.land(day1, "responses_online.csv", small)
	res := f.load(day1)
	if res.Loaded != 1 {
		t.Errorf("loaded %d, want the small file's 1 row", res.Loaded)
	}
	sum := sha256.Sum256(big)
	var got *FileResult
	for i := range res.Files {
		if path.Base(res.Files[i].Key) == "responses_paper.csv" {
			got = &res.Files[i]
		}
	}
	if got == nil || got.FileRejection != schemas.RejectUnreadableFile || got.SHA256 != hex.EncodeToString(sum[:]) || got.Size != int64(len(big)) || got.Rows != 0 {
		t.Fatalf("the oversized file's result %+v, want rejected unread with its SHA-256 and size", got)
	}
	found := false
	for _, r := range rejections(t, f.st, day1) {
		if r.File == "responses_paper.csv" && r.ReasonCode == schemas.RejectUnreadableFile && strings.Contains(r.Message, "larger than") {
			found = true
		}
	}
	if !found {
		t.Errorf("no file rejection saying the file is too large: %+v", rejections(t, f.st, day1))
	}
	if again := f.load(day1); again.FilesSkipped != 2 {
		t.Errorf("a re-run skipped %d files, want both (the oversized one was dealt with)", again.FilesSkipped)
	}
}
