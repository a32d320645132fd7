package browsertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// The checks must be able to fail: a page with known faults must produce them.
const badPage = `<!DOCTYPE html><html lang="en"><head><title>Faulty page</title>
<style>#nofocus:focus { outline: none; box-shadow: none; }</style></head>
<body><main>
<h1>Faulty page</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<p><a href="#a">A link</a></p>
<button id="nofocus">Invisible focus</button>
<p><a href="#b" tabindex="-1">Unreachable link</a></p>
<script>console.error('boom')</script>
</main></body></html>`

func TestChecksFindFaults(t *testing.T) {
	b := Start(t)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/csp" {
			w.Header().Set("Content-Security-Policy", "default-src 'self'")
		}
		_, _ = w.Write([]byte(badPage))
	}))
	defer ts.Close()
	tab := b.NewTab(t)
	tab.Do(chromedp.Navigate(ts.URL + "/plain"))

	var ids []string
	for _, v := range tab.Axe() {
		ids = append(ids, v.ID)
	}
	if !strings.Contains(strings.Join(ids, " "), "image-alt") {
		t.Errorf("axe missed the image without alt text: %v", ids)
	}
	problems := strings.Join(tab.KeyboardProblems(), "\n")
	if !strings.Contains(problems, `button#nofocus "Invisible focus" has no visible focus indicator`) {
		t.Errorf("the keyboard check missed the invisible focus:\n%s", problems)
	}
	if !strings.Contains(problems, `"Unreachable link" cannot be reached with the Tab key`) {
		t.Errorf("the keyboard check missed the unreachable link:\n%s", problems)
	}
	if strings.Contains(problems, `"A link"`) {
		t.Errorf("the keyboard check flagged a good link:\n%s", problems)
	}
	if !strings.Contains(strings.Join(tab.Console(), "\n"), "console.error: boom") {
		t.Errorf("console not recorded: %q", tab.Console())
	}
	if v := tab.CSPViolations(); len(v) != 0 {
		t.Errorf("CSP violations reported without a CSP: %q", v)
	}

	// Under a CSP, the inline style and script are refused and reported.
	tab.Do(chromedp.Navigate(ts.URL + "/csp"))
	if v := tab.CSPViolations(); len(v) < 2 {
		t.Errorf("inline script and style under a CSP: %d violations reported: %q", len(v), tab.Console())
	}
	docs := tab.Documents()
	if len(docs) != 2 || docs[1].Headers["content-security-policy"] != "default-src 'self'" {
		t.Errorf("documents: %+v", docs)
	}
}
