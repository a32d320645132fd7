package yamldefs

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

type def struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"`
}

func parse(data []byte, file string) (*def, error) {
	d := &def{}
	if err := DecodeStrict(data, d); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if d.Title == "" {
		return nil, fmt.Errorf("%s: title: empty", file)
	}
	return d, nil
}

func TestDecodeStrict(t *testing.T) {
	for _, tc := range []struct {
		yaml, wantErr string
	}{
		{"id: a\ntitle: T\n", ""},
		{"id: a\ntitel: T\n", "field titel not found"},
		{"id: [a\n", "did not find expected"},
	} {
		var d def
		err := DecodeStrict([]byte(tc.yaml), &d)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("DecodeStrict(%q) = %v, want an error containing %q", tc.yaml, err, tc.wantErr)
		}
	}
}

func TestDir(t *testing.T) {
	fsys := fstest.MapFS{
		"defs/a.yaml":     {Data: []byte("id: a\ntitle: A\n")},
		"defs/b.yaml":     {Data: []byte("id: c\ntitle: B\n")},
		"defs/d.yaml":     {Data: []byte("id: d\n")},
		"defs/e.yaml":     {Data: []byte("id: e\ncolour: red\n")},
		"defs/notes.txt":  {Data: []byte("not a definition")},
		"other/f.yaml":    {Data: []byte("id: f\ntitle: F\n")},
		"defs/sub/g.yaml": {Data: []byte("id: g\ntitle: G\n")},
	}
	out, faults, err := Dir(fsys, "defs", "id", parse, func(d *def) string { return d.ID })
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(out)); !slices.Equal(got, []string{"a"}) {
		t.Errorf("loaded %v, want [a]", got)
	}
	want := []string{`b.yaml: id: "c", but the file name says "b"`, "d.yaml: title: empty", "e.yaml: yaml: unmarshal errors:\n  line 2: field colour not found in type yamldefs.def"}
	var got []string
	for _, f := range faults {
		got = append(got, f.Error())
	}
	if !slices.Equal(got, want) {
		t.Errorf("faults %q, want %q", got, want)
	}

	if _, _, err := Dir(fsys, "[", "id", parse, func(d *def) string { return d.ID }); !errors.Is(err, path.ErrBadPattern) {
		t.Errorf("a bad directory pattern: %v, want %v", err, path.ErrBadPattern)
	}
}

func TestGetAndKeys(t *testing.T) {
	defs := map[string]*def{"b": {ID: "b"}, "a": {ID: "a"}}
	load := func() (map[string]*def, error) { return defs, nil }
	if d, err := Get(load, "no def", "b"); err != nil || d.ID != "b" {
		t.Errorf("Get b = %v, %v", d, err)
	}
	if _, err := Get(load, "x: no def", "c"); err == nil || err.Error() != `x: no def "c" (have a, b)` {
		t.Errorf("Get c: %v", err)
	}
	if got := Keys(load); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("Keys = %v", got)
	}
	failing := func() (map[string]*def, error) { return nil, errors.New("broken") }
	if _, err := Get(failing, "no def", "a"); err == nil || err.Error() != "broken" {
		t.Errorf("Get from a failing load: %v", err)
	}
	if got := Keys(failing); len(got) != 0 {
		t.Errorf("Keys of a failing load = %v", got)
	}
}
