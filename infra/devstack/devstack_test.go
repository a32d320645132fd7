package devstack

import (
	"context"
	"testing"
	"time"

	"icesurvey/notify"
)

// The dev stack's simulated Notify keeps its state in the data directory: started
// again on the same directory (ice dev restarted), it has the same API key and still
// knows, with its status, every message sent before, so the receipts a wave reads after
// the restart are found rather than ending its ICS with 404 NoResultFound.
func TestNotifyRemembersAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	first, err := openNotify(dir, time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := notify.New(notify.Config{APIKey: first.APIKey(), BaseURL: first.URL})
	if err != nil {
		t.Fatal(err)
	}
	sent, err := c.SendSMS(ctx, notify.SMS{PhoneNumber: "07700900123", TemplateID: "f33517ff-2a88-4f6e-b855-c550268ce08a", Reference: "ice.W1.QMM.S1.sms1"})
	if err != nil {
		t.Fatal(err)
	}
	key := first.APIKey()
	first.Close()
	time.Sleep(5 * time.Millisecond) // settled by the time it is asked

	again, err := openNotify(dir, time.Millisecond, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.APIKey() != key {
		t.Errorf("restarted with another API key: a worker configured with the old one would be refused")
	}
	c2, err := notify.New(notify.Config{APIKey: again.APIKey(), BaseURL: again.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c2.Get(ctx, sent.ID)
	if err != nil {
		t.Fatalf("after a restart, the message sent before: %v", err)
	}
	if got.Reference != "ice.W1.QMM.S1.sms1" || got.Status != notify.StatusDelivered {
		t.Errorf("after a restart: %+v, want the message sent before, delivered", got)
	}
}
