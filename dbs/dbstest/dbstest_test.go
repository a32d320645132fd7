package dbstest

import (
	"strings"
	"testing"

	"icesurvey/codes"
)

// NHS keeps the prefix when it admits a check digit and moves up to the next one that
// does when it does not (a check digit of 10).
func TestNHS(t *testing.T) {
	for _, tc := range []struct{ prefix, wantPrefix string }{
		{"943476591", "943476591"},
		{"400000001", "400000001"},
		{"100000001", "100000002"}, // 100000001 would need check digit 10
	} {
		got := NHS(t, tc.prefix)
		if !codes.ValidNHSNumber(got) || !strings.HasPrefix(got, tc.wantPrefix) {
			t.Errorf("NHS(%q) = %s, want a valid number starting %s", tc.prefix, got, tc.wantPrefix)
		}
	}
}
