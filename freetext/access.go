package freetext

import (
	"icesurvey/fault"

	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Action is what a named reader does with free text.
type Action string

// The actions a grant may allow and an audit event records.
const (
	ActionView     Action = "view"     // read redacted comments on a page
	ActionSearch   Action = "search"   // search redacted comments for words
	ActionDownload Action = "download" // take a file of redacted comments away
	// ActionCode is a coder's read of the coding queue (redacted comments with the
	// machine's suggestions) and the theme decisions they send on those comments.
	// Its audit events say which comments were coded, and how, apart from plain
	// views and searches.
	ActionCode Action = "code"
	// ActionAudit is a named reader's audit of the redaction: the originals beside
	// the redacted text. It is never implied by a grant for the other actions.
	ActionAudit Action = "audit"
)

// Actions lists the valid actions.
var Actions = []Action{ActionView, ActionSearch, ActionDownload, ActionCode, ActionAudit}

// Grant is one approved permission for a named user to read the free text of one
// ICS (SPEC §8: only a small number of named ICB users). It is valid from ValidFrom
// (inclusive) to Expires (exclusive), unless revoked earlier. Actions lists what it
// allows; empty means view, search, download and code, never audit.
type Grant struct {
	UserID     string    `json:"user_id" yaml:"user_id"`
	ICS        string    `json:"ics" yaml:"ics"`
	Actions    []Action  `json:"actions,omitempty" yaml:"actions,omitempty"`
	ValidFrom  time.Time `json:"valid_from" yaml:"valid_from"`
	Expires    time.Time `json:"expires" yaml:"expires"`
	ApprovedBy string    `json:"approved_by" yaml:"approved_by"`
	ApprovedAt time.Time `json:"approved_at" yaml:"approved_at"`
	RevokedAt  time.Time `json:"revoked_at,omitzero" yaml:"revoked_at,omitempty"`
	Reason     string    `json:"reason,omitempty" yaml:"reason,omitempty"` // why the user needs access
}

// MaxGrantLength is the longest a grant may run: access is re-approved at least
// yearly (convention).
const MaxGrantLength = 366 * 24 * time.Hour

// Validate checks a grant as recorded; the error names the field at fault.
func (g Grant) Validate() error {
	var errs []error
	bad := func(field, msg string) { errs = append(errs, fmt.Errorf("grant %s: %s", field, msg)) }
	if strings.TrimSpace(g.UserID) == "" {
		bad("user_id", "empty")
	}
	if strings.TrimSpace(g.ICS) == "" {
		bad("ics", "empty")
	}
	if strings.TrimSpace(g.ApprovedBy) == "" {
		bad("approved_by", "empty: every grant needs an approver")
	} else if strings.EqualFold(strings.TrimSpace(g.ApprovedBy), strings.TrimSpace(g.UserID)) {
		bad("approved_by", "a user cannot approve their own access")
	}
	if g.ApprovedAt.IsZero() {
		bad("approved_at", "missing")
	}
	if g.ValidFrom.IsZero() {
		bad("valid_from", "missing")
	}
	if g.Expires.IsZero() {
		bad("expires", "missing: every grant must expire")
	} else if !g.Expires.After(g.ValidFrom) {
		bad("expires", "not after valid_from")
	} else if g.Expires.Sub(g.ValidFrom) > MaxGrantLength {
		bad("expires", fmt.Sprintf("grant runs %s, longer than the %s allowed", g.Expires.Sub(g.ValidFrom).Round(time.Hour), MaxGrantLength))
	}
	if !g.ApprovedAt.IsZero() && !g.ValidFrom.IsZero() && g.ApprovedAt.After(g.ValidFrom) {
		bad("approved_at", "after valid_from: access cannot start before it is approved")
	}
	for i, a := range g.Actions {
		if !slices.Contains(Actions, a) {
			bad(fmt.Sprintf("actions[%d]", i), fmt.Sprintf("unknown action %q", a))
		}
	}
	return errors.Join(errs...)
}

// expiry words the grant's end for a reader. Expires is exclusive: a grant that
// ends at midnight (every grant of the access file, whose expiry day is good to
// its end) is valid through the day before, so it reads "6 January 2027
// (inclusive)" after until and "the end of 6 January 2027" after at, the day the
// access file gives, not the midnight after it. Any other end reads as its time.
func (g Grant) expiry(prep string) string {
	e := g.Expires
	if e.Hour() == 0 && e.Minute() == 0 && e.Second() == 0 && e.Nanosecond() == 0 {
		last := e.AddDate(0, 0, -1).Format("2 January 2006")
		if prep == "until" {
			return "until " + last + " (inclusive)"
		}
		return prep + " the end of " + last
	}
	return prep + " " + e.Format("15:04 on 2 January 2006")
}

func (g Grant) allows(a Action) bool {
	if len(g.Actions) == 0 {
		// A grant that names no actions (every grant written before ActionCode
		// existed, and every grant of the dashboard's access file) lets its named
		// reader code too: coding shows the same redacted comments a view shows, and
		// the issue makes coders of exactly the ICS's named free-text readers. Adding
		// a decision on a comment one may read reveals nothing further, so code is
		// implied; a grant that lists its actions allows code only when it says so.
		return a == ActionView || a == ActionSearch || a == ActionDownload || a == ActionCode
	}
	return slices.Contains(g.Actions, a)
}

// Request is one attempt to read free text.
type Request struct {
	UserID string
	ICS    string
	Action Action
	At     time.Time
}

// Decision is the outcome of an access check. Reason says why, in words a user can
// act on; Grant is the grant that allowed the read (nil when refused).
type Decision struct {
	Allowed bool
	Reason  string
	Grant   *Grant
}

// Check decides whether the request is allowed by one of the user's grants now.
// It takes the caller's grants (from wherever they are kept) and does no I/O. A
// grant that fails Validate never allows anything.
func Check(grants []Grant, req Request) Decision {
	if strings.TrimSpace(req.UserID) == "" {
		return Decision{Reason: "no user: free text is read only by named users"}
	}
	if !slices.Contains(Actions, req.Action) {
		return Decision{Reason: fmt.Sprintf("unknown action %q", req.Action)}
	}
	if req.At.IsZero() {
		return Decision{Reason: "no time given for the request"}
	}
	var why []string
	for i := range grants {
		g := &grants[i]
		if g.UserID != req.UserID || !strings.EqualFold(g.ICS, req.ICS) {
			continue
		}
		switch {
		case g.Validate() != nil:
			why = append(why, fmt.Sprintf("a grant approved by %s is not valid (%v)", g.ApprovedBy, g.Validate()))
		case !g.RevokedAt.IsZero() && !req.At.Before(g.RevokedAt):
			why = append(why, fmt.Sprintf("the grant approved by %s was revoked on %s", g.ApprovedBy, g.RevokedAt.Format(time.DateOnly)))
		case req.At.Before(g.ValidFrom):
			why = append(why, fmt.Sprintf("the grant approved by %s starts on %s", g.ApprovedBy, g.ValidFrom.Format(time.DateOnly)))
		case !req.At.Before(g.Expires):
			why = append(why, fmt.Sprintf("the grant approved by %s expired %s; ask for it to be renewed", g.ApprovedBy, g.expiry("at")))
		case !g.allows(req.Action):
			why = append(why, fmt.Sprintf("the grant approved by %s does not allow %s", g.ApprovedBy, req.Action))
		default:
			return Decision{Allowed: true, Reason: fmt.Sprintf("grant approved by %s, valid %s", g.ApprovedBy, g.expiry("until")), Grant: g}
		}
	}
	if len(why) == 0 {
		return Decision{Reason: fmt.Sprintf("user %s has no grant to read free text of ICS %s; access needs an approver's grant", req.UserID, req.ICS)}
	}
	return Decision{Reason: strings.Join(why, "; ")}
}

// AuditEvent records one read of free text, allowed or refused: who, when, which
// ICS, what they did, the query they typed (a search's words or a page's filter)
// and how many rows they were shown. It never holds a comment's text. The query is
// kept verbatim: what a reader searched for is exactly what an audit must show, so
// audit events belong in the restricted audit store, not in a log.
type AuditEvent struct {
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
	ICS         string    `json:"ics"`
	Wave        string    `json:"wave,omitempty"`
	Action      Action    `json:"action"`
	Query       string    `json:"query,omitempty"`
	RowsShown   int       `json:"rows_shown"`
	ResponseIDs []string  `json:"response_ids,omitempty"` // the rows shown, for a later "who saw this comment"
	Allowed     bool      `json:"allowed"`
	Reason      string    `json:"reason"`
	ApprovedBy  string    `json:"approved_by,omitempty"` // the approver of the grant used
}

// Validate checks an event before it is written; the error names the field.
func (e AuditEvent) Validate() error {
	var errs []error
	if e.UserID == "" {
		errs = append(errs, errors.New("audit event user_id: empty"))
	}
	if e.At.IsZero() {
		errs = append(errs, errors.New("audit event at: missing"))
	}
	if e.ICS == "" && e.Allowed { // a refusal may name no ICS: a request that named none, of someone who may read none
		errs = append(errs, errors.New("audit event ics: empty"))
	}
	if !slices.Contains(Actions, e.Action) {
		errs = append(errs, fmt.Errorf("audit event action: unknown %q", e.Action))
	}
	if e.RowsShown < 0 {
		errs = append(errs, errors.New("audit event rows_shown: negative"))
	}
	if !e.Allowed && e.RowsShown > 0 {
		errs = append(errs, errors.New("audit event rows_shown: rows shown on a refused request"))
	}
	if len(e.ResponseIDs) > 0 && len(e.ResponseIDs) != e.RowsShown {
		errs = append(errs, fmt.Errorf("audit event response_ids: %d ids for %d rows shown", len(e.ResponseIDs), e.RowsShown))
	}
	return errors.Join(errs...)
}

// NewAuditEvent builds the audit event of a request and its decision.
func NewAuditEvent(req Request, d Decision, wave, query string, responseIDs []string) AuditEvent {
	e := AuditEvent{
		UserID: req.UserID, At: req.At, ICS: req.ICS, Wave: wave, Action: req.Action,
		Query: query, Allowed: d.Allowed, Reason: d.Reason,
	}
	if d.Allowed {
		e.RowsShown = len(responseIDs)
		e.ResponseIDs = slices.Clone(responseIDs)
		if d.Grant != nil {
			e.ApprovedBy = d.Grant.ApprovedBy
		}
	}
	return e
}

// Comment is one free-text answer as it leaves the free-text area.
type Comment struct {
	ResponseID string
	QuestionID string
	Text       string
}

// Shown is a comment as a reader sees it: redacted, with the spans that were
// replaced. Original is set only for ActionAudit, the named reader's audit of the
// redaction.
type Shown struct {
	ResponseID string
	QuestionID string
	Redacted   Redacted
	Original   string
}

// ErrRefused is returned by Read when the access check refuses the request.
var ErrRefused = fault.New(fault.NotAuthorised, "free text access refused")

// Read is the one way free text reaches a person: it checks access, redacts each
// comment and returns the audit event to be written whatever the outcome (the
// caller must write it before showing anything). A refused request returns no
// comments and an error wrapping ErrRefused. Only ActionAudit returns originals.
func Read(grants []Grant, req Request, wave, query string, comments []Comment, r *Redactor) ([]Shown, AuditEvent, error) {
	if r == nil {
		r = Default()
	}
	d := Check(grants, req)
	if !d.Allowed {
		return nil, NewAuditEvent(req, d, wave, query, nil), fmt.Errorf("%w: %s", ErrRefused, d.Reason)
	}
	shown := make([]Shown, len(comments))
	ids := make([]string, len(comments))
	for i, c := range comments {
		shown[i] = Shown{ResponseID: c.ResponseID, QuestionID: c.QuestionID, Redacted: r.Redact(c.Text)}
		if req.Action == ActionAudit {
			shown[i].Original = c.Text
		}
		ids[i] = c.ResponseID
	}
	return shown, NewAuditEvent(req, d, wave, query, ids), nil
}
