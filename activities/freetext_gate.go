package activities

import (
	"context"
	"fmt"
	"time"

	"icesurvey/access"
	"icesurvey/audit"
	"icesurvey/freetext"
)

// FreeTextGate decides whether a named person may act on an ICS's free text now:
// access.FileGate, the access file the dashboard and the command line check.
type FreeTextGate interface {
	Decide(req freetext.Request) freetext.Decision
}

// checkFreeText lets an activity act on a person's behalf on an ICS's free text (write
// an export they take away, record their coding decisions, build a report that quotes
// comments) only if the gate allows it now. The command line checks first; this check
// is the worker's own, so a request that reached the workflow another way is refused
// too, and what the audit trail says a named person did was checked. A refusal is
// audited and fails the activity for good (freetext.ErrRefused, fault.NotAuthorised):
// no retry can grant access. With no gate nothing is allowed.
func checkFreeText(ctx context.Context, gate FreeTextGate, wave string, req freetext.Request, what string) error {
	if req.At.IsZero() {
		req.At = time.Now().UTC()
	}
	if gate == nil {
		gate = access.FileGate{} // no access file: refuses, and says so
	}
	d := gate.Decide(req)
	if d.Allowed {
		return nil
	}
	audit.Record(ctx, "free_text_refused", map[string]any{"user": req.UserID, "action": string(req.Action), "what": what, "reason": d.Reason})
	return fmt.Errorf("%w: %s may not %s the free text of %s in wave %s (%s): %s", freetext.ErrRefused, req.UserID, req.Action, req.ICS, wave, what, d.Reason)
}
