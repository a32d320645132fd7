package schemas

import (
	"regexp"
	"testing"
)

// The table names each of the 42 boards once, by a well-formed ICB code.
func TestICSNames(t *testing.T) {
	if len(ICSNames) != 42 {
		t.Errorf("%d ICSs named, want the 42 integrated care boards", len(ICSNames))
	}
	code := regexp.MustCompile(`^Q[0-9A-Z]{2}$`)
	seen := map[string]string{}
	for c, name := range ICSNames {
		if !code.MatchString(c) {
			t.Errorf("%q is not an ICB's ODS code (Q and two letters or digits)", c)
		}
		if name == "" {
			t.Errorf("%s has no name", c)
		}
		if other, ok := seen[name]; ok {
			t.Errorf("%s and %s are both named %q", c, other, name)
		}
		seen[name] = c
	}
	for _, tc := range []struct{ code, want string }{{"QMM", "Norfolk and Waveney"}, {"QJK", "Devon"}, {"QYG", "Cheshire and Merseyside"}, {"QXX", ""}} {
		if got := ICSName(tc.code); got != tc.want {
			t.Errorf("ICSName(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
}
