package intake

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"icesurvey/codes"
)

// The fast paths of the row checks are compared here with the plain code they
// replaced, kept as references.

// refShortKey is shortKey as a byte loop.
func refShortKey(b []byte) (uint64, bool) {
	if len(b) > 7 {
		return 0, false
	}
	k := 1<<63 | uint64(len(b))<<56
	for i, c := range b {
		k |= uint64(c) << (8 * i)
	}
	return k, true
}

func TestShortKey(t *testing.T) {
	seen := map[uint64]string{}
	check := func(b []byte) {
		t.Helper()
		k, ok := shortKey(b)
		wk, wok := refShortKey(b)
		if k != wk || ok != wok {
			t.Fatalf("shortKey(%q) = %#x, %v; want %#x, %v", b, k, ok, wk, wok)
		}
		if !ok {
			return
		}
		if k == 0 {
			t.Fatalf("shortKey(%q) is 0", b)
		}
		if prev, dup := seen[k]; dup && prev != string(b) {
			t.Fatalf("shortKey(%q) = shortKey(%q)", b, prev)
		}
		seen[k] = string(b)
	}
	alphabet := []byte{0, 1, ' ', 'A', 'z', 0x7f, 0x80, 0xff}
	var gen func(prefix []byte)
	gen = func(prefix []byte) {
		check(prefix)
		if len(prefix) == 4 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix[:len(prefix):len(prefix)], c))
		}
	}
	gen(nil)
	rng := rand.New(rand.NewPCG(13, 14))
	for range 200000 {
		b := make([]byte, rng.IntN(10))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(b)
	}
}

// TestDictColMatchesPlain feeds a dictionary column values short and long, few and
// many (more than its cache has slots, so they collide in it), across resets, and
// compares its indexes and dictionary with a plain first-seen numbering.
func TestDictColMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	c := newDictCol(0)
	for round, distinct := range []int{1, 50, 121, 3000, 20000} {
		var values [][]byte
		for i := range distinct {
			switch i % 4 {
			case 0:
				values = append(values, []byte(fmt.Sprintf("D%05d", i))) // a practice code
			case 1:
				values = append(values, []byte(fmt.Sprint(i%100))) // very short
			case 2:
				values = append(values, []byte(fmt.Sprintf("long value %d", i)))
			default:
				values = append(values, []byte(strings.Repeat("x", i%9)))
			}
		}
		want := map[string]int32{}
		var wantIdx []int32
		var wantDict []string
		c.reset()
		for range 50000 {
			v := values[rng.IntN(len(values))]
			i, ok := want[string(v)]
			if !ok {
				i = int32(len(wantDict))
				want[string(v)] = i
				wantDict = append(wantDict, string(v))
			}
			wantIdx = append(wantIdx, i)
			c.add(v)
		}
		if !reflect.DeepEqual(c.idx, wantIdx) {
			t.Fatalf("round %d: indexes differ", round)
		}
		var dict []string
		for i := 0; i < c.dict.len(); i++ {
			dict = append(dict, string(c.dict.value(i)))
		}
		if !reflect.DeepEqual(dict, wantDict) {
			t.Fatalf("round %d: dictionary %q, want %q", round, dict, wantDict)
		}
	}
}

// TestCountPractice compares the tally's cached practice counts with a plain map.
func TestCountPractice(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	tl := tally{practices: map[string]*int{}, recent: new(keyCache[*int])}
	want := map[string]int{}
	for range 100000 {
		var p string
		switch rng.IntN(10) {
		case 0:
			p = fmt.Sprintf("LONGPRACTICE%d", rng.IntN(50)) // past a shortKey
		default:
			p = fmt.Sprintf("%c%05d", 'A'+rng.IntN(3), rng.IntN(2000))
		}
		want[p]++
		tl.countPractice([]byte(p))
	}
	got := map[string]int{}
	for k, n := range tl.practices {
		got[k] = *n
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("practice counts differ")
	}
}

// TestUnixDaysMatchesArrow requires the Date32 of every date a file can hold to be
// what arrow.Date32FromTime made of the time.Time ParseDate gave.
func TestUnixDaysMatchesArrow(t *testing.T) {
	for day := time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 10000; day = day.AddDate(0, 0, 1) {
		d := codes.DateOf(day)
		if got, want := int32(d.UnixDays()), int32(arrow.Date32FromTime(day)); got != want {
			t.Fatalf("%v: UnixDays %d, Date32FromTime %d", day, got, want)
		}
	}
}

func TestReserveAndPresize(t *testing.T) {
	s := []int32{1, 2, 3}
	s = reserve(s, 100)
	if cap(s) < 100 || !reflect.DeepEqual(s, []int32{1, 2, 3}) {
		t.Fatalf("reserve: %v cap %d", s, cap(s))
	}
	if r := reserve(s, 10); &r[0] != &s[0] {
		t.Fatal("reserve reallocated a slice with room")
	}
	g := newSampleGroup(&groupKeys{})
	g.nhs = append(g.nhs, 7)
	g.ageBand.addCode(1, codes.AgeBands[1])
	g.presize()
	if cap(g.nhs) < rowsMax || cap(g.ageBand.idx) < rowsMax || cap(g.hasMobile.bits) < rowsMax/8 ||
		!reflect.DeepEqual(g.nhs, []uint64{7}) || !reflect.DeepEqual(g.ageBand.idx, []int32{0}) {
		t.Fatalf("sampleGroup.presize: nhs %v cap %d", g.nhs, cap(g.nhs))
	}
	cg := newContactGroup()
	cg.nhs.add([]byte("9434765919"))
	cg.presize(groupBytes{3: 1000})
	if cap(cg.nhs.offs) < rowsMax+1 || cap(cg.strs()[3].data) < 1000 || cap(cg.dob) < rowsMax ||
		cg.nhs.len() != 1 || string(cg.nhs.value(0)) != "9434765919" {
		t.Fatalf("contactGroup.presize: %d values", cg.nhs.len())
	}
}

// refCheckMailing is checkMailing as it was, one field lookup per check, after the
// RECORD_ID and width checks they share (startMailingRow, never rewritten for speed).
func refCheckMailing(src rowSource, width int, c *mailingCols, fields [][]byte, m *mailingRow) {
	if !startMailingRow(src, width, c, fields, m) {
		return
	}
	if len(field(fields, c.last)) == 0 {
		m.findings = append(m.findings, finding{"LAST_NAME", ReasonNameMissing, "LAST_NAME is empty"})
	}
	textCols := [...]struct {
		name string
		i    int
	}{{"TITLE", c.title}, {"FIRST_NAME", c.first}, {"LAST_NAME", c.last}, {"ADDRESS_1", c.addr[0]},
		{"ADDRESS_2", c.addr[1]}, {"ADDRESS_3", c.addr[2]}, {"ADDRESS_4", c.addr[3]}, {"ADDRESS_5", c.addr[4]}}
	for _, tc := range textCols {
		if hasControl(field(fields, tc.i)) {
			m.findings = append(m.findings, finding{tc.name, ReasonTextInvalid,
				tc.name + " contains a line break or control character"})
		}
	}
	_, err := codes.AppendPostcode(m.postcode[:0], view(field(fields, c.postcode)))
	lastLine := ""
	for _, i := range c.addr {
		if f := field(fields, i); len(f) > 0 {
			lastLine = string(f)
		}
	}
	switch {
	case errors.Is(err, codes.ErrPseudoPostcode):
		m.flags |= flagNoUKAddress
	case err != nil && (codes.ForeignCountry(lastLine) || codes.ForeignCountry(string(field(fields, c.postcode)))):
		m.flags |= flagAbroad
	case errors.Is(err, codes.ErrPostcodeMissing):
		m.findings = append(m.findings, finding{"POSTCODE", ReasonPostcodeInvalid, "POSTCODE is empty"})
	case err != nil:
		m.findings = append(m.findings, finding{"POSTCODE", ReasonPostcodeInvalid, "POSTCODE is not a valid UK postcode"})
	}
	if m.flags&(flagNoUKAddress|flagAbroad) == 0 {
		lines := 0
		for _, i := range c.addr {
			if len(field(fields, i)) > 0 {
				lines++
			}
		}
		switch {
		case len(field(fields, c.addr[0])) == 0:
			m.findings = append(m.findings, finding{"ADDRESS_1", ReasonAddressTooShort, "ADDRESS_1 is empty"})
		case lines < 2:
			m.findings = append(m.findings, finding{"ADDRESS_1", ReasonAddressTooShort,
				"a postal address needs at least two address lines and a postcode"})
		}
	}
	m.mobile = field(fields, c.mobile)
	if len(m.mobile) > 0 {
		if codes.NormaliseMobile(view(m.mobile)) != "" {
			m.flags |= flagHasMobile
		} else {
			m.flags |= flagMobileUnusable
		}
	}
}

func TestAnyControl(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for range 300000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			switch rng.IntN(4) {
			case 0:
				b[i] = byte(rng.IntN(256))
			default:
				b[i] = byte(0x20 + rng.IntN(0x5F)) // printable
			}
		}
		if got, want := anyControl(b), hasControl(b); got != want {
			t.Fatalf("anyControl(%q) = %v", b, got)
		}
	}
	for c := 0; c < 256; c++ {
		for n := 1; n <= 17; n++ {
			for at := 0; at < n; at++ {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				if got, want := anyControl(b), hasControl(b); got != want {
					t.Fatalf("anyControl(%q) = %v", b, got)
				}
			}
		}
	}
}

func TestAppendNHSDigits(t *testing.T) {
	ref := func(n uint64) string {
		var d [10]byte
		for i := 9; i >= 0; i-- {
			d[i] = byte('0' + n%10)
			n /= 10
		}
		return string(d[:])
	}
	rng := rand.New(rand.NewPCG(25, 26))
	ns := []uint64{0, 1, 9, 10, 99, 100, 4000000012, 9434765919, 9999999999, 10000000000, 1<<64 - 1}
	for range 200000 {
		ns = append(ns, rng.Uint64N(10_000_000_000), rng.Uint64())
	}
	for _, n := range ns {
		if got := string(appendNHSDigits([]byte("x"), n)); got != "x"+ref(n) {
			t.Fatalf("appendNHSDigits(%d) = %q, want %q", n, got, ref(n))
		}
	}
}

func BenchmarkAnyControl(b *testing.B) {
	fields := [][]byte{[]byte("Mx"), []byte("Frank"), []byte("Wright"), []byte("Flat 20, The Maltings"),
		[]byte("Cromer"), []byte("Norfolk"), nil, nil}
	b.Run("bytes", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, f := range fields {
				if hasControl(f) {
					b.Fatal()
				}
			}
		}
	})
	b.Run("words", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, f := range fields {
				if anyControl(f) {
					b.Fatal()
				}
			}
		}
	})
}

type widthSource struct{ strict bool }

func (s widthSource) next() ([][]byte, int, error) { return nil, 0, nil }
func (s widthSource) strictWidth() bool            { return s.strict }
func (s widthSource) close() error                 { return nil }

// TestCheckMailingMatchesPlain compares checkMailing with its plain version on random
// rows: fields empty, spaced, with control characters, valid and invalid postcodes and
// mobiles, short and long rows, with and without optional columns.
func TestCheckMailingMatchesPlain(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	pick := func(options ...string) string { return options[rng.IntN(len(options))] }
	headers := [][]string{
		mailingHeader,
		{"RECORD_ID", "LAST_NAME", "ADDRESS_1", "ADDRESS_2", "POSTCODE"}, // no title, first name, lines 3–5 or mobile
		{"MOBILE", "POSTCODE", "ADDRESS_5", "ADDRESS_1", "LAST_NAME", "TITLE", "RECORD_ID", "ADDRESS_2", "FIRST_NAME", "ADDRESS_3", "ADDRESS_4"},
	}
	for _, names := range headers {
		h := &header{width: len(names), cols: map[string]int{}}
		for i, n := range names {
			h.cols[n] = i
		}
		c := newMailingCols(h)
		var m, want mailingRow
		for range 100000 {
			fields := make([][]byte, len(names))
			for i, n := range names {
				var v string
				switch n {
				case "POSTCODE":
					v = pick("NR1 3QU", "nr13qu", " IP22 4LW ", "ZZ99 3VZ", "zz993wz", "", "  ", "NR1", "QA1 1AA", "GIR 0AA", "NR1 3QU\t", "75001", "France")
				case "MOBILE":
					v = pick("07700 900123", "+44 7700 900123", "", "0161 496 0000", "n/a", "07624 123456", " 07700900123 ")
				case "RECORD_ID":
					v = pick("R00001", "", "R\x01", strings.Repeat("R", 70), " R2 ")
				default:
					v = pick("", "", "Ann", " Ann ", "Flat 1\n2", "a\tb", "\tx", "x\x7f", "Zoë", "\u00a0", "x\r", "Spain", " U.S.A. ", "England")
				}
				fields[i] = []byte(v)
			}
			switch rng.IntN(20) {
			case 0:
				fields = fields[:rng.IntN(len(fields))]
			case 1:
				fields = append(fields, []byte(pick("", " ", "extra")))
			}
			src := widthSource{strict: rng.IntN(2) == 0}
			(&run{}).checkMailing(src, h.width, &c, fields, &m)
			refCheckMailing(src, h.width, &c, fields, &want)
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("%q:\n got  %+v\n want %+v", fields, m, want)
			}
		}
	}
}
