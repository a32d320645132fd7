package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"icesurvey/notify"
	"icesurvey/notify/notifytest"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		status string
		want   notify.Outcome
	}{
		{"created", notify.OutcomeInFlight},
		{"sending", notify.OutcomeInFlight},
		{"pending", notify.OutcomeInFlight},
		{"sent", notify.OutcomeDelivered},
		{"delivered", notify.OutcomeDelivered},
		{"permanent-failure", notify.OutcomePermanentFailure},
		{"temporary-failure", notify.OutcomeRetryNextStep},
		{"technical-failure", notify.OutcomeRetryNextStep},
		{"accepted", notify.OutcomeInFlight},
		{"received", notify.OutcomeDelivered},
		{"validation-failed", notify.OutcomePermanentFailure},
		{"returned-letter", notify.OutcomePermanentFailure},
		{"cancelled", notify.OutcomeCancelled},
		{"something-new", notify.OutcomeUnknown},
		{"", notify.OutcomeUnknown},
	}
	for _, tt := range tests {
		got := notify.Classify(tt.status)
		if got != tt.want {
			t.Errorf("Classify(%q) = %v, want %v", tt.status, got, tt.want)
		}
		final := tt.want != notify.OutcomeInFlight && tt.want != notify.OutcomeUnknown
		if got.Final() != final || notify.FinalStatus(tt.status) != final || notify.Status(tt.status).Final() != final {
			t.Errorf("%q: Final = %v, want %v", tt.status, got.Final(), final)
		}
	}
}

func newServerAndClient(t *testing.T, opts notifytest.Options) (*notifytest.Server, *notify.Client) {
	t.Helper()
	srv := notifytest.Start(t, opts)
	c, err := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL, MinBackoff: 1, MaxBackoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestDeliveryReceiptsByGetAndList(t *testing.T) {
	ctx := context.Background()
	srv, c := newServerAndClient(t, notifytest.Options{PageSize: 3,
		PermanentFailureNumbers: []string{"07700 900001"}, TemporaryFailureNumbers: []string{"+447700900002"}})
	if err := srv.SetFinalStatus(notifytest.TechnicalFailure, "07700900003"); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := range 8 {
		n, err := c.SendSMS(ctx, notify.SMS{PhoneNumber: fmt.Sprintf("0770090000%d", i), TemplateID: tmpl, Reference: fmt.Sprintf("W1-QMM-sms1-S%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	srv.Advance()
	srv.Advance()

	// One status.
	want := map[int]string{0: "delivered", 1: "permanent-failure", 2: "temporary-failure", 3: "technical-failure", 4: "delivered"}
	for i, st := range want {
		n, err := c.Get(ctx, ids[i])
		if err != nil || n.Status != st {
			t.Fatalf("Get %d = %+v, %v; want %s", i, n, err, st)
		}
	}
	if n, _ := c.Get(ctx, ids[1]); n.Outcome() != notify.OutcomePermanentFailure {
		t.Errorf("outcome of permanent-failure = %v", n.Outcome())
	}
	if n, _ := c.Get(ctx, ids[2]); n.Outcome() != notify.OutcomeRetryNextStep {
		t.Errorf("outcome of temporary-failure = %v", n.Outcome())
	}
	_, err := c.Get(ctx, "11111111-2222-4333-8444-555555555555")
	var ae *notify.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || notify.IsRecipientError(err) {
		t.Errorf("unknown id: %v, want 404", err)
	}

	// Every SMS, in pages of 3, newest first.
	var got []string
	if err := c.List(ctx, notify.ListFilter{TemplateType: notify.TypeSMS}, func(n notify.Notification) error {
		got = append(got, n.ID)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 || got[0] != ids[7] || got[7] != ids[0] {
		t.Fatalf("List sms = %d notifications (%v), want 8 newest first", len(got), got)
	}
	page, err := c.ListPage(ctx, notify.ListFilter{TemplateType: notify.TypeSMS})
	if err != nil || len(page.Notifications) != 3 || page.Next == nil || page.Next.OlderThan != page.Notifications[2].ID {
		t.Fatalf("first page %+v, %v", page, err)
	}
	// The failures, by status; "failed" stands for all of them.
	count := func(f notify.ListFilter) int {
		n := 0
		if err := c.List(ctx, f, func(notify.Notification) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(notify.ListFilter{Statuses: []string{notify.StatusPermanentFailure}}); n != 1 {
		t.Errorf("permanent failures listed: %d", n)
	}
	if n := count(notify.ListFilter{TemplateType: notify.TypeSMS, Statuses: []string{notify.StatusFailed}}); n != 3 {
		t.Errorf("failed listed: %d, want 3", n)
	}
	if n := count(notify.ListFilter{Reference: "W1-QMM-sms1-S05"}); n != 1 {
		t.Errorf("by reference: %d", n)
	}
	if n := count(notify.ListFilter{TemplateType: notify.TypeLetter}); n != 0 {
		t.Errorf("letters listed: %d, want 0 (only SMS were sent)", n)
	}
	// fn's error stops the listing.
	stop := errors.New("enough")
	if err := c.List(ctx, notify.ListFilter{}, func(notify.Notification) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("List did not return fn's error: %v", err)
	}
}

func TestListFilterRefusedBeforeSending(t *testing.T) {
	srv, c := newServerAndClient(t, notifytest.Options{})
	for _, f := range []notify.ListFilter{
		{TemplateType: "fax"},
		{Statuses: []string{"elephant"}},
		{OlderThan: "not-a-uuid"},
	} {
		if _, err := c.ListPage(context.Background(), f); err == nil || !notify.IsPermanent(err) {
			t.Errorf("%+v: err = %v, want a permanent validation error", f, err)
		}
	}
	if n := srv.Stats().Requests; n != 0 {
		t.Errorf("%d requests reached the server", n)
	}
}

// corruptFirst answers the first response to a matching request with a body that is
// not Notify's, as a proxy or a truncated connection might.
type corruptFirst struct {
	match string
	done  bool
}

func (c *corruptFirst) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || c.done || !strings.HasSuffix(r.URL.Path, c.match) {
		return res, err
	}
	c.done = true
	res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader([]byte(`{"id": "not-a-uuid"`)))
	res.ContentLength = -1
	return res, nil
}

// TestUnreadableSendAnswerReconciled: Notify answered 201 but the body cannot be read.
// The client asks by reference instead of sending again, so nothing is sent twice.
func TestUnreadableSendAnswerReconciled(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	c, err := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL, MinBackoff: 1, MaxBackoff: 1,
		HTTPClient: &http.Client{Transport: &corruptFirst{match: "/sms"}}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.SendSMS(context.Background(), notify.SMS{PhoneNumber: "07700900123", TemplateID: tmpl, Reference: "ref-1"})
	if err != nil {
		t.Fatal(err)
	}
	if srv.CountByReference("ref-1") != 1 || !notify.IsUUID(n.ID) {
		t.Errorf("sent %d times; notification %+v", srv.CountByReference("ref-1"), n)
	}
}
