package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"icesurvey/web/internal/oidctest"
)

var oidcUsers = []oidctest.User{
	{Subject: "sub-olive", Email: "oidc.user@example.nhs.uk", EmailVerified: true, Name: "Olive Idc", Password: "olive-pass"},
	{Subject: "sub-stranger", Email: "stranger@example.nhs.uk", EmailVerified: true, Name: "Stranger", Password: "stranger-pass"},
	{Subject: "sub-unverified", Email: "ann.analyst@example.nhs.uk", EmailVerified: false, Name: "Not Ann", Password: "x-pass"},
}

// newOIDCHarness starts the test OpenID provider and a dashboard configured to sign in
// through it (and without local users, as in production).
func newOIDCHarness(t *testing.T, tlsServer bool) (*harness, *oidctest.Provider) {
	t.Helper()
	op := oidctest.Start(t, oidcUsers...)
	var redirect string
	h := newHarness(t, tlsServer, func(c *Config, d *Deps) {
		d.LocalUsers = nil
		c.OIDC = &OIDCConfig{ProviderName: "Test ID", IssuerURL: op.Issuer, ClientID: "dashboard", ClientSecret: "s3cret",
			RedirectURL: "https://placeholder.invalid/auth/callback"}
	})
	// The dashboard's address is known only now: point its redirect URL there.
	redirect = h.ts.URL + callbackPath
	h.srv.cfg.OIDC.RedirectURL = redirect
	op.RegisterClient("dashboard", "s3cret", redirect)
	return h, op
}

// followOIDC walks the browser's part of a sign-in: start, the provider's sign-in page,
// and the redirects back, returning the dashboard's final response to the callback.
func followOIDC(t *testing.T, h *harness, c *http.Client, email, password, next string) *http.Response {
	t.Helper()
	resp, _ := h.get(t, c, startPath+"?next="+url.QueryEscape(next))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", resp.StatusCode)
	}
	authz, _ := url.Parse(resp.Header.Get("Location"))
	q := authz.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 || q.Get("nonce") == "" || q.Get("state") == "" {
		t.Fatalf("authorisation request lacks PKCE, nonce or state: %s", authz)
	}
	loc := authz.String()
	for i := 0; i < 10; i++ {
		r, err := c.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusFound && r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", loc, r.StatusCode)
		}
		next, _ := r.Request.URL.Parse(r.Header.Get("Location"))
		loc = next.String()
		if strings.Contains(loc, "/login?authRequestID=") {
			break
		}
	}
	r, err := c.PostForm(loc, url.Values{"username": {email}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	for i := 0; i < 10 && (r.StatusCode == http.StatusFound || r.StatusCode == http.StatusSeeOther); i++ {
		next, _ := r.Request.URL.Parse(r.Header.Get("Location"))
		if strings.HasPrefix(next.String(), h.ts.URL+callbackPath) {
			resp, err := c.Get(next.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp
		}
		if r, err = c.Get(next.String()); err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
	}
	t.Fatalf("never came back to the dashboard's callback (last status %d)", r.StatusCode)
	return nil
}

func TestOIDCSignIn(t *testing.T) {
	h, op := newOIDCHarness(t, true)
	resp := followOIDC(t, h, h.client, "oidc.user@example.nhs.uk", "olive-pass", "/waves/W1")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/waves/W1" {
		t.Fatalf("callback: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if r, body := h.get(t, h.client, "/waves/W1"); r.StatusCode != http.StatusOK || !strings.Contains(body, "Olive Idc") {
		t.Fatalf("after OpenID sign-in: %d", r.StatusCode)
	}
	st := op.Stats()
	if st.AuthRequests != 1 || st.SignIns != 1 || st.TokensIssued != 1 {
		t.Errorf("provider saw %+v", st)
	}
	// The sign-in page offers only the provider (no local users configured).
	_, body := h.get(t, h.newClient(), "/sign-in")
	if !strings.Contains(body, "Sign in with Test ID") || strings.Contains(body, `name="password"`) {
		t.Error("sign-in page does not match the configuration")
	}
}

func TestOIDCRefusals(t *testing.T) {
	h, _ := newOIDCHarness(t, true)
	// Someone the provider knows but the access file does not.
	resp := followOIDC(t, h, h.newClient(), "stranger@example.nhs.uk", "stranger-pass", "/")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("stranger: %d", resp.StatusCode)
	}
	// An unverified e-mail address never matches (it names Ann).
	resp = followOIDC(t, h, h.newClient(), "ann.analyst@example.nhs.uk", "x-pass", "/")
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unverified e-mail: %d", resp.StatusCode)
	}
	// A callback without a sign-in in progress, or with a forged state, is refused.
	c := h.newClient()
	if r, _ := h.get(t, c, callbackPath+"?code=abc&state=def"); r.StatusCode != http.StatusBadRequest {
		t.Errorf("callback without a flow: %d", r.StatusCode)
	}
	r, _ := h.get(t, c, startPath)
	authz, _ := url.Parse(r.Header.Get("Location"))
	if r, body := h.get(t, c, callbackPath+"?code=abc&state=forged-"+authz.Query().Get("state")); r.StatusCode != http.StatusBadRequest || !strings.Contains(body, "did not match") {
		t.Errorf("forged state: %d", r.StatusCode)
	}
	// The flow was used up by the failed attempt: replaying the real state fails too.
	if r, _ := h.get(t, c, callbackPath+"?code=abc&state="+authz.Query().Get("state")); r.StatusCode != http.StatusBadRequest {
		t.Errorf("replayed flow: %d", r.StatusCode)
	}
}

// Many staff of one organisation sign in from one address (its network's public
// address) at the start of a day: sign-ins through the identity provider that succeed
// do not count against the address, so they never lock each other out; failed ones do,
// and once they have emptied the address's bucket a start is refused too.
func TestOIDCSignInsFromOneAddressDoNotLockEachOtherOut(t *testing.T) {
	h, _ := newOIDCHarness(t, true)
	h.srv.ipLimit = newLimiter(RateLimit{Burst: 3, Every: time.Minute})
	for i := 0; i < 8; i++ {
		resp := followOIDC(t, h, h.newClient(), "oidc.user@example.nhs.uk", "olive-pass", "/")
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in %d from the organisation's address: %d", i+1, resp.StatusCode)
		}
	}
	for i := 0; i < 3; i++ {
		if resp := followOIDC(t, h, h.newClient(), "stranger@example.nhs.uk", "stranger-pass", "/"); resp.StatusCode != http.StatusForbidden {
			t.Fatalf("refused sign-in %d: %d", i+1, resp.StatusCode)
		}
	}
	if r, _ := h.get(t, h.newClient(), startPath); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("a start after three failures: %d (Retry-After %q), want 429", r.StatusCode, r.Header.Get("Retry-After"))
	}
	h.clock.Advance(time.Minute)
	if resp := followOIDC(t, h, h.newClient(), "oidc.user@example.nhs.uk", "olive-pass", "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after a minute: %d", resp.StatusCode)
	}
}

// Flows in progress are bounded: starts beyond maxFlows are refused with a 503, not
// kept in memory.
func TestOIDCFlowsInProgressAreBounded(t *testing.T) {
	h, _ := newOIDCHarness(t, true)
	now := h.clock.Now()
	for i := 0; i < maxFlows; i++ {
		h.srv.sessions.startFlow(&loginFlow{id: fmt.Sprintf("f%d", i), created: now})
	}
	r, _ := h.get(t, h.newClient(), startPath)
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "60" {
		t.Errorf("a start with %d flows in progress: %d", maxFlows, r.StatusCode)
	}
	h.clock.Advance(flowLifetime + time.Second)
	if r, _ := h.get(t, h.newClient(), startPath); r.StatusCode != http.StatusFound {
		t.Errorf("once they expired: %d", r.StatusCode)
	}
}
