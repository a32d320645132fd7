package linkage

// rowSet remembers, for each record seen (by a 64-bit hash of its id), the first row
// it was on. It is an open-addressing table of key and row side by side (one cache
// line per probe): an extract of ten million rows has ten million ids, and a Go map of
// that size spent most of the validation's time on cache misses.
type rowSet struct {
	slots []rowSlot // key 0: empty (a hash is never 0, see putFirst)
	n     int
}

type rowSlot struct {
	key uint64
	row int64
}

func newRowSet(expect int) *rowSet {
	size := 1024
	for size*7 < expect*10 {
		size <<= 1
	}
	return &rowSet{slots: make([]rowSlot, size)}
}

// putFirst records row for hash h unless h was seen, and returns the first row of h
// and whether it had been seen.
func (s *rowSet) putFirst(h uint64, row int64) (int64, bool) {
	if h == 0 {
		h = 1
	}
	if s.n*10 >= len(s.slots)*7 {
		s.grow()
	}
	mask := uint64(len(s.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &s.slots[i]
		switch sl.key {
		case h:
			return sl.row, true
		case 0:
			sl.key, sl.row = h, row
			s.n++
			return row, false
		}
	}
}

func (s *rowSet) grow() {
	old := s.slots
	s.slots, s.n = make([]rowSlot, len(old)*2), 0
	for _, sl := range old {
		if sl.key != 0 {
			s.putFirst(sl.key, sl.row)
		}
	}
}
