package notifytest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/notify"
	"icesurvey/notify/notifytest"
)

const tmpl = "f33517ff-2a88-4f6e-b855-c550268ce08a"

type errBody struct {
	StatusCode int `json:"status_code"`
	Errors     []struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	} `json:"errors"`
}

func do(t *testing.T, srv *notifytest.Server, method, path, auth string, body any) (int, errBody) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var eb errBody
	_ = json.NewDecoder(resp.Body).Decode(&eb)
	return resp.StatusCode, eb
}

func bearer(t *testing.T, apiKey string, at time.Time) string {
	k, err := notify.ParseAPIKey(apiKey)
	if err != nil {
		t.Fatal(err)
	}
	return "Bearer " + k.Token(at)
}

func TestAuthRejections(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	good := bearer(t, srv.APIKey(), time.Now())
	parts := strings.Split(strings.TrimPrefix(good, "Bearer "), ".")
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	noIat := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + srv.ServiceID() + `"}`))
	body := map[string]any{"phone_number": "07700900123", "template_id": tmpl}
	tests := []struct {
		name       string
		auth       string
		wantStatus int
		wantMsg    string
	}{
		{"valid", good, 201, ""},
		{"missing header", "", 401, "must be provided"},
		{"not bearer", "Basic abc", 401, "bearer"},
		{"garbage", "Bearer abc", 403, "Invalid token"},
		{"alg none", "Bearer " + none + "." + parts[1] + ".", 403, "HS256"},
		{"tampered claims", "Bearer " + parts[0] + "." + noIat + "." + parts[2], 403, "API key not found"},
		{"stale", bearer(t, srv.APIKey(), time.Now().Add(-45*time.Second)), 403, "30 seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, eb := do(t, srv, "POST", "/v2/notifications/sms", tt.auth, body)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d (%+v)", status, tt.wantStatus, eb)
			}
			if tt.wantMsg == "" {
				return
			}
			if eb.StatusCode != status || len(eb.Errors) != 1 || eb.Errors[0].Error != "AuthError" ||
				!strings.Contains(eb.Errors[0].Message, tt.wantMsg) {
				t.Errorf("error body %+v, want AuthError containing %q", eb, tt.wantMsg)
			}
		})
	}
	if st := srv.Stats(); st.Accepted != 1 || st.AuthRejected != len(tests)-1 {
		t.Errorf("stats %+v", st)
	}
}

func TestBodyValidation(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	tests := []struct {
		name, path string
		body       map[string]any
		wantStatus int
		wantMsg    string
	}{
		{"sms ok", "/v2/notifications/sms", map[string]any{"phone_number": "+44 7700 900123", "template_id": tmpl, "reference": "a"}, 201, ""},
		{"sms landline", "/v2/notifications/sms", map[string]any{"phone_number": "01632 960123", "template_id": tmpl}, 400, "Not a UK mobile"},
		{"sms no number", "/v2/notifications/sms", map[string]any{"template_id": tmpl}, 400, "phone_number"},
		{"sms bad template", "/v2/notifications/sms", map[string]any{"phone_number": "07700900123", "template_id": "x"}, 400, "template_id"},
		{"letter ok", "/v2/notifications/letter", map[string]any{"template_id": tmpl, "personalisation": map[string]string{
			"address_line_1": "A Person", "address_line_2": "1 Road", "address_line_3": "EC1A 1BB"}}, 201, ""},
		{"letter two lines", "/v2/notifications/letter", map[string]any{"template_id": tmpl, "personalisation": map[string]string{
			"address_line_1": "A Person", "address_line_2": "EC1A 1BB"}}, 400, "at least 3 lines"},
		{"letter no postcode", "/v2/notifications/letter", map[string]any{"template_id": tmpl, "personalisation": map[string]string{
			"address_line_1": "A Person", "address_line_2": "1 Road", "address_line_3": "London"}}, 400, "postcode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, eb := do(t, srv, "POST", tt.path, bearer(t, srv.APIKey(), time.Now()), tt.body)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d (%+v)", status, tt.wantStatus, eb)
			}
			if tt.wantMsg != "" && (len(eb.Errors) == 0 || !strings.Contains(eb.Errors[0].Message, tt.wantMsg)) {
				t.Errorf("errors %+v, want %q", eb.Errors, tt.wantMsg)
			}
		})
	}
	if st := srv.Stats(); st.Accepted != 2 || st.Invalid != 5 {
		t.Errorf("stats %+v", st)
	}
}

func TestRateLimitPerKey(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{RateLimit: 3, RateWindow: time.Hour})
	k1, k2 := srv.APIKey(), srv.NewAPIKey("second")
	body := map[string]any{"phone_number": "07700900123", "template_id": tmpl}
	for i, want := range []int{201, 201, 201, 429} {
		if status, eb := do(t, srv, "POST", "/v2/notifications/sms", bearer(t, k1, time.Now()), body); status != want {
			t.Fatalf("request %d: status %d, want %d", i, status, want)
		} else if status == 429 && eb.Errors[0].Error != "RateLimitError" {
			t.Errorf("429 body %+v", eb)
		}
	}
	if status, _ := do(t, srv, "POST", "/v2/notifications/sms", bearer(t, k2, time.Now()), body); status != 201 {
		t.Errorf("second key status %d: limit must be per key", status)
	}
}

func TestInjectedFaults(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	auth := bearer(t, srv.APIKey(), time.Now())
	body := map[string]any{"phone_number": "07700900123", "template_id": tmpl, "reference": "f"}
	srv.FailNext(1, 503)
	srv.FailNext(1, 429)
	srv.FailNextAfterAccept(1)
	for i, want := range []int{503, 429, 500, 201} {
		if status, _ := do(t, srv, "POST", "/v2/notifications/sms", auth, body); status != want {
			t.Fatalf("request %d: status %d, want %d", i, status, want)
		}
	}
	if got := srv.CountByReference("f"); got != 2 {
		t.Errorf("CountByReference = %d, want 2 (accepted-then-500 and the final 201)", got)
	}
	if d := srv.Duplicates(); len(d) != 1 || d[0] != "f" {
		t.Errorf("Duplicates = %v", d)
	}
}

func get(t *testing.T, srv *notifytest.Server, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Header.Set("Authorization", bearer(t, srv.APIKey(), time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func message(m map[string]any) string {
	errs, _ := m["errors"].([]any)
	if len(errs) == 0 {
		return ""
	}
	e, _ := errs[0].(map[string]any)
	s, _ := e["message"].(string)
	return s
}

// TestListAsNotify checks the list endpoint's filters, refusals and links against
// what Notify's own tests (tests/app/v2/notifications/test_get_notifications.py) expect.
func TestListAsNotify(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{PageSize: 2})
	auth := bearer(t, srv.APIKey(), time.Now())
	for i := range 3 {
		if st, eb := do(t, srv, "POST", "/v2/notifications/sms", auth, map[string]any{"phone_number": "07700900123", "template_id": tmpl, "reference": fmt.Sprint("r", i)}); st != 201 {
			t.Fatalf("send: %d %+v", st, eb)
		}
	}
	tests := []struct {
		query   string
		status  int
		message string
		count   int
		next    bool
	}{
		{"", 200, "", 2, true},
		{"?status=created&template_type=sms", 200, "", 2, true},
		{"?reference=r1", 200, "", 1, true},
		{"?status=delivered", 200, "", 0, false},
		{"?status=failed", 200, "", 0, false},
		{"?older_than=dd4b8b9d-d414-4a83-9256-580046bf18f9", 200, "", 0, false},
		{"?status=elephant", 400, "status elephant is not one of [cancelled, created, sending, sent, delivered, pending, failed, technical-failure, temporary-failure, permanent-failure, pending-virus-check, validation-failed, virus-scan-failed, returned-letter, accepted, received]", 0, false},
		{"?template_type=orange", 400, "template_type orange is not one of [sms, email, letter]", 0, false},
		{"?older_than=1234-badly-formatted-id-7890", 400, "older_than is not a valid UUID", 0, false},
		{"?colour=blue", 400, "Additional properties are not allowed (colour was unexpected)", 0, false},
	}
	for _, tt := range tests {
		st, body := get(t, srv, "/v2/notifications"+tt.query)
		if st != tt.status || message(body) != tt.message {
			t.Errorf("%s: %d %q, want %d %q", tt.query, st, message(body), tt.status, tt.message)
			continue
		}
		if st != 200 {
			continue
		}
		notes, _ := body["notifications"].([]any)
		links, _ := body["links"].(map[string]any)
		_, hasNext := links["next"]
		if len(notes) != tt.count || hasNext != tt.next || links["current"] == nil {
			t.Errorf("%s: %d notifications, next %v, links %v", tt.query, len(notes), hasNext, links)
		}
	}
	// Following next: 2, then 1, then an empty page without a next link.
	path, sizes := "/v2/notifications", []int{}
	for range 5 {
		_, body := get(t, srv, path)
		sizes = append(sizes, len(body["notifications"].([]any)))
		next, ok := body["links"].(map[string]any)["next"].(string)
		if !ok {
			break
		}
		path = strings.TrimPrefix(next, srv.URL)
	}
	if fmt.Sprint(sizes) != "[2 1 0]" {
		t.Errorf("page sizes %v, want [2 1 0]", sizes)
	}
	if st, body := get(t, srv, "/v2/notifications/not-a-uuid"); st != 400 || message(body) != "notification_id is not a valid UUID" {
		t.Errorf("bad id: %d %v", st, body)
	}
	if st, body := get(t, srv, "/v2/notifications/dd4b8b9d-d414-4a83-9256-580046bf18f9"); st != 404 || message(body) != "No result found" {
		t.Errorf("unknown id: %d %v", st, body)
	}
}

func TestSendValidationAsNotify(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{})
	auth := bearer(t, srv.APIKey(), time.Now())
	addr := func(lines ...string) map[string]any {
		p := map[string]any{"name": "x"}
		for i, l := range lines {
			p[fmt.Sprint("address_line_", i+1)] = l
		}
		return map[string]any{"template_id": tmpl, "personalisation": p, "reference": "r"}
	}
	tests := []struct {
		name, path string
		body       map[string]any
		status     int
		message    string
	}{
		{"letter ok", "letter", addr("A Person", "1 Road", "Town", "NR1 1AA"), 201, ""},
		{"letter 2 lines", "letter", addr("A Person", "NR1 1AA"), 400, "Address must be at least 3 lines"},
		{"letter punctuation line", "letter", addr("A Person", "--", "NR1 1AA"), 400, "The first 2 lines of the address must both include at least one alphanumeric character"},
		{"letter leading @", "letter", addr("A Person", "@ Road", "NR1 1AA"), 400, "Address lines must not start with any of the following characters: @ ( ) = [ ] ” \\ / , < >"},
		{"letter no fixed abode", "letter", addr("A Person", "1 Road", "No fixed abode", "NR1 1AA"), 400, "Must be a real address"},
		{"letter abroad", "letter", addr("A Person", "1 Rue", "Paris", "75001"), 400, "Must be a real UK postcode"},
		{"letter without personalisation", "letter", map[string]any{"template_id": tmpl}, 400, "personalisation is a required property"},
		{"letter with a phone number", "letter", map[string]any{"template_id": tmpl, "phone_number": "07700900123", "personalisation": map[string]any{}}, 400, "Additional properties are not allowed (phone_number was unexpected)"},
		{"sms with email", "sms", map[string]any{"template_id": tmpl, "phone_number": "07700900123", "email_address": "a@b"}, 400, "Additional properties are not allowed (email_address was unexpected)"},
		{"sms bad sender", "sms", map[string]any{"template_id": tmpl, "phone_number": "07700900123", "sms_sender_id": "x"}, 400, "sms_sender_id is not a valid UUID"},
		{"sms number personalisation", "sms", map[string]any{"template_id": tmpl, "phone_number": "07700900123", "personalisation": map[string]any{"n": 3}}, 201, ""},
		{"sms reference too long", "sms", map[string]any{"template_id": tmpl, "phone_number": "07700900123", "reference": strings.Repeat("r", 1001)}, 400, "is too long"},
	}
	for _, tt := range tests {
		st, eb := do(t, srv, "POST", "/v2/notifications/"+tt.path, auth, tt.body)
		if st != tt.status || tt.message != "" && (len(eb.Errors) == 0 || !strings.Contains(eb.Errors[0].Message, tt.message)) {
			t.Errorf("%s: %d %+v, want %d %q", tt.name, st, eb, tt.status, tt.message)
		}
	}
}

// TestStatePersistsAcrossRestart: a simulator restarted on its journal keeps its
// service, keys and URL, and remembers every message and status, so a resend after
// the restart is seen as a duplicate.
func TestStatePersistsAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify", "state.jsonl")
	srv, err := notifytest.Open(notifytest.Options{StatePath: path, TemporaryFailureNumbers: []string{"07700900002"}})
	if err != nil {
		t.Fatal(err)
	}
	key, second := srv.APIKey(), srv.NewAPIKey("second")
	addr := strings.TrimPrefix(srv.URL, "http://")
	c, err := notify.New(notify.Config{APIKey: key, BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		n, err := c.SendSMS(ctx, notify.SMS{PhoneNumber: fmt.Sprint("0770090000", i), TemplateID: tmpl, Reference: fmt.Sprint("ref-", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	if err := srv.SetFinalStatus(notifytest.PermanentFailure, "07700900001"); err != nil {
		t.Fatal(err)
	}
	srv.Advance()
	srv.Advance()
	// Two still in flight at the restart: one to a number set to fail after it was
	// sent, one before; each ends so after the restart, though the journal holds no
	// number.
	inFlight := map[string]string{}
	for i, number := range []string{"07700900004", "07700900002"} {
		n, err := c.SendSMS(ctx, notify.SMS{PhoneNumber: number, TemplateID: tmpl, Reference: fmt.Sprint("late-", i),
			Personalisation: map[string]string{"access_code": "AB12-CD34"}})
		if err != nil {
			t.Fatal(err)
		}
		inFlight[n.ID] = []string{notifytest.PermanentFailure, notifytest.TemporaryFailure}[i]
	}
	if err := srv.SetFinalStatus(notifytest.PermanentFailure, "07700900004"); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	// The journal outlives a wave's retention: it holds no phone number and no
	// personalisation (an access code here; a letter's address).
	journal, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"7700900", "AB12-CD34", "phone_number", "personalisation"} {
		if strings.Contains(string(journal), s) {
			t.Errorf("the journal holds %q", s)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal: %v, mode %v", err, fi.Mode())
	}
	// A write cut short by a kill leaves a partial last line: it is ignored.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o600)
	_, _ = f.WriteString(`{"op":"notifica`)
	f.Close()

	again, err := notifytest.Open(notifytest.Options{StatePath: path, Addr: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	if again.URL != srv.URL || again.APIKey() != key {
		t.Fatalf("restarted at %s with key %s; was %s with %s", again.URL, again.APIKey(), srv.URL, key)
	}
	want := []string{"delivered", "permanent-failure", "temporary-failure"}
	for i, id := range ids {
		n, err := c.Get(ctx, id)
		if err != nil || n.Status != want[i] {
			t.Errorf("after restart, %s: %+v, %v; want %s", id, n, err, want[i])
		}
	}
	for id, want := range inFlight {
		again.Advance()
		again.Advance()
		if n, err := c.Get(ctx, id); err != nil || n.Status != want {
			t.Errorf("in flight at the restart, %s: %+v, %v; want %s", id, n, err, want)
		}
	}
	c2, _ := notify.New(notify.Config{APIKey: second, BaseURL: again.URL})
	if _, err := c2.SendSMS(ctx, notify.SMS{PhoneNumber: "07700900001", TemplateID: tmpl, Reference: "ref-1"}); err != nil {
		t.Fatalf("second key after restart: %v", err)
	}
	if d := again.Duplicates(); len(d) != 1 || d[0] != "ref-1" {
		t.Errorf("duplicates after restart %v, want [ref-1]", d)
	}
	if len(again.Notifications()) != 6 {
		t.Errorf("%d notifications after restart, want 6", len(again.Notifications()))
	}
	// A journal that is not one is refused, not silently reset.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	_ = os.WriteFile(bad, []byte("not json\n{}\n"), 0o600)
	if _, err := notifytest.Open(notifytest.Options{StatePath: bad}); err == nil {
		t.Error("opened a corrupt journal")
	}
}

func TestSettleAfter(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	srv := notifytest.Start(t, notifytest.Options{SettleAfter: 10 * time.Second, Now: clock,
		PermanentFailureNumbers: []string{"07700900001"}})
	c, _ := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL, Now: clock})
	ctx := context.Background()
	a, _ := c.SendSMS(ctx, notify.SMS{PhoneNumber: "07700900000", TemplateID: tmpl, Reference: "a"})
	b, _ := c.SendSMS(ctx, notify.SMS{PhoneNumber: "07700900001", TemplateID: tmpl, Reference: "b"})
	status := func(id string) string {
		n, err := c.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return n.Status
	}
	if s := status(a.ID); s != "created" {
		t.Errorf("at once: %s", s)
	}
	if s := status(a.ID); s != "created" {
		t.Errorf("a GET does not move it on: %s", s)
	}
	now = now.Add(6 * time.Second)
	if s := status(a.ID); s != "sending" {
		t.Errorf("after 6s: %s", s)
	}
	now = now.Add(5 * time.Second)
	if sa, sb := status(a.ID), status(b.ID); sa != "delivered" || sb != "permanent-failure" {
		t.Errorf("after 11s: %s %s", sa, sb)
	}
}

// TestRateLimitSharedByReads: status reads count against the key's limit as sends do.
func TestRateLimitSharedByReads(t *testing.T) {
	srv := notifytest.Start(t, notifytest.Options{RateLimit: 2, RateWindow: time.Hour})
	if st, _ := do(t, srv, "POST", "/v2/notifications/sms", bearer(t, srv.APIKey(), time.Now()), map[string]any{"phone_number": "07700900123", "template_id": tmpl}); st != 201 {
		t.Fatalf("send: %d", st)
	}
	if st, _ := get(t, srv, "/v2/notifications"); st != 200 {
		t.Fatalf("list: %d", st)
	}
	if st, body := get(t, srv, "/v2/notifications/dd4b8b9d-d414-4a83-9256-580046bf18f9"); st != 429 || !strings.Contains(message(body), "rate limit") {
		t.Errorf("third request: %d %v, want 429", st, body)
	}
}

// TestRetention: with a data retention period, a notification older than it is gone,
// as Notify deletes it: GET by id answers 404 NoResultFound and the listing leaves it
// out; a younger one is still there.
func TestRetention(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	srv := notifytest.Start(t, notifytest.Options{Retention: 7 * 24 * time.Hour, SettleAfter: time.Minute, Now: clock})
	c, _ := notify.New(notify.Config{APIKey: srv.APIKey(), BaseURL: srv.URL, Now: clock})
	ctx := context.Background()
	old, err := c.SendSMS(ctx, notify.SMS{PhoneNumber: "07700900000", TemplateID: tmpl, Reference: "old"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * 24 * time.Hour)
	young, err := c.SendSMS(ctx, notify.SMS{PhoneNumber: "07700900001", TemplateID: tmpl, Reference: "young"})
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(4*24*time.Hour + time.Second) // old is 7 days and a second old
	var apiErr *notify.APIError
	if _, err := c.Get(ctx, old.ID); !errors.As(err, &apiErr) || apiErr.Status != 404 || !strings.Contains(err.Error(), "NoResultFound") {
		t.Errorf("GET of a notification past the retention: %v, want 404 NoResultFound", err)
	}
	if n, err := c.Get(ctx, young.ID); err != nil || n.Status != "delivered" {
		t.Errorf("GET of a notification within the retention: %+v, %v", n, err)
	}
	var listed []string
	if err := c.List(ctx, notify.ListFilter{}, func(n notify.Notification) error {
		listed = append(listed, n.Reference)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0] != "young" {
		t.Errorf("listed %v, want [young]", listed)
	}
}
