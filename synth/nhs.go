package synth

// NHS numbers: nine digits then a Modulus 11 check digit (weights 10..2; 11 → 0; 10 means
// the nine digits can never form a valid number). Generated numbers are 9, the ICS's digit,
// then seven digits from a keyed permutation of a counter, so they are unique within a file
// without remembering them, distinct between ICSs, and look random.

// nhsCheckDigit returns the check digit for the first nine digits of s, and false when
// those nine digits admit no valid check digit.
func nhsCheckDigit(s string) (byte, bool) {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(s[i]-'0') * (10 - i)
	}
	c := 11 - sum%11
	switch c {
	case 11:
		return '0', true
	case 10:
		return 0, false
	}
	return byte('0' + c), true
}

// validNHSNumber reports whether s is 10 digits with a correct check digit.
func validNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	c, ok := nhsCheckDigit(s)
	return ok && c == s[9]
}

const nhsDomain = 10_000_000

// permute is a bijection on [0, nhsDomain): a 4-round Feistel network on 24 bits, cycle
// walked back into the domain.
func (g *generator) permute(x uint32) uint32 {
	for {
		l, r := x>>12, x&0xfff
		for i := range g.nhsKey {
			l, r = r, l^uint32(splitmix(uint64(r)^g.nhsKey[i])&0xfff)
		}
		x = l<<12 | r
		if x < nhsDomain {
			return x
		}
	}
}

// nextNHS returns the next unused valid NHS number.
func (g *generator) nextNHS() string {
	for {
		if g.nhsCounter >= nhsDomain {
			panic("synth: NHS number space exhausted") // unreachable for N ≤ MaxN
		}
		v := g.permute(g.nhsCounter)
		g.nhsCounter++
		var b [10]byte
		b[0] = '9'
		b[1] = g.prof.digit
		for i := 8; i >= 2; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
		c, ok := nhsCheckDigit(string(b[:9]))
		if !ok {
			continue
		}
		b[9] = c
		return string(b[:])
	}
}
