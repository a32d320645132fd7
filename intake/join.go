package intake

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"
)

// joinIndex maps each RECORD_ID of one spill partition to the index of its join entry.
// It holds no pointer per id: every id is kept once, in one byte slice, and the
// table is a flat open-addressing hash table of integers, each slot the upper half of
// an id's 64-bit hash beside its index. So a million-record file adds a handful of
// objects, not a million, for the garbage collector to trace on every cycle; and a
// lookup hashes the id once and reads one slot, where a Go map keyed by the hash
// would hash the hash again and probe its own groups. Ids whose hashes share a slot
// or even a tag are told apart by comparing the ids, so a collision costs a probe,
// never a wrong match.
type joinIndex struct {
	seed  maphash.Seed
	slots []uint64 // hash>>32 <<32 | index+1; 0: empty. A power of two long, at most half full.
	ids   []byte   // every id, concatenated in index order
	ends  []uint32 // end offset in ids of the id of index i
}

func newJoinIndex(hint int) *joinIndex {
	j := &joinIndex{seed: maphash.MakeSeed()}
	j.reset(hint, hint*8)
	return j
}

// reset empties the index for reuse, with room for n ids of idBytes in all.
func (j *joinIndex) reset(n, idBytes int) {
	if size := slotsFor(n); len(j.slots) < size {
		j.slots = make([]uint64, size)
	} else {
		clear(j.slots)
	}
	j.ids = slices.Grow(j.ids[:0], idBytes)
	j.ends = slices.Grow(j.ends[:0], n)
}

// slotsFor is the table size that holds n ids at most half full.
func slotsFor(n int) int { return 1 << max(4, bits.Len(uint(2*n))) }

func (j *joinIndex) id(i int32) []byte {
	start := uint32(0)
	if i > 0 {
		start = j.ends[i-1]
	}
	return j.ids[start:j.ends[i]]
}

// get returns the index of id.
func (j *joinIndex) get(id []byte) (int32, bool) { return j.getHashed(id, maphash.Bytes(j.seed, id)) }

func (j *joinIndex) getHashed(id []byte, h uint64) (int32, bool) {
	i, _, ok := j.find(id, h)
	return i, ok
}

// find returns the index of id, or the slot where id would go.
func (j *joinIndex) find(id []byte, h uint64) (i int32, slot int, ok bool) {
	mask := len(j.slots) - 1
	tag := h >> 32
	for slot = int(h) & mask; ; slot = (slot + 1) & mask {
		s := j.slots[slot]
		if s == 0 {
			return 0, slot, false
		}
		if s>>32 == tag {
			if i := int32(uint32(s) - 1); bytes.Equal(j.id(i), id) {
				return i, slot, true
			}
		}
	}
}

// add gives id the next index, len(j.ends); the caller has checked get finds none.
func (j *joinIndex) add(id []byte) (int32, error) { return j.addHashed(id, maphash.Bytes(j.seed, id)) }

func (j *joinIndex) addHashed(id []byte, h uint64) (int32, error) {
	_, slot, _ := j.find(id, h)
	return j.insert(id, h, slot)
}

// insert gives id the next index, in the empty slot find gave.
func (j *joinIndex) insert(id []byte, h uint64, slot int) (int32, error) {
	i := int32(len(j.ends))
	if len(j.ends) >= math.MaxInt32-1 || uint64(len(j.ids))+uint64(len(id)) > math.MaxUint32 {
		return 0, fmt.Errorf("intake: too many records to join")
	}
	j.slots[slot] = h>>32<<32 | uint64(i+1)
	j.ids = append(j.ids, id...)
	j.ends = append(j.ends, uint32(len(j.ids)))
	if 2*len(j.ends) > len(j.slots) {
		j.rehash(slotsFor(len(j.ends)))
	}
	return i, nil
}

// rehash moves the table to size slots, hashing every id again (the table keeps
// only half of each hash).
func (j *joinIndex) rehash(size int) {
	j.slots = make([]uint64, size)
	mask := size - 1
	for i := range int32(len(j.ends)) {
		h := maphash.Bytes(j.seed, j.id(i))
		slot := int(h) & mask
		for j.slots[slot] != 0 {
			slot = (slot + 1) & mask
		}
		j.slots[slot] = h>>32<<32 | uint64(i+1)
	}
}

// getOrAdd returns the index of id, giving it the next one if it has none.
func (j *joinIndex) getOrAdd(id []byte) (i int32, added bool, err error) {
	h := maphash.Bytes(j.seed, id)
	i, slot, ok := j.find(id, h)
	if ok {
		return i, false, nil
	}
	i, err = j.insert(id, h, slot)
	return i, err == nil, err
}

func (j *joinIndex) len() int { return len(j.ends) }
