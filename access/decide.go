package access

import (
	"fmt"
	"slices"
	"time"

	"icesurvey/freetext"
)

// MaySeeBreakdowns reports whether u may see ICS ics's local breakdowns (by age band,
// gender, ethnicity group, eFI band and practice): only an analyst of that ICS.
func MaySeeBreakdowns(u User, ics string) bool {
	return slices.Contains(u.Analyst, AllICSs) || slices.Contains(u.Analyst, ics)
}

// BreakdownICSs lists the ICSs whose breakdowns u may see, from known (the ICSs of the
// wave), in known's order.
func BreakdownICSs(u User, known []string) []string {
	var out []string
	for _, ics := range known {
		if MaySeeBreakdowns(u, ics) {
			out = append(out, ics)
		}
	}
	return out
}

// IsAdministrator reports whether u administers the dashboard (may see the policy).
func IsAdministrator(u User) bool { return u.Administrator }

// Decision is an answer with its reason, to show to the person refused.
type Decision struct {
	Allowed bool
	Reason  string
}

// FreeText decides whether u may read ICS ics's free text at time now: only with a
// grant for that ICS that has not expired (good through its expiry day, Europe/London).
func FreeText(u User, ics string, now time.Time) Decision {
	for _, g := range u.FreeText {
		if g.ICS != ics {
			continue
		}
		if now.Before(g.ApprovedOn) {
			return Decision{Reason: fmt.Sprintf("your free-text access to %s starts on %s", ics, g.ApprovedOn.Format("2 January 2006"))}
		}
		if !now.Before(g.End()) {
			return Decision{Reason: fmt.Sprintf("your free-text access to %s expired at the end of %s; ask for it to be renewed", ics, g.Expires.Format("2 January 2006"))}
		}
		return Decision{Allowed: true, Reason: fmt.Sprintf("free-text access to %s approved by %s until %s", ics, g.ApprovedBy, g.Expires.Format("2 January 2006"))}
	}
	return Decision{Reason: fmt.Sprintf("you are not a named free-text reader for %s", ics)}
}

// FreeTextICSs lists the ICSs whose free text u may read at now, in grant order.
func FreeTextICSs(u User, now time.Time) []string {
	var out []string
	for _, g := range u.FreeText {
		if FreeText(u, g.ICS, now).Allowed {
			out = append(out, g.ICS)
		}
	}
	return out
}

// FreeTextGrants turns the access file's grants of u into the free-text package's:
// valid from the approval day to the end of the expiry day (Europe/London). The
// access file names no actions, so each allows view, search, download and code
// (freetext.Grant), never the audit of originals.
func FreeTextGrants(u User) []freetext.Grant {
	var out []freetext.Grant
	for _, g := range u.FreeText {
		out = append(out, freetext.Grant{UserID: u.ID, ICS: g.ICS, ValidFrom: g.ApprovedOn, ApprovedAt: g.ApprovedOn,
			Expires: g.End(), ApprovedBy: g.ApprovedBy})
	}
	return out
}

// CheckFreeText is the free-text access check the dashboard and the terminal share:
// the access file's decision for u and the request's ICS (its reason is the one a
// reader can act on), then freetext.Check of the request against u's grants. The
// request's user must be u.
func CheckFreeText(u User, req freetext.Request) freetext.Decision {
	if req.UserID != u.ID {
		return freetext.Decision{Reason: fmt.Sprintf("the request is for %q, not %q", req.UserID, u.ID)}
	}
	if d := FreeText(u, req.ICS, req.At); !d.Allowed {
		return freetext.Decision{Reason: d.Reason}
	}
	return freetext.Check(FreeTextGrants(u), req)
}
