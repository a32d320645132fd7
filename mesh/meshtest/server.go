// Package meshtest is a local MESH server for tests and `ice dev`. It enforces the
// parts of the protocol a client can get wrong: the NHSMESH Authorization header
// (HMAC with the shared key and the mailbox password, a timestamp within MaxSkew,
// a nonce never reused), the API version in Accept, the Mex headers of a send,
// chunked upload (Mex-Chunk-Range 1:N then POST .../outbox/{id}/{n}) and chunked
// download (206 while more chunks follow, 200 for the last), per-mailbox inboxes,
// and acknowledgement removing a message from the inbox.
//
// A test hook (OnMessage) sees every message as it lands in an inbox, and Deliver
// puts a message into an inbox directly, so a fake partner (e.g. a DBS responder)
// can answer what a client sends.
package meshtest

import (
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
	MessageType     string // DATA (default) or REPORT
	LinkedMessageID string
	StatusSuccess   string
	StatusCode      string
	StatusDesc      string
	Body            []byte
	Chunks          int  // number of chunks it is stored (and downloaded) in
	Complete        bool // all chunks uploaded
	Acknowledged    bool
	Created         time.Time
}

type stored struct {
	Message
	chunks [][]byte
}

func (m *stored) snapshot() Message {
	out := m.Message
	out.Body = nil
	for _, c := range m.chunks {
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
	// PageSize is the number of IDs per inbox page (500 by default, as MESH).
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

// Deliver puts m into m.To's inbox as if another MESH user had sent it, and returns
// its message ID. m.From, m.To and m.WorkflowID are required.
func (s *Server) Deliver(m Message) (string, error) {
	if m.From == "" || m.To == "" || m.WorkflowID == "" {
		return "", fmt.Errorf("meshtest: deliver: From, To and WorkflowID are required")
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
	return fmt.Sprintf("%s%06d_%s", s.now().UTC().Format("20060102150405"), s.seq, randHex(4))
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

func writeError(w http.ResponseWriter, status int, event, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(mesh.ErrorBody{
		InternalID: randHex(8),
		Detail:     []mesh.ErrorDetail{{Event: event, Code: code, Msg: msg}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/messageexchange/")
	if !ok {
		writeError(w, http.StatusNotFound, "ROUTE", "404", "not a MESH path")
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
			writeError(w, http.StatusBadRequest, "ROUTE", "400", "bad path escape")
			return
		}
		parts[i] = u
	}
	mbID := parts[0]
	if !s.authenticate(w, r, mbID) {
		return
	}
	if r.Header.Get("Accept") != mesh.AcceptV2 {
		writeError(w, http.StatusNotAcceptable, "ACCEPT", "406", "Accept must be "+mesh.AcceptV2)
		return
	}
	if st := s.takeFailure(); st != 0 {
		writeError(w, st, "INJECTED", strconv.Itoa(st), "injected failure")
		return
	}
	switch {
	case len(parts) == 1 && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		writeJSON(w, http.StatusOK, map[string]string{"mailbox_id": mbID})
	case len(parts) == 2 && parts[1] == "outbox" && r.Method == http.MethodPost:
		s.send(w, r, mbID)
	case len(parts) == 4 && parts[1] == "outbox" && r.Method == http.MethodPost:
		s.sendChunk(w, r, mbID, parts[2], parts[3])
	case len(parts) == 2 && parts[1] == "inbox" && r.Method == http.MethodGet:
		s.list(w, r, mbID)
	case len(parts) == 3 && parts[1] == "inbox" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.download(w, r, mbID, parts[2], "1")
	case len(parts) == 4 && parts[1] == "inbox" && r.Method == http.MethodGet:
		s.download(w, r, mbID, parts[2], parts[3])
	case len(parts) == 5 && parts[1] == "inbox" && parts[3] == "status" && parts[4] == "acknowledged" && r.Method == http.MethodPut:
		s.ack(w, mbID, parts[2])
	default:
		writeError(w, http.StatusNotFound, "ROUTE", "404", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
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

// authenticate checks the NHSMESH header for mailbox mbID and answers 403 if it fails.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, mbID string) bool {
	refuse := func(msg string) bool {
		s.mu.Lock()
		s.authFailed++
		s.mu.Unlock()
		writeError(w, http.StatusForbidden, "AUTH", "EPL-151", msg)
		return false
	}
	tok, err := mesh.ParseAuthHeader(r.Header.Get("Authorization"))
	if err != nil {
		return refuse("malformed authorization: " + err.Error())
	}
	if tok.Mailbox != mbID {
		return refuse("authorization is for a different mailbox")
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
		return refuse("authorization timestamp outside the allowed clock skew")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	mb, ok := s.mailboxes[mbID]
	if !ok || !tok.Verify(mb.password, s.SharedKey) {
		s.authFailed++
		writeError(w, http.StatusForbidden, "AUTH", "EPL-151", "authorization failed")
		return false
	}
	key := mbID + "\x00" + tok.Nonce
	if last, seen := s.nonces[key]; seen && tok.NonceCount <= last {
		s.authFailed++
		writeError(w, http.StatusForbidden, "AUTH", "EPL-152", "nonce reused")
		return false
	}
	s.nonces[key] = tok.NonceCount
	return true
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, mbID string) {
	from, to, wf, fn := r.Header.Get(mesh.HeaderFrom), r.Header.Get(mesh.HeaderTo), r.Header.Get(mesh.HeaderWorkflowID), r.Header.Get(mesh.HeaderFileName)
	switch {
	case from == "" || to == "" || wf == "" || fn == "":
		writeError(w, http.StatusBadRequest, "SEND", "400", "Mex-From, Mex-To, Mex-WorkflowID and Mex-FileName are required")
		return
	case from != mbID:
		writeError(w, http.StatusForbidden, "SEND", "403", "Mex-From does not match the authenticated mailbox")
		return
	case r.Header.Get("Content-Type") != "application/octet-stream":
		writeError(w, http.StatusBadRequest, "SEND", "400", "Content-Type must be application/octet-stream")
		return
	}
	n, total := 1, 1
	if cr := r.Header.Get(mesh.HeaderChunkRange); cr != "" {
		var err error
		if n, total, err = mesh.ParseChunkRange(cr); err != nil || n != 1 {
			writeError(w, http.StatusBadRequest, "SEND", "400", "the first POST must carry Mex-Chunk-Range 1:N")
			return
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || len(body) == 0 {
		writeError(w, http.StatusBadRequest, "SEND", "400", "empty or unreadable body")
		return
	}
	s.mu.Lock()
	if _, ok := s.mailboxes[to]; !ok {
		s.mu.Unlock()
		writeError(w, http.StatusExpectationFailed, "SEND", "417", "recipient mailbox not found")
		return
	}
	m := &stored{Message: Message{
		ID: s.newID(), From: from, To: to, WorkflowID: wf, FileName: fn,
		LocalID: r.Header.Get(mesh.HeaderLocalID), Subject: r.Header.Get(mesh.HeaderSubject),
		MessageType: mesh.MessageTypeData, Chunks: total, Created: s.now(),
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
	cn, ctotal, cerr := mesh.ParseChunkRange(r.Header.Get(mesh.HeaderChunkRange))
	if err != nil || cerr != nil || cn != n || n < 2 {
		writeError(w, http.StatusBadRequest, "SEND", "400", "chunk number and Mex-Chunk-Range n:N disagree or are missing")
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil || len(body) == 0 {
		writeError(w, http.StatusBadRequest, "SEND", "400", "empty or unreadable chunk")
		return
	}
	s.mu.Lock()
	m, ok := s.messages[id]
	switch {
	case !ok || m.From != mbID:
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "SEND", "404", "no such outgoing message")
		return
	case ctotal != m.Chunks:
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "SEND", "400", "chunk total differs from the first chunk's")
		return
	case m.Complete:
		s.mu.Unlock()
		writeError(w, http.StatusConflict, "SEND", "409", "message already complete")
		return
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
	writeJSON(w, http.StatusAccepted, map[string]string{"message_id": id})
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
	s.mu.Lock()
	defer s.mu.Unlock()
	mb := s.mailboxes[mbID]
	ids := mb.inbox
	if after := r.URL.Query().Get("continue_from"); after != "" {
		for i, id := range ids {
			if id == after {
				ids = ids[i+1:]
				break
			}
		}
	}
	size := s.PageSize
	if size <= 0 {
		size = 500
	}
	links := map[string]string{"self": r.URL.RequestURI()}
	if len(ids) > size {
		ids = ids[:size]
		links["next"] = fmt.Sprintf("/messageexchange/%s/inbox?continue_from=%s", url.PathEscape(mbID), url.QueryEscape(ids[len(ids)-1]))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"messages":           append([]string{}, ids...),
		"links":              links,
		"approx_inbox_count": len(mb.inbox),
	})
}

func (s *Server) inboxMessage(mbID, id string) (*stored, bool) {
	m, ok := s.messages[id]
	if !ok || m.To != mbID || !m.Complete || m.Acknowledged {
		return nil, false
	}
	return m, true
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, mbID, id, chunk string) {
	n, err := strconv.Atoi(chunk)
	if err != nil || n < 1 {
		writeError(w, http.StatusBadRequest, "DOWNLOAD", "400", "bad chunk number")
		return
	}
	s.mu.Lock()
	m, ok := s.inboxMessage(mbID, id)
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "DOWNLOAD", "404", "no such message in the inbox")
		return
	}
	if n > m.Chunks {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "DOWNLOAD", "404", "no such chunk")
		return
	}
	body := m.chunks[n-1]
	h := w.Header()
	h.Set(mesh.HeaderMessageID, m.ID)
	h.Set(mesh.HeaderFrom, m.From)
	h.Set(mesh.HeaderTo, m.To)
	h.Set(mesh.HeaderWorkflowID, m.WorkflowID)
	h.Set(mesh.HeaderFileName, m.FileName)
	h.Set(mesh.HeaderMessageType, m.MessageType)
	for k, v := range map[string]string{
		mesh.HeaderLocalID: m.LocalID, mesh.HeaderSubject: m.Subject, mesh.HeaderLinkedMsgID: m.LinkedMessageID,
		mesh.HeaderStatusSuccess: m.StatusSuccess, mesh.HeaderStatusCode: m.StatusCode, mesh.HeaderStatusDescription: m.StatusDesc,
	} {
		if v != "" {
			h.Set(k, v)
		}
	}
	total := m.Chunks
	s.mu.Unlock()
	h.Set("Content-Type", "application/octet-stream")
	status := http.StatusOK
	if total > 1 {
		h.Set(mesh.HeaderChunkRange, fmt.Sprintf("%d:%d", n, total))
		if n < total {
			status = http.StatusPartialContent
		}
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) ack(w http.ResponseWriter, mbID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.inboxMessage(mbID, id)
	if !ok {
		writeError(w, http.StatusNotFound, "ACK", "404", "no such message in the inbox")
		return
	}
	m.Acknowledged = true
	mb := s.mailboxes[mbID]
	for i, x := range mb.inbox {
		if x == id {
			mb.inbox = append(mb.inbox[:i:i], mb.inbox[i+1:]...)
			break
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"message_id": id})
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
