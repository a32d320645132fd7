package themes

import (
	"fmt"
	"math"
	"strings"
)

// ReportInput is what `ice themes report` prints: the classifier's evaluation on the
// held-out slice and, when a double-coded sample exists, the coders' agreement.
type ReportInput struct {
	Title      string // e.g. "wave 2026-02, ICS QJK"
	Codebook   *Codebook
	Model      *Model // for what it was trained on; may be nil
	Evaluation Evaluation
	Agreement  *Agreement // nil: no double-coded sample yet
}

// Report renders the text table of the theme coding report.
func Report(in ReportInput) string {
	var b strings.Builder
	version := in.Evaluation.CodebookVersion
	if in.Codebook != nil {
		version = in.Codebook.Version
	}
	title := "Theme coding report"
	if in.Title != "" {
		title += " — " + in.Title
	}
	fmt.Fprintf(&b, "%s\ncodebook %s\n\n", title, version)
	name := func(id string) string {
		if in.Codebook != nil {
			if t, ok := in.Codebook.Theme(id); ok {
				return t.Name
			}
		}
		return id
	}
	if in.Evaluation.Comments == 0 {
		// A table of zeros and dashes would say nothing a sentence does not.
		b.WriteString("Classifier on the held-out slice: no comment of the slice has been coded by people yet;\n" +
			"its precision, recall and F1 appear here as coders code it.\n\n")
		agreement(&b, in.Agreement, name)
		return b.String()
	}
	fmt.Fprintf(&b, "Classifier on the held-out slice: %d comments people coded, never used to train or tune\n", in.Evaluation.Comments)
	if in.Model != nil {
		fmt.Fprintf(&b, "(model trained on %d comments, thresholds tuned on %d, L2 penalty %g)\n",
			in.Model.Stats.Train, in.Model.Stats.Validation, in.Model.Options.Lambda)
	}
	// polarity is a share and its count, left-aligned so the shares line up.
	fmt.Fprintf(&b, "%-40s %7s %9s %7s %6s  %s\n", "theme", "support", "precision", "recall", "F1", "polarity")
	for _, t := range in.Evaluation.Themes {
		fmt.Fprintf(&b, "%-40s %7d %9s %7s %6s  %s\n", name(t.Theme), t.Support, num(t.Precision), num(t.Recall), num(t.F1),
			pol(t.PolarityAgreement, t.PolarityComparisons))
	}
	fmt.Fprintf(&b, "%-40s %7s %9s %7s %6s\n", "macro F1 (themes with support)", "", "", "", num(in.Evaluation.MacroF1))
	fmt.Fprintf(&b, "%-40s %7s %9s %7s %6s\n", "micro F1", "", "", "", num(in.Evaluation.MicroF1))
	b.WriteString("polarity: share of comments where both found the theme that agree on its polarity (n)\n")
	b.WriteString("\n")
	agreement(&b, in.Agreement, name)
	return b.String()
}

// agreement writes the coders' agreement on the blind double-coded sample (a is nil
// when there is none yet).
func agreement(b *strings.Builder, a *Agreement, name func(string) string) {
	if a == nil {
		b.WriteString("Coders' agreement: no blind double-coded sample yet\n")
		return
	}
	fmt.Fprintf(b, "Coders' agreement on the blind double-coded sample: %d comments, %d coders\n", a.Units, a.Coders)
	fmt.Fprintf(b, "%-40s %7s %7s\n", "theme (presence)", "kappa", "alpha")
	for i, k := range a.KappaByTheme {
		al := math.NaN()
		if i < len(a.AlphaByTheme) {
			al = a.AlphaByTheme[i].Value
		}
		fmt.Fprintf(b, "%-40s %7s %7s\n", name(k.Theme), num(k.Value), num(al))
	}
	fmt.Fprintf(b, "Krippendorff's alpha over every theme decision with polarity (nominal): %s\n", num(a.Alpha))
	b.WriteString("kappa: Cohen's, first two coders; alpha: Krippendorff's, all coders, missing allowed; — undefined\n")
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func pol(v float64, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f (%d)", v, n)
}
