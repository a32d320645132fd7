package freetext

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var (
	day0  = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	grant = Grant{UserID: "u.analyst", ICS: "QJK", ValidFrom: day0, Expires: day0.AddDate(0, 6, 0),
		ApprovedBy: "caldicott.guardian", ApprovedAt: day0.Add(-time.Hour)}
)

func TestGrantValidate(t *testing.T) {
	mod := func(f func(*Grant)) Grant { g := grant; f(&g); return g }
	cases := []struct {
		name  string
		g     Grant
		field string // "" = valid
	}{
		{"valid", grant, ""},
		{"no user", mod(func(g *Grant) { g.UserID = "" }), "user_id"},
		{"no ics", mod(func(g *Grant) { g.ICS = " " }), "ics"},
		{"no approver", mod(func(g *Grant) { g.ApprovedBy = "" }), "approved_by"},
		{"self approved", mod(func(g *Grant) { g.ApprovedBy = "U.Analyst" }), "approved_by"},
		{"no expiry", mod(func(g *Grant) { g.Expires = time.Time{} }), "expires"},
		{"expiry before start", mod(func(g *Grant) { g.Expires = day0.Add(-time.Hour) }), "expires"},
		{"too long", mod(func(g *Grant) { g.Expires = day0.AddDate(2, 0, 0) }), "expires"},
		{"approved after start", mod(func(g *Grant) { g.ApprovedAt = day0.Add(time.Hour) }), "approved_at"},
		{"unknown action", mod(func(g *Grant) { g.Actions = []Action{"delete"} }), "actions[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.g.Validate()
			if c.field == "" {
				if err != nil {
					t.Fatalf("valid grant refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "grant "+c.field) {
				t.Fatalf("want an error naming %s, got %v", c.field, err)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	revoked := grant
	revoked.RevokedAt = day0.AddDate(0, 1, 0)
	auditor := grant
	auditor.Actions = []Action{ActionView, ActionAudit}
	coder := grant
	coder.Actions = []Action{ActionCode}
	bad := grant
	bad.ApprovedBy = grant.UserID
	// A grant to the end of a day (as access.FreeTextGrants makes them) ends at the
	// midnight after it; its words name the day, not the midnight.
	toDay := grant
	toDay.Expires = time.Date(2027, 1, 7, 0, 0, 0, 0, time.UTC)
	req := func(user, ics string, a Action, at time.Time) Request { return Request{user, ics, a, at} }
	cases := []struct {
		name   string
		grants []Grant
		req    Request
		ok     bool
		reason string
	}{
		{"allowed", []Grant{grant}, req("u.analyst", "QJK", ActionView, day0.AddDate(0, 1, 0)), true, "caldicott.guardian"},
		{"ics code any case", []Grant{grant}, req("u.analyst", "qjk", ActionSearch, day0), true, ""},
		{"other ics", []Grant{grant}, req("u.analyst", "QMM", ActionView, day0), false, "no grant"},
		{"other user", []Grant{grant}, req("someone", "QJK", ActionView, day0), false, "no grant"},
		{"anonymous", []Grant{grant}, req("", "QJK", ActionView, day0), false, "named users"},
		{"before start", []Grant{grant}, req("u.analyst", "QJK", ActionView, day0.Add(-time.Minute)), false, "starts on"},
		{"at expiry", []Grant{grant}, req("u.analyst", "QJK", ActionView, grant.Expires), false, "expired at 09:00 on 1 September 2026;"},
		{"until a time", []Grant{grant}, req("u.analyst", "QJK", ActionView, day0), true, "valid until 09:00 on 1 September 2026"},
		{"until the end of a day", []Grant{toDay}, req("u.analyst", "QJK", ActionView, day0), true, "valid until 6 January 2027 (inclusive)"},
		{"the day after the last", []Grant{toDay}, req("u.analyst", "QJK", ActionView, toDay.Expires), false, "expired at the end of 6 January 2027;"},
		{"revoked", []Grant{revoked}, req("u.analyst", "QJK", ActionView, revoked.RevokedAt), false, "revoked"},
		{"before revocation", []Grant{revoked}, req("u.analyst", "QJK", ActionView, revoked.RevokedAt.Add(-time.Second)), true, ""},
		{"audit needs naming", []Grant{grant}, req("u.analyst", "QJK", ActionAudit, day0), false, "does not allow audit"},
		{"audit named", []Grant{auditor}, req("u.analyst", "QJK", ActionAudit, day0), true, ""},
		{"named actions only", []Grant{auditor}, req("u.analyst", "QJK", ActionDownload, day0), false, "does not allow download"},
		{"code implied by an unnamed grant", []Grant{grant}, req("u.analyst", "QJK", ActionCode, day0), true, ""},
		{"code not implied by named actions", []Grant{auditor}, req("u.analyst", "QJK", ActionCode, day0), false, "does not allow code"},
		{"code named", []Grant{coder}, req("u.analyst", "QJK", ActionCode, day0), true, ""},
		{"a coder's grant allows no download", []Grant{coder}, req("u.analyst", "QJK", ActionDownload, day0), false, "does not allow download"},
		{"invalid grant", []Grant{bad}, req("u.analyst", "QJK", ActionView, day0), false, "not valid"},
		{"second grant allows", []Grant{revoked, grant}, req("u.analyst", "QJK", ActionView, day0.AddDate(0, 2, 0)), true, ""},
		{"unknown action", []Grant{grant}, req("u.analyst", "QJK", "print", day0), false, "unknown action"},
		{"no time", []Grant{grant}, req("u.analyst", "QJK", ActionView, time.Time{}), false, "no time"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Check(c.grants, c.req)
			if d.Allowed != c.ok || !strings.Contains(d.Reason, c.reason) {
				t.Fatalf("got allowed=%v reason %q; want %v containing %q", d.Allowed, d.Reason, c.ok, c.reason)
			}
			if d.Allowed != (d.Grant != nil) {
				t.Fatalf("allowed=%v but grant %v", d.Allowed, d.Grant)
			}
		})
	}
}

func TestRead(t *testing.T) {
	comments := []Comment{
		{ResponseID: "r1", QuestionID: "P_FT_IMPROVE", Text: "My daughter Sarah rang 07700 900123."},
		{ResponseID: "r2", QuestionID: "P_FT_GOOD", Text: "Dr Okafor was kind."},
	}
	at := day0.AddDate(0, 1, 0)
	shown, ev, err := Read([]Grant{grant}, Request{"u.analyst", "QJK", ActionSearch, at}, "2026-02", "kind", comments, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(shown) != 2 || shown[0].Redacted.Text != "My daughter [NAME] rang [PHONE]." || shown[1].Redacted.Text != "Dr [NAME] was kind." {
		t.Fatalf("shown %+v", shown)
	}
	for _, s := range shown {
		if s.Original != "" {
			t.Fatalf("original returned for a search: %+v", s)
		}
	}
	if ev.UserID != "u.analyst" || ev.ICS != "QJK" || ev.Action != ActionSearch || ev.Query != "kind" || ev.RowsShown != 2 ||
		!ev.Allowed || ev.ApprovedBy != "caldicott.guardian" || ev.Wave != "2026-02" || !ev.At.Equal(at) {
		t.Fatalf("audit event %+v", ev)
	}
	if err := ev.Validate(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ev.Reason+ev.Query, "Sarah") || strings.Contains(ev.Reason, "07700") {
		t.Fatal("audit event holds comment text")
	}

	// Refused: nothing shown, an event all the same.
	shown, ev, err = Read([]Grant{grant}, Request{"u.analyst", "QMM", ActionView, at}, "2026-02", "", comments, nil)
	if !errors.Is(err, ErrRefused) || shown != nil || ev.Allowed || ev.RowsShown != 0 || ev.Validate() != nil {
		t.Fatalf("refusal: err %v shown %v event %+v", err, shown, ev)
	}

	// Audit: originals beside the redacted text.
	auditor := grant
	auditor.Actions = []Action{ActionAudit}
	shown, _, err = Read([]Grant{auditor}, Request{"u.analyst", "QJK", ActionAudit, at}, "2026-02", "", comments, nil)
	if err != nil || shown[0].Original != comments[0].Text {
		t.Fatalf("audit read: %v %+v", err, shown)
	}
}

func TestAuditEventValidate(t *testing.T) {
	ok := AuditEvent{UserID: "u", At: day0, ICS: "QJK", Action: ActionView, RowsShown: 1, ResponseIDs: []string{"r1"}, Allowed: true}
	cases := []struct {
		name  string
		mod   func(*AuditEvent)
		field string
	}{
		{"valid", func(*AuditEvent) {}, ""},
		{"no user", func(e *AuditEvent) { e.UserID = "" }, "user_id"},
		{"no time", func(e *AuditEvent) { e.At = time.Time{} }, "at"},
		{"no ics", func(e *AuditEvent) { e.ICS = "" }, "ics"},
		{"a refusal naming no ics", func(e *AuditEvent) { e.ICS, e.Allowed, e.RowsShown, e.ResponseIDs = "", false, 0, nil }, ""},
		{"bad action", func(e *AuditEvent) { e.Action = "x" }, "action"},
		{"rows on refusal", func(e *AuditEvent) { e.Allowed = false }, "rows_shown"},
		{"ids mismatch", func(e *AuditEvent) { e.RowsShown = 2 }, "response_ids"},
	}
	for _, c := range cases {
		e := ok
		c.mod(&e)
		err := e.Validate()
		if (c.field == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), "audit event "+c.field) {
			t.Errorf("%s: got %v", c.name, err)
		}
	}
}
