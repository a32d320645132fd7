package publication

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/xuri/excelize/v2"
)

// sheetRows writes a worksheet's rows as SpreadsheetML, byte for byte as excelize's
// StreamWriter.SetRow writes them for the values the release's sheets hold (text and
// numbers, each row from column A), without SetRow's cost per cell: a number is its
// digits, a text its characters, escaped only when they need it. Where a value needs
// more (XML escaping, a "_xHHHH_" sequence, an over-long text) it takes the same steps
// SetRow takes. TestSheetRowsMatchExcelize holds the two to the same bytes.
type sheetRows struct {
	// w takes the rows in pieces of about sheetPiece bytes; nil keeps them in buf.
	w   io.Writer
	buf []byte
	row int
	// num is scratch for formatting a number.
	num []byte
}

const sheetPiece = 64 << 10

// endRow ends the current row and passes the rows so far on to w once they are a
// piece's worth.
func (s *sheetRows) endRow() {
	s.buf = append(s.buf, "</row>"...)
	if s.w != nil && len(s.buf) >= sheetPiece {
		s.flush()
	}
}

// flush passes the rows held on to w, which keeps its own errors (checksummed does).
func (s *sheetRows) flush() {
	if s.w != nil && len(s.buf) > 0 {
		_, _ = s.w.Write(s.buf)
		s.buf = s.buf[:0]
	}
}

// cells writes one row of cells: a number as a number, text as inline text, an
// empty cell not at all.
func (s *sheetRows) cells(cs []cell) error {
	if err := s.startRow(); err != nil {
		return err
	}
	for i, c := range cs {
		switch {
		case c.num:
			if err := s.number(i+1, c.number()); err != nil {
				return err
			}
		case c.s == "":
		default:
			if err := s.text(i+1, c.s); err != nil {
				return err
			}
		}
	}
	s.endRow()
	return nil
}

// strings writes one row of text cells, an empty string as an empty text cell.
func (s *sheetRows) strings(ss ...string) error {
	if err := s.startRow(); err != nil {
		return err
	}
	for i, x := range ss {
		if err := s.text(i+1, x); err != nil {
			return err
		}
	}
	s.endRow()
	return nil
}

// blank leaves a row empty.
func (s *sheetRows) blank() { s.row++ }

func (s *sheetRows) startRow() error {
	if s.row+1 > excelize.TotalRows {
		return excelize.ErrMaxRows
	}
	s.row++
	s.buf = append(s.buf, `<row r="`...)
	s.buf = strconv.AppendInt(s.buf, int64(s.row), 10)
	s.buf = append(s.buf, `">`...)
	return nil
}

// ref starts cell col of the current row: `<c r="B7"`.
func (s *sheetRows) ref(col int) error {
	name, err := excelize.ColumnNumberToName(col)
	if err != nil {
		return err
	}
	s.buf = append(s.buf, `<c r="`...)
	s.buf = append(s.buf, name...)
	s.buf = strconv.AppendInt(s.buf, int64(s.row), 10)
	s.buf = append(s.buf, '"')
	return nil
}

// number writes a number cell: its shortest digits, cut to Excel's 15 significant
// digits (as excelize's setCellFloat); NaN and ±Inf as text, as excelize writes them.
func (s *sheetRows) number(col int, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return s.text(col, fmt.Sprint(v))
	}
	if err := s.ref(col); err != nil {
		return err
	}
	s.buf = append(s.buf, "><v>"...)
	s.num = strconv.AppendFloat(s.num[:0], v, 'f', -1, 64)
	if len(s.num) > 15 && math.Abs(v) != math.MaxFloat64 {
		s.buf = append(s.buf, cutSignificant(string(s.num))...)
	} else {
		s.buf = append(s.buf, s.num...) // 15 characters hold at most 15 digits
	}
	s.buf = append(s.buf, "</v></c>"...)
	return nil
}

// cutSignificant cuts str, a number formatted 'f' with the shortest digits, to 15
// significant digits as excelize's formatCellFloat does: decimals past the 15th
// digit dropped, integer digits past it zeroed.
func cutSignificant(str string) string {
	const maxPrec = 15
	decimal := strings.IndexByte(str, '.')
	significant := 0
	for idx := range str {
		if str[idx] < '0' || str[idx] > '9' || significant == 0 && str[idx] == '0' {
			continue
		}
		significant++
		if significant <= maxPrec {
			continue
		}
		if decimal >= 0 && idx > decimal {
			return strings.TrimSuffix(str[:idx], ".")
		}
		if decimal < 0 {
			decimal = len(str)
		}
		truncated := []byte(str[:decimal])
		for ; idx < len(truncated); idx++ {
			truncated[idx] = '0'
		}
		return string(truncated)
	}
	return str
}

// text writes an inline text cell.
func (s *sheetRows) text(col int, v string) error {
	if err := s.ref(col); err != nil {
		return err
	}
	v, preserve := cellText(v)
	s.buf = append(s.buf, ` t="inlineStr"><is><t`...)
	if preserve {
		s.buf = append(s.buf, ` xml:space="preserve"`...)
	}
	s.buf = append(s.buf, '>')
	s.buf = append(s.buf, v...)
	s.buf = append(s.buf, "</t></is></c>"...)
	return nil
}

// cellText is a text as an inline text cell holds it (excelize's trimCellValue):
// cut to excelize.TotalCellChars UTF-16 units, XML-escaped (line feeds kept as they
// are), "_xHHHH_" sequences escaped; preserve says it starts or ends with white space.
func cellText(v string) (out string, preserve bool) {
	// A text of at most TotalCellChars bytes has at most as many UTF-16 units.
	if len(v) > excelize.TotalCellChars {
		n := 0
		for i, r := range v {
			if n += utf16.RuneLen(r); n > excelize.TotalCellChars {
				v = v[:i]
				break
			}
		}
	}
	if v != "" {
		preserve = isSheetSpace(v[0]) || isSheetSpace(v[len(v)-1])
		if needsXMLEscape(v) {
			var b strings.Builder
			_ = xml.EscapeText(&b, []byte(v))
			v = strings.ReplaceAll(b.String(), "&#xA;", "\n")
		}
	}
	return escapeBstr(v), preserve
}

func isSheetSpace(c byte) bool { return c == '\t' || c == '\n' || c == '\r' || c == ' ' }

// needsXMLEscape reports whether xml.EscapeText would change v: anything but
// printable ASCII, and the five characters it escapes.
func needsXMLEscape(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c < 0x20 || c >= 0x7f:
			return true
		case c == '"' || c == '\'' || c == '&' || c == '<' || c == '>':
			return true
		}
	}
	return false
}

// escapeBstr escapes, as excelize's bstrMarshal does, the "_xHHHH_" sequences of v,
// which a sheet reader would take for an escaped character: "_x005F_" stands for the
// underscore, so "_x0041_" is written "_x005F_x0041_". Like bstrMarshal, a sequence
// that names no character (a surrogate) is dropped, and "_x005F_" before another
// sequence becomes "_x005F_x005F_x005F_".
func escapeBstr(v string) string {
	if !strings.Contains(v, "_x") {
		return v
	}
	var b strings.Builder
	cursor := 0
	for i := 0; i+7 <= len(v); {
		if !isBstr(v[i:]) {
			i++
			continue
		}
		b.WriteString(v[cursor:i])
		sub := v[i : i+7]
		cursor = i + 7
		switch {
		case sub == "_x005F_":
			if cursor+6 <= len(v) && isBstr("_"+v[cursor:cursor+6]) && validRuneHex(v[cursor+1:cursor+5]) {
				b.WriteString(sub + "x005F" + sub)
			} else {
				b.WriteString(sub + "x005F_")
			}
		case validRuneHex(sub[2:6]):
			b.WriteString("_x005F" + sub)
		}
		i = cursor
	}
	b.WriteString(v[cursor:])
	return b.String()
}

// isBstr reports whether v starts with "_x", four hex digits and "_".
func isBstr(v string) bool {
	if len(v) < 7 || v[0] != '_' || v[1] != 'x' || v[6] != '_' {
		return false
	}
	for _, c := range []byte(v[2:6]) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// validRuneHex reports whether four hex digits name a character (strconv.Unquote
// accepts them as a \u escape): not a surrogate.
func validRuneHex(h string) bool {
	_, err := strconv.Unquote(`"\u` + h + `"`)
	return err == nil
}
