package themes

import (
	"fmt"
	"math"
	"sort"
)

// The coding queue (pure logic; the ThemeCodingWorkflow holds its state). Three
// rules keep the people's codings useful and the evaluation honest:
//
//   - The evaluation slice (the Splitter's test split, fixed by a keyed hash of the
//     response id, so it is stable as comments arrive) is coded like any other
//     comment but never trains or tunes the model, and is shown to coders without
//     suggestions, so the model's F1 is not inflated by coders accepting its guesses.
//   - The rest is ordered by uncertainty: comments whose scores sit nearest a theme's
//     threshold come first, where a person's decision teaches the model most.
//   - A blind double-coding sample (10–20 %, by a second keyed hash) is coded again by
//     a second coder who sees neither the first coder's decisions nor suggestions; it
//     gives Cohen's kappa and Krippendorff's alpha.

// QueueItem is a comment waiting to be coded, with its current scores (nil before
// any model exists).
type QueueItem struct {
	ResponseID string
	Scores     []ThemeScore
}

// Sampler decides which comments are in the evaluation slice and the double-coded
// sample.
type Sampler struct {
	Splitter    Splitter `json:"splitter"`
	DoubleSeed  string   `json:"double_seed"`
	DoubleShare float64  `json:"double_share"` // 0.10 to 0.20
}

// DefaultSampler double-codes 15 % of comments and evaluates on DefaultSplitter's
// test split.
var DefaultSampler = Sampler{Splitter: DefaultSplitter, DoubleSeed: "icesurvey-themes-double-v1", DoubleShare: 0.15}

// Validate checks the sampler's settings.
func (s Sampler) Validate() error {
	if err := s.Splitter.validate(); err != nil {
		return err
	}
	if s.DoubleSeed == "" {
		return fmt.Errorf("sampler double_seed: empty")
	}
	if s.DoubleShare < 0.10 || s.DoubleShare > 0.20 {
		return fmt.Errorf("sampler double_share: %.2f, want 0.10 to 0.20", s.DoubleShare)
	}
	return nil
}

// Evaluation reports whether a comment is in the evaluation slice.
func (s Sampler) Evaluation(responseID string) bool { return s.Splitter.Of(responseID) == SplitTest }

// DoubleCoded reports whether a comment is in the blind double-coding sample.
func (s Sampler) DoubleCoded(responseID string) bool {
	return unit(s.DoubleSeed, "double", responseID) < s.DoubleShare
}

// SecondCoder picks the second coder of a double-coded comment: deterministic, never
// the first coder; "" when there is no other coder.
func (s Sampler) SecondCoder(responseID, first string, coders []string) string {
	var others []string
	for _, c := range coders {
		if c != first {
			others = append(others, c)
		}
	}
	if len(others) == 0 {
		return ""
	}
	sort.Strings(others)
	return others[int(unit(s.DoubleSeed, "second", responseID)*float64(len(others)))]
}

// Uncertainty is how close a comment's scores are to a decision: the smallest
// distance, over themes, between a probability and its threshold on the log-odds
// scale (0.55 against 0.5 is closer than 0.95 against 0.9). Zero without scores.
func Uncertainty(scores []ThemeScore) float64 {
	if len(scores) == 0 {
		return 0
	}
	best := math.Inf(1)
	for _, s := range scores {
		d := math.Abs(logit(s.Probability) - logit(s.Threshold))
		best = math.Min(best, d)
	}
	return best
}

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-9), 1-1e-9)
	return math.Log(p / (1 - p))
}

// Planned is a comment in the order a coder should see it.
type Planned struct {
	ResponseID      string
	Evaluation      bool    // in the evaluation slice: never trains the model
	DoubleCoded     bool    // a second, blind coding is wanted
	ShowSuggestions bool    // false for the evaluation slice
	Distance        float64 // Uncertainty: smaller is less certain
}

// Plan orders the queue: comments outside the evaluation slice by uncertainty
// (least certain first, ties by the keyed hash), and the evaluation slice in keyed
// hash order, interleaved so it is coded at its share of the queue and never left
// to the end. Item order in the input does not matter.
func (s Sampler) Plan(items []QueueItem) []Planned {
	var eval, rest []Planned
	for _, it := range items {
		p := Planned{ResponseID: it.ResponseID, Evaluation: s.Evaluation(it.ResponseID),
			DoubleCoded: s.DoubleCoded(it.ResponseID), Distance: Uncertainty(it.Scores)}
		p.ShowSuggestions = !p.Evaluation && it.Scores != nil
		if p.Evaluation {
			eval = append(eval, p)
		} else {
			rest = append(rest, p)
		}
	}
	h := func(id string) float64 { return unit(s.DoubleSeed, "order", id) }
	sort.Slice(eval, func(i, j int) bool { return h(eval[i].ResponseID) < h(eval[j].ResponseID) })
	sort.Slice(rest, func(i, j int) bool {
		if rest[i].Distance != rest[j].Distance {
			return rest[i].Distance < rest[j].Distance
		}
		return h(rest[i].ResponseID) < h(rest[j].ResponseID)
	})
	share := float64(len(eval)) / float64(max(1, len(items)))
	out := make([]Planned, 0, len(items))
	ei, ri := 0, 0
	for ei < len(eval) || ri < len(rest) {
		takeEval := ri == len(rest) || (ei < len(eval) && float64(ei) < share*float64(len(out)+1))
		if takeEval {
			out = append(out, eval[ei])
			ei++
		} else {
			out = append(out, rest[ri])
			ri++
		}
	}
	return out
}
