package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// The linked activity page shows the release's disclosed cells as they are: the
// shares and counts it published, each withheld cell as withheld, never its number.
func TestLinkagePageShowsTheDisclosedCells(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	resp, body := h.get(t, h.client, "/waves/W1/linkage")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("linkage page: %d", resp.StatusCode)
	}
	for _, want := range []string{
		"Linked health and care activity", "R20270301",
		"“Did not have to repeat their story”: positive answers by providers seen in the 12 months before responding",
		"Heart failure", "GP appointments", "Norfolk and Waveney (QMM)", "95.2%", // 157 of 165
		`<option value="P_WHO_TO_CONTACT">Knew who to contact about their care</option>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, fmt.Sprint(leakedCount)) || strings.Contains(body, "43.2%") {
		t.Error("a withheld linked count or share is served")
	}
	if strings.Contains(body, "fewer than 10") {
		t.Error("the page gives the default minimum base, not the release's (20)")
	}
	// The groups are in counting order, and the withheld ones say so.
	burden := htmlTable(t, body, "burden-table")
	var labels []string
	for _, r := range burden[1:] {
		labels = append(labels, r[0])
	}
	if got := strings.Join(labels, ","); got != "0,1 (small base: treat with caution),2,3-4,5+" {
		t.Errorf("burden groups %s, want 0, 1 (with its caution), 2, 3-4, 5+", got)
	}
	for _, r := range burden[1:] {
		withheld := strings.Contains(strings.Join(r, "|"), "withheld")
		if (r[0] == "0" || r[0] == "2") != withheld {
			t.Errorf("group %s: withheld %v: %q", r[0], withheld, r)
		}
		// A base under the release's min_base (20 here) says that minimum, not 10.
		if r[0] == "0" && !strings.Contains(strings.Join(r, "|"), "withheld: fewer than 20 respondents in the group") {
			t.Errorf("group 0 (base 6, min_base 20): %q, want it withheld for fewer than 20 respondents", r)
		}
	}
	found := htmlTable(t, body, "found-table")
	var rows []string
	for _, r := range found[1:] {
		rows = append(rows, strings.Join(r, "|"))
	}
	want := []string{"GP appointments|Devon (QJK)|163|173|94.2%", "GP appointments|Norfolk and Waveney (QMM)|157|165|95.2%",
		"Admitted patient care|Devon (QJK)|withheld|withheld|withheld", "Admitted patient care|Norfolk and Waveney (QMM)|71|165|43.0%"}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("found-in table:\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}

	// Who consented, by ICS (a withheld count stays withheld, its share too), and the
	// question's answers on each side.
	consent := htmlTable(t, body, "consent-table")
	var consentRows []string
	for _, r := range consent[1:] {
		consentRows = append(consentRows, strings.Join(r, "|"))
	}
	wantConsent := []string{"Devon (QJK)|withheld|withheld|withheld", "Norfolk and Waveney (QMM)|165|60|73.3%"}
	if strings.Join(consentRows, "\n") != strings.Join(wantConsent, "\n") {
		t.Errorf("consent table:\n%s\nwant\n%s", strings.Join(consentRows, "\n"), strings.Join(wantConsent, "\n"))
	}
	byConsent := htmlTable(t, body, "consent-experience-table")
	if len(byConsent) != 3 || byConsent[1][0] != "Consented" || byConsent[2][0] != "Did not consent" ||
		!strings.Contains(strings.Join(byConsent[1], "|"), "60.6%") || !strings.Contains(strings.Join(byConsent[2], "|"), "50.0%") {
		t.Errorf("answers by consent: %q", byConsent)
	}
	if _, body := h.get(t, h.client, "/waves/W1/linkage?consent_by=age_band"); !strings.Contains(body, "75–84") {
		t.Error("consent by age band is not shown")
	}

	// Another question and grouping, from the form; a section the release has nothing
	// for says so, with no empty table and no download.
	_, body = h.get(t, h.client, "/waves/W1/linkage?question=P_WHO_TO_CONTACT&burden=providers_12m&found_by=all")
	if !strings.Contains(body, "“Knew who to contact about their care”") || !strings.Contains(body, "320") {
		t.Error("the form's question and grouping are not shown")
	}
	if !strings.Contains(body, "The release has no figures for this question and grouping.") || strings.Contains(body, `id="conditions-table"`) ||
		strings.Contains(body, "/download/conditions.csv") {
		t.Error("a section with no figures shows an empty table or a download")
	}
	// What the release does not have is not found, not shown empty.
	for _, path := range []string{"/waves/W1/linkage?question=NOPE", "/waves/W1/linkage?burden=shoe_size", "/waves/W1/linkage?found_by=x", "/waves/W1/linkage?consent_by=all", "/waves/W9/linkage"} {
		if resp, _ := h.get(t, h.client, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	// Anonymous users sign in first.
	if resp, _ := h.get(t, h.newClient(), "/waves/W1/linkage"); resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Errorf("anonymous: %d", resp.StatusCode)
	}
}

// Each of the page's tables downloads as exactly what the page shows.
func TestLinkageDownloadsHoldWhatThePageShows(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	q := "question=P_REPEAT_STORY&burden=providers_12m&found_by=ics"
	_, body := h.get(t, h.client, "/waves/W1/linkage?"+q)
	for _, id := range []string{"burden", "conditions", "found", "consent", "consent-experience"} {
		shown := htmlTable(t, body, id+"-table")
		resp, file := h.get(t, h.client, "/waves/W1/linkage/download/"+id+".csv?"+q)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s.csv: %d", id, resp.StatusCode)
		}
		meta, rows := csvTable(t, file)
		if len(rows) != len(shown) {
			t.Fatalf("%s: CSV has %d rows, the page %d", id, len(rows), len(shown))
		}
		for i := range rows {
			if strings.Join(rows[i], "|") != strings.Join(shown[i], "|") {
				t.Errorf("%s row %d: CSV %q, page %q", id, i, rows[i], shown[i])
			}
		}
		if meta["Linkage release"] != "R20270301" || meta["Method"] == "" || meta["Suppression marks"] == "" {
			t.Errorf("%s metadata: %v", id, meta)
		}
		if strings.Contains(file, fmt.Sprint(leakedCount)) {
			t.Errorf("%s.csv serves a withheld count", id)
		}
	}
}

// A wave without a linkage release says how to make one; a dashboard without the
// linkage has no such page and no link to it.
func TestLinkagePageWithoutARelease(t *testing.T) {
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.Linkage = noLinkage{} })
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	if resp, body := h.get(t, h.client, "/waves/W1/linkage"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "no linkage release yet") {
		t.Errorf("wave without a release: %d", resp.StatusCode)
	}
	h = newHarness(t, true, func(_ *Config, d *Deps) { d.Linkage = nil })
	h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
	if resp, _ := h.get(t, h.client, "/waves/W1/linkage"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("dashboard without linkage: %d", resp.StatusCode)
	}
	for _, path := range []string{"/", "/waves/W1"} {
		if _, body := h.get(t, h.client, path); strings.Contains(body, "/waves/W1/linkage") {
			t.Errorf("%s links a page that does not exist", path)
		}
	}
}

type noLinkage struct{}

func (noLinkage) LinkedAggregates(context.Context, string) (LinkedRelease, error) {
	return LinkedRelease{}, nil
}

func TestInSentence(t *testing.T) {
	for in, want := range map[string]string{"Frailty (eFI band)": "frailty (eFI band)", "ICS": "ICS", "Age band": "age band",
		"Providers seen in the 12 months before responding": "providers seen in the 12 months before responding"} {
		if got := inSentence(in); got != want {
			t.Errorf("inSentence(%q) = %q, want %q", in, got, want)
		}
	}
}
