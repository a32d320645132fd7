package notifytest_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
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
