// Package notify is a client for GOV.UK Notify, which sends the survey's SMS reminders
// (SPEC §6) and reports their delivery. Letters do not go through Notify: they go to
// the print supplier as print files (package mailing), because the second reminder
// carries a paper questionnaire and a freepost envelope, which Notify's letters cannot.
//
// Every request carries a fresh HS256 JWT (iss = service id, iat = now) made from the
// API key; a token bucket keeps the client under Notify's per-key rate limit; 429 and
// 5xx answers and network errors are retried with exponential backoff and jitter, a
// bounded number of times, and always give way to the context.
//
// Notify does not deduplicate: two POSTs with one reference are two messages. So a send
// whose outcome is unknown (a 5xx, a connection dropped after the request went out) is
// retried only after asking Notify whether a notification with the send's reference
// already exists; a send without a reference is not retried after such a failure. The
// mailing package builds exactly-once batches on top of this with a durable ledger.
//
// Nothing here logs a phone number, name or address: requests are logged by method,
// path and status only, and errors carry Notify's error text, never the request body.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultBaseURL is the Notify API.
const DefaultBaseURL = "https://api.notifications.service.gov.uk"

// Notify's documented per-key rate limit.
const (
	DefaultRateLimit  = 3000
	DefaultRateWindow = 60 * time.Second
)

// Notification statuses (SMS and letter).
const (
	StatusCreated          = "created"
	StatusSending          = "sending"
	StatusPending          = "pending"
	StatusSent             = "sent" // sent internationally; no delivery receipt
	StatusDelivered        = "delivered"
	StatusPermanentFailure = "permanent-failure"
	StatusTemporaryFailure = "temporary-failure"
	StatusTechnicalFailure = "technical-failure"
	StatusAccepted         = "accepted"          // letter: accepted by Notify
	StatusReceived         = "received"          // letter: received by the print provider
	StatusValidationFailed = "validation-failed" // letter: failed Notify's checks
	StatusCancelled        = "cancelled"
)

// SMS is a request to send one text message.
type SMS struct {
	PhoneNumber     string            `json:"phone_number"`
	TemplateID      string            `json:"template_id"`
	Personalisation map[string]string `json:"personalisation,omitempty"`
	// Reference identifies the message in our system; it is what makes a send safe to
	// retry, so set it (mailing.Reference).
	Reference   string `json:"reference,omitempty"`
	SMSSenderID string `json:"sms_sender_id,omitempty"`
}

// Template names the template a notification was made from.
type Template struct {
	ID      string `json:"id"`
	Version int    `json:"version,omitempty"`
	URI     string `json:"uri,omitempty"`
}

// Content is the rendered message in a send response.
type Content struct {
	Body       string `json:"body,omitempty"`
	Subject    string `json:"subject,omitempty"`
	FromNumber string `json:"from_number,omitempty"`
}

// Notification is a notification as Notify reports it, from a send response or a GET.
// Recipient fields (phone number, address lines) are deliberately not decoded. Body and
// Content may hold personalised text: do not log them.
type Notification struct {
	ID          string     `json:"id"`
	Reference   string     `json:"reference,omitempty"`
	Type        string     `json:"type,omitempty"`
	Status      string     `json:"status,omitempty"`
	Template    Template   `json:"template"`
	Body        string     `json:"body,omitempty"`
	Subject     string     `json:"subject,omitempty"`
	Content     *Content   `json:"content,omitempty"`
	URI         string     `json:"uri,omitempty"`
	Postage     string     `json:"postage,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Config configures a Client. Only APIKey is required.
type Config struct {
	// APIKey is the key as Notify issues it: {name}-{service_id}-{secret}.
	APIKey string
	// BaseURL defaults to DefaultBaseURL.
	BaseURL string
	// HTTPClient defaults to a client with a 30 s timeout.
	HTTPClient *http.Client
	// RateLimit requests per RateWindow; default 3,000 per 60 s. Ignored when Limiter is set.
	RateLimit  int
	RateWindow time.Duration
	// Limiter, when set, is shared with other clients using the same key.
	Limiter *Limiter
	// MaxAttempts bounds the attempts per request (default 6).
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the exponential backoff (defaults 250 ms and 20 s).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Now is the clock used for token iat (default time.Now).
	Now func() time.Time
	// Logger receives retry warnings (method, path, status, attempt); default: none.
	Logger *slog.Logger
}

// Client calls the Notify API. It is safe for concurrent use.
type Client struct {
	key         APIKey
	base        *url.URL
	http        *http.Client
	limiter     *Limiter
	maxAttempts int
	minBackoff  time.Duration
	maxBackoff  time.Duration
	now         func() time.Time
	log         *slog.Logger
}

// New returns a client for cfg.
func New(cfg Config) (*Client, error) {
	key, err := ParseAPIKey(cfg.APIKey)
	if err != nil {
		return nil, err
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("notify: invalid base URL %q", raw)
	}
	c := &Client{
		key:         key,
		base:        base,
		http:        cfg.HTTPClient,
		limiter:     cfg.Limiter,
		maxAttempts: cfg.MaxAttempts,
		minBackoff:  cfg.MinBackoff,
		maxBackoff:  cfg.MaxBackoff,
		now:         cfg.Now,
		log:         cfg.Logger,
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	if c.limiter == nil {
		n, w := cfg.RateLimit, cfg.RateWindow
		if n == 0 {
			n = DefaultRateLimit
		}
		if w == 0 {
			w = DefaultRateWindow
		}
		if c.limiter, err = NewLimiter(n, w); err != nil {
			return nil, err
		}
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = 6
	}
	if c.minBackoff <= 0 {
		c.minBackoff = 250 * time.Millisecond
	}
	if c.maxBackoff <= 0 {
		c.maxBackoff = 20 * time.Second
	}
	c.maxBackoff = max(c.maxBackoff, c.minBackoff)
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// ServiceID is the Notify service the key belongs to.
func (c *Client) ServiceID() string { return c.key.ServiceID }

// Limiter is the client's rate limiter, to share with other clients of the same key.
func (c *Client) Limiter() *Limiter { return c.limiter }

// SendSMS sends one text message (POST /v2/notifications/sms).
func (c *Client) SendSMS(ctx context.Context, m SMS) (*Notification, error) {
	if strings.TrimSpace(m.PhoneNumber) == "" {
		return nil, &ValidationError{Field: "phone_number", Message: "phone_number is required"}
	}
	if !IsUUID(m.TemplateID) {
		return nil, &ValidationError{Field: "template_id", Message: "template_id is not a valid UUID"}
	}
	return c.send(ctx, "/v2/notifications/sms", m, m.Reference)
}

// Get fetches one notification and its status (GET /v2/notifications/{id}).
func (c *Client) Get(ctx context.Context, id string) (*Notification, error) {
	if !IsUUID(id) {
		return nil, &ValidationError{Field: "notification_id", Message: "not a valid UUID"}
	}
	var n *Notification
	decode := func(b []byte) error {
		var err error
		if n, err = decodeNotification(b); err != nil {
			return err
		}
		if !strings.EqualFold(n.ID, id) {
			return fmt.Errorf("answered with notification %s", n.ID)
		}
		return nil
	}
	if err := c.call(ctx, http.MethodGet, "/v2/notifications/"+id, nil, nil, decode, nil); err != nil {
		return nil, err
	}
	return n, nil
}

// FindByReference lists every notification sent with reference ref, newest first
// (GET /v2/notifications?reference=ref), following Notify's pagination.
func (c *Client) FindByReference(ctx context.Context, ref string) ([]Notification, error) {
	if ref == "" {
		return nil, &ValidationError{Field: "reference", Message: "reference is required"}
	}
	var all []Notification
	err := c.List(ctx, ListFilter{Reference: ref}, func(n Notification) error {
		all = append(all, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

func (c *Client) send(ctx context.Context, path string, payload any, ref string) (*Notification, error) {
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("notify: encode %s request: %w", path, err)
	}
	var n *Notification
	reconcile := func(ctx context.Context) (bool, error) {
		if ref == "" {
			return false, errors.New("the notification may have been created and has no reference to check, so it is not sent again")
		}
		found, err := c.FindByReference(ctx, ref)
		if err != nil {
			return false, fmt.Errorf("checking whether reference %q was already sent: %w", ref, err)
		}
		if len(found) == 0 {
			return false, nil
		}
		n = &found[len(found)-1] // the oldest: the one the lost response was about
		return true, nil
	}
	decode := func(b []byte) (err error) {
		n, err = decodeNotification(b)
		return err
	}
	if err := c.call(ctx, http.MethodPost, path, nil, body, decode, reconcile); err != nil {
		return nil, err
	}
	return n, nil
}

// call makes a request with rate limiting and retries. For a POST, reconcile is asked
// after an ambiguous failure whether the request already took effect; if it did, call
// returns nil (reconcile has filled out), and if reconcile fails the send is not retried.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, body []byte, decode func([]byte) error,
	reconcile func(context.Context) (bool, error)) error {
	var last error
	for attempt := 1; attempt <= c.maxAttempts; attempt++ {
		if attempt > 1 {
			wait := c.backoff(attempt-1, last)
			c.log.WarnContext(ctx, "notify: retrying request", "method", method, "path", path,
				"attempt", attempt, "wait", wait, "error_status", statusOf(last))
			if err := sleep(ctx, wait); err != nil {
				return fmt.Errorf("notify: %s %s: %w (last error: %v)", method, path, err, last)
			}
		}
		if err := c.limiter.Wait(ctx); err != nil {
			return fmt.Errorf("notify: %s %s: waiting for the rate limiter: %w", method, path, err)
		}
		err, ambiguous := c.attempt(ctx, method, path, query, body, decode)
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return fmt.Errorf("notify: %s %s: %w", method, path, errors.Join(ctx.Err(), err))
		}
		if !retryable(err) {
			return err
		}
		if ambiguous && reconcile != nil {
			done, rerr := reconcile(ctx)
			if rerr != nil {
				return fmt.Errorf("notify: %s %s: %w: %w", method, path, err, rerr)
			}
			if done {
				return nil
			}
		}
	}
	return fmt.Errorf("notify: %s %s: giving up after %d attempts: %w", method, path, c.maxAttempts, last)
}

// attempt makes one HTTP request. ambiguous is true when the request may have reached
// Notify and been acted on even though it failed.
func (c *Client) attempt(ctx context.Context, method, path string, query url.Values, body []byte, decode func([]byte) error) (err error, ambiguous bool) {
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return fmt.Errorf("notify: %s %s: build request: %w", method, path, err), false
	}
	req.Header.Set("Authorization", "Bearer "+c.key.Token(c.now()))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "icesurvey-notify/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &netError{method: method, path: path, err: err}, !isDialError(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return &netError{method: method, path: path, err: err}, true
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if decode != nil {
			if err := decode(data); err != nil {
				// Notify acted on the request but its answer cannot be used: for a send,
				// whether the notification exists is asked by reference before any retry.
				return &badAnswerError{method: method, path: path, status: resp.StatusCode, err: err}, true
			}
		}
		return nil, false
	}
	apiErr := decodeAPIError(resp.StatusCode, data)
	apiErr.Method, apiErr.Path = method, path
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if secs, err := strconv.Atoi(ra); err == nil && secs >= 0 {
			return &retryAfterError{APIError: apiErr, after: time.Duration(secs) * time.Second}, false
		}
	}
	return apiErr, resp.StatusCode >= 500
}

// backoff is the wait before retry n (1-based): exponential from minBackoff, capped at
// maxBackoff, with "equal jitter" (half fixed, half random) so that concurrent
// workers do not retry in step; a Retry-After from the server is honoured if longer.
func (c *Client) backoff(n int, last error) time.Duration {
	d := c.minBackoff << min(n-1, 30)
	if d <= 0 || d > c.maxBackoff {
		d = c.maxBackoff
	}
	d = d/2 + rand.N(d/2+1)
	var ra *retryAfterError
	if errors.As(last, &ra) && ra.after > d {
		d = min(ra.after, 2*c.maxBackoff)
	}
	return d
}

func retryable(err error) bool {
	var ne *netError
	var ba *badAnswerError
	if errors.As(err, &ne) || errors.As(err, &ba) {
		return true
	}
	var ae *APIError
	return errors.As(err, &ae) && ae.Retryable()
}

func statusOf(err error) int {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// netError is a transport failure: no HTTP answer was read.
type netError struct {
	method, path string
	err          error
}

func (e *netError) Error() string { return fmt.Sprintf("notify: %s %s: %v", e.method, e.path, e.err) }
func (e *netError) Unwrap() error { return e.err }

// badAnswerError is a 2xx answer whose body is not what Notify sends. It is retried
// (a send only after asking by reference whether it took effect).
type badAnswerError struct {
	method, path string
	status       int
	err          error
}

func (e *badAnswerError) Error() string {
	return fmt.Sprintf("notify: %s %s: HTTP %d answer cannot be read: %v", e.method, e.path, e.status, e.err)
}
func (e *badAnswerError) Unwrap() error { return e.err }

// retryAfterError is an APIError whose response said how long to wait.
type retryAfterError struct {
	*APIError
	after time.Duration
}

func (e *retryAfterError) Unwrap() error { return e.APIError }

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
