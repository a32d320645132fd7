package linkage_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"

	"icesurvey/codes"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/store"
)

func TestCohortConsentMatchesTheGeneratorsRecord(t *testing.T) {
	w := newTestWave(t, 400, 150)
	sampled, responded, consented := w.cohort.Counts()
	if sampled != w.stats.Sampled || responded != w.stats.Respondents {
		t.Fatalf("cohort %d sampled %d responded, generator %d and %d", sampled, responded, w.stats.Sampled, w.stats.Respondents)
	}
	if consented != len(w.stats.Consenting) {
		t.Errorf("%d consenting, the generator meant %d", consented, len(w.stats.Consenting))
	}
	for _, p := range w.cohort.People {
		if p.Consented != w.stats.Consenting[p.SurveyRecordID] {
			t.Errorf("%s: consented %v, generator %v (withdrawn %v, declined %v)", p.SurveyRecordID, p.Consented,
				w.stats.Consenting[p.SurveyRecordID], w.stats.Withdrawn[p.SurveyRecordID], w.stats.Declined[p.SurveyRecordID])
		}
	}
	if len(w.stats.Withdrawn) == 0 || len(w.stats.Declined) == 0 || w.stats.CarerConsents == 0 {
		t.Fatalf("the synthetic wave lacks withdrawals, refusals or carer consents: %d %d %d",
			len(w.stats.Withdrawn), len(w.stats.Declined), w.stats.CarerConsents)
	}
	if w.cohort.Consent.CarersGiven == 0 || w.cohort.Consent.BySource[schemas.ConsentSourceOptOut] != len(w.stats.Withdrawn) {
		t.Errorf("consent counts %+v", w.cohort.Consent)
	}
}

// outcome is what validation made of one extract row.
type outcome struct {
	disposition, reason string
}

func TestValidationAgreesWithTheTruthFile(t *testing.T) {
	for _, format := range []string{"csv", "parquet"} {
		t.Run(format, func(t *testing.T) {
			w := newTestWave(t, 300, 120)
			gs, results := w.generate(t, format)
			truth := readAll[schemas.LinkageTruth](t, w.st, gs.TruthKey, schemas.LinkageTruthLayout())
			var accepted []schemas.LinkageActivity
			for _, id := range w.defs.IDs() {
				accepted = append(accepted, readAll[schemas.LinkageActivity](t, w.st, schemas.LinkageActivityPrefix(id, w.wave), schemas.LinkageActivityLayout())...)
			}
			rejections := readAll[schemas.LinkageRejection](t, w.st, schemas.LinkageRejectionsPrefix(w.wave), schemas.LinkageRejectionLayout())
			got := map[string]outcome{}
			// Each lake object holds its rows in the extract's order.
			for i := 1; i < len(accepted); i++ {
				if a, b := accepted[i-1], accepted[i]; a.SourceFile == b.SourceFile && a.SourceRow >= b.SourceRow {
					t.Fatalf("%s: row %d written before row %d", a.SourceFile, a.SourceRow, b.SourceRow)
				}
			}
			for _, a := range accepted {
				got[fmt.Sprintf("%s/%d", a.SourceFile, a.SourceRow)] = outcome{"accepted", ""}
			}
			excludedLines := map[string]int{} // file → the whole-file lines counting its excluded rows
			for _, r := range rejections {
				if r.Row == 0 {
					if r.Disposition != schemas.LinkageExcluded || r.ReasonCode != linkage.ReasonNotLinkable {
						t.Errorf("%s: a whole-file line %+v", r.File, r)
					}
					excludedLines[r.File]++
					continue
				}
				k := fmt.Sprintf("%s/%d", r.File, r.Row)
				if _, seen := got[k]; !seen { // the first finding of a row is its reason
					got[k] = outcome{r.Disposition, r.ReasonCode}
				}
			}
			delivered, faults, faultsUnread, faultsJudged, faultsRejectable := 0, map[string]int{}, 0, map[string]int{}, map[string]int{}
			excludedRows := map[string]int64{}
			for _, tr := range truth {
				if tr.Expected == schemas.TruthNotDelivered {
					continue
				}
				delivered++
				faults[tr.Fault]++
				// A row about a sampled person who may not be linked is excluded on its
				// key alone, whatever else is wrong with it: their data is not examined.
				want := outcome{"accepted", ""}
				key, _ := linkage.NormalisePseudonym(strings.TrimSpace(tr.DeliveredKey))
				p, known := w.cohort.Lookup(key)
				switch {
				case known && !p.Consented:
					want = outcome{schemas.LinkageExcluded, linkage.ReasonNotLinkable}
				case tr.Expected == schemas.TruthRejected:
					want = outcome{schemas.LinkageRejected, tr.Reason}
				case !known:
					want = outcome{schemas.LinkageExcluded, linkage.ReasonNotLinkable}
				}
				if tr.Expected == schemas.TruthRejected {
					faultsRejectable[tr.Fault]++
					if known && !p.Consented {
						faultsUnread++
					} else {
						faultsJudged[tr.Fault]++
					}
				}
				k := fmt.Sprintf("%s/%d", tr.File, tr.Row)
				if want.disposition == schemas.LinkageExcluded {
					// Excluded rows are counted, not listed: the row is neither accepted
					// nor has a line of its own.
					excludedRows[tr.File]++
					want = outcome{}
				}
				if got[k] != want {
					t.Errorf("%s %s (fault %s): got %+v, want %+v", tr.DatasetID, k, tr.Fault, got[k], want)
				}
			}
			var read, excluded int64
			for id, res := range results {
				read += res.RowsRead
				excluded += res.Excluded
				file := path.Base(res.Key)
				if res.Excluded != excludedRows[file] || excludedLines[file] != min(1, int(res.Excluded)) {
					t.Errorf("%s: %d rows excluded, the truth says %d; %d whole-file lines", id, res.Excluded, excludedRows[file], excludedLines[file])
				}
				if res.RowsRead != res.Accepted+res.Rejected+res.Excluded || res.RowsRead != gs.Datasets[id].Rows {
					t.Errorf("%s: read %d = %d + %d + %d; generated %d", id, res.RowsRead, res.Accepted, res.Rejected, res.Excluded, gs.Datasets[id].Rows)
				}
				if res.KnownShare < 0.75 {
					t.Errorf("%s: known share %.3f", id, res.KnownShare)
				}
			}
			if int64(delivered) != read || int64(len(got))+excluded != int64(delivered) {
				t.Errorf("truth has %d delivered rows, validation read %d, listed %d and excluded %d", delivered, read, len(got), excluded)
			}
			for _, f := range []string{synthlink.FaultBadCode, synthlink.FaultUnknownKey, synthlink.FaultDuplicate,
				synthlink.FaultInvalidKey, synthlink.FaultFutureDate, synthlink.FaultWrongPerson} {
				if faults[f] == 0 || (faultsRejectable[f] > 0 && faultsJudged[f] == 0) {
					t.Errorf("%d %s faults in the synthetic extracts, %d of them in rows judged in full", faults[f], f, faultsJudged[f])
				}
			}
			if faultsUnread == 0 {
				t.Error("no fault in a non-consenter's row: the rule that their rows are excluded unread is not exercised")
			}
			if format == "csv" && faults[synthlink.FaultBadDate] == 0 {
				t.Error("no bad_date fault in the CSV extracts")
			}
		})
	}
}

func TestForeignExtractsAreRefusedWhole(t *testing.T) {
	ctx := context.Background()
	w := newTestWave(t, 200, 80)
	gs, err := synthlink.Generate(ctx, w.st, synthlink.Config{WaveID: w.wave, Seed: 3, NoTruth: true})
	if err != nil {
		t.Fatal(err)
	}
	apc, _ := w.defs.Get("apc")
	src, err := store.ReadAll(ctx, w.st, gs.Datasets["apc"].Key)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(src)), "\n")
	// Re-key every row: with another project's key (another HMAC of each key), and with
	// ten-digit NHS-number-like ids.
	rekey := func(f func(i int, key string) string) []byte {
		var b bytes.Buffer
		b.WriteString(lines[0] + "\n")
		for i, l := range lines[1:] {
			k, rest, _ := strings.Cut(l, ",")
			b.WriteString(f(i, k) + "," + rest + "\n")
		}
		return b.Bytes()
	}
	other := func(_ int, k string) string {
		return linkage.KeyID([]byte("another-project-key-0123456789abcdefghij"+k)) + linkage.KeyID([]byte(k+"x")) +
			linkage.KeyID([]byte(k+"y")) + linkage.KeyID([]byte(k+"z"))
	}
	nhs := func(i int, _ string) string { return fmt.Sprintf("94%08d", i) }
	// A few rows keyed by the sample's pseudonyms, the rest by something else: valid NHS
	// numbers, or local ids (as a provider that keyed most of its rows wrongly sends).
	var nhsNumbers []string
	for n := 9434765800; len(nhsNumbers) < len(lines); n++ {
		if s := strconv.Itoa(n); codes.ValidNHSNumber(s) {
			nhsNumbers = append(nhsNumbers, s)
		}
	}
	mostly := func(other func(i int) string) []byte {
		var b bytes.Buffer
		b.WriteString(lines[0] + "\n")
		known := 0
		for i, l := range lines[1:] {
			k, rest, _ := strings.Cut(l, ",")
			if _, ok := w.cohort.Lookup(k); ok && known < 3 {
				known++
			} else {
				k = other(i)
			}
			b.WriteString(k + "," + rest + "\n")
		}
		if known < 3 {
			t.Fatal("the extract has fewer than 3 known keys")
		}
		return b.Bytes()
	}
	withColumns := func(extra string) []byte {
		var b bytes.Buffer
		b.WriteString(lines[0] + "," + extra + "\n")
		for i, l := range lines[1:] {
			fmt.Fprintf(&b, "%s,%s,19%02d-01-01,LS1 4AB\n", l, nhsNumbers[i], i%100)
		}
		return b.Bytes()
	}
	for _, tc := range []struct {
		name, manifest, reason string
		body                   []byte
	}{
		{"another key", "", linkage.ExtractForeignKeys, rekey(other)},
		{"NHS numbers", "", linkage.ExtractNHSNumberKeys, rekey(nhs)},
		{"mostly NHS numbers", "", linkage.ExtractNHSNumberKeys, mostly(func(i int) string { return nhsNumbers[i] })},
		{"mostly local ids", "", linkage.ExtractForeignKeys, mostly(func(i int) string { return fmt.Sprintf("L%07d", i) })},
		{"identifier columns", "", linkage.ExtractIdentifierColumn, withColumns("NHS_NUMBER,DOB,Postcode")},
		{"manifest rows differ", `{"dataset":"apc","rows":` + strconv.Itoa(len(lines)+99) + `}`, linkage.ExtractRowCountMismatch, src},
		{"manifest names another key", `{"dataset":"apc","pseudonym_key_id":"0123456789abcdef"}`, linkage.ExtractKeyIDMismatch, src},
		{"manifest names another dataset", `{"dataset":"op"}`, linkage.ExtractDatasetMismatch, src},
		{"missing column", "", linkage.ExtractHeaderMissing, []byte(strings.Replace(string(src), "ADMIDATE", "ADMISSION", 1))},
		{"duplicate column", "", linkage.ExtractHeaderDuplicate, []byte(strings.Replace(string(src), "DIAG_4_04", "diag_4_01", 1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := schemas.LinkageLandingPrefix(w.wave, "apc") + strings.ReplaceAll(tc.name, " ", "_") + ".csv"
			if err := store.PutBytes(ctx, w.st, key, tc.body); err != nil {
				t.Fatal(err)
			}
			if tc.manifest != "" {
				if err := store.PutBytes(ctx, w.st, linkage.ManifestKey(key), []byte(tc.manifest)); err != nil {
					t.Fatal(err)
				}
			}
			before, _ := w.st.List(ctx, "lake/")
			_, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(apc), key)
			var ee *linkage.ExtractError
			if !errors.As(err, &ee) || ee.Reason != tc.reason {
				t.Fatalf("got %v, want an extract error %s", err, tc.reason)
			}
			if !strings.Contains(err.Error(), key) {
				t.Errorf("error %q does not name the file", err)
			}
			if strings.Contains(err.Error(), "94000000") || strings.Contains(err.Error(), nhsNumbers[0]) || strings.Contains(err.Error(), "LS1 4AB") {
				t.Errorf("error %q repeats a value", err)
			}
			after, _ := w.st.List(ctx, "lake/")
			if len(after) != len(before) {
				t.Errorf("a refused extract stored %d lake objects", len(after)-len(before))
			}
		})
	}
	// The real extract, with the right manifest, is accepted.
	if err := store.PutBytes(ctx, w.st, linkage.ManifestKey(gs.Datasets["apc"].Key), []byte(`{"dataset":"apc","pseudonym_key_id":"`+linkage.KeyID(testKey)+
		`","rows":`+strconv.Itoa(len(lines)-1)+`}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(apc), gs.Datasets["apc"].Key); err != nil {
		t.Fatal(err)
	}
}
