// Package notifytest is a fake GOV.UK Notify API for tests and the `ice dev`
// simulator. It enforces the protocol rather than echoing whatever it is sent, after
// Notify's own code (alphagov/notifications-api: app/authentication/auth.py,
// app/v2/notifications/notification_schemas.py, get_notifications.py,
// app/notifications/validators.py validate_address):
//
//   - every request must carry a Bearer JWT signed HS256 with one of the service's API
//     key secrets, with iss = the service id and iat within 30 s of the server's clock,
//     else 401/403 AuthError in Notify's error shape;
//   - send bodies are validated as Notify's JSON schemas do (no property the schema
//     does not list, a UUID template_id and sms_sender_id, a reference of at most
//     1,000 characters): an SMS needs a UK mobile number; a letter needs
//     personalisation with 3 to 7 address lines, the first two with a letter or digit,
//     none starting with @ ( ) = [ ] ” \ / , < >, not "no fixed abode", the last a
//     real UK postcode (400 ValidationError with Notify's messages);
//   - GET /v2/notifications/{id} answers 400 for an id that is not a UUID and 404
//     NoResultFound for an unknown one, or (with Options.Retention) for one older than
//     the service's data retention period, which Notify has deleted; GET /v2/notifications filters by reference,
//     template_type, status ("failed" meaning every failure status) and older_than,
//     refuses any other parameter or an unknown status or type (400), answers newest
//     first in pages of PageSize with links.current, and links.next on every page that
//     is not empty, as Notify does;
//   - every request counts against its API key's rate limit over a sliding window
//     (429 RateLimitError), sends and status reads alike;
//   - faults can be injected: N 5xx or 429 answers, or N sends that are accepted and
//     recorded but answered with a 500 (the response lost on the way back);
//   - every accepted notification is recorded, so a test can check that no reference
//     was sent twice;
//   - SMS statuses progress created → sending → a final status one step per GET by id
//     (or per Advance), or all at once SettleAfter after creation: delivered, or
//     permanent-failure / temporary-failure / technical-failure for the numbers set up
//     so (SetFinalStatus); letters progress accepted → received.
//
// With Options.StatePath the server keeps what it received — the service's keys,
// every notification and its status, the numbers set to fail — in a journal file
// (JSON lines, appended before each answer and compacted at start), so a simulator
// restarted by a dev stack remembers what it was sent: a resend after the restart
// shows up as a duplicate, not as a new message. The file holds no recipient: a
// notification's phone number and personalisation are kept in memory only (a
// notification read back after a restart has neither), so the journal, which outlives
// a wave's retention, holds nothing that identifies anyone. It is written with mode
// 0600.
//
// The server is independent of package notify's client code, so a client bug is not
// mirrored by the fake.
package notifytest

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMS statuses a number can be set to end in (SetFinalStatus).
const (
	Delivered        = "delivered"
	PermanentFailure = "permanent-failure"
	TemporaryFailure = "temporary-failure"
	TechnicalFailure = "technical-failure"
)

// Options configures a Server. The zero value is Notify's behaviour.
type Options struct {
	// RateLimit requests per RateWindow per API key (default 3,000 per 60 s).
	RateLimit  int
	RateWindow time.Duration
	// ClockSkew is how far a token's iat may be from the server clock (default 30 s).
	ClockSkew time.Duration
	// PermanentFailureNumbers and TemporaryFailureNumbers are mobile numbers (any UK
	// format) whose SMS end in permanent-failure or temporary-failure instead of
	// delivered.
	PermanentFailureNumbers []string
	TemporaryFailureNumbers []string
	// Templates, when set, are the only template ids accepted (else 400 BadRequestError
	// "Template not found"); when empty any UUID is accepted.
	Templates []string
	// PageSize is the number of notifications per page of GET /v2/notifications
	// (default 250, as Notify).
	PageSize int
	// SettleAfter, when positive, moves every notification to its final status once
	// it is that old (and to sending at half that age), whoever asks; otherwise each GET
	// by id moves it one step.
	SettleAfter time.Duration
	// Retention, when positive, is the service's data retention period: a notification
	// older than that is gone, as Notify deletes it (7 days by default, 3 to 90 as a
	// service chooses): GET by id answers 404 NoResultFound and the listing leaves it
	// out. Zero keeps every notification for ever.
	Retention time.Duration
	// StatePath, when set, is the journal the server's state is kept in (see the
	// package documentation). A server started on an existing journal carries on from
	// it, with the same service id and API keys.
	StatePath string
	// Addr is the address to listen on (default 127.0.0.1 on a free port). A restarted
	// simulator given its old address keeps its URL.
	Addr string
	// Now is the server clock (default time.Now).
	Now func() time.Time
}

// Notification is a notification the server accepted. It holds the recipient details
// it was sent with, for assertions.
type Notification struct {
	ID              string            `json:"id"`
	Reference       string            `json:"reference,omitempty"`
	Type            string            `json:"type"` // "sms" or "letter"
	TemplateID      string            `json:"template_id"`
	PhoneNumber     string            `json:"phone_number,omitempty"`
	Personalisation map[string]string `json:"personalisation,omitempty"`
	// Outcome is the final status an SMS was set to end in (SetFinalStatus) when it was
	// accepted; the journal keeps it in place of the number.
	Outcome     string     `json:"outcome,omitempty"`
	Status      string     `json:"status"`
	KeyName     string     `json:"key_name"`
	CreatedAt   time.Time  `json:"created_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Stats counts what the server has answered since it started.
type Stats struct {
	Requests       int // every request, including rejected ones
	Accepted       int // notifications created
	AuthRejected   int // 401/403
	RateLimited    int // 429 because the key was over its limit
	Invalid        int // 400
	NotFound       int // 404
	InjectedFaults int // injected 5xx/429 answers, and accepted-then-500 answers
}

type key struct {
	name   string
	secret string
	hits   []time.Time // request times inside the current window
}

type fault struct {
	status      int
	afterAccept bool
}

// Server is a running fake Notify API.
type Server struct {
	// URL is the base URL to give the client.
	URL string

	srv  *httptest.Server
	opts Options

	mu        sync.Mutex
	serviceID string
	keys      []*key
	faults    []fault
	final     map[string]string // normalised number → final SMS status
	templates map[string]bool
	notes     []*Notification // in creation order
	byID      map[string]*Notification
	stats     Stats
	journal   *os.File
	jerr      error // the first journal write error: every later request fails
	settled   int   // notes[:settled] are final (SettleAfter)
}

// NewServer starts a fake Notify API, or panics. Close it when done. With a StatePath
// use Open, which returns the error of reading the journal instead.
func NewServer(opts Options) *Server {
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open starts a fake Notify API, carrying on from opts.StatePath when it exists.
func Open(opts Options) (*Server, error) {
	if opts.RateLimit <= 0 {
		opts.RateLimit = 3000
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = 60 * time.Second
	}
	if opts.ClockSkew <= 0 {
		opts.ClockSkew = 30 * time.Second
	}
	if opts.PageSize <= 0 {
		opts.PageSize = 250
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts:      opts,
		final:     map[string]string{},
		templates: map[string]bool{},
		byID:      map[string]*Notification{},
	}
	for _, t := range opts.Templates {
		s.templates[strings.ToLower(t)] = true
	}
	if opts.StatePath != "" {
		if err := s.load(); err != nil {
			return nil, err
		}
	}
	if s.serviceID == "" {
		s.serviceID = newUUID()
	}
	if len(s.keys) == 0 {
		s.keys = []*key{{name: "test", secret: newUUID()}}
	}
	for _, n := range opts.PermanentFailureNumbers {
		s.final[normaliseMobile(n)] = PermanentFailure
	}
	for _, n := range opts.TemporaryFailureNumbers {
		s.final[normaliseMobile(n)] = TemporaryFailure
	}
	if opts.StatePath != "" {
		if err := s.compact(); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/notifications/sms", s.handleSend("sms"))
	mux.HandleFunc("POST /v2/notifications/letter", s.handleSend("letter"))
	mux.HandleFunc("GET /v2/notifications/{id}", s.handleGet)
	mux.HandleFunc("GET /v2/notifications", s.handleList)
	s.srv = httptest.NewUnstartedServer(mux)
	if opts.Addr != "" {
		l, err := net.Listen("tcp", opts.Addr)
		if err != nil {
			s.closeJournal()
			return nil, fmt.Errorf("notifytest: listen on %s: %w", opts.Addr, err)
		}
		s.srv.Listener.Close()
		s.srv.Listener = l
	}
	s.srv.Start()
	s.URL = s.srv.URL
	return s, nil
}

// Start starts a server that is closed when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s, err := Open(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down (and closes its journal).
func (s *Server) Close() {
	s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeJournal()
}

func (s *Server) closeJournal() {
	if s.journal != nil {
		_ = s.journal.Sync()
		_ = s.journal.Close()
		s.journal = nil
	}
}

// ServiceID is the service every key belongs to.
func (s *Server) ServiceID() string { return s.serviceID }

// APIKey is the default API key, "test-{service_id}-{secret}".
func (s *Server) APIKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys[0].name + "-" + s.serviceID + "-" + s.keys[0].secret
}

// NewAPIKey adds a key with its own secret (and its own rate-limit window).
func (s *Server) NewAPIKey(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := &key{name: name, secret: newUUID()}
	s.keys = append(s.keys, k)
	s.record(record{Op: opKey, Key: &savedKey{Name: k.name, Secret: k.secret}})
	return k.name + "-" + s.serviceID + "-" + k.secret
}

// FailNext makes the next n authenticated requests fail with status (a 5xx answers
// Exception "Internal server error", 429 answers RateLimitError) without doing anything.
func (s *Server) FailNext(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: status})
	}
}

// FailNextAfterAccept makes the next n valid sends create and record their notification
// but answer 500, as if the response were lost: a client that retries blindly sends twice.
func (s *Server) FailNextAfterAccept(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.faults = append(s.faults, fault{status: http.StatusInternalServerError, afterAccept: true})
	}
}

// SetFinalStatus makes SMS to numbers (any UK format) end in status: delivered,
// permanent-failure, temporary-failure or technical-failure. It applies to messages
// not yet final. The journal keeps the status each such message will end in, not the
// numbers: a server restarted on it must be given them again for messages sent after.
func (s *Server) SetFinalStatus(status string, numbers ...string) error {
	switch status {
	case Delivered, PermanentFailure, TemporaryFailure, TechnicalFailure:
	default:
		return fmt.Errorf("notifytest: %q is not a final SMS status", status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		m := normaliseMobile(n)
		if m == "" {
			return fmt.Errorf("notifytest: %q is not a UK mobile number", n)
		}
		s.final[m] = status
		// The messages to m not yet final will end so; the journal keeps that, not m.
		for _, note := range s.notes {
			if note.Type == "sms" && normaliseMobile(note.PhoneNumber) == m && (note.Status == "created" || note.Status == "sending") {
				note.Outcome = status
				s.record(record{Op: opNote, Note: journalled(note)})
			}
		}
	}
	return nil
}

// SetPermanentFailure marks numbers whose SMS end in permanent-failure.
func (s *Server) SetPermanentFailure(numbers ...string) {
	_ = s.SetFinalStatus(PermanentFailure, numbers...)
}

// SetTemporaryFailure marks numbers whose SMS end in temporary-failure.
func (s *Server) SetTemporaryFailure(numbers ...string) {
	_ = s.SetFinalStatus(TemporaryFailure, numbers...)
}

// Notifications returns copies of every accepted notification, oldest first.
func (s *Server) Notifications() []Notification {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Notification, len(s.notes))
	for i, n := range s.notes {
		out[i] = *n
	}
	return out
}

// CountByReference is how many accepted notifications carry reference ref.
func (s *Server) CountByReference(ref string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := 0
	for _, n := range s.notes {
		if n.Reference == ref {
			c++
		}
	}
	return c
}

// ReferenceCounts maps each reference to the number of notifications accepted with it.
func (s *Server) ReferenceCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[string]int{}
	for _, n := range s.notes {
		m[n.Reference]++
	}
	return m
}

// Duplicates lists, sorted, the references accepted more than once.
func (s *Server) Duplicates() []string {
	var d []string
	for ref, c := range s.ReferenceCounts() {
		if c > 1 {
			d = append(d, ref)
		}
	}
	sort.Strings(d)
	return d
}

// Stats returns the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Advance moves every notification that is not final one status forward.
func (s *Server) Advance() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.notes {
		s.advance(n)
	}
}

// advance moves n one status forward (journalled). It must be called with s.mu held.
func (s *Server) advance(n *Notification) {
	now := s.opts.Now().UTC()
	switch n.Status {
	case "created":
		n.Status = "sending"
		n.SentAt = &now
	case "sending":
		n.Status = Delivered
		if st, ok := s.final[normaliseMobile(n.PhoneNumber)]; ok && n.PhoneNumber != "" {
			n.Status = st
		} else if n.Outcome != "" { // read back from the journal, without its number
			n.Status = n.Outcome
		}
		n.CompletedAt = &now
	case "accepted":
		n.Status = "received"
		n.CompletedAt = &now
	default:
		return
	}
	s.record(record{Op: opStatus, ID: n.ID, Status: n.Status, At: &now})
}

// settle applies SettleAfter: what is old enough moves on. Notes are in creation
// order, so it walks only the ones not yet final. It must be called with s.mu held.
func (s *Server) settle() {
	if s.opts.SettleAfter <= 0 {
		return
	}
	now := s.opts.Now()
	for i := s.settled; i < len(s.notes); i++ {
		n := s.notes[i]
		age := now.Sub(n.CreatedAt)
		if age < s.opts.SettleAfter/2 {
			break
		}
		if n.Status == "created" {
			s.advance(n)
		}
		if age >= s.opts.SettleAfter && (n.Status == "sending" || n.Status == "accepted") {
			s.advance(n)
		}
	}
	for s.settled < len(s.notes) && final(s.notes[s.settled].Status) {
		s.settled++
	}
}

func final(status string) bool {
	switch status {
	case "created", "sending", "pending", "accepted":
		return false
	}
	return true
}

// ---- the journal ----

const (
	opService = "service"
	opKey     = "key"
	opNote    = "notification"
	opStatus  = "status"
)

type savedKey struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// journalled is n as the journal keeps it: without its recipient (the phone number)
// and personalisation (an access code; a letter's name and address), which the server
// holds only in memory. The journal is a file on disk that outlives the wave's
// retention (ice dev keeps it in its data directory), and what it is for — the
// notifications' ids, references, statuses and the final status each will reach —
// needs neither.
func journalled(n *Notification) *Notification {
	c := *n
	c.PhoneNumber, c.Personalisation = "", nil
	return &c
}

// record is one line of the journal.
type record struct {
	Op        string        `json:"op"`
	ServiceID string        `json:"service_id,omitempty"`
	Key       *savedKey     `json:"key,omitempty"`
	Note      *Notification `json:"notification,omitempty"`
	ID        string        `json:"id,omitempty"`
	Status    string        `json:"status,omitempty"`
	At        *time.Time    `json:"at,omitempty"`
}

// record appends r to the journal, if there is one. It must be called with s.mu held.
// A write that fails is kept: the server then refuses every request (500) rather than
// answer one it could not record.
func (s *Server) record(r record) {
	if s.journal == nil || s.jerr != nil {
		return
	}
	b, err := json.Marshal(r)
	if err == nil {
		_, err = s.journal.Write(append(b, '\n'))
	}
	if err != nil {
		s.jerr = fmt.Errorf("notifytest: write %s: %w", s.opts.StatePath, err)
	}
}

// load replays the journal. A last line cut short (the process killed in the middle
// of a write) is ignored; anything else that cannot be read is an error.
func (s *Server) load() error {
	f, err := os.Open(s.opts.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("notifytest: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(bytes.TrimSpace(b)) > 0 {
				var r record
				if json.Unmarshal(b, &r) == nil {
					if err := s.apply(r); err != nil {
						return fmt.Errorf("notifytest: %s line %d: %w", s.opts.StatePath, line, err)
					}
				}
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("notifytest: read %s: %w", s.opts.StatePath, err)
		}
		var r record
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("notifytest: %s line %d: %w", s.opts.StatePath, line, err)
		}
		if err := s.apply(r); err != nil {
			return fmt.Errorf("notifytest: %s line %d: %w", s.opts.StatePath, line, err)
		}
	}
}

func (s *Server) apply(r record) error {
	switch r.Op {
	case opService:
		if !uuidRE.MatchString(r.ServiceID) {
			return fmt.Errorf("service id %q is not a UUID", r.ServiceID)
		}
		s.serviceID = r.ServiceID
	case opKey:
		if r.Key == nil || !uuidRE.MatchString(r.Key.Secret) {
			return errors.New("key record without a key")
		}
		s.keys = append(s.keys, &key{name: r.Key.Name, secret: r.Key.Secret})
	case opNote:
		if r.Note == nil || !uuidRE.MatchString(r.Note.ID) {
			return errors.New("notification record without a notification")
		}
		n := *r.Note
		if old := s.byID[n.ID]; old != nil {
			*old = n
			return nil
		}
		s.notes = append(s.notes, &n)
		s.byID[n.ID] = &n
	case opStatus:
		n := s.byID[r.ID]
		if n == nil {
			return fmt.Errorf("status of unknown notification %s", r.ID)
		}
		n.Status = r.Status
		switch r.Status {
		case "sending":
			n.SentAt = r.At
		default:
			n.CompletedAt = r.At
		}
	default:
		return fmt.Errorf("unknown record %q", r.Op)
	}
	return nil
}

// compact rewrites the journal as the state it describes and opens it for appending.
func (s *Server) compact() error {
	path := s.opts.StatePath
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("notifytest: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".notify-state-*")
	if err != nil {
		return fmt.Errorf("notifytest: %w", err)
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	recs := []record{{Op: opService, ServiceID: s.serviceID}}
	for _, k := range s.keys {
		recs = append(recs, record{Op: opKey, Key: &savedKey{Name: k.name, Secret: k.secret}})
	}
	for _, n := range s.notes {
		recs = append(recs, record{Op: opNote, Note: journalled(n)})
	}
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			tmp.Close()
			return fmt.Errorf("notifytest: write %s: %w", tmp.Name(), err)
		}
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("notifytest: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("notifytest: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("notifytest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("notifytest: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("notifytest: %w", err)
	}
	// The journal only grows from here; a write reaches the file (the page cache)
	// before the request is answered, which is what outliving a killed process needs.
	s.journal, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("notifytest: %w", err)
	}
	return nil
}

// ---- request handling ----

func writeError(w http.ResponseWriter, status int, kind, msg string) {
	writeJSON(w, status, map[string]any{
		"status_code": status,
		"errors":      []map[string]string{{"error": kind, "message": msg}},
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// admit authenticates the request, applies an injected fault and the rate limit. It
// returns the key, or ok=false once it has answered. It must be called with s.mu held.
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (k *key, ok bool) {
	s.stats.Requests++
	if s.jerr != nil {
		writeError(w, http.StatusInternalServerError, "Exception", "Internal server error")
		return nil, false
	}
	k, status, kind, msg := s.authenticate(r)
	if k == nil {
		s.stats.AuthRejected++
		writeError(w, status, kind, msg)
		return nil, false
	}
	if len(s.faults) > 0 && !s.faults[0].afterAccept {
		f := s.faults[0]
		s.faults = s.faults[1:]
		s.stats.InjectedFaults++
		if f.status == http.StatusTooManyRequests {
			writeError(w, f.status, "RateLimitError", s.rateLimitMessage())
		} else {
			writeError(w, f.status, "Exception", "Internal server error")
		}
		return nil, false
	}
	now := s.opts.Now()
	cut := now.Add(-s.opts.RateWindow)
	i := 0
	for i < len(k.hits) && !k.hits[i].After(cut) {
		i++
	}
	k.hits = k.hits[i:]
	if len(k.hits) >= s.opts.RateLimit {
		s.stats.RateLimited++
		writeError(w, http.StatusTooManyRequests, "RateLimitError", s.rateLimitMessage())
		return nil, false
	}
	k.hits = append(k.hits, now)
	s.settle()
	return k, true
}

func (s *Server) rateLimitMessage() string {
	return fmt.Sprintf("Exceeded rate limit for key type TEAM of %d requests per %d seconds", s.opts.RateLimit, int(s.opts.RateWindow.Seconds()))
}

// authenticate checks the bearer token as Notify does.
func (s *Server) authenticate(r *http.Request) (k *key, status int, kind, msg string) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, http.StatusUnauthorized, "AuthError", "Unauthorized: authentication token must be provided"
	}
	tok, found := strings.CutPrefix(h, "Bearer ")
	if !found {
		return nil, http.StatusUnauthorized, "AuthError", "Unauthorized: authentication bearer scheme must be used"
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, http.StatusForbidden, "AuthError", "Invalid token: signature, api token is not valid"
	}
	var header struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}
	var claims struct {
		Iss *string  `json:"iss"`
		Iat *float64 `json:"iat"`
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return nil, http.StatusForbidden, "AuthError", "Invalid token: signature, api token is not valid"
	}
	if header.Alg != "HS256" {
		return nil, http.StatusForbidden, "AuthError", "Invalid token: algorithm used is not HS256"
	}
	if claims.Iss == nil {
		return nil, http.StatusForbidden, "AuthError", "Invalid token: iss field not provided"
	}
	if *claims.Iss != s.serviceID {
		return nil, http.StatusForbidden, "AuthError", "Invalid token: service not found"
	}
	for _, cand := range s.keys {
		mac := hmac.New(sha256.New, []byte(cand.secret))
		mac.Write([]byte(parts[0] + "." + parts[1]))
		if hmac.Equal(mac.Sum(nil), sig) {
			k = cand
			break
		}
	}
	if k == nil {
		return nil, http.StatusForbidden, "AuthError", "Invalid token: API key not found"
	}
	if claims.Iat == nil {
		return nil, http.StatusForbidden, "AuthError", "Invalid token: iat field not provided"
	}
	iat := time.Unix(int64(*claims.Iat), 0)
	if d := s.opts.Now().Sub(iat); d > s.opts.ClockSkew || d < -s.opts.ClockSkew {
		return nil, http.StatusForbidden, "AuthError", "Error: Your system clock must be accurate to within 30 seconds"
	}
	return k, 0, "", ""
}

// sendProperties are the properties each send schema lists (additionalProperties is
// false in Notify's post_sms_request and post_letter_request).
var sendProperties = map[string][]string{
	"sms":    {"reference", "phone_number", "template_id", "personalisation", "scheduled_for", "sms_sender_id"},
	"letter": {"reference", "template_id", "personalisation"},
}

func (s *Server) handleSend(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k, ok := s.admit(w, r)
		if !ok {
			return
		}
		var raw map[string]json.RawMessage
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		if err := dec.Decode(&raw); err != nil || raw == nil {
			s.stats.Invalid++
			writeError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON supplied in POST data")
			return
		}
		b, msg := s.validate(kind, raw)
		if msg != "" {
			s.stats.Invalid++
			errKind := "ValidationError"
			if msg == "Template not found" {
				errKind = "BadRequestError"
			}
			writeError(w, http.StatusBadRequest, errKind, msg)
			return
		}
		now := s.opts.Now().UTC()
		n := &Notification{
			ID:              newUUID(),
			Reference:       b.reference,
			Type:            kind,
			TemplateID:      strings.ToLower(b.templateID),
			Personalisation: b.personalisation,
			Status:          "created",
			KeyName:         k.name,
			CreatedAt:       now,
		}
		if kind == "sms" {
			n.PhoneNumber = b.phoneNumber
			n.Outcome = s.final[normaliseMobile(b.phoneNumber)]
		} else {
			n.Status = "accepted"
		}
		s.notes = append(s.notes, n)
		s.byID[n.ID] = n
		s.stats.Accepted++
		s.record(record{Op: opNote, Note: journalled(n)})
		if s.jerr != nil {
			writeError(w, http.StatusInternalServerError, "Exception", "Internal server error")
			return
		}
		if len(s.faults) > 0 && s.faults[0].afterAccept {
			s.faults = s.faults[1:]
			s.stats.InjectedFaults++
			writeError(w, http.StatusInternalServerError, "Exception", "Internal server error")
			return
		}
		resp := map[string]any{
			"id":            n.ID,
			"reference":     nullable(n.Reference),
			"uri":           s.URL + "/v2/notifications/" + n.ID,
			"template":      s.templateJSON(n.TemplateID),
			"scheduled_for": nil,
		}
		if kind == "sms" {
			resp["content"] = map[string]any{"body": "ICE survey message", "from_number": "NHSSurvey"}
		} else {
			resp["content"] = map[string]any{"body": "ICE survey letter", "subject": "ICE survey"}
			resp["postage"] = "second"
		}
		writeJSON(w, http.StatusCreated, resp)
	}
}

var (
	uuidRE     = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	postcodeRE = regexp.MustCompile(`^(?:[A-PR-UWYZ][0-9]{1,2}|[A-PR-UWYZ][0-9][A-HJKSTUW]|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]) ?[0-9][ABD-HJLNP-UW-Z]{2}$`)
	alnumRE    = regexp.MustCompile(`[\p{L}\p{N}]`)
	nfaRE      = regexp.MustCompile(`(?i)^(?:no fixed (?:abode|address)|nfa)$`)
)

// sendBody is a validated send request.
type sendBody struct {
	reference, templateID, phoneNumber string
	personalisation                    map[string]string
}

// validate checks a send body as Notify does, returning Notify's message for the
// first problem, or "".
func (s *Server) validate(kind string, raw map[string]json.RawMessage) (sendBody, string) {
	var b sendBody
	for name := range raw {
		if !contains(sendProperties[kind], name) {
			return b, fmt.Sprintf("Additional properties are not allowed (%s was unexpected)", name)
		}
	}
	str := func(name string) (string, bool, string) {
		v, ok := raw[name]
		if !ok {
			return "", false, ""
		}
		var out string
		if err := json.Unmarshal(v, &out); err != nil {
			return "", true, fmt.Sprintf("%s %s is not of type string", name, strings.Trim(string(v), `"`))
		}
		return out, true, ""
	}
	var msg string
	var ok bool
	if b.templateID, ok, msg = str("template_id"); msg != "" {
		return b, msg
	} else if !ok {
		return b, "template_id is a required property"
	}
	if !uuidRE.MatchString(b.templateID) {
		return b, "template_id is not a valid UUID"
	}
	if len(s.templates) > 0 && !s.templates[strings.ToLower(b.templateID)] {
		return b, "Template not found"
	}
	if b.reference, _, msg = str("reference"); msg != "" {
		return b, msg
	}
	if len([]rune(b.reference)) > 1000 {
		return b, "reference " + b.reference + " is too long"
	}
	if v, ok := raw["personalisation"]; ok {
		var p map[string]any
		if err := json.Unmarshal(v, &p); err != nil || p == nil {
			return b, "personalisation " + string(v) + " is not of type object"
		}
		b.personalisation = make(map[string]string, len(p))
		for k, x := range p {
			switch x := x.(type) {
			case string:
				b.personalisation[k] = x
			case nil:
				b.personalisation[k] = ""
			default:
				b.personalisation[k] = fmt.Sprint(x)
			}
		}
	}
	if kind == "sms" {
		if id, ok, msg := str("sms_sender_id"); msg != "" {
			return b, msg
		} else if ok && !uuidRE.MatchString(id) {
			return b, "sms_sender_id is not a valid UUID"
		}
		if b.phoneNumber, ok, msg = str("phone_number"); msg != "" {
			return b, msg
		} else if !ok {
			return b, "phone_number is a required property"
		}
		if normaliseMobile(b.phoneNumber) == "" {
			return b, "phone_number Not a UK mobile number"
		}
		return b, ""
	}
	if b.personalisation == nil {
		return b, "personalisation is a required property"
	}
	return b, validateAddress(b.personalisation)
}

// validateAddress is Notify's validate_address for a service without international
// letters.
func validateAddress(p map[string]string) string {
	var lines []string
	for i := 1; i <= 7; i++ {
		if v := strings.TrimSpace(p["address_line_"+strconv.Itoa(i)]); v != "" {
			lines = append(lines, v)
		}
	}
	if len(lines) < 3 {
		return "Address must be at least 3 lines"
	}
	if !alnumRE.MatchString(lines[0]) || !alnumRE.MatchString(lines[1]) {
		return "The first 2 lines of the address must both include at least one alphanumeric character"
	}
	if !postcodeRE.MatchString(strings.ToUpper(lines[len(lines)-1])) {
		return "Must be a real UK postcode"
	}
	for _, l := range lines {
		if strings.ContainsAny(l[:1], "@()=[]”\\/,<>") || strings.HasPrefix(l, "”") {
			return "Address lines must not start with any of the following characters: @ ( ) = [ ] ” \\ / , < >"
		}
	}
	for _, l := range lines {
		if nfaRE.MatchString(l) {
			return "Must be a real address"
		}
	}
	return ""
}

// normaliseMobile returns the number as 447xxxxxxxxx, or "" if it is not a UK mobile.
func normaliseMobile(s string) string {
	d := strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "").Replace(s)
	d = strings.TrimPrefix(d, "+")
	switch {
	case strings.HasPrefix(d, "0044"):
		d = d[4:]
	case strings.HasPrefix(d, "44"):
		d = d[2:]
	case strings.HasPrefix(d, "0"):
		d = d[1:]
	default:
		return ""
	}
	if len(d) != 10 || d[0] != '7' || strings.Trim(d, "0123456789") != "" {
		return ""
	}
	return "44" + d
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.admit(w, r); !ok {
		return
	}
	id := r.PathValue("id")
	if !uuidRE.MatchString(id) {
		s.stats.Invalid++
		writeError(w, http.StatusBadRequest, "ValidationError", "notification_id is not a valid UUID")
		return
	}
	n := s.byID[strings.ToLower(id)]
	if n == nil || s.deleted(n) {
		s.stats.NotFound++
		writeError(w, http.StatusNotFound, "NoResultFound", "No result found")
		return
	}
	if s.opts.SettleAfter <= 0 {
		s.advance(n)
	}
	writeJSON(w, http.StatusOK, s.notificationJSON(n))
}

// listStatuses and listTypes are the values the list filters take
// (get_notifications_request).
var (
	listStatuses = []string{"cancelled", "created", "sending", "sent", "delivered", "pending", "failed",
		"technical-failure", "temporary-failure", "permanent-failure", "pending-virus-check", "validation-failed",
		"virus-scan-failed", "returned-letter", "accepted", "received"}
	listTypes      = []string{"sms", "email", "letter"}
	failedStatuses = []string{"technical-failure", "temporary-failure", "permanent-failure", "validation-failed",
		"virus-scan-failed", "returned-letter"}
)

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.admit(w, r); !ok {
		return
	}
	q := r.URL.Query()
	invalid := func(msg string) {
		s.stats.Invalid++
		writeError(w, http.StatusBadRequest, "ValidationError", msg)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch name {
		case "reference", "status", "template_type", "include_jobs", "older_than":
		default:
			invalid(fmt.Sprintf("Additional properties are not allowed (%s was unexpected)", name))
			return
		}
	}
	for _, st := range q["status"] {
		if !contains(listStatuses, st) {
			invalid(fmt.Sprintf("status %s is not one of [%s]", st, strings.Join(listStatuses, ", ")))
			return
		}
	}
	for _, t := range q["template_type"] {
		if !contains(listTypes, t) {
			invalid(fmt.Sprintf("template_type %s is not one of [%s]", t, strings.Join(listTypes, ", ")))
			return
		}
	}
	if ij := q.Get("include_jobs"); ij != "" && ij != "true" && ij != "True" {
		invalid(fmt.Sprintf("include_jobs %s is not one of [true, True]", ij))
		return
	}
	olderThan := q.Get("older_than")
	if olderThan != "" && !uuidRE.MatchString(olderThan) {
		invalid("older_than is not a valid UUID")
		return
	}
	ref, hasRef := q["reference"]
	statuses := q["status"]
	if contains(statuses, "failed") {
		statuses = append(statuses, failedStatuses...)
	}
	types := q["template_type"]
	current := s.URL + "/v2/notifications"
	if enc := q.Encode(); enc != "" {
		current += "?" + enc
	}
	page := []map[string]any{}
	start := len(s.notes) - 1
	if olderThan != "" {
		pivot := s.byID[strings.ToLower(olderThan)]
		start = -1 // an unknown id: nothing older than it
		if pivot != nil {
			for i := len(s.notes) - 1; i >= 0; i-- {
				if s.notes[i] == pivot {
					start = i - 1
					break
				}
			}
		}
	}
	for i := start; i >= 0 && len(page) < s.opts.PageSize; i-- { // newest first
		n := s.notes[i]
		if s.deleted(n) || hasRef && n.Reference != ref[0] || len(types) > 0 && !contains(types, n.Type) || len(statuses) > 0 && !contains(statuses, n.Status) {
			continue
		}
		page = append(page, s.notificationJSON(n))
	}
	links := map[string]any{"current": current}
	if len(page) > 0 {
		// As Notify: a next link on every page that is not empty.
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("older_than", page[len(page)-1]["id"].(string))
		links["next"] = s.URL + "/v2/notifications?" + nq.Encode()
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": page, "links": links})
}

// deleted reports whether Notify would have deleted n by now: it is older than the
// service's data retention period (Options.Retention).
func (s *Server) deleted(n *Notification) bool {
	return s.opts.Retention > 0 && s.opts.Now().Sub(n.CreatedAt) >= s.opts.Retention
}

func (s *Server) notificationJSON(n *Notification) map[string]any {
	m := map[string]any{
		"id":              n.ID,
		"reference":       nullable(n.Reference),
		"type":            n.Type,
		"status":          n.Status,
		"template":        s.templateJSON(n.TemplateID),
		"body":            "ICE survey message",
		"subject":         nil,
		"created_at":      n.CreatedAt.Format(time.RFC3339Nano),
		"created_by_name": nil,
		"sent_at":         timeOrNil(n.SentAt),
		"completed_at":    timeOrNil(n.CompletedAt),
		"scheduled_for":   nil,
		"email_address":   nil,
		"phone_number":    nil,
		"postcode":        nil,
	}
	for i := 1; i <= 6; i++ {
		m["line_"+strconv.Itoa(i)] = nil
	}
	if n.Type == "sms" {
		m["phone_number"] = n.PhoneNumber
	} else {
		for i := 1; i <= 6; i++ {
			m["line_"+strconv.Itoa(i)] = nullable(n.Personalisation["address_line_"+strconv.Itoa(i)])
		}
		m["postcode"] = nullable(n.Personalisation["address_line_7"])
		m["postage"] = "second"
		m["subject"] = "ICE survey"
	}
	return m
}

func (s *Server) templateJSON(id string) map[string]any {
	return map[string]any{"id": id, "version": 1, "uri": s.URL + "/v2/template/" + id}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.RFC3339Nano)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
