package themes

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// xmllint validates a file against a schema with libxml2's validator (Debian's
// libxml2-utils, installed by infra/test.sh). The test is skipped, saying so, only
// when the program is absent.
func xmllint(t *testing.T, schema, file string) error {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install libxml2-utils): schema validation skipped")
	}
	out, err := exec.Command(bin, "--noout", "--schema", schema, file).CombinedOutput()
	if err != nil {
		return errors.New(strings.TrimSpace(string(out)))
	}
	t.Logf("xmllint --schema %s: %s", filepath.Base(schema), strings.TrimSpace(string(out)))
	return nil
}

func TestQDCRoundTripAndSchema(t *testing.T) {
	cb := Default()
	var buf bytes.Buffer
	if err := cb.WriteQDC(&buf); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "codebook.qdc")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := xmllint(t, "schema/Codebook.xsd", file); err != nil {
		t.Fatalf("exported .qdc is not valid against Codebook.xsd:\n%s", err)
	}
	back, err := ReadQDC(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Version != cb.Version || len(back.Themes) != len(cb.Themes) {
		t.Fatalf("round trip: version %q, %d themes", back.Version, len(back.Themes))
	}
	for i, want := range cb.Themes {
		got := back.Themes[i]
		want.Patterns = nil
		want.Definition = strings.TrimSpace(want.Definition)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("theme %s changed in the round trip:\n got %+v\nwant %+v", want.ID, got, want)
		}
	}
	// Exporting twice gives the same bytes: GUIDs are derived, not random.
	var again bytes.Buffer
	if err := back.WriteQDC(&again); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(again.String(), ThemeGUID(cb.Version, "continuity", Positive)) {
		t.Error("re-export lost the stable GUIDs")
	}
}

// The validator must be able to fail: a codebook with a malformed GUID is refused.
func TestQDCSchemaRejectsBadFile(t *testing.T) {
	var buf bytes.Buffer
	if err := Default().WriteQDC(&buf); err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(buf.String(), ThemeGUID(DefaultVersion, "burden", ""), "not-a-guid", 1)
	file := filepath.Join(t.TempDir(), "bad.qdc")
	if err := os.WriteFile(file, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := xmllint(t, "schema/Codebook.xsd", file); err == nil {
		t.Fatal("xmllint accepted a .qdc with a malformed guid")
	}
}

func sampleProject() *Project {
	at := time.Date(2026, 4, 20, 10, 30, 0, 0, time.UTC)
	return &Project{
		Name: "ICE wave 2026-02, ICS QJK", Origin: "icesurvey", CreatedBy: "coder.a", CreatedAt: at, Codebook: Default(),
		Users: []User{{ID: "coder.a", Name: "Coder A"}, {ID: "coder.b", Name: "Coder B"}},
		Sources: []Source{
			{ID: "resp-001", Text: "The hospital told me to tell my GP about the new tablets – I’m the postman.", CreatedAt: at,
				Variables: []Variable{{"wave", "2026-02"}, {"ics", "QJK"}, {"question", "P_FT_IMPROVE"}},
				Codings: []SourceCoding{
					{Theme: "communication", Polarity: Negative, Coder: "coder.a", At: at, Note: "Classic relay through the patient."},
					{Theme: "information", Polarity: Negative, Coder: "coder.b", At: at, Start: 4, End: 12},
				}},
			{ID: "resp-002", Text: "Dr [NAME] knows me inside out; same GP for twelve years.", CreatedAt: at,
				Variables: []Variable{{"wave", "2026-02"}, {"ics", "QJK"}, {"question", "P_FT_GOOD"}},
				Codings:   []SourceCoding{{Theme: "continuity", Polarity: Positive, Coder: "coder.a", At: at}},
				Notes:     []Note{{Title: "Quote", Text: "Good quotation for the profile report.", Author: "coder.b", At: at}}},
			{ID: "resp-003", Text: "Parking was awful.", CreatedAt: at},
		},
		Notes: []Note{{Title: "About this export", Text: "Double-coded sample, wave 2026-02.", Author: "coder.a", At: at}},
	}
}

func TestQDPXSchemaAndRoundTrip(t *testing.T) {
	p := sampleProject()
	var buf bytes.Buffer
	if err := WriteQDPX(&buf, p); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
		if f.Name == "project.qde" {
			rc, _ := f.Open()
			var b bytes.Buffer
			_, _ = b.ReadFrom(rc)
			rc.Close()
			if err := os.WriteFile(filepath.Join(dir, "project.qde"), b.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
		} else if !strings.HasPrefix(f.Name, "sources/") || strings.Count(f.Name, "/") != 1 || !strings.HasSuffix(f.Name, ".txt") {
			t.Errorf("unexpected zip entry %s (want project.qde and a flat sources/ folder)", f.Name)
		}
	}
	if len(names) != 4 || names[0] != "project.qde" {
		t.Fatalf("zip entries %v, want project.qde and three sources", names)
	}
	if err := xmllint(t, "schema/Project-mrt2019.xsd", filepath.Join(dir, "project.qde")); err != nil {
		t.Fatalf("project.qde is not valid against Project-mrt2019.xsd:\n%s", err)
	}
	back, err := ReadQDPX(bytes.NewReader(buf.Bytes()), int64(buf.Len()), Default())
	if err != nil {
		t.Fatal(err)
	}
	if back.Name != p.Name || back.CreatedBy != p.CreatedBy || !back.CreatedAt.Equal(p.CreatedAt) ||
		!reflect.DeepEqual(back.Users, p.Users) || !reflect.DeepEqual(back.Notes, p.Notes) {
		t.Errorf("project header changed: %+v", back)
	}
	if len(back.Sources) != len(p.Sources) {
		t.Fatalf("%d sources back", len(back.Sources))
	}
	for i, want := range p.Sources {
		got := back.Sources[i]
		if got.ID != want.ID || got.Text != want.Text || !got.CreatedAt.Equal(want.CreatedAt) ||
			!reflect.DeepEqual(got.Variables, want.Variables) || !reflect.DeepEqual(got.Notes, want.Notes) {
			t.Errorf("source %s changed:\n got %+v\nwant %+v", want.ID, got, want)
		}
		if len(got.Codings) != len(want.Codings) {
			t.Errorf("source %s: %d codings back, want %d", want.ID, len(got.Codings), len(want.Codings))
			continue
		}
		for j := range want.Codings {
			if !reflect.DeepEqual(got.Codings[j], want.Codings[j]) {
				t.Errorf("source %s coding %d:\n got %+v\nwant %+v", want.ID, j, got.Codings[j], want.Codings[j])
			}
		}
	}
	// The same project exports to the same bytes.
	var again bytes.Buffer
	if err := WriteQDPX(&again, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), buf.Bytes()) {
		t.Error("two exports of one project differ")
	}
}

func TestQDPXRefusesBadProject(t *testing.T) {
	cases := []struct {
		name  string
		mod   func(*Project)
		field string
	}{
		{"unknown theme", func(p *Project) { p.Sources[0].Codings[0].Theme = "parking" }, "sources[0] (resp-001).codings[0].theme"},
		{"span past the end", func(p *Project) { p.Sources[0].Codings[1].End = 500 }, "sources[0] (resp-001).codings[1]: span"},
		{"unknown coder", func(p *Project) { p.Sources[1].Codings[0].Coder = "ghost" }, "sources[1] (resp-002).codings[0].coder"},
		{"repeated source", func(p *Project) { p.Sources[2].ID = "resp-001" }, "sources[2] (resp-001).id: repeats"},
		{"no name", func(p *Project) { p.Name = "" }, "project name"},
	}
	for _, c := range cases {
		p := sampleProject()
		c.mod(p)
		err := WriteQDPX(&bytes.Buffer{}, p)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: want an error naming %q, got %v", c.name, c.field, err)
		}
	}
}

// A double-coded slice of the labelled set exports as a schema-valid project.
func TestProjectFromCodings(t *testing.T) {
	all := readComments(t)[:40]
	var codings []Coding
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for i, c := range all {
		c.CodedAt = at
		codings = append(codings, c)
		if i%5 == 0 { // a second, blind coder on a fifth of them
			second := c
			second.Coder = "second"
			second.Themes = nil
			codings = append(codings, second)
		}
	}
	vars := map[string][]Variable{all[0].ResponseID: {{"ics", "QJK"}}}
	p, err := ProjectFromCodings("labelled set", Default(), at, codings, vars)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Sources) != 40 || len(p.Users) != 2 || p.CreatedBy != "author" {
		t.Fatalf("%d sources, users %v, creator %q", len(p.Sources), p.Users, p.CreatedBy)
	}
	var buf bytes.Buffer
	if err := WriteQDPX(&buf, p); err != nil {
		t.Fatal(err)
	}
	zr, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	rc, err := zr.Open("project.qde")
	if err != nil {
		t.Fatal(err)
	}
	var qde bytes.Buffer
	_, _ = qde.ReadFrom(rc)
	rc.Close()
	file := filepath.Join(t.TempDir(), "project.qde")
	if err := os.WriteFile(file, qde.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := xmllint(t, "schema/Project-mrt2019.xsd", file); err != nil {
		t.Fatalf("project.qde invalid:\n%s", err)
	}
	mixed := append([]Coding{}, codings...)
	mixed[2].ResponseID = mixed[0].ResponseID // codings[1] is the second coder of the same comment; [2] is another comment
	if _, err := ProjectFromCodings("x", Default(), at, mixed, nil); err == nil || !strings.Contains(err.Error(), "text differs") {
		t.Errorf("two texts for one response accepted: %v", err)
	}
}
