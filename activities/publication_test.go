package activities

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/publication"
	"icesurvey/publication/pubsynth"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The release's activities on a small synthetic wave: the draft is written and its
// tables load into the warehouse; an approval is refused when it leaves out an ICS
// with figures, accepted (and audited) otherwise, and accepted again as a retry of the
// same approval; another approver of a published release is a conflict; building the
// published release again changes no file.
func TestBuildAndApproveRelease(t *testing.T) {
	ctx, events := audit.WithCollector(context.Background())
	w, err := pubsynth.Build(ctx, t.TempDir(), pubsynth.Spec{Wave: "W2", Seed: 3, ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 300, Patients: 90, Carers: 20, Deceased: 5, Ineligible: 4, OptedOut: 6, Undelivered: 7},
		{Code: "QBB", Sampled: 250, Patients: 70, Carers: 15, Deceased: 3, Ineligible: 2, OptedOut: 4, Undelivered: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wa := &WarehouseActivities{Store: w.Store, Warehouse: w.Warehouse}
	a := &Activities{Store: w.Store}
	scope := Scope{WaveID: "W2"}

	if _, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "../r1"}); fault.KindOf(err) != fault.BadInput {
		t.Errorf("a release id that is not a key segment: %v, want BadInput", err)
	}
	out, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != publication.ReleaseDraft || out.Prefix != schemas.DraftPrefix("W2", "r1") || len(out.ICS) != 2 {
		t.Fatalf("draft: %+v", out)
	}
	// Nothing of a release is under publish/, which the public reads, until it is
	// approved: not its draft, not a draft built again, not after a refused approval.
	publishEmpty := func(when string) {
		t.Helper()
		infos, err := w.Store.List(ctx, schemas.AreaPublish.Prefix())
		if err != nil {
			t.Fatal(err)
		}
		if len(infos) != 0 {
			t.Errorf("%s: publish/ holds %d objects, first %s", when, len(infos), infos[0].Key)
		}
	}
	publishEmpty("the draft")
	// `ice warehouse reload` finds the draft under drafts/ and loads it from there.
	reloadFinds := func(when string) {
		t.Helper()
		if rels, err := releasesWithManifest(ctx, w.Store, "W2"); err != nil || !slices.Equal(rels, []string{"r1"}) {
			t.Errorf("%s: the reload finds releases %v (%v)", when, rels, err)
		}
		if ro, err := wa.ReloadPublicationRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r1"}); err != nil || ro.Objects != 4 {
			t.Errorf("%s: reloading the release: %+v (%v)", when, ro, err)
		}
	}
	reloadFinds("the draft")
	for _, o := range out.Objects {
		if !strings.HasPrefix(o.Key, out.Prefix) {
			t.Errorf("the draft's warehouse object %s is outside %s", o.Key, out.Prefix)
		}
	}
	if !slices.Equal(out.Summary.ICSsPublished, []string{"QAA", "QBB"}) {
		t.Errorf("ICSs published %v", out.Summary.ICSsPublished)
	}
	// Each ICS's patients and carers, for the approver: from the release's internal
	// weighting report, as the published metadata no longer gives them.
	checkCounts := func(when string, o ReleaseOutput) {
		t.Helper()
		for i, want := range [][2]int{{90, 20}, {70, 15}} {
			if got := o.ICS[i]; got.Patients != want[0] || got.Carers != want[1] {
				t.Errorf("%s: %s has %d patients and %d carers, want %v", when, got.ICS, got.Patients, got.Carers, want)
			}
		}
	}
	checkCounts("draft", out)
	tables := map[schemas.Table]bool{}
	for _, o := range out.Objects {
		tables[o.Table] = true
	}
	for _, want := range []schemas.Table{schemas.TablePublishedResults, schemas.TablePublishedDistributions, schemas.TablePublishedResponseRates, schemas.TableReleases} {
		if !tables[want] {
			t.Errorf("no %s object among %v", want, out.Objects)
		}
	}
	loadObjects := func(objs []schemas.LakeObject) {
		t.Helper()
		if _, err := (&WarehouseActivities{Store: w.Store, Warehouse: w.Warehouse}).LoadLakeObjects(ctx, LoadObjectsInput{Scope: scope, Objects: objs}); err != nil {
			t.Fatal(err)
		}
	}
	loadObjects(out.Objects)
	releaseStatus := func() string {
		t.Helper()
		var s string
		if err := w.Warehouse.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT status FROM releases WHERE wave_id = 'W2' AND release_id = 'r1'`).Scan(&s)
		}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := releaseStatus(); s != publication.ReleaseDraft {
		t.Errorf("releases says %q after the draft", s)
	}

	at := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
	in := ApproveReleaseInput{Scope: scope, ReleaseID: "r1", By: "Dr B. Smith", At: at, LeaveOut: []string{"QAA"}}
	if _, err := a.ApproveRelease(ctx, in); fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "has figures") {
		t.Errorf("leaving out an ICS with figures: %v", err)
	}
	publishEmpty("a refused approval")
	if _, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r1"}); err != nil {
		t.Fatal(err)
	}
	publishEmpty("the draft built again")
	in.LeaveOut = nil
	ap, err := a.ApproveRelease(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if ap.Status != publication.ReleasePublished || ap.ApprovedBy != "Dr B. Smith" || !ap.ApprovedAt.Equal(at) {
		t.Fatalf("approved: %+v", ap)
	}
	checkCounts("approved", ap)
	if ap.Prefix != schemas.PublishPrefix("W2", "r1") || ap.ManifestKey != schemas.PublishManifestKey("W2", "r1") {
		t.Errorf("approved release at %s, manifest %s", ap.Prefix, ap.ManifestKey)
	}
	// The release under publish/ is complete: its manifest and every file it lists,
	// each with its SHA-256, and nothing else.
	pm, err := publication.ReadManifest(ctx, w.Store, "W2", "r1")
	if err != nil || pm.ManifestSHA256 != ap.ManifestSHA256 {
		t.Fatalf("the published manifest: %v (%v)", pm.ManifestSHA256, err)
	}
	wantKeys := []string{pm.ManifestKey}
	for _, f := range pm.Files {
		wantKeys = append(wantKeys, f.Key)
		b, err := store.ReadAll(ctx, w.Store, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			t.Errorf("%s does not match the published manifest", f.Key)
		}
	}
	infos, err := w.Store.List(ctx, schemas.AreaPublish.Prefix())
	if err != nil {
		t.Fatal(err)
	}
	var gotKeys []string
	for _, in := range infos {
		gotKeys = append(gotKeys, in.Key)
	}
	slices.Sort(wantKeys)
	if !slices.Equal(gotKeys, wantKeys) {
		t.Errorf("publish/ holds %v, want %v", gotKeys, wantKeys)
	}
	for _, o := range ap.Objects {
		if !strings.HasPrefix(o.Key, ap.Prefix) {
			t.Errorf("the published release's warehouse object %s is outside %s", o.Key, ap.Prefix)
		}
	}
	loadObjects(ap.Objects)
	reloadFinds("the published release")
	if s := releaseStatus(); s != publication.ReleasePublished {
		t.Errorf("releases says %q after reloading the published release", s)
	}
	if s := releaseStatus(); s != publication.ReleasePublished {
		t.Errorf("releases says %q after the approval", s)
	}
	again, err := a.ApproveRelease(ctx, in)
	if err != nil || again.ManifestSHA256 != ap.ManifestSHA256 {
		t.Errorf("the same approval again (a retry): %v, manifest %s then %s", err, ap.ManifestSHA256, again.ManifestSHA256)
	}
	other := in
	other.By = "Someone Else"
	if _, err := a.ApproveRelease(ctx, other); fault.KindOf(err) != fault.Conflict || !strings.Contains(err.Error(), "already published") {
		t.Errorf("another approval of a published release: %v", err)
	}

	before, err := publication.ReadManifest(ctx, w.Store, "W2", "r1")
	if err != nil {
		t.Fatal(err)
	}
	rerun, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	if rerun.Status != publication.ReleasePublished || rerun.ApprovedBy != "Dr B. Smith" || rerun.ManifestSHA256 != before.ManifestSHA256 {
		t.Errorf("building the published release again: %+v (manifest before %s)", rerun, before.ManifestSHA256)
	}
	for _, f := range before.Files {
		b, err := store.ReadAll(ctx, w.Store, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != f.Bytes {
			t.Errorf("%s changed", f.Key)
		}
	}
	var kinds []string
	for _, e := range events.Events() {
		kinds = append(kinds, e.Kind)
	}
	for _, want := range []string{"release_drafted", "release_published", "release_already_published"} {
		if !slices.Contains(kinds, want) {
			t.Errorf("no %s event audited (%v)", want, kinds)
		}
	}
}

// TestBuildReleaseWithParams: a release's parameters reach its computation and its
// metadata; a bad value is refused as bad input (not retried) before anything is
// read or written, naming the field.
func TestBuildReleaseWithParams(t *testing.T) {
	ctx := context.Background()
	w, err := pubsynth.Build(ctx, t.TempDir(), pubsynth.Spec{Wave: "W2", Seed: 3, ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 300, Patients: 90, Carers: 20, Deceased: 5, Ineligible: 4, OptedOut: 6, Undelivered: 7},
		{Code: "QBB", Sampled: 250, Patients: 70, Carers: 15, Deceased: 3, Ineligible: 2, OptedOut: 4, Undelivered: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wa := &WarehouseActivities{Store: w.Store, Warehouse: w.Warehouse}
	scope := Scope{WaveID: "W2"}
	for _, tc := range []struct {
		name   string
		params ReleaseParams
		want   string
	}{
		{"min_base 1", ReleaseParams{MinBase: ptr(1)}, "min_base = 1"},
		{"confidence as a percentage", ReleaseParams{Confidence: ptr(95.0)}, "confidence = 95"},
		{"lo ≥ hi", ReleaseParams{Lo: ptr(1.0), Hi: ptr(1.0)}, "lo = 1 ≥ hi = 1"},
		{"unknown breakdown", ReleaseParams{Breakdowns: &[]string{"postcode"}}, `breakdowns: "postcode"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "bad", Params: &tc.params})
			if fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want BadInput saying %q", err, tc.want)
			}
			var appErr *temporal.ApplicationError
			if !errors.As(ApplicationError(err), &appErr) || !appErr.NonRetryable() {
				t.Errorf("%v is retried", err)
			}
		})
	}
	if keys, err := w.Store.List(ctx, schemas.DraftPrefix("W2", "bad")); err != nil || len(keys) != 0 {
		t.Errorf("a refused release wrote %d objects (%v)", len(keys), err)
	}

	out, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r2", Params: &ReleaseParams{MinBase: ptr(20), Confidence: ptr(0.9)}})
	if err != nil {
		t.Fatal(err)
	}
	def, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r1"})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := publication.ReadDraftMetadata(ctx, w.Store, "W2", "r2")
	if err != nil {
		t.Fatal(err)
	}
	for _, ps := range [][]publication.Param{out.Parameters, meta.Parameters} {
		got := map[string]string{}
		for _, p := range ps {
			got[p.Name] = p.Value
		}
		if got["min_base"] != "20" || got["confidence"] != "0.9" || got["caution_base"] != "30" {
			t.Errorf("parameters %v, want min_base 20, confidence 0.9 and the default caution_base 30", got)
		}
	}
	if out.Summary.RowsWithheld <= def.Summary.RowsWithheld {
		t.Errorf("min_base 20 withheld %d rows, the default %d", out.Summary.RowsWithheld, def.Summary.RowsWithheld)
	}
}

func ptr[T any](v T) *T { return &v }

// A release is computed from the warehouse, which is derived from the lake: while a
// lake object of the wave is not in the warehouse — a day's load still retrying, a
// warehouse rebuilt and not reloaded yet — its rows would be left out of the figures
// without a word. The draft waits (a retryable error naming the object and the
// reload), and is built once the object is loaded.
func TestBuildReleaseWaitsForTheLakeToBeLoaded(t *testing.T) {
	ctx := context.Background()
	w, err := pubsynth.Build(ctx, t.TempDir(), pubsynth.Spec{Wave: "W2", Seed: 3, ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 300, Patients: 90, Carers: 20, Deceased: 5, Ineligible: 4, OptedOut: 6, Undelivered: 7},
		{Code: "QBB", Sampled: 250, Patients: 70, Carers: 15, Deceased: 3, Ineligible: 2, OptedOut: 4, Undelivered: 5},
	}})
	if err != nil {
		t.Fatal(err)
	}
	wa := &WarehouseActivities{Store: w.Store, Warehouse: w.Warehouse}
	scope := Scope{WaveID: "W2"}
	// A rebuilt warehouse that has not been reloaded: QBB's responses are in the lake
	// only.
	var responses schemas.LakeObject
	if err := w.Warehouse.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT object_key FROM loaded_files WHERE table_name = 'responses' AND object_key LIKE '%ics=QBB%'`).Scan(&responses.Key)
	}); err != nil {
		t.Fatal(err)
	}
	responses.Table = schemas.TableResponses
	if err := w.Warehouse.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM responses WHERE ics = 'QBB'`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM loaded_files WHERE object_key = ?`, responses.Key)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, err = wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r1"})
	if err == nil {
		t.Fatal("a release was drafted from a warehouse that lacks QBB's responses")
	}
	for _, want := range []string{responses.Key, "ice warehouse reload --wave W2"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	var appErr *temporal.ApplicationError
	if errors.As(ApplicationError(err), &appErr) && appErr.NonRetryable() {
		t.Errorf("%v is not retried: the draft must carry on once the object is loaded", err)
	}
	if keys, err := w.Store.List(ctx, schemas.DraftPrefix("W2", "r1")); err != nil || len(keys) != 0 {
		t.Errorf("the refused release wrote %d objects (%v)", len(keys), err)
	}
	if _, err := w.Warehouse.LoadLakeObjects(ctx, w.Store, "W2", "QBB", []schemas.LakeObject{responses}); err != nil {
		t.Fatal(err)
	}
	out, err := wa.BuildRelease(ctx, ReleaseInput{Scope: scope, ReleaseID: "r1"})
	if err != nil {
		t.Fatalf("once the lake is loaded: %v", err)
	}
	for _, ics := range out.ICS {
		if ics.ICS == "QBB" && ics.Patients != 70 {
			t.Errorf("QBB has %d patients in the release, want 70", ics.Patients)
		}
	}
}
