package themes

import (
	"strings"
	"testing"
)

func TestLabelledEmbedsTheSetTheTestsRead(t *testing.T) {
	got, err := Labelled()
	if err != nil {
		t.Fatal(err)
	}
	want := readComments(t)
	if len(got) != len(want) || got[0].ResponseID != want[0].ResponseID || got[len(got)-1].Text != want[len(want)-1].Text {
		t.Fatalf("embedded set has %d comments, testdata %d", len(got), len(want))
	}
}

func TestParseLabelledNamesFileLineField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\tCON-\n", "x.tsv line 1: 2 columns"},
		{"a\tXYZ+\tsome text\n", "x.tsv line 1 field labels"},
		{"a\tCON-\tone\na\tBUR+\ttwo\n", "x.tsv line 2 field id: a repeats line 1"},
		{"# c\na\tnone\t \n", "x.tsv line 2 field text: empty"},
	} {
		_, err := ParseLabelled([]byte(tc.in), "x.tsv", Default())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestTrainBaselineNeverSeesTheTestSplit(t *testing.T) {
	b, err := TrainBaseline(nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Model.Stats.TestExcluded != 0 {
		t.Fatalf("test split passed to Train: %+v", b.Model.Stats)
	}
	if b.Evaluation.Comments == 0 || b.Evaluation.MacroF1 < minMacroF1 {
		t.Fatalf("evaluation on %d comments, macro F1 %.2f", b.Evaluation.Comments, b.Evaluation.MacroF1)
	}
}
