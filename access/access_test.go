package access

import (
	"icesurvey/freetext"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func load(t *testing.T) *Policy {
	t.Helper()
	p, err := Load(filepath.Join("testdata", "access.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadAndDecide(t *testing.T) {
	p := load(t)
	if len(p.Users()) != 4 {
		t.Fatalf("users: %d", len(p.Users()))
	}
	ann, _ := p.User("ANN.analyst@example.nhs.uk")
	nat, _ := p.User("nat.national@example.nhs.uk")
	fay, _ := p.User("fay.reader@example.nhs.uk")
	adam, _ := p.User("adam.admin@example.nhs.uk")
	cases := []struct {
		who  User
		ics  string
		want bool
	}{
		{ann, "QMM", true}, {ann, "QJK", false},
		{nat, "QMM", true}, {nat, "QWE", true},
		{fay, "QJK", true}, {fay, "QNX", false},
		{adam, "QMM", false},
	}
	for _, c := range cases {
		if got := MaySeeBreakdowns(c.who, c.ics); got != c.want {
			t.Errorf("MaySeeBreakdowns(%s, %s) = %v", c.who.ID, c.ics, got)
		}
	}
	if !IsAdministrator(adam) || IsAdministrator(ann) {
		t.Error("IsAdministrator")
	}
	if got := BreakdownICSs(fay, []string{"QJK", "QMM", "QNX"}); strings.Join(got, ",") != "QJK,QMM" {
		t.Errorf("BreakdownICSs: %v", got)
	}
}

func TestFreeTextGrantExpiry(t *testing.T) {
	p := load(t)
	fay, _ := p.User("fay.reader@example.nhs.uk")
	ann, _ := p.User("ann.analyst@example.nhs.uk")
	nat, _ := p.User("nat.national@example.nhs.uk")
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, london)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	cases := []struct {
		who  User
		ics  string
		now  time.Time
		want bool
		why  string
	}{
		{fay, "QMM", at("2026-11-15 09:00"), true, "approved by Caldicott"},
		{fay, "QMM", at("2026-12-31 23:59"), true, "until 31 December 2026"},
		{fay, "QMM", at("2027-01-01 00:00"), false, "expired at the end of 31 December 2026"},
		{fay, "QMM", at("2026-09-30 12:00"), false, "starts on 1 October 2026"},
		{fay, "QJK", at("2026-11-15 09:00"), false, "not a named free-text reader for QJK"}, // analyst of QJK, no grant
		{ann, "QMM", at("2026-11-15 09:00"), false, "not a named free-text reader"},
		{nat, "QMM", at("2026-11-15 09:00"), false, "not a named free-text reader"}, // ALL analyst, still no free text
	}
	for _, c := range cases {
		d := FreeText(c.who, c.ics, c.now)
		if d.Allowed != c.want || !strings.Contains(d.Reason, c.why) {
			t.Errorf("FreeText(%s, %s, %s) = %+v, want %v with %q", c.who.ID, c.ics, c.now, d, c.want, c.why)
		}
	}
	// The end of the day is London's, not UTC's: in summer 23:30 UTC is already the next day.
	summer := User{FreeText: []Grant{{ICS: "QMM", ApprovedOn: at("2026-01-01 00:00"), Expires: at("2026-07-01 00:00")}}}
	if FreeText(summer, "QMM", time.Date(2026, 7, 1, 23, 30, 0, 0, time.UTC)).Allowed {
		t.Error("a grant was honoured past midnight London time")
	}
	if !FreeText(summer, "QMM", time.Date(2026, 7, 1, 22, 30, 0, 0, time.UTC)).Allowed {
		t.Error("a grant was refused before midnight London time")
	}
	if got := FreeTextICSs(fay, at("2026-11-15 09:00")); len(got) != 1 || got[0] != "QMM" {
		t.Errorf("FreeTextICSs: %v", got)
	}
}

// CheckFreeText is the check the coding page and ice themes share: the access file's
// decision first, then the free-text grant's actions (code and download implied by an
// access-file grant, audit never).
func TestCheckFreeText(t *testing.T) {
	p := load(t)
	fay, _ := p.User("fay.reader@example.nhs.uk")
	ann, _ := p.User("ann.analyst@example.nhs.uk")
	at := time.Date(2026, 11, 15, 9, 0, 0, 0, london)
	cases := []struct {
		name   string
		who    User
		req    freetext.Request
		want   bool
		reason string
	}{
		{"code", fay, freetext.Request{UserID: fay.ID, ICS: "QMM", Action: freetext.ActionCode, At: at}, true, "Caldicott"},
		// The access file's expiry day, not the midnight after it that the free-text grant ends at.
		{"valid to the access file's day", fay, freetext.Request{UserID: fay.ID, ICS: "QMM", Action: freetext.ActionView, At: at}, true, "valid until 31 December 2026 (inclusive)"},
		{"download", fay, freetext.Request{UserID: fay.ID, ICS: "QMM", Action: freetext.ActionDownload, At: at}, true, ""},
		{"audit never implied", fay, freetext.Request{UserID: fay.ID, ICS: "QMM", Action: freetext.ActionAudit, At: at}, false, "does not allow audit"},
		{"other ICS", fay, freetext.Request{UserID: fay.ID, ICS: "QJK", Action: freetext.ActionCode, At: at}, false, "not a named free-text reader for QJK"},
		{"no grant", ann, freetext.Request{UserID: ann.ID, ICS: "QMM", Action: freetext.ActionCode, At: at}, false, "not a named free-text reader"},
		{"expired", fay, freetext.Request{UserID: fay.ID, ICS: "QMM", Action: freetext.ActionCode, At: at.AddDate(1, 0, 0)}, false, "expired"},
		{"someone else's request", fay, freetext.Request{UserID: ann.ID, ICS: "QMM", Action: freetext.ActionCode, At: at}, false, "not"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := CheckFreeText(c.who, c.req)
			if d.Allowed != c.want || !strings.Contains(d.Reason, c.reason) {
				t.Fatalf("CheckFreeText = %+v, want %v with %q", d, c.want, c.reason)
			}
		})
	}
}

func TestMatch(t *testing.T) {
	p := load(t)
	if u, ok := p.Match("248289761001", "someone.else@example.nhs.uk", false); !ok || u.ID != "nat.national@example.nhs.uk" {
		t.Errorf("match by subject: %v %v", u.ID, ok)
	}
	if u, ok := p.Match("other-sub", "Ann.Analyst@example.nhs.uk", true); !ok || u.ID != "ann.analyst@example.nhs.uk" {
		t.Errorf("match by verified e-mail: %v %v", u.ID, ok)
	}
	if _, ok := p.Match("other-sub", "ann.analyst@example.nhs.uk", false); ok {
		t.Error("matched an unverified e-mail")
	}
	// Nat's entry pins a subject: the e-mail alone must not match.
	if _, ok := p.Match("other-sub", "nat.national@example.nhs.uk", true); ok {
		t.Error("matched a subject-pinned user by e-mail")
	}
	if _, ok := p.Match("", "nobody@example.nhs.uk", true); ok {
		t.Error("matched someone not in the file")
	}
}

func TestValidationNamesFileLineEntryField(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "version: 1\nusers:\n  - id: a@b.nhs.uk\n    name: A\n    analyst: [QMM]\n    colour: red\n", []string{"bad.yaml: ", "line 6", "colour"}},
		{"version", "version: 2\nusers:\n  - {id: a@b.nhs.uk, name: A, analyst: [QMM]}\n", []string{"bad.yaml: version: 2"}},
		{"bad ics", "version: 1\nusers:\n  - id: a@b.nhs.uk\n    name: A\n    analyst: [QMM, XYZ]\n", []string{"bad.yaml:3: users[0] (a@b.nhs.uk): analyst[1]: \"XYZ\" is not an ICS code"}},
		{"duplicate id", "version: 1\nusers:\n  - {id: a@b.nhs.uk, name: A, analyst: [QMM]}\n  - {id: A@b.nhs.uk, name: B, analyst: [QJK]}\n", []string{"bad.yaml:4: users[1] (A@b.nhs.uk): id: a@b.nhs.uk is listed twice (also users[0])"}},
		{"no role", "version: 1\nusers:\n  - {id: a@b.nhs.uk, name: A}\n", []string{"bad.yaml:3: users[0] (a@b.nhs.uk): no role"}},
		{"not email", "version: 1\nusers:\n  - {id: ann, name: A, analyst: [QMM]}\n", []string{"users[0] (ann): id: \"ann\" is not an e-mail address"}},
		{"ALL with others", "version: 1\nusers:\n  - {id: a@b.nhs.uk, name: A, analyst: [ALL, QMM]}\n", []string{"analyst[0]: ALL cannot be listed with other ICS codes"}},
		{"grant without approver or expiry", "version: 1\nusers:\n  - id: a@b.nhs.uk\n    name: A\n    free_text:\n      - {ics: QMM, approved_on: 2026-01-01}\n",
			[]string{"free_text[0].approved_by: missing", "free_text[0].expires: \"\" is not a date (YYYY-MM-DD); every free-text grant must expire"}},
		{"expiry before approval", "version: 1\nusers:\n  - id: a@b.nhs.uk\n    name: A\n    free_text:\n      - {ics: QMM, approved_by: X, approved_on: 2026-05-01, expires: 2026-04-30}\n",
			[]string{"free_text[0].expires: 2026-04-30 is before approved_on 2026-05-01"}},
		{"bad date", "version: 1\nusers:\n  - id: a@b.nhs.uk\n    name: A\n    free_text:\n      - {ics: QMM, approved_by: X, approved_on: 2026-02-30, expires: 2026-04-30}\n",
			[]string{"free_text[0].approved_on: \"2026-02-30\" is not a date"}},
		{"duplicate subject", "version: 1\nusers:\n  - {id: a@b.nhs.uk, name: A, subject: s1, analyst: [QMM]}\n  - {id: c@b.nhs.uk, name: C, subject: s1, analyst: [QMM]}\n", []string{"users[1] (c@b.nhs.uk): subject: \"s1\" is also users[0]'s"}},
		{"empty", "version: 1\nusers: []\n", []string{"bad.yaml: users: no users listed"}},
	}
	for _, c := range cases {
		_, err := Parse("bad.yaml", []byte(c.yaml))
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

func TestLocalUsers(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	file := "users:\n  - id: Ann.Analyst@example.nhs.uk\n    password_bcrypt: \"" + h + "\"\n  - id: ghost@example.nhs.uk\n    password_bcrypt: \"" + h + "\"\n"
	lu, err := ParseLocalUsers("users.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if !lu.Verify("ann.analyst@example.nhs.uk", "correct horse") {
		t.Error("the right password was refused")
	}
	if lu.Verify("ann.analyst@example.nhs.uk", "wrong") || lu.Verify("nobody@example.nhs.uk", "correct horse") {
		t.Error("a wrong password or unknown user was accepted")
	}
	err = lu.CheckAgainst(load(t))
	if err == nil || !strings.Contains(err.Error(), "user ghost@example.nhs.uk is not in the access file access.yaml") {
		t.Errorf("CheckAgainst: %v", err)
	}
	bad := []struct{ yaml, want string }{
		{"users:\n  - id: a@b.nhs.uk\n    password_bcrypt: hunter2\n", "users.yaml:2: users[0] (a@b.nhs.uk): password_bcrypt: not a bcrypt hash"},
		{"users:\n  - id: a@b.nhs.uk\n    password_bcrypt: \"$2a$04$abcdefghijklmnopqrstuu5n3s0eJ4kdmZOgZ0kOmo3bVVcq6ee5m\"\n", "cost 4 is below 10"},
		{"users:\n  - id: a@b.nhs.uk\n    password: x\n", "password"},
	}
	for _, b := range bad {
		_, err := ParseLocalUsers("users.yaml", []byte(b.yaml))
		if err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("ParseLocalUsers(%q): %v, want %q", b.yaml, err, b.want)
		}
	}
	if _, err := LoadLocalUsers(filepath.Join(t.TempDir(), "missing.yaml")); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// TestUnknownUserTakesAsLongAsAWrongPassword: Verify compares an unknown id's password
// against a dummy hash so that refusing it takes as long as refusing a wrong password
// (no user enumeration by timing). A file's hashes may cost more than the minimum
// (HashPassword's default is the minimum today; a file written with cost 12 takes four
// times as long per check): the dummy must cost as much as the dearest hash in the file,
// or an unknown id is refused measurably sooner than a known one.
func TestUnknownUserTakesAsLongAsAWrongPassword(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("correct horse"), MinBcryptCost+2)
	if err != nil {
		t.Fatal(err)
	}
	lu, err := ParseLocalUsers("users.yaml", []byte("users:\n  - id: ann.analyst@example.nhs.uk\n    password_bcrypt: \""+string(h)+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if lu.Verify("nobody@example.nhs.uk", "correct horse") {
		t.Fatal("an unknown user was accepted")
	}
	if cost, err := bcrypt.Cost(lu.dummyHash()); err != nil || cost != MinBcryptCost+2 {
		t.Errorf("an unknown id is checked against a hash of cost %d (%v), the file's hashes cost %d", cost, err, MinBcryptCost+2)
	}
}
