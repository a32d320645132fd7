package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/localindex"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/web/dashdata"
)

// An unknown --profile is refused before anything is asked of the cluster or written:
// no client is dialled here, and no --out directory made.
func TestProfileReportRefusesAnUnknownProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	paths, err := writeProfileReports(context.Background(), nil, st, &reader{}, "W1", []string{"QMM"}, []string{"women-multimorbidity-heart", "no-such-profile"}, false, dir)
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

// The reports that quote free text are an export: before any report is built, --by
// must be allowed to download the free text of every ICS whose reports quote it. A
// reader of QMM only gets no report at all (the client is nil: a report asked for
// would panic), and the refusal is on record as a refused download of QJK.
func TestProfileReportChecksEveryGrantFirst(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "file://"+filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	const wave, profile, bob = "W1", "women-multimorbidity-heart", "bob@example.nhs.uk"
	for _, ics := range []string{"QMM", "QJK"} {
		b, _ := json.Marshal(localindex.ChosenQuote{Expectation: "e1", Candidate: "c-" + ics, Source: "session s", Text: "t", Coder: "fay", ChosenAt: time.Now()})
		if err := store.PutBytes(ctx, st, schemas.ProfileQuoteKey(wave, ics, profile, "e1", "c-"+ics), b); err != nil {
			t.Fatal(err)
		}
	}
	today, until := time.Now().UTC().AddDate(0, 0, -1).Format(time.DateOnly), time.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
	accessFile := filepath.Join(dir, "access.yaml")
	if err := os.WriteFile(accessFile, []byte("version: 1\nusers:\n  - id: "+bob+"\n    name: Bob\n    free_text:\n      - {ics: QMM, approved_by: Caldicott Guardian, approved_on: "+
		today+", expires: "+until+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var paths []string
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("a report was asked for before every grant was checked (%v)", r)
			}
		}()
		paths, err = writeProfileReports(ctx, nil, st, &reader{accessFile: accessFile, user: bob}, wave, []string{"QMM", "QJK"}, []string{profile}, false, out)
	}()
	if err == nil || !strings.Contains(err.Error(), "no report written") || !strings.Contains(err.Error(), "may not download the free text of QJK") {
		t.Fatalf("bob, a reader of QMM only: %v; want no report written, naming the download of QJK refused", err)
	}
	if len(paths) != 0 {
		t.Errorf("wrote %v", paths)
	}
	evs, err := dashdata.FreeTextStore{Store: st}.FreeTextReads(ctx, wave, "QJK")
	if err != nil || len(evs) != 1 || evs[0].Allowed || evs[0].Action != freetext.ActionDownload {
		t.Errorf("QJK's audit records %+v (%v): want one refused download", evs, err)
	}
}
