package warehouse

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The warehouse is derived from the lake, so it can be derived again: a warehouse file
// lost or damaged is rebuilt by loading every lake object into an empty one, and a
// warehouse made before a table was added (a migration) is filled by loading the
// objects it lacks. LoadLakeObjects skips an object loaded before with the same bytes,
// so a reload of a current warehouse changes nothing.
//
// The lake's objects of a wave are reloaded a partition at a time: one ICS's objects,
// then those of the wave as a whole (the audit batches), each in chunks by key that
// the caller loads one transaction each (a national wave's audit batches number
// thousands).

// WavePartition is the partition of the wave's objects that are not any one ICS's.
const WavePartition = ""

// LakePartitions lists the partitions of the wave's lake objects that belong in
// warehouse tables: each ICS's code, in order, and WavePartition when the wave has
// objects of its own.
func LakePartitions(ctx context.Context, st store.Store, wave string) ([]string, error) {
	seen := map[string]bool{}
	err := eachLakeObject(ctx, st, wave, "", func(_ schemas.LakeTable, ics, _ string) { seen[ics] = true })
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for ics := range seen {
		out = append(out, ics)
	}
	slices.Sort(out) // WavePartition, being empty, comes first
	return out, nil
}

// LakePartitionObjects lists the lake objects of one partition of the wave (an ICS's
// code, or WavePartition) that belong in warehouse tables, by key (so table by table),
// those with a key after after only ("" for all), and not those another object has
// replaced (liveObjects).
func LakePartitionObjects(ctx context.Context, st store.Store, wave, partition, after string) ([]schemas.LakeObject, error) {
	byPart, err := liveObjects(ctx, st, wave, partition)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(byPart[partition], func(o schemas.LakeObject) bool { return o.Key <= after })
	slices.SortFunc(out, func(a, b schemas.LakeObject) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// liveObjects lists the wave's lake objects that belong in warehouse tables, by
// partition, leaving out those whose rows another object of the partition has replaced
// (schemas.StaleResponseThemes): loaded after it, they would put back rows that no
// longer stand. Given an ICS's code, it lists that ICS's folders only; given "", the
// whole wave's.
func liveObjects(ctx context.Context, st store.Store, wave, ics string) (map[string][]schemas.LakeObject, error) {
	byPart := map[string][]schemas.LakeObject{}
	themes := map[string][]string{}
	err := eachLakeObject(ctx, st, wave, ics, func(t schemas.LakeTable, part, key string) {
		if t == schemas.LakeResponseThemes {
			themes[part] = append(themes[part], key)
		}
		byPart[part] = append(byPart[part], t.Object(key))
	})
	if err != nil {
		return nil, err
	}
	for part, objs := range byPart {
		stale := schemas.StaleResponseThemes(themes[part])
		byPart[part] = slices.DeleteFunc(objs, func(o schemas.LakeObject) bool { return stale[o.Key] })
	}
	return byPart, nil
}

// eachLakeObject calls fn with every Parquet object of the wave in a lake table the
// warehouse holds, and its ICS partition (WavePartition for none). Given an ICS's code,
// it lists that ICS's folders only; given "", the whole wave's.
func eachLakeObject(ctx context.Context, st store.Store, wave, ics string, fn func(t schemas.LakeTable, part, key string)) error {
	if strings.TrimSpace(wave) == "" || strings.ContainsAny(wave, "/") {
		// The operator's request names no wave the lake could hold: no retry helps.
		return fault.Errorf(fault.BadInput, "warehouse: reload: wave %q is not a wave id", wave)
	}
	for _, t := range schemas.WarehouseLakeTables() {
		prefix := schemas.LakeWavePrefix(t, wave)
		list := prefix
		if ics != "" {
			list = schemas.LakePartition(t, wave, ics)
		}
		infos, err := st.List(ctx, list)
		if err != nil {
			return fmt.Errorf("warehouse: reload: list %s: %w", list, err)
		}
		for _, in := range infos {
			if !schemas.IsParquet(in.Key) {
				continue
			}
			part := WavePartition
			if seg, _, ok := strings.Cut(strings.TrimPrefix(in.Key, prefix), "/"); ok && strings.HasPrefix(seg, "ics=") {
				part = strings.TrimPrefix(seg, "ics=")
			}
			fn(t, part, in.Key)
		}
	}
	return nil
}

// LakeWaves lists the waves that have anything in the lake the warehouse holds, in
// order: not only those with a sample, for a wave can have audit batches alone (a
// linkage run started for a mistyped wave id fails, and its attempts are audited), and
// a warehouse rebuilt from the lake must keep them. It lists every table's objects, so
// it costs a listing of the lake.
func LakeWaves(ctx context.Context, st store.Store) ([]string, error) {
	var out []string
	for _, table := range schemas.WarehouseLakeTables() {
		prefix := schemas.AreaLake.Prefix() + string(table) + "/"
		infos, err := st.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("warehouse: list the lake's waves in %s: %w", prefix, err)
		}
		for _, in := range infos {
			seg, _, _ := strings.Cut(strings.TrimPrefix(in.Key, prefix), "/")
			if wave, ok := strings.CutPrefix(seg, "wave="); ok && !slices.Contains(out, wave) {
				out = append(out, wave)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// NotLoaded lists, by key, the lake objects of the wave's ICSs that belong in warehouse
// tables and that the warehouse has not loaded (loaded_files has no row for the object
// and its table): a load still retrying, or a warehouse rebuilt and not reloaded yet.
// The wave's own objects (the audit batches, written all the time) are left out, and
// so are objects another has replaced (liveObjects). It lists the wave's lake; it does
// not read the objects, so one loaded and changed since is not found (ice warehouse
// reload compares their digests).
func (w *Warehouse) NotLoaded(ctx context.Context, st store.Store, wave string) ([]string, error) {
	byPart, err := liveObjects(ctx, st, wave, "")
	if err != nil {
		return nil, err
	}
	delete(byPart, WavePartition)
	objs, err := w.loadedLakeObjects(ctx, wave)
	if err != nil {
		return nil, err
	}
	loaded := map[schemas.LakeObject]bool{}
	for _, o := range objs {
		loaded[o] = true
	}
	var out []string
	for _, objs := range byPart {
		for _, o := range objs {
			if !loaded[o] {
				out = append(out, o.Key)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// GoneFromLake lists, by key, the objects the warehouse loaded from the wave's lake
// that the lake no longer holds: the ICS's given its code, the whole wave's given "".
// The lake is the truth and nothing derives it again, so such an object is lost until
// it is restored (from the store's versions or a backup), and a warehouse rebuilt now
// would lose its rows; a reload only finds what is there, and said nothing of it. The
// objects the pipeline itself deletes are left out: an ICS's response themes of the
// earlier form, one per coding run, which the current object replaces.
func (w *Warehouse) GoneFromLake(ctx context.Context, st store.Store, wave, ics string) ([]string, error) {
	var prefixes []string
	for _, t := range schemas.WarehouseLakeTables() {
		p := schemas.LakeWavePrefix(t, wave)
		if ics != "" {
			p = schemas.LakePartition(t, wave, ics)
		}
		prefixes = append(prefixes, p)
	}
	// What the warehouse loaded is read before the lake is listed: an object is in the
	// lake before it is loaded, so one loaded meanwhile (a daily load, an audit flush:
	// the warehouse worker runs two activities at once) is either not read here or
	// listed below. Listed first, it could be loaded between the two and named gone.
	loaded, err := w.loadedLakeObjects(ctx, wave)
	if err != nil {
		return nil, err
	}
	there := map[string]bool{}
	if err := eachLakeObject(ctx, st, wave, ics, func(_ schemas.LakeTable, _, key string) { there[key] = true }); err != nil {
		return nil, err
	}
	var out []string
	for _, o := range loaded {
		if there[o.Key] || !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(o.Key, p) }) {
			continue
		}
		if _, legacy := schemas.LegacyResponseThemesRun(o.Key); legacy {
			continue
		}
		out = append(out, o.Key)
	}
	return out, nil
}

// loadedLakeObjects lists the wave's lake objects the warehouse has loaded (its
// loaded_files rows whose key is lake/{table}/wave={wave}/...), by key.
func (w *Warehouse) loadedLakeObjects(ctx context.Context, wave string) ([]schemas.LakeObject, error) {
	var out []schemas.LakeObject
	err := w.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT table_name, object_key FROM loaded_files
			WHERE starts_with(object_key, ?) AND contains(object_key, ?) ORDER BY object_key`,
			schemas.AreaLake.Prefix(), "/wave="+wave+"/")
		if err != nil {
			return fmt.Errorf("warehouse: read loaded_files: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var o schemas.LakeObject
			if err := rows.Scan(&o.Table, &o.Key); err != nil {
				return err
			}
			out = append(out, o)
		}
		return rows.Err()
	})
	return out, err
}
