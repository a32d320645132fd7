package questionnaire

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"icesurvey/internal/yamldefs"
)

//go:embed defs/*.yaml
var defsFS embed.FS

// BankFile is the name of the question bank definition in a definitions directory.
const BankFile = "bank.yaml"

// DefaultFreeTextMax is the free-text length cap when a question names none.
const DefaultFreeTextMax = 4000

var (
	idPattern      = regexp.MustCompile(`^[A-Z][A-Z0-9_]{1,47}$`)
	versionPattern = regexp.MustCompile(`^(patient|carer)-[0-9]{4}\.[0-9]+$`)
	codePattern    = regexp.MustCompile(`^[A-Za-z0-9]{1,8}$`)
	sampleFields   = []string{"age_band", "gender", "ethnicity"}
)

// Catalogue is a validated set of questionnaire versions and the question bank.
type Catalogue struct {
	versions map[string]*Questionnaire
	bank     []Question
	bankByID map[string]int
	bankSum  string
}

type bankFile struct {
	// OptionSets holds YAML anchors shared by several questions; it is not read.
	OptionSets map[string]any `yaml:"option_sets"`
	Questions  []Question     `yaml:"questions"`
}

type defFile struct {
	OptionSets    map[string]any `yaml:"option_sets"`
	Questionnaire `yaml:",inline"`
}

// LoadCatalogue reads and validates every *.yaml in fsys: one file per questionnaire
// version plus bank.yaml. All problems found are reported together.
func LoadCatalogue(fsys fs.FS) (*Catalogue, error) {
	names, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("questionnaire: list definitions: %w", err)
	}
	sort.Strings(names)
	c := &Catalogue{versions: map[string]*Questionnaire{}, bankByID: map[string]int{}}
	var errs []error
	haveBank := false
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("questionnaire: read %s: %w", name, err)
		}
		if name == BankFile {
			haveBank = true
			var bf bankFile
			if err := yamldefs.DecodeStrict(b, &bf); err != nil {
				return nil, fmt.Errorf("questionnaire: parse %s: %w", name, err)
			}
			c.bank = bf.Questions
			c.bankSum = digest(string(b))
			continue
		}
		var df defFile
		if err := yamldefs.DecodeStrict(b, &df); err != nil {
			return nil, fmt.Errorf("questionnaire: parse %s: %w", name, err)
		}
		qn := df.Questionnaire
		if want := strings.TrimSuffix(path.Base(name), ".yaml"); qn.Version != want {
			errs = append(errs, fmt.Errorf("%s: version %q does not match the file name (want %q)", name, qn.Version, want))
		}
		if _, dup := c.versions[qn.Version]; dup {
			errs = append(errs, fmt.Errorf("%s: version %q defined twice", name, qn.Version))
			continue
		}
		qn.Digest = digest(string(b))
		qn.index()
		c.versions[qn.Version] = &qn
	}
	if !haveBank {
		errs = append(errs, fmt.Errorf("no %s", BankFile))
	}
	errs = append(errs, c.validate()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("questionnaire: invalid definitions: %w", errors.Join(errs...))
	}
	for _, qn := range c.versions {
		qn.Digest = digest(qn.Digest, c.bankSum)
	}
	return c, nil
}

func (c *Catalogue) validate() []error {
	var errs []error
	for i := range c.bank {
		q := &c.bank[i]
		if _, dup := c.bankByID[q.ID]; dup {
			errs = append(errs, fmt.Errorf("bank: question id %s defined twice", q.ID))
		}
		c.bankByID[q.ID] = i
		for _, e := range validateQuestion(q) {
			errs = append(errs, fmt.Errorf("bank: %w", e))
		}
		if len(q.RespondentTypes) == 0 {
			errs = append(errs, fmt.Errorf("bank: %s: respondent_types is empty", q.ID))
		}
		for _, rt := range q.RespondentTypes {
			if rt != Patient && rt != Carer {
				errs = append(errs, fmt.Errorf("bank: %s: unknown respondent type %q", q.ID, rt))
			}
		}
		if !strings.HasPrefix(q.ID, "LQ_") {
			errs = append(errs, fmt.Errorf("bank: %s: local question ids start with LQ_", q.ID))
		}
		if q.Kind == FreeText || q.Theme == ThemeConsent {
			errs = append(errs, fmt.Errorf("bank: %s: local questions are closed and not consent questions", q.ID))
		}
	}
	vs := make([]string, 0, len(c.versions))
	for v := range c.versions {
		vs = append(vs, v)
	}
	slices.SortFunc(vs, compareVersions)
	for _, v := range vs {
		qn := c.versions[v]
		for _, e := range validateQuestionnaire(qn) {
			errs = append(errs, fmt.Errorf("%s: %w", v, e))
		}
		for _, q := range qn.Questions {
			if _, clash := c.bankByID[q.ID]; clash {
				errs = append(errs, fmt.Errorf("%s: question id %s is also a bank question", v, q.ID))
			}
		}
	}
	// One id, one kind of answer: the responses table has one column per id, and a
	// question whose answers change shape needs a new id (and a new column). So does
	// one whose option codes (in order), positive or excluded codes change: its column
	// and its "% positive" would mix two questions, and a release of a wave that used
	// both versions is refused (publication), only at the wave's close.
	shape := map[string]string{}
	scoring := map[string]string{}
	first := map[string]string{}
	for _, v := range vs {
		for _, q := range c.versions[v].Questions {
			sh := fmt.Sprintf("%s numeric=%v", q.Kind, q.NumericCodes())
			if have, ok := shape[q.ID]; ok && have != sh {
				errs = append(errs, fmt.Errorf("%s: question %s is %s here but %s in %s: a changed question needs a new id", v, q.ID, sh, have, first[q.ID]))
				continue
			}
			sc := scoringOf(&q)
			if have, ok := scoring[q.ID]; ok && have != sc {
				errs = append(errs, fmt.Errorf("%s: question %s has other option codes, positive or excluded codes here than in %s (%s here, %s there): a changed question needs a new id", v, q.ID, first[q.ID], sc, have))
				continue
			}
			shape[q.ID], scoring[q.ID], first[q.ID] = sh, sc, v
		}
	}
	return errs
}

// scoringOf describes what a question's answers mean for its column and its "%
// positive": its option codes in order, its positive and its excluded codes.
func scoringOf(q *Question) string {
	codes := make([]string, len(q.Options))
	for i, o := range q.Options {
		codes[i] = o.Code
	}
	return fmt.Sprintf("options [%s] positive [%s] excluded [%s]", strings.Join(codes, " "), strings.Join(q.Positive, " "), strings.Join(q.Excluded, " "))
}

// requiredThemes are the themes every core questionnaire must cover (brochure p. 13).
func requiredThemes(respondentType string) []Theme {
	ts := []Theme{ThemeServices, ThemePersonalisation, ThemeCoordination, ThemeProactive,
		ThemeDemographics, ThemeFreeText, ThemeConsent}
	if respondentType == Carer {
		ts = append(ts, ThemeWellbeing)
	}
	return ts
}

func validateQuestionnaire(qn *Questionnaire) []error {
	var errs []error
	if !versionPattern.MatchString(qn.Version) {
		errs = append(errs, fmt.Errorf("version %q is not {patient|carer}-YYYY.N", qn.Version))
	}
	if qn.RespondentType != Patient && qn.RespondentType != Carer {
		errs = append(errs, fmt.Errorf("unknown respondent_type %q", qn.RespondentType))
	} else if !strings.HasPrefix(qn.Version, qn.RespondentType+"-") {
		errs = append(errs, fmt.Errorf("version %q does not name respondent_type %q", qn.Version, qn.RespondentType))
	}
	if strings.TrimSpace(qn.Title) == "" {
		errs = append(errs, errors.New("title is empty"))
	}
	if len(qn.Questions) == 0 {
		errs = append(errs, errors.New("no questions"))
	}
	seen := map[string]bool{}
	for i := range qn.Questions {
		q := &qn.Questions[i]
		if seen[q.ID] {
			errs = append(errs, fmt.Errorf("question id %s used twice", q.ID))
		}
		seen[q.ID] = true
		errs = append(errs, validateQuestion(q)...)
		if len(q.RespondentTypes) > 0 {
			errs = append(errs, fmt.Errorf("%s: respondent_types is only for bank questions", q.ID))
		}
	}
	for _, t := range requiredThemes(qn.RespondentType) {
		if len(qn.ByTheme(t)) == 0 {
			errs = append(errs, fmt.Errorf("no question covers theme %s", t))
		}
	}
	cq, ok := qn.Question(qn.ConsentQuestion)
	switch {
	case qn.ConsentQuestion == "":
		errs = append(errs, errors.New("consent_question is empty"))
	case !ok:
		errs = append(errs, fmt.Errorf("consent_question %s is not a question", qn.ConsentQuestion))
	case cq.Theme != ThemeConsent || cq.Kind != Single:
		errs = append(errs, fmt.Errorf("consent_question %s must be a single-choice consent question", cq.ID))
	case !cq.HasOption(qn.ConsentYes):
		errs = append(errs, fmt.Errorf("consent_yes %q is not an option of %s", qn.ConsentYes, cq.ID))
	}
	return errs
}

func validateQuestion(q *Question) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{q.ID}, args...)...))
	}
	if !idPattern.MatchString(q.ID) {
		bad("id must be upper-case letters, digits and _ (2-48 characters)")
	}
	if strings.TrimSpace(q.Text) == "" {
		bad("text is empty")
	}
	if !knownTheme(q.Theme) {
		bad("unknown theme %q", q.Theme)
	}
	if q.SampleField != "" && !slices.Contains(sampleFields, q.SampleField) {
		bad("unknown sample_field %q", q.SampleField)
	}
	switch q.Kind {
	case Single, Multi:
		if len(q.Options) < 2 {
			bad("a closed question needs at least two options")
		}
		codes := map[string]bool{}
		for _, o := range q.Options {
			if !codePattern.MatchString(o.Code) {
				bad("option code %q must be 1-8 letters or digits", o.Code)
			}
			if codes[o.Code] {
				bad("option code %q used twice", o.Code)
			}
			codes[o.Code] = true
			if strings.TrimSpace(o.Label) == "" {
				bad("option %q has no label", o.Code)
			}
		}
		for _, p := range q.Positive {
			if !codes[p] {
				bad("positive code %q is not an option", p)
			}
			if slices.Contains(q.Excluded, p) {
				bad("code %q is both positive and excluded from the base", p)
			}
		}
		for _, x := range q.Excluded {
			if !codes[x] {
				bad("excluded code %q is not an option", x)
			}
		}
		if len(q.Excluded) > 0 && len(q.Positive) == 0 {
			bad("excluded codes only make sense for a scored question")
		}
		if len(q.Positive) > 0 {
			if q.Kind == Multi {
				bad("a multi-choice question cannot be scored")
			}
			if len(q.Positive)+len(q.Excluded) >= len(q.Options) {
				bad("a scored question needs at least one option in the base that is not positive")
			}
		}
		if q.MaxLength != 0 {
			bad("max_length is only for free text")
		}
		if q.Theme == ThemeFreeText {
			bad("a closed question cannot be in the free_text theme")
		}
	case FreeText:
		if len(q.Options) > 0 || len(q.Positive) > 0 || len(q.Excluded) > 0 {
			bad("a free-text question has no options")
		}
		if q.Theme != ThemeFreeText {
			bad("a free-text question belongs to the free_text theme")
		}
		if q.MaxLength < 0 {
			bad("max_length is negative")
		}
		if q.MaxLength == 0 {
			q.MaxLength = DefaultFreeTextMax
		}
	default:
		bad("unknown type %q (want single, multi or free_text)", q.Kind)
	}
	return errs
}

// Versions lists the core questionnaire versions in order (compareVersions), so the
// first of them is the earliest: the dashboard takes a question's text from it.
func (c *Catalogue) Versions() []string {
	out := make([]string, 0, len(c.versions))
	for v := range c.versions {
		out = append(out, v)
	}
	slices.SortFunc(out, compareVersions)
	return out
}

// compareVersions orders version names with their runs of digits compared by value,
// so patient-2026.2 comes before patient-2026.10 (bytewise it would not). Names equal
// by value (2026.01 and 2026.1) fall back to bytewise, so the order is total.
func compareVersions(a, b string) int {
	x, y := a, b
	for x != "" && y != "" {
		dx, dy := digitRun(x), digitRun(y)
		if dx > 0 && dy > 0 {
			nx, ny := strings.TrimLeft(x[:dx], "0"), strings.TrimLeft(y[:dy], "0")
			if c := cmp.Compare(len(nx), len(ny)); c != 0 {
				return c
			}
			if c := strings.Compare(nx, ny); c != 0 {
				return c
			}
			x, y = x[dx:], y[dy:]
			continue
		}
		if x[0] != y[0] {
			return cmp.Compare(x[0], y[0])
		}
		x, y = x[1:], y[1:]
	}
	if c := cmp.Compare(len(x), len(y)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// digitRun is the length of the run of ASCII digits s starts with.
func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// Bank returns a copy of the question bank.
func (c *Catalogue) Bank() []Question {
	out := make([]Question, len(c.bank))
	for i, q := range c.bank {
		out[i] = q.clone()
	}
	return out
}

// Resolve returns the questionnaire of version with the local questions localIDs (bank
// ids, as named in the wave spec) appended in the order given. A local question must
// exist in the bank, be offered for the questionnaire's respondent type and be named
// once. The returned value is the caller's own copy.
func (c *Catalogue) Resolve(version string, localIDs []string) (*Questionnaire, error) {
	base, ok := c.versions[version]
	if !ok {
		return nil, fmt.Errorf("questionnaire: unknown version %q (have %s)", version, strings.Join(c.Versions(), ", "))
	}
	qn := base.clone()
	seen := map[string]bool{}
	for _, id := range localIDs {
		i, ok := c.bankByID[id]
		if !ok {
			return nil, fmt.Errorf("questionnaire: %s: unknown local question %q", version, id)
		}
		if seen[id] {
			return nil, fmt.Errorf("questionnaire: %s: local question %s named twice", version, id)
		}
		seen[id] = true
		bq := c.bank[i].clone()
		if !slices.Contains(bq.RespondentTypes, qn.RespondentType) {
			return nil, fmt.Errorf("questionnaire: %s: local question %s is not offered to %s respondents", version, id, qn.RespondentType)
		}
		bq.Local = true
		qn.Questions = append(qn.Questions, bq)
		qn.LocalIDs = append(qn.LocalIDs, id)
	}
	qn.index()
	qn.Digest = digest(base.Digest, strings.Join(qn.LocalIDs, ","))
	return qn, nil
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalogue
	defaultErr  error
)

// Default is the catalogue embedded in the binary.
func Default() (*Catalogue, error) {
	defaultOnce.Do(func() {
		sub, err := fs.Sub(defsFS, "defs")
		if err != nil {
			defaultErr = fmt.Errorf("questionnaire: embedded definitions: %w", err)
			return
		}
		defaultCat, defaultErr = LoadCatalogue(sub)
	})
	return defaultCat, defaultErr
}

// Resolve resolves version with local questions from the embedded catalogue.
func Resolve(version string, localQuestionIDs []string) (*Questionnaire, error) {
	c, err := Default()
	if err != nil {
		return nil, err
	}
	return c.Resolve(version, localQuestionIDs)
}

// ResolveSet resolves several versions with the same local questions, keyed by version,
// skipping for each version the local questions not offered to its respondent type.
// It is the usual way to build the questionnaires of one ICS's wave.
func ResolveSet(versions []string, localQuestionIDs []string) (map[string]*Questionnaire, error) {
	c, err := Default()
	if err != nil {
		return nil, err
	}
	for _, id := range localQuestionIDs {
		if _, ok := c.bankByID[id]; !ok {
			return nil, fmt.Errorf("questionnaire: unknown local question %q", id)
		}
	}
	out := make(map[string]*Questionnaire, len(versions))
	for _, v := range versions {
		base, ok := c.versions[v]
		if !ok {
			return nil, fmt.Errorf("questionnaire: unknown version %q (have %s)", v, strings.Join(c.Versions(), ", "))
		}
		var ids []string
		for _, id := range localQuestionIDs {
			if slices.Contains(c.bank[c.bankByID[id]].RespondentTypes, base.RespondentType) {
				ids = append(ids, id)
			}
		}
		qn, err := c.Resolve(v, ids)
		if err != nil {
			return nil, err
		}
		out[v] = qn
	}
	return out, nil
}

// Latest returns the newest version for a respondent type in the embedded catalogue.
func Latest(respondentType string) (string, error) {
	c, err := Default()
	if err != nil {
		return "", err
	}
	var best string
	for _, v := range c.Versions() {
		if strings.HasPrefix(v, respondentType+"-") && versionLess(best, v) {
			best = v
		}
	}
	if best == "" {
		return "", fmt.Errorf("questionnaire: no version for respondent type %q", respondentType)
	}
	return best, nil
}

// versionLess orders "type-YYYY.N" versions numerically; "" sorts first.
func versionLess(a, b string) bool {
	if a == "" {
		return true
	}
	var ay, an, by, bn int
	fmt.Sscanf(a[strings.Index(a, "-")+1:], "%d.%d", &ay, &an)
	fmt.Sscanf(b[strings.Index(b, "-")+1:], "%d.%d", &by, &bn)
	if ay != by {
		return ay < by
	}
	return an < bn
}

// AnswerColumn is one answer column of the responses table.
type AnswerColumn struct {
	ID string
	// Numeric: a single-choice question whose option codes are all small whole
	// numbers, stored as an integer; any other closed question is stored as text (a
	// multi answer as its codes joined by MultiSeparator).
	Numeric bool
}

// AnswerColumns lists every closed question of the catalogue, once: each core
// version's in questionnaire order (versions sorted), then the bank's. They are the
// answer columns of the lake and warehouse responses table, which holds every version
// and local question set in one shape. Free-text questions have no column: their
// answers are kept apart, in the restricted area. (validate makes sure a question id
// means one kind of answer everywhere, so its column has one type.)
func (c *Catalogue) AnswerColumns() []AnswerColumn {
	var out []AnswerColumn
	seen := map[string]bool{}
	add := func(q *Question) {
		if q.Closed() && !seen[q.ID] {
			seen[q.ID] = true
			out = append(out, AnswerColumn{ID: q.ID, Numeric: q.NumericCodes()})
		}
	}
	for _, v := range c.Versions() {
		for i := range c.versions[v].Questions {
			add(&c.versions[v].Questions[i])
		}
	}
	for i := range c.bank {
		add(&c.bank[i])
	}
	return out
}
