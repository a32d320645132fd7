package dashdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"icesurvey/localindex"
	"icesurvey/web"
)

// TestFreeTextThemeCounts reads the fixture's response_themes through the Source: only
// the codes that stand are counted, a page gets the integration themes themes.yaml
// maps to it, and the small counts are withheld with no number.
func TestFreeTextThemeCounts(t *testing.T) {
	ctx := context.Background()
	src := openSource(t)
	got, err := src.FreeTextThemeCounts(ctx, "W1", "QBB", web.RespondentPatient, "care-integration")
	if err != nil {
		t.Fatal(err)
	}
	// care-integration: communication, holistic, information, in codebook order.
	var ids []string
	byID := map[string]web.FreeTextThemeCount{}
	for _, c := range got {
		ids = append(ids, c.Theme)
		byID[c.Theme] = c
		for _, n := range []web.Count{c.Negative, c.Positive} {
			if n.Withheld && n.N != 0 {
				t.Errorf("%s: a withheld count carries %d", c.Theme, n.N)
			}
		}
	}
	if strings.Join(ids, ",") != "communication,information,holistic" && strings.Join(ids, ",") != "communication,holistic,information" {
		t.Fatalf("care-integration's themes: %v", ids)
	}
	if c := byID["communication"]; c.Negative != (web.Count{N: 40}) || c.Positive != (web.Count{N: 12}) || c.Name == "" {
		t.Errorf("communication: %+v, want 40 negative, 12 positive (final codes only)", c)
	}
	if c := byID["holistic"]; !c.Positive.Withheld {
		t.Errorf("holistic: %+v, the positive count of 2 is served", c)
	}
	if c := byID["information"]; c.Negative != (web.Count{N: 18}) || c.Positive != (web.Count{N: 9}) {
		t.Errorf("information: %+v", c)
	}
	coord, err := src.FreeTextThemeCounts(ctx, "W1", "QBB", web.RespondentPatient, "coordination")
	if err != nil {
		t.Fatal(err)
	}
	// Continuity's 3 negative comments are withheld, and so is its 30 positive: the two
	// are one row of the checked table, and one would give the other away.
	if len(coord) != 2 || coord[0].Theme != "communication" || coord[1].Theme != "continuity" || coord[1].Negative != (web.Count{Withheld: true}) || coord[1].Positive.N != 0 {
		t.Errorf("coordination: %+v, want communication and continuity, its 3 negative withheld", coord)
	}
	// QEE's few comments: every count small, every one withheld or zero.
	qee, err := src.FreeTextThemeCounts(ctx, "W1", "QEE", web.RespondentPatient, "care-integration")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range qee {
		for _, n := range []web.Count{c.Negative, c.Positive} {
			if !n.Withheld && n.N != 0 {
				t.Errorf("QEE %s: %d served", c.Theme, n.N)
			}
		}
	}
	// A section without integration themes, an unknown theme and an unknown ICS.
	if none, err := src.FreeTextThemeCounts(ctx, "W1", "QBB", web.RespondentPatient, "services"); err != nil || none != nil {
		t.Errorf("services: %v %v, want none", none, err)
	}
	if _, err := src.FreeTextThemeCounts(ctx, "W1", "QBB", web.RespondentPatient, "nope"); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("unknown theme: %v", err)
	}
	if _, err := src.FreeTextThemeCounts(ctx, "W1", "QZZ", web.RespondentPatient, "care-integration"); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("unknown ICS: %v", err)
	}
}

// TestFreeTextThemeCountsAgreeWithLocalIndex: the dashboard's counts are the profile
// report's (localindex.ThemeCounts), theme by theme, for every ICS and respondent type.
func TestFreeTextThemeCountsAgreeWithLocalIndex(t *testing.T) {
	ctx := context.Background()
	w, _ := buildFixture(t)
	src := openSource(t)
	compared := 0
	for _, ics := range []string{"QAA", "QBB", "QCC", "QEE"} {
		for _, typ := range []string{web.RespondentPatient, web.RespondentCarer} {
			var want []localindex.ThemeCount
			if err := w.Warehouse.Read(ctx, func(db *sql.DB) (err error) {
				want, err = localindex.ThemeCounts(ctx, db, "W1", ics, typ)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			sn, _ := src.snap()
			got, err := src.themeCounts(ctx, sn, "W1", ics, typ)
			if err != nil {
				t.Fatal(err)
			}
			nothing := true
			for _, c := range got {
				nothing = nothing && c.Negative == (web.Count{}) && c.Positive == (web.Count{})
			}
			if nothing {
				// Nothing coded: the dashboard says so with zeros, where the check
				// would withhold every row for its base of 0.
				for _, c := range want {
					if !c.Negative.Withheld && c.Negative.Text != "0" || !c.Positive.Withheld && c.Positive.Text != "0" {
						t.Errorf("%s %s: the dashboard has nothing coded, localindex has %+v", ics, typ, c)
					}
				}
				continue
			}
			compared++
			if len(got) != len(want) {
				t.Fatalf("%s %s: %d themes, localindex %d", ics, typ, len(got), len(want))
			}
			show := func(c web.Count) string {
				if c.Withheld {
					return "withheld"
				}
				return fmt.Sprint(c.N)
			}
			for i := range want {
				for _, p := range []struct {
					got  web.Count
					want localindex.Figure
				}{{got[i].Negative, want[i].Negative}, {got[i].Positive, want[i].Positive}} {
					wantText := p.want.Text
					if p.want.Withheld {
						wantText = "withheld"
					}
					if got[i].Theme != want[i].Theme || show(p.got) != wantText {
						t.Errorf("%s %s %s: dashboard %s, localindex %s %q", ics, typ, want[i].Theme, show(p.got), want[i].Theme, wantText)
					}
				}
			}
		}
	}
	if compared < 4 {
		t.Fatalf("only %d ICS and respondent types have codes: not a test", compared)
	}
}

// TestThemePagesShowFreeTextCountsWithoutWithheldOnes serves every theme page of every
// ICS and respondent type and checks its free-text table against the checked counts:
// each row shown as they are, and a withheld count as "withheld" with no number.
func TestThemePagesShowFreeTextCountsWithoutWithheldOnes(t *testing.T) {
	ctx := context.Background()
	src := openSource(t)
	ts, c := dashboardServer(t, src)
	themes, err := src.Themes(ctx, "W1")
	if err != nil {
		t.Fatal(err)
	}
	rowRE := regexp.MustCompile(`<tr class="nhsuk-table__row"><th class="nhsuk-table__header" scope="row">([^<]*)</th><td class="[^"]*">([^<]*)</td><td class="[^"]*">([^<]*)</td></tr>`)
	withheldShown, countsShown, notCoded := 0, 0, 0
	for _, ics := range []string{"QAA", "QBB", "QCC", "QEE"} {
		for _, th := range themes {
			for _, typ := range th.RespondentTypes {
				want, err := src.FreeTextThemeCounts(ctx, "W1", ics, typ, th.ID)
				if err != nil {
					t.Fatal(err)
				}
				page := ts.URL + "/waves/W1/themes/" + th.ID + "?" + url.Values{"ics": {ics}, "respondent": {typ}}.Encode()
				status, body := fetch(t, c, page)
				if status != http.StatusOK {
					t.Fatalf("%s: %d", page, status)
				}
				if (len(want) > 0) != strings.Contains(body, `id="free-text-themes"`) {
					t.Errorf("%s: free-text section shown %v with %d themes", page, !(len(want) > 0), len(want))
				}
				i := strings.Index(body, `id="free-text-themes"`)
				if i < 0 {
					continue
				}
				rows := rowRE.FindAllStringSubmatch(body[i:], -1)
				coded := false
				for _, w := range want {
					coded = coded || w.Negative.Withheld || w.Positive.Withheld || w.Negative.N+w.Positive.N > 0
				}
				if !coded {
					notCoded++
					if !strings.Contains(body, "has been coded to these themes yet") {
						t.Errorf("%s: nothing coded, and the page does not say so", page)
					}
					if len(rows) != 0 {
						t.Errorf("%s: nothing coded, but %d rows shown", page, len(rows))
					}
					continue
				}
				if len(rows) != len(want) {
					t.Fatalf("%s: %d free-text rows, want %d", page, len(rows), len(want))
				}
				for k, w := range want {
					for j, n := range []web.Count{w.Negative, w.Positive} {
						cell := rows[k][2+j]
						if n.Withheld {
							withheldShown++
							if cell != "withheld" {
								t.Errorf("%s: %s shows %q where the count is withheld", page, w.Name, cell)
							}
						} else {
							countsShown++
							if cell != fmt.Sprint(n.N) {
								t.Errorf("%s: %s shows %q, want %d", page, w.Name, cell, n.N)
							}
						}
					}
				}
			}
		}
	}
	if withheldShown == 0 || countsShown == 0 || notCoded == 0 {
		t.Fatalf("%d withheld, %d counts shown, %d pages with nothing coded: not a test", withheldShown, countsShown, notCoded)
	}
	t.Logf("%d free-text counts shown and %d withheld, %d pages with nothing coded, checked on every theme page", countsShown, withheldShown, notCoded)
}
