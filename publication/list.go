package publication

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

// ReleaseEntry is one release of a wave as the store holds it: its metadata's status,
// approval and parameters, and where its files are (publish/ once approved, else its
// draft under drafts/).
type ReleaseEntry struct {
	ReleaseID  string
	Status     string
	ApprovedBy string
	ApprovedAt *time.Time
	LeftOut    []string
	Parameters []Param
	// Prefix is where the release's files are.
	Prefix string
}

// Releases lists the releases of a wave in the store, by release id: every release
// with a metadata.json under publish/{wave}/ (approved, or drafted there before drafts
// moved) or drafts/{wave}/ (awaiting approval, or refused or superseded), the
// published copy's metadata read where there is one. It needs no cluster: the store is
// the record of releases.
func Releases(ctx context.Context, st store.Store, wave string) ([]ReleaseEntry, error) {
	ids := map[string]bool{}
	published := map[string]bool{}
	for _, area := range []schemas.Area{schemas.AreaPublish, schemas.AreaDrafts} {
		prefix := area.WavePrefix(wave)
		infos, err := st.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("publication: list the releases of wave %s under %s: %w", wave, prefix, err)
		}
		for _, in := range infos {
			id, rest, ok := strings.Cut(strings.TrimPrefix(in.Key, prefix), "/")
			if !ok || rest != "metadata.json" {
				continue
			}
			ids[id] = true
			if area == schemas.AreaPublish {
				published[id] = true
			}
		}
	}
	var out []ReleaseEntry
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		read, prefix := ReadDraftMetadata, schemas.DraftPrefix(wave, id)
		if published[id] {
			read, prefix = ReadMetadata, schemas.PublishPrefix(wave, id)
		}
		m, err := read(ctx, st, wave, id)
		if err != nil {
			return nil, err
		}
		out = append(out, ReleaseEntry{ReleaseID: id, Status: m.Status, ApprovedBy: m.ApprovedBy, ApprovedAt: m.ApprovedAt,
			LeftOut: m.LeftOut, Parameters: m.Parameters, Prefix: prefix})
	}
	return out, nil
}
