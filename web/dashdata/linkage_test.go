package dashdata

import (
	"context"
	"html"
	"strings"
	"testing"

	"icesurvey/web"
)

// The linked aggregates are linkage_disclosed's cells as the release left them, named
// for people; a withheld cell has no number; a wave without a release has none.
func TestLinkedAggregates(t *testing.T) {
	src := openSource(t)
	rel, err := src.LinkedAggregates(context.Background(), "W1")
	if err != nil {
		t.Fatal(err)
	}
	if rel.ReleaseID != testLinkageRelease || len(rel.Cells) != 12 {
		t.Fatalf("release %q with %d cells, want %s with 12", rel.ReleaseID, len(rel.Cells), testLinkageRelease)
	}
	if !strings.Contains(rel.Method, testLinkageRelease) || !strings.Contains(rel.Method, "a base under 10 withheld") {
		t.Errorf("method: %q", rel.Method)
	}
	find := func(agg, grouping, value, category string) web.LinkedCell {
		t.Helper()
		for _, c := range rel.Cells {
			if c.Aggregate == agg && c.Grouping == grouping && c.GroupValue == value && c.Category == category {
				return c
			}
		}
		t.Fatalf("no cell %s %s=%s %s", agg, grouping, value, category)
		return web.LinkedCell{}
	}
	for _, tc := range []struct {
		cell                    web.LinkedCell
		subjectText, groupLabel string
		count, base             int64
		withheld                bool
	}{
		{find("experience_by_burden", "providers_12m", "1", "positive"), "", "", 16, 22, false},
		{find("experience_by_burden", "providers_12m", "2", "positive"), "", "", 0, 0, true},
		{find("experience_by_burden", "providers_12m", "2", "not_positive"), "", "", 0, 0, true},
		{find("experience_by_burden", "efi_band", "severe", "positive"), "", "Severe frailty", 90, 150, false},
		{find("experience_by_condition", "condition", "heart_failure", "positive"), "", "Heart failure", 40, 70, false},
		{find("match_rates", "ics", "QBB", "linked"), "GP appointments", "", 157, 165, false},
		{find("match_rates", "age_band", "75-84", "linked"), "GP appointments", "75–84", 60, 64, false},
		{find("consent_rates", "age_band", "75-84", "consented"), "", "75–84", 64, 90, false},
		{find("consent_rates", "ethnicity_group", "asian", "consented"), "", "Asian or Asian British", 40, 60, false},
		{find("match_rates", "ethnicity_group", "not_stated", "linked"), "GP appointments", "Not stated", 30, 33, false},
		{find("experience_by_consent", "consent", "not_consented", "positive"), "", "Did not consent", 30, 52, false},
	} {
		c := tc.cell
		if c.Withheld() != tc.withheld || c.Count != tc.count || c.Base != tc.base {
			t.Errorf("%s %s=%s %s: withheld %v %d of %d, want %v %d of %d", c.Aggregate, c.Grouping, c.GroupValue, c.Category,
				c.Withheld(), c.Count, c.Base, tc.withheld, tc.count, tc.base)
		}
		if tc.withheld && c.Share != 0 {
			t.Errorf("%s %s=%s: a withheld cell has a share", c.Aggregate, c.Grouping, c.GroupValue)
		}
		if tc.subjectText != "" && c.SubjectText != tc.subjectText {
			t.Errorf("%s: subject %q, want %q", c.Subject, c.SubjectText, tc.subjectText)
		}
		if (c.Aggregate == web.AggregateExperienceByBurden || c.Aggregate == web.AggregateExperienceByConsent) && (c.SubjectText == "" || c.SubjectText == c.Subject) {
			t.Errorf("question %s has no text: %q", c.Subject, c.SubjectText)
		}
		if tc.groupLabel != "" && c.GroupLabel != tc.groupLabel {
			t.Errorf("%s=%s: label %q, want %q", c.Grouping, c.GroupValue, c.GroupLabel, tc.groupLabel)
		}
	}
	if rel, err := src.LinkedAggregates(context.Background(), "W-none"); err != nil || rel.ReleaseID != "" || len(rel.Cells) != 0 {
		t.Errorf("a wave without a linkage release: %+v %v", rel, err)
	}
}

// Over the snapshot, the linkage page and its downloads show the published cells and
// mark the withheld ones, and every download is the page's table.
func TestLinkagePageOverTheSnapshot(t *testing.T) {
	src := openSource(t)
	ts, c := dashboardServer(t, src)
	status, body := fetch(t, c, ts.URL+"/waves/W1/linkage?burden=providers_12m&found_by=ics")
	// Ethnicity groups are named as the other breakdowns name them, never by code.
	if st, b := fetch(t, c, ts.URL+"/waves/W1/linkage?consent_by=ethnicity_group&found_by=ethnicity_group"); st != 200 ||
		!strings.Contains(b, "Asian or Asian British") || !strings.Contains(b, "Not stated") || strings.Contains(b, ">asian<") || strings.Contains(b, "not_stated<") {
		t.Errorf("linkage by ethnicity group: %d, names missing or codes shown", st)
	}
	if status != 200 {
		t.Fatalf("linkage page: %d", status)
	}
	for _, want := range []string{testLinkageRelease, "72.7%", "Heart failure", "GP appointments", "157", "95.2%", "withheld"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	links := downloadHref.FindAllStringSubmatch(body, -1)
	if len(links) != 10 {
		t.Fatalf("%d download links, want CSV and XLSX of 5 tables", len(links))
	}
	for _, m := range links {
		if st, _ := fetch(t, c, ts.URL+html.UnescapeString(m[1])); st != 200 {
			t.Errorf("%s: %d", m[1], st)
		}
	}
}
