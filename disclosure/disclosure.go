// Package disclosure applies the DPIA's small-number rule to a published table and
// returns a Checked table: the only kind of table a release, the dashboard, the
// linkage aggregates or the theme counts may write (PUBLICATION.md, section S).
//
// A Table is groups (rows, sorted by code bytewise) by categories (columns, in
// questionnaire order) of unweighted counts, with optional figures to withhold with
// them (weighted %, % positive and its interval, …). Check applies, in order and
// deterministically:
//
//	S1 base       a row whose base is below min_base is withheld whole (B); below
//	              caution_base it is published with a caution mark (L)
//	S2 primary    a count 1 ≤ count < min_count is withheld (P); zero is not
//	S3 rows       a published row with exactly one withheld cell also withholds its
//	              smallest unwithheld count, preferring non-zero, ties earliest (S)
//	S4 columns    where column totals are published: a column with exactly one
//	              withheld cell among published rows withholds its smallest non-zero
//	              unwithheld count, ties lowest group code (S); S3 and S4 alternate
//	              until nothing changes
//	S5 audit      every withheld cell's attacker interval — its min and max given
//	              every published count, row base, column total and any further
//	              published fact, with counts ≥ 0 — must be wider than zero; a cell
//	              that fails withholds the smallest non-zero unwithheld count of its
//	              row (ties as S3) and S3–S5 run again
//
// Rows. Where the sum of the rows' bases is published (column totals of every base
// category, or a Margin's base), a table with exactly one withheld row (B or S) also
// withholds whole, status S, the published row with the smallest base (ties: lowest
// group code): else the withheld row's base, weighted base and % positive are the
// total less the published rows. S5 then also checks every withheld row's base and
// positive count, as sums of its counts, and withholds a further row whole when one is
// exact (a B row of base 1 beside an S row of base 10 whose sum is published).
//
// What it guarantees. No withheld count can be worked out exactly from what is
// published: the audit is exact (rational linear programming, or a certificate — a
// feasible integer change to the hidden counts that moves the cell — checked against
// every constraint), never a floating-point judgement. For an unweighted table (carers)
// a published % positive times the base is a published count and the % of a
// published count reveals the row's total; the audit includes both, and when a cell
// can only be protected by withholding the % positive, that is withheld (status S on
// the row's positive figures). Rows, cells and figures can be read from a Checked table
// only through accessors that refuse withheld values, and a Checked table can only be
// made by Check: a writer that accepts *Checked cannot write an unchecked table.
//
// Where the spec's S5 remedy cannot help — the cell stays exact however many of its
// row's counts are withheld — Check takes the first further step that can (followed
// by S3–S4): the smallest count of its column, the column's total, the row's %
// positive (unweighted tables), the whole row (status S, the base withheld too); and
// failing those, the first published thing that enters a constraint around the cell.
// Every step withholds something more, so Check always ends; only a caller's further
// fact, which cannot be withheld, can make it fail, with an error naming the cell.
//
// Column totals, where published, are counts too: a total 1 ≤ total < min_count is
// withheld (P), S4 applies to the columns whose total is published, and a withheld
// total must not be exact either (the audit checks it as the sum of its column).
//
// The audit is cheap on typical tables: it runs only where something is withheld;
// rows withheld whole are left out when nothing is published across rows (their
// counts are then never exact, as the package's enumeration test confirms); and most
// cells are settled by a certificate or by a one-line proof of exactness (alone in a
// published sum, or a total less a base) before any linear program.
//
// Privacy: the package sees counts only. It does no I/O.
package disclosure

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Status is a row's, a cell's or a figure's disclosure status.
type Status byte

// Statuses; Published is written as an empty value.
const (
	Published Status = 0
	// Caution: the row is published with a caution mark (S1, base < caution_base).
	Caution Status = 'L'
	// BaseTooSmall: the row is withheld whole, its base shown as "<min_base" (S1).
	BaseTooSmall Status = 'B'
	// Primary: a count 1 ≤ count < min_count, withheld with its figures (S2).
	Primary Status = 'P'
	// Secondary: withheld so that a primary one cannot be worked back (S3–S5); on a
	// row, the whole row (base too) was withheld by the audit.
	Secondary Status = 'S'
)

// String is the status as published: "", "L", "B", "P" or "S".
func (s Status) String() string {
	if s == Published {
		return ""
	}
	return string(rune(s))
}

// Withheld reports whether the status withholds the value (L publishes it).
func (s Status) Withheld() bool { return s != Published && s != Caution }

// Params are the suppression parameters of a release.
type Params struct {
	MinBase     int // S1: rows with a base below this are withheld (10)
	CautionBase int // S1: rows with a base below this carry a caution mark (30)
	MinCount    int // S2: counts 1 ≤ count < this are withheld (5)
}

// DefaultParams: min_base 10, caution_base 30, min_count 5.
func DefaultParams() Params { return Params{MinBase: 10, CautionBase: 30, MinCount: 5} }

// Validate reports parameters out of range.
func (p Params) Validate() error {
	var errs []error
	if p.MinBase < 2 {
		errs = append(errs, fmt.Errorf("disclosure: min_base = %d, want ≥ 2", p.MinBase))
	}
	if p.CautionBase < p.MinBase {
		errs = append(errs, fmt.Errorf("disclosure: caution_base = %d, want ≥ min_base (%d)", p.CautionBase, p.MinBase))
	}
	if p.MinCount < 1 {
		errs = append(errs, fmt.Errorf("disclosure: min_count = %d, want ≥ 1", p.MinCount))
	}
	return errors.Join(errs...)
}

// Param is one parameter as written into a release's metadata.
type Param struct{ Name, Value string }

// Metadata lists the parameters in a fixed order.
func (p Params) Metadata() []Param {
	return []Param{
		{"min_base", strconv.Itoa(p.MinBase)},
		{"caution_base", strconv.Itoa(p.CautionBase)},
		{"min_count", strconv.Itoa(p.MinCount)},
	}
}

// Table is a table to be published, as its producer has it.
type Table struct {
	// Name identifies the table in errors ("P_OVERALL by ICS, patients").
	Name string
	// Groups are the row codes, unique, in any order: Check sorts them bytewise.
	Groups []string
	// Categories are the column codes in questionnaire order.
	Categories []string
	// Counts are the unweighted counts, [group][category].
	Counts [][]int64
	// BaseCategories marks the categories whose sum is the row's published base
	// (n_base); nil means every category.
	BaseCategories []bool
	// PositiveCategories marks the categories whose sum is the row's positive count;
	// nil when the table has no % positive.
	PositiveCategories []bool
	// Unweighted says the published % are of unweighted counts (carers), so that a
	// % positive times the base is a published count and a count with its % gives
	// the row's total: the audit counts both as published facts.
	Unweighted bool
	// ColumnTotals says each category's total over every group is published.
	ColumnTotals bool
	// Facts are further published linear facts about the counts.
	Facts []Fact
	// Margin, when not nil, says the groups partition the respondents of a row
	// published in another table (an ICS's own row above its demographic groups): that
	// row's counts are the column totals of this table, its base the sum of the rows'
	// bases. The table is then checked with column totals (S4) whose statuses Margin
	// fixes, a lone withheld row withholds a second (see Check), and, the groups'
	// figures being weighted shares of a published weighted base, every published
	// row's % positive and its total over all categories count as published facts, as
	// for an Unweighted table: an audit of the counts that passes then also protects
	// the weighted figures (the attacker's equations on them are a subset).
	Margin *Margin

	// Figures withheld together with what they belong to (each optional, nil or
	// [group] in the order of Groups):
	// CellValues, one per count (e.g. its weighted %), withheld with the count;
	CellValues [][]float64
	// PositiveValues (e.g. % positive, its interval, n_eff), withheld with the row or
	// when the audit withholds the row's % positive;
	PositiveValues [][]float64
	// RowValues (e.g. the weighted base), withheld with the row.
	RowValues [][]float64
}

// Margin is a published row of which a table's groups are a partition.
type Margin struct {
	// Status is each category's status in the margin's own table (withheld there, or
	// published): its total over the groups is published unless withheld. Check takes
	// them as given and never withholds a total of its own accord.
	Status []Status
	// Base, Positive and Total say the margin's base (the sum of its base
	// categories), its positive count and its total over every category are
	// published (its row is; its % positive is).
	Base, Positive, Total bool
}

// Fact is a published linear fact: the sum of Cells is known to anyone.
type Fact struct {
	Cells []Cell
}

// Cell names one count of a Table.
type Cell struct {
	Group    string
	Category int
}

// Checked is a table that has passed disclosure control. Its values are read only
// through accessors that refuse withheld ones.
type Checked struct {
	name        string
	groups      []string
	categories  []string
	counts      []int64 // [row*cols+col]
	base        []int64
	row         []Status // Published, Caution, BaseTooSmall, Secondary
	cell        []Status // Published, Primary, Secondary (withheld rows: see CellStatus)
	positive    []Status // Published or Secondary (the row's own status comes first)
	hasPos      bool
	cellValues  []float64 // flat, nil when none
	posValues   [][]float64
	rowValues   [][]float64
	total       []int64 // nil unless column totals are published
	totalStatus []Status
	summary     Summary
}

// Summary counts what a table withheld, for the release's metadata.
type Summary struct {
	Rows, Cells int
	// Rows by status.
	RowsCaution, RowsBase, RowsSecondary int
	// Cells withheld in published rows, by status, and cells of withheld rows.
	CellsPrimary, CellsSecondary, CellsInWithheldRows int
	// PositiveWithheld counts rows whose % positive the audit withheld.
	PositiveWithheld int
	// TotalsWithheld counts column totals withheld (small, or by the audit).
	TotalsWithheld int
}

// Add adds another table's summary (for a release's totals).
func (s *Summary) Add(o Summary) {
	s.Rows += o.Rows
	s.Cells += o.Cells
	s.RowsCaution += o.RowsCaution
	s.RowsBase += o.RowsBase
	s.RowsSecondary += o.RowsSecondary
	s.CellsPrimary += o.CellsPrimary
	s.CellsSecondary += o.CellsSecondary
	s.CellsInWithheldRows += o.CellsInWithheldRows
	s.PositiveWithheld += o.PositiveWithheld
	s.TotalsWithheld += o.TotalsWithheld
}

// Name is the table's name.
func (c *Checked) Name() string { return c.name }

// NumGroups and NumCategories are the table's shape.
func (c *Checked) NumGroups() int     { return len(c.groups) }
func (c *Checked) NumCategories() int { return len(c.categories) }

// Group is row i's code (rows are sorted by code, bytewise).
func (c *Checked) Group(i int) string { return c.groups[i] }

// Category is column j's code.
func (c *Checked) Category(j int) string { return c.categories[j] }

// Row returns the index of a group's row.
func (c *Checked) Row(group string) (int, bool) {
	i, ok := slices.BinarySearch(c.groups, group)
	return i, ok
}

// RowStatus is row i's status: Published, Caution (published with a mark),
// BaseTooSmall or Secondary (withheld whole).
func (c *Checked) RowStatus(i int) Status { return c.row[i] }

// Base is row i's published base; ok is false when the row is withheld.
func (c *Checked) Base(i int) (n int64, ok bool) {
	if c.row[i].Withheld() {
		return 0, false
	}
	return c.base[i], true
}

// CellStatus is the status of count (i, j): the row's status when the row is
// withheld, else Published, Primary or Secondary.
func (c *Checked) CellStatus(i, j int) Status {
	if c.row[i].Withheld() {
		return c.row[i]
	}
	return c.cell[i*len(c.categories)+j]
}

// Count is count (i, j); ok is false when it is withheld.
func (c *Checked) Count(i, j int) (n int64, ok bool) {
	if c.CellStatus(i, j).Withheld() {
		return 0, false
	}
	return c.counts[i*len(c.categories)+j], true
}

// CellValue is the figure given with count (i, j); ok is false when the count is
// withheld or no figures were given.
func (c *Checked) CellValue(i, j int) (v float64, ok bool) {
	if c.cellValues == nil || c.CellStatus(i, j).Withheld() {
		return 0, false
	}
	return c.cellValues[i*len(c.categories)+j], true
}

// PositiveStatus is the status of row i's % positive: the row's status when the row
// is withheld, Secondary when the audit withheld it, else Published or Caution.
func (c *Checked) PositiveStatus(i int) Status {
	if c.row[i].Withheld() {
		return c.row[i]
	}
	if c.positive[i] != Published {
		return c.positive[i]
	}
	return c.row[i]
}

// PositiveValue is row i's k-th positive figure; ok is false when withheld or absent.
func (c *Checked) PositiveValue(i, k int) (v float64, ok bool) {
	if c.PositiveStatus(i).Withheld() || c.posValues == nil || k >= len(c.posValues[i]) {
		return 0, false
	}
	return c.posValues[i][k], true
}

// RowValue is row i's k-th row figure; ok is false when the row is withheld or the
// figure absent.
func (c *Checked) RowValue(i, k int) (v float64, ok bool) {
	if c.row[i].Withheld() || c.rowValues == nil || k >= len(c.rowValues[i]) {
		return 0, false
	}
	return c.rowValues[i][k], true
}

// Summary counts what the table withheld.
func (c *Checked) Summary() Summary { return c.summary }

// ColumnTotalStatus is the status of column j's total: Published, Primary (a count
// 1 ≤ total < min_count) or Secondary (withheld by the audit). Published for a
// table without column totals, where ColumnTotal always refuses.
func (c *Checked) ColumnTotalStatus(j int) Status {
	if c.totalStatus == nil {
		return Published
	}
	return c.totalStatus[j]
}

// ColumnTotal is column j's total over every group; ok is false when it is withheld
// or the table publishes no column totals.
func (c *Checked) ColumnTotal(j int) (n int64, ok bool) {
	if c.total == nil || c.totalStatus[j].Withheld() {
		return 0, false
	}
	return c.total[j], true
}

// HasPositive reports whether the table has a % positive (PositiveCategories).
func (c *Checked) HasPositive() bool { return c.hasPos }
