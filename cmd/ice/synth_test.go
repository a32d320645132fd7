package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"icesurvey/dbs"
	"icesurvey/schemas"
	"icesurvey/sim/dbssim"
	"icesurvey/store"
	"icesurvey/synth"
)

// ice synth sample --store, run for one ICS after another (the README's order, with
// ice dev already running), leaves every ICS's deaths for the simulated DBS: the
// second sample no longer replaces the first's register, and ice dev's simulator
// (dbssim with ReadRegisters, as devstack makes it) reports both ICSs' deaths in a
// reply after both samples, without a restart.
func TestSynthSampleKeepsEachICSsDeaths(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	outside, err := store.NewFileStore(filepath.Join(dir, "outside"))
	if err != nil {
		t.Fatal(err)
	}
	sim := dbssim.NewSimulator(outside, "")
	sim.Delay, sim.ReadRegisters = 0, true // as devstack.Start makes it, before any register exists
	var contacts []schemas.Contact
	for i, code := range []string{"QMM", "QJK"} {
		root := rootCmd()
		root.SetArgs([]string{"synth", "sample", "--ics", code, "--n", "300", "--seed", "7", "--faults", "0", "--deaths", "0.1",
			"--out", filepath.Join(dir, "data"), "--store", "file://" + filepath.Join(dir, "outside")})
		if _, err := captureStdout(t, func() error { return root.ExecuteContext(ctx) }); err != nil {
			t.Fatalf("synth sample --ics %s: %v", code, err)
		}
		// The same sample again, for the NHS numbers the command counts but never prints.
		_, _, stats, err := synth.GenerateFiles(synth.Config{ICS: code, N: 300, Seed: 7, DeathRate: 0.1}, t.TempDir())
		if err != nil || len(stats.DeceasedNHS) == 0 {
			t.Fatalf("%s: %d deaths, %v", code, len(stats.DeceasedNHS), err)
		}
		for nhs := range stats.DeceasedNHS {
			c := schemas.Contact{SurveyRecordID: code + "-" + string(rune('A'+i)), NHSNumber: nhs, DateOfBirth: stats.DeceasedNHS[nhs].AddDate(-80, 0, 0),
				LastName: "Test", FirstName: "Test", Postcode: "NR1 1AA", ICS: code}
			contacts = append(contacts, c)
			break
		}
	}
	body, err := dbs.BuildRequest(contacts)
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Submit(ctx, "r1", body); err != nil {
		t.Fatal(err)
	}
	reply, ready, err := sim.Fetch(ctx, "r1")
	if err != nil || !ready {
		t.Fatalf("fetch: ready=%v err=%v", ready, err)
	}
	rows, err := dbs.ParseResponse(reply)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.DateOfDeath == nil {
			t.Errorf("%s: the simulated DBS does not report the death its ICS's sample registered", r.UniqueReference)
		}
	}
	if len(rows) != 2 {
		t.Errorf("%d rows in the reply", len(rows))
	}
}

// ice synth sessions writes notes only under a wave and ICS the store has a sample of:
// a mistyped wave, or qmm for QMM, is refused (the latter with "did you mean QMM?"),
// and nothing is written.
func TestSynthSessionsRefusesAMistypedWaveOrICS(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, "file://"+dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, schemas.SampleKey("W1", "QMM"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ wave, ics, want string }{
		{"W1-typo", "QMM", "is the wave id or ICS code right"},
		{"W1", "qmm", "did you mean QMM?"},
	} {
		root := rootCmd()
		root.SetArgs([]string{"synth", "sessions", "--profile", "south-asian-diabetes", "--wave", c.wave, "--ics", c.ics, "--store", "file://" + dir})
		if _, err := captureStdout(t, func() error { return root.ExecuteContext(ctx) }); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("synth sessions --wave %s --ics %s: %v, want %q", c.wave, c.ics, err, c.want)
		}
		if infos, _ := st.List(ctx, schemas.FreeTextRoot(c.wave, c.ics)); len(infos) != 0 {
			t.Errorf("--wave %s --ics %s: wrote %v", c.wave, c.ics, infos)
		}
	}
}
