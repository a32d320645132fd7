package web

import (
	"encoding/csv"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"icesurvey/web/internal/browsertest"
)

// Browser tests: Debian's Chromium, driven by chromedp, against the dashboard on
// loopback. They skip only when /usr/bin/chromium is missing.

// screenshotDir is where the browser tests leave their screenshots.
var screenshotDir = filepath.Join(os.TempDir(), "ice-dashboard-screenshots")

const (
	mobileWidth  = 320
	desktopWidth = 1280
)

// signInLocal fills the dashboard's own sign-in form in the browser.
func signInLocal(t *testing.T, tab *browsertest.Tab, id string) {
	t.Helper()
	tab.Do(
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), id),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("sign-in-local")),
		chromedp.WaitVisible(chromedp.CSS("header .nhsuk-header__account")),
	)
}

// noConsoleProblems fails the test on any CSP violation, exception, console error or
// failed load, except failed loads of the URLs expected to fail (error pages, another
// origin's favicon).
func noConsoleProblems(t *testing.T, tab *browsertest.Tab, expectedFailures ...string) {
	t.Helper()
	if v := tab.CSPViolations(); len(v) > 0 {
		t.Errorf("Content Security Policy violations:\n  %s", strings.Join(v, "\n  "))
	}
	for _, m := range tab.Console() {
		expected := false
		for _, f := range expectedFailures {
			if strings.Contains(m, "Failed to load resource") && strings.HasSuffix(m, " "+f) {
				expected = true
			}
		}
		if !expected && (strings.HasPrefix(m, "exception") || strings.Contains(m, "console.error") || strings.HasPrefix(m, "log.error")) {
			t.Errorf("browser console: %s", m)
		}
	}
}

func TestBrowserAnonymousRedirectAndLocalSignIn(t *testing.T) {
	b := browsertest.Start(t)
	h := newHarness(t, false, nil)
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1"))
	loc := tab.Location()
	if !strings.HasPrefix(loc, h.ts.URL+"/sign-in?next=") || !strings.Contains(loc, url.QueryEscape("/waves/W1")) {
		t.Fatalf("anonymous user landed on %s, not the sign-in page", loc)
	}
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")
	if loc := tab.Location(); loc != h.ts.URL+"/waves/W1" {
		t.Errorf("after sign-in: %s, want the page asked for", loc)
	}
	if got := browsertest.Eval[string](tab, `document.querySelector('h1').textContent`); !strings.Contains(got, "fieldwork") {
		t.Errorf("heading after sign-in: %q", got)
	}
	// Every document came with the Content Security Policy, and nothing broke it.
	docs := tab.Documents()
	if len(docs) < 2 {
		t.Fatalf("saw %d documents", len(docs))
	}
	for _, d := range docs {
		if csp := d.Headers["content-security-policy"]; !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s (%d): CSP header %q", d.URL, d.Status, csp)
		}
	}
	// The session cookie is HttpOnly: the page's script cannot read it.
	if c := browsertest.Eval[string](tab, `document.cookie`); strings.Contains(c, "ice-session") {
		t.Errorf("session cookie visible to script: %q", c)
	}
	// The design system's script ran (no inline script needed).
	if !browsertest.Eval[bool](tab, `document.body.classList.contains('js-enabled')`) {
		t.Error("app.js did not run")
	}
	noConsoleProblems(t, tab)
}

func TestBrowserOIDCSignIn(t *testing.T) {
	b := browsertest.Start(t)
	h, op := newOIDCHarness(t, false)
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1/themes/care-integration?ics=QJK"))
	tab.Do(chromedp.Click(chromedp.ID("sign-in-oidc")), chromedp.WaitVisible(chromedp.ID("username")))
	if loc := tab.Location(); !strings.HasPrefix(loc, op.Issuer+"/login?authRequestID=") {
		t.Fatalf("not at the provider's sign-in page: %s", loc)
	}
	tab.Do(
		chromedp.SendKeys(chromedp.ID("username"), "oidc.user@example.nhs.uk"),
		chromedp.SendKeys(chromedp.ID("password"), "olive-pass"),
		chromedp.Click(chromedp.ID("submit")),
		chromedp.WaitVisible(chromedp.CSS("header .nhsuk-header__account")),
	)
	if loc := tab.Location(); loc != h.ts.URL+"/waves/W1/themes/care-integration?ics=QJK" {
		t.Errorf("after OpenID sign-in: %s", loc)
	}
	if got := browsertest.Eval[string](tab, `document.querySelector('.nhsuk-header__account').textContent`); !strings.Contains(got, "Olive Idc") {
		t.Errorf("header: %q", got)
	}
	if st := op.Stats(); st.AuthRequests != 1 || st.RefusedNoPKCE != 0 || st.TokensIssued != 1 {
		t.Errorf("provider saw %+v", st)
	}
	noConsoleProblems(t, tab, op.Issuer+"/favicon.ico")
}

// TestBrowserAccessibility checks each page with axe-core for WCAG 2.2 AA at 320 px and
// at desktop width, tabs through it with the keyboard, and saves screenshots.
func TestBrowserAccessibility(t *testing.T) {
	b := browsertest.Start(t)
	coding := &memCoding{more: 25} // two pages: the pagination is checked too
	h := newHarness(t, false, func(_ *Config, d *Deps) {
		d.CodingQueue, d.ThemeDecisions, d.Profiles = coding, coding, memProfiles{}
	})
	tab := b.NewTab(t)
	pages := []struct{ name, path string }{
		{"sign-in", "/sign-in"},
	}
	signedIn := []struct{ name, path string }{
		{"home", "/"},
		{"overview", "/waves/W1"},
		{"theme", "/waves/W1/themes/care-administration?ics=QMM&respondent=patient&breakdown="},
		{"theme-breakdown", "/waves/W1/themes/care-administration?ics=QMM&respondent=patient&breakdown=age_band"},
		{"theme-withheld", "/waves/W1/themes/care-administration?ics=QJK&respondent=patient&breakdown="},
		{"theme-refused", "/waves/W1/themes/care-administration?ics=QMM&respondent=carer&breakdown=ethnicity_group"},
		{"forbidden", "/waves/W1/themes/care-administration?ics=QJK&breakdown=age_band"},
		{"not-found", "/no-such-page"},
		{"theme-release", "/waves/W1/themes/care-administration?ics=QMM&release=R-W1-1"},
		{"carers", "/waves/W1/carers?ics=QMM"},
		{"releases", "/waves/W1/releases"},
		{"practices", "/waves/W1/practices?ics=QMM"},
		{"profiles", "/waves/W1/profiles?ics=QMM"},
		{"profile-no-quotes", "/waves/W1/profiles?ics=QMM&profile=women-heart"},
		{"linkage", "/waves/W1/linkage"},
		{"linkage-found-by-all", "/waves/W1/linkage?question=P_WHO_TO_CONTACT&burden=efi_band&found_by=all&consent_by=age_band"},
	}
	// Free text is checked as its named reader.
	reader := []struct{ name, path string }{
		{"free-text", "/waves/W1/free-text?ics=QMM"},
		{"free-text-search", "/waves/W1/free-text?ics=QMM&q=physio"},
		{"coding", "/waves/W1/coding?ics=QMM"},
		{"coding-page-2", "/waves/W1/coding?ics=QMM&from=20"},
		{"profile", "/waves/W1/profiles?ics=QMM&profile=women-heart"},
	}
	checked := 0
	check := func(name, path string) {
		for _, width := range []int64{mobileWidth, desktopWidth} {
			tab.Viewport(width, 900)
			tab.Do(chromedp.Navigate(h.ts.URL + path))
			label := name + " at " + map[int64]string{mobileWidth: "320px", desktopWidth: "1280px"}[width]
			tab.CheckAxe(label)
			checked++
			if width == mobileWidth {
				// Nothing may scroll sideways at 320 px but the tables' own regions.
				if w := browsertest.Eval[int](tab, `document.documentElement.scrollWidth`); w > mobileWidth {
					t.Errorf("%s: the page is %d px wide", label, w)
				}
			}
			tab.Screenshot(filepath.Join(screenshotDir, name+"-"+map[int64]string{mobileWidth: "320", desktopWidth: "desktop"}[width]+".png"))
			tab.CheckKeyboard(label)
		}
	}
	for _, p := range pages {
		check(p.name, p.path)
	}
	tab.Viewport(desktopWidth, 900)
	tab.Do(chromedp.Navigate(h.ts.URL + "/sign-in"))
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")
	for _, p := range signedIn {
		check(p.name, p.path)
	}
	signOutAndIn(t, tab, h.ts.URL, "fay.reader@example.nhs.uk")
	for _, p := range reader {
		check(p.name, p.path)
	}
	// A free-text page between others: its previous and next pages.
	h.freeText.setComments(manyComments(234))
	check("free-text-page-2", "/waves/W1/free-text?ics=QMM&page=2")
	h.freeText.setComments(nil)
	noConsoleProblems(t, tab, h.ts.URL+"/waves/W1/themes/care-administration?ics=QJK&breakdown=age_band", h.ts.URL+"/no-such-page")
	t.Logf("axe-core %s (%s): %d page views checked (%d pages at 320 px and 1280 px), keyboard pass on each; screenshots in %s",
		browsertest.AxeVersion, strings.Join(browsertest.WCAG22AA, ", "), checked, checked/2, screenshotDir)
}

// TestBrowserFilterAndCSV changes a filter in the browser (without JavaScript help: a
// GET form) and checks the CSV download holds exactly the table the page shows.
func TestBrowserFilterAndCSV(t *testing.T) {
	b := browsertest.Start(t)
	h := newHarness(t, false, nil)
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1/themes/care-administration"))
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")
	tab.Do(
		chromedp.SetValue(chromedp.ID("filter-breakdown"), "age_band"),
		chromedp.Click(chromedp.CSS(".ice-filters__apply")),
		chromedp.WaitVisible(chromedp.ID("q1-table")),
	)
	if loc := tab.Location(); !strings.Contains(loc, "breakdown=age_band") {
		t.Fatalf("filter not applied: %s", loc)
	}
	for _, id := range []string{"q1", "q2", "q3"} {
		shown := browsertest.Eval[string](tab, `JSON.stringify([...document.querySelectorAll('#`+id+`-table tr')].map(tr => [...tr.querySelectorAll('th,td')].map(c => c.textContent.trim())))`)
		var rows [][]string
		if err := json.Unmarshal([]byte(shown), &rows); err != nil {
			t.Fatal(err)
		}
		// Fetch the download the page links to, in the page, with its session.
		file := browsertest.Eval[string](tab, `fetch(document.querySelector('#`+id+`-heading').closest('section').querySelector('a[href*=".csv"]').href).then(r => r.text())`)
		blocks := strings.Split(file, "\n\n")
		if len(blocks) < 2 {
			t.Fatalf("%s: CSV has no metadata block", id)
		}
		got, err := csv.NewReader(strings.NewReader(blocks[1])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%s: CSV has %d rows, the page %d", id, len(got), len(rows))
		}
		for i := range rows {
			if strings.Join(got[i], "|") != strings.Join(rows[i], "|") {
				t.Errorf("%s row %d: CSV %q, page %q", id, i, got[i], rows[i])
			}
		}
		if !strings.Contains(blocks[0], "Breakdown,Age band") || !strings.Contains(blocks[0], "Data as of,") {
			t.Errorf("%s: metadata block: %q", id, blocks[0])
		}
	}
	noConsoleProblems(t, tab)
}

// TestBrowserWithoutJavaScript signs in, changes a filter and reads the result with the
// page's scripts turned off: every page must work without JavaScript.
func TestBrowserWithoutJavaScript(t *testing.T) {
	b := browsertest.Start(t)
	h := newHarness(t, false, nil)
	tab := b.NewTab(t)
	if _, err := chromedp.Call(tab.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	tab.Do(
		chromedp.Navigate(h.ts.URL+"/waves/W1/themes/care-administration"),
		chromedp.SendKeys(chromedp.ID("username"), "ann.analyst@example.nhs.uk"),
		chromedp.SendKeys(chromedp.ID("password"), testPassword),
		chromedp.Click(chromedp.ID("sign-in-local")),
		chromedp.WaitVisible(chromedp.ID("filter-breakdown")),
		// Choose "Gender" from the select with the keyboard, then apply.
		chromedp.Focus(chromedp.ID("filter-breakdown")),
		chromedp.KeyEvent(kb.ArrowDown+kb.ArrowDown),
		chromedp.Click(chromedp.CSS(".ice-filters__apply")),
		chromedp.WaitVisible(chromedp.ID("q1-table")),
	)
	if loc := tab.Location(); !strings.Contains(loc, "breakdown=gender") {
		t.Errorf("filter without JavaScript: %s", loc)
	}
	html, err := chromedp.Run(tab.Context(), chromedp.OuterHTML(chromedp.ID("q1-table")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(html, "Female") || !strings.Contains(html, "Male") {
		t.Errorf("the gender breakdown is not shown: %.200s", html)
	}
	if js, _ := chromedp.Run(tab.Context(), chromedp.AttributeValue(chromedp.CSS("body"), "class")); strings.Contains(js.Value, "js-enabled") {
		t.Error("scripts ran although they were turned off")
	}
}

// signOutAndIn signs the browser out with the header's button and in as id.
func signOutAndIn(t *testing.T, tab *browsertest.Tab, base, id string) {
	t.Helper()
	tab.Viewport(desktopWidth, 900)
	tab.Do(
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS(".nhsuk-header__account-button")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/sign-in"]`)),
		chromedp.Navigate(base+"/sign-in"),
	)
	signInLocal(t, tab, id)
}

// TestBrowserFreeText reads free text as its named reader (redacted, searched with
// the keyboard-usable form) and is refused it as an analyst of the same ICS.
func TestBrowserFreeText(t *testing.T) {
	b := browsertest.Start(t)
	h := newHarness(t, false, nil)
	tab := b.NewTab(t)
	path := "/waves/W1/free-text?ics=QMM"
	tab.Do(chromedp.Navigate(h.ts.URL + path))
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")
	if got := browsertest.Eval[string](tab, `document.querySelector('h1').textContent`); !strings.Contains(got, "You do not have access") {
		t.Errorf("analyst reached free text: %q", got)
	}
	if browsertest.Eval[bool](tab, `document.body.textContent.includes('district nurses')`) {
		t.Error("a comment was shown to an analyst")
	}
	signOutAndIn(t, tab, h.ts.URL, "fay.reader@example.nhs.uk")
	tab.Do(chromedp.Navigate(h.ts.URL + path))
	text := browsertest.Eval[string](tab, `document.querySelector('.ice-comments').textContent`)
	if strings.Contains(text, "Patel") || strings.Contains(text, "07700") || !strings.Contains(text, "[NAME]") {
		t.Errorf("free text as shown: %q", text)
	}
	tab.Do(
		chromedp.SendKeys(chromedp.ID("free-text-q"), "physio"),
		chromedp.Click(chromedp.ID("free-text-search")),
		// The form's GET loads a new page: wait for it (the attribute, unlike the typed
		// property, is only on the page the server rendered for the search).
		chromedp.WaitVisible(chromedp.CSS(`input#free-text-q[value="physio"]`)),
	)
	if got := browsertest.Eval[string](tab, `document.getElementById('free-text-count').textContent`); !strings.Contains(got, "1 of 3 comments match") {
		t.Errorf("search: %q", got)
	}
	// With more comments than a page holds: the next page shows the next ones and
	// records those as read.
	h.freeText.setComments(manyComments(234))
	tab.Do(
		chromedp.Navigate(h.ts.URL+path),
		chromedp.Click(chromedp.ID("free-text-next")),
		chromedp.WaitVisible(chromedp.ID("free-text-prev")),
	)
	if got := browsertest.Eval[string](tab, `document.getElementById('free-text-count').textContent`); !strings.Contains(got, "Showing 101 to 200 of 234 comments") {
		t.Errorf("the next page: %q", got)
	}
	if ev := h.freeText.Events(); len(ev) < 2 || len(ev[len(ev)-1].ResponseIDs) != 100 || ev[len(ev)-1].ResponseIDs[0] != "r101" || ev[len(ev)-1].ResponseIDs[99] != "r200" {
		t.Errorf("the next page's read was not recorded as r101 to r200")
	}
	var actions []string
	for _, e := range h.freeText.Events() {
		actions = append(actions, e.UserID+" "+string(e.Action)+" "+map[bool]string{true: "allowed", false: "refused"}[e.Allowed])
	}
	want := "ann.analyst@example.nhs.uk view refused|fay.reader@example.nhs.uk view allowed|fay.reader@example.nhs.uk search allowed|" +
		"fay.reader@example.nhs.uk view allowed|fay.reader@example.nhs.uk view allowed"
	if strings.Join(actions, "|") != want {
		t.Errorf("audit trail: %q, want %q", strings.Join(actions, "|"), want)
	}
	noConsoleProblems(t, tab, h.ts.URL+path)
}
