package web

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"icesurvey/web/internal/browsertest"
)

// TestBrowserCodingErrorSummary sends a coding page that cannot be sent, in the
// browser, and checks the NHS error summary pattern: the title says "Error:" first,
// the summary takes focus, each problem links to the field to put right, which says it
// again beside the comment, and the page passes axe and the keyboard check.
func TestBrowserCodingErrorSummary(t *testing.T) {
	b := browsertest.Start(t)
	coding := &memCoding{}
	h := newHarness(t, false, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1/coding?ics=QMM"))
	signInLocal(t, tab, "fay.reader@example.nhs.uk")
	okTitle := browsertest.Eval[string](tab, `document.title`)

	for _, c := range []struct {
		name   string
		do     []chromedp.Action[chromedp.Void]
		target string // the field the summary's link must lead to
		inline string // the comment fieldset that says it again ("" for none)
	}{
		{"sent untouched", nil, "t0-", ""},
		{"keep the suggestion but changed", []chromedp.Action[chromedp.Void]{
			chromedp.Click(chromedp.ID("k0")),
			chromedp.SetValue(chromedp.CSS(`select[name="t0-burden"]`), "negative"),
		}, "k0", "c0-error"},
	} {
		tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1/coding?ics=QMM"))
		tab.Do(c.do...)
		tab.Do(chromedp.Click(chromedp.ID("coding-send")), chromedp.WaitVisible(chromedp.CSS(".nhsuk-error-summary")))
		if got := browsertest.Eval[string](tab, `document.title`); got != "Error: "+okTitle {
			t.Errorf("%s: title %q, want %q", c.name, got, "Error: "+okTitle)
		}
		if !browsertest.Eval[bool](tab, `document.activeElement === document.querySelector('.nhsuk-error-summary')`) {
			t.Errorf("%s: the error summary did not take focus (focus on %s)", c.name, browsertest.Eval[string](tab, `document.activeElement.outerHTML.slice(0, 80)`))
		}
		links := browsertest.Eval[string](tab, `[...document.querySelectorAll('.nhsuk-error-summary__list li')].map(li => { const a = li.querySelector('a[href^="#"]'); return a && document.getElementById(a.getAttribute('href').slice(1)) ? a.getAttribute('href').slice(1) : 'NO LINK: ' + li.textContent }).join(' ')`)
		if !strings.HasPrefix(links, c.target) || strings.Contains(links, "NO LINK") {
			t.Errorf("%s: the summary links to %q, want a field starting %q", c.name, links, c.target)
		}
		if c.inline != "" {
			desc := browsertest.Eval[string](tab, `document.querySelector('fieldset.ice-comment').getAttribute('aria-describedby')`)
			text := browsertest.Eval[string](tab, `(document.getElementById('`+c.inline+`') || {}).textContent || ''`)
			if !strings.Contains(desc, c.inline) || !strings.Contains(text, "Error: Comment 1") {
				t.Errorf("%s: the comment does not say its error beside it (aria-describedby %q, message %q)", c.name, desc, text)
			}
		}
		tab.CheckAxe("coding error: " + c.name)
		tab.CheckKeyboard("coding error: " + c.name)
	}
	if len(coding.batches) != 0 {
		t.Errorf("a refused page sent %+v", coding.batches)
	}
	noConsoleProblems(t, tab, h.ts.URL+"/waves/W1/coding?ics=QMM&from=0") // the refused pages are 400s
}

// TestBrowserCodingConfirmationTakesFocus: after a batch is sent, the page that follows
// says so in the NHS success notification banner, which takes focus (role="alert"),
// so a screen reader or keyboard user knows at once that the decisions were recorded
// (the page's title and heading are the same as before sending).
func TestBrowserCodingConfirmationTakesFocus(t *testing.T) {
	b := browsertest.Start(t)
	coding := &memCoding{}
	h := newHarness(t, false, func(_ *Config, d *Deps) { d.CodingQueue, d.ThemeDecisions = coding, coding })
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(h.ts.URL + "/waves/W1/coding?ics=QMM"))
	signInLocal(t, tab, "fay.reader@example.nhs.uk")
	tab.Do(
		chromedp.Click(chromedp.ID("k0")),
		chromedp.Click(chromedp.ID("coding-send")),
		chromedp.WaitVisible(chromedp.ID("coding-sent")),
	)
	if got := browsertest.Eval[string](tab, `document.getElementById('coding-sent').textContent`); !strings.Contains(got, "Your decisions were recorded: 1 comment. ") { // one, not "1 comments"
		t.Errorf("the confirmation says %q", got)
	}
	if !browsertest.Eval[bool](tab, `document.getElementById('coding-sent').getAttribute('role') === 'alert' && document.getElementById('coding-sent').contains(document.activeElement)`) {
		t.Errorf("the confirmation did not take focus (focus on %s)", browsertest.Eval[string](tab, `document.activeElement.outerHTML.slice(0, 80)`))
	}
	tab.CheckAxe("coding confirmation")
	tab.CheckKeyboard("coding confirmation")
	noConsoleProblems(t, tab)
}
