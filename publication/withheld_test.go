package publication

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"icesurvey/disclosure"
	"icesurvey/lake"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
)

// tableKey finds the checked table a written row was read from.
type tableKey struct {
	kind, respondentType, question, option, ics, breakdown string
}

func indexTables(r *Results) map[tableKey]*checkedTable {
	out := map[tableKey]*checkedTable{}
	for _, ct := range r.tables {
		if ct.kind == kindRates {
			continue
		}
		out[tableKey{ct.kind, ct.respondentType, ct.questionID, ct.option, ct.ics, ct.breakdown}] = ct
	}
	return out
}

// TestNothingWithheldIsWritten reads every written file back — the Parquet tables, the
// CSV files and every sheet of the workbook — and holds each figure to the checked
// table it came from: a figure the table withholds is absent (NULL, or its mark in its
// place), and a figure present is exactly the table's. Every row of every checked table
// is accounted for.
func TestNothingWithheldIsWritten(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	for _, englandCounts := range []bool{false, true} {
		t.Run(fmt.Sprintf("england_counts=%v", englandCounts), func(t *testing.T) {
			p := testParams()
			p.EnglandCounts = englandCounts
			r := compute(t, snap, "W1", p)
			st := newStore(t)
			if _, err := Write(ctx, st, r, "r1"); err != nil {
				t.Fatal(err)
			}
			checkParquet(t, r, st)
			checkPeopleFiles(t, r, st)
		})
	}
}

func checkParquet(t *testing.T, r *Results, st store.Store) {
	ctx := context.Background()
	tables := indexTables(r)
	multi := map[[2]string]bool{}
	for _, q := range r.questions {
		multi[[2]string{q.RespondentType, q.ID}] = q.Multi
	}
	visited := map[*checkedTable]map[int]bool{}
	find := func(typ, qid, option, geography, ics, gvar, glevel string) (*checkedTable, int) {
		key := tableKey{kindICS, typ, qid, option, "", ""}
		group := ics
		switch {
		case geography == GeographyEngland:
			key.kind, group = kindEngland, "ENG"
		case gvar != GroupAll:
			key.kind, key.ics, key.breakdown, group = kindBreakdown, ics, gvar, glevel
		}
		ct := tables[key]
		if ct == nil {
			t.Fatalf("no checked table %+v", key)
		}
		i, ok := ct.checked.Row(group)
		if !ok {
			t.Fatalf("checked table %s has no row %s", ct.checked.Name(), group)
		}
		if visited[ct] == nil {
			visited[ct] = map[int]bool{}
		}
		visited[ct][i] = true
		return ct, i
	}
	expectFigure := func(where string, got *float64, want float64, ok bool, scale float64) {
		t.Helper()
		switch {
		case !ok && got != nil:
			t.Fatalf("%s: %v written, but the checked table withholds it", where, *got)
		case ok && got == nil:
			t.Fatalf("%s: not written, but the checked table publishes %v", where, want*scale)
		case ok && *got != want*scale:
			t.Fatalf("%s: %v written, the checked table has %v", where, *got, want*scale)
		}
	}
	expectCount := func(where string, got *int64, want int64, ok bool) {
		t.Helper()
		switch {
		case !ok && got != nil:
			t.Fatalf("%s: %d written, but it is withheld or not published for this row", where, *got)
		case ok && (got == nil || *got != want):
			t.Fatalf("%s: %v written, the checked table has %d", where, got, want)
		}
	}

	results, err := lake.GetRows[schemas.PublishedResult](ctx, st, schemas.DraftKey(schemas.PublishResultsParquetKey("W1", "r1")), schemas.PublishedResultLayout())
	if err != nil {
		t.Fatal(err)
	}
	withheldFigures := 0
	for n, row := range results {
		option := ""
		if multi[[2]string{row.RespondentType, row.QuestionID}] {
			option = row.PositiveCodes
		}
		ct, i := find(row.RespondentType, row.QuestionID, option, row.GeographyLevel, row.ICS, row.GroupVariable, row.GroupLevel)
		c := ct.checked
		where := fmt.Sprintf("results.parquet row %d (%s %s %s %s)", n+1, row.QuestionID, row.ICS, row.GroupVariable, row.GroupLevel)
		st := c.PositiveStatus(i)
		if ct.englandWithheld {
			st = disclosure.Secondary
		}
		if row.Status != st.String() {
			t.Fatalf("%s: status %q, the checked table %q", where, row.Status, st)
		}
		pub := !ct.englandWithheld
		for k, x := range []struct {
			got   *float64
			scale float64
		}{{row.PctPositive, 100}, {row.CILower, 100}, {row.CIUpper, 100}, {row.NEff, 1}, {row.Deff, 1}} {
			v, ok := c.PositiveValue(i, k)
			expectFigure(where+" figure "+strconv.Itoa(k), x.got, v, ok && pub, x.scale)
			if !ok {
				withheldFigures++
			}
		}
		base, ok := c.Base(i)
		expectCount(where+" base", row.BaseUnweighted, base, ok && pub)
		bw, ok := c.RowValue(i, 0)
		expectFigure(where+" weighted base", row.BaseWeighted, bw, ok && pub, 1)
	}

	dists, err := lake.GetRows[schemas.PublishedDistribution](ctx, st, schemas.DraftKey(schemas.PublishDistributionsParquetKey("W1", "r1")), schemas.PublishedDistributionLayout())
	if err != nil {
		t.Fatal(err)
	}
	withheldCells := 0
	for n, row := range dists {
		option := ""
		isMulti := multi[[2]string{row.RespondentType, row.QuestionID}]
		if isMulti {
			option = row.OptionCode
		}
		ct, i := find(row.RespondentType, row.QuestionID, option, row.GeographyLevel, row.ICS, row.GroupVariable, row.GroupLevel)
		c := ct.checked
		j := 0
		if !isMulti {
			for j = 0; c.Category(j) != row.OptionCode; j++ {
			}
		}
		where := fmt.Sprintf("distributions.parquet row %d (%s=%s %s %s %s)", n+1, row.QuestionID, row.OptionCode, row.ICS, row.GroupVariable, row.GroupLevel)
		pub := !ct.englandWithheld
		v, ok := c.CellValue(i, j)
		expectFigure(where+" pct", row.PctWeighted, v, ok && pub, 100)
		cnt, ok := c.Count(i, j)
		if !ok {
			withheldCells++
		}
		countsShown := row.GroupVariable == GroupAll && row.GeographyLevel == GeographyICS
		if row.GeographyLevel == GeographyEngland {
			byICS := tables[tableKey{kindICS, row.RespondentType, row.QuestionID, option, "", ""}]
			countsShown = (row.RespondentType == "carer" || r.params.EnglandCounts) && !byICS.checked.ColumnTotalStatus(j).Withheld()
		}
		expectCount(where+" count", row.CountUnweighted, cnt, ok && pub && countsShown)
	}

	// Every row of every question's checked tables was written.
	for _, ct := range r.tables {
		if ct.kind == kindRates {
			continue
		}
		if n := len(visited[ct]); n != ct.checked.NumGroups() {
			t.Errorf("checked table %s: %d of its %d rows written", ct.checked.Name(), n, ct.checked.NumGroups())
		}
	}
	if withheldFigures == 0 || withheldCells == 0 {
		t.Errorf("the release withheld %d figures and %d counts: the test proves nothing", withheldFigures, withheldCells)
	}

	// Response rates.
	rates, err := lake.GetRows[schemas.PublishedResponseRate](ctx, st, schemas.DraftKey(schemas.PublishResponseRatesParquetKey("W1", "r1")), schemas.PublishedResponseRateLayout())
	if err != nil {
		t.Fatal(err)
	}
	var byICS, eng *checkedTable
	for _, ct := range r.tables {
		if ct.kind == kindRates {
			if ct.checked.NumGroups() == 1 && ct.checked.Group(0) == "ENG" {
				eng = ct
			} else {
				byICS = ct
			}
		}
	}
	for _, row := range rates {
		ct, group := byICS, row.ICS
		if row.GeographyLevel == GeographyEngland {
			ct, group = eng, "ENG"
		}
		c := ct.checked
		i, ok := c.Row(group)
		if !ok {
			t.Fatalf("response rates: no checked row %s", group)
		}
		pub := !ct.englandWithheld
		where := "response_rates.parquet " + group
		for j, got := range []*int64{row.Completed, row.NotReached, row.NotResponded} {
			n, ok := c.Count(i, j)
			expectCount(fmt.Sprintf("%s %s", where, ResponseGroups[j].Name), got, n, ok && pub)
		}
		_, completed := c.Count(i, 0)
		_, reached := c.Count(i, 1)
		v, ok := c.PositiveValue(i, 0)
		expectFigure(where+" rate", row.ResponseRate, v, ok && pub && completed, 1)
		v, ok = c.PositiveValue(i, 1)
		expectFigure(where+" adjusted rate", row.AdjustedResponseRate, v, ok && pub && completed && reached, 1)
	}
}

// isNumber reports whether a written cell is a number.
func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// checkPeopleFiles holds the CSV files to the Parquet (row for row: a figure NULL in
// the Parquet is no number in the CSV, a figure present is the Parquet's rounded to
// one decimal place) and the workbook's sheets to the CSV files.
func checkPeopleFiles(t *testing.T, r *Results, st store.Store) {
	ctx := context.Background()
	results, err := lake.GetRows[schemas.PublishedResult](ctx, st, schemas.DraftKey(schemas.PublishResultsParquetKey("W1", "r1")), schemas.PublishedResultLayout())
	if err != nil {
		t.Fatal(err)
	}
	csvResults := readCSV(t, st, schemas.DraftKey(schemas.PublishResultsCSVKey("W1", "r1")))
	if len(csvResults) != len(results)+1 {
		t.Fatalf("results.csv has %d rows, results.parquet %d", len(csvResults)-1, len(results))
	}
	col := func(header []string, name string) int {
		for i, h := range header {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s in %v", name, header)
		return -1
	}
	h := csvResults[0]
	pctCol, loCol, hiCol, baseCol, markCol := col(h, "pct_positive"), col(h, "ci_lower"), col(h, "ci_upper"), col(h, "base"), col(h, "mark")
	for n, row := range results {
		rec := csvResults[n+1]
		for _, x := range []struct {
			got  string
			want *float64
		}{{rec[pctCol], row.PctPositive}, {rec[loCol], row.CILower}, {rec[hiCol], row.CIUpper}} {
			switch {
			case x.want == nil && isNumber(x.got):
				t.Fatalf("results.csv row %d: %s shown for a withheld figure", n+2, x.got)
			case x.want != nil && x.got != strconv.FormatFloat(*x.want, 'f', 1, 64):
				t.Fatalf("results.csv row %d: %s shown for %v", n+2, x.got, *x.want)
			}
		}
		if (row.BaseUnweighted == nil) == isNumber(rec[baseCol]) {
			t.Fatalf("results.csv row %d: base %q for %v", n+2, rec[baseCol], row.BaseUnweighted)
		}
		if row.BaseUnweighted == nil && row.Status == "B" && rec[baseCol] != "<10" {
			t.Fatalf("results.csv row %d: base of a B row shown as %q", n+2, rec[baseCol])
		}
		if rec[markCol] != row.Status {
			t.Fatalf("results.csv row %d: mark %q, status %q", n+2, rec[markCol], row.Status)
		}
	}
	dists, err := lake.GetRows[schemas.PublishedDistribution](ctx, st, schemas.DraftKey(schemas.PublishDistributionsParquetKey("W1", "r1")), schemas.PublishedDistributionLayout())
	if err != nil {
		t.Fatal(err)
	}
	csvDists := readCSV(t, st, schemas.DraftKey(schemas.PublishDistributionsCSVKey("W1", "r1")))
	if len(csvDists) != len(dists)+1 {
		t.Fatalf("distributions.csv has %d rows, distributions.parquet %d", len(csvDists)-1, len(dists))
	}
	h = csvDists[0]
	pctCol, countCol := col(h, "pct"), col(h, "count")
	for n, row := range dists {
		rec := csvDists[n+1]
		if (row.PctWeighted == nil && isNumber(rec[pctCol])) || (row.PctWeighted != nil && rec[pctCol] != strconv.FormatFloat(*row.PctWeighted, 'f', 1, 64)) {
			t.Fatalf("distributions.csv row %d: pct %q for %v", n+2, rec[pctCol], row.PctWeighted)
		}
		if (row.CountUnweighted == nil) == isNumber(rec[countCol]) {
			t.Fatalf("distributions.csv row %d: count %q for %v", n+2, rec[countCol], row.CountUnweighted)
		}
	}
	csvRates := readCSV(t, st, schemas.DraftKey(schemas.PublishResponseRatesCSVKey("W1", "r1")))

	// The workbook's sheets say what the CSV files say.
	b, err := store.ReadAll(ctx, st, schemas.DraftKey(schemas.PublishWorkbookKey("W1", "r1")))
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, ",") != "Notes,Results,Distributions,Response rates" {
		t.Fatalf("sheets %v", got)
	}
	sameCell := func(where, got, want string) {
		t.Helper()
		if got == want {
			return
		}
		g, errG := strconv.ParseFloat(got, 64)
		w, errW := strconv.ParseFloat(want, 64)
		if errG != nil || errW != nil || g != w {
			t.Fatalf("%s: the workbook shows %q, the CSV %q", where, got, want)
		}
	}
	rateRows, err := f.GetRows("Response rates")
	if err != nil {
		t.Fatal(err)
	}
	if len(rateRows) != len(csvRates) {
		t.Fatalf("sheet Response rates has %d rows, its CSV %d", len(rateRows), len(csvRates))
	}
	for i := 1; i < len(rateRows); i++ {
		for j, want := range csvRates[i] {
			cell := ""
			if j < len(rateRows[i]) {
				cell = rateRows[i][j]
			}
			sameCell(fmt.Sprintf("sheet Response rates row %d column %d", i+1, j+1), cell, want)
		}
	}
	// Results: a block per question (option), its rows in results.csv's order.
	resRows, err := f.GetRows("Results")
	if err != nil {
		t.Fatal(err)
	}
	next := 1
	hr := csvResults[0]
	for i, row := range resRows {
		if len(row) < 2 || row[0] == "Geography" {
			continue // a block's title, header or the blank row between blocks
		}
		if next >= len(csvResults) {
			t.Fatalf("Results sheet row %d: more rows than results.csv", i+1)
		}
		rec := csvResults[next]
		next++
		for j, name := range resultSheetColumns {
			cell := ""
			if j < len(row) {
				cell = row[j]
			}
			want := rec[col(hr, name)]
			sameCell(fmt.Sprintf("Results sheet row %d (%s)", i+1, name), cell, want)
		}
	}
	if next != len(csvResults) {
		t.Fatalf("the Results sheet has %d rows, results.csv %d", next-1, len(csvResults)-1)
	}
	// Distributions: a block per question, a column per option; each cell is the
	// distributions.csv % of that group and option.
	got, err := f.GetRows("Distributions")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	hq, ho, hg, hi, hb, hl := col(h, "question_id"), col(h, "option_code"), col(h, "geography"), col(h, "ics"), col(h, "breakdown"), col(h, "group")
	for _, rec := range csvDists[1:] {
		want[strings.Join([]string{rec[hq], rec[col(h, "respondents")], rec[hg], rec[hi], rec[hb], rec[hl], rec[ho]}, "|")] = rec[pctCol]
	}
	var question, typ string
	var options []string
	cells := 0
	for i, row := range got {
		switch {
		case len(row) == 1 && strings.Contains(row[0], "s): "):
			question = row[0][:strings.Index(row[0], " (")]
			typ = row[0][strings.Index(row[0], "(")+1 : strings.Index(row[0], "s): ")]
		case len(row) > 6 && row[0] == "Geography":
			options = options[:0]
			for _, o := range row[6:] {
				options = append(options, o[:strings.Index(o, ":")])
			}
		case len(row) > 6:
			// Geography, ICS, ICS name, Breakdown, Group, Mark, then the options.
			group := strings.Fields(row[4] + " ")
			g := ""
			if len(group) > 0 {
				g = group[0]
			}
			for k, cell := range row[6:] {
				key := strings.Join([]string{question, typ, row[0], row[1], row[3], g, options[k]}, "|")
				w, ok := want[key]
				if !ok && cell != "" {
					t.Fatalf("Distributions row %d: %q for %s, which distributions.csv does not have", i+1, cell, key)
				}
				sameCell(fmt.Sprintf("Distributions row %d (%s)", i+1, key), cell, w)
				cells++
			}
		}
	}
	if cells < len(dists)/2 {
		t.Errorf("the Distributions sheet has %d option cells for %d distribution rows", cells, len(dists))
	}
}

// releaseJSONNumbers are the only numbers a release's JSON files (metadata.json,
// manifest.json) may hold, by path ("[]" for any index, a trailing "*" for anything
// below): none is a count of a group's people. A new numeric field must be added here
// only once it is known to reveal nothing the suppression withholds.
var releaseJSONNumbers = []string{
	// The weighting's record (PUBLICATION.md §W): sweeps, margin error, min and max w/d.
	"icss[].sweeps", "icss[].bounded_sweeps", "icss[].margin_error", "icss[].min_weight_ratio", "icss[].max_weight_ratio",
	// What the suppression withheld: counts of rows, cells and tables, not of people.
	"withheld.*", "summary.*",
	// Rows of the published tables, and the files' sizes.
	"tables[].rows", "files[].rows", "files[].bytes",
}

// TestReleaseJSONHoldsNoCount builds a release whose tables withhold small groups (a
// base <10, counts of 1 to 4, QCC's merged 18-64 band) and walks every JSON file it
// publishes: each number must be one releaseJSONNumbers declares. metadata.json used
// to give each ICS's patients, carers and frame, and each raking level's and merged
// level's respondents and frame — exactly the counts shown as <10 in results.csv. The
// workbook's notes repeat the metadata: its ICS table has no count of people either.
// The counts are in the release's internal weighting report, in reports/.
//
// Nor does any published file name a lake object of one person, or give one object's
// rows: metadata.json's lineage used to list every object a table was read from, with
// its key and rows — QCC's late opt-outs, one object per person named by the survey
// record, and its DBS reply's object, whose rows are the deaths that "not reached"
// groups so as not to publish them. Every string of the JSON files, of the CSV files
// and of the workbook's cells is held to name no survey record, no late opt-out's
// object and no DBS reply's; the lineage published is one digest per table.
func TestReleaseJSONHoldsNoCount(t *testing.T) {
	ctx := context.Background()
	fx, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	st := newStore(t)
	m, err := Write(ctx, st, r, "r1")
	if err != nil {
		t.Fatal(err)
	}
	// What names one person: a survey record id, and an object of one person or of
	// one DBS reply (its key, or its name within its partition).
	var perPerson []string
	for key := range fx.Objects {
		if name := key[strings.LastIndexByte(key, '/')+1:]; strings.HasPrefix(name, "optout-") || strings.HasPrefix(name, "dbs-") {
			perPerson = append(perPerson, key, name)
		}
	}
	if len(perPerson) != 2*3 {
		t.Fatalf("the fixture has %d late opt-outs' and DBS replies' objects, want QCC's 2 and 1: the test proves nothing", len(perPerson)/2)
	}
	db, err := warehouse.OpenReadOnly(snap)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := db.QueryContext(ctx, "SELECT survey_record_id FROM sample WHERE wave_id = 'W1'")
	if err != nil {
		t.Fatal(err)
	}
	for ids.Next() {
		var id string
		if err := ids.Scan(&id); err != nil {
			t.Fatal(err)
		}
		perPerson = append(perPerson, id)
	}
	if err := errors.Join(ids.Err(), db.Close()); err != nil {
		t.Fatal(err)
	}
	if len(perPerson) < 3000 {
		t.Fatalf("%d survey records in the fixture's sample", len(perPerson)-6)
	}
	names := func(file, where, s string) {
		t.Helper()
		for _, p := range append(perPerson, "optout-", "/dbs-") {
			if strings.Contains(s, p) {
				t.Errorf("%s: %s = %q names %q: a person, or an object of one person or one DBS reply", file, where, s, p)
				return
			}
		}
	}
	allowed := func(path string) bool {
		for _, a := range releaseJSONNumbers {
			if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(path, p) || path == a {
				return true
			}
		}
		return false
	}
	var walk func(file, path string, v any)
	walk = func(file, path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				p := k
				if path != "" {
					p = path + "." + k
				}
				walk(file, p, e)
			}
		case []any:
			for _, e := range x {
				walk(file, path+"[]", e)
			}
		case float64:
			if !allowed(path) {
				t.Errorf("%s: %s = %v is published, and is not declared a number that reveals nothing", file, path, x)
			}
		case string:
			names(file, path, x)
		}
		if m, ok := v.(map[string]any); ok {
			for k := range m {
				names(file, path+" (a name)", k)
			}
		}
	}
	keys := []string{m.ManifestKey}
	for _, f := range m.Files {
		if f.Kind == "json" {
			keys = append(keys, f.Key)
		}
	}
	if len(keys) < 2 {
		t.Fatalf("the manifest lists no JSON file: %+v", m.Files)
	}
	for _, f := range m.Files {
		names(m.ManifestKey, "a file's key", f.Key)
		if f.Kind != "csv" {
			continue
		}
		b, err := store.ReadAll(ctx, st, f.Key)
		if err != nil {
			t.Fatal(err)
		}
		names(f.Key, "the file", string(b))
	}
	for _, key := range keys {
		b, err := store.ReadAll(ctx, st, key)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		walk(key, "", v)
	}

	// The release withheld small groups, and their counts are known to the internal
	// report, so the walk above had something to miss.
	wr, err := ReadWeighting(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	small := 0
	for _, iw := range wr.ICSs {
		for _, c := range iw.Collapses {
			if c.Respondents < r.params.Disclosure.MinBase {
				small++
			}
		}
		if iw.Patients == 0 {
			t.Errorf("the weighting report has no patients for %s", iw.ICS)
		}
	}
	if small == 0 || m.Summary.RowsWithheld == 0 {
		t.Fatalf("no merged level below the minimum base (%d) and %d rows withheld: the test proves nothing", small, m.Summary.RowsWithheld)
	}
	if strings.HasPrefix(schemas.PublicationWeightingKey("W1", "r1"), schemas.AreaPublish.Prefix()) {
		t.Error("the weighting report is in the public area")
	}

	// The workbook's notes: the ICS table's header names no count of people.
	b, err := store.ReadAll(ctx, st, schemas.DraftKey(schemas.PublishWorkbookKey("W1", "r1")))
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		for i, row := range rows {
			names(schemas.DraftKey(schemas.PublishWorkbookKey("W1", "r1")), fmt.Sprintf("sheet %s row %d", sheet, i+1), strings.Join(row, "\t"))
		}
	}
	rows, err := f.GetRows("Notes")
	if err != nil {
		t.Fatal(err)
	}
	header := false
	for _, row := range rows {
		if len(row) > 0 && row[0] == "ICSs" {
			header = true
			for _, h := range row {
				if strings.Contains(h, "patients") || strings.Contains(h, "carers") || strings.Contains(h, "respondents") || strings.Contains(h, "frame") {
					t.Errorf("the workbook's notes publish a column %q by ICS", h)
				}
			}
		}
	}
	if !header {
		t.Error("the workbook's notes have no ICS table")
	}
}

// TestOldReleaseLineageLeavesMetadata reads a release written before metadata.json
// gave each table's lineage as a digest — its lineage lists every lake object, QCC's
// late opt-outs by survey record and its DBS reply's deaths among them — and writes
// its status: the release is read (not refused, so it can still be rebuilt or
// approved), metadata.json keeps the digest alone, and the objects go to the internal
// lineage in the lake.
func TestOldReleaseLineageLeavesMetadata(t *testing.T) {
	ctx := context.Background()
	_, snap := testWave(t)
	r := compute(t, snap, "W1", testParams())
	st := newStore(t)
	if _, err := Write(ctx, st, r, "r1"); err != nil {
		t.Fatal(err)
	}
	writeAsBefore(t, st, "W1", "r1")
	want, err := ReadLineageReport(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatal(err)
	}
	// The release as the code before wrote it: the objects in metadata.json, no
	// internal lineage.
	key := schemas.PublishMetadataKey("W1", "r1")
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	var old map[string]any
	if err := json.Unmarshal(b, &old); err != nil {
		t.Fatal(err)
	}
	for i, tm := range old["tables"].([]any) {
		tm.(map[string]any)["lineage"] = want.Tables[i].Objects
	}
	if b, err = json.MarshalIndent(old, "", "  "); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("optout-QCC-")) {
		t.Fatal("the old metadata names no late opt-out: the test proves nothing")
	}
	if err := store.PutBytes(ctx, st, key, b); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, schemas.PublicationLineageKey("W1", "r1")); err != nil {
		t.Fatal(err)
	}

	meta, err := ReadMetadata(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatalf("a release with its lineage listed: %v", err)
	}
	for i, tm := range meta.Tables {
		if tm.Lineage.ObjectsSHA256 != want.Tables[i].ObjectsSHA256 {
			t.Errorf("%s: digest %s of the listed objects, want %s", tm.Table, tm.Lineage.ObjectsSHA256, want.Tables[i].ObjectsSHA256)
		}
	}
	if err := Approve(meta, "A. Statistician", time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC), meta.Summary().RakeFailed); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(ctx, st, meta); err != nil {
		t.Fatal(err)
	}
	if b, err = store.ReadAll(ctx, st, key); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"object_key", "optout-", "dbs-"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the published metadata.json still holds %q", s)
		}
	}
	got, err := ReadLineageReport(ctx, st, "W1", "r1")
	if err != nil {
		t.Fatalf("no internal lineage after the status was written: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("internal lineage after the status was written:\n got %+v\nwant %+v", got, want)
	}
}
