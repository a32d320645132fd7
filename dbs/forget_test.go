package dbs

import (
	"context"
	"strings"
	"testing"

	"icesurvey/dbs/dbstest"
	"icesurvey/schemas"
	"icesurvey/store"
)

// At retention a transport forgets a request: its copies in the store go, another
// request's stay, and forgetting again deletes nothing.
func TestTransportsForgetARequest(t *testing.T) {
	ctx := context.Background()
	const wave, ics = "2025-02", "QNX"

	t.Run("mesh", func(t *testing.T) {
		f := newMeshFixture(t)
		key := schemas.RestrictedPrefix(wave, ics) + "contacts.parquet"
		putContacts(t, f.st, key, []schemas.Contact{dbstest.Contact(t, "S1", "943476591"), dbstest.Contact(t, "S2", "401023213")})
		for _, id := range []string{"dbs-mesh-1", "dbs-mesh-2"} {
			if _, err := Submit(ctx, f.st, f.tr, wave, ics, id, key, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, ready, err := Collect(ctx, f.st, f.tr, wave, ics, "dbs-mesh-1"); err != nil || !ready {
			t.Fatalf("collect: %v %v", ready, err)
		}
		deleted, err := f.tr.Forget(ctx, "dbs-mesh-1")
		if err != nil || len(deleted) < 2 {
			t.Fatalf("forget: %v %v", deleted, err)
		}
		for _, k := range deleted {
			if !strings.HasPrefix(k, schemas.DBSLedgerKey(DefaultLedgerPrefix, "dbs-mesh-1", "")) {
				t.Errorf("forgot %s, not the request's", k)
			}
		}
		left, _ := f.st.List(ctx, DefaultLedgerPrefix)
		for _, inf := range left {
			if strings.Contains(inf.Key, "dbs-mesh-1/") {
				t.Errorf("%s left", inf.Key)
			}
		}
		if len(left) == 0 {
			t.Error("the other request's ledger went too")
		}
		if again, err := f.tr.Forget(ctx, "dbs-mesh-1"); err != nil || len(again) != 0 {
			t.Errorf("forget again: %v %v", again, err)
		}
	})

	t.Run("file drop", func(t *testing.T) {
		st := dbstest.FileStore(t)
		tr := &FileDropTransport{Store: st, Outbox: schemas.DBSFileDropOutbox, Inbox: schemas.DBSFileDropInbox}
		for _, id := range []string{"r1", "r2"} {
			if err := tr.Submit(ctx, id, []byte("request")); err != nil {
				t.Fatal(err)
			}
		}
		if err := tr.PutReply(ctx, "r1", []byte("reply")); err != nil {
			t.Fatal(err)
		}
		if deleted, err := tr.Forget(ctx, "r1"); err != nil || len(deleted) != 2 {
			t.Fatalf("forget: %v %v", deleted, err)
		}
		if ok, _ := store.Exists(ctx, st, schemas.FileDropKey(tr.Outbox, "r2")); !ok {
			t.Error("the other request went too")
		}
		if _, err := tr.Forget(ctx, "../x"); err == nil {
			t.Error("a bad request ID was accepted")
		}
	})
}
