package activities

import (
	"context"
	"testing"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

func TestDeleteRestrictedKeepsFreeText(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC)
	mailing := []string{
		schemas.RestrictedPrefix("W1", "QE1") + "contacts.parquet",
		schemas.RestrictedPrefix("W1", "QE1") + "dbs/request-1.csv",
		schemas.RestrictedPrefix("W1", "QE1") + "outbox/invitation.csv",
	}
	freeText := schemas.FreeTextPrefix("W1", "QE1", day) + "part-0.parquet"
	other := schemas.RestrictedPrefix("W1", "QE2") + "contacts.parquet" // another ICS: not this deletion's
	for _, k := range append(mailing, freeText, other) {
		if err := store.PutBytes(ctx, st, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	out, err := (&Activities{Store: st}).DeleteRestricted(ctx, Scope{WaveID: "W1", ICS: "QE1"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Deleted != len(mailing) {
		t.Errorf("deleted %d objects, want %d", out.Deleted, len(mailing))
	}
	for _, k := range mailing {
		if ok, _ := store.Exists(ctx, st, k); ok {
			t.Errorf("%s survived retention", k)
		}
	}
	for _, k := range []string{freeText, other} {
		if ok, _ := store.Exists(ctx, st, k); !ok {
			t.Errorf("%s was deleted", k)
		}
	}
}
