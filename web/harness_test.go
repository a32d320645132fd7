package web

import (
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"icesurvey/access"
)

const testAccessFile = `version: 1
users:
  - id: ann.analyst@example.nhs.uk
    name: Ann Analyst
    analyst: [QMM]
  - id: jo.devon@example.nhs.uk
    name: Jo Devon
    analyst: [QJK]
  - id: fay.reader@example.nhs.uk
    name: Fay Reader
    analyst: [QMM]
    free_text:
      - {ics: QMM, approved_by: "Caldicott Guardian, NHS Norfolk and Waveney ICB", approved_on: 2026-10-01, expires: 2026-11-30}
  - id: adam.admin@example.nhs.uk
    name: Adam Admin
    administrator: true
  - id: oidc.user@example.nhs.uk
    name: Olive Idc
    analyst: [QMM, QJK]
`

// testPassword is every local test user's password.
const testPassword = "correct horse battery staple"

var (
	hashOnce sync.Once
	testHash string
)

func localUsersFile(t testing.TB) *access.LocalUsers {
	hashOnce.Do(func() {
		// The minimum cost keeps the tests fast; the file's check still holds it to 10.
		h, err := bcrypt.GenerateFromPassword([]byte(testPassword), access.MinBcryptCost)
		if err != nil {
			panic(err)
		}
		testHash = string(h)
	})
	var b strings.Builder
	b.WriteString("users:\n")
	for _, id := range []string{"ann.analyst@example.nhs.uk", "jo.devon@example.nhs.uk", "fay.reader@example.nhs.uk", "adam.admin@example.nhs.uk"} {
		b.WriteString("  - id: " + id + "\n    password_bcrypt: \"" + testHash + "\"\n")
	}
	lu, err := access.ParseLocalUsers("users.yaml", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	return lu
}

// testClock is a settable clock shared by a test and its server.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	srv    *Server
	ts     *httptest.Server
	clock  *testClock
	client *http.Client
	// freeText holds the comments served and the audit events recorded.
	freeText *memFreeText
}

// newHarness starts the dashboard over TLS on loopback (so Secure cookies travel) with
// local users and the in-memory data. mutate may change the configuration first.
func newHarness(t testing.TB, tlsServer bool, mutate func(*Config, *Deps)) *harness {
	t.Helper()
	policy, err := access.Parse("access.yaml", []byte(testAccessFile))
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{now: time.Date(2026, 11, 16, 9, 0, 0, 0, time.UTC)}
	data := memData{asOf: time.Date(2026, 11, 16, 6, 12, 0, 0, time.UTC)}
	cfg := Config{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(testLogOutput, nil))}
	ft := &memFreeText{}
	deps := Deps{Policy: policy, LocalUsers: localUsersFile(t), Freshness: data, Waves: data, Fieldwork: data, Results: data,
		Releases: data, Practices: data, FreeText: ft, Audit: ft, FreeTextThemes: data, Linkage: data}
	if mutate != nil {
		mutate(&cfg, &deps)
	}
	srv, err := NewServer(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: srv, clock: clock, freeText: ft}
	if tlsServer {
		h.ts = httptest.NewTLSServer(srv)
	} else {
		h.ts = httptest.NewServer(srv)
	}
	t.Cleanup(h.ts.Close)
	h.client = h.newClient()
	return h
}

// newClient is a fresh browser-like client: its own cookie jar, no redirects followed.
func (h *harness) newClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if h.ts.TLS != nil {
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // the test's own certificate
	}
	return c
}

func (h *harness) get(t testing.TB, c *http.Client, path string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(h.ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (h *harness) postForm(t testing.TB, c *http.Client, path string, form url.Values, header http.Header) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// signIn signs c in as id with the local password and fails the test otherwise.
func (h *harness) signIn(t testing.TB, c *http.Client, id string) {
	t.Helper()
	resp, body := h.postForm(t, c, "/sign-in", url.Values{"username": {id}, "password": {testPassword}, "next": {"/"}}, nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d\n%s", id, resp.StatusCode, body)
	}
}

// testLogOutput receives the server's logs in tests (os.Stderr to see them).
var testLogOutput io.Writer = io.Discard
