package profiles

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The built-in profiles are a starting point. A Healthwatch analyst's own records —
// sessions held, evidence found, stakeholders consulted, actions agreed, a local
// pathway found aspirational — change during a wave, and a new profile may be wanted;
// neither should wait for a rebuild of ice and its workers. A definition written to the
// store (Define) stands beside the built-in ones for every command, worker and the
// dashboard (InForce, Lookup): the latest definition of an id replaces the built-in
// profile of that id, and an id that is not built in is added.

// Defined is one definition of a profile written to the store.
type Defined struct {
	Profile *Profile
	Key     string
	SHA256  string
	At      time.Time
	By      string // who defined it (its record beside it)
}

// definitionRecord is written beside a definition (the same key, .json): who made it,
// and the checksum of the YAML as written, so the history says who changed what.
type definitionRecord struct {
	Profile string    `json:"profile"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	SHA256  string    `json:"sha256"`
}

func recordKey(definitionKey string) string {
	return strings.TrimSuffix(definitionKey, ".yaml") + ".json"
}

// Define validates a profile definition (the YAML of a built-in profile's file, with
// the same checks; errors name file and field) and writes it to the store as the
// latest definition of its id. file names the source in errors and, without its
// extension, must be the profile's id, as a built-in profile's file name must be.
func Define(ctx context.Context, st store.Store, data []byte, file, by string, at time.Time) (*Defined, error) {
	if strings.TrimSpace(by) == "" {
		return nil, fault.New(fault.BadInput, "a profile is defined by a named analyst (--by)")
	}
	p, err := Parse(data, path.Base(file))
	if err != nil {
		return nil, fault.Wrap(fault.BadInput, err)
	}
	if base := strings.TrimSuffix(path.Base(file), path.Ext(file)); base != p.ID {
		return nil, fault.Errorf(fault.BadInput, "%s: id %q: the file must be named after the profile's id (%s.yaml)", path.Base(file), p.ID, p.ID)
	}
	key := schemas.ProfileDefinitionKey(p.ID, at)
	sum := sha256.Sum256(data)
	d := &Defined{Profile: p, Key: key, SHA256: hex.EncodeToString(sum[:]), At: at.UTC(), By: strings.TrimSpace(by)}
	// The record first: a definition in force always has its author on record.
	rec, err := json.Marshal(definitionRecord{Profile: p.ID, By: d.By, At: d.At, SHA256: d.SHA256})
	if err != nil {
		return nil, err
	}
	if err := store.PutBytes(ctx, st, recordKey(key), rec); err != nil {
		return nil, fmt.Errorf("profiles: write the record of %s's definition: %w", p.ID, err)
	}
	if err := store.PutBytes(ctx, st, key, data); err != nil {
		return nil, fmt.Errorf("profiles: write the definition of %s: %w", p.ID, err)
	}
	return d, nil
}

// DefinedIn lists the latest definition of each profile id written to the store.
// A definition that no longer parses (written by an older ice, or edited in the store
// by hand) is an error naming its key: a report must not silently fall back to the
// built-in profile an analyst replaced.
func DefinedIn(ctx context.Context, st store.Store) (map[string]*Defined, error) {
	infos, err := st.List(ctx, schemas.ProfileDefinitionsPrefix())
	if err != nil {
		return nil, fmt.Errorf("profiles: list the defined profiles: %w", err)
	}
	latest := map[string]string{} // id → key of its latest definition
	for _, in := range infos {
		rest := strings.TrimPrefix(in.Key, schemas.ProfileDefinitionsPrefix())
		id, stamp, ok := strings.Cut(rest, "/")
		if !ok || strings.Contains(stamp, "/") || !strings.HasSuffix(stamp, ".yaml") {
			continue // not a definition
		}
		// The stamps sort as their times do (fixed width, UTC).
		if k, seen := latest[id]; !seen || in.Key > k {
			latest[id] = in.Key
		}
	}
	out := map[string]*Defined{}
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(latest)) {
		key := latest[id]
		data, err := store.ReadAll(ctx, st, key)
		if err != nil {
			return nil, fmt.Errorf("profiles: read the definition %s: %w", key, err)
		}
		p, err := Parse(data, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if p.ID != id {
			errs = append(errs, fmt.Errorf("%s: id %q: a definition of %s must have its id", key, p.ID, id))
			continue
		}
		stamp := strings.TrimSuffix(path.Base(key), ".yaml")
		at, _ := time.Parse("20060102T150405.000000000Z", stamp)
		sum := sha256.Sum256(data)
		d := &Defined{Profile: p, Key: key, SHA256: hex.EncodeToString(sum[:]), At: at}
		if b, err := store.ReadAll(ctx, st, recordKey(key)); err == nil {
			var r definitionRecord
			if json.Unmarshal(b, &r) == nil {
				d.By = r.By
			}
		}
		out[id] = d
	}
	if len(errs) > 0 {
		return nil, fault.Wrap(fault.BadInput, errors.Join(errs...))
	}
	return out, nil
}

// InForce returns the profiles in force: the built-in ones, each replaced by its
// latest definition in the store if it has one, and the profiles defined only there.
func InForce(ctx context.Context, st store.Store) (map[string]*Profile, error) {
	built, err := All()
	if err != nil {
		return nil, err
	}
	out := maps.Clone(built)
	defined, err := DefinedIn(ctx, st)
	if err != nil {
		return nil, err
	}
	for id, d := range defined {
		out[id] = d.Profile
	}
	return out, nil
}

// IDsInForce lists the ids of the profiles in force, sorted.
func IDsInForce(ctx context.Context, st store.Store) ([]string, error) {
	all, err := InForce(ctx, st)
	if err != nil {
		return nil, err
	}
	ids := slices.Collect(maps.Keys(all))
	sort.Strings(ids)
	return ids, nil
}

// Lookup returns the profile in force of that id (a BadInput error naming the ids in
// force when there is none).
func Lookup(ctx context.Context, st store.Store, id string) (*Profile, error) {
	all, err := InForce(ctx, st)
	if err != nil {
		return nil, err
	}
	if p, ok := all[id]; ok {
		return p, nil
	}
	ids := slices.Sorted(maps.Keys(all))
	return nil, fault.Errorf(fault.BadInput, "profiles: no profile %q (have %s)", id, strings.Join(ids, ", "))
}
