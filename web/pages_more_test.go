package web

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCarersReleasesAndPracticesPages(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for path, want := range map[string]string{
		"/":                           "Carers&#39; results",
		"/waves/W1/carers?ics=QMM":    "Carers&#39; results",
		"/waves/W1/releases":          "R-W1-1",
		"/waves/W1/practices?ics=QMM": "D82001",
	} {
		resp, body := h.get(t, h.client, path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("%s: %d, want %q in the page", path, resp.StatusCode, want)
		}
	}
	// Carers' sections have ids unique on the page, one set per theme.
	_, body := h.get(t, h.client, "/waves/W1/carers?ics=QMM")
	if strings.Count(body, `id="coordination-results-table"`) != 1 || strings.Contains(body, `id="care-administration-results`) {
		t.Errorf("carers' page sections: the questionnaire's themes only, once each")
	}
	if resp, f := h.get(t, h.client, "/waves/W1/carers/download/coordination-results.csv?ics=QMM&respondent=carer"); resp.StatusCode != http.StatusOK || !strings.Contains(f, "Respondents,Carers") {
		t.Errorf("carers' download: %d %.200s", resp.StatusCode, f)
	}
	// Each release's links name that release to a screen reader, not the wave.
	_, body = h.get(t, h.client, "/waves/W1/releases")
	if !strings.Contains(body, `<span class="nhsuk-u-visually-hidden"> in release R-W1-1</span>`) || strings.Contains(body, "in release W1") {
		t.Errorf("releases page: the links do not name their release")
	}
	// A release's figures are chosen by a filter; an unknown release is not found.
	if resp, _ := h.get(t, h.client, "/waves/W1/themes/care-administration?ics=QMM&release=R-W1-1"); resp.StatusCode != http.StatusOK {
		t.Errorf("release figures: %d", resp.StatusCode)
	}
	if resp, _ := h.get(t, h.client, "/waves/W1/themes/care-administration?ics=QMM&release=R-nope"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown release: %d", resp.StatusCode)
	}
	if resp, f := h.get(t, h.client, "/waves/W1/releases/download/releases.csv"); resp.StatusCode != http.StatusOK || !strings.Contains(f, "R-W1-1,published,Head of Statistics") {
		t.Errorf("releases download: %d %.300s", resp.StatusCode, f)
	}
	// Practices: a local breakdown. The withheld practice shows no number; another
	// ICS's practices are refused, page and download.
	_, body = h.get(t, h.client, "/waves/W1/practices?ics=QMM")
	if !strings.Contains(body, "withheld") {
		t.Error("the withheld practice is not marked")
	}
	// Its reason is its mark's (B: its base), not a fixed "fewer than 10".
	if !strings.Contains(body, "withheld: too few eligible people (a base under the minimum)") || strings.Contains(body, "fewer than 10") {
		t.Error("the withheld practice does not say why from its mark")
	}
	for _, n := range withheldNumbers {
		if strings.Contains(body, n) {
			t.Errorf("practices: withheld number %s served", n)
		}
	}
	for _, path := range []string{"/waves/W1/practices?ics=QJK", "/waves/W1/practices/download/practices.csv?ics=QJK"} {
		if resp, _ := h.get(t, h.client, path); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", path, resp.StatusCode)
		}
	}
	admin := h.newClient()
	h.signIn(t, admin, "adam.admin@example.nhs.uk")
	if resp, _ := h.get(t, admin, "/waves/W1/practices"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("administrator (no ICS) saw practices: %d", resp.StatusCode)
	}
}

func TestFreeTextOnlyForNamedReaders(t *testing.T) {
	h := newHarness(t, true, nil)
	reader := h.newClient()
	h.signIn(t, reader, "fay.reader@example.nhs.uk")
	resp, body := h.get(t, reader, "/waves/W1/free-text?ics=QMM")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reader: %d", resp.StatusCode)
	}
	if strings.Contains(body, "Patel") || strings.Contains(body, "07700") || !strings.Contains(body, "[NAME]") || !strings.Contains(body, "[PHONE]") {
		t.Errorf("free text not redacted:\n%s", body[strings.Index(body, "ice-comments"):])
	}
	// Search runs on the redacted text: the name cannot be searched for.
	_, body = h.get(t, reader, "/waves/W1/free-text?ics=QMM&q=patel")
	if !strings.Contains(body, "0 of 3 comments match") {
		t.Errorf("a search for a redacted name found something")
	}
	_, body = h.get(t, reader, "/waves/W1/free-text?ics=QMM&q=physio")
	if !strings.Contains(body, "1 of 3 comments match") {
		t.Errorf("search for physio: %s", body[strings.Index(body, `id="free-text-count"`):][:120])
	}
	resp, f := h.get(t, reader, "/waves/W1/free-text/download/comments.csv?ics=QMM&q=nurses")
	if resp.StatusCode != http.StatusOK || !strings.Contains(f, "r2,P_FT_IMPROVE") || strings.Contains(f, "r3,") {
		t.Errorf("download: %d\n%s", resp.StatusCode, f)
	}
	// The search is written into the file's Search row: a formula there is neutralised.
	_, f = h.get(t, reader, "/waves/W1/free-text/download/comments.csv?ics=QMM&q="+url.QueryEscape("-2+3+cmd|'/c calc'!A0"))
	if !strings.Contains(f, "Search,'-2+3+cmd|'/c calc'!A0\n") {
		t.Errorf("a formula in the search reached the download unneutralised:\n%s", f)
	}

	// An analyst of the ICS, another ICS of the reader, and an expired grant: refused.
	analyst := h.newClient()
	h.signIn(t, analyst, "ann.analyst@example.nhs.uk")
	if resp, body := h.get(t, analyst, "/waves/W1/free-text?ics=QMM"); resp.StatusCode != http.StatusForbidden || strings.Contains(body, "district nurses") {
		t.Errorf("analyst: %d", resp.StatusCode)
	}
	if resp, _ := h.get(t, analyst, "/waves/W1/free-text/download/comments.csv?ics=QMM"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst download: %d", resp.StatusCode)
	}
	// No ICS named and none readable: refused, and recorded as a refusal naming no ICS.
	if resp, _ := h.get(t, analyst, "/waves/W1/free-text"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst, no ICS: %d", resp.StatusCode)
	}
	if resp, _ := h.get(t, reader, "/waves/W1/free-text?ics=QJK"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("reader of another ICS: %d", resp.StatusCode)
	}
	h.clock.Advance(15 * 24 * time.Hour) // past the grant's expiry (30 November 2026)
	h.signIn(t, reader, "fay.reader@example.nhs.uk")
	if resp, body := h.get(t, reader, "/waves/W1/free-text?ics=QMM"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "expired") {
		t.Errorf("expired grant: %d", resp.StatusCode)
	}
	if resp, _ := h.get(t, reader, "/waves/W1/free-text/download/comments.csv"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("expired grant, no ICS: %d", resp.StatusCode)
	}

	// Every view, search, download and refusal was audited, with the rows shown.
	var got []string
	for _, e := range h.freeText.Events() {
		got = append(got, e.UserID+" "+string(e.Action)+" "+e.ICS+" q="+e.Query+" rows="+itoa(e.RowsShown)+" allowed="+map[bool]string{true: "y", false: "n"}[e.Allowed])
	}
	want := []string{
		"fay.reader@example.nhs.uk view QMM q= rows=3 allowed=y",
		"fay.reader@example.nhs.uk search QMM q=patel rows=0 allowed=y",
		"fay.reader@example.nhs.uk search QMM q=physio rows=1 allowed=y",
		"fay.reader@example.nhs.uk download QMM q=nurses rows=1 allowed=y",
		"fay.reader@example.nhs.uk download QMM q=-2+3+cmd|'/c calc'!A0 rows=0 allowed=y",
		"ann.analyst@example.nhs.uk view QMM q= rows=0 allowed=n",
		"ann.analyst@example.nhs.uk download QMM q= rows=0 allowed=n",
		"ann.analyst@example.nhs.uk view  q= rows=0 allowed=n",
		"fay.reader@example.nhs.uk view QJK q= rows=0 allowed=n",
		"fay.reader@example.nhs.uk view QMM q= rows=0 allowed=n",
		"fay.reader@example.nhs.uk download  q= rows=0 allowed=n",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range h.freeText.Events() {
		if err := e.Validate(); err != nil {
			t.Errorf("invalid audit event %+v: %v", e, err)
		}
	}
}

func TestFreeTextNotShownWhenTheAuditFails(t *testing.T) {
	h := newHarness(t, true, nil)
	h.freeText.fail = true
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	resp, body := h.get(t, h.client, "/waves/W1/free-text?ics=QMM")
	if resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "district nurses") {
		t.Errorf("unaudited read: %d", resp.StatusCode)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Every page that shows free text (comments, the coding queue, a profile's quotations)
// is never compressed, whatever its address: each reflects what the request says.
func TestResponsesCompressedButNotFreeText(t *testing.T) {
	coding := &memCoding{}
	h := newHarness(t, true, func(_ *Config, d *Deps) {
		d.CodingQueue, d.ThemeDecisions = coding, coding
		d.Profiles = memProfiles{}
	})
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	for path, want := range map[string]string{
		cssPath:                       "gzip",
		"/waves/W1":                   "gzip",
		"/waves/W1/free-text?ics=QMM": "",
		"/waves/W1/free-text/download/comments.csv?ics=QMM":                 "",
		"/waves/W1/coding?ics=QMM&sent=999%20-%20call%200800%20000%20000":   "",
		"/waves/W1/profiles?ics=QMM&profile=women-heart":                    "",
		"/waves/W1/free-text?ics=QMM&q=" + url.QueryEscape("/free-text?x="): "",
	} {
		req, _ := http.NewRequest(http.MethodGet, h.ts.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		tr := h.client.Transport.(*http.Transport).Clone()
		tr.DisableCompression = true
		c := &http.Client{Jar: h.client.Jar, Transport: tr}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding"); got != want || resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d, Content-Encoding %q, want %q", path, resp.StatusCode, got, want)
		}
		if want == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil || len(plain) <= len(body) {
				t.Errorf("%s: %d bytes compressed to %d (%v)", path, len(plain), len(body), err)
			}
		}
	}
}

// The free text is labelled with the questionnaire's question, not its id; the home
// page names the ICSs whose free text a reader may read as every page does.
func TestFreeTextNamesQuestionsAndICSs(t *testing.T) {
	h := newHarness(t, true, nil)
	reader := h.newClient()
	h.signIn(t, reader, "fay.reader@example.nhs.uk")
	good := "Was there anything particularly good about the health and care you received?"
	_, body := h.get(t, reader, "/waves/W1/free-text?ics=QMM")
	if !strings.Contains(body, good+" · response r1") || strings.Contains(body, "P_FT_GOOD") {
		t.Errorf("the free text is not labelled with the question:\n%s", body[strings.Index(body, "ice-comments"):])
	}
	_, f := h.get(t, reader, "/waves/W1/free-text/download/comments.csv?ics=QMM")
	if !strings.Contains(f, "r1,P_FT_GOOD,"+good+",") {
		t.Errorf("download lacks the question's text:\n%s", f)
	}
	_, home := h.get(t, reader, "/")
	i := strings.Index(home, "Free text you can read")
	if i < 0 || !strings.Contains(home[i:], "Norfolk and Waveney (QMM)") {
		t.Errorf("home does not name the free text's ICSs:\n%s", home[max(i, 0):][:300])
	}
	if questionLabel("NO_SUCH_QUESTION") != "NO_SUCH_QUESTION" {
		t.Error("an unknown question is not named by its id")
	}
}

// TestFreeTextPages: a named reader pages through all of an ICS's comments, a page of
// freeTextPageSize at a time (searched or not), each page shows the next comments,
// redacted, and records exactly the ids it shows as a read; a page past the end is a
// 404 that shows no comment (the request is still recorded, with no comment shown).
func TestFreeTextPages(t *testing.T) {
	comments := manyComments(234)
	// ids is the response ids of comments from to to (1-based) that match every i%step==0.
	ids := func(from, to, step int) []string {
		var out []string
		for i := 1; i <= 234; i++ {
			if i%step == 0 {
				out = append(out, fmt.Sprintf("r%03d", i))
			}
		}
		return out[from-1 : to]
	}
	cases := []struct {
		name, query string
		status      int
		count       string   // the #free-text-count paragraph, or the 404's message
		shown       []string // the ids on the page and recorded as read, in order
		prev, next  string   // the previous and next links ("" for none)
	}{
		{"first page", "", 200, "Showing 1 to 100 of 234 comments. Page 1 of 3.", ids(1, 100, 1), "", "page=2"},
		{"page 1 named", "&page=1", 200, "Showing 1 to 100 of 234 comments. Page 1 of 3.", ids(1, 100, 1), "", "page=2"},
		{"second page", "&page=2", 200, "Showing 101 to 200 of 234 comments. Page 2 of 3.", ids(101, 200, 1), "?ics=QMM\"", "page=3"},
		{"last page", "&page=3", 200, "Showing 201 to 234 of 234 comments. Page 3 of 3.", ids(201, 234, 1), "page=2", ""},
		{"past the end", "&page=4", 404, "There is no page 4 of the free text", nil, "", ""},
		{"not a page", "&page=0", 404, "There is no page &#34;0&#34;", nil, "", ""},
		{"search, first page", "&q=physio", 200, "117 of 234 comments match “physio”; showing 1 to 100. Page 1 of 2.", ids(1, 100, 2), "", "page=2&amp;q=physio"},
		{"search, second page", "&q=physio&page=2", 200, "117 of 234 comments match “physio”; showing 101 to 117. Page 2 of 2.", ids(101, 117, 2), "q=physio\"", ""},
		{"search past its end", "&q=physio&page=3", 404, "the 117 comments that match &#34;physio&#34; fill pages 1 to 2", nil, "", ""},
		{"search matching nothing", "&q=nothing", 200, "0 of 234 comments match “nothing”.", nil, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, true, nil)
			h.freeText.setComments(comments)
			h.signIn(t, h.client, "fay.reader@example.nhs.uk")
			resp, body := h.get(t, h.client, "/waves/W1/free-text?ics=QMM"+c.query)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if !strings.Contains(body, c.count) {
				t.Errorf("page does not say %q:\n%s", c.count, body)
			}
			if strings.Contains(body, "Patel") || strings.Contains(body, "07700") {
				t.Error("a page shows unredacted text")
			}
			var onPage []string
			for _, m := range regexp.MustCompile(`response (r\d+)</p>`).FindAllStringSubmatch(body, -1) {
				onPage = append(onPage, m[1])
			}
			if !slices.Equal(onPage, c.shown) {
				t.Errorf("page shows %d comments %v, want %d %v", len(onPage), onPage, len(c.shown), c.shown)
			}
			for _, l := range []struct{ id, want string }{{"free-text-prev", c.prev}, {"free-text-next", c.next}} {
				m := regexp.MustCompile(`href="([^"]*)" id="` + l.id + `"`).FindStringSubmatch(body)
				switch {
				case l.want == "" && m != nil:
					t.Errorf("%s: %s, want none", l.id, m[1])
				case l.want != "" && (m == nil || !strings.Contains(m[0], l.want)):
					t.Errorf("%s: %v, want a link with %s", l.id, m, l.want)
				}
			}
			ev := h.freeText.Events()
			if c.query == "&page=0" {
				if len(ev) != 0 {
					t.Errorf("a page that cannot be was recorded as a read: %+v", ev)
				}
				return
			}
			if len(ev) != 1 {
				t.Fatalf("%d audit events, want 1", len(ev))
			}
			if !ev[0].Allowed || ev[0].RowsShown != len(c.shown) || !slices.Equal(ev[0].ResponseIDs, c.shown) {
				t.Errorf("recorded as read: %d rows %v, want %d %v", ev[0].RowsShown, ev[0].ResponseIDs, len(c.shown), c.shown)
			}
		})
	}
}
