package web

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"icesurvey/web/internal/browsertest"
)

// TestBrowserAnotherSiteCannotOpenFreeText: in Chromium, a page on another site (here
// http://localhost:…, another site than the dashboard's 127.0.0.1) that sends a signed-in
// reader's browser to a free-text search (a meta refresh: no click needed) carries the
// SameSite=Lax session, as browsers do for a top-level GET. The dashboard shows no
// comment and records no read; the reader's own click on the page's link, from the
// dashboard, shows the page and records that read.
func TestBrowserAnotherSiteCannotOpenFreeText(t *testing.T) {
	b := browsertest.Start(t)
	h := newHarness(t, false, nil)
	path := "/waves/W1/free-text?ics=QMM&q=nurses"
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Other site</title><meta http-equiv="refresh" content="0;url=%s">`, h.ts.URL+path)
	}))
	t.Cleanup(evil.Close)
	evilURL := strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/"))
	signInLocal(t, tab, "fay.reader@example.nhs.uk")
	before := len(h.freeText.Events())
	tab.Do(chromedp.Navigate(evilURL), chromedp.WaitVisible(chromedp.CSS("header .nhsuk-header__account")))
	if loc := tab.Location(); loc != h.ts.URL+path {
		t.Fatalf("the other site's refresh landed on %s", loc)
	}
	if browsertest.Eval[bool](tab, `document.body.textContent.includes('district nurses')`) {
		t.Error("another site's refresh had the reader's browser show the comments")
	}
	if evs := h.freeText.Events()[before:]; len(evs) != 0 {
		t.Errorf("another site's refresh put %d reads on record in the reader's name (search %q)", len(evs), evs[0].Query)
	}
	tab.Do(chromedp.Click(chromedp.CSS("main a.nhsuk-button")), chromedp.WaitVisible(chromedp.CSS(".ice-comments")))
	if !browsertest.Eval[bool](tab, `document.body.textContent.includes('district nurses')`) {
		t.Error("the reader's own click from the dashboard did not show the comments")
	}
	if evs := h.freeText.Events()[before:]; len(evs) != 1 || evs[0].Query != "nurses" || !evs[0].Allowed {
		t.Errorf("after the reader's click, on record: %+v; want one allowed search for nurses", evs)
	}
}
