package main

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// inert is text from the data (a comment, a session note, a quotation) or typed by
// someone (a search, a filter) made safe to print on a terminal, the one copy of the
// rule for every command that prints such text. Ordinary text, letters of any script,
// marks, numbers, punctuation, symbols, emoji and spaces, is printed exactly as it is.
// Every other rune is printed as its Go escape, visibly, in place: a line break or tab
// that would forge a line or a column (\n, \t), an escape sequence that would move the
// cursor, erase lines or retitle the window (\x1b), a C1 control (\u009b), a bidi
// override or isolate that would reorder what follows (\u202e, \u2066), another format
// character that would hide text (\u200b, \u00ad, \ufeff), and a byte that is not
// UTF-8 (\xff). Two format characters are part of ordinary text and kept: the
// zero-width joiner and non-joiner between two visible characters (emoji sequences,
// Indic and Persian spellings), and the tag characters of an emoji tag sequence (the
// flags of England, Scotland and Wales) up to its cancel tag.
func inert(s string) string {
	if isInert(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatUint(uint64(s[i]), 16))
		} else if keptRune(s, i, r, n) {
			b.WriteString(s[i : i+n])
		} else {
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

// isInert says whether s prints as it is.
func isInert(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !keptRune(s, i, r, n) {
			return false
		}
		i += n
	}
	return true
}

// keptRune says whether r, the rune at s[i:i+n], is printed as it is.
func keptRune(s string, i int, r rune, n int) bool {
	switch {
	case r == ' ':
		return true
	case r == '\u200c' || r == '\u200d': // non-joiner, joiner: only between visible characters
		before, _ := utf8.DecodeLastRuneInString(s[:i])
		after, _ := utf8.DecodeRuneInString(s[i+n:])
		return visible(before) && visible(after)
	case r >= 0xe0020 && r <= 0xe007f: // a tag: only in a tag sequence after a black flag
		j := i
		for j > 0 {
			p, m := utf8.DecodeLastRuneInString(s[:j])
			if p == 0x1f3f4 {
				return true
			}
			if p < 0xe0020 || p > 0xe007e { // not a tag (the cancel tag ends a sequence)
				return false
			}
			j -= m
		}
		return false
	}
	return unicode.IsGraphic(r) && !unicode.Is(unicode.Cf, r)
}

// visible is a rune that prints as a mark of its own, not a space or format character.
func visible(r rune) bool {
	return r != utf8.RuneError && unicode.IsGraphic(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Cf, r)
}
