package linkage_test

import (
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/schemas"
	"icesurvey/store"
)

// TestHandWrittenExtract checks the rules one row at a time on a small CSV extract,
// each row's expected outcome written beside it.
func TestHandWrittenExtract(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 60, 40, "QMM")
	var consenter, declined *linkage.Person
	for i := range w.cohort.People {
		p := &w.cohort.People[i]
		switch {
		case p.Consented && consenter == nil:
			consenter = p
		case p.Responded && !p.Consented && declined == nil:
			declined = p
		}
	}
	if consenter == nil || declined == nil {
		t.Fatal("the wave lacks a consenter or a non-consenter")
	}
	k, nk := consenter.NHSPseudonym, declined.NHSPseudonym
	unknown := strings.Repeat("ab", 32)
	rows := []struct{ line, disposition, reason, field string }{
		{k + ",S1,2026-01-10,2026-01-15,21,RGT,E119,I10X,,", "accepted", "", ""},
		{strings.ToUpper(k) + ",S2,20260110,,11,RGT01,J44.1,,,", "accepted", "", ""},
		{nk + ",S3,2026-01-10,2026-01-15,21,RGT,E119,,,", schemas.LinkageExcluded, linkage.ReasonNotLinkable, ""},
		{unknown + ",S4,2026-01-10,2026-01-15,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonPersonKeyUnknown, "PERSON_KEY"},
		// Ten digits, but not an NHS number (its check digit is wrong): a malformed key.
		{"9434765910,S5,2026-01-10,,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonPersonKeyInvalid, "PERSON_KEY"},
		{k + ",S1,2026-01-10,2026-01-15,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonRecordDuplicate, "SPELL_ID"},
		{k + ",S6,2026-02-30,,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonDateInvalid, "ADMIDATE"},
		{k + ",S7,2026-01-10,2026-01-05,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonEndBeforeStart, "DISDATE"},
		{k + ",S8,2026-01-10,,7,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonCodeNotInList, "ADMIMETH"},
		{k + ",S9,2026-01-10,,21,XGT,E119,,,", schemas.LinkageRejected, linkage.ReasonPatternMismatch, "PROCODE3"},
		{k + ",S10,2026-01-10,,21,RGT,E1,,,", schemas.LinkageRejected, linkage.ReasonICD10Invalid, "DIAG_4_01"},
		{k + ",S11,2026-01-10,,21,,E119,,,", schemas.LinkageRejected, linkage.ReasonValueMissing, "PROCODE3"},
		{k + ",S12,1999-12-31,,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonDateOutOfRange, "ADMIDATE"},
		{k + ",S13,2027-01-10,,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonDateInFuture, "ADMIDATE"},
		// A non-consenter's row is excluded on its key, unread: its bad date is not found.
		{" " + strings.ToUpper(nk) + "\t,S16,2026-02-30,,21,RGT,E119,,,", schemas.LinkageExcluded, linkage.ReasonNotLinkable, ""},
		// A consenter's key with spaces around it and an id with spaces is trimmed as it
		// always was.
		{" " + k + " , S17 ,2026-01-11,,21,RGT,E119,,,", "accepted", "", ""},
		{k + ",S14,2026-01-10", schemas.LinkageRejected, linkage.ReasonRowMalformed, ""},
		{k + ",S15,\"2026-01-10,,21,RGT,E119,,,", schemas.LinkageRejected, linkage.ReasonRowMalformed, ""},
	}
	var b strings.Builder
	b.WriteString("\ufeffperson_key,SPELL_ID,AdmiDate,DISDATE,ADMIMETH,PROCODE3,DIAG_4_01,DIAG_4_02,DIAG_4_03,LOCAL_NOTE\n")
	for _, r := range rows {
		b.WriteString(r.line + "\n")
	}
	key := schemas.LinkageLandingPrefix(w.wave, "apc") + "hand.csv"
	if err := store.PutBytes(ctx, w.st, key, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
	apc, _ := w.defs.Get("apc")
	res, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(apc), key)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]schemas.LinkageRejection{}
	for _, r := range readAll[schemas.LinkageRejection](t, w.st, res.RejectionsKey, schemas.LinkageRejectionLayout()) {
		if _, ok := got[r.Row]; !ok {
			got[r.Row] = r
		}
	}
	accepted := map[int64]bool{}
	for _, a := range readAll[schemas.LinkageActivity](t, w.st, res.ActivityKey, schemas.LinkageActivityLayout()) {
		accepted[a.SourceRow] = true
		if a.NHSPseudonym != k {
			t.Errorf("row %d accepted for someone else", a.SourceRow)
		}
	}
	for i, r := range rows {
		row := int64(i + 1)
		if r.disposition == "accepted" {
			if !accepted[row] {
				t.Errorf("row %d (%s…): not accepted (%+v)", row, r.line[60:], got[row])
			}
			continue
		}
		g := got[row]
		if r.disposition == schemas.LinkageExcluded {
			// Excluded rows are counted on one line for the whole file, not listed.
			if g != (schemas.LinkageRejection{}) || accepted[row] {
				t.Errorf("row %d: excluded, but listed: %+v", row, g)
			}
			continue
		}
		if g.Disposition != r.disposition || g.ReasonCode != r.reason || g.Field != r.field {
			t.Errorf("row %d: got %s %s field %q, want %s %s field %q", row, g.Disposition, g.ReasonCode, g.Field, r.disposition, r.reason, r.field)
		}
	}
	if res.RowsRead != int64(len(rows)) || res.Accepted != 3 || res.Excluded != 2 {
		t.Errorf("read %d, accepted %d, excluded %d", res.RowsRead, res.Accepted, res.Excluded)
	}
	if g := got[0]; g.Disposition != schemas.LinkageExcluded || g.ReasonCode != linkage.ReasonNotLinkable || !strings.HasPrefix(g.Message, "2 rows ") {
		t.Errorf("the whole-file line of the excluded rows: %+v", g)
	}
	if len(res.UnknownColumns) != 1 || res.UnknownColumns[0] != "LOCAL_NOTE" {
		t.Errorf("unknown columns %v", res.UnknownColumns)
	}
	// The CSV report names the errors (not the excluded row) and repeats no value.
	report, err := store.ReadAll(ctx, w.st, res.ReportKey)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(string(report), "\n"); int64(lines) != res.Findings { // a header, and no line for the excluded
		t.Errorf("report of %d lines for %d findings", lines, res.Findings)
	}
	for _, v := range []string{k, nk, unknown, "9434765910", "2026-02-30", "XGT"} {
		if strings.Contains(string(report), v) {
			t.Errorf("the report repeats %q", v[:min(len(v), 10)])
		}
	}
	// A diagnosis normalised and its stems staged.
	dx := readAll[schemas.LinkageDiagnosis](t, w.st, res.DiagnosesKey, schemas.LinkageDiagnosisLayout())
	var seen []string
	for _, d := range dx {
		seen = append(seen, d.Code+"/"+d.Code3+"/"+d.Code4)
	}
	if strings.Join(seen, " ") != "E119/E11/E119 I10/I10/ J441/J44/J441 E119/E11/E119" {
		t.Errorf("diagnoses %v", seen)
	}
}

// TestConcurrentValidations validates two extracts of one wave at once, sharing the
// cohort, as the benchmark and a worker do (run with -race).
func TestConcurrentValidations(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 150, 60, "QMM")
	gs, _ := w.generate(t, "parquet")
	var wg sync.WaitGroup
	for _, id := range []string{"gpad", "op", "apc"} {
		d, _ := w.defs.Get(id)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(d), gs.Datasets[id].Key); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// TestParquetExtractWithBadTextIsRefused: a Parquet extract whose text is not UTF-8
// cannot be read by the engine; it is refused whole as unreadable, and the message
// repeats no value.
func TestParquetExtractWithBadTextIsRefused(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 40, 20, "QMM")
	type apcRow struct {
		PersonKey string `col:"PERSON_KEY"`
		SpellID   string `col:"SPELL_ID"`
		AdmiDate  string `col:"ADMIDATE"`
		AdmiMeth  string `col:"ADMIMETH"`
		ProCode3  string `col:"PROCODE3"`
		Diag      string `col:"DIAG_4_01"`
	}
	k := w.cohort.People[0].NHSPseudonym
	rows := []apcRow{{k, "S1", "2026-01-10", "21", "RGT", "E119"}, {k, "S2", "2026-01-11", "21", "R\xffT", "E119"}}
	key := schemas.LinkageLandingPrefix(w.wave, "apc") + "bad-text.parquet"
	if err := lake.PutRows(ctx, w.st, key, schemas.LayoutOf[apcRow]("apc"), rows); err != nil {
		t.Fatal(err)
	}
	apc, _ := w.defs.Get("apc")
	_, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(apc), key)
	var xe *linkage.ExtractError
	if !errors.As(err, &xe) || xe.Reason != linkage.ExtractParquetUnreadable || strings.Contains(xe.Error(), "\xff") {
		t.Fatalf("got %v, want the extract refused as unreadable", err)
	}
	if !strings.Contains(xe.Message, "not UTF-8") {
		t.Errorf("refused, but not for its text: %v", err)
	}
}

// TestCohortEngineIsRemadeAfterClose: the cohort's validation engine is made on first
// use and shared; Close lets it go, and a later validation makes it again.
func TestCohortEngineIsRemadeAfterClose(t *testing.T) {
	w := newTestWave(t, 60, 30, "QMM")
	gs, _ := w.generate(t, "csv")
	d, _ := w.defs.Get("op")
	for i := range 2 {
		res, err := linkage.ValidateExtract(context.Background(), w.st, w.extractConfig(d), gs.Datasets["op"].Key)
		if err != nil {
			t.Fatalf("validation %d: %v", i+1, err)
		}
		if res.Accepted == 0 || res.RowsRead != res.Accepted+res.Rejected+res.Excluded {
			t.Fatalf("validation %d: %+v", i+1, res)
		}
		if err := w.cohort.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.cohort.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

// The CSV report goes to the data provider's people, who open it in a spreadsheet; its
// file column is the name the provider gave the extract. A name a spreadsheet would run
// as a formula is written with an apostrophe in front there (the lake's rejections keep
// it verbatim: they are for machines).
func TestReportFileNameIsNeverAFormula(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 60, 40, "QMM")
	var k string
	for _, p := range w.cohort.People {
		if p.Consented {
			k = p.NHSPseudonym
			break
		}
	}
	name := "=HYPERLINK(\"http:x.example\")+apc.csv"
	var b strings.Builder
	b.WriteString("PERSON_KEY,SPELL_ID,ADMIDATE,DISDATE,ADMIMETH,PROCODE3,DIAG_4_01\n")
	b.WriteString(k + ",S1,2026-01-10,2026-01-15,21,RGT,E119\n")
	b.WriteString(k + ",S2,2026-02-30,,21,RGT,E119\n")
	key := schemas.LinkageLandingPrefix(w.wave, "apc") + name
	if err := store.PutBytes(ctx, w.st, key, []byte(b.String())); err != nil {
		t.Fatal(err)
	}
	apc, _ := w.defs.Get("apc")
	res, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(apc), key)
	if err != nil {
		t.Fatal(err)
	}
	report, err := store.ReadAll(ctx, w.st, res.ReportKey)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(string(report))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("report: %d records, %v:\n%s", len(recs), err, report)
	}
	for i, c := range recs[1] {
		if c != "" && strings.ContainsRune("=+@\t\r", rune(c[0])) {
			t.Errorf("report column %s is %q: a formula", recs[0][i], c)
		}
	}
	if got := recs[1][slices.Index(recs[0], "file")]; got != "'"+name {
		t.Errorf("report file %q, want %q", got, "'"+name)
	}
	rej := readAll[schemas.LinkageRejection](t, w.st, res.RejectionsKey, schemas.LinkageRejectionLayout())
	if len(rej) == 0 || rej[0].File != name {
		t.Errorf("the lake's rejections name the file %+v, want %q verbatim", rej, name)
	}
}
