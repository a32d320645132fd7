// Package yamldefs reads the YAML definitions the domain packages embed (linkage's
// dataset definitions, questionnaires, theme codebooks, patient profiles) the one way
// they are all read: strictly, so that a misspelt field is an error rather than a
// silent default, and a directory at a time, each file named by the key of what it
// defines.
package yamldefs

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeStrict decodes the YAML document b into v; a field v has no place for is an
// error.
func DecodeStrict(b []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// Dir reads every *.yaml file of dir in fsys, in name order, with parse (given the
// file's contents and base name), and keys each result by key(result), which must be
// the file's base name without ".yaml"; field names the key in the error when it is
// not. A file that cannot be read ends the load (err). A file that does not parse, or
// whose key differs from its name, is a fault: faults lists them in file order, and the
// results of the other files are returned.
func Dir[T any](fsys fs.FS, dir, field string, parse func(data []byte, file string) (T, error), key func(T) string) (out map[string]T, faults []error, err error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, nil, err
	}
	out = map[string]T{}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, nil, err
		}
		base := path.Base(name)
		v, err := parse(data, base)
		if err != nil {
			faults = append(faults, err)
			continue
		}
		k := key(v)
		if want := strings.TrimSuffix(base, ".yaml"); k != want {
			faults = append(faults, fmt.Errorf("%s: %s: %q, but the file name says %q", base, field, k, want))
			continue
		}
		out[k] = v
	}
	return out, faults, nil
}

// Get returns the definition of key among those load returns; when there is none, the
// error is missing (e.g. "profiles: no profile") with key and the keys there are.
func Get[T any](load func() (map[string]T, error), missing, key string) (T, error) {
	all, err := load()
	if err != nil {
		var zero T
		return zero, err
	}
	v, ok := all[key]
	if !ok {
		return v, fmt.Errorf("%s %q (have %s)", missing, key, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
	}
	return v, nil
}

// Keys are the keys of the definitions load returns, sorted; none when it fails.
func Keys[T any](load func() (map[string]T, error)) []string {
	all, _ := load()
	return slices.Sorted(maps.Keys(all))
}
