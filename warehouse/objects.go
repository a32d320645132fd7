package warehouse

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"icesurvey/internal/crashpoint"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// Loaded is one lake object's load into the warehouse.
type Loaded struct {
	schemas.LakeObject
	Rows    int64
	Skipped bool   // the same object (by SHA-256) was loaded before
	SHA256  string // of the object
}

// LoadLakeObjects loads lake objects of one wave and ICS, each into its warehouse table,
// in one warehouse transaction: analysts see all of them or none (a day's responses
// never without its duplicates, a death never without the re-keyed sample), and the
// file is opened and checkpointed once. Objects already loaded are skipped and a
// repeated object is loaded once, so a retry changes nothing. An object addressed to
// a table the warehouse does not have is a fault.Configuration error.
func (w *Warehouse) LoadLakeObjects(ctx context.Context, st store.Store, wave, ics string, objs []schemas.LakeObject) ([]Loaded, error) {
	type object struct {
		Loaded
		table     Table
		partition []any
		path      string
	}
	todo := make([]object, 0, len(objs))
	seen := map[schemas.LakeObject]bool{}
	for _, o := range objs {
		if seen[o] {
			continue
		}
		seen[o] = true
		t, err := LookupTable(o.Table)
		if err != nil {
			return nil, err
		}
		ob := object{Loaded: Loaded{LakeObject: o}, table: t}
		if len(t.PartitionBy) > 0 {
			ob.partition = []any{wave, ics}
		}
		// A local copy, hashed once: on S3 each object is downloaded once.
		path, cleanup, err := lake.LocalCopy(ctx, st, o.Key)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		if ob.SHA256, err = fileSHA256(path); err != nil {
			return nil, fmt.Errorf("warehouse: load %s: %w", o.Key, err)
		}
		ob.path = path
		todo = append(todo, ob)
	}
	err := w.Write(ctx, func(tx *sql.Tx) error {
		for i := range todo {
			o := &todo[i]
			n, skipped, err := LoadParquet(ctx, tx, o.table, o.path, o.Key, o.SHA256, o.partition...)
			if err != nil {
				return err
			}
			o.Rows, o.Skipped = n, skipped
		}
		// The crash campaign (bench/chaos) kills the worker here, before the commit.
		if len(todo) > 0 {
			crashpoint.Stall(ctx, crashpoint.WarehouseLoad, string(todo[0].Table))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Loaded, len(todo))
	for i, o := range todo {
		out[i] = o.Loaded
	}
	return out, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
