package intake

import (
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"icesurvey/pseudo"
)

// The cross-file join and the duplicate checks are done out of core, so memory does
// not grow with the files. The records each pass needs from the others are written
// to temporary files hash-partitioned by RECORD_ID (or by NHS number), each partition
// holding the input of about partitionBytes of the files; a partition is then joined
// in memory on its own, and its results are written back in row order. The final
// passes read the sample and mailing files in row order and, for each row, take the
// next result of the row's partition, so outputs and report keep the files' row order
// whatever the partitioning.
//
// Spill kinds (each is one file, holding every partition: see Storage below):
//
//	m  mailing rows with a usable RECORD_ID:  row, flags, issue, postcode, id
//	s  sample rows with a usable RECORD_ID:   row, id
//	n  sample rows with a valid NHS number:   nhs, row
//	g  duplicated NHS numbers, by row:        row, k, first k rows of the group
//	j  join result of each s record:          row, idx, sampleN, sampleRow, mailN, mailRow, issue, flags, postcode
//	x  mailing side of each m record:         row, idx, mailN, mailRow, sampleN, issue, flags, postcode
//	t  outcome of each s record:              idx, state, nhs, dob, gender, person
//	k  join result of each m record:          the x record, then its idx's outcome (state ... person)
//
// The mailing records of a partition are read and indexed by RECORD_ID once, in the
// first join (joinSample). It numbers the partition's RECORD_IDs (idx): the j records
// hand each sample row its idx, the sample pass echoes it in the row's outcome (t),
// and the x records give each mailing row its own; so the second join (joinMailing)
// matches outcomes to mailing rows by number, with no index to build.

// Storage: each kind is one temporary file, not one per partition (creating a few
// hundred files costs more than the I/O to them on some file systems). A partition's
// records are a list of chunks of its kind's file, appended with positioned writes
// (so several goroutines can append partitions of one kind at once) and read back
// in order.

// partitionBytes is the share of the input files one partition covers.
var partitionBytes int64 = 4 << 20 // a variable for the tests

// maxPartitions bounds the partition buffers held at once (three spill kinds are
// written side by side); past maxPartitions × partitionBytes of input (1 GiB)
// partitions grow instead.
const maxPartitions = 256

// spillBuffer is the chunk size of streamed spill records (and the read buffer).
const spillBuffer = 16 << 10

// spillKinds are the kinds of spill record (see above).
const spillKinds = "msngjxtk"

type spillSet struct {
	dir   string
	n     int
	seed  maphash.Seed
	files map[byte]*spillFile

	// spare holds the scratch memory of joins between partitions (see joinScratch).
	spareMu sync.Mutex
	spare   []*joinScratch
}

// spillFile holds the records of one kind for every partition.
type spillFile struct {
	f      *os.File
	mu     sync.Mutex
	size   int64
	chunks [][]chunk // by partition, in order
}

type chunk struct {
	off int64
	n   int
}

func newSpillSet(inputBytes int64) (*spillSet, error) {
	dir, err := os.MkdirTemp("", "ice-intake-spill-*")
	if err != nil {
		return nil, fmt.Errorf("intake: spill directory: %w", err)
	}
	n := int(min(max(inputBytes/partitionBytes+1, 1), maxPartitions))
	s := &spillSet{dir: dir, n: n, seed: maphash.MakeSeed(), files: map[byte]*spillFile{}}
	for i := 0; i < len(spillKinds); i++ {
		f, err := os.Create(filepath.Join(dir, spillKinds[i:i+1]))
		if err != nil {
			s.remove()
			return nil, fmt.Errorf("intake: spill file: %w", err)
		}
		s.files[spillKinds[i]] = &spillFile{f: f, chunks: make([][]chunk, n)}
	}
	return s, nil
}

func (s *spillSet) remove() {
	for _, f := range s.files {
		f.f.Close()
	}
	os.RemoveAll(s.dir)
}

func (s *spillSet) file(kind string) *spillFile {
	f := s.files[kind[0]]
	if f == nil || len(kind) != 1 {
		panic("intake: unknown spill kind " + kind)
	}
	return f
}

// append adds b to the records of partition p; it may be called from several
// goroutines, for different partitions.
func (sf *spillFile) append(p int, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	sf.mu.Lock()
	off := sf.size
	sf.size += int64(len(b))
	sf.chunks[p] = append(sf.chunks[p], chunk{off, len(b)})
	sf.mu.Unlock()
	if _, err := sf.f.WriteAt(b, off); err != nil {
		return fmt.Errorf("intake: spill file: %w", err)
	}
	return nil
}

// writePart stores the whole of partition p's records of kind at once.
func (s *spillSet) writePart(kind string, p int, b []byte) error {
	return s.file(kind).append(p, b)
}

func (s *spillSet) partID(id []byte) int {
	if s.n == 1 {
		return 0
	}
	return int(maphash.Bytes(s.seed, id) % uint64(s.n))
}

func (s *spillSet) partNHS(nhs uint64) int {
	if s.n == 1 {
		return 0
	}
	return int(maphash.Comparable(s.seed, nhs) % uint64(s.n))
}

// spillWriter streams one kind of record to every partition, buffering each.
type spillWriter struct {
	sf  *spillFile
	buf [][]byte
	err error
	rec []byte
}

func (s *spillSet) create(kind string) (*spillWriter, error) {
	return &spillWriter{sf: s.file(kind), buf: make([][]byte, s.n)}, nil
}

// put writes sw.rec to partition p (write errors surface in close).
func (sw *spillWriter) put(p int) {
	b := sw.buf[p]
	if len(b)+len(sw.rec) > spillBuffer && len(b) > 0 {
		if err := sw.sf.append(p, b); err != nil && sw.err == nil {
			sw.err = err
		}
		b = b[:0]
	}
	if b == nil {
		b = make([]byte, 0, spillBuffer)
	}
	sw.buf[p] = append(b, sw.rec...)
}

func (sw *spillWriter) close() error {
	for p, b := range sw.buf {
		if err := sw.sf.append(p, b); err != nil && sw.err == nil {
			sw.err = err
		}
	}
	sw.buf = nil
	return sw.err
}

// read returns all the records of kind in partition p, in buf's memory if it has room.
func (s *spillSet) read(kind string, p int, buf []byte) ([]byte, error) {
	sf := s.file(kind)
	sf.mu.Lock()
	chunks := sf.chunks[p]
	sf.mu.Unlock()
	n := 0
	for _, c := range chunks {
		n += c.n
	}
	b := slices.Grow(buf[:0], n)[:n]
	r := chunkReader{f: sf.f, chunks: chunks}
	if _, err := io.ReadFull(&r, b); err != nil {
		return nil, fmt.Errorf("intake: spill file: %w", err)
	}
	return b, nil
}

// chunkReader reads the chunks of one partition in order.
type chunkReader struct {
	f      *os.File
	chunks []chunk
	pos    int // read of chunks[0]
}

func (r *chunkReader) Read(b []byte) (int, error) {
	for len(r.chunks) > 0 && r.pos == r.chunks[0].n {
		r.chunks, r.pos = r.chunks[1:], 0
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	c := r.chunks[0]
	n, err := r.f.ReadAt(b[:min(len(b), c.n-r.pos)], c.off+int64(r.pos))
	r.pos += n
	if err == io.EOF && n > 0 {
		err = nil
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF // a chunk is never past the end
	}
	return n, err
}

// spillReader reads one kind of record from every partition in turn.
type spillReader struct {
	parts []partReader
	heads []int32 // peekRow's answer per partition, cached: 0 = not known yet
}

// partReader buffers the reads of one partition's records. (A bufio.Reader did, but
// reading a record through io.ReadFull took four calls, on every row of two passes.)
type partReader struct {
	src      chunkReader
	buf      []byte // made at the first read
	pos, end int    // buf[pos:end] is read but not taken
	err      error  // that ended src (io.EOF at its end)
}

// peek returns the next n bytes of the partition without taking them, or what is
// left before the error that ended it (io.EOF at its end).
func (r *partReader) peek(n int) ([]byte, error) {
	if r.end-r.pos >= n {
		return r.buf[r.pos : r.pos+n], nil
	}
	return r.fill(n)
}

func (r *partReader) fill(n int) ([]byte, error) {
	if len(r.buf) < max(n, spillBuffer) {
		b := make([]byte, max(n, spillBuffer))
		r.end = copy(b, r.buf[r.pos:r.end])
		r.buf = b
	} else {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
	}
	r.pos = 0
	for r.end < n && r.err == nil {
		var m int
		m, r.err = r.src.Read(r.buf[r.end:])
		r.end += m
	}
	if r.end >= n {
		return r.buf[:n], nil
	}
	return r.buf[:r.end], r.err
}

// take reads the next len(b) bytes into b.
func (r *partReader) take(b []byte) error {
	v, err := r.peek(len(b))
	if len(v) < len(b) {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("intake: spill file: %w", err)
	}
	copy(b, v)
	r.pos += len(b)
	return nil
}

func (s *spillSet) open(kind string) (*spillReader, error) {
	sf := s.file(kind)
	sr := &spillReader{parts: make([]partReader, s.n)}
	sf.mu.Lock()
	defer sf.mu.Unlock()
	for p := range sr.parts {
		sr.parts[p].src = chunkReader{f: sf.f, chunks: sf.chunks[p]}
	}
	return sr, nil
}

func (sr *spillReader) close() { sr.parts = nil }

// next reads the next fixed-size record of partition p into rec; false at its end.
func (sr *spillReader) next(p int, rec []byte) (bool, error) {
	r := &sr.parts[p]
	if r.end-r.pos >= len(rec) {
		copy(rec, r.buf[r.pos:])
		r.pos += len(rec)
		return true, nil
	}
	if v, err := r.peek(len(rec)); len(v) == 0 && err == io.EOF {
		return false, nil
	}
	if err := r.take(rec); err != nil {
		return false, err
	}
	return true, nil
}

// peekRow returns the row number (first 4 bytes) of the next record of partition p,
// or -1 at its end.
func (sr *spillReader) peekRow(p int) (int32, error) {
	if sr.heads == nil {
		sr.heads = make([]int32, len(sr.parts))
	}
	if h := sr.heads[p]; h != 0 {
		return h, nil
	}
	b, err := sr.parts[p].peek(4)
	if len(b) < 4 {
		if err == io.EOF {
			sr.heads[p] = -1
			return -1, nil
		}
		return -1, fmt.Errorf("intake: spill file: %w", err)
	}
	sr.heads[p] = int32(le.Uint32(b))
	return sr.heads[p], nil
}

// joinScratch is the memory a join of one partition works in, reused by the next
// partition the goroutine joins: a partition's records, index and results come to
// megabytes, and allocating (zeroing, collecting) them afresh for each of dozens of
// partitions cost about as much as the joins themselves. It holds one partition's
// worth at most, for each of forPartitions' goroutines, and is let go when they end.
type joinScratch struct {
	in, in2  []byte // spill records read
	out      []byte // spill records to write
	ids      *joinIndex
	entries  []entry
	mrows    []mailRow
	srows    []sampleRow
	seen     []nhsRow
	outcomes []byte
}

func (s *spillSet) getScratch() *joinScratch {
	s.spareMu.Lock()
	defer s.spareMu.Unlock()
	if n := len(s.spare); n > 0 {
		sc := s.spare[n-1]
		s.spare = s.spare[:n-1]
		return sc
	}
	return &joinScratch{}
}

func (s *spillSet) putScratch(sc *joinScratch) {
	s.spareMu.Lock()
	s.spare = append(s.spare, sc)
	s.spareMu.Unlock()
}

// forPartitions runs f on every partition, on up to two goroutines.
func (s *spillSet) forPartitions(f func(p int) error) error {
	defer func() {
		s.spareMu.Lock()
		s.spare = nil // the next phase needs the memory more
		s.spareMu.Unlock()
	}()
	workers := min(2, s.n)
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if first != nil || next == s.n {
					mu.Unlock()
					return
				}
				p := next
				next++
				mu.Unlock()
				if err := f(p); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// ---------------------------------------------------------------------------------
// Record layouts

var le = binary.LittleEndian

// m: row(4) flags(1) issue(1) postcode(8) idlen(1) id
func appendMRec(b []byte, row int32, flags, issue uint8, pc [8]byte, id []byte) []byte {
	b = le.AppendUint32(b, uint32(row))
	b = append(b, flags, issue)
	b = append(b, pc[:]...)
	b = append(b, byte(len(id)))
	return append(b, id...)
}

type mRec struct {
	row          int32
	flags, issue uint8
	pc           [8]byte
	id           []byte
}

func decodeMRec(b []byte) (mRec, []byte, error) {
	if len(b) < 15 || len(b) < 15+int(b[14]) {
		return mRec{}, nil, fmt.Errorf("intake: spill file: truncated mailing record")
	}
	var m mRec
	m.row = int32(le.Uint32(b))
	m.flags, m.issue = b[4], b[5]
	copy(m.pc[:], b[6:14])
	n := int(b[14])
	m.id = b[15 : 15+n]
	return m, b[15+n:], nil
}

// s: row(4) idlen(1) id
func appendSRec(b []byte, row int32, id []byte) []byte {
	b = le.AppendUint32(b, uint32(row))
	b = append(b, byte(len(id)))
	return append(b, id...)
}

func decodeSRec(b []byte) (row int32, id, rest []byte, err error) {
	if len(b) < 5 || len(b) < 5+int(b[4]) {
		return 0, nil, nil, fmt.Errorf("intake: spill file: truncated sample record")
	}
	n := int(b[4])
	return int32(le.Uint32(b)), b[5 : 5+n], b[5+n:], nil
}

// n: nhs(8) row(4)
const nRecLen = 12

// g: row(4) k(1) rows(4k), k <= gRows
const gRows = 7

// j: row(4) idx(4) sampleN(1) sampleRow(4) mailN(1) mailRow(4) issue(1) flags(1) postcode(8)
const jRecLen = 28

func appendJRec(b []byte, row, idx int32, e *entry) []byte {
	b = le.AppendUint32(b, uint32(row))
	b = le.AppendUint32(b, uint32(idx))
	b = append(b, e.sampleN)
	b = le.AppendUint32(b, uint32(e.sampleRow))
	b = append(b, e.mailN)
	b = le.AppendUint32(b, uint32(e.mailRow))
	b = append(b, e.mailIssue, e.flags)
	return append(b, e.postcode[:]...)
}

func decodeJRec(b []byte, e *entry) (row int32) {
	*e = entry{}
	row = int32(le.Uint32(b))
	e.idx = int32(le.Uint32(b[4:]))
	e.sampleN = b[8]
	e.sampleRow = int32(le.Uint32(b[9:]))
	e.mailN = b[13]
	e.mailRow = int32(le.Uint32(b[14:]))
	e.mailIssue, e.flags = b[18], b[19]
	copy(e.postcode[:], b[20:28])
	return row
}

// x: row(4) idx(4) mailN(1) mailRow(4) sampleN(1) issue(1) flags(1) postcode(8), where
// issue is the mailing row's own (e.mailIssue is its RECORD_ID's first row's). An x
// file starts with the number of idx values of its partition (4).
const xRecLen = 24

func appendXRec(b []byte, row, idx int32, issue uint8, e *entry) []byte {
	b = le.AppendUint32(b, uint32(row))
	b = le.AppendUint32(b, uint32(idx))
	b = append(b, e.mailN)
	b = le.AppendUint32(b, uint32(e.mailRow))
	b = append(b, e.sampleN, issue, e.flags)
	return append(b, e.postcode[:]...)
}

// t: idx(4), then the outcome: state(1) nhs(8) dob(4) gender(1) person(20)
const (
	outcomeLen = 14 + pseudo.PersonLen
	tRecLen    = 4 + outcomeLen
)

func appendTRec(b []byte, e *entry) []byte {
	b = le.AppendUint32(b, uint32(e.idx))
	b = append(b, e.state)
	b = le.AppendUint64(b, e.nhs)
	b = le.AppendUint32(b, uint32(e.dob))
	b = append(b, e.gender)
	return append(b, e.person[:]...)
}

// k: an x record, then an outcome (all zero when no sample row has the RECORD_ID)
const kRecLen = xRecLen + outcomeLen

// decodeKRec fills e from a k record and returns its row; e.rowIssue is the mailing
// row's own first issue.
func decodeKRec(b []byte, e *entry) (row int32) {
	*e = entry{}
	row = int32(le.Uint32(b))
	e.idx = int32(le.Uint32(b[4:]))
	e.mailN = b[8]
	e.mailRow = int32(le.Uint32(b[9:]))
	e.sampleN, e.rowIssue, e.flags = b[13], b[14], b[15]
	copy(e.postcode[:], b[16:24])
	o := b[xRecLen:]
	e.state = o[0]
	e.nhs = le.Uint64(o[1:])
	e.dob = int32(le.Uint32(o[9:]))
	e.gender = o[13]
	copy(e.person[:], o[14:14+pseudo.PersonLen])
	return row
}

// ---------------------------------------------------------------------------------
// Partition joins

// mailRow is where an m record of a partition went in the join.
type mailRow struct {
	row, idx int32
	issue    uint8
}

// loadMailing indexes the m records of partition p: one entry per RECORD_ID, with
// the mailing side of the join filled in, and each record's idx. sampleIDs is the
// number of RECORD_IDs the sample side may add.
func (s *spillSet) loadMailing(p int, sc *joinScratch, sampleIDs int) (*joinIndex, []entry, []mailRow, error) {
	data, err := s.read("m", p, sc.in)
	if err != nil {
		return nil, nil, nil, err
	}
	sc.in = data
	n, idBytes := countMRecs(data)
	if sc.ids == nil {
		sc.ids = newJoinIndex(0)
	}
	ids := sc.ids
	ids.reset(max(n, sampleIDs), idBytes)
	entries := slices.Grow(sc.entries[:0], max(n, sampleIDs))
	rows := slices.Grow(sc.mrows[:0], n)
	defer func() { sc.entries, sc.mrows = entries, rows }()
	for b := data; len(b) > 0; {
		var m mRec
		if m, b, err = decodeMRec(b); err != nil {
			return nil, nil, nil, err
		}
		idx, added, err := ids.getOrAdd(m.id)
		if err != nil {
			return nil, nil, nil, err
		}
		if added {
			entries = append(entries, entry{})
		}
		e := &entries[idx]
		if e.mailN == 0 {
			e.mailRow, e.flags, e.mailIssue, e.postcode = m.row, m.flags, m.issue, m.pc
		}
		e.mailN = sat(e.mailN)
		rows = append(rows, mailRow{m.row, idx, m.issue})
	}
	return ids, entries, rows, nil
}

// countMRecs counts the m records in data and the bytes of their ids, for sizing
// the join (an id's length varies); a truncated record ends the count (decodeMRec
// reports it).
func countMRecs(data []byte) (n, idBytes int) {
	for len(data) >= 15 && len(data) >= 15+int(data[14]) {
		idBytes += int(data[14])
		data = data[15+int(data[14]):]
		n++
	}
	return n, idBytes
}

// countSRecs counts the s records in data.
func countSRecs(data []byte) (n int) {
	for len(data) >= 5 && len(data) >= 5+int(data[4]) {
		data = data[5+int(data[4]):]
		n++
	}
	return n
}

// sampleRow is where an s record of a partition went in the join.
type sampleRow struct{ row, idx int32 }

// joinSample writes, for partition p, the j records (the join of each sample row
// with the mailing file), the x records (the mailing side of each mailing row, for
// joinMailing) and the g records (duplicated NHS numbers).
func (s *spillSet) joinSample(p int) error {
	sc := s.getScratch()
	defer s.putScratch(sc)
	data, err := s.read("s", p, sc.in2)
	if err != nil {
		return err
	}
	sc.in2 = data
	ns := countSRecs(data)
	ids, entries, mrows, err := s.loadMailing(p, sc, ns)
	if err != nil {
		return err
	}
	srows := slices.Grow(sc.srows[:0], ns)
	defer func() { sc.entries, sc.srows = entries, srows }()
	for b := data; len(b) > 0; {
		row, id, rest, err := decodeSRec(b)
		if err != nil {
			return err
		}
		b = rest
		idx, added, err := ids.getOrAdd(id)
		if err != nil {
			return err
		}
		if added {
			entries = append(entries, entry{})
		}
		e := &entries[idx]
		if e.sampleN == 0 {
			e.sampleRow = row
		}
		e.sampleN = sat(e.sampleN)
		srows = append(srows, sampleRow{row, idx})
	}
	rec := slices.Grow(sc.out[:0], max(len(srows)*jRecLen, 4+len(mrows)*xRecLen))
	defer func() { sc.out = rec }()
	for _, r := range srows {
		rec = appendJRec(rec, r.row, r.idx, &entries[r.idx])
	}
	if err := s.writePart("j", p, rec); err != nil {
		return err
	}
	rec = le.AppendUint32(rec[:0], uint32(len(entries)))
	for _, r := range mrows {
		rec = appendXRec(rec, r.row, r.idx, r.issue, &entries[r.idx])
	}
	if err := s.writePart("x", p, rec); err != nil {
		return err
	}
	return s.dupNHS(p, sc)
}

// dupNHS writes the g records of NHS partition p: every row whose NHS number is on
// more than one row, in row order, with the first rows of its group.
func (s *spillSet) dupNHS(p int, sc *joinScratch) error {
	data, err := s.read("n", p, sc.in)
	if err != nil {
		return err
	}
	sc.in = data
	if len(data)%nRecLen != 0 {
		return fmt.Errorf("intake: spill file: truncated NHS record")
	}
	seen := slices.Grow(sc.seen[:0], len(data)/nRecLen)
	for b := data; len(b) > 0; b = b[nRecLen:] {
		seen = append(seen, nhsRow{le.Uint64(b), int32(le.Uint32(b[8:]))})
	}
	sc.seen = seen
	dup := findDuplicateNHS(seen)
	type dupRow struct {
		row  int32
		rows []int32
	}
	var rows []dupRow
	for _, g := range dup {
		first := g[:min(len(g), gRows)]
		for _, r := range g {
			rows = append(rows, dupRow{r, first})
		}
	}
	slices.SortFunc(rows, func(a, b dupRow) int { return int(a.row - b.row) })
	var rec []byte
	for _, d := range rows {
		rec = le.AppendUint32(rec, uint32(d.row))
		rec = append(rec, byte(len(d.rows)))
		for _, r := range d.rows {
			rec = le.AppendUint32(rec, uint32(r))
		}
	}
	return s.writePart("g", p, rec)
}

// readDup reads the g record at the head of partition p if it is for row.
func (sr *spillReader) readDup(p int, row int32, rows []int32) ([]int32, bool, error) {
	head, err := sr.peekRow(p)
	if err != nil || head != row {
		return nil, false, err
	}
	sr.heads[p] = 0
	var hdr [5]byte
	if err := sr.parts[p].take(hdr[:]); err != nil {
		return nil, false, err
	}
	k := int(hdr[4])
	var buf [4 * gRows]byte
	if k > gRows {
		return nil, false, fmt.Errorf("intake: spill file: bad NHS record")
	}
	if err := sr.parts[p].take(buf[:4*k]); err != nil {
		return nil, false, err
	}
	rows = rows[:0]
	for i := 0; i < k; i++ {
		rows = append(rows, int32(le.Uint32(buf[4*i:])))
	}
	return rows, true, nil
}

// joinMailing writes, for partition p, the k records: the join of each mailing row
// with the outcome of its sample record. The outcomes are numbered by idx, so this
// join needs no index: the last sample row's outcome of an idx stands, as in a single
// in-memory join.
func (s *spillSet) joinMailing(p int) error {
	sc := s.getScratch()
	defer s.putScratch(sc)
	xs, err := s.read("x", p, sc.in)
	if err != nil {
		return err
	}
	sc.in = xs
	if len(xs) < 4 || (len(xs)-4)%xRecLen != 0 {
		return fmt.Errorf("intake: spill file: truncated mailing join record")
	}
	n := int(le.Uint32(xs))
	xs = xs[4:]
	// An idx no sample row has keeps an all-zero outcome.
	outcomes := slices.Grow(sc.outcomes[:0], n*outcomeLen)[:n*outcomeLen]
	clear(outcomes)
	sc.outcomes = outcomes
	data, err := s.read("t", p, sc.in2)
	if err != nil {
		return err
	}
	sc.in2 = data
	if len(data)%tRecLen != 0 {
		return fmt.Errorf("intake: spill file: truncated outcome record")
	}
	for b := data; len(b) > 0; b = b[tRecLen:] {
		idx := int(le.Uint32(b))
		if idx >= n {
			return fmt.Errorf("intake: spill file: bad outcome record")
		}
		copy(outcomes[idx*outcomeLen:(idx+1)*outcomeLen], b[4:tRecLen])
	}
	rec := slices.Grow(sc.out[:0], len(xs)/xRecLen*kRecLen)
	defer func() { sc.out = rec }()
	for b := xs; len(b) > 0; b = b[xRecLen:] {
		idx := int(le.Uint32(b[4:]))
		if idx >= n {
			return fmt.Errorf("intake: spill file: bad mailing join record")
		}
		rec = append(rec, b[:xRecLen]...)
		rec = append(rec, outcomes[idx*outcomeLen:(idx+1)*outcomeLen]...)
	}
	return s.writePart("k", p, rec)
}
