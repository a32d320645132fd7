package mesh

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FuzzParseAuthHeader feeds arbitrary Authorization values to the NHSMESH header
// parser (meshtest's first check of every request). No input may panic; a parsed
// header holds a mailbox, a nonce, a count and a yyyyMMddHHmm time, and written back
// out it parses to the same token.
func FuzzParseAuthHeader(f *testing.F) {
	f.Add(AuthHeader("X26HC005", "pw", "key", "1c820cd4-be3e-43ff-807f-e65362892722", 0, time.Date(2020, 6, 4, 17, 18, 0, 0, time.UTC)))
	f.Fuzz(func(t *testing.T, h string) {
		tok, err := ParseAuthHeader(h)
		if err != nil {
			return
		}
		if tok.Mailbox == "" || tok.Nonce == "" || tok.NonceCount < 0 || len(tok.Timestamp) != len(TimestampLayout) {
			t.Fatalf("parsed %q into %+v", h, tok)
		}
		_ = tok.Time()
		_ = tok.Verify("pw", "key")
		again, err := ParseAuthHeader(AuthScheme + " " + strings.Join([]string{tok.Mailbox, tok.Nonce, strconv.Itoa(tok.NonceCount), tok.Timestamp, tok.HMAC}, ":"))
		if err != nil || again != tok {
			t.Fatalf("%q: round trip gave %+v, %v; want %+v", h, again, err, tok)
		}
	})
}

// FuzzParseChunkRange: a parsed Mex-Chunk-Range is n:N with 1 <= n <= N and reads the
// same written back.
func FuzzParseChunkRange(f *testing.F) {
	f.Add("2:5")
	f.Fuzz(func(t *testing.T, s string) {
		n, total, err := ParseChunkRange(s)
		if err != nil {
			return
		}
		if n < 1 || n > total {
			t.Fatalf("%q parsed as %d:%d", s, n, total)
		}
		n2, t2, err := ParseChunkRange(strconv.Itoa(n) + ":" + strconv.Itoa(total))
		if err != nil || n2 != n || t2 != total {
			t.Fatalf("%q: round trip %d:%d %v", s, n2, t2, err)
		}
	})
}

// fuzzAnswer is what the fake MESH answers every request with.
type fuzzAnswer struct {
	mu       sync.Mutex
	status   int
	header   http.Header
	body     []byte
	requests int
}

func (a *fuzzAnswer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests++
	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// FuzzClientAnswers has a MESH server answer every call of the client with the same
// arbitrary status, headers and body, and checks the client makes sense of it or says
// why not: no panic, no endless paging or chunk fetching, a listed or sent message ID
// that could go in a URL path, and a downloaded body that matches any checksum of this
// client's form it came with. The answer's decoders are also run on the body alone.
//
// Seeds: testdata/fuzz/FuzzClientAnswers (the sandbox's answers: an inbox page with a
// next link, a send answer, a v2 and a v1 error, a validation error, a chunked
// download, a gzip download, and nasty ones: a next link to another host or path, a
// message ID with a slash, a chunk range of a billion, a gzip bomb's header).
func FuzzClientAnswers(f *testing.F) {
	f.Add(uint16(200), "", "", "", []byte(`{"messages": ["20200529155357895317_3573F8"], "links": {"self": "/messageexchange/MB1/inbox"}, "approx_inbox_count": 1}`))
	srv := &fuzzAnswer{}
	hs := httptest.NewServer(srv)
	f.Cleanup(hs.Close)
	c := &Client{BaseURL: hs.URL, Mailbox: "MB1", Password: "pw", SharedKey: "key", Retries: -1, ChunkSize: 4, CompressAbove: -1,
		Platform: Platform{OSName: "Linux", OSVersion: "6", OSArchitecture: "x86_64"}}
	f.Fuzz(func(t *testing.T, status uint16, chunkRange, encoding, checksum string, body []byte) {
		code, detail := decodeErrorBody(body)
		_, _ = code, detail
		if id, err := decodeSendResponse(body); err == nil && checkMessageID(id) != nil {
			t.Fatalf("send answer gave message ID %q", id)
		}
		if ids, next, err := decodeInboxPage(body, "/messageexchange/MB1/inbox"); err == nil {
			for _, id := range ids {
				if checkMessageID(id) != nil {
					t.Fatalf("inbox page gave message ID %q", id)
				}
			}
			if next != "" && !strings.HasPrefix(strings.ToLower(next), "/messageexchange/mb1/inbox") {
				t.Fatalf("next page %q is not the inbox", next)
			}
		}

		st := int(status)
		if st < 200 || st > 599 {
			st = 200 // (a 1xx is an interim answer: the client waits for the real one)
		}
		srv.mu.Lock()
		srv.status, srv.body, srv.requests = st, body, 0
		srv.header = http.Header{}
		for k, v := range map[string]string{HeaderChunkRange: chunkRange, "Content-Encoding": encoding, HeaderContentChecksum: checksum} {
			if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
				srv.header.Set(k, v)
			}
		}
		srv.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, hdr, err := c.Download(ctx, "20200529155357895317_3573F8")
		if err == nil {
			if got == nil && len(body) > 0 && encoding == "" {
				t.Fatal("download succeeded without its body")
			}
			if sum, ok := strings.CutPrefix(hdr.ContentChecksum, ChecksumPrefix); ok && !hdr.ContentCompressed &&
				!strings.EqualFold(Checksum(got)[len(ChecksumPrefix):], strings.TrimSpace(sum)) {
				t.Fatal("download succeeded against its checksum")
			}
		}
		if _, err := c.ListInbox(ctx); err != nil && ctx.Err() != nil {
			t.Fatalf("list inbox did not end: %v", err)
		}
		if id, err := c.Send(ctx, "MB2", "WF", "f.csv", []byte("0123456789")); err == nil && checkMessageID(id) != nil {
			t.Fatalf("send gave message ID %q", id)
		}
		if err := c.Handshake(ctx); err == nil && (st < 200 || st > 299) {
			t.Fatalf("handshake passed on HTTP %d", st)
		}
		srv.mu.Lock()
		n := srv.requests
		srv.mu.Unlock()
		if n > 2*maxChunks {
			t.Fatalf("%d requests for one answer", n)
		}
	})
}
