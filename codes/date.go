package codes

import (
	"strings"
	"time"
)

// A Date is a calendar date held as the number its yyyymmdd spelling reads as (15
// January 2026 is 20260115). Dates compare as numbers, and an age or a day count is
// integer arithmetic: a file of a million rows has two dates a row, and building a
// time.Time and taking it apart again costs more than checking the rest of the row.
// Years outside 1–9999 (from DateOf) are held too: int64 has room for any time.Time.
type Date int64

// DateOf returns t's calendar date (in t's location).
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date(int64(y)*10000 + int64(m)*100 + int64(d))
}

// Year, Month and Day take d apart (a year before 1 included).
func (d Date) Year() int         { return int(floorDiv(int64(d), 10000)) }
func (d Date) Month() time.Month { return time.Month(d.monthDay() / 100) }
func (d Date) Day() int          { return int(d.monthDay() % 100) }

// monthDay is mmdd: within one year, later dates have larger ones.
func (d Date) monthDay() int64 { return int64(d) - floorDiv(int64(d), 10000)*10000 }

// Time returns d at midnight UTC, as ParseDate does.
func (d Date) Time() time.Time { return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC) }

// UnixDays is the number of days from 1 January 1970 to d (negative before it): an
// Arrow or Parquet date32 value.
func (d Date) UnixDays() int64 {
	v := int64(d)
	y := v / 10000
	m := v / 100 % 100
	if y < 1 || m < 1 || m > 12 {
		return d.unixDaysAnyYear()
	}
	// Whole years since 1 January 1 (leap years every 4, but not 100, but 400),
	// then months of this year.
	y1 := y - 1
	n := y1*365 + y1/4 - y1/100 + y1/400 + daysBeforeMonth[m] + v%100 - 1
	if m > 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		n++
	}
	return n - 719162 // days from 1 January 1 to 1 January 1970
}

// daysBeforeMonth is the days of a common year before each month (1–12).
var daysBeforeMonth = [13]int64{0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334}

// unixDaysAnyYear is UnixDays for years before 1 too.
func (d Date) unixDaysAnyYear() int64 {
	// Days from civil (H. Hinnant): counted in 400-year eras of the proleptic
	// Gregorian calendar, with years starting on 1 March so a leap day ends its year.
	y, m, dd := int64(d.Year()), int64(d.Month()), int64(d.Day())
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400                     // [0, 399]
	mp := (m + 9) % 12                     // March = 0
	doy := (153*mp+2)/5 + dd - 1           // [0, 365]
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468       // 719468: days from 0000-03-01 to 1970-01-01
}

// eightDigits reports whether every byte of x is an ASCII digit: a high nibble of 3,
// still 3 after adding 6 to the low one.
func eightDigits(x uint64) bool {
	const hi, six, threes = 0xF0F0F0F0F0F0F0F0, 0x0606060606060606, 0x3333333333333333
	return x&hi|((x+six)&hi)>>4 == threes
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// ParseYMD is ParseDate without the time.Time: the same yyyymmdd dates (surrounding
// spaces allowed) pass, with the same error for the rest.
func ParseYMD(s string) (Date, error) {
	if len(s) != 8 { // eight bytes with a space among them fail as digits, as trimmed
		s = strings.TrimSpace(s)
	}
	if len(s) != 8 {
		return 0, ErrDateFormat
	}
	// The eight bytes as one word, the first in the low byte: checked as digits and
	// turned into pairs of digits (yy yy mm dd) a word operation at a time.
	x := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	if !eightDigits(x) {
		return 0, ErrDateFormat
	}
	x -= 0x3030303030303030
	x = (x*10 + x>>8) & 0x00FF00FF00FF00FF
	y := int(x&0xFF)*100 + int(x>>16&0xFF)
	m, d := int(x>>32&0xFF), int(x>>48)
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return 0, ErrDateFormat
	}
	return Date(y*10000 + m*100 + d), nil
}

// AgeOn is AgeAt for Dates: the age in whole years on date at of someone born on dob
// (a 29 February birthday is reached on 1 March in a common year); negative when at
// is before dob.
func AgeOn(dob, at Date) int {
	age := at.Year() - dob.Year()
	if at.monthDay() < dob.monthDay() {
		age--
	}
	return age
}
