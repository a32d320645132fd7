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
		schemas.ContactsKey("W1", "QE1"),
		schemas.DBSExchangeKey("W1", "QE1", "request-1", schemas.DBSRequest),
		schemas.PrintFileKey("W1", "QE1", "invitation"),
		schemas.LedgerEntryKey(schemas.SMSLedgerPrefix("W1", "QE1", "sms1"), "ref"),
	}
	freeText := schemas.FreeTextKey("W1", "QE1", day, "0123456789abcdef")
	other := schemas.ContactsKey("W1", "QE2") // another ICS: not this deletion's
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
