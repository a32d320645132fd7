package dashdata

import (
	"bytes"
	_ "embed"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"

	"icesurvey/questionnaire"
	"icesurvey/themes"
)

//go:embed themes.yaml
var themesYAML []byte

// themeDef is one theme page: a brochure theme's chosen questions, or a questionnaire
// section's every scored question.
type themeDef struct {
	ID        string   `yaml:"id"`
	Name      string   `yaml:"name"`
	Questions []string `yaml:"questions"`
	Theme     string   `yaml:"theme"`
	// FreeText are the codebook's integration themes whose free-text counts the page
	// shows beside its closed questions (issue #17).
	FreeText []string `yaml:"free_text"`
	brochure bool
}

// questionDef is what the dashboard needs of a question from the catalogue.
type questionDef struct {
	ID      string
	Type    string // patient or carer
	Theme   questionnaire.Theme
	Text    string
	Multi   bool
	Scored  bool
	Options map[string]string
	order   int
}

// catalogue is the questions of every questionnaire version and the bank, by id.
type catalogue struct {
	questions map[string]*questionDef
	themes    []themeDef
}

func loadCatalogue() (*catalogue, error) {
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, fmt.Errorf("dashdata: questionnaires: %w", err)
	}
	c := &catalogue{questions: map[string]*questionDef{}}
	add := func(q questionnaire.Question, typ string) {
		if _, ok := c.questions[q.ID]; ok || !q.Closed() {
			return
		}
		d := &questionDef{ID: q.ID, Type: typ, Theme: q.Theme, Text: q.Text, Multi: q.Kind == questionnaire.Multi,
			Scored: q.Scored(), Options: map[string]string{}, order: len(c.questions)}
		for _, o := range q.Options {
			d.Options[o.Code] = o.Label
		}
		c.questions[q.ID] = d
	}
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			return nil, fmt.Errorf("dashdata: questionnaire %s: %w", v, err)
		}
		for _, q := range qn.Questions {
			add(q, qn.RespondentType)
		}
	}
	for _, q := range cat.Bank() {
		for _, typ := range q.RespondentTypes {
			// A bank question is one id for both types; the results carry the type.
			add(q, typ)
		}
	}
	var file struct {
		Brochure []themeDef `yaml:"brochure"`
		Sections []themeDef `yaml:"sections"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(themesYAML))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("dashdata: themes.yaml: %w", err)
	}
	seen := map[string]bool{}
	cb := themes.Default()
	placed := map[string]bool{}
	for _, t := range append(slices.Clone(file.Brochure), file.Sections...) {
		for _, id := range t.FreeText {
			if _, ok := cb.Theme(id); !ok {
				return nil, fmt.Errorf("dashdata: themes.yaml: theme %s: free_text %q is not a theme of codebook %s (%v)", t.ID, id, themes.DefaultVersion, cb.ThemeIDs())
			}
			placed[id] = true
		}
	}
	for _, id := range cb.ThemeIDs() {
		if !placed[id] {
			return nil, fmt.Errorf("dashdata: themes.yaml: the integration theme %q is on no page (free_text)", id)
		}
	}
	for i, t := range file.Brochure {
		for _, id := range t.Questions {
			if _, ok := c.questions[id]; !ok {
				return nil, fmt.Errorf("dashdata: themes.yaml: brochure[%d] (%s): question %q is in no questionnaire", i, t.ID, id)
			}
		}
		t.brochure = true
		file.Brochure[i] = t
	}
	for i, t := range append(file.Brochure, file.Sections...) {
		if t.ID == "" || t.Name == "" || seen[t.ID] {
			return nil, fmt.Errorf("dashdata: themes.yaml: theme %d: id %q empty or repeated, or no name", i, t.ID)
		}
		seen[t.ID] = true
		c.themes = append(c.themes, t)
	}
	return c, nil
}

// inTheme reports whether question id belongs on theme t's page.
func (c *catalogue) inTheme(t themeDef, id string) bool {
	if t.brochure {
		return slices.Contains(t.Questions, id)
	}
	q, ok := c.questions[id]
	return ok && string(q.Theme) == t.Theme
}

func (c *catalogue) theme(id string) (themeDef, bool) {
	for _, t := range c.themes {
		if t.ID == id {
			return t, true
		}
	}
	return themeDef{}, false
}
