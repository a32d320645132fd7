package publication

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"icesurvey/estimate"
)

// Overrides are the parameters one release sets, by PUBLICATION.md's names; a field
// left nil keeps its default (DefaultParams). They are what a parameters file holds
// (ReadOverrides, `ice publish --params FILE`), and travel as they are from the client
// through the publication workflow to the activity that computes the release, which
// applies them to the defaults and validates the result again (Apply). The values used
// are written into the release's metadata (Params.Metadata), every one of them.
//
// The confidence level is a fraction, 0 < confidence < 1 (0.9 for 90 % intervals); its
// z is the exact two-sided normal quantile (estimate.ParamsFor), and 0.95 gives
// PUBLICATION.md's z = 1.959963984540054 itself, so a file that says confidence: 0.95
// makes the same release, byte for byte, as no file. z cannot be set on its own.
type Overrides struct {
	Vars            *[]string `json:"vars,omitempty" yaml:"vars"`
	Lo              *float64  `json:"lo,omitempty" yaml:"lo"`
	Hi              *float64  `json:"hi,omitempty" yaml:"hi"`
	MinLevelN       *int      `json:"min_level_n,omitempty" yaml:"min_level_n"`
	Tol             *float64  `json:"tol,omitempty" yaml:"tol"`
	MaxSweeps       *int      `json:"max_sweeps,omitempty" yaml:"max_sweeps"`
	Confidence      *float64  `json:"confidence,omitempty" yaml:"confidence"`
	MinBase         *int      `json:"min_base,omitempty" yaml:"min_base"`
	CautionBase     *int      `json:"caution_base,omitempty" yaml:"caution_base"`
	MinCount        *int      `json:"min_count,omitempty" yaml:"min_count"`
	Breakdowns      *[]string `json:"breakdowns,omitempty" yaml:"breakdowns"`
	GroupComparison *string   `json:"group_comparison,omitempty" yaml:"group_comparison"`
	EnglandCounts   *bool     `json:"england_counts,omitempty" yaml:"england_counts"`
}

// fields are the names a parameters file may use, in PUBLICATION.md's order, each with
// where its value goes and what it must be.
func (o *Overrides) fields() []overrideField {
	return []overrideField{
		{"vars", &o.Vars, "a list of sample variables"}, {"lo", &o.Lo, "a number"}, {"hi", &o.Hi, "a number"},
		{"min_level_n", &o.MinLevelN, "a whole number"}, {"tol", &o.Tol, "a number"},
		{"max_sweeps", &o.MaxSweeps, "a whole number"}, {"confidence", &o.Confidence, "a number (a fraction: 0.9 for 90 %)"},
		{"min_base", &o.MinBase, "a whole number"}, {"caution_base", &o.CautionBase, "a whole number"},
		{"min_count", &o.MinCount, "a whole number"}, {"breakdowns", &o.Breakdowns, "a list of breakdown variables"},
		{"group_comparison", &o.GroupComparison, "a name"}, {"england_counts", &o.EnglandCounts, "true or false"},
	}
}

type overrideField struct {
	name   string
	target any
	want   string
}

// byName is fields keyed by their names.
func (o *Overrides) byName() map[string]overrideField {
	m := map[string]overrideField{}
	for _, f := range o.fields() {
		m[f.name] = f
	}
	return m
}

// setText sets f's value from its text as a release's metadata writes it
// (Params.Metadata): lists comma-separated, numbers and booleans as strconv formats them.
func (f overrideField) setText(v string) error {
	switch t := f.target.(type) {
	case **[]string:
		l := []string{}
		if v != "" {
			l = strings.Split(v, ",")
		}
		*t = &l
	case **float64:
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		*t = &x
	case **int:
		x, err := strconv.Atoi(v)
		if err != nil {
			return err
		}
		*t = &x
	case **string:
		*t = &v
	case **bool:
		x, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		*t = &x
	default:
		return fmt.Errorf("no text form for %T", f.target)
	}
	return nil
}

// OverrideNames are the parameters a parameters file may set, in PUBLICATION.md's order.
func OverrideNames() []string {
	var o Overrides
	var names []string
	for _, f := range o.fields() {
		names = append(names, f.name)
	}
	return names
}

// notInFile says where a parameter that a file may not set is set instead.
var notInFile = map[string]string{
	"z":               "z is computed from confidence (its exact normal quantile): set confidence instead",
	"exclude":         "ICSs are left out with `ice publish --exclude`, not in the parameters file",
	"exclude_reason":  "ICSs are left out with `ice publish --exclude`, not in the parameters file",
	"local_questions": "the ICSs' own questions come from the answers, not from the parameters file",
	"file_time":       "file_time is fixed so a release is byte-identical whenever it is made",
	"code_version":    "the code version is the running binary's",
}

// Names are the parameters o sets, in PUBLICATION.md's order.
func (o *Overrides) Names() []string {
	if o == nil {
		return nil
	}
	var names []string
	for _, f := range o.fields() {
		if !reflect.ValueOf(f.target).Elem().IsNil() {
			names = append(names, f.name)
		}
	}
	return names
}

// Empty reports whether o sets nothing (the defaults).
func (o *Overrides) Empty() bool { return o == nil || *o == Overrides{} }

// Apply returns p with the overrides set, validated (Params.Validate); nil overrides
// return p as it is, validated too. The confidence level sets z to its exact quantile.
func (o *Overrides) Apply(p Params) (Params, error) {
	p = o.apply(p)
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, nil
}

// apply is Apply without the validation.
func (o *Overrides) apply(p Params) Params {
	p.Weighting.Vars = slices.Clone(p.Weighting.Vars)
	p.Breakdowns = slices.Clone(p.Breakdowns)
	if o != nil {
		if o.Vars != nil {
			p.Weighting.Vars = slices.Clone(*o.Vars)
			if p.Weighting.Vars == nil {
				p.Weighting.Vars = []string{}
			}
		}
		setIf(&p.Weighting.Lo, o.Lo)
		setIf(&p.Weighting.Hi, o.Hi)
		setIf(&p.Weighting.MinLevelN, o.MinLevelN)
		setIf(&p.Weighting.Tol, o.Tol)
		setIf(&p.Weighting.MaxSweeps, o.MaxSweeps)
		if o.Confidence != nil {
			p.Estimate = estimate.ParamsFor(*o.Confidence)
		}
		setIf(&p.Disclosure.MinBase, o.MinBase)
		setIf(&p.Disclosure.CautionBase, o.CautionBase)
		setIf(&p.Disclosure.MinCount, o.MinCount)
		if o.Breakdowns != nil {
			p.Breakdowns = slices.Clone(*o.Breakdowns)
			if p.Breakdowns == nil {
				p.Breakdowns = []string{}
			}
		}
		setIf(&p.GroupComparison, o.GroupComparison)
		setIf(&p.EnglandCounts, o.EnglandCounts)
	}
	return p
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// ReadOverrides reads a parameters file (ParseOverrides).
func ReadOverrides(path string) (*Overrides, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("release parameters: %w", err)
	}
	return ParseOverrides(path, b)
}

// ParseOverrides parses a parameters file named name: a YAML mapping of any of
// PUBLICATION.md's parameters (OverrideNames) to their values, strictly — an unknown
// field, a field given twice or a value of the wrong type is an error naming the file,
// its line and the field — and checks the parameters it makes with the defaults for
// the rest (Apply), each error naming the file and the field. An empty file sets
// nothing.
func ParseOverrides(name string, data []byte) (*Overrides, error) {
	o := &Overrides{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	switch err := dec.Decode(&doc); {
	case errors.Is(err, io.EOF):
		return o, nil
	case err != nil:
		return nil, fmt.Errorf("release parameters %s: %w", name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("release parameters %s: more than one YAML document (one mapping of parameters is expected)", name)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	return OverridesOf("release parameters "+name, root)
}

// OverridesOf reads the parameters of a YAML mapping as ParseOverrides reads a file's,
// with the same checks; where says where it is ("release parameters FILE", or a wave
// spec's `publication:`) in front of each error, and the errors give the lines of the
// document the node is in. A null node sets nothing.
func OverridesOf(where string, root *yaml.Node) (*Overrides, error) {
	o := &Overrides{}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return o, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: line %d: want a mapping of parameter names to values (%s)", where, root.Line, strings.Join(OverrideNames(), ", "))
	}
	targets := o.byName()
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		field := k.Value
		if line, dup := seen[field]; dup {
			errs = append(errs, fmt.Errorf("line %d: field %s given twice (first at line %d)", k.Line, field, line))
			continue
		}
		seen[field] = k.Line
		f, ok := targets[field]
		if !ok {
			why := "not a parameter of a release (" + strings.Join(OverrideNames(), ", ") + ")"
			if w, known := notInFile[field]; known {
				why = w
			}
			errs = append(errs, fmt.Errorf("line %d: unknown field %q: %s", k.Line, field, why))
			continue
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			errs = append(errs, fmt.Errorf("line %d: field %s has no value (leave it out to keep the default)", v.Line, field))
			continue
		}
		if _, isInt := f.target.(**int); isInt && (v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int") {
			// yaml would take 10.5 for 10.
			errs = append(errs, fmt.Errorf("line %d: field %s: %q, want %s", v.Line, field, v.Value, f.want))
			continue
		}
		if err := v.Decode(f.target); err != nil {
			errs = append(errs, fmt.Errorf("line %d: field %s: %s, want %s", v.Line, field, typeError(err, v), f.want))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, inFile(where, err)
	}
	if _, err := o.Apply(DefaultParams()); err != nil {
		return nil, inFile(where, err)
	}
	return o, nil
}

// inFile puts where (the file) in front of each of err's errors, one a line.
func inFile(where string, err error) error {
	var leaves []error
	var walk func(error)
	walk = func(e error) {
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		if e != nil {
			leaves = append(leaves, fmt.Errorf("%s: %w", where, e))
		}
	}
	walk(err)
	return errors.Join(leaves...)
}

// typeError says what a value of the wrong type was, without yaml's Go type names.
func typeError(err error, v *yaml.Node) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	switch v.Kind {
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", v.Value)
	case yaml.SequenceNode:
		return "a list (or a list holding a value of the wrong type)"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "a value of the wrong type"
}
