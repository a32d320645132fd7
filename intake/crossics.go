package intake

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Duplicate is one person (by NHS pseudonym) in the samples of more than one ICS of
// a wave — someone who moved, or is registered in one ICS and lives in another.
type Duplicate struct {
	NHSPseudonym string            `json:"nhs_pseudonym"`
	Records      []DuplicateRecord `json:"records"` // sorted by ICS, then survey record id
}

// DuplicateRecord is one of the sample records of a duplicated person.
type DuplicateRecord struct {
	ICS            string `json:"ics"`
	SurveyRecordID string `json:"survey_record_id"`
}

// CrossICSDuplicates reads the lake sample of each ICS of one wave (sampleKeys maps an
// ICS code to its sample.parquet key) and returns every NHS pseudonym found in more
// than one ICS's sample, sorted by pseudonym. All the samples must belong to one wave.
// Memory grows with the total sample size (about 60 bytes a record).
func CrossICSDuplicates(ctx context.Context, st store.Store, sampleKeys map[string]string) ([]Duplicate, error) {
	icss := make([]string, 0, len(sampleKeys))
	for ics := range sampleKeys {
		icss = append(icss, ics)
	}
	sort.Strings(icss)
	type seen struct {
		first DuplicateRecord
		more  []DuplicateRecord
	}
	people := map[[32]byte]*seen{}
	wave := ""
	for _, ics := range icss {
		key := sampleKeys[ics]
		err := lake.Scan[schemas.SampleRecord](ctx, st, key, schemas.SampleRecordLayout(), func(rec *schemas.SampleRecord) error {
			if wave == "" {
				wave = rec.WaveID
			} else if rec.WaveID != wave {
				return fmt.Errorf("intake: %s holds wave %q, not %q: cross-ICS checks are within one wave", key, rec.WaveID, wave)
			}
			if rec.ICS != ics {
				return fmt.Errorf("intake: %s holds ICS %q, not %q", key, rec.ICS, ics)
			}
			var p [32]byte
			if n, err := hex.Decode(p[:], []byte(rec.NHSPseudonym)); err != nil || n != len(p) {
				return fmt.Errorf("intake: %s: survey record %s has a malformed NHS pseudonym", key, rec.SurveyRecordID)
			}
			r := DuplicateRecord{ICS: ics, SurveyRecordID: rec.SurveyRecordID}
			if s, ok := people[p]; ok {
				s.more = append(s.more, r)
			} else {
				people[p] = &seen{first: r}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("intake: cross-ICS duplicates: %w", err)
		}
	}
	var out []Duplicate
	for p, s := range people {
		if len(s.more) == 0 {
			continue
		}
		recs := append([]DuplicateRecord{s.first}, s.more...)
		multi := false
		for _, r := range recs[1:] {
			if r.ICS != recs[0].ICS {
				multi = true
			}
		}
		if !multi {
			continue // repeated within one ICS: the intake of that ICS already rejects these
		}
		sort.Slice(recs, func(i, j int) bool {
			if recs[i].ICS != recs[j].ICS {
				return recs[i].ICS < recs[j].ICS
			}
			return recs[i].SurveyRecordID < recs[j].SurveyRecordID
		})
		out = append(out, Duplicate{NHSPseudonym: hex.EncodeToString(p[:]), Records: recs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NHSPseudonym < out[j].NHSPseudonym })
	return out, nil
}
