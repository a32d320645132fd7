package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"icesurvey/web/internal/browsertest"
)

// TestBrowserSessionTimeoutWarning: before a signed-in page's session reaches its idle
// limit, the page warns, with time to act, and "Stay signed in" keeps the session (the
// server's idle limit counts again from then), as WCAG 2.2.1 asks of a time limit; left
// alone, the page then says the user was signed out and offers to sign in again. The
// server runs on the test's clock, the page's timers on real time: the idle limit is 4
// seconds, so the warning comes after 2.
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
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	loaded := time.Now()
	tab.Do(chromedp.WaitVisible(chromedp.ID("session-timeout")))
	if waited := time.Since(loaded); waited > idle {
		t.Errorf("the warning came %s after the page, after the session had ended", waited)
	}
	if got := browsertest.Eval[string](tab, `document.activeElement.id`); got != "session-extend" {
		t.Errorf("focus is on %q, not in the warning on its button", got)
	}
	if got := browsertest.Eval[string](tab, `document.getElementById('session-timeout').textContent`); !strings.Contains(got, "signed out in 2 seconds") {
		t.Errorf("the warning says: %q", got)
	}
	tab.CheckAxe("timeout warning")

	// 3 s on the server's clock: still inside the idle limit. Stay signed in.
	h.clock.Advance(3 * time.Second)
	tab.Do(chromedp.Click(chromedp.ID("session-extend")), chromedp.WaitNotVisible(chromedp.ID("session-timeout")))
	// 6 s since the page, 3 s since staying: the session was kept.
	h.clock.Advance(3 * time.Second)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	if loc := tab.Location(); loc != h.ts.URL+"/waves/W1" {
		t.Fatalf("after staying signed in the page went to %s", loc)
	}

	// Left alone: the page says the user was signed out, and so does the server.
	tab.Do(chromedp.WaitVisible(chromedp.ID("session-sign-in")))
	if got := browsertest.Eval[string](tab, `document.getElementById('session-timeout-heading').textContent`); got != "You have been signed out" {
		t.Errorf("after the limit the page says %q", got)
	}
	if got := browsertest.Eval[string](tab, `document.getElementById('session-sign-in').getAttribute('href')`); got != "/sign-in?next=%2Fwaves%2FW1" {
		t.Errorf("sign in again links to %q", got)
	}
	h.clock.Advance(idle)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	if loc := tab.Location(); !strings.HasPrefix(loc, h.ts.URL+"/sign-in") {
		t.Errorf("after the idle limit the server still let the page in: %s", loc)
	}
	noConsoleProblems(t, tab)
}
