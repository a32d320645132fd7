package synth

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/xuri/excelize/v2"
)

// rowWriter writes the rows of one file, header first.
type rowWriter interface {
	write(row []string) error
	close() error
}

func newRowWriter(format string, w io.Writer, sheet string) (rowWriter, error) {
	switch format {
	case "csv":
		bw := bufio.NewWriterSize(w, 256<<10)
		return &csvWriter{bw: bw, cw: csv.NewWriter(bw)}, nil
	case "xlsx":
		return newXLSXWriter(w, sheet)
	}
	return nil, fmt.Errorf("synth: unknown format %q", format)
}

// csvWriter writes RFC 4180 CSV with LF line ends; fields are quoted only when needed.
type csvWriter struct {
	bw *bufio.Writer
	cw *csv.Writer
}

func (c *csvWriter) write(row []string) error { return c.cw.Write(row) }

func (c *csvWriter) close() error {
	c.cw.Flush()
	if err := c.cw.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// xlsxWriter writes one sheet with every cell a string (so NHS numbers, dates and codes
// keep their exact text), through excelize's streaming writer.
type xlsxWriter struct {
	w     io.Writer
	f     *excelize.File
	sw    *excelize.StreamWriter
	row   int
	cells []any
}

func newXLSXWriter(w io.Writer, sheet string) (*xlsxWriter, error) {
	f := excelize.NewFile()
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		f.Close()
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &xlsxWriter{w: w, f: f, sw: sw}, nil
}

func (x *xlsxWriter) write(row []string) error {
	x.row++
	x.cells = x.cells[:0]
	for _, s := range row {
		x.cells = append(x.cells, s)
	}
	cell, err := excelize.CoordinatesToCellName(1, x.row)
	if err != nil {
		return err
	}
	return x.sw.SetRow(cell, x.cells)
}

func (x *xlsxWriter) close() error {
	defer x.f.Close()
	if err := x.sw.Flush(); err != nil {
		return err
	}
	return x.f.Write(x.w)
}
