package notify

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"icesurvey/fault"
)

// ErrorItem is one entry of the errors list in a Notify error response.
type ErrorItem struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// APIError is a non-2xx answer from Notify, decoded from its error body
// {"status_code": 400, "errors": [{"error": "ValidationError", "message": "..."}]}.
type APIError struct {
	Status int         `json:"status_code"`
	Errors []ErrorItem `json:"errors"`
	// Method and Path name the request, for the error text (never the body).
	Method string `json:"-"`
	Path   string `json:"-"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "notify: %s %s: HTTP %d", e.Method, e.Path, e.Status)
	for i, it := range e.Errors {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(it.Error)
		if it.Message != "" {
			b.WriteString(" ")
			b.WriteString(it.Message)
		}
	}
	return b.String()
}

// Permanent reports whether sending the same request again can never succeed: any 4xx
// except 429. A 400 is a bad request (a phone number that is not a mobile, a letter
// without a postcode, an unknown template); 401 and 403 mean the API key or the clock
// is wrong — a configuration error, never retried.
func (e *APIError) Permanent() bool { return e.FaultKind().Permanent() }

// FaultKind implements fault.Classified: 401 and 403 are fault.NotAuthorised, any
// other 4xx but 429 fault.Configuration (a template, key or request Notify will always
// refuse); the rest have no kind.
func (e *APIError) FaultKind() fault.Kind {
	switch {
	case e.AuthError():
		return fault.NotAuthorised
	case e.Status >= 400 && e.Status < 500 && e.Status != http.StatusTooManyRequests:
		return fault.Configuration
	}
	return ""
}

// Retryable reports whether the request may succeed if sent again later: a per-minute
// rate limit (429 RateLimitError) or a server error (5xx). The daily send limit (429
// TooManyRequestsError) is not retryable within a batch.
func (e *APIError) Retryable() bool {
	if e.Status >= 500 {
		return true
	}
	return e.Status == http.StatusTooManyRequests && !e.has("TooManyRequestsError")
}

// AuthError reports whether Notify rejected the credentials or the token (401/403).
func (e *APIError) AuthError() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// RecipientError reports whether the request was refused because of this recipient's
// details — a phone number that is not a valid mobile, an address that is too short or
// lacks a postcode — rather than because of the template, the key or the service. Only
// such a failure should stop messages to one person; anything else should stop the batch.
func (e *APIError) RecipientError() bool {
	if e.Status != http.StatusBadRequest || len(e.Errors) == 0 {
		return false
	}
	for _, it := range e.Errors {
		m := strings.ToLower(it.Message)
		if strings.HasPrefix(m, "phone_number") || strings.Contains(m, "address") || strings.Contains(m, "postcode") {
			continue
		}
		return false
	}
	return true
}

// NotFound reports whether Notify answered 404 NoResultFound: it holds no such
// notification. For a notification we sent, that means Notify has deleted it after the
// service's data retention period (7 days by default, 3 to 90 as the service chooses),
// or a simulator forgot it; it says nothing about the key, the service or the template.
func (e *APIError) NotFound() bool {
	return e.Status == http.StatusNotFound && e.has("NoResultFound")
}

func (e *APIError) has(kind string) bool {
	for _, it := range e.Errors {
		if it.Error == kind {
			return true
		}
	}
	return false
}

// ValidationError is a request the client refused to send because Notify would reject
// it (a letter address without a postcode, a missing template id). It is permanent.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("notify: invalid request: %s: %s", e.Field, e.Message)
}

// Permanent is always true: the same request will fail the same way.
func (e *ValidationError) Permanent() bool { return true }

// FaultKind implements fault.Classified.
func (e *ValidationError) FaultKind() fault.Kind { return fault.Configuration }

// RecipientError reports whether the problem lies in the recipient's details.
func (e *ValidationError) RecipientError() bool {
	return e.Field == "phone_number" || e.Field == "personalisation" || strings.HasPrefix(e.Field, "address_line_")
}

// IsPermanent reports whether err (or an error it wraps) says the request can never
// succeed as it stands (fault.IsPermanent).
func IsPermanent(err error) bool { return fault.IsPermanent(err) }

// IsNotFound reports whether err (or an error it wraps) is Notify's 404 NoResultFound
// (APIError.NotFound).
func IsNotFound(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.NotFound()
}

// IsRecipientError reports whether err (or an error it wraps) is a permanent failure
// caused by one recipient's details, so that person alone should get no more messages
// on this channel.
func IsRecipientError(err error) bool {
	var r interface{ RecipientError() bool }
	return errors.As(err, &r) && r.RecipientError()
}
