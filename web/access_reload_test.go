package web

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"icesurvey/access"
)

// The dashboard asks the access file at every request (access.File, as ice serve
// wires it): a free-text grant taken out of the file while the dashboard runs is
// refused at once on every path that shows free text (coding, free-text page and
// download, a profile's quotations), and so is an analyst's ICS; a file that cannot
// be read refuses everyone, as the workers' check does.
func TestAccessFileChangesTakeEffectAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dashboard-access.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(testAccessFile)
	file, err := access.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	coding := &memCoding{}
	h := newHarness(t, true, func(_ *Config, d *Deps) {
		d.Policy = file
		d.CodingQueue, d.ThemeDecisions, d.Profiles = coding, coding, memProfiles{}
	})
	reader, analyst := h.newClient(), h.newClient()
	h.signIn(t, reader, "fay.reader@example.nhs.uk")
	h.signIn(t, analyst, "ann.analyst@example.nhs.uk")
	freeText := []struct{ name, path, text string }{
		{"coding page", "/waves/W1/coding?ics=QMM", "district nurses"},
		{"free-text page", "/waves/W1/free-text?ics=QMM", "district nurses"},
		{"free-text download", "/waves/W1/free-text/download/comments.csv?ics=QMM", "district nurses"},
		{"profile quotations", "/waves/W1/profiles?ics=QMM&profile=women-heart", "Nobody asked what I wanted."},
	}
	const breakdown = "/waves/W1/themes/care-administration?ics=QMM&respondent=patient&breakdown=age_band"
	for _, p := range freeText {
		if resp, body := h.get(t, reader, p.path); resp.StatusCode != http.StatusOK || !strings.Contains(body, p.text) {
			t.Fatalf("%s with the grant: %d", p.name, resp.StatusCode)
		}
	}
	if resp, _ := h.get(t, analyst, breakdown); resp.StatusCode != http.StatusOK {
		t.Fatalf("the analyst's breakdown: %d", resp.StatusCode)
	}

	// Fay's grant and Ann's QMM are taken out of the file; the dashboard runs on.
	const grant = "    free_text:\n      - {ics: QMM, approved_by: \"Caldicott Guardian, NHS Norfolk and Waveney ICB\", approved_on: 2026-10-01, expires: 2026-11-30}\n"
	if !strings.Contains(testAccessFile, grant) {
		t.Fatal("the test access file has changed: update the grant taken out")
	}
	changed := strings.Replace(strings.Replace(testAccessFile, grant, "", 1), "    name: Ann Analyst\n    analyst: [QMM]", "    name: Ann Analyst\n    analyst: [QJK]", 1)
	write(changed)
	before := len(h.freeText.Events())
	for _, p := range freeText {
		resp, body := h.get(t, reader, p.path)
		if strings.Contains(body, p.text) {
			t.Errorf("%s after the grant was taken out: %d, shows the free text", p.name, resp.StatusCode)
		}
		if p.name != "profile quotations" && resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s after the grant was taken out: %d, want 403", p.name, resp.StatusCode)
		}
	}
	for _, e := range h.freeText.Events()[before:] {
		if e.Allowed {
			t.Errorf("after the grant was taken out, on record as allowed: %+v", e)
		}
	}
	if n := len(h.freeText.Events()) - before; n != len(freeText) {
		t.Errorf("%d refusals on record, want %d", n, len(freeText))
	}
	if resp, _ := h.get(t, analyst, breakdown); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the analyst's breakdown after the ICS was taken out: %d, want 403", resp.StatusCode)
	}

	// A file that cannot be read refuses everyone, signed in or signing in.
	write("version: 1\nusers: [\n")
	before = len(h.freeText.Events())
	for _, path := range []string{"/", "/waves/W1", freeText[1].path} {
		if resp, body := h.get(t, analyst, path); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "access file cannot be read") ||
			resp.Header.Get("Retry-After") != "60" {
			t.Errorf("%s with an unreadable access file: %d, Retry-After %q; want 503, retry after 60 s", path, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	h.checkSignInRefused(t)
	if n := len(h.freeText.Events()) - before; n != 0 {
		t.Errorf("%d free-text events with an unreadable access file", n)
	}

	// Put right, it is read again.
	write(testAccessFile)
	if resp, body := h.get(t, reader, freeText[1].path); resp.StatusCode != http.StatusOK || !strings.Contains(body, "district nurses") {
		t.Errorf("the free-text page once the grant is back: %d", resp.StatusCode)
	}
}

// checkSignInRefused checks that signing in is refused while the access file cannot be
// read: the sign-in page says so at once, rather than take a password it will refuse.
func (h *harness) checkSignInRefused(t *testing.T) {
	t.Helper()
	c := h.newClient()
	if resp, body := h.get(t, c, "/sign-in"); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "access file cannot be read") ||
		strings.Contains(body, `name="password"`) {
		t.Errorf("the sign-in page with an unreadable access file: %d, want 503 and no form", resp.StatusCode)
	}
	resp, _ := h.postForm(t, c, "/sign-in", map[string][]string{"username": {"fay.reader@example.nhs.uk"}, "password": {testPassword}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("signing in with an unreadable access file: %d, want 503", resp.StatusCode)
	}
}

// TestAccessPageSaysWhenChangesTakeEffect: the administrators' page says what the
// dashboard does (it reads the access file again at every request, as the test above
// shows), not that a change waits for a restart.
func TestAccessPageSaysWhenChangesTakeEffect(t *testing.T) {
	h := newHarness(t, true, nil)
	h.signIn(t, h.client, "adam.admin@example.nhs.uk")
	resp, body := h.get(t, h.client, "/access")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/access: %d", resp.StatusCode)
	}
	if strings.Contains(body, "when the dashboard restarts") || !strings.Contains(body, "take effect at the next page anyone opens") {
		t.Errorf("the access page does not say that a change takes effect at once:\n%s", body)
	}
}
