package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"icesurvey/store"
)

// A file the spec names and the workers' store lacks fails naming the workers'
// store: the usual cause is `ice wave start` copying a local file into its own --store
// (or ICE_STORE), not the workers', where patients' data then sits beyond retention.
// The error said only "object does not exist".
func TestIntakeOfAFileTheStoreLacksNamesTheStore(t *testing.T) {
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var env testsuite.WorkflowTestSuite
	act := env.NewTestActivityEnvironment()
	a := &Activities{Store: st, PseudonymKey: []byte("intake-test-key-0123456789abcdef")}
	act.RegisterActivity(a.Intake)
	_, err = act.ExecuteActivity(a.Intake, IntakeInput{Scope: Scope{WaveID: "W1", ICS: "QMM"}, SamplingDate: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		MinEligible: 1, SampleFile: "restricted-landing/W1/QMM/sample.csv", MailingFile: "restricted-landing/W1/QMM/mailing.csv"})
	if err == nil || !strings.Contains(err.Error(), "the workers' store is "+st.URL()) || !strings.Contains(err.Error(), "--store or ICE_STORE") {
		t.Fatalf("intake of files the store lacks: %v, want it to name the workers' store and the client's --store", err)
	}
}

// The intake reads the sample and mailing files only from the restricted landing area,
// whoever started the wave (a client other than `ice wave start`, whose StageFiles
// refuses first): read from the open landing area it also wrote its rejection report
// there, beside the sample file, where readers of files with no personal data read.
func TestIntakeRefusesFilesOutsideTheRestrictedLandingArea(t *testing.T) {
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sample := "NHS_NUMBER,POSTCODE\n9434765919,EX4 3PQ\n"
	for _, k := range []string{"landing/W1/QMM/sample.csv", "landing/W1/QMM/mailing.csv"} {
		if err := store.PutBytes(ctx, st, k, []byte(sample)); err != nil {
			t.Fatal(err)
		}
	}
	var env testsuite.WorkflowTestSuite
	act := env.NewTestActivityEnvironment()
	a := &Activities{Store: st, PseudonymKey: []byte("intake-test-key-0123456789abcdef")}
	act.RegisterActivity(a.Intake)
	_, err = act.ExecuteActivity(a.Intake, IntakeInput{Scope: Scope{WaveID: "W1", ICS: "QMM"}, SamplingDate: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC),
		MinEligible: 1, SampleFile: "landing/W1/QMM/sample.csv", MailingFile: "landing/W1/QMM/mailing.csv"})
	if err == nil || !strings.Contains(err.Error(), "read only from restricted-landing/") {
		t.Fatalf("intake of files in landing/: %v, want it refused", err)
	}
	objs, err := st.List(ctx, "landing/")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Errorf("landing/ holds %d objects, want only the two files: %+v", len(objs), objs)
	}
}
