package linkage

import (
	"regexp"
	"regexp/syntax"
	"unicode/utf8"
)

// patternMatcher returns a whole-value matcher for a definition's pattern. Most
// patterns are one character class repeated ("[A-Za-z0-9_-]{1,40}", "[0-9]{3}"), which
// are matched here by a scan over the value's characters: a regular expression per row
// of a ten-million-row extract cost seconds. Any other pattern uses the regexp.
func patternMatcher(re *regexp.Regexp) func(string) bool {
	if re == nil {
		return nil
	}
	if m := classRepeat(re.String()); m != nil {
		return m
	}
	return re.MatchString
}

// classRepeat matches `^(?:[class]{min,max})$`, `[class]+` or `[class]*` without a
// regexp, or returns nil for any other pattern.
func classRepeat(pattern string) func(string) bool {
	tree, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return nil
	}
	tree = tree.Simplify()
	// Strip the anchors and the group definitions wrap every pattern in.
	for {
		switch {
		case tree.Op == syntax.OpConcat && len(tree.Sub) == 3 && tree.Sub[0].Op == syntax.OpBeginText && tree.Sub[2].Op == syntax.OpEndText:
			tree = tree.Sub[1]
			continue
		case tree.Op == syntax.OpCapture:
			tree = tree.Sub[0]
			continue
		}
		break
	}
	lo, hi := 0, -1
	switch tree.Op {
	case syntax.OpRepeat:
		lo, hi = tree.Min, tree.Max
	case syntax.OpPlus:
		lo = 1
	case syntax.OpStar:
	default:
		// {m,n} simplifies to a concatenation of the class and optional classes; leave
		// those shapes to the regexp unless the whole is one class repeated.
		return concatRepeat(tree)
	}
	if len(tree.Sub) != 1 || tree.Sub[0].Op != syntax.OpCharClass {
		return nil
	}
	return ranged(tree.Sub[0].Rune, lo, hi)
}

// concatRepeat handles the simplified form of class{m,n}: m copies of the class, then
// (n-m) nested optional copies.
func concatRepeat(tree *syntax.Regexp) func(string) bool {
	var class []rune
	same := func(r *syntax.Regexp) bool {
		if r.Op != syntax.OpCharClass {
			return false
		}
		if class == nil {
			class = r.Rune
			return true
		}
		if len(r.Rune) != len(class) {
			return false
		}
		for i := range class {
			if class[i] != r.Rune[i] {
				return false
			}
		}
		return true
	}
	lo, hi := 0, 0
	var walkOpt func(r *syntax.Regexp) bool
	walkOpt = func(r *syntax.Regexp) bool {
		// (class (class (…)?)?)?
		if r.Op != syntax.OpQuest || len(r.Sub) != 1 {
			return false
		}
		in := r.Sub[0]
		switch {
		case same(in):
			hi++
			return true
		case in.Op == syntax.OpConcat && len(in.Sub) == 2 && same(in.Sub[0]):
			hi++
			return walkOpt(in.Sub[1])
		}
		return false
	}
	switch tree.Op {
	case syntax.OpCharClass:
		if !same(tree) {
			return nil
		}
		lo, hi = 1, 1
	case syntax.OpConcat:
		for i, s := range tree.Sub {
			switch {
			case same(s):
				lo++
				hi++
			case i == len(tree.Sub)-1 && walkOpt(s):
			default:
				return nil
			}
		}
	default:
		return nil
	}
	return ranged(class, lo, hi)
}

// ranged matches a value of lo to hi (hi < 0: any number) characters, each within the
// rune ranges of class (pairs of inclusive bounds).
func ranged(class []rune, lo, hi int) func(string) bool {
	var ascii [128]bool
	for i := 0; i+1 < len(class); i += 2 {
		for r := class[i]; r <= class[i+1] && r < 128; r++ {
			ascii[r] = true
		}
	}
	in := func(r rune) bool {
		if r < 128 {
			return ascii[r]
		}
		for i := 0; i+1 < len(class); i += 2 {
			if r >= class[i] && r <= class[i+1] {
				return true
			}
		}
		return false
	}
	return func(s string) bool {
		n := 0
		for i := 0; i < len(s); {
			c := s[i]
			if c < utf8.RuneSelf {
				if !ascii[c] {
					return false
				}
				i++
			} else {
				r, size := utf8.DecodeRuneInString(s[i:])
				if !in(r) {
					return false
				}
				i += size
			}
			n++
		}
		return n >= lo && (hi < 0 || n <= hi)
	}
}
