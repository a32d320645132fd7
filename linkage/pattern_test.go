package linkage

import (
	"regexp"
	"testing"
)

// The fast matcher must agree with the regexp it stands for.
func TestPatternMatcherAgreesWithRegexp(t *testing.T) {
	patterns := []string{`[A-Za-z0-9_-]{1,40}`, `[0-9]{3}`, `[A-Z][0-9]{2}`, `[RN][A-Z0-9]{2}([A-Z0-9]{2})?`, `[a-c]+`, `[a-c]*`,
		`[0-9]{2,}`, `x|y`, `[é-ë]{1,2}`}
	values := []string{"", "a", "ab", "abc", "abcd", "123", "1234", "12", "A05", "a05", "RGT", "RGT01", "RGT0", "NT3", "x", "y", "xy",
		"é", "éë", "éëé", "A-B_c9", "A B", "0123456789012345678901234567890123456789", "01234567890123456789012345678901234567890"}
	fast := 0
	for _, p := range patterns {
		re := regexp.MustCompile(`^(?:` + p + `)$`)
		if classRepeat(re.String()) != nil {
			fast++
		}
		m := patternMatcher(re)
		for _, v := range values {
			if m(v) != re.MatchString(v) {
				t.Errorf("pattern %s, value %q: fast %v, regexp %v", p, v, m(v), re.MatchString(v))
			}
		}
	}
	if fast < 5 {
		t.Errorf("only %d patterns took the fast path", fast)
	}
}
