package intake

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"icesurvey/store"
	"icesurvey/synth"
)

// TestSyntheticSampleReconciles feeds faulty synthetic samples of 10,000 through the
// real intake and checks its counts against what the generator says each injected
// fault and exclusion must come to, for every Phase 1 ICS and both file formats.
func TestSyntheticSampleReconciles(t *testing.T) {
	exclusion := map[string]string{
		synth.ExclusionFrailty:      ExclFrailty,
		synth.ExclusionUnder18:      ExclUnder18,
		synth.ExclusionRegistration: ExclRegisteredUnder6M,
		synth.ExclusionType1OptOut:  ExclType1OptOut,
		synth.ExclusionDissent:      ExclDissent,
		synth.ExclusionNoUKAddress:  ExclNoUKAddress,
	}
	cases := []struct {
		ics, format string
		n           int
		faults      float64
		abroad      float64 // share of the no-UK-address exclusions written as addresses abroad
	}{
		{"QMM", "csv", 10000, 0.1, 0},
		{"QJK", "csv", 10000, 0.1, 0},
		{"QE1", "csv", 10000, 0.3, 0},
		{"QHM", "xlsx", 3000, 0.1, 0},
		{"QNX", "csv", 10000, 0.1, 0.5},
	}
	for _, c := range cases {
		t.Run(c.ics+"-"+c.format, func(t *testing.T) {
			ctx := context.Background()
			cfg := synth.Config{ICS: c.ics, N: c.n, Seed: 42, FaultRate: c.faults, SamplingDate: testSampling, Format: c.format, AbroadShare: c.abroad}
			var sample, mailing bytes.Buffer
			stats, err := synth.Generate(cfg, &sample, &mailing)
			if err != nil {
				t.Fatal(err)
			}
			st := newStore(t)
			ext := "." + c.format
			sk, mk := "landing/w/"+c.ics+"/sample"+ext, "landing/w/"+c.ics+"/mailing"+ext
			if err := store.PutBytes(ctx, st, sk, sample.Bytes()); err != nil {
				t.Fatal(err)
			}
			if err := store.PutBytes(ctx, st, mk, mailing.Bytes()); err != nil {
				t.Fatal(err)
			}
			res, err := Run(ctx, st, Config{WaveID: "w", ICS: c.ics, SamplingDate: testSampling, MinEligible: 1, PseudonymKey: testKey},
				Input{SampleKey: sk, MailingKey: mk})
			if err != nil {
				t.Fatalf("intake: %v", err)
			}
			if res.RowsRead != stats.Rows || res.MailingRowsRead != stats.MailingRows {
				t.Errorf("rows read %d/%d, generator wrote %d/%d", res.RowsRead, res.MailingRowsRead, stats.Rows, stats.MailingRows)
			}
			if res.Accepted != stats.ExpectedAccepted || res.Excluded != stats.ExpectedExcluded || res.Rejected != stats.ExpectedRejected {
				t.Errorf("accepted/excluded/rejected = %d/%d/%d, generator expects %d/%d/%d",
					res.Accepted, res.Excluded, res.Rejected, stats.ExpectedAccepted, stats.ExpectedExcluded, stats.ExpectedRejected)
			}
			if res.Accepted+res.Excluded+res.Rejected != res.RowsRead {
				t.Errorf("accepted+excluded+rejected = %d, rows read %d", res.Accepted+res.Excluded+res.Rejected, res.RowsRead)
			}
			for kind, want := range stats.Exclusions {
				if got := res.ByReason[exclusion[kind]]; got != want {
					t.Errorf("exclusion %s (%s): intake %d, generator %d", kind, exclusion[kind], got, want)
				}
			}
			// The report holds one line per finding and names file, row, field and reason.
			rep, err := store.ReadAll(ctx, st, res.ReportKey)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Count(string(rep), "\n") - 1
			if lines != res.Findings || lines < res.Excluded+res.Rejected {
				t.Errorf("report has %d lines, %d findings, %d rejected+excluded", lines, res.Findings, res.Excluded+res.Rejected)
			}
			if c.abroad > 0 && !strings.Contains(mailing.String(), ",,") {
				t.Error("no mailing row without a postcode")
			}
			if res.NoSMS != stats.ExpectedAccepted-stats.ExpectedAcceptedWithMobile {
				t.Errorf("no-SMS %d, generator expects %d", res.NoSMS, stats.ExpectedAccepted-stats.ExpectedAcceptedWithMobile)
			}
		})
	}
}
