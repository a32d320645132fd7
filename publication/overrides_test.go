package publication

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"icesurvey/estimate"
	"icesurvey/schemas"
	"icesurvey/store"
)

func TestParseOverrides(t *testing.T) {
	def := DefaultParams()
	for _, tc := range []struct {
		name, yaml string
		// want changes the defaults into the parameters the file gives.
		want func(p *Params)
	}{
		{"empty file", "", func(p *Params) {}},
		{"comments only", "# defaults\n", func(p *Params) {}},
		{"empty mapping", "{}\n", func(p *Params) {}},
		{"one field", "min_base: 20\n", func(p *Params) { p.Disclosure.MinBase = 20 }},
		{"confidence 0.95 is the default, z and all", "confidence: 0.95\n", func(p *Params) {}},
		{"confidence 0.9", "confidence: 0.9\n", func(p *Params) {
			p.Estimate = estimate.Params{Confidence: 0.9, Z: math.Sqrt2 * math.Erfinv(0.9)}
		}},
		{"every field", `vars: [gender, age_band]
lo: 0.5
hi: 3
min_level_n: 8
tol: 1e-10
max_sweeps: 500
confidence: 0.99
min_base: 15
caution_base: 50
min_count: 3
breakdowns: [efi_band, age_band]
group_comparison: england_excluding_ics
england_counts: true
`, func(p *Params) {
			p.Weighting.Vars = []string{"gender", "age_band"}
			p.Weighting.Lo, p.Weighting.Hi, p.Weighting.MinLevelN, p.Weighting.Tol, p.Weighting.MaxSweeps = 0.5, 3, 8, 1e-10, 500
			p.Estimate = estimate.ParamsFor(0.99)
			p.Disclosure.MinBase, p.Disclosure.CautionBase, p.Disclosure.MinCount = 15, 50, 3
			p.Breakdowns = []string{"efi_band", "age_band"}
			p.GroupComparison, p.EnglandCounts = CompareWholeRest, true
		}},
		{"no breakdowns", "breakdowns: []\n", func(p *Params) { p.Breakdowns = []string{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOverrides("release.yaml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			got, err := o.Apply(DefaultParams())
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultParams()
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parameters\n%+v, want\n%+v", got, want)
			}
			// The overrides survive the workflow's JSON as they are.
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			var back Overrides
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if again, err := back.Apply(DefaultParams()); err != nil || !reflect.DeepEqual(again, want) {
				t.Errorf("through JSON %s: %+v (%v), want %+v", b, again, err, want)
			}
		})
	}
	if !reflect.DeepEqual(def, DefaultParams()) {
		t.Error("applying overrides changed the defaults")
	}

	for _, tc := range []struct {
		name, yaml string
		// want are what the error must say besides the file's name.
		want []string
	}{
		{"unknown field", "min_bsae: 20\n", []string{"line 1", `unknown field "min_bsae"`, "min_base"}},
		{"z on its own", "z: 1.645\n", []string{`unknown field "z"`, "set confidence"}},
		{"exclude belongs to the command", "exclude: [QAA]\n", []string{`unknown field "exclude"`, "--exclude"}},
		{"field twice", "min_base: 20\nmin_base: 30\n", []string{"min_base"}},
		{"no value", "min_base:\n", []string{"line 1", "min_base has no value"}},
		{"text for a number", "lo: low\n", []string{"line 1", "field lo", `"low"`, "want a number"}},
		{"fraction for a whole number", "min_base: 10.5\n", []string{"field min_base", `"10.5"`, "whole number"}},
		{"percent sign", "confidence: 90%\n", []string{"field confidence", `"90%"`}},
		{"scalar for a list", "breakdowns: age_band\n", []string{"field breakdowns", "list"}},
		{"not a mapping", "- min_base\n", []string{"line 1", "mapping"}},
		{"two documents", "min_base: 20\n---\nmin_base: 30\n", []string{"more than one YAML document"}},
		{"bad YAML", "min_base: [20\n", []string{"release.yaml"}},
		{"lo ≥ hi", "lo: 1\nhi: 1\n", []string{"lo = 1 ≥ hi = 1"}},
		{"lo out of range", "lo: 2\n", []string{"lo = 2"}},
		{"hi below 1", "hi: 0.5\n", []string{"hi = 0.5"}},
		{"min_base below 2", "min_base: 1\n", []string{"min_base = 1"}},
		{"caution_base below min_base", "min_base: 40\n", []string{"caution_base = 30", "min_base (40)"}},
		{"caution_base set below min_base", "min_base: 20\ncaution_base: 15\n", []string{"caution_base = 15"}},
		{"min_count 0", "min_count: 0\n", []string{"min_count = 0"}},
		{"confidence as a percentage", "confidence: 95\n", []string{"confidence = 95", "a fraction", "0.95 for 95 %"}},
		{"confidence 1", "confidence: 1\n", []string{"confidence = 1", "0 < confidence < 1"}},
		{"confidence 0", "confidence: 0\n", []string{"confidence = 0"}},
		{"negative confidence", "confidence: -0.9\n", []string{"confidence = -0.9"}},
		{"unknown breakdown", "breakdowns: [age_band, postcode]\n", []string{"breakdowns", `"postcode"`}},
		{"breakdown twice", "breakdowns: [gender, gender]\n", []string{"breakdowns", `"gender" named twice`}},
		{"unknown weighting variable", "vars: [age_band, postcode]\n", []string{"vars", `"postcode"`}},
		{"no weighting variables", "vars: []\n", []string{"vars is empty"}},
		{"bad group comparison", "group_comparison: nearby\n", []string{"group_comparison", `"nearby"`}},
		{"tol 0", "tol: 0\n", []string{"tol = 0"}},
		{"max_sweeps 0", "max_sweeps: 0\n", []string{"max_sweeps = 0"}},
		{"min_level_n 0", "min_level_n: 0\n", []string{"min_level_n = 0"}},
		{"england_counts not a bool", "england_counts: sometimes\n", []string{"field england_counts", "true or false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := ParseOverrides("release.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("accepted: %+v", o)
			}
			for _, w := range append([]string{"release.yaml"}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestReadOverrides: the file is read from disk and named in the error; a missing file
// is an error too.
func TestReadOverrides(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r2.yaml")
	if err := os.WriteFile(path, []byte("min_base: 20\nconfidence: 0.9\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := ReadOverrides(path)
	if err != nil || o.MinBase == nil || *o.MinBase != 20 || o.Confidence == nil || *o.Confidence != 0.9 || o.Empty() {
		t.Fatalf("%+v, %v", o, err)
	}
	if _, err := ReadOverrides(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	if !(&Overrides{}).Empty() || !(*Overrides)(nil).Empty() {
		t.Error("no overrides are not empty")
	}
}

// TestConfidenceGivesExactZ: 95 % gives PUBLICATION.md's z to the last digit, so a file
// that says so makes the default release; other levels give the normal quantile, to
// the precision of R's qnorm.
func TestConfidenceGivesExactZ(t *testing.T) {
	for _, tc := range []struct {
		confidence, z float64 // z: R, qnorm(1 - (1 - confidence)/2), printed to 17 digits
	}{
		{0.95, 1.959963984540054},
		{0.9, 1.6448536269514715},
		{0.99, 2.5758293035488999},
		{0.8, 1.2815515655446008},
	} {
		c := tc.confidence
		p, err := (&Overrides{Confidence: &c}).Apply(DefaultParams())
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(p.Estimate.Z-tc.z) > 4e-15*tc.z {
			t.Errorf("confidence %v: z = %.17g, want %.17g", c, p.Estimate.Z, tc.z)
		}
	}
	c := 0.95
	p, _ := (&Overrides{Confidence: &c}).Apply(DefaultParams())
	if p.Estimate.Z != estimate.Z95 || p.Estimate != DefaultParams().Estimate {
		t.Errorf("confidence 0.95: z = %.17g, want exactly %.17g", p.Estimate.Z, estimate.Z95)
	}
	if got := Percent(0.57); got != "57" {
		t.Errorf("Percent(0.57) = %q", got)
	}
}

// TestReleaseWithOverrides: a release computed with min_base 20 and 90 % intervals
// withholds more rows and has narrower intervals than the default one, and says which
// values it used everywhere it states them: metadata.json's parameters, marks and
// method, and the workbook's Notes sheet.
func TestReleaseWithOverrides(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	def := compute(t, snap, "W1", testParams())
	o, err := ParseOverrides("r2.yaml", []byte("min_base: 20\nconfidence: 0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := o.Apply(testParams())
	if err != nil {
		t.Fatal(err)
	}
	alt := compute(t, snap, "W1", p)

	type key struct{ geo, ics, v, l, rt, q, m string }
	keyOf := func(r ResultRow) key {
		return key{r.Geography, r.ICS, r.GroupVariable, r.GroupLevel, r.RespondentType, r.QuestionID, r.Measure}
	}
	defRows := map[key]ResultRow{}
	for _, r := range def.Results() {
		defRows[keyOf(r)] = r
	}
	var moreWithheld, narrower, compared int
	for _, r := range alt.Results() {
		d, ok := defRows[keyOf(r)]
		if !ok {
			t.Fatalf("row %+v is not in the default release", keyOf(r))
		}
		n, nok := d.BaseUnweighted.Value()
		switch {
		case nok && n >= 10 && n < 20:
			// Published by default (or withheld for another reason), withheld for its base now.
			if r.Status != 'B' {
				t.Errorf("%+v: base %d < min_base 20 but status %q", keyOf(r), n, r.Status)
			}
			if d.Status != 'B' {
				moreWithheld++
			}
		case nok && n >= 20 && r.Status == 'B':
			t.Errorf("%+v: base %d ≥ 20 withheld as too small", keyOf(r), n)
		}
		if _, ok := r.BaseUnweighted.Value(); ok && r.Status == 'B' {
			t.Errorf("%+v: a row withheld for its base shows its base", keyOf(r))
		}
		lo, ok1 := r.CILower.Value()
		hi, ok2 := r.CIUpper.Value()
		dlo, ok3 := d.CILower.Value()
		dhi, ok4 := d.CIUpper.Value()
		if ok1 && ok2 && ok3 && ok4 {
			compared++
			pct, _ := r.PctPositive.Value()
			switch {
			case hi-lo < dhi-dlo:
				narrower++
			case pct > 0 && pct < 100:
				t.Errorf("%+v: 90%% interval [%v, %v] is not narrower than the 95%% one [%v, %v]", keyOf(r), lo, hi, dlo, dhi)
			}
		}
	}
	t.Logf("rows newly withheld %d, narrower intervals %d of %d", moreWithheld, narrower, compared)
	if moreWithheld == 0 || narrower == 0 {
		t.Fatalf("rows newly withheld %d, narrower intervals %d of %d: the wave has bases of 10 to 19 and should show both", moreWithheld, narrower, compared)
	}
	if a, d := alt.Summary(), def.Summary(); a.RowsWithheld <= d.RowsWithheld {
		t.Errorf("rows withheld: %d with min_base 20, %d by default", a.RowsWithheld, d.RowsWithheld)
	}

	st := newStore(t)
	if _, err := Write(ctx, st, alt, "r2"); err != nil {
		t.Fatal(err)
	}
	b, err := store.ReadAll(ctx, st, schemas.DraftKey(schemas.PublishMetadataKey("W1", "r2")))
	if err != nil {
		t.Fatal(err)
	}
	var meta Metadata
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	params := map[string]string{}
	for _, x := range meta.Parameters {
		params[x.Name] = x.Value
	}
	for name, want := range map[string]string{"min_base": "20", "caution_base": "30", "confidence": "0.9", "z": "1.6448536269514724", "min_count": "5"} {
		if params[name] != want {
			t.Errorf("metadata.json: %s = %q, want %q", name, params[name], want)
		}
	}
	text := func(ss ...[]string) string { return strings.Join(slices2(ss...), "\n") }
	var markText []string
	for _, m := range meta.Marks {
		markText = append(markText, m.Meaning)
	}
	says := text(meta.Method, markText)
	for _, want := range []string{"fewer than 20 respondents in the base (shown as <20)", "90 % confidence (z = 1.6448536269514724)", "|z| > 1.6448536269514724",
		"fewer than 30 is published with a caution mark", "a count of 1 to 4", "by age_band, gender, efi_band"} {
		if !strings.Contains(says, want) {
			t.Errorf("metadata.json's method and marks do not say %q:\n%s", want, says)
		}
	}
	for _, stale := range []string{"fewer than 10", "95 %", "1.959963984540054"} {
		if strings.Contains(says, stale) {
			t.Errorf("metadata.json's method and marks say the default %q:\n%s", stale, says)
		}
	}

	wb, err := store.ReadAll(ctx, st, schemas.DraftKey(schemas.PublishWorkbookKey("W1", "r2")))
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(wb))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Notes")
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	sheetParams := map[string]string{}
	for _, row := range rows {
		notes = append(notes, strings.Join(row, "\t"))
		if len(row) == 2 {
			sheetParams[row[0]] = row[1]
		}
	}
	if sheetParams["min_base"] != "20" || sheetParams["confidence"] != "0.9" || sheetParams["z"] != "1.6448536269514724" {
		t.Errorf("the Notes sheet's parameters: %v", sheetParams)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{"<20\tthe base of a row withheld", "90 % confidence", "fewer than 20 respondents in the base"} {
		if !strings.Contains(all, want) {
			t.Errorf("the Notes sheet does not say %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "fewer than 10") || strings.Contains(all, "95 %") {
		t.Errorf("the Notes sheet states a default:\n%s", all)
	}
}

func slices2(ss ...[]string) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s...)
	}
	return out
}

// TestParamsOfMetadata: the parameters a release's metadata lists read back as the
// parameters it was computed with.
func TestParamsOfMetadata(t *testing.T) {
	o, err := ParseOverrides("r.yaml", []byte("vars: [gender, age_band]\nlo: 0.5\nhi: 3\nmin_level_n: 8\ntol: 1e-10\nmax_sweeps: 500\nconfidence: 0.9\nmin_base: 20\ncaution_base: 50\nmin_count: 3\nbreakdowns: []\ngroup_comparison: england_excluding_ics\nengland_counts: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []Params{DefaultParams(), must(o.Apply(DefaultParams()))} {
		got, err := ParamsOf(want.Metadata())
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParamsOf(%v) = %+v (%v), want %+v", want.Metadata(), got, err, want)
		}
	}
	for _, bad := range []Param{{"min_base", "ten"}, {"lo", "low"}, {"england_counts", "perhaps"}, {"z", "wide"}} {
		if _, err := ParamsOf([]Param{bad}); err == nil || !strings.Contains(err.Error(), "parameter "+bad.Name+" = ") {
			t.Errorf("a bad value of %s: %v", bad.Name, err)
		}
	}
	// As the warehouse's releases.parameters holds the list: JSON.
	b, _ := json.Marshal(must(o.Apply(DefaultParams())).Metadata())
	if got, err := ParamsOfJSON(string(b)); err != nil || !reflect.DeepEqual(got, must(o.Apply(DefaultParams()))) {
		t.Errorf("ParamsOfJSON(%s) = %+v (%v)", b, got, err)
	}
	if _, err := ParamsOfJSON("[{"); err == nil || !strings.Contains(err.Error(), "its parameters") {
		t.Errorf("a list that is not JSON: %v", err)
	}
	// A confidence level listed without z gets its own quantile, not the default's.
	got, err := ParamsOf([]Param{{"confidence", "0.9"}})
	if err != nil || got.Estimate != estimate.ParamsFor(0.9) {
		t.Errorf("confidence 0.9 alone read back as %+v (%v), want %+v", got.Estimate, err, estimate.ParamsFor(0.9))
	}
}

func must(p Params, err error) Params {
	if err != nil {
		panic(err)
	}
	return p
}
