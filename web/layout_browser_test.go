package web

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"icesurvey/web/internal/browsertest"
)

// longQuestions is the linkage release of memData with its questions worded in full,
// as a real questionnaire words them: the filter form's question select then holds
// options far wider than the page's column.
type longQuestions struct{ memData }

const longQuestionText = "How often have you had to repeat your medical history or explain your needs again to different professionals?"

func (l longQuestions) LinkedAggregates(ctx context.Context, wave string) (LinkedRelease, error) {
	rel, err := l.memData.LinkedAggregates(ctx, wave)
	for i := range rel.Cells {
		if rel.Cells[i].SubjectText == "Did not have to repeat their story" {
			rel.Cells[i].SubjectText = longQuestionText
		}
	}
	return rel, err
}

// TestBrowserNoPageScrollsSideways loads the pages with filter forms at every width
// from a phone's (or 400% zoom's) 320 px to a desktop's and checks that nothing but a
// table's own scrolling region is wider than the window: a select whose options are
// long questions must fit the column, not push the page sideways.
func TestBrowserNoPageScrollsSideways(t *testing.T) {
	b := browsertest.Start(t)
	h := newHarness(t, false, func(_ *Config, d *Deps) { d.Linkage = longQuestions{} })
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/sign-in"))
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")
	for _, path := range []string{
		"/waves/W1/linkage",
		"/waves/W1/themes/care-administration?ics=QMM",
		"/waves/W1/carers?ics=QMM",
		"/waves/W1/practices?ics=QMM",
	} {
		for _, width := range []int64{320, 640, 800, 1024, 1280} {
			tab.Viewport(width, 900)
			tab.Do(chromedp.Navigate(h.ts.URL + path))
			if path == "/waves/W1/linkage" && !browsertest.Eval[bool](tab, `[...document.querySelectorAll('#filter-question option')].some(o => o.textContent.includes('medical history'))`) {
				t.Fatal("the linkage page's question select does not hold the long question")
			}
			if w := browsertest.Eval[int](tab, `document.documentElement.scrollWidth`); w > int(width) {
				wide := browsertest.Eval[string](tab, fmt.Sprintf(`[...document.querySelectorAll('main *')].filter(el => el.getBoundingClientRect().right > %d && !el.closest('.ice-table')).slice(0, 3).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')).join(', ')`, width))
				t.Errorf("%s at %d px: the page is %d px wide (too wide: %s)", path, width, w, wide)
			}
		}
	}
}

// TestBrowserLandmarksAreUnique runs axe-core's best-practice rules (beyond WCAG's) on
// the pages with charts and tables: among them, that no two landmarks share a name, so
// a screen reader's list of regions tells a chart's section from its table's scrolling
// region (they were both named by the same sentence, the heading and the caption).
func TestBrowserLandmarksAreUnique(t *testing.T) {
	b := browsertest.Start(t)
	h := newHarness(t, false, nil)
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/sign-in"))
	signInLocal(t, tab, "ann.analyst@example.nhs.uk")
	for _, path := range []string{
		"/waves/W1",
		"/waves/W1/themes/care-administration?ics=QMM",
		"/waves/W1/themes/care-administration?ics=QMM&breakdown=age_band",
		"/waves/W1/carers?ics=QMM",
		"/waves/W1/practices?ics=QMM",
		"/waves/W1/releases",
		"/waves/W1/linkage",
	} {
		tab.Do(chromedp.Navigate(h.ts.URL + path))
		for _, v := range tab.Axe("best-practice") {
			t.Errorf("%s: %s", path, v)
		}
	}
}
