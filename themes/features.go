package themes

import (
	"math"
	"sort"
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
)

// Text features: word unigrams and bigrams after Snowball (Porter2) English stemming,
// a marked copy of words in a negation's scope ("never see the same" → neg_same), and
// the codebook's pattern hits as features of their own (rule:con-repeat-story), so
// the classifier learns how far to trust each transparent rule.

// stopwords are dropped before stemming. Words that carry the themes (same, again,
// every, each, different, other, own, together, before, after, not, no) are kept.
var stopwords = setOf(strings.Fields(`a an the and or but if of at by for with about to from in on into onto up
down out over so than too very s t just i me my myself we our ours us you your he him his she her hers it its
they them their theirs this that these those am is are was were be been being have has had having do does did
doing would should could can will shall may might must there here when where which who whom what why how all
any both few more most some such only then once also as get got gets im ive id ill youre hes shes theyre
thats dont doesnt didnt wasnt werent isnt arent wont cant couldnt wouldnt shouldnt hadnt hasnt havent`))

var negators = setOf(strings.Fields(`not no never nobody nothing none nowhere neither nor without cannot`))

func setOf(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// words splits a comment into lower-case words, turning "n't" into a separate "not"
// and dropping possessive 's; a clause break is returned as "".
func words(text string) []string {
	text = strings.ToLower(strings.ReplaceAll(text, "’", "'"))
	var out []string
	var cur strings.Builder
	flush := func() {
		if cur.Len() == 0 {
			return
		}
		w := cur.String()
		cur.Reset()
		switch {
		case w == "can't" || w == "cannot":
			out = append(out, "can", "not")
		case w == "won't":
			out = append(out, "will", "not")
		case strings.HasSuffix(w, "n't"):
			out = append(out, strings.TrimSuffix(w, "n't"), "not")
		case strings.HasSuffix(w, "'s"):
			out = append(out, strings.TrimSuffix(w, "'s"))
		default:
			out = append(out, strings.Trim(w, "'"))
		}
	}
	for _, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'':
			cur.WriteRune(r)
		case strings.ContainsRune(".,;:!?()\n", r):
			flush()
			out = append(out, "")
		default:
			flush()
		}
	}
	flush()
	return out
}

// negationScope is how many content words after a negator are marked.
const negationScope = 3

// featurize returns the feature counts of a comment (before weighting).
func featurize(text string, hits []RuleHit) map[string]float64 {
	f := map[string]float64{}
	var stems []string
	negLeft := 0
	flushBigrams := func() {
		for i := 0; i+1 < len(stems); i++ {
			f[stems[i]+" "+stems[i+1]]++
		}
		stems = stems[:0]
	}
	for _, w := range words(text) {
		if w == "" {
			flushBigrams()
			negLeft = 0
			continue
		}
		if negators[w] {
			negLeft = negationScope
			stems = append(stems, "not")
			f["not"]++
			continue
		}
		if stopwords[strings.ReplaceAll(w, "'", "")] || len(w) < 2 {
			continue
		}
		s := english.Stem(w, false)
		stems = append(stems, s)
		f[s]++
		if negLeft > 0 {
			f["neg_"+s]++
			negLeft--
		}
	}
	flushBigrams()
	for _, h := range hits {
		f["rule:"+h.Pattern]++
		f["rulepol:"+string(h.Polarity)]++
	}
	return f
}

// sparse is a feature vector: indices ascending, values L2-normalised.
type sparse struct {
	idx []int32
	val []float64
}

func (v sparse) dot(w []float64) float64 {
	s := 0.0
	for k, i := range v.idx {
		s += w[i] * v.val[k]
	}
	return s
}

// vocabulary maps features to columns and holds their inverse document frequency.
type vocabulary struct {
	Features []string  `json:"features"`
	IDF      []float64 `json:"idf"`
	index    map[string]int32
}

// buildVocabulary keeps the features seen in at least minDF documents, sorted so the
// columns do not depend on map order.
func buildVocabulary(docs []map[string]float64, minDF int) *vocabulary {
	df := map[string]int{}
	for _, d := range docs {
		for k := range d {
			df[k]++
		}
	}
	var feats []string
	for k, n := range df {
		if n >= minDF || strings.HasPrefix(k, "rule:") {
			feats = append(feats, k)
		}
	}
	sort.Strings(feats)
	v := &vocabulary{Features: feats, IDF: make([]float64, len(feats))}
	n := float64(len(docs))
	for i, k := range feats {
		v.IDF[i] = math.Log((1+n)/(1+float64(df[k]))) + 1
	}
	v.reindex()
	return v
}

func (v *vocabulary) reindex() {
	v.index = make(map[string]int32, len(v.Features))
	for i, k := range v.Features {
		v.index[k] = int32(i)
	}
}

// vector weights counts by sublinear tf × idf and normalises to unit length.
func (v *vocabulary) vector(counts map[string]float64) sparse {
	var out sparse
	for k, c := range counts {
		i, ok := v.index[k]
		if !ok {
			continue
		}
		out.idx = append(out.idx, i)
		out.val = append(out.val, (1+math.Log(c))*v.IDF[i])
	}
	sort.Sort(byIndex(out))
	norm := 0.0
	for _, x := range out.val {
		norm += x * x
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for k := range out.val {
			out.val[k] /= norm
		}
	}
	return out
}

type byIndex sparse

func (b byIndex) Len() int           { return len(b.idx) }
func (b byIndex) Less(i, j int) bool { return b.idx[i] < b.idx[j] }
func (b byIndex) Swap(i, j int) {
	b.idx[i], b.idx[j] = b.idx[j], b.idx[i]
	b.val[i], b.val[j] = b.val[j], b.val[i]
}
