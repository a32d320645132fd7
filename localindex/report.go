package localindex

import (
	"context"
	"fmt"
	"math"
	"strings"

	"icesurvey/store"
	"icesurvey/themes"
)

// ThemeFigure is one theme's figure, JSON-safe: Value is nil when undefined (NaN).
type ThemeFigure struct {
	Theme string   `json:"theme"`
	Value *float64 `json:"value"`
}

// ReportResult is the theme coding report of a wave: the text `ice themes report`
// prints, and the figures it quotes.
type ReportResult struct {
	Text string `json:"text"`
	// LabelledF1 is the classifier's F1 per theme on the labelled set's test split.
	LabelledF1      []ThemeFigure `json:"labelled_f1"`
	LabelledMacroF1 *float64      `json:"labelled_macro_f1"`
	// Kappa is Cohen's kappa per theme on the blind double-coded sample; empty until
	// some comment of the sample has two coders.
	Kappa         []ThemeFigure `json:"kappa,omitempty"`
	DoubleCoded   int           `json:"double_coded"`
	Alpha         *float64      `json:"alpha,omitempty"`
	EvaluatedOn   int           `json:"evaluated_on"` // wave comments in the evaluation slice that people coded
	CodedByPeople int           `json:"coded_by_people"`
}

func figure(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

// Report computes the theme coding report of a wave's ICSs: the classifier on the
// labelled set's test split and on the wave's evaluation slice (the comments people
// coded there, which the model never trained on), and the coders' agreement on the
// blind double-coded sample (the comments of the coding run's DoubleCoded sample that
// two coders have decided, each with its first two coders).
func Report(ctx context.Context, st store.Store, wave string, icss []string) (ReportResult, error) {
	cb := themes.Default()
	var confirmed, slice []themes.Coding
	var double []themes.DoubleCoding
	people := 0
	for _, ics := range icss {
		comments, err := ReadRedacted(ctx, st, wave, ics)
		if err != nil {
			return ReportResult{}, err
		}
		text := map[string]string{}
		sample := map[string]bool{} // the blind double-coding sample the coding run drew
		for _, c := range comments {
			text[UnitID(c.ResponseID, c.QuestionID)] = c.Text
			if c.DoubleCoded {
				sample[UnitID(c.ResponseID, c.QuestionID)] = true
			}
		}
		decisions, err := ReadDecisions(ctx, st, wave, ics, cb)
		if err != nil {
			return ReportResult{}, err
		}
		byUnit := map[string][]themes.Coding{}
		var units []string
		for _, d := range decisions {
			t, ok := text[d.Unit]
			if !ok {
				continue
			}
			c := themes.Coding{ResponseID: d.Unit, Text: t, Themes: d.Themes, Coder: d.Coder, CodedAt: d.DecidedAt, CodebookVersion: cb.Version}
			if _, seen := byUnit[d.Unit]; !seen {
				units = append(units, d.Unit)
			}
			byUnit[d.Unit] = append(byUnit[d.Unit], c)
			if d.First {
				confirmed = append(confirmed, c)
				if themes.DefaultSampler.Evaluation(d.Unit) {
					slice = append(slice, c)
				}
			}
		}
		people += len(units)
		// The agreement is the blind double-coded sample's, as its label says: of the
		// sample's comments, the two coders the plan gave each (the first two to decide
		// it; the second coded it blind). A comment outside the sample that a second
		// person decided, or a third coder of a sample comment, is not in it.
		for _, u := range units {
			if cs := byUnit[u]; sample[u] && len(cs) >= 2 {
				double = append(double, themes.DoubleCoding{ResponseID: u, Codings: cs[:2]})
			}
		}
	}
	base, err := themes.TrainBaseline(confirmed)
	if err != nil {
		return ReportResult{}, err
	}
	out := ReportResult{DoubleCoded: len(double), EvaluatedOn: len(slice), CodedByPeople: people, LabelledMacroF1: figure(base.Evaluation.MacroF1)}
	for _, t := range base.Evaluation.Themes {
		out.LabelledF1 = append(out.LabelledF1, ThemeFigure{Theme: t.Theme, Value: figure(t.F1)})
	}
	var agreement *themes.Agreement
	if len(double) > 0 {
		a, err := themes.AgreementOf(cb, double)
		if err != nil {
			return ReportResult{}, fmt.Errorf("agreement of the double-coded comments: %w", err)
		}
		agreement = &a
		for _, k := range a.KappaByTheme {
			out.Kappa = append(out.Kappa, ThemeFigure{Theme: k.Theme, Value: figure(k.Value)})
		}
		out.Alpha = figure(a.Alpha)
	}
	var b strings.Builder
	labelled := themes.Report(themes.ReportInput{Title: "the project's labelled set (test split), model as used for wave " + wave,
		Codebook: cb, Model: base.Model, Evaluation: base.Evaluation})
	// The coders' agreement belongs to the wave's block below.
	b.WriteString(strings.Replace(labelled, "Coders' agreement: no blind double-coded sample yet\n", "", 1))
	b.WriteString("\n")
	b.WriteString(themes.Report(themes.ReportInput{Title: fmt.Sprintf("wave %s, ICS %s: the evaluation slice people coded", wave, strings.Join(icss, " ")),
		Codebook: cb, Evaluation: themes.Evaluate(base.Model, slice), Agreement: agreement}))
	fmt.Fprintf(&b, "\nComments coded by people: %d; blind double-coded: %d.\n", people, len(double))
	out.Text = b.String()
	return out, nil
}
