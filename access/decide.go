package access

import (
	"fmt"
	"slices"
	"time"
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
