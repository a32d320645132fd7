package notify

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxAddressLines is the number of address lines a Notify letter can carry
// (personalisation keys address_line_1 .. address_line_7).
const MaxAddressLines = 7

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

// AddressLineKey is the personalisation key of address line n (1-based).
func AddressLineKey(n int) string { return "address_line_" + strconv.Itoa(n) }

// ValidateLetterAddress checks a letter's personalisation before it is sent, as Notify
// would: address_line_1 is present, there are at least 3 and at most 7 address lines,
// and the last non-empty line is a UK postcode. The error names the problem, never the
// address itself.
func ValidateLetterAddress(personalisation map[string]string) error {
	for k := range personalisation {
		if strings.HasPrefix(k, "address_line_") {
			n, err := strconv.Atoi(strings.TrimPrefix(k, "address_line_"))
			if err != nil || n < 1 || n > MaxAddressLines {
				return &ValidationError{Field: k, Message: fmt.Sprintf("unknown address field (use address_line_1 to address_line_%d)", MaxAddressLines)}
			}
		}
	}
	if strings.TrimSpace(personalisation[AddressLineKey(1)]) == "" {
		return &ValidationError{Field: AddressLineKey(1), Message: "address_line_1 is required"}
	}
	lines, last := 0, ""
	for i := 1; i <= MaxAddressLines; i++ {
		if v := strings.TrimSpace(personalisation[AddressLineKey(i)]); v != "" {
			lines++
			last = v
		}
	}
	if lines < 3 {
		return &ValidationError{Field: "personalisation", Message: "address must be at least 3 lines"}
	}
	if !ValidPostcode(last) {
		return &ValidationError{Field: "personalisation", Message: "last line of address must be a real UK postcode"}
	}
	return nil
}
