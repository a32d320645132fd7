package responses

import (
	"bytes"
	"context"
	"fmt"

	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
)

// putParquet encodes rows as one Parquet object in memory and stores it with a single
// atomic Put. A day's outputs for one supplier file are small (thousands of rows), so
// buffering is cheap, and it keeps the write independent of temporary files.
func putParquet[T any](ctx context.Context, st store.Store, key string, l *schemas.Layout, rows []T) error {
	var buf bytes.Buffer
	w, err := lake.NewWriter[T](&buf, l)
	if err != nil {
		return err
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := store.PutBytes(ctx, st, key, buf.Bytes()); err != nil {
		return fmt.Errorf("store %s: %w", key, err)
	}
	return nil
}
