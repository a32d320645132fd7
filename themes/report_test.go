package themes

import (
	"math"
	"strings"
	"testing"
)

func TestReport(t *testing.T) {
	cb := Default()
	ev := Evaluation{CodebookVersion: cb.Version, Comments: 40, MacroF1: 0.7, MicroF1: 0.65}
	for i, id := range cb.ThemeIDs() {
		p := prfOf(4+i, 2, 3)
		p.PolarityAgreement, p.PolarityComparisons = 0.75, 4
		if id == "burden" {
			p = prfOf(0, 0, 0)
		}
		ev.Themes = append(ev.Themes, ThemeMetrics{Theme: id, PRF: p})
	}
	ag := &Agreement{Units: 30, Coders: 2, Alpha: 0.61}
	for _, id := range cb.ThemeIDs() {
		ag.KappaByTheme = append(ag.KappaByTheme, ThemeAgreement{id, 0.55})
		ag.AlphaByTheme = append(ag.AlphaByTheme, ThemeAgreement{id, math.NaN()})
	}
	out := Report(ReportInput{Title: "wave W1, ICS QJK", Codebook: cb, Evaluation: ev, Agreement: ag})
	for _, want := range []string{
		"Theme coding report — wave W1, ICS QJK", "codebook " + cb.Version, "40 comments",
		"Communication between professionals", "0.67", "0.57", "0.75 (4)", "macro F1", "0.70",
		"30 comments, 2 coders", "0.55", "Krippendorff's alpha over every theme decision with polarity (nominal): 0.61",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	// Undefined values print as a dash, never as 0 or NaN.
	if strings.Contains(out, "NaN") || !strings.Contains(out, "—") {
		t.Errorf("undefined values not shown as —:\n%s", out)
	}
	if out := Report(ReportInput{Codebook: cb, Evaluation: ev}); !strings.Contains(out, "no blind double-coded sample yet") {
		t.Errorf("report without agreement:\n%s", out)
	}
}

// With no comment of the held-out slice coded by people, the report says so in a
// sentence, not with a table of zeros, and still gives the coders' agreement.
func TestReportWithNoEvaluationYet(t *testing.T) {
	cb := Default()
	ev := Evaluation{CodebookVersion: cb.Version}
	for _, id := range cb.ThemeIDs() {
		ev.Themes = append(ev.Themes, ThemeMetrics{Theme: id, PRF: prfOf(0, 0, 0)})
	}
	ag := &Agreement{Units: 15, Coders: 2, Alpha: 0.49}
	for _, id := range cb.ThemeIDs() {
		ag.KappaByTheme = append(ag.KappaByTheme, ThemeAgreement{id, 0.4})
	}
	out := Report(ReportInput{Title: "wave W1", Codebook: cb, Evaluation: ev, Agreement: ag})
	if !strings.Contains(out, "no comment of the slice has been coded by people yet") || strings.Contains(out, "macro F1") ||
		strings.Contains(out, "support") {
		t.Errorf("empty evaluation shown as a table:\n%s", out)
	}
	if !strings.Contains(out, "15 comments, 2 coders") {
		t.Errorf("agreement missing:\n%s", out)
	}
}
