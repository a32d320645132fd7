package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// memCoding is a fake coding queue and workflow: it records the batches sent.
type memCoding struct {
	mu      sync.Mutex
	batches []CodingBatch
	fail    bool
}

func (m *memCoding) CodingQueue(_ context.Context, wave, ics string) ([]CodingItem, error) {
	if ics != "QMM" {
		return nil, nil
	}
	return []CodingItem{
		{ResponseID: "r2", QuestionID: "P_FT_IMPROVE", Text: "The hospital and the district nurses never talked. Ring Dr Patel on 07700 900123.",
			Suggestions: []CodedTheme{{"communication", "negative"}}},
		{ResponseID: "r3", QuestionID: "P_FT_IMPROVE", Text: "Waiting for the physio took months.", Evaluation: true,
			Suggestions: []CodedTheme{{"burden", "negative"}}},
	}, nil
}

func (m *memCoding) SendThemeDecisions(_ context.Context, wave, ics string, b CodingBatch) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return 0, fmt.Errorf("the coding workflow is not running")
	}
	m.batches = append(m.batches, b)
	return len(b.Decisions), nil
}

func TestCodingPageConfirmsAndChangesSuggestions(t *testing.T) {
	coding := &memCoding{}
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })

	// An analyst who is no free-text reader is refused, and the refusal is audited.
	analyst := h.newClient()
	h.signIn(t, analyst, "ann.analyst@example.nhs.uk")
	if resp, _ := h.get(t, analyst, "/waves/W1/coding?ics=QMM"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst: %d, want 403", resp.StatusCode)
	}
	if resp, _ := h.postForm(t, analyst, "/waves/W1/coding?ics=QMM", url.Values{"u0": {"r2/P_FT_IMPROVE"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst's POST: %d, want 403", resp.StatusCode)
	}
	if len(coding.batches) != 0 {
		t.Fatalf("a refused coder's batch was sent: %+v", coding.batches)
	}
	refusals := 0
	for _, e := range h.freeText.Events() {
		if e.UserID == "ann.analyst@example.nhs.uk" && !e.Allowed {
			refusals++
		}
	}
	if refusals != 2 {
		t.Errorf("%d refusals audited, want 2", refusals)
	}

	// The named reader sees the comments redacted, the suggestion preselected, and the
	// evaluation slice's blind.
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	if _, home := h.get(t, h.client, "/"); !strings.Contains(home, "/waves/W1/coding?ics=QMM") {
		t.Error("the home page has no link to the coding page")
	}
	resp, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reader: %d", resp.StatusCode)
	}
	if strings.Contains(body, "07700 900123") || strings.Contains(body, "Patel") {
		t.Error("the coding page shows personal data")
	}
	if !strings.Contains(body, `<option value="negative" selected>`) || !strings.Contains(body, "(coded blind)") {
		t.Error("the suggestion is not preselected or the blind comment not marked")
	}
	if strings.Count(body, `<option value="negative" selected>`) != 1 {
		t.Error("the blind comment's suggestion is shown")
	}
	// The coder confirms the first and codes the second differently.
	form := url.Values{"u0": {"r2/P_FT_IMPROVE"}, "t0-communication": {"negative"}, "t0-information": {"negative"},
		"u1": {"r3/P_FT_IMPROVE"}, "t1-burden": {"positive"}}
	before := len(h.freeText.Events())
	resp, _ = h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if len(coding.batches) != 1 {
		t.Fatalf("%d batches sent", len(coding.batches))
	}
	b := coding.batches[0]
	if b.Coder != "fay.reader@example.nhs.uk" || len(b.Decisions) != 2 ||
		fmt.Sprint(b.Decisions[0].Themes) != "[{communication negative} {information negative}]" || fmt.Sprint(b.Decisions[1].Themes) != "[{burden positive}]" {
		t.Errorf("batch %+v", b)
	}
	decisions := 0
	for _, e := range h.freeText.Events()[before:] {
		if strings.HasPrefix(e.Query, "theme decision: ") && e.Allowed && len(e.ResponseIDs) == 1 {
			decisions++
		}
	}
	if decisions != 2 {
		t.Errorf("%d decisions audited, want 2", decisions)
	}
	// A bad choice and a page from a changed queue are refused, nothing sent.
	for _, bad := range []url.Values{
		{"u0": {"r2/P_FT_IMPROVE"}, "t0-communication": {"maybe"}, "u1": {"r3/P_FT_IMPROVE"}},
		{"u0": {"r9/P_FT_IMPROVE"}, "u1": {"r3/P_FT_IMPROVE"}},
	} {
		if resp, body := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", bad, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "were not sent") {
			t.Errorf("bad form %v: %d", bad, resp.StatusCode)
		}
	}
	if len(coding.batches) != 1 {
		t.Errorf("a refused form was sent")
	}
	// When the audit store fails, nothing is sent.
	h.freeText.mu.Lock()
	h.freeText.fail = true
	h.freeText.mu.Unlock()
	if resp, _ := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil); resp.StatusCode == http.StatusSeeOther {
		t.Error("decisions sent without their audit record")
	}
	if len(coding.batches) != 1 {
		t.Errorf("a batch was sent without its audit record")
	}
}
