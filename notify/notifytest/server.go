// Package notifytest is a fake GOV.UK Notify API for tests. It enforces the protocol
// rather than echoing whatever it is sent:
//
//   - every request must carry a Bearer JWT signed HS256 with one of the service's API
//     key secrets, with iss = the service id and iat within 30 s of the server's clock,
//     else 401/403 AuthError in Notify's error shape;
//   - send bodies are validated: an SMS needs a UK mobile number and a template id, a
//     letter at least 3 address lines with a UK postcode last (400 ValidationError);
//   - requests are rate-limited per API key over a sliding window (429 RateLimitError);
//   - faults can be injected: N 5xx or 429 answers, or N sends that are accepted and
//     recorded but answered with a 500 (the response lost on the way back);
//   - every accepted notification is recorded, so a test can check that no reference
//     was sent twice; GET by id and GET ?reference= work as Notify's do;
//   - SMS statuses progress created → sending → delivered one step per GET by id (or
//     per Advance), ending in permanent-failure for numbers marked as such; letters
//     progress accepted → received.
//
// The server is independent of package notify's client code, so a client bug is not
// mirrored by the fake.
package notifytest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configures a Server. The zero value is Notify's behaviour.
type Options struct {
	// RateLimit requests per RateWindow per API key (default 3,000 per 60 s).
	RateLimit  int
	RateWindow time.Duration
	// ClockSkew is how far a token's iat may be from the server clock (default 30 s).
	ClockSkew time.Duration
	// PermanentFailureNumbers are mobile numbers (any UK format) whose SMS end in
	// permanent-failure instead of delivered.
	PermanentFailureNumbers []string
	// Templates, when set, are the only template ids accepted (else 400 BadRequestError
	// "Template not found"); when empty any UUID is accepted.
	Templates []string
	// PageSize is the number of notifications per page of GET /v2/notifications
	// (default 250, as Notify).
	PageSize int
	// Now is the server clock (default time.Now).
	Now func() time.Time
}

// Notification is a notification the server accepted. It holds the recipient details
// it was sent with, for assertions.
type Notification struct {
	ID              string
	Reference       string
	Type            string // "sms" or "letter"
	TemplateID      string
	PhoneNumber     string
	Personalisation map[string]string
	Status          string
	KeyName         string
	CreatedAt       time.Time
	SentAt          *time.Time
	CompletedAt     *time.Time
}

// Stats counts what the server has answered.
type Stats struct {
	Requests       int // every request, including rejected ones
	Accepted       int // notifications created
	AuthRejected   int // 401/403
	RateLimited    int // 429 because the key was over its limit
	Invalid        int // 400
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
	permFail  map[string]bool
	templates map[string]bool
	notes     []*Notification // in creation order
	byID      map[string]*Notification
	stats     Stats
}

// NewServer starts a fake Notify API. Close it when done.
func NewServer(opts Options) *Server {
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
		serviceID: newUUID(),
		permFail:  map[string]bool{},
		templates: map[string]bool{},
		byID:      map[string]*Notification{},
	}
	for _, n := range opts.PermanentFailureNumbers {
		s.permFail[normaliseMobile(n)] = true
	}
	for _, t := range opts.Templates {
		s.templates[strings.ToLower(t)] = true
	}
	s.keys = []*key{{name: "test", secret: newUUID()}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/notifications/sms", s.handleSend("sms"))
	mux.HandleFunc("POST /v2/notifications/letter", s.handleSend("letter"))
	mux.HandleFunc("GET /v2/notifications/{id}", s.handleGet)
	mux.HandleFunc("GET /v2/notifications", s.handleList)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	return s
}

// Start starts a server that is closed when the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	s := NewServer(opts)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

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

// SetPermanentFailure marks numbers whose SMS end in permanent-failure.
func (s *Server) SetPermanentFailure(numbers ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range numbers {
		s.permFail[normaliseMobile(n)] = true
	}
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

func (s *Server) advance(n *Notification) {
	now := s.opts.Now().UTC()
	switch n.Status {
	case "created":
		n.Status = "sending"
		n.SentAt = &now
	case "sending":
		if s.permFail[normaliseMobile(n.PhoneNumber)] {
			n.Status = "permanent-failure"
		} else {
			n.Status = "delivered"
		}
		n.CompletedAt = &now
	case "accepted":
		n.Status = "received"
		n.CompletedAt = &now
	}
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
	return k, true
}

func (s *Server) rateLimitMessage() string {
	return fmt.Sprintf("Exceeded rate limit for key type TEAM of %d requests per %s", s.opts.RateLimit, s.opts.RateWindow)
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

type sendBody struct {
	PhoneNumber     *string           `json:"phone_number"`
	TemplateID      string            `json:"template_id"`
	Personalisation map[string]string `json:"personalisation"`
	Reference       string            `json:"reference"`
}

func (s *Server) handleSend(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		k, ok := s.admit(w, r)
		if !ok {
			return
		}
		var b sendBody
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		if err := dec.Decode(&b); err != nil {
			s.stats.Invalid++
			writeError(w, http.StatusBadRequest, "BadRequestError", "Invalid JSON supplied in POST data")
			return
		}
		if msg := s.validate(kind, &b); msg != "" {
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
			Reference:       b.Reference,
			Type:            kind,
			TemplateID:      strings.ToLower(b.TemplateID),
			Personalisation: b.Personalisation,
			Status:          "created",
			KeyName:         k.name,
			CreatedAt:       now,
		}
		if kind == "sms" {
			n.PhoneNumber = *b.PhoneNumber
		} else {
			n.Status = "accepted"
		}
		s.notes = append(s.notes, n)
		s.byID[n.ID] = n
		s.stats.Accepted++
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
)

// validate returns Notify's error message for an invalid send, or "".
func (s *Server) validate(kind string, b *sendBody) string {
	if b.TemplateID == "" {
		return "template_id is a required property"
	}
	if !uuidRE.MatchString(b.TemplateID) {
		return "template_id is not a valid UUID"
	}
	if len(s.templates) > 0 && !s.templates[strings.ToLower(b.TemplateID)] {
		return "Template not found"
	}
	if len(b.Reference) > 1000 {
		return "reference is too long"
	}
	if kind == "sms" {
		if b.PhoneNumber == nil || *b.PhoneNumber == "" {
			return "phone_number is a required property"
		}
		if normaliseMobile(*b.PhoneNumber) == "" {
			return "phone_number Not a UK mobile number"
		}
		return ""
	}
	if b.PhoneNumber != nil {
		return "Additional properties are not allowed (phone_number was unexpected)"
	}
	lines := []string{}
	for i := 1; i <= 7; i++ {
		if v := strings.TrimSpace(b.Personalisation["address_line_"+strconv.Itoa(i)]); v != "" {
			lines = append(lines, v)
		}
	}
	if strings.TrimSpace(b.Personalisation["address_line_1"]) == "" {
		return "personalisation address_line_1 is a required property"
	}
	if len(lines) < 3 {
		return "Address must be at least 3 lines"
	}
	if !postcodeRE.MatchString(strings.ToUpper(lines[len(lines)-1])) {
		return "Last line of address must be a real UK postcode or another country"
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
	if n == nil {
		writeError(w, http.StatusNotFound, "NoResultFound", "No result found")
		return
	}
	s.advance(n)
	writeJSON(w, http.StatusOK, s.notificationJSON(n))
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.admit(w, r); !ok {
		return
	}
	q := r.URL.Query()
	ref, hasRef := q["reference"]
	types := q["template_type"]
	statuses := q["status"]
	olderThan := q.Get("older_than")
	if olderThan != "" && s.byID[olderThan] == nil {
		writeJSON(w, http.StatusOK, map[string]any{"notifications": []any{}, "links": map[string]any{"current": s.URL + r.URL.RequestURI()}})
		return
	}
	var page []map[string]any
	skipping := olderThan != ""
	next := ""
	for i := len(s.notes) - 1; i >= 0; i-- { // newest first
		n := s.notes[i]
		if skipping {
			if n.ID == olderThan {
				skipping = false
			}
			continue
		}
		if hasRef && n.Reference != ref[0] || len(types) > 0 && !contains(types, n.Type) || len(statuses) > 0 && !contains(statuses, n.Status) {
			continue
		}
		if len(page) == s.opts.PageSize {
			nq := q
			nq.Set("older_than", page[len(page)-1]["id"].(string))
			next = s.URL + "/v2/notifications?" + nq.Encode()
			break
		}
		page = append(page, s.notificationJSON(n))
	}
	links := map[string]any{"current": s.URL + r.URL.RequestURI()}
	if next != "" {
		links["next"] = next
	}
	if page == nil {
		page = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": page, "links": links})
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
	}
	if n.Type == "sms" {
		m["phone_number"] = n.PhoneNumber
	} else {
		for i := 1; i <= 7; i++ {
			k := "address_line_" + strconv.Itoa(i)
			m["line_"+strconv.Itoa(i)] = nullable(n.Personalisation[k])
		}
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
