package linkage

import (
	"testing"
	"time"
)

func TestNormaliseICD10(t *testing.T) {
	for _, tc := range []struct {
		in, code, code3, code4 string
		ok                     bool
	}{
		{"E11.9", "E119", "E11", "E119", true},
		{"e119", "E119", "E11", "E119", true},
		{"I10X", "I10", "I10", "", true},
		{"I10", "I10", "I10", "", true},
		{"M8005", "M8005", "M80", "M800", true},
		{"G309A", "G309", "G30", "G309", true},
		{"G30.9D", "G309", "G30", "G309", true},
		{"A17.0†", "A170", "A17", "A170", true},
		{"G01*", "G01", "G01", "", true},
		{"E1", "", "", "", false},
		{"11E9", "", "", "", false},
		{"E11.9.9", "", "", "", false},
		{"EE11", "", "", "", false},
		{"E11Y", "", "", "", false},
		{"", "", "", "", false},
		{"E119999", "", "", "", false},
	} {
		code, c3, c4, ok := NormaliseICD10(tc.in)
		if ok != tc.ok || code != tc.code || c3 != tc.code3 || c4 != tc.code4 {
			t.Errorf("NormaliseICD10(%q) = %q %q %q %v, want %q %q %q %v", tc.in, code, c3, c4, ok, tc.code, tc.code3, tc.code4, tc.ok)
		}
	}
}

func TestSNOMEDAndVerhoeff(t *testing.T) {
	// Real concept ids (their check digits come from SNOMED International, not from
	// this code): each must pass, and every single-digit change of each must fail.
	real := []string{"73211009", "44054006", "84114007", "13645005", "52448006", "363346000",
		"58214004", "110359009", "230690007", "125605004", "29857009"}
	for _, s := range real {
		if !ValidSNOMEDConceptID(s) {
			t.Errorf("%s is a real concept id but was refused", s)
		}
		if got := VerhoeffCheckDigit(s[:len(s)-1]); got != s[len(s)-1] {
			t.Errorf("check digit of %s = %c, want %c", s[:len(s)-1], got, s[len(s)-1])
		}
		for i := 0; i < len(s); i++ {
			for d := byte('0'); d <= '9'; d++ {
				if d == s[i] || (i == 0 && d == '0') {
					continue
				}
				b := []byte(s)
				b[i] = d
				if VerhoeffValid(string(b)) {
					t.Errorf("%s with digit %d changed to %c still passes Verhoeff", s, i, d)
				}
			}
		}
		// Verhoeff also catches every adjacent transposition.
		for i := 0; i+1 < len(s); i++ {
			if s[i] == s[i+1] {
				continue
			}
			b := []byte(s)
			b[i], b[i+1] = b[i+1], b[i]
			if VerhoeffValid(string(b)) {
				t.Errorf("%s with digits %d and %d swapped still passes", s, i, i+1)
			}
		}
	}
	for _, s := range []string{"", "12345", "073211009", "7321100A", "73211019", "1234567890123456789",
		"733211026" /* partition 02: a relationship id */} {
		if ValidSNOMEDConceptID(s) {
			t.Errorf("%q accepted as a concept id", s)
		}
	}
}

func TestODSAndLACodes(t *testing.T) {
	for s, want := range map[string]bool{"RGT": true, "RGT01": true, "A81001": true, "NT3": true, "R1": false,
		"rgt": false, "RGT0": false, "1234567": false, "123": false, "RG-01": false} {
		if ValidODSCode(s) != want {
			t.Errorf("ValidODSCode(%q) = %v, want %v", s, !want, want)
		}
	}
	for s, want := range map[string]bool{"E10000020": true, "E06000001": true, "E09000033": true, "E08000025": true,
		"E11000001": false, "W06000015": false, "E1000002": false, "E10A00020": false} {
		if ValidLACode(s) != want {
			t.Errorf("ValidLACode(%q) = %v, want %v", s, !want, want)
		}
	}
}

func TestParseExtractDate(t *testing.T) {
	want := time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-02-28", "20260228", "2026-02-28T13:45:00Z", "2026-02-28 13:45",
		"2026-02-28 00:00:00.000", "2026-02-28T23:59:59.123456789+01:00", "2026-02-28T13:45-0500", "2026-02-28T13:45:60Z"} {
		if got, ok := ParseExtractDate(s); !ok || !got.Equal(want) {
			t.Errorf("ParseExtractDate(%q) = %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"2026-02-29", "20261301", "28/02/2026", "2026-2-28", "2026-02-28x", "", "1899-12-31",
		"2026-02-28Tgarbage", "2026-02-28 ", "2026-02-28T", "2026-02-28T24:00", "2026-02-28T13:60", "2026-02-28T1:45",
		"2026-02-28T13:45:61", "2026-02-28T13:45:00.", "2026-02-28T13:45:00.1234567890", "2026-02-28T13:45:00Zjunk",
		"2026-02-28T13:45:00+15:00", "2026-02-28T13:45:00+01", "2026-02-28T13:45:00+01:60", "2026-02-28T13:45:00 +01:00",
		"2026-02-28T13:45:00z", "2026-02-28T13"} {
		if _, ok := ParseExtractDate(s); ok {
			t.Errorf("ParseExtractDate(%q) accepted", s)
		}
	}
}

func TestNormalisePseudonym(t *testing.T) {
	lower := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if got, ok := NormalisePseudonym(lower); !ok || got != lower {
		t.Fatal("lower-case pseudonym refused")
	}
	if got, ok := NormalisePseudonym("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"); !ok || got != lower {
		t.Fatal("upper-case pseudonym not normalised")
	}
	for _, s := range []string{"9434765919", lower[:63], lower + "0", "g" + lower[1:]} {
		if _, ok := NormalisePseudonym(s); ok {
			t.Errorf("%q accepted as a pseudonym", s)
		}
	}
}

func TestDirectIdentifierColumn(t *testing.T) {
	for _, n := range []string{"NHS_NUMBER", "nhs no", "NHSNumber", "DOB", "Date of Birth", "BIRTH_DATE", "POSTCODE", "Post Code",
		"postal_code", "NAME", "FIRST_NAME", "Surname", "FORENAME", "ADDRESS_1", "ADDRESS_LINE_2", "EMAIL", "MOBILE", "TELEPHONE_NUMBER"} {
		if !DirectIdentifierColumn(n) {
			t.Errorf("%q is not taken for a direct identifier", n)
		}
	}
	for _, n := range []string{"LOCAL_NOTE", "PROVIDER_NAME", "SITE_CODE", "ETHNICITY", "AGE_BAND", "ADMISORC", "NHS_TRUST", "CONTACT_DATE"} {
		if DirectIdentifierColumn(n) {
			t.Errorf("%q is taken for a direct identifier", n)
		}
	}
}
