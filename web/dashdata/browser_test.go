package dashdata

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"icesurvey/web/internal/browsertest"
)

// TestBrowserOverASyntheticWave checks the main pages over real figures — a synthetic
// wave computed by the release's method, with its withheld rows, caution marks and
// refused filters — with axe-core (WCAG 2.2 AA) at 320 px and desktop width and the
// keyboard, and saves their screenshots beside the web package's
// (/tmp/ice-dashboard-screenshots/wave-*.png). Skips without /usr/bin/chromium.
func TestBrowserOverASyntheticWave(t *testing.T) {
	b := browsertest.Start(t)
	src := openSource(t)
	ts, _ := dashboardServerTLS(t, src, false)
	tab := b.NewTab(t)
	tab.Viewport(1280, 900)
	tab.Do(
		chromedp.Navigate(ts.URL+"/sign-in"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), crawlUser),
		chromedp.SendKeys(chromedp.ID("password"), "pw-for-tests-only"),
		chromedp.Click(chromedp.ID("sign-in-local")),
		chromedp.WaitVisible(chromedp.CSS("header .nhsuk-header__account")),
	)
	dir := filepath.Join(os.TempDir(), "ice-dashboard-screenshots")
	pages := []struct{ name, path string }{
		{"home", "/"},
		{"overview", "/waves/W1"},
		{"care-integration", "/waves/W1/themes/care-integration?ics=QBB"},
		{"emotional-support-by-age", "/waves/W1/themes/emotional-support?ics=QCC&breakdown=age_band"},
		{"waiting-times-release", "/waves/W1/themes/waiting-times?ics=QAA&release=" + testRelease},
		{"carers", "/waves/W1/carers?ics=QAA"},
		{"releases", "/waves/W1/releases"},
		{"practices", "/waves/W1/practices?ics=QCC"},
		{"linkage", "/waves/W1/linkage"},
	}
	for _, p := range pages {
		for _, w := range []int64{320, 1280} {
			tab.Viewport(w, 900)
			tab.Do(chromedp.Navigate(ts.URL + p.path))
			label := p.name + map[int64]string{320: " at 320px", 1280: " at 1280px"}[w]
			if h1 := browsertest.Eval[string](tab, `document.querySelector('h1').textContent`); strings.Contains(h1, "problem") || strings.Contains(h1, "not found") {
				t.Fatalf("%s: %q", label, h1)
			}
			tab.CheckAxe(label)
			if w == 320 {
				if sw := browsertest.Eval[int](tab, `document.documentElement.scrollWidth`); sw > 320 {
					t.Errorf("%s: the page is %d px wide", label, sw)
				}
			}
			tab.Screenshot(filepath.Join(dir, "wave-"+p.name+"-"+map[int64]string{320: "320", 1280: "desktop"}[w]+".png"))
			tab.CheckKeyboard(label)
		}
	}
	if v := tab.CSPViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %v", v)
	}
}
