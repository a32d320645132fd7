package main

import (
	"bytes"
	"strings"
	"testing"

	"icesurvey/activities"
	"icesurvey/linkage"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

func TestPrintLinkageSaysWhoWithdrewAfterConsenting(t *testing.T) {
	// The latest-withdrawn count mixes people who gave consent and withdrew it with
	// people who opted out of the survey and never consented: the line says which.
	var out bytes.Buffer
	res := waveclient.LinkageResult{WaveID: "W1", ReleaseID: "r1", Step: "done"}
	res.Consent.Counts = linkage.ConsentCounts{Events: 520, PatientsGiven: 332, PatientsDeclined: 80,
		PatientsWithdrew: 55, PatientsWithdrewAfterGiving: 1, CarersGiven: 4}
	printLinkage(&out, res)
	want := "consent  520 events; latest: 332 given, 80 declined, 55 withdrawn (1 after giving consent, 54 who never gave it); carers' consent, never linked: 4"
	if !strings.Contains(out.String(), want) {
		t.Errorf("printLinkage wrote\n%s\nwant a line\n%s", out.String(), want)
	}
}

func TestPrintLinkageNamesUnknownColumns(t *testing.T) {
	var out bytes.Buffer
	res := waveclient.LinkageResult{WaveID: "W1", ReleaseID: "r1", Step: "done"}
	res.Extracts = []activities.LinkageExtractResult{
		{Key: "restricted-landing/linkage/W1/gpad/a.csv", RowsRead: 5, Accepted: 5, UnknownColumns: []string{"LOCAL_NOTE", "SITE"}},
		{Key: "restricted-landing/linkage/W1/op/b.csv", RowsRead: 2, Accepted: 2},
	}
	printLinkage(&out, res)
	lines := strings.Split(out.String(), "\n")
	var a, b string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "gpad/a.csv"):
			a = l
		case strings.Contains(l, "op/b.csv"):
			b = l
		}
	}
	if !strings.HasSuffix(a, "; columns not in the definition, ignored: LOCAL_NOTE, SITE") || strings.Contains(b, "columns") {
		t.Errorf("printLinkage wrote\n%s", out.String())
	}
}

// A withdrawal recorded while a release of the wave is being built: that release read
// consent before it (or, at its consent step, may have) and links the person still,
// and a withdrawals-only run is refused until it ends. The command said only "run `ice
// link --wave W --withdrawals-only` to remove them from the current release".
func TestWithdrawalNextWhileAReleaseIsBuilt(t *testing.T) {
	for _, tt := range []struct {
		name     string
		building *waveclient.LinkageResult
		want     string
	}{
		{"no run", nil, "run `ice link --wave W1 --withdrawals-only` to remove them from the current release"},
		{"past its consent", &waveclient.LinkageResult{ReleaseID: "R20261207T211854Z-w", Step: workflows.LinkageStepRelease},
			"release R20261207T211854Z-w of W1 is being built now (step release) and read consent before this withdrawal, and still links them: " +
				"once it has ended (`ice link status --wave W1`), run `ice link --wave W1 --withdrawals-only` to remove them from it"},
		{"at its consent", &waveclient.LinkageResult{ReleaseID: "R1", Step: workflows.LinkageStepConsent},
			"release R1 of W1 is being built now (step consent) and is reading consent now and may have read it before this withdrawal, so it may still link them: " +
				"once it has ended (`ice link status --wave W1`), run `ice link --wave W1 --withdrawals-only` to remove them from it"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := withdrawalNext("W1", tt.building); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
