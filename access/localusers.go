package access

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// MinBcryptCost is the lowest bcrypt cost a local users file may use.
const MinBcryptCost = 10

// LocalUsers is the users file of `ice dev`: sign-in names with bcrypt-hashed passwords,
// for a machine without an identity provider. Production signs in through OpenID
// Connect; the access file decides what either kind of user may see.
//
// The file:
//
//	users:
//	  - id: ann.analyst@example.nhs.uk
//	    password_bcrypt: "$2a$10$..."   # never a password in clear
type LocalUsers struct {
	Source string
	hashes map[string][]byte
	// maxCost is the bcrypt cost of the dearest hash in the file: an unknown id is
	// checked against a dummy hash of that cost (dummyHash).
	maxCost int
	dummy   []byte
}

type localFileShape struct {
	Users []struct {
		ID             string `yaml:"id"`
		PasswordBcrypt string `yaml:"password_bcrypt"`
	} `yaml:"users"`
}

// LoadLocalUsers reads and validates a local users file.
func LoadLocalUsers(path string) (*LocalUsers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("access: reading the local users file: %w", err)
	}
	return ParseLocalUsers(filepath.Base(path), data)
}

// ParseLocalUsers validates a local users file's content; name is used in errors.
func ParseLocalUsers(name string, data []byte) (*LocalUsers, error) {
	var shape localFileShape
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&shape); err != nil {
		return nil, &Error{File: name, Problems: []string{yamlProblem(name, err)}}
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	lines := itemLines(&root, "users")
	lu := &LocalUsers{Source: name, hashes: map[string][]byte{}}
	e := &Error{File: name}
	for i, u := range shape.Users {
		id := strings.ToLower(strings.TrimSpace(u.ID))
		where := fmt.Sprintf("%s:%d: users[%d]", name, lineOf(lines, i), i)
		if id != "" {
			where += " (" + id + ")"
		}
		switch {
		case id == "":
			e.Problems = append(e.Problems, where+": id: missing")
			continue
		case lu.hashes[id] != nil:
			e.Problems = append(e.Problems, where+": id: listed twice")
			continue
		}
		cost, err := bcrypt.Cost([]byte(u.PasswordBcrypt))
		switch {
		case err != nil:
			e.Problems = append(e.Problems, where+": password_bcrypt: not a bcrypt hash ("+err.Error()+")")
			continue
		case cost < MinBcryptCost:
			e.Problems = append(e.Problems, fmt.Sprintf("%s: password_bcrypt: cost %d is below %d", where, cost, MinBcryptCost))
			continue
		}
		lu.hashes[id] = []byte(u.PasswordBcrypt)
		lu.maxCost = max(lu.maxCost, cost)
	}
	if len(shape.Users) == 0 {
		e.Problems = append(e.Problems, name+": users: no users listed")
	}
	if len(e.Problems) > 0 {
		return nil, e
	}
	lu.dummy = lu.dummyHash()
	return lu, nil
}

// CheckAgainst reports users of the local file who are not in the access policy: they
// could sign in but see nothing, which is a mistake in one file or the other.
func (lu *LocalUsers) CheckAgainst(p *Policy) error {
	e := &Error{File: lu.Source}
	for _, id := range sortedKeys(lu.hashes) {
		if _, ok := p.User(id); !ok {
			e.Problems = append(e.Problems, fmt.Sprintf("%s: user %s is not in the access file %s", lu.Source, id, p.Source))
		}
	}
	if len(e.Problems) > 0 {
		return e
	}
	return nil
}

// minCostDummy is the dummy hash at the lowest cost a file may use.
var minCostDummy, _ = bcrypt.GenerateFromPassword([]byte("not a password of anyone"), MinBcryptCost)

// dummyHash is compared against when the id is unknown, so an unknown id takes as long
// to refuse as a wrong password (no user enumeration by timing): its cost is that of
// the dearest hash in the file, not the minimum, which a file's hashes may exceed.
func (lu *LocalUsers) dummyHash() []byte {
	if lu.dummy != nil {
		return lu.dummy
	}
	if lu.maxCost > MinBcryptCost {
		if h, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), lu.maxCost); err == nil {
			return h
		}
	}
	return minCostDummy
}

// Verify reports whether password is id's password.
func (lu *LocalUsers) Verify(id, password string) bool {
	h, ok := lu.hashes[strings.ToLower(strings.TrimSpace(id))]
	if !ok {
		_ = bcrypt.CompareHashAndPassword(lu.dummyHash(), []byte(password))
		return false
	}
	err := bcrypt.CompareHashAndPassword(h, []byte(password))
	return err == nil
}

// HashPassword returns a bcrypt hash of password at the default cost, for writing a
// local users file.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	return string(h), err
}
