package publication

import (
	"context"
	"testing"
	"time"

	"icesurvey/schemas"
)

// The store's releases of a wave: an approved one from publish/, with who approved it;
// a draft from drafts/; none for a wave without releases.
func TestReleasesOfAWave(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	st := newStore(t)
	if _, err := Write(ctx, st, compute(t, snap, "W1", testParams()), "r1"); err != nil {
		t.Fatal(err)
	}
	p := testParams()
	p.Disclosure.MinBase = 20
	if _, err := Write(ctx, st, compute(t, snap, "W1", p), "r2"); err != nil {
		t.Fatal(err)
	}
	meta, err := ReadDraftMetadata(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	if err := Approve(meta, "A. Statistician", at, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, st, meta); err != nil {
		t.Fatal(err)
	}
	got, err := Releases(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("releases %+v, want r1 and r2", got)
	}
	r1, r2 := got[0], got[1]
	if r1.ReleaseID != "r1" || r1.Status != ReleasePublished || r1.ApprovedBy != "A. Statistician" || r1.ApprovedAt == nil || !r1.ApprovedAt.Equal(at) ||
		r1.Prefix != schemas.PublishPrefix("W1", "r1") {
		t.Errorf("r1: %+v", r1)
	}
	if r2.ReleaseID != "r2" || r2.Status != ReleaseDraft || r2.ApprovedBy != "" || r2.Prefix != schemas.DraftPrefix("W1", "r2") {
		t.Errorf("r2: %+v", r2)
	}
	if q, err := ParamsOf(r2.Parameters); err != nil || q.Disclosure.MinBase != 20 {
		t.Errorf("r2's parameters read back min_base %d (%v)", q.Disclosure.MinBase, err)
	}
	if none, err := Releases(ctx, st, "W9"); err != nil || len(none) != 0 {
		t.Errorf("a wave without releases: %+v (%v)", none, err)
	}
}
