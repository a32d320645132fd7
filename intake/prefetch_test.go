package intake

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"icesurvey/pseudo"
)

// TestPrefetchPersons: a source read ahead with prefetchPersons gives, beside each
// row, the pseudo.Person of that row's RECORD_ID field (as the pass would derive it
// itself), across batch boundaries, for quoted, short and empty ids.
func TestPrefetchPersons(t *testing.T) {
	key := []byte("prefetch-test-key-0123456789abcdef")
	var b strings.Builder
	b.WriteString("NAME,RECORD_ID\n")
	for i := range 3*prefetchRows + 7 {
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "a,R%d\n", i)
		case 1:
			fmt.Fprintf(&b, "\"b, quoted\",\"R%d\"\n", i)
		case 2:
			b.WriteString("c,\n") // empty id
		default:
			b.WriteString("short\n") // no id field at all
		}
	}
	cr, err := newCSVReader("k.csv", strings.NewReader(b.String()), io.NopCloser(nil))
	if err != nil {
		t.Fatal(err)
	}
	p := prefetchPersons(cr, &personDeriver{keyed: pseudo.New(key), wave: "W1", ics: "QMM", idCol: 1})
	defer p.close()
	want := pseudo.New(key)
	rows := 0
	for {
		fields, row, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rows++
		if got, want := p.person(), want.Person("W1", "QMM", string(field(fields, 1))); got != want {
			t.Fatalf("row %d (id %q): person %x, want %x", row, field(fields, 1), got, want)
		}
	}
	if rows != 1+3*prefetchRows+7 { // the header is a row at this level
		t.Fatalf("%d rows", rows)
	}
}
