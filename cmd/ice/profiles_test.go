package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
)

// An unknown --profile is refused before anything is asked of the cluster or written:
// no client is dialled here, and no --out directory made.
func TestProfileReportRefusesAnUnknownProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	paths, err := writeProfileReports(context.Background(), nil, nil, &reader{}, "W1", []string{"QMM"}, []string{"women-multimorbidity-heart", "no-such-profile"}, false, dir)
	if err == nil || !strings.Contains(err.Error(), `no profile "no-such-profile"`) || !strings.Contains(err.Error(), "women-multimorbidity-heart") ||
		fault.KindOf(err) != fault.BadInput {
		t.Fatalf("an unknown profile: %v; want a bad input naming it and the profiles there are", err)
	}
	if len(paths) != 0 {
		t.Errorf("wrote %v", paths)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("--out made before the profile was checked: %v", err)
	}
}

// ice profiles verdict refuses a note that identifies anyone before it opens the store:
// the error names --note and the kinds found but not the note's text, and nothing is
// written. The store holds no sample, so a note checked only after the lake is read
// would fail with ErrNoSample instead.
func TestProfileVerdictRefusesIdentifyingNote(t *testing.T) {
	const note = "Mrs Jane Smith, NHS number 943 476 5919, 07700 900123, 12 High Street NR1 3QU said rehab never happened"
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	root := rootCmd()
	root.SetArgs([]string{"profiles", "verdict", "--store", "file://" + dir, "--wave", "W1", "--ics", "QMM",
		"--profile", "women-multimorbidity-heart", "--expectation", "heart-failure-care", "--verdict", "not_met",
		"--analyst", "A Analyst", "--note", note})
	root.SilenceUsage, root.SilenceErrors = true, true
	out, err := captureStdout(t, func() error { return root.ExecuteContext(ctx) })
	if err == nil || errors.Is(err, ErrNoSample) || !strings.Contains(err.Error(), "--note holds personal data (") {
		t.Fatalf("err = %v, want the note refused", err)
	}
	for _, kind := range []string{"nhs number", "phone", "postcode", "address", "name"} {
		if !strings.Contains(err.Error(), kind) {
			t.Errorf("error %q does not name %s", err, kind)
		}
	}
	for _, s := range []string{"Jane", "Smith", "5919", "07700", "High Street", "NR1"} {
		if strings.Contains(err.Error(), s) || strings.Contains(out, s) {
			t.Errorf("error %q or output %q repeats %q from the note", err, out, s)
		}
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("the store holds %v after the refusal (%v)", ents, err)
	}
}
