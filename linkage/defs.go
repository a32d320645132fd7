package linkage

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"icesurvey/fault"
	"icesurvey/internal/yamldefs"
)

// A secondary dataset is declared as data: one YAML file per source under defs/,
// embedded in the binary. A definition names the extract's columns, the role each
// plays in the canonical activity row (schemas.LinkageActivity), its type and its
// checks; which canonical activity types count towards which utilisation measure; and
// which canonical columns a UDAL-style export may carry. LoadDefinitions validates every
// definition and names the file and field of each fault; a malformed definition is an
// error, never a silent default.

//go:embed defs/*.yaml
var defsFS embed.FS

// Column roles.
const (
	RolePersonKey       = "person_key"        // the project pseudonym; exactly one
	RoleRecordID        = "record_id"         // the source's own id of the record; at most one; duplicates rejected
	RoleActivityDate    = "activity_date"     // exactly one
	RoleEndDate         = "end_date"          // at most one; gives duration_days
	RoleActivityType    = "activity_type"     // exactly one; its values map to canonical types
	RolePointOfDelivery = "point_of_delivery" // at most one; else the activity type column's code is kept
	RoleProvider        = "provider"          // exactly one
	RoleDiagnosis       = "diagnosis"         // any number, in order (the first is primary)
	RoleAttribute       = "attribute"         // checked, not kept
)

var roles = []string{RolePersonKey, RoleRecordID, RoleActivityDate, RoleEndDate, RoleActivityType,
	RolePointOfDelivery, RoleProvider, RoleDiagnosis, RoleAttribute}

// Column types.
const (
	TypeString  = "string"
	TypeCode    = "code" // a code from a list or of a checked shape; compared as text
	TypeDate    = "date"
	TypeInteger = "integer"
)

// Value checks (ColumnDef.Check).
const (
	CheckPseudonym   = "pseudonym"    // 64 hex digits (NormalisePseudonym)
	CheckICD10       = "icd10"        // NormaliseICD10
	CheckSNOMED      = "snomed"       // ValidSNOMEDConceptID (Verhoeff check digit)
	CheckODS         = "ods"          // ValidODSCode
	CheckODSPractice = "ods_practice" // a GP practice: a letter and five digits
	CheckLACode      = "la_code"      // ValidLACode
)

var checks = []string{CheckPseudonym, CheckICD10, CheckSNOMED, CheckODS, CheckODSPractice, CheckLACode}

// ActivityTypes is the canonical vocabulary an activity type column's values map to.
var ActivityTypes = []string{
	"attended", "did_not_attend", "cancelled", // appointments and contacts
	"emergency", "elective", "maternity", "transfer", // admissions
	"request", "assessment", "service", "review", // social care events
	"other",
}

// Measures are the utilisation measures of schemas.LinkedRespondent an activity type
// may count towards.
var Measures = []string{
	"gp_appointments", "ae_attendances", "emergency_admissions", "elective_admissions",
	"outpatient_attendances", "community_contacts", "mental_health_contacts", "social_care_services",
}

// ExportableColumns are the canonical activity columns a definition may allow in an
// export; the person key and the row's provenance never are.
var ExportableColumns = []string{"activity_date", "end_date", "duration_days", "activity_type",
	"point_of_delivery", "provider_code", "diagnosis_codes"}

// Definition is one secondary dataset.
type Definition struct {
	ID      string `yaml:"dataset"`
	Title   string `yaml:"title"`
	Source  string `yaml:"source"`
	Version string `yaml:"version"`
	// Columns of the extract. Header names are matched case-insensitively; columns the
	// definition does not name are ignored (and listed in the result), never stored.
	Columns []ColumnDef `yaml:"columns"`
	// Measures maps canonical activity types to what they count towards. A type not
	// listed is kept in the lake but counts towards no measure and no burden figure.
	Measures map[string]MeasureDef `yaml:"measures"`
	// Export lists the canonical columns (ExportableColumns) an export may carry.
	Export []string `yaml:"export"`

	// File is the definition's file name.
	File string `yaml:"-"`
	// Digest is the SHA-256 of the definition file, for the audit trail.
	Digest string `yaml:"-"`

	byRole map[string][]int
}

// ColumnDef is one column of an extract.
type ColumnDef struct {
	Name     string `yaml:"name"`
	Role     string `yaml:"role"`
	Type     string `yaml:"type"`
	Required bool   `yaml:"required"`
	Check    string `yaml:"check"`
	// Pattern is a regular expression the whole value must match.
	Pattern string `yaml:"pattern"`
	// Values is the column's code list: each allowed code and, for the activity type
	// column, the canonical type it maps to (else a label).
	Values map[string]string `yaml:"values"`
	// MinDate and MaxDate bound a date (yyyy-mm-dd); a date after the extract's as-of
	// date is always rejected.
	MinDate string `yaml:"min_date"`
	MaxDate string `yaml:"max_date"`
	// NotBefore names the date column this one may not precede (an end date).
	NotBefore string `yaml:"not_before"`
	// MaxDaysAfter bounds how long after NotBefore's date this one may be.
	MaxDaysAfter int `yaml:"max_days_after"`
	// Min and Max bound an integer.
	Min *int64 `yaml:"min"`
	Max *int64 `yaml:"max"`
	Doc string `yaml:"doc"`

	re       *regexp.Regexp
	min, max time.Time
}

// MeasureDef says what one canonical activity type counts towards.
type MeasureDef struct {
	Measure string `yaml:"measure"`  // one of Measures, or empty
	BedDays bool   `yaml:"bed_days"` // its duration counts as bed days
}

// Column returns the definition's column named name (case-insensitively).
func (d *Definition) Column(name string) (*ColumnDef, bool) {
	for i := range d.Columns {
		if strings.EqualFold(d.Columns[i].Name, name) {
			return &d.Columns[i], true
		}
	}
	return nil, false
}

// ColumnsWithRole lists the columns of one role, in definition order.
func (d *Definition) ColumnsWithRole(role string) []*ColumnDef {
	var out []*ColumnDef
	for _, i := range d.byRole[role] {
		out = append(out, &d.Columns[i])
	}
	return out
}

// DiagnosisSystem is the code system of the definition's diagnosis columns (all share
// one), or "" when it has none.
func (d *Definition) DiagnosisSystem() string {
	if cs := d.ColumnsWithRole(RoleDiagnosis); len(cs) > 0 {
		return cs[0].Check
	}
	return ""
}

// Definitions is a validated set of dataset definitions.
type Definitions struct {
	byID map[string]*Definition
}

// IDs lists the dataset ids, sorted.
func (ds *Definitions) IDs() []string {
	out := make([]string, 0, len(ds.byID))
	for id := range ds.byID {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// Get returns the definition of a dataset.
func (ds *Definitions) Get(id string) (*Definition, error) {
	d, ok := ds.byID[id]
	if !ok {
		return nil, fmt.Errorf("linkage: no dataset %q (known: %s)", id, strings.Join(ds.IDs(), ", "))
	}
	return d, nil
}

// All lists the definitions in id order.
func (ds *Definitions) All() []*Definition {
	var out []*Definition
	for _, id := range ds.IDs() {
		out = append(out, ds.byID[id])
	}
	return out
}

var defaultDefs = sync.OnceValues(func() (*Definitions, error) {
	sub, err := fs.Sub(defsFS, "defs")
	if err != nil {
		return nil, fmt.Errorf("linkage: embedded definitions: %w", err)
	}
	return LoadDefinitions(sub)
})

// DefaultDefinitions are the definitions embedded in the binary.
func DefaultDefinitions() (*Definitions, error) { return defaultDefs() }

var datasetID = regexp.MustCompile(`^[a-z][a-z0-9_]{1,30}$`)

// LoadDefinitions reads and validates every *.yaml file of fsys. The error lists every
// fault found, each naming its file and field; it is a fault.Configuration error (the
// definitions are the deployment's, and no retry corrects them).
func LoadDefinitions(fsys fs.FS) (*Definitions, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("linkage: list definitions: %w", err)
	}
	if len(names) == 0 {
		return nil, fault.New(fault.Configuration, "linkage: no dataset definitions (*.yaml)")
	}
	ds := &Definitions{byID: map[string]*Definition{}}
	var errs []error
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		d := &Definition{File: name, Digest: sha256Hex(b)}
		if err := yamldefs.DecodeStrict(b, d); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for _, e := range d.validate() {
			errs = append(errs, fmt.Errorf("%s: %w", name, e))
		}
		if d.ID != "" {
			if other, dup := ds.byID[d.ID]; dup {
				errs = append(errs, fmt.Errorf("%s: dataset: %q is also defined by %s", name, d.ID, other.File))
			}
			ds.byID[d.ID] = d
		}
	}
	if len(errs) > 0 {
		return nil, fault.Errorf(fault.Configuration, "linkage: invalid dataset definitions:\n%w", errors.Join(errs...))
	}
	return ds, nil
}

func (d *Definition) validate() []error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if !datasetID.MatchString(d.ID) {
		bad("dataset", "%q is not a dataset id (lower case letters, digits and _, starting with a letter)", d.ID)
	}
	if base := strings.TrimSuffix(path.Base(d.File), ".yaml"); d.ID != "" && base != d.ID {
		bad("dataset", "%q differs from the file name %s", d.ID, d.File)
	}
	if strings.TrimSpace(d.Title) == "" {
		bad("title", "missing")
	}
	if strings.TrimSpace(d.Version) == "" {
		bad("version", "missing")
	}
	d.byRole = map[string][]int{}
	seen := map[string]int{}
	for i := range d.Columns {
		c := &d.Columns[i]
		field := fmt.Sprintf("columns[%d] (%s)", i, c.Name)
		if strings.TrimSpace(c.Name) == "" {
			bad(field, "name is missing")
		} else if j, dup := seen[strings.ToUpper(c.Name)]; dup {
			bad(field, "name repeats columns[%d] (header names are case-insensitive)", j)
		}
		seen[strings.ToUpper(c.Name)] = i
		if !slices.Contains(roles, c.Role) {
			bad(field+".role", "%q is not one of %s", c.Role, strings.Join(roles, ", "))
		}
		d.byRole[c.Role] = append(d.byRole[c.Role], i)
		switch c.Type {
		case TypeString, TypeCode, TypeDate, TypeInteger:
		default:
			bad(field+".type", "%q is not one of string, code, date, integer", c.Type)
		}
		if c.Check != "" && !slices.Contains(checks, c.Check) {
			bad(field+".check", "%q is not one of %s", c.Check, strings.Join(checks, ", "))
		}
		if c.Check != "" && c.Type != TypeCode && c.Type != TypeString {
			bad(field+".check", "%s applies to a code or string column, not %s", c.Check, c.Type)
		}
		if c.Pattern != "" {
			re, err := regexp.Compile(`^(?:` + c.Pattern + `)$`)
			if err != nil {
				bad(field+".pattern", "%v", err)
			}
			c.re = re
		}
		if len(c.Values) > 0 && c.Type != TypeCode {
			bad(field+".values", "a code list needs type code")
		}
		if (c.MinDate != "" || c.MaxDate != "" || c.NotBefore != "" || c.MaxDaysAfter != 0) && c.Type != TypeDate {
			bad(field, "min_date, max_date, not_before and max_days_after apply to a date column")
		}
		for _, b := range []struct {
			name string
			raw  string
			to   *time.Time
		}{{"min_date", c.MinDate, &c.min}, {"max_date", c.MaxDate, &c.max}} {
			if b.raw == "" {
				continue
			}
			t, err := time.Parse(time.DateOnly, b.raw)
			if err != nil {
				bad(field+"."+b.name, "%q is not a yyyy-mm-dd date", b.raw)
			}
			*b.to = t
		}
		if !c.min.IsZero() && !c.max.IsZero() && c.max.Before(c.min) {
			bad(field+".max_date", "is before min_date")
		}
		if c.MaxDaysAfter < 0 || (c.MaxDaysAfter > 0 && c.NotBefore == "") {
			bad(field+".max_days_after", "needs not_before and a positive number of days")
		}
		if (c.Min != nil || c.Max != nil) && c.Type != TypeInteger {
			bad(field, "min and max apply to an integer column")
		}
		if c.Min != nil && c.Max != nil && *c.Max < *c.Min {
			bad(field+".max", "is below min")
		}
	}
	// Cross-column rules, once every column is known.
	for i := range d.Columns {
		c := &d.Columns[i]
		field := fmt.Sprintf("columns[%d] (%s)", i, c.Name)
		if c.NotBefore != "" {
			o, ok := d.Column(c.NotBefore)
			if !ok || o.Type != TypeDate || o == c {
				bad(field+".not_before", "%q is not another date column of this definition", c.NotBefore)
			}
		}
		switch c.Role {
		case RolePersonKey:
			if c.Check != CheckPseudonym || !c.Required {
				bad(field, "the person key must be required and have check pseudonym")
			}
		case RoleActivityDate:
			if c.Type != TypeDate || !c.Required {
				bad(field, "the activity date must be a required date")
			}
		case RoleEndDate:
			if c.Type != TypeDate {
				bad(field+".type", "an end date must be a date")
			}
		case RoleActivityType:
			if c.Type != TypeCode || len(c.Values) == 0 || !c.Required {
				bad(field, "the activity type must be a required code column with values mapping each code to a canonical type")
			}
			codes := make([]string, 0, len(c.Values))
			for code := range c.Values {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			for _, code := range codes {
				if !slices.Contains(ActivityTypes, c.Values[code]) {
					bad(field+".values["+code+"]", "%q is not a canonical activity type (%s)", c.Values[code], strings.Join(ActivityTypes, ", "))
				}
			}
		case RoleProvider:
			if !c.Required || (c.Check != CheckODS && c.Check != CheckODSPractice && c.Check != CheckLACode) {
				bad(field, "the provider must be required and have check ods, ods_practice or la_code")
			}
		case RoleDiagnosis:
			if c.Check != CheckICD10 && c.Check != CheckSNOMED {
				bad(field+".check", "a diagnosis column needs check icd10 or snomed")
			}
		}
	}
	for _, r := range []struct {
		role     string
		min, max int
	}{{RolePersonKey, 1, 1}, {RoleRecordID, 0, 1}, {RoleActivityDate, 1, 1}, {RoleEndDate, 0, 1},
		{RoleActivityType, 1, 1}, {RolePointOfDelivery, 0, 1}, {RoleProvider, 1, 1}} {
		if n := len(d.byRole[r.role]); n < r.min || n > r.max {
			want := fmt.Sprintf("exactly %d", r.min)
			if r.min != r.max {
				want = fmt.Sprintf("at most %d", r.max)
			}
			bad("columns", "%d columns have role %s; want %s", n, r.role, want)
		}
	}
	systems := map[string]bool{}
	for _, i := range d.byRole[RoleDiagnosis] {
		systems[d.Columns[i].Check] = true
	}
	if len(systems) > 1 {
		bad("columns", "diagnosis columns mix code systems; one dataset has one")
	}
	var types []string
	if cs := d.byRole[RoleActivityType]; len(cs) == 1 {
		for _, t := range d.Columns[cs[0]].Values {
			types = append(types, t)
		}
	}
	keys := make([]string, 0, len(d.Measures))
	for k := range d.Measures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		bad("measures", "missing: say which activity types count towards which measure")
	}
	for _, t := range keys {
		m := d.Measures[t]
		if !slices.Contains(types, t) {
			bad("measures["+t+"]", "%q is not a type the activity type column maps to", t)
		}
		if m.Measure != "" && !slices.Contains(Measures, m.Measure) {
			bad("measures["+t+"].measure", "%q is not one of %s", m.Measure, strings.Join(Measures, ", "))
		}
		if m.BedDays && len(d.byRole[RoleEndDate]) == 0 {
			bad("measures["+t+"].bed_days", "needs an end_date column")
		}
		if m.Measure == "" && !m.BedDays {
			bad("measures["+t+"]", "counts towards nothing: give a measure or bed_days")
		}
	}
	for i, e := range d.Export {
		switch {
		case !slices.Contains(ExportableColumns, e):
			bad(fmt.Sprintf("export[%d]", i), "%q is not an exportable column (%s)", e, strings.Join(ExportableColumns, ", "))
		case slices.Contains(d.Export[:i], e):
			// The release's activity output selects each listed column: one listed
			// twice would be two columns of one name.
			bad(fmt.Sprintf("export[%d]", i), "%q is listed twice", e)
		}
	}
	return errs
}
