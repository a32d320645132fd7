package publication

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"icesurvey/estimate"
	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/publication/pubsynth"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/weighting"
)

func newStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func readCSV(t *testing.T, st store.Store, key string) [][]string {
	t.Helper()
	b, err := store.ReadAll(context.Background(), st, key)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return rows
}

// TestComputeAndWrite builds a release from a real warehouse and checks what it holds
// against the wave it was built from: the weighting statuses the wave was built for, a
// collapse recorded with its members, suppression of every kind, bank questions only
// where added, the response rates, every file and its digest, the Parquet read back,
// the lineage, and the release loaded into the warehouse's published tables.
func TestComputeAndWrite(t *testing.T) {
	ctx := context.Background()
	wave, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())

	status := map[string]string{}
	for _, ics := range r.ICSs() {
		status[ics.ICS] = ics.Status
		if !ics.Published {
			t.Errorf("%s is not published: %s (%s)", ics.ICS, ics.Status, ics.Reason)
		}
	}
	for ics, want := range map[string]weighting.Status{"QAA": weighting.NotNeeded, "QBB": weighting.Trimmed, "QDD": weighting.InfeasibleUntrimmed} {
		if status[ics] != string(want) {
			t.Errorf("%s: weighting status %s, the wave was built for %s", ics, status[ics], want)
		}
	}
	st := newStore(t)
	m, err := Write(ctx, st, r, "r1")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := ReadDraftMetadata(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	// QCC's young respondents are too few: 18-64 is merged into 65-74, with members.
	var collapsed bool
	for _, im := range meta.ICSs {
		if im.ICS != "QCC" {
			continue
		}
		for _, c := range im.Collapses {
			if c.Variable == "age_band" && c.Level == "18-64" && slices.Equal(c.Members, []string{"18-64", "65-74"}) {
				collapsed = true
			}
		}
	}
	if !collapsed {
		t.Errorf("QCC: no collapse of 18-64 into 65-74 recorded with its members: %+v", meta.ICSs)
	}
	// Every kind of suppression happened.
	s := m.Summary
	if s.RowsWithheld == 0 || s.CellsPrimary == 0 || s.CellsSecondary == 0 || s.RowsCaution == 0 {
		t.Errorf("the wave was built to need every kind of suppression: %+v", s)
	}
	if s.Status != ReleaseDraft || len(s.ICSsPublished) != 5 {
		t.Errorf("summary %+v", s)
	}
	// Bank questions appear only for the ICSs that added them.
	for _, row := range r.Results() {
		if row.QuestionID == "LQ_LONELINESS" && row.Geography == GeographyICS && row.ICS != "QAA" && row.ICS != "QCC" {
			t.Errorf("LQ_LONELINESS published for %s, which did not add it", row.ICS)
		}
		if row.QuestionID == "LQ_DIGITAL_SERVICES" && row.RespondentType == "carer" {
			t.Error("LQ_DIGITAL_SERVICES (patients only) published for carers")
		}
	}
	if len(r.ResultsFor("patient", "LQ_LONELINESS")) == 0 || len(r.ResultsFor("carer", "LQ_CARER_BREAK")) == 0 {
		t.Error("bank questions the ICSs added are missing")
	}
	// Every demographic breakdown of every ICS, and the comparisons.
	groups := map[string]bool{}
	flags := map[estimate.Flag]int{}
	for _, row := range r.Results() {
		groups[row.GroupVariable] = true
		flags[row.VsEngland]++
		if row.RespondentType == "carer" && row.GroupVariable != GroupAll {
			t.Fatalf("a carer row by %s: carers have no frame of their own", row.GroupVariable)
		}
	}
	for _, g := range []string{GroupAll, "age_band", "gender", "ethnicity", "efi_band"} {
		if !groups[g] {
			t.Errorf("no rows by %s", g)
		}
	}
	if flags[estimate.Higher] == 0 || flags[estimate.Lower] == 0 || flags[estimate.Similar] == 0 {
		t.Errorf("comparisons %v: the ICSs' effects should show", flags)
	}
	// Response rates: the counts the wave was built with.
	for _, rr := range r.ResponseRates() {
		if rr.ICS != "QAA" {
			continue
		}
		want := [3]int64{300, 12 + 3 + 15, 900 - 300 - 30}
		for j, w := range want {
			if n, ok := rr.Groups[j].Value(); !ok || n != w {
				t.Errorf("QAA %s: %d (published %v), want %d", ResponseGroups[j].Name, n, ok, w)
			}
		}
		if v, ok := rr.ResponseRate.Value(); !ok || v != 100*300.0/900 {
			t.Errorf("QAA response rate %v (%v)", v, ok)
		}
	}

	// Every file is where the manifest says, with its digest.
	kinds := map[string]int{}
	for _, f := range m.Files {
		b, err := store.ReadAll(ctx, st, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Bytes {
			t.Errorf("%s: digest or size differs from the manifest", f.Key)
		}
		kinds[f.Kind]++
	}
	if kinds["parquet"] != 4 || kinds["csv"] != 3 || kinds["xlsx"] != 1 || kinds["json"] != 1 {
		t.Errorf("files by kind %v", kinds)
	}
	mf, err := ReadDraftManifest(ctx, st, "W1", "r1")
	if err != nil || mf.ManifestSHA256 != m.ManifestSHA256 || len(mf.Files) != len(m.Files) {
		t.Errorf("manifest.json reads back as %+v (%v)", mf, err)
	}

	// The Parquet holds the rows unrounded, withheld figures NULL.
	rows, err := lake.GetRows[schemas.PublishedResult](ctx, st, schemas.DraftKey(schemas.PublishResultsParquetKey("W1", "r1")), schemas.PublishedResultLayout())
	if err != nil {
		t.Fatal(err)
	}
	res := r.Results()
	if len(rows) != len(res) {
		t.Fatalf("results.parquet has %d rows, the release %d", len(rows), len(res))
	}
	for i, row := range rows {
		x := res[i]
		if row.QuestionID != x.QuestionID || row.ICS != x.ICS || row.GroupLevel != x.GroupLevel || row.Status != x.Status.String() ||
			!samePtr(row.PctPositive, x.PctPositive) || !samePtr(row.CILower, x.CILower) || !samePtr(row.NEff, x.NEff) ||
			!samePtrInt(row.BaseUnweighted, x.BaseUnweighted) {
			t.Fatalf("results.parquet row %d = %+v, the release has %+v", i, row, x)
		}
	}

	// Lineage: every table gives the lake objects it was computed from by SHA-256, as
	// one digest (the objects themselves are in the internal lineage, in the lake), and
	// the digest is the one recomputed from the lake and from the warehouse's
	// loaded_files as the README says.
	lin, err := ReadLineageReport(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	db, err := warehouse.OpenReadOnly(snap)
	if err != nil {
		t.Fatal(err)
	}
	var fromWarehouse string
	err = db.QueryRowContext(ctx, `SELECT sha256(string_agg(lower(sha256) || chr(10), '' ORDER BY lower(sha256))) FROM loaded_files
WHERE contains(object_key, '/wave=W1/') AND table_name IN ('sample', 'outcome_events', 'responses', 'response_duplicates')`).Scan(&fromWarehouse)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(lin.Tables) != len(meta.Tables) {
		t.Fatalf("the internal lineage has %d tables, the release %d", len(lin.Tables), len(meta.Tables))
	}
	for i, tm := range meta.Tables {
		tl := lin.Tables[i]
		tables := map[string]int{}
		var sums []string
		for _, o := range tl.Objects {
			tables[o.Table]++
			sum, _, err := store.SHA256(ctx, wave.Store, o.ObjectKey)
			if err != nil || sum != o.SHA256 {
				t.Errorf("%s lineage: %s has SHA-256 %s, the lake object %s (%v)", tm.Table, o.ObjectKey, o.SHA256, sum, err)
			}
			sums = append(sums, sum)
		}
		// QCC's outcomes are in three objects: its late opt-outs' (one each) and its
		// DBS reply's.
		if tables["sample"] != 5 || tables["responses"] != 5 || tables["outcome_events"] != 5+3 || tables["response_duplicates"] != 5 {
			t.Errorf("%s lineage by table %v, want each ICS's sample, responses, outcome events and duplicates", tm.Table, tables)
		}
		slices.Sort(sums)
		lake := sha256.Sum256([]byte(strings.Join(sums, "\n") + "\n"))
		if tl.Table != tm.Table || tm.Lineage.ObjectsSHA256 != tl.ObjectsSHA256 || tl.ObjectsSHA256 != hex.EncodeToString(lake[:]) ||
			fromWarehouse != tl.ObjectsSHA256 {
			t.Errorf("%s lineage: published %s, the internal lineage's %s (%s), from the lake %x, from loaded_files %s",
				tm.Table, tm.Lineage.ObjectsSHA256, tl.ObjectsSHA256, tl.Table, lake, fromWarehouse)
		}
		if !slices.Equal(tm.Lineage.From, []string{"sample", "outcome_events", "responses", "response_duplicates"}) {
			t.Errorf("%s lineage from %v", tm.Table, tm.Lineage.From)
		}
	}
	if meta.CodeVersion != "test" {
		t.Errorf("code version %q", meta.CodeVersion)
	}
	names := map[string]bool{}
	for _, p := range meta.Parameters {
		names[p.Name] = true
	}
	for _, n := range []string{"vars", "lo", "hi", "min_level_n", "min_base", "caution_base", "min_count", "confidence", "z", "tol", "max_sweeps",
		"breakdowns", "group_comparison", "england_counts", "local_questions", "exclude"} {
		if !names[n] {
			t.Errorf("metadata lacks parameter %s", n)
		}
	}

	// The release loads into the warehouse's published tables, once.
	wh, err := warehouse.Open(ctx, filepath.Join(t.TempDir(), "w.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	load := func() (total int64, skipped int) {
		err := wh.Write(ctx, func(tx *sql.Tx) error {
			for _, o := range m.WarehouseObjects() {
				table, err := warehouse.LookupTable(o.Table)
				if err != nil {
					return err
				}
				sum, _, err := store.SHA256(ctx, st, o.Key)
				if err != nil {
					return err
				}
				path, cleanup, err := lake.LocalCopy(ctx, st, o.Key)
				if err != nil {
					return err
				}
				n, skip, err := warehouse.LoadParquet(ctx, tx, table, path, o.Key, sum)
				cleanup()
				if err != nil {
					return err
				}
				total += n
				if skip {
					skipped++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return total, skipped
	}
	if n, _ := load(); n != int64(len(r.results)+len(r.dists)+len(r.rates)+1) {
		t.Errorf("loaded %d rows, the release has %d", n, len(r.results)+len(r.dists)+len(r.rates)+1)
	}
	if n, skipped := load(); n != 0 || skipped != 4 {
		t.Errorf("a second load loaded %d rows and skipped %d objects", n, skipped)
	}
	var withheld int
	if err := wh.Read(ctx, func(db *sql.DB) error {
		return db.QueryRowContext(ctx, `SELECT count(*) FROM published_results WHERE pct_positive IS NULL AND status IN ('B', 'S')`).Scan(&withheld)
	}); err != nil {
		t.Fatal(err)
	}
	if withheld == 0 {
		t.Error("published_results has no withheld row")
	}
}

func samePtr(p *float64, f Figure) bool {
	v, ok := f.Value()
	return (p == nil) == !ok && (p == nil || *p == v)
}

func samePtrInt(p *int64, c Count) bool {
	v, ok := c.Value()
	return (p == nil) == !ok && (p == nil || *p == v)
}

// TestRepublishIsByteIdentical builds the wave's lake objects and warehouse a second
// time, from scratch, computes and writes the release from each, and requires every
// file to have the same SHA-256; and writing the same Results twice changes nothing.
func TestRepublishIsByteIdentical(t *testing.T) {
	ctx := context.Background()
	wave, snap := testWave(t)
	again, err := pubsynth.Build(ctx, t.TempDir(), testSpec)
	if err != nil {
		t.Fatal(err)
	}
	// The inputs are the same lake objects.
	for key := range wave.Objects {
		a, _, errA := store.SHA256(ctx, wave.Store, key)
		b, _, errB := store.SHA256(ctx, again.Store, key)
		if errA != nil || errB != nil || a != b {
			t.Fatalf("lake object %s differs between the builds: %s %s (%v %v)", key, a, b, errA, errB)
		}
	}
	first := newStore(t)
	m1, err := Write(ctx, first, compute(t, snap, "W1", testParams()), "r1")
	if err != nil {
		t.Fatal(err)
	}
	var r2 *Results
	if err := again.Warehouse.Read(ctx, func(db *sql.DB) error {
		var err error
		r2, err = Compute(ctx, db, "W1", testParams())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	second := newStore(t)
	m2, err := Write(ctx, second, r2, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(ctx, second, r2, "r1"); err != nil {
		t.Fatal(err)
	}
	if len(m1.Files) != len(m2.Files) || m1.ManifestSHA256 != m2.ManifestSHA256 {
		t.Fatalf("manifests differ: %s, %s", m1.ManifestSHA256, m2.ManifestSHA256)
	}
	for i, f := range m1.Files {
		a, err := store.ReadAll(ctx, first, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		b, err := store.ReadAll(ctx, second, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) || f.SHA256 != m2.Files[i].SHA256 {
			t.Errorf("%s differs between the two releases", f.Key)
		}
	}
	t.Logf("%d files byte-identical, manifest %s", len(m1.Files), m1.ManifestSHA256)

	// Another FileTime changes the workbook and nothing else.
	p := testParams()
	p.FileTime = p.fileTime().AddDate(47, 5, 0)
	third := newStore(t)
	m3, err := Write(ctx, third, compute(t, snap, "W1", p), "r1")
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range m3.Files {
		same := f.SHA256 == m1.Files[i].SHA256
		if want := f.Kind != "xlsx" && f.Kind != "json" && !strings.HasSuffix(f.Key, "release.parquet"); same != want {
			t.Errorf("%s: same bytes %v with another file time", f.Key, same)
		}
	}
}

// TestApprove is the release lifecycle: draft → published, refused while an ICS's
// raking failed unless it is left out.
func TestApprove(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	st := newStore(t)
	if _, err := Write(ctx, st, r, "r1"); err != nil {
		t.Fatal(err)
	}
	at := testParams().fileTime().AddDate(47, 5, 1)
	draft, err := ReadDraftMetadata(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	withFailed := func() *Metadata {
		m := *draft
		m.ICSs = append(slices.Clone(draft.ICSs), ICSMetadata{ICS: "QZZ", WeightingStatus: string(weighting.RakeFailed), Reason: "did not converge"})
		return &m
	}
	for _, tt := range []struct {
		name     string
		meta     func() *Metadata
		by       string
		leaveOut []string
		want     string // "" = approved
	}{
		{"approved", func() *Metadata { m := *draft; return &m }, "A. Statistician", nil, ""},
		{"no approver", func() *Metadata { m := *draft; return &m }, "  ", nil, "name who approves"},
		{"rake_failed not left out", withFailed, "A. Statistician", nil, "QZZ: raking failed"},
		{"rake_failed left out", withFailed, "A. Statistician", []string{"QZZ"}, ""},
		{"leaving out a published ICS", withFailed, "A. Statistician", []string{"QZZ", "QAA"}, "QAA has figures in this release"},
		{"an unknown ICS", withFailed, "A. Statistician", []string{"QZZ", "QXX"}, "QXX is not in wave"},
		{"twice", withFailed, "A. Statistician", []string{"QZZ", "QZZ"}, "left out twice"},
		{"already published", func() *Metadata { m := *draft; m.Status = ReleasePublished; m.ApprovedBy = "B"; return &m }, "A", nil, "already published"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			meta := tt.meta()
			before := *meta
			err := Approve(meta, tt.by, at, tt.leaveOut)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Approve: %v, want an error saying %q", err, tt.want)
				}
				if meta.Status != before.Status || meta.ApprovedBy != before.ApprovedBy {
					t.Error("a refused approval changed the metadata")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if meta.Status != ReleasePublished || meta.ApprovedBy != "A. Statistician" || !meta.ApprovedAt.Equal(at) || !slices.Equal(meta.LeftOut, tt.leaveOut) {
				t.Errorf("approved metadata %+v", meta)
			}
			if len(meta.Summary().RakeFailed) > 0 && len(tt.leaveOut) == 0 {
				t.Error("approved with a rake_failed ICS")
			}
		})
	}
	if err := Approve(nil, "A", at, nil); err == nil {
		t.Error("approved nil metadata")
	}

}

// TestRakeFailedIsNotPublished: an ICS whose raking fails has no figures, is not
// pooled into England, and blocks approval until it is left out.
func TestRakeFailedIsNotPublished(t *testing.T) {
	_, snap := testWave(t)
	p := testParams()
	p.Weighting.MaxSweeps = 2 // no ICS with more than one level per variable converges to 1e-12 in two sweeps
	r := compute(t, snap, "W1", p)
	s := r.Summary()
	if len(s.RakeFailed) < 3 {
		t.Fatalf("summary %+v: the wave's larger ICSs need more than two sweeps", s)
	}
	for _, row := range r.Results() {
		if slices.Contains(s.RakeFailed, row.ICS) {
			t.Fatalf("%s has a row, but its raking failed", row.ICS)
		}
	}
	for _, ics := range r.ICSs() {
		if slices.Contains(s.RakeFailed, ics.ICS) == ics.Published {
			t.Errorf("%s: published %v with status %s", ics.ICS, ics.Published, ics.Status)
		}
	}
	if len(r.ResponseRates()) != 6 {
		t.Errorf("response rates: %d rows, want England and five ICSs (fieldwork happened)", len(r.ResponseRates()))
	}
	meta := metadataOf(r, "r1")
	if err := Approve(meta, "A", p.fileTime(), s.RakeFailed[1:]); err == nil || !strings.Contains(err.Error(), s.RakeFailed[0]+": raking failed") {
		t.Errorf("approval with a rake_failed ICS kept: %v", err)
	}
	if err := Approve(meta, "A", p.fileTime(), s.RakeFailed); err != nil {
		t.Errorf("approval leaving every failed ICS out: %v", err)
	}
}

// TestExcludeLeavesAnICSOut: an excluded ICS has no rows and is not in England's pool.
func TestExcludeLeavesAnICSOut(t *testing.T) {
	_, snap := testWave(t)
	all := compute(t, snap, "W1", testParams())
	p := testParams()
	p.Exclude = []string{"QBB"}
	r := compute(t, snap, "W1", p)
	for _, row := range r.Results() {
		if row.ICS == "QBB" {
			t.Fatal("an excluded ICS has a row")
		}
	}
	england := func(r *Results) float64 {
		for _, row := range r.ResultsFor("patient", "P_ACCESS_EASE") {
			if row.Geography == GeographyEngland {
				v, _ := row.BaseWeighted.Value()
				return v
			}
		}
		t.Fatal("no England row")
		return 0
	}
	if england(r) >= england(all) {
		t.Errorf("England's weighted base %v with QBB excluded, %v with it", england(r), england(all))
	}
	// Why it is left out is said in its report: by the parameters, or the reason given.
	reason := func(r *Results) string {
		for _, n := range r.Summary().ICSsNotPublished {
			if n.ICS == "QBB" {
				return n.Reason
			}
		}
		return ""
	}
	if got := reason(r); got != "left out of this release by its parameters" {
		t.Errorf("QBB excluded: %q", got)
	}
	p.ExcludeReason = "its fieldwork ended early"
	if got := reason(compute(t, snap, "W1", p)); got != "left out of this release: its fieldwork ended early" {
		t.Errorf("QBB excluded with a reason: %q", got)
	}
}

// TestFrameQueryMatchesOutcomesView holds the frame query's outcomes to the
// warehouse's outcomes view, on people with several competing outcome events.
func TestFrameQueryMatchesOutcomesView(t *testing.T) {
	ctx := context.Background()
	w := smallWave(t)
	// Competing events: completed and deceased, deceased and opted out, opted out and
	// undelivered, undelivered and ineligible, an unknown code.
	err := w.Warehouse.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO outcome_events
SELECT 'x' || row_number() OVER () || '-' || o.code, s.wave_id, s.ics, DATE '2027-03-02', s.survey_record_id, o.code, TIMESTAMP '2027-03-02 10:00:00',
  '', 'extra.csv', 'x', '', NULL
FROM (SELECT * FROM sample WHERE wave_id = 'W2' ORDER BY survey_record_id LIMIT 60) s,
  (SELECT unnest([3, 4, 2, 5, 9]) AS code) o
WHERE hash(s.survey_record_id, o.code) % 3 = 0`)
		if err != nil {
			return err
		}
		// People in both ICSs' samples (the same NHS pseudonym), mailed by neither:
		// QAA, the lower code, keeps them; in QBB they are left out (cross_ics_samples)
		// and their outcome there is 5, ineligible, unless an event of their own there
		// ranks higher. Three of QBB's records with no event, and three with one.
		_, err = tx.ExecContext(ctx, `UPDATE sample s SET nhs_pseudonym = a.nhs_pseudonym
FROM (SELECT b.survey_record_id AS b_id, x.nhs_pseudonym
      FROM (SELECT survey_record_id, row_number() OVER (ORDER BY survey_record_id) AS i FROM sample
            WHERE wave_id = 'W2' AND ics = 'QBB' AND survey_record_id NOT IN (SELECT survey_record_id FROM outcome_events)
            ORDER BY survey_record_id LIMIT 3) b
      JOIN (SELECT nhs_pseudonym, row_number() OVER (ORDER BY survey_record_id) AS i FROM sample WHERE wave_id = 'W2' AND ics = 'QAA') x ON x.i = b.i
      UNION ALL
      SELECT b.survey_record_id, x.nhs_pseudonym
      FROM (SELECT survey_record_id, row_number() OVER (ORDER BY survey_record_id) AS i FROM sample
            WHERE wave_id = 'W2' AND ics = 'QBB' AND survey_record_id IN (SELECT survey_record_id FROM outcome_events)
            ORDER BY survey_record_id LIMIT 3) b
      JOIN (SELECT nhs_pseudonym, row_number() OVER (ORDER BY survey_record_id DESC) AS i FROM sample WHERE wave_id = 'W2' AND ics = 'QAA') x ON x.i = b.i
) a
WHERE s.wave_id = 'W2' AND s.ics = 'QBB' AND s.survey_record_id = a.b_id`)
		if err != nil {
			return err
		}
		var left int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM cross_ics_samples WHERE wave_id = 'W2' AND left_out`).Scan(&left); err != nil {
			return err
		}
		if left != 6 {
			return fmt.Errorf("the fixture leaves %d records out of another ICS's sample, want 6", left)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Warehouse.Read(ctx, func(db *sql.DB) error {
		f, err := readFrame(ctx, db, "W2")
		if err != nil {
			return err
		}
		rows, err := db.QueryContext(ctx, `SELECT ics, outcome, count(*) FROM outcomes WHERE wave_id = 'W2' GROUP BY ALL`)
		if err != nil {
			return err
		}
		defer rows.Close()
		want := make([][6]int64, len(f.icss))
		for rows.Next() {
			var ics string
			var o int
			var n int64
			if err := rows.Scan(&ics, &o, &n); err != nil {
				return err
			}
			k, _ := f.index(ics)
			want[k][o-1] = n
		}
		for k := range f.icss {
			if f.outcomes[k] != want[k] {
				t.Errorf("%s: frame query outcomes %v, outcomes view %v", f.icss[k], f.outcomes[k], want[k])
			}
			var eligible float64
			for _, n := range f.counts[k][0] {
				eligible += n
			}
			if o := want[k]; eligible != float64(o[0]+o[1]+o[3]+o[5]) {
				t.Errorf("%s: eligible frame %v, the view's outcomes other than 3 and 5 %v", f.icss[k], eligible, o)
			}
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestComputeNamesBadInput: every bad input is an error naming where it is.
func TestComputeNamesBadInput(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		change string
		params func(*Params)
		wave   string
		want   []string
	}{
		{"a gender outside the declared levels",
			`UPDATE sample SET gender = 'Q' WHERE survey_record_id = (SELECT min(survey_record_id) FROM sample WHERE ics = 'QBB')`, nil, "W2",
			[]string{"table sample", "ICS QBB", "field gender", `"Q"`}},
		{"an answer that is not an option",
			`UPDATE responses SET "P_ACCESS_EASE" = 9 WHERE response_id = (SELECT min(response_id) FROM responses WHERE respondent_type = 'patient' AND complete AND ics = 'QAA')`,
			nil, "W2", []string{"table responses", "response QAA-p-", "field P_ACCESS_EASE", `"9"`}},
		{"a multi-choice code that is not an option",
			`UPDATE responses SET "P_SERVICES_USED" = '1;99' WHERE response_id = (SELECT min(response_id) FROM responses WHERE respondent_type = 'patient' AND complete AND ics = 'QAA')`,
			nil, "W2", []string{"table responses", "field P_SERVICES_USED", `"99"`}},
		{"an unknown questionnaire version",
			`UPDATE responses SET questionnaire_version = 'patient-1999.9' WHERE response_id = (SELECT min(response_id) FROM responses WHERE respondent_type = 'patient' AND complete)`,
			nil, "W2", []string{"questionnaire_version", "patient-1999.9"}},
		{"a wave with no sample", "", nil, "W9", []string{"wave W9 has no sample"}},
		{"excluding an ICS not in the wave", "", func(p *Params) { p.Exclude = []string{"QXX"} }, "W2", []string{"QXX"}},
		{"excluding every ICS", "", func(p *Params) { p.Exclude = []string{"QBB", "QAA"} }, "W2",
			[]string{"leaves out every ICS of wave W2 (QAA, QBB)", "at least one"}},
		{"a bank question that is not in the bank", "", func(p *Params) { p.LocalQuestions = map[string][]string{"QAA": {"LQ_NOPE"}} }, "W2", []string{"LQ_NOPE"}},
		{"bad parameters", "", func(p *Params) { p.Weighting.Lo = 2; p.Breakdowns = []string{"postcode"} }, "W2", []string{"lo = 2", "postcode"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := smallWave(t)
			if tt.change != "" {
				if err := w.Warehouse.Write(ctx, func(tx *sql.Tx) error { _, err := tx.ExecContext(ctx, tt.change); return err }); err != nil {
					t.Fatal(err)
				}
			}
			p := testParams()
			if tt.params != nil {
				tt.params(&p)
			}
			err := computeErr(t, w.Warehouse, tt.wave, p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// Bad input (or parameters) is not retried: the release activity would
			// retry anything else for ever, and the release would wait on it.
			if k := fault.KindOf(err); !k.Permanent() {
				t.Errorf("error %q is %q, want a permanent kind (BadInput, Configuration)", err, k)
			}
		})
	}
}

func TestWriteRefuses(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if _, err := Write(ctx, st, &Results{wave: "W1"}, "r1"); err == nil {
		t.Error("wrote Results that Compute did not make")
	}
	if _, err := Write(ctx, st, nil, "r1"); err == nil {
		t.Error("wrote nil Results")
	}
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	for _, id := range []string{"", "../x", "a/b", ".hidden", strings.Repeat("x", 65)} {
		if _, err := Write(ctx, st, r, id); err == nil {
			t.Errorf("wrote a release with id %q", id)
		}
	}
	if list, _ := st.List(ctx, ""); len(list) != 0 {
		t.Errorf("a refused write left %d objects", len(list))
	}
}

func TestParams(t *testing.T) {
	if err := DefaultParams().Validate(); err != nil {
		t.Fatal(err)
	}
	p := DefaultParams()
	p.GroupComparison = "nearby"
	p.Breakdowns = []string{"gender", "gender"}
	p.Weighting.Vars = []string{"age_band", "postcode"}
	p.Disclosure.MinBase = 1
	err := p.Validate()
	for _, want := range []string{"nearby", `"gender" named twice`, "postcode", "min_base"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate: %v, want it to say %q", err, want)
		}
	}
	// The metadata is the same whatever the map order.
	a, b := DefaultParams(), DefaultParams()
	a.LocalQuestions = map[string][]string{"QAA": {"LQ_A"}, "QBB": {"LQ_B"}, "QCC": {"LQ_C"}}
	b.LocalQuestions = map[string][]string{"QCC": {"LQ_C"}, "QBB": {"LQ_B"}, "QAA": {"LQ_A"}}
	if !slices.Equal(a.Metadata(), b.Metadata()) {
		t.Error("metadata depends on map order")
	}
}

// TestLocalQuestionsAndComparison: the parameters that choose what is published and
// what it is compared with.
func TestLocalQuestionsAndComparison(t *testing.T) {
	_, snap := testWave(t)
	// Named local questions replace the ones read from the answers: QCC answered
	// LQ_LONELINESS, but the parameters say only QAA added it.
	p := testParams()
	p.LocalQuestions = map[string][]string{"QAA": {"LQ_LONELINESS"}}
	r := compute(t, snap, "W1", p)
	icss := map[string]bool{}
	for _, row := range r.ResultsFor("patient", "LQ_LONELINESS") {
		icss[row.ICS] = true
	}
	if !icss["QAA"] || icss["QCC"] || len(r.ResultsFor("patient", "LQ_DIGITAL_SERVICES")) != 0 {
		t.Errorf("LQ_LONELINESS published for %v; LQ_DIGITAL_SERVICES rows %d", icss, len(r.ResultsFor("patient", "LQ_DIGITAL_SERVICES")))
	}

	// Comparing a group with all of England excluding its ICS, rather than with the
	// same group there, changes groups' flags and no ICS's.
	same := compute(t, snap, "W1", testParams())
	p = testParams()
	p.GroupComparison = CompareWholeRest
	whole := compute(t, snap, "W1", p)
	a, b := same.Results(), whole.Results()
	if len(a) != len(b) {
		t.Fatalf("%d rows and %d", len(a), len(b))
	}
	changed := 0
	for i := range a {
		if a[i].VsEngland == b[i].VsEngland {
			continue
		}
		if a[i].GroupVariable == GroupAll {
			t.Fatalf("an ICS's or England's flag changed with the group comparison: %+v", a[i])
		}
		changed++
	}
	if changed == 0 {
		t.Error("no group's flag changed with the group comparison")
	}
}
