package notify_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"icesurvey/notify"
	"icesurvey/notify/notifytest"
)

const tmpl = "f33517ff-2a88-4f6e-b855-c550268ce08a"

func newClient(t *testing.T, srv *notifytest.Server, mod func(*notify.Config)) *notify.Client {
	t.Helper()
	cfg := notify.Config{
		APIKey:     srv.APIKey(),
		BaseURL:    srv.URL,
		MinBackoff: 5 * time.Millisecond,
		MaxBackoff: 50 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := notify.New(cfg)
	if err != nil {
		t.Fatalf("notify.New: %v", err)
	}
	return c
}

func sms(ref string) notify.SMS {
	return notify.SMS{PhoneNumber: "07700900123", TemplateID: tmpl, Reference: ref,
		Personalisation: map[string]string{"access_code": "ABC123"}}
}

func TestParseAPIKey(t *testing.T) {
	const sid = "26785a09-ab16-4eb0-8407-a37497a57506"
	const sec = "3d844edf-8d35-48ac-975b-e847b4f122b0"
	tests := []struct {
		name, key, wantName string
		wantErr             bool
	}{
		{"simple", "live-" + sid + "-" + sec, "live", false},
		{"name with dashes", "ice-survey-live-" + sid + "-" + sec, "ice-survey-live", false},
		{"no name", sid + "-" + sec, "", false},
		{"surrounding space", "  k-" + sid + "-" + sec + "\n", "k", false},
		{"too short", "k-" + sec, "", true},
		{"secret not a uuid", "k-" + sid + "-" + strings.Repeat("z", 36), "", true},
		{"service id not a uuid", "k-" + strings.Repeat("z", 36) + "-" + sec, "", true},
		{"missing dash before secret", "k-" + sid + "_" + sec, "", true},
		{"missing dash before service id", "k_" + sid + "-" + sec, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := notify.ParseAPIKey(tt.key)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err != nil {
				if strings.Contains(err.Error(), sec) {
					t.Errorf("error leaks the secret: %v", err)
				}
				return
			}
			if k.Name != tt.wantName || k.ServiceID != sid {
				t.Errorf("got name %q service %q", k.Name, k.ServiceID)
			}
			if strings.Contains(k.String(), sec) {
				t.Errorf("String() leaks the secret: %s", k)
			}
		})
	}
}

func TestValidPostcode(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"NR1 1AA", true}, {"nr11aa", true}, {"M1 1AE", true}, {"B33 8TH", true}, {"CR2 6XH", true},
		{"DN55 1PT", true}, {"W1A 0AX", true}, {"EC1A 1BB", true}, {"SW1A 2AA", true},
		{"QA1 1AA", false},    // Q never first
		{"AI1 1AA", false},    // I never second
		{"W1I 0AX", false},    // I not allowed third
		{"EC1C 1BB", false},   // C not allowed fourth
		{"NR1 1CA", false},    // C never in the inward code
		{"NR1 1A", false},     // short inward
		{"NR1", false},        // no inward
		{"12345", false},      // no letters
		{"NR1  1AA X", false}, // trailing junk
		{"", false},
	}
	for _, tt := range tests {
		if got := notify.ValidPostcode(tt.in); got != tt.want {
			t.Errorf("ValidPostcode(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if got := notify.NormalisePostcode(" sw1a2aa "); got != "SW1A 2AA" {
		t.Errorf("NormalisePostcode = %q", got)
	}
}

func TestValidUKMobile(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"07700900123", true}, {"+447700900123", true}, {"447700900123", true}, {"00447700900123", true},
		{"07700 900 123", true}, {"(07700) 900-123", true},
		{"01632960123", false}, {"+441632960123", false}, {"0770090012", false}, {"077009001234", false},
		{"+15555550123", false}, {"07700g00123", false}, {"", false},
	}
	for _, tt := range tests {
		if got := notify.ValidUKMobile(tt.in); got != tt.want {
			t.Errorf("ValidUKMobile(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestAuthentication(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	other := notifytest.Start(t, notifytest.Options{})
	sid := srv.ServiceID()
	tests := []struct {
		name    string
		key     string
		now     func() time.Time
		wantMsg string
	}{
		{"valid", srv.APIKey(), nil, ""},
		{"second key of the service", srv.NewAPIKey("second"), nil, ""},
		{"clock 20s behind is tolerated", srv.APIKey(), func() time.Time { return time.Now().Add(-20 * time.Second) }, ""},
		{"wrong secret", "test-" + sid + "-00000000-0000-4000-8000-000000000000", nil, "API key not found"},
		{"other service", other.APIKey(), nil, "service not found"},
		{"expired iat", srv.APIKey(), func() time.Time { return time.Now().Add(-61 * time.Second) }, "within 30 seconds"},
		{"future iat", srv.APIKey(), func() time.Time { return time.Now().Add(61 * time.Second) }, "within 30 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Stats().Requests
			c := newClient(t, srv, func(c *notify.Config) { c.APIKey = tt.key; c.Now = tt.now })
			n, err := c.SendSMS(context.Background(), sms("auth-"+tt.name))
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("SendSMS: %v", err)
				}
				if !notify.IsUUID(n.ID) || n.Reference != "auth-"+tt.name {
					t.Errorf("bad response %+v", n)
				}
				return
			}
			var ae *notify.APIError
			if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("err = %v, want 403 %q", err, tt.wantMsg)
			}
			if !ae.Permanent() || !ae.AuthError() || ae.Retryable() || ae.RecipientError() {
				t.Errorf("classification wrong for %v", ae)
			}
			if ae.Errors[0].Error != "AuthError" {
				t.Errorf("error kind %q", ae.Errors[0].Error)
			}
			if got := srv.Stats().Requests - before; got != 1 {
				t.Errorf("auth error was retried: %d requests", got)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name        string
		failN       int
		status      int
		maxAttempts int
		wantErr     bool
	}{
		{"three 500s then success", 3, 500, 6, false},
		{"three 429s then success", 3, 429, 6, false},
		{"502 once", 1, 502, 6, false},
		{"503 beyond the attempt budget", 5, 503, 3, true},
		{"429 beyond the attempt budget", 5, 429, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := notifytest.Start(t, notifytest.Options{})
			c := newClient(t, srv, func(c *notify.Config) { c.MaxAttempts = tt.maxAttempts })
			srv.FailNext(tt.failN, tt.status)
			n, err := c.SendSMS(context.Background(), sms("r1"))
			st := srv.Stats()
			if tt.wantErr {
				var ae *notify.APIError
				if err == nil || !errors.As(err, &ae) || ae.Status != tt.status || notify.IsPermanent(err) {
					t.Fatalf("err = %v, want retryable %d", err, tt.status)
				}
				if st.Requests < tt.maxAttempts {
					t.Errorf("gave up after %d requests, want at least %d", st.Requests, tt.maxAttempts)
				}
				if srv.CountByReference("r1") != 0 {
					t.Errorf("a notification was created")
				}
				return
			}
			if err != nil {
				t.Fatalf("SendSMS: %v", err)
			}
			if n.ID == "" || srv.CountByReference("r1") != 1 {
				t.Errorf("want exactly one notification, got %d", srv.CountByReference("r1"))
			}
			if st.InjectedFaults != tt.failN {
				t.Errorf("injected faults seen = %d, want %d", st.InjectedFaults, tt.failN)
			}
		})
	}
}

func TestRetryHonoursContext(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	c := newClient(t, srv, func(c *notify.Config) {
		c.MinBackoff, c.MaxBackoff, c.MaxAttempts = 10*time.Second, 10*time.Second, 5
	})
	srv.FailNext(5, 500)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.SendSMS(ctx, sms("r1"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if time.Since(start) > 2*time.Second {
		t.Errorf("backoff did not give way to the context")
	}
}

// A send whose response is lost after Notify created the notification must not be
// sent again: the client checks the reference before retrying.
func TestLostResponseNotResent(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	c := newClient(t, srv, nil)
	srv.FailNextAfterAccept(1)
	n, err := c.SendSMS(context.Background(), sms("lost-1"))
	if err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	if got := srv.CountByReference("lost-1"); got != 1 {
		t.Fatalf("server has %d notifications for the reference, want 1", got)
	}
	if want := srv.Notifications()[0].ID; n.ID != want {
		t.Errorf("recovered id %s, want %s", n.ID, want)
	}

	// Without a reference there is nothing to check, so the client must not retry.
	srv.FailNextAfterAccept(1)
	_, err = c.SendSMS(context.Background(), sms(""))
	if err == nil || !strings.Contains(err.Error(), "not sent again") {
		t.Fatalf("err = %v, want a refusal to resend", err)
	}
	if got := srv.CountByReference(""); got != 1 {
		t.Errorf("unreferenced sends = %d, want 1", got)
	}
}

func TestValidationErrors(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{Templates: []string{tmpl}})
	c := newClient(t, srv, nil)
	tests := []struct {
		name          string
		msg           notify.SMS
		wantRecipient bool
		wantRequests  int
	}{
		{"landline", notify.SMS{PhoneNumber: "+441632960123", TemplateID: tmpl, Reference: "v1"}, true, 1},
		{"letters in number", notify.SMS{PhoneNumber: "07700ABC123", TemplateID: tmpl, Reference: "v2"}, true, 1},
		{"unknown template", notify.SMS{PhoneNumber: "07700900123", TemplateID: "11111111-2222-4333-8444-555555555555", Reference: "v3"}, false, 1},
		{"template not a uuid (checked locally)", notify.SMS{PhoneNumber: "07700900123", TemplateID: "invitation", Reference: "v4"}, false, 0},
		{"empty number (checked locally)", notify.SMS{TemplateID: tmpl, Reference: "v5"}, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Stats().Requests
			_, err := c.SendSMS(context.Background(), tt.msg)
			if err == nil {
				t.Fatal("want an error")
			}
			if !notify.IsPermanent(err) {
				t.Errorf("want permanent: %v", err)
			}
			if notify.IsRecipientError(err) != tt.wantRecipient {
				t.Errorf("IsRecipientError = %v, want %v (%v)", !tt.wantRecipient, tt.wantRecipient, err)
			}
			if got := srv.Stats().Requests - before; got != tt.wantRequests {
				t.Errorf("requests = %d, want %d", got, tt.wantRequests)
			}
			if strings.Contains(err.Error(), tt.msg.PhoneNumber) && tt.msg.PhoneNumber != "" {
				t.Errorf("error text contains the phone number: %v", err)
			}
		})
	}
}

func TestGetAndFindByReference(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{PageSize: 2, PermanentFailureNumbers: []string{"+447700900999"}})
	c := newClient(t, srv, nil)
	ctx := context.Background()
	var ids []string
	for _, m := range []notify.SMS{sms("dup"), sms("dup"), sms("other"), sms("dup"),
		{PhoneNumber: "07700 900999", TemplateID: tmpl, Reference: "fails"}} {
		n, err := c.SendSMS(ctx, m)
		if err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
		ids = append(ids, n.ID)
	}
	found, err := c.FindByReference(ctx, "dup")
	if err != nil {
		t.Fatalf("FindByReference: %v", err)
	}
	if len(found) != 3 || found[0].ID != ids[3] || found[2].ID != ids[0] {
		t.Fatalf("FindByReference returned %d (want 3 newest first across pages)", len(found))
	}
	if none, err := c.FindByReference(ctx, "nothing"); err != nil || len(none) != 0 {
		t.Errorf("FindByReference(nothing) = %v, %v", none, err)
	}

	for _, want := range []string{notify.StatusSending, notify.StatusDelivered, notify.StatusDelivered} {
		n, err := c.Get(ctx, ids[0])
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		if n.Status != want {
			t.Errorf("status %q, want %q", n.Status, want)
		}
	}
	srv.Advance()
	srv.Advance()
	n, err := c.Get(ctx, ids[4])
	if err != nil || n.Status != notify.StatusPermanentFailure || !notify.FinalStatus(n.Status) {
		t.Errorf("Get(failing) = %+v, %v", n, err)
	}
	_, err = c.Get(ctx, "00000000-0000-4000-8000-000000000000")
	var ae *notify.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !ae.Permanent() {
		t.Errorf("Get(missing) err = %v", err)
	}
}

func TestClientLimiterKeepsUnderServerLimit(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{RateLimit: 10, RateWindow: 500 * time.Millisecond})
	c := newClient(t, srv, func(c *notify.Config) { c.RateLimit, c.RateWindow = 9, 500*time.Millisecond })
	const n = 30
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.SendSMS(context.Background(), sms("rl-"+string(rune('a'+i)))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	st := srv.Stats()
	if st.RateLimited != 0 {
		t.Errorf("server rate-limited %d requests; the client limiter should keep under the limit", st.RateLimited)
	}
	if st.Accepted != n {
		t.Errorf("accepted %d, want %d", st.Accepted, n)
	}
	// 9 per 500 ms with a burst of 1: 29 more tokens at 16/s.
	if el := time.Since(start); el < 1500*time.Millisecond {
		t.Errorf("30 requests took %v: the limiter is not limiting", el)
	}
}

func TestServerRateLimitRetried(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{RateLimit: 5, RateWindow: 300 * time.Millisecond})
	c := newClient(t, srv, func(c *notify.Config) {
		c.RateLimit, c.RateWindow = 100000, time.Second // effectively no client limit
		c.MinBackoff, c.MaxBackoff, c.MaxAttempts = 50*time.Millisecond, 400*time.Millisecond, 12
	})
	const n = 15
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.SendSMS(context.Background(), sms("srl-"+string(rune('a'+i)))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("send: %v", err)
	}
	st := srv.Stats()
	if st.RateLimited == 0 {
		t.Errorf("expected the server to rate-limit some requests")
	}
	if st.Accepted != n || len(srv.Duplicates()) != 0 {
		t.Errorf("accepted %d (want %d), duplicates %v", st.Accepted, n, srv.Duplicates())
	}
}

func TestNewConfigErrors(t *testing.T) {
	key := "k-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-8d35-48ac-975b-e847b4f122b0"
	for _, cfg := range []notify.Config{
		{APIKey: "nonsense"},
		{APIKey: key, BaseURL: "ftp://example.org"},
		{APIKey: key, RateLimit: -1},
	} {
		if _, err := notify.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg.BaseURL)
		}
	}
	c, err := notify.New(notify.Config{APIKey: key})
	if err != nil || c.ServiceID() != "26785a09-ab16-4eb0-8407-a37497a57506" {
		t.Errorf("New(default) = %v", err)
	}
}
