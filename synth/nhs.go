package synth

// NHS numbers: nine digits then a Modulus 11 check digit (weights 10..2; 11 → 0; 10 means
// the nine digits can never form a valid number). Generated numbers are 9, the ICS's digit,
// then seven digits from a keyed permutation of a counter, so they are unique within a file
// without remembering them, distinct between ICSs, and look random. An ICS on a borrowed
// profile (borrowedProfiles) has 9, 8, its two-digit index, then five permuted digits.

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

// borrowedNHSDomain is the space of a borrowed profile's numbers: 9, 8, its two-digit
// index, then five digits.
const borrowedNHSDomain = 100_000

// nhsSpace is the domain of the profile's permuted digits and the Feistel half width
// that covers it.
func (g *generator) nhsSpace() (domain uint32, half uint) {
	if g.prof.borrowed {
		return borrowedNHSDomain, 9 // 18 bits
	}
	return nhsDomain, 12 // 24 bits
}

// permute is a bijection on [0, domain): a 4-round Feistel network on 24 bits (18 for a
// borrowed profile), cycle walked back into the domain.
func (g *generator) permute(x uint32) uint32 {
	domain, half := g.nhsSpace()
	mask := uint32(1)<<half - 1
	for {
		l, r := x>>half, x&mask
		for i := range g.nhsKey {
			l, r = r, l^uint32(splitmix(uint64(r)^g.nhsKey[i]))&mask
		}
		x = l<<half | r
		if x < domain {
			return x
		}
	}
}

// nextNHS returns the next unused valid NHS number.
func (g *generator) nextNHS() string {
	for {
		if domain, _ := g.nhsSpace(); g.nhsCounter >= domain {
			panic("synth: NHS number space exhausted") // unreachable for N ≤ maxN
		}
		v := g.permute(g.nhsCounter)
		g.nhsCounter++
		var b [10]byte
		b[0] = '9'
		b[1] = g.prof.digit
		first := 2
		if g.prof.borrowed {
			b[2], b[3] = '0'+g.prof.index/10, '0'+g.prof.index%10
			first = 4
		}
		for i := 8; i >= first; i-- {
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
