package web

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"icesurvey/web/internal/browsertest"
)

// TestSessionStatusDoesNotKeepTheSession: GET /session/status says how long the
// session has left, and asking does not count as using the dashboard; no session, 401.
func TestSessionStatusDoesNotKeepTheSession(t *testing.T) {
	h := newHarness(t, true, func(c *Config, _ *Deps) { c.SessionIdle = 4 * time.Second })
	status := func(c *http.Client) (int, int) {
		resp, err := c.Get(h.ts.URL + "/session/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			SecondsLeft int `json:"seconds_left"`
		}
		b, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(b, &v)
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("status: Cache-Control %q", resp.Header.Get("Cache-Control"))
		}
		return resp.StatusCode, v.SecondsLeft
	}
	if code, _ := status(h.newClient()); code != http.StatusUnauthorized {
		t.Errorf("no session: %d, want 401", code)
	}
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	h.clock.Advance(3 * time.Second)
	if code, left := status(h.client); code != http.StatusOK || left != 1 {
		t.Errorf("3 s into a 4 s idle limit: %d, %d s left; want 200, 1", code, left)
	}
	h.clock.Advance(2 * time.Second) // 5 s since the last real request
	if resp, _ := h.get(t, h.client, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("asking for the status kept the session: %d", resp.StatusCode)
	}
}

// The status says when the session's absolute limit, which no use of the dashboard
// extends, is what ends it ("final": the page then says so rather than offer to stay
// signed in); the idle limit is not final.
func TestSessionStatusSaysWhenTheEndIsFinal(t *testing.T) {
	h := newHarness(t, true, func(c *Config, _ *Deps) { c.SessionIdle, c.SessionAbsolute = 4*time.Second, 6*time.Second })
	status := func() (int, int, bool) {
		resp, err := h.client.Get(h.ts.URL + "/session/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			SecondsLeft int  `json:"seconds_left"`
			Final       bool `json:"final"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&v); err != nil && resp.StatusCode == http.StatusOK {
			t.Fatal(err)
		}
		return resp.StatusCode, v.SecondsLeft, v.Final
	}
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for _, step := range []struct {
		advance time.Duration
		use     bool // open a page first (the idle limit counts again from then)
		left    int
		final   bool
		why     string
	}{
		{3 * time.Second, false, 1, false, "3 s into a 4 s idle limit, 3 s before the 6 s absolute limit: the idle limit comes first"},
		{0, true, 3, true, "a page opened at 3 s: the idle limit moves to 7 s, past the absolute limit at 6 s"},
		{2 * time.Second, false, 1, true, "at 5 s, 1 s before the absolute limit"},
	} {
		if step.use {
			if resp, _ := h.get(t, h.client, "/"); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: opening a page: %d", step.why, resp.StatusCode)
			}
		}
		h.clock.Advance(step.advance)
		code, left, final := status()
		if code != http.StatusOK || left != step.left || final != step.final {
			t.Errorf("%s: %d, %d s left, final %v; want 200, %d s, final %v", step.why, code, left, final, step.left, step.final)
		}
	}
}

// TestBrowserSessionTimeoutWarning: before a signed-in page's session reaches its idle
// limit, the page warns, with time to act, and "Stay signed in" keeps the session (the
// server's idle limit counts again from then), as WCAG 2.2.1 asks of a time limit; a
// session another page keeps going is not warned about; left alone, the page says the
// user was signed out and offers to sign in again. The server runs on the test's clock,
// the page's timers on real time: with a 4-second idle limit the page asks the server
// 2 seconds after it loaded, and warns when the server says 3 seconds or fewer are left.
func TestBrowserSessionTimeoutWarning(t *testing.T) {
	b := browsertest.Start(t)
	const idle = 4 * time.Second
	h := newHarness(t, false, func(c *Config, _ *Deps) { c.SessionIdle = idle })

	// The endpoint itself: only a live session is kept, and only from this site.
	if resp, _ := h.postForm(t, h.newClient(), "/session/extend", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("keeping no session: %d, want 401", resp.StatusCode)
	}
	c := h.newClient()
	h.signIn(t, c, "ann.analyst@example.nhs.uk")
	if resp, _ := h.postForm(t, c, "/session/extend", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("keeping a session from another site: %d, want 403", resp.StatusCode)
	}
	if resp, _ := h.postForm(t, c, "/session/extend", nil, nil); resp.StatusCode != http.StatusNoContent {
		t.Errorf("keeping a live session: %d, want 204", resp.StatusCode)
	}

	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/sign-in"))
	if browsertest.Eval[bool](tab, `!!document.getElementById('session-timeout')`) {
		t.Error("the sign-in page, with no session, has a timeout warning")
	}
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")

	// The page warns when the server says the session is nearly over.
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	h.clock.Advance(2 * time.Second)
	tab.Do(chromedp.WaitVisible(chromedp.ID("session-timeout")))
	if got := browsertest.Eval[string](tab, `document.activeElement.id`); got != "session-extend" {
		t.Errorf("focus is on %q, not in the warning on its button", got)
	}
	if got := browsertest.Eval[string](tab, `document.getElementById('session-timeout').textContent`); !strings.Contains(got, "signed out in 2 seconds") {
		t.Errorf("the warning says: %q", got)
	}
	tab.CheckAxe("timeout warning")

	// Stay signed in: 3 s later on the server's clock (5 s since the page) the
	// session is still there.
	tab.Do(chromedp.Click(chromedp.ID("session-extend")), chromedp.WaitNotVisible(chromedp.ID("session-timeout")))
	h.clock.Advance(3 * time.Second)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	if loc := tab.Location(); loc != h.ts.URL+"/waves/W1" {
		t.Fatalf("after staying signed in the page went to %s", loc)
	}

	// Another page keeps the session going while this one warns: the warning goes
	// away by itself, and the page does not say the user was signed out.
	h.clock.Advance(2 * time.Second)
	tab.Do(chromedp.WaitVisible(chromedp.ID("session-timeout")))
	browsertest.Eval[int](tab, `fetch('/waves/W1').then(r => r.status)`) // as another tab would
	tab.Do(chromedp.WaitNotVisible(chromedp.ID("session-timeout")))
	if got := browsertest.Eval[string](tab, `document.getElementById('session-timeout-heading').textContent`); got != "You will be signed out soon" {
		t.Errorf("with the session kept elsewhere the page says %q", got)
	}

	// Left alone: the page says the user was signed out, and so does the server.
	h.clock.Advance(2 * idle)
	tab.Do(chromedp.WaitVisible(chromedp.ID("session-sign-in")))
	if got := browsertest.Eval[string](tab, `document.getElementById('session-timeout-heading').textContent`); got != "You have been signed out" {
		t.Errorf("after the limit the page says %q", got)
	}
	if got := browsertest.Eval[string](tab, `document.getElementById('session-sign-in').getAttribute('href')`); got != "/sign-in?next=%2Fwaves%2FW1" {
		t.Errorf("sign in again links to %q", got)
	}
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	if loc := tab.Location(); !strings.HasPrefix(loc, h.ts.URL+"/sign-in") {
		t.Errorf("after the idle limit the server still let the page in: %s", loc)
	}
	noConsoleProblems(t, tab, h.ts.URL+"/session/status") // its 401 once the session has ended
}

// TestBrowserSessionFinalWarning: when the session's absolute limit is what ends it, the
// warning says so, offers no "Stay signed in" that could not help, and closes so the
// user can send what the page holds.
func TestBrowserSessionFinalWarning(t *testing.T) {
	b := browsertest.Start(t)
	// Idle and absolute limits alike: the absolute one, counted from sign-in, comes first.
	h := newHarness(t, false, func(c *Config, _ *Deps) { c.SessionIdle, c.SessionAbsolute = 4*time.Second, 4*time.Second })
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/sign-in"))
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	h.clock.Advance(2 * time.Second)
	tab.Do(chromedp.WaitVisible(chromedp.ID("session-timeout")))
	got := browsertest.Eval[string](tab, `document.getElementById('session-timeout').textContent`)
	for _, want := range []string{"Your session will end soon", "however you use the dashboard", "Send anything on this page now"} {
		if !strings.Contains(got, want) {
			t.Errorf("the final warning does not say %q: %q", want, got)
		}
	}
	if label := browsertest.Eval[string](tab, `document.getElementById('session-extend').textContent`); label != "Close" {
		t.Errorf("the final warning's button says %q, want Close", label)
	}
	tab.CheckAxe("final timeout warning")
	tab.Do(chromedp.Click(chromedp.ID("session-extend")))
	if open := browsertest.Eval[bool](tab, `document.getElementById('session-timeout').open`); open {
		t.Error("Close did not close the final warning")
	}
}
