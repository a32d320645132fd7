package dashdata

import (
	"bytes"
	"context"
	"crypto/tls"
	"database/sql"
	"encoding/csv"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/crypto/bcrypt"

	"icesurvey/access"
	"icesurvey/disclosure"
	"icesurvey/publication"
	"icesurvey/web"
	"icesurvey/web/chart"
)

// The "Done when": for a synthetic wave, every number the dashboard serves —
// every page, chart, table, CSV and XLSX, live and released — is compared with the
// release's suppression marks. The test computes the same wave once more with
// disclosure control all but turned off (min base 2, min count 1) to know what each
// withheld figure would have been, and fails if any of those values is served where
// the release withholds it (unless the same text is also a figure the release
// publishes on that page, which a coincidence of rounding can make it). Every table row
// is also checked against the release's marks: a withheld row shows no number, and
// the page has exactly as many withheld and published rows as the release.

const crawlUser = "all.analyst@example.nhs.uk"

func dashboardServer(t *testing.T, src *Source) (*httptest.Server, *http.Client) {
	return dashboardServerTLS(t, src, true)
}

func dashboardServerTLS(t *testing.T, src *Source, useTLS bool) (*httptest.Server, *http.Client) {
	t.Helper()
	policy, err := access.Parse("access.yaml", []byte("version: 1\nusers:\n  - id: "+crawlUser+"\n    name: All Analyst\n    analyst: [ALL]\n    administrator: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("pw-for-tests-only"), access.MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	lu, err := access.ParseLocalUsers("users.yaml", []byte("users:\n  - id: "+crawlUser+"\n    password_bcrypt: \""+string(hash)+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := web.NewServer(web.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, web.Deps{Policy: policy, LocalUsers: lu,
		Freshness: src, Waves: src, Fieldwork: src, Results: src, Releases: src, Practices: src, FreeTextThemes: src, Linkage: src})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv)
	if useTLS {
		ts.StartTLS()
	} else {
		ts.Start()
	}
	t.Cleanup(ts.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the test's own certificate
	resp, err := c.PostForm(ts.URL+"/sign-in", url.Values{"username": {crawlUser}, "password": {"pw-for-tests-only"}, "next": {"/"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	return ts, c
}

func fetch(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type rowKey struct{ ics, gvar, glevel, typ, q, measure string }

var (
	percentToken = regexp.MustCompile(`\d+(?:\.\d+)?%`)
	downloadHref = regexp.MustCompile(`href="([^"]+/download/[^"]+\.(?:csv|xlsx)[^"]*)"`)
	digits       = regexp.MustCompile(`\d`)
)

func pct(v float64) string { return chart.Percent(v / 100) }

func TestNoWithheldFigureIsServedAnywhere(t *testing.T) {
	ctx := context.Background()
	w, rel := buildFixture(t)
	src := openSource(t)
	ts, c := dashboardServer(t, src)

	// What the withheld figures would have been.
	loose := publication.DefaultParams()
	loose.Disclosure = disclosure.Params{MinBase: 2, CautionBase: 2, MinCount: 1}
	var raw *publication.Results
	if err := w.Warehouse.Read(ctx, func(db *sql.DB) (err error) { raw, err = publication.Compute(ctx, db, "W1", loose); return err }); err != nil {
		t.Fatal(err)
	}
	rawValues := map[rowKey][]string{}
	for _, r := range raw.Results() {
		k := rowKey{r.ICS, r.GroupVariable, r.GroupLevel, r.RespondentType, r.QuestionID, r.Measure}
		for _, f := range []publication.Figure{r.PctPositive, r.CILower, r.CIUpper} {
			if v, ok := f.Value(); ok {
				rawValues[k] = append(rawValues[k], pct(v))
			}
		}
	}
	marks := rel.Results()
	withheldRows := 0
	for _, r := range marks {
		if r.Status.Withheld() && r.Geography == publication.GeographyICS {
			withheldRows++
		}
	}
	if withheldRows < 20 {
		t.Fatalf("the synthetic wave withholds only %d rows: not a test of suppression", withheldRows)
	}

	themes, err := src.Themes(ctx, "W1")
	if err != nil {
		t.Fatal(err)
	}
	breakdowns := map[string]string{web.BreakdownNone: publication.GroupAll, web.BreakdownAgeBand: "age_band", web.BreakdownGender: "gender",
		web.BreakdownEthnicity: "ethnicity", web.BreakdownEFIBand: "efi_band"}
	documents, leaksChecked, rowsChecked := 0, 0, 0
	for _, ics := range []string{"QAA", "QBB", "QCC", "QEE"} {
		for _, th := range themes {
			def, _ := src.cat.theme(th.ID)
			for _, typ := range th.RespondentTypes {
				for b, gvar := range breakdowns {
					for _, release := range []string{"", testRelease} {
						// The release's rows this page shows, and what may and may not appear on it.
						var inScope []publication.ResultRow
						allowed := map[string]bool{}
						for _, r := range marks {
							if r.RespondentType != typ || !src.cat.inTheme(def, r.QuestionID) {
								continue
							}
							for _, f := range []publication.Figure{r.PctPositive, r.CILower, r.CIUpper} {
								if v, ok := f.Value(); ok && (r.ICS == ics || r.Geography == publication.GeographyEngland) {
									allowed[pct(v)] = true
								}
							}
							if r.Geography == publication.GeographyICS && r.ICS == ics && r.GroupVariable == gvar {
								inScope = append(inScope, r)
							}
						}
						forbidden := map[string]bool{}
						nWithheld, nPublished := 0, 0
						for _, r := range inScope {
							if r.Status.Withheld() {
								nWithheld++
								for _, v := range rawValues[rowKey{r.ICS, r.GroupVariable, r.GroupLevel, r.RespondentType, r.QuestionID, r.Measure}] {
									if !allowed[v] {
										forbidden[v] = true
									}
								}
							} else {
								nPublished++
							}
						}
						q := url.Values{"ics": {ics}, "respondent": {typ}, "breakdown": {b}}
						if release != "" {
							q.Set("release", release)
						}
						page := ts.URL + "/waves/W1/themes/" + th.ID + "?" + q.Encode()
						status, body := fetch(t, c, page)
						if status != http.StatusOK {
							t.Fatalf("%s: %d", page, status)
						}
						docs := map[string]string{page: body}
						var tableRows [][]string
						for _, m := range downloadHref.FindAllStringSubmatch(body, -1) {
							href := html.UnescapeString(m[1])
							st, file := fetch(t, c, ts.URL+href)
							if st != http.StatusOK {
								t.Fatalf("%s: %d", href, st)
							}
							if strings.Contains(href, ".xlsx") {
								docs[href], _ = xlsxCells(t, file)
							} else {
								docs[href] = file
								tableRows = append(tableRows, csvTableRows(t, file)...)
							}
						}
						refused := strings.Contains(body, `id="refused"`)
						if refused != (nPublished == 0) {
							t.Errorf("%s: refused %v, but the release publishes %d rows of it", page, refused, nPublished)
						}
						for name, doc := range docs {
							documents++
							for _, tok := range percentToken.FindAllString(doc, -1) {
								leaksChecked++
								if forbidden[tok] {
									t.Errorf("%s serves %s, a value the release withholds", name, tok)
								}
							}
						}
						if refused {
							continue
						}
						// Row by row: withheld rows hold no number, and the counts match the release.
						gotWithheld, gotPublished := 0, 0
						for _, row := range tableRows {
							rowsChecked++
							if strings.HasPrefix(row[1], "withheld") {
								gotWithheld++
								for _, cell := range withheldRowCells(row) {
									if digits.MatchString(strings.ReplaceAll(cell, "fewer than 10", "")) {
										t.Errorf("%s: withheld row %q shows a number: %q", page, row[0], cell)
									}
								}
							} else {
								gotPublished++
							}
						}
						if gotWithheld != nWithheld || gotPublished != nPublished {
							t.Errorf("%s: %d withheld and %d published rows served, the release has %d and %d", page, gotWithheld, gotPublished, nWithheld, nPublished)
						}
					}
				}
			}
		}
	}

	// The carers' pages (every theme of one ICS's carers), live and released, and the
	// home and releases pages.
	scoped := func(ics, typ string) (forbidden, allowed map[string]bool) {
		forbidden, allowed = map[string]bool{}, map[string]bool{}
		for _, r := range marks {
			if (ics == "" || r.ICS == ics || r.Geography == publication.GeographyEngland) && (typ == "" || r.RespondentType == typ) {
				for _, f := range []publication.Figure{r.PctPositive, r.CILower, r.CIUpper} {
					if v, ok := f.Value(); ok {
						allowed[pct(v)] = true
					}
				}
			}
		}
		for _, r := range marks {
			if r.Status.Withheld() && (ics == "" || r.ICS == ics) && (typ == "" || r.RespondentType == typ) {
				for _, v := range rawValues[rowKey{r.ICS, r.GroupVariable, r.GroupLevel, r.RespondentType, r.QuestionID, r.Measure}] {
					if !allowed[v] {
						forbidden[v] = true
					}
				}
			}
		}
		return forbidden, allowed
	}
	pages := map[string]string{"/": "", "/waves/W1/releases": ""}
	for _, ics := range []string{"QAA", "QBB", "QCC", "QEE"} {
		pages["/waves/W1/carers?ics="+ics] = ics
		pages["/waves/W1/carers?ics="+ics+"&release="+testRelease] = ics
	}
	for p, ics := range pages {
		forbidden, _ := scoped(ics, map[bool]string{true: web.RespondentCarer, false: ""}[ics != ""])
		status, body := fetch(t, c, ts.URL+p)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", p, status)
		}
		docs := map[string]string{p: body}
		for _, m := range downloadHref.FindAllStringSubmatch(body, -1) {
			href := html.UnescapeString(m[1])
			_, file := fetch(t, c, ts.URL+href)
			if strings.Contains(href, ".xlsx") {
				docs[href], _ = xlsxCells(t, file)
			} else {
				docs[href] = file
				for _, row := range csvTableRows(t, file) {
					rowsChecked++
					if strings.HasPrefix(row[1], "withheld") {
						for _, cell := range withheldRowCells(row) {
							if digits.MatchString(strings.ReplaceAll(cell, "fewer than 10", "")) {
								t.Errorf("%s: withheld row %q shows a number: %q", href, row[0], cell)
							}
						}
					}
				}
			}
		}
		for name, doc := range docs {
			documents++
			for _, tok := range percentToken.FindAllString(doc, -1) {
				leaksChecked++
				if forbidden[tok] {
					t.Errorf("%s serves %s, a value the release withholds", name, tok)
				}
			}
		}
	}
	// Response by practice: checked by disclosure control in dashdata; a withheld
	// practice shows no number on the page or in its files.
	for _, ics := range []string{"QAA", "QBB", "QCC", "QEE"} {
		for _, f := range []string{"csv", "xlsx"} {
			st, file := fetch(t, c, ts.URL+"/waves/W1/practices/download/practices."+f+"?ics="+ics)
			if st != http.StatusOK {
				t.Fatalf("practices %s %s: %d", ics, f, st)
			}
			documents++
			if f == "xlsx" {
				continue
			}
			for _, row := range csvTableRows(t, file) {
				rowsChecked++
				if strings.HasPrefix(row[1], "withheld") {
					for _, cell := range row[1:] {
						if digits.MatchString(strings.ReplaceAll(cell, "fewer than 10", "")) {
							t.Errorf("practices of %s: withheld row %q shows a number: %q", ics, row[0], cell)
						}
					}
				}
			}
		}
	}
	// The overview's counts are the release's response-rate table, mark for mark.
	_, file := fetch(t, c, ts.URL+"/waves/W1/download/progress.csv")
	rows := csvTableRows(t, file)
	rates := map[string]publication.ResponseRateRow{}
	for _, r := range rel.ResponseRates() {
		rates[r.ICS] = r
	}
	for _, row := range rows {
		code := row[0]
		if i := strings.LastIndex(code, "("); i >= 0 {
			code = code[i+1 : len(code)-1]
		}
		r := rates[code]
		n, ok := r.Groups[0].Value()
		if want := map[bool]string{true: itoa64(n), false: "withheld"}[ok && !r.GroupStatus[0].Withheld()]; row[4] != want {
			t.Errorf("progress %s: completed %q, the release %q", code, row[4], want)
		}
		rowsChecked++
	}
	t.Logf("%d documents served (pages, CSV, XLSX), %d percentages checked against %d withheld rows of the release; %d table rows checked against its marks",
		documents, leaksChecked, withheldRows, rowsChecked)
}

// withheldRowCells are the cells of a withheld row that must hold no number: all but
// the label, and but the base of a secondarily suppressed figure, which the release
// publishes (TestSecondarySuppressionIsLabelledAsSuch checks it is the release's).
func withheldRowCells(row []string) []string {
	if strings.Contains(row[1], "secondary suppression") {
		return row[1 : len(row)-1]
	}
	return row[1:]
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

// csvTableRows returns a download's table rows (after the metadata block and the header).
func csvTableRows(t *testing.T, file string) [][]string {
	t.Helper()
	blocks := strings.SplitN(file, "\n\n", 3)
	if len(blocks) < 2 {
		t.Fatalf("CSV without a metadata block: %.200s", file)
	}
	rows, err := csv.NewReader(strings.NewReader(blocks[1])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 1 {
		return nil
	}
	return rows[1:]
}

// xlsxCells is every cell of every sheet of a workbook, one per line.
func xlsxCells(t *testing.T, file string) (string, error) {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader([]byte(file)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, _ := f.GetRows(sh)
		for _, r := range rows {
			b.WriteString(strings.Join(r, "\t") + "\n")
		}
	}
	return b.String(), nil
}
