package linkage

import (
	"strings"
	"time"
)

// Value checks of the extract columns. Each takes the raw text (already trimmed) and
// says whether it is well formed; the normalising ones also return the canonical form.

// NormalisePseudonym returns a project pseudonym (64 hex digits, either case) in lower
// case, and whether s is one. A pseudonym is the hex HMAC-SHA256 of an NHS number
// (package pseudo); anything else — an NHS number, a local id — is not.
func NormalisePseudonym(s string) (string, bool) {
	if len(s) != 64 {
		return "", false
	}
	lower := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			lower = false
		default:
			return "", false
		}
	}
	if lower {
		return s, true
	}
	return strings.ToLower(s), true
}

// NormaliseICD10 returns an ICD-10 (WHO, as HES records it) code in the form the
// code lists are matched against — upper case, no dot, no filler X, no dagger or
// asterisk marker — with its three- and four-character stems, and whether s is one.
//
// Accepted: a letter and two digits, then optionally a fourth character (a digit, or
// X as HES's filler for a three-character code) and a fifth digit, with an optional
// dot after the third character and an optional trailing marker (*, †, +, D for
// dagger or A for asterisk, as HES writes them in the fifth or sixth position, or -).
// "E11.9", "E119", "I10X", "I10", "M8005", "G309A" are codes; "E1", "11E9", "E11.9.9",
// "EE11" are not.
func NormaliseICD10(s string) (code, code3, code4 string, ok bool) {
	s = strings.TrimSuffix(s, "†") // a dagger in UTF-8
	var b [6]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		switch {
		case c == '.' && n == 3:
			continue
		case n >= 6:
			return "", "", "", false
		}
		b[n] = c
		n++
	}
	// A trailing marker (not part of the code).
	if n >= 4 {
		switch last := b[n-1]; {
		case last == '*' || last == '+' || last == '-':
			n--
		case (last == 'D' || last == 'A') && n >= 5:
			n--
		}
	}
	if n < 3 || n > 5 {
		return "", "", "", false
	}
	if b[0] < 'A' || b[0] > 'Z' || !digit(b[1]) || !digit(b[2]) {
		return "", "", "", false
	}
	switch n {
	case 3:
		return string(b[:3]), string(b[:3]), "", true
	case 4:
		if b[3] == 'X' {
			return string(b[:3]), string(b[:3]), "", true
		}
		if !digit(b[3]) {
			return "", "", "", false
		}
		return string(b[:4]), string(b[:3]), string(b[:4]), true
	default:
		if !digit(b[3]) || !digit(b[4]) {
			return "", "", "", false
		}
		return string(b[:5]), string(b[:3]), string(b[:4]), true
	}
}

func digit(c byte) bool { return c >= '0' && c <= '9' }

// ValidSNOMEDConceptID reports whether s is a SNOMED CT concept identifier: 6 to 18
// digits without a leading zero, whose partition identifier (the second and third
// digits from the right) names a concept ("00" international, "10" an extension's),
// and whose last digit is the Verhoeff check digit of the rest.
func ValidSNOMEDConceptID(s string) bool {
	if len(s) < 6 || len(s) > 18 || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return false
		}
	}
	if p := s[len(s)-3 : len(s)-1]; p != "00" && p != "10" {
		return false
	}
	return VerhoeffValid(s)
}

// The Verhoeff scheme's tables: the dihedral group D5's multiplication, the
// permutation applied by position, and the inverse.
var (
	verhoeffD = [10][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
		{2, 3, 4, 0, 1, 7, 8, 9, 5, 6},
		{3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
		{4, 0, 1, 2, 3, 9, 5, 6, 7, 8},
		{5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
		{6, 5, 9, 8, 7, 1, 0, 4, 3, 2},
		{7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
		{8, 7, 6, 5, 9, 3, 2, 1, 0, 4},
		{9, 8, 7, 6, 5, 4, 3, 2, 1, 0},
	}
	verhoeffP = [8][10]byte{
		{0, 1, 2, 3, 4, 5, 6, 7, 8, 9},
		{1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
		{5, 8, 0, 3, 7, 9, 6, 1, 4, 2},
		{8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
		{9, 4, 5, 3, 1, 2, 6, 8, 7, 0},
		{4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
		{2, 7, 9, 3, 8, 0, 6, 4, 1, 5},
		{7, 0, 4, 6, 9, 1, 3, 2, 5, 8},
	}
	verhoeffInv = [10]byte{0, 4, 3, 2, 1, 5, 6, 7, 8, 9}
)

// VerhoeffValid reports whether the digit string s ends in its Verhoeff check digit.
func VerhoeffValid(s string) bool {
	var c byte
	for i := 0; i < len(s); i++ {
		d := s[len(s)-1-i]
		if !digit(d) {
			return false
		}
		c = verhoeffD[c][verhoeffP[i%8][d-'0']]
	}
	return c == 0 && len(s) > 0
}

// VerhoeffCheckDigit is the check digit to append to the digit string s.
func VerhoeffCheckDigit(s string) byte {
	var c byte
	for i := 0; i < len(s); i++ {
		c = verhoeffD[c][verhoeffP[(i+1)%8][s[len(s)-1-i]-'0']]
	}
	return '0' + verhoeffInv[c]
}

// ValidODSCode reports whether s is shaped like an ODS organisation or site code:
// 3, 5 or 6 upper-case letters and digits with at least one letter (trusts "RXX",
// their sites "RXX01", independent providers "NXX", GP practices "A81001"). ODS
// assigns no check digit; a definition narrows the shape with a pattern.
func ValidODSCode(s string) bool {
	if n := len(s); n != 3 && n != 5 && n != 6 {
		return false
	}
	letter := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			letter = true
		case digit(c):
		default:
			return false
		}
	}
	return letter
}

// ValidLACode reports whether s is the ONS (GSS) code of an English local authority
// with adult social care responsibilities: E06 unitary, E08 metropolitan district,
// E09 London borough, E10 county (and E07 districts, which some returns still use),
// then six digits.
func ValidLACode(s string) bool {
	if len(s) != 9 || s[0] != 'E' || !allDigits(s[1:]) {
		return false
	}
	switch s[1:3] {
	case "06", "07", "08", "09", "10":
		return true
	}
	return false
}

// ParseExtractDate reads a date as extracts write it: yyyy-mm-dd or yyyymmdd, or a
// timestamp yyyy-mm-dd, then T or a space, then a time hh:mm or hh:mm:ss with an
// optional fraction of a second (up to nine digits), then optionally Z or an offset
// ±hh:mm or ±hhmm. The time must be a real time of day and the offset a real offset;
// the date is the one written (the time, and the offset, are dropped). The date must
// exist. Anything else after the date ("2026-06-01Tgarbage") is not a date.
func ParseExtractDate(s string) (time.Time, bool) {
	switch {
	case len(s) == 8:
		if !allDigits(s) {
			return time.Time{}, false
		}
		return mkDate(atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8]))
	case len(s) >= 10 && s[4] == '-' && s[7] == '-':
		if len(s) > 10 && ((s[10] != 'T' && s[10] != ' ') || !validTimeOfDay(s[11:])) {
			return time.Time{}, false
		}
		if !allDigits(s[:4]) || !allDigits(s[5:7]) || !allDigits(s[8:10]) {
			return time.Time{}, false
		}
		return mkDate(atoi(s[:4]), atoi(s[5:7]), atoi(s[8:10]))
	}
	return time.Time{}, false
}

// validTimeOfDay reports whether s is hh:mm[:ss[.f…]] then nothing, Z, or an offset
// ±hh:mm or ±hhmm: hours 00-23, minutes 00-59, seconds 00-60 (a leap second), an
// offset of at most 14 hours.
func validTimeOfDay(s string) bool {
	twoDigits := func(t string, max int) bool { return len(t) >= 2 && allDigits(t[:2]) && atoi(t[:2]) <= max }
	if len(s) < 5 || !twoDigits(s, 23) || s[2] != ':' || !twoDigits(s[3:], 59) {
		return false
	}
	s = s[5:]
	if len(s) > 0 && s[0] == ':' {
		if !twoDigits(s[1:], 60) {
			return false
		}
		s = s[3:]
		if len(s) > 0 && s[0] == '.' {
			n := 1
			for n < len(s) && digit(s[n]) {
				n++
			}
			if n == 1 || n > 10 {
				return false
			}
			s = s[n:]
		}
	}
	switch {
	case s == "" || s == "Z":
		return true
	case s[0] == '+' || s[0] == '-':
		off := s[1:]
		if len(off) == 5 && off[2] == ':' {
			off = off[:2] + off[3:]
		}
		return len(off) == 4 && allDigits(off) && atoi(off[:2]) <= 14 && atoi(off[2:]) <= 59
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !digit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func mkDate(y, m, d int) (time.Time, bool) {
	if y < 1900 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

// DirectIdentifierColumn reports whether an extract's column name (one its definition
// does not have) names a direct identifier: an NHS number, a date of birth, a postcode,
// a name, an address, an e-mail address or a telephone number — the columns the sample
// and mailing files carry (NHS_NUMBER, DATE_OF_BIRTH, POSTCODE, FIRST_NAME, LAST_NAME,
// ADDRESS_1…, MOBILE) and their usual spellings. The name is compared in upper case
// with everything but letters and digits removed ("Date of Birth" is DATEOFBIRTH).
func DirectIdentifierColumn(name string) bool {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	n := b.String()
	for _, part := range []string{"NHSNUMBER", "NHSNO", "DATEOFBIRTH", "BIRTHDATE", "POSTCODE", "POSTALCODE", "ZIPCODE",
		"ADDRESS", "EMAIL", "TELEPHONE", "PHONENUMBER", "MOBILENUMBER", "FORENAME", "SURNAME", "FIRSTNAME", "LASTNAME",
		"GIVENNAME", "FAMILYNAME", "FULLNAME", "MIDDLENAME", "PATIENTNAME", "PERSONNAME"} {
		if strings.Contains(n, part) {
			return true
		}
	}
	switch n {
	case "NHS", "NHSNUM", "DOB", "NAME", "NAMES", "PHONE", "MOBILE", "TEL", "PCODE":
		return true
	}
	return false
}
