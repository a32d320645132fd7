package intake

import (
	"bytes"
	"fmt"
	"hash/maphash"
	"math"
)

// joinIndex maps each RECORD_ID of one spill partition to the index of its join entry. It holds no pointer
// per id: the map is keyed by a 64-bit hash and every id is kept once, in one byte
// slice, to confirm a match. So a million-record file adds a handful of objects, not a
// million, for the garbage collector to trace on every cycle. Two ids whose hashes
// collide (about one chance in 10¹³ for a million ids) are told apart by a small
// overflow map.
type joinIndex struct {
	seed   maphash.Seed
	byHash map[uint64]int32
	ids    []byte   // every id, concatenated in index order
	ends   []uint32 // end offset in ids of the id of index i
	spill  map[string]int32
}

func newJoinIndex(hint int) *joinIndex {
	return &joinIndex{
		seed:   maphash.MakeSeed(),
		byHash: make(map[uint64]int32, hint),
		ends:   make([]uint32, 0, hint),
		ids:    make([]byte, 0, hint*8),
	}
}

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
	if i, ok := j.byHash[h]; ok && bytes.Equal(j.id(i), id) {
		return i, true
	}
	if j.spill != nil {
		i, ok := j.spill[view(id)]
		return i, ok
	}
	return 0, false
}

// add gives id the next index, len(j.ends); the caller has checked get finds none.
func (j *joinIndex) add(id []byte) (int32, error) { return j.addHashed(id, maphash.Bytes(j.seed, id)) }

func (j *joinIndex) addHashed(id []byte, h uint64) (int32, error) {
	i := int32(len(j.ends))
	if len(j.ends) == math.MaxInt32 || uint64(len(j.ids))+uint64(len(id)) > math.MaxUint32 {
		return 0, fmt.Errorf("intake: too many records to join")
	}
	if _, taken := j.byHash[h]; taken {
		if j.spill == nil {
			j.spill = map[string]int32{}
		}
		j.spill[string(id)] = i
	} else {
		j.byHash[h] = i
	}
	j.ids = append(j.ids, id...)
	j.ends = append(j.ends, uint32(len(j.ids)))
	return i, nil
}

// getOrAdd returns the index of id, giving it the next one if it has none.
func (j *joinIndex) getOrAdd(id []byte) (i int32, added bool, err error) {
	h := maphash.Bytes(j.seed, id)
	if i, ok := j.getHashed(id, h); ok {
		return i, false, nil
	}
	i, err = j.addHashed(id, h)
	return i, err == nil, err
}

func (j *joinIndex) len() int { return len(j.ends) }
