package linkage

import (
	"math/rand/v2"
	"testing"
)

// The row set must agree with a map, through its growths and with colliding slots.
func TestRowSetAgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newRowSet(0)
	ref := map[uint64]int64{}
	for row := int64(1); row <= 200_000; row++ {
		h := rng.Uint64() & 0xFFFF_FFFF // a narrow range: plenty of repeats and probing
		if row%7 == 0 {
			h = 0 // the empty marker must still work as a hash
		}
		first, seen := s.putFirst(h, row)
		want, ok := ref[h]
		if !ok {
			ref[h], want = row, row
		}
		if seen != ok || first != want {
			t.Fatalf("row %d hash %x: got %d %v, want %d %v", row, h, first, seen, want, ok)
		}
	}
}
