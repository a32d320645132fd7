package linkage

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"icesurvey/fault"
)

func TestEmbeddedDefinitions(t *testing.T) {
	ds, err := DefaultDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apc", "asc_cld", "csds", "ecds", "gpad", "mhsds", "op"}
	if !slices.Equal(ds.IDs(), want) {
		t.Fatalf("datasets %v, want %v", ds.IDs(), want)
	}
	// Every measure of the linked output is fed by some dataset.
	fed := map[string]bool{}
	for _, d := range ds.All() {
		for _, m := range d.Measures {
			fed[m.Measure] = true
		}
	}
	for _, m := range Measures {
		if !fed[m] {
			t.Errorf("no dataset counts towards %s", m)
		}
	}
	apc, _ := ds.Get("apc")
	if apc.DiagnosisSystem() != CheckICD10 {
		t.Errorf("apc diagnoses are %q", apc.DiagnosisSystem())
	}
	ecds, _ := ds.Get("ecds")
	if ecds.DiagnosisSystem() != CheckSNOMED {
		t.Errorf("ecds diagnoses are %q", ecds.DiagnosisSystem())
	}
}

const goodDef = `dataset: demo
title: Demo
version: "1"
columns:
  - {name: PERSON_KEY, role: person_key, type: string, required: true, check: pseudonym}
  - {name: DAY, role: activity_date, type: date, required: true}
  - {name: END, role: end_date, type: date, not_before: DAY}
  - {name: KIND, role: activity_type, type: code, required: true, values: {"1": attended}}
  - {name: ORG, role: provider, type: code, required: true, check: ods}
measures:
  attended: {measure: gp_appointments}
`

func TestDefinitionFaultsNameFileAndField(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"unknown role", "role: provider", "role: supplier", `columns[4] (ORG).role: "supplier" is not one of`},
		{"no person key", "  - {name: PERSON_KEY, role: person_key, type: string, required: true, check: pseudonym}\n", "", "0 columns have role person_key; want exactly 1"},
		{"person key unchecked", "check: pseudonym", "check: ods", "columns[0] (PERSON_KEY): the person key must be required and have check pseudonym"},
		{"bad canonical type", `{"1": attended}`, `{"1": seen}`, `columns[3] (KIND).values[1]: "seen" is not a canonical activity type`},
		{"unknown measure", "measure: gp_appointments", "measure: gp_visits", `measures[attended].measure: "gp_visits" is not one of`},
		{"measure of unmapped type", "  attended: {measure: gp_appointments}", "  attended: {measure: gp_appointments}\n  service: {measure: social_care_services}", `measures[service]: "service" is not a type the activity type column maps to`},
		{"bad pattern", "check: ods}", "check: ods, pattern: '[A-'}", "columns[4] (ORG).pattern: error parsing regexp"},
		{"not_before unknown", "not_before: DAY", "not_before: START", `columns[2] (END).not_before: "START" is not another date column`},
		{"duplicate column", "name: ORG", "name: day", "columns[4] (day): name repeats columns[1]"},
		{"unknown field", "title: Demo", "title: Demo\ncolour: blue", "field colour not found"},
		{"file name", "dataset: demo", "dataset: other", `dataset: "other" differs from the file name demo.yaml`},
		{"bad export", "measures:", "export: [nhs_pseudonym]\nmeasures:", `export[0]: "nhs_pseudonym" is not an exportable column`},
		{"export names a column twice", "measures:", "export: [activity_date, provider_code, activity_date]\nmeasures:", `export[2]: "activity_date" is listed twice`},
		{"bad date bound", "type: date, required: true}", "type: date, required: true, min_date: 2020/01/01}", `columns[1] (DAY).min_date: "2020/01/01" is not a yyyy-mm-dd date`},
		{"bed days from the end date", "measure: gp_appointments}", "bed_days: true}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(goodDef, tc.old, tc.new, 1)
			if src == goodDef {
				t.Fatalf("the replacement of %q changed nothing", tc.old)
			}
			_, err := LoadDefinitions(fstest.MapFS{"demo.yaml": {Data: []byte(src)}})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), "demo.yaml: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name demo.yaml and contain %q", err, tc.want)
			}
			// A definition that cannot work is the deployment's configuration: the
			// linkage activities fail at once rather than retry it for ever.
			if k := fault.KindOf(err); k != fault.Configuration || !fault.IsPermanent(err) {
				t.Errorf("error %q is of kind %q, want Configuration", err, k)
			}
		})
	}
	if _, err := LoadDefinitions(fstest.MapFS{"demo.yaml": {Data: []byte(goodDef)}}); err != nil {
		t.Fatalf("the good definition: %v", err)
	}
	if _, err := LoadDefinitions(fstest.MapFS{"README.md": {Data: []byte("no definitions")}}); fault.KindOf(err) != fault.Configuration ||
		!strings.Contains(fmt.Sprint(err), "no dataset definitions") {
		t.Errorf("no definitions: %v, want a Configuration error saying so", err)
	}
}

func TestEmbeddedCodelists(t *testing.T) {
	cs, err := DefaultCodelists()
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Lists) != 1 || cs.Lists[0].Status != CodelistIllustrative {
		t.Fatalf("want the one illustrative list, got %+v", cs.Lists)
	}
	ids := map[string]bool{}
	for _, c := range cs.Lists[0].Conditions {
		ids[c.ID] = true
	}
	for _, want := range []string{"diabetes", "heart_failure", "copd", "dementia", "cancer", "severe_mental_illness", "learning_disability"} {
		if !ids[want] {
			t.Errorf("no condition %s", want)
		}
	}
}

func TestCodelistFaults(t *testing.T) {
	base := "codelist: demo\nversion: \"1\"\nstatus: illustrative\nconditions:\n  - id: diabetes\n    label: Diabetes\n    icd10: [E11]\n    snomed: [\"73211009\"]\n"
	for _, tc := range []struct{ old, new, want string }{
		{"[E11]", "[E11.9]", `conditions[0] (diabetes).icd10[0]: "E11.9" is not a three- or four-character ICD-10 prefix`},
		{`"73211009"`, `"73211008"`, `conditions[0] (diabetes).snomed[0]: "73211008" is not a SNOMED CT concept id`},
		{"illustrative", "draft", `status: "draft" is not illustrative or approved`},
		{"[E11]", "[E11, E11]", `icd10[1]: "E11" is listed twice`},
	} {
		_, err := LoadCodelists(fstest.MapFS{"demo.yaml": {Data: []byte(strings.Replace(base, tc.old, tc.new, 1))}})
		if err == nil || !strings.Contains(err.Error(), "demo.yaml: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s → %s: error %v, want one naming demo.yaml with %q", tc.old, tc.new, err, tc.want)
		}
		// A code list that cannot work is the deployment's configuration: the release
		// fails at once rather than retry it for ever.
		if k := fault.KindOf(err); k != fault.Configuration || !fault.IsPermanent(err) {
			t.Errorf("%s → %s: error %v is of kind %q, want Configuration", tc.old, tc.new, err, k)
		}
	}
	if _, err := LoadCodelists(fstest.MapFS{"demo.yaml": {Data: []byte(base)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCodelists(fstest.MapFS{"README.md": {Data: []byte("no lists")}}); fault.KindOf(err) != fault.Configuration ||
		!strings.Contains(fmt.Sprint(err), "no code lists") {
		t.Errorf("no code lists: %v, want a Configuration error saying so", err)
	}
}
