// Package codes holds the code lists and value checks of the ICE Survey sample files
// (SPEC §3–4): NHS number Modulus 11, UK postcodes, ethnic category, person stated
// gender, ODS GP practice and ICB codes, UK mobile numbers, eFI frailty bands, age bands
// and the yyyymmdd date format.
//
// Every function is pure and safe for concurrent use. No function retains a string it
// is given (results are either constants from a code table or freshly built), so a
// caller may pass a transient view of a reused buffer. Validation messages produced
// here never contain the value checked: several of these values identify a person.
package codes

import (
	"strconv"
	"strings"
	"time"

	"icesurvey/fault"
)

// ---------------------------------------------------------------------------------
// NHS number

// Errors returned by ParseNHSNumber.
var (
	ErrNHSNumberFormat     = fault.New(fault.BadInput, "NHS number must be 10 digits (spaces or hyphens between groups allowed)")
	ErrNHSNumberCheckDigit = fault.New(fault.BadInput, "NHS number fails the Modulus 11 check")
	ErrNHSNumberRepeated   = fault.New(fault.BadInput, "NHS number is one digit repeated (a placeholder, not a real number)")
)

// NHSCheckDigit computes the Modulus 11 check digit for the first nine digits of an
// NHS number: weights 10..2, sum mod 11, check = 11 − remainder, 11 → 0. ok is false
// when the remainder gives 10 (no valid number has these nine digits) or when first9
// is not nine ASCII digits.
func NHSCheckDigit(first9 string) (digit int, ok bool) {
	if len(first9) != 9 {
		return 0, false
	}
	return checkDigit(first9)
}

func checkDigit[T ~string | ~[]byte](first9 T) (digit int, ok bool) {
	sum := 0
	for i := 0; i < 9; i++ {
		c := first9[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return 0, true
	case 10:
		return 0, false
	}
	return check, true
}

// ParseNHSNumber checks s and returns the NHS number as an integer. s may carry
// surrounding spaces and spaces or hyphens between digit groups ("943 476 5919");
// after removing them it must be exactly ten digits whose last digit is the Modulus 11
// check digit of the first nine. A number of one repeated digit (0000000000,
// 1111111111, ...) is refused as a placeholder even when its check digit works out.
func ParseNHSNumber(s string) (uint64, error) {
	if v, ok, err := parseTenDigits(s); ok {
		return v, err
	}
	return parseNHSNumberPlain(s)
}

// parseNHSNumberPlain is ParseNHSNumber for any spelling, a byte at a time: the
// general path, and the reference its ten-digit fast path is tested against.
func parseNHSNumberPlain(s string) (uint64, error) {
	var d [10]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == 10 {
				return 0, ErrNHSNumberFormat
			}
			d[n] = c
			n++
		case c == ' ' || c == '-' || c == '\t':
		default:
			return 0, ErrNHSNumberFormat
		}
	}
	if n != 10 {
		return 0, ErrNHSNumberFormat
	}
	check, ok := checkDigit(d[:9])
	if !ok || int(d[9]-'0') != check {
		return 0, ErrNHSNumberCheckDigit
	}
	repeated := true
	for i := 1; i < 10; i++ {
		if d[i] != d[0] {
			repeated = false
			break
		}
	}
	if repeated {
		return 0, ErrNHSNumberRepeated
	}
	var v uint64
	for _, c := range d {
		v = v*10 + uint64(c-'0')
	}
	return v, nil
}

// parseTenDigits is ParseNHSNumber for its usual spelling, ten digits and nothing
// else, done with a few word operations instead of byte loops (a sample file has an
// NHS number on every row, read on two passes); ok is false for any other spelling.
func parseTenDigits(s string) (v uint64, ok bool, err error) {
	if len(s) != 10 {
		return 0, false, nil
	}
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	d8, d9 := uint64(s[8])-'0', uint64(s[9])-'0' // huge if below '0'
	if !eightDigits(x) || d8 > 9 || d9 > 9 {
		return 0, false, nil
	}
	x -= 0x3030303030303030 // the first eight digits' values, the first in the low byte
	sum := 10*(x&0xFF) + 9*(x>>8&0xFF) + 8*(x>>16&0xFF) + 7*(x>>24&0xFF) +
		6*(x>>32&0xFF) + 5*(x>>40&0xFF) + 4*(x>>48&0xFF) + 3*(x>>56) + 2*d8
	check := 11 - sum%11
	switch check {
	case 11:
		check = 0
	case 10:
		return 0, true, ErrNHSNumberCheckDigit
	}
	if d9 != check {
		return 0, true, ErrNHSNumberCheckDigit
	}
	if d0 := x & 0xFF; x == d0*0x0101010101010101 && d8 == d0 && d9 == d0 {
		return 0, true, ErrNHSNumberRepeated
	}
	// Pairs, then fours, then all eight digits into one number.
	x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
	x = (x*100 + x>>16) & 0x0000FFFF0000FFFF
	x = (x*10000 + x>>32) & 0xFFFFFFFF
	return x*100 + d8*10 + d9, true, nil
}

// ValidNHSNumber reports whether s is a valid NHS number (see ParseNHSNumber).
func ValidNHSNumber(s string) bool {
	_, err := ParseNHSNumber(s)
	return err == nil
}

// FormatNHSNumber renders an NHS number held as an integer as its ten digits.
func FormatNHSNumber(n uint64) string {
	var b [10]byte
	for i := 9; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[:])
}

// ---------------------------------------------------------------------------------
// Ethnic category

// EthnicNotKnown is the code for "not known" (ethnicity not recorded).
const EthnicNotKnown = "99"

// EthnicCategories lists the NHS Data Dictionary ethnic category codes (the 17 codes of
// the 2001 census classification) and 99 "not known", with their names.
var EthnicCategories = []struct{ Code, Name string }{
	{"A", "White - British"},
	{"B", "White - Irish"},
	{"C", "White - Any other White background"},
	{"D", "Mixed - White and Black Caribbean"},
	{"E", "Mixed - White and Black African"},
	{"F", "Mixed - White and Asian"},
	{"G", "Mixed - Any other mixed background"},
	{"H", "Asian or Asian British - Indian"},
	{"J", "Asian or Asian British - Pakistani"},
	{"K", "Asian or Asian British - Bangladeshi"},
	{"L", "Asian or Asian British - Any other Asian background"},
	{"M", "Black or Black British - Caribbean"},
	{"N", "Black or Black British - African"},
	{"P", "Black or Black British - Any other Black background"},
	{"R", "Other Ethnic Groups - Chinese"},
	{"S", "Other Ethnic Groups - Any other ethnic group"},
	{"Z", "Not stated"},
	{EthnicNotKnown, "Not known"},
}

// NormaliseEthnicity returns the canonical ethnic category code for s (letters are
// accepted in either case) and whether s is one.
func NormaliseEthnicity(s string) (string, bool) {
	if len(s) != 1 {
		s = strings.TrimSpace(s)
	}
	switch len(s) {
	case 1:
		if i := ethnicByLetter[s[0]]; i != 0 {
			return EthnicCategories[i-1].Code, true
		}
	case 2:
		if s == EthnicNotKnown {
			return EthnicNotKnown, true
		}
	}
	return "", false
}

// ethnicByLetter is the index+1 in EthnicCategories of each one-letter code, in
// either case (0: none): a sample file has an ethnicity on every row.
var ethnicByLetter = func() (t [256]uint8) {
	for i, e := range EthnicCategories[:17] {
		c := e.Code[0]
		t[c] = uint8(i + 1)
		t[c-'A'+'a'] = uint8(i + 1)
	}
	return t
}()

// EthnicityName names an ethnic category code ("" when unknown).
func EthnicityName(code string) string {
	for _, e := range EthnicCategories {
		if e.Code == code {
			return e.Name
		}
	}
	return ""
}

// ---------------------------------------------------------------------------------
// Gender

// Person stated gender codes.
const (
	GenderMale          = "1"
	GenderFemale        = "2"
	GenderIndeterminate = "9"
	GenderNotKnown      = "0"
	GenderNotKnownX     = "X"
)

// NormaliseGender returns the canonical person stated gender code for s (1 male,
// 2 female, 9 indeterminate, 0 or X not known; x is accepted for X) and whether s is one.
func NormaliseGender(s string) (string, bool) {
	if len(s) != 1 { // the usual spelling has no space to trim
		s = strings.TrimSpace(s)
	}
	if len(s) == 1 {
		switch s[0] {
		case '1':
			return GenderMale, true
		case '2':
			return GenderFemale, true
		case '9':
			return GenderIndeterminate, true
		case '0':
			return GenderNotKnown, true
		case 'X', 'x':
			return GenderNotKnownX, true
		}
	}
	return "", false
}

// GenderName names a gender code ("" when unknown).
func GenderName(code string) string {
	switch code {
	case GenderMale:
		return "male"
	case GenderFemale:
		return "female"
	case GenderIndeterminate:
		return "indeterminate"
	case GenderNotKnown, GenderNotKnownX:
		return "not known"
	}
	return ""
}

// ---------------------------------------------------------------------------------
// GP practice (ODS)

// PracticeUnknown is the ODS pseudo-code for "GP practice not known".
const PracticeUnknown = "V81999"

// ValidPracticeCode reports whether s is an ODS GP practice code: one upper-case letter
// then five digits (e.g. A81001; new practices start with Y). V81999 is well formed
// but names no practice; callers decide whether to accept it.
func ValidPracticeCode(s string) bool {
	if len(s) != 6 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalisePracticeCode upper-cases and trims s and reports whether it is then a valid
// practice code.
func NormalisePracticeCode(s string) (string, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	return s, ValidPracticeCode(s)
}

// ---------------------------------------------------------------------------------
// ICS / ICB

// ICS is an Integrated Care System, named by its Integrated Care Board's ODS code.
type ICS struct {
	Code string
	Name string
}

// Phase1ICSs are the ICSs of Phase 1 of the programme (SPEC §4).
var Phase1ICSs = []ICS{
	{"QMM", "Norfolk and Waveney"},
	{"QJK", "Devon"},
	{"QJ2", "Derby and Derbyshire"},
	{"QE1", "Lancashire and South Cumbria"},
	{"QHM", "North East and North Cumbria (Durham place)"},
	{"QNX", "Sussex"},
	{"QUY", "Bristol, North Somerset and South Gloucestershire"},
	{"QWE", "South West London"},
}

// ValidICSCode reports whether s is well formed as an ICB ODS code: three upper-case
// letters or digits, the first a Q (every ICB code is Qxx). Which ICS a file must
// carry is decided by the wave, not here.
func ValidICSCode(s string) bool {
	if len(s) != 3 || s[0] != 'Q' {
		return false
	}
	for i := 1; i < 3; i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ICSName returns the name of a Phase 1 ICS and whether code is one.
func ICSName(code string) (string, bool) {
	for _, i := range Phase1ICSs {
		if i.Code == code {
			return i.Name, true
		}
	}
	return "", false
}

// ---------------------------------------------------------------------------------
// Mobile numbers

// NormaliseMobile returns s as an E.164 UK mobile number "+447xxxxxxxxx", or "" when s
// is empty or not a UK mobile number, which means "no SMS" (never a rejected record).
//
// Accepted spellings, after removing spaces, hyphens, dots and parentheses:
// 07xxxxxxxxx, +447xxxxxxxxx, 447xxxxxxxxx, 00447xxxxxxxxx and +4407xxxxxxxxx
// (from "+44 (0)7..."). Of the 07 range only mobile allocations are accepted:
// 071–075 and 077–079, and 07624 (Isle of Man); 070 (personal numbering) and
// 076 (pagers) cannot receive SMS reliably and give "".
func NormaliseMobile(s string) string {
	var buf [13]byte
	b, ok := AppendMobile(buf[:0], s)
	if !ok {
		return ""
	}
	return string(b)
}

// AppendMobile appends NormaliseMobile(s) to dst and reports whether s is a UK mobile
// number (dst is returned unchanged when not), allocating nothing: every mailing row
// may carry one, checked on the first pass and written on the last.
func AppendMobile(dst []byte, s string) ([]byte, bool) {
	var b [16]byte
	n, plus, ok := mobileDigits(s, &b)
	if !ok {
		return dst, false
	}
	d := b[:n]
	switch {
	case plus && hasPrefix(d, "4407"):
		d = d[2:]
	case plus && hasPrefix(d, "447"):
		d = d[1:] // the national 0 goes where the 4 was
		d[0] = '0'
	case plus:
		return dst, false
	case hasPrefix(d, "00447"):
		d = d[3:]
		d[0] = '0'
	case hasPrefix(d, "447"):
		d = d[1:]
		d[0] = '0'
	}
	// d is now the national form 07xxxxxxxxx.
	if len(d) != 11 || d[0] != '0' || d[1] != '7' {
		return dst, false
	}
	switch d[2] {
	case '1', '2', '3', '4', '5', '7', '8', '9':
	case '6':
		if !hasPrefix(d, "07624") {
			return dst, false
		}
	default:
		return dst, false
	}
	dst = append(dst, "+44"...)
	return append(dst, d[1:]...), true
}

// mobileDigits gathers the digits of s into b, and whether they follow a leading +,
// passing over the separators a number is written with (spaces, hyphens, dots,
// parentheses); ok is false for any other character or more digits than b holds.
func mobileDigits(s string, b *[16]byte) (n int, plus, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if n == len(b) {
				return 0, false, false
			}
			b[n] = c
			n++
		case c == '+' && n == 0 && !plus:
			plus = true
		case c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '\t':
		default:
			return 0, false, false
		}
	}
	return n, plus, true
}

func hasPrefix(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == prefix
}

// ---------------------------------------------------------------------------------
// Electronic Frailty Index

// eFI bands.
const (
	EFIFit      = "fit"
	EFIMild     = "mild"
	EFIModerate = "moderate"
	EFISevere   = "severe"
)

// eFI band upper bounds as published (SPEC §3): fit 0–0.12, mild 0.13–0.24,
// moderate 0.25–0.36, severe > 0.36.
const (
	EFIFitMax      = 0.12
	EFIMildMax     = 0.24
	EFIModerateMax = 0.36
)

// efiEpsilon absorbs binary rounding of decimal inputs ("0.24" parses to a double a
// hair above or below 0.24) so a published boundary value lands in its published band.
const efiEpsilon = 1e-9

// EFIBand returns the band of an eFI score in [0, 1].
//
// The published bands are quoted to two decimals and leave gaps on the real line
// (0.12–0.13, 0.24–0.25). Scores are deficits/36, which fall in those gaps (5/36 ≈
// 0.139 does not, but a rounded input such as 0.125 could), so the bands are made
// contiguous with each published upper bound closed:
//
//	fit       score ≤ 0.12
//	mild      0.12 < score ≤ 0.24
//	moderate  0.24 < score ≤ 0.36
//	severe    score > 0.36       (13/36 ≈ 0.361 is severe)
//
// Every value quoted in a published band falls in that band.
func EFIBand(score float64) string {
	switch {
	case score <= EFIFitMax+efiEpsilon:
		return EFIFit
	case score <= EFIMildMax+efiEpsilon:
		return EFIMild
	case score <= EFIModerateMax+efiEpsilon:
		return EFIModerate
	}
	return EFISevere
}

// EFIBandIndex is the position of EFIBand(score) in EFIBands, without comparing
// strings to find it.
func EFIBandIndex(score float64) int {
	switch {
	case score <= EFIFitMax+efiEpsilon:
		return 0
	case score <= EFIMildMax+efiEpsilon:
		return 1
	case score <= EFIModerateMax+efiEpsilon:
		return 2
	}
	return 3
}

// ParseFloat is strconv.ParseFloat(s, 64), result and error alike. A score written as
// plain decimal digits with at most one point and 15 digits ("0.4722") is read
// directly: its digits are an integer below 2⁵³ and its scale a power of ten up to
// 10¹⁵, both exact in a float64, so their one correctly rounded quotient is the
// correctly rounded value strconv gives. Anything else goes to strconv.
func ParseFloat(s string) (float64, error) {
	if f, ok := parsePlainDecimal(s); ok {
		return f, nil
	}
	return strconv.ParseFloat(s, 64)
}

var exactPow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

func parsePlainDecimal(s string) (float64, bool) {
	if len(s) == 0 || len(s) > 16 {
		return 0, false
	}
	var mant uint64
	point := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
		case c == '.' && point < 0:
			point = i
		default:
			return 0, false
		}
	}
	switch {
	case point < 0:
		if len(s) > 15 {
			return 0, false
		}
		return float64(mant), true
	case point == 0 || point == len(s)-1: // ".5", "5.": valid, but left to strconv
		return 0, false
	}
	return float64(mant) / exactPow10[len(s)-1-point], true
}

// EFIInCohort reports whether a band is in the survey's cohort (moderate or severe frailty).
func EFIInCohort(band string) bool { return band == EFIModerate || band == EFISevere }

// ValidEFIScore reports whether score is a possible eFI score (0 ≤ score ≤ 1).
func ValidEFIScore(score float64) bool { return score >= 0 && score <= 1 }

// EFIBands lists the bands in order.
var EFIBands = []string{EFIFit, EFIMild, EFIModerate, EFISevere}

// ---------------------------------------------------------------------------------
// Ages and dates

// Age bands used for the declaration and weighting.
const (
	AgeUnder18 = "0-17"
	Age18to64  = "18-64"
	Age65to74  = "65-74"
	Age75to84  = "75-84"
	Age85Plus  = "85+"
)

// AgeBands lists the age bands in order.
var AgeBands = []string{AgeUnder18, Age18to64, Age65to74, Age75to84, Age85Plus}

// AgeBand returns the band of an age in whole years.
func AgeBand(age int) string {
	switch {
	case age < 18:
		return AgeUnder18
	case age < 65:
		return Age18to64
	case age < 75:
		return Age65to74
	case age < 85:
		return Age75to84
	}
	return Age85Plus
}

// AgeBandIndex is the position of AgeBand(age) in AgeBands, without comparing strings
// to find it.
func AgeBandIndex(age int) int {
	switch {
	case age < 18:
		return 0
	case age < 65:
		return 1
	case age < 75:
		return 2
	case age < 85:
		return 3
	}
	return 4
}

// AgeAt is the age in whole years on date at of someone born on dob, comparing calendar
// dates only. Someone born on 29 February attains each new age on 1 March in a common
// year. Negative when at is before dob.
func AgeAt(dob, at time.Time) int {
	by, bm, bd := dob.Date()
	ay, am, ad := at.Date()
	age := ay - by
	if am < bm || am == bm && ad < bd {
		age--
	}
	return age
}

// MonthsBefore returns the calendar date n months before t, clamped to the last day of
// the month when t's day does not exist there (31 August − 6 months = 28 or 29
// February), at midnight UTC.
func MonthsBefore(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	first := time.Date(y, m-time.Month(n), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d, 0, 0, 0, 0, time.UTC)
}

// ErrDateFormat is returned by ParseDate for anything but a real yyyymmdd date.
var ErrDateFormat = fault.New(fault.BadInput, "date must be yyyymmdd and a real calendar date")

// ParseDate parses a yyyymmdd date (surrounding spaces allowed) to midnight UTC. The
// date must exist (20230229 is refused).
func ParseDate(s string) (time.Time, error) {
	d, err := ParseYMD(s)
	if err != nil {
		return time.Time{}, err
	}
	return d.Time(), nil
}

// FormatDate renders t's calendar date as yyyymmdd.
func FormatDate(t time.Time) string { return t.Format("20060102") }

func daysIn(m time.Month, y int) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// ParseAge parses a whole number of years 0–130 (surrounding spaces allowed).
func ParseAge(s string) (int, bool) {
	if v, ok := plainAge(s); ok {
		return v, true
	}
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 || v > 130 {
		return 0, false
	}
	return v, true
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// plainAge reads the usual spelling of an age, one to three digits, without trimming
// or strconv; a valid age in any other spelling is left to ParseAge.
func plainAge(s string) (int, bool) {
	if len(s) == 0 || len(s) > 3 {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, v <= 130
}
