// Package questionnaire holds the versioned ICE Survey questionnaires (SPEC §7, brochure
// p. 13): one for patients and one for their informal carers, plus the question bank of
// local questions an ICS may add to its wave.
//
// The definitions are YAML files embedded in the binary (defs/). Each closed question
// lists its answer options and which option codes count as positive — so results can
// be published as "% positive" comparable across ICSs — and which codes are left out
// of the base ("don't know", "not applicable"). Every definition is validated when it
// is loaded; a malformed definition is an error, never a silent default.
//
// A response names the version it answered (e.g. patient-2026.1). Versions are never
// edited once fielded: a change is a new file with a new version. Question ids are the
// column names of the survey supplier's daily extract, so they are stable upper-case
// identifiers, and an id keeps its meaning in every version that carries it.
package questionnaire

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Respondent types. A carer answers using the invitation of the patient they look after,
// so a carer response carries that patient's survey record id.
const (
	Patient = "patient"
	Carer   = "carer"
)

// Kind is the kind of a question.
type Kind string

// Question kinds.
const (
	// Single is a closed question with exactly one answer code.
	Single Kind = "single"
	// Multi is a closed "tick all that apply" question; an answer is one or more codes.
	Multi Kind = "multi"
	// FreeText is an open comment. Free text is restricted data (SPEC §8): it is kept
	// only in the restricted area and never appears in the lake's responses table.
	FreeText Kind = "free_text"
)

// Theme is the questionnaire section a question belongs to (brochure p. 13).
type Theme string

// Themes.
const (
	ThemeServices        Theme = "services"        // use of local health and care services
	ThemePersonalisation Theme = "personalisation" // personalisation and satisfaction
	ThemeCoordination    Theme = "coordination"    // continuity and coordination, incl. information sharing between partners
	ThemeProactive       Theme = "proactive"       // proactive care
	ThemeWellbeing       Theme = "wellbeing"       // wellbeing and support (carers)
	ThemeDemographics    Theme = "demographics"
	ThemeFreeText        Theme = "free_text"
	ThemeConsent         Theme = "consent" // consent to link responses to other data
)

// Themes lists every theme in questionnaire order, with its heading.
var Themes = []struct {
	Theme   Theme
	Heading string
}{
	{ThemeServices, "Use of local health and care services"},
	{ThemePersonalisation, "Personalisation and satisfaction"},
	{ThemeCoordination, "Continuity and coordination of care"},
	{ThemeProactive, "Proactive care"},
	{ThemeWellbeing, "Wellbeing and support"},
	{ThemeDemographics, "About you"},
	{ThemeFreeText, "Your comments"},
	{ThemeConsent, "Linking your answers"},
}

func knownTheme(t Theme) bool {
	for _, th := range Themes {
		if th.Theme == t {
			return true
		}
	}
	return false
}

// MultiSeparator separates the codes of a Multi answer in the daily extract ("1;4;7").
const MultiSeparator = ";"

// Option is one answer option of a closed question.
type Option struct {
	Code  string `yaml:"code"`
	Label string `yaml:"label"`
}

// Question is one question of a questionnaire or of the question bank.
type Question struct {
	ID    string `yaml:"id"`
	Theme Theme  `yaml:"theme"`
	Kind  Kind   `yaml:"type"`
	Text  string `yaml:"text"`
	// Options are the answer options of a closed question, in printed order.
	Options []Option `yaml:"options"`
	// Positive are the option codes counted as a positive experience. Empty for a
	// question that is not scored (service use, demographics, consent).
	Positive []string `yaml:"positive"`
	// Excluded are the option codes left out of the base of "% positive"
	// (don't know, not applicable, did not want to be involved).
	Excluded []string `yaml:"excluded"`
	// SampleField names the sample variable a demographic question mirrors
	// (age_band, gender, ethnicity), for comparing self-report with the sample frame.
	SampleField string `yaml:"sample_field"`
	// MaxLength caps a free-text answer, in characters; longer text is truncated.
	MaxLength int `yaml:"max_length"`
	// RespondentTypes, for a question bank entry, are the questionnaires it may be added to.
	RespondentTypes []string `yaml:"respondent_types"`
	// Local is true for a question added from the question bank.
	Local bool `yaml:"-"`
}

// Closed reports whether the question has answer options.
func (q *Question) Closed() bool { return q.Kind == Single || q.Kind == Multi }

// NumericCodes reports whether q is single-choice with option codes that are all whole
// numbers from 0 to 9999 written without leading zeros, so an answer can be stored as
// an integer and read back as the same code.
func (q *Question) NumericCodes() bool {
	if q.Kind != Single || len(q.Options) == 0 {
		return false
	}
	for _, o := range q.Options {
		c := o.Code
		if len(c) == 0 || len(c) > 4 || (len(c) > 1 && c[0] == '0') {
			return false
		}
		for i := 0; i < len(c); i++ {
			if c[i] < '0' || c[i] > '9' {
				return false
			}
		}
	}
	return true
}

// Scored reports whether the question is reported as "% positive".
func (q *Question) Scored() bool { return len(q.Positive) > 0 }

// HasOption reports whether code is one of the question's options.
func (q *Question) HasOption(code string) bool { return q.Option(code) != nil }

// Option returns the option with code, or nil.
func (q *Question) Option(code string) *Option {
	for i := range q.Options {
		if q.Options[i].Code == code {
			return &q.Options[i]
		}
	}
	return nil
}

// IsPositive reports whether code counts as a positive answer.
func (q *Question) IsPositive(code string) bool { return slices.Contains(q.Positive, code) }

// InBase reports whether an answer with code counts in the base of "% positive".
func (q *Question) InBase(code string) bool {
	return q.Scored() && q.HasOption(code) && !slices.Contains(q.Excluded, code)
}

// SplitAnswer splits a raw answer cell into its codes: one for a Single question, one or
// more for a Multi question, none for an empty cell. Codes are trimmed; the caller
// checks them with HasOption.
func (q *Question) SplitAnswer(raw string) []string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil
	}
	if q.Kind != Multi {
		return []string{raw}
	}
	var out []string
	for _, p := range strings.Split(raw, MultiSeparator) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Questionnaire is one resolved questionnaire: a versioned core questionnaire plus any
// local questions from the bank.
type Questionnaire struct {
	// Version is the core version the supplier's extract names (QUESTIONNAIRE_VERSION).
	Version        string `yaml:"version"`
	RespondentType string `yaml:"respondent_type"`
	Title          string `yaml:"title"`
	// ConsentQuestion is the id of the consent-to-link question; linkage uses only
	// respondents who answered ConsentYes to it (SPEC §9).
	ConsentQuestion string `yaml:"consent_question"`
	// ConsentYes is the option code that means consent was given.
	ConsentYes string     `yaml:"consent_yes"`
	Questions  []Question `yaml:"questions"`
	// LocalIDs are the bank questions added, in the order asked for.
	LocalIDs []string `yaml:"-"`
	// Digest is the SHA-256 of the definition files this questionnaire was built from
	// plus its local question ids, for the audit trail.
	Digest string `yaml:"-"`

	byID map[string]int
}

// Question returns the question with id.
func (qn *Questionnaire) Question(id string) (*Question, bool) {
	i, ok := qn.byID[id]
	if !ok {
		return nil, false
	}
	return &qn.Questions[i], true
}

// IDs lists the question ids in questionnaire order; they are the question columns of
// the daily extract.
func (qn *Questionnaire) IDs() []string {
	out := make([]string, len(qn.Questions))
	for i, q := range qn.Questions {
		out[i] = q.ID
	}
	return out
}

// ByTheme returns the questions of one theme, in order.
func (qn *Questionnaire) ByTheme(t Theme) []*Question {
	var out []*Question
	for i := range qn.Questions {
		if qn.Questions[i].Theme == t {
			out = append(out, &qn.Questions[i])
		}
	}
	return out
}

// Consented reports whether an answer code to the consent question means yes.
func (qn *Questionnaire) Consented(answer string) bool {
	return strings.TrimSpace(answer) == qn.ConsentYes
}

// ResolvedName names the questionnaire with its local questions, e.g.
// "patient-2026.1+LQ_LONELINESS+LQ_TRANSPORT", for reports and the audit trail.
func (qn *Questionnaire) ResolvedName() string {
	if len(qn.LocalIDs) == 0 {
		return qn.Version
	}
	return qn.Version + "+" + strings.Join(qn.LocalIDs, "+")
}

func (qn *Questionnaire) index() {
	qn.byID = make(map[string]int, len(qn.Questions))
	for i, q := range qn.Questions {
		qn.byID[q.ID] = i
	}
}

// clone deep-copies the questionnaire so a resolved copy never aliases the catalogue.
func (qn *Questionnaire) clone() *Questionnaire {
	c := *qn
	c.Questions = make([]Question, len(qn.Questions))
	for i, q := range qn.Questions {
		c.Questions[i] = q.clone()
	}
	c.LocalIDs = slices.Clone(qn.LocalIDs)
	c.index()
	return &c
}

func (q Question) clone() Question {
	q.Options = slices.Clone(q.Options)
	q.Positive = slices.Clone(q.Positive)
	q.Excluded = slices.Clone(q.Excluded)
	q.RespondentTypes = slices.Clone(q.RespondentTypes)
	return q
}

func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}
