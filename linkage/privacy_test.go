package linkage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"icesurvey/audit"
	"icesurvey/internal/idscan"
	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// scanOutputs checks every output object (linked tables, quality tables, reports,
// exports), the warehouse, the logs and the audit events for forbidden identifiers.
func scanOutputs(t *testing.T, st *store.FileStore, whPath string, events []audit.DomainEvent, forbidden map[string]bool) (scanned int) {
	t.Helper()
	ctx := context.Background()
	check := func(where, text string) {
		scanned++
		if found := idscan.Tokens(text, forbidden); len(found) > 0 {
			t.Errorf("%s holds %d identifier(s), e.g. %s…", where, len(found), found[0][:6])
		}
	}
	var outputs []string
	for _, p := range []string{"lake/linked_", "lake/linkage_cohort_flow/", "lake/linkage_match_rates/", "lake/linkage_consent_bias/",
		"lake/linkage_accuracy/", "reports/", "export/"} {
		infos, err := st.List(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			outputs = append(outputs, in.Key)
		}
	}
	for _, k := range outputs {
		path := filepath.Join(st.Root(), k)
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		check(k+" (bytes)", string(raw))
		if strings.HasSuffix(k, ".parquet") {
			check(k+" (decoded)", idscan.ParquetText(t, path))
		}
	}
	if whPath != "" {
		db, err := warehouse.OpenReadOnly(whPath)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := idscan.VarcharColumns(ctx, db, "", check); err != nil {
			t.Fatal(err)
		}
	}
	check("the logs", string(logs.Bytes()))
	for _, e := range events {
		check("audit event "+e.Kind, audit.DetailsJSON(e.Details))
	}
	return scanned
}

func TestWithdrawalConsentAndNoIdentifierInAnyOutput(t *testing.T) {
	ctx, collector := audit.WithCollector(context.Background())
	w := newTestWave(t, 300, 150)
	gs, _ := w.generate(t, "csv")
	whPath := filepath.Join(t.TempDir(), "warehouse.duckdb")
	wh, err := warehouse.Open(ctx, whPath)
	if err != nil {
		t.Fatal(err)
	}
	release := func(id string) *linkage.ReleaseResult {
		res, err := linkage.BuildRelease(ctx, w.st, linkage.ReleaseConfig{WaveID: w.wave, ReleaseID: id, ProjectKey: testKey, TruthKey: gs.TruthKey})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := linkage.Export(ctx, w.st, linkage.ExportConfig{WaveID: w.wave, ReleaseID: id, ProjectKey: testKey}); err != nil {
			t.Fatal(err)
		}
		if _, err := linkage.LoadRelease(ctx, wh, w.st, w.wave, id); err != nil {
			t.Fatal(err)
		}
		return res
	}
	r1 := release("R1")

	// Everyone who appears, by release pseudonym, in any decoded output of a release.
	present := func(releaseID string) map[string]bool {
		out := map[string]bool{}
		for _, prefix := range []string{"lake/", schemas.LinkageExportPrefix(w.wave, releaseID)} {
			infos, _ := w.st.List(ctx, prefix)
			for _, in := range infos {
				if !strings.HasSuffix(in.Key, ".parquet") || (prefix == "lake/" && !strings.Contains(in.Key, "/release="+releaseID+"/")) {
					continue
				}
				for _, tok := range strings.FieldsFunc(idscan.ParquetText(t, filepath.Join(w.st.Root(), in.Key)), func(r rune) bool { return r == '\n' || r == ';' }) {
					if len(tok) == linkage.ReleasePseudonymLen {
						out[tok] = true
					}
				}
			}
		}
		return out
	}
	pseudonymIn := func(releaseID string) func(p *linkage.Person) string {
		rel, err := linkage.NewReleaser(testKey, w.wave, releaseID)
		if err != nil {
			t.Fatal(err)
		}
		return func(p *linkage.Person) string { return rel.Pseudonym(p.NHSPseudonym) }
	}
	inR1 := present("R1")
	p1 := pseudonymIn("R1")
	var chosen *linkage.Person
	nonConsenting, withdrawnByOptOut := 0, 0
	for i := range w.cohort.People {
		p := &w.cohort.People[i]
		switch {
		case p.Consented && inR1[p1(p)] && chosen == nil:
			chosen = p
		case !p.Consented && inR1[p1(p)]:
			t.Errorf("%s does not consent (responded %v) but is in release R1", p.SurveyRecordID, p.Responded)
		}
		if p.Responded && !p.Consented {
			nonConsenting++
		}
		if w.stats.Withdrawn[p.SurveyRecordID] {
			withdrawnByOptOut++
		}
	}
	if chosen == nil || nonConsenting == 0 || withdrawnByOptOut == 0 {
		t.Fatalf("the wave lacks a linked consenter (%v), non-consenting respondents (%d) or opt-out withdrawals (%d)", chosen != nil, nonConsenting, withdrawnByOptOut)
	}
	if int64(len(inR1)) < r1.Consented {
		t.Fatalf("R1 holds %d release pseudonyms for %d consenters", len(inR1), r1.Consented)
	}

	// The operator withdraws the chosen person's consent.
	ev, err := linkage.WithdrawalByOperator(linkage.OperatorWithdrawal{WaveID: w.wave, ICS: chosen.ICS, SurveyRecordID: chosen.SurveyRecordID,
		Operator: "A. Engineer", Reason: "requested_by_person", At: time.Now(), CommandID: "withdraw-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := linkage.RecordWithdrawal(ctx, w.st, ev); err != nil {
		t.Fatal(err)
	}
	r2 := release("R2")
	if r2.Consented != r1.Consented-1 {
		t.Errorf("R2 has %d consenters, R1 had %d: the withdrawal should remove exactly one", r2.Consented, r1.Consented)
	}
	inR2 := present("R2")
	p2 := pseudonymIn("R2")
	if inR2[p2(chosen)] {
		t.Error("the withdrawn person is in release R2")
	}
	for i := range w.cohort.People {
		p := &w.cohort.People[i]
		if p != chosen && p.Consented != inR2[p2(p)] {
			t.Errorf("%s: consented %v, in R2 %v", p.SurveyRecordID, p.Consented, inR2[p2(p)])
		}
	}
	// R1 is retired: no person-level output or export of it remains.
	for _, prefix := range []string{"lake/", "export/"} {
		infos, _ := w.st.List(ctx, prefix)
		for _, in := range infos {
			if strings.Contains(in.Key, "release=R1/") && !strings.Contains(in.Key, "lake/linkage_") || strings.HasPrefix(in.Key, "export/udal/W1/R1/") {
				t.Errorf("release R1 still has %s", in.Key)
			}
		}
	}
	// Nor does the warehouse hold anyone of R1, or the withdrawn person.
	db, err := warehouse.OpenReadOnly(whPath)
	if err != nil {
		t.Fatal(err)
	}
	var n1, nChosen, nAll int
	if err := db.QueryRow(`SELECT count(*) FILTER (WHERE release_id = 'R1'), count(*) FILTER (WHERE release_pseudonym IN (?, ?)), count(*) FROM linked_respondents`,
		p1(chosen), p2(chosen)).Scan(&n1, &nChosen, &nAll); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n1 != 0 || nChosen != 0 || int64(nAll) != r2.Consented {
		t.Errorf("warehouse: %d rows of R1, %d of the withdrawn person, %d in all (want 0, 0, %d)", n1, nChosen, nAll, r2.Consented)
	}
	// Further linkage stops: the withdrawn person's rows of an extract validated now are
	// excluded, not kept.
	cohort, err := linkage.LoadCohort(ctx, w.st, w.wave)
	if err != nil {
		t.Fatal(err)
	}
	gpad, _ := w.defs.Get("gpad")
	cfg := w.extractConfig(gpad)
	cfg.Cohort = cohort
	res, err := linkage.ValidateExtract(ctx, w.st, cfg, gs.Datasets["gpad"].Key)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range readAll[schemas.LinkageActivity](t, w.st, res.ActivityKey, schemas.LinkageActivityLayout()) {
		if a.NHSPseudonym == chosen.NHSPseudonym {
			t.Fatal("a row of the withdrawn person was accepted after the withdrawal")
		}
	}

	// No output, export, warehouse column, log line or audit event holds an NHS number
	// or a project pseudonym of the sample.
	forbidden := map[string]bool{}
	for _, n := range w.stats.NHSNumbers {
		forbidden[n] = true
	}
	for _, p := range w.stats.Pseudonyms {
		forbidden[p] = true
	}
	scanned := scanOutputs(t, w.st, whPath, collector.Events(), forbidden)
	if scanned < 30 {
		t.Errorf("only %d things scanned", scanned)
	}
	// The scan itself can fail: the lake's validated extracts do hold pseudonyms.
	raw := idscan.ParquetText(t, filepath.Join(w.st.Root(), res.ActivityKey))
	if len(idscan.Tokens(raw, forbidden)) == 0 {
		t.Fatal("the scanner found no pseudonym in the lake's validated activity, which holds them")
	}
}

func TestExportRefusesColumnsTheDefinitionsDoNotAllow(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 200, 100)
	w.generate(t, "csv")
	w.build(t, "R1", "")
	m, err := linkage.Export(ctx, w.st, linkage.ExportConfig{WaveID: w.wave, ReleaseID: "R1", ProjectKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	b, err := store.ReadAll(ctx, w.st, schemas.LinkageExportPrefix(w.wave, "R1")+"manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var back linkage.Manifest
	if err := json.Unmarshal(b, &back); err != nil || len(back.Files) != 3+len(w.defs.IDs()) || back.PseudonymKeyID == "" || back.PseudonymKeyID == linkage.KeyID(testKey) {
		t.Fatalf("manifest %s (%v)", b, err)
	}
	for _, f := range m.Files {
		got, err := store.ReadAll(ctx, w.st, schemas.LinkageExportPrefix(w.wave, "R1")+f.File)
		if err != nil {
			t.Fatal(err)
		}
		if sha := fmt.Sprintf("%x", sha256Sum(got)); sha != f.SHA256 {
			t.Errorf("%s: manifest SHA-256 %s, file %s", f.File, f.SHA256, sha)
		}
	}

	// A definition that no longer allows diagnosis codes in outpatients' export.
	sub := fstest.MapFS{}
	defsFS := os.DirFS("defs")
	entries, _ := fs.ReadDir(defsFS, ".")
	for _, e := range entries {
		b, _ := fs.ReadFile(defsFS, e.Name())
		if e.Name() == "op.yaml" {
			b = []byte(strings.Replace(string(b), "provider_code, diagnosis_codes]", "provider_code]", 1))
		}
		sub[e.Name()] = &fstest.MapFile{Data: b}
	}
	narrower, err := linkage.LoadDefinitions(sub)
	if err != nil {
		t.Fatal(err)
	}
	_, err = linkage.Export(ctx, w.st, linkage.ExportConfig{WaveID: w.wave, ReleaseID: "R1", ProjectKey: testKey, Definitions: narrower})
	var ee *linkage.ExportError
	if !errors.As(err, &ee) || ee.Reason != linkage.ExportColumnNotAllowed || ee.Column != "diagnosis_codes" || !strings.Contains(ee.File, "linked_activity_op") {
		t.Fatalf("got %v, want diagnosis_codes refused in linked_activity_op", err)
	}

	// A file that has gained a project pseudonym column is refused, and so is one whose
	// release pseudonyms are project pseudonyms.
	key := schemas.LinkedKey(schemas.TableLinkedConditions, w.wave, "R1")
	type leaky struct {
		ReleaseID        string `col:"release_id"`
		ReleasePseudonym string `col:"release_pseudonym"`
		NHSPseudonym     string `col:"nhs_pseudonym"`
	}
	if err := lake.PutRows(ctx, w.st, key, schemas.LayoutOf[leaky]("leaky"), []leaky{{"R1", "00", w.stats.Pseudonyms[0]}}); err != nil {
		t.Fatal(err)
	}
	_, err = linkage.Export(ctx, w.st, linkage.ExportConfig{WaveID: w.wave, ReleaseID: "R1", ProjectKey: testKey})
	if !errors.As(err, &ee) || ee.Reason != linkage.ExportColumnForbidden || ee.Column != "nhs_pseudonym" {
		t.Fatalf("got %v, want nhs_pseudonym forbidden", err)
	}
	type wrongKey struct {
		ReleaseID        string `col:"release_id"`
		ReleasePseudonym string `col:"release_pseudonym"`
	}
	if err := lake.PutRows(ctx, w.st, key, schemas.LayoutOf[wrongKey]("wrongkey"), []wrongKey{{"R1", w.stats.Pseudonyms[0]}}); err != nil {
		t.Fatal(err)
	}
	_, err = linkage.Export(ctx, w.st, linkage.ExportConfig{WaveID: w.wave, ReleaseID: "R1", ProjectKey: testKey})
	if !errors.As(err, &ee) || ee.Reason != linkage.ExportNotAPseudonym {
		t.Fatalf("got %v, want a project pseudonym refused as a release pseudonym", err)
	}
	if strings.Contains(err.Error(), w.stats.Pseudonyms[0]) {
		t.Error("the refusal repeats the value")
	}
}
