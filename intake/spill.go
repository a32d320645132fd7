package intake

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
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
// Spill kinds (one file per partition):
//
//	m  mailing rows with a usable RECORD_ID:  row, flags, issue, postcode, id
//	s  sample rows with a usable RECORD_ID:   row, id
//	n  sample rows with a valid NHS number:   nhs, row
//	g  duplicated NHS numbers, by row:        row, k, first k rows of the group
//	j  join result of each s record:          row, sampleN, sampleRow, mailN, mailRow, issue, flags, postcode
//	t  outcome of each s record:              state, nhs, dob, gender, id
//	k  join result of each m record:          row, mailN, mailRow, sampleN, state, nhs, dob, gender, flags, postcode

// partitionBytes is the share of the input files one partition covers.
var partitionBytes int64 = 4 << 20 // a variable for the tests

// maxPartitions bounds the files open at once (three spill kinds are written side by
// side); past maxPartitions × partitionBytes of input (1 GiB) partitions grow instead.
const maxPartitions = 256

const spillBuffer = 16 << 10

type spillSet struct {
	dir  string
	n    int
	seed maphash.Seed
}

func newSpillSet(inputBytes int64) (*spillSet, error) {
	dir, err := os.MkdirTemp("", "ice-intake-spill-*")
	if err != nil {
		return nil, fmt.Errorf("intake: spill directory: %w", err)
	}
	n := int(min(max(inputBytes/partitionBytes+1, 1), maxPartitions))
	return &spillSet{dir: dir, n: n, seed: maphash.MakeSeed()}, nil
}

func (s *spillSet) remove() { os.RemoveAll(s.dir) }

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

func (s *spillSet) name(kind string, p int) string {
	return filepath.Join(s.dir, fmt.Sprintf("%s-%05d", kind, p))
}

// spillWriter writes one kind of record to every partition.
type spillWriter struct {
	files []*os.File
	w     []*bufio.Writer
	rec   []byte
}

func (s *spillSet) create(kind string) (*spillWriter, error) {
	sw := &spillWriter{}
	for p := 0; p < s.n; p++ {
		f, err := os.Create(s.name(kind, p))
		if err != nil {
			sw.close()
			return nil, fmt.Errorf("intake: spill file: %w", err)
		}
		sw.files = append(sw.files, f)
		sw.w = append(sw.w, bufio.NewWriterSize(f, spillBuffer))
	}
	return sw, nil
}

// put writes sw.rec to partition p (write errors surface in close).
func (sw *spillWriter) put(p int) { sw.w[p].Write(sw.rec) }

func (sw *spillWriter) close() error {
	var first error
	for i, f := range sw.files {
		if err := sw.w[i].Flush(); err != nil && first == nil {
			first = err
		}
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	sw.files, sw.w = nil, nil
	if first != nil {
		return fmt.Errorf("intake: spill file: %w", first)
	}
	return nil
}

func (s *spillSet) read(kind string, p int) ([]byte, error) {
	b, err := os.ReadFile(s.name(kind, p))
	if err != nil {
		return nil, fmt.Errorf("intake: spill file: %w", err)
	}
	return b, nil
}

// spillReader reads one kind of record from every partition in turn.
type spillReader struct {
	files []*os.File
	r     []*bufio.Reader
	heads []int32 // peekRow's answer per partition, cached: 0 = not known yet
}

func (s *spillSet) open(kind string) (*spillReader, error) {
	sr := &spillReader{}
	for p := 0; p < s.n; p++ {
		f, err := os.Open(s.name(kind, p))
		if err != nil {
			sr.close()
			return nil, fmt.Errorf("intake: spill file: %w", err)
		}
		sr.files = append(sr.files, f)
		sr.r = append(sr.r, bufio.NewReaderSize(f, spillBuffer))
	}
	return sr, nil
}

func (sr *spillReader) close() {
	for _, f := range sr.files {
		f.Close()
	}
	sr.files, sr.r = nil, nil
}

// next reads the next fixed-size record of partition p into rec; false at its end.
func (sr *spillReader) next(p int, rec []byte) (bool, error) {
	if _, err := io.ReadFull(sr.r[p], rec); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("intake: spill file: %w", err)
	}
	return true, nil
}

// peekRow returns the row number (first 4 bytes) of the next record of partition p,
// or -1 at its end.
func (sr *spillReader) peekRow(p int) (int32, error) {
	if sr.heads == nil {
		sr.heads = make([]int32, len(sr.r))
	}
	if h := sr.heads[p]; h != 0 {
		return h, nil
	}
	b, err := sr.r[p].Peek(4)
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

// forPartitions runs f on every partition, on up to two goroutines.
func (s *spillSet) forPartitions(f func(p int) error) error {
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

// j: row(4) sampleN(1) sampleRow(4) mailN(1) mailRow(4) issue(1) flags(1) postcode(8)
const jRecLen = 24

func appendJRec(b []byte, row int32, e *entry) []byte {
	b = le.AppendUint32(b, uint32(row))
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
	e.sampleN = b[4]
	e.sampleRow = int32(le.Uint32(b[5:]))
	e.mailN = b[9]
	e.mailRow = int32(le.Uint32(b[10:]))
	e.mailIssue, e.flags = b[14], b[15]
	copy(e.postcode[:], b[16:24])
	return row
}

// t: state(1) nhs(8) dob(4) gender(1) idlen(1) id
func appendTRec(b []byte, e *entry, id []byte) []byte {
	b = append(b, e.state)
	b = le.AppendUint64(b, e.nhs)
	b = le.AppendUint32(b, uint32(e.dob))
	b = append(b, e.gender, byte(len(id)))
	return append(b, id...)
}

// k: row(4) mailN(1) mailRow(4) sampleN(1) state(1) nhs(8) dob(4) gender(1) flags(1) postcode(8)
const kRecLen = 33

func appendKRec(b []byte, row int32, e *entry) []byte {
	b = le.AppendUint32(b, uint32(row))
	b = append(b, e.mailN)
	b = le.AppendUint32(b, uint32(e.mailRow))
	b = append(b, e.sampleN, e.state)
	b = le.AppendUint64(b, e.nhs)
	b = le.AppendUint32(b, uint32(e.dob))
	b = append(b, e.gender, e.flags)
	return append(b, e.postcode[:]...)
}

func decodeKRec(b []byte, e *entry) (row int32) {
	*e = entry{}
	row = int32(le.Uint32(b))
	e.mailN = b[4]
	e.mailRow = int32(le.Uint32(b[5:]))
	e.sampleN, e.state = b[9], b[10]
	e.nhs = le.Uint64(b[11:])
	e.dob = int32(le.Uint32(b[19:]))
	e.gender, e.flags = b[23], b[24]
	copy(e.postcode[:], b[25:33])
	return row
}

// ---------------------------------------------------------------------------------
// Partition joins

// loadMailing indexes the m records of partition p: one entry per RECORD_ID, with
// the mailing side of the join filled in.
func (s *spillSet) loadMailing(p int) (*joinIndex, []entry, []byte, error) {
	data, err := s.read("m", p)
	if err != nil {
		return nil, nil, nil, err
	}
	ids := newJoinIndex(len(data) / 24)
	entries := make([]entry, 0, len(data)/24)
	for b := data; len(b) > 0; {
		var m mRec
		if m, b, err = decodeMRec(b); err != nil {
			return nil, nil, nil, err
		}
		idx, ok := ids.get(m.id)
		if !ok {
			if idx, err = ids.add(m.id); err != nil {
				return nil, nil, nil, err
			}
			entries = append(entries, entry{})
		}
		e := &entries[idx]
		if e.mailN == 0 {
			e.mailRow, e.flags, e.mailIssue, e.postcode = m.row, m.flags, m.issue, m.pc
		}
		e.mailN = sat(e.mailN)
	}
	return ids, entries, data, nil
}

// joinSample writes, for partition p, the j records (the join of each sample row
// with the mailing file) and the g records (duplicated NHS numbers).
func (s *spillSet) joinSample(p int) error {
	ids, entries, _, err := s.loadMailing(p)
	if err != nil {
		return err
	}
	data, err := s.read("s", p)
	if err != nil {
		return err
	}
	for b := data; len(b) > 0; {
		row, id, rest, err := decodeSRec(b)
		if err != nil {
			return err
		}
		b = rest
		idx, ok := ids.get(id)
		if !ok {
			if idx, err = ids.add(id); err != nil {
				return err
			}
			entries = append(entries, entry{})
		}
		e := &entries[idx]
		if e.sampleN == 0 {
			e.sampleRow = row
		}
		e.sampleN = sat(e.sampleN)
	}
	out, err := os.Create(s.name("j", p))
	if err != nil {
		return fmt.Errorf("intake: spill file: %w", err)
	}
	w := bufio.NewWriterSize(out, spillBuffer)
	var rec []byte
	for b := data; len(b) > 0; {
		row, id, rest, _ := decodeSRec(b)
		b = rest
		idx, _ := ids.get(id)
		rec = appendJRec(rec[:0], row, &entries[idx])
		w.Write(rec)
	}
	if err := closeSpill(out, w); err != nil {
		return err
	}
	return s.dupNHS(p)
}

func closeSpill(f *os.File, w *bufio.Writer) error {
	err := w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("intake: spill file: %w", err)
	}
	return nil
}

// dupNHS writes the g records of NHS partition p: every row whose NHS number is on
// more than one row, in row order, with the first rows of its group.
func (s *spillSet) dupNHS(p int) error {
	data, err := s.read("n", p)
	if err != nil {
		return err
	}
	if len(data)%nRecLen != 0 {
		return fmt.Errorf("intake: spill file: truncated NHS record")
	}
	seen := make([]nhsRow, 0, len(data)/nRecLen)
	for b := data; len(b) > 0; b = b[nRecLen:] {
		seen = append(seen, nhsRow{le.Uint64(b), int32(le.Uint32(b[8:]))})
	}
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
	out, err := os.Create(s.name("g", p))
	if err != nil {
		return fmt.Errorf("intake: spill file: %w", err)
	}
	w := bufio.NewWriterSize(out, spillBuffer)
	var rec []byte
	for _, d := range rows {
		rec = le.AppendUint32(rec[:0], uint32(d.row))
		rec = append(rec, byte(len(d.rows)))
		for _, r := range d.rows {
			rec = le.AppendUint32(rec, uint32(r))
		}
		w.Write(rec)
	}
	return closeSpill(out, w)
}

// readDup reads the g record at the head of partition p if it is for row.
func (sr *spillReader) readDup(p int, row int32, rows []int32) ([]int32, bool, error) {
	head, err := sr.peekRow(p)
	if err != nil || head != row {
		return nil, false, err
	}
	sr.heads[p] = 0
	var hdr [5]byte
	if _, err := io.ReadFull(sr.r[p], hdr[:]); err != nil {
		return nil, false, fmt.Errorf("intake: spill file: %w", err)
	}
	k := int(hdr[4])
	var buf [4 * gRows]byte
	if k > gRows {
		return nil, false, fmt.Errorf("intake: spill file: bad NHS record")
	}
	if _, err := io.ReadFull(sr.r[p], buf[:4*k]); err != nil {
		return nil, false, fmt.Errorf("intake: spill file: %w", err)
	}
	rows = rows[:0]
	for i := 0; i < k; i++ {
		rows = append(rows, int32(le.Uint32(buf[4*i:])))
	}
	return rows, true, nil
}

// joinMailing writes, for partition p, the k records: the join of each mailing row
// with the outcome of its sample record.
func (s *spillSet) joinMailing(p int) error {
	ids, entries, mdata, err := s.loadMailing(p)
	if err != nil {
		return err
	}
	data, err := s.read("t", p)
	if err != nil {
		return err
	}
	for b := data; len(b) > 0; {
		if len(b) < 15 || len(b) < 15+int(b[14]) {
			return fmt.Errorf("intake: spill file: truncated outcome record")
		}
		n := int(b[14])
		// Only ids on the mailing file matter here; the last sample row's outcome
		// stands, as in a single in-memory join.
		if idx, ok := ids.get(b[15 : 15+n]); ok {
			e := &entries[idx]
			e.sampleN = 1
			e.state = b[0]
			if e.state == stateAccepted {
				e.nhs, e.dob, e.gender = le.Uint64(b[1:]), int32(le.Uint32(b[9:])), b[13]
			}
		}
		b = b[15+n:]
	}
	out, err := os.Create(s.name("k", p))
	if err != nil {
		return fmt.Errorf("intake: spill file: %w", err)
	}
	w := bufio.NewWriterSize(out, spillBuffer)
	var rec []byte
	for b := mdata; len(b) > 0; {
		m, rest, _ := decodeMRec(b)
		b = rest
		idx, _ := ids.get(m.id)
		rec = appendKRec(rec[:0], m.row, &entries[idx])
		w.Write(rec)
	}
	return closeSpill(out, w)
}
