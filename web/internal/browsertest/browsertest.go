// Package browsertest drives Debian's Chromium (never a downloaded browser) from Go
// tests with chromedp: it starts a headless browser with a fresh profile, records every
// console message, uncaught exception, browser-log entry (Content Security Policy
// violations among them) and document response headers of a tab, runs axe-core
// (vendored beside this file, injected through the DevTools protocol) for WCAG 2.2 AA,
// and checks a page with the keyboard alone.
//
// Test-only: nothing outside _test.go files may import it. Tests skip with a clear
// message when /usr/bin/chromium is missing; infra/test.sh installs it, so CI runs them.
package browsertest

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// ChromiumPath is Debian's Chromium, which infra/test.sh installs.
const ChromiumPath = "/usr/bin/chromium"

// AxeVersion is the vendored axe-core (infra/vendor-frontend.sh pins it).
const AxeVersion = "4.14.1"

//go:embed axe/axe-core-4.14.1/axe.min.js
var axeSource string

// WCAG22AA are the axe-core tags of WCAG 2.0, 2.1 and 2.2 at levels A and AA.
var WCAG22AA = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// Browser is one headless Chromium with its own profile directory.
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Start launches Chromium for the test, or skips the test when it is not installed.
func Start(tb testing.TB) *Browser {
	tb.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		tb.Skipf("browser test skipped: %s is not installed (infra/test.sh installs Debian's chromium)", ChromiumPath)
	}
	// Chromium now and then exits at launch before saying anything ("chrome failed to
	// start:" and no reason), on a machine busy with the rest of the suite: a launch is
	// tried three times, each with a fresh profile, and every failure is logged.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var b *Browser
		if b, err = launch(tb.TempDir()); err == nil {
			tb.Cleanup(b.cancel)
			return b
		}
		tb.Logf("starting %s (attempt %d of 3): %v", ChromiumPath, attempt, err)
		time.Sleep(time.Duration(attempt) * 500 * time.Millisecond)
	}
	tb.Fatalf("starting %s: %v", ChromiumPath, err)
	return nil
}

// launch starts Chromium on a fresh profile directory and waits until it answers.
func launch(profile string) (*Browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.WindowSize(1280, 900),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Start the browser now, so a failure to launch is reported here.
	if err := chromedp.Do(ctx); err != nil {
		cancelBrowser()
		cancelAlloc()
		return nil, err
	}
	return &Browser{ctx: ctx, cancel: func() { cancelBrowser(); cancelAlloc() }}, nil
}

// Tab is one tab of the browser with what it has logged.
type Tab struct {
	tb  testing.TB
	ctx context.Context

	mu        sync.Mutex
	console   []string
	documents []Document
}

// Document is a top-level document response the tab received.
type Document struct {
	URL     string
	Status  int64
	Headers map[string]string
}

// NewTab opens a tab that records its console, exceptions, browser log and document
// responses, and records Content Security Policy violations the page reports.
func (b *Browser) NewTab(tb testing.TB) *Tab {
	tb.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tb.Cleanup(cancel)
	t := &Tab{tb: tb, ctx: ctx}
	if err := chromedp.Listen(ctx, t.record); err != nil {
		tb.Fatal(err)
	}
	// A listener the page cannot turn off: every securitypolicyviolation event is
	// written to the console, where record sees it (this script is injected through
	// the DevTools protocol, which the page's CSP does not govern).
	_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `document.addEventListener('securitypolicyviolation', e => console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber));`,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func (t *Tab) record(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		var parts []string
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			} else {
				parts = append(parts, a.Description)
			}
		}
		t.console = append(t.console, fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " ")))
	case *runtime.EventExceptionThrown:
		msg := e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
		t.console = append(t.console, "exception: "+msg)
	case *log.EventEntryAdded:
		t.console = append(t.console, fmt.Sprintf("log.%s (%s): %s %s", e.Entry.Level, e.Entry.Source, e.Entry.Text, e.Entry.URL))
	case *network.EventResponseReceived:
		if e.Type == network.ResourceTypeDocument && e.Response != nil {
			h := map[string]string{}
			for k, v := range e.Response.Headers {
				h[strings.ToLower(k)] = fmt.Sprint(v)
			}
			t.documents = append(t.documents, Document{URL: e.Response.URL, Status: e.Response.Status, Headers: h})
		}
	}
}

// Console returns every console message, exception and browser-log entry so far.
func (t *Tab) Console() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.console...)
}

// Documents returns the document responses so far.
func (t *Tab) Documents() []Document {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Document(nil), t.documents...)
}

// CSPViolations returns the console lines that report a Content Security Policy
// violation.
func (t *Tab) CSPViolations() []string {
	var out []string
	for _, m := range t.Console() {
		if strings.Contains(m, "Content Security Policy") || strings.Contains(m, "CSP violation") {
			out = append(out, m)
		}
	}
	return out
}

// Context is the tab's chromedp context, for actions the helpers do not cover.
func (t *Tab) Context() context.Context { return t.ctx }

// Do runs actions with a time limit and fails the test on error.
func (t *Tab) Do(actions ...chromedp.Action[chromedp.Void]) {
	t.tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.tb.Fatalf("browser: %v", err)
	}
}

// Eval evaluates a JavaScript expression (awaiting a promise) into T.
func Eval[T any](t *Tab, expr string) T {
	t.tb.Helper()
	ctx, cancel := context.WithTimeout(t.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.tb.Fatalf("browser: evaluating %.80q: %v", expr, err)
	}
	return v
}

// Location is the tab's current URL.
func (t *Tab) Location() string {
	t.tb.Helper()
	loc, err := chromedp.Run(t.ctx, chromedp.Location())
	if err != nil {
		t.tb.Fatal(err)
	}
	return loc
}

// Viewport sets the tab's width and height in CSS pixels.
func (t *Tab) Viewport(width, height int64) {
	t.tb.Helper()
	t.Do(chromedp.EmulateViewport(width, height))
}

// Screenshot saves a full-page PNG at path.
func (t *Tab) Screenshot(path string) {
	t.tb.Helper()
	buf, err := chromedp.Run(t.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.tb.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.tb.Fatal(err)
	}
}

// Violation is one axe-core rule that failed, with the elements that fail it.
type Violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

func (v Violation) String() string {
	return fmt.Sprintf("%s (%s): %s\n      %s", v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n      "))
}

// Axe runs axe-core on the current page for the given tags and returns the violations.
func (t *Tab) Axe(tags ...string) []Violation {
	t.tb.Helper()
	if len(tags) == 0 {
		tags = WCAG22AA
	}
	if !Eval[bool](t, `typeof window.axe === 'object'`) {
		Eval[bool](t, axeSource+"\n;true")
	}
	tagJSON, _ := json.Marshal(tags)
	raw := Eval[string](t, `axe.run(document, {runOnly: {type: 'tag', values: `+string(tagJSON)+`}, resultTypes: ['violations']})
		.then(r => JSON.stringify(r.violations.map(v => ({id: v.id, impact: v.impact || '', help: v.help,
			nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\s+/g, ' '))}))))`)
	var vs []Violation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.tb.Fatalf("reading axe results: %v", err)
	}
	return vs
}

// CheckAxe fails the test listing every WCAG 2.2 AA violation axe finds on the page.
func (t *Tab) CheckAxe(label string) {
	t.tb.Helper()
	vs := t.Axe()
	if len(vs) == 0 {
		return
	}
	var b strings.Builder
	for _, v := range vs {
		b.WriteString("\n  - " + v.String())
	}
	t.tb.Errorf("%s: axe-core %s found %d WCAG 2.2 AA violations:%s", label, AxeVersion, len(vs), b.String())
}

// focusables marks every visible element a keyboard user should reach and returns how
// many there are, with a short description of each.
const focusables = `(() => {
  const sel = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';
  const els = [...document.querySelectorAll(sel)].filter(el => {
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none' && el.getClientRects().length > 0 && !el.closest('[hidden],[inert]');
  });
  els.forEach((el, i) => el.setAttribute('data-kb-index', String(i)));
  return JSON.stringify(els.map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || el.getAttribute('aria-label') || el.name || '').trim().replace(/\s+/g, ' ').slice(0, 40) + '"'));
})()`

// focusState describes the focused element and whether its focus is visible: an
// outline that is not transparent, a box shadow, or the NHS.UK focus yellow.
const focusState = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return JSON.stringify({index: -1});
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0 && !/rgba\(0, 0, 0, 0\)|transparent/.test(s.outlineColor);
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  const yellow = /rgb\(255, 235, 59\)/.test(s.backgroundColor);
  return JSON.stringify({index: el.hasAttribute('data-kb-index') ? Number(el.getAttribute('data-kb-index')) : -2,
    what: el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''), visible: outline || shadow || yellow});
})()`

// CheckKeyboard fails the test with every problem KeyboardProblems finds.
func (t *Tab) CheckKeyboard(label string) {
	t.tb.Helper()
	for _, p := range t.KeyboardProblems() {
		t.tb.Errorf("%s: %s", label, p)
	}
}

// KeyboardProblems tabs through the page from the top with the keyboard alone and
// reports every visible interactive element that never receives focus, every one whose
// focus is not visible, and every focus that lands on something not on that list.
func (t *Tab) KeyboardProblems() []string {
	t.tb.Helper()
	var problems []string
	var want []string
	if err := json.Unmarshal([]byte(Eval[string](t, focusables)), &want); err != nil {
		t.tb.Fatal(err)
	}
	// Start from the top of the document with nothing focused.
	Eval[bool](t, `(document.activeElement && document.activeElement.blur(), window.scrollTo(0, 0), true)`)
	reached := make([]bool, len(want))
	for i := 0; i < len(want)+3; i++ {
		t.Do(chromedp.KeyEvent(kb.Tab))
		var st struct {
			Index   int    `json:"index"`
			What    string `json:"what"`
			Visible bool   `json:"visible"`
		}
		if err := json.Unmarshal([]byte(Eval[string](t, focusState)), &st); err != nil {
			t.tb.Fatal(err)
		}
		switch {
		case st.Index == -1:
			continue // focus left the page (past the last element) or is on the body
		case st.Index == -2:
			problems = append(problems, fmt.Sprintf("keyboard focus reached %s, which is not a visible interactive element", st.What))
			continue
		}
		if !reached[st.Index] && !st.Visible {
			problems = append(problems, fmt.Sprintf("%s has no visible focus indicator", want[st.Index]))
		}
		reached[st.Index] = true
	}
	for i, ok := range reached {
		if !ok {
			problems = append(problems, fmt.Sprintf("%s cannot be reached with the Tab key", want[i]))
		}
	}
	return problems
}

var _ = cdp.Empty{}
