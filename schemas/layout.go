// Package schemas is the single source of truth for every file and table the pipeline
// reads or writes. Each layout is declared once, as a Go struct with `col` tags; its
// Arrow schema (for Parquet in the lake), its DuckDB DDL (for the warehouse) and its
// header list (for CSV files) are all derived from that one declaration.
//
// Tag syntax: `col:"NAME[,option...]"` with options
//
//	required   the column must be present in an input file and non-empty
//	date       a time.Time stored as a calendar date (DATE), not a timestamp
//	key        part of the table's primary key
//	unique     values (nearly) never repeat: no Parquet dictionary or statistics
//	doc=TEXT   documentation (no commas)
//	max=N      an input file's value may be at most N characters long
//	extra      on a []string field: it holds the values of the columns a caller adds
//	           with Extend (names known only at run time, such as one column per
//	           question of the questionnaires); it is not a column itself
//
// A pointer field is nullable; every other field is NOT NULL. Extension columns are
// nullable String or Int32 columns whose values are held as text (an Int32 one as its
// decimal digits); an empty string is NULL.
package schemas

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Type is the logical type of a column.
type Type int

// Column types. Each maps to one Arrow type and one DuckDB type.
const (
	String Type = iota
	Int32
	Int64
	Float64
	Bool
	Date
	Timestamp
)

func (t Type) String() string {
	return [...]string{"string", "int32", "int64", "float64", "bool", "date", "timestamp"}[t]
}

// DuckDB returns the DuckDB column type.
func (t Type) DuckDB() string {
	return [...]string{"VARCHAR", "INTEGER", "BIGINT", "DOUBLE", "BOOLEAN", "DATE", "TIMESTAMPTZ"}[t]
}

// Arrow returns the Arrow data type.
func (t Type) Arrow() arrow.DataType {
	switch t {
	case String:
		return arrow.BinaryTypes.String
	case Int32:
		return arrow.PrimitiveTypes.Int32
	case Int64:
		return arrow.PrimitiveTypes.Int64
	case Float64:
		return arrow.PrimitiveTypes.Float64
	case Bool:
		return arrow.FixedWidthTypes.Boolean
	case Date:
		return arrow.FixedWidthTypes.Date32
	case Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	}
	panic(fmt.Sprintf("schemas: unknown type %d", t))
}

// Column is one column of a layout.
type Column struct {
	Name     string
	Type     Type
	Nullable bool
	Required bool
	Key      bool
	// Unique: values (nearly) never repeat — ids, pseudonyms, free text — so Parquet
	// stores them without a dictionary or min/max statistics, which would cost a hash
	// and a comparison per value and save nothing.
	Unique bool
	Doc    string
	// MaxLen is the most characters an input file's value may have (0: no limit).
	MaxLen int
	field  []int // index path into the Go struct
	extra  int   // for an extension column, its position in the extra field; else -1
}

// Layout is a declared file or table layout bound to its Go type.
type Layout struct {
	Name    string
	Columns []Column
	goType  reflect.Type
	byName  map[string]int
	// extraField is the index path of the `extra` []string field, nil when none.
	extraField []int
	extras     int // extension columns
}

var (
	layoutsMu sync.Mutex
	layouts   = map[reflect.Type]*Layout{}
)

// LayoutOf derives (once, then caches) the layout of struct type T.
func LayoutOf[T any](name string) *Layout {
	var zero T
	rt := reflect.TypeOf(zero)
	layoutsMu.Lock()
	defer layoutsMu.Unlock()
	if l, ok := layouts[rt]; ok {
		return l
	}
	l, err := deriveLayout(name, rt)
	if err != nil {
		panic(err) // a malformed declaration is a programming error caught by every test
	}
	layouts[rt] = l
	return l
}

var (
	timeType = reflect.TypeOf(time.Time{})
)

func deriveLayout(name string, rt reflect.Type) (*Layout, error) {
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("schemas: layout %s: %s is not a struct", name, rt)
	}
	l := &Layout{Name: name, goType: rt, byName: map[string]int{}}
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag, ok := f.Tag.Lookup("col")
		if !ok || tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		if slices.Contains(parts[1:], "extra") {
			if f.Type != reflect.TypeOf([]string(nil)) || len(parts) != 2 || l.extraField != nil {
				return nil, fmt.Errorf("schemas: layout %s field %s: extra must be the only option, on the one []string field", name, f.Name)
			}
			l.extraField = f.Index
			continue
		}
		c := Column{Name: parts[0], field: f.Index, extra: -1}
		isDate := false
		for _, opt := range parts[1:] {
			switch {
			case opt == "required":
				c.Required = true
			case opt == "date":
				isDate = true
			case opt == "key":
				c.Key = true
			case opt == "unique":
				c.Unique = true
			case strings.HasPrefix(opt, "doc="):
				c.Doc = strings.TrimPrefix(opt, "doc=")
			case strings.HasPrefix(opt, "max="):
				n, err := strconv.Atoi(strings.TrimPrefix(opt, "max="))
				if err != nil || n <= 0 {
					return nil, fmt.Errorf("schemas: layout %s field %s: %q is not a positive length", name, f.Name, opt)
				}
				c.MaxLen = n
			default:
				return nil, fmt.Errorf("schemas: layout %s field %s: unknown tag option %q", name, f.Name, opt)
			}
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			c.Nullable = true
			ft = ft.Elem()
		}
		switch {
		case ft == timeType && isDate:
			c.Type = Date
		case ft == timeType:
			c.Type = Timestamp
		case ft.Kind() == reflect.String:
			c.Type = String
		case ft.Kind() == reflect.Int32:
			c.Type = Int32
		case ft.Kind() == reflect.Int64, ft.Kind() == reflect.Int:
			c.Type = Int64
		case ft.Kind() == reflect.Float64:
			c.Type = Float64
		case ft.Kind() == reflect.Bool:
			c.Type = Bool
		default:
			return nil, fmt.Errorf("schemas: layout %s field %s: unsupported Go type %s", name, f.Name, f.Type)
		}
		if _, dup := l.byName[c.Name]; dup {
			return nil, fmt.Errorf("schemas: layout %s: column %s declared twice", name, c.Name)
		}
		l.byName[c.Name] = len(l.Columns)
		l.Columns = append(l.Columns, c)
	}
	if len(l.Columns) == 0 {
		return nil, fmt.Errorf("schemas: layout %s: no columns", name)
	}
	return l, nil
}

// Column returns the named column.
func (l *Layout) Column(name string) (Column, bool) {
	i, ok := l.byName[name]
	if !ok {
		return Column{}, false
	}
	return l.Columns[i], true
}

// Names lists the column names in declaration order (a CSV header row).
func (l *Layout) Names() []string {
	out := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		out[i] = c.Name
	}
	return out
}

// RequiredNames lists the columns an input file must carry.
func (l *Layout) RequiredNames() []string {
	return l.namesWhere(func(c Column) bool { return c.Required })
}

// UniqueNames lists the columns declared unique.
func (l *Layout) UniqueNames() []string { return l.namesWhere(func(c Column) bool { return c.Unique }) }

// KeyNames lists the key columns.
func (l *Layout) KeyNames() []string { return l.namesWhere(func(c Column) bool { return c.Key }) }

// namesWhere lists the names of the columns for which keep is true, in declaration order.
func (l *Layout) namesWhere(keep func(Column) bool) []string {
	var out []string
	for _, c := range l.Columns {
		if keep(c) {
			out = append(out, c.Name)
		}
	}
	return out
}

// ArrowSchema is the layout's Arrow schema, used for every Parquet file of it.
func (l *Layout) ArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(l.Columns))
	for i, c := range l.Columns {
		md := arrow.Metadata{}
		if c.Doc != "" {
			md = arrow.NewMetadata([]string{"doc"}, []string{c.Doc})
		}
		fields[i] = arrow.Field{Name: c.Name, Type: c.Type.Arrow(), Nullable: c.Nullable, Metadata: md}
	}
	md := arrow.NewMetadata([]string{"layout"}, []string{l.Name})
	return arrow.NewSchema(fields, &md)
}

// DDL is the DuckDB CREATE TABLE statement for the layout, with its key columns as
// the primary key.
func (l *Layout) DDL(table string) string { return l.ddl(table, true) }

// UnindexedDDL is DDL without the primary key: for a table whose key is kept unique by
// how it is loaded rather than by an index, which DuckDB would maintain on every insert.
func (l *Layout) UnindexedDDL(table string) string { return l.ddl(table, false) }

func (l *Layout) ddl(table string, primaryKey bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE IF NOT EXISTS %s (\n", table)
	var keys []string
	for i, c := range l.Columns {
		fmt.Fprintf(&b, "  %s %s", QuoteIdent(c.Name), c.Type.DuckDB())
		if !c.Nullable {
			b.WriteString(" NOT NULL")
		}
		if c.Key && primaryKey {
			keys = append(keys, QuoteIdent(c.Name))
		}
		if i < len(l.Columns)-1 || len(keys) > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	if len(keys) > 0 {
		// The trailing comma above is only wanted when a key clause follows.
		fmt.Fprintf(&b, "  PRIMARY KEY (%s)\n", strings.Join(keys, ", "))
	}
	b.WriteString(")")
	s := b.String()
	return strings.Replace(s, ",\n)", "\n)", 1)
}

// SelectList is the comma-separated quoted column list, in declaration order.
func (l *Layout) SelectList() string {
	q := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		q[i] = QuoteIdent(c.Name)
	}
	return strings.Join(q, ", ")
}

// QuoteIdent quotes a SQL identifier for DuckDB.
func QuoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ExtraColumn declares an extension column: a name and a type, String or Int32.
type ExtraColumn struct {
	Name string
	Type Type
}

// Extend returns a layout named name with the columns of l followed by one nullable
// column per entry of extra, held by l's `extra` field in that order. A name that
// clashes with a column, even in another case (DuckDB identifiers are case-insensitive),
// is an error, as is a type other than String or Int32.
func (l *Layout) Extend(name string, extra []ExtraColumn, doc string) (*Layout, error) {
	if l.extraField == nil {
		return nil, fmt.Errorf("schemas: layout %s has no extra field to extend", l.Name)
	}
	out := &Layout{Name: name, goType: l.goType, byName: map[string]int{}, extraField: l.extraField,
		Columns: append([]Column(nil), l.Columns...), extras: l.extras}
	folded := map[string]bool{}
	for i, c := range out.Columns {
		out.byName[c.Name] = i
		folded[strings.ToLower(c.Name)] = true
	}
	for _, x := range extra {
		if x.Name == "" || folded[strings.ToLower(x.Name)] {
			return nil, fmt.Errorf("schemas: layout %s: extension column %q is empty or clashes with another column", name, x.Name)
		}
		if x.Type != String && x.Type != Int32 {
			return nil, fmt.Errorf("schemas: layout %s: extension column %s is %s, want string or int32", name, x.Name, x.Type)
		}
		folded[strings.ToLower(x.Name)] = true
		out.byName[x.Name] = len(out.Columns)
		out.Columns = append(out.Columns, Column{Name: x.Name, Type: x.Type, Nullable: true, Doc: doc, extra: out.extras})
		out.extras++
	}
	return out, nil
}

// FieldIndex is the index path of column i's field in the Go struct; nil for an
// extension column.
func (l *Layout) FieldIndex(i int) []int { return l.Columns[i].field }

// ExtraIndex is column i's position in the extra field, or -1 for a declared column.
func (l *Layout) ExtraIndex(i int) int { return l.Columns[i].extra }

// ExtraValues returns the extra field of row v (a T or *T): the extension columns'
// values as text, "" for NULL. It may be shorter than Extras (the rest are NULL).
func (l *Layout) ExtraValues(v reflect.Value) []string {
	if l.extraField == nil {
		return nil
	}
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	return v.FieldByIndex(l.extraField).Interface().([]string)
}

// Extras is the number of extension columns (the length of a full extra field).
func (l *Layout) Extras() int { return l.extras }

// ExtensionColumns are the columns Extend added, in extra-field order (they follow the
// declared columns).
func (l *Layout) ExtensionColumns() []Column { return l.Columns[len(l.Columns)-l.extras:] }

// FieldValue returns the value of column i of row v (a T or *T), dereferencing pointers;
// ok is false for a nil pointer or an empty extension value (a NULL). An extension
// column's value is its text, whatever its type.
func (l *Layout) FieldValue(v reflect.Value, i int) (val reflect.Value, ok bool) {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if j := l.Columns[i].extra; j >= 0 {
		xs := v.FieldByIndex(l.extraField)
		if j >= xs.Len() || xs.Index(j).Len() == 0 {
			return reflect.Value{}, false
		}
		return xs.Index(j), true
	}
	f := v.FieldByIndex(l.Columns[i].field)
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return reflect.Value{}, false
		}
		f = f.Elem()
	}
	return f, true
}

// SetField sets column i of the struct that ptr (a *T) points at.
func (l *Layout) SetField(ptr reflect.Value, i int, val reflect.Value) {
	if j := l.Columns[i].extra; j >= 0 {
		xs := ptr.Elem().FieldByIndex(l.extraField)
		if xs.Len() < l.extras {
			grown := reflect.MakeSlice(xs.Type(), l.extras, l.extras)
			reflect.Copy(grown, xs)
			xs.Set(grown)
		}
		switch val.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			xs.Index(j).SetString(strconv.FormatInt(val.Int(), 10))
		default:
			xs.Index(j).SetString(val.String())
		}
		return
	}
	f := ptr.Elem().FieldByIndex(l.Columns[i].field)
	if f.Kind() == reflect.Pointer {
		p := reflect.New(f.Type().Elem())
		p.Elem().Set(val.Convert(f.Type().Elem()))
		f.Set(p)
		return
	}
	f.Set(val.Convert(f.Type()))
}

// GoType is the Go struct type the layout was declared by.
func (l *Layout) GoType() reflect.Type { return l.goType }
