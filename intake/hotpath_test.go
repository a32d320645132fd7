package intake

import (
	"bytes"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"icesurvey/codes"
)

// TestSplitUnquoted compares the word-at-a-time split with a plain one on random
// lines of every length around the word size, with commas, quotes and non-ASCII text.
func TestSplitUnquoted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", " ", ",", ",", ",", "\"", "é", "\x80", "\x7f", "\x00", "\t"}
	for n := 0; n < 4000; n++ {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		line := []byte(b.String())
		fields, quoted, ascii := splitUnquoted(line, nil)
		if wantQuoted := bytes.IndexByte(line, '"') >= 0; quoted != wantQuoted {
			t.Fatalf("%q: quoted %v", line, quoted)
		}
		if quoted {
			continue
		}
		if ascii != (utf8.Valid(line) && !strings.ContainsFunc(string(line), func(r rune) bool { return r >= utf8.RuneSelf })) {
			t.Fatalf("%q: ascii %v", line, ascii)
		}
		if want := bytes.Split(line, []byte(",")); !reflect.DeepEqual(fields, want) {
			t.Fatalf("%q: fields %q, want %q", line, fields, want)
		}
	}
}

// TestPrefetchSameRows requires a prefetched CSV source to yield exactly the rows,
// row numbers and errors of the source itself, over quoted, multi-line, blank and
// non-UTF-8 rows, across batch boundaries.
func TestPrefetchSameRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("\xEF\xBB\xBFA,B,C\r\n")
	for i := range 3000 {
		switch i % 7 {
		case 0:
			b.WriteString("plain,row,here\n")
		case 1:
			b.WriteString("\"quoted, comma\",\"with \"\"escaped\"\" quote\",x\r\n")
		case 2:
			b.WriteString("\"multi\nline\",Zoë,\n")
		case 3:
			b.WriteString("   \n")
		case 4:
			b.WriteString(",,\n")
		case 5:
			b.WriteString("Siobhán,O'Brien,  spaced  \n")
		default:
			b.WriteString("a,b\n") // short row
		}
	}
	b.WriteString("bad,\xE9t\xE9,row\n")
	text := b.String()
	type got struct {
		fields []string
		row    int
		err    string
	}
	read := func(src rowSource) []got {
		var out []got
		for {
			fields, row, err := src.next()
			if err != nil {
				return append(out, got{err: err.Error()}) // the source stops at its first error
			}
			g := got{row: row}
			for _, f := range fields {
				g.fields = append(g.fields, string(f))
			}
			out = append(out, g)
		}
	}
	open := func() rowSource {
		cr, err := newCSVReader("k.csv", strings.NewReader(text), io.NopCloser(nil))
		if err != nil {
			t.Fatal(err)
		}
		return cr
	}
	direct := read(open())
	p := prefetch(open())
	defer p.close()
	ahead := read(p)
	if len(direct) < 2500 {
		t.Fatalf("only %d rows", len(direct))
	}
	if !reflect.DeepEqual(direct, ahead) {
		for i := range min(len(direct), len(ahead)) {
			if !reflect.DeepEqual(direct[i], ahead[i]) {
				t.Fatalf("row %d: direct %+v, prefetched %+v", i, direct[i], ahead[i])
			}
		}
		t.Fatalf("direct %d rows, prefetched %d", len(direct), len(ahead))
	}
	if last := direct[len(direct)-1]; !strings.Contains(last.err, FileEncodingNotUTF8) {
		t.Errorf("the last row should stop the file: %+v", last)
	}
}

// TestEthnicityIndex checks the table lookup against the code list.
func TestEthnicityIndex(t *testing.T) {
	for i, e := range codes.EthnicCategories {
		if got := ethnicityIndex(e.Code); got != i {
			t.Errorf("ethnicityIndex(%q) = %d, want %d", e.Code, got, i)
		}
	}
	for _, bad := range []string{"", "I", "a", "9", "999", "\x00"} {
		if got := ethnicityIndex(bad); got != -1 {
			t.Errorf("ethnicityIndex(%q) = %d, want -1", bad, got)
		}
	}
}
