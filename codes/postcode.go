package codes

import (
	"errors"
	"strings"

	"icesurvey/fault"
)

// Postcode errors. ErrPseudoPostcode is not a format error: the value is an NHS
// pseudo-postcode (ZZ99 ...), recorded for people with no fixed abode, an unknown
// address or an address abroad, so the person has no UK postal address.
var (
	ErrPostcodeMissing = fault.New(fault.BadInput, "postcode is empty")
	ErrPostcodeFormat  = fault.New(fault.BadInput, "postcode is not a valid UK postcode")
	ErrPseudoPostcode  = fault.New(fault.BadInput, "postcode is an NHS pseudo-postcode (ZZ99): no UK postal address")
)

// PseudoPostcodePrefix starts every NHS pseudo-postcode (ZZ99 3VZ no fixed abode,
// ZZ99 3WZ address not known, ZZ99 3CZ England not otherwise specified, ZZ99 xxZ abroad).
const PseudoPostcodePrefix = "ZZ99"

// NormalisePostcode returns s as a UK postcode in standard form: upper case, outward
// and inward codes separated by one space ("sw1a1aa" → "SW1A 1AA"). Spaces anywhere
// are ignored. The rules (SPEC §4): outward AN, ANN, ANA, AAN, AANN or AANA, inward
// NAA; Q, V, X never first; I, J, Z never second; a letter in third place only
// A–H, J, K, S, T, U, W; in fourth place only A, B, E, H, M, N, P, R, V, W, X, Y;
// inward letters never C, I, K, M, O, V. GIR 0AA is accepted.
//
// An NHS pseudo-postcode is returned normalised with an error wrapping
// ErrPseudoPostcode; an empty s gives ErrPostcodeMissing.
func NormalisePostcode(s string) (string, error) {
	var buf [8]byte
	b, err := AppendPostcode(buf[:0], s)
	if err != nil && !errors.Is(err, ErrPseudoPostcode) {
		return "", err
	}
	return string(b), err
}

// AppendPostcode appends the normalised form of postcode s to dst (see
// NormalisePostcode). On a format error dst is returned unchanged.
func AppendPostcode(dst []byte, s string) ([]byte, error) {
	var c [7]byte
	n := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == ' ' || ch == '\t' {
			continue
		}
		if n == len(c) {
			return dst, ErrPostcodeFormat
		}
		c[n] = upper(ch)
		n++
	}
	if n == 0 {
		return dst, ErrPostcodeMissing
	}
	if n < 5 {
		return dst, ErrPostcodeFormat
	}
	out, in := c[:n-3], c[n-3:n]
	if !isDigit(in[0]) || !isLetter(in[1]) || !isLetter(in[2]) {
		return dst, ErrPostcodeFormat
	}
	if len(out) == 4 && string(out) == PseudoPostcodePrefix {
		return appendSpaced(dst, out, in), ErrPseudoPostcode
	}
	if string(out) == "GIR" && string(in) == "0AA" {
		return appendSpaced(dst, out, in), nil
	}
	if !validInward(in) || !validOutward(out) {
		return dst, ErrPostcodeFormat
	}
	return appendSpaced(dst, out, in), nil
}

func appendSpaced(dst, out, in []byte) []byte {
	dst = append(dst, out...)
	dst = append(dst, ' ')
	return append(dst, in...)
}

// ValidPostcode reports whether s is a valid UK postcode in any spacing or case
// (pseudo-postcodes are not valid).
func ValidPostcode(s string) bool {
	var buf [8]byte
	_, err := AppendPostcode(buf[:0], s)
	return err == nil
}

// IsPseudoPostcode reports whether a normalised postcode is an NHS pseudo-postcode.
func IsPseudoPostcode(normalised string) bool {
	return strings.HasPrefix(normalised, PseudoPostcodePrefix+" ")
}

// PostcodeOutward returns the outward code (district, e.g. "SW1A") of a normalised
// postcode, or "" when it has no space.
func PostcodeOutward(normalised string) string {
	if i := strings.IndexByte(normalised, ' '); i > 0 {
		return normalised[:i]
	}
	return ""
}

func validInward(in []byte) bool {
	for _, ch := range in[1:] {
		switch ch {
		case 'C', 'I', 'K', 'M', 'O', 'V':
			return false
		}
	}
	return true
}

func validOutward(out []byte) bool {
	if !isLetter(out[0]) {
		return false
	}
	switch out[0] {
	case 'Q', 'V', 'X':
		return false
	}
	switch len(out) {
	case 2: // AN
		return isDigit(out[1])
	case 3:
		switch {
		case isDigit(out[1]) && isDigit(out[2]): // ANN
			return true
		case isDigit(out[1]) && isLetter(out[2]): // ANA
			return thirdLetterOK(out[2])
		case isLetter(out[1]) && isDigit(out[2]): // AAN
			return secondLetterOK(out[1])
		}
		return false
	case 4:
		if !isLetter(out[1]) || !secondLetterOK(out[1]) || !isDigit(out[2]) {
			return false
		}
		switch {
		case isDigit(out[3]): // AANN
			return true
		case isLetter(out[3]): // AANA
			return fourthLetterOK(out[3])
		}
	}
	return false
}

func secondLetterOK(c byte) bool { return c != 'I' && c != 'J' && c != 'Z' }

func thirdLetterOK(c byte) bool {
	return c >= 'A' && c <= 'H' || c == 'J' || c == 'K' || c == 'S' || c == 'T' || c == 'U' || c == 'W'
}

func fourthLetterOK(c byte) bool {
	switch c {
	case 'A', 'B', 'E', 'H', 'M', 'N', 'P', 'R', 'V', 'W', 'X', 'Y':
		return true
	}
	return false
}

func isDigit(c byte) bool  { return c >= '0' && c <= '9' }
func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }
