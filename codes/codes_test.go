package codes

import (
	"errors"
	"testing"
	"time"
)

func TestNHSCheckDigit(t *testing.T) {
	tests := []struct {
		first9 string
		digit  int
		ok     bool
	}{
		{"943476591", 9, true},  // 943 476 5919, the NHS's published example
		{"401023213", 7, true},  // 401 023 2137
		{"000000001", 9, true},  // sum 2 → 11 − 2 = 9
		{"000000000", 0, true},  // sum 0 → 11 → 0
		{"000000006", 0, false}, // sum 12, remainder 1 → 10: no valid number
		{"12345678", 0, false},  // too short
		{"12345678a", 0, false}, // not digits
	}
	for _, tt := range tests {
		d, ok := NHSCheckDigit(tt.first9)
		if d != tt.digit || ok != tt.ok {
			t.Errorf("NHSCheckDigit(%q) = %d, %v; want %d, %v", tt.first9, d, ok, tt.digit, tt.ok)
		}
	}
}

func TestParseNHSNumber(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  error
	}{
		{"9434765919", 9434765919, nil},
		{"943 476 5919", 9434765919, nil},
		{" 943-476-5919 ", 9434765919, nil},
		{"4010232137", 4010232137, nil},
		{"9434765918", 0, ErrNHSNumberCheckDigit},
		{"0000000060", 0, ErrNHSNumberCheckDigit}, // remainder 1 → check 10, never valid
		{"943476591", 0, ErrNHSNumberFormat},
		{"94347659190", 0, ErrNHSNumberFormat},
		{"943476591X", 0, ErrNHSNumberFormat},
		{"", 0, ErrNHSNumberFormat},
		{"0000000000", 0, ErrNHSNumberRepeated},
		{"1111111111", 0, ErrNHSNumberRepeated},
		// 1×9+2×8+3×7+4×6+5×5+6×4+7×3+8×2 = 156; 156 mod 11 = 2; check 9.
		{"0123456789", 123456789, nil},
	}
	for _, tt := range tests {
		got, err := ParseNHSNumber(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("ParseNHSNumber(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
		if ValidNHSNumber(tt.in) != (tt.err == nil) {
			t.Errorf("ValidNHSNumber(%q) disagrees with ParseNHSNumber", tt.in)
		}
	}
	if FormatNHSNumber(123456789) != "0123456789" {
		t.Error("FormatNHSNumber must keep leading zeros")
	}
}

func TestNormalisePostcode(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"M1 1AE", "M1 1AE", nil},     // AN
		{"B33 8TH", "B33 8TH", nil},   // ANN
		{"W1A 0AX", "W1A 0AX", nil},   // ANA
		{"CR2 6XH", "CR2 6XH", nil},   // AAN
		{"DN55 1PT", "DN55 1PT", nil}, // AANN
		{"EC1A 1BB", "EC1A 1BB", nil}, // AANA
		{"sw1a1aa", "SW1A 1AA", nil},  // case and spacing
		{" SW1A  1AA ", "SW1A 1AA", nil},
		{"gir0aa", "GIR 0AA", nil},
		{"QA1 1AA", "", ErrPostcodeFormat},  // Q first
		{"VA1 1AA", "", ErrPostcodeFormat},  // V first
		{"XA1 1AA", "", ErrPostcodeFormat},  // X first
		{"AI1 1AA", "", ErrPostcodeFormat},  // I second
		{"AJ11 1AA", "", ErrPostcodeFormat}, // J second
		{"W1I 1AA", "", ErrPostcodeFormat},  // I not allowed third
		{"W1L 1AA", "", ErrPostcodeFormat},  // L not allowed third
		{"EC1C 1BB", "", ErrPostcodeFormat}, // C not allowed fourth
		{"EC1Z 1BB", "", ErrPostcodeFormat}, // Z not allowed fourth
		{"SW1A 1AC", "", ErrPostcodeFormat}, // C in inward
		{"SW1A 1OA", "", ErrPostcodeFormat}, // O in inward
		{"SW1A 1VA", "", ErrPostcodeFormat}, // V in inward
		{"SW1A 1A", "", ErrPostcodeFormat},
		{"SW1AA 1AA", "", ErrPostcodeFormat},
		{"1W1 1AA", "", ErrPostcodeFormat},
		{"SW1A-1AA", "", ErrPostcodeFormat},
		{"", "", ErrPostcodeMissing},
		{"   ", "", ErrPostcodeMissing},
		{"ZZ99 3VZ", "ZZ99 3VZ", ErrPseudoPostcode},
		{"zz993wz", "ZZ99 3WZ", ErrPseudoPostcode},
	}
	for _, tt := range tests {
		got, err := NormalisePostcode(tt.in)
		if !errors.Is(err, tt.err) || got != tt.want {
			t.Errorf("NormalisePostcode(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
	if !IsPseudoPostcode("ZZ99 3VZ") || IsPseudoPostcode("SW1A 1AA") {
		t.Error("IsPseudoPostcode")
	}
	if PostcodeOutward("SW1A 1AA") != "SW1A" || PostcodeOutward("M1 1AE") != "M1" || PostcodeOutward("bad") != "" {
		t.Error("PostcodeOutward")
	}
	if !ValidPostcode("m11ae") || ValidPostcode("ZZ99 3VZ") {
		t.Error("ValidPostcode")
	}
}

func TestNormaliseMobile(t *testing.T) {
	tests := []struct{ in, want string }{
		{"07700 900123", "+447700900123"},
		{"07700900123", "+447700900123"},
		{"07700-900-123", "+447700900123"},
		{"+44 7700 900123", "+447700900123"},
		{"+44 (0)7700 900123", "+447700900123"},
		{"447700900123", "+447700900123"},
		{"00447700900123", "+447700900123"},
		{"07624 123456", "+447624123456"}, // Isle of Man mobile
		{"07123 456789", "+447123456789"},
		{"07012 345678", ""}, // personal numbering
		{"07612 345678", ""}, // pager
		{"0161 496 0000", ""},
		{"7700900123", ""},
		{"077009001234", ""},
		{"0770090012", ""},
		{"+33 6 12 34 56 78", ""},
		{"+1 7700 900123", ""},
		{"07700 900123 ext 2", ""},
		{"", ""},
		{"n/a", ""},
	}
	for _, tt := range tests {
		if got := NormaliseMobile(tt.in); got != tt.want {
			t.Errorf("NormaliseMobile(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestEthnicityAndGender(t *testing.T) {
	valid := []string{"A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99", "a", " z "}
	for _, s := range valid {
		if _, ok := NormaliseEthnicity(s); !ok {
			t.Errorf("ethnicity %q should be valid", s)
		}
	}
	for _, s := range []string{"I", "O", "Q", "T", "U", "V", "W", "X", "Y", "9", "0", "AA", "", "999"} {
		if _, ok := NormaliseEthnicity(s); ok {
			t.Errorf("ethnicity %q should be invalid", s)
		}
	}
	if len(EthnicCategories) != 18 {
		t.Errorf("want 17 codes + 99, have %d", len(EthnicCategories))
	}
	if c, _ := NormaliseEthnicity("h"); c != "H" || EthnicityName(c) != "Asian or Asian British - Indian" {
		t.Errorf("ethnicity h → %q", c)
	}
	genders := []struct {
		in, want string
		ok       bool
	}{{"1", "1", true}, {"2", "2", true}, {"9", "9", true}, {"0", "0", true}, {"X", "X", true}, {"x", "X", true},
		{"3", "", false}, {"M", "", false}, {"F", "", false}, {"", "", false}, {"11", "", false}}
	for _, g := range genders {
		got, ok := NormaliseGender(g.in)
		if got != g.want || ok != g.ok {
			t.Errorf("NormaliseGender(%q) = %q, %v", g.in, got, ok)
		}
	}
	if GenderName("2") != "female" || GenderName("X") != "not known" || GenderName("7") != "" {
		t.Error("GenderName")
	}
}

func TestPracticeAndICS(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"A81001", true}, {"Y00123", true}, {"V81999", true}, {"a81001", false}, {"A8100", false},
		{"A810011", false}, {"181001", false}, {"AB1001", false}, {"", false}} {
		if ValidPracticeCode(tt.in) != tt.ok {
			t.Errorf("ValidPracticeCode(%q) != %v", tt.in, tt.ok)
		}
	}
	if c, ok := NormalisePracticeCode(" a81001 "); c != "A81001" || !ok {
		t.Errorf("NormalisePracticeCode = %q %v", c, ok)
	}
	for _, tt := range []struct {
		in string
		ok bool
	}{{"QMM", true}, {"QJ2", true}, {"QE1", true}, {"Q99", true}, {"qmm", false}, {"AMM", false},
		{"QM", false}, {"QMMM", false}, {"Q-1", false}, {"", false}} {
		if ValidICSCode(tt.in) != tt.ok {
			t.Errorf("ValidICSCode(%q) != %v", tt.in, tt.ok)
		}
	}
	if len(Phase1ICSs) != 8 {
		t.Errorf("want 8 Phase 1 ICSs, have %d", len(Phase1ICSs))
	}
	for _, i := range Phase1ICSs {
		if !ValidICSCode(i.Code) {
			t.Errorf("Phase 1 code %s fails ValidICSCode", i.Code)
		}
	}
	if n, ok := ICSName("QNX"); !ok || n != "Sussex" {
		t.Errorf("ICSName(QNX) = %q %v", n, ok)
	}
	if _, ok := ICSName("Q99"); ok {
		t.Error("Q99 is not a Phase 1 ICS")
	}
}

func TestEFIBand(t *testing.T) {
	tests := []struct {
		score float64
		want  string
	}{
		{0, EFIFit}, {0.05, EFIFit}, {0.12, EFIFit}, {4.0 / 36, EFIFit},
		{0.125, EFIMild}, {0.13, EFIMild}, {5.0 / 36, EFIMild}, {0.24, EFIMild}, {8.0 / 36, EFIMild},
		{0.245, EFIModerate}, {0.25, EFIModerate}, {9.0 / 36, EFIModerate}, {0.36, EFIModerate}, {12.0 / 36, EFIModerate},
		{0.3601, EFISevere}, {13.0 / 36, EFISevere}, {0.37, EFISevere}, {1, EFISevere},
		{0.1 + 0.02, EFIFit}, // 0.12000000000000001 in binary: still fit
	}
	for _, tt := range tests {
		if got := EFIBand(tt.score); got != tt.want {
			t.Errorf("EFIBand(%v) = %s; want %s", tt.score, got, tt.want)
		}
	}
	if EFIInCohort(EFIMild) || !EFIInCohort(EFIModerate) || !EFIInCohort(EFISevere) || EFIInCohort(EFIFit) {
		t.Error("EFIInCohort")
	}
	if ValidEFIScore(-0.01) || ValidEFIScore(1.01) || !ValidEFIScore(0) || !ValidEFIScore(1) {
		t.Error("ValidEFIScore")
	}
}

func TestAges(t *testing.T) {
	for _, tt := range []struct {
		age  int
		want string
	}{{0, AgeUnder18}, {17, AgeUnder18}, {18, Age18to64}, {64, Age18to64}, {65, Age65to74}, {74, Age65to74},
		{75, Age75to84}, {84, Age75to84}, {85, Age85Plus}, {110, Age85Plus}} {
		if got := AgeBand(tt.age); got != tt.want {
			t.Errorf("AgeBand(%d) = %s; want %s", tt.age, got, tt.want)
		}
	}
	d := func(s string) time.Time {
		t.Helper()
		v, err := ParseDate(s)
		if err != nil {
			t.Fatalf("ParseDate(%q): %v", s, err)
		}
		return v
	}
	for _, tt := range []struct {
		dob, at string
		want    int
	}{
		{"20000101", "20180101", 18},
		{"20000102", "20180101", 17},
		{"20000229", "20180228", 17}, // leap-day birthday: 18 on 1 March
		{"20000229", "20180301", 18},
		{"20000229", "20200229", 20},
		{"19400615", "20250614", 84},
		{"19400615", "20250615", 85},
		{"20250102", "20250101", -1},
	} {
		if got := AgeAt(d(tt.dob), d(tt.at)); got != tt.want {
			t.Errorf("AgeAt(%s, %s) = %d; want %d", tt.dob, tt.at, got, tt.want)
		}
	}
	for _, tt := range []struct{ at, want string }{
		{"20250301", "20240901"},
		{"20250831", "20250228"}, // clamped
		{"20240831", "20240229"},
		{"20250115", "20240715"},
	} {
		if got := FormatDate(MonthsBefore(d(tt.at), 6)); got != tt.want {
			t.Errorf("MonthsBefore(%s, 6) = %s; want %s", tt.at, got, tt.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"20250101", true}, {" 19450312 ", true}, {"20240229", true}, {"20230229", false}, {"20251301", false},
		{"20250100", false}, {"20250431", false}, {"2025-01-01", false}, {"250101", false}, {"", false},
		{"00000101", false}, {"2025010a", false}} {
		_, err := ParseDate(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ParseDate(%q) err = %v; want ok=%v", tt.in, err, tt.ok)
		}
	}
	for _, tt := range []struct {
		in   string
		want int
		ok   bool
	}{{"0", 0, true}, {"85", 85, true}, {" 130 ", 130, true}, {"131", 0, false}, {"-1", 0, false},
		{"8.5", 0, false}, {"", 0, false}, {"1000", 0, false}} {
		got, ok := ParseAge(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseAge(%q) = %d, %v", tt.in, got, ok)
		}
	}
}
