package web

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var headingTag = regexp.MustCompile(`<h([1-6])[^>]*>`)

// TestCarersHeadingsNest: the carers' page has a heading per questionnaire section
// and, under it, each table's heading and any refusal's: those are one level down
// (h3 under the section's h2), as they are shown, so a screen reader's list of
// headings has the same outline as the page.
func TestCarersHeadingsNest(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	for _, path := range []string{"/waves/W1/carers?ics=QMM", "/waves/W1/carers?ics=QJK", "/waves/W1/carers?ics=QJK&release=R-W1-2"} {
		resp, body := h.get(t, h.client, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		main, _, _ := strings.Cut(body[strings.Index(body, "<main"):], "</main>")
		var levels []string
		for _, m := range headingTag.FindAllStringSubmatch(main, -1) {
			levels = append(levels, "h"+m[1])
		}
		outline := strings.Join(levels, " ")
		// h1, then each section: an h2 with at least one h3 under it.
		if !regexp.MustCompile(`^h1( h2( h3)+)+$`).MatchString(outline) {
			t.Errorf("%s: headings %s, want h1 then each section's h2 with its h3s", path, outline)
		}
	}
}
