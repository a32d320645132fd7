// Package csvcell keeps text out of a spreadsheet's formula bar: a cell of a CSV file
// that people open in Excel, LibreOffice or Numbers is read as a formula when it starts
// with =, +, -, @, a tab or a carriage return (OWASP, "CSV Injection"), and a formula
// can fetch a URL with the sheet's data or, with DDE, run a program. Text that someone
// outside the team controls (a RECORD_ID an ICS sent, a file name a data provider
// chose, a search a reader typed, a comment a patient wrote) must not start a cell
// that way in a file for people. Files for machines keep values verbatim and say so.
package csvcell

import "regexp"

// Inert returns s, or s with an apostrophe in front when a spreadsheet would read it
// as a formula: the apostrophe makes the cell text, and a spreadsheet does not show it.
// A negative number or percentage ("-1", "-12.3%", "-1,234") is kept when it is that
// and nothing else: "-1+1+cmd|…" is a formula.
func Inert(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '@', '\t', '\r':
		return "'" + s
	case '-':
		if !negativeNumber.MatchString(s) {
			return "'" + s
		}
	}
	return s
}

// Row returns a copy of row with every cell Inert.
func Row(row []string) []string {
	out := make([]string, len(row))
	for i, c := range row {
		out[i] = Inert(c)
	}
	return out
}

// negativeNumber is a whole cell that is a negative number as people write one.
var negativeNumber = regexp.MustCompile(`^-[0-9][0-9,]*(\.[0-9]+)?%?$`)
