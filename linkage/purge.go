package linkage

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"icesurvey/audit"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Validation keeps an extract's rows only for people who may be linked at the time
// (ValidateExtract excludes everyone else), but a person who withdraws later still has
// the rows validated before in the lake's copies of the extracts (linkage_{dataset} and
// linkage_diagnoses). A release never links them again (each is built from the consent
// events as they stand), yet the rows would stay in the restricted lake until the
// extract was validated again. PurgeWithdrawn applies validation's rule again to the
// rows already kept, so a withdrawal also removes the person's activity from the lake.

// PurgeResult counts what PurgeWithdrawn removed from a wave's validated extracts.
// Counts only: it names no one.
type PurgeResult struct {
	WaveID    string           `json:"wave_id"`
	Objects   int              `json:"objects"`              // activity and diagnosis objects read
	Rewritten int              `json:"rewritten"`            // objects rewritten without the purged rows
	People    int              `json:"people"`               // distinct people whose rows were purged
	Rows      int64            `json:"rows"`                 // activity rows purged
	Diagnoses int64            `json:"diagnoses"`            // diagnosis code rows purged
	ByDataset map[string]int64 `json:"by_dataset,omitempty"` // activity rows purged, by dataset
}

// PurgeWithdrawn removes from the wave's validated extracts in the lake (the accepted
// activity rows of every dataset in defs, and their diagnosis codes) every row of a
// person who may not be linked now: not in the cohort, or not Consented (no kept
// response, or a latest patient consent event other than "given"). The cohort must be
// loaded after the consent events were derived and recorded.
//
// Each affected object is rewritten whole by one atomic Put under its own key, with the
// rows read reconciled as kept + purged first; an object with nothing to purge is only
// read (its person-key column), so a second run, or a retry after a crash between two
// objects, rewrites only what still holds such rows and ends in the same state. The
// audit record and the log line carry counts, never a pseudonym.
func PurgeWithdrawn(ctx context.Context, st store.Store, cohort *Cohort, defs *Definitions) (*PurgeResult, error) {
	if cohort == nil || defs == nil {
		return nil, fmt.Errorf("linkage: PurgeWithdrawn needs the cohort and the definitions")
	}
	wave := cohort.WaveID
	res := &PurgeResult{WaveID: wave, ByDataset: map[string]int64{}}
	linkable := func(pseudonym string) bool {
		p, ok := cohort.Lookup(strings.ToLower(pseudonym))
		return ok && p.Consented
	}
	purged := map[string]struct{}{} // the people purged, to count them; never returned
	for _, d := range defs.All() {
		keys, err := lakeObjects(ctx, st, schemas.LinkageActivityPrefix(d.ID, wave))
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			n, err := purgeObject(ctx, st, k, schemas.LinkageActivityLayout(),
				func(a *schemas.LinkageActivity) string { return a.NHSPseudonym }, linkable, purged)
			if err != nil {
				return nil, err
			}
			res.Objects++
			if n > 0 {
				res.Rewritten++
				res.Rows += n
				res.ByDataset[d.ID] += n
			}
		}
	}
	keys, err := lakeObjects(ctx, st, schemas.LinkageDiagnosesPrefix(wave))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		n, err := purgeObject(ctx, st, k, schemas.LinkageDiagnosisLayout(),
			func(d *schemas.LinkageDiagnosis) string { return d.NHSPseudonym }, linkable, purged)
		if err != nil {
			return nil, err
		}
		res.Objects++
		if n > 0 {
			res.Rewritten++
			res.Diagnoses += n
		}
	}
	res.People = len(purged)
	audit.Record(ctx, "linkage_withdrawn_purged", map[string]any{"wave": wave, "objects": res.Objects,
		"rewritten": res.Rewritten, "people": res.People, "rows": res.Rows, "diagnoses": res.Diagnoses, "by_dataset": res.ByDataset})
	slog.InfoContext(ctx, "linkage withdrawn purged from the validated extracts", "wave", wave, "objects", res.Objects,
		"rewritten", res.Rewritten, "people", res.People, "rows", res.Rows, "diagnoses", res.Diagnoses)
	return res, nil
}

// purgeObject rewrites the Parquet object at key without the rows whose person key
// (key of the row) is not linkable, and returns how many it dropped. It first reads the
// person-key column alone and leaves an object with nothing to drop untouched.
func purgeObject[T any](ctx context.Context, st store.Store, key string, l *schemas.Layout, person func(*T) string,
	linkable func(string) bool, purged map[string]struct{}) (int64, error) {
	var drop int64
	err := lake.ScanStrings(ctx, st, key, []string{"nhs_pseudonym"}, func(row []string) error {
		if !linkable(row[0]) {
			drop++
			purged[strings.Clone(strings.ToLower(row[0]))] = struct{}{}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("linkage: purge: read %s: %w", key, err)
	}
	if drop == 0 {
		return 0, nil
	}
	// The whole object is read before the new one is stored (lake.PutStream builds it
	// in a temporary file and Puts it once), so reading and replacing one key is safe.
	var read, kept, dropped int64
	err = lake.PutStream(ctx, st, key, l, func(emit func(*T) error) error {
		return lake.Scan(ctx, st, key, l, func(r *T) error {
			read++
			if !linkable(person(r)) {
				dropped++
				return nil
			}
			kept++
			return emit(r)
		})
	})
	if err == nil && (read != kept+dropped || dropped != drop) {
		// Cannot happen unless the object changed between the two reads; the object just
		// written holds only linkable rows all the same, and a retry reconciles again.
		err = fmt.Errorf("%s: %d rows read, %d kept + %d purged, %d to purge by the first read", key, read, kept, dropped, drop)
	}
	if err != nil {
		return 0, fmt.Errorf("linkage: purge: rewrite %s: %w", key, err)
	}
	return dropped, nil
}
