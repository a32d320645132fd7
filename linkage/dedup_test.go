package linkage_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"testing"
	"time"

	"icesurvey/codes"
	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/schemas"
	"icesurvey/store"
)

// opFigures are what a release makes of the outpatient extracts: the sum of the linked
// respondents' outpatient attendances in 12 months, and the export's rows (all, and
// did-not-attend ones).
type opFigures struct {
	attendances12m, rows, didNotAttend int64
}

func (w *testWave) opFigures(t *testing.T, res *linkage.ReleaseResult) opFigures {
	t.Helper()
	var f opFigures
	for _, r := range readAll[schemas.LinkedRespondent](t, w.st, res.Tables[schemas.TableLinkedRespondents].Key, schemas.LinkedRespondentLayout()) {
		f.attendances12m += r.Outpatient12M
	}
	key := res.Tables[schemas.LinkedActivityTable("op")].Key
	err := lake.ScanStrings(context.Background(), w.st, key, []string{"activity_type"}, func(row []string) error {
		f.rows++
		if row[0] == "did_not_attend" {
			f.didNotAttend++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// opWave is a test wave with its outpatient extract's key.
type opWave struct {
	*testWave
	opKey string
}

// land puts an extract in the landing area, landed at the given time, and validates it.
func (w *opWave) land(t *testing.T, key string, b []byte, landed time.Time) *linkage.ExtractResult {
	t.Helper()
	ctx := context.Background()
	if err := store.PutBytes(ctx, w.st, key, b); err != nil {
		t.Fatal(err)
	}
	// The provider's manifest (its as-of date) comes with each extract, its rows this
	// extract's (a manifest's rows that differ from the file's refuse it).
	if m, err := store.ReadAll(ctx, w.st, linkage.ManifestKey(w.opKey)); err == nil {
		var manifest map[string]any
		if err := json.Unmarshal(m, &manifest); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\uFEFF")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		manifest["rows"] = len(records) - 1
		if m, err = json.Marshal(manifest); err != nil {
			t.Fatal(err)
		}
		if err := store.PutBytes(ctx, w.st, linkage.ManifestKey(key), m); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chtimes(filepath.Join(w.st.Root(), filepath.FromSlash(key)), landed, landed); err != nil {
		t.Fatal(err)
	}
	d, err := w.defs.Get("op")
	if err != nil {
		t.Fatal(err)
	}
	res, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(d), key)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestARecordInSeveralExtractsCountsOnce: an outpatient extract sent again in other
// bytes (a BOM, CRLF line ends) adds nothing to a release, and a later extract's
// version of a record (a correction) replaces the earlier one's; an earlier-landed
// version does not.
func TestARecordInSeveralExtractsCountsOnce(t *testing.T) {
	ctx := context.Background()
	tw := newTestWave(t, 300, 150)
	gs, results := tw.generate(t, "csv")
	opKey := gs.Datasets["op"].Key
	w := &opWave{tw, opKey}
	orig, err := store.ReadAll(ctx, w.st, opKey)
	if err != nil {
		t.Fatal(err)
	}
	info, err := w.st.Stat(ctx, opKey)
	if err != nil {
		t.Fatal(err)
	}
	landed := info.ModTime
	base := w.opFigures(t, w.build(t, "R1", ""))
	if base.attendances12m == 0 || base.rows == 0 {
		t.Fatalf("no outpatient activity linked: %+v", base)
	}

	// The same extract, re-saved with a BOM and CRLF line ends: other bytes, the same
	// records.
	resend := append([]byte{0xEF, 0xBB, 0xBF}, bytes.ReplaceAll(orig, []byte("\n"), []byte("\r\n"))...)
	dir := path.Dir(opKey) + "/"
	r := w.land(t, dir+"op_resend.csv", resend, landed.Add(time.Hour))
	if r.SHA256 == results["op"].SHA256 || r.Accepted != results["op"].Accepted {
		t.Fatalf("the resend: sha %s accepted %d; the original: sha %s accepted %d", r.SHA256, r.Accepted, results["op"].SHA256, results["op"].Accepted)
	}
	if got := w.opFigures(t, w.build(t, "R2", "")); got != base {
		t.Errorf("after a resend of the same records: %+v, want %+v as before it", got, base)
	}

	// A correction of one counted attendance: attended → did not attend (code 3).
	rows, err := csv.NewReader(bytes.NewReader(orig)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, n := range rows[0] {
		col[n] = i
	}
	people := map[string]*linkage.Person{}
	for i := range w.cohort.People {
		people[w.cohort.People[i].NHSPseudonym] = &w.cohort.People[i]
	}
	var pick int64
	for _, a := range readAll[schemas.LinkageActivity](t, w.st, results["op"].ActivityKey, schemas.LinkageActivityLayout()) {
		p := people[a.NHSPseudonym]
		if a.ActivityType != "attended" || p == nil || !p.Consented || !p.Responded {
			continue
		}
		if a.ActivityDate.Before(codes.MonthsBefore(p.ResponseDate, 12)) || !a.ActivityDate.Before(p.ResponseDate) {
			continue
		}
		if a.RecordKey == nil || *a.RecordKey == "" || a.SourceOrder == nil {
			t.Fatalf("an accepted row without its record key or source order: %+v", a)
		}
		pick = a.SourceRow
		break
	}
	if pick == 0 {
		t.Fatal("no counted outpatient attendance to correct")
	}
	corrected := append([]string(nil), rows[pick]...)
	corrected[col["ATTENDED"]] = "3"
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.WriteAll([][]string{rows[0], corrected})
	want := base
	want.attendances12m--
	want.didNotAttend++

	// Landed before the original: the original's version stands.
	if r := w.land(t, dir+"op_stale.csv", b.Bytes(), landed.Add(-time.Hour)); r.Accepted != 1 {
		t.Fatalf("the stale correction: %d accepted, %v", r.Accepted, r.ByReason)
	}
	if got := w.opFigures(t, w.build(t, "R3", "")); got != base {
		t.Errorf("after an earlier-landed version of a record: %+v, want %+v as before it", got, base)
	}
	// Landed after the original and the resend: its version replaces theirs.
	if r := w.land(t, dir+"op_correction.csv", b.Bytes(), landed.Add(2*time.Hour)); r.Accepted != 1 {
		t.Fatalf("the correction: %d accepted, %v", r.Accepted, r.ByReason)
	}
	res := w.build(t, "R4", "")
	// The original's rows (by the resend) and the resend's corrected row. (The stale
	// correction had the correction's bytes: its lake object is the correction's, now
	// landed last.)
	if res.Superseded != results["op"].Accepted+1 {
		t.Errorf("%d rows superseded, want the original's %d and 1", res.Superseded, results["op"].Accepted)
	}
	if got := w.opFigures(t, res); got != want {
		t.Errorf("after a correction of one attendance: %+v, want %+v", got, want)
	}
	// The export carries the record once, with the correction's values.
	m, err := linkage.Export(ctx, w.st, linkage.ExportConfig{WaveID: w.wave, ReleaseID: "R4", ProjectKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, f := range m.Files {
		if f.Dataset == "op" {
			found = true
			if f.Rows != want.rows {
				t.Errorf("the export's %s: %d rows, want %d", f.File, f.Rows, want.rows)
			}
		}
	}
	if !found {
		t.Errorf("no outpatient file in the export: %+v", m.Files)
	}
}

// TestActivityWithoutRecordKeys: lake objects validated before record keys were kept
// (no record_key or source_order column) still build, each row a record of its own.
func TestActivityWithoutRecordKeys(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 200, 100)
	w.generate(t, "csv")
	want := w.opFigures(t, w.build(t, "R1", ""))
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var keys []string
	for _, id := range w.defs.IDs() {
		infos, err := w.st.List(ctx, schemas.LinkageActivityPrefix(id, w.wave))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			keys = append(keys, in.Key)
		}
	}
	for i, k := range keys {
		if i%2 == 1 && i != len(keys)-1 {
			continue // some old objects, some new
		}
		p := filepath.Join(w.st.Root(), filepath.FromSlash(k))
		tmp := p + ".old"
		if _, err := db.Exec("COPY (SELECT * EXCLUDE (record_key, source_order) FROM read_parquet('" + p + "')) TO '" + tmp + "' (FORMAT parquet)"); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.opFigures(t, w.build(t, "R2", "")); got != want {
		t.Errorf("with old objects: %+v, want %+v", got, want)
	}
}
