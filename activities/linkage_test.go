package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The extracts step validates every extract of the landing area and reports one it
// cannot read as refused, with the file and reason, while the others go on; a
// withdrawal must name a sampled record, and records the operator's event.
func TestLinkageActivities(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("activities-linkage-test-key-0123456789abcdef")
	ws, err := synthlink.WriteWave(ctx, st, synthlink.WaveConfig{WaveID: "W1", ICSs: []string{"QMM"}, PerICS: 120, Respondents: 60,
		ConsentRate: 0.7, Seed: 3, ProjectKey: key})
	if err != nil {
		t.Fatal(err)
	}
	a := &Activities{Store: st, PseudonymKey: key}
	if _, err := a.DeriveLinkageConsent(ctx, Scope{WaveID: "W1"}); err != nil {
		t.Fatal(err)
	}
	gs, err := synthlink.Generate(ctx, st, synthlink.Config{WaveID: "W1", Seed: 5, ProjectKeyID: linkage.KeyID(key)})
	if err != nil {
		t.Fatal(err)
	}
	bad := schemas.LinkageLandingPrefix("W1", "op") + "op_notes.txt"
	if err := store.PutBytes(ctx, st, bad, []byte("not an extract")); err != nil {
		t.Fatal(err)
	}
	// A column beyond the definition's is ignored, and named.
	gpad := gs.Datasets["gpad"].Key
	src, err := store.ReadAll(ctx, st, gpad)
	if err != nil {
		t.Fatal(err)
	}
	withNote := strings.ReplaceAll(strings.TrimSuffix(string(src), "\n"), "\n", ",free text\n")
	withNote = strings.Replace(withNote, ",free text\n", ",LOCAL_NOTE\n", 1) + ",free text\n"
	if err := store.PutBytes(ctx, st, gpad, []byte(withNote)); err != nil {
		t.Fatal(err)
	}

	// Objects no run would validate fail the step, named, before anything is validated.
	area := schemas.LinkageLandingArea("W1")
	strays := []string{area + "rootfile.csv", area + "hes_apc/x.csv", schemas.LinkageLandingPrefix("W1", "gpad") + "t41_orphan.csv.manifest.json"}
	for _, k := range strays {
		if err := store.PutBytes(ctx, st, k, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := st.List(ctx, "lake/")
	_, err = a.ValidateLinkageExtracts(ctx, Scope{WaveID: "W1"})
	if fault.KindOf(err) != fault.BadInput {
		t.Fatalf("a landing area with stray objects: %v (kind %q), want BadInput", err, fault.KindOf(err))
	}
	for _, want := range append(strays, "not in a dataset's folder", "a manifest whose extract t41_orphan.csv is not beside it", "apc/, ", "gpad/") {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not name %q: %v", want, err)
		}
	}
	if after, _ := st.List(ctx, "lake/"); len(after) != len(before) {
		t.Errorf("%d lake objects written before the stray objects were found", len(after)-len(before))
	}
	for _, k := range strays {
		if err := st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}

	out, err := a.ValidateLinkageExtracts(ctx, Scope{WaveID: "W1"})
	if err != nil {
		t.Fatal(err)
	}
	refused, validated := 0, 0
	for _, e := range out.Extracts {
		switch {
		case e.Key == bad:
			refused++
			if !strings.Contains(e.Refused, bad) || !strings.Contains(e.Refused, linkage.ExtractFormatUnsupported) {
				t.Errorf("refusal %q names neither the file nor the reason", e.Refused)
			}
		case e.Refused != "" || e.RowsRead != e.Accepted+e.Rejected+e.Excluded || e.RowsRead == 0:
			t.Errorf("%s: %+v", e.Key, e)
		case (e.Key == gpad) != (strings.Join(e.UnknownColumns, ",") == "LOCAL_NOTE"):
			t.Errorf("%s: unknown columns %v", e.Key, e.UnknownColumns)
			validated++
		default:
			validated++
		}
	}
	if refused != 1 || validated != 7 {
		t.Errorf("%d refused, %d validated of %d", refused, validated, len(out.Extracts))
	}

	// The run's last step: lineage, then deletion. The refused file goes too; one the
	// provider replaced after the run read it stays for the next run.
	var replaced string
	for _, e := range out.Extracts {
		want, _, err := store.SHA256(ctx, st, e.Key)
		if err != nil || e.SHA256 != want {
			t.Errorf("%s: checksum %q, the file's %q (%v)", e.Key, e.SHA256, want, err)
		}
		if e.Refused == "" && replaced == "" {
			replaced = e.Key
		}
	}
	if err := store.PutBytes(ctx, st, replaced, []byte("a corrected extract, sent after the run read the first")); err != nil {
		t.Fatal(err)
	}
	landed := LinkageLandedInput{LinkageReleaseInput: LinkageReleaseInput{Scope: Scope{WaveID: "W1"}, ReleaseID: "R1"}, Extracts: out.Extracts}
	rec, err := a.RecordLinkageExtractLineage(ctx, landed)
	if err != nil || rec.Recorded != 7 {
		t.Fatalf("lineage: %+v, %v; want 7 recorded (not the replaced file)", rec, err)
	}
	del, err := a.DeleteLinkageExtracts(ctx, landed)
	if err != nil || len(del.Deleted) != 7 || len(del.Kept) != 1 || del.Kept[0] != replaced {
		t.Fatalf("deletion: %+v, %v; want 7 deleted and %s kept", del, err, replaced)
	}
	lineage, err := linkage.ReadExtractLineage(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range lineage.Files {
		if (f.Key == gpad) != (strings.Join(f.UnknownColumns, ",") == "LOCAL_NOTE") {
			t.Errorf("lineage of %s: unknown columns %v", f.Key, f.UnknownColumns)
		}
	}
	left, err := st.List(ctx, schemas.LinkageLandingArea("W1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range left {
		if o.Key != replaced && o.Key != linkage.ManifestKey(replaced) {
			t.Errorf("%s is still in the landing area", o.Key)
		}
	}

	_, err = a.RecordLinkageWithdrawal(ctx, LinkageWithdrawalInput{Scope: Scope{WaveID: "W1"}, SurveyRecordID: "NOBODY",
		Operator: "op", Reason: linkage.ReasonWithdrawLinkage, At: time.Now(), CommandID: "c1"})
	if fault.KindOf(err) != fault.BadInput {
		t.Errorf("a withdrawal of an unsampled record: %v (kind %s), want BadInput", err, fault.KindOf(err))
	}
	// What is no survey record id (here a stand-in for an NHS number or a name typed
	// for one) is not repeated: the refusal reaches the worker's log and the audit trail.
	if err != nil && strings.Contains(err.Error(), "NOBODY") {
		t.Errorf("the refusal repeats what was given: %v", err)
	}
	var id string
	for rec := range ws.Consenting {
		id = rec
		break
	}
	w, err := a.RecordLinkageWithdrawal(ctx, LinkageWithdrawalInput{Scope: Scope{WaveID: "W1"}, SurveyRecordID: id,
		Operator: "op", Reason: linkage.ReasonWithdrawLinkage, At: time.Now(), CommandID: "c2"})
	if err != nil || w.ICS != "QMM" || w.EventID == "" || w.StillLinkableBy != nil {
		t.Fatalf("withdrawal: %+v, %v", w, err)
	}
	// A withdrawal dated before the consent it means to end does not end it, and says so:
	// the latest event stands.
	var other string
	var given time.Time
	for rec := range ws.Consenting {
		if rec == id {
			continue
		}
		standing, ok, err := linkage.StandingConsent(ctx, st, "W1", "QMM", linkage.Subject{SurveyRecordID: rec, RespondentType: schemas.RespondentPatient})
		if err != nil || !ok || standing.Event != schemas.ConsentGiven {
			continue
		}
		other, given = rec, standing.At
		break
	}
	if other == "" {
		t.Fatal("no other consenter stands consenting")
	}
	early, err := a.RecordLinkageWithdrawal(ctx, LinkageWithdrawalInput{Scope: Scope{WaveID: "W1"}, SurveyRecordID: other,
		Operator: "op", Reason: linkage.ReasonWithdrawLinkage, At: given.Add(-time.Hour), CommandID: "c-early"})
	if err != nil {
		t.Fatal(err)
	}
	if by := early.StillLinkableBy; by == nil || by.Event != schemas.ConsentGiven || by.SurveyRecordID != other ||
		by.SourceKind != schemas.ConsentSourceResponse || !by.At.Equal(given) {
		t.Errorf("a withdrawal an hour before the consent: still linkable by %+v, want the consent of %s at %s", by, other, given)
	}
	_, err = a.RecordLinkageWithdrawal(ctx, LinkageWithdrawalInput{Scope: Scope{WaveID: "W1"}, SurveyRecordID: id,
		Operator: "op", Reason: "because", At: time.Now(), CommandID: "c3"})
	if fault.KindOf(err) != fault.BadInput {
		t.Errorf("a withdrawal with an unknown reason: %v, want BadInput", err)
	}

	// The purge after the withdrawal: the withdrawn consenter's rows leave the lake's
	// validated extracts (if validation kept any), and a second purge rewrites nothing.
	cohort, err := linkage.LoadCohort(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cohort.Person(id)
	count := func() (mine, all int) {
		t.Helper()
		infos, err := st.List(ctx, schemas.LinkageDiagnosesPrefix("W1"))
		if err != nil {
			t.Fatal(err)
		}
		defs, err := linkage.DefaultDefinitions()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range defs.IDs() {
			more, err := st.List(ctx, schemas.LinkageActivityPrefix(d, "W1"))
			if err != nil {
				t.Fatal(err)
			}
			infos = append(infos, more...)
		}
		for _, in := range infos {
			if err := lake.ScanStrings(ctx, st, in.Key, []string{"nhs_pseudonym"}, func(row []string) error {
				all++
				if row[0] == p.NHSPseudonym {
					mine++
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		return mine, all
	}
	mine, all := count()
	purged, err := a.PurgeWithdrawnLinkage(ctx, Scope{WaveID: "W1"})
	if err != nil {
		t.Fatal(err)
	}
	if purged.Objects == 0 || int(purged.Rows+purged.Diagnoses) != mine || (mine > 0) != (purged.People == 1) {
		t.Errorf("purge %+v; the withdrawn person had %d rows", purged, mine)
	}
	if m, a := count(); m != 0 || a != all-mine {
		t.Errorf("after the purge: %d rows of the withdrawn person, %d rows in all (want %d)", m, a, all-mine)
	}
	if again, err := a.PurgeWithdrawnLinkage(ctx, Scope{WaveID: "W1"}); err != nil || again.Rewritten != 0 {
		t.Errorf("second purge %+v, %v", again, err)
	}
}
