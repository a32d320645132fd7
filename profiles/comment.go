package profiles

import (
	"math/rand/v2"
	"strings"

	"icesurvey/themes"
)

// CommentSpec asks for one synthetic survey comment (the survey simulator's free
// text): each theme occurs at its rate, a share of themed comments praise rather than
// complain, and some carry personal data for the redactor.
type CommentSpec struct {
	ThemeRates       map[string]float64 // by theme id; nil: DefaultThemeRates
	PositiveShare    float64            // share of themes coded positive
	PersonalDataRate float64            // share of comments with personal data
	// Context names the services and the condition the comment talks about: a profile
	// id (contextFor), or "" for the general survey population.
	Context string
}

// SynthComment writes one comment with rng, in the same phrases as SynthSession's
// notes, and returns it with its truth (themes and personal data). A comment with no
// theme is one of the neutral remarks.
func SynthComment(rng *rand.Rand, spec CommentSpec) NoteLine {
	rates := spec.ThemeRates
	if rates == nil {
		rates = DefaultThemeRates
	}
	g := &gen{rng: rng, ctx: contextFor(spec.Context)}
	var line NoteLine
	g.say(&line, themes.Default().ThemeIDs(), rates, spec.PositiveShare, spec.PersonalDataRate)
	return line
}

// say writes line's text: a phrase for each theme drawn (each with its rate, praising
// with chance positiveShare), a neutral phrase when none is, and personal data with
// chance personalRate. A free-text comment and a contribution to a session are said
// alike.
func (g *gen) say(line *NoteLine, themeIDs []string, rates map[string]float64, positiveShare, personalRate float64) {
	var parts []string
	for _, id := range themeIDs {
		if g.rng.Float64() < rates[id] {
			pol := themes.Negative
			if g.rng.Float64() < positiveShare {
				pol = themes.Positive
			}
			line.Themes = append(line.Themes, themes.ThemeCode{Theme: id, Polarity: pol})
			parts = append(parts, g.phrase(id, pol))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, g.pick(neutralPhrases))
	}
	if g.rng.Float64() < personalRate {
		text, datum := g.personal()
		parts = append(parts, text)
		line.PersonalData = append(line.PersonalData, datum...)
	}
	line.Text = strings.Join(parts, " ")
}
