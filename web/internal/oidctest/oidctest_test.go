package oidctest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The provider refuses an authorisation request without PKCE S256, and accepts one with.
func TestRequiresPKCE(t *testing.T) {
	p := Start(t, User{Subject: "s1", Email: "a@example.nhs.uk", EmailVerified: true, Name: "A", Password: "pw"})
	p.RegisterClient("c", "secret", "http://127.0.0.1:1/auth/callback")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(extra url.Values) *http.Response {
		q := url.Values{"client_id": {"c"}, "response_type": {"code"}, "scope": {"openid email"},
			"redirect_uri": {"http://127.0.0.1:1/auth/callback"}, "state": {"st"}, "nonce": {"n"}}
		for k, v := range extra {
			q[k] = v
		}
		resp, err := client.Get(p.Issuer + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := authorize(nil)
	if loc := resp.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") || !strings.Contains(loc, "PKCE") {
		t.Errorf("without PKCE: %d %s", resp.StatusCode, loc)
	}
	resp = authorize(url.Values{"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}})
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/login?authRequestID=") {
		t.Errorf("with PKCE: %d %s", resp.StatusCode, loc)
	}
	if st := p.Stats(); st.RefusedNoPKCE != 1 || st.AuthRequests != 1 {
		t.Errorf("stats: %+v", st)
	}
	// A redirect URI that is not registered is refused outright.
	resp = authorize(url.Values{"redirect_uri": {"http://evil.example/cb"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}})
	if strings.Contains(resp.Header.Get("Location"), "evil.example") {
		t.Errorf("redirected to an unregistered URI: %s", resp.Header.Get("Location"))
	}
}
