package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/access"
	"icesurvey/publication/pubsynth"
)

// TestServeOverAWarehouse runs `ice serve --data DIR` over a small synthetic wave's
// warehouse and store, signs in with the local users file and reads pages.
func TestServeOverAWarehouse(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	if _, err := pubsynth.Build(ctx, dir, pubsynth.Spec{Wave: "W1", Seed: 5, ICSs: []pubsynth.ICS{
		{Code: "QAA", Sampled: 300, Patients: 100, Carers: 30, Deceased: 4, OptedOut: 5},
		{Code: "QBB", Sampled: 300, Patients: 90, Carers: 25, Undelivered: 6},
	}}); err != nil {
		t.Fatal(err)
	}
	hash, err := access.HashPassword("a-test-password")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("dashboard-access.yaml", "version: 1\nusers:\n  - id: ann@example.nhs.uk\n    name: Ann\n    analyst: [QAA]\n")
	write("dashboard-users.yaml", "users:\n  - id: ann@example.nhs.uk\n    password_bcrypt: \""+hash+"\"\n")

	ready := make(chan string, 1)
	done := make(chan error, 1)
	out, _ := os.CreateTemp(dir, "out")
	go func() {
		done <- runServe(ctx, serveConfig{Data: dir, Addr: "127.0.0.1:0", Refresh: time.Hour}, out, func(u string) { ready <- u })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(2 * time.Minute):
		t.Fatal("serve did not start")
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path string) (int, string) {
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := get("/waves/W1"); st != http.StatusOK || !strings.Contains(body, "Sign in") {
		t.Fatalf("anonymous: %d", st)
	}
	resp, err := c.PostForm(base+"/sign-in", url.Values{"username": {"ann@example.nhs.uk"}, "password": {"a-test-password"}, "next": {"/waves/W1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for path, want := range map[string]string{
		"/waves/W1": "Fieldwork progress",
		"/waves/W1/themes/care-integration?ics=QAA&breakdown=age_band": "by age band",
		"/waves/W1/practices?ics=QAA":                                  "Response by GP practice",
	} {
		if st, body := get(path); st != http.StatusOK || !strings.Contains(body, want) || !strings.Contains(body, "Data as of") {
			t.Errorf("%s: %d, want %q and the data-as-of banner", path, st, want)
		}
	}
	if st, _ := get("/waves/W1/themes/care-integration?ics=QBB&breakdown=age_band"); st != http.StatusForbidden {
		t.Errorf("another ICS's breakdown: %d", st)
	}
	if st, _ := get("/waves/W1/free-text?ics=QAA"); st != http.StatusForbidden {
		t.Errorf("free text for an analyst: %d", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve: %v", err)
	}
}

// TestProductionServeRefusesPasswordSignIn: a local users file (bcrypt passwords) is
// for ice dev and the demo. A production build signs people in through OpenID Connect
// only (NHS CIS2 or Entra ID, with their authentication assurance, MFA and lockout):
// it refuses --users rather than let password sign-in sit beside it, and does not
// pick up DATA/dashboard-users.yaml from a data directory.
func TestProductionServeRefusesPasswordSignIn(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard-users.yaml"), []byte("users: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := serveConfig{Data: dir}
	if err := c.resolveFor(false); err != nil || c.Users != "" {
		t.Errorf("production, --data with a users file: err %v, users %q; want no local users", err, c.Users)
	}
	c = serveConfig{Data: dir, Users: filepath.Join(dir, "dashboard-users.yaml")}
	if err := c.resolveFor(false); err == nil || !strings.Contains(err.Error(), "--users") {
		t.Errorf("production, --users: %v, want a refusal naming --users", err)
	}
	c = serveConfig{Data: dir}
	if err := c.resolveFor(true); err != nil || c.Users == "" {
		t.Errorf("dev build, --data with a users file: err %v, users %q; want the file", err, c.Users)
	}
}
