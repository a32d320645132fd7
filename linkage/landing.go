package linkage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The providers' extracts are for the whole sample: most of their rows are about people
// who did not consent, or withdrew, and validation reads no more of those rows than the
// key. Once a linkage run has validated an extract into the lake (the consenters' rows;
// the rejections with their reasons) and built and loaded its release, the landed file
// is not needed again: a withdrawals-only run and every later release read the lake. So
// the run deletes the extracts it read (and their manifests), as the retention deletes
// an ICS's landed files — their lineage first: key, SHA-256, size, rows read, accepted,
// rejected and excluded, or the reason the extract was refused whole, kept in the
// reports area and the audit trail. A file replaced since the run read it is kept for
// the next run. A refused extract goes too: it may be keyed by NHS numbers, and the
// provider must send another anyway.

// ExtractLineage is what is kept of one landed extract once it is deleted.
type ExtractLineage struct {
	Key     string `json:"key"`
	Dataset string `json:"dataset"`
	SHA256  string `json:"sha256"`
	Bytes   int64  `json:"bytes"`
	// The validation's counts, or the refusal of the whole extract.
	RowsRead int64  `json:"rows_read"`
	Accepted int64  `json:"accepted"`
	Rejected int64  `json:"rejected"`
	Excluded int64  `json:"excluded"`
	Refused  string `json:"refused,omitempty"`
	// UnknownColumns are the columns it had beyond its definition's (names only),
	// ignored.
	UnknownColumns []string `json:"unknown_columns,omitempty"`
	// Release is the release whose run validated it.
	Release    string    `json:"release"`
	RecordedAt time.Time `json:"recorded_at"`
}

// ExtractLineageFile is the lineage object of a wave's deleted extracts.
type ExtractLineageFile struct {
	WaveID string           `json:"wave_id"`
	Files  []ExtractLineage `json:"files"`
}

// LandedExtractsResult reports a deletion of landed extracts: keys only.
type LandedExtractsResult struct {
	// Deleted are the extracts deleted (with their manifests); Gone were deleted before
	// (a retry); Kept were replaced since the run read them, and wait for the next run.
	Deleted []string `json:"deleted,omitempty"`
	Gone    []string `json:"gone,omitempty"`
	Kept    []string `json:"kept,omitempty"`
}

// ErrNoExtractLineage: an extract would be deleted before its lineage was recorded (a
// conflict with the order of the run's steps: not retried).
var ErrNoExtractLineage = fault.New(fault.Conflict, "linkage: landed extract has no recorded lineage")

// ReadExtractLineage reads a wave's extract lineage (empty when none is recorded).
func ReadExtractLineage(ctx context.Context, st store.Store, wave string) (*ExtractLineageFile, error) {
	l := &ExtractLineageFile{WaveID: wave}
	b, err := store.ReadAll(ctx, st, schemas.LinkageExtractLineageKey(wave))
	switch {
	case errors.Is(err, store.ErrNotExist):
		return l, nil
	case err != nil:
		return nil, fmt.Errorf("linkage: read the extract lineage of %s: %w", wave, err)
	}
	if err := json.Unmarshal(b, l); err != nil {
		return nil, fmt.Errorf("linkage: read the extract lineage of %s: %w", wave, err)
	}
	return l, nil
}

// RecordExtractLineage adds the lineage of a run's extracts to the wave's lineage object,
// each measured as it is in the store now (its SHA-256 and size). An extract whose
// checksum is not the one its validation computed was replaced since, and is left out
// (and so kept by DeleteLandedExtracts); one already gone was recorded by an earlier
// attempt. Recording the same extract again replaces its entry: a repeat adds nothing.
func RecordExtractLineage(ctx context.Context, st store.Store, wave string, files []ExtractLineage, now time.Time) ([]ExtractLineage, error) {
	l, err := ReadExtractLineage(ctx, st, wave)
	if err != nil {
		return nil, err
	}
	var recorded []ExtractLineage
	for _, f := range files {
		if err := checkLanded(wave, f.Key); err != nil {
			return nil, err
		}
		sum, size, err := store.SHA256(ctx, st, f.Key)
		if errors.Is(err, store.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if f.SHA256 != "" && f.SHA256 != sum {
			continue // replaced since it was validated
		}
		f.SHA256, f.Bytes, f.RecordedAt = sum, size, now.UTC()
		l.Files = slices.DeleteFunc(l.Files, func(e ExtractLineage) bool { return e.Key == f.Key && e.SHA256 == f.SHA256 })
		l.Files = append(l.Files, f)
		recorded = append(recorded, f)
	}
	if len(recorded) == 0 {
		return nil, nil
	}
	b, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := store.PutBytes(ctx, st, schemas.LinkageExtractLineageKey(wave), b); err != nil {
		return nil, fmt.Errorf("linkage: write the extract lineage of %s: %w", wave, err)
	}
	return recorded, nil
}

// DeleteLandedExtracts deletes each of a run's extracts (its key, and the checksum its
// validation computed, empty when it was refused before it was read), and its
// manifest, when its lineage is recorded with the checksum the object has now. A file
// replaced since the run read it (or since its lineage was recorded) is kept. A file
// with no lineage at all is refused (ErrNoExtractLineage) and nothing after it deleted.
func DeleteLandedExtracts(ctx context.Context, st store.Store, wave string, files []ExtractLineage) (*LandedExtractsResult, error) {
	l, err := ReadExtractLineage(ctx, st, wave)
	if err != nil {
		return nil, err
	}
	res := &LandedExtractsResult{}
	for _, f := range files {
		key := f.Key
		if err := checkLanded(wave, key); err != nil {
			return res, err
		}
		sum, _, err := store.SHA256(ctx, st, key)
		if errors.Is(err, store.ErrNotExist) {
			// Deleted by an earlier attempt; its manifest may remain.
			if err := st.Delete(ctx, ManifestKey(key)); err != nil {
				return res, fmt.Errorf("linkage: delete %s: %w", ManifestKey(key), err)
			}
			res.Gone = append(res.Gone, key)
			continue
		}
		if err != nil {
			return res, err
		}
		recorded := slices.ContainsFunc(l.Files, func(e ExtractLineage) bool { return e.Key == key && e.SHA256 == sum })
		switch {
		case f.SHA256 != "" && f.SHA256 != sum:
			res.Kept = append(res.Kept, key) // replaced since it was validated
			continue
		case !recorded && slices.ContainsFunc(l.Files, func(e ExtractLineage) bool { return e.Key == key }):
			res.Kept = append(res.Kept, key) // replaced since its lineage was recorded
			continue
		case !recorded:
			return res, fmt.Errorf("%w: %s", ErrNoExtractLineage, key)
		}
		for _, k := range []string{key, ManifestKey(key)} {
			if err := st.Delete(ctx, k); err != nil {
				return res, fmt.Errorf("linkage: delete %s: %w", k, err)
			}
		}
		res.Deleted = append(res.Deleted, key)
	}
	return res, nil
}

// checkLanded refuses a key outside the wave's linkage landing area: nothing else is
// recorded or deleted as a landed extract.
func checkLanded(wave, key string) error {
	if !strings.HasPrefix(key, schemas.LinkageLandingArea(wave)) {
		return fmt.Errorf("linkage: %s is not in the linkage landing area of %s", key, wave)
	}
	return nil
}

// StrayObject is an object of a wave's linkage landing area that no run validates: one
// outside every dataset's folder (at the area's top, or in a folder named for no
// dataset, such as a misspelt one), or a manifest whose extract is not beside it.
type StrayObject struct {
	Key    string `json:"key"`
	Reason string `json:"reason"`
}

// ErrLandingNotValidated: the wave's linkage landing area holds objects no run would
// validate (StrayLanded). A person must move or remove them: not retried.
var ErrLandingNotValidated = fault.New(fault.BadInput, "linkage: the landing area holds objects no linkage run validates")

// StrayLanded lists the objects of the wave's linkage landing area that no run
// validates, given the datasets' ids (their folders). Left there, an extract in a
// misspelt folder would be neither validated nor deleted: the whole sample's activity,
// most of it about people who did not consent, kept in restricted landing unnoticed.
func StrayLanded(ctx context.Context, st store.Store, wave string, datasets []string) ([]StrayObject, error) {
	area := schemas.LinkageLandingArea(wave)
	infos, err := st.List(ctx, area)
	if err != nil {
		return nil, fmt.Errorf("linkage: list %s: %w", area, err)
	}
	present := make(map[string]bool, len(infos))
	for _, inf := range infos {
		present[inf.Key] = true
	}
	var stray []StrayObject
	for _, inf := range infos {
		inDataset := slices.ContainsFunc(datasets, func(d string) bool {
			return strings.HasPrefix(inf.Key, schemas.LinkageLandingPrefix(wave, d))
		})
		switch {
		case !inDataset:
			stray = append(stray, StrayObject{inf.Key, "not in a dataset's folder"})
		case strings.HasSuffix(inf.Key, ".manifest.json") && !present[strings.TrimSuffix(inf.Key, ".manifest.json")]:
			stray = append(stray, StrayObject{inf.Key, "a manifest whose extract " + path.Base(strings.TrimSuffix(inf.Key, ".manifest.json")) + " is not beside it"})
		}
	}
	return stray, nil
}

// StrayError is ErrLandingNotValidated naming each stray object, why, and the folders
// extracts belong in.
func StrayError(wave string, stray []StrayObject, datasets []string) error {
	parts := make([]string, len(stray))
	for i, s := range stray {
		parts[i] = s.Key + " (" + s.Reason + ")"
	}
	folders := make([]string, len(datasets))
	for i, d := range datasets {
		folders[i] = d + "/"
	}
	return fmt.Errorf("%w: %s; an extract belongs in its dataset's folder of %s (%s): move each one there (or remove it, or the manifest without its extract) and run again; nothing was validated or deleted",
		ErrLandingNotValidated, strings.Join(parts, ", "), schemas.LinkageLandingArea(wave), strings.Join(folders, ", "))
}
