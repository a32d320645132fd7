package web

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestThemePageShowsFreeTextThemeCounts: a theme page shows the integration themes'
// free-text counts beside its questions, a withheld count as "withheld" with no number,
// a page with no integration theme and a breakdown show no such section, an ICS with
// nothing coded says so, and the section is no download (the release's tables only).
func TestThemePageShowsFreeTextThemeCounts(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	row := func(body, theme string) string {
		m := regexp.MustCompile(`<tr class="nhsuk-table__row"><th class="nhsuk-table__header" scope="row">` + regexp.QuoteMeta(theme) + `</th>(.*?)</tr>`).FindStringSubmatch(body)
		if m == nil {
			return ""
		}
		return m[1]
	}
	cells := regexp.MustCompile(`<td class="[^"]*">([^<]*)</td>`)
	cases := []struct {
		path    string
		section bool
		rows    map[string][2]string // theme name: negative, positive as shown
		intro   string
	}{
		{"/waves/W1/themes/care-integration?ics=QMM", true, map[string][2]string{
			"Communication between professionals": {"137", "42"},
			"Lack of holistic care pathways":      {"58", "withheld"},
			"Lack of information":                 {"71", "19"},
		}, "Counts of free-text comments"},
		{"/waves/W1/themes/care-integration?ics=QJK", true, nil, "No free-text comment of patients in Devon has been coded"},
		{"/waves/W1/themes/coordination?ics=QMM", false, nil, ""},
		{"/waves/W1/themes/care-integration?ics=QMM&breakdown=age_band", false, nil, ""},
		{"/waves/W1/themes/care-integration?ics=QMM&release=R-W1-1", true, map[string][2]string{"Lack of information": {"71", "19"}}, "Counts of free-text comments"},
	}
	for _, c := range cases {
		resp, body := h.get(t, h.client, c.path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", c.path, resp.StatusCode)
		}
		if got := strings.Contains(body, `id="free-text-themes"`); got != c.section {
			t.Errorf("%s: free-text section shown %v, want %v", c.path, got, c.section)
		}
		if strings.Contains(body, fmt.Sprint(leakedCount)) {
			t.Errorf("%s: the withheld count %d is served", c.path, leakedCount)
		}
		if c.intro != "" && !strings.Contains(body, c.intro) {
			t.Errorf("%s: want %q in the page", c.path, c.intro)
		}
		if c.section && c.rows == nil && strings.Contains(body, `id="free-text-themes-table"`) {
			t.Errorf("%s: an empty table of counts is shown", c.path)
		}
		for theme, want := range c.rows {
			r := row(body, theme)
			got := cells.FindAllStringSubmatch(r, -1)
			if len(got) != 2 || got[0][1] != want[0] || got[1][1] != want[1] {
				t.Errorf("%s: row %s = %q, want %v", c.path, theme, r, want)
			}
		}
		if c.rows != nil {
			if !strings.Contains(body, "ice-table__withheld") && strings.Contains(c.path, "QMM") {
				t.Errorf("%s: the withheld count is not marked", c.path)
			}
			if !strings.Contains(body, "Withheld: a small count") {
				t.Errorf("%s: no note explains the withheld mark", c.path)
			}
		}
		if strings.Contains(body, "free-text-themes.csv") || strings.Contains(body, "free-text-themes-table.csv") {
			t.Errorf("%s: the free-text counts are offered as a download", c.path)
		}
	}
	// The section's id is no download either.
	if resp, _ := h.get(t, h.client, "/waves/W1/themes/care-integration/download/free-text-themes.csv?ics=QMM"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("free-text counts download: %d, want 404", resp.StatusCode)
	}
}
