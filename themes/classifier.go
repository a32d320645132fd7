package themes

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Coding is a comment's themes as confirmed by a person: the training and
// evaluation data of the classifier. Text is the redacted comment (freetext.Redact);
// an empty Themes confirms that the comment has no theme.
type Coding struct {
	ResponseID      string      `json:"response_id"`
	Text            string      `json:"text"`
	Themes          []ThemeCode `json:"themes"`
	Coder           string      `json:"coder,omitempty"`
	CodedAt         time.Time   `json:"coded_at,omitzero"`
	CodebookVersion string      `json:"codebook_version,omitempty"`
}

// Has reports whether the coding includes a theme, and its polarity.
func (c Coding) Has(theme string) (Polarity, bool) {
	for _, t := range c.Themes {
		if t.Theme == theme {
			return t.Polarity, true
		}
	}
	return "", false
}

// Split is the part of the data a comment belongs to.
type Split string

// Splits of the data. Test is the fixed random slice kept aside for honest
// evaluation: the classifier never trains or tunes on it.
const (
	SplitTrain      Split = "train"
	SplitValidation Split = "validation"
	SplitTest       Split = "test"
)

// Splitter assigns a comment to a split by a keyed hash of its response id, so the
// assignment is fixed when the comment arrives and never changes as more arrive.
type Splitter struct {
	Seed            string  `json:"seed"`
	ValidationShare float64 `json:"validation_share"`
	TestShare       float64 `json:"test_share"`
}

// DefaultSplitter keeps 20 % of comments for threshold tuning and 20 % for testing.
var DefaultSplitter = Splitter{Seed: "icesurvey-themes-split-v1", ValidationShare: 0.2, TestShare: 0.2}

// unit maps (seed, salt, id) to a number in [0, 1).
func unit(seed, salt, id string) float64 {
	h := sha256.Sum256([]byte(seed + "\x00" + salt + "\x00" + id))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / float64(1<<53)
}

// Of returns the split of a response id.
func (s Splitter) Of(responseID string) Split {
	u := unit(s.Seed, "split", responseID)
	switch {
	case u < s.TestShare:
		return SplitTest
	case u < s.TestShare+s.ValidationShare:
		return SplitValidation
	}
	return SplitTrain
}

// SplitOf is DefaultSplitter.Of.
func SplitOf(responseID string) Split { return DefaultSplitter.Of(responseID) }

func (s Splitter) validate() error {
	if s.Seed == "" {
		return errors.New("splitter seed: empty")
	}
	if s.ValidationShare <= 0 || s.TestShare <= 0 || s.ValidationShare+s.TestShare >= 0.8 {
		return fmt.Errorf("splitter shares: validation %.2f and test %.2f must be positive and leave at least 20%% to train", s.ValidationShare, s.TestShare)
	}
	return nil
}

// TrainOptions tune Train; the zero value of a field means its default.
type TrainOptions struct {
	Splitter Splitter // default DefaultSplitter
	Lambda   float64  // L2 penalty; zero: the best of LambdaGrid on the validation split
	MaxIter  int      // optimiser iterations; default 400
	MinDF    int      // features seen in fewer training documents are dropped; default 1
}

func (o TrainOptions) withDefaults() TrainOptions {
	if o.Splitter.Seed == "" {
		o.Splitter = DefaultSplitter
	}
	if o.MaxIter == 0 {
		o.MaxIter = 400
	}
	if o.MinDF == 0 {
		o.MinDF = 1
	}
	return o
}

// linear is a logistic regression: p = σ(w·x + b).
type linear struct {
	Weights []float64 `json:"weights"`
	Bias    float64   `json:"bias"`
}

func (l *linear) prob(x sparse) float64 { return sigmoid(x.dot(l.Weights) + l.Bias) }

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// ThemeModel is one theme's classifier: presence, a decision threshold tuned on the
// validation split, and the polarity of a present theme.
type ThemeModel struct {
	Theme     string  `json:"theme"`
	Presence  linear  `json:"presence"`
	Threshold float64 `json:"threshold"`
	// Polarity gives P(positive | theme present); nil when the training data had too
	// few of one polarity, and the pooled polarity model is used.
	Polarity *linear `json:"polarity,omitempty"`
	// ValidationF1 is F1 at the threshold on the validation split, or NoValidation
	// when the split had too few comments with the theme to tune on.
	ValidationF1 float64 `json:"validation_f1"`
	TrainCount   int     `json:"train_count"` // training comments with this theme
}

// Model is a trained suggester: the vocabulary, one-vs-rest presence models with
// per-theme thresholds, polarity models, and the codebook whose patterns it uses.
// It serialises to JSON (Encode, DecodeModel) so a workflow can store it as an object.
type Model struct {
	CodebookVersion string       `json:"codebook_version"`
	Codebook        *Codebook    `json:"codebook"`
	Vocabulary      *vocabulary  `json:"vocabulary"`
	Themes          []ThemeModel `json:"themes"`
	PooledPolarity  linear       `json:"pooled_polarity"`
	Options         TrainOptions `json:"options"`
	Stats           TrainStats   `json:"stats"`
}

// TrainStats says what a model was trained on.
type TrainStats struct {
	Train, Validation, TestExcluded int
	// ValidationMacroF1 is the mean F1 over themes on the validation split at the
	// tuned thresholds (optimistic, since the thresholds were chosen there), or
	// NoValidation when no theme could be tuned.
	ValidationMacroF1 float64
}

// NoValidation marks an F1 that could not be measured on the validation split (a
// number, not NaN, so a model always encodes as JSON).
const NoValidation = -1.0

// minPolarityExamples is the fewest comments of each polarity a theme needs for a
// polarity model of its own.
const minPolarityExamples = 8

// Train fits a model on confirmed codings with the default codebook and options.
func Train(confirmed []Coding) (*Model, error) {
	return TrainWith(Default(), confirmed, TrainOptions{})
}

// TrainWith fits a model: presence models on the train split, thresholds on the
// validation split; codings in the test split are left out (counted in Stats). The
// optimiser is full-batch gradient descent with a backtracking line search from zero
// weights, over codings sorted by response id: the same codings give the same model.
func TrainWith(cb *Codebook, confirmed []Coding, opts TrainOptions) (*Model, error) {
	opts = opts.withDefaults()
	if err := opts.Splitter.validate(); err != nil {
		return nil, err
	}
	if err := cb.Validate(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var train, valid []Coding
	stats := TrainStats{}
	for i, c := range confirmed {
		if c.ResponseID == "" {
			return nil, fmt.Errorf("coding %d: response_id empty", i)
		}
		if seen[c.ResponseID] {
			return nil, fmt.Errorf("coding %d (response %s): response coded twice", i, c.ResponseID)
		}
		seen[c.ResponseID] = true
		if c.CodebookVersion != "" && c.CodebookVersion != cb.Version {
			return nil, fmt.Errorf("coding %d (response %s): codebook_version %q, training with %q", i, c.ResponseID, c.CodebookVersion, cb.Version)
		}
		for j, t := range c.Themes {
			if _, ok := cb.Theme(t.Theme); !ok {
				return nil, fmt.Errorf("coding %d (response %s): themes[%d]: no theme %q in %s", i, c.ResponseID, j, t.Theme, cb.Version)
			}
			if t.Polarity != Positive && t.Polarity != Negative {
				return nil, fmt.Errorf("coding %d (response %s): themes[%d]: polarity %q", i, c.ResponseID, j, t.Polarity)
			}
		}
		switch opts.Splitter.Of(c.ResponseID) {
		case SplitTrain:
			train = append(train, c)
		case SplitValidation:
			valid = append(valid, c)
		default:
			stats.TestExcluded++
		}
	}
	if len(train) < 20 {
		return nil, fmt.Errorf("themes: %d training codings (after the validation and test slices), want at least 20", len(train))
	}
	byID := func(a, b Coding) int { return strings.Compare(a.ResponseID, b.ResponseID) }
	slices.SortFunc(train, byID)
	slices.SortFunc(valid, byID)
	stats.Train, stats.Validation = len(train), len(valid)

	counts := make([]map[string]float64, len(train))
	for i, c := range train {
		counts[i] = featurize(c.Text, cb.Rules(c.Text))
	}
	m := &Model{CodebookVersion: cb.Version, Codebook: cb, Vocabulary: buildVocabulary(counts, opts.MinDF), Options: opts, Stats: stats}
	xs := make([]sparse, len(train))
	for i := range counts {
		xs[i] = m.Vocabulary.vector(counts[i])
	}
	vx := make([]sparse, len(valid))
	for i, c := range valid {
		vx[i] = m.vector(c.Text)
	}
	d := len(m.Vocabulary.Features)
	lambdas := LambdaGrid
	if opts.Lambda > 0 {
		lambdas = []float64{opts.Lambda}
	}
	bestMacro := math.Inf(-1)
	for _, lambda := range lambdas {
		o := opts
		o.Lambda = lambda
		themes, pooled, macro := fitThemes(cb, train, valid, xs, vx, d, o)
		// Ties go to the larger penalty (the grid ascends): the simpler model.
		if macro >= bestMacro {
			bestMacro = macro
			m.Themes, m.PooledPolarity, m.Options.Lambda = themes, pooled, lambda
		}
	}
	m.Stats.ValidationMacroF1 = bestMacro
	return m, nil
}

// LambdaGrid is the L2 penalties TrainWith tries when TrainOptions.Lambda is zero;
// the one with the best macro-F1 on the validation split is kept.
var LambdaGrid = []float64{0.0003, 0.001, 0.003, 0.01, 0.03}

// fitThemes fits the pooled polarity model and each theme's presence and polarity
// models with one penalty, tunes the thresholds on the validation split and
// returns the validation macro-F1 at those thresholds.
func fitThemes(cb *Codebook, train, valid []Coding, xs, vx []sparse, d int, opts TrainOptions) ([]ThemeModel, linear, float64) {
	// Pooled polarity: one example per (comment, theme) coded.
	var px []sparse
	var py []bool
	for i, c := range train {
		for _, t := range c.Themes {
			px = append(px, xs[i])
			py = append(py, t.Polarity == Positive)
		}
	}
	pooled := fitLogistic(px, py, d, opts)
	var out []ThemeModel
	sum, n := 0.0, 0
	for _, t := range cb.Themes {
		y := make([]bool, len(train))
		var tx []sparse
		var ty []bool
		pos, neg := 0, 0
		for i, c := range train {
			if p, ok := c.Has(t.ID); ok {
				y[i] = true
				tx = append(tx, xs[i])
				ty = append(ty, p == Positive)
				if p == Positive {
					pos++
				} else {
					neg++
				}
			}
		}
		tm := ThemeModel{Theme: t.ID, Presence: fitLogistic(xs, y, d, opts), TrainCount: pos + neg}
		if pos >= minPolarityExamples && neg >= minPolarityExamples {
			pm := fitLogistic(tx, ty, d, opts)
			tm.Polarity = &pm
		}
		vy := make([]bool, len(valid))
		vp := make([]float64, len(valid))
		for i, c := range valid {
			_, vy[i] = c.Has(t.ID)
			vp[i] = tm.Presence.prob(vx[i])
		}
		tm.Threshold, tm.ValidationF1 = tuneThreshold(vp, vy)
		if tm.ValidationF1 != NoValidation {
			sum += tm.ValidationF1
			n++
		}
		out = append(out, tm)
	}
	macro := NoValidation
	if n > 0 {
		macro = sum / float64(n)
	}
	return out, pooled, macro
}

// tuneThreshold picks the threshold with the best F1 on the validation split,
// preferring the one nearest 0.5 among ties; 0.5 with F1 NoValidation when
// validation has fewer than three comments with the theme.
func tuneThreshold(p []float64, y []bool) (float64, float64) {
	npos := 0
	for _, v := range y {
		if v {
			npos++
		}
	}
	if npos < 3 {
		return 0.5, NoValidation
	}
	best, bestF1 := 0.5, -1.0
	for k := 5; k <= 95; k++ {
		th := float64(k) / 100
		tp, fp, fn := 0, 0, 0
		for i := range p {
			switch {
			case p[i] >= th && y[i]:
				tp++
			case p[i] >= th:
				fp++
			case y[i]:
				fn++
			}
		}
		f1 := f1Of(tp, fp, fn)
		if f1 > bestF1+1e-12 || (math.Abs(f1-bestF1) <= 1e-12 && math.Abs(th-0.5) < math.Abs(best-0.5)) {
			best, bestF1 = th, f1
		}
	}
	return best, bestF1
}

func f1Of(tp, fp, fn int) float64 {
	if tp == 0 {
		return 0
	}
	return 2 * float64(tp) / float64(2*tp+fp+fn)
}

// fitLogistic minimises the class-balanced logistic loss plus λ/2‖w‖² by gradient
// descent with Armijo backtracking, from zero. Deterministic.
func fitLogistic(xs []sparse, y []bool, d int, opts TrainOptions) linear {
	l := linear{Weights: make([]float64, d)}
	n := len(xs)
	if n == 0 {
		return l
	}
	npos := 0
	for _, v := range y {
		if v {
			npos++
		}
	}
	if npos == 0 || npos == n {
		// One class only: a constant model.
		l.Bias = -8
		if npos == n {
			l.Bias = 8
		}
		return l
	}
	cpos, cneg := float64(n)/(2*float64(npos)), float64(n)/(2*float64(n-npos))
	weight := func(i int) float64 {
		if y[i] {
			return cpos
		}
		return cneg
	}
	loss := func(w []float64, b float64) float64 {
		s := 0.0
		for i, x := range xs {
			z := x.dot(w) + b
			if !y[i] {
				z = -z
			}
			// log(1+exp(-z)), stably.
			if z > 0 {
				s += weight(i) * math.Log1p(math.Exp(-z))
			} else {
				s += weight(i) * (-z + math.Log1p(math.Exp(z)))
			}
		}
		r := 0.0
		for _, v := range w {
			r += v * v
		}
		return s/float64(n) + opts.Lambda/2*r
	}
	gw := make([]float64, d)
	nw := make([]float64, d)
	step := 8.0
	cur := loss(l.Weights, l.Bias)
	for range opts.MaxIter {
		for j := range gw {
			gw[j] = opts.Lambda * l.Weights[j]
		}
		gb := 0.0
		for i, x := range xs {
			p := sigmoid(x.dot(l.Weights) + l.Bias)
			t := 0.0
			if y[i] {
				t = 1
			}
			g := weight(i) * (p - t) / float64(n)
			for k, j := range x.idx {
				gw[j] += g * x.val[k]
			}
			gb += g
		}
		gg := gb * gb
		for _, v := range gw {
			gg += v * v
		}
		if gg < 1e-14 {
			break
		}
		step = math.Min(step*2, 64)
		for {
			for j := range nw {
				nw[j] = l.Weights[j] - step*gw[j]
			}
			nb := l.Bias - step*gb
			if nl := loss(nw, nb); nl <= cur-0.5*step*gg || step < 1e-8 {
				copy(l.Weights, nw)
				l.Bias, cur = nb, nl
				break
			}
			step /= 2
		}
	}
	return l
}

func (m *Model) vector(text string) sparse {
	return m.Vocabulary.vector(featurize(text, m.Codebook.Rules(text)))
}

// ThemeScore is one theme's score for a comment: the model's probability and the
// theme's threshold, the predicted polarity, and the codebook rules that matched.
type ThemeScore struct {
	Theme               string    `json:"theme"`
	Probability         float64   `json:"probability"`
	Threshold           float64   `json:"threshold"`
	Polarity            Polarity  `json:"polarity"`
	PolarityProbability float64   `json:"polarity_probability"` // P(the predicted polarity)
	Rules               []RuleHit `json:"rules,omitempty"`
}

// Suggested reports whether the score clears the theme's threshold.
func (s ThemeScore) Suggested() bool { return s.Probability >= s.Threshold }

// Scores scores every theme of the codebook for a redacted comment, in codebook order.
func (m *Model) Scores(text string) []ThemeScore {
	hits := m.Codebook.Rules(text)
	x := m.Vocabulary.vector(featurize(text, hits))
	pooled := m.PooledPolarity.prob(x)
	out := make([]ThemeScore, len(m.Themes))
	for i := range m.Themes {
		tm := &m.Themes[i]
		s := ThemeScore{Theme: tm.Theme, Probability: tm.Presence.prob(x), Threshold: tm.Threshold}
		pp := pooled
		if tm.Polarity != nil {
			pp = tm.Polarity.prob(x)
		}
		s.Polarity, s.PolarityProbability = Negative, 1-pp
		if pp >= 0.5 {
			s.Polarity, s.PolarityProbability = Positive, pp
		}
		for _, h := range hits {
			if h.Theme == tm.Theme {
				s.Rules = append(s.Rules, h)
			}
		}
		out[i] = s
	}
	return out
}

// Suggestion is a theme the machine suggests for a comment, for a person to confirm
// or change. Confidence is the model's probability that the theme is present.
type Suggestion struct {
	Theme              string    `json:"theme"`
	Polarity           Polarity  `json:"polarity"`
	Confidence         float64   `json:"confidence"`
	PolarityConfidence float64   `json:"polarity_confidence"`
	Threshold          float64   `json:"threshold"`
	Rules              []RuleHit `json:"rules,omitempty"` // the codebook patterns that matched, to show why
}

// Suggest returns the themes whose probability clears their threshold, most
// confident first.
func (m *Model) Suggest(text string) []Suggestion {
	var out []Suggestion
	for _, s := range m.Scores(text) {
		if s.Suggested() {
			out = append(out, Suggestion{Theme: s.Theme, Polarity: s.Polarity, Confidence: s.Probability,
				PolarityConfidence: s.PolarityProbability, Threshold: s.Threshold, Rules: s.Rules})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Confidence > out[j].Confidence })
	return out
}

// Encode writes the model as JSON.
func (m *Model) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	return enc.Encode(m)
}

// DecodeModel reads a model written by Encode and checks it is whole.
func DecodeModel(r io.Reader) (*Model, error) {
	var m Model
	if err := json.NewDecoder(r).Decode(&m); err != nil {
		return nil, fmt.Errorf("themes: decoding model: %w", err)
	}
	if m.Codebook == nil || m.Vocabulary == nil {
		return nil, errors.New("themes: model has no codebook or vocabulary")
	}
	if err := m.Codebook.Validate(); err != nil {
		return nil, fmt.Errorf("themes: model codebook: %w", err)
	}
	if len(m.Vocabulary.IDF) != len(m.Vocabulary.Features) {
		return nil, fmt.Errorf("themes: model vocabulary: %d features, %d idf values", len(m.Vocabulary.Features), len(m.Vocabulary.IDF))
	}
	if len(m.Themes) != len(m.Codebook.Themes) {
		return nil, fmt.Errorf("themes: model has %d theme models for %d themes", len(m.Themes), len(m.Codebook.Themes))
	}
	d := len(m.Vocabulary.Features)
	check := func(name string, l *linear) error {
		if len(l.Weights) != d {
			return fmt.Errorf("themes: model %s: %d weights for %d features", name, len(l.Weights), d)
		}
		return nil
	}
	if err := check("pooled polarity", &m.PooledPolarity); err != nil {
		return nil, err
	}
	for i := range m.Themes {
		if err := check(m.Themes[i].Theme+" presence", &m.Themes[i].Presence); err != nil {
			return nil, err
		}
		if p := m.Themes[i].Polarity; p != nil {
			if err := check(m.Themes[i].Theme+" polarity", p); err != nil {
				return nil, err
			}
		}
	}
	m.Vocabulary.reindex()
	return &m, nil
}
