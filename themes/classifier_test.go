package themes

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// Floors the classifier must clear on the test split of testdata/comments.tsv, set
// with a margin below the measured figures (package doc): the test split is small
// (about 20 comments per theme), so single comments move F1 by several points.
const (
	minMacroF1 = 0.60
	minThemeF1 = 0.45
)

func TestClassifierOnHeldOutTestSplit(t *testing.T) {
	all := readComments(t)
	if len(all) < 600 {
		t.Fatalf("testdata/comments.tsv: %d comments, want at least 600", len(all))
	}
	train, valid, test := splitComments(all)
	// Train sees train and validation; the test split is never passed in.
	m, err := Train(append(append([]Coding{}, train...), valid...))
	if err != nil {
		t.Fatal(err)
	}
	if m.Stats.Train != len(train) || m.Stats.Validation != len(valid) || m.Stats.TestExcluded != 0 {
		t.Fatalf("stats %+v for %d/%d", m.Stats, len(train), len(valid))
	}
	ev := Evaluate(m, test)
	t.Log("\n" + Report(ReportInput{Title: "labelled comment set, test split", Codebook: Default(), Model: m, Evaluation: ev}))
	t.Logf("rules alone on the test split (a theme when any of its patterns matches): macro F1 %.2f", rulesOnlyMacroF1(Default(), test))
	if ev.MacroF1 < minMacroF1 || math.IsNaN(ev.MacroF1) {
		t.Errorf("macro F1 %.3f on the test split, want ≥ %.2f", ev.MacroF1, minMacroF1)
	}
	for _, th := range ev.Themes {
		if th.Support == 0 {
			t.Errorf("theme %s has no comments in the test split", th.Theme)
		} else if !(th.F1 >= minThemeF1) {
			t.Errorf("theme %s F1 %.3f, want ≥ %.2f", th.Theme, th.F1, minThemeF1)
		}
		if th.PolarityComparisons > 0 && th.PolarityAgreement < 0.8 {
			t.Errorf("theme %s polarity agreement %.2f, want ≥ 0.8", th.Theme, th.PolarityAgreement)
		}
	}
}

// rulesOnlyMacroF1 is the baseline of the transparent rules alone.
func rulesOnlyMacroF1(cb *Codebook, set []Coding) float64 {
	sum := 0.0
	for _, th := range cb.Themes {
		tp, fp, fn := 0, 0, 0
		for _, c := range set {
			got := false
			for _, h := range cb.Rules(c.Text) {
				got = got || h.Theme == th.ID
			}
			_, want := c.Has(th.ID)
			switch {
			case got && want:
				tp++
			case got:
				fp++
			case want:
				fn++
			}
		}
		sum += f1Of(tp, fp, fn)
	}
	return sum / float64(len(cb.Themes))
}

func TestLabelledSetShape(t *testing.T) {
	all := readComments(t)
	train, valid, test := splitComments(all)
	none, pos := 0, 0
	for _, c := range all {
		if len(c.Themes) == 0 {
			none++
		}
		for _, th := range c.Themes {
			if th.Polarity == Positive {
				pos++
			}
		}
	}
	t.Logf("%d comments: %d train, %d validation, %d test; %d with no theme; %d positive codes", len(all), len(train), len(valid), len(test), none, pos)
	if none < len(all)/6 || pos < 60 {
		t.Errorf("want at least a sixth with no theme (%d) and 60 positive codes (%d)", none, pos)
	}
	if len(test) < len(all)/8 || len(valid) < len(all)/8 {
		t.Errorf("splits too small: %d validation, %d test", len(valid), len(test))
	}
}

func TestTrainDropsTestSplitAndIsDeterministic(t *testing.T) {
	all := readComments(t)
	m1, err := Train(all) // the test split is passed in here, and must be left out
	if err != nil {
		t.Fatal(err)
	}
	_, _, test := splitComments(all)
	if m1.Stats.TestExcluded != len(test) {
		t.Fatalf("%d test codings excluded, want %d", m1.Stats.TestExcluded, len(test))
	}
	// Same codings in another order: the same model.
	rev := make([]Coding, len(all))
	for i := range all {
		rev[i] = all[len(all)-1-i]
	}
	m2, err := Train(rev)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m1.Themes, m2.Themes) || !reflect.DeepEqual(m1.Vocabulary.Features, m2.Vocabulary.Features) {
		t.Fatal("training on reordered codings gave a different model")
	}
}

func TestModelEncodeDecode(t *testing.T) {
	all := readComments(t)
	m, err := Train(all)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeModel(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range all[:50] {
		if a, b := fmt.Sprint(m.Suggest(c.Text)), fmt.Sprint(back.Suggest(c.Text)); a != b {
			t.Fatalf("%s: suggestions differ after decode:\n%s\n%s", c.ResponseID, a, b)
		}
	}
	// A truncated or inconsistent model is refused.
	if _, err := DecodeModel(strings.NewReader(buf.String()[:buf.Len()/2])); err == nil {
		t.Error("truncated model accepted")
	}
	broken := strings.Replace(buf.String(), `"idf":[`, `"idf":[1,`, 1)
	if _, err := DecodeModel(strings.NewReader(broken)); err == nil || !strings.Contains(err.Error(), "idf") {
		t.Errorf("inconsistent vocabulary accepted: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	m, err := Train(readComments(t))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		text  string
		theme string
		pol   Polarity
	}{
		{"The hospital told me to pass the message on to my GP myself, they never talk to each other.", "communication", Negative},
		{"I have seen the same GP for years and she knows my whole history.", "continuity", Positive},
		{"Nobody asked my wife or me before they decided to send me to a care home.", "involvement", Negative},
		{"Five different clinics for my heart, lungs and kidneys, all on separate days.", "burden", Negative},
	}
	for _, c := range cases {
		got := m.Suggest(c.text)
		ok := false
		for _, s := range got {
			if s.Theme == c.theme {
				ok = s.Polarity == c.pol
				if s.Confidence < s.Threshold || s.Confidence > 1 {
					t.Errorf("%q: confidence %.2f below threshold %.2f", c.text, s.Confidence, s.Threshold)
				}
			}
		}
		if !ok {
			t.Errorf("%q: want %s %s among %+v", c.text, c.theme, c.pol, got)
		}
	}
	if got := m.Suggest("The car park was full and the coffee was cold."); len(got) > 0 {
		t.Errorf("suggestions for a comment with no theme: %+v", got)
	}
}

func TestTrainRefusesBadCodings(t *testing.T) {
	good := readComments(t)
	cases := []struct {
		name string
		mod  func([]Coding) []Coding
		want string
	}{
		{"unknown theme", func(c []Coding) []Coding { c[3].Themes = []ThemeCode{{"parking", Negative}}; return c }, `coding 3 (response c0004): themes[0]: no theme "parking"`},
		{"bad polarity", func(c []Coding) []Coding { c[5].Themes = []ThemeCode{{"burden", "meh"}}; return c }, `coding 5 (response c0006): themes[0]: polarity "meh"`},
		{"duplicate response", func(c []Coding) []Coding { c[7].ResponseID = c[6].ResponseID; return c }, "coding 7 (response c0007): response coded twice"},
		{"other codebook", func(c []Coding) []Coding { c[1].CodebookVersion = "v0"; return c }, `coding 1 (response c0002): codebook_version "v0"`},
		{"too few", func(c []Coding) []Coding { return c[:10] }, "training codings"},
	}
	for _, c := range cases {
		in := append([]Coding{}, good...)
		for i := range in {
			in[i].Themes = append([]ThemeCode{}, in[i].Themes...)
		}
		_, err := Train(c.mod(in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: want error containing %q, got %v", c.name, c.want, err)
		}
	}
}

// A trained model is shared by the workflow's activities: scoring must be safe to
// call at once (go test -race).
func TestScoresConcurrent(t *testing.T) {
	all := readComments(t)
	m, err := TrainWith(Default(), all, TrainOptions{Lambda: 0.003})
	if err != nil {
		t.Fatal(err)
	}
	decoded := func() *Model {
		var buf bytes.Buffer
		if err := m.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		d, err := DecodeModel(&buf)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}()
	want := make([]string, 60)
	for i := range want {
		want[i] = fmt.Sprint(m.Scores(all[i].Text))
	}
	fresh := decoded // never used yet: its codebook compiles under the goroutines
	errs := make(chan string, 4)
	for g := range 4 {
		go func() {
			for i := g; i < len(want); i += 4 {
				if got := fmt.Sprint(fresh.Scores(all[i].Text)); got != want[i] {
					errs <- all[i].ResponseID
					return
				}
			}
			errs <- ""
		}()
	}
	for range 4 {
		if id := <-errs; id != "" {
			t.Errorf("%s: scores differ under concurrency", id)
		}
	}
}

// With little data the validation split may hold too few comments of a theme to tune
// on: the model still trains, falls back to 0.5 and encodes.
func TestTrainSmallData(t *testing.T) {
	all := readComments(t)
	m, err := Train(all[:60])
	if err != nil {
		t.Fatal(err)
	}
	untuned := 0
	for _, tm := range m.Themes {
		if tm.ValidationF1 == NoValidation {
			untuned++
			if tm.Threshold != 0.5 {
				t.Errorf("%s: untuned threshold %.2f, want 0.5", tm.Theme, tm.Threshold)
			}
		}
	}
	if untuned == 0 {
		t.Error("expected some themes too rare in a 60-comment validation split to tune")
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		t.Fatalf("model with untuned themes does not encode: %v", err)
	}
	if _, err := DecodeModel(&buf); err != nil {
		t.Fatal(err)
	}
}
