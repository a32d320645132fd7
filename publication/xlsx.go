package publication

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"icesurvey/internal/parallel"
	"icesurvey/schemas"

	"github.com/xuri/excelize/v2"
)

// The workbook is built with excelize and made byte-identical run after run: its
// document properties carry Params.FileTime, and its zip is written by
// deterministicZip (entries sorted by name, each with FileTime, deflated at a fixed
// level) because excelize writes its streamed sheets in map order.
//
// The rows of the streamed sheets (Results, Distributions, Response rates) are not
// written through excelize's StreamWriter.SetRow, which built every cell through
// structs, a cell reference string and an escaping copy of its text: most of the
// release's writing time. sheetRows writes the same SpreadsheetML itself (sheetxml.go,
// held to SetRow's bytes by TestSheetRowsMatchExcelize). excelize streams each sheet
// with one marker row in their place, and deterministicZip, as it deflates that part,
// writes the sheet's rows where the marker stands: straight into the deflater, the
// sheets side by side, none of them held whole in memory.

// deterministicZip collects a workbook's parts and writes them to the zip sorted by
// name when closed, each deflated, with the streamed sheets' rows in place of their
// marker rows.
type deterministicZip struct {
	w        io.Writer
	modified time.Time
	parts    []*zipPart
	// sheets are the streamed sheets, each with its marker row to replace.
	sheets []*sheet
}

// zipPart is one part as excelize wrote it, and what Close makes of it.
type zipPart struct {
	name string
	data bytes.Buffer
	// sheet is the streamed sheet whose marker row the part holds at marker, or nil.
	sheet  *sheet
	marker int
	// compressed is the deflated part, of size bytes with checksum crc.
	compressed bytes.Buffer
	crc        uint32
	size       uint64
}

func (p *zipPart) Write(b []byte) (int, error) { return p.data.Write(b) }

func (z *deterministicZip) Create(name string) (io.Writer, error) {
	p := &zipPart{name: name}
	z.parts = append(z.parts, p)
	return p, nil
}

func (z *deterministicZip) AddFS(fs.FS) error {
	return errors.New("publication: workbook zip: AddFS is not supported")
}

func (z *deterministicZip) Close() error {
	slices.SortFunc(z.parts, func(a, b *zipPart) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(z.parts); i++ {
		if z.parts[i].name == z.parts[i-1].name {
			return fmt.Errorf("publication: workbook zip: part %s written twice", z.parts[i].name)
		}
	}
	// Find each sheet's marker row: in exactly one part, once.
	for _, s := range z.sheets {
		var in *zipPart
		for _, p := range z.parts {
			b := p.data.Bytes()
			at := bytes.Index(b, s.marker)
			if at < 0 {
				continue
			}
			if in != nil || p.sheet != nil || bytes.Contains(b[at+len(s.marker):], s.marker) {
				return fmt.Errorf("publication: workbook zip: the marker row of sheet %s is written twice", s.name)
			}
			in, p.sheet, p.marker = p, s, at
		}
		if in == nil {
			return fmt.Errorf("publication: workbook zip: the marker row of sheet %s is not in any part", s.name)
		}
	}
	// The parts are deflated side by side, the sheets (most of the work) first; each
	// one's bytes depend on its content alone.
	order := make([]*zipPart, 0, len(z.parts))
	for _, p := range z.parts {
		if p.sheet != nil {
			order = append(order, p)
		}
	}
	for _, p := range z.parts {
		if p.sheet == nil {
			order = append(order, p)
		}
	}
	if err := parallel.Indexed(len(order), func(i int) error { return order[i].deflate() }); err != nil {
		return err
	}
	zw := zip.NewWriter(z.w)
	for _, p := range z.parts {
		w, err := zw.CreateRaw(&zip.FileHeader{Name: p.name, Method: zip.Deflate, Modified: z.modified,
			CRC32: p.crc, CompressedSize64: uint64(p.compressed.Len()), UncompressedSize64: p.size})
		if err != nil {
			return err
		}
		if _, err := w.Write(p.compressed.Bytes()); err != nil {
			return err
		}
	}
	return zw.Close()
}

// deflate compresses the part, with its sheet's rows in place of the marker row.
func (p *zipPart) deflate() error {
	fw, err := flate.NewWriter(&p.compressed, flate.BestSpeed)
	if err != nil {
		return err
	}
	w := &checksummed{w: fw, crc: crc32.NewIEEE()}
	b := p.data.Bytes()
	if p.sheet == nil {
		w.Write(b)
	} else {
		w.Write(b[:p.marker])
		rows := sheetRows{w: w}
		if err := p.sheet.fill(&rows); err != nil {
			return fmt.Errorf("%s sheet: %w", strings.ToLower(p.sheet.name), err)
		}
		rows.flush()
		w.Write(b[p.marker+len(p.sheet.marker):])
	}
	if w.err != nil {
		return w.err
	}
	p.crc, p.size = w.crc.Sum32(), w.n
	return fw.Close()
}

// checksummed writes to w, counting the bytes and summing their CRC-32; it keeps the
// first error and writes nothing after it.
type checksummed struct {
	w   io.Writer
	crc hash.Hash32
	n   uint64
	err error
}

func (c *checksummed) Write(b []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.crc.Write(b)
	c.n += uint64(len(b))
	_, c.err = c.w.Write(b)
	return len(b), c.err
}

// sheet is one streamed worksheet: what writes its rows, and the marker row excelize
// streams in their place.
type sheet struct {
	name   string
	widths map[int]float64
	fill   func(s *sheetRows) error
	marker []byte
}

// stream adds the sheet to f, streamed with its column widths and a marker row where
// its rows go (deterministicZip writes them in).
func (s *sheet) stream(f *excelize.File) error {
	if _, err := f.NewSheet(s.name); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	cols := make([]int, 0, len(s.widths))
	for c := range s.widths {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	for _, c := range cols {
		if err := sw.SetColWidth(c, c, s.widths[c]); err != nil {
			return err
		}
	}
	text := "icesurvey: the rows of sheet " + s.name
	var m sheetRows
	if err := m.strings(text); err != nil {
		return err
	}
	s.marker = m.buf
	if err := sw.SetRow("A1", []any{text}); err != nil {
		return err
	}
	return sw.Flush()
}

// workbook is results.xlsx: Notes, Results, Distributions (one block per question, an
// option per column, as the GP Patient Survey lays out its tables) and Response rates.
func workbook(r *Results, meta *Metadata) ([]byte, error) {
	l := newLabels(r)
	sheets := []*sheet{
		{name: "Results", widths: map[int]float64{1: 12, 3: 28, 6: 28, 12: 22}, fill: func(s *sheetRows) error { return resultsSheet(s, r, l) }},
		{name: "Distributions", widths: map[int]float64{1: 12, 3: 28, 5: 28}, fill: func(s *sheetRows) error { return distributionSheet(s, r, l) }},
		{name: "Response rates", fill: func(s *sheetRows) error { return ratesSheet(s, r) }},
	}
	f := excelize.NewFile()
	defer f.Close()
	at := r.params.fileTime()
	f.SetZipWriter(func(w io.Writer) excelize.ZipWriter { return &deterministicZip{w: w, modified: at, sheets: sheets} })
	stamp := at.Format(time.RFC3339)
	if err := f.SetDocProps(&excelize.DocProperties{
		Title:          fmt.Sprintf("ICE Survey comparable data: wave %s, release %s", r.wave, meta.ReleaseID),
		Subject:        "Integrated Care Experience Survey: published comparable data",
		Creator:        "icesurvey",
		LastModifiedBy: "icesurvey",
		Created:        stamp,
		Modified:       stamp,
		Language:       "en-GB",
	}); err != nil {
		return nil, err
	}
	if err := f.SetSheetName("Sheet1", "Notes"); err != nil {
		return nil, err
	}
	if err := notesSheet(f, r, meta); err != nil {
		return nil, fmt.Errorf("notes sheet: %w", err)
	}
	for _, s := range sheets {
		if err := s.stream(f); err != nil {
			return nil, fmt.Errorf("%s sheet: %w", strings.ToLower(s.name), err)
		}
	}
	// The first sheet (Notes) is the active one already: SetActiveSheet would parse every
	// streamed sheet back into memory (seconds for a national release).
	buf, err := f.WriteToBuffer()
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ratesSheet is the response rates, a row each.
func ratesSheet(s *sheetRows, r *Results) error {
	if err := s.strings(humanHeader(ratesHeader)...); err != nil {
		return err
	}
	for i := range r.rates {
		if err := s.cells(rateCells(nil, &r.rates[i])); err != nil {
			return err
		}
	}
	return nil
}

// resultSheetColumns are the Results sheet's columns: results.csv's from geography on,
// the question being the block's title.
var resultSheetColumns = []string{"geography", "ics", "ics_name", "breakdown", "group", "group_name", "pct_positive", "ci_lower", "ci_upper", "base",
	"effective_base", "vs_england_excluding_ics", "mark", "weighting"}

// resultsSheet lays each question (each option of a multi-choice question) out as a
// block, as the GP Patient Survey's tables are: its title, a header, then a row per
// group — England, each ICS and its demographic groups.
func resultsSheet(s *sheetRows, r *Results, l *labels) error {
	pick := make([]int, len(resultSheetColumns))
	for i, c := range resultSheetColumns {
		pick[i] = slices.Index(resultsHeader, c)
	}
	header := humanHeader(resultSheetColumns)
	cs := make([]cell, len(pick))
	var all []cell
	for i := range r.results {
		x := &r.results[i]
		if i == 0 || x.QuestionID != r.results[i-1].QuestionID || x.RespondentType != r.results[i-1].RespondentType || x.Measure != r.results[i-1].Measure {
			if i > 0 {
				s.blank()
			}
			title := fmt.Sprintf("%s (%ss): %s", x.QuestionID, x.RespondentType, l.question(x.RespondentType, x.QuestionID))
			if x.Measure != "" {
				title += " — " + x.Measure + ": " + l.option(x.RespondentType, x.QuestionID, x.Measure)
			}
			if err := s.strings(title); err != nil {
				return err
			}
			positive, excluded := l.definition(x)
			if excluded == "" {
				excluded = "none"
			}
			if err := s.strings("% positive counts: " + positive + ". Left out of the base: " + excluded + "."); err != nil {
				return err
			}
			if err := s.strings(header...); err != nil {
				return err
			}
		}
		all = l.resultCells(all[:0], x)
		for j, k := range pick {
			cs[j] = all[k]
		}
		if err := s.cells(cs); err != nil {
			return err
		}
	}
	return nil
}

// distributionSheet lays each question out as a block: its title, a header with one
// column per option, then a row per group (England, each ICS and its demographic
// groups) with each option's % (or its mark).
func distributionSheet(s *sheetRows, r *Results, l *labels) error {
	fixed := []string{"Geography", "ICS", "ICS name", "Breakdown", "Group", "Mark"}
	i := 0
	for i < len(r.dists) {
		x := &r.dists[i]
		typ, id := x.RespondentType, x.QuestionID
		q := l.questions[[2]string{typ, id}]
		if err := s.strings(fmt.Sprintf("%s (%ss): %s", id, typ, l.question(typ, id))); err != nil {
			return err
		}
		header := slices.Clone(fixed)
		var optCodes []string
		if q != nil {
			for _, o := range q.Options {
				header = append(header, o.Code+": "+o.Label+" (%)")
				optCodes = append(optCodes, o.Code)
			}
		}
		if err := s.strings(header...); err != nil {
			return err
		}
		for i < len(r.dists) && r.dists[i].RespondentType == typ && r.dists[i].QuestionID == id {
			g := &r.dists[i]
			j := i
			for j < len(r.dists) && sameGroup(&r.dists[j], g) {
				j++
			}
			cs := make([]cell, len(header))
			_, group, name := groupCells(g.GroupVariable, g.GroupLevel)
			cs[0], cs[1], cs[2], cs[3] = text(geographyName(g.Geography)), text(g.ICS), text(schemas.ICSName(g.ICS)), text(g.GroupVariable)
			if g.GroupVariable == GroupAll {
				cs[3] = text("")
			}
			cs[4] = group
			if name.s != "" {
				cs[4] = text(group.s + " " + name.s)
			}
			cs[5] = text(rowMark(r.dists[i:j]))
			for _, d := range r.dists[i:j] {
				if k := slices.Index(optCodes, d.OptionCode); k >= 0 {
					cs[len(fixed)+k] = figureCell(d.PctWeighted, d.Status, pctCell)
				}
			}
			if err := s.cells(cs); err != nil {
				return err
			}
			i = j
		}
		s.blank()
	}
	return nil
}

func sameGroup(a, b *DistributionRow) bool {
	return a.RespondentType == b.RespondentType && a.QuestionID == b.QuestionID && a.Geography == b.Geography && a.ICS == b.ICS &&
		a.GroupVariable == b.GroupVariable && a.GroupLevel == b.GroupLevel
}

// rowMark is a group's mark on the distribution sheet: B or S when the whole row is
// withheld, L when published with caution.
func rowMark(ds []DistributionRow) string {
	all := true
	for _, d := range ds {
		if d.Status == 'L' {
			return "L"
		}
		all = all && (d.Status == 'B' || d.Status == 'S') && d.Status == ds[0].Status
	}
	if all && len(ds) > 0 {
		return ds[0].Status.String()
	}
	return ""
}

// notesSheet explains the marks and the method, lists the parameters and each ICS's
// weighting.
func notesSheet(f *excelize.File, r *Results, meta *Metadata) error {
	const sh = "Notes"
	row := 0
	put := func(vals ...any) error {
		row++
		for c, v := range vals {
			ref, err := excelize.CoordinatesToCellName(c+1, row)
			if err != nil {
				return err
			}
			if err := f.SetCellValue(sh, ref, v); err != nil {
				return err
			}
		}
		return nil
	}
	lines := [][]any{
		{"Integrated Care Experience Survey: published comparable data"},
		{"Wave", r.wave},
		{"Release", meta.ReleaseID},
		{"Code version", meta.CodeVersion},
		{"Every parameter, each ICS's weighting and each table's lineage (by SHA-256)", "metadata.json beside this file"},
		{},
		{"Marks"},
	}
	for _, m := range meta.Marks {
		mark := m.Mark
		if mark == "" {
			mark = "(blank)"
		}
		lines = append(lines, []any{mark, m.Meaning})
	}
	lines = append(lines, []any{"<" + strconv.Itoa(r.params.Disclosure.MinBase), "the base of a row withheld for being too small"},
		[]any{"A letter in place of a number", "that figure is withheld; its letter says why"}, []any{}, []any{"Method"})
	for _, m := range meta.Method {
		lines = append(lines, []any{m})
	}
	lines = append(lines, []any{}, []any{"Parameters"})
	for _, p := range meta.Parameters {
		lines = append(lines, []any{p.Name, p.Value})
	}
	lines = append(lines, []any{}, []any{"ICSs", "published", "weighting status", "sweeps", "min w/d", "max w/d", "collapsed levels", "reason"})
	for _, im := range meta.ICSs {
		var collapsed []string
		for _, c := range im.Collapses {
			collapsed = append(collapsed, c.Variable+": "+strings.Join(c.Members, ", "))
		}
		ratio := func(v *float64) any {
			if v == nil {
				return ""
			}
			return roundCell(*v, 3).number()
		}
		lines = append(lines, []any{im.ICS, strconv.FormatBool(im.Published), im.WeightingStatus,
			im.Sweeps + im.BoundedSweeps, ratio(im.MinWeightRatio), ratio(im.MaxWeightRatio), strings.Join(collapsed, "; "), im.Reason})
	}
	// Suppression counts by status (PUBLICATION.md §P: the metadata sheet's), over every
	// table the release checked.
	w := meta.Withheld.Total
	lines = append(lines, []any{}, []any{"Withheld by disclosure control", "count"},
		[]any{"tables checked", meta.Withheld.Tables},
		[]any{"rows published with caution (L)", w.RowsCaution},
		[]any{"rows withheld: base too small (B)", w.RowsBase},
		[]any{"rows withheld: secondary (S)", w.RowsSecondary},
		[]any{"counts withheld: primary (P)", w.CellsPrimary},
		[]any{"counts withheld: secondary (S)", w.CellsSecondary},
		[]any{"counts in withheld rows", w.CellsInWithheldRows},
		[]any{"% positive figures withheld (S)", w.PositiveWithheld},
		[]any{"column totals withheld", w.TotalsWithheld},
		[]any{"England rows withheld (S)", meta.Withheld.EnglandRowsWithheld})
	for _, l := range lines {
		if err := put(l...); err != nil {
			return err
		}
	}
	return f.SetColWidth(sh, "A", "A", 40)
}
