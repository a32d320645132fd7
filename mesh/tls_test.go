package mesh

import (
	"strings"
	"testing"
)

// A client certificate or key not given is named as such, not reported as
// "open : no such file or directory".
func TestNewHTTPClientNamesTheMissingFile(t *testing.T) {
	for _, tc := range []struct{ cert, key, want string }{
		{"", "", "no client certificate or key file given"},
		{"", "k.pem", "no client certificate file given"},
		{"c.pem", "", "no client key file given"},
	} {
		if _, err := NewHTTPClient(tc.cert, tc.key, "", 0); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewHTTPClient(%q, %q) = %v, want %q", tc.cert, tc.key, err, tc.want)
		}
	}
}
