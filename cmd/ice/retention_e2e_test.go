//go:build !production

package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/infra/devstack"
	"icesurvey/internal/idscan"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// recordingStore notes every key written through it.
type recordingStore struct {
	store.Store
	mu   sync.Mutex
	keys map[string]bool
}

func (r *recordingStore) note(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = map[string]bool{}
	}
	r.keys[key] = true
}

func (r *recordingStore) Put(ctx context.Context, key string, rd io.Reader) error {
	r.note(key)
	return r.Store.Put(ctx, key, rd)
}

func (r *recordingStore) written() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.keys))
	for k := range r.keys {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// recordingAdopter keeps the store's FileAdopter, so writers take the path they take
// in production.
type recordingAdopter struct {
	*recordingStore
	fa store.FileAdopter
}

func (r recordingAdopter) TempFile(pattern string) (*os.File, error) { return r.fa.TempFile(pattern) }

func (r recordingAdopter) PutFile(ctx context.Context, key string, f *os.File) error {
	r.note(key)
	return r.fa.PutFile(ctx, key, f)
}

func (r *recordingStore) wrap(s store.Store) store.Store {
	r.Store = s
	if fa, ok := s.(store.FileAdopter); ok {
		return recordingAdopter{r, fa}
	}
	return r
}

// keyShape is a written key with its wave, ICSs, start folders, dates and digests
// replaced by placeholders and its object name dropped: the prefixes the wave writes.
func keyShape(key, wave string, codes []string) string {
	dir := key[:strings.LastIndex(key, "/")+1]
	dir = strings.ReplaceAll(dir, "/"+wave+"/", "/{wave}/")
	dir = strings.ReplaceAll(dir, "wave="+wave+"/", "wave={wave}/")
	for _, c := range codes {
		dir = strings.ReplaceAll(dir, "/"+c+"/", "/{ics}/")
		dir = strings.ReplaceAll(dir, "ics="+c+"/", "ics={ics}/")
	}
	dir = regexp.MustCompile(`/start-\d{8}T\d{6}Z-[0-9a-f]+/`).ReplaceAllString(dir, "/start-{time}-{nonce}/")
	dir = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`).ReplaceAllString(dir, "{date}")
	dir = regexp.MustCompile(`/[^/]*-\d+-[^/]*/`).ReplaceAllString(dir, "/{request}/")
	return dir
}

// TestRetentionLeavesNothingIdentifiable finishes a wave of two ICSs, daily loads
// included, through retention, then walks the whole store, the warehouse (every
// table, every column), the stack's logs, the Temporal server's files and the audit
// trail, and finds none of the input NHS numbers, names, first address lines or
// mobile numbers anywhere but the free-text area. It also checks every key the wave
// wrote against the declared store areas (schemas.Areas, from which the README's
// table is generated). TestIdentifierSearchFindsWhatIsKept shows the search failing
// on identifiers deliberately kept.
func TestRetentionLeavesNothingIdentifiable(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end wave on the embedded server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	logs := &idscan.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prev := slog.Default()
	slog.SetDefault(logger)
	t.Cleanup(func() { slog.SetDefault(prev) })
	rec := &recordingStore{}
	dir := t.TempDir()
	st, err := devstack.Start(ctx, devstack.Config{DataDir: dir, UIPort: -1, DBSDelay: 300 * time.Millisecond,
		Logger: logger, WrapStore: rec.wrap})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wc := waveclient.New(st.Client)

	const wave = "e2e-retention"
	dayLength := 500 * time.Millisecond
	codes := []string{"QMM", "QJK"}
	spec, _ := e2eWave(t, ctx, st, wave, 200, dayLength, codes...)
	var landed []string
	for _, ics := range spec.ICSs {
		landed = append(landed, ics.SampleFile, ics.MailingFile)
		rec.note(ics.SampleFile) // staged by the client, not through the workers
		rec.note(ics.MailingFile)
	}
	needles := inputIdentifiers(t, ctx, st.Store, landed)
	t.Logf("looking for %d identifiers of %d input files", len(needles), len(landed))

	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	for _, c := range codes {
		if _, err := wc.Declare(ctx, wave, c, "Test Engineer"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, wc, wave, 2*time.Minute, "the invitations sent", func(ics []waveclient.ICSStatus) bool {
		for _, s := range ics {
			if s.Mailings[0].State != workflows.MailingSent {
				return false
			}
		}
		return true
	})
	// The supplier's extracts (with free text) land and are loaded.
	in := waveclient.DailyLoadInput{WaveID: wave, ICS: codes, Simulate: true, SimDayLength: dayLength,
		Questionnaires: waveclient.Questionnaires{PatientVersion: spec.QuestionnaireVersion, CarerVersion: spec.CarerQuestionnaire}}
	from := time.Now().UTC().Truncate(24 * time.Hour)
	days, err := wc.Backfill(ctx, in, from, from.AddDate(0, 0, 3), nil)
	if err != nil {
		t.Fatalf("backfill: %v", err)
	}
	loaded, freeText := 0, 0
	for _, d := range days {
		for _, r := range d.ICS {
			loaded += r.Load.Loaded
			freeText += r.Load.FreeTextItems
		}
	}
	if loaded == 0 || freeText == 0 {
		t.Fatalf("the daily loads loaded %d responses, %d free-text items", loaded, freeText)
	}

	if _, err := wc.WaitWave(ctx, wave); err != nil {
		t.Fatalf("wave: %v", err)
	}
	for _, c := range codes {
		r, err := wc.WaitRetention(ctx, wave, c)
		if err != nil || r.Status.Stage != workflows.StageDone || r.Status.Deleted == 0 {
			t.Fatalf("%s retention: %+v %v", c, r, err)
		}
	}
	// The wave drafts its release once every ICS has closed; wait for the draft, so the
	// store is still while it is searched (and the release is searched too).
	if _, err := wc.WaitPublicationDraft(ctx, wave, workflows.FirstReleaseID, 200*time.Millisecond); err != nil {
		t.Fatalf("release draft: %v", err)
	}

	// A supplier's file landing after the retention is loaded, and deleted by its load
	// (the searches below find it gone with the rest).
	lateDay := from.AddDate(0, 0, 30)
	lateKey := schemas.ResponseLandingKey(wave, "QMM", lateDay, "optouts.csv")
	if err := store.PutBytes(ctx, st.Store, lateKey, []byte("SURVEY_RECORD_ID,OPTED_OUT_AT,REASON\nNOT-IN-SAMPLE,"+
		lateDay.Format(time.RFC3339)+",too_ill\n")); err != nil {
		t.Fatal(err)
	}
	late := in
	late.ICS, late.Simulate = []string{"QMM"}, false
	lateDays, err := wc.Backfill(ctx, late, lateDay, lateDay, nil)
	if err != nil || len(lateDays) != 1 || len(lateDays[0].ICS) != 1 || lateDays[0].ICS[0].Load.LandedDeleted != 1 {
		t.Fatalf("the load after the retention: %+v %v, want its file deleted", lateDays, err)
	}
	if ok, err := store.Exists(ctx, st.Store, lateKey); ok || err != nil {
		t.Fatalf("%s stayed after its load, the retention having run (%v)", lateKey, err)
	}

	// The retention's new shape (the lineage recorded by an activity of its own, behind
	// its GetVersion marker), for the replay tests.
	recordHistories(t, ctx, wc, map[string]string{"retention-lineage.json": workflows.RetentionWorkflowID(wave, "QMM")})

	// Every key the wave wrote lies in a declared area; the identifiable ones are
	// emptied of this wave, and the kept ones are not.
	shapes := map[string]bool{}
	areas := map[schemas.Area]bool{}
	// Every key written through the store, and every key in it now (anything written
	// around the store's interface, by a path, is there too).
	all, err := st.Store.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	written := rec.written()
	for _, inf := range all {
		written = append(written, inf.Key)
	}
	for _, k := range written {
		a, ok := schemas.AreaOf(k)
		if !ok {
			t.Errorf("%s lies in no declared store area (schemas.Areas)", k)
			continue
		}
		areas[a.Area] = true
		shapes[keyShape(k, wave, codes)] = true
	}
	var list []string
	for s := range shapes {
		list = append(list, s)
	}
	sort.Strings(list)
	t.Logf("prefixes written by the wave:\n  %s", strings.Join(list, "\n  "))
	for _, want := range []schemas.Area{schemas.AreaRestrictedLanding, schemas.AreaRestricted, schemas.AreaFreeText,
		schemas.AreaLake, schemas.AreaReports, schemas.AreaAudit} {
		if !areas[want] {
			t.Errorf("the wave wrote nothing in %s", want)
		}
	}
	if areas[schemas.AreaLanding] {
		t.Errorf("the wave wrote in the open landing area")
	}
	for _, a := range schemas.Areas {
		left, err := st.Store.List(ctx, a.Area.WavePrefix(wave))
		if err != nil {
			t.Fatal(err)
		}
		if a.Identifiable && a.Area != schemas.AreaFreeText && len(left) > 0 {
			t.Errorf("%d objects left in %s after retention, e.g. %s", len(left), a.Area.WavePrefix(wave), left[0].Key)
		}
		if a.Area == schemas.AreaFreeText && len(left) == 0 {
			t.Errorf("the free text is gone")
		}
	}
	if lake, _ := st.Store.List(ctx, schemas.LakeWavePrefix(schemas.LakeSample, wave)); len(lake) != len(codes) {
		t.Errorf("the pseudonymised sample: %d objects, want %d", len(lake), len(codes))
	}

	// The lineage of each landed file is in the audit trail.
	events, err := audit.Trail(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	lineage := map[string]bool{}
	for _, e := range events {
		if e.Kind == "landed_file_lineage" && strings.Contains(e.Details, `"sha256":"`) && strings.Contains(e.Details, `"size":`) {
			var d struct {
				Key  string `json:"key"`
				Rows int    `json:"rows"`
			}
			if err := json.Unmarshal([]byte(e.Details), &d); err == nil && d.Rows > 0 {
				lineage[d.Key] = true
			}
		}
	}
	for _, k := range landed {
		if !lineage[k] {
			t.Errorf("no lineage (SHA-256, size, rows) of %s in the audit trail", k)
		}
	}

	// The search: everything but the free text.
	s := idscan.NewScanner(needles)
	scanned := s.Store(t, ctx, st.Store, func(k string) bool { return strings.HasPrefix(k, schemas.AreaFreeText.Prefix()) })
	err = warehouse.WithRetry(ctx, 30*time.Second, func() error {
		return st.Warehouse.Read(ctx, func(db *sql.DB) error {
			n, err := s.Database(ctx, db, "warehouse")
			if err == nil && n < 10 {
				t.Errorf("only %d warehouse tables", n)
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // the logs and the server's database, complete
	files := s.Files(t, dir, func(rel string) bool {
		// The store was searched above, object by object; the outside world's store is
		// the simulated DBS's; the warehouse through its tables.
		return strings.HasPrefix(rel, "store/") || strings.HasPrefix(rel, "outside/") || strings.HasPrefix(rel, "warehouse.duckdb")
	})
	s.Bytes("slog output", logs.Bytes())
	b, err := json.Marshal(events)
	if err != nil {
		t.Fatal(err)
	}
	s.Bytes("audit trail", b)
	t.Logf("searched %d store objects, the warehouse, %d files (%s), %d bytes of slog output and %d audit events",
		len(scanned), len(files), strings.Join(files, ", "), len(logs.Bytes()), len(events))
	if len(scanned) == 0 || len(files) == 0 || len(logs.Bytes()) == 0 {
		t.Error("the search saw nothing")
	}
	for _, f := range s.Report() {
		t.Errorf("identifiable data left: %s", f)
	}
}

// TestCancelledICSGetsItsRetention: a wave cancelled while it waits for the
// declaration still deletes the files its ICS sent (after the retention period), with
// their lineage recorded first.
func TestCancelledICSGetsItsRetention(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "e2e-cancelled"
	spec, _ := e2eWave(t, ctx, st, wave, 100, 300*time.Millisecond, "QNX")
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	if err := wc.Cancel(ctx, wave); err != nil {
		t.Fatal(err)
	}
	waitRetentionOfCancelled(t, ctx, wc, wave, "QNX")
	for _, p := range []string{schemas.RestrictedLandingPrefix(wave, "QNX"), schemas.RestrictedPrefix(wave, "QNX")} {
		if left, err := st.Store.List(ctx, p); err != nil || len(left) != 0 {
			t.Errorf("%s after the retention of a cancelled ICS: %d objects (%v)", p, len(left), err)
		}
	}
	b, err := store.ReadAll(ctx, st.Store, schemas.RetentionLineageKey(wave, "QNX"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{spec.ICSs[0].SampleFile, spec.ICSs[0].MailingFile} {
		if !strings.Contains(string(b), k) {
			t.Errorf("no lineage of %s: %s", k, b)
		}
	}
}

// waitRetentionOfCancelled waits for the retention a cancelled ICS starts as it handles
// the cancellation (a moment later) to have deleted its identifiable data.
func waitRetentionOfCancelled(t *testing.T, ctx context.Context, wc *waveclient.Client, wave, ics string) {
	t.Helper()
	var r waveclient.RetentionResult
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if r, err = wc.WaitRetention(ctx, wave, ics); err == nil {
			break
		}
	}
	if err != nil || r.Status.Stage != workflows.StageDone || r.Status.Deleted == 0 {
		t.Fatalf("retention of the cancelled ICS %s: %+v %v", ics, r, err)
	}
}
