package wavespec

import (
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse feeds arbitrary bytes to the wave spec parser (`ice wave start --spec`).
// No input may panic. A refused spec's error names the spec file; an accepted one
// validates, and written back out as YAML it parses to the same spec (so what a data
// engineer reads back from `ice wave status` is what the wave runs on).
//
// Seeds: testdata/fuzz/FuzzParse (the README's spec, a full schedule, flow style, and
// nasty cases: anchors and aliases, tabs, a document stream, unknown keys, huge
// numbers, non-scalar dates).
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("wave.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "wave spec wave.yaml: ") {
				t.Fatalf("error does not name the spec: %v", err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Parse accepted a spec that does not validate: %v", err)
		}
		out, err := yaml.Marshal(s)
		if err != nil {
			t.Fatalf("marshal accepted spec: %v", err)
		}
		again, err := Parse("again.yaml", out)
		if err != nil {
			t.Fatalf("accepted spec written back does not parse: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(s, again) {
			t.Fatalf("round trip changed the spec:\n%+v\n%+v\n%s", s, again, out)
		}
	})
}
