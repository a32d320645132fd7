// Package fault is the pipeline's error taxonomy: the one way a domain package says
// what kind of failure an error is, above all whether any retry could fix it.
//
// A domain package marks an error in one of two ways:
//
//   - a sentinel or a wrapped error made here: New, Wrap or Errorf with a Kind
//     (errors.Is on the sentinel stays true however it is wrapped);
//   - an error type that implements Classified, when its kind depends on its value
//     (an HTTP answer's status decides whether a retry may help).
//
// Permanent kinds (BadInput, ReplyMismatch, Configuration, NotAuthorised, Conflict)
// are failures no retry can fix: a person must correct a file, a setting or a
// conflict. Transient kinds (Busy, NotReady) name failures a later attempt gets past.
// An error of no kind is an ordinary failure, retried by the caller's policy.
//
// Nothing here knows Temporal: activities.ApplicationError maps a kind to the
// Temporal application error (its type is the kind's name), so the workflows and the
// retry policy see the same taxonomy.
package fault

import (
	"errors"
	"fmt"
)

// Kind is a class of failure. Its value is also the Temporal application error type.
type Kind string

// Permanent kinds: no retry can fix them.
const (
	// BadInput is a malformed or inconsistent input file or request: its sender must
	// correct it.
	BadInput Kind = "BadInput"
	// ReplyMismatch is a reply (a DBS trace) that does not answer the request it was
	// matched to: nothing from it may be used.
	ReplyMismatch Kind = "ReplyMismatch"
	// Configuration is a setting, credential, template or key that cannot work.
	Configuration Kind = "Configuration"
	// NotAuthorised is an outside service refusing our credentials.
	NotAuthorised Kind = "NotAuthorised"
	// Conflict is a state a person must resolve: an object already written with other
	// contents, a request whose fate is in doubt.
	Conflict Kind = "Conflict"
)

// Transient kinds: a later attempt may succeed.
const (
	// Busy is a resource held by someone else for now (the warehouse file's lock).
	Busy Kind = "Busy"
	// NotReady is an answer that has not arrived yet (a DBS reply): polled for.
	NotReady Kind = "NotReady"
)

// Kinds lists every kind, permanent ones first.
var Kinds = []Kind{BadInput, ReplyMismatch, Configuration, NotAuthorised, Conflict, Busy, NotReady}

// PermanentKinds lists the kinds no retry can fix.
func PermanentKinds() []Kind {
	var out []Kind
	for _, k := range Kinds {
		if k.Permanent() {
			out = append(out, k)
		}
	}
	return out
}

// Permanent reports whether no retry can fix a failure of kind k.
func (k Kind) Permanent() bool {
	switch k {
	case BadInput, ReplyMismatch, Configuration, NotAuthorised, Conflict:
		return true
	}
	return false
}

// Awaited reports whether a failure of kind k is an activity waiting by design, not a
// fault: a reply not come yet (NotReady), a resource held by someone else for now
// (Busy). Reports of failures leave such attempts out.
func (k Kind) Awaited() bool { return k == Busy || k == NotReady }

// Classified is implemented by an error that knows its kind. FaultKind returns ""
// when this value is an ordinary failure (e.g. an HTTP 503 of a type whose 401 is
// NotAuthorised).
type Classified interface {
	error
	FaultKind() Kind
}

// KindOf is the kind of err: that of the first error in its chain (outermost first)
// that implements Classified, or "" when none does.
func KindOf(err error) Kind {
	var c Classified
	if errors.As(err, &c) {
		return c.FaultKind()
	}
	return ""
}

// IsPermanent reports whether no retry can fix err.
func IsPermanent(err error) bool { return KindOf(err).Permanent() }

// Error is an error marked with its kind. Its text is the wrapped error's.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the marked error.
func (e *Error) Unwrap() error { return e.Err }

// FaultKind implements Classified.
func (e *Error) FaultKind() Kind { return e.Kind }

// New returns an error of kind k with text msg: a sentinel a package declares once,
// e.g. var ErrInvalidConfig = fault.New(fault.Configuration, "intake: invalid config").
func New(k Kind, msg string) error { return &Error{Kind: k, Err: errors.New(msg)} }

// Wrap marks err as kind k; nil stays nil.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Errorf formats an error (%w wraps as in fmt.Errorf) and marks it as kind k.
func Errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}
