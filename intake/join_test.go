package intake

import (
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
