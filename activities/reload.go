package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/publication"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// WarehouseReloadPlan is what of a wave the lake holds for the warehouse: the
// partitions of its lake objects (ICS codes, and warehouse.WavePartition for the
// wave's own), its publication releases, and its current linkage release (empty for
// none).
type WarehouseReloadPlan struct {
	Partitions     []string `json:"partitions"`
	Releases       []string `json:"releases,omitempty"`
	LinkageRelease string   `json:"linkage_release,omitempty"`
}

// WarehouseReloadOutput counts one reload step: the lake objects found, those loaded
// now (new to the warehouse, or changed) and those already there with the same bytes,
// and the rows loaded now by warehouse table. Next, for a partition's chunk, is the
// key to go on after ("" when the partition is done).
type WarehouseReloadOutput struct {
	Objects int              `json:"objects"`
	Loaded  int              `json:"loaded"`
	Skipped int              `json:"skipped"`
	Rows    map[string]int64 `json:"rows,omitempty"`
	Next    string           `json:"next,omitempty"`
	// Warehouses names the warehouse file written, as host:path (the warehouse
	// worker's); summed steps list each file once, in the order first written, so a
	// reload that more than one warehouse worker served shows it.
	Warehouses []string `json:"warehouses,omitempty"`
	// Gone lists, by key, the objects the warehouse loaded that the lake no longer
	// holds (warehouse.GoneFromLake), found once a partition's last chunk is loaded.
	Gone []string `json:"gone,omitempty"`
}

// Add adds o's counts to r's (Next is o's).
func (r *WarehouseReloadOutput) Add(o WarehouseReloadOutput) {
	r.Objects += o.Objects
	r.Loaded += o.Loaded
	r.Skipped += o.Skipped
	for t, n := range o.Rows {
		if r.Rows == nil {
			r.Rows = map[string]int64{}
		}
		r.Rows[t] += n
	}
	for _, w := range o.Warehouses {
		if !slices.Contains(r.Warehouses, w) {
			r.Warehouses = append(r.Warehouses, w)
		}
	}
	for _, k := range o.Gone {
		if !slices.Contains(r.Gone, k) {
			r.Gone = append(r.Gone, k)
		}
	}
	r.Next = o.Next
}

// WarehouseReloadChunk is the next chunk of one partition of a wave's lake objects
// (Scope.ICS, empty for the wave's own): those with keys after After.
type WarehouseReloadChunk struct {
	Scope
	After string `json:"after,omitempty"`
}

// reloadChunkObjects is how many lake objects one ReloadLakePartition call loads at
// most: a national wave's audit batches number thousands, and one transaction of them
// all could outlast the warehouse activities' timeout, and be retried from the start
// for ever. A variable for the tests.
var reloadChunkObjects = 400

// PlanWarehouseReload finds what of the wave the lake holds for the warehouse. A wave
// with nothing in the lake is refused: the wave id is wrong, or nothing of it was ever
// written.
func (a *Activities) PlanWarehouseReload(ctx context.Context, in Scope) (WarehouseReloadPlan, error) {
	var plan WarehouseReloadPlan
	parts, err := warehouse.LakePartitions(ctx, a.Store, in.WaveID)
	if err != nil {
		return plan, err
	}
	if len(parts) == 0 {
		return plan, fault.Errorf(fault.BadInput, "warehouse: reload: the lake holds nothing of wave %s (is the wave id right?)", in.WaveID)
	}
	plan.Partitions = parts
	if plan.Releases, err = releasesWithManifest(ctx, a.Store, in.WaveID); err != nil {
		return plan, err
	}
	if plan.LinkageRelease, err = currentLinkageRelease(ctx, a.Store, in.WaveID); err != nil {
		return plan, err
	}
	return plan, nil
}

// releasesWithManifest lists the wave's publication releases that have a manifest,
// drafts (under drafts/, or under publish/ if drafted before drafts moved) and
// published ones (a release whose drafting failed before it has none, and never
// reached the warehouse).
func releasesWithManifest(ctx context.Context, st store.Store, wave string) ([]string, error) {
	var out []string
	for _, area := range []schemas.Area{schemas.AreaDrafts, schemas.AreaPublish} {
		prefix := area.WavePrefix(wave)
		infos, err := st.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("warehouse: reload: list %s: %w", prefix, err)
		}
		for _, in := range infos {
			release, _, ok := strings.Cut(strings.TrimPrefix(in.Key, prefix), "/")
			if ok && schemas.PublishedKey(in.Key) == schemas.PublishManifestKey(wave, release) {
				out = append(out, release)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// currentLinkageRelease is the wave's linkage release whose person-level outputs are
// in the lake: each release retires the ones before it, so there is one at most; were
// a retirement cut short, the newest object decides.
func currentLinkageRelease(ctx context.Context, st store.Store, wave string) (string, error) {
	prefix := schemas.LakeWavePrefix(schemas.LakeTable(schemas.TableLinkedRespondents), wave)
	infos, err := st.List(ctx, prefix)
	if err != nil {
		return "", fmt.Errorf("warehouse: reload: list %s: %w", prefix, err)
	}
	var release string
	var newest store.Info
	for _, in := range infos {
		seg, _, _ := strings.Cut(strings.TrimPrefix(in.Key, prefix), "/")
		r, ok := strings.CutPrefix(seg, "release=")
		if ok && in.Key == schemas.LinkedKey(string(schemas.TableLinkedRespondents), wave, r) && (release == "" || in.ModTime.After(newest.ModTime)) {
			release, newest = r, in
		}
	}
	return release, nil
}

// ReloadLakePartition loads the next chunk of one partition of the wave's lake objects
// (an ICS's, or the wave's own when in.ICS is empty), up to reloadChunkObjects of them
// by key after in.After, into the warehouse in one transaction: every object the
// warehouse lacks or holds with other bytes. On a current warehouse it loads nothing.
// Its Next says where the following chunk starts; keys, not positions, so objects
// written meanwhile shift nothing.
func (w *WarehouseActivities) ReloadLakePartition(ctx context.Context, in WarehouseReloadChunk) (WarehouseReloadOutput, error) {
	objs, err := warehouse.LakePartitionObjects(ctx, w.Store, in.WaveID, in.ICS, in.After)
	if err != nil {
		return WarehouseReloadOutput{}, err
	}
	next := ""
	if len(objs) > reloadChunkObjects {
		objs = objs[:reloadChunkObjects]
		next = objs[len(objs)-1].Key
	}
	loaded, err := w.Warehouse.LoadLakeObjects(ctx, w.Store, in.WaveID, in.ICS, objs)
	if err != nil {
		return WarehouseReloadOutput{}, err
	}
	out := w.reloadCounts(loaded)
	out.Next = next
	if next == "" {
		// The partition is loaded: what the warehouse holds that the lake has lost is
		// found now, while the warehouse still has its rows.
		if out.Gone, err = w.Warehouse.GoneFromLake(ctx, w.Store, in.WaveID, in.ICS); err != nil {
			return WarehouseReloadOutput{}, err
		}
	}
	audit.Record(ctx, "warehouse_reloaded", map[string]any{"partition": in.ICS, "after": in.After, "objects": out.Objects,
		"loaded": out.Loaded, "skipped": out.Skipped, "rows": out.Rows, "gone_from_lake": len(out.Gone)})
	return out, nil
}

// ReloadPublicationRelease loads a publication release's warehouse objects, as its
// manifest lists them (the published one once approved, else its draft's), into the
// warehouse in one transaction.
func (w *WarehouseActivities) ReloadPublicationRelease(ctx context.Context, in ReleaseInput) (WarehouseReloadOutput, error) {
	m, err := publication.ReadCurrentManifest(ctx, w.Store, in.WaveID, in.ReleaseID)
	if errors.Is(err, store.ErrNotExist) {
		return WarehouseReloadOutput{}, fault.Wrap(fault.BadInput, err)
	}
	if err != nil {
		return WarehouseReloadOutput{}, err
	}
	loaded, err := w.Warehouse.LoadLakeObjects(ctx, w.Store, in.WaveID, "", m.WarehouseObjects())
	if err != nil {
		return WarehouseReloadOutput{}, err
	}
	out := w.reloadCounts(loaded)
	audit.Record(ctx, "warehouse_reloaded", map[string]any{"release": in.ReleaseID, "objects": out.Objects, "loaded": out.Loaded,
		"skipped": out.Skipped, "rows": out.Rows})
	return out, nil
}

func (w *WarehouseActivities) reloadCounts(loaded []warehouse.Loaded) WarehouseReloadOutput {
	out := WarehouseReloadOutput{Objects: len(loaded), Rows: map[string]int64{}, Warehouses: []string{w.warehouseName()}}
	for _, l := range loaded {
		if l.Skipped {
			out.Skipped++
			continue
		}
		out.Loaded++
		out.Rows[string(l.Table)] += l.Rows
	}
	return out
}

// warehouseName is the warehouse file this worker writes, as host:path.
func (w *WarehouseActivities) warehouseName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	return host + ":" + w.Warehouse.Path()
}
