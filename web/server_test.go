package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"icesurvey/internal/csvcell"
)

func TestAnonymousIsSentToSignIn(t *testing.T) {
	h := newHarness(t, true, nil)
	for _, path := range []string{"/", "/waves/W1", "/waves/W1/themes/care-administration?ics=QMM", "/waves/W1/download/progress.csv", "/access"} {
		resp, _ := h.get(t, h.client, path)
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: status %d, want 303", path, resp.StatusCode)
			continue
		}
		want := "/sign-in?next=" + url.QueryEscape(path)
		if loc := resp.Header.Get("Location"); loc != want {
			t.Errorf("%s: redirected to %s, want %s", path, loc, want)
		}
	}
}

func TestLocalSignInSessionCookieAndRotation(t *testing.T) {
	h := newHarness(t, true, nil)
	// A session id the browser had before signing in is not kept.
	old := "stale-session-id-planted-before-sign-in"
	u, _ := url.Parse(h.ts.URL)
	h.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: old, Path: "/"}})
	resp, _ := h.postForm(t, h.client, "/sign-in", url.Values{"username": {"Ann.Analyst@example.nhs.uk"}, "password": {testPassword}, "next": {"/waves/W1"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/waves/W1" {
		t.Fatalf("sign in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie {
			c = ck
		}
	}
	if c == nil {
		t.Fatal("no session cookie")
	}
	raw := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"Secure", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(raw, want) {
			t.Errorf("session cookie lacks %s: %s", want, raw)
		}
	}
	// A browser-session cookie: closing the browser (a shared workstation) ends the
	// sign-in there; the server's idle and absolute limits end it everywhere.
	if strings.Contains(raw, "Max-Age") || strings.Contains(raw, "Expires") {
		t.Errorf("the session cookie outlives the browser: %s", raw)
	}
	if c.Value == old || len(c.Value) < 40 {
		t.Errorf("session id not rotated or too short: %q", c.Value)
	}
	resp, body := h.get(t, h.client, "/")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Ann Analyst") || !strings.Contains(body, "Sign out") {
		t.Fatalf("home after sign-in: %d", resp.StatusCode)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("a signed-in page may be cached")
	}
	// Signing in again rotates the id and ends the old session.
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	stale := h.newClient()
	stale.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: c.Value, Path: "/"}})
	if resp, _ := h.get(t, stale, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the session from before the second sign-in still works: %d", resp.StatusCode)
	}
	// Sign out ends the session.
	h.postForm(t, h.client, "/sign-out", nil, nil)
	if resp, _ := h.get(t, h.client, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("still signed in after signing out: %d", resp.StatusCode)
	}
}

func TestWrongPasswordAndUnknownUser(t *testing.T) {
	h := newHarness(t, true, nil)
	for _, form := range []url.Values{
		{"username": {"ann.analyst@example.nhs.uk"}, "password": {"wrong"}},
		{"username": {"nobody@example.nhs.uk"}, "password": {testPassword}},
	} {
		resp, body := h.postForm(t, h.client, "/sign-in", form, nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The e-mail address or password is not right") {
			t.Errorf("%v: %d", form.Get("username"), resp.StatusCode)
		}
		if strings.Contains(resp.Header.Get("Set-Cookie"), sessionCookie) {
			t.Error("a session cookie was set for a failed sign-in")
		}
	}
}

// TestSignInErrorTitle: a sign-in form shown again with an error says so first in its
// title (the NHS error summary pattern), so a screen reader user hears it at once;
// the form shown without an error does not.
func TestSignInErrorTitle(t *testing.T) {
	h := newHarness(t, true, nil)
	title := func(body string) string {
		_, after, _ := strings.Cut(body, "<title>")
		got, _, _ := strings.Cut(after, "</title>")
		return got
	}
	if _, body := h.get(t, h.client, "/sign-in"); !strings.HasPrefix(title(body), "Sign in – ") {
		t.Errorf("the sign-in page's title: %q", title(body))
	}
	for name, form := range map[string]url.Values{
		"wrong password": {"username": {"ann.analyst@example.nhs.uk"}, "password": {"wrong"}},
		"nothing given":  {"username": {""}, "password": {""}},
	} {
		_, body := h.postForm(t, h.client, "/sign-in", form, nil)
		if got := title(body); !strings.HasPrefix(got, "Error: Sign in – ") {
			t.Errorf("%s: title %q, want it to start \"Error: Sign in\"", name, got)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	h := newHarness(t, true, func(c *Config, _ *Deps) { c.SessionIdle, c.SessionAbsolute = 30*time.Minute, 2*time.Hour })
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	// Active every 20 minutes: the idle limit never trips, but the absolute one does.
	for i := 0; i < 5; i++ {
		h.clock.Advance(20 * time.Minute)
		if resp, _ := h.get(t, h.client, "/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("session ended early after %d minutes: %d", 20*(i+1), resp.StatusCode)
		}
	}
	h.clock.Advance(20 * time.Minute) // 2 h since sign-in
	if resp, _ := h.get(t, h.client, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("session outlived its absolute limit: %d", resp.StatusCode)
	}
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	h.clock.Advance(31 * time.Minute)
	if resp, _ := h.get(t, h.client, "/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("session outlived its idle limit: %d", resp.StatusCode)
	}
}

func TestSecurityHeadersEverywhere(t *testing.T) {
	h := newHarness(t, true, nil)
	for _, path := range []string{"/sign-in", "/no-such-page", cssPath, "/static/js/app.js"} {
		resp, _ := h.get(t, h.client, path)
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP lacks %s", path, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows unsafe sources: %s", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
			if resp.Header.Get(k) != v {
				t.Errorf("%s: %s = %q", path, k, resp.Header.Get(k))
			}
		}
	}
	// No page carries inline script or style.
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for _, path := range []string{"/", "/sign-in", "/waves/W1", "/waves/W1/themes/care-administration?ics=QMM&breakdown=age_band"} {
		_, body := h.get(t, h.client, path)
		if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`).MatchString(body) || strings.Contains(body, " style=") || strings.Contains(body, "<style") || strings.Contains(body, " on") && regexp.MustCompile(`\son[a-z]+=`).MatchString(body) {
			t.Errorf("%s has inline script, style or an event handler attribute", path)
		}
	}
}

func TestCrossOriginFormsRefused(t *testing.T) {
	h := newHarness(t, true, func(c *Config, _ *Deps) { c.TrustedOrigins = []string{"https://proxy.example.nhs.uk"} })
	form := url.Values{"username": {"ann.analyst@example.nhs.uk"}, "password": {testPassword}}
	resp, body := h.postForm(t, h.client, "/sign-in", form, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "sent from another site") {
		t.Errorf("cross-site sign-in: %d", resp.StatusCode)
	}
	resp, _ = h.postForm(t, h.client, "/sign-in", form, http.Header{"Origin": {"https://evil.example"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in from another origin: %d", resp.StatusCode)
	}
	// A trusted origin (a proxy's) may post.
	resp, _ = h.postForm(t, h.client, "/sign-in", form, http.Header{"Origin": {"https://proxy.example.nhs.uk"}, "Sec-Fetch-Site": {"cross-site"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-in from a trusted origin: %d", resp.StatusCode)
	}
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	resp, _ = h.postForm(t, h.client, "/sign-out", nil, http.Header{"Sec-Fetch-Site": {"cross-site"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-out: %d", resp.StatusCode)
	}
	if resp, _ := h.get(t, h.client, "/"); resp.StatusCode != http.StatusOK {
		t.Error("a cross-site sign-out signed the user out")
	}
	resp, _ = h.postForm(t, h.client, "/sign-out", nil, http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin sign-out: %d", resp.StatusCode)
	}
}

func TestSignInRateLimits(t *testing.T) {
	h := newHarness(t, true, func(c *Config, _ *Deps) {
		c.SignInPerUser = RateLimit{Burst: 3, Every: time.Minute}
		c.SignInPerIP = RateLimit{Burst: 6, Every: 10 * time.Second}
	})
	bad := url.Values{"username": {"ann.analyst@example.nhs.uk"}, "password": {"guess"}}
	for i := 0; i < 3; i++ {
		if resp, _ := h.postForm(t, h.client, "/sign-in", bad, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, body := h.postForm(t, h.client, "/sign-in", url.Values{"username": {"ann.analyst@example.nhs.uk"}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" || !strings.Contains(body, "wait 1 minute") {
		t.Fatalf("4th attempt for one user: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	// Another user from the same address still may, until the address's bucket is empty.
	h.signIn(t, h.newClient(), "jo.devon@example.nhs.uk")
	for i := 0; i < 1; i++ {
		h.postForm(t, h.client, "/sign-in", url.Values{"username": {"fay.reader@example.nhs.uk"}, "password": {"guess"}}, nil)
	}
	resp, _ = h.postForm(t, h.client, "/sign-in", url.Values{"username": {"adam.admin@example.nhs.uk"}, "password": {testPassword}}, nil)
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("7th attempt from one address: %d", resp.StatusCode)
	}
	// The buckets refill with time.
	h.clock.Advance(time.Minute)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
}

func TestBreakdownsOnlyForTheAnalystsICS(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	resp, body := h.get(t, h.client, "/waves/W1/themes/care-administration?ics=QMM&breakdown=age_band")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "by age band") {
		t.Fatalf("own ICS breakdown: %d", resp.StatusCode)
	}
	for _, path := range []string{
		"/waves/W1/themes/care-administration?ics=QJK&breakdown=age_band",
		"/waves/W1/themes/care-administration/download/q1.csv?ics=QJK&breakdown=gender&respondent=patient",
	} {
		resp, body := h.get(t, h.client, path)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "shown only to its analysts") {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	// Another ICS as a whole is for everyone, and the form offers no breakdown for it.
	resp, body = h.get(t, h.client, "/waves/W1/themes/care-administration?ics=QJK")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `value="age_band"`) {
		t.Errorf("other ICS headline: %d, breakdown offered: %v", resp.StatusCode, strings.Contains(body, `value="age_band"`))
	}
	// The administrator role alone gives no breakdowns, and only administrators see the policy.
	admin := h.newClient()
	h.signIn(t, admin, "adam.admin@example.nhs.uk")
	if resp, _ := h.get(t, admin, "/waves/W1/themes/care-administration?ics=QMM&breakdown=gender"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("administrator saw breakdowns: %d", resp.StatusCode)
	}
	if resp, body := h.get(t, admin, "/access"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Caldicott Guardian") {
		t.Errorf("administrator's access page: %d", resp.StatusCode)
	}
	if resp, _ := h.get(t, h.client, "/access"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst saw the access page: %d", resp.StatusCode)
	}
}

// Pages name an ICS as people know it ("Norfolk and Waveney"), its code beside it
// where it is the page's subject, and never by the code alone where a name is known.
func TestPagesNameTheICS(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for _, tc := range []struct{ path, want string }{
		{"/", "Norfolk and Waveney (QMM)"},
		{"/waves/W1/themes/care-administration?ics=QMM", "<title>Care administration – Norfolk and Waveney (QMM)"},
		{"/waves/W1/themes/care-administration?ics=QMM", "% positive among patients in Norfolk and Waveney"},
		{"/waves/W1/themes/care-administration?ics=QMM", "England excluding Norfolk and Waveney"},
		{"/waves/W1/carers?ics=QJK", "Devon (QJK)"},
	} {
		resp, body := h.get(t, h.client, tc.path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %q in the page", tc.path, resp.StatusCode, tc.want)
		}
		if strings.Contains(body, "England excluding QMM") || strings.Contains(body, " in QMM") {
			i := strings.Index(body, " in QMM")
			if i < 0 {
				i = strings.Index(body, "England excluding QMM")
			}
			t.Errorf("%s names QMM by its code alone: %q", tc.path, body[max(0, i-80):min(len(body), i+40)])
		}
	}
}

func TestUnknownFiltersAreNotFound(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for _, path := range []string{"/waves/W9", "/waves/W1/themes/nope", "/waves/W1/themes/care-administration?ics=QXX",
		"/waves/W1/themes/care-administration?respondent=robot", "/waves/W1/themes/care-administration?breakdown=shoe_size",
		"/waves/W1/download/nope.csv", "/waves/W1/download/progress.pdf"} {
		if resp, _ := h.get(t, h.client, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestRefusedFilter(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	resp, body := h.get(t, h.client, "/waves/W1/themes/care-administration?ics=QMM&respondent=carer&breakdown=ethnicity_group")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "fewer than 10 responses, so no results are shown for this combination of filters") {
		t.Fatalf("refused filter: %d", resp.StatusCode)
	}
	if strings.Contains(body, "<table") {
		t.Error("a refused filter still shows a table")
	}
	if resp, _ := h.get(t, h.client, "/waves/W1/themes/care-administration/download/q1.csv?ics=QMM&respondent=carer&breakdown=ethnicity_group"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a refused filter's download: %d", resp.StatusCode)
	}
}

// A refused filter says why nothing is shown, not always "fewer than 10 responses": an
// ICS the chosen release leaves out (and the release that has it), or the minimum base
// the figures were checked with.
func TestRefusedFilterSaysWhy(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for _, c := range []struct {
		path      string
		want, not []string
	}{
		{"/waves/W1/themes/care-integration?ics=QJK&release=R-W1-2",
			[]string{"Devon (QJK) is not in release R-W1-2: the release has no figures for it (ICSs not published: QJK). Release R-W1-1 (published) has figures for QJK"},
			[]string{"fewer than"}},
		{"/waves/W1/carers?ics=QJK&release=R-W1-2", []string{"Devon (QJK) is not in release R-W1-2"}, []string{"fewer than"}},
		{"/waves/W1/themes/care-administration?ics=QMM&respondent=carer&breakdown=efi_band",
			[]string{"fewer than 20 responses, so no results are shown"}, []string{"fewer than 10"}},
		{"/waves/W1/themes/care-administration?ics=QMM&respondent=carer&breakdown=ethnicity_group",
			[]string{"fewer than 10 responses, so no results are shown"}, nil},
	} {
		resp, body := h.get(t, h.client, c.path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="refused"`) {
			t.Errorf("%s: %d, no refusal", c.path, resp.StatusCode)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, html.EscapeString(w)) {
				t.Errorf("%s: page lacks %q", c.path, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: page says %q", c.path, n)
			}
		}
	}
	// The download's comparison says England is of the release's ICSs when it leaves
	// one out, not of all ICSs.
	if _, body := h.get(t, h.client, "/waves/W1/themes/care-integration/download/results.csv?ics=QMM&release=R-W1-2"); !strings.Contains(body, "England's figure (the ICSs of release R-W1-2, QMM; not QJK, which it leaves out)") {
		t.Errorf("R-W1-2's comparison does not say its England leaves QJK out:\n%s", body)
	}
	if _, body := h.get(t, h.client, "/waves/W1/themes/care-integration/download/results.csv?ics=QMM&release=R-W1-1"); !strings.Contains(body, "England's figure (all ICSs)") {
		t.Errorf("R-W1-1's comparison does not say its England is of all ICSs:\n%s", body)
	}
}

// withheldNumbers are the renderings of the in-memory data's withheld value.
var withheldNumbers = []string{"43.2", "33.2", "53.2"}

func TestWithheldValuesNeverServed(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	pages := map[string][]string{
		"/waves/W1/themes/care-administration?ics=QMM&respondent=patient&breakdown=age_band": {"q3"},
		"/waves/W1/themes/care-administration?ics=QJK&respondent=patient&breakdown=":         {"results"},
	}
	for path, tables := range pages {
		_, body := h.get(t, h.client, path)
		if !strings.Contains(body, "withheld: fewer than 10 responses") {
			t.Errorf("%s: no withheld mark", path)
		}
		for _, n := range withheldNumbers {
			if strings.Contains(body, n) {
				t.Errorf("%s: withheld number %s served", path, n)
			}
		}
		u, _ := url.Parse(path)
		for _, tb := range tables {
			for _, ext := range []string{"csv", "xlsx"} {
				resp, file := h.get(t, h.client, u.Path+"/download/"+tb+"."+ext+"?"+u.RawQuery)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("%s %s: %d", path, ext, resp.StatusCode)
				}
				text := file
				if ext == "xlsx" {
					text = xlsxText(t, []byte(file))
				}
				if !strings.Contains(text, "withheld") {
					t.Errorf("%s %s.%s: no withheld mark", path, tb, ext)
				}
				for _, n := range withheldNumbers {
					if strings.Contains(text, n) {
						t.Errorf("%s %s.%s: withheld number %s in the download", path, tb, ext, n)
					}
				}
			}
		}
	}
}

// xlsxText is every cell of every sheet, tab-separated.
func xlsxText(t *testing.T, b []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		for _, r := range rows {
			out.WriteString(sh + "\t" + strings.Join(r, "\t") + "\n")
		}
	}
	return out.String()
}

// htmlTable reads the cells of the table with this id from a page, as text.
func htmlTable(t *testing.T, body, id string) [][]string {
	t.Helper()
	start := strings.Index(body, `<table class="nhsuk-table" id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no table %s on the page", id)
	}
	end := strings.Index(body[start:], "</table>")
	tbl := body[start : start+end]
	var rows [][]string
	for _, tr := range regexp.MustCompile(`(?s)<tr[^>]*>(.*?)</tr>`).FindAllStringSubmatch(tbl, -1) {
		var row []string
		for _, c := range regexp.MustCompile(`(?s)<t[hd][^>]*>(.*?)</t[hd]>`).FindAllStringSubmatch(tr[1], -1) {
			row = append(row, html.UnescapeString(strings.TrimSpace(c[1])))
		}
		rows = append(rows, row)
	}
	return rows
}

// csvTable is the table part of a download: the rows after the metadata block's blank
// row, up to the notes.
func csvTable(t *testing.T, b string) (meta map[string]string, rows [][]string) {
	t.Helper()
	// Blocks are separated by a blank line: metadata, table, notes.
	blocks := strings.Split(b, "\n\n")
	if len(blocks) < 2 {
		t.Fatalf("download has no metadata block: %q", b)
	}
	read := func(s string) [][]string {
		r := csv.NewReader(strings.NewReader(s))
		r.FieldsPerRecord = -1
		all, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return all
	}
	meta = map[string]string{}
	for _, r := range read(blocks[0]) {
		meta[r[0]] = r[1]
	}
	return meta, read(blocks[1])
}

func TestDownloadsHoldWhatThePageShows(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	path := "/waves/W1/themes/care-administration?ics=QMM&respondent=patient&breakdown=age_band"
	_, body := h.get(t, h.client, path)
	shown := htmlTable(t, body, "q2-table")
	resp, file := h.get(t, h.client, "/waves/W1/themes/care-administration/download/q2.csv?breakdown=age_band&ics=QMM&respondent=patient")
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), "ice-W1-care-administration-QMM-q2.csv") {
		t.Errorf("CSV headers: %q %q", ct, resp.Header.Get("Content-Disposition"))
	}
	meta, rows := csvTable(t, file)
	if len(rows) != len(shown) {
		t.Fatalf("CSV has %d rows, the page %d", len(rows), len(shown))
	}
	for i := range rows {
		if strings.Join(rows[i], "|") != strings.Join(shown[i], "|") {
			t.Errorf("row %d: CSV %q, page %q", i, rows[i], shown[i])
		}
	}
	for k, want := range map[string]string{"Wave": "Phase 1, spring 2027 (W1)", "ICS": "Norfolk and Waveney (QMM)", "Breakdown": "Age band",
		"Respondents": "Patients", "Release": "live figures (not a published release): R-W1-1", "Data as of": "2026-11-16 06:12 GMT"} {
		if meta[k] != want {
			t.Errorf("metadata %s = %q, want %q", k, meta[k], want)
		}
	}
	for _, k := range []string{"Method", "Suppression marks", "Comparison", "Theme", "Weighting"} {
		if meta[k] == "" {
			t.Errorf("metadata lacks %s", k)
		}
	}
	// The XLSX holds the same cells on its Data sheet and the metadata on another.
	_, x := h.get(t, h.client, "/waves/W1/themes/care-administration/download/q2.xlsx?breakdown=age_band&ics=QMM&respondent=patient")
	f, err := excelize.OpenReader(strings.NewReader(x))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := f.GetRows("Data")
	for i := range shown {
		if strings.Join(data[i], "|") != strings.Join(shown[i], "|") {
			t.Errorf("XLSX row %d: %q, page %q", i, data[i], shown[i])
		}
	}
	if v, _ := f.GetCellValue("Metadata", "B2"); v != "Phase 1, spring 2027 (W1)" {
		t.Errorf("XLSX metadata: %q", v)
	}
	// The overview's tables download too.
	_, ov := h.get(t, h.client, "/waves/W1")
	for _, id := range []string{"progress-table", "rr-1-table", "outcomes-table"} {
		if !strings.Contains(ov, `id="`+id+`"`) {
			t.Errorf("overview lacks table %s", id)
		}
	}
	_, pf := h.get(t, h.client, "/waves/W1/download/progress.csv")
	_, prow := csvTable(t, pf)
	if strings.Join(prow[1], "|") != "Norfolk and Waveney (QMM)|fieldwork|30|4000|1240|32.1%" {
		t.Errorf("progress CSV row: %q", prow[1])
	}
}

func TestNeutraliseFormulae(t *testing.T) {
	for in, want := range map[string]string{
		"=SUM(A1)": "'=SUM(A1)", "+1": "'+1", "-12.5": "-12.5", "@x": "'@x", "-x": "'-x", "62.3%": "62.3%", "": "",
		"-1": "-1", "-3.2%": "-3.2%", "-1,234": "-1,234", "12": "12",
		// Text that merely starts with a number is still a formula to a spreadsheet.
		"-1+1+cmd|'/c calc'!A0 nothing else to add": "'-1+1+cmd|'/c calc'!A0 nothing else to add",
		"-2+3+cmd|'/c calc'!A0":                     "'-2+3+cmd|'/c calc'!A0", "-1e3": "'-1e3", "-Inf": "'-Inf", "-0x1p3": "'-0x1p3", "-1 ": "'-1 ",
		"\t=1+1": "'\t=1+1", "\r=1+1": "'\r=1+1",
	} {
		if got := csvcell.Row([]string{in})[0]; got != want {
			t.Errorf("csvcell.Row(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDataAsOfBanner(t *testing.T) {
	h := newHarness(t, true, func(_ *Config, d *Deps) {
		m := memData{asOf: time.Date(2026, 7, 1, 5, 30, 0, 0, time.UTC), newer: true}
		d.Freshness = m
	})
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	_, body := h.get(t, h.client, "/waves/W1")
	if !strings.Contains(body, "Data as of <strong>1 July 2026 at 06:30</strong>") {
		t.Error("no data-as-of banner in London time")
	}
	if !strings.Contains(body, "Newer data, as of 2 July 2026 at 06:30, is being prepared") {
		t.Error("no newer-data notice")
	}
	// The load's day is written as the banner's other date is, not "2026-06-30".
	if !strings.Contains(body, "(responses received up to 30 June 2026)") {
		t.Error("the banner does not say the day of the last load in words")
	}
}

func TestStaticAssetsAndFonts(t *testing.T) {
	h := newHarness(t, true, nil)
	resp, css := h.get(t, h.client, cssPath)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/css") {
		t.Fatalf("CSS: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(css, "@font-face") || strings.Contains(css, "assets.nhs.uk") || strings.Contains(css, "http://") || strings.Contains(css, "https://") {
		t.Error("the served CSS still loads a remote font or resource")
	}
	if !strings.Contains(css, "font-family:Frutiger W01,arial,sans-serif") {
		t.Error("the CSS has no system-font fallback")
	}
	for _, u := range regexp.MustCompile(`url\((/[^)]+)\)`).FindAllStringSubmatch(css, -1) {
		if r, _ := h.get(t, h.client, u[1]); r.StatusCode != http.StatusOK {
			t.Errorf("CSS asset %s: %d", u[1], r.StatusCode)
		}
	}
	for _, p := range []string{jsPath, "/static/js/app.js", "/static/css/app.css", "/favicon.ico", "/assets/images/favicon.svg"} {
		if r, _ := h.get(t, h.client, p); r.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", p, r.StatusCode)
		}
	}
	_, js := h.get(t, h.client, "/static/js/app.js")
	if !strings.Contains(js, jsPath) {
		t.Errorf("app.js does not import the vendored %s", jsPath)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/waves/W1?ics=QMM": "/waves/W1?ics=QMM", "": "/", "//evil.example/": "/", "https://evil.example/": "/",
		"/\\evil.example": "/", "javascript:alert(1)": "/", "/ok\r\nSet-Cookie: x": "/",
		// Browsers strip tabs and newlines anywhere in a URL and C0 controls and spaces at
		// its ends, and read a backslash as a slash: each of these would become "//x".
		"/\t/evil.example": "/", "/\t/x": "/", "/%09/x": "/%09/x", " //x": "/", "\t//x": "/", "//x ": "/",
		"/\x00/x": "/", "/\x7f/x": "/", "/\n/x": "/", "/\\x": "/", "\\/x": "/", "https:x": "/", "https:/x": "/",
		"/x\ty": "/", "/ok ": "/", "/\u00a0/x": "/", "/\u3000/x": "/",
		// Pages of this site, as requireUser sends them (its RequestURI, escaped).
		"/": "/", "/waves/W1": "/waves/W1", "/waves/W1/free-text?ics=QMM&q=long+wait": "/waves/W1/free-text?ics=QMM&q=long+wait",
		"/waves/W1/coding?ics=QMM&from=20": "/waves/W1/coding?ics=QMM&from=20", "/access": "/access",
		"/waves/W1/free-text?q=caf%C3%A9%20%2F%2Fx": "/waves/W1/free-text?q=caf%C3%A9%20%2F%2Fx",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
	h := newHarness(t, true, nil)
	resp, _ := h.postForm(t, h.client, "/sign-in", url.Values{"username": {"ann.analyst@example.nhs.uk"}, "password": {testPassword}, "next": {"//evil.example/x"}}, nil)
	if resp.Header.Get("Location") != "/" {
		t.Errorf("open redirect after sign-in: %q", resp.Header.Get("Location"))
	}
	for _, next := range []string{"/\t/evil.example", "\t//evil.example", " //evil.example", "/\\evil.example"} {
		resp, _ := h.postForm(t, h.client, "/sign-in", url.Values{"username": {"ann.analyst@example.nhs.uk"}, "password": {testPassword}, "next": {next}}, nil)
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("POST /sign-in next=%q: Location %q, want /", next, loc)
		}
		// Signed in now: GET /sign-in sends a signed-in user straight to next.
		resp, _ = h.get(t, h.client, "/sign-in?next="+url.QueryEscape(next))
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("GET /sign-in?next=%q (signed in): Location %q, want /", next, loc)
		}
	}
	resp, _ = h.get(t, h.client, "/sign-in?next=/%09/evil.example") // as the tester typed it
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Errorf("GET /sign-in?next=/%%09/evil.example (signed in): Location %q, want /", loc)
	}
	resp, _ = h.get(t, h.client, "/sign-in?next="+url.QueryEscape("/waves/W1?ics=QMM"))
	if loc := resp.Header.Get("Location"); loc != "/waves/W1?ics=QMM" {
		t.Errorf("a page of this site as next: Location %q", loc)
	}
}

func TestConfigValidation(t *testing.T) {
	policy := newHarness(t, true, nil).srv.deps.Policy
	m := memData{}
	full := Deps{Policy: policy, Freshness: m, Waves: m, Fieldwork: m, Results: m}
	cases := []struct {
		cfg  Config
		deps Deps
		want string
	}{
		{Config{}, full, "no way to sign in"},
		{Config{OIDC: &OIDCConfig{IssuerURL: "http://idp.example", ClientID: "c", RedirectURL: "https://d.example/auth/callback"}}, full, "must use https"},
		{Config{OIDC: &OIDCConfig{IssuerURL: "https://idp.example", RedirectURL: "https://d.example/cb"}}, full, "OIDC.ClientID: missing"},
		{Config{OIDC: &OIDCConfig{IssuerURL: "https://idp.example", ClientID: "c", RedirectURL: "https://d.example/cb"}}, full, "must be an absolute URL ending in /auth/callback"},
		{Config{OIDC: &OIDCConfig{IssuerURL: "https://idp.example", ClientID: "c", RedirectURL: "https://d.example/auth/callback"}}, Deps{Policy: policy}, "Freshness, Waves, Fieldwork and Results are all required"},
		{Config{OIDC: &OIDCConfig{IssuerURL: "https://idp.example", ClientID: "c", RedirectURL: "https://d.example/auth/callback"}, SignInPerIP: RateLimit{Burst: 0, Every: time.Second}}, full, "SignInPerIP"},
		{Config{OIDC: &OIDCConfig{IssuerURL: "https://idp.example", ClientID: "c", RedirectURL: "https://d.example/auth/callback"}, TrustedOrigins: []string{"not an origin"}}, full, "TrustedOrigins"},
	}
	for _, c := range cases {
		_, err := NewServer(c.cfg, c.deps)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewServer: %v, want %q", err, c.want)
		}
	}
	if _, err := NewServer(Config{OIDC: &OIDCConfig{IssuerURL: "https://idp.example", ClientID: "c", RedirectURL: "https://d.example/auth/callback"}}, full); err != nil {
		t.Errorf("a good configuration was refused: %v", err)
	}
	_ = io.Discard
}

// TestWrongMethodIsNotAllowed: a path the dashboard serves, asked with a method it
// does not take there, is refused with 405 and the methods it does take (not "Page not
// found"), on the service's own error page with its security headers; a path it does
// not serve is still not found, whatever the method.
func TestWrongMethodIsNotAllowed(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{http.MethodPost, "/waves/W1", http.StatusMethodNotAllowed, "GET, HEAD"},
		{http.MethodDelete, "/waves/W1/free-text?ics=QMM", http.StatusMethodNotAllowed, "GET"}, // no HEAD where free text is shown
		{http.MethodPut, "/waves/W1/coding?ics=QMM", http.StatusMethodNotAllowed, "GET, POST"},
		{http.MethodGet, "/sign-out", http.StatusMethodNotAllowed, "POST"},
		{http.MethodOptions, "/sign-in", http.StatusMethodNotAllowed, "GET, HEAD, POST"},
		{http.MethodGet, "/no-such-page", http.StatusNotFound, ""},
		{http.MethodPost, "/no-such-page", http.StatusNotFound, ""},
	} {
		req, _ := http.NewRequest(c.method, h.ts.URL+c.path, nil)
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Allow") != c.allow {
			t.Errorf("%s %s: %d, Allow %q; want %d, Allow %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Allow"), c.status, c.allow)
		}
		if !strings.Contains(string(b), `<html lang="en">`) || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s %s: not the dashboard's own error page with its headers", c.method, c.path)
		}
	}
}

// TestNoPageIsStored: every HTML page the dashboard renders for a signed-in user says
// no-store, the error pages outside a signed-in route too (they name the user in the
// header), so a shared computer's cache or back button keeps nothing of it.
func TestNoPageIsStored(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	cross := http.Header{"Sec-Fetch-Site": {"cross-site"}}
	for name, do := range map[string]func() (*http.Response, string){
		"not found":          func() (*http.Response, string) { return h.get(t, h.client, "/no-such-page") },
		"method not allowed": func() (*http.Response, string) { return h.get(t, h.client, "/sign-out") },
		"cross-site form": func() (*http.Response, string) {
			return h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", nil, cross)
		},
		"free text": func() (*http.Response, string) { return h.get(t, h.client, "/waves/W1/free-text?ics=QMM") },
		"refused":   func() (*http.Response, string) { return h.get(t, h.client, "/access") },
	} {
		resp, body := do()
		if !strings.Contains(body, "Fay Reader") {
			t.Fatalf("%s (%d): the page does not name the signed-in user, so it checks nothing", name, resp.StatusCode)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s (%d): Cache-Control %q, want no-store", name, resp.StatusCode, cc)
		}
	}
}

// TestHeadShowsNoFreeTextSoRecordsNone: a HEAD request is answered without a body, so
// the pages that show free text refuse it (405, Allow: GET) rather than record in the
// audit trail a read of comments no one was shown; other pages answer HEAD as usual.
func TestHeadShowsNoFreeTextSoRecordsNone(t *testing.T) {
	coding := &memCoding{}
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions, d.Profiles = coding, coding, memProfiles{} })
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	before := len(h.freeText.Events())
	for _, path := range []string{
		"/waves/W1/free-text?ics=QMM",
		"/waves/W1/free-text?ics=QMM&q=physio",
		"/waves/W1/free-text/download/comments.csv?ics=QMM",
		"/waves/W1/coding?ics=QMM",
		"/waves/W1/profiles?ics=QMM&profile=women-heart",
	} {
		req, _ := http.NewRequest(http.MethodHead, h.ts.URL+path, nil)
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET" {
			t.Errorf("HEAD %s: %d, Allow %q; want 405, Allow GET", path, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	if evs := h.freeText.Events()[before:]; len(evs) != 0 {
		t.Errorf("HEAD requests put %d reads on record, the first of %v", len(evs), evs[0].ResponseIDs)
	}
	req, _ := http.NewRequest(http.MethodHead, h.ts.URL+"/waves/W1", nil)
	if resp, err := h.client.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD of the overview: %v %v, want 200", resp.StatusCode, err)
	}
}

// TestSignInErrorsNameTheField: a sign-in form sent with a field left empty says which,
// beside that field and in the error summary linking to it (the NHS error pattern,
// WCAG 3.3.1): an empty password is the password's error, not the e-mail address's.
func TestSignInErrorsNameTheField(t *testing.T) {
	h := newHarness(t, true, nil)
	for _, c := range []struct {
		name, user, password string
		want, absent         []string
	}{
		{"no password", "ann.analyst@example.nhs.uk", "",
			[]string{`<a href="#password">Enter your password</a>`, `id="password-error"`, `aria-describedby="password-error"`},
			[]string{`id="username-error"`, `href="#username"`}},
		{"no e-mail address", "", "secret",
			[]string{`<a href="#username">Enter your e-mail address</a>`, `id="username-error"`, `aria-describedby="username-error"`},
			[]string{`id="password-error"`, `href="#password"`}},
		{"neither", "", "",
			[]string{`<a href="#username">Enter your e-mail address</a>`, `<a href="#password">Enter your password</a>`, `id="username-error"`, `id="password-error"`}, nil},
	} {
		resp, body := h.postForm(t, h.newClient(), "/sign-in", url.Values{"username": {c.user}, "password": {c.password}}, nil)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d, want 422", c.name, resp.StatusCode)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page lacks %s", c.name, w)
			}
		}
		for _, a := range c.absent {
			if strings.Contains(body, a) {
				t.Errorf("%s: the page has %s", c.name, a)
			}
		}
	}
}

// A release's figures are described with the release's own confidence level and
// caution base (MeasureSet), in the page's chart descriptions and the downloads'
// metadata; the defaults where the set leaves them 0.
func TestPagesStateTheReleasesParameters(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for _, tc := range []struct {
		release string
		want    []string
		not     []string
	}{
		{"R-W1-2", []string{"fewer than 50 responses, interpret with caution", "at the 90% level", "with 90% confidence intervals"},
			[]string{"fewer than 30 responses", "at the 95% level", "95% confidence intervals"}},
		{"R-W1-1", []string{"fewer than 30 responses, interpret with caution", "at the 95% level", "with 95% confidence intervals"},
			[]string{"at the 90% level", "fewer than 50"}},
	} {
		_, page := h.get(t, h.client, "/waves/W1/themes/care-integration?ics=QMM&release="+tc.release)
		_, csv := h.get(t, h.client, "/waves/W1/themes/care-integration/download/results.csv?ics=QMM&release="+tc.release)
		all := html.UnescapeString(page) + "\n" + csv
		for _, w := range tc.want {
			if !strings.Contains(all, w) {
				t.Errorf("release %s: the page and its download do not say %q", tc.release, w)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(csv, w) {
				t.Errorf("release %s: the download says %q", tc.release, w)
			}
		}
		// The caution mark's note under the page's tables names the release's caution
		// base too, not always 30.
		if tc.release == "R-W1-2" && strings.Contains(html.UnescapeString(page), "fewer than 30 responses") {
			t.Errorf("release %s: the page says \"fewer than 30 responses\"", tc.release)
		}
	}
}

// smallDays is memData whose response-by-day line has days withheld for a small
// cumulative count (1 to min_count−1), as dashdata withholds them.
type smallDays struct{ memData }

func (smallDays) ResponseByDay(_ context.Context, wave, ics string) (DailyResponse, error) {
	return DailyResponse{MinCount: 5, Days: []DayRate{{Day: 0}, {Day: 1, Withheld: true}, {Day: 2, Withheld: true}, {Day: 3, Responses: 12, Rate: 0.003}}}, nil
}

// The overview's response-by-day line says a day is withheld for its small count, as
// the release's min_count withholds it, not for "fewer than 10 responses".
func TestResponseByDaySaysWhyADayIsWithheld(t *testing.T) {
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.Fieldwork = smallDays{} })
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	_, page := h.get(t, h.client, "/waves/W1")
	page = html.UnescapeString(page)
	if !strings.Contains(page, "a count of 1 to 4") {
		t.Errorf("the overview does not say the withheld days rest on a count of 1 to 4")
	}
	if strings.Contains(page, "fewer than 10 responses") {
		t.Errorf("the overview says days were withheld for fewer than 10 responses")
	}
}
