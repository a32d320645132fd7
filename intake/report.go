package intake

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"

	"icesurvey/internal/csvcell"
	"icesurvey/schemas"
)

// reportFile collects report lines (schemas.RejectionRow, as CSV without a header) of
// one input file in a temporary file, so a large report never sits in memory.
type reportFile struct {
	f     *os.File
	bw    *bufio.Writer
	cw    *csv.Writer
	lines int
	rec   []string
}

func newReportFile(newTemp tempFiler) (*reportFile, error) {
	f, err := newTemp("ice-intake-report-*.csv")
	if err != nil {
		return nil, fmt.Errorf("intake: temp report file: %w", err)
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	return &reportFile{f: f, bw: bw, cw: csv.NewWriter(bw), rec: make([]string, 7)}, nil
}

// add writes one line. recordID is the ICS's RECORD_ID as read (dropped when it is not
// a plausible id, so a misplaced value never reaches the report), with an apostrophe in
// front when a spreadsheet would read it as a formula (csvcell.Inert): the report is
// for the ICS's people, who open it in one.
func (p *reportFile) add(file string, row int, recordID []byte, disposition string, f finding) error {
	id := ""
	if len(recordID) <= MaxRecordIDLen && !hasControl(recordID) {
		id = csvcell.Inert(string(recordID))
	}
	p.rec[0], p.rec[1], p.rec[2], p.rec[3] = file, strconv.Itoa(row), id, f.field
	p.rec[4], p.rec[5], p.rec[6] = f.reason, disposition, f.msg
	p.lines++
	if err := p.cw.Write(p.rec); err != nil {
		return fmt.Errorf("intake: write report: %w", err)
	}
	return nil
}

// addNotes writes a line of disposition "warning" on row 1 (the header) for each of
// an input file's notes.
func (p *reportFile) addNotes(file string, notes []headerNote) error {
	for _, n := range notes {
		if err := p.add(file, 1, nil, schemas.DispositionWarning, finding(n)); err != nil {
			return err
		}
	}
	return nil
}

func (p *reportFile) finish() error {
	p.cw.Flush()
	if err := p.cw.Error(); err != nil {
		return fmt.Errorf("intake: write report: %w", err)
	}
	if err := p.bw.Flush(); err != nil {
		return fmt.Errorf("intake: write report: %w", err)
	}
	if _, err := p.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("intake: rewind report: %w", err)
	}
	return nil
}

func (p *reportFile) discard() {
	p.f.Close()
	os.Remove(p.f.Name())
}

// hashingReader hashes what is read through it.
type hashingReader struct {
	r io.Reader
	h hash.Hash
}

func (h *hashingReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	h.h.Write(b[:n])
	return n, err
}

func (h *hashingReader) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }

// joinReports returns the whole report: the header row, then the sample file's
// lines, then the mailing file's, each in row order.
func joinReports(parts ...*reportFile) (*hashingReader, error) {
	var hdr bytes.Buffer
	hdr.WriteString(strings.Join(schemas.RejectionLayout().Names(), ","))
	hdr.WriteString("\n")
	readers := []io.Reader{&hdr}
	for _, p := range parts {
		if err := p.finish(); err != nil {
			return nil, err
		}
		readers = append(readers, p.f)
	}
	return &hashingReader{r: io.MultiReader(readers...), h: sha256.New()}, nil
}

func hasControl(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == 0x7F {
			return true
		}
	}
	return false
}
