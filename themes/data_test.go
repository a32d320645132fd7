package themes

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// readComments reads testdata/comments.tsv as codings against the default codebook.
func readComments(t testing.TB) []Coding {
	t.Helper()
	f, err := os.Open("testdata/comments.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cb := Default()
	var out []Coding
	seen := map[string]int{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			t.Fatalf("testdata/comments.tsv line %d: %d columns, want 3 (id, labels, text)", n, len(cols))
		}
		if prev, dup := seen[cols[0]]; dup {
			t.Fatalf("testdata/comments.tsv line %d: id %s repeats line %d", n, cols[0], prev)
		}
		seen[cols[0]] = n
		codes, err := cb.ParseLabels(cols[1])
		if err != nil {
			t.Fatalf("testdata/comments.tsv line %d field labels: %v", n, err)
		}
		if strings.TrimSpace(cols[2]) == "" {
			t.Fatalf("testdata/comments.tsv line %d field text: empty", n)
		}
		out = append(out, Coding{ResponseID: cols[0], Text: cols[2], Themes: codes, Coder: "author", CodebookVersion: cb.Version})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func splitComments(all []Coding) (train, valid, test []Coding) {
	for _, c := range all {
		switch SplitOf(c.ResponseID) {
		case SplitTrain:
			train = append(train, c)
		case SplitValidation:
			valid = append(valid, c)
		default:
			test = append(test, c)
		}
	}
	return
}
