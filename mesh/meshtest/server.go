// Package meshtest is a local MESH server for tests and `ice dev`. It refuses what
// the real service refuses, with the status and the error body the service gives,
// so that a client it passes is one the real MESH would pass. What it enforces, and
// where each rule comes from (NHSDigital/mesh-sandbox, the service's own sandbox, at
// src/mesh_sandbox/...; the published API specification NHSDigital/mesh-api-
// specification, specification/mesh-api.yaml, current and as of 2021):
//
//   - every call: the NHSMESH Authorization header (403, as dependencies.py
//     authorised_mailbox and common/messaging.py _validate_auth_token: a missing or
//     unreadable header, a mailbox other than the path's, an unknown mailbox, a wrong
//     HMAC), plus what the sandbox leaves out but the live service checks: a
//     timestamp within MaxSkew and a nonce never reused;
//   - every call: Accept application/vnd.mesh.v2+json (a malformed vnd.mesh type is
//     400 as dependencies.py get_accepts_api_version; any other is 406 here, since
//     this server speaks only v2);
//   - handshake (GET or POST /messageexchange/{mailbox}): Mex-ClientVersion,
//     Mex-OSName and Mex-OSVersion are required (400 request validation error, as
//     routers/handshake.py declares them Header(...)); Mex-OSArchitecture and
//     Mex-JavaVersion are optional;
//   - send (POST .../outbox): Mex-To and Mex-WorkflowID are required (400 validation,
//     common/mex_headers.py send_message_mex_headers), and so, as the 2021
//     specification had it and as this client sends them, Mex-From (which must name
//     the authenticated mailbox), Mex-FileName and Content-Type; the maximum length of
//     every Mex header (400 string_too_long); no control character and no URL in them
//     (400 TRANSFER 06 MalformedControlFile) and only [A-Za-z0-9 :-/] in
//     Mex-Content-Checksum (400 Invalid checksum); Content-Encoding empty or gzip
//     (422 UnsupportedContentEncoding; a gzip body must be gzip, 400); Mex-Chunk-Range
//     absent or 1:N (417 InvalidHeaderChunks); a registered recipient (417 SEND 12);
//     a body (417 MissingDataFile) — handlers/outbox.py send_message;
//   - send chunk (POST .../outbox/{id}/{n}): Mex-Chunk-Range n:N matching the path
//     (417 InvalidHeaderChunks), Content-Type (2021 specification), a message the
//     caller sent (404, 403), still uploading (423), n within N (406), the first
//     chunk's Content-Encoding (417) — handlers/outbox.py send_chunk;
//   - download (GET .../inbox/{id}[/{n}]): 404 for no such message or chunk, 403 for
//     another mailbox's, 410 once acknowledged or while still uploading; a gzip-encoded
//     message is decoded for a client that does not send Accept-Encoding: gzip, and
//     any other is gzip-encoded for one that does — handlers/inbox.py;
//   - list (GET .../inbox): max_results 10..5000 and continue_from of 24..1000
//     characters (400 validation), links.next while more remain — routers/inbox.py;
//   - acknowledge (PUT .../inbox/{id}/status/acknowledged): 404, 403 for another
//     mailbox's message; acknowledging again is harmless.
//
// Errors come in the v2 shape ({"internal_id", "detail": [{"event", "code", "msg"}]})
// and request validation errors in FastAPI's ({"detail": [{"type": "missing", "loc":
// ["header", "mex-osname"], "msg": "Field required"}]}), as the sandbox answers them.
//
// A test hook (OnMessage) sees every message as it lands in an inbox, and Deliver
// puts a message into an inbox directly, so a fake partner (e.g. a DBS responder)
// can answer what a client sends.
package meshtest

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"icesurvey/mesh"
)

// Message is a message held by the server.
type Message struct {
	ID              string
	From            string
	To              string
	WorkflowID      string
	FileName        string
	LocalID         string
	Subject         string
	PartnerID       string
	MessageType     string // DATA (default) or REPORT
	LinkedMessageID string
	StatusSuccess   string
	StatusCode      string
	StatusDesc      string
	// ContentEncoding is how the chunks are stored: "" or "gzip" (as uploaded).
	ContentEncoding string
	ContentChecksum string // Mex-Content-Checksum as given
	ContentType     string // Mex-Content-Type (or the Content-Type of a one-chunk upload)
	Compressed      bool   // Mex-Content-Compressed Y
	Body            []byte // the whole message, decoded
	Chunks          int    // number of chunks it is stored (and downloaded) in
	Complete        bool   // all chunks uploaded
	Acknowledged    bool
	Created         time.Time
}

// Handshake is what a mailbox reported in a handshake.
type Handshake struct {
	Mailbox        string
	ClientVersion  string
	OSName         string
	OSVersion      string
	OSArchitecture string
	JavaVersion    string
	UserAgent      string
	At             time.Time
}

type stored struct {
	Message
	chunks [][]byte // as stored: encoded when ContentEncoding is gzip
}

func (m *stored) snapshot() Message {
	out := m.Message
	out.Body = nil
	for _, c := range m.chunks {
		if m.ContentEncoding == "gzip" && c != nil {
			if d, err := gunzip(c); err == nil {
				c = d
			}
		}
		out.Body = append(out.Body, c...)
	}
	return out
}

type mailbox struct {
	password string
	inbox    []string // message IDs in arrival order
}

// Server is a running fake MESH server. Configure the exported fields before the
// first request; use the methods to add mailboxes, deliver and inspect messages.
type Server struct {
	URL       string
	SharedKey string
	// MaxSkew is how far the auth timestamp may be from the server clock (10 min by
	// default; the timestamp has minute resolution).
	MaxSkew time.Duration
	// Now is the server clock (time.Now when nil).
	Now func() time.Time
	// PageSize is the number of IDs per inbox page when the client asks for no
	// max_results (500 by default, as MESH).
	PageSize int
	// DownloadChunkSize splits messages put in with Deliver into chunks of this many
	// bytes (0: one chunk). Uploaded messages keep the client's chunking.
	DownloadChunkSize int
	// OnMessage, when set, is called with each message as it lands in an inbox,
	// after the server lock is released and before the sender gets its answer.
	OnMessage func(Message)

	srv *httptest.Server

	mu         sync.Mutex
	mailboxes  map[string]*mailbox
	messages   map[string]*stored
	order      []string
	nonces     map[string]int
	seq        int
	failNext   []int
	authFailed int
	handshakes []Handshake
}

// New starts a plain-HTTP server using sharedKey for the auth HMAC.
func New(sharedKey string) *Server {
	s := newServer(sharedKey)
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	return s
}

// TLSMaterial is the PEM material of a NewTLS server: a CA, and a client
// certificate and key it signed (the server certificate is signed by the same CA).
type TLSMaterial struct {
	CAPEM, ClientCertPEM, ClientKeyPEM []byte
}

// NewTLS starts an HTTPS server that requires a client certificate signed by its own
// test CA, returning the CA and a valid client certificate and key.
func NewTLS(sharedKey string) (*Server, *TLSMaterial, error) {
	ca, caKey, caPEM, err := newCA()
	if err != nil {
		return nil, nil, err
	}
	srvCert, _, _, err := issue(ca, caKey, "meshtest server", true)
	if err != nil {
		return nil, nil, err
	}
	_, cliCertPEM, cliKeyPEM, err := issue(ca, caKey, "meshtest client", false)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	s := newServer(sharedKey)
	s.srv = httptest.NewUnstartedServer(s)
	s.srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{srvCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
	s.srv.StartTLS()
	s.URL = s.srv.URL
	return s, &TLSMaterial{CAPEM: caPEM, ClientCertPEM: cliCertPEM, ClientKeyPEM: cliKeyPEM}, nil
}

func newServer(sharedKey string) *Server {
	return &Server{
		SharedKey: sharedKey,
		mailboxes: map[string]*mailbox{},
		messages:  map[string]*stored{},
		nonces:    map[string]int{},
	}
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// AddMailbox registers a mailbox and its password.
func (s *Server) AddMailbox(id, password string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mailboxes[id] = &mailbox{password: password}
}

// FailNext makes the next n authenticated requests answer status (to test retries).
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.failNext = append(s.failNext, status)
	}
}

// AuthFailures is the number of requests refused for authentication so far.
func (s *Server) AuthFailures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authFailed
}

// Handshakes returns every accepted handshake, oldest first.
func (s *Server) Handshakes() []Handshake {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Handshake(nil), s.handshakes...)
}

// Deliver puts m into m.To's inbox as if another MESH user had sent it, and returns
// its message ID. m.From, m.To and m.WorkflowID are required. m.Body is stored as
// given, in chunks of DownloadChunkSize; with m.ContentEncoding "gzip" each chunk is
// gzip-encoded on its own, as a sender's would be.
func (s *Server) Deliver(m Message) (string, error) {
	if m.From == "" || m.To == "" || m.WorkflowID == "" {
		return "", fmt.Errorf("meshtest: deliver: From, To and WorkflowID are required")
	}
	if m.ContentEncoding != "" && m.ContentEncoding != "gzip" {
		return "", fmt.Errorf("meshtest: deliver: content encoding %q is not gzip", m.ContentEncoding)
	}
	s.mu.Lock()
	if _, ok := s.mailboxes[m.To]; !ok {
		s.mu.Unlock()
		return "", fmt.Errorf("meshtest: deliver: no mailbox %q", m.To)
	}
	st := &stored{Message: m}
	st.ID = s.newID()
	st.Created = s.now()
	if st.MessageType == "" {
		st.MessageType = mesh.MessageTypeData
	}
	st.chunks = split(m.Body, s.DownloadChunkSize)
	if m.ContentEncoding == "gzip" {
		for i, c := range st.chunks {
			st.chunks[i] = gzipped(c)
		}
	}
	st.Chunks = len(st.chunks)
	st.Body = nil
	st.Complete = true
	s.messages[st.ID] = st
	s.order = append(s.order, st.ID)
	snap := s.landLocked(st)
	s.mu.Unlock()
	s.notify(snap)
	return st.ID, nil
}

// Inbox returns the unacknowledged, complete messages in mailbox's inbox.
func (s *Server) Inbox(mailboxID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, ok := s.mailboxes[mailboxID]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(mb.inbox))
	for _, id := range mb.inbox {
		out = append(out, s.messages[id].snapshot())
	}
	return out
}

// Sent returns every message mailboxID has sent (complete or not), oldest first.
func (s *Server) Sent(mailboxID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order {
		if m := s.messages[id]; m.From == mailboxID {
			out = append(out, m.snapshot())
		}
	}
	return out
}

// Get returns the message with id.
func (s *Server) Get(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return m.snapshot(), true
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) newID() string {
	s.seq++
	return fmt.Sprintf("%s%06d_%s", s.now().UTC().Format("20060102150405"), s.seq, strings.ToUpper(randHex(4)))
}

// landLocked puts a complete message into its recipient's inbox.
func (s *Server) landLocked(m *stored) Message {
	mb := s.mailboxes[m.To]
	mb.inbox = append(mb.inbox, m.ID)
	return m.snapshot()
}

func (s *Server) notify(m Message) {
	if s.OnMessage != nil {
		s.OnMessage(m)
	}
}

func split(b []byte, size int) [][]byte {
	if size <= 0 || len(b) <= size {
		return [][]byte{append([]byte(nil), b...)}
	}
	var out [][]byte
	for len(b) > 0 {
		n := min(size, len(b))
		out = append(out, append([]byte(nil), b[:n]...))
		b = b[n:]
	}
	return out
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 1<<30))
}

// ---- error answers, as the sandbox's views/error.py writes them ----

// writeError answers a MESH error in the v2 shape: {"internal_id", "message_id"?,
// "detail": [{"event", "code", "msg"}]} (an empty event or code is kept, as the
// sandbox keeps it for errors outside its code map).
func writeError(w http.ResponseWriter, status int, event, code, msg string) {
	writeErrorFor(w, status, "", event, code, msg)
}

// errorV2 is the v2 error document as the sandbox writes it: an empty event or code
// is written, not left out.
type errorV2 struct {
	MessageID  string          `json:"message_id,omitempty"`
	InternalID string          `json:"internal_id"`
	Detail     []errorV2Detail `json:"detail"`
}

type errorV2Detail struct {
	Event string `json:"event"`
	Code  string `json:"code"`
	Msg   string `json:"msg"`
}

func writeErrorFor(w http.ResponseWriter, status int, messageID, event, code, msg string) {
	w.Header().Set("Content-Type", mesh.AcceptV2)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(errorV2{
		MessageID:  messageID,
		InternalID: internalID(),
		Detail:     []errorV2Detail{{Event: event, Code: code, Msg: msg}},
	})
}

// writeBare answers an error the sandbox raises without detail: {"internal_id",
// "message"}.
func writeBare(w http.ResponseWriter, status int, messageID string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(mesh.ErrorBody{MessageID: messageID, InternalID: internalID(),
		Message: "An internal error occurred.\n\nPlease contact support."})
}

// validationError is one entry of a request validation error (FastAPI's shape).
type validationError struct {
	Type string         `json:"type"`
	Loc  []string       `json:"loc"`
	Msg  string         `json:"msg"`
	Ctx  map[string]any `json:"ctx,omitempty"`
}

func missingHeader(name string) validationError {
	return validationError{Type: "missing", Loc: []string{"header", strings.ToLower(name)}, Msg: "Field required"}
}

func tooLong(name string, max int) validationError {
	return validationError{Type: "string_too_long", Loc: []string{"header", strings.ToLower(name)},
		Msg: fmt.Sprintf("String should have at most %d characters", max), Ctx: map[string]any{"max_length": max}}
}

// writeValidation answers 400 with every validation error of the request, as
// FastAPI's RequestValidationError handler in views/error.py does.
func writeValidation(w http.ResponseWriter, errs []validationError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]any{"detail": errs})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", mesh.AcceptV2)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func internalID() string {
	return time.Now().UTC().Format("20060102150405") + "_" + strings.ToUpper(randHex(3))
}

// headerRule is a header an endpoint requires, with its longest value (0: any).
type headerRule struct {
	name string
	max  int
}

// checkHeaders returns the validation errors of the required and length-limited
// headers of a request: a required header that is absent is "missing" (an empty
// value is present, as FastAPI has it); any header longer than its limit is
// "string_too_long".
func checkHeaders(r *http.Request, required []headerRule, optional []headerRule) []validationError {
	var errs []validationError
	for _, h := range required {
		vs, ok := r.Header[http.CanonicalHeaderKey(h.name)]
		if !ok || len(vs) == 0 {
			errs = append(errs, missingHeader(h.name))
			continue
		}
		if h.max > 0 && len(vs[0]) > h.max {
			errs = append(errs, tooLong(h.name, h.max))
		}
	}
	for _, h := range optional {
		if v := r.Header.Get(h.name); h.max > 0 && len(v) > h.max {
			errs = append(errs, tooLong(h.name, h.max))
		}
	}
	return errs
}

// Required headers of each endpoint, beyond Authorization and Accept.
var (
	handshakeRequired = []headerRule{{mesh.HeaderClientVersion, 0}, {mesh.HeaderOSName, 0}, {mesh.HeaderOSVersion, 0}}
	sendRequired      = []headerRule{
		{mesh.HeaderTo, mesh.MaxToLen}, {mesh.HeaderWorkflowID, mesh.MaxWorkflowIDLen}, // sandbox
		{mesh.HeaderFrom, mesh.MaxToLen}, {mesh.HeaderFileName, mesh.MaxFileNameLen}, {"Content-Type", 0}, // 2021 specification
	}
	sendOptional = []headerRule{
		{mesh.HeaderChunkRange, mesh.MaxChunkRangeLen}, {mesh.HeaderSubject, mesh.MaxSubjectLen},
		{mesh.HeaderLocalID, mesh.MaxLocalIDLen}, {mesh.HeaderPartnerID, mesh.MaxPartnerIDLen},
		{mesh.HeaderContentChecksum, mesh.MaxChecksumLen}, {mesh.HeaderContentType, mesh.MaxContentTypeLen},
		{mesh.HeaderContentEncrypted, 20}, {mesh.HeaderContentCompressed, 20},
	}
	chunkRequired = []headerRule{{"Content-Type", 0}} // 2021 specification; Mex-Chunk-Range is checked as the sandbox does (417)
)

// RequiredHeaders lists the headers this server refuses a request without, by
// endpoint ("handshake", "send", "send chunk"), besides Authorization and Accept
// which every endpoint requires.
func RequiredHeaders(endpoint string) []string {
	var rules []headerRule
	switch endpoint {
	case "handshake":
		rules = handshakeRequired
	case "send":
		rules = sendRequired
	case "send chunk":
		rules = append([]headerRule{{mesh.HeaderChunkRange, 0}}, chunkRequired...)
	}
	out := make([]string, len(rules))
	for i, r := range rules {
		out[i] = r.name
	}
	return out
}

var acceptRE = regexp.MustCompile(`^application/vnd\.mesh\.v(\d+)\+json$`)

// acceptVersion reads the API version the Accept header asks for, as the sandbox's
// parse_accept_header: 1 when no vnd.mesh type is named, -1 when one is malformed.
func acceptVersion(accept string) int {
	if accept == "" {
		return 1
	}
	for _, a := range strings.Split(accept, ";") {
		a = strings.TrimSpace(a)
		if a == "" || !strings.Contains(a, "vnd.mesh") {
			continue
		}
		m := acceptRE.FindStringSubmatch(a)
		if m == nil {
			return -1
		}
		v, err := strconv.Atoi(m[1])
		if err != nil {
			return -1
		}
		return v
	}
	return 1
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/messageexchange/")
	if !ok {
		writeError(w, http.StatusNotFound, "", "", "Not Found")
		return
	}
	if rest == "_ping" {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return
	}
	parts := strings.Split(rest, "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			writeError(w, http.StatusBadRequest, "", "", "bad path escape")
			return
		}
		parts[i] = u
	}
	mbID := parts[0]
	if !s.authenticate(w, r, mbID) {
		return
	}
	switch v := acceptVersion(r.Header.Get("Accept")); {
	case v < 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"errorEvent": "", "errorCode": "", "errorDescription": "Accept header api format incorrect"})
		return
	case v != 2:
		writeError(w, http.StatusNotAcceptable, "", "", "meshtest speaks version 2 of the MESH API only: Accept must be "+mesh.AcceptV2)
		return
	}
	if st := s.takeFailure(); st != 0 {
		writeError(w, st, "INJECTED", strconv.Itoa(st), "injected failure")
		return
	}
	switch {
	case len(parts) == 1 && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		s.handshake(w, r, mbID)
	case len(parts) == 2 && parts[1] == "outbox" && r.Method == http.MethodPost:
		s.send(w, r, mbID)
	case len(parts) == 4 && parts[1] == "outbox" && r.Method == http.MethodPost:
		s.sendChunk(w, r, mbID, parts[2], parts[3])
	case len(parts) == 2 && parts[1] == "inbox" && r.Method == http.MethodGet:
		s.list(w, r, mbID)
	case len(parts) == 3 && parts[1] == "inbox" && r.Method == http.MethodHead:
		s.head(w, mbID, parts[2])
	case len(parts) == 3 && parts[1] == "inbox" && r.Method == http.MethodGet:
		s.download(w, r, mbID, parts[2], "1")
	case len(parts) == 4 && parts[1] == "inbox" && r.Method == http.MethodGet:
		s.download(w, r, mbID, parts[2], parts[3])
	case len(parts) == 5 && parts[1] == "inbox" && parts[3] == "status" && parts[4] == "acknowledged" && r.Method == http.MethodPut:
		s.ack(w, mbID, parts[2])
	default:
		writeError(w, http.StatusNotFound, "", "", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	}
}

func (s *Server) takeFailure() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failNext) == 0 {
		return 0
	}
	st := s.failNext[0]
	s.failNext = s.failNext[1:]
	return st
}

// Authentication errors, as the sandbox's constants.py and views/error.py give them
// (the unknown mailbox is the one in its code map: SEND EPL-151).
const (
	errReadingAuth  = "Error reading from Authorization header"
	errTokenMailbox = "Mailbox id does not match token"
	errInvalidToken = "Invalid Authentication Token"
	errDuplicated   = "Error Duplicated Authentication Token"
)

// authenticate checks the NHSMESH header for mailbox mbID and answers 403 if it fails.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, mbID string) bool {
	refuse := func(event, code, msg string) bool {
		s.mu.Lock()
		s.authFailed++
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, event, code, msg)
		return false
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return refuse("", "", errReadingAuth)
	}
	tok, err := mesh.ParseAuthHeader(h)
	if err != nil {
		return refuse("", "", errReadingAuth)
	}
	if tok.Mailbox != mbID {
		return refuse("", "", errTokenMailbox)
	}
	maxSkew := s.MaxSkew
	if maxSkew == 0 {
		maxSkew = 10 * time.Minute
	}
	skew := s.now().Sub(tok.Time())
	if skew < 0 {
		skew = -skew
	}
	// The timestamp is truncated to the minute: allow that minute on top of the skew.
	if skew > maxSkew+time.Minute {
		return refuse("", "", errInvalidToken)
	}
	s.mu.Lock()
	mb, ok := s.mailboxes[mbID]
	s.mu.Unlock()
	switch {
	case !ok:
		return refuse("SEND", "EPL-151", "No mailbox matched")
	case !tok.Verify(mb.password, s.SharedKey):
		return refuse("", "", errInvalidToken)
	}
	s.mu.Lock()
	key := mbID + "\x00" + tok.Nonce
	last, seen := s.nonces[key]
	if !seen || tok.NonceCount > last {
		s.nonces[key] = tok.NonceCount
	}
	s.mu.Unlock()
	if seen && tok.NonceCount <= last {
		return refuse("", "", errDuplicated)
	}
	return true
}

func (s *Server) handshake(w http.ResponseWriter, r *http.Request, mbID string) {
	if errs := checkHeaders(r, handshakeRequired, nil); len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	s.mu.Lock()
	s.handshakes = append(s.handshakes, Handshake{
		Mailbox: mbID, ClientVersion: r.Header.Get(mesh.HeaderClientVersion), OSName: r.Header.Get(mesh.HeaderOSName),
		OSVersion: r.Header.Get(mesh.HeaderOSVersion), OSArchitecture: r.Header.Get(mesh.HeaderOSArchitecture),
		JavaVersion: r.Header.Get(mesh.HeaderJavaVersion), UserAgent: r.UserAgent(), At: s.now(),
	})
	s.mu.Unlock()
	w.WriteHeader(http.StatusOK) // v2: an empty body
}

var urlRE = regexp.MustCompile(`(?i)^https?://`)

// malformedControl lists the Mex headers holding a control character, and Mex-To,
// Mex-WorkflowID or Mex-Content-Checksum holding a URL (common/mex_headers.py
// _validate_headers).
func malformedControl(r *http.Request) []string {
	var bad []string
	for _, name := range []string{mesh.HeaderTo, mesh.HeaderWorkflowID, mesh.HeaderChunkRange, mesh.HeaderSubject,
		mesh.HeaderLocalID, mesh.HeaderPartnerID, mesh.HeaderFileName, mesh.HeaderContentChecksum, mesh.HeaderContentType} {
		v := r.Header.Get(name)
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 {
				bad = append(bad, name)
				break
			}
		}
	}
	for _, name := range []string{mesh.HeaderTo, mesh.HeaderWorkflowID, mesh.HeaderContentChecksum} {
		if urlRE.MatchString(r.Header.Get(name)) {
			bad = append(bad, name)
		}
	}
	return bad
}

func validChecksum(c string) bool {
	for _, ch := range strings.TrimSpace(c) {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' ||
			ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f' || ch == ':' || ch == '-' || ch == '/') {
			return false
		}
	}
	return true
}

// chunkRangeError is the sandbox's get_chunk_range: "" when the header (absent: 1:1)
// fits chunk n of the request.
func chunkRangeError(cr string, n int) (total int, bad bool) {
	cr = strings.TrimSpace(cr)
	if cr == "" {
		return 1, n != 1
	}
	a, b, ok := strings.Cut(cr, ":")
	if !ok || strings.Contains(b, ":") {
		return 0, true
	}
	no, err1 := strconv.Atoi(strings.TrimSpace(a))
	total, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || no < 1 || no > total || no != n {
		return 0, true
	}
	return total, false
}

func flag(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y", "yes", "t", "true", "on", "1":
		return true
	}
	return false
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, mbID string) {
	if errs := checkHeaders(r, sendRequired, sendOptional); len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	if bad := malformedControl(r); len(bad) > 0 {
		writeError(w, http.StatusBadRequest, "TRANSFER", "06", "MalformedControlFile")
		return
	}
	if !validChecksum(r.Header.Get(mesh.HeaderContentChecksum)) {
		writeError(w, http.StatusBadRequest, "SEND", "Invalid checksum", "Invalid checksum")
		return
	}
	to := strings.ToUpper(strings.TrimSpace(r.Header.Get(mesh.HeaderTo)))
	wf := strings.TrimSpace(r.Header.Get(mesh.HeaderWorkflowID))
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, "SEND", "08", "TO_DTS missing")
		return
	case !strings.EqualFold(strings.TrimSpace(r.Header.Get(mesh.HeaderFrom)), mbID):
		writeError(w, http.StatusForbidden, "", "", errTokenMailbox)
		return
	}
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	if enc != "" && enc != "gzip" {
		writeError(w, http.StatusUnprocessableEntity, "SEND", "UnsupportedContentEncoding", "Unsupported content encoding")
		return
	}
	total, bad := chunkRangeError(r.Header.Get(mesh.HeaderChunkRange), 1)
	if bad {
		writeError(w, http.StatusExpectationFailed, "SEND", "InvalidHeaderChunks", "Invalid chunk values sent in mex-Chunk-Range header")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "SEND", "", "unreadable body")
		return
	}
	s.mu.Lock()
	_, known := s.mailboxes[to]
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusExpectationFailed, "SEND", "12", "Unregistered to address")
		return
	}
	if len(body) == 0 {
		writeError(w, http.StatusExpectationFailed, "COLLECT", "02", "Data file is missing or inaccessible.")
		return
	}
	if enc == "gzip" {
		if _, err := gunzip(body); err != nil {
			writeError(w, http.StatusBadRequest, "SEND", "Invalid file format", "File Level Error (file not formed correctly)")
			return
		}
	}
	contentType := r.Header.Get(mesh.HeaderContentType)
	if contentType == "" && total == 1 {
		contentType = strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Type")))
	}
	s.mu.Lock()
	m := &stored{Message: Message{
		ID: s.newID(), From: mbID, To: to, WorkflowID: wf, FileName: r.Header.Get(mesh.HeaderFileName),
		LocalID: r.Header.Get(mesh.HeaderLocalID), Subject: r.Header.Get(mesh.HeaderSubject),
		PartnerID: r.Header.Get(mesh.HeaderPartnerID), MessageType: mesh.MessageTypeData,
		ContentEncoding: enc, ContentChecksum: r.Header.Get(mesh.HeaderContentChecksum), ContentType: contentType,
		Compressed: flag(r.Header.Get(mesh.HeaderContentCompressed)), Chunks: total, Created: s.now(),
	}}
	m.chunks = make([][]byte, total)
	m.chunks[0] = body
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	var landed *Message
	if total == 1 {
		m.Complete = true
		snap := s.landLocked(m)
		landed = &snap
	}
	s.mu.Unlock()
	if landed != nil {
		s.notify(*landed)
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"message_id": m.ID})
}

func (s *Server) sendChunk(w http.ResponseWriter, r *http.Request, mbID, id, chunk string) {
	n, err := strconv.Atoi(chunk)
	if err != nil {
		writeValidation(w, []validationError{{Type: "int_parsing", Loc: []string{"path", "chunk_number"},
			Msg: "Input should be a valid integer, unable to parse string as an integer"}})
		return
	}
	if errs := checkHeaders(r, chunkRequired, []headerRule{{mesh.HeaderChunkRange, mesh.MaxChunkRangeLen}}); len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	cr := strings.TrimSpace(r.Header.Get(mesh.HeaderChunkRange))
	if _, bad := chunkRangeError(cr, n); cr == "" || bad {
		writeErrorFor(w, http.StatusExpectationFailed, id, "SEND", "InvalidHeaderChunks", "Invalid chunk values sent in mex-Chunk-Range header")
		return
	}
	_, ctotal, _ := mesh.ParseChunkRange(cr)
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "SEND", "", "unreadable body")
		return
	}
	s.mu.Lock()
	m, ok := s.messages[id]
	switch {
	case !ok:
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "", "", "Not Found")
		return
	case m.From != mbID:
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "", "", "Forbidden")
		return
	case m.Complete:
		s.mu.Unlock()
		writeBare(w, http.StatusLocked, id)
		return
	case n > m.Chunks || ctotal != m.Chunks || m.MessageType != mesh.MessageTypeData:
		s.mu.Unlock()
		writeBare(w, http.StatusNotAcceptable, id)
		return
	case enc != m.ContentEncoding:
		s.mu.Unlock()
		writeErrorFor(w, http.StatusExpectationFailed, id, "", "", "cannot change content encoding")
		return
	}
	if enc == "gzip" {
		if _, err := gunzip(body); err != nil {
			s.mu.Unlock()
			writeErrorFor(w, http.StatusBadRequest, id, "SEND", "Invalid file format", "File Level Error (file not formed correctly)")
			return
		}
	}
	m.chunks[n-1] = body // a re-sent chunk replaces itself
	var landed *Message
	if all(m.chunks) {
		m.Complete = true
		snap := s.landLocked(m)
		landed = &snap
	}
	s.mu.Unlock()
	if landed != nil {
		s.notify(*landed)
	}
	writeJSON(w, http.StatusAccepted, nil) // v2: null
}

func all(chunks [][]byte) bool {
	for _, c := range chunks {
		if c == nil {
			return false
		}
	}
	return true
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, mbID string) {
	q := r.URL.Query()
	var errs []validationError
	size := s.PageSize
	if size <= 0 {
		size = 500
	}
	if v := q.Get("max_results"); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			errs = append(errs, validationError{Type: "int_parsing", Loc: []string{"query", "max_results"}, Msg: "Input should be a valid integer, unable to parse string as an integer"})
		case n < 10:
			errs = append(errs, validationError{Type: "greater_than_equal", Loc: []string{"query", "max_results"}, Msg: "Input should be greater than or equal to 10"})
		case n > 5000:
			errs = append(errs, validationError{Type: "less_than_equal", Loc: []string{"query", "max_results"}, Msg: "Input should be less than or equal to 5000"})
		default:
			size = n
		}
	}
	after := q.Get("continue_from")
	if _, given := q["continue_from"]; given && (len(after) < 24 || len(after) > 1000) {
		errs = append(errs, validationError{Type: "string_too_short", Loc: []string{"query", "continue_from"}, Msg: "String should have between 24 and 1000 characters"})
	}
	if len(errs) > 0 {
		writeValidation(w, errs)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[mbID]
	ids := mb.inbox
	if after != "" {
		for i, id := range ids {
			if id == after {
				ids = ids[i+1:]
				break
			}
		}
	}
	query := url.Values{}
	if q.Get("max_results") != "" {
		query.Set("max_results", strconv.Itoa(size))
	}
	self := "/messageexchange/" + url.PathEscape(mbID) + "/inbox"
	links := map[string]string{"self": self}
	if len(query) > 0 {
		links["self"] = self + "?" + query.Encode()
	}
	if len(ids) > size {
		ids = ids[:size]
		query.Set("continue_from", ids[len(ids)-1])
		links["next"] = self + "?" + query.Encode()
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"messages":           append([]string{}, ids...),
		"links":              links,
		"approx_inbox_count": len(mb.inbox),
	})
}

// messageHeaders are the headers of chunk n of m, as handlers/inbox.py
// _get_response_headers gives them (empty ones left out).
func messageHeaders(m *stored, n int) http.Header {
	h := http.Header{}
	set := func(k, v string) {
		if v != "" {
			h.Set(k, v)
		}
	}
	set(mesh.HeaderFrom, m.From)
	set(mesh.HeaderTo, m.To)
	set(mesh.HeaderWorkflowID, m.WorkflowID)
	set(mesh.HeaderChunkRange, fmt.Sprintf("%d:%d", n, m.Chunks))
	set(mesh.HeaderTotalChunks, strconv.Itoa(m.Chunks))
	set("Mex-AddressType", "ALL")
	set(mesh.HeaderLocalID, m.LocalID)
	set(mesh.HeaderPartnerID, m.PartnerID)
	fn := m.FileName
	if fn == "" {
		fn = m.ID + ".dat"
	}
	set(mesh.HeaderFileName, fn)
	set(mesh.HeaderSubject, m.Subject)
	set(mesh.HeaderVersion, "1.0")
	set(mesh.HeaderMessageType, m.MessageType)
	set(mesh.HeaderMessageID, m.ID)
	if m.MessageType != mesh.MessageTypeReport {
		set("Content-Encoding", m.ContentEncoding)
	}
	switch {
	case m.MessageType == mesh.MessageTypeData && m.StatusSuccess == "":
		set(mesh.HeaderStatusCode, "00")
		set(mesh.HeaderStatusEvent, "TRANSFER")
		set(mesh.HeaderStatusDescription, "Transferred to recipient mailbox")
		set(mesh.HeaderStatusSuccess, "SUCCESS")
	default:
		set(mesh.HeaderStatusCode, m.StatusCode)
		set(mesh.HeaderStatusDescription, m.StatusDesc)
		set(mesh.HeaderStatusSuccess, m.StatusSuccess)
	}
	// A reply a partner linked to an earlier message (a REPORT always is).
	set(mesh.HeaderLinkedMsgID, m.LinkedMessageID)
	h.Set("Mex-StatusTimestamp", m.Created.UTC().Format("20060102150405"))
	if m.Compressed {
		h.Set(mesh.HeaderContentCompressed, "Y")
	}
	set(mesh.HeaderContentChecksum, m.ContentChecksum)
	set(mesh.HeaderContentType, m.ContentType)
	return h
}

// readable finds a message mbID may read: 404 when there is none, 403 when it is
// another mailbox's, 410 while it is still uploading or once acknowledged.
func (s *Server) readable(mbID, id string) (*stored, int, string) {
	m, ok := s.messages[id]
	switch {
	case !ok:
		return nil, http.StatusNotFound, "Message does not exist"
	case m.To != mbID:
		return nil, http.StatusForbidden, "Forbidden"
	case !m.Complete || m.Acknowledged:
		return nil, http.StatusGone, "Message no longer available for download"
	}
	return m, 0, ""
}

func (s *Server) head(w http.ResponseWriter, mbID, id string) {
	s.mu.Lock()
	m, status, _ := s.readable(mbID, id)
	if sent, ok := s.messages[id]; ok && sent.From == mbID && sent.To != mbID {
		m, status = sent, 0 // its sender may look at a message in any state
	}
	if status == http.StatusForbidden {
		status = http.StatusNotFound // another mailbox's message does not exist for you
	}
	if m == nil {
		s.mu.Unlock()
		w.WriteHeader(status)
		return
	}
	h := messageHeaders(m, 1)
	s.mu.Unlock()
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, mbID, id, chunk string) {
	n, err := strconv.Atoi(chunk)
	if err != nil || n < 1 {
		writeValidation(w, []validationError{{Type: "greater_than_equal", Loc: []string{"path", "chunk_number"}, Msg: "Input should be a valid integer greater than or equal to 1"}})
		return
	}
	s.mu.Lock()
	m, status, msg := s.readable(mbID, id)
	if m == nil {
		s.mu.Unlock()
		switch status {
		case http.StatusNotFound:
			writeError(w, status, "RECEIVE", "20", msg)
		case http.StatusGone:
			writeError(w, status, "SEND", "Message already accepted", msg)
		default:
			writeError(w, status, "", "", msg)
		}
		return
	}
	if n > m.Chunks {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "RECEIVE", "20", "Message does not exist")
		return
	}
	body := m.chunks[n-1]
	h := messageHeaders(m, n)
	total, contentType := m.Chunks, m.ContentType
	s.mu.Unlock()

	acceptsGzip := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
	switch enc := h.Get("Content-Encoding"); {
	case enc == "gzip" && !acceptsGzip:
		d, err := gunzip(body)
		if err != nil {
			writeError(w, http.StatusInternalServerError, "", "", "stored chunk is not gzip")
			return
		}
		body = d
		h.Del("Content-Encoding")
	case enc == "" && acceptsGzip:
		body = gzipped(body)
		h.Set("Content-Encoding", "gzip")
	}
	if h.Get("Content-Encoding") == "gzip" {
		h.Set(mesh.HeaderContentCompressed, "Y")
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", mesh.OctetStream)
	if total < 2 && contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	st := http.StatusOK
	if n < total {
		st = http.StatusPartialContent
	}
	w.WriteHeader(st)
	_, _ = w.Write(body)
}

func (s *Server) ack(w http.ResponseWriter, mbID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "RECEIVE", "20", "Message does not exist")
		return
	case m.To != mbID:
		writeError(w, http.StatusForbidden, "", "", "Forbidden")
		return
	case !m.Complete:
		w.WriteHeader(http.StatusOK)
		return
	}
	if !m.Acknowledged {
		m.Acknowledged = true
		mb := s.mailboxes[mbID]
		for i, x := range mb.inbox {
			if x == id {
				mb.inbox = append(mb.inbox[:i:i], mb.inbox[i+1:]...)
				break
			}
		}
	}
	w.WriteHeader(http.StatusOK) // v2: an empty body
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}

// --- test PKI ---

func newCA() (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("meshtest: CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "meshtest CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("meshtest: CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("meshtest: CA certificate: %w", err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func issue(ca *x509.Certificate, caKey *ecdsa.PrivateKey, cn string, server bool) (tls.Certificate, []byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("meshtest: %s key: %w", cn, err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.IPv6loopback}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("meshtest: %s certificate: %w", cn, err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("meshtest: %s key: %w", cn, err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("meshtest: %s pair: %w", cn, err)
	}
	return pair, certPEM, keyPEM, nil
}
