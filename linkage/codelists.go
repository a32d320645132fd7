package linkage

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"icesurvey/fault"
	"icesurvey/schemas"
)

// Condition flags come from versioned code lists: data files under codelists/,
// embedded. Each file is one list with an id, a version and a status; "illustrative"
// marks the lists shipped here, which stand in for the approved clinical code lists
// and must be replaced by them (a new version of the file) before real use.

//go:embed codelists/*.yaml
var codelistFS embed.FS

// Code list statuses.
const (
	CodelistIllustrative = "illustrative"
	CodelistApproved     = "approved"
)

// Codelist is one versioned code list of conditions.
type Codelist struct {
	ID         string      `yaml:"codelist"`
	Version    string      `yaml:"version"`
	Status     string      `yaml:"status"`
	Conditions []Condition `yaml:"conditions"`
	File       string      `yaml:"-"`
	Digest     string      `yaml:"-"`
}

// Condition is one condition and the codes that flag it.
type Condition struct {
	ID     string   `yaml:"id"`
	Label  string   `yaml:"label"`
	ICD10  []string `yaml:"icd10"`  // three- or four-character prefixes
	SNOMED []string `yaml:"snomed"` // concept ids, matched exactly
}

// Codelists is a validated set of code lists.
type Codelists struct {
	Lists []*Codelist // by id
}

var conditionID = regexp.MustCompile(`^[a-z][a-z0-9_]{1,40}$`)

var defaultCodelists = sync.OnceValues(func() (*Codelists, error) {
	sub, err := fs.Sub(codelistFS, "codelists")
	if err != nil {
		return nil, fmt.Errorf("linkage: embedded code lists: %w", err)
	}
	return LoadCodelists(sub)
})

// DefaultCodelists are the code lists embedded in the binary.
func DefaultCodelists() (*Codelists, error) { return defaultCodelists() }

// LoadCodelists reads and validates every *.yaml file of fsys. The error names the file
// and field of every fault; it is a fault.Configuration error (the code lists are the
// deployment's, and no retry corrects them).
func LoadCodelists(fsys fs.FS) (*Codelists, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("linkage: list code lists: %w", err)
	}
	if len(names) == 0 {
		return nil, fault.New(fault.Configuration, "linkage: no code lists (*.yaml)")
	}
	out := &Codelists{}
	var errs []error
	lists := map[string]string{}
	conds := map[string]string{}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		cl := &Codelist{File: name, Digest: sha256Hex(b)}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(cl); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		bad := func(field, format string, a ...any) {
			errs = append(errs, fmt.Errorf("%s: %s: %s", name, field, fmt.Sprintf(format, a...)))
		}
		if !conditionID.MatchString(strings.ReplaceAll(cl.ID, "-", "_")) {
			bad("codelist", "%q is not a code list id", cl.ID)
		} else if other, dup := lists[cl.ID]; dup {
			bad("codelist", "%q is also the id of %s", cl.ID, other)
		}
		lists[cl.ID] = name
		if strings.TrimSpace(cl.Version) == "" {
			bad("version", "missing")
		}
		if cl.Status != CodelistIllustrative && cl.Status != CodelistApproved {
			bad("status", "%q is not illustrative or approved", cl.Status)
		}
		if len(cl.Conditions) == 0 {
			bad("conditions", "none")
		}
		for i, c := range cl.Conditions {
			field := fmt.Sprintf("conditions[%d] (%s)", i, c.ID)
			if !conditionID.MatchString(c.ID) {
				bad(field+".id", "%q is not a condition id (lower case letters, digits and _)", c.ID)
			} else if other, dup := conds[c.ID]; dup {
				bad(field+".id", "also defined in %s", other)
			}
			conds[c.ID] = name
			if strings.TrimSpace(c.Label) == "" {
				bad(field+".label", "missing")
			}
			if len(c.ICD10)+len(c.SNOMED) == 0 {
				bad(field, "no codes")
			}
			seen := map[string]bool{}
			for j, p := range c.ICD10 {
				code, _, _, ok := NormaliseICD10(p)
				if !ok || code != p || (len(p) != 3 && len(p) != 4) {
					bad(fmt.Sprintf("%s.icd10[%d]", field, j), "%q is not a three- or four-character ICD-10 prefix (upper case, no dot)", p)
				}
				if seen[p] {
					bad(fmt.Sprintf("%s.icd10[%d]", field, j), "%q is listed twice", p)
				}
				seen[p] = true
			}
			for j, s := range c.SNOMED {
				if !ValidSNOMEDConceptID(s) {
					bad(fmt.Sprintf("%s.snomed[%d]", field, j), "%q is not a SNOMED CT concept id (Verhoeff check digit, partition 00 or 10)", s)
				}
				if seen[s] {
					bad(fmt.Sprintf("%s.snomed[%d]", field, j), "%q is listed twice", s)
				}
				seen[s] = true
			}
		}
		out.Lists = append(out.Lists, cl)
	}
	if len(errs) > 0 {
		return nil, fault.Errorf(fault.Configuration, "linkage: invalid code lists:\n%w", errors.Join(errs...))
	}
	sort.Slice(out.Lists, func(i, j int) bool { return out.Lists[i].ID < out.Lists[j].ID })
	return out, nil
}

// Stage lists every code of every list in the shape the SQL matches against.
func (cs *Codelists) Stage() []schemas.LinkageCode {
	var out []schemas.LinkageCode
	for _, cl := range cs.Lists {
		for _, c := range cl.Conditions {
			for _, p := range c.ICD10 {
				out = append(out, schemas.LinkageCode{ConditionID: c.ID, CodelistID: cl.ID, CodelistVersion: cl.Version,
					CodeSystem: CheckICD10, MatchLength: int32(len(p)), Code: p})
			}
			for _, s := range c.SNOMED {
				out = append(out, schemas.LinkageCode{ConditionID: c.ID, CodelistID: cl.ID, CodelistVersion: cl.Version,
					CodeSystem: CheckSNOMED, Code: s})
			}
		}
	}
	return out
}

// ListOf returns the list that defines a condition.
func (cs *Codelists) ListOf(conditionID string) (*Codelist, bool) {
	for _, cl := range cs.Lists {
		for _, c := range cl.Conditions {
			if c.ID == conditionID {
				return cl, true
			}
		}
	}
	return nil, false
}
