package codes

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The fast paths below are checked against the plain implementations they replaced,
// kept here as references (ParseNHSNumber's plain path is still the production
// parseNHSNumberPlain, so the test uses that rather than a copy).

func refParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) != 8 {
		return time.Time{}, ErrDateFormat
	}
	v := 0
	for i := 0; i < 8; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return time.Time{}, ErrDateFormat
		}
		v = v*10 + int(c-'0')
	}
	y, m, d := v/10000, v/100%100, v%100
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return time.Time{}, ErrDateFormat
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC), nil
}

func refNormaliseEthnicity(s string) (string, bool) {
	s = strings.TrimSpace(s)
	switch len(s) {
	case 1:
		c := upper(s[0])
		for _, e := range EthnicCategories[:17] {
			if e.Code[0] == c {
				return e.Code, true
			}
		}
	case 2:
		if s == EthnicNotKnown {
			return EthnicNotKnown, true
		}
	}
	return "", false
}

func refNormaliseGender(s string) (string, bool) {
	switch strings.TrimSpace(s) {
	case "1":
		return GenderMale, true
	case "2":
		return GenderFemale, true
	case "9":
		return GenderIndeterminate, true
	case "0":
		return GenderNotKnown, true
	case "X", "x":
		return GenderNotKnownX, true
	}
	return "", false
}

// refNormaliseMobile is NormaliseMobile as it was, on strings, after gathering the
// digits as AppendMobile does (mobileDigits, never rewritten for speed).
func refNormaliseMobile(s string) string {
	var b [16]byte
	n, plus, ok := mobileDigits(s, &b)
	if !ok {
		return ""
	}
	d := string(b[:n])
	switch {
	case plus && strings.HasPrefix(d, "4407"):
		d = d[2:]
	case plus && strings.HasPrefix(d, "447"):
		d = "0" + d[2:]
	case plus:
		return ""
	case strings.HasPrefix(d, "00447"):
		d = "0" + d[4:]
	case strings.HasPrefix(d, "447"):
		d = "0" + d[2:]
	}
	if len(d) != 11 || d[0] != '0' || d[1] != '7' {
		return ""
	}
	switch d[2] {
	case '1', '2', '3', '4', '5', '7', '8', '9':
	case '6':
		if !strings.HasPrefix(d, "07624") {
			return ""
		}
	default:
		return ""
	}
	return "+44" + d[1:]
}

// TestParseNHSNumberFast compares ParseNHSNumber, whose ten-digit fast path answers
// first, with the general path parseNHSNumberPlain alone on random numbers (valid or
// not), every repeated digit, every byte at every position of a valid number, and
// spaced spellings.
func TestParseNHSNumberFast(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, err := ParseNHSNumber(s)
		want, werr := parseNHSNumberPlain(s)
		if got != want || err != werr {
			t.Fatalf("ParseNHSNumber(%q) = %d, %v; want %d, %v", s, got, err, want, werr)
		}
	}
	rng := rand.New(rand.NewPCG(11, 12))
	valid := 0
	for range 1_000_000 {
		s := fmt.Sprintf("%010d", rng.Uint64N(10_000_000_000))
		check(s)
		if _, err := parseNHSNumberPlain(s); err == nil {
			valid++
		}
	}
	if valid < 50000 {
		t.Fatalf("only %d valid numbers drawn", valid)
	}
	for d := '0'; d <= '9'; d++ {
		check(strings.Repeat(string(d), 10))
		check(strings.Repeat(string(d), 9) + "0")
	}
	for _, base := range []string{"9434765919", "4010232137", "0123456789", "9999999999"} {
		for i := 0; i < 10; i++ {
			for c := 0; c < 256; c++ {
				b := []byte(base)
				b[i] = byte(c)
				check(string(b))
			}
		}
		check(base[:3] + " " + base[3:6] + " " + base[6:])
		check(base[:9])
		check(base + "0")
	}
}

// TestParseYMD compares ParseYMD, and the Date it gives, with time.Time over every
// year 0–10000 and every month 0–13 and day 0–32 spelled yyyymmdd, and over spaced and
// malformed spellings.
func TestParseYMD(t *testing.T) {
	check := func(s string) {
		t.Helper()
		d, err := ParseYMD(s)
		want, werr := refParseDate(s)
		if err != werr {
			t.Fatalf("ParseYMD(%q) err %v, ParseDate gives %v", s, err, werr)
		}
		if err != nil {
			return
		}
		got := d.Time()
		if !got.Equal(want) || got.Location() != want.Location() {
			t.Fatalf("ParseYMD(%q).Time() = %v, want %v", s, got, want)
		}
		if days := want.Unix() / 86400; d.UnixDays() != days {
			t.Fatalf("ParseYMD(%q).UnixDays() = %d, want %d", s, d.UnixDays(), days)
		}
		if DateOf(want) != d {
			t.Fatalf("DateOf(%v) = %d, want %d", want, DateOf(want), d)
		}
		if pd, err := ParseDate(s); err != nil || !pd.Equal(want) {
			t.Fatalf("ParseDate(%q) = %v, %v", s, pd, err)
		}
	}
	var b [8]byte
	two := func(i, v int) { b[i], b[i+1] = byte('0'+v/10), byte('0'+v%10) }
	for y := 0; y <= 9999; y++ {
		two(0, y/100)
		two(2, y%100)
		for m := 0; m <= 13; m++ {
			two(4, m)
			for d := 0; d <= 32; d++ {
				two(6, d)
				check(string(b[:]))
			}
		}
	}
	for _, s := range []string{"", " ", "2025010", "202501011", " 20250101", "20250101 ", "\t20240229\n",
		"2025-101", "+2025010", "-2025010", "2025010a", "２０２５0101", "20250101\x00", "\u00a020250101",
		" 2025010", "2025010 ", "\t2025010", "\u00a0202501", "202501\u00a0", "\u00852025010"} {
		check(s)
	}
}

// TestDateOrder checks that Dates order, take apart and give ages as time.Time and
// AgeAt do, for random dates and every pair of days around leap days and year ends,
// including years before 1 and far beyond 9999 (DateOf takes any time.Time).
func TestDateOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var dates []time.Time
	for y := 1999; y <= 2001; y++ {
		for _, md := range [][2]int{{1, 1}, {2, 28}, {2, 29}, {3, 1}, {12, 31}} {
			dates = append(dates, time.Date(y, time.Month(md[0]), md[1], 0, 0, 0, 0, time.UTC))
		}
	}
	for range 3000 {
		y := rng.IntN(12000) - 1000
		if rng.IntN(10) == 0 {
			y = rng.IntN(2_000_000_000) - 1_000_000_000
		}
		dates = append(dates, time.Date(y, time.Month(1+rng.IntN(12)), 1+rng.IntN(31), 0, 0, 0, 0, time.UTC))
	}
	for _, a := range dates {
		da := DateOf(a)
		if y, m, d := a.Date(); da.Year() != y || da.Month() != m || da.Day() != d {
			t.Fatalf("DateOf(%v) takes apart as %d-%d-%d", a, da.Year(), da.Month(), da.Day())
		}
		if !da.Time().Equal(a) {
			t.Fatalf("DateOf(%v).Time() = %v", a, da.Time())
		}
		if a.Year() >= -10000 && a.Year() <= 20000 && da.UnixDays() != a.Unix()/86400 {
			t.Fatalf("DateOf(%v).UnixDays() = %d, want %d", a, da.UnixDays(), a.Unix()/86400)
		}
	}
	for i := 0; i < 200000; i++ {
		a, b := dates[rng.IntN(len(dates))], dates[rng.IntN(len(dates))]
		da, db := DateOf(a), DateOf(b)
		if (da < db) != a.Before(b) || (da > db) != a.After(b) {
			t.Fatalf("%v vs %v: Dates %d vs %d order differently", a, b, da, db)
		}
		if AgeOn(da, db) != AgeAt(a, b) {
			t.Fatalf("AgeOn(%v, %v) = %d, AgeAt %d", a, b, AgeOn(da, db), AgeAt(a, b))
		}
	}
}

// TestParseFloat requires bit-identical results and identical errors to
// strconv.ParseFloat for edge spellings and random decimals, integers and junk.
func TestParseFloat(t *testing.T) {
	check := func(s string) {
		t.Helper()
		got, err := ParseFloat(s)
		want, werr := strconv.ParseFloat(s, 64)
		if math.Float64bits(got) != math.Float64bits(want) || fmt.Sprint(err) != fmt.Sprint(werr) {
			t.Fatalf("ParseFloat(%q) = %v (%#x), %v; strconv %v (%#x), %v",
				s, got, math.Float64bits(got), err, want, math.Float64bits(want), werr)
		}
	}
	for _, s := range []string{
		"", "0", "1", "1.0", "0.0", "0.", ".5", ".", "..", "0..1", "1.2.3", "-0", "-0.0", "+0.5", "-0.25",
		" 0.5", "0.5 ", "0.5\t", "0,5", "1e0", "1E-2", "0.5e1", "5e-1", "0x1p-2", "0x.8p1", "1_0", "0.1_2",
		"NaN", "nan", "Inf", "+Inf", "-Inf", "infinity", "Infinity",
		"0.1", "0.2", "0.3", "0.12", "0.24", "0.36", "0.4722", "0.0556", "0.6667", "1.000",
		"123456789012345", "1234567890123456", "12345678901234567", "999999999999999", "9999999999999999",
		"0.12345678901234", "0.123456789012345", "0.1234567890123456", "0.99999999999999999",
		"9007199254740993", "900719925474099.3", "000000000000000.5", "0000000000000001",
		"1.7976931348623157e308", "1e309", "4.9e-324", "1e-400", "٣", "0.５",
	} {
		check(s)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 1_000_000; i++ {
		var b strings.Builder
		switch i % 4 {
		case 0: // an eFI score, as files write them
			fmt.Fprintf(&b, "%.*f", rng.IntN(7), rng.Float64()*1.2)
		case 1: // any plain decimal of up to 17 digits
			n := 1 + rng.IntN(17)
			p := rng.IntN(n + 1)
			for j := 0; j < n; j++ {
				if j == p {
					b.WriteByte('.')
				}
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
		case 2: // the shortest spelling of a random float64
			b.WriteString(strconv.FormatFloat(rng.Float64()*math.Pow(10, float64(rng.IntN(20)-10)), 'f', -1, 64))
		default: // junk from the characters a number is made of
			const alphabet = "0123456789.eE+-_ xXpPnNaAiIfF"
			for range rng.IntN(12) {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		check(b.String())
	}
}

func refParseAge(s string) (int, bool) {
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

// TestParseAge compares ParseAge with its plain version on every string of up to
// four characters drawn from digits, signs and spaces.
func TestParseAge(t *testing.T) {
	const alphabet = "0123456789+- \t_x"
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		got, ok := ParseAge(prefix)
		want, wok := refParseAge(prefix)
		if got != want || ok != wok {
			t.Fatalf("ParseAge(%q) = %d, %v; want %d, %v", prefix, got, ok, want, wok)
		}
		if n == 0 {
			return
		}
		for i := 0; i < len(alphabet); i++ {
			gen(prefix+alphabet[i:i+1], n-1)
		}
	}
	gen("", 4)
	for _, s := range []string{" 130 ", "0130", "00130", "1\u00a0", "\u00a01", "999", "131", "000"} {
		gen(s, 0)
	}
}

func TestBandIndexes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	scores := []float64{math.Inf(-1), -1, 0, math.Copysign(0, -1), 0.12, 0.12 + efiEpsilon, math.Nextafter(0.12+efiEpsilon, 1),
		0.24, 0.24 + efiEpsilon, math.Nextafter(0.24+efiEpsilon, 1), 0.36, 0.36 + efiEpsilon,
		math.Nextafter(0.36+efiEpsilon, 1), 1, 2, math.Inf(1), math.NaN()}
	for range 100000 {
		scores = append(scores, rng.Float64()*1.1-0.05)
	}
	for _, s := range scores {
		if got, want := EFIBandIndex(s), slices.Index(EFIBands, EFIBand(s)); got != want {
			t.Fatalf("EFIBandIndex(%v) = %d, want %d", s, got, want)
		}
	}
	for age := -10; age <= 200; age++ {
		if got, want := AgeBandIndex(age), slices.Index(AgeBands, AgeBand(age)); got != want {
			t.Fatalf("AgeBandIndex(%d) = %d, want %d", age, got, want)
		}
	}
}

// TestNormaliseFastPaths compares the ethnicity, gender and mobile checks with their
// plain versions on every string of up to two bytes and on random strings.
func TestNormaliseFastPaths(t *testing.T) {
	check := func(s string) {
		t.Helper()
		if g, ok := NormaliseEthnicity(s); true {
			w, wok := refNormaliseEthnicity(s)
			if g != w || ok != wok {
				t.Fatalf("NormaliseEthnicity(%q) = %q, %v; want %q, %v", s, g, ok, w, wok)
			}
		}
		if g, ok := NormaliseGender(s); true {
			w, wok := refNormaliseGender(s)
			if g != w || ok != wok {
				t.Fatalf("NormaliseGender(%q) = %q, %v; want %q, %v", s, g, ok, w, wok)
			}
		}
		want := refNormaliseMobile(s)
		if got := NormaliseMobile(s); got != want {
			t.Fatalf("NormaliseMobile(%q) = %q; want %q", s, got, want)
		}
		dst := []byte("prefix")
		got, ok := AppendMobile(dst, s)
		if ok != (want != "") || string(got) != "prefix"+want {
			t.Fatalf("AppendMobile(%q) = %q, %v; want %q", s, got, ok, want)
		}
	}
	check("")
	for a := 0; a < 256; a++ {
		check(string([]byte{byte(a)}))
		for b := 0; b < 256; b++ {
			check(string([]byte{byte(a), byte(b)}))
		}
	}
	rng := rand.New(rand.NewPCG(9, 10))
	prefixes := []string{"", "07", "+44", "+44 (0)", "0044", "44", "+4407", "00447", "07624", "0762", "+447624", "+"}
	const alphabet = "0123456789      0777444+-.()\tx9a"
	for range 500000 {
		var b strings.Builder
		b.WriteString(prefixes[rng.IntN(len(prefixes))])
		for range rng.IntN(16) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		check(b.String())
	}
	for _, s := range []string{"07700 900123", "+44 7700 900123", "00447700900123", "447700900123",
		"+44 (0)7700 900123", "07624 123456", "+447624123456", "0044 7624 123456", " 99 ", " a ", "\tx\t"} {
		check(s)
	}
}

func BenchmarkParseNHSNumber(b *testing.B) {
	in := []string{"9434765919", "4010232137", "4000000012", "4000000020", "4000000039"}
	b.Run("ref", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			parseNHSNumberPlain(in[i%len(in)])
		}
	})
	b.Run("codes", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ParseNHSNumber(in[i%len(in)])
		}
	})
}

func BenchmarkParseFloat(b *testing.B) {
	in := []string{"0.4722", "0.0556", "0.6667", "0.1389", "0.25"}
	b.Run("strconv", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			strconv.ParseFloat(in[i%len(in)], 64)
		}
	})
	b.Run("codes", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ParseFloat(in[i%len(in)])
		}
	})
}

func BenchmarkDates(b *testing.B) {
	in := []string{"19420415", "20030202", "19440508", "20220604", "19401231"}
	at := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	atD := DateOf(at)
	b.Run("time", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d, _ := refParseDate(in[i%len(in)])
			_ = AgeAt(d, at) + int(d.Unix()/86400)
		}
	})
	b.Run("ymd", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			d, _ := ParseYMD(in[i%len(in)])
			_ = AgeOn(d, atD) + int(d.UnixDays())
		}
	})
}

func BenchmarkNormalise(b *testing.B) {
	eth := []string{"A", "M", "N", "Z", "99"}
	gen := []string{"1", "2", "9", "0", "X"}
	mob := []string{"07700 465174", "07700 296211", "+44 7700 166896", "07624 123456", ""}
	b.Run("ethnicity", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			NormaliseEthnicity(eth[i%len(eth)])
		}
	})
	b.Run("ethnicity-ref", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			refNormaliseEthnicity(eth[i%len(eth)])
		}
	})
	b.Run("gender", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			NormaliseGender(gen[i%len(gen)])
		}
	})
	b.Run("gender-ref", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			refNormaliseGender(gen[i%len(gen)])
		}
	})
	var buf []byte
	b.Run("mobile-append", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			buf, _ = AppendMobile(buf[:0], mob[i%len(mob)])
		}
	})
	b.Run("mobile-ref", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			refNormaliseMobile(mob[i%len(mob)])
		}
	})
}
