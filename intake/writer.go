package intake

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"runtime"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"icesurvey/codes"
	"icesurvey/lake"
	"icesurvey/pseudo"
	"icesurvey/schemas"
	"icesurvey/store"
)

// pqSink streams rows of one layout into a Parquet file in a temporary file. Rows are
// appended to the plain columns of a row group G (see columns.go); each full row group
// is handed to a background goroutine that encodes and compresses it while the next is
// filled, so parsing and Parquet encoding overlap. Row groups are recycled: at most
// sinkGroups exist, so memory stays bounded. The file has the layout's Arrow schema
// (stored in the file, as the lake's writer does), so lake.GetRows and lake.Scan read
// it like any other; the SHA-256 of the file is taken as it is written.
type pqSink[G rowGroup] struct {
	layout *schemas.Layout
	schema *arrow.Schema
	file   *os.File
	out    *hashWriter
	pw     *file.Writer
	// arrowProps and nullable are what each column's encoding needs; defined holds
	// the definition levels of a row group of a nullable column (the columns have no
	// nulls: every value is defined).
	arrowProps pqarrow.ArrowWriterProperties
	encoders   int
	nullable   []bool
	defined    []int16
	cur        G
	n          int
	total      int64
	full       chan G
	free       chan G
	done       chan error
	ended      bool
	err        error // the encoder's outcome, once ended and waited for
	waited     bool
	stored     bool // the file became the stored object (see run.putFile)
}

// sinkGroups is how many row groups a sink has: one being filled, one queued, one
// being encoded (writeGroup closes its Parquet row group, so nothing refers to a
// group's columns once it is written).
const sinkGroups = 3

// maxGroupBytes ends a row group early when its variable-width columns hold this much
// (Arrow string offsets are 32-bit).
const maxGroupBytes = 512 << 20

// parallelPageSize is the Parquet data page size of a sink whose columns are encoded
// side by side: a column's last page is only finished when the row group is closed,
// one column after another, and pages a quarter of the default keep that serial part
// small. (Not for zstd columns of hex text, which compress worse in smaller pages.)
const parallelPageSize = 256 << 10

// compressionLevel is zstd's fastest level: the lake's codec, at a level that keeps
// Parquet encoding from dominating the intake (ids and pseudonyms hardly compress).
const compressionLevel = 1

// sinkSpec is how a sink's file is encoded.
type sinkSpec struct {
	codec compress.Compression
	// dictDefault is whether columns are dictionary-encoded unless named in plain;
	// dict names the columns that are when it is false.
	dictDefault bool
	plain, dict []string
	// noStats names the columns written without min/max statistics: those whose min
	// and max would prune nothing — (nearly) unique values such as ids, pseudonyms,
	// names and addresses, or short code lists found in every row group.
	noStats []string
	// encoders is how many goroutines encode a row group's columns (at least one).
	encoders int
}

func newPQSink[G rowGroup](newTemp tempFiler, l *schemas.Layout, spec sinkSpec, newGroup func() G) (*pqSink[G], error) {
	sc := l.ArrowSchema()
	opts := []parquet.WriterProperty{
		parquet.WithCompression(spec.codec),
		parquet.WithDictionaryDefault(spec.dictDefault),
	}
	if spec.codec == compress.Codecs.Zstd {
		opts = append(opts, parquet.WithCompressionLevel(compressionLevel))
	}
	if spec.encoders > 1 {
		opts = append(opts, parquet.WithDataPageSize(parallelPageSize))
	}
	for _, set := range []struct {
		names []string
		opt   func(string) parquet.WriterProperty
	}{
		{spec.plain, func(c string) parquet.WriterProperty { return parquet.WithDictionaryFor(c, false) }},
		{spec.dict, func(c string) parquet.WriterProperty { return parquet.WithDictionaryFor(c, true) }},
		{spec.noStats, func(c string) parquet.WriterProperty { return parquet.WithStatsFor(c, false) }},
	} {
		for _, c := range set.names {
			if _, ok := l.Column(c); !ok {
				return nil, fmt.Errorf("intake: layout %s has no column %s", l.Name, c)
			}
			opts = append(opts, set.opt(c))
		}
	}
	props := parquet.NewWriterProperties(opts...)
	f, err := newTemp("ice-intake-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("intake: temp file for %s: %w", l.Name, err)
	}
	out := &hashWriter{buf: bufio.NewWriterSize(f, 1<<20), h: sha256.New()}
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())
	pw, err := lake.NewParquetFileWriter(sc, out, props, arrowProps)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("intake: start parquet %s: %w", l.Name, err)
	}
	s := &pqSink[G]{
		layout:     l,
		schema:     sc,
		file:       f,
		out:        out,
		pw:         pw,
		arrowProps: arrowProps,
		encoders:   max(spec.encoders, 1),
		nullable:   make([]bool, sc.NumFields()),
		cur:        newGroup(),
		full:       make(chan G, 1),
		free:       make(chan G, sinkGroups),
		done:       make(chan error, 1),
	}
	for i, fd := range sc.Fields() {
		s.nullable[i] = fd.Nullable
	}
	for i := 1; i < sinkGroups; i++ {
		s.free <- newGroup()
	}
	go s.encode()
	return s, nil
}

// encode writes each full row group, then the footer.
func (s *pqSink[G]) encode() {
	var err error
	for g := range s.full {
		if err == nil {
			err = s.writeGroup(g)
		}
		if err == nil {
			// The row group is written: send it on to the disk now, while the next is
			// built, rather than all at once when the file is stored.
			if err = s.out.flush(); err == nil {
				startWriteback(s.file)
			}
		}
		g.reset()
		s.free <- g
	}
	if err == nil {
		if cerr := s.pw.Close(); cerr != nil {
			err = fmt.Errorf("intake: finish parquet %s: %w", s.layout.Name, cerr)
		}
	}
	if err == nil {
		err = s.out.flush()
	}
	// Let the row groups go: the sink only waits to be stored now.
	for len(s.free) > 0 {
		<-s.free
	}
	s.done <- err
}

func (s *pqSink[G]) writeGroup(g G) error {
	arrs, err := orderArrays(s.schema, g.arrays())
	defer func() {
		for _, a := range arrs {
			if a != nil {
				a.Release()
			}
		}
	}()
	if err != nil {
		return err
	}
	n := arrs[0].Len()
	for len(s.defined) < n {
		s.defined = append(s.defined, 1)
	}
	// Each encoding goroutine has its own Arrow write context, made when it first needs one.
	ctxs := make([]context.Context, s.encoders)
	err = lake.EncodeRowGroup(s.pw, n, s.encoders, func(worker, i int, cw file.ColumnChunkWriter) error {
		if ctxs[worker] == nil {
			ctxs[worker] = pqarrow.NewArrowWriteContext(context.Background(), &s.arrowProps)
		}
		var def []int16
		if s.nullable[i] {
			def = s.defined[:n]
		}
		return pqarrow.WriteArrowToColumn(ctxs[worker], cw, arrs[i], def, nil, s.nullable[i])
	})
	if err != nil {
		return fmt.Errorf("intake: write row group of %s: %w", s.layout.Name, err)
	}
	if s.out.err != nil {
		return fmt.Errorf("intake: write %s: %w", s.layout.Name, s.out.err)
	}
	return nil
}

// endRow counts a fully appended row and hands off a full row group.
func (s *pqSink[G]) endRow() {
	s.n++
	s.total++
	if s.n >= rowsMax || s.n%1024 == 0 && s.cur.bytes() > maxGroupBytes {
		s.flush()
	}
}

func (s *pqSink[G]) flush() {
	if s.n == 0 {
		return
	}
	s.full <- s.cur
	s.cur = <-s.free
	s.n = 0
}

// end hands off the last row group; the file is finished in the background.
func (s *pqSink[G]) end() {
	if s.ended {
		return
	}
	s.flush()
	close(s.full)
	s.ended = true
	var none G
	s.cur = none
}

func (s *pqSink[G]) wait() error {
	if !s.waited {
		s.err = <-s.done
		s.waited = true
	}
	return s.err
}

// finish ends the file and returns its size and SHA-256. The caller stores it (with
// run.putFile), then calls discard.
func (s *pqSink[G]) finish() (size int64, sum string, err error) {
	s.end()
	if err := s.wait(); err != nil {
		return 0, "", err
	}
	return s.out.n, hex.EncodeToString(s.out.h.Sum(nil)), nil
}

// discard stops the sink (if running) and removes its file, unless it was stored.
func (s *pqSink[G]) discard() {
	if !s.ended {
		close(s.full)
		s.ended = true
	}
	s.wait()
	s.file.Close()
	if !s.stored {
		os.Remove(s.file.Name())
	}
}

// tempFiler creates a temporary file (os.CreateTemp's pattern).
type tempFiler func(pattern string) (*os.File, error)

// tempFile creates a temporary file for an output: on the store's own filesystem when
// the store can adopt files (storing it is then a rename, not a copy), else in the
// system's temporary directory.
func (r *run) tempFile(pattern string) (*os.File, error) {
	if fa, ok := r.st.(store.FileAdopter); ok {
		return fa.TempFile(pattern)
	}
	return os.CreateTemp("", pattern)
}

// putFile stores the whole of f, made by tempFile, at key: adopted by the store when
// it can (then f is no longer the caller's to remove: stored is set), else copied.
func (r *run) putFile(key string, f *os.File, stored *bool) error {
	if fa, ok := r.st.(store.FileAdopter); ok {
		if err := fa.PutFile(r.ctx, key, f); err != nil {
			return err
		}
		*stored = true
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rewind %s: %w", f.Name(), err)
	}
	return r.st.Put(r.ctx, key, f)
}

// hashWriter buffers what is written to a file and hashes it; the first write error
// sticks (the Parquet writer does not report every one).
type hashWriter struct {
	buf *bufio.Writer
	h   hash.Hash
	n   int64
	err error
}

func (w *hashWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.buf.Write(p)
	w.h.Write(p[:n])
	w.n += int64(n)
	if err != nil {
		w.err = err
	}
	return n, err
}

func (w *hashWriter) flush() error {
	if w.err == nil {
		w.err = w.buf.Flush()
	}
	return w.err
}

// sampleSink writes schemas.SampleRecord rows.
type sampleSink = pqSink[*sampleGroup]

// sampleGroup is a row group of schemas.SampleRecord. The keyed columns are derived
// on the encoding goroutine, so their work runs beside the checks of the rows after
// them: the NHS pseudonym is an HMAC of the NHS number, the survey record id is taken
// from the person's HMAC (computed once in the sample pass, since the contact record
// needs it too).
type sampleGroup struct {
	keys                                                               *groupKeys
	persons                                                            []pseudo.Person
	nhs                                                                []uint64
	surveyID, pseudonym                                                strCol
	wave, ics, practice, ageBand, gender, ethnicity, efiBand, district *dictCol
	age                                                                []int32
	efi                                                                []float64
	registered                                                         []int32 // days since 1970-01-01
	hasMobile                                                          boolCol
}

// groupKeys derives the NHS pseudonyms of a sink's row groups; only the sink's
// encoding goroutine uses it.
type groupKeys struct {
	keyed *pseudo.Keyed
}

func newSampleGroup(k *groupKeys) *sampleGroup {
	g := &sampleGroup{
		keys: k,
		wave: newDictCol(1), ics: newDictCol(1), practice: newDictCol(0), district: newDictCol(0),
		ageBand: newDictCol(len(codes.AgeBands)), gender: newDictCol(len(genderCodes)),
		ethnicity: newDictCol(len(codes.EthnicCategories)), efiBand: newDictCol(len(codes.EFIBands)),
	}
	g.reset()
	return g
}

func (g *sampleGroup) reset() {
	g.persons = g.persons[:0]
	g.nhs = g.nhs[:0]
	g.surveyID.reset()
	g.pseudonym.reset()
	for _, c := range g.dicts() {
		c.reset()
	}
	g.age, g.efi, g.registered = g.age[:0], g.efi[:0], g.registered[:0]
	g.hasMobile.reset()
}

func (g *sampleGroup) dicts() []*dictCol {
	return []*dictCol{g.wave, g.ics, g.practice, g.ageBand, g.gender, g.ethnicity, g.efiBand, g.district}
}

// bytes is what the keyed columns will hold (the others are dictionaries of short
// codes and fixed-width values).
func (g *sampleGroup) bytes() int { return len(g.nhs) * (pseudo.SurveyRecordIDLen + 2*sha256.Size) }

func (g *sampleGroup) arrays() []namedArray {
	k := g.keys
	for i, nhs := range g.nhs {
		g.surveyID.data = g.persons[i].AppendSurveyRecordID(g.surveyID.data)
		g.surveyID.offs = append(g.surveyID.offs, int32(len(g.surveyID.data)))
		g.pseudonym.data = k.keyed.AppendNHSPseudonymDigits(g.pseudonym.data, nhs)
		g.pseudonym.offs = append(g.pseudonym.offs, int32(len(g.pseudonym.data)))
	}
	return []namedArray{
		{"survey_record_id", g.surveyID.array()},
		{"wave_id", g.wave.array()},
		{"ics", g.ics.array()},
		{"nhs_pseudonym", g.pseudonym.array()},
		{"gp_practice_code", g.practice.array()},
		{"age", lake.FixedArray(arrow.PrimitiveTypes.Int32, g.age)},
		{"age_band", g.ageBand.array()},
		{"gender", g.gender.array()},
		{"ethnicity", g.ethnicity.array()},
		{"efi_score", lake.FixedArray(arrow.PrimitiveTypes.Float64, g.efi)},
		{"efi_band", g.efiBand.array()},
		{"registration_date", lake.FixedArray(arrow.FixedWidthTypes.Date32, g.registered)},
		{"has_mobile", g.hasMobile.array()},
		{"postcode_district", g.district.array()},
	}
}

func newSampleSink(newTemp tempFiler, keyed *pseudo.Keyed) (*sampleSink, error) {
	// The lake file keeps the lake's zstd and dictionary encoding (good for analysts'
	// scans) except for the two unique columns. Min/max statistics are kept only for
	// the columns whose values vary in order across row groups: the others are unique
	// (prune nothing, cost a comparison a value) or short code lists found in every
	// row group (prune nothing, cost a hash of every row group's codes).
	l := schemas.SampleRecordLayout()
	unique := l.UniqueNames()
	var noStats []string
	for _, c := range l.Columns {
		if !slices.Contains(sampleStats, c.Name) {
			noStats = append(noStats, c.Name)
		}
	}
	return newPQSink(newTemp, l, sinkSpec{
		codec: compress.Codecs.Zstd, dictDefault: true, plain: unique, noStats: noStats,
	}, func() *sampleGroup { return newSampleGroup(&groupKeys{keyed: keyed}) })
}

// sampleStats are the sample file's columns with min/max statistics.
var sampleStats = []string{"age", "efi_score", "registration_date"}

// contactSink writes schemas.Contact rows.
type contactSink = pqSink[*contactGroup]

// contactGroup is a row group of schemas.Contact.
type contactGroup struct {
	surveyID, icsRecordID, nhs, title, first, last, postcode, mobile, accessCode strCol
	addr                                                                         [5]strCol
	ics, gender                                                                  *dictCol
	dob                                                                          []int32 // days since 1970-01-01
}

func newContactGroup() *contactGroup {
	g := &contactGroup{ics: newDictCol(1), gender: newDictCol(len(genderCodes))}
	g.reset()
	return g
}

func (g *contactGroup) strs() []*strCol {
	return []*strCol{&g.surveyID, &g.icsRecordID, &g.nhs, &g.title, &g.first, &g.last, &g.postcode, &g.mobile, &g.accessCode,
		&g.addr[0], &g.addr[1], &g.addr[2], &g.addr[3], &g.addr[4]}
}

func (g *contactGroup) reset() {
	for _, c := range g.strs() {
		c.reset()
	}
	g.ics.reset()
	g.gender.reset()
	g.dob = g.dob[:0]
}

func (g *contactGroup) bytes() int {
	n := 0
	for _, c := range g.strs() {
		n = max(n, len(c.data))
	}
	return n
}

func (g *contactGroup) arrays() []namedArray {
	return []namedArray{
		{"survey_record_id", g.surveyID.array()},
		{"ics_record_id", g.icsRecordID.array()},
		{"ics", g.ics.array()},
		{"nhs_number", g.nhs.array()},
		{"date_of_birth", lake.FixedArray(arrow.FixedWidthTypes.Date32, g.dob)},
		{"gender", g.gender.array()},
		{"title", g.title.array()},
		{"first_name", g.first.array()},
		{"last_name", g.last.array()},
		{"address_1", g.addr[0].array()},
		{"address_2", g.addr[1].array()},
		{"address_3", g.addr[2].array()},
		{"address_4", g.addr[3].array()},
		{"address_5", g.addr[4].array()},
		{"postcode", g.postcode.array()},
		{"mobile", g.mobile.array()},
		{"access_code", g.accessCode.array()},
	}
}

func newContactSink(newTemp tempFiler) (*contactSink, error) {
	// The contact file is read by the mailing stages and deleted after fieldwork; its
	// ids, codes, NHS numbers, names and addresses hardly repeat: Snappy, dictionary
	// encoding only for the ICS and gender codes, and no statistics on the
	// identifying columns (their min and max would only put personal data in the footer).
	return newPQSink(newTemp, schemas.ContactLayout(), sinkSpec{
		codec: compress.Codecs.Snappy, dict: []string{"ics", "gender"},
		// The contacts pass does little besides: its encoding is the pass's critical
		// path, so it may use every CPU.
		encoders: runtime.GOMAXPROCS(0),
		noStats: []string{"survey_record_id", "ics_record_id", "nhs_number", "first_name", "last_name",
			"address_1", "address_2", "address_3", "address_4", "address_5", "postcode", "mobile", "access_code"},
	}, newContactGroup)
}
