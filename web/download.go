package web

import (
	"encoding/csv"
	"io"

	"github.com/xuri/excelize/v2"

	"icesurvey/internal/csvcell"
)

// writeCSV writes a section as CSV: the metadata block (one "field,value" row each),
// a blank row, then the table exactly as shown (header row, then rows), then its notes.
// Cells are the page's cell texts, so a withheld cell says "withheld", never a number.
func writeCSV(w io.Writer, sec section) error {
	cw := csv.NewWriter(w)
	rows := [][]string{{"Table", sec.Heading}}
	for _, m := range sec.Meta {
		rows = append(rows, []string{m[0], m[1]})
	}
	rows = append(rows, []string{})
	rows = append(rows, sec.Table.Text()...)
	if len(sec.Table.Notes) > 0 {
		rows = append(rows, []string{})
		for _, n := range sec.Table.Notes {
			rows = append(rows, []string{"Note", n})
		}
	}
	// Labels come from questionnaires and ICS names, and free text and searches from
	// anyone, but a download must never carry a formula (csvcell).
	for _, r := range rows {
		if err := cw.Write(csvcell.Row(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// writeXLSX writes a section as a workbook: the table as shown on a "Data" sheet (header
// row bold, cells as text exactly as on the page), and the metadata block and notes on a
// "Metadata" sheet. Every cell is written with SetCellStr, a string cell, which a
// spreadsheet never evaluates, so no cell needs neutralising.
func writeXLSX(w io.Writer, sec section) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", "Data"); err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	for r, row := range sec.Table.Text() {
		for c, v := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			if err := f.SetCellStr("Data", cell, v); err != nil {
				return err
			}
			if r == 0 {
				_ = f.SetCellStyle("Data", cell, cell, bold)
			}
		}
	}
	if _, err := f.NewSheet("Metadata"); err != nil {
		return err
	}
	meta := append([][2]string{{"Table", sec.Heading}}, sec.Meta...)
	for _, n := range sec.Table.Notes {
		meta = append(meta, [2]string{"Note", n})
	}
	for i, m := range meta {
		a, _ := excelize.CoordinatesToCellName(1, i+1)
		b, _ := excelize.CoordinatesToCellName(2, i+1)
		if err := f.SetCellStr("Metadata", a, m[0]); err != nil {
			return err
		}
		_ = f.SetCellStyle("Metadata", a, a, bold)
		if err := f.SetCellStr("Metadata", b, m[1]); err != nil {
			return err
		}
	}
	_ = f.SetColWidth("Data", "A", "A", 48)
	_ = f.SetColWidth("Metadata", "A", "A", 20)
	_ = f.SetColWidth("Metadata", "B", "B", 100)
	return f.Write(w)
}
