package access

import (
	"fmt"
	"strings"

	"icesurvey/freetext"
)

// FileGate decides free-text requests from the access file at Path, as the dashboard
// and the command line decide them (CheckFreeText). It reads the file again at every
// decision: a grant withdrawn from the file is refused from that moment, by a worker
// that has run for weeks as much as by a fresh one. The file is small, and the
// decisions it serves (an export, a batch of coding decisions, a report) are rare.
//
// The worker asks it before it acts on a person's behalf: a command that reaches the
// worker without passing the command line's check (another client, an old binary, a
// hand-made update) is refused there too, so what the audit trail says a named person
// did was checked against the file.
type FileGate struct {
	Path string
}

// Decide is the decision for req now. A missing path or an access file that cannot be
// read refuses everything, with the reason: free text is never shown on a failure.
// A user the file does not name is refused like one without a grant.
func (g FileGate) Decide(req freetext.Request) freetext.Decision {
	if strings.TrimSpace(g.Path) == "" {
		return freetext.Decision{Reason: "no access file is configured here (ice worker --access or ICE_ACCESS), so no one's free-text access can be checked"}
	}
	p, err := Load(g.Path)
	if err != nil {
		return freetext.Decision{Reason: fmt.Sprintf("the access file cannot be read, so no one's free-text access can be checked: %v", err)}
	}
	u, ok := p.User(req.UserID)
	if !ok {
		return freetext.Decision{Reason: fmt.Sprintf("%q is not in the access file %s", req.UserID, p.Source)}
	}
	return CheckFreeText(u, req)
}
