package dashdata

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"icesurvey/publication"
	"icesurvey/web"
)

func openSource(t testing.TB) *Source {
	t.Helper()
	w, _ := buildFixture(t)
	src, err := Open(context.Background(), Config{Warehouse: w.Warehouse.Path(), SnapshotDir: t.TempDir(),
		ICSNames: map[string]string{"QAA": "Alpha"}, WaveNames: map[string]string{"W1": "Test wave"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func TestSourceServesLiveAndReleasedFigures(t *testing.T) {
	ctx := context.Background()
	src := openSource(t)
	waves, err := src.Waves(ctx)
	if err != nil || len(waves) != 1 || waves[0].Name != "Test wave" || len(waves[0].ICSs) != 4 || waves[0].ICSs[0].Name != "Alpha" {
		t.Fatalf("waves: %+v %v", waves, err)
	}
	themes, err := src.Themes(ctx, "W1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	brochure := 0
	for _, th := range themes {
		ids = append(ids, th.ID)
		if th.Brochure {
			brochure++
		}
	}
	want := []string{"care-administration", "care-integration", "waiting-times", "emotional-support", "services", "personalisation", "coordination", "proactive", "wellbeing"}
	if !reflect.DeepEqual(ids, want) || brochure != 4 {
		t.Errorf("themes %v (brochure %d), want %v", ids, brochure, want)
	}

	// Live figures and the release made from the same snapshot agree.
	for _, q := range []web.Query{
		{Wave: "W1", ICS: "QAA", RespondentType: web.RespondentPatient, Theme: "care-administration"},
		{Wave: "W1", ICS: "QBB", RespondentType: web.RespondentPatient, Theme: "coordination", Breakdown: web.BreakdownAgeBand},
		{Wave: "W1", ICS: "QAA", RespondentType: web.RespondentCarer, Theme: "wellbeing"},
	} {
		live, err := src.Measures(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		q.Release = testRelease
		rel, err := src.Measures(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		if len(live.Measures) == 0 || !reflect.DeepEqual(live.Measures, rel.Measures) {
			t.Errorf("%+v: live and released figures differ:\n%+v\n%+v", q, live.Measures, rel.Measures)
		}
		for _, m := range live.Measures {
			if m.Withheld() && (m.PctPositive != 0 || (m.Base != 0 && !m.BaseShown) || m.CILower != 0 || m.CIUpper != 0 || (m.BaseShown && m.Status != "S")) {
				t.Errorf("withheld measure carries numbers: %+v", m)
			}
		}
	}
	// The tiny ICS: every figure withheld, so the query is refused.
	if _, err := src.Measures(ctx, web.Query{Wave: "W1", ICS: "QEE", RespondentType: web.RespondentPatient, Theme: "coordination", Breakdown: web.BreakdownGender}); !errors.Is(err, web.ErrTooFewResponses) {
		t.Errorf("tiny ICS by gender: %v", err)
	}
	if _, err := src.Measures(ctx, web.Query{Wave: "W1", ICS: "QAA", RespondentType: web.RespondentPatient, Theme: "coordination", Release: "R9"}); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("unknown release: %v", err)
	}
	// Release ids are a wave's own (every wave's first is r1): W1's R1, read above, is
	// not another wave's R1.
	if _, err := src.Measures(ctx, web.Query{Wave: "W2", ICS: "QAA", RespondentType: web.RespondentPatient, Theme: "care-administration", Release: testRelease}); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("release %s of a wave that has none: %v", testRelease, err)
	}
	rels, err := src.Releases(ctx, "W1")
	if err != nil || len(rels) != 1 || rels[0].ID != testRelease || rels[0].Status != "draft" {
		t.Errorf("releases: %+v %v", rels, err)
	}

	// Fieldwork: the release's outcome groups, adding up to the sample where published.
	prog, err := src.Progress(ctx, "W1")
	if err != nil || len(prog) != 4 {
		t.Fatalf("progress: %+v %v", prog, err)
	}
	for _, p := range prog {
		if p.SampledWithheld {
			continue
		}
		if !p.GroupWithheld[0] && !p.GroupWithheld[1] && !p.GroupWithheld[2] && p.Groups[0]+p.Groups[1]+p.Groups[2] != p.Sampled {
			t.Errorf("%s: groups %v do not add up to %d", p.ICS.Code, p.Groups, p.Sampled)
		}
	}
	if prog[0].Sampled != 900 || prog[0].Groups[0] != 300 {
		t.Errorf("QAA progress: %+v", prog[0])
	}
	// Practices: checked by disclosure control; a withheld row has no numbers.
	prs, err := src.PracticeRates(ctx, "W1", "QAA")
	if err != nil || len(prs) == 0 {
		t.Fatalf("practices: %v %v", prs, err)
	}
	total := 0
	for _, p := range prs {
		if p.Withheld() && (p.Eligible != 0 || p.Completed != 0 || p.Rate != 0) {
			t.Errorf("withheld practice carries numbers: %+v", p)
		}
		total += p.Eligible
	}
	if total == 0 {
		t.Error("no practice published")
	}
}

func TestSourceSaysWhenNewerDataWaits(t *testing.T) {
	ctx := context.Background()
	src := openSource(t)
	st, err := src.DataStatus(ctx)
	if err != nil || st.AsOf.IsZero() || st.Newer {
		t.Fatalf("status: %+v %v", st, err)
	}
	if did, err := src.Refresh(ctx); err != nil || did {
		t.Errorf("refresh without a change: %v %v", did, err)
	}
	// The warehouse changes (a later daily load): newer data waits until the refresh.
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(src.cfg.Warehouse, later, later); err != nil {
		t.Fatal(err)
	}
	if st, _ := src.DataStatus(ctx); !st.Newer || !st.NewerAsOf.Equal(later.UTC().Truncate(time.Second)) && st.NewerAsOf.Before(later.Add(-time.Second)) {
		t.Errorf("after a change: %+v", st)
	}
	if did, err := src.Refresh(ctx); err != nil || !did {
		t.Fatalf("refresh after a change: %v %v", did, err)
	}
	if st, _ := src.DataStatus(ctx); st.Newer {
		t.Errorf("after the refresh: %+v", st)
	}
}

func TestResponseByDayFromCompletions(t *testing.T) {
	ctx := context.Background()
	src := openSource(t)
	d, err := src.ResponseByDay(ctx, "W1", "QAA")
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Days) == 0 { // pubsynth completes everyone on one day
		t.Fatalf("QAA's daily response: %d days", len(d.Days))
	}
	// The threshold the days were checked against, for the page to say (the
	// fixture's release has the default min_count).
	if d.MinCount != 5 {
		t.Errorf("QAA's daily response says min_count %d, want 5", d.MinCount)
	}
	last := d.Days[len(d.Days)-1]
	prog, _ := src.Progress(ctx, "W1")
	// The line ends at the overview's adjusted response rate (every completion counted).
	if last.Withheld || last.Responses != prog[0].Groups[0] || last.Rate < prog[0].Rate-1e-9 || last.Rate > prog[0].Rate+1e-9 {
		t.Errorf("last day %+v, progress %+v", last, prog[0])
	}
	for i := 1; i < len(d.Days); i++ {
		if !d.Days[i].Withheld && !d.Days[i-1].Withheld && d.Days[i].Responses < d.Days[i-1].Responses {
			t.Errorf("cumulative responses fell on day %d", d.Days[i].Day)
		}
		if r := d.Days[i].Responses; r > 0 && r < 5 && !d.Days[i].Withheld {
			t.Errorf("day %d shows a small count %d", d.Days[i].Day, r)
		}
	}
}

// An ICS with a closing record (the fixture's QEE) is shown closed, and its days stop
// at the wave's last completion or mailing instead of counting on with the calendar; one
// whose fieldwork ended early (QCC, cancelled) is shown so; the others are still in
// fieldwork, on the day of the snapshot. (The fixture completes
// everyone on one day, so both are on day 0 here.)
func TestClosedICSIsShownClosed(t *testing.T) {
	ctx := context.Background()
	src := openSource(t)
	prog, err := src.Progress(ctx, "W1")
	if err != nil || len(prog) != 4 {
		t.Fatalf("progress: %+v %v", prog, err)
	}
	byCode := map[string]web.ICSProgress{}
	for _, p := range prog {
		byCode[p.ICS.Code] = p
	}
	qee, qaa, qcc := byCode["QEE"], byCode["QAA"], byCode["QCC"]
	if qee.Stage != "closed" || qaa.Stage != "fieldwork" || qcc.Stage != "ended early" {
		t.Fatalf("stages: QEE %q, QAA %q, QCC %q; want closed, fieldwork and ended early (its audit trail says so)", qee.Stage, qaa.Stage, qcc.Stage)
	}
	if qee.FieldworkDay > qaa.FieldworkDay {
		t.Errorf("QEE closed on day %d, after QAA's day %d", qee.FieldworkDay, qaa.FieldworkDay)
	}
	d, err := src.ResponseByDay(ctx, "W1", "QEE")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Days); n > 0 && d.Days[n-1].Day != qee.FieldworkDay {
		t.Errorf("QEE's line ends on day %d, its last day is %d", d.Days[n-1].Day, qee.FieldworkDay)
	}
}

// An ICS is named by the configuration first, then by the boards' table; an unknown
// code has no name (the pages show the code).
func TestICSName(t *testing.T) {
	s := &Source{cfg: Config{ICSNames: map[string]string{"QMM": "Norfolk & Waveney (local name)", "QAA": "Alpha"}}}
	for _, tc := range []struct{ code, want string }{
		{"QMM", "Norfolk & Waveney (local name)"},
		{"QAA", "Alpha"},
		{"QJK", "Devon"},
		{"QZZ", ""},
	} {
		if got := s.icsName(tc.code); got != tc.want {
			t.Errorf("icsName(%q) = %q, want %q", tc.code, got, tc.want)
		}
	}
}

// A figure withheld by secondary suppression (S) is labelled as such, live and
// released, on the page and in its CSV — not as "fewer than 10 responses" — and its
// base is shown exactly where the release publishes it; a B figure says its base is
// under the configured minimum.
func TestSecondarySuppressionIsLabelledAsSuch(t *testing.T) {
	ctx := context.Background()
	_, rel := buildFixture(t)
	src := openSource(t)
	ts, c := dashboardServer(t, src)
	breakdownOf := map[string]string{}
	for b, gvar := range groupVariable {
		breakdownOf[gvar] = b
	}
	checked := map[string]int{}
	for _, r := range rel.Results() {
		st := r.Status.String()
		if r.Geography != publication.GeographyICS || (st != "S" && st != "B") || checked[st] >= 3 {
			continue
		}
		theme := ""
		for _, th := range src.cat.themes {
			if src.cat.inTheme(th, r.QuestionID) {
				theme = th.ID
				break
			}
		}
		if theme == "" {
			continue
		}
		base, baseOK := r.BaseUnweighted.Value()
		for _, release := range []string{"", testRelease} {
			q := web.Query{Wave: "W1", ICS: r.ICS, RespondentType: r.RespondentType, Theme: theme, Breakdown: breakdownOf[r.GroupVariable], Release: release}
			set, err := src.Measures(ctx, q)
			if errors.Is(err, web.ErrTooFewResponses) {
				continue
			}
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			if set.MinBase != 10 || set.MinCount != 5 {
				t.Errorf("thresholds %d, %d", set.MinBase, set.MinCount)
			}
			text := src.questionText(r.QuestionID, r.Measure)
			group := ""
			if r.GroupVariable != publication.GroupAll {
				group = levelLabel(r.GroupVariable, r.GroupLevel)
			}
			var m *web.Measure
			for i := range set.Measures {
				if set.Measures[i].QuestionText == text && set.Measures[i].Group == group {
					m = &set.Measures[i]
				}
			}
			if m == nil {
				t.Fatalf("%+v: no measure %q %q", q, text, group)
			}
			if m.Status != st || m.BaseShown != (baseOK && st == "S") || (m.BaseShown && int64(m.Base) != base) || (!m.BaseShown && m.Base != 0) {
				t.Errorf("%+v %s: measure %+v, the release's status %q base %d (%v)", q, text, *m, st, base, baseOK)
			}
			// The CSV the page offers: the row says why, and shows the base only as the release does.
			label := text
			if group != "" {
				label = group
			}
			v := url.Values{"ics": {q.ICS}, "respondent": {q.RespondentType}, "breakdown": {q.Breakdown}}
			if release != "" {
				v.Set("release", release)
			}
			page := ts.URL + "/waves/W1/themes/" + theme
			status, body := fetch(t, c, page+"?"+v.Encode())
			if status != http.StatusOK {
				t.Fatalf("%s: %d", page, status)
			}
			for _, hit := range downloadHref.FindAllStringSubmatch(body, -1) {
				href := html.UnescapeString(hit[1])
				if !strings.Contains(href, ".csv") {
					continue
				}
				_, file := fetch(t, c, ts.URL+href)
				if group != "" && !strings.Contains(strings.SplitN(file, "\n\n", 2)[0], text) {
					continue // another question's download: its rows carry the same group labels
				}
				for _, row := range csvTableRows(t, file) {
					if row[0] != label {
						continue
					}
					wantValue, wantBase := "withheld: fewer than 10 responses", "fewer than 10"
					if st == "S" {
						wantValue, wantBase = "withheld: would reveal another withheld figure (secondary suppression)", "withheld"
						if baseOK {
							wantBase = itoa64(base)
						}
					}
					if row[1] != wantValue || row[len(row)-1] != wantBase {
						t.Errorf("%s: row %q, want %q … %q", href, row, wantValue, wantBase)
					}
					checked[st]++
				}
			}
			if st == "S" && !strings.Contains(body, "secondary suppression") {
				t.Errorf("%s: the page does not say secondary suppression", page)
			}
		}
	}
	t.Logf("rows checked by status: %v", checked)
	if checked["S"] == 0 || checked["B"] == 0 {
		t.Fatalf("checked %v: the fixture has no S or no B row on a page", checked)
	}
}

// After an ICS's fieldwork has ended, its practices' outcomes say "Not completed", not
// "Not yet completed"; an ICS still in fieldwork keeps "yet". The wave's heading gives
// its stage.
func TestOutcomesAfterCloseSayNotCompleted(t *testing.T) {
	src := openSource(t)
	ts, c := dashboardServer(t, src)
	for _, tc := range []struct{ ics, want, not string }{
		{"QEE", ",Not completed", "Not yet"}, // closed
		{"QCC", ",Not completed", "Not yet"}, // ended early
		{"QAA", ",Not yet completed", ",Not completed"},
	} {
		_, body := fetch(t, c, ts.URL+"/waves/W1/practices/download/practices.csv?ics="+tc.ics)
		if !strings.Contains(body, tc.want) || strings.Contains(body, tc.not) {
			t.Errorf("%s: practices.csv lacks %q or has %q:\n%.400s", tc.ics, tc.want, tc.not, body)
		}
	}
	if _, body := fetch(t, c, ts.URL+"/waves/W1"); !strings.Contains(body, "Test wave: fieldwork</h1>") {
		t.Errorf("the overview's heading is not the wave's stage")
	}
}
