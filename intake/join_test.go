package intake

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestJoinIndex(t *testing.T) {
	j := newJoinIndex(4)
	for i := 0; i < 1000; i++ {
		id := []byte("R" + strconv.Itoa(i))
		if _, ok := j.get(id); ok {
			t.Fatalf("%s found before it was added", id)
		}
		idx, err := j.add(id)
		if err != nil || idx != int32(i) {
			t.Fatalf("add %s = %d, %v", id, idx, err)
		}
	}
	for i := 0; i < 1000; i++ {
		if idx, ok := j.get([]byte("R" + strconv.Itoa(i))); !ok || idx != int32(i) {
			t.Fatalf("get R%d = %d, %v", i, idx, ok)
		}
	}
	// Two ids with the same hash are kept apart.
	const h = 42
	a, _ := j.addHashed([]byte("alpha"), h)
	b, _ := j.addHashed([]byte("beta"), h)
	if got, ok := j.getHashed([]byte("alpha"), h); !ok || got != a {
		t.Errorf("alpha = %d %v", got, ok)
	}
	if got, ok := j.getHashed([]byte("beta"), h); !ok || got != b {
		t.Errorf("beta = %d %v", got, ok)
	}
	if _, ok := j.getHashed([]byte("gamma"), h); ok {
		t.Error("gamma must not be found")
	}
	if j.len() != 1002 {
		t.Errorf("len %d", j.len())
	}
}

// TestJoinIndexMatchesMap numbers random ids, many repeated, with getOrAdd and
// compares with a map, over reuses of one index sized too small (so it rehashes as
// it fills) and large enough.
func TestJoinIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	j := newJoinIndex(0)
	for _, n := range []int{0, 1, 10, 1000, 30000, 5, 20000} {
		j.reset(n/2, n)
		want := map[string]int32{}
		for range 2*n + 10 {
			id := []byte("R" + strconv.Itoa(rng.IntN(n+1)))
			wi, seen := want[string(id)]
			if !seen {
				wi = int32(len(want))
				want[string(id)] = wi
			}
			i, added, err := j.getOrAdd(id)
			if err != nil || i != wi || added == seen {
				t.Fatalf("n %d: getOrAdd(%s) = %d, %v, %v; want %d, %v", n, id, i, added, err, wi, !seen)
			}
		}
		for id, wi := range want {
			if i, ok := j.get([]byte(id)); !ok || i != wi {
				t.Fatalf("n %d: get(%s) = %d, %v; want %d", n, id, i, ok, wi)
			}
		}
		if _, ok := j.get([]byte("absent")); ok || j.len() != len(want) {
			t.Fatalf("n %d: len %d, want %d", n, j.len(), len(want))
		}
	}
}

// BenchmarkJoinIndex indexes a partition's worth of mailing ids, then looks up as
// many sample ids (nine in ten of them there), as joinSample does.
func BenchmarkJoinIndex(b *testing.B) {
	const n = 27000
	mail := make([][]byte, n)
	sample := make([][]byte, n)
	for i := range mail {
		mail[i] = []byte("R" + strconv.Itoa(1000000+i*37))
		sample[i] = mail[i]
		if i%10 == 0 {
			sample[i] = []byte("S" + strconv.Itoa(i))
		}
	}
	j := newJoinIndex(n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j.reset(n, n*8)
		for _, id := range mail {
			j.getOrAdd(id)
		}
		for _, id := range sample {
			j.getOrAdd(id)
		}
	}
}
