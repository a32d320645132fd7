package themes

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"strings"
)

// The project's labelled comment set (testdata/comments.tsv, described in the package
// doc) is embedded so that a running pipeline can train its first model before any
// comment of a wave has been coded, and can print the classifier's figures on the
// set's test split beside the wave's own: the figures `ice themes report` quotes.
//
//go:embed testdata/comments.tsv
var labelledTSV []byte

// LabelledFile names the labelled set in errors.
const LabelledFile = "themes/testdata/comments.tsv"

// Labelled reads the project's labelled comments as codings by the coder "author"
// against the default codebook. Every bad line is an error naming the file, line and
// field.
func Labelled() ([]Coding, error) {
	return ParseLabelled(labelledTSV, LabelledFile, Default())
}

// ParseLabelled reads a labelled set in the tab-separated form of
// testdata/comments.tsv (id, labels, text; # comments and blank lines skipped).
func ParseLabelled(data []byte, file string, cb *Codebook) ([]Coding, error) {
	var out []Coding
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			return nil, fmt.Errorf("%s line %d: %d columns, want 3 (id, labels, text)", file, n, len(cols))
		}
		if cols[0] == "" {
			return nil, fmt.Errorf("%s line %d field id: empty", file, n)
		}
		if prev, dup := seen[cols[0]]; dup {
			return nil, fmt.Errorf("%s line %d field id: %s repeats line %d", file, n, cols[0], prev)
		}
		seen[cols[0]] = n
		codes, err := cb.ParseLabels(cols[1])
		if err != nil {
			return nil, fmt.Errorf("%s line %d field labels: %w", file, n, err)
		}
		if strings.TrimSpace(cols[2]) == "" {
			return nil, fmt.Errorf("%s line %d field text: empty", file, n)
		}
		out = append(out, Coding{ResponseID: cols[0], Text: cols[2], Themes: codes, Coder: "author", CodebookVersion: cb.Version})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

// Baseline is the model trained on the labelled set's train and validation splits and
// its evaluation on the set's test split, which it never saw.
type Baseline struct {
	Model      *Model
	Evaluation Evaluation
}

// TrainBaseline trains on the labelled set plus any confirmed codings of a wave
// (Train leaves out every coding in the test split, so a wave's evaluation slice never
// trains the model either) and evaluates on the labelled set's test split.
func TrainBaseline(confirmed []Coding) (Baseline, error) {
	all, err := Labelled()
	if err != nil {
		return Baseline{}, err
	}
	var test []Coding
	train := make([]Coding, 0, len(all)+len(confirmed))
	for _, c := range all {
		if SplitOf(c.ResponseID) == SplitTest {
			test = append(test, c)
		} else {
			train = append(train, c)
		}
	}
	train = append(train, confirmed...)
	m, err := Train(train)
	if err != nil {
		return Baseline{}, fmt.Errorf("train on the labelled set: %w", err)
	}
	return Baseline{Model: m, Evaluation: Evaluate(m, test)}, nil
}
