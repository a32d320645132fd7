package linkage

import (
	"context"

	"icesurvey/store"
)

// AggregateCountsForTest are a release's aggregate counts before disclosure control,
// keyed aggregate/subject/grouping/group/category (for the differencing test).
func AggregateCountsForTest(ctx context.Context, st store.Store, wave, release string) (map[string]int64, error) {
	counts, err := aggregateCounts(ctx, st, wave, release)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, c := range counts {
		out[c.aggregate+"/"+c.subject+"/"+c.grouping+"/"+c.group+"/"+c.category] += c.n
	}
	return out, nil
}
