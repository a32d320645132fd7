package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// memProfiles is a fake profile source: one profile with one statement, one chosen
// quotation and a verdict.
type memProfiles struct{}

func (memProfiles) ProfileList(context.Context) ([]ProfileRef, error) {
	return []ProfileRef{{ID: "women-heart", Title: "Women with several conditions after a heart condition"}}, nil
}

func (memProfiles) Profile(_ context.Context, wave, ics, id string) (*ProfileView, error) {
	// The release's intervals are 90 %: the tables' heading says so.
	return &ProfileView{ID: id, Title: "Women with several conditions after a heart condition", Cohort: ProfileCell{Text: "42"}, Confidence: 0.9,
		Statements: []ProfileStatement{{ID: "rehab", Statement: "People are offered cardiac rehabilitation.", Source: "NICE NG185",
			Questions: []ProfileQuestion{{ID: "P_CARE_PLAN", Text: "Care plan", Rows: []ProfileRow{
				{Label: "This profile's group", Base: ProfileCell{Text: "42"}, Percent: ProfileCell{Text: "61.3%"}, Interval: ProfileCell{Text: "50.1% to 71.0%"}},
				{Label: "England", Base: ProfileCell{Text: "fewer than 10", Withheld: true}, Percent: ProfileCell{Text: "withheld (base too small)", Withheld: true}, Interval: ProfileCell{Text: "—", Withheld: true}}}}},
			Quotes:  []ProfileQuote{{Candidate: "c1", Text: "Nobody asked what I wanted.", Source: "session a", Coder: "fay.reader@example.nhs.uk", ChosenAt: time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)}},
			Verdict: "partly met", VerdictBy: "Ann Analyst", VerdictAt: time.Date(2026, 11, 11, 9, 0, 0, 0, time.UTC)}},
		Limitations: []string{"Small samples."}}, nil
}

func TestProfilePage(t *testing.T) {
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.Profiles = memProfiles{} })
	const page = "/waves/W1/profiles?ics=QMM&profile=women-heart"
	for _, c := range []struct {
		user   string
		path   string
		status int
		want   []string
		absent []string
		reads  int // allowed free-text reads recorded by this request
		// refusals of the quotations recorded by this request: a page that withholds
		// them is a refused free-text read
		refusals int
	}{
		// A named free-text reader of the ICS sees the quotation, recorded as a read.
		{"fay.reader@example.nhs.uk", page, http.StatusOK, []string{"61.3%", "withheld (base too small)", "Nobody asked what I wanted.", "partly met", "Ann Analyst", "90% interval"}, []string{"95% interval"}, 1, 0},
		// An analyst who is not a reader sees the figures, not the quotation.
		{"ann.analyst@example.nhs.uk", page, http.StatusOK, []string{"61.3%", "shown only to named free-text readers"}, []string{"Nobody asked"}, 0, 1},
		// Not an analyst of the ICS: refused.
		{"jo.devon@example.nhs.uk", page, http.StatusForbidden, nil, []string{"61.3%", "Nobody asked"}, 0, 0},
		{"ann.analyst@example.nhs.uk", "/waves/W1/profiles?ics=QMM&profile=nope", http.StatusNotFound, nil, nil, 0, 0},
		{"ann.analyst@example.nhs.uk", "/waves/W1/profiles?ics=QMM", http.StatusOK, []string{"Women with several conditions"}, nil, 0, 0},
	} {
		cl := h.newClient()
		h.signIn(t, cl, c.user)
		before := len(h.freeText.Events())
		resp, body := h.get(t, cl, c.path)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: %d, want %d", c.user, c.path, resp.StatusCode, c.status)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: page lacks %q", c.user, c.path, w)
			}
		}
		for _, a := range c.absent {
			if strings.Contains(body, a) {
				t.Errorf("%s %s: page shows %q", c.user, c.path, a)
			}
		}
		reads, refusals := 0, 0
		for _, e := range h.freeText.Events()[before:] {
			if e.Allowed && e.UserID == c.user && e.RowsShown == 1 && e.ResponseIDs[0] == "c1" {
				reads++
			}
			if !e.Allowed && e.UserID == c.user && e.ICS == "QMM" && e.RowsShown == 0 {
				refusals++
			}
		}
		if reads != c.reads || refusals != c.refusals {
			t.Errorf("%s %s: %d free-text reads and %d refusals recorded, want %d and %d", c.user, c.path, reads, refusals, c.reads, c.refusals)
		}
	}
	// The theme page links the ICS's profiles for its analysts.
	cl := h.newClient()
	h.signIn(t, cl, "ann.analyst@example.nhs.uk")
	if _, body := h.get(t, cl, "/waves/W1/themes/care-integration?ics=QMM"); !strings.Contains(body, `id="profiles-link"`) {
		t.Error("the theme page does not link the profiles")
	}
}

// TestProfileThemeTablesNamedByStatement: each statement's themes table is named by
// its statement, so the tables of one profile page (and their scrolling regions) are
// not all called the same thing in a screen reader's list of tables and regions.
func TestProfileThemeTablesNamedByStatement(t *testing.T) {
	sts := []ProfileStatement{
		{ID: "rehab", Statement: "People are offered cardiac rehabilitation.", Themes: []ProfileTheme{{Name: "Lack of continuity"}}},
		{ID: "plan", Statement: "People have a care plan shared with them.", Themes: []ProfileTheme{{Name: "Lack of information"}}},
	}
	seen := map[string]string{}
	for _, st := range sts {
		for _, tb := range profileTables(st, 0.95) {
			if other, ok := seen[tb.Caption]; ok {
				t.Errorf("statements %s and %s have tables of one caption: %q", other, st.ID, tb.Caption)
			}
			seen[tb.Caption] = st.ID
			if strings.HasSuffix(tb.ID, "-themes") && !strings.Contains(tb.Caption, strings.TrimSuffix(st.Statement, ".")) {
				t.Errorf("%s: the themes table's caption %q does not name the statement", st.ID, tb.Caption)
			}
		}
	}
}
