//go:build !production

package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/activities"
	"icesurvey/infra/devstack"
	"icesurvey/internal/idscan"
	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// TestLinkageEndToEnd runs the consented linkage on the embedded Temporal server
// through the CLI: `ice synth linkage` writes the providers' extracts and the truth for
// a synthetic wave, `ice link` builds release R1, `ice link withdraw` records one
// linked person's withdrawal and `ice link --withdrawals-only` builds R2. It checks the
// issue's "done when": the withdrawn person is absent from every linked output, export
// and warehouse table of R2 (and R1's person-level outputs are gone), no non-consenting
// respondent is ever present, the quality report's match rates equal the truth file's
// in both releases, every published aggregate count passed disclosure control, and no
// linked output, export, report, log or audit record holds an NHS number or a project
// pseudonym.
func TestLinkageEndToEnd(t *testing.T) {
	// Everything the pipeline logs through the default logger (the linkage package's
	// own lines) is kept, to be scanned with the worker's log.
	var logged idscan.SyncBuffer
	prev := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	ctx, st, wc := startE2E(t)
	const wave = "link-e2e"
	key, err := devstack.PseudonymKey(st.DataDir)
	if err != nil {
		t.Fatal(err)
	}
	ws, err := synthlink.WriteWave(ctx, st.Store, synthlink.WaveConfig{WaveID: wave, ICSs: []string{"QMM", "QWE"}, PerICS: 300,
		Respondents: 150, ConsentRate: 0.66, WithdrawRate: 0.05, Seed: 7, ProjectKey: key})
	if err != nil {
		t.Fatal(err)
	}
	server := []string{"--address", st.Server.HostPort(), "--namespace", st.Server.Namespace()}
	ice := func(args ...string) {
		t.Helper()
		cmd := rootCmd()
		cmd.SetArgs(args)
		if err := cmd.ExecuteContext(ctx); err != nil {
			t.Fatalf("ice %s: %v", strings.Join(args, " "), err)
		}
	}
	ice("synth", "linkage", "--wave", wave, "--store", st.Store.URL(), "--key-file", filepath.Join(st.DataDir, "pseudonym.key"),
		"--seed", "11", "--faults", "0.03")

	// A wave the cluster does not know is refused (a mistyped id would have its consent
	// derived and written): the synthetic waves here, written straight to the lake, are
	// linked with --any-wave.
	if _, err := captureStdout(t, func() error {
		cmd := rootCmd()
		cmd.SetArgs(append([]string{"link", "--wave", "no-such-wave", "--release", "R1"}, server...))
		return cmd.ExecuteContext(ctx)
	}); !errors.Is(err, waveclient.ErrUnknownWave) {
		t.Errorf("ice link for a wave the cluster does not know: %v, want ErrUnknownWave", err)
	}
	// With --any-wave, a wave with no sample fails at validation, and `ice link` shows
	// how far it came (the consent step) before the error: a failed run returns no
	// result to print.
	out, err := captureStdout(t, func() error {
		cmd := rootCmd()
		cmd.SetArgs(append([]string{"link", "--any-wave", "--wave", "no-such-wave", "--release", "R1"}, server...))
		return cmd.ExecuteContext(ctx)
	})
	if err == nil || !strings.Contains(err.Error(), "no sample in the lake") {
		t.Errorf("ice link for a wave with no sample: %v", err)
	}
	if !strings.Contains(out, "linkage no-such-wave release R1: step validate") || !strings.Contains(out, "consent  0 events") ||
		!strings.Contains(out, "release R1 FAILED at step validate") {
		t.Errorf("ice link for a wave with no sample printed\n%s", out)
	}
	// Its status says the run failed there, and why, not only the step it reached.
	out, err = captureStdout(t, func() error {
		cmd := rootCmd()
		cmd.SetArgs(append([]string{"link", "status", "--wave", "no-such-wave"}, server...))
		return cmd.ExecuteContext(ctx)
	})
	if err != nil || !strings.Contains(out, "run         FAILED at step validate: ") || !strings.Contains(out, "no sample in the lake") {
		t.Errorf("ice link status of the failed run: %v\n%s", err, out)
	}

	// An extract outside the dataset folders (a misspelt folder) fails the run at
	// validation, named with why and the folders it belongs in: nothing is validated,
	// and nothing deleted.
	stray := schemas.LinkageLandingArea(wave) + "hes_apc/misplaced.csv"
	landed, err := st.Store.List(ctx, schemas.LinkageLandingArea(wave))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st.Store, stray, []byte("PERSON_KEY\n")); err != nil {
		t.Fatal(err)
	}
	out, err = captureStdout(t, func() error {
		cmd := rootCmd()
		cmd.SetArgs(append([]string{"link", "--any-wave", "--wave", wave, "--release", "R0"}, server...))
		return cmd.ExecuteContext(ctx)
	})
	if err == nil || !strings.Contains(err.Error(), stray+" (not in a dataset's folder)") || !strings.Contains(err.Error(), "apc/, ") ||
		!strings.Contains(out, "release R0 FAILED at step validate") {
		t.Errorf("ice link with an extract in a misspelt folder: %v\n%s", err, out)
	}
	if left, _ := st.Store.List(ctx, schemas.LinkageLandingArea(wave)); len(left) != len(landed)+1 {
		t.Errorf("after the refused run the landing area holds %d objects, want the %d landed and the stray one", len(left), len(landed))
	}
	if err := st.Store.Delete(ctx, stray); err != nil {
		t.Fatal(err)
	}

	// Release R1.
	ice(append([]string{"link", "--any-wave", "--wave", wave, "--release", "R1"}, server...)...)
	r1, err := wc.WaitLinkage(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Step != "done" || len(r1.Extracts) != 7 {
		t.Fatalf("R1 ended at step %s with %d extracts", r1.Step, len(r1.Extracts))
	}
	var excluded int64
	for _, e := range r1.Extracts {
		if e.Refused != "" || e.RowsRead != e.Accepted+e.Rejected+e.Excluded || e.Accepted == 0 || e.Rejected == 0 {
			t.Errorf("extract %s: %+v", e.Key, e)
		}
		excluded += e.Excluded
	}
	if excluded == 0 {
		t.Error("no extract row was excluded: the non-consenters' activity should be")
	}
	if r1.Release.Consented != int64(len(ws.Consenting)) || len(r1.Release.Accuracy) != 7 || r1.Export.Files == 0 {
		t.Fatalf("R1: %d consented (want %d), accuracy for %d datasets, %d files exported",
			r1.Release.Consented, len(ws.Consenting), len(r1.Release.Accuracy), r1.Export.Files)
	}
	checkMatchRatesEqualTruth(t, ctx, st.Store, wave, "R1", ws.Consenting)
	checkDisclosed(t, ctx, st.Store, wave, "R1")
	// The validated extracts (the whole sample's activity) were deleted at the end of
	// the run, with their manifests, their lineage kept in the reports area.
	if r1.Landing == nil || len(r1.Landing.Deleted) != 7 || r1.Landing.Recorded != 7 || len(r1.Landing.Kept) != 0 {
		t.Fatalf("R1 landing: %+v, want 7 extracts recorded and deleted", r1.Landing)
	}
	if left, err := st.Store.List(ctx, schemas.LinkageLandingArea(wave)); err != nil || len(left) != 0 {
		t.Fatalf("after R1 the linkage landing area holds %d objects (%v), want none", len(left), err)
	}
	lineage, err := linkage.ReadExtractLineage(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	if len(lineage.Files) != 7 {
		t.Fatalf("extract lineage has %d files, want 7", len(lineage.Files))
	}
	for _, f := range lineage.Files {
		var e *activities.LinkageExtractResult
		for i := range r1.Extracts {
			if r1.Extracts[i].Key == f.Key {
				e = &r1.Extracts[i]
			}
		}
		if e == nil || f.SHA256 != e.SHA256 || f.RowsRead != e.RowsRead || f.Accepted != e.Accepted || f.Release != "R1" || f.Bytes == 0 {
			t.Errorf("lineage %+v does not match the validation %+v", f, e)
		}
	}
	recordHistories(t, ctx, wc, map[string]string{"linkage.json": workflows.LinkageWorkflowID(wave)})

	// The withdrawal: a consenter found in at least one dataset.
	cohort, err := linkage.LoadCohort(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	rel1 := releaser(t, key, wave, "R1")
	linked1 := map[string]bool{}
	if err := lake.ScanStrings(ctx, st.Store, schemas.LinkedKey(schemas.LinkedActivityTable("gpad"), wave, "R1"), []string{"release_pseudonym"},
		func(row []string) error { linked1[row[0]] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	var chosen *linkage.Person
	for i := range cohort.People {
		if p := &cohort.People[i]; p.Consented && linked1[rel1.Pseudonym(p.NHSPseudonym)] {
			chosen = p
			break
		}
	}
	if chosen == nil {
		t.Fatal("no consenter was linked to GP appointments in R1")
	}
	// Right after validation nothing was left to purge; the chosen person's activity is
	// in the restricted lake's validated extracts (so the scan after R2 can fail).
	if r1.Purge == nil || r1.Purge.Objects == 0 || r1.Purge.Rows != 0 || r1.Purge.Rewritten != 0 {
		t.Errorf("R1 purge: %+v, want every object read and nothing purged", r1.Purge)
	}
	chosenKey := map[string]bool{strings.ToLower(chosen.NHSPseudonym): true}
	if n := scanLakeExtracts(t, ctx, st, wave, chosenKey); n == 0 {
		t.Fatal("the chosen person's project pseudonym is nowhere in the lake's validated extracts after R1")
	}
	// The command twice with one command id (a retry) is one withdrawal, and the second
	// says so; the id given again for another person is refused, naming the first (the
	// cluster handed back the first run, and "withdrawal recorded" was printed for a
	// person whose withdrawal was never recorded).
	withdraw := func(record string) (string, error) {
		return captureStdout(t, func() error {
			cmd := rootCmd()
			cmd.SetArgs(append([]string{"link", "withdraw", "--any-wave", "--wave", wave, "--record", record, "--operator", "A. Engineer",
				"--command-id", "e2e-withdraw-1"}, server...))
			return cmd.ExecuteContext(ctx)
		})
	}
	for i, want := range []string{"withdrawal recorded: ", "withdrawal already recorded, by this command id (e2e-withdraw-1)"} {
		out, err := withdraw(chosen.SurveyRecordID)
		if err != nil || !strings.HasPrefix(out, want) {
			t.Fatalf("withdrawal %d with one command id: %q, %v; want it to begin %q", i+1, out, err, want)
		}
	}
	var other string
	for i := range cohort.People {
		if p := &cohort.People[i]; p.SurveyRecordID != chosen.SurveyRecordID {
			other = p.SurveyRecordID
			break
		}
	}
	if out, err := withdraw(other); err == nil || !strings.Contains(err.Error(), "command id e2e-withdraw-1 was used before, for the withdrawal of "+chosen.SurveyRecordID) {
		t.Fatalf("the command id again for %s: %q, %v; want a refusal naming the first withdrawal", other, out, err)
	}
	events, err := linkage.ReadConsentEvents(ctx, st.Store, wave)
	if err != nil {
		t.Fatal(err)
	}
	var recorded int
	for _, e := range events {
		if e.SurveyRecordID == chosen.SurveyRecordID && e.SourceKind == schemas.ConsentSourceOperator {
			recorded++
			if e.Event != schemas.ConsentWithdrawn || e.Reason != linkage.ReasonWithdrawLinkage || e.Operator != "A. Engineer" ||
				e.SourceRef != "e2e-withdraw-1" || e.ICS != chosen.ICS {
				t.Errorf("the withdrawal event: %+v", e)
			}
		}
	}
	if recorded != 1 {
		t.Fatalf("%d operator withdrawals recorded for the chosen person, want 1", recorded)
	}

	// A release id is used once: R1 again is refused (the visibility store that lists
	// R1's run may lag its end by a moment; a start let through meanwhile is waited for).
	var reused error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if _, reused = wc.StartLinkage(ctx, waveclient.LinkageInput{WaveID: wave, ReleaseID: "R1", WithdrawalsOnly: true}); reused != nil {
			break
		}
		if _, err := wc.WaitLinkage(ctx, wave); err != nil {
			t.Fatal(err)
		}
	}
	if !errors.Is(reused, waveclient.ErrReleaseIDUsed) || !strings.Contains(reused.Error(), "release R1 was built before") {
		t.Fatalf("a second release R1: %v, want it refused", reused)
	}

	// Release R2, withdrawals only; its run first meets a cause only a person can fix (a
	// file where the release's directory must go, "not a directory": retried, as every
	// unclassified error is). `ice link` says what is being retried while it waits, and
	// the run carries on once the file is moved.
	checkRetryingReported(t, ctx, st, wc, wave, func() error {
		cmd := rootCmd()
		cmd.SetArgs(append([]string{"link", "--any-wave", "--wave", wave, "--withdrawals-only", "--release", "R2"}, server...))
		return cmd.ExecuteContext(ctx)
	})
	r2, err := wc.WaitLinkage(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Step != "done" || !r2.WithdrawalsOnly || len(r2.Extracts) != 0 || r2.Release.Consented != r1.Release.Consented-1 || r2.Release.Retired == 0 {
		t.Fatalf("R2: step %s, withdrawals only %v, %d extracts validated, %d consented (R1 %d), %d objects retired",
			r2.Step, r2.WithdrawalsOnly, len(r2.Extracts), r2.Release.Consented, r1.Release.Consented, r2.Release.Retired)
	}
	// The withdrawals-only run purged the withdrawn person's rows from the restricted
	// lake's validated extracts (activity and diagnoses), and only theirs.
	if p := r2.Purge; p == nil || p.People != 1 || p.Rows == 0 || p.Rewritten == 0 {
		t.Errorf("R2 purge: %+v, want the withdrawn person's rows", p)
	}
	if n := scanLakeExtracts(t, ctx, st, wave, chosenKey); n != 0 {
		t.Errorf("the withdrawn person's project pseudonym is still %d times in the lake's validated extracts", n)
	}
	consenting2 := map[string]bool{}
	for id := range ws.Consenting {
		if id != chosen.SurveyRecordID {
			consenting2[id] = true
		}
	}
	checkMatchRatesEqualTruth(t, ctx, st.Store, wave, "R2", consenting2)
	checkDisclosed(t, ctx, st.Store, wave, "R2")

	// Nothing of R1's person-level outputs or export is left.
	for _, p := range []string{schemas.LinkageExportPrefix(wave, "R1"), schemas.LinkedPartition(schemas.TableLinkedRespondents, wave, "R1"),
		schemas.LinkedPartition(schemas.TableLinkedAnswers, wave, "R1"), schemas.LinkedPartition(schemas.LinkedActivityTable("gpad"), wave, "R1")} {
		if infos, err := st.Store.List(ctx, p); err != nil || len(infos) != 0 {
			t.Errorf("%s: %d objects left after R2 (%v)", p, len(infos), err)
		}
	}

	// The withdrawn person, and every respondent who did not consent, under either
	// release's pseudonym; NHS numbers and project pseudonyms of everyone.
	rel2 := releaser(t, key, wave, "R2")
	absent := map[string]bool{rel1.Pseudonym(chosen.NHSPseudonym): true, rel2.Pseudonym(chosen.NHSPseudonym): true}
	nonConsenting := 0
	for _, p := range cohort.People {
		if p.Responded && !ws.Consenting[p.SurveyRecordID] {
			nonConsenting++
			absent[rel1.Pseudonym(p.NHSPseudonym)], absent[rel2.Pseudonym(p.NHSPseudonym)] = true, true
		}
	}
	if nonConsenting == 0 {
		t.Fatal("the wave has no non-consenting respondent")
	}
	identifiers := map[string]bool{}
	for _, s := range append(append([]string(nil), ws.NHSNumbers...), ws.Pseudonyms...) {
		identifiers[strings.ToLower(s)] = true
	}
	scanned := scanLinkage(t, ctx, st, wave, absent, "a withdrawn or non-consenting person's release pseudonym")
	scanLinkage(t, ctx, st, wave, identifiers, "an NHS number or project pseudonym")
	if scanned < 20 {
		t.Errorf("only %d outputs scanned", scanned)
	}
	text := logged.String()
	if !strings.Contains(text, "linkage release built") {
		t.Error("the linkage logged nothing through the default logger: the log scan would prove nothing")
	}
	for what, tokens := range map[string]map[string]bool{"release pseudonyms of the withdrawn or non-consenting": absent, "NHS numbers or project pseudonyms": identifiers} {
		if n := len(idscan.Tokens(text, tokens)); n > 0 {
			t.Errorf("the default log holds %d × %s", n, what)
		}
	}

	// The warehouse holds R2 only, without the withdrawn person.
	err = st.Warehouse.Read(ctx, func(db *sql.DB) error {
		var all, ofR1, ofChosen int64
		if err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE release_id = 'R1'), count(*) FILTER (WHERE release_pseudonym = ?)
			FROM linked_respondents WHERE wave_id = ?`, rel2.Pseudonym(chosen.NHSPseudonym), wave).Scan(&all, &ofR1, &ofChosen); err != nil {
			return err
		}
		if all != r2.Release.Consented || ofR1 != 0 || ofChosen != 0 {
			t.Errorf("warehouse linked_respondents: %d rows (want %d), %d of R1, %d of the withdrawn person", all, r2.Release.Consented, ofR1, ofChosen)
		}
		var applied int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, linkage.WarehouseVersion).Scan(&applied); err != nil {
			return err
		}
		if applied != 1 {
			t.Errorf("migration %d applied %d times", linkage.WarehouseVersion, applied)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The linkage's warehouse tables come back from the lake's current release.
	checkWarehouseRebuildsFromTheLake(t, ctx, st, wc, wave)
	// The last reload, into the emptied warehouse, loaded every kind of object.
	recordHistories(t, ctx, wc, map[string]string{"warehouse-reload.json": workflows.WarehouseReloadWorkflowID(wave)})
}

func releaser(t *testing.T, key []byte, wave, release string) *linkage.Releaser {
	t.Helper()
	r, err := linkage.NewReleaser(key, wave, release)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// checkMatchRatesEqualTruth compares every cell of a release's match rates with the
// truth file's answer for the given consenters: a consenter is found in a dataset when
// a row the truth expects to be accepted carries their key.
func checkMatchRatesEqualTruth(t *testing.T, ctx context.Context, st store.Store, wave, release string, consenting map[string]bool) {
	t.Helper()
	truth, err := lake.GetRows[schemas.LinkageTruth](ctx, st, schemas.LinkageTruthKey(wave), schemas.LinkageTruthLayout())
	if err != nil {
		t.Fatal(err)
	}
	rates, err := lake.GetRows[schemas.LinkageMatchRate](ctx, st, schemas.LinkedKey(schemas.TableLinkageMatchRates, wave, release), schemas.LinkageMatchRateLayout())
	if err != nil {
		t.Fatal(err)
	}
	cohort, err := linkage.LoadCohort(ctx, st, wave)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]map[string]bool{"any": {}}
	datasets := map[string]bool{}
	for _, tr := range truth {
		datasets[tr.DatasetID] = true
		if tr.Expected != schemas.TruthAccepted {
			continue
		}
		if found[tr.DatasetID] == nil {
			found[tr.DatasetID] = map[string]bool{}
		}
		found[tr.DatasetID][tr.DeliveredKey], found["any"][tr.DeliveredKey] = true, true
	}
	datasets["any"] = true
	type cell struct{ dataset, dim, cat string }
	want := map[cell][2]int64{}
	for _, p := range cohort.People {
		if !consenting[p.SurveyRecordID] {
			continue
		}
		for ds := range datasets {
			var linked int64
			if found[ds][p.NHSPseudonym] {
				linked = 1
			}
			for dim, cat := range map[string]string{"all": "all", "ics": p.ICS, "age_band": p.AgeBand, "gender": p.Gender,
				"ethnicity_group": p.EthnicityGroup, "efi_band": p.EFIBand} {
				c := want[cell{ds, dim, cat}]
				want[cell{ds, dim, cat}] = [2]int64{c[0] + 1, c[1] + linked}
			}
		}
	}
	if len(rates) != len(want) || len(rates) == 0 {
		t.Errorf("%s: %d match-rate cells, the truth has %d", release, len(rates), len(want))
	}
	for _, r := range rates {
		c := want[cell{r.DatasetID, r.Dimension, r.Category}]
		if r.Consenters != c[0] || r.Linked != c[1] {
			t.Errorf("%s %s %s=%s: report %d of %d, truth %d of %d", release, r.DatasetID, r.Dimension, r.Category, r.Linked, r.Consenters, c[1], c[0])
		}
	}
}

// checkDisclosed: the release's disclosure-checked aggregates publish no count of 1 to
// 4 and no base under 10, and withhold something (the wave is small enough to need it).
func checkDisclosed(t *testing.T, ctx context.Context, st store.Store, wave, release string) {
	t.Helper()
	rows, err := lake.GetRows[schemas.LinkageDisclosed](ctx, st, schemas.LinkedKey(schemas.TableLinkageDisclosed, wave, release), schemas.LinkageDisclosedLayout())
	if err != nil {
		t.Fatal(err)
	}
	withheld, aggregates := 0, map[string]bool{}
	for _, r := range rows {
		aggregates[r.Aggregate] = true
		if r.Count == nil {
			withheld++
			if r.Status == "" || r.Share != nil {
				t.Errorf("%s: withheld cell %s/%s/%s=%s/%s with status %q and a share", release, r.Aggregate, r.Subject, r.Grouping, r.GroupValue, r.Category, r.Status)
			}
			continue
		}
		if (*r.Count > 0 && *r.Count < 5) || r.Base == nil || *r.Base < 10 {
			t.Errorf("%s: published %s/%s/%s=%s/%s: count %d, base %v", release, r.Aggregate, r.Subject, r.Grouping, r.GroupValue, r.Category, *r.Count, r.Base)
		}
	}
	if withheld == 0 || len(aggregates) != 5 { // experience by burden, by condition and by consent; match rates; consent rates
		t.Errorf("%s: %d of %d disclosed cells withheld, aggregates %v", release, withheld, len(rows), aggregates)
	}
}

// scanLinkage looks for any of the forbidden tokens in every linked output, quality
// table, report and export of the wave (raw bytes and, for Parquet, every decoded
// value), in the worker's log, and in the warehouse's linkage tables and audit trail.
func scanLinkage(t *testing.T, ctx context.Context, st *devstack.Stack, wave string, forbidden map[string]bool, what string) (scanned int) {
	t.Helper()
	check := func(where, text string) {
		scanned++
		if n := len(idscan.Tokens(text, forbidden)); n > 0 {
			t.Errorf("%s holds %d × %s", where, n, what)
		}
	}
	var keys []string
	for _, p := range []string{"lake/linked_", "lake/linkage_cohort_flow/", "lake/linkage_match_rates/", "lake/linkage_consent_bias/",
		"lake/linkage_accuracy/", "lake/linkage_disclosed/", "reports/linkage/" + wave + "/", "export/udal/" + wave + "/"} {
		infos, err := st.Store.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			keys = append(keys, in.Key)
		}
	}
	for _, k := range keys {
		path := filepath.Join(st.Store.Root(), k)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		check(k, string(raw))
		if strings.HasSuffix(k, ".parquet") {
			check(k+" (decoded)", idscan.ParquetText(t, path))
		}
	}
	log, err := os.ReadFile(filepath.Join(st.DataDir, "worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	check("the worker's log", string(log))
	err = st.Warehouse.Read(ctx, func(db *sql.DB) error {
		return idscan.VarcharColumns(ctx, db, `table_name LIKE 'linked%' OR table_name LIKE 'linkage%' OR table_name = 'audit_log'`, check)
	})
	if err != nil {
		t.Fatal(err)
	}
	return scanned
}

// scanLakeExtracts counts the forbidden tokens in the restricted lake's validated
// extracts of every dataset and their diagnosis codes (raw bytes and decoded values).
func scanLakeExtracts(t *testing.T, ctx context.Context, st *devstack.Stack, wave string, forbidden map[string]bool) (n int) {
	t.Helper()
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	var prefixes []string
	for _, id := range defs.IDs() {
		prefixes = append(prefixes, schemas.LinkageActivityPrefix(id, wave))
	}
	objects := 0
	for _, p := range append(prefixes, schemas.LinkageDiagnosesPrefix(wave)) {
		infos, err := st.Store.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			path := filepath.Join(st.Store.Root(), in.Key)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			objects++
			n += len(idscan.Tokens(string(raw), forbidden)) + len(idscan.Tokens(idscan.ParquetText(t, path), forbidden))
		}
	}
	if objects <= len(prefixes) {
		t.Fatalf("only %d validated extract objects to scan", objects)
	}
	return n
}

// checkRetryingReported runs link (an `ice link` of release R2) with a file where R2's
// linked_respondents directory must go: the release's activity fails and is retried.
// Once the failure is seen (as `ice link status` lists it), the file is removed; the
// run must then complete, and `ice link` must have said on stderr what was retried.
func checkRetryingReported(t *testing.T, ctx context.Context, st *devstack.Stack, wc *waveclient.Client, wave string, link func() error) {
	t.Helper()
	blocker := filepath.Join(st.Store.Root(), filepath.FromSlash(strings.TrimSuffix(
		schemas.LinkedPartition(schemas.TableLinkedRespondents, wave, "R2"), "/")))
	if err := os.MkdirAll(filepath.Dir(blocker), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blocker, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	saved := retryReportEvery
	retryReportEvery = 100 * time.Millisecond
	t.Cleanup(func() { retryReportEvery = saved })
	statusShown := make(chan string, 1)
	go func() {
		defer os.Remove(blocker)
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			rs, err := wc.RetryingUnder(ctx, workflows.LinkageWorkflowID(wave))
			if err == nil && len(rs) > 0 {
				var b strings.Builder
				printRetrying(&b, rs)
				// The wave's status looks in every running workflow of the wave.
				inWave, err := wc.RetryingInWave(ctx, wave)
				fmt.Fprintf(&b, "in the wave: %v (%v)\n", inWave, err)
				statusShown <- b.String()
				time.Sleep(time.Second) // the waiting command's report looks every 100ms
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		statusShown <- ""
	}()
	stderr, err := captureStderr(t, link)
	if err != nil {
		t.Fatalf("ice link R2 with its directory blocked, then freed: %v", err)
	}
	status := <-statusShown
	for _, want := range []string{"retrying after a failure", "(in LinkageWorkflow " + workflows.LinkageWorkflowID(wave) + ")", "not a directory",
		"in the wave: [BuildLinkageRelease (in LinkageWorkflow " + workflows.LinkageWorkflowID(wave) + ")"} {
		if !strings.Contains(status, want) {
			t.Errorf("the linkage's status while R2 was blocked does not say %q:\n%s", want, status)
		}
	}
	for _, want := range []string{"still waiting: ", "(in LinkageWorkflow ", "and is retried", "not a directory", retryingHint} {
		if !strings.Contains(stderr, want) {
			t.Errorf("ice link while R2 was blocked did not say %q on stderr:\n%s", want, stderr)
		}
	}
	if rs, err := wc.RetryingUnder(ctx, workflows.LinkageWorkflowID(wave)); err != nil || len(rs) != 0 {
		t.Errorf("after the run ended, retrying under it: %v, %v; want none", rs, err)
	}
}
