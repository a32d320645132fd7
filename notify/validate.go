package notify

import (
	"strings"
)

// ValidPostcode reports whether s is a UK postcode (SPEC §4): an outward code of the
// form AN, ANN, ANA, AAN, AANN or AANA and an inward code NAA, where Q, V and X are
// never first, I, J and Z never second, the third-position letter is one of
// ABCDEFGHJKSTUW, the fourth-position letter one of ABEHMNPRVWXY, and the inward
// letters are never C, I, K, M, O or V. Case and spacing are ignored.
func ValidPostcode(s string) bool {
	p := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(p) < 5 || len(p) > 7 {
		return false
	}
	out, in := p[:len(p)-3], p[len(p)-3:]
	if !isDigit(in[0]) || !inwardLetter(in[1]) || !inwardLetter(in[2]) {
		return false
	}
	if !isLetter(out[0]) || strings.IndexByte("QVX", out[0]) >= 0 {
		return false
	}
	switch {
	case len(out) == 2: // AN
		return isDigit(out[1])
	case len(out) == 3 && isDigit(out[1]): // ANN or ANA
		return isDigit(out[2]) || strings.IndexByte("ABCDEFGHJKSTUW", out[2]) >= 0
	case len(out) == 3: // AAN
		return secondLetter(out[1]) && isDigit(out[2])
	case len(out) == 4: // AANN or AANA
		return secondLetter(out[1]) && isDigit(out[2]) &&
			(isDigit(out[3]) || strings.IndexByte("ABEHMNPRVWXY", out[3]) >= 0)
	}
	return false
}

// NormalisePostcode returns a valid postcode upper-cased with one space before the
// inward code, or s unchanged when it is not a valid postcode.
func NormalisePostcode(s string) string {
	if !ValidPostcode(s) {
		return s
	}
	p := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	return p[:len(p)-3] + " " + p[len(p)-3:]
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLetter(c byte) bool     { return 'A' <= c && c <= 'Z' }
func inwardLetter(c byte) bool { return isLetter(c) && strings.IndexByte("CIKMOV", c) < 0 }
func secondLetter(c byte) bool { return isLetter(c) && strings.IndexByte("IJZ", c) < 0 }

// ValidUKMobile reports whether s is a UK mobile number: 07xxxxxxxxx, +447xxxxxxxxx,
// 447xxxxxxxxx or 00447xxxxxxxxx, ignoring spaces, dashes, dots and brackets.
func ValidUKMobile(s string) bool {
	d := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')', '\t':
			return -1
		}
		return r
	}, s)
	switch {
	case strings.HasPrefix(d, "+44"):
		d = d[3:]
	case strings.HasPrefix(d, "0044"):
		d = d[4:]
	case strings.HasPrefix(d, "44"):
		d = d[2:]
	case strings.HasPrefix(d, "0"):
		d = d[1:]
	default:
		return false
	}
	if len(d) != 10 || d[0] != '7' {
		return false
	}
	for i := 0; i < len(d); i++ {
		if !isDigit(d[i]) {
			return false
		}
	}
	return true
}
