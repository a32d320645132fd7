package main

import (
	"testing"
	"unicode"
)

// TestInert: ordinary text of any script prints exactly; every control and format
// character a crafted comment or note could hold prints as its escape, in place.
func TestInert(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain", "The physio was late, call [PHONE].", "The physio was late, call [PHONE]."},
		{"scripts", "Très bien — مرحبا שלום नमस्ते 你好 Ελληνικά", "Très bien — مرحبا שלום नमस्ते 你好 Ελληνικά"},
		{"persian non-joiner", "می\u200cخواهم", "می\u200cخواهم"},
		{"emoji", "👍🏽 ❤️ 👨‍👩‍👧 1️⃣ 🇬🇧 🏴󠁧󠁢󠁥󠁮󠁧󠁿", "👍🏽 ❤️ 👨‍👩‍👧 1️⃣ 🇬🇧 🏴󠁧󠁢󠁥󠁮󠁧󠁿"},
		{"replacement character", "caf\ufffd", "caf\ufffd"},
		{"right-to-left override", "invoice \u202egnp.exe", `invoice \u202egnp.exe`},
		{"every bidi embedding and override", "\u202a\u202b\u202c\u202d\u202e", `\u202a\u202b\u202c\u202d\u202e`},
		{"bidi isolates", "a\u2066b\u2067c\u2068d\u2069e", `a\u2066b\u2067c\u2068d\u2069e`},
		{"marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"zero width and soft hyphen", "hid\u200bden so\u00adft \ufeffbom", `hid\u200bden so\u00adft \ufeffbom`},
		{"lone joiner", "\u200d start, end \u200d", `\u200d start, end \u200d`},
		{"tag outside a flag", "x\U000e0041\U000e007f", `x\U000e0041\U000e007f`},
		{"cursor up, erase line", "fine\x1b[1A\x1b[2Kforged", `fine\x1b[1A\x1b[2Kforged`},
		{"window title", "x\x1b]0;owned\a", `x\x1b]0;owned\a`},
		{"line break, tab, return", "one\ntwo\tthree\rfour", `one\ntwo\tthree\rfour`},
		{"C1 control", "x\u009b31m", `x\u009b31m`},
		{"NUL and DEL", "a\x00b\x7f", `a\x00b\x7f`},
		{"line and paragraph separators", "a\u2028b\u2029c", `a\u2028b\u2029c`},
		{"not UTF-8", "a\xffb\xc3", `a\xffb\xc3`},
		{"backslash kept", `C:\path`, `C:\path`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := inert(c.in)
			if got != c.want {
				t.Errorf("inert(%+q) = %+q, want %+q", c.in, got, c.want)
			}
			if c.in != c.want {
				// Whatever was escaped, what is printed holds no control or format character
				// but the kept joiners and tags.
				for _, r := range got {
					if r != ' ' && !unicode.IsGraphic(r) && r != '\u200d' && r != '\u200c' && (r < 0xe0020 || r > 0xe007f) {
						t.Errorf("inert(%+q) prints %U", c.in, r)
					}
				}
			}
		})
	}
}
