package themes

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"

	"icesurvey/internal/yamldefs"
)

// Polarity says whether a comment reports a theme's problem or praises its opposite.
type Polarity string

// The two polarities.
const (
	Positive Polarity = "positive"
	Negative Polarity = "negative"
)

// Sign is "+" or "-", as in the labelled files ("CON-").
func (p Polarity) Sign() string {
	if p == Positive {
		return "+"
	}
	return "-"
}

// Codebook is a versioned set of themes (codebook/*.yaml).
type Codebook struct {
	Version      string   `yaml:"version" json:"version"`
	Title        string   `yaml:"title" json:"title"`
	Source       string   `yaml:"source" json:"source"`
	PolarityRule string   `yaml:"polarity_rule" json:"polarity_rule"`
	Negation     Negation `yaml:"negation" json:"negation"`
	Themes       []Theme  `yaml:"themes" json:"themes"`

	compileOnce sync.Once
	compiled    []compiledTheme
	negation    *regexp.Regexp
}

// Negation lists the words that turn a negatable pattern's polarity round when
// they come up to Window words before it in the same clause.
type Negation struct {
	Window int      `yaml:"window" json:"window"`
	Words  []string `yaml:"words" json:"words"`
}

// Theme is one code of the codebook.
type Theme struct {
	ID           string    `yaml:"id" json:"id"`
	Code         string    `yaml:"code" json:"code"` // three letters, as in labelled files
	Name         string    `yaml:"name" json:"name"`
	Color        string    `yaml:"color" json:"color"` // #RRGGBB, for QDA software
	Definition   string    `yaml:"definition" json:"definition"`
	WhenToUse    []string  `yaml:"when_to_use" json:"when_to_use"`
	WhenNotToUse []string  `yaml:"when_not_to_use" json:"when_not_to_use"`
	Examples     []Example `yaml:"examples" json:"examples"`
	Patterns     []Pattern `yaml:"patterns" json:"patterns"`
}

// Example is a comment that shows a theme in use.
type Example struct {
	Text     string   `yaml:"text" json:"text"`
	Polarity Polarity `yaml:"polarity" json:"polarity"`
}

// Pattern is a transparent rule: a regular expression over the lower-cased text
// that suggests a theme with a polarity. A negatable pattern's polarity turns round
// after a negation word ("never see the same doctor").
type Pattern struct {
	ID        string   `yaml:"id" json:"id"`
	Polarity  Polarity `yaml:"polarity" json:"polarity"`
	Match     string   `yaml:"match" json:"match"`
	Negatable bool     `yaml:"negatable,omitempty" json:"negatable,omitempty"`
}

type compiledTheme struct {
	theme    *Theme
	patterns []*regexp.Regexp
}

//go:embed codebook/*.yaml
var codebookFS embed.FS

// DefaultVersion is the codebook version new codings use.
const DefaultVersion = "ice-integration-themes-v1"

var (
	loadAll = sync.OnceValues(func() (map[string]*Codebook, error) { return LoadFS(codebookFS, "codebook") })
)

// Load returns the embedded codebook of a version.
func Load(version string) (*Codebook, error) {
	return yamldefs.Get(loadAll, "themes: no codebook version", version)
}

// Default returns the embedded codebook of DefaultVersion.
func Default() *Codebook {
	cb, err := Load(DefaultVersion)
	if err != nil {
		panic(fmt.Sprintf("themes: embedded codebook: %v", err)) // checked by the tests
	}
	return cb
}

// Versions lists the embedded codebook versions.
func Versions() []string { return yamldefs.Keys(loadAll) }

// LoadFS reads and validates every *.yaml file in dir of fsys; each file's name
// must be its version. The first fault found is the error.
func LoadFS(fsys fs.FS, dir string) (map[string]*Codebook, error) {
	out, faults, err := yamldefs.Dir(fsys, dir, "version", Parse, func(cb *Codebook) string { return cb.Version })
	if err != nil {
		return nil, err
	}
	if len(faults) > 0 {
		return nil, faults[0]
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("themes: no codebook in %s", dir)
	}
	return out, nil
}

// Parse reads a codebook from YAML and validates it. file names the source in
// errors; unknown fields are errors.
func Parse(data []byte, file string) (*Codebook, error) {
	cb := &Codebook{}
	if err := yamldefs.DecodeStrict(data, cb); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := cb.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return cb, nil
}

var (
	reThemeID = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	reCode    = regexp.MustCompile(`^[A-Z]{3}$`)
	reColor   = regexp.MustCompile(`^#[0-9A-Fa-f]{6}$`)
)

// Validate checks a codebook; every error names the field at fault
// (themes[2].patterns[1].match: …).
func (cb *Codebook) Validate() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...)))
	}
	if strings.TrimSpace(cb.Version) == "" {
		bad("version", "empty")
	}
	if strings.TrimSpace(cb.Title) == "" {
		bad("title", "empty")
	}
	if cb.Negation.Window < 1 || cb.Negation.Window > 10 {
		bad("negation.window", "%d, want 1 to 10 words", cb.Negation.Window)
	}
	if len(cb.Negation.Words) == 0 {
		bad("negation.words", "empty")
	}
	if len(cb.Themes) == 0 {
		bad("themes", "no themes")
	}
	ids, codes, pids := map[string]int{}, map[string]int{}, map[string]string{}
	for i, t := range cb.Themes {
		f := fmt.Sprintf("themes[%d]", i)
		if !reThemeID.MatchString(t.ID) {
			bad(f+".id", "%q is not a lower-case identifier", t.ID)
		} else if j, dup := ids[t.ID]; dup {
			bad(f+".id", "%q repeats themes[%d]", t.ID, j)
		}
		ids[t.ID] = i
		if !reCode.MatchString(t.Code) {
			bad(f+".code", "%q is not three capital letters", t.Code)
		} else if j, dup := codes[t.Code]; dup {
			bad(f+".code", "%q repeats themes[%d]", t.Code, j)
		}
		codes[t.Code] = i
		if strings.TrimSpace(t.Name) == "" {
			bad(f+".name", "empty")
		}
		if !reColor.MatchString(t.Color) {
			bad(f+".color", "%q is not #RRGGBB", t.Color)
		}
		if strings.TrimSpace(t.Definition) == "" {
			bad(f+".definition", "empty")
		}
		if len(t.WhenToUse) == 0 {
			bad(f+".when_to_use", "empty")
		}
		if len(t.WhenNotToUse) == 0 {
			bad(f+".when_not_to_use", "empty")
		}
		pols := map[Polarity]bool{}
		for j, ex := range t.Examples {
			if strings.TrimSpace(ex.Text) == "" {
				bad(fmt.Sprintf("%s.examples[%d].text", f, j), "empty")
			}
			if ex.Polarity != Positive && ex.Polarity != Negative {
				bad(fmt.Sprintf("%s.examples[%d].polarity", f, j), "%q, want positive or negative", ex.Polarity)
			}
			pols[ex.Polarity] = true
		}
		if !pols[Positive] || !pols[Negative] {
			bad(f+".examples", "need at least one positive and one negative example")
		}
		for j, p := range t.Patterns {
			pf := fmt.Sprintf("%s.patterns[%d]", f, j)
			if p.ID == "" {
				bad(pf+".id", "empty")
			} else if other, dup := pids[p.ID]; dup {
				bad(pf+".id", "%q repeats %s", p.ID, other)
			}
			pids[p.ID] = pf
			if p.Polarity != Positive && p.Polarity != Negative {
				bad(pf+".polarity", "%q, want positive or negative", p.Polarity)
			}
			if _, err := regexp.Compile(p.Match); err != nil {
				bad(pf+".match", "invalid regular expression: %v", err)
			} else if p.Match == "" || regexp.MustCompile(p.Match).MatchString("") {
				bad(pf+".match", "matches the empty string")
			}
		}
	}
	return errors.Join(errs...)
}

// Theme returns the theme with the given id.
func (cb *Codebook) Theme(id string) (*Theme, bool) {
	for i := range cb.Themes {
		if cb.Themes[i].ID == id {
			return &cb.Themes[i], true
		}
	}
	return nil, false
}

// ThemeIDs lists the theme ids in codebook order.
func (cb *Codebook) ThemeIDs() []string {
	out := make([]string, len(cb.Themes))
	for i, t := range cb.Themes {
		out[i] = t.ID
	}
	return out
}

// ByCode returns the theme with a three-letter code ("CON").
func (cb *Codebook) ByCode(code string) (*Theme, bool) {
	for i := range cb.Themes {
		if cb.Themes[i].Code == code {
			return &cb.Themes[i], true
		}
	}
	return nil, false
}

func (cb *Codebook) compile() {
	cb.compileOnce.Do(func() {
		for i := range cb.Themes {
			ct := compiledTheme{theme: &cb.Themes[i]}
			for _, p := range cb.Themes[i].Patterns {
				ct.patterns = append(ct.patterns, regexp.MustCompile(p.Match)) // validated
			}
			cb.compiled = append(cb.compiled, ct)
		}
		var alts []string
		for _, w := range cb.Negation.Words {
			if strings.HasPrefix(w, "n't") {
				alts = append(alts, `\w+n't`)
				continue
			}
			alts = append(alts, `\b`+regexp.QuoteMeta(w)+`\b`)
		}
		cb.negation = regexp.MustCompile(`(?:` + strings.Join(alts, "|") + `)`)
	})
}

// RuleHit is one pattern that matched a comment.
type RuleHit struct {
	Theme    string   `json:"theme"`
	Pattern  string   `json:"pattern"`
	Polarity Polarity `json:"polarity"`
	Negated  bool     `json:"negated,omitempty"`
}

// Rules applies the codebook's patterns to a (redacted) comment: the transparent
// half of the suggestions. A negatable pattern preceded in its clause, within the
// negation window, by a negation word has its polarity turned round.
func (cb *Codebook) Rules(text string) []RuleHit {
	cb.compile()
	lower := strings.ToLower(strings.ReplaceAll(text, "’", "'"))
	var hits []RuleHit
	for _, ct := range cb.compiled {
		for j, re := range ct.patterns {
			p := ct.theme.Patterns[j]
			loc := re.FindStringIndex(lower)
			if loc == nil {
				continue
			}
			h := RuleHit{Theme: ct.theme.ID, Pattern: p.ID, Polarity: p.Polarity}
			if p.Negatable && cb.negatedBefore(lower, loc[0]) {
				h.Negated = true
				h.Polarity = opposite(p.Polarity)
			}
			hits = append(hits, h)
		}
	}
	return hits
}

func opposite(p Polarity) Polarity {
	if p == Positive {
		return Negative
	}
	return Positive
}

// negatedBefore reports whether a negation word comes within the window of words
// before position at, in the same clause.
func (cb *Codebook) negatedBefore(lower string, at int) bool {
	start := at
	words := 0
	for start > 0 && words <= cb.Negation.Window {
		c := lower[start-1]
		if strings.IndexByte(".!?;,:", c) >= 0 && words > 0 {
			break
		}
		if c == ' ' {
			words++
		}
		start--
	}
	return cb.negation.MatchString(lower[start:at])
}

// ThemeCode is a theme coded with a polarity.
type ThemeCode struct {
	Theme    string   `json:"theme"`
	Polarity Polarity `json:"polarity"`
}

// ParseLabels reads labels in the short form of the labelled files ("CON-;BUR+",
// or "none") against a codebook, in any case ("con-", "None").
func (cb *Codebook) ParseLabels(s string) ([]ThemeCode, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "none") {
		return nil, nil
	}
	var out []ThemeCode
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if strings.EqualFold(part, "none") {
			return nil, fmt.Errorf("labels %q: none cannot be combined with themes (none alone codes no theme)", s)
		}
		if len(part) != 4 || (part[3] != '+' && part[3] != '-') {
			return nil, fmt.Errorf("label %q: want a theme code and + or - (e.g. CON-), or none", part)
		}
		t, ok := cb.ByCode(strings.ToUpper(part[:3]))
		if !ok {
			return nil, fmt.Errorf("label %q: no theme with code %s in %s", part, part[:3], cb.Version)
		}
		pol := Negative
		if part[3] == '+' {
			pol = Positive
		}
		if slices.ContainsFunc(out, func(c ThemeCode) bool { return c.Theme == t.ID }) {
			return nil, fmt.Errorf("label %q: theme %s coded twice", s, t.ID)
		}
		out = append(out, ThemeCode{Theme: t.ID, Polarity: pol})
	}
	return out, nil
}
