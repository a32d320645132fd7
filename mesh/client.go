// Package mesh is a client for NHS England's Message Exchange for Social care and
// Health (MESH) API, the mailbox service the Demographics Batch Service (DBS) is
// reached through (SPEC §5).
//
// Every request is authenticated twice: by the mailbox's client certificate (mutual
// TLS; see NewHTTPClient) and by an NHSMESH Authorization header carrying a fresh
// nonce and an HMAC-SHA256 over the mailbox, nonce, nonce count, password and a
// yyyyMMddHHmm timestamp (see AuthHeader). The client speaks version 2 of the API
// (Accept: application/vnd.mesh.v2+json) and sends every header the API requires of
// each call, as the published specification (NHSDigital/mesh-api-specification) and
// the service's sandbox (NHSDigital/mesh-sandbox) define them:
//
//	every call      Authorization: NHSMESH ..., Accept: application/vnd.mesh.v2+json, User-Agent
//	POST /messageexchange/{mailbox}                     handshake: Mex-ClientVersion, Mex-OSName,
//	                                                    Mex-OSVersion (required), Mex-OSArchitecture,
//	                                                    Mex-JavaVersion
//	POST /messageexchange/{mailbox}/outbox              send (first chunk): Mex-From, Mex-To,
//	                                                    Mex-WorkflowID, Mex-FileName, Mex-LocalID,
//	                                                    Mex-MessageType, Mex-Content-Checksum,
//	                                                    Mex-Chunk-Range 1:N, Content-Type,
//	                                                    Content-Encoding: gzip when compressed
//	POST /messageexchange/{mailbox}/outbox/{id}/{n}     send chunk n of N: Mex-Chunk-Range n:N,
//	                                                    Content-Type, the first chunk's Content-Encoding
//	GET  /messageexchange/{mailbox}/inbox               list (paged via links.next)
//	HEAD /messageexchange/{mailbox}/inbox/{id}          message metadata
//	GET  /messageexchange/{mailbox}/inbox/{id}[/{n}]    download, Accept-Encoding: gzip (206 while
//	                                                    more chunks follow)
//	PUT  /messageexchange/{mailbox}/inbox/{id}/status/acknowledged
//
// A body larger than CompressAbove goes gzip-encoded (Content-Encoding, each chunk
// compressed on its own, as the API asks for large messages); MESH decodes it for a
// recipient that does not accept gzip. A download that comes gzip-encoded is decoded
// here. Mex-Content-Checksum carries "sha256:" and the hex SHA-256 of the whole body,
// and a downloaded message carrying a checksum in that form is checked against it.
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
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
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
	// DefaultCompressAbove is the body size above which a message is sent
	// gzip-encoded when Client.CompressAbove is 0.
	DefaultCompressAbove = 1 << 20
	// MessageTypeData and MessageTypeReport are the values of Mex-MessageType.
	MessageTypeData   = "DATA"
	MessageTypeReport = "REPORT"
	// OctetStream is the Content-Type of every message and chunk this client sends.
	OctetStream = "application/octet-stream"
	// ChecksumPrefix starts the Mex-Content-Checksum this client sends: "sha256:" and
	// the lower-case hex SHA-256 of the whole message body, before any encoding.
	ChecksumPrefix = "sha256:"
	// maxChunks bounds the chunks of one message: MESH takes messages of up to 20 GB
	// (100 MB chunks over HSCN, 20 MB over the internet), so 1,000 at the very most.
	maxChunks = 10000
	// maxDecodedChunk bounds one gzip-encoded chunk once decoded (MESH chunks are at
	// most 100 MB compressed; a body that inflates past this is refused, not read).
	maxDecodedChunk = 1 << 30
)

// MESH header names.
const (
	HeaderFrom              = "Mex-From"
	HeaderTo                = "Mex-To"
	HeaderWorkflowID        = "Mex-WorkflowID"
	HeaderFileName          = "Mex-FileName"
	HeaderLocalID           = "Mex-LocalID"
	HeaderSubject           = "Mex-Subject"
	HeaderPartnerID         = "Mex-PartnerID"
	HeaderMessageID         = "Mex-MessageID"
	HeaderMessageType       = "Mex-MessageType"
	HeaderChunkRange        = "Mex-Chunk-Range"
	HeaderTotalChunks       = "Mex-Total-Chunks"
	HeaderLinkedMsgID       = "Mex-LinkedMsgID"
	HeaderStatusCode        = "Mex-StatusCode"
	HeaderStatusEvent       = "Mex-StatusEvent"
	HeaderStatusSuccess     = "Mex-StatusSuccess"
	HeaderStatusDescription = "Mex-StatusDescription"
	HeaderContentChecksum   = "Mex-Content-Checksum"
	HeaderContentCompressed = "Mex-Content-Compressed"
	HeaderContentEncrypted  = "Mex-Content-Encrypted"
	HeaderContentType       = "Mex-Content-Type"
	HeaderVersion           = "Mex-Version"
	HeaderClientVersion     = "Mex-ClientVersion"
	HeaderOSName            = "Mex-OSName"
	HeaderOSVersion         = "Mex-OSVersion"
	HeaderOSArchitecture    = "Mex-OSArchitecture"
	HeaderJavaVersion       = "Mex-JavaVersion"
)

// The longest value MESH accepts in each send header (the sandbox's and the published
// specification's maxLength); a longer one is refused with 400.
const (
	MaxToLen          = 100
	MaxWorkflowIDLen  = 300
	MaxChunkRangeLen  = 20
	MaxSubjectLen     = 500
	MaxLocalIDLen     = 300
	MaxPartnerIDLen   = 500
	MaxFileNameLen    = 300
	MaxChecksumLen    = 100
	MaxContentTypeLen = 100
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
	// CompressAbove: a message body larger than this many bytes is sent gzip-encoded
	// (DefaultCompressAbove when 0; negative: never).
	CompressAbove int
	// Retries is how many times an idempotent call is repeated after a retryable
	// failure (2 when 0; negative for none).
	Retries int
	// Now is the clock for the auth timestamp (time.Now when nil).
	Now func() time.Time
	// Platform is what the handshake reports about this machine (LocalPlatform when
	// its fields are empty).
	Platform Platform
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
	ContentChecksum   string // as the sender gave it
	ContentType       string // Mex-Content-Type, as the sender gave it
	// ContentCompressed is the sender's flag that the content itself (after any
	// Content-Encoding is removed) is compressed: Mex-Content-Compressed Y.
	ContentCompressed bool
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
		ContentChecksum:   h.Get(HeaderContentChecksum),
		ContentType:       h.Get(HeaderContentType),
	}
}

// SendOption sets an optional header of an outgoing message.
type SendOption func(h http.Header)

// WithLocalID sets Mex-LocalID, the sender's own reference for the message. Send
// uses the file name when this option is not given.
func WithLocalID(id string) SendOption { return func(h http.Header) { h.Set(HeaderLocalID, id) } }

// WithSubject sets Mex-Subject.
func WithSubject(s string) SendOption { return func(h http.Header) { h.Set(HeaderSubject, s) } }

// WithContentType sets Mex-Content-Type, the media type of the message content that
// MESH passes on to the recipient (the HTTP Content-Type stays application/octet-stream).
func WithContentType(ct string) SendOption {
	return func(h http.Header) { h.Set(HeaderContentType, ct) }
}

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

func (c *Client) compress(size int) bool {
	switch {
	case c.CompressAbove < 0:
		return false
	case c.CompressAbove == 0:
		return size > DefaultCompressAbove
	}
	return size > c.CompressAbove
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

func (c *Client) platform() Platform {
	p := c.Platform
	local := LocalPlatform()
	if p.OSName == "" {
		p.OSName = local.OSName
	}
	if p.OSVersion == "" {
		p.OSVersion = local.OSVersion
	}
	if p.OSArchitecture == "" {
		p.OSArchitecture = local.OSArchitecture
	}
	return p
}

// userAgent is the User-Agent of every request, in the reference client's form:
// name;version;java version;architecture;OS name;OS version.
func (c *Client) userAgent() string {
	p := c.platform()
	return headerSafe(strings.Join([]string{ClientName, ClientVersion, "N/A", p.OSArchitecture, p.OSName, p.OSVersion}, ";"), 200)
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
	req.Header.Set("User-Agent", c.userAgent())
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
	// We asked for gzip only where we set Accept-Encoding ourselves (so the transport
	// left the body as it came): decode it here.
	if strings.EqualFold(strings.TrimSpace(res.Header.Get("Content-Encoding")), "gzip") && hdr.Get("Accept-Encoding") != "" && method != http.MethodHead {
		if b, err = gunzip(b); err != nil {
			return nil, &Error{Op: op, Method: method, Path: path, Status: res.StatusCode, Err: fmt.Errorf("decode gzip body: %w", err), Dialed: true}
		}
	}
	return &response{status: res.StatusCode, header: res.Header, body: b}, nil
}

// gunzip decodes a gzip body of at most maxDecodedChunk bytes decoded.
func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecodedChunk+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxDecodedChunk {
		return nil, fmt.Errorf("body inflates past %d bytes", maxDecodedChunk)
	}
	return out, nil
}

// gzipped encodes b with gzip.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b) // writing to a bytes.Buffer cannot fail
	_ = zw.Close()
	return buf.Bytes()
}

// Handshake validates the mailbox with MESH (POST /messageexchange/{mailbox}): it
// checks the credentials and records the client's version and platform, which MESH
// requires (Mex-ClientVersion, Mex-OSName, Mex-OSVersion). MESH asks every mailbox
// to do this at least once a day.
func (c *Client) Handshake(ctx context.Context) error {
	p := c.platform()
	h := http.Header{}
	h.Set(HeaderClientVersion, ClientName+"=="+ClientVersion)
	h.Set(HeaderOSName, p.OSName)
	h.Set(HeaderOSVersion, p.OSVersion)
	h.Set(HeaderOSArchitecture, p.OSArchitecture)
	h.Set(HeaderJavaVersion, "N/A")
	if _, err := c.do(ctx, "handshake", http.MethodPost, c.mailboxPath(), h, nil, true); err != nil {
		return err
	}
	return nil
}

// checkSendHeader refuses a send header value MESH would refuse: longer than max, or
// holding a control character; Mex-To and Mex-WorkflowID may not be URLs.
func checkSendHeader(name, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("mesh: send: %s is %d characters; MESH accepts at most %d", name, len(v), max)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] == 0x7f {
			return fmt.Errorf("mesh: send: %s holds a control character", name)
		}
	}
	if (name == HeaderTo || name == HeaderWorkflowID) && (hasPrefixFold(v, "http://") || hasPrefixFold(v, "https://")) {
		return fmt.Errorf("mesh: send: %s may not be a URL", name)
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Checksum is the Mex-Content-Checksum this client sends for a message body.
func Checksum(body []byte) string {
	sum := sha256.Sum256(body)
	return ChecksumPrefix + hex.EncodeToString(sum[:])
}

// Send posts body to toMailbox and returns the message ID MESH assigned. A body
// larger than the chunk size goes in chunks: the first with Mex-Chunk-Range 1:N on
// POST .../outbox, the rest on POST .../outbox/{id}/{n}. A body larger than
// CompressAbove is gzip-encoded, each chunk on its own. An empty body, or a header
// MESH would refuse (too long, a control character), is refused here.
//
// The first POST is never retried by the client (a retry could create a second
// message); a failed later chunk is retried, as chunk uploads are idempotent.
func (c *Client) Send(ctx context.Context, toMailbox, workflowID, filename string, body []byte, opts ...SendOption) (string, error) {
	if toMailbox == "" || workflowID == "" || filename == "" {
		return "", fmt.Errorf("mesh: send: recipient mailbox, workflow ID and file name are required")
	}
	if len(body) == 0 {
		return "", fmt.Errorf("mesh: send: empty message body")
	}
	size := c.chunkSize()
	total := (len(body) + size - 1) / size
	compress := c.compress(len(body))
	chunk := func(n int) []byte { // 1-based
		end := min(n*size, len(body))
		b := body[(n-1)*size : end]
		if compress {
			return gzipped(b)
		}
		return b
	}

	h := http.Header{}
	h.Set(HeaderFrom, c.Mailbox)
	h.Set(HeaderTo, toMailbox)
	h.Set(HeaderWorkflowID, workflowID)
	h.Set(HeaderFileName, filename)
	h.Set(HeaderLocalID, filename)
	h.Set(HeaderMessageType, MessageTypeData)
	h.Set(HeaderContentChecksum, Checksum(body))
	for _, o := range opts {
		o(h)
	}
	for _, f := range []struct {
		name string
		max  int
	}{
		{HeaderTo, MaxToLen}, {HeaderWorkflowID, MaxWorkflowIDLen}, {HeaderFileName, MaxFileNameLen},
		{HeaderLocalID, MaxLocalIDLen}, {HeaderSubject, MaxSubjectLen}, {HeaderPartnerID, MaxPartnerIDLen},
		{HeaderContentType, MaxContentTypeLen},
	} {
		if err := checkSendHeader(f.name, h.Get(f.name), f.max); err != nil {
			return "", err
		}
	}
	h.Set("Content-Type", OctetStream)
	h.Set(HeaderChunkRange, fmt.Sprintf("1:%d", total))
	if compress {
		h.Set("Content-Encoding", "gzip")
	}
	res, err := c.do(ctx, "send", http.MethodPost, c.mailboxPath()+"/outbox", h, chunk(1), false)
	if err != nil {
		return "", err
	}
	id, err := decodeSendResponse(res.body)
	if err != nil {
		return "", fmt.Errorf("mesh: send: %w", err)
	}
	for n := 2; n <= total; n++ {
		ch := http.Header{}
		ch.Set("Content-Type", OctetStream)
		ch.Set(HeaderChunkRange, fmt.Sprintf("%d:%d", n, total))
		if compress {
			ch.Set("Content-Encoding", "gzip")
		}
		path := fmt.Sprintf("%s/outbox/%s/%d", c.mailboxPath(), url.PathEscape(id), n)
		if _, err := c.do(ctx, "send chunk", http.MethodPost, path, ch, chunk(n), true); err != nil {
			return id, fmt.Errorf("mesh: send: message %s chunk %d of %d: %w", id, n, total, err)
		}
	}
	return id, nil
}

// decodeSendResponse reads the message ID from a send answer ({"message_id": ...} in
// v2, {"messageID": ...} in v1).
func decodeSendResponse(b []byte) (string, error) {
	var sent struct {
		MessageID   string `json:"message_id"`
		MessageIDv1 string `json:"messageID"`
	}
	if err := json.Unmarshal(b, &sent); err != nil {
		return "", fmt.Errorf("decode response: %w", err)
	}
	id := sent.MessageID
	if id == "" {
		id = sent.MessageIDv1
	}
	if err := checkMessageID(id); err != nil {
		return "", fmt.Errorf("response: %w", err)
	}
	return id, nil
}

// checkMessageID refuses a message ID that cannot be one: empty, over 100 characters,
// or holding anything but letters, digits, '_' and '-'. IDs from MESH go into URL
// paths and object keys.
func checkMessageID(id string) error {
	if id == "" {
		return errors.New("no message ID")
	}
	if len(id) > 100 {
		return fmt.Errorf("message ID of %d characters", len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_' || c == '-') {
			return fmt.Errorf("message ID %q holds a character other than letters, digits, '_' and '-'", id)
		}
	}
	return nil
}

// inboxPage is one page of a v2 inbox listing.
type inboxPage struct {
	Messages []string `json:"messages"`
	Links    struct {
		Next string `json:"next"`
	} `json:"links"`
}

// decodeInboxPage reads one page of an inbox listing and the path (with query) of the
// next page, "" on the last. A next link must stay under base (the inbox path): the
// client's credentials never go to another path or host.
func decodeInboxPage(b []byte, base string) (ids []string, next string, err error) {
	var page inboxPage
	if err := json.Unmarshal(b, &page); err != nil {
		return nil, "", fmt.Errorf("decode response: %w", err)
	}
	for _, id := range page.Messages {
		if err := checkMessageID(id); err != nil {
			return nil, "", fmt.Errorf("inbox lists a bad message ID: %w", err)
		}
	}
	if page.Links.Next == "" {
		return page.Messages, "", nil
	}
	u, err := url.Parse(page.Links.Next)
	if err != nil || !strings.EqualFold(u.Path, base) || u.Opaque != "" || u.User != nil {
		return nil, "", fmt.Errorf("unexpected next link %q", page.Links.Next)
	}
	return page.Messages, u.RequestURI(), nil
}

// ListInbox returns the IDs of the messages waiting in the mailbox's inbox, in the
// order MESH gives them, following links.next across pages.
func (c *Client) ListInbox(ctx context.Context) ([]string, error) {
	base := c.mailboxPath() + "/inbox"
	path := base
	var ids []string
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		if pages > 1000 {
			return nil, fmt.Errorf("mesh: list inbox: more than 1000 pages; giving up")
		}
		res, err := c.do(ctx, "list inbox", http.MethodGet, path, nil, nil, true)
		if err != nil {
			return nil, err
		}
		page, next, err := decodeInboxPage(res.body, base)
		if err != nil {
			return nil, fmt.Errorf("mesh: list inbox: %w", err)
		}
		ids = append(ids, page...)
		if next == "" {
			return ids, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("mesh: list inbox: the next link repeats an earlier page")
		}
		seen[next] = true
		path = next
	}
}

// Metadata returns a message's headers without downloading it (HEAD .../inbox/{id}).
func (c *Client) Metadata(ctx context.Context, id string) (Headers, error) {
	res, err := c.do(ctx, "metadata", http.MethodHead, c.mailboxPath()+"/inbox/"+url.PathEscape(id), nil, nil, true)
	if err != nil {
		return Headers{}, err
	}
	h := headersFrom(res.header)
	h.ContentCompressed = strings.EqualFold(res.header.Get(HeaderContentCompressed), "Y")
	return h, nil
}

// Download fetches a whole message. A single-chunk message answers 200; a chunked
// one answers 206 with Mex-Chunk-Range 1:N, and chunks 2..N are fetched from
// .../inbox/{id}/{n} (206 while more follow, 200 for the last). Each chunk may come
// gzip-encoded (Accept-Encoding: gzip is sent) and is decoded. When the message
// carries a Mex-Content-Checksum of this client's form ("sha256:..."), the whole body
// must match it. The message stays in the inbox until Acknowledge.
func (c *Client) Download(ctx context.Context, id string) ([]byte, Headers, error) {
	base := c.mailboxPath() + "/inbox/" + url.PathEscape(id)
	get := http.Header{}
	get.Set("Accept-Encoding", "gzip")
	res, err := c.do(ctx, "download", http.MethodGet, base, get, nil, true)
	if err != nil {
		return nil, Headers{}, err
	}
	hdrs := headersFrom(res.header)
	if hdrs.MessageID == "" {
		hdrs.MessageID = id
	}
	body := res.body
	if res.status == http.StatusPartialContent {
		n, total, err := parseChunkRange(res.header.Get(HeaderChunkRange))
		if err == nil && total > maxChunks {
			return nil, hdrs, fmt.Errorf("mesh: download %s: %d chunks; a MESH message has at most %d", id, total, maxChunks)
		}
		if err != nil || n != 1 || total < 2 {
			return nil, hdrs, fmt.Errorf("mesh: download %s: 206 with bad %s %q", id, HeaderChunkRange, res.header.Get(HeaderChunkRange))
		}
		body = append([]byte(nil), res.body...)
		for i := 2; i <= total; i++ {
			cr, err := c.do(ctx, "download chunk", http.MethodGet, fmt.Sprintf("%s/%d", base, i), get, nil, true)
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
	} else if res.status != http.StatusOK {
		return nil, hdrs, fmt.Errorf("mesh: download %s: HTTP %d, want 200 or 206", id, res.status)
	}
	hdrs.ContentCompressed = strings.EqualFold(res.header.Get(HeaderContentCompressed), "Y") &&
		!strings.EqualFold(res.header.Get("Content-Encoding"), "gzip")
	if err := verifyChecksum(hdrs, body); err != nil {
		return nil, hdrs, fmt.Errorf("mesh: download %s: %w", id, err)
	}
	return body, hdrs, nil
}

// verifyChecksum checks body against a Mex-Content-Checksum of this client's form
// (other senders' checksums are theirs to interpret and are passed through).
func verifyChecksum(h Headers, body []byte) error {
	sum, ok := strings.CutPrefix(h.ContentChecksum, ChecksumPrefix)
	if !ok || h.ContentCompressed {
		return nil
	}
	if got := Checksum(body); !strings.EqualFold(got[len(ChecksumPrefix):], strings.TrimSpace(sum)) {
		return fmt.Errorf("the body does not match its %s (got %s)", HeaderContentChecksum, got)
	}
	return nil
}

// Acknowledge tells MESH the message has been received safely; MESH then removes it
// from the inbox (PUT .../inbox/{id}/status/acknowledged).
func (c *Client) Acknowledge(ctx context.Context, id string) error {
	path := c.mailboxPath() + "/inbox/" + url.PathEscape(id) + "/status/acknowledged"
	_, err := c.do(ctx, "acknowledge", http.MethodPut, path, nil, nil, true)
	return err
}

// parseChunkRange parses "n:N" with 1 <= n <= N (spaces around either number are
// allowed, as MESH allows them).
func parseChunkRange(s string) (n, total int, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("chunk range %q is not n:N", s)
	}
	n, err1 := strconv.Atoi(strings.TrimSpace(a))
	total, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || n < 1 || total < 1 || n > total {
		return 0, 0, fmt.Errorf("chunk range %q is not n:N with 1 <= n <= N", s)
	}
	return n, total, nil
}

// ParseChunkRange parses a Mex-Chunk-Range value "n:N".
func ParseChunkRange(s string) (n, total int, err error) { return parseChunkRange(s) }
