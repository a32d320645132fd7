package publication

import (
	"archive/zip"
	"bytes"
	"io"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// TestSheetRowsMatchExcelize holds sheetRows to the bytes excelize's StreamWriter.SetRow
// writes for the same rows: the workbook's sheets are written by the one and must read
// as if written by the other (and stay byte-identical release after release).
func TestSheetRowsMatchExcelize(t *testing.T) {
	long := strings.Repeat("a", excelize.TotalCellChars-1) + "é😀tail"
	texts := []string{
		"", "P_OVERALL", "ICS", " leading", "trailing ", "\ttab", "line\nfeed", "cr\r", "a & b < c > d \"q\" 'a'",
		"ünïcödé", "emoji 😀", "bad \xff utf-8", "ctrl \x01 \x1f", "del \x7f",
		"_x0041_", "a_x0041_b", "_x005F_", "_x005F_x0041_", "_x005F_x00", "_xD800_", "_x005F_xD800_", "_xZZZZ_", "__x0041__",
		"_x0041_x0042_", "_X0041_", long, strings.Repeat("€", 20000),
	}
	numbers := []float64{0, math.Copysign(0, -1), 1, -1, 12.3, 99.95, 100, 0.1 + 0.2, 1e20, 123456789012345678, 1.23456789012345678e-7,
		-98765.4321012345678, math.MaxFloat64, -math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1)}

	// The same rows both ways: text rows (strings), mixed rows of cells (an empty cell
	// skipped), a blank row between.
	var rows [][]any
	var ours sheetRows
	for i := 0; i < len(texts); i += 3 {
		ss := texts[i:min(i+3, len(texts))]
		var vs []any
		for _, x := range ss {
			vs = append(vs, x)
		}
		rows = append(rows, vs)
		if err := ours.strings(ss...); err != nil {
			t.Fatal(err)
		}
	}
	rows = append(rows, nil)
	ours.blank()
	for i, v := range numbers {
		cs := []cell{text(texts[i%len(texts)]), {s: "", num: false}, {s: strconv.FormatFloat(v, 'g', -1, 64), num: true}}
		vs := []any{texts[i%len(texts)], nil, cs[2].number()}
		if cs[0].s == "" {
			vs[0] = nil
		}
		rows = append(rows, vs)
		if err := ours.cells(cs); err != nil {
			t.Fatal(err)
		}
	}

	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i, vs := range rows {
		if vs == nil {
			continue
		}
		ref, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(ref, vs); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	var sheetXML []byte
	for _, zf := range zr.File {
		if zf.Name == "xl/worksheets/sheet1.xml" {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			sheetXML, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	start, end := bytes.Index(sheetXML, []byte("<sheetData>")), bytes.Index(sheetXML, []byte("</sheetData>"))
	if start < 0 || end < 0 {
		t.Fatalf("no sheetData in excelize's sheet: %.300s", sheetXML)
	}
	want := sheetXML[start+len("<sheetData>") : end]
	if !bytes.Equal(ours.buf, want) {
		a, b := ours.buf, want
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Fatalf("rows differ from excelize's at byte %d:\n ours:     %.200q\n excelize: %.200q", i, a[max(0, i-40):], b[max(0, i-40):])
	}
}
