package mesh_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/mesh"
	"icesurvey/mesh/meshtest"
)

const (
	sharedKey = "TestKey"
	ours      = "ICESURVEY01"
	theirs    = "DBSMAILBOX1"
)

func setup(t *testing.T) (*meshtest.Server, *mesh.Client, *mesh.Client) {
	t.Helper()
	srv := meshtest.New(sharedKey)
	t.Cleanup(srv.Close)
	srv.AddMailbox(ours, "ourpass")
	srv.AddMailbox(theirs, "theirpass")
	a := &mesh.Client{BaseURL: srv.URL, Mailbox: ours, Password: "ourpass", SharedKey: sharedKey}
	b := &mesh.Client{BaseURL: srv.URL, Mailbox: theirs, Password: "theirpass", SharedKey: sharedKey}
	return srv, a, b
}

func TestAuthHeader(t *testing.T) {
	at := time.Date(2020, 5, 4, 13, 5, 59, 0, time.UTC)
	h := mesh.AuthHeader("MB1", "pw", "key", "nonce-1", 3, at)
	mac := hmac.New(sha256.New, []byte("key"))
	mac.Write([]byte("MB1:nonce-1:3:pw:202005041305"))
	want := "NHSMESH MB1:nonce-1:3:202005041305:" + hex.EncodeToString(mac.Sum(nil))
	if h != want {
		t.Fatalf("AuthHeader = %q, want %q", h, want)
	}
	// A non-UTC clock still yields a UTC timestamp.
	bst := time.FixedZone("BST", 3600)
	if got := mesh.AuthHeader("MB1", "pw", "key", "nonce-1", 3, at.In(bst)); got != want {
		t.Errorf("AuthHeader with a BST clock = %q, want %q", got, want)
	}
	tok, err := mesh.ParseAuthHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.Verify("pw", "key") || tok.Verify("wrong", "key") || tok.Verify("pw", "wrong") {
		t.Error("Verify accepted a wrong password or key, or refused the right ones")
	}
	if !tok.Time().Equal(time.Date(2020, 5, 4, 13, 5, 0, 0, time.UTC)) {
		t.Errorf("Time = %v", tok.Time())
	}
	for _, bad := range []string{"", "Basic abc", "NHSMESH a:b:c:d", "NHSMESH a:b:-1:202005041305:x", "NHSMESH a:b:0:2020050413:x", "NHSMESH :b:0:202005041305:x"} {
		if _, err := mesh.ParseAuthHeader(bad); err == nil {
			t.Errorf("ParseAuthHeader(%q) accepted", bad)
		}
	}
}

func TestSendReceiveAcknowledge(t *testing.T) {
	ctx := context.Background()
	srv, a, b := setup(t)
	if err := a.Handshake(ctx); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	body := []byte("UNIQUE REFERENCE,NHS_NO\nR1,9434765919\n")
	id, err := a.Send(ctx, theirs, "SPINE_PDS_MESH_V1", "req-1.csv", body, mesh.WithLocalID("req-1"), mesh.WithSubject("trace"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	ids, err := b.ListInbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != id {
		t.Fatalf("inbox = %v, want [%s]", ids, id)
	}
	meta, err := b.Metadata(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, hdr, err := b.Download(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("body = %q, want %q", got, body)
	}
	for _, h := range []mesh.Headers{meta, hdr} {
		want := mesh.Headers{MessageID: id, From: ours, To: theirs, WorkflowID: "SPINE_PDS_MESH_V1", FileName: "req-1.csv", LocalID: "req-1", Subject: "trace", MessageType: "DATA",
			StatusCode: "00", StatusSuccess: "SUCCESS", StatusDescription: "Transferred to recipient mailbox",
			ContentChecksum: mesh.Checksum(body), ContentType: mesh.OctetStream}
		if h != want {
			t.Errorf("headers = %+v, want %+v", h, want)
		}
	}
	if err := b.Acknowledge(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ids, _ := b.ListInbox(ctx); len(ids) != 0 {
		t.Errorf("inbox after ack = %v, want empty", ids)
	}
	_, _, err = b.Download(ctx, id)
	if !mesh.IsNotFound(err) || mesh.IsRetryable(err) {
		t.Errorf("download after ack: err = %v, want a non-retryable 404", err)
	}
	if n := len(srv.Inbox(theirs)); n != 0 {
		t.Errorf("server inbox holds %d messages after ack", n)
	}
	// Our own inbox is separate.
	if ids, _ := a.ListInbox(ctx); len(ids) != 0 {
		t.Errorf("sender inbox = %v, want empty", ids)
	}
}

func TestChunkedUploadAndDownload(t *testing.T) {
	ctx := context.Background()
	srv, a, b := setup(t)
	a.ChunkSize = 10
	body := []byte(strings.Repeat("0123456789", 4) + "tail") // 44 bytes: 5 chunks
	id, err := a.Send(ctx, theirs, "WF", "big.dat", body)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	m, ok := srv.Get(id)
	if !ok || !m.Complete || m.Chunks != 5 || !bytes.Equal(m.Body, body) {
		t.Fatalf("server message: ok=%v complete=%v chunks=%d body=%q", ok, m.Complete, m.Chunks, m.Body)
	}
	got, _, err := b.Download(ctx, id) // downloaded in the 5 uploaded chunks
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, body) {
		t.Errorf("download = %q, want %q", got, body)
	}

	// A message delivered by the test hook in 3 download chunks.
	srv.DownloadChunkSize = 7
	reply := []byte("0123456789abcdefghij")
	rid, err := srv.Deliver(meshtest.Message{From: theirs, To: ours, WorkflowID: "WF_ACK", FileName: "r.csv", LocalID: "req-9", Body: reply})
	if err != nil {
		t.Fatal(err)
	}
	got, hdr, err := a.Download(ctx, rid)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, reply) || hdr.LocalID != "req-9" || hdr.WorkflowID != "WF_ACK" {
		t.Errorf("download = %q %+v", got, hdr)
	}
}

func TestChunkRetryAfterServerError(t *testing.T) {
	ctx := context.Background()
	srv, a, _ := setup(t)
	a.ChunkSize = 4
	// Let the first POST through, fail the second chunk once: the client retries it.
	srv.OnMessage = nil
	body := []byte("abcdefghij")
	first := true
	a.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasSuffix(r.URL.Path, "/2") && first {
			first = false
			srv.FailNext(1, http.StatusServiceUnavailable)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	id, err := a.Send(ctx, theirs, "WF", "f", body)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if m, _ := srv.Get(id); !bytes.Equal(m.Body, body) {
		t.Errorf("body = %q", m.Body)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestAuthRefused(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		mutate func(c *mesh.Client)
	}{
		{"bad shared key", func(c *mesh.Client) { c.SharedKey = "WrongKey" }},
		{"bad password", func(c *mesh.Client) { c.Password = "nope" }},
		{"unknown mailbox", func(c *mesh.Client) { c.Mailbox = "NOBODY" }},
		{"clock an hour fast", func(c *mesh.Client) { c.Now = func() time.Time { return time.Now().Add(time.Hour) } }},
		{"clock an hour slow", func(c *mesh.Client) { c.Now = func() time.Time { return time.Now().Add(-time.Hour) } }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, a, _ := setup(t)
			tt.mutate(a)
			_, err := a.ListInbox(ctx)
			if !mesh.IsAuth(err) {
				t.Fatalf("err = %v, want an auth failure", err)
			}
			if mesh.IsRetryable(err) {
				t.Errorf("auth failure reported retryable: %v", err)
			}
			if n := srv.AuthFailures(); n != 1 {
				t.Errorf("server counted %d auth failures, want 1 (no retry of an auth failure)", n)
			}
			var me *mesh.Error
			if !errors.As(err, &me) || me.Status != http.StatusForbidden || me.Detail == "" {
				t.Errorf("error = %#v, want a 403 with MESH's description", me)
			}
		})
	}
}

func TestReplayedNonceRefused(t *testing.T) {
	srv, _, _ := setup(t)
	auth := mesh.AuthHeader(ours, "ourpass", sharedKey, "fixed-nonce", 0, time.Now())
	do := func(auth string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/messageexchange/"+ours+"/inbox", nil)
		req.Header.Set("Authorization", auth)
		req.Header.Set("Accept", mesh.AcceptV2)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if st := do(auth); st != http.StatusOK {
		t.Fatalf("first use: HTTP %d", st)
	}
	if st := do(auth); st != http.StatusForbidden {
		t.Errorf("replayed nonce: HTTP %d, want 403", st)
	}
	// The same nonce with a higher count is a new credential.
	if st := do(mesh.AuthHeader(ours, "ourpass", sharedKey, "fixed-nonce", 1, time.Now())); st != http.StatusOK {
		t.Errorf("nonce count 1: HTTP %d, want 200", st)
	}
}

func TestRetryableClassification(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		status    int
		retryable bool
	}{
		{http.StatusServiceUnavailable, true},
		{http.StatusInternalServerError, true},
		{http.StatusTooManyRequests, true},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusForbidden, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			srv, a, _ := setup(t)
			a.Retries = -1
			srv.FailNext(1, tt.status)
			_, err := a.ListInbox(ctx)
			if err == nil {
				t.Fatal("no error")
			}
			if mesh.IsRetryable(err) != tt.retryable {
				t.Errorf("IsRetryable(%v) = %v, want %v", err, mesh.IsRetryable(err), tt.retryable)
			}
		})
	}
	// With retries, a transient failure is absorbed by an idempotent call.
	srv, a, _ := setup(t)
	srv.FailNext(2, http.StatusServiceUnavailable)
	if _, err := a.ListInbox(ctx); err != nil {
		t.Errorf("list with 2 transient failures: %v", err)
	}
	// But the first POST of a message is never retried: no duplicate message.
	srv.FailNext(1, http.StatusServiceUnavailable)
	if _, err := a.Send(ctx, theirs, "WF", "f", []byte("x")); !mesh.IsRetryable(err) {
		t.Errorf("send after 503: err = %v, want retryable", err)
	}
	if n := len(srv.Sent(ours)); n != 0 {
		t.Errorf("%d messages sent after a refused POST", n)
	}
	// A network failure is retryable and marked as never dialed.
	dead := &mesh.Client{BaseURL: "http://127.0.0.1:1", Mailbox: ours, Retries: -1}
	_, err := dead.ListInbox(ctx)
	var me *mesh.Error
	if !mesh.IsRetryable(err) || !errors.As(err, &me) || me.Dialed {
		t.Errorf("connection refused: err = %v, want retryable and not dialed", err)
	}
}

func TestInboxPaging(t *testing.T) {
	ctx := context.Background()
	srv, a, _ := setup(t)
	srv.PageSize = 2
	var want []string
	for i := 0; i < 5; i++ {
		id, err := srv.Deliver(meshtest.Message{From: theirs, To: ours, WorkflowID: "WF", Body: []byte{byte('a' + i)}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	got, err := a.ListInbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("ListInbox = %v, want %v", got, want)
	}
}

func TestMutualTLS(t *testing.T) {
	ctx := context.Background()
	srv, pki, err := meshtest.NewTLS(sharedKey)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.AddMailbox(ours, "ourpass")
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hc, err := mesh.NewHTTPClient(write("c.pem", pki.ClientCertPEM), write("k.pem", pki.ClientKeyPEM), write("ca.pem", pki.CAPEM), 0)
	if err != nil {
		t.Fatal(err)
	}
	c := &mesh.Client{BaseURL: srv.URL, Mailbox: ours, Password: "ourpass", SharedKey: sharedKey, HTTP: hc}
	if err := c.Handshake(ctx); err != nil {
		t.Fatalf("handshake with a client certificate: %v", err)
	}
	// Trusting the CA but presenting no client certificate fails the TLS handshake.
	cfg, err := mesh.TLSConfig(pki.ClientCertPEM, pki.ClientKeyPEM, pki.CAPEM)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates = nil
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	c.HTTP = &http.Client{Transport: tr}
	c.Retries = -1
	if err := c.Handshake(ctx); err == nil {
		t.Error("handshake without a client certificate succeeded")
	}
	if _, err := mesh.TLSConfig(pki.ClientCertPEM, pki.ClientKeyPEM, []byte("not pem")); err == nil {
		t.Error("TLSConfig accepted a CA bundle without certificates")
	}
}
