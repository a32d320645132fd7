package intake

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"icesurvey/lake"
)

// The columns of a row group are gathered in plain Go slices and only wrapped as Arrow
// arrays (without copying) when the row group is handed to the Parquet encoder: an
// append is a slice append, not a trip through an Arrow builder. A row group's columns
// are reused once the encoder is done with them (see pqSink), so steady-state
// intake allocates almost nothing per row.

// rowsMax is the most rows a row group holds (see pqSink.endRow).
const rowsMax = lake.DefaultRowGroup

// reserve returns s with room for n elements in all.
func reserve[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s
	}
	return slices.Grow(s, n-len(s))
}

// strCol is a string column: the values concatenated, with their end offsets.
type strCol struct {
	offs []int32 // offs[0] = 0, offs[i+1] = end of value i
	data []byte
}

func (c *strCol) reset() {
	c.offs = append(c.offs[:0], 0)
	c.data = c.data[:0]
}

func (c *strCol) add(b []byte) {
	c.data = append(c.data, b...)
	c.offs = append(c.offs, int32(len(c.data)))
}

func (c *strCol) addString(s string) {
	c.data = append(c.data, s...)
	c.offs = append(c.offs, int32(len(c.data)))
}

func (c *strCol) len() int { return len(c.offs) - 1 }

func (c *strCol) value(i int) []byte { return c.data[c.offs[i]:c.offs[i+1]] }

// array wraps the column as an Arrow string array sharing its memory.
func (c *strCol) array() arrow.Array { return lake.StringArray(c.data, c.offs) }

// dictCol is a low-cardinality string column kept dictionary-encoded as it is built:
// the distinct values of the row group in first-seen order, and an index per row. The
// Parquet writer takes such a column's dictionary and indices as they are, where a
// plain string column would have every value hashed into a dictionary again.
type dictCol struct {
	idx    []int32
	dict   strCol
	byText map[string]int32 // value → dictionary index, for add
	recent *keyCache[int32] // in front of byText for short values (made by add)
	byCode []int32          // code → dictionary index + 1 (0: not yet seen), for addCode
}

func newDictCol(codes int) *dictCol {
	c := &dictCol{byText: map[string]int32{}, byCode: make([]int32, codes)}
	c.reset()
	return c
}

func (c *dictCol) reset() {
	c.idx = c.idx[:0]
	c.dict.reset()
	clear(c.byText)
	if c.recent != nil {
		c.recent.reset()
	}
	clear(c.byCode)
}

// add appends a value looked up by its text.
func (c *dictCol) add(b []byte) {
	k, short := shortKey(b)
	if short {
		if c.recent == nil {
			c.recent = new(keyCache[int32])
		}
		if i, ok := c.recent.get(k); ok {
			c.idx = append(c.idx, i)
			return
		}
	}
	i, ok := c.byText[view(b)]
	if !ok {
		i = int32(c.dict.len())
		c.dict.add(b)
		c.byText[string(b)] = i
	}
	if short {
		c.recent.put(k, i)
	}
	c.idx = append(c.idx, i)
}

// shortKey packs a value of up to 7 bytes and its length into one integer, never 0.
func shortKey(b []byte) (uint64, bool) {
	n := len(b)
	k := 1<<63 | uint64(n)<<56
	switch {
	case n >= 4 && n <= 7:
		// Two overlapping 4-byte loads: the bytes both hold land on the same places.
		return k | uint64(le.Uint32(b)) | uint64(le.Uint32(b[n-4:]))<<(8*(n-4)), true
	case n > 0 && n < 4:
		return k | uint64(b[0]) | uint64(b[n/2])<<(8*(n/2)) | uint64(b[n-1])<<(8*(n-1)), true // likewise
	case n == 0:
		return k, true
	}
	return 0, false
}

// keyCache is a direct-mapped cache of a map's values by shortKey. The values looked
// up on every row (a GP practice code, a postcode district) are short and few, a few
// dozen or hundred in a file, and a map lookup costs several times a cache hit. Two
// keys that share a slot only miss, to the map, so the cache can never make a lookup
// slower than the map's by more than a multiplication.
type keyCache[V any] struct {
	keys [keyCacheSize]uint64 // 0: empty
	vals [keyCacheSize]V
}

const (
	keyCacheBits = 10
	keyCacheSize = 1 << keyCacheBits
)

// keySlot is a Fibonacci hash of k.
func keySlot(k uint64) uint64 { return (k * 0x9E3779B97F4A7C15) >> (64 - keyCacheBits) }

func (c *keyCache[V]) get(k uint64) (V, bool) {
	i := keySlot(k)
	if c.keys[i] == k {
		return c.vals[i], true
	}
	var none V
	return none, false
}

func (c *keyCache[V]) put(k uint64, v V) {
	i := keySlot(k)
	c.keys[i], c.vals[i] = k, v
}

func (c *keyCache[V]) reset() { clear(c.keys[:]) }

// addCode appends value s, which the caller numbers code (0 <= code < the codes given
// to newDictCol; one code, one value). A code outside that range falls back to add.
func (c *dictCol) addCode(code int, s string) {
	if code < 0 || code >= len(c.byCode) {
		c.add([]byte(s)) // a value outside the code list: looked up by its text instead
		return
	}
	i := c.byCode[code] - 1
	if i < 0 {
		i = int32(c.dict.len())
		c.dict.addString(s)
		c.byCode[code] = i + 1
	}
	c.idx = append(c.idx, i)
}

var dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

// array wraps the column as an Arrow dictionary array sharing its memory.
func (c *dictCol) array() arrow.Array {
	idx := lake.FixedArray(arrow.PrimitiveTypes.Int32, c.idx)
	defer idx.Release()
	dict := c.dict.array()
	defer dict.Release()
	return array.NewDictionaryArray(dictType, idx, dict)
}

// boolCol is a boolean column as a bitmap.
type boolCol struct {
	bits []byte
	n    int
}

func (c *boolCol) reset() { c.bits, c.n = c.bits[:0], 0 }

func (c *boolCol) add(v bool) {
	if c.n%8 == 0 {
		c.bits = append(c.bits, 0)
	}
	if v {
		bitutil.SetBit(c.bits, c.n)
	}
	c.n++
}

func (c *boolCol) array() arrow.Array {
	d := array.NewData(arrow.FixedWidthTypes.Boolean, c.n, []*memory.Buffer{nil, memory.NewBufferBytes(c.bits)}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// namedArray is one column of a finished row group.
type namedArray struct {
	name string
	arr  arrow.Array
}

// rowGroup is the columns of one row group of a pqSink, reused once written.
type rowGroup interface {
	reset()
	// arrays wraps the columns as Arrow arrays, by layout column name.
	arrays() []namedArray
	// bytes is about the memory the variable-width columns hold.
	bytes() int
}

// orderArrays matches a row group's arrays against a layout's columns by
// name and type (a dictionary array stands for a string column), and puts them in
// the layout's order.
func orderArrays(schema *arrow.Schema, named []namedArray) ([]arrow.Array, error) {
	if len(named) != schema.NumFields() {
		return nil, fmt.Errorf("intake: %d columns for a layout of %d", len(named), schema.NumFields())
	}
	out := make([]arrow.Array, schema.NumFields())
	for _, na := range named {
		idx := schema.FieldIndices(na.name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("intake: layout has no column %s", na.name)
		}
		want, got := schema.Field(idx[0]).Type, na.arr.DataType()
		if dt, ok := got.(*arrow.DictionaryType); ok {
			got = dt.ValueType
		}
		if !arrow.TypeEqual(want, got) {
			return nil, fmt.Errorf("intake: column %s is %s, not %s", na.name, got, want)
		}
		if out[idx[0]] != nil {
			return nil, fmt.Errorf("intake: column %s given twice", na.name)
		}
		out[idx[0]] = na.arr
	}
	return out, nil
}
