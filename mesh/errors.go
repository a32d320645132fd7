package mesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"icesurvey/fault"
)

// Error is a failed MESH call: either an HTTP answer outside 2xx (Status set) or a
// transport failure (Status 0, Err set). It never carries a message body.
type Error struct {
	Op     string // the client method, e.g. "send", "download"
	Method string
	Path   string
	Status int    // HTTP status; 0 when no response was received
	Code   string // MESH error code from the body, when given
	Detail string // MESH error description from the body, when given
	Err    error  // the underlying transport error when Status is 0
	// Dialed is false when the failure happened before a connection was made, so
	// the server cannot have seen the request.
	Dialed bool
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "mesh: %s: %s %s", e.Op, e.Method, e.Path)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s]", e.Code)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, ": %s", e.Detail)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether repeating the call may succeed: server errors (5xx),
// throttling (429), request timeouts (408, 425) and network failures. An
// authentication failure (401, 403), a bad request or an unknown message is not.
func (e *Error) Retryable() bool {
	switch {
	case e.Status == 0:
		return !errors.Is(e.Err, context.Canceled)
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooEarly:
		return true
	case e.Status >= 500:
		return true
	}
	return false
}

// FaultKind implements fault.Classified: a retryable failure has no kind, a refusal
// of our credentials is fault.NotAuthorised, and any other refusal (a bad request, an
// unknown mailbox or message) fault.Configuration.
func (e *Error) FaultKind() fault.Kind {
	switch {
	case e.Retryable():
		return ""
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		return fault.NotAuthorised
	}
	return fault.Configuration
}

// IsRetryable reports whether err (or an error it wraps) is a MESH failure worth
// retrying. Errors that are not MESH errors are treated as not retryable.
func IsRetryable(err error) bool {
	var me *Error
	if errors.As(err, &me) {
		return me.Retryable()
	}
	return false
}

// IsAuth reports whether err is MESH refusing our credentials (401 or 403): wrong
// mailbox password, shared key, certificate, a clock too far out, or a reused nonce.
func IsAuth(err error) bool {
	var me *Error
	return errors.As(err, &me) && (me.Status == http.StatusUnauthorized || me.Status == http.StatusForbidden)
}

// IsNotFound reports whether err is MESH answering 404 (no such message) or 410 (gone).
func IsNotFound(err error) bool {
	var me *Error
	return errors.As(err, &me) && (me.Status == http.StatusNotFound || me.Status == http.StatusGone)
}

// ErrorBody is the error document MESH returns: the v2 shape (internal_id and a
// detail list), the v1 fields, and the request validation shape of a missing or
// malformed header ({"detail": [{"type": "missing", "loc": ["header", "mex-to"],
// "msg": "Field required"}]}).
type ErrorBody struct {
	MessageID  string        `json:"message_id,omitempty"`
	InternalID string        `json:"internal_id,omitempty"`
	Detail     []ErrorDetail `json:"detail,omitempty"`
	// Message is the text of an error without detail (e.g. an internal error).
	Message string `json:"message,omitempty"`
	// v1
	ErrorEvent       string `json:"errorEvent,omitempty"`
	ErrorCode        string `json:"errorCode,omitempty"`
	ErrorDescription string `json:"errorDescription,omitempty"`
}

// ErrorDetail is one entry of a v2 error document, or of a validation error (Type,
// Loc and Msg).
type ErrorDetail struct {
	Event string `json:"event,omitempty"`
	Code  string `json:"code,omitempty"`
	Msg   string `json:"msg"`
	// Type and Loc are set on a request validation error: the kind of failure
	// ("missing", "string_too_long") and where ("header", "mex-to").
	Type string `json:"type,omitempty"`
	Loc  []any  `json:"loc,omitempty"`
}

// decodeErrorBody reads the code and description of a MESH error answer. The
// description is MESH's own text (never a message body: MESH does not echo one).
func decodeErrorBody(b []byte) (code, detail string) {
	var eb ErrorBody
	if json.Unmarshal(b, &eb) != nil {
		return "", ""
	}
	if len(eb.Detail) > 0 {
		d := eb.Detail[0]
		if d.Code == "" && d.Type != "" {
			var loc []string
			for _, l := range d.Loc {
				loc = append(loc, fmt.Sprint(l))
			}
			return d.Type, strings.TrimSpace(strings.Join(loc, " ") + ": " + d.Msg)
		}
		return d.Code, d.Msg
	}
	if eb.ErrorCode != "" || eb.ErrorDescription != "" {
		return eb.ErrorCode, eb.ErrorDescription
	}
	return "", eb.Message
}

// dialed reports whether a transport error happened after the connection was made.
func dialed(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	var dns *net.DNSError
	return !errors.As(err, &dns)
}
