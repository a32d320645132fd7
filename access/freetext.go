package access

import "icesurvey/freetext"

// FreeTextGrants turns u's free-text grants in the access file into the free-text
// package's (for freetext.Check and freetext.Read): valid from the approval day to the
// end of the expiry day (Europe/London). The dashboard and the command line check a
// named reader the same way.
func FreeTextGrants(u User) []freetext.Grant {
	var out []freetext.Grant
	for _, g := range u.FreeText {
		out = append(out, freetext.Grant{UserID: u.ID, ICS: g.ICS, ValidFrom: g.ApprovedOn, ApprovedAt: g.ApprovedOn,
			Expires: g.End(), ApprovedBy: g.ApprovedBy})
	}
	return out
}
