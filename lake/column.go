package lake

import (
	"fmt"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"icesurvey/schemas"
)

// column is one column's values of the row group being filled, in the slice of its
// physical type (Date as days since the epoch, Timestamp as microseconds). A nullable
// column holds a zero value in a NULL's place and a validity bit per row: Parquet's
// column writers take a nullable column's values spaced so, as their dense WriteBatch
// builds a message for every definition level it is given. A string column is its
// values copied into one arena, with each one's end offset: a row's strings may be
// views of its producer's reused buffers, and an offset is a sixth of a slice header.
type column struct {
	name     string
	typ      schemas.Type
	nullable bool
	n        int    // rows, of a nullable column
	bits     []byte // validity, of a nullable column
	arena    []byte
	ends     []int32
	i32      []int32
	i64      []int64
	f64      []float64
	bools    []bool
	// A dictionary-encoded column's dictionary, made when the row group is written
	// (see dictionary): a string column's each value's index and the values
	// concatenated with their end offsets (after a leading 0), or an int32 or int64
	// column's; and each row's index (0 for NULL).
	dict     map[string]int32
	dictData []byte
	dictEnds []int32
	dict32   valueDict[int32]
	dict64   valueDict[int64]
	idx      []int32
}

// scratch is an encoding goroutine's memory for the column it writes.
type scratch struct {
	def  []int16
	strs []parquet.ByteArray
}

// The appends below grow a full slice on their own (see grow) and then append in
// place: the compiler then stores only the slice's new length, not its pointer, which
// would cost a write barrier an append while the garbage collector runs.

// valid records that the nullable column's next value is not NULL.
func (c *column) valid() {
	if c.n&7 == 0 {
		grow(&c.bits, 1)
		c.bits = append(c.bits, 0)
	}
	c.bits[c.n>>3] |= 1 << (c.n & 7)
	c.n++
}

// null appends a NULL to the nullable column.
func (c *column) null() {
	if c.n&7 == 0 {
		grow(&c.bits, 1)
		c.bits = append(c.bits, 0)
	}
	c.n++
	switch c.typ {
	case schemas.String:
		grow(&c.ends, 1)
		c.ends = append(c.ends, int32(len(c.arena)))
	case schemas.Int32, schemas.Date:
		c.addInt32(0)
	case schemas.Int64, schemas.Timestamp:
		c.addInt64(0)
	case schemas.Float64:
		c.addFloat64(0)
	case schemas.Bool:
		c.addBool(false)
	}
}

func (c *column) addString(s string) {
	grow(&c.arena, len(s))
	c.arena = append(c.arena, s...)
	grow(&c.ends, 1)
	c.ends = append(c.ends, int32(len(c.arena)))
}

func (c *column) addInt32(v int32) {
	grow(&c.i32, 1)
	c.i32 = append(c.i32, v)
}

func (c *column) addInt64(v int64) {
	grow(&c.i64, 1)
	c.i64 = append(c.i64, v)
}

func (c *column) addFloat64(v float64) {
	grow(&c.f64, 1)
	c.f64 = append(c.f64, v)
}

func (c *column) addBool(v bool) {
	grow(&c.bools, 1)
	c.bools = append(c.bools, v)
}

// grow makes room in *s for n more elements, at least doubling its capacity when it
// grows: append alone grows a long slice by a quarter at a time, copying it each time.
func grow[S ~[]E, E any](s *S, n int) {
	if len(*s)+n > cap(*s) {
		*s = slices.Grow(*s, max(cap(*s), n, 64))
	}
}

// reserve makes room for n more rows.
func (c *column) reserve(n int) {
	if c.nullable {
		c.bits = slices.Grow(c.bits, (c.n+n+7)/8-len(c.bits))
	}
	switch c.typ {
	case schemas.String:
		c.ends = slices.Grow(c.ends, n)
	case schemas.Int32, schemas.Date:
		c.i32 = slices.Grow(c.i32, n)
	case schemas.Int64, schemas.Timestamp:
		c.i64 = slices.Grow(c.i64, n)
	case schemas.Float64:
		c.f64 = slices.Grow(c.f64, n)
	case schemas.Bool:
		c.bools = slices.Grow(c.bools, n)
	}
}

// reset empties the column for the next row group, keeping its memory. Only once the
// row group is closed: until then its pages and statistics may refer to the arena.
func (c *column) reset() {
	c.n, c.bits, c.arena, c.ends = 0, c.bits[:0], c.arena[:0], c.ends[:0]
	c.i32, c.i64, c.f64, c.bools = c.i32[:0], c.i64[:0], c.f64[:0], c.bools[:0]
}

// write writes the column's values, of rows rows, as the row group's chunk of it.
//
// It also ends the chunk's last data page, which the column writer would otherwise
// encode and compress when the row group is closed, one column after another: here it
// is done on the encoding goroutine. The page is the one closing would make, made
// sooner.
func (c *column) write(cw file.ColumnChunkWriter, rows int, sc *scratch) (err error) {
	// WriteBatchSpaced reports a failure by panicking, and this runs on an encoding
	// goroutine.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	var def []int16
	if c.nullable {
		sc.def = levels(sc.def, c.bits, c.n)
		def = sc.def
	}
	// A dictionary-encoded column is written as its dictionary and an index a row
	// (see dictionary); put writes rows [start, end).
	var (
		idx arrow.Array
		put func(start, end int) error
	)
	switch cw := cw.(type) {
	case *file.ByteArrayColumnChunkWriter:
		idx, err = c.stringDictionary(cw, def)
		put = func(start, end int) error {
			// The values as slices of the arena, a chunk at a time: a multiple of the
			// writer's batch, so its page size checks fall where they would in one call.
			for from := start; from < end; from += 4 * int(parquet.DefaultWriteBatchSize) {
				to := min(from+4*int(parquet.DefaultWriteBatchSize), end)
				sc.strs = c.strings(sc.strs[:0], from, to)
				if err := writeRows(cw, sc.strs, def, c.bits, from, to); err != nil {
					return err
				}
			}
			return nil
		}
	case *file.Int32ColumnChunkWriter:
		idx, err = dictionary(cw, &c.dict32, c.i32, &c.idx, def, c.bits)
		put = func(start, end int) error { return writeRows(cw, c.i32[start:end], def, c.bits, start, end) }
	case *file.Int64ColumnChunkWriter:
		idx, err = dictionary(cw, &c.dict64, c.i64, &c.idx, def, c.bits)
		put = func(start, end int) error { return writeRows(cw, c.i64[start:end], def, c.bits, start, end) }
	case *file.Float64ColumnChunkWriter:
		// Written as it is: a float's dictionary would need the writer's view of NaN.
		put = func(start, end int) error { return writeRows(cw, c.f64[start:end], def, c.bits, start, end) }
	case *file.BooleanColumnChunkWriter:
		put = func(start, end int) error { return writeRows(cw, c.bools[start:end], def, c.bits, start, end) }
	default:
		return fmt.Errorf("no writer for %s values in a %T", c.typ, cw)
	}
	if err != nil {
		return err
	}
	if idx != nil {
		defer idx.Release()
		put = func(start, end int) error {
			rows := array.NewSlice(idx, int64(start), int64(end))
			defer rows.Release()
			var d []int16
			if def != nil {
				d = def[start:end]
			}
			return cw.WriteDictIndices(rows, d, nil)
		}
	}
	// The last row on its own: if writing it ends a page, nothing is left buffered; if
	// not, the buffered page holds it and is ended now.
	if err := put(0, rows-1); err != nil {
		return err
	}
	compressed := cw.TotalCompressedBytes()
	if err := put(rows-1, rows); err != nil {
		return err
	}
	if p, ok := cw.(pageEnder); ok && cw.TotalCompressedBytes() == compressed {
		return p.FlushCurrentPage()
	}
	return nil
}

// pageEnder is a column writer that can end its current data page.
type pageEnder interface {
	FlushCurrentPage() error
}

// Every column writer the lake uses can (a writer that could not would only end its
// last page when the row group is closed).
var (
	_ pageEnder = (*file.ByteArrayColumnChunkWriter)(nil)
	_ pageEnder = (*file.Int32ColumnChunkWriter)(nil)
	_ pageEnder = (*file.Int64ColumnChunkWriter)(nil)
	_ pageEnder = (*file.Float64ColumnChunkWriter)(nil)
	_ pageEnder = (*file.BooleanColumnChunkWriter)(nil)
)

// valueWriter is a typed Parquet column chunk writer.
type valueWriter[V any] interface {
	WriteBatch(values []V, defLevels, repLevels []int16) (int64, error)
	WriteBatchSpaced(values []V, defLevels, repLevels []int16, validBits []byte, validBitsOffset int64)
}

// writeRows writes vals, the values of rows [start, end): spaced, with their levels
// from def and validity from bits, when def is not nil.
func writeRows[V any](cw valueWriter[V], vals []V, def []int16, bits []byte, start, end int) error {
	if def == nil {
		_, err := cw.WriteBatch(vals, nil, nil)
		return err
	}
	cw.WriteBatchSpaced(vals, def[start:end], nil, bits, int64(start))
	return nil
}

// levels is the definition levels of validity bitmap bits of n rows, in buf's memory.
func levels(buf []int16, bits []byte, n int) []int16 {
	buf = slices.Grow(buf[:0], n)[:n]
	for i := range buf {
		buf[i] = int16(bits[i>>3] >> (i & 7) & 1)
	}
	return buf
}

// strings appends the string column's values of rows [start, end) to vals.
//
// When the row group's values are all empty strings, they are nil: to the Parquet
// statistics a nil value is no value, so the column chunk has no minimum or maximum,
// as the previous writer's had not (its Arrow array then had no value buffer).
// Otherwise an empty string is not nil, and the minimum.
func (c *column) strings(vals []parquet.ByteArray, start, end int) []parquet.ByteArray {
	if len(c.arena) == 0 {
		return append(vals, make([]parquet.ByteArray, end-start)...)
	}
	from := int32(0)
	if start > 0 {
		from = c.ends[start-1]
	}
	for _, to := range c.ends[start:end] {
		vals = append(vals, c.arena[from:to:to])
		from = to
	}
	return vals
}

// dictSeeder is a Parquet dictionary encoder that can be given its dictionary.
type dictSeeder interface {
	PutDictionary(values arrow.Array) error
}

// seeder is cw's encoder if it is a dictionary encoder that can be given its
// dictionary.
func seeder(cw file.ColumnChunkWriter) dictSeeder {
	enc := cw.CurrentEncoder()
	if s, ok := enc.(dictSeeder); ok && enc.Encoding() == parquet.Encodings.PlainDict {
		return s
	}
	return nil
}

// A dictionary-encoded column is written as its dictionary and an index per value, as
// pqarrow writes an Arrow dictionary array: the column writer would otherwise put
// every value through its own dictionary, at an allocation or two a value (it takes
// values as interfaces). The dictionary holds the values in the order they first
// appear, so it is the one the writer would have built, and the indices are those it
// would have written. The dictionary functions give the encoder the dictionary and the
// page statistics their values, and return the indices (NULLs as NULL); or nil, having
// done nothing, when the column is not dictionary-encoded or its dictionary would
// outgrow the dictionary page: the writer then falls back to plain encoding, which
// only writing the values themselves reproduces.

// valueDict is the dictionary of an int32 or int64 column: each value's index, and the
// values in index order.
type valueDict[V int32 | int64] struct {
	index  map[V]int32
	values []V
}

// valueStats is the page statistics of an int32 or int64 column.
type valueStats[V int32 | int64] interface {
	Update(values []V, numNull int64)
	IncNumValues(n int64)
}

// dictionary prepares an int32 or int64 column of values vals (and levels def and
// validity bits, if nullable) to be written as its dictionary d and indices, kept in
// idx.
func dictionary[V int32 | int64](cw file.ColumnChunkWriter, d *valueDict[V], vals []V, idx *[]int32, def []int16, bits []byte) (arrow.Array, error) {
	seed := seeder(cw)
	if seed == nil {
		return nil, nil
	}
	if d.index == nil {
		d.index = make(map[V]int32)
	}
	clear(d.index)
	d.values, *idx = d.values[:0], slices.Grow((*idx)[:0], len(vals))
	// The writer's measure of its dictionary, against the limit it checks it by.
	limit := int(cw.Properties().DictionaryPageSizeLimit())
	size := int(unsafe.Sizeof(V(0)))
	nulls := 0
	for i, v := range vals {
		if def != nil && def[i] == 0 {
			*idx = append(*idx, 0)
			nulls++
			continue
		}
		k, ok := d.index[v]
		if !ok {
			if (len(d.values)+1)*size >= limit {
				return nil, nil
			}
			k = int32(len(d.values))
			d.index[v] = k
			d.values = append(d.values, v)
		}
		*idx = append(*idx, k)
	}
	dict := FixedArray(arrow.GetDataType[V](), d.values)
	defer dict.Release()
	if err := seed.PutDictionary(dict); err != nil {
		return nil, err
	}
	if st, ok := cw.PageStatistics().(valueStats[V]); ok {
		// Min and max are the dictionary's. Update counts its entries as values, so
		// the count is made up to the column's.
		st.Update(d.values, int64(nulls))
		st.IncNumValues(int64(len(vals) - nulls - len(d.values)))
	}
	return indexArray(*idx, def, bits, nulls), nil
}

// stringDictionary is dictionary for a string column.
func (c *column) stringDictionary(cw *file.ByteArrayColumnChunkWriter, def []int16) (arrow.Array, error) {
	seed := seeder(cw)
	if seed == nil {
		return nil, nil
	}
	if c.dict == nil {
		c.dict = make(map[string]int32)
	}
	clear(c.dict)
	c.dictData, c.dictEnds, c.idx = c.dictData[:0], append(c.dictEnds[:0], 0), slices.Grow(c.idx[:0], len(c.ends))
	limit := int(cw.Properties().DictionaryPageSizeLimit())
	size, nulls, from := 0, 0, int32(0)
	for i, to := range c.ends {
		v := c.arena[from:to]
		from = to
		if def != nil && def[i] == 0 {
			c.idx = append(c.idx, 0)
			nulls++
			continue
		}
		k, ok := c.dict[string(v)]
		if !ok {
			if size += len(v) + 4; size >= limit {
				return nil, nil
			}
			k = int32(len(c.dict))
			c.dict[string(v)] = k
			c.dictData = append(c.dictData, v...)
			c.dictEnds = append(c.dictEnds, int32(len(c.dictData)))
		}
		c.idx = append(c.idx, k)
	}
	dict := StringArray(c.dictData, c.dictEnds)
	defer dict.Release()
	if err := seed.PutDictionary(dict); err != nil {
		return nil, err
	}
	if st, ok := cw.PageStatistics().(*metadata.ByteArrayStatistics); ok {
		// As for dictionary. (Not UpdateFromArrow, as pqarrow does: it leaves out empty
		// strings.) An empty string is nil when every value is one (see strings).
		entries := make([]parquet.ByteArray, len(c.dictEnds)-1)
		if len(c.dictData) > 0 {
			for k := range entries {
				entries[k] = c.dictData[c.dictEnds[k]:c.dictEnds[k+1]:c.dictEnds[k+1]]
			}
		}
		st.Update(entries, int64(nulls))
		st.IncNumValues(int64(len(c.ends) - nulls - len(entries)))
	}
	return indexArray(c.idx, def, c.bits, nulls), nil
}

// indexArray is an Arrow int32 array of a column's dictionary indices idx, NULL where
// the validity bits say (if def, the column's levels, is not nil), sharing their memory.
func indexArray(idx []int32, def []int16, bits []byte, nulls int) arrow.Array {
	var bitmap *memory.Buffer
	if def != nil {
		bitmap = memory.NewBufferBytes(bits)
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, len(idx), []*memory.Buffer{bitmap,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(idx))}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// FixedArray wraps vals, the values of fixed-width Arrow type t (int32 days for a
// Date32, say), as an Arrow array of t with no NULLs, sharing their memory.
func FixedArray[V arrow.FixedWidthType](t arrow.DataType, vals []V) arrow.Array {
	d := array.NewData(t, len(vals), []*memory.Buffer{nil, memory.NewBufferBytes(arrow.GetBytes(vals))}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// StringArray wraps the values data[offsets[i]:offsets[i+1]] (offsets[0] is 0) as an
// Arrow string array with no NULLs, sharing their memory.
func StringArray(data []byte, offsets []int32) arrow.Array {
	d := array.NewData(arrow.BinaryTypes.String, len(offsets)-1, []*memory.Buffer{nil,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(data)}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
