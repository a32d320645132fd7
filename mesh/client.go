// Package mesh is a client for NHS England's Message Exchange for Social care and
// Health (MESH) API, the mailbox service the Demographics Batch Service (DBS) is
// reached through (SPEC §5).
//
// Every request is authenticated twice: by the mailbox's client certificate (mutual
// TLS; see NewHTTPClient) and by an NHSMESH Authorization header carrying a fresh
// nonce and an HMAC-SHA256 over the mailbox, nonce, nonce count, password and a
// yyyyMMddHHmm timestamp (see AuthHeader). The client speaks the v2 API
// (Accept: application/vnd.mesh.v2+json):
//
//	GET  /messageexchange/{mailbox}                             handshake
//	POST /messageexchange/{mailbox}/outbox                      send (first chunk)
//	POST /messageexchange/{mailbox}/outbox/{id}/{n}             send chunk n of N
//	GET  /messageexchange/{mailbox}/inbox                       list (paged via links.next)
//	HEAD /messageexchange/{mailbox}/inbox/{id}                  message metadata
//	GET  /messageexchange/{mailbox}/inbox/{id}[/{n}]            download (206 while more chunks follow)
//	PUT  /messageexchange/{mailbox}/inbox/{id}/status/acknowledged
//
// Failures come back as *Error; IsRetryable tells a transient failure (5xx, 429,
// network) from a permanent one (authentication, bad request). Idempotent calls
// (everything except the first POST of a message) are retried a few times inside
// the client; the first POST never is, so a message is never sent twice by the
// client itself.
//
// The package never logs, and its errors never include a message body.
package mesh

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Protocol constants.
const (
	// AcceptV2 selects version 2 of the MESH API.
	AcceptV2 = "application/vnd.mesh.v2+json"
	// DefaultChunkSize is the largest body sent in one request. MESH accepts chunks
	// of up to 100 MB; 20 MB keeps a retried chunk cheap.
	DefaultChunkSize = 20 << 20
	// MessageTypeData and MessageTypeReport are the values of Mex-MessageType.
	MessageTypeData   = "DATA"
	MessageTypeReport = "REPORT"
)

// MESH header names.
const (
	HeaderFrom              = "Mex-From"
	HeaderTo                = "Mex-To"
	HeaderWorkflowID        = "Mex-WorkflowID"
	HeaderFileName          = "Mex-FileName"
	HeaderLocalID           = "Mex-LocalID"
	HeaderSubject           = "Mex-Subject"
	HeaderMessageID         = "Mex-MessageID"
	HeaderMessageType       = "Mex-MessageType"
	HeaderChunkRange        = "Mex-Chunk-Range"
	HeaderLinkedMsgID       = "Mex-LinkedMsgID"
	HeaderStatusCode        = "Mex-StatusCode"
	HeaderStatusSuccess     = "Mex-StatusSuccess"
	HeaderStatusDescription = "Mex-StatusDescription"
	HeaderClientVersion     = "Mex-ClientVersion"
)

// Client talks to one MESH mailbox. The zero values of the optional fields are
// usable defaults. A Client is safe for concurrent use.
type Client struct {
	BaseURL   string // e.g. https://mesh-sync.spineservices.nhs.uk
	Mailbox   string
	Password  string
	SharedKey string       // the environment's HMAC key
	HTTP      *http.Client // with the mailbox certificate; see NewHTTPClient. nil means http.DefaultClient

	// ChunkSize is the largest body sent in one request (DefaultChunkSize when 0).
	ChunkSize int
	// Retries is how many times an idempotent call is repeated after a retryable
	// failure (2 when 0; negative for none).
	Retries int
	// Now is the clock for the auth timestamp (time.Now when nil).
	Now func() time.Time
}

// Headers are the MESH headers of a received message.
type Headers struct {
	MessageID         string
	From              string
	To                string
	WorkflowID        string
	FileName          string
	LocalID           string
	Subject           string
	MessageType       string // DATA or REPORT
	LinkedMessageID   string // on a REPORT: the message it reports on
	StatusCode        string
	StatusSuccess     string // SUCCESS or ERROR on a REPORT
	StatusDescription string
}

func headersFrom(h http.Header) Headers {
	return Headers{
		MessageID:         h.Get(HeaderMessageID),
		From:              h.Get(HeaderFrom),
		To:                h.Get(HeaderTo),
		WorkflowID:        h.Get(HeaderWorkflowID),
		FileName:          h.Get(HeaderFileName),
		LocalID:           h.Get(HeaderLocalID),
		Subject:           h.Get(HeaderSubject),
		MessageType:       h.Get(HeaderMessageType),
		LinkedMessageID:   h.Get(HeaderLinkedMsgID),
		StatusCode:        h.Get(HeaderStatusCode),
		StatusSuccess:     h.Get(HeaderStatusSuccess),
		StatusDescription: h.Get(HeaderStatusDescription),
	}
}

// SendOption sets an optional header of an outgoing message.
type SendOption func(h http.Header)

// WithLocalID sets Mex-LocalID, the sender's own reference for the message. Send
// uses the file name when this option is not given.
func WithLocalID(id string) SendOption { return func(h http.Header) { h.Set(HeaderLocalID, id) } }

// WithSubject sets Mex-Subject.
func WithSubject(s string) SendOption { return func(h http.Header) { h.Set(HeaderSubject, s) } }

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

func (c *Client) chunkSize() int {
	if c.ChunkSize > 0 {
		return c.ChunkSize
	}
	return DefaultChunkSize
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return 2
	}
	return c.Retries
}

func (c *Client) mailboxPath() string {
	return "/messageexchange/" + url.PathEscape(c.Mailbox)
}

// response is a fully read HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends one request, retrying an idempotent one on retryable failures. Each
// attempt carries a fresh nonce.
func (c *Client) do(ctx context.Context, op, method, path string, hdr http.Header, body []byte, idempotent bool) (*response, error) {
	if c.BaseURL == "" || c.Mailbox == "" {
		return nil, fmt.Errorf("mesh: %s: client has no BaseURL or Mailbox", op)
	}
	attempts := 1
	if idempotent {
		attempts += c.retries()
	}
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			wait := time.Duration(200*(1<<(i-1))) * time.Millisecond
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("mesh: %s: %w (after %v)", op, ctx.Err(), lastErr)
			case <-time.After(wait):
			}
		}
		resp, err := c.once(ctx, op, method, path, hdr, body)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !IsRetryable(err) || ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func (c *Client) once(ctx context.Context, op, method, path string, hdr http.Header, body []byte) (*response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, rd)
	if err != nil {
		return nil, fmt.Errorf("mesh: %s: build request: %w", op, err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	req.Header.Set("Accept", AcceptV2)
	req.Header.Set("Authorization", AuthHeader(c.Mailbox, c.Password, c.SharedKey, newNonce(), 0, c.now()))
	res, err := c.httpClient().Do(req)
	if err != nil {
		return nil, &Error{Op: op, Method: method, Path: path, Err: err, Dialed: dialed(err)}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, &Error{Op: op, Method: method, Path: path, Err: fmt.Errorf("read response: %w", err), Dialed: true}
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		code, detail := decodeErrorBody(b)
		return nil, &Error{Op: op, Method: method, Path: path, Status: res.StatusCode, Code: code, Detail: detail, Dialed: true}
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// Handshake checks the mailbox's credentials with MESH (GET /messageexchange/{mailbox}).
func (c *Client) Handshake(ctx context.Context) error {
	h := http.Header{}
	h.Set(HeaderClientVersion, "icesurvey-mesh/1")
	if _, err := c.do(ctx, "handshake", http.MethodGet, c.mailboxPath(), h, nil, true); err != nil {
		return err
	}
	return nil
}

// Send posts body to toMailbox and returns the message ID MESH assigned. A body
// larger than the chunk size goes in chunks: the first with Mex-Chunk-Range 1:N on
// POST .../outbox, the rest on POST .../outbox/{id}/{n}. An empty body is refused.
//
// The first POST is never retried by the client (a retry could create a second
// message); a failed later chunk is retried, as chunk uploads are idempotent.
func (c *Client) Send(ctx context.Context, toMailbox, workflowID, filename string, body []byte, opts ...SendOption) (string, error) {
	if toMailbox == "" || workflowID == "" {
		return "", fmt.Errorf("mesh: send: recipient mailbox and workflow ID are required")
	}
	if len(body) == 0 {
		return "", fmt.Errorf("mesh: send: empty message body")
	}
	size := c.chunkSize()
	total := (len(body) + size - 1) / size
	chunk := func(n int) []byte { // 1-based
		end := min(n*size, len(body))
		return body[(n-1)*size : end]
	}

	h := http.Header{}
	h.Set(HeaderFrom, c.Mailbox)
	h.Set(HeaderTo, toMailbox)
	h.Set(HeaderWorkflowID, workflowID)
	h.Set(HeaderFileName, filename)
	h.Set(HeaderLocalID, filename)
	for _, o := range opts {
		o(h)
	}
	h.Set("Content-Type", "application/octet-stream")
	if total > 1 {
		h.Set(HeaderChunkRange, fmt.Sprintf("1:%d", total))
	}
	res, err := c.do(ctx, "send", http.MethodPost, c.mailboxPath()+"/outbox", h, chunk(1), false)
	if err != nil {
		return "", err
	}
	var sent struct {
		MessageID   string `json:"message_id"`
		MessageIDv1 string `json:"messageID"`
	}
	if err := json.Unmarshal(res.body, &sent); err != nil {
		return "", fmt.Errorf("mesh: send: decode response: %w", err)
	}
	id := sent.MessageID
	if id == "" {
		id = sent.MessageIDv1
	}
	if id == "" {
		return "", fmt.Errorf("mesh: send: response carries no message_id")
	}
	for n := 2; n <= total; n++ {
		ch := http.Header{}
		ch.Set("Content-Type", "application/octet-stream")
		ch.Set(HeaderChunkRange, fmt.Sprintf("%d:%d", n, total))
		path := fmt.Sprintf("%s/outbox/%s/%d", c.mailboxPath(), url.PathEscape(id), n)
		if _, err := c.do(ctx, "send chunk", http.MethodPost, path, ch, chunk(n), true); err != nil {
			return id, fmt.Errorf("mesh: send: message %s chunk %d of %d: %w", id, n, total, err)
		}
	}
	return id, nil
}

// ListInbox returns the IDs of the messages waiting in the mailbox's inbox, in the
// order MESH gives them, following links.next across pages.
func (c *Client) ListInbox(ctx context.Context) ([]string, error) {
	base := c.mailboxPath() + "/inbox"
	path := base
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 1000 {
			return nil, fmt.Errorf("mesh: list inbox: more than 1000 pages; giving up")
		}
		res, err := c.do(ctx, "list inbox", http.MethodGet, path, nil, nil, true)
		if err != nil {
			return nil, err
		}
		var page struct {
			Messages []string `json:"messages"`
			Links    struct {
				Next string `json:"next"`
			} `json:"links"`
		}
		if err := json.Unmarshal(res.body, &page); err != nil {
			return nil, fmt.Errorf("mesh: list inbox: decode response: %w", err)
		}
		ids = append(ids, page.Messages...)
		if page.Links.Next == "" {
			return ids, nil
		}
		next, err := url.Parse(page.Links.Next)
		if err != nil || !strings.HasPrefix(next.Path, base) {
			return nil, fmt.Errorf("mesh: list inbox: unexpected next link %q", page.Links.Next)
		}
		path = next.RequestURI()
	}
}

// Metadata returns a message's headers without downloading it (HEAD .../inbox/{id}).
func (c *Client) Metadata(ctx context.Context, id string) (Headers, error) {
	res, err := c.do(ctx, "metadata", http.MethodHead, c.mailboxPath()+"/inbox/"+url.PathEscape(id), nil, nil, true)
	if err != nil {
		return Headers{}, err
	}
	return headersFrom(res.header), nil
}

// Download fetches a whole message. A single-chunk message answers 200; a chunked
// one answers 206 with Mex-Chunk-Range 1:N, and chunks 2..N are fetched from
// .../inbox/{id}/{n} (206 while more follow, 200 for the last). The message stays
// in the inbox until Acknowledge.
func (c *Client) Download(ctx context.Context, id string) ([]byte, Headers, error) {
	base := c.mailboxPath() + "/inbox/" + url.PathEscape(id)
	res, err := c.do(ctx, "download", http.MethodGet, base, nil, nil, true)
	if err != nil {
		return nil, Headers{}, err
	}
	hdrs := headersFrom(res.header)
	if hdrs.MessageID == "" {
		hdrs.MessageID = id
	}
	if res.status != http.StatusPartialContent {
		return res.body, hdrs, nil
	}
	n, total, err := parseChunkRange(res.header.Get(HeaderChunkRange))
	if err != nil || n != 1 {
		return nil, hdrs, fmt.Errorf("mesh: download %s: 206 with bad %s %q", id, HeaderChunkRange, res.header.Get(HeaderChunkRange))
	}
	body := append([]byte(nil), res.body...)
	for i := 2; i <= total; i++ {
		cr, err := c.do(ctx, "download chunk", http.MethodGet, fmt.Sprintf("%s/%d", base, i), nil, nil, true)
		if err != nil {
			return nil, hdrs, fmt.Errorf("mesh: download %s chunk %d of %d: %w", id, i, total, err)
		}
		gotN, gotTotal, err := parseChunkRange(cr.header.Get(HeaderChunkRange))
		if err != nil || gotN != i || gotTotal != total {
			return nil, hdrs, fmt.Errorf("mesh: download %s chunk %d of %d: server answered %s %q", id, i, total, HeaderChunkRange, cr.header.Get(HeaderChunkRange))
		}
		wantStatus := http.StatusPartialContent
		if i == total {
			wantStatus = http.StatusOK
		}
		if cr.status != wantStatus {
			return nil, hdrs, fmt.Errorf("mesh: download %s chunk %d of %d: HTTP %d, want %d", id, i, total, cr.status, wantStatus)
		}
		body = append(body, cr.body...)
	}
	return body, hdrs, nil
}

// Acknowledge tells MESH the message has been received safely; MESH then removes it
// from the inbox (PUT .../inbox/{id}/status/acknowledged).
func (c *Client) Acknowledge(ctx context.Context, id string) error {
	path := c.mailboxPath() + "/inbox/" + url.PathEscape(id) + "/status/acknowledged"
	_, err := c.do(ctx, "acknowledge", http.MethodPut, path, nil, nil, true)
	return err
}

// parseChunkRange parses "n:N" with 1 <= n <= N.
func parseChunkRange(s string) (n, total int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("chunk range %q is not n:N", s)
	}
	n, err1 := strconv.Atoi(a)
	total, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || n < 1 || total < 1 || n > total {
		return 0, 0, fmt.Errorf("chunk range %q is not n:N with 1 <= n <= N", s)
	}
	return n, total, nil
}

// ParseChunkRange parses a Mex-Chunk-Range value "n:N".
func ParseChunkRange(s string) (n, total int, err error) { return parseChunkRange(s) }
