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

// memCoding is a fake coding queue and workflow: it records the batches sent, and a
// coder's queue loses the comments they decided (as localindex.CoderQueue's does).
// more adds that many plain comments after the first two.
type memCoding struct {
	mu      sync.Mutex
	batches []CodingBatch
	fail    bool
	refuse  string // the pipeline's own access check refuses, with this reason
	ended   string // the coding workflow has ended, this says how
	more    int
}

func (m *memCoding) CodingRunning(context.Context, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended != "" {
		return fmt.Errorf("%w: %s", ErrCodingEnded, m.ended)
	}
	return nil
}

func (m *memCoding) CodingQueue(_ context.Context, wave, ics, coder string) ([]CodingItem, error) {
	if ics != "QMM" {
		return nil, nil
	}
	all := []CodingItem{
		{ResponseID: "r2", QuestionID: "P_FT_IMPROVE", Text: "The hospital and the district nurses never talked. Ring Dr Patel on 07700 900123.",
			Suggestions: []CodedTheme{{"communication", "negative"}}},
		{ResponseID: "r3", QuestionID: "P_FT_IMPROVE", Text: "Waiting for the physio took months.", Blind: true},
	}
	for i := range m.more {
		all = append(all, CodingItem{ResponseID: fmt.Sprintf("q%03d", i), QuestionID: "P_FT_IMPROVE", Text: fmt.Sprintf("Comment number %d.", i)})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	decided := map[string]bool{}
	for _, b := range m.batches {
		if b.Coder == coder {
			for _, d := range b.Decisions {
				decided[d.ResponseID] = true
			}
		}
	}
	var out []CodingItem
	for _, it := range all {
		if !decided[it.ResponseID] {
			out = append(out, it)
		}
	}
	return out, nil
}

func (m *memCoding) SendThemeDecisions(_ context.Context, wave, ics string, b CodingBatch) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return 0, fmt.Errorf("the coding workflow is not running")
	}
	if m.refuse != "" {
		return 0, fmt.Errorf("%w: %s", ErrCodingRefused, m.refuse)
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
	// No ICS named, and none the analyst may read: refused and audited, naming no ICS.
	if resp, _ := h.get(t, analyst, "/waves/W1/coding"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("analyst, no ICS: %d, want 403", resp.StatusCode)
	}
	if len(coding.batches) != 0 {
		t.Fatalf("a refused coder's batch was sent: %+v", coding.batches)
	}
	var refused []string
	for _, e := range h.freeText.Events() {
		if e.UserID == "ann.analyst@example.nhs.uk" && !e.Allowed {
			refused = append(refused, string(e.Action)+" "+e.ICS)
		}
	}
	if strings.Join(refused, ",") != "code QMM,code QMM,code " {
		t.Errorf("refusals audited: %q, want code QMM twice and code with no ICS", refused)
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
	// Naming no ICS, the reader codes the first ICS they may read.
	if resp, noICS := h.get(t, h.client, "/waves/W1/coding"); resp.StatusCode != http.StatusOK || !strings.Contains(noICS, "/waves/W1/coding?ics=QMM&amp;from=0") {
		t.Errorf("reader, no ICS: %d", resp.StatusCode)
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
		if e.Action == "code" && strings.HasPrefix(e.Query, "theme decision: ") && e.Allowed && len(e.ResponseIDs) == 1 {
			decisions++
		}
	}
	if decisions != 2 {
		t.Errorf("%d decisions audited, want 2", decisions)
	}
	// The decided comments have left fay's queue.
	// sent is a whole number or nothing: text typed into it is never put on the page.
	if _, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM&sent=999%20-%20your%20session%20expired%2C%20call%200800%20000%20000"); strings.Contains(body, "0800") || strings.Contains(body, "decisions were recorded") {
		t.Error("the coding page shows the text of sent")
	}
	if _, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM&sent=2"); !strings.Contains(body, "Your decisions were recorded: 2 comments.") {
		t.Error("the coding page does not confirm the batch sent")
	}
	if _, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM&sent=2"); !strings.Contains(body, "0 comments left for you to code") {
		t.Error("the decided comments are still in the coder's queue")
	}
	coding.mu.Lock()
	coding.batches = nil
	coding.mu.Unlock()
	// A bad choice and a page from a changed queue are refused, nothing sent.
	for _, bad := range []url.Values{
		{"u0": {"r2/P_FT_IMPROVE"}, "t0-communication": {"maybe"}, "u1": {"r3/P_FT_IMPROVE"}},
		{"u0": {"r9/P_FT_IMPROVE"}, "u1": {"r3/P_FT_IMPROVE"}},
	} {
		if resp, body := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", bad, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "were not sent") {
			t.Errorf("bad form %v: %d", bad, resp.StatusCode)
		}
	}
	if len(coding.batches) != 0 {
		t.Errorf("a refused form was sent")
	}
	// When the pipeline's own check of the access file refuses the coder (the page and
	// the workers read different files, or the grant went in between), the coder is
	// told so, not shown "a problem with the service".
	coding.mu.Lock()
	coding.refuse = "fay.reader@example.nhs.uk is not in the access file /etc/ice/access.yaml"
	coding.mu.Unlock()
	if resp, body := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(body, "were not recorded") || !strings.Contains(body, "is not in the access file") {
		t.Errorf("a batch the pipeline refused: %d", resp.StatusCode)
	}
	coding.mu.Lock()
	coding.refuse = ""
	coding.mu.Unlock()
	// When the audit store fails, no page of comments is shown; decisions the
	// pipeline took but that could not be recorded are a problem, not a confirmation.
	h.freeText.mu.Lock()
	h.freeText.fail = true
	h.freeText.mu.Unlock()
	if resp, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM"); resp.StatusCode != http.StatusInternalServerError || strings.Contains(body, "district nurses") {
		t.Errorf("a page shown without its audit record: %d", resp.StatusCode)
	}
	if resp, _ := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("decisions taken without their audit record: %d, want 500", resp.StatusCode)
	}
}

// A decision's record names the grant that allowed it, as the terminal's do, and a
// POST that shows no comment records no read of the queue; one that shows the page
// again (a problem in the form) records the read first.
func TestCodingDecisionRecordsCarryTheGrant(t *testing.T) {
	coding := &memCoding{}
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	form := url.Values{"u0": {"r2/P_FT_IMPROVE"}, "t0-burden": {"negative"}, "u1": {"r3/P_FT_IMPROVE"}, "t1-burden": {"positive"}}
	before := len(h.freeText.Events())
	if resp, _ := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	var got []string
	for _, e := range h.freeText.Events()[before:] {
		got = append(got, fmt.Sprintf("%s allowed=%v approved_by=%q", e.Query, e.Allowed, e.ApprovedBy))
	}
	const by = "Caldicott Guardian, NHS Norfolk and Waveney ICB"
	want := []string{
		`theme decision: burden:negative allowed=true approved_by="` + by + `"`,
		`theme decision: burden:positive allowed=true approved_by="` + by + `"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("a POST's records:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A form with a problem shows the page again: its read is recorded.
	coding.mu.Lock()
	coding.batches = nil
	coding.mu.Unlock()
	before = len(h.freeText.Events())
	bad := url.Values{"u0": {"r2/P_FT_IMPROVE"}, "t0-burden": {"maybe"}, "u1": {"r3/P_FT_IMPROVE"}}
	if resp, body := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", bad, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "district nurses") {
		t.Fatalf("a form with a problem: %d", resp.StatusCode)
	}
	if evs := h.freeText.Events()[before:]; len(evs) != 1 || !strings.HasPrefix(evs[0].Query, "coding queue 1-2") || len(evs[0].ResponseIDs) != 2 {
		t.Errorf("a page shown again records %+v, want its read", evs)
	}
}

// The coding page pages through the whole queue in its order, 20 comments a page,
// each page's read audited as a coding read naming the comments shown; after a batch
// the same place in the queue holds the next batch.
func TestCodingPagesThroughTheQueue(t *testing.T) {
	coding := &memCoding{more: 43} // 45 comments: pages of 20, 20 and 5
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	cases := []struct {
		from, first, last string
		n                 int
		prev, next        string
	}{
		{"", "r2/", "q017/", 20, "", "from=20"},
		{"20", "q018/", "q037/", 20, "from=0", "from=40"},
		{"40", "q038/", "q042/", 5, "from=20", ""},
		{"400", "q038/", "q042/", 5, "from=20", ""}, // past the end: the last page
	}
	for _, c := range cases {
		t.Run("from="+c.from, func(t *testing.T) {
			before := len(h.freeText.Events())
			resp, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM&from="+c.from)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if n := strings.Count(body, `type="hidden" name="u`); n != c.n {
				t.Errorf("%d comments on the page, want %d", n, c.n)
			}
			if !strings.Contains(body, `value="`+c.first) || !strings.Contains(body, `value="`+c.last) {
				t.Errorf("the page does not run from %s to %s", c.first, c.last)
			}
			for id, want := range map[string]string{"coding-prev": c.prev, "coding-next": c.next} {
				has := strings.Contains(body, `id="`+id+`"`)
				if has != (want != "") || (want != "" && !strings.Contains(body, "&amp;"+want+`" id="`+id+`"`)) {
					t.Errorf("%s: present %v, want link to %q", id, has, want)
				}
			}
			evs := h.freeText.Events()[before:]
			if len(evs) != 1 || evs[0].Action != "code" || !evs[0].Allowed || len(evs[0].ResponseIDs) != c.n || !strings.HasPrefix(evs[0].Query, "coding queue ") {
				t.Errorf("audit of the page: %+v", evs)
			}
		})
	}
	if resp, _ := h.get(t, h.client, "/waves/W1/coding?ics=QMM&from=-3"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a negative place in the queue: %d, want 404", resp.StatusCode)
	}
	// Sending the second page leaves the third's comments at the same place.
	form := url.Values{}
	for i := range 20 {
		form.Set(fmt.Sprintf("u%d", i), fmt.Sprintf("q%03d/P_FT_IMPROVE", 18+i))
		form.Set(fmt.Sprintf("k%d", i), "yes") // keep the suggestion (no theme)
	}
	resp, _ := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM&from=20", form, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "from=20") {
		t.Fatalf("POST: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if len(coding.batches) != 1 || len(coding.batches[0].Decisions) != 20 || coding.batches[0].Decisions[0].ResponseID != "q018" {
		t.Fatalf("batches %+v", coding.batches)
	}
	_, body := h.get(t, h.client, resp.Header.Get("Location"))
	if !strings.Contains(body, "25 comments left") || !strings.Contains(body, `value="q038/`) || strings.Contains(body, `value="q018/`) {
		t.Error("the page after the batch is not the next batch")
	}
}

// Once the wave's theme coding has ended (ice themes finish), the coding page says so:
// no queue is shown and no read audited, and a page of decisions sent from a page
// shown before is neither audited nor sent (not a 500 after auditing them all).
func TestCodingPageAfterTheCodingEnded(t *testing.T) {
	coding := &memCoding{}
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	if _, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM"); !strings.Contains(body, `value="r2/P_FT_IMPROVE"`) {
		t.Fatal("the page shows no queue while the coding runs")
	}
	coding.mu.Lock()
	coding.ended = "the theme coding of W1 has ended (completed at 2026-11-30T10:00:00Z; `ice themes code --wave W1` starts it again)"
	coding.mu.Unlock()
	before := len(h.freeText.Events())
	form := url.Values{"u0": {"r2/P_FT_IMPROVE"}, "t0-communication": {"negative"}, "u1": {"r3/P_FT_IMPROVE"}, "t1-burden": {"positive"}}
	for what, get := range map[string]func() (*http.Response, string){
		"GET":  func() (*http.Response, string) { return h.get(t, h.client, "/waves/W1/coding?ics=QMM") },
		"POST": func() (*http.Response, string) { return h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil) },
	} {
		resp, body := get()
		if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Coding has ended") || !strings.Contains(body, "is not running, so there is nothing to code") ||
			!strings.Contains(body, "completed at 2026-11-30T10:00:00Z") {
			t.Errorf("%s after the coding ended: %d\n%s", what, resp.StatusCode, body)
		}
		if strings.Contains(body, "r2/P_FT_IMPROVE") || strings.Contains(body, "district nurses") {
			t.Errorf("%s after the coding ended shows the queue", what)
		}
	}
	if evs := h.freeText.Events()[before:]; len(evs) != 0 {
		t.Errorf("audited after the coding ended: %+v", evs)
	}
	if len(coding.batches) != 0 {
		t.Errorf("a batch sent after the coding ended: %+v", coding.batches)
	}
}

// Only what happened is on record: a batch the pipeline refuses (its own check of the
// access file) leaves no decision recorded as allowed, but a refusal with the
// pipeline's reason; a batch the pipeline fails to take leaves nothing; a batch it
// takes leaves one allowed decision per comment.
func TestCodingDecisionsRecordedOnlyOnceTaken(t *testing.T) {
	coding := &memCoding{}
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	form := url.Values{"u0": {"r2/P_FT_IMPROVE"}, "t0-burden": {"negative"}, "u1": {"r3/P_FT_IMPROVE"}, "t1-burden": {"positive"}}
	decisions := func(from int) (allowed, refused []string) {
		for _, e := range h.freeText.Events()[from:] {
			switch {
			case e.Allowed && strings.HasPrefix(e.Query, "theme decision"):
				allowed = append(allowed, e.Query)
			case !e.Allowed:
				refused = append(refused, e.Query+" | "+e.Reason)
			}
		}
		return allowed, refused
	}

	coding.mu.Lock()
	coding.refuse = `"fay.reader@example.nhs.uk" is not in the access file /etc/ice/access.yaml`
	coding.mu.Unlock()
	before := len(h.freeText.Events())
	if resp, _ := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a batch the pipeline refused: %d, want 403", resp.StatusCode)
	}
	allowed, refused := decisions(before)
	if len(allowed) != 0 {
		t.Errorf("decisions the pipeline refused are on record as allowed: %q", allowed)
	}
	if len(refused) != 1 || !strings.Contains(refused[0], "theme decisions on 2 comments, refused by the pipeline") || !strings.Contains(refused[0], "is not in the access file") {
		t.Errorf("the refusal on record: %q, want one naming the batch and the pipeline's reason", refused)
	}

	coding.mu.Lock()
	coding.refuse, coding.fail = "", true
	coding.mu.Unlock()
	before = len(h.freeText.Events())
	if resp, _ := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("a batch the pipeline did not take: %d, want 500", resp.StatusCode)
	}
	if allowed, _ := decisions(before); len(allowed) != 0 {
		t.Errorf("decisions the pipeline did not take are on record: %q", allowed)
	}

	coding.mu.Lock()
	coding.fail = false
	coding.mu.Unlock()
	before = len(h.freeText.Events())
	if resp, _ := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", form, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a batch the pipeline took: %d", resp.StatusCode)
	}
	if allowed, _ := decisions(before); strings.Join(allowed, ",") != "theme decision: burden:negative,theme decision: burden:positive" {
		t.Errorf("decisions on record: %q", allowed)
	}
}

// A comment is decided only by an explicit act, as in the terminal (Enter keeps a
// suggestion, a blind comment needs its labels or "none" typed): a page sent as it
// was shown records nothing; a blind comment left untouched is not recorded as
// "none", nor a suggestion left untouched as a person's confirmation. Undecided
// comments stay in the coder's queue.
func TestCodingPageRecordsOnlyExplicitDecisions(t *testing.T) {
	coding := &memCoding{more: 2} // r2 (suggestion: communication negative), r3 (blind), q000, q001 (no suggestion)
	h := newHarness(t, true, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })
	h.signIn(t, h.client, "fay.reader@example.nhs.uk")
	_, body := h.get(t, h.client, "/waves/W1/coding?ics=QMM")
	if !strings.Contains(body, `name="k0"`) || !strings.Contains(body, "Keep the suggestion: Communication") ||
		!strings.Contains(body, "No theme (none)") || !strings.Contains(body, "Keep the suggestion: no theme") {
		t.Errorf("the page offers no explicit keep or none:\n%s", body)
	}
	ids := url.Values{"u0": {"r2/P_FT_IMPROVE"}, "u1": {"r3/P_FT_IMPROVE"}, "u2": {"q000/P_FT_IMPROVE"}, "u3": {"q001/P_FT_IMPROVE"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range ids {
			f[k] = v
		}
		f.Set("t0-communication", "negative") // the preselected suggestion, as a browser sends it
		for i := 0; i < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	decided := func() string {
		coding.mu.Lock()
		defer coding.mu.Unlock()
		var out []string
		for _, b := range coding.batches {
			for _, d := range b.Decisions {
				out = append(out, fmt.Sprintf("%s%v", d.ResponseID, d.Themes))
			}
		}
		coding.batches = nil
		return strings.Join(out, " ")
	}
	onRecord := func(from int) int {
		n := 0
		for _, e := range h.freeText.Events()[from:] {
			if strings.HasPrefix(e.Query, "theme decision") {
				n++
			}
		}
		return n
	}

	// The page sent as shown: nothing is sent or recorded, and the coder is told why.
	before := len(h.freeText.Events())
	resp, body := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", with(), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "You have not decided any comment on this page") {
		t.Errorf("an untouched page: %d, want 400 saying nothing was decided", resp.StatusCode)
	}
	if got := decided(); got != "" {
		t.Errorf("an untouched page sent %s", got)
	}
	if n := onRecord(before); n != 0 {
		t.Errorf("an untouched page put %d decisions on record", n)
	}

	// Contradictions are refused, naming the comment.
	for name, c := range map[string]struct {
		form url.Values
		want string
	}{
		"blind none with a theme": {with("k1", "yes", "t1-burden", "negative"), `Comment 2 is marked &#34;No theme (none)&#34; but has themes chosen`},
		"keep with a change":      {with("k0", "yes", "t0-burden", "negative"), `Comment 1 is marked &#34;Keep the suggestion&#34; but its themes were changed`},
	} {
		if resp, body := h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", c.form, nil); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d, want 400 with %q", name, resp.StatusCode, c.want)
		}
		if got := decided(); got != "" {
			t.Errorf("%s: sent %s", name, got)
		}
	}

	// The suggestion kept explicitly, the blind comment marked none, and a comment
	// left untouched: two decisions, the third comment stays in the queue.
	before = len(h.freeText.Events())
	resp, _ = h.postForm(t, h.client, "/waves/W1/coding?ics=QMM", with("k0", "yes", "k1", "yes", "t3-holistic", "positive"), nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST: %d", resp.StatusCode)
	}
	if got, want := decided(), "r2[{communication negative}] r3[] q001[{holistic positive}]"; got != want {
		t.Errorf("sent %q, want %q", got, want)
	}
	if n := onRecord(before); n != 3 {
		t.Errorf("%d decisions on record, want 3", n)
	}
	loc := resp.Header.Get("Location")
	if !strings.Contains(loc, "sent=3&left=1") {
		t.Errorf("redirect to %q", loc)
	}
	coding.mu.Lock()
	coding.batches = []CodingBatch{{Coder: "fay.reader@example.nhs.uk", Decisions: []CodingDecision{{ResponseID: "r2"}, {ResponseID: "r3"}, {ResponseID: "q001"}}}}
	coding.mu.Unlock()
	if _, body := h.get(t, h.client, loc); !strings.Contains(body, "Your decisions were recorded: 3 comments. 1 you left undecided were not sent and are still in your queue.") ||
		!strings.Contains(body, `value="q000/P_FT_IMPROVE"`) {
		t.Errorf("the page after the batch does not say what was left, or has lost it:\n%s", body)
	}
}
