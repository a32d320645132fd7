package dashdata

import (
	"context"
	"database/sql"
)

// ReadSnapshot runs fn on the current snapshot of the warehouse (read-only), for a
// page whose figures are computed elsewhere from the same tables (the experience
// profiles of #17, gathered by localindex in ice serve). The snapshot is retired,
// not closed, when a newer one is taken, so it stays open while fn runs.
func (s *Source) ReadSnapshot(ctx context.Context, fn func(*sql.DB) error) error {
	sn, err := s.snap()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fn(sn.db)
}
