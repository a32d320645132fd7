package mesh_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"icesurvey/mesh"
	"icesurvey/mesh/meshtest"
)

// recorded is one request as the client sent it.
type recorded struct {
	method, path string
	header       http.Header
}

// recorder passes requests to a meshtest server and keeps what the client sent.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, req.Header.Clone()})
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

// endpoint names the MESH call a recorded request is.
func endpoint(method, path string) string {
	parts := strings.Split(strings.TrimPrefix(path, "/messageexchange/"), "/")
	switch {
	case len(parts) == 1:
		return "handshake"
	case len(parts) == 2 && parts[1] == "outbox":
		return "send"
	case len(parts) == 4 && parts[1] == "outbox":
		return "send chunk"
	case len(parts) == 2 && parts[1] == "inbox":
		return "list"
	case len(parts) == 3 && method == http.MethodHead:
		return "metadata"
	case len(parts) >= 3 && parts[1] == "inbox" && method == http.MethodGet:
		return "download"
	case len(parts) == 5 && method == http.MethodPut:
		return "acknowledge"
	}
	return method + " " + path
}

// clientRequests runs every client call against a recording meshtest server and
// returns the headers of the first request of each endpoint.
func clientRequests(t *testing.T) map[string]recorded {
	t.Helper()
	ctx := context.Background()
	srv := meshtest.New(sharedKey)
	t.Cleanup(srv.Close)
	srv.AddMailbox(ours, "ourpass")
	srv.AddMailbox(theirs, "theirpass")
	rec := &recorder{next: srv}
	hs := httptest.NewServer(rec)
	t.Cleanup(hs.Close)
	a := &mesh.Client{BaseURL: hs.URL, Mailbox: ours, Password: "ourpass", SharedKey: sharedKey, ChunkSize: 8, CompressAbove: 4}
	b := &mesh.Client{BaseURL: hs.URL, Mailbox: theirs, Password: "theirpass", SharedKey: sharedKey}
	if err := a.Handshake(ctx); err != nil {
		t.Fatalf("handshake: %v", err)
	}
	id, err := a.Send(ctx, theirs, "SPINE_PDS_MESH_V1", "req.csv", []byte("UNIQUE REFERENCE,NHS_NO\nS1,9434765919\n"), mesh.WithSubject("trace"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if _, err := b.ListInbox(ctx); err != nil {
		t.Fatalf("list: %v", err)
	}
	if _, err := b.Metadata(ctx, id); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if _, _, err := b.Download(ctx, id); err != nil {
		t.Fatalf("download: %v", err)
	}
	if err := b.Acknowledge(ctx, id); err != nil {
		t.Fatalf("acknowledge: %v", err)
	}
	out := map[string]recorded{}
	for _, r := range rec.reqs {
		if _, ok := out[endpoint(r.method, r.path)]; !ok {
			out[endpoint(r.method, r.path)] = r
		}
	}
	return out
}

// TestClientSendsWhatMESHRequires checks, request by request, the headers the MESH
// API requires of each call (sources in meshtest's package documentation) on what
// the client really sends.
func TestClientSendsWhatMESHRequires(t *testing.T) {
	reqs := clientRequests(t)
	every := []string{"Authorization", "Accept", "User-Agent"}
	want := map[string][]string{
		"handshake":   {"Mex-ClientVersion", "Mex-OSName", "Mex-OSVersion", "Mex-OSArchitecture", "Mex-JavaVersion"},
		"send":        {"Mex-From", "Mex-To", "Mex-WorkflowID", "Mex-FileName", "Mex-LocalID", "Mex-Subject", "Mex-MessageType", "Mex-Content-Checksum", "Mex-Chunk-Range", "Content-Type", "Content-Encoding"},
		"send chunk":  {"Mex-Chunk-Range", "Content-Type", "Content-Encoding"},
		"list":        nil,
		"metadata":    nil,
		"download":    {"Accept-Encoding"},
		"acknowledge": nil,
	}
	authRE := regexp.MustCompile(`^NHSMESH (?:` + ours + `|` + theirs + `):[0-9a-f-]{36}:0:[0-9]{12}:[0-9a-f]{64}$`)
	for ep, names := range want {
		r, ok := reqs[ep]
		if !ok {
			t.Errorf("%s: the client made no such request", ep)
			continue
		}
		for _, h := range append(append([]string(nil), every...), names...) {
			if r.header.Get(h) == "" {
				t.Errorf("%s %s: no %s header", r.method, r.path, h)
			}
		}
		for _, h := range meshtest.RequiredHeaders(ep) {
			if _, ok := r.header[http.CanonicalHeaderKey(h)]; !ok {
				t.Errorf("%s: meshtest requires %s but the client did not send it", ep, h)
			}
		}
		if got := r.header.Get("Accept"); got != "application/vnd.mesh.v2+json" {
			t.Errorf("%s: Accept %q", ep, got)
		}
		if !authRE.MatchString(r.header.Get("Authorization")) {
			t.Errorf("%s: Authorization %q is not NHSMESH mailbox:uuid:0:yyyyMMddHHmm:hmac", ep, r.header.Get("Authorization"))
		}
	}
	hs := reqs["handshake"]
	if hs.method != http.MethodPost {
		t.Errorf("handshake is %s; the published specification has POST", hs.method)
	}
	if got := hs.header.Get("Mex-ClientVersion"); got != mesh.ClientName+"=="+mesh.ClientVersion {
		t.Errorf("Mex-ClientVersion %q", got)
	}
	send, chunk := reqs["send"], reqs["send chunk"]
	if got := send.header.Get("Mex-Chunk-Range"); !strings.HasPrefix(got, "1:") || got == "1:1" {
		t.Errorf("first chunk's Mex-Chunk-Range %q, want 1:N with N > 1", got)
	}
	if got := chunk.header.Get("Mex-Chunk-Range"); got != "2:"+strings.TrimPrefix(send.header.Get("Mex-Chunk-Range"), "1:") {
		t.Errorf("second chunk's Mex-Chunk-Range %q", got)
	}
	if send.header.Get("Content-Encoding") != "gzip" || chunk.header.Get("Content-Encoding") != "gzip" {
		t.Errorf("a body over CompressAbove is not gzip-encoded on every chunk")
	}
	if got := send.header.Get("Mex-From"); got != ours {
		t.Errorf("Mex-From %q", got)
	}
}

// request builds a request as the client sent it (fresh credentials), without drop.
func request(t *testing.T, url string, r recorded, path string, body []byte, drop string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(r.method, url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	mb := strings.Split(strings.TrimPrefix(path, "/messageexchange/"), "/")[0]
	pass := map[string]string{ours: "ourpass", theirs: "theirpass"}[mb]
	req.Header.Set("Authorization", mesh.AuthHeader(mb, pass, sharedKey, fmt.Sprintf("%d", time.Now().UnixNano()), 0, time.Now()))
	req.Header.Del("Content-Length")
	if drop != "" {
		req.Header.Del(drop)
	}
	return req
}

type answer struct {
	status int
	body   map[string]any
}

func send(t *testing.T, req *http.Request) answer {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return answer{res.StatusCode, m}
}

// detail is the first entry of an error body's detail list.
func (a answer) detail() map[string]any {
	if l, ok := a.body["detail"].([]any); ok && len(l) > 0 {
		d, _ := l[0].(map[string]any)
		return d
	}
	return nil
}

func gz(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

// TestServerRefusesWhatMESHRefuses replays each of the client's requests with one
// header taken away. The server must answer a request without a header MESH requires
// as MESH does (status and error body), and must still serve one without an optional
// header: the client passes meshtest, and meshtest passes nothing MESH would refuse.
func TestServerRefusesWhatMESHRefuses(t *testing.T) {
	reqs := clientRequests(t)
	type refusal struct {
		status int
		check  func(answer) string // "" when the body is right
	}
	missing := func(name string) refusal {
		return refusal{http.StatusBadRequest, func(a answer) string {
			d := a.detail()
			loc, _ := d["loc"].([]any)
			if d["type"] != "missing" || d["msg"] != "Field required" || len(loc) != 2 || loc[0] != "header" || loc[1] != strings.ToLower(name) {
				return fmt.Sprintf("want a validation error {type: missing, loc: [header, %s]}", strings.ToLower(name))
			}
			return ""
		}}
	}
	meshError := func(status int, code, msg string) refusal {
		return refusal{status, func(a answer) string {
			d := a.detail()
			if d["code"] != code || d["msg"] != msg {
				return fmt.Sprintf("want detail code %q msg %q", code, msg)
			}
			return ""
		}}
	}
	noAuth := meshError(http.StatusForbidden, "", "Error reading from Authorization header")
	noAccept := refusal{http.StatusNotAcceptable, func(answer) string { return "" }}
	required := map[string]map[string]refusal{
		"handshake": {
			"Authorization": noAuth, "Accept": noAccept,
			"Mex-ClientVersion": missing("Mex-ClientVersion"), "Mex-OSName": missing("Mex-OSName"), "Mex-OSVersion": missing("Mex-OSVersion"),
		},
		"send": {
			"Authorization": noAuth, "Accept": noAccept,
			"Mex-To": missing("Mex-To"), "Mex-WorkflowID": missing("Mex-WorkflowID"),
			"Mex-From": missing("Mex-From"), "Mex-FileName": missing("Mex-FileName"), "Content-Type": missing("Content-Type"),
		},
		"send chunk": {
			"Authorization": noAuth, "Accept": noAccept,
			"Mex-Chunk-Range":  meshError(http.StatusExpectationFailed, "InvalidHeaderChunks", "Invalid chunk values sent in mex-Chunk-Range header"),
			"Content-Type":     missing("Content-Type"),
			"Content-Encoding": meshError(http.StatusExpectationFailed, "", "cannot change content encoding"),
		},
		"list":        {"Authorization": noAuth, "Accept": noAccept},
		"download":    {"Authorization": noAuth, "Accept": noAccept},
		"acknowledge": {"Authorization": noAuth, "Accept": noAccept},
	}
	canonical := map[string]string{"": ""}
	for _, rs := range required {
		for name := range rs {
			canonical[http.CanonicalHeaderKey(name)] = name
		}
	}
	ok := map[string]int{"handshake": 200, "send": 202, "send chunk": 202, "list": 200, "download": 200, "acknowledge": 200}

	for ep, refusals := range required {
		r := reqs[ep]
		if ep == "send chunk" {
			r.header = r.header.Clone()
			r.header.Set("Mex-Chunk-Range", "2:2") // the second of two
		}
		headers := slices.Sorted(func(yield func(string) bool) {
			for k := range r.header {
				if !yield(k) {
					return
				}
			}
		})
		for _, drop := range append([]string{""}, headers...) {
			t.Run(ep+"/without "+drop, func(t *testing.T) {
				srv, _, _ := setup(t)
				var path string
				var body []byte
				switch ep {
				case "handshake":
					path = "/messageexchange/" + ours
				case "send":
					path, body = "/messageexchange/"+ours+"/outbox", gz("a message")
				case "send chunk":
					// A first chunk of two, as the client would send it.
					first := request(t, srv.URL, reqs["send"], "/messageexchange/"+ours+"/outbox", gz("first "), "")
					first.Header.Set("Mex-Chunk-Range", "1:2")
					res := send(t, first)
					if res.status != http.StatusAccepted {
						t.Fatalf("first chunk: HTTP %d %v", res.status, res.body)
					}
					path, body = fmt.Sprintf("/messageexchange/%s/outbox/%s/2", ours, res.body["message_id"]), gz("second")
				default:
					id, err := srv.Deliver(meshtest.Message{From: theirs, To: ours, WorkflowID: "WF", Body: []byte("x")})
					if err != nil {
						t.Fatal(err)
					}
					path = map[string]string{
						"list":        "/messageexchange/" + ours + "/inbox",
						"download":    "/messageexchange/" + ours + "/inbox/" + id,
						"acknowledge": "/messageexchange/" + ours + "/inbox/" + id + "/status/acknowledged",
					}[ep]
				}
				got := send(t, request(t, srv.URL, r, path, body, drop))
				ref, isRequired := refusals[canonical[drop]]
				if !isRequired {
					if got.status != ok[ep] {
						t.Fatalf("without optional %q: HTTP %d %v, want %d", drop, got.status, got.body, ok[ep])
					}
					return
				}
				if got.status != ref.status {
					t.Fatalf("without %s: HTTP %d %v, want %d", drop, got.status, got.body, ref.status)
				}
				if msg := ref.check(got); msg != "" {
					t.Fatalf("without %s: body %v: %s", drop, got.body, msg)
				}
			})
		}
	}
}

// TestServerRefusesBadValues covers what MESH refuses beyond a missing header, each
// with the status and error the sandbox gives.
func TestServerRefusesBadValues(t *testing.T) {
	reqs := clientRequests(t)
	sendPath := "/messageexchange/" + ours + "/outbox"
	tests := []struct {
		name   string
		set    map[string]string
		body   []byte
		status int
		code   string
	}{
		{"as the client sends it", nil, gz("x"), http.StatusAccepted, ""},
		{"Mex-From another mailbox", map[string]string{"Mex-From": theirs}, gz("x"), http.StatusForbidden, ""},
		{"unregistered recipient", map[string]string{"Mex-To": "NOBODY"}, gz("x"), http.StatusExpectationFailed, "12"},
		{"blank recipient", map[string]string{"Mex-To": " "}, gz("x"), http.StatusBadRequest, "08"},
		{"first POST as chunk 2", map[string]string{"Mex-Chunk-Range": "2:3"}, gz("x"), http.StatusExpectationFailed, "InvalidHeaderChunks"},
		{"chunk range not n:N", map[string]string{"Mex-Chunk-Range": "one"}, gz("x"), http.StatusExpectationFailed, "InvalidHeaderChunks"},
		{"brotli", map[string]string{"Content-Encoding": "br"}, []byte("x"), http.StatusUnprocessableEntity, "UnsupportedContentEncoding"},
		{"gzip that is not", nil, []byte("plain"), http.StatusBadRequest, "Invalid file format"},
		{"empty body", map[string]string{"Content-Encoding": ""}, nil, http.StatusExpectationFailed, "02"},
		{"tab in Mex-LocalID", map[string]string{"Mex-LocalID": "a\tb"}, gz("x"), http.StatusBadRequest, "06"},
		{"URL as workflow", map[string]string{"Mex-WorkflowID": "https://example.org/x"}, gz("x"), http.StatusBadRequest, "06"},
		{"checksum with !", map[string]string{"Mex-Content-Checksum": "md5!abc"}, gz("x"), http.StatusBadRequest, "Invalid checksum"},
		{"subject too long", map[string]string{"Mex-Subject": strings.Repeat("s", mesh.MaxSubjectLen+1)}, gz("x"), http.StatusBadRequest, "string_too_long"},
		{"Accept v1", map[string]string{"Accept": "application/vnd.mesh.v1+json"}, gz("x"), http.StatusNotAcceptable, ""},
		{"Accept malformed", map[string]string{"Accept": "application/vnd.mesh.vX+json"}, gz("x"), http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, _ := setup(t)
			req := request(t, srv.URL, reqs["send"], sendPath, tt.body, "")
			req.Header.Set("Mex-Chunk-Range", "1:1")
			for k, v := range tt.set {
				req.Header.Set(k, v)
			}
			got := send(t, req)
			if got.status != tt.status {
				t.Fatalf("HTTP %d %v, want %d", got.status, got.body, tt.status)
			}
			d := got.detail()
			if tt.code != "" && d["code"] != tt.code && d["type"] != tt.code {
				t.Errorf("body %v, want code %q", got.body, tt.code)
			}
		})
	}
}

func TestServerChunkAndInboxRules(t *testing.T) {
	ctx := context.Background()
	reqs := clientRequests(t)
	srv, a, b := setup(t)
	first := request(t, srv.URL, reqs["send"], "/messageexchange/"+ours+"/outbox", gz("one"), "")
	first.Header.Set("Mex-Chunk-Range", "1:2")
	first.Header.Set("Mex-Content-Checksum", mesh.Checksum([]byte("onetwo")))
	res := send(t, first)
	if res.status != http.StatusAccepted {
		t.Fatalf("first chunk: %d %v", res.status, res.body)
	}
	id := res.body["message_id"].(string)
	chunk := func(mailbox, n, encoding string, rng string) answer {
		req := request(t, srv.URL, reqs["send chunk"], fmt.Sprintf("/messageexchange/%s/outbox/%s/%s", mailbox, id, n), gz("two"), "")
		req.Header.Set("Content-Encoding", encoding)
		req.Header.Set("Mex-Chunk-Range", rng)
		return send(t, req)
	}
	// The recipient cannot see an upload in progress.
	if _, _, err := b.Download(ctx, id); !mesh.IsNotFound(err) {
		t.Errorf("download while uploading: %v, want 410", err)
	}
	for _, tt := range []struct {
		name                string
		mailbox, n, enc, cr string
		status              int
	}{
		{"another mailbox's message", theirs, "2", "gzip", "2:2", http.StatusForbidden},
		{"path and range disagree", ours, "2", "gzip", "3:3", http.StatusExpectationFailed},
		{"beyond the total", ours, "3", "gzip", "3:3", http.StatusNotAcceptable},
		{"encoding changed", ours, "2", "", "2:2", http.StatusExpectationFailed},
		{"the last chunk", ours, "2", "gzip", "2:2", http.StatusAccepted},
		{"after the message is complete", ours, "2", "gzip", "2:2", http.StatusLocked},
	} {
		if got := chunk(tt.mailbox, tt.n, tt.enc, tt.cr); got.status != tt.status {
			t.Errorf("%s: HTTP %d %v, want %d", tt.name, got.status, got.body, tt.status)
		}
	}
	m, _ := srv.Get(id)
	if string(m.Body) != "onetwo" || !m.Complete {
		t.Fatalf("message body %q complete %v", m.Body, m.Complete)
	}
	// Only the recipient reads it; after acknowledgement it is gone.
	if _, _, err := a.Download(ctx, id); err == nil {
		t.Error("the sender downloaded from the recipient's inbox")
	}
	got, _, err := b.Download(ctx, id)
	if err != nil || string(got) != "onetwo" {
		t.Fatalf("download = %q, %v", got, err)
	}
	if err := b.Acknowledge(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.Acknowledge(ctx, id); err != nil {
		t.Errorf("acknowledging twice: %v", err)
	}
	var me *mesh.Error
	if _, _, err := b.Download(ctx, id); !mesh.IsNotFound(err) || !errors.As(err, &me) || me.Status != http.StatusGone {
		t.Errorf("download after acknowledgement: %v, want 410", err)
	}
	// The inbox listing's limits.
	list := request(t, srv.URL, reqs["list"], "/messageexchange/"+theirs+"/inbox", nil, "")
	list.URL.RawQuery = "max_results=5"
	if got := send(t, list); got.status != http.StatusBadRequest {
		t.Errorf("max_results=5: HTTP %d", got.status)
	}
}

// TestCompressedRoundTrip sends a chunked, gzip-encoded message and reads it back
// decoded, whether or not the reader accepts gzip (MESH decodes for one that does
// not), and checks the checksum travels with it.
func TestCompressedRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv, a, b := setup(t)
	a.ChunkSize, a.CompressAbove = 100, 10
	body := bytes.Repeat([]byte("UNIQUE REFERENCE,NHS_NO\n"), 20)
	id, err := a.Send(ctx, theirs, "WF", "big.csv", body)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := srv.Get(id)
	if m.ContentEncoding != "gzip" || m.Chunks != 5 || !bytes.Equal(m.Body, body) || m.ContentChecksum != mesh.Checksum(body) {
		t.Fatalf("stored: encoding %q chunks %d checksum %q body ok %v", m.ContentEncoding, m.Chunks, m.ContentChecksum, bytes.Equal(m.Body, body))
	}
	got, hdr, err := b.Download(ctx, id)
	if err != nil || !bytes.Equal(got, body) || hdr.ContentChecksum != mesh.Checksum(body) {
		t.Fatalf("download: %v, body ok %v", err, bytes.Equal(got, body))
	}
	// A reader that does not accept gzip gets the chunk decoded.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/messageexchange/"+theirs+"/inbox/"+id, nil)
	req.Header.Set("Accept", mesh.AcceptV2)
	req.Header.Set("Authorization", mesh.AuthHeader(theirs, "theirpass", sharedKey, "plain-reader", 0, time.Now()))
	tr := &http.Transport{DisableCompression: true}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || res.Header.Get("Content-Encoding") != "" || !bytes.Equal(raw, body[:100]) {
		t.Errorf("plain reader: HTTP %d, encoding %q, chunk %q", res.StatusCode, res.Header.Get("Content-Encoding"), raw)
	}
}

func TestDownloadChecksVerified(t *testing.T) {
	ctx := context.Background()
	srv, a, _ := setup(t)
	good, err := srv.Deliver(meshtest.Message{From: theirs, To: ours, WorkflowID: "WF", Body: []byte("reply"), ContentChecksum: mesh.Checksum([]byte("reply")), ContentEncoding: "gzip"})
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := a.Download(ctx, good); err != nil || string(got) != "reply" {
		t.Errorf("good checksum: %q, %v", got, err)
	}
	bad, _ := srv.Deliver(meshtest.Message{From: theirs, To: ours, WorkflowID: "WF", Body: []byte("reply"), ContentChecksum: mesh.Checksum([]byte("other"))})
	if _, _, err := a.Download(ctx, bad); err == nil || !strings.Contains(err.Error(), "Mex-Content-Checksum") {
		t.Errorf("bad checksum: err = %v", err)
	}
	foreign, _ := srv.Deliver(meshtest.Message{From: theirs, To: ours, WorkflowID: "WF", Body: []byte("reply"), ContentChecksum: "b10a8db164e0754105b7a99be72e3fe5"})
	if _, _, err := a.Download(ctx, foreign); err != nil {
		t.Errorf("another sender's checksum form is theirs to read: %v", err)
	}
}

// TestClientRefusesWhatMESHWouldRefuse: values MESH would refuse never leave the client.
func TestClientRefusesWhatMESHWouldRefuse(t *testing.T) {
	ctx := context.Background()
	srv, a, _ := setup(t)
	for name, call := range map[string]func() error{
		"no file name": func() error { _, err := a.Send(ctx, theirs, "WF", "", []byte("x")); return err },
		"long subject": func() error {
			_, err := a.Send(ctx, theirs, "WF", "f", []byte("x"), mesh.WithSubject(strings.Repeat("s", 501)))
			return err
		},
		"control character": func() error {
			_, err := a.Send(ctx, theirs, "WF", "f", []byte("x"), mesh.WithLocalID("a\nb"))
			return err
		},
		"URL recipient":  func() error { _, err := a.Send(ctx, "https://evil.example", "WF", "f", []byte("x")); return err },
		"long recipient": func() error { _, err := a.Send(ctx, strings.Repeat("M", 101), "WF", "f", []byte("x")); return err },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: sent", name)
		}
	}
	if n := len(srv.Sent(ours)); n != 0 {
		t.Errorf("%d messages reached the server", n)
	}
}

func TestHandshakeRecorded(t *testing.T) {
	srv, a, _ := setup(t)
	a.Platform = mesh.Platform{OSName: "Linux", OSVersion: "6.8.0 #1 SMP", OSArchitecture: "x86_64"}
	if err := a.Handshake(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := srv.Handshakes()
	if len(hs) != 1 || hs[0].OSName != "Linux" || hs[0].OSVersion != "6.8.0 #1 SMP" || hs[0].OSArchitecture != "x86_64" ||
		hs[0].ClientVersion != mesh.ClientName+"=="+mesh.ClientVersion || hs[0].JavaVersion != "N/A" || !strings.HasPrefix(hs[0].UserAgent, mesh.ClientName+";") {
		t.Errorf("handshake = %+v", hs)
	}
	p := mesh.LocalPlatform()
	if p.OSName == "" || p.OSVersion == "" || p.OSArchitecture == "" || strings.ContainsAny(p.OSVersion, "\r\n") {
		t.Errorf("LocalPlatform = %+v", p)
	}
}
