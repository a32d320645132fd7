package surveysim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"icesurvey/questionnaire"
	"icesurvey/responses"
	"icesurvey/schemas"
	"icesurvey/store"
)

var (
	start    = time.Date(2026, 2, 2, 0, 0, 0, 0, time.UTC)
	schedule = map[string]int{"invitation": 0, "sms1": 3, "reminder1": 14, "sms2": 17, "reminder2": 28, "sms3": 31}
)

func testPeople(n int, prefix string) []Person {
	ages := []string{"18-64", "65-74", "75-84", "85+"}
	out := make([]Person, n)
	for i := range out {
		out[i] = Person{
			SurveyRecordID: fmt.Sprintf("%s%05d", prefix, i),
			AgeBand:        ages[(i*7)%4],
			Gender:         []string{"1", "2"}[i%2],
			EFIBand:        []string{"moderate", "moderate", "severe"}[i%3],
			HasMobile:      i%5 != 0,
		}
	}
	return out
}

func sim(t *testing.T, seed int64) *Simulator {
	t.Helper()
	p, err := questionnaire.Resolve("patient-2026.1", []string{"LQ_LONELINESS"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := questionnaire.Resolve("carer-2026.1", []string{"LQ_LONELINESS"})
	if err != nil {
		t.Fatal(err)
	}
	return &Simulator{Seed: seed, Questionnaires: map[string]*questionnaire.Questionnaire{"patient": p, "carer": c}}
}

func stepsBy(day int) map[string]int {
	out := map[string]int{}
	for s, d := range schedule {
		if d <= day {
			out[s] = d
		}
	}
	return out
}

func newStore(t *testing.T) *store.FileStore {
	t.Helper()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func dump(t *testing.T, st store.Store, prefix string) map[string]string {
	t.Helper()
	infos, err := st.List(context.Background(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range infos {
		b, err := store.ReadAll(context.Background(), st, i.Key)
		if err != nil {
			t.Fatal(err)
		}
		out[i.Key] = string(b)
	}
	return out
}

func TestKindOf(t *testing.T) {
	s := &Simulator{StepKinds: map[string]StepKind{"invitation": SMS}}
	tests := []struct {
		step string
		want StepKind
	}{
		{"invitation", SMS}, // override
		{"reminder2", PaperLetter},
		{"sms2", SMS},
		{"text_reminder", SMS},
		{"paper_pack", PaperLetter},
		{"reminder9", Letter},
	}
	for _, tt := range tests {
		if got := s.KindOf(tt.step); got != tt.want {
			t.Errorf("KindOf(%s) = %d, want %d", tt.step, got, tt.want)
		}
	}
}

func TestDayIsDeterministicAndOrderIndependent(t *testing.T) {
	people := testPeople(600, "S")
	ctx := context.Background()
	a, b, c := newStore(t), newStore(t), newStore(t)
	s := sim(t, 42)
	for d := 0; d <= 20; d++ {
		if _, err := s.Day(ctx, a, "W1", "QMM", start.AddDate(0, 0, d), d, people, stepsBy(d)); err != nil {
			t.Fatal(err)
		}
	}
	// Days in reverse order, and day 20 again: identical files.
	for d := 20; d >= 0; d-- {
		if _, err := s.Day(ctx, b, "W1", "QMM", start.AddDate(0, 0, d), d, people, stepsBy(d)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Day(ctx, b, "W1", "QMM", start.AddDate(0, 0, 20), 20, people, stepsBy(20)); err != nil {
		t.Fatal(err)
	}
	// A later mailing step known in advance does not change earlier days.
	for d := 0; d <= 20; d++ {
		if _, err := s.Day(ctx, c, "W1", "QMM", start.AddDate(0, 0, d), d, people, stepsBy(60)); err != nil {
			t.Fatal(err)
		}
	}
	da, db, dc := dump(t, a, ""), dump(t, b, ""), dump(t, c, "")
	if len(da) == 0 {
		t.Fatal("nothing written")
	}
	for k, v := range da {
		if db[k] != v {
			t.Errorf("%s differs when days run in another order", k)
		}
		if dc[k] != v {
			t.Errorf("%s differs when later steps are known", k)
		}
	}
	if len(da) != len(db) || len(da) != len(dc) {
		t.Errorf("file counts %d %d %d", len(da), len(db), len(dc))
	}
	// Another seed gives other files.
	d := newStore(t)
	if _, err := sim(t, 43).Day(ctx, d, "W1", "QMM", start.AddDate(0, 0, 2), 2, people, stepsBy(2)); err != nil {
		t.Fatal(err)
	}
	same := 0
	for k, v := range dump(t, d, "") {
		if da[k] == v {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d files identical under another seed", same)
	}
}

func TestQuietDayWritesNothing(t *testing.T) {
	st := newStore(t)
	sum, err := sim(t, 1).Day(context.Background(), st, "W1", "QMM", start, 0, testPeople(50, "S"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Files) != 0 || len(dump(t, st, "")) != 0 {
		t.Fatalf("files written before any mailing: %+v", sum)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	if _, err := (&Simulator{}).Day(ctx, st, "W1", "QMM", start, 0, nil, nil); err == nil {
		t.Error("no questionnaire accepted")
	}
	s := sim(t, 1)
	s.Questionnaires["patient"], s.Questionnaires["carer"] = s.Questionnaires["carer"], s.Questionnaires["patient"]
	if _, err := s.Day(ctx, st, "W1", "QMM", start, 0, nil, nil); err == nil {
		t.Error("swapped questionnaires accepted")
	}
	if _, err := sim(t, 1).Day(ctx, st, "W1", "QMM", start, 0, []Person{{}}, stepsBy(0)); err == nil {
		t.Error("person without id accepted")
	}
}

// TestFieldworkLoadsCleanly simulates a whole fieldwork period for one ICS, loads every
// day with the response load, and checks the result looks like a survey.
func TestFieldworkLoadsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates an 8-week fieldwork period")
	}
	ctx := context.Background()
	st := newStore(t)
	s := sim(t, 7)
	qs := map[string]*questionnaire.Questionnaire{}
	for _, q := range s.Questionnaires {
		qs[q.Version] = q
	}
	const n = 1200
	type totals struct {
		sim                                        Summary
		byDay                                      map[int]map[string]int
		completed, undelivered, optedOut, deceased int
		duplicates, carers                         int
		linkWithdrawals                            int // loaded withdraw_linkage opt-out rows
	}
	result := map[string]*totals{}
	for _, ics := range []string{"QMM"} {
		people := testPeople(n, ics)
		ids := map[string]bool{}
		for _, p := range people {
			ids[p.SurveyRecordID] = true
		}
		tot := &totals{byDay: map[int]map[string]int{}, sim: Summary{ByChannel: map[string]int{}}}
		result[ics] = tot
		cfg := responses.LoadConfig{
			WaveID: "W1", ICS: ics, Questionnaires: qs,
			Known: func(id string) (bool, bool) { return ids[id], ids[id] },
		}
		for d := 0; d <= 60; d++ {
			day := start.AddDate(0, 0, d)
			sum, err := s.Day(ctx, st, "W1", ics, day, d, people, stepsBy(d))
			if err != nil {
				t.Fatal(err)
			}
			tot.byDay[d] = sum.ByChannel
			for ch, k := range sum.ByChannel {
				tot.sim.ByChannel[ch] += k
			}
			tot.sim.Duplicates += sum.Duplicates
			tot.sim.LinkageWithdrawals += sum.LinkageWithdrawals
			tot.sim.Incomplete += sum.Incomplete
			res, err := responses.Load(ctx, st, cfg, day)
			if err != nil {
				t.Fatalf("%s day %d: %v", ics, d, err)
			}
			if res.Rejected != 0 {
				t.Fatalf("%s day %d: simulated data rejected: %v", ics, d, res.ByReason)
			}
			if (len(sum.Files) == 0) != res.NoFiles {
				t.Fatalf("%s day %d: %d files simulated, NoFiles=%v", ics, d, len(sum.Files), res.NoFiles)
			}
			tot.completed += res.Outcomes[schemas.OutcomeCompleted]
			tot.undelivered += res.Outcomes[schemas.OutcomeUndelivered]
			tot.optedOut += res.Outcomes[schemas.OutcomeOptedOut]
			tot.deceased += res.Outcomes[schemas.OutcomeDeceased]
			tot.duplicates += res.Duplicates + res.Superseded
			tot.carers += res.Responses["carer"]
			tot.linkWithdrawals += res.LinkageWithdrawals
		}
		rate := float64(tot.completed) / n
		t.Logf("%s: completed %.1f%%, carers %d, undelivered %d, opted out %d, deceased %d, duplicates %d, incomplete %d, channels %v",
			ics, 100*rate, tot.carers, tot.undelivered, tot.optedOut, tot.deceased, tot.duplicates, tot.sim.Incomplete, tot.sim.ByChannel)
		if rate < 0.2 || rate > 0.5 {
			t.Errorf("%s: response rate %.2f outside 0.2-0.5", ics, rate)
		}
		if tot.carers < n/20 || tot.carers > n/4 {
			t.Errorf("%s: %d carer responses", ics, tot.carers)
		}
		if tot.undelivered == 0 || tot.optedOut == 0 || tot.duplicates == 0 || tot.sim.Incomplete == 0 {
			t.Errorf("%s: missing undelivered/opt-outs/duplicates/incomplete: %+v", ics, tot)
		}
		// Some respondents withdraw their linkage consent only, and every such row loads
		// as a consent withdrawal (not an opt-out outcome).
		if tot.sim.LinkageWithdrawals == 0 || tot.linkWithdrawals != tot.sim.LinkageWithdrawals {
			t.Errorf("%s: %d linkage withdrawals simulated, %d loaded", ics, tot.sim.LinkageWithdrawals, tot.linkWithdrawals)
		}
		if tot.sim.ByChannel["phone"] == 0 || tot.sim.ByChannel["paper"] == 0 {
			t.Errorf("%s: channels %v", ics, tot.sim.ByChannel)
		}
		// Online peaks soon after the invitation; paper only after the paper questionnaire.
		early := tot.byDay[1]["online"] + tot.byDay[2]["online"] + tot.byDay[3]["online"]
		late := tot.byDay[9]["online"] + tot.byDay[10]["online"] + tot.byDay[11]["online"]
		if early <= 2*late {
			t.Errorf("%s: online days 1-3 = %d, days 9-11 = %d: no peak after the invitation", ics, early, late)
		}
		for d := 0; d < schedule["reminder2"]; d++ {
			if tot.byDay[d]["paper"] > 0 {
				// Carers may return a paper copy only after the paper pack too.
				t.Errorf("%s: paper responses on day %d, before the paper questionnaire", ics, d)
			}
		}
	}

}

func TestFreeTextIsGeneric(t *testing.T) {
	st := newStore(t)
	s := sim(t, 3)
	people := testPeople(800, "S")
	for d := 0; d <= 6; d++ {
		if _, err := s.Day(context.Background(), st, "W1", "QMM", start.AddDate(0, 0, d), d, people, stepsBy(d)); err != nil {
			t.Fatal(err)
		}
	}
	all := strings.Join(func() []string {
		var out []string
		for _, v := range dump(t, st, schemas.AreaRestrictedLanding.Prefix()) {
			out = append(out, v)
		}
		return out
	}(), "\n")
	found := false
	for _, phrase := range []string{"tell my whole story again", "appointment", "listened", "passing me back and forth", "record of what"} {
		if strings.Contains(all, phrase) {
			found = true
		}
	}
	if !found {
		t.Fatal("no free text simulated")
	}
}

// TestAnswersVaryByICSAndGroup draws many responses directly and compares "% positive"
// between the ICSs with the most and least favourable simulated effect, and between
// frailty groups.
func TestAnswersVaryByICSAndGroup(t *testing.T) {
	s := sim(t, 11)
	rates := s.Rates.withDefaults()
	qn := s.Questionnaires["patient"]
	phase1 := []string{"QMM", "QJK", "QJ2", "QE1", "QHM", "QNX", "QUY", "QWE"}
	best, worst := phase1[0], phase1[0]
	for _, ics := range phase1 {
		if s.unit("ics-experience", ics) > s.unit("ics-experience", best) {
			best = ics
		}
		if s.unit("ics-experience", ics) < s.unit("ics-experience", worst) {
			worst = ics
		}
	}
	pct := func(ics, efi string) float64 {
		pos, base := 0, 0
		for i := 0; i < 1500; i++ {
			p := &Person{SurveyRecordID: fmt.Sprintf("V%05d", i), AgeBand: "75-84", Gender: "2", EFIBand: efi}
			rec, err := s.render(rates, "W1", ics, response{person: p, respType: "patient", channel: "online", complete: true, receivedAt: start}, qn.IDs())
			if err != nil {
				t.Fatal(err)
			}
			for j, id := range qn.IDs() {
				q, _ := qn.Question(id)
				if code := rec[6+j]; q.InBase(code) {
					base++
					if q.IsPositive(code) {
						pos++
					}
				}
			}
		}
		return 100 * float64(pos) / float64(base)
	}
	b, w := pct(best, "moderate"), pct(worst, "moderate")
	sev := pct(best, "severe")
	t.Logf("%% positive: %s %.1f, %s %.1f; severe frailty in %s %.1f", best, b, worst, w, best, sev)
	if b-w < 3 {
		t.Errorf("ICS effect too small: %s %.1f vs %s %.1f", best, b, worst, w)
	}
	if b-sev < 2 {
		t.Errorf("frailty effect too small: moderate %.1f vs severe %.1f", b, sev)
	}
	// The answers are valid codes of the questionnaire, and demographics follow the sample.
	p := &Person{SurveyRecordID: "V1", AgeBand: "85+", Gender: "1", EFIBand: "severe"}
	rec, err := s.render(rates, "W1", "QMM", response{person: p, respType: "patient", channel: "paper", complete: true, receivedAt: start}, qn.IDs())
	if err != nil {
		t.Fatal(err)
	}
	for j, id := range qn.IDs() {
		q, _ := qn.Question(id)
		if q.Kind == "free_text" || rec[6+j] == "" {
			continue
		}
		for _, code := range q.SplitAnswer(rec[6+j]) {
			if !q.HasOption(code) {
				t.Errorf("%s: %q is not an option", id, code)
			}
		}
	}
}

// TestFreeTextThemesVaryByICSAndGroup draws comments directly: each theme's rate
// differs between the ICSs with the lowest and highest simulated effect for it, the
// severely frail mention themes more than the moderately frail, the improvement
// question mostly complains, and some comments carry personal data.
func TestFreeTextThemesVaryByICSAndGroup(t *testing.T) {
	s := sim(t, 11)
	rng := rand.New(rand.NewPCG(1, 2))
	icss := []string{"QMM", "QJK", "QJ2", "QE1", "QHM", "QNX", "QUY", "QWE"}
	rate := func(ics, theme, efi, q string) (themeRate, positive, personal float64) {
		const n = 3000
		var hits, codes, pos, pd int
		for range n {
			l := s.comment(rng, ics, q, &Person{EFIBand: efi}, questionnaire.Patient)
			for _, c := range l.Themes {
				if c.Theme == theme {
					hits++
				}
				codes++
				if c.Polarity == "positive" {
					pos++
				}
			}
			if len(l.PersonalData) > 0 {
				pd++
			}
		}
		return float64(hits) / n, float64(pos) / float64(max(1, codes)), float64(pd) / n
	}
	const theme = "continuity"
	lo, hi := icss[0], icss[0]
	for _, ics := range icss {
		if s.unit("ics-theme", ics, theme) < s.unit("ics-theme", lo, theme) {
			lo = ics
		}
		if s.unit("ics-theme", ics, theme) > s.unit("ics-theme", hi, theme) {
			hi = ics
		}
	}
	rLo, _, _ := rate(lo, theme, "moderate", "P_IMPROVE")
	rHi, _, _ := rate(hi, theme, "moderate", "P_IMPROVE")
	if rHi-rLo < 0.05 {
		t.Errorf("%s: %.3f in %s, %.3f in %s: want the ICSs to differ", theme, rLo, lo, rHi, hi)
	}
	severe, _, _ := rate(lo, theme, "severe", "P_IMPROVE")
	if severe <= rLo {
		t.Errorf("%s: severely frail %.3f, moderately %.3f", theme, severe, rLo)
	}
	_, posImprove, personal := rate(hi, theme, "moderate", "P_IMPROVE")
	_, posGood, _ := rate(hi, theme, "moderate", "P_GOOD")
	if posImprove > 0.2 || posGood < 0.6 {
		t.Errorf("positive share %.2f on the improvement question, %.2f on the good one", posImprove, posGood)
	}
	if personal < 0.02 || personal > 0.06 {
		t.Errorf("personal data in %.3f of comments, want about 0.04", personal)
	}
}
