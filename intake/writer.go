package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/lake"
	"icesurvey/schemas"
)

// pqSink streams rows of one layout into a Parquet file in a temporary file. Rows are
// appended column by column to typed Arrow builders (no reflection per row); each
// full row group is handed to a background goroutine that encodes and compresses it,
// so parsing and Parquet encoding overlap. The file has the layout's Arrow schema and
// the lake's writer settings, so lake.GetRows and lake.Scan read it like any other.
type pqSink struct {
	layout  *schemas.Layout
	file    *os.File
	rb      *array.RecordBuilder
	fw      *pqarrow.FileWriter
	n       int
	total   int64
	batches chan arrow.RecordBatch
	done    chan error
	closed  bool
}

// compressionLevel is zstd's fastest level: the lake's codec, at a level that keeps
// Parquet encoding from dominating the intake (ids and pseudonyms hardly compress).
const compressionLevel = 1

// newPQSink starts a Parquet file of layout l compressed with codec. Columns named in
// plain are written without dictionary encoding: for (nearly) unique values — ids,
// pseudonyms, NHS numbers — it only builds a large hash table to fall back from.
func newPQSink(l *schemas.Layout, codec compress.Compression, plain ...string) (*pqSink, error) {
	f, err := os.CreateTemp("", "ice-intake-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("intake: temp file for %s: %w", l.Name, err)
	}
	sc := l.ArrowSchema()
	opts := []parquet.WriterProperty{
		parquet.WithCompression(codec),
		parquet.WithDictionaryDefault(true),
	}
	if codec == compress.Codecs.Zstd {
		opts = append(opts, parquet.WithCompressionLevel(compressionLevel))
	}
	for _, c := range plain {
		if _, ok := l.Column(c); !ok {
			return nil, fmt.Errorf("intake: layout %s has no column %s", l.Name, c)
		}
		opts = append(opts, parquet.WithDictionaryFor(c, false))
	}
	props := parquet.NewWriterProperties(opts...)
	// The Parquet writer closes a sink that is an io.Closer; hide Close so the file
	// stays open to be hashed and stored.
	fw, err := pqarrow.NewFileWriter(sc, struct{ io.Writer }{f}, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("intake: start parquet %s: %w", l.Name, err)
	}
	s := &pqSink{
		layout:  l,
		file:    f,
		rb:      array.NewRecordBuilder(memory.DefaultAllocator, sc),
		fw:      fw,
		batches: make(chan arrow.RecordBatch, 1),
		done:    make(chan error, 1),
	}
	go s.encode()
	return s, nil
}

func (s *pqSink) encode() {
	var err error
	for rec := range s.batches {
		if err == nil {
			if werr := s.fw.Write(rec); werr != nil {
				err = fmt.Errorf("intake: write row group of %s: %w", s.layout.Name, werr)
			}
		}
		rec.Release()
	}
	s.done <- err
}

// builder returns the typed builder of the named column; a mismatch between the code
// and the declared layout is a programming error caught by the tests.
func builder[B array.Builder](s *pqSink, name string) B {
	for i, c := range s.layout.Columns {
		if c.Name == name {
			b, ok := s.rb.Field(i).(B)
			if !ok {
				panic(fmt.Sprintf("intake: column %s of %s is %s, not the builder the intake expects", name, s.layout.Name, c.Type))
			}
			return b
		}
	}
	panic(fmt.Sprintf("intake: layout %s has no column %s", s.layout.Name, name))
}

// endRow counts a fully appended row and hands off a full row group.
func (s *pqSink) endRow() {
	s.n++
	s.total++
	if s.n >= lake.DefaultRowGroup {
		s.flush()
	}
}

func (s *pqSink) flush() {
	if s.n == 0 {
		return
	}
	s.batches <- s.rb.NewRecordBatch()
	s.n = 0
}

// finish writes the last row group and the footer, and returns the file rewound with
// its size and SHA-256. The caller stores it, then calls discard.
func (s *pqSink) finish() (size int64, sum string, err error) {
	s.flush()
	close(s.batches)
	s.closed = true
	if err := <-s.done; err != nil {
		return 0, "", err
	}
	s.rb.Release()
	if err := s.fw.Close(); err != nil {
		return 0, "", fmt.Errorf("intake: finish parquet %s: %w", s.layout.Name, err)
	}
	return hashFile(s.file)
}

// discard stops the sink (if running) and removes its file.
func (s *pqSink) discard() {
	if !s.closed {
		close(s.batches)
		s.closed = true
		<-s.done
		s.rb.Release()
	}
	s.file.Close()
	os.Remove(s.file.Name())
}

func hashFile(f *os.File) (int64, string, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, "", fmt.Errorf("intake: rewind %s: %w", f.Name(), err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("intake: hash %s: %w", f.Name(), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, "", fmt.Errorf("intake: rewind %s: %w", f.Name(), err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// sampleSink writes schemas.SampleRecord rows.
type sampleSink struct {
	*pqSink
	surveyID, wave, ics, pseudonym, practice, ageBand, gender, ethnicity, efiBand, district *array.StringBuilder
	age                                                                                     *array.Int32Builder
	efi                                                                                     *array.Float64Builder
	registered                                                                              *array.Date32Builder
	hasMobile                                                                               *array.BooleanBuilder
}

func newSampleSink() (*sampleSink, error) {
	// The lake file keeps the lake's zstd and dictionary encoding (good for analysts'
	// scans) except for the two unique columns.
	s, err := newPQSink(schemas.SampleRecordLayout(), compress.Codecs.Zstd, "survey_record_id", "nhs_pseudonym")
	if err != nil {
		return nil, err
	}
	str := func(n string) *array.StringBuilder { return builder[*array.StringBuilder](s, n) }
	return &sampleSink{
		pqSink:     s,
		surveyID:   str("survey_record_id"),
		wave:       str("wave_id"),
		ics:        str("ics"),
		pseudonym:  str("nhs_pseudonym"),
		practice:   str("gp_practice_code"),
		ageBand:    str("age_band"),
		gender:     str("gender"),
		ethnicity:  str("ethnicity"),
		efiBand:    str("efi_band"),
		district:   str("postcode_district"),
		age:        builder[*array.Int32Builder](s, "age"),
		efi:        builder[*array.Float64Builder](s, "efi_score"),
		registered: builder[*array.Date32Builder](s, "registration_date"),
		hasMobile:  builder[*array.BooleanBuilder](s, "has_mobile"),
	}, nil
}

// contactSink writes schemas.Contact rows.
type contactSink struct {
	*pqSink
	surveyID, icsRecordID, ics, nhs, gender, title, first, last, postcode, mobile, accessCode *array.StringBuilder
	addr                                                                                      [5]*array.StringBuilder
	dob                                                                                       *array.Date32Builder
}

func newContactSink() (*contactSink, error) {
	// The contact file is read by the mailing stages and deleted after fieldwork; its
	// ids, codes and NHS numbers do not compress: Snappy, no dictionary encoding.
	s, err := newPQSink(schemas.ContactLayout(), compress.Codecs.Snappy, schemas.ContactLayout().Names()...)
	if err != nil {
		return nil, err
	}
	str := func(n string) *array.StringBuilder { return builder[*array.StringBuilder](s, n) }
	c := &contactSink{
		pqSink:      s,
		surveyID:    str("survey_record_id"),
		icsRecordID: str("ics_record_id"),
		ics:         str("ics"),
		nhs:         str("nhs_number"),
		gender:      str("gender"),
		title:       str("title"),
		first:       str("first_name"),
		last:        str("last_name"),
		postcode:    str("postcode"),
		mobile:      str("mobile"),
		accessCode:  str("access_code"),
		dob:         builder[*array.Date32Builder](s, "date_of_birth"),
	}
	for i := range c.addr {
		c.addr[i] = str(fmt.Sprintf("address_%d", i+1))
	}
	return c, nil
}
