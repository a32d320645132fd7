package web

import (
	"strings"
	"sync"

	"icesurvey/questionnaire"
)

// questionTexts are every questionnaire question's text by id (the first version's
// that has it), read once from the embedded questionnaires.
var questionTexts = sync.OnceValue(func() map[string]string {
	out := map[string]string{}
	cat, err := questionnaire.Default()
	if err != nil {
		return out
	}
	add := func(q questionnaire.Question) {
		if _, ok := out[q.ID]; !ok && q.Text != "" {
			out[q.ID] = q.Text
		}
	}
	for _, v := range cat.Versions() {
		if qn, err := cat.Resolve(v, nil); err == nil {
			for _, q := range qn.Questions {
				add(q)
			}
		}
	}
	for _, q := range cat.Bank() {
		add(q)
	}
	return out
})

// questionLabel names a question for people: its text as the questionnaire asks it,
// up to the question mark (a free-text question's text goes on to ask for no names),
// else its id.
func questionLabel(id string) string {
	t, ok := questionTexts()[id]
	if !ok {
		return id
	}
	if i := strings.Index(t, "?"); i >= 0 {
		return t[:i+1]
	}
	return t
}
