package freetext

import (
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalised is the text the patterns and the name scan read: the original with
// disguises that a reader does not see, or reads past, taken away. It is NFKC
// (full-width, mathematical and circled digits and letters, no-break and other
// spaces, full-width @ and . become ASCII); invisible characters are removed
// (format characters — zero-width spaces and joiners, soft hyphens, word joiners,
// byte-order marks, bidi controls — and other default-ignorable characters, and
// combining marks left over after composition, so 0̲7̲ reads 07); decimal digits of
// any script become ASCII digits; a dash after a digit or a space becomes '-'.
//
// Findings are located in the normalised text and mapped back to the original
// (orig), so the redacted text is always the original with its identifying spans
// replaced: an invisible character inside an identifier is removed with it, and
// nothing outside a span is changed.
type normalised struct {
	text string
	// segStart[i] and segEnd[i] are the original byte range of the segment (a
	// character with its combining marks) that gave byte i of text; nil when text
	// is the original (ASCII, the common case).
	segStart, segEnd []int32
}

func normalise(text string) normalised {
	ascii := true
	for i := 0; i < len(text); i++ {
		if text[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return normalised{text: text}
	}
	b := make([]byte, 0, len(text))
	starts := make([]int32, 0, len(text))
	ends := make([]int32, 0, len(text))
	var it norm.Iter
	it.InitString(norm.NFKC, text)
	for !it.Done() {
		p0 := it.Pos()
		seg := it.Next()
		p1 := it.Pos()
		for len(seg) > 0 {
			r, n := utf8.DecodeRune(seg)
			seg = seg[n:]
			if r < utf8.RuneSelf {
				b = append(b, byte(r))
			} else {
				switch {
				case invisible(r):
					continue
				case unicode.IsDigit(r):
					b = append(b, byte('0'+digitValue(r)))
				case (unicode.Is(unicode.Pd, r) || r == '−') && len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] >= '0' && b[len(b)-1] <= '9'):
					b = append(b, '-')
				case unicode.Is(unicode.Zs, r):
					b = append(b, ' ')
				default:
					b = utf8.AppendRune(b, r)
				}
			}
			for len(starts) < len(b) {
				starts = append(starts, int32(p0))
				ends = append(ends, int32(p1))
			}
		}
	}
	return normalised{text: string(b), segStart: starts, segEnd: ends}
}

// invisible reports whether r is not seen, or is read past, by a reader: a format
// character (Unicode category Cf: U+200B–U+200F, U+202A–U+202E, U+2060–U+2064,
// U+FEFF, U+00AD …), another default-ignorable character (Hangul fillers, variation
// selectors) or a combining mark.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}

// digitValue is the value of a decimal digit of any script. Unicode encodes each
// script's decimal digits as a contiguous run from 0 to 9, and adjacent runs (the
// mathematical digits) each start at 0, so the value is the digit's distance from
// the start of its run of digits, modulo 10.
func digitValue(r rune) int {
	n := 0
	for unicode.IsDigit(r - 1 - rune(n)) {
		n++
	}
	return n % 10
}

// orig maps the byte range [s, e) of the normalised text to the original text: from
// the start of the segment of byte s to the end of the segment of byte e-1.
func (n normalised) orig(s, e int) (int, int) {
	if n.segStart == nil || e <= s {
		return s, e
	}
	return int(n.segStart[s]), int(n.segEnd[e-1])
}
