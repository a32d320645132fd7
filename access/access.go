// Package access decides who may see what on the ICS dashboard, from a
// version-controlled access file.
//
// What it produces: a Policy read from the access file (YAML), and decisions as pure
// functions of a User, an ICS code and (for free text) the time: MaySeeBreakdowns,
// FreeText, IsAdministrator. The web server asks these and nothing else.
//
// The rules (issue #16, brochure p. 19):
//   - Every signed-in user listed in the file may see England figures and each ICS's
//     headline results as published.
//   - An analyst sees the local breakdowns (by age band, gender, ethnicity group, eFI
//     band, practice) of the ICSs listed for them only; "ALL" lists every ICS (for the
//     national team).
//   - Free text of an ICS only for a named free-text reader of that ICS, whose grant has
//     an approver, an approval date and an expiry date; a grant is good through the end
//     of its expiry day in England (Europe/London) and not after. Being an analyst or an
//     administrator never implies free text.
//   - An administrator may see who has access (the policy itself) and nothing more by
//     that role alone.
//   - Anyone not in the file has no access at all, whatever the identity provider says.
//
// What it guarantees: the file is validated whole at load, and every problem is reported
// with the file name, line, entry and field ("access.yaml:14: users[2] (ann@nhs.net):
// free_text[0].expires: ..."). A policy that loaded is internally consistent. Decisions
// have no side effects; auditing a free-text read is the freetext package's job.
//
// Privacy: the file holds names and work e-mail addresses of staff, no patient data.
package access

import (
	"icesurvey/fault"

	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"icesurvey/codes"
	"icesurvey/internal/england"
)

// AllICSs in an analyst's list grants every ICS's breakdowns.
const AllICSs = "ALL"

// Policy is a loaded, validated access file.
type Policy struct {
	// Source names the file the policy was read from.
	Source    string
	users     []User
	byID      map[string]int
	bySubject map[string]int
}

// User is one person in the access file.
type User struct {
	// ID is the person's sign-in identity: their work e-mail address, lower case.
	ID   string
	Name string
	// Subject is the OpenID Connect subject ("sub") that identifies them at the
	// provider, when the file pins it; otherwise they are matched by verified e-mail.
	Subject string
	// Analyst lists the ICS codes whose breakdowns they may see (AllICSs for every ICS).
	Analyst       []string
	Administrator bool
	FreeText      []Grant
}

// Grant is one free-text reading grant for one ICS.
type Grant struct {
	ICS        string
	ApprovedBy string
	ApprovedOn time.Time // midnight, Europe/London
	Expires    time.Time // the last day of the grant, midnight, Europe/London
}

// london is where the programme's days are counted.
var london = england.Location

// End is the first instant after the grant: midnight at the end of its expiry day.
func (g Grant) End() time.Time { return g.Expires.AddDate(0, 0, 1) }

// fileShape is the file as written.
type fileShape struct {
	Version int         `yaml:"version"`
	Users   []userShape `yaml:"users"`
}

type userShape struct {
	ID            string       `yaml:"id"`
	Name          string       `yaml:"name"`
	Subject       string       `yaml:"subject"`
	Analyst       []string     `yaml:"analyst"`
	Administrator bool         `yaml:"administrator"`
	FreeText      []grantShape `yaml:"free_text"`
}

type grantShape struct {
	ICS        string `yaml:"ics"`
	ApprovedBy string `yaml:"approved_by"`
	ApprovedOn string `yaml:"approved_on"`
	Expires    string `yaml:"expires"`
}

// Load reads and validates the access file at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("access: reading the access file: %w", err)
	}
	return Parse(filepath.Base(path), data)
}

// Error lists every problem found in an access or users file.
type Error struct {
	File     string
	Problems []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("access: %s has %d %s:\n  %s", e.File, len(e.Problems), plural(len(e.Problems), "problem", "problems"), strings.Join(e.Problems, "\n  "))
}

// FaultKind implements fault.Classified: a broken access or users file is a setting a
// person must correct; no retry reads it differently.
func (e *Error) FaultKind() fault.Kind { return fault.Configuration }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Parse validates an access file's content; name is used in error messages.
func Parse(name string, data []byte) (*Policy, error) {
	var shape fileShape
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&shape); err != nil {
		return nil, &Error{File: name, Problems: []string{yamlProblem(name, err)}}
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root) // it decoded above, so it parses
	lines := itemLines(&root, "users")

	e := &Error{File: name}
	add := func(i int, u userShape, format string, args ...any) {
		who := ""
		if u.ID != "" {
			who = " (" + u.ID + ")"
		}
		e.Problems = append(e.Problems, fmt.Sprintf("%s:%d: users[%d]%s: %s", name, lineOf(lines, i), i, who, fmt.Sprintf(format, args...)))
	}
	if shape.Version != 1 {
		e.Problems = append(e.Problems, fmt.Sprintf("%s: version: %d is not a version this program reads (want 1)", name, shape.Version))
	}
	if len(shape.Users) == 0 {
		e.Problems = append(e.Problems, fmt.Sprintf("%s: users: no users listed", name))
	}
	p := &Policy{Source: name, byID: map[string]int{}, bySubject: map[string]int{}}
	for i, us := range shape.Users {
		u := User{
			ID:            strings.ToLower(strings.TrimSpace(us.ID)),
			Name:          strings.TrimSpace(us.Name),
			Subject:       strings.TrimSpace(us.Subject),
			Administrator: us.Administrator,
		}
		switch {
		case u.ID == "":
			add(i, us, "id: missing (the person's work e-mail address)")
		case !validEmail(u.ID):
			add(i, us, "id: %q is not an e-mail address", us.ID)
		case hasKey(p.byID, u.ID):
			add(i, us, "id: %s is listed twice (also users[%d])", u.ID, p.byID[u.ID])
		}
		if u.Name == "" {
			add(i, us, "name: missing")
		}
		if u.Subject != "" {
			if j, dup := p.bySubject[u.Subject]; dup {
				add(i, us, "subject: %q is also users[%d]'s", u.Subject, j)
			}
		}
		seen := map[string]bool{}
		for k, code := range us.Analyst {
			code = strings.ToUpper(strings.TrimSpace(code))
			switch {
			case code == AllICSs && len(us.Analyst) > 1:
				add(i, us, "analyst[%d]: %s cannot be listed with other ICS codes", k, AllICSs)
			case code != AllICSs && !codes.ValidICSCode(code):
				add(i, us, "analyst[%d]: %q is not an ICS code (an ICB's ODS code such as QMM)", k, us.Analyst[k])
			case seen[code]:
				add(i, us, "analyst[%d]: %s is listed twice", k, code)
			}
			seen[code] = true
			u.Analyst = append(u.Analyst, code)
		}
		seenGrant := map[string]bool{}
		for k, gs := range us.FreeText {
			g := Grant{ICS: strings.ToUpper(strings.TrimSpace(gs.ICS)), ApprovedBy: strings.TrimSpace(gs.ApprovedBy)}
			field := fmt.Sprintf("free_text[%d]", k)
			if !codes.ValidICSCode(g.ICS) {
				add(i, us, "%s.ics: %q is not an ICS code (free text is granted one ICS at a time)", field, gs.ICS)
			} else if seenGrant[g.ICS] {
				add(i, us, "%s.ics: a second grant for %s (keep one, with its latest expiry)", field, g.ICS)
			}
			seenGrant[g.ICS] = true
			if g.ApprovedBy == "" {
				add(i, us, "%s.approved_by: missing (who approved this person's access to free text)", field)
			}
			var okOn, okExp bool
			g.ApprovedOn, okOn = parseDay(gs.ApprovedOn)
			if !okOn {
				add(i, us, "%s.approved_on: %q is not a date (YYYY-MM-DD)", field, gs.ApprovedOn)
			}
			g.Expires, okExp = parseDay(gs.Expires)
			if !okExp {
				add(i, us, "%s.expires: %q is not a date (YYYY-MM-DD); every free-text grant must expire", field, gs.Expires)
			}
			if okOn && okExp && g.Expires.Before(g.ApprovedOn) {
				add(i, us, "%s.expires: %s is before approved_on %s", field, gs.Expires, gs.ApprovedOn)
			}
			u.FreeText = append(u.FreeText, g)
		}
		if len(u.Analyst) == 0 && !u.Administrator && len(u.FreeText) == 0 {
			add(i, us, "no role: give analyst, administrator or free_text (or remove the entry)")
		}
		if u.ID != "" && !hasKey(p.byID, u.ID) {
			p.byID[u.ID] = len(p.users)
		}
		if u.Subject != "" && !hasKey(p.bySubject, u.Subject) {
			p.bySubject[u.Subject] = len(p.users)
		}
		p.users = append(p.users, u)
	}
	if len(e.Problems) > 0 {
		return nil, e
	}
	return p, nil
}

func hasKey(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// yamlProblem turns a YAML decoding error into "file:line: message".
func yamlProblem(name string, err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return name + ": " + strings.Join(te.Errors, "; ")
	}
	return name + ": " + err.Error()
}

// itemLines returns the line of each item of the top-level sequence under key.
func itemLines(root *yaml.Node, key string) []int {
	if root == nil || len(root.Content) == 0 {
		return nil
	}
	m := root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			var lines []int
			for _, item := range m.Content[i+1].Content {
				lines = append(lines, item.Line)
			}
			return lines
		}
	}
	return nil
}

func lineOf(lines []int, i int) int {
	if i < len(lines) {
		return lines[i]
	}
	return 0
}

func parseDay(s string) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(s), london)
	return t, err == nil
}

func validEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	return at > 0 && at == strings.LastIndexByte(s, '@') && strings.Contains(s[at+1:], ".") &&
		!strings.ContainsAny(s, " \t<>,;\"") && !strings.HasSuffix(s, ".")
}

// Users lists the policy's users in file order.
func (p *Policy) Users() []User { return slices.Clone(p.users) }

// User returns the user with this id (an e-mail address, any case).
func (p *Policy) User(id string) (User, bool) {
	i, ok := p.byID[strings.ToLower(strings.TrimSpace(id))]
	if !ok {
		return User{}, false
	}
	return p.users[i], true
}

// Match finds the user an identity provider's ID token names: by subject where the file
// pins one, otherwise by verified e-mail address. A user whose entry pins a subject is
// never matched by e-mail alone, so a reused mailbox cannot inherit their access.
func (p *Policy) Match(subject, email string, emailVerified bool) (User, bool) {
	if i, ok := p.bySubject[subject]; ok && subject != "" {
		return p.users[i], true
	}
	if !emailVerified || email == "" {
		return User{}, false
	}
	u, ok := p.User(email)
	if !ok || u.Subject != "" {
		return User{}, false
	}
	return u, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
