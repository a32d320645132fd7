package main

import (
	"bytes"
	"strings"
	"testing"

	"icesurvey/activities"
	"icesurvey/linkage"
	"icesurvey/waveclient"
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
