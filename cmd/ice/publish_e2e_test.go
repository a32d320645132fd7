//go:build !production

package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/infra/devstack"
	"icesurvey/publication"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// checkPublication follows a finished wave into its publication on the real server:
// the wave drafted release r1 when every ICS closed; the draft's files are in the
// store and its tables in the warehouse (published_*, releases: draft); an approval
// naming no one is refused; the approval publishes it (releases: published, the
// metadata says who approved it); `ice publish` run again joins nothing and changes
// no file; every step is audited.
func checkPublication(t *testing.T, ctx context.Context, st *devstack.Stack, wc *waveclient.Client, wave string, codes []string) {
	t.Helper()
	release := waveclient.FirstReleaseID
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	draft, err := wc.WaitPublicationDraft(wctx, wave, release, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("the wave's draft release: %v", err)
	}
	if draft.Stage != workflows.PublicationDraft || draft.Prefix != schemas.DraftPrefix(wave, release) || draft.Summary == nil {
		t.Fatalf("draft: %+v", draft)
	}
	if len(draft.ICS) != len(codes) {
		t.Errorf("draft reports %d ICSs, the wave has %v", len(draft.ICS), codes)
	}
	for _, r := range draft.ICS {
		if !r.Published || r.Patients == 0 {
			t.Errorf("%s in the draft: %+v", r.ICS, r)
		}
	}
	// The draft is under drafts/: nothing of it is where the public reads until it is
	// approved.
	if infos, err := st.Store.List(ctx, schemas.AreaPublish.WavePrefix(wave)); err != nil || len(infos) != 0 {
		t.Errorf("publish/ before the approval: %d objects (%v)", len(infos), err)
	}
	manifest, err := publication.ReadDraftManifest(ctx, st.Store, wave, release)
	if err != nil {
		t.Fatal(err)
	}
	if manifest.ManifestSHA256 != draft.ManifestSHA256 {
		t.Errorf("manifest sha256 %s, the workflow reported %s", manifest.ManifestSHA256, draft.ManifestSHA256)
	}
	for _, f := range manifest.Files {
		if ok, err := store.Exists(ctx, st.Store, f.Key); err != nil || !ok {
			t.Errorf("release file %s missing (%v)", f.Key, err)
		}
	}
	if len(manifest.Files) < 9 {
		t.Errorf("release has %d files", len(manifest.Files))
	}
	releaseStatus := func() (status string, results, dists, rates int) {
		t.Helper()
		err := warehouse.WithRetry(ctx, 30*time.Second, func() error {
			return st.Warehouse.Read(ctx, func(db *sql.DB) error {
				if err := db.QueryRowContext(ctx, `SELECT status FROM releases WHERE wave_id = ? AND release_id = ?`, wave, release).Scan(&status); err != nil {
					return err
				}
				for table, n := range map[schemas.Table]*int{schemas.TablePublishedResults: &results,
					schemas.TablePublishedDistributions: &dists, schemas.TablePublishedResponseRates: &rates} {
					if err := db.QueryRowContext(ctx, `SELECT count(*) FROM `+string(table)+` WHERE wave_id = ? AND release_id = ?`, wave, release).Scan(n); err != nil {
						return err
					}
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	status, results, dists, rates := releaseStatus()
	if status != publication.ReleaseDraft || results == 0 || dists == 0 || rates < len(codes) {
		t.Errorf("warehouse after the draft: releases %q, %d results, %d distributions, %d response rates", status, results, dists, rates)
	}

	if _, err := wc.ApprovePublication(ctx, wave, release, "", nil); err == nil || !strings.Contains(err.Error(), "--by") {
		t.Errorf("an approval naming no one: %v", err)
	}
	// A refusal of several reasons (errors.Join under fmt.Errorf in the validator) is
	// said once, without Temporal's "(type: wrapError, retryable: true)" after each copy.
	_, err = wc.ApprovePublication(ctx, wave, release, "Test Statistician", []string{"ZZZ", "ZZY"})
	if err == nil || strings.Count(err.Error(), "ICS ZZZ is not in wave "+wave) != 1 || strings.Count(err.Error(), "ICS ZZY is not in wave "+wave) != 1 || strings.Contains(err.Error(), "(type:") {
		t.Errorf("an approval leaving out ICSs the wave lacks: %q; want each reason once, without Temporal's types", err)
	}
	ap, err := wc.ApprovePublication(ctx, wave, release, "Test Statistician", draft.Summary.RakeFailed)
	if err != nil {
		t.Fatal(err)
	}
	res, err := wc.WaitPublication(wctx, wave, release)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status.Stage != workflows.PublicationPublished || res.Status.Approval == nil || res.Status.Approval.By != "Test Statistician" || !res.Status.Approval.At.Equal(ap.At) {
		t.Fatalf("publication ended %+v (approval %+v)", res.Status, ap)
	}
	if res.Status.Prefix != schemas.PublishPrefix(wave, release) || res.Status.ManifestKey != schemas.PublishManifestKey(wave, release) {
		t.Errorf("the published release is at %s (manifest %s)", res.Status.Prefix, res.Status.ManifestKey)
	}
	if status, r2, d2, _ := releaseStatus(); status != publication.ReleasePublished || r2 != results || d2 != dists {
		t.Errorf("warehouse after the approval: releases %q, %d results (were %d), %d distributions (were %d)", status, r2, results, d2, dists)
	}
	meta, err := publication.ReadMetadata(ctx, st.Store, wave, release)
	if err != nil || meta.Status != publication.ReleasePublished || meta.ApprovedBy != "Test Statistician" {
		t.Fatalf("metadata after the approval: %+v %v", meta, err)
	}
	published, err := publication.ReadManifest(ctx, st.Store, wave, release)
	if err != nil {
		t.Fatal(err)
	}
	recordHistories(t, ctx, wc, map[string]string{"publication.json": workflows.PublicationWorkflowID(wave, release)})
	// Approving it again says who already did, not only the server's "already completed".
	want := fmt.Sprintf("it is already published, approved by Test Statistician at %s", ap.At.UTC().Format(time.RFC3339))
	if _, err := wc.ApprovePublication(ctx, wave, release, "Someone Else", nil); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a second approval: %v; want it to say %q", err, want)
	}

	// `ice publish --wave W` after the release is published: a new run reports it as it
	// stands and rewrites nothing.
	if _, err := wc.StartPublication(ctx, wave, waveclient.PublicationOptions{}); err != nil {
		t.Fatal(err)
	}
	again, err := wc.WaitPublication(wctx, wave, release)
	if err != nil || again.Status.Stage != workflows.PublicationPublished || again.Status.ManifestSHA256 != published.ManifestSHA256 {
		t.Errorf("publishing the published release again: %+v %v (manifest %s)", again.Status, err, published.ManifestSHA256)
	}
	if after, err := publication.ReadManifest(ctx, st.Store, wave, release); err != nil || after.ManifestSHA256 != published.ManifestSHA256 {
		t.Errorf("the manifest changed on a re-run: %v", err)
	}

	// Bad input is refused before a workflow starts (it was refused only by the draft's
	// first activity, and left a failed publication behind under the release's id):
	// a release id the store cannot hold, and --exclude naming an ICS the wave lacks,
	// twice, or every ICS.
	for _, bad := range []struct {
		opts waveclient.PublicationOptions
		want string
	}{
		{waveclient.PublicationOptions{ReleaseID: "../r9"}, `release id "../r9": want 1–64 letters`},
		{waveclient.PublicationOptions{ReleaseID: "r-bad", Exclude: []string{"QXX"}}, `--exclude names ICS "QXX", which wave ` + wave + ` does not have (its ICSs: ` + strings.Join(codes, ", ")},
		{waveclient.PublicationOptions{ReleaseID: "r-bad", Exclude: []string{codes[0], codes[0]}}, "--exclude names ICS " + codes[0] + " twice"},
		{waveclient.PublicationOptions{ReleaseID: "r-bad", Exclude: codes}, "--exclude leaves out every ICS of wave " + wave},
	} {
		_, err := wc.StartPublication(ctx, wave, bad.opts)
		if err == nil || !strings.Contains(err.Error(), bad.want) || fault.KindOf(err) != fault.BadInput {
			t.Errorf("publication %+v: %v; want a bad input saying %q", bad.opts, err, bad.want)
		}
		if _, err := wc.PublicationStatus(ctx, wave, bad.opts.ReleaseID); err == nil {
			t.Errorf("publication %+v: refused, but a workflow was started all the same", bad.opts)
		}
	}

	checkReleaseParams(t, ctx, st, wc, wave, release)

	events, err := audit.Trail(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.Kind] = true
		if e.Kind == audit.KindActivityAttempt {
			seen[e.ActivityType] = true
		}
	}
	for _, want := range []string{"release_drafted", "release_published", "release_already_published", "BuildRelease", "ApproveRelease"} {
		if !seen[want] {
			t.Errorf("no %s in the audit trail", want)
		}
	}
}

// checkReleaseParams drafts a second release with its own parameters on the real
// server: a bad value is refused before a workflow starts; good ones reach the
// release, whose status, metadata.json and releases row say the values used; asking
// the published first release for other parameters is said to change nothing.
func checkReleaseParams(t *testing.T, ctx context.Context, st *devstack.Stack, wc *waveclient.Client, wave, first string) {
	t.Helper()
	bad := 1
	if _, err := wc.StartPublication(ctx, wave, waveclient.PublicationOptions{ReleaseID: "r-params-bad", Params: &waveclient.ReleaseParams{MinBase: &bad}}); err == nil ||
		fault.KindOf(err) != fault.BadInput || !strings.Contains(err.Error(), "min_base = 1") {
		t.Errorf("min_base 1: %v; want a bad input naming min_base", err)
	}
	if _, err := wc.PublicationStatus(ctx, wave, "r-params-bad"); err == nil {
		t.Error("bad parameters were refused, but a workflow was started all the same")
	}
	o, err := publication.ParseOverrides("r2.yaml", []byte("min_base: 20\nconfidence: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wc.StartPublication(ctx, wave, waveclient.PublicationOptions{ReleaseID: "r2", Params: o}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	draft, err := wc.WaitPublicationDraft(wctx, wave, "r2", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if nd := strings.Join(notDefault(draft.Parameters), ", "); nd != "confidence 0.9, z 1.6448536269514724, min_base 20" {
		t.Errorf("release r2's status reports parameters %q", nd)
	}
	meta, err := publication.ReadDraftMetadata(ctx, st.Store, wave, "r2")
	if err != nil {
		t.Fatal(err)
	}
	if nd := strings.Join(notDefault(meta.Parameters), ", "); nd != "confidence 0.9, z 1.6448536269514724, min_base 20" {
		t.Errorf("release r2's metadata.json: parameters %q", nd)
	}
	if !strings.Contains(strings.Join(meta.Method, " "), "90 % confidence") {
		t.Errorf("release r2's method note does not state its confidence level: %q", meta.Method)
	}
	var params sql.NullString
	if err := warehouse.WithRetry(ctx, 30*time.Second, func() error {
		return st.Warehouse.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT parameters FROM releases WHERE wave_id = ? AND release_id = 'r2'`, wave).Scan(&params)
		})
	}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(params.String, `{"name":"min_base","value":"20"}`) {
		t.Errorf("releases.parameters of r2: %v", params)
	}
	// The first release, published with the defaults, is not changed by asking for
	// other parameters: `ice publish` says so.
	if _, err := wc.StartPublication(ctx, wave, waveclient.PublicationOptions{ReleaseID: first, Params: o}); err != nil {
		t.Fatal(err)
	}
	again, err := wc.WaitPublication(wctx, wave, first)
	if err != nil {
		t.Fatal(err)
	}
	// (only those: not the ones the request leaves out, which the first release may
	// have from its wave's spec)
	got := strings.Join(paramsNotUsed(again.Status, o), "; ")
	if got != "confidence: asked 0.9, the release's 0.95; min_base: asked 20, the release's 10" {
		t.Errorf("asking published release %s for other parameters: %q, want confidence and min_base named", first, got)
	}
}
