package main

import (
	"context"
	"path/filepath"
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
