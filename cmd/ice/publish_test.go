package main

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"icesurvey/estimate"
	"icesurvey/publication"
	"icesurvey/waveclient"
)

// A start of a release already drafted joins it: the ICSs asked to be excluded that it
// holds all the same are said.
func TestNotExcluded(t *testing.T) {
	st := waveclient.PublicationStatus{ICS: []waveclient.ReleaseICS{
		{ICS: "QMM", WeightingStatus: "trimmed", Published: true},
		{ICS: "QJK", WeightingStatus: "excluded"},
	}}
	for _, tc := range []struct {
		exclude, want []string
	}{
		{nil, nil},
		{[]string{"QJK"}, nil},
		{[]string{"QMM", "QJK"}, []string{"QMM"}},
		{[]string{"QXX"}, nil}, // not in the release: the release's own check names it
	} {
		if got := notExcluded(st, tc.exclude); !slices.Equal(got, tc.want) {
			t.Errorf("exclude %v: kept %v, want %v", tc.exclude, got, tc.want)
		}
	}
}

// `ice publish --params FILE` reads and checks the file before anything starts: a bad
// one is refused naming the file and the field, and the cluster is never dialled (a
// listener standing in for it counts the connections). A good file gets as far as
// dialling, so the listener would see a command that dialled first.
func TestPublishParamsRefusedBeforeAnythingStarts(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var dials atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			dials.Add(1)
			c.Close()
		}
	}()
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	run := func(args ...string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cmd := rootCmd()
		cmd.SetArgs(append([]string{"publish", "--address", ln.Addr().String(), "--store", "file://" + dir + "/store"}, args...))
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		return cmd.ExecuteContext(ctx)
	}
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown field", "min_base: 20\nconfidnece: 0.9\n", []string{"line 2", `unknown field "confidnece"`}},
		{"min_base too small", "min_base: 1\n", []string{"min_base = 1"}},
		{"confidence as a percentage", "confidence: 90\n", []string{"confidence = 90", "0.9 for 90 %"}},
		{"caution_base below min_base", "min_base: 20\ncaution_base: 15\n", []string{"caution_base = 15"}},
		{"unknown breakdown", "breakdowns: [age_band, postcode]\n", []string{"breakdowns", "postcode"}},
		{"a number for a word", "lo: low\n", []string{"field lo", `"low"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := write("bad.yaml", tc.yaml)
			err := run("--wave", "W1", "--params", path)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if n := dials.Load(); n != 0 {
				t.Errorf("the cluster was dialled %d times before the file was refused", n)
			}
		})
	}
	if err := run("--wave", "W1", "--params", filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") || dials.Load() != 0 {
		t.Errorf("a missing file: %v (%d dials)", err, dials.Load())
	}
	// A good file passes the check and the command goes on to dial.
	if err := run("--wave", "W1", "--params", write("good.yaml", "min_base: 20\nconfidence: 0.9\n")); err == nil {
		t.Error("no cluster, yet the publication started")
	}
	if dials.Load() == 0 {
		t.Error("a good parameters file did not get as far as dialling the cluster")
	}
}

// A start of a release already drafted joins it: parameters it was not computed with
// are said, by name, asked and used; a release that does not report its parameters
// cannot be checked.
func TestParamsNotUsed(t *testing.T) {
	used := publication.DefaultParams().Metadata()
	minBase, confidence, caution := 20, 0.95, 30
	for _, tc := range []struct {
		name   string
		st     []publication.Param
		params *publication.Overrides
		want   []string
	}{
		{"no parameters asked", used, nil, nil},
		{"the defaults asked", used, &publication.Overrides{Confidence: &confidence, CautionBase: &caution}, nil},
		{"other parameters asked", used, &publication.Overrides{MinBase: &minBase}, []string{"min_base: asked 20, the release's 10"}},
		{"a release that does not say", nil, &publication.Overrides{MinBase: &minBase}, nil},
		// A wave's r1 with caution_base 31 from its spec: a request that leaves
		// caution_base out does not ask for the default.
		{"a parameter not asked for", func() []publication.Param {
			p := publication.DefaultParams()
			p.Disclosure.CautionBase = 31
			return p.Metadata()
		}(), &publication.Overrides{MinBase: &minBase}, []string{"min_base: asked 20, the release's 10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := paramsNotUsed(waveclient.PublicationStatus{Parameters: tc.st}, tc.params)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%q, want %q", got, tc.want)
			}
		})
	}
	p := publication.DefaultParams()
	p.Disclosure.MinBase, p.Estimate = 20, estimate.ParamsFor(0.9)
	if got := strings.Join(notDefault(p.Metadata()), ", "); got != "confidence 0.9, z 1.6448536269514724, min_base 20" {
		t.Errorf("not default: %q", got)
	}
}

// The status says which of a release's parameters are not the defaults, or that all
// are; a status without parameters (a release drafted before they were reported)
// says nothing of them.
func TestPrintPublicationParameters(t *testing.T) {
	p := publication.DefaultParams()
	p.Disclosure.MinBase = 20
	for _, tc := range []struct {
		params []publication.Param
		want   string
	}{
		{p.Metadata(), "  parameters min_base 20; the rest PUBLICATION.md's defaults (all in its metadata.json)\n"},
		{publication.DefaultParams().Metadata(), "  parameters PUBLICATION.md's defaults\n"},
		{nil, ""},
	} {
		var b strings.Builder
		printPublication(&b, waveclient.PublicationStatus{WaveID: "W1", ReleaseID: "r2", Stage: "draft", Parameters: tc.params}, "file://x")
		got := strings.TrimPrefix(b.String(), "release r2 of wave W1: draft\n")
		if got != tc.want {
			t.Errorf("printed %q, want %q", got, tc.want)
		}
	}
}

// ice publish list: a row a release, with its approval, the parameters that are not
// the defaults (or that it recorded none) and where its files are; an approver's name
// is printed inert.
func TestPrintReleases(t *testing.T) {
	at := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	p := publication.DefaultParams()
	p.Disclosure.MinBase = 20
	var b strings.Builder
	err := printReleases(&b, []publication.ReleaseEntry{
		{ReleaseID: "r1", Status: publication.ReleasePublished, ApprovedBy: "A. Statistician\x1b[2J", ApprovedAt: &at, LeftOut: []string{"QJK"},
			Parameters: publication.DefaultParams().Metadata(), Prefix: "publish/W1/r1/"},
		{ReleaseID: "r2", Status: publication.ReleaseDraft, Parameters: p.Metadata(), Prefix: "drafts/W1/r2/"},
		{ReleaseID: "r0", Status: publication.ReleasePublished, Prefix: "publish/W1/r0/"},
	}, "file:///data/store")
	if err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"RELEASE  STATUS",
		`r1       published  A. Statistician\x1b[2J at 2027-04-01T09:00:00Z, leaving out QJK  PUBLICATION.md's defaults  file:///data/store/publish/W1/r1/`,
		"r2       draft      -",
		"min_base 20",
		"file:///data/store/drafts/W1/r2/",
		"(not recorded)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Errorf("an escape reached the terminal:\n%q", out)
	}
}

// A release's parameters as the commands say them: those not the defaults, or that all
// are (ice wave start printed "with " and nothing for a spec setting only defaults).
func TestDescribeParams(t *testing.T) {
	minBase := 10 // the default, set explicitly
	p, err := (&publication.Overrides{MinBase: &minBase}).Apply(publication.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	if got := describeParams(p.Metadata()); got != "PUBLICATION.md's defaults" {
		t.Errorf("defaults described as %q", got)
	}
	p.Disclosure.MinBase = 20
	if got := describeParams(p.Metadata()); got != "min_base 20" {
		t.Errorf("min_base 20 described as %q", got)
	}
}
