package publication

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// keysUnder lists the keys under prefix.
func keysUnder(t *testing.T, st store.Store, prefix string) []string {
	t.Helper()
	infos, err := st.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, in := range infos {
		out = append(out, in.Key)
	}
	return out
}

// checkPublished checks that publish/{wave}/{release}/ holds the complete release m
// lists and nothing else: every file with its SHA-256, and none naming the draft.
func checkPublished(t *testing.T, st store.Store, m Manifest, wave, release string) {
	t.Helper()
	ctx := context.Background()
	want := []string{schemas.PublishManifestKey(wave, release)}
	for _, f := range m.Files {
		want = append(want, f.Key)
		b, err := store.ReadAll(ctx, st, f.Key)
		if err != nil {
			t.Errorf("%s: %v", f.Key, err)
			continue
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Bytes {
			t.Errorf("%s does not match its SHA-256 or size in the manifest", f.Key)
		}
		if bytes.Contains(b, []byte(schemas.AreaDrafts.Prefix())) {
			t.Errorf("%s names the draft's area", f.Key)
		}
	}
	slices.Sort(want)
	if got := keysUnder(t, st, schemas.AreaPublish.Prefix()); !slices.Equal(got, want) {
		t.Errorf("publish/ holds\n%v\nwant\n%v", got, want)
	}
}

// A draft is written under drafts/ and nothing under publish/, which the public reads:
// not when it is written, not when its approval is refused. Approval copies it to
// publish/ whole: the same bytes for every file but its status, the manifest's
// SHA-256s matching, metadata.json published and naming the published files.
// Publishing again writes the same bytes.
func TestDraftIsNotPublishedUntilApproved(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	st := newStore(t)
	d, err := Write(ctx, st, r, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got := keysUnder(t, st, schemas.AreaPublish.Prefix()); len(got) != 0 {
		t.Fatalf("a draft wrote under publish/: %v", got)
	}
	if d.Prefix != schemas.DraftPrefix("W1", "r1") || d.ManifestKey != schemas.DraftKey(schemas.PublishManifestKey("W1", "r1")) {
		t.Errorf("draft at %s, manifest %s", d.Prefix, d.ManifestKey)
	}
	for _, f := range d.Files {
		if !strings.HasPrefix(f.Key, d.Prefix) {
			t.Errorf("draft file %s outside %s", f.Key, d.Prefix)
		}
	}
	meta, err := ReadDraftMetadata(ctx, st, "W1", "r1")
	if err != nil || meta.Status != ReleaseDraft {
		t.Fatalf("draft metadata: %+v (%v)", meta, err)
	}
	if _, err := Publish(ctx, st, meta); err == nil {
		t.Error("published a draft not approved")
	}
	at := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	refused := *meta
	refused.ICSs = append(slices.Clone(meta.ICSs), ICSMetadata{ICS: "QZZ", WeightingStatus: "rake_failed", Reason: "did not converge"})
	if err := Approve(&refused, "A. Statistician", at, nil); err == nil {
		t.Fatal("approved with a rake_failed ICS not left out")
	}
	if got := keysUnder(t, st, schemas.AreaPublish.Prefix()); len(got) != 0 {
		t.Fatalf("publish/ after a refused approval: %v", got)
	}

	if err := Approve(meta, "A. Statistician", at, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Publish(ctx, st, meta)
	if err != nil {
		t.Fatal(err)
	}
	if m.Prefix != schemas.PublishPrefix("W1", "r1") || m.Summary.Status != ReleasePublished {
		t.Errorf("published manifest: prefix %s, status %s", m.Prefix, m.Summary.Status)
	}
	checkPublished(t, st, m, "W1", "r1")
	back, err := ReadManifest(ctx, st, "W1", "r1")
	if err != nil || back.ManifestSHA256 != m.ManifestSHA256 {
		t.Fatalf("published manifest reads back %v (%v)", back.ManifestSHA256, err)
	}
	draftSums := map[string]string{}
	for _, f := range d.Files {
		draftSums[schemas.PublishedKey(f.Key)] = f.SHA256
	}
	for _, f := range m.Files {
		status := strings.HasSuffix(f.Key, "/metadata.json") || strings.HasSuffix(f.Key, "/release.parquet")
		if changed := draftSums[f.Key] != f.SHA256; changed != status {
			t.Errorf("%s: changed %v by the approval", f.Key, changed)
		}
	}
	if len(m.Files) != len(d.Files) {
		t.Errorf("%d files published, %d drafted", len(m.Files), len(d.Files))
	}
	pub, err := ReadMetadata(ctx, st, "W1", "r1")
	if err != nil || pub.Status != ReleasePublished || pub.ApprovedBy != "A. Statistician" {
		t.Fatalf("published metadata: %+v (%v)", pub, err)
	}
	for _, tm := range pub.Tables {
		for _, k := range tm.Files {
			if !strings.HasPrefix(k, m.Prefix) {
				t.Errorf("published metadata names %s for %s", k, tm.Table)
			}
		}
	}
	rec, err := lake.GetRows[schemas.PublishedRelease](ctx, st, schemas.PublishReleaseParquetKey("W1", "r1"), schemas.PublishedReleaseLayout())
	if err != nil || len(rec) != 1 || rec[0].Status != ReleasePublished || !rec[0].ApprovedAt.Equal(at) {
		t.Fatalf("release.parquet after approval: %+v (%v)", rec, err)
	}
	if cur, err := ReadCurrentManifest(ctx, st, "W1", "r1"); err != nil || cur.ManifestSHA256 != m.ManifestSHA256 {
		t.Errorf("the current manifest of the published release: %s (%v)", cur.ManifestKey, err)
	}
	// Again, from the published metadata (a retry of the same approval): same bytes.
	again, err := Publish(ctx, st, pub)
	if err != nil || again.ManifestSHA256 != m.ManifestSHA256 {
		t.Errorf("publishing again: manifest %s, first %s (%v)", again.ManifestSHA256, m.ManifestSHA256, err)
	}
}

// failingStore fails every Put after the first n, as a worker killed part-way through.
type failingStore struct {
	store.Store
	n int
}

var errCrash = errors.New("crash")

func (s *failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if s.n <= 0 {
		return errCrash
	}
	s.n--
	return s.Store.Put(ctx, key, r)
}

// An approval cut short after any number of writes leaves no manifest under publish/
// (a reader never finds a release published with files missing), and the same
// approval again finishes it: the complete release, the same bytes as one approval
// that never failed.
func TestPublishCutShortIsFinishedByARetry(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	st := newStore(t)
	if _, err := Write(ctx, st, r, "r1"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	approved := func() *Metadata {
		t.Helper()
		meta, err := ReadDraftMetadata(ctx, st, "W1", "r1")
		if err != nil {
			t.Fatal(err)
		}
		if err := Approve(meta, "A. Statistician", at, nil); err != nil {
			t.Fatal(err)
		}
		return meta
	}
	whole, err := Publish(ctx, st, approved())
	if err != nil {
		t.Fatal(err)
	}
	clear := func() {
		for _, k := range keysUnder(t, st, schemas.AreaPublish.Prefix()) {
			if err := st.Delete(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	for n := 0; n <= len(whole.Files); n++ {
		clear()
		if _, err := Publish(ctx, &failingStore{Store: st, n: n}, approved()); !errors.Is(err, errCrash) {
			t.Fatalf("cut short after %d writes: %v", n, err)
		}
		if ok, err := store.Exists(ctx, st, schemas.PublishManifestKey("W1", "r1")); err != nil || ok {
			t.Fatalf("cut short after %d writes: a manifest under publish/ (%v)", n, err)
		}
		m, err := Publish(ctx, st, approved())
		if err != nil {
			t.Fatalf("retry after %d writes: %v", n, err)
		}
		if m.ManifestSHA256 != whole.ManifestSHA256 {
			t.Errorf("retry after %d writes: manifest %s, want %s", n, m.ManifestSHA256, whole.ManifestSHA256)
		}
		checkPublished(t, st, m, "W1", "r1")
	}
}

// writeAsBefore moves the draft of a release to publish/ as the code before drafts/
// wrote it: the files, metadata.json naming them and the manifest under publish/,
// nothing under drafts/.
func writeAsBefore(t *testing.T, st store.Store, wave, release string) {
	t.Helper()
	ctx := context.Background()
	d, err := ReadDraftManifest(ctx, st, wave, release)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := ReadDraftMetadata(ctx, st, wave, release)
	if err != nil {
		t.Fatal(err)
	}
	m := Manifest{ReleaseID: release, WaveID: wave, Prefix: schemas.PublishPrefix(wave, release), Summary: meta.Summary()}
	for _, f := range d.Files {
		if strings.HasSuffix(f.Key, "/metadata.json") || strings.HasSuffix(f.Key, "/release.parquet") {
			continue
		}
		b, err := store.ReadAll(ctx, st, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		f.Key = schemas.PublishedKey(f.Key)
		if err := store.PutBytes(ctx, st, f.Key, b); err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, f)
	}
	for i := range meta.Tables {
		for j, k := range meta.Tables[i].Files {
			meta.Tables[i].Files[j] = schemas.PublishedKey(k)
		}
	}
	outs, err := statusOutputs(meta, published)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		f, err := put(ctx, st, o)
		if err != nil {
			t.Fatal(err)
		}
		m.Files = append(m.Files, f)
	}
	if err := writeManifest(ctx, st, &m, schemas.PublishManifestKey(wave, release)); err != nil {
		t.Fatal(err)
	}
	for _, k := range keysUnder(t, st, schemas.DraftPrefix(wave, release)) {
		if err := st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
}

// A release drafted under publish/ before drafts moved to drafts/ is approved in
// place: its status is written there and its figures are not touched.
func TestReleaseDraftedUnderPublishIsApprovedInPlace(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	st := newStore(t)
	if _, err := Write(ctx, st, r, "r1"); err != nil {
		t.Fatal(err)
	}
	writeAsBefore(t, st, "W1", "r1")
	before, err := ReadManifest(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if cur, err := ReadCurrentManifest(ctx, st, "W1", "r1"); err != nil || cur.ManifestSHA256 != before.ManifestSHA256 {
		t.Errorf("the current manifest of a draft under publish/: %s (%v)", cur.ManifestKey, err)
	}
	meta, err := ReadMetadata(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	if err := Approve(meta, "A. Statistician", time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC), nil); err != nil {
		t.Fatal(err)
	}
	m, err := Publish(ctx, st, meta)
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, st, m, "W1", "r1")
	for i, f := range m.Files {
		changed := f.SHA256 != before.Files[i].SHA256
		status := strings.HasSuffix(f.Key, "/metadata.json") || strings.HasSuffix(f.Key, "/release.parquet")
		if changed != status {
			t.Errorf("%s: changed %v by the approval", f.Key, changed)
		}
	}
	if m.Summary.Status != ReleasePublished {
		t.Errorf("manifest summary status %s", m.Summary.Status)
	}
}
