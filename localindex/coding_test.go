package localindex

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/fault"
	"icesurvey/lake"
	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/themes"
)

const (
	tWave = "W1"
	tICS  = "QMM"
)

var tDay = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// truth is what the generator put in each comment, by unit.
type truth map[string]profiles.NoteLine

// fixture writes n synthetic survey comments, some with personal data, as a daily
// load's free text.
func fixture(t *testing.T, n int) (context.Context, store.Store, truth) {
	t.Helper()
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 8))
	tr := truth{}
	rows := make([]schemas.FreeTextRow, n)
	for i := range rows {
		line := profiles.SynthComment(rng, profiles.CommentSpec{PositiveShare: 0.3, PersonalDataRate: 0.3})
		rows[i] = schemas.FreeTextRow{ResponseID: "r" + string(rune('a'+i%26)) + strings.Repeat("x", i/26), Wave: tWave, ICS: tICS,
			LoadDate: tDay, RespondentType: "patient", QuestionID: "P_IMPROVE", Text: line.Text}
		tr[UnitID(rows[i].ResponseID, "P_IMPROVE")] = line
	}
	if err := lake.PutRows(ctx, st, schemas.FreeTextKey(tWave, tICS, tDay, "0123456789abcdef0123"), schemas.FreeTextLayout(), rows); err != nil {
		t.Fatal(err)
	}
	return ctx, st, tr
}

func TestCodeRedactsScoresAndWritesOnlyCodesToTheLake(t *testing.T) {
	ctx, st, tr := fixture(t, 120)
	res, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, At: tDay})
	if err != nil {
		t.Fatal(err)
	}
	if res.Comments != 120 || res.Suggested == 0 || res.Redactions == 0 {
		t.Fatalf("result %+v", res)
	}
	red, err := ReadRedacted(ctx, st, tWave, tICS)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range red {
		for _, p := range tr[UnitID(c.ResponseID, c.QuestionID)].PersonalData {
			if strings.Contains(c.Text, p.Value) {
				t.Errorf("%s: %s %q survived redaction", c.ResponseID, p.Kind, p.Value)
			}
		}
		if c.QueuePosition < 1 || c.QueuePosition > 120 {
			t.Errorf("%s: queue position %d", c.ResponseID, c.QueuePosition)
		}
	}
	if !strings.HasPrefix(res.RedactedKey, schemas.FreeTextRoot(tWave, tICS)) || !strings.HasPrefix(res.ModelKey, schemas.FreeTextRoot(tWave, tICS)) {
		t.Fatalf("text-bearing objects outside the free-text area: %s %s", res.RedactedKey, res.ModelKey)
	}
	rows, err := lake.GetRows[schemas.ResponseTheme](ctx, st, res.ResponseThemesKey, schemas.ResponseThemeLayout())
	if err != nil {
		t.Fatal(err)
	}
	// The machine finds most of what the generator put in.
	found, put := 0, 0
	got := map[string]bool{}
	for _, r := range rows {
		if r.CodedBy != schemas.CodedByModel || !r.Final || r.Confidence == nil {
			t.Fatalf("row %+v: want the model's final suggestion with its confidence", r)
		}
		got[UnitID(r.ResponseID, r.QuestionID)+"|"+r.Theme] = true
	}
	for u, l := range tr {
		for _, c := range l.Themes {
			put++
			if got[u+"|"+c.Theme] {
				found++
			}
		}
	}
	if recall := float64(found) / float64(put); recall < 0.6 {
		t.Errorf("the machine found %d of %d generated themes (%.2f)", found, put, recall)
	}
}

func TestDecisionsStandOverTheMachineAndGiveKappa(t *testing.T) {
	ctx, st, tr := fixture(t, 80)
	if _, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, At: tDay}); err != nil {
		t.Fatal(err)
	}
	cb := themes.Default()
	red, _ := ReadRedacted(ctx, st, tWave, tICS)
	// alice codes the first 30 comments and the blind double-coding sample; bob codes
	// the sample, missing a theme now and then. carol, a third coder, sends decisions
	// on comments outside her queue: two alice coded that are not in the sample, and
	// one of the sample both have coded. The agreement is the sample's, of the two
	// coders the plan gave each comment: carol's decisions are not in it.
	a := Batch{ID: "a1", Coder: "alice", DecidedAt: tDay.Add(time.Hour)}
	b := Batch{ID: "b1", Coder: "bob", DecidedAt: tDay.Add(2 * time.Hour)}
	c3 := Batch{ID: "c1", Coder: "carol", DecidedAt: tDay.Add(3 * time.Hour)}
	sample, outside := 0, 0
	for i, c := range red {
		d := Decision{ResponseID: c.ResponseID, QuestionID: c.QuestionID, Themes: tr[UnitID(c.ResponseID, c.QuestionID)].Themes}
		if i >= 30 && !c.DoubleCoded {
			continue
		}
		a.Decisions = append(a.Decisions, d)
		switch {
		case c.DoubleCoded:
			if sample == 0 {
				c3.Decisions = append(c3.Decisions, Decision{ResponseID: c.ResponseID, QuestionID: c.QuestionID})
			}
			sample++
			if sample%2 == 0 && len(d.Themes) > 0 {
				d.Themes = d.Themes[1:] // bob misses a theme now and then
			}
			b.Decisions = append(b.Decisions, d)
		case outside < 2:
			outside++
			c3.Decisions = append(c3.Decisions, Decision{ResponseID: c.ResponseID, QuestionID: c.QuestionID})
		}
	}
	if sample < 5 || outside != 2 {
		t.Fatalf("%d comments in the double-coding sample, %d outside it: the test would test little", sample, outside)
	}
	for _, batch := range []Batch{a, b, c3} {
		if _, err := RecordDecisions(ctx, st, tWave, tICS, cb, batch); err != nil {
			t.Fatal(err)
		}
	}
	// Objects of the earlier form, one per run, are deleted by the next run: only the
	// object it writes stands.
	partition := schemas.LakePartition(schemas.LakeResponseThemes, tWave, tICS)
	for _, legacy := range []string{"run-1.parquet", "run-12.parquet"} {
		if err := store.PutBytes(ctx, st, partition+legacy, []byte("PAR1")); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, At: tDay})
	if err != nil {
		t.Fatal(err)
	}
	if infos, err := st.List(ctx, partition); err != nil || len(infos) != 1 || infos[0].Key != res.ResponseThemesKey {
		t.Errorf("response themes of %s after a run: %v (%v), want %s alone", tICS, infos, err, res.ResponseThemesKey)
	}
	if res.CodedByPeople != len(a.Decisions) || len(res.Coders) != 3 {
		t.Fatalf("result %+v", res)
	}
	rows, _ := lake.GetRows[schemas.ResponseTheme](ctx, st, res.ResponseThemesKey, schemas.ResponseThemeLayout())
	for _, r := range rows {
		u := UnitID(r.ResponseID, r.QuestionID)
		coded := false
		for _, d := range a.Decisions {
			if UnitID(d.ResponseID, d.QuestionID) == u {
				coded = true
			}
		}
		switch {
		case r.CodedBy == "alice" && !r.Final, r.CodedBy == "bob" && r.Final:
			t.Errorf("%s by %s final=%v: the first coder's decision stands", u, r.CodedBy, r.Final)
		case r.CodedBy == schemas.CodedByModel && r.Final == coded:
			t.Errorf("%s: the model's suggestion final=%v on a comment people coded=%v", u, r.Final, coded)
		}
	}
	rep, err := Report(ctx, st, tWave, []string{tICS})
	if err != nil {
		t.Fatal(err)
	}
	if rep.DoubleCoded != sample || len(rep.Kappa) != 6 || len(rep.LabelledF1) != 6 || rep.LabelledMacroF1 == nil {
		t.Fatalf("report %+v, want %d double-coded", rep, sample)
	}
	for _, want := range []string{"labelled set (test split)", fmt.Sprintf("Coders' agreement on the blind double-coded sample: %d comments, 2 coders", sample), "kappa"} {
		if !strings.Contains(rep.Text, want) {
			t.Errorf("report lacks %q:\n%s", want, rep.Text)
		}
	}
	t.Log("\n" + rep.Text)
}

func TestBatchValidation(t *testing.T) {
	ctx, st, _ := fixture(t, 5)
	if _, err := RecordDecisions(ctx, st, tWave, tICS, themes.Default(), Batch{ID: "x", Coder: "c", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE"}}}); err == nil ||
		!strings.Contains(err.Error(), "not been coded yet") {
		t.Fatalf("a batch before the first coding run: %v", err)
	}
	if _, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, At: tDay}); err != nil {
		t.Fatal(err)
	}
	cb := themes.Default()
	for _, tc := range []struct {
		b    Batch
		want string
	}{
		{Batch{ID: "1", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE"}}}, "coder"},
		{Batch{ID: "1", Coder: "c"}, "decisions: empty"},
		{Batch{ID: "1", Coder: "c", Decisions: []Decision{{ResponseID: "ra"}}}, "decisions[0]: response_id and question_id"},
		{Batch{ID: "1", Coder: "c", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE", Themes: []themes.ThemeCode{{Theme: "food", Polarity: themes.Negative}}}}}, `decisions[0].themes[0]: "food" is not a theme`},
		{Batch{ID: "1", Coder: "c", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE", Themes: []themes.ThemeCode{{Theme: "burden", Polarity: "meh"}}}}}, "polarity"},
		{Batch{ID: "1", Coder: "c", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE"}, {ResponseID: "ra", QuestionID: "P_IMPROVE"}}}, "decided twice"},
		{Batch{ID: "1", Coder: "c", Decisions: []Decision{{ResponseID: "nobody", QuestionID: "P_IMPROVE"}}}, "no free-text answer nobody/P_IMPROVE"},
		// An id that cannot name the batch's lake object.
		{Batch{ID: "../x", Coder: "c", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE"}}}, `batch: id: "../x" cannot name a batch`},
		{Batch{ID: `a\b`, Coder: "c", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE"}}}, `batch: id: "a\\b" cannot name a batch`},
		{Batch{ID: "a/b", Coder: "c", Decisions: []Decision{{ResponseID: "ra", QuestionID: "P_IMPROVE"}}}, `batch: id: "a/b" cannot name a batch`},
	} {
		_, err := RecordDecisions(ctx, st, tWave, tICS, cb, tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.b, err, tc.want)
		}
		// A bad batch is the coder's to correct: RecordThemeDecisions fails at once
		// rather than retry it for ever.
		if k := fault.KindOf(err); k != fault.BadInput || !fault.IsPermanent(err) {
			t.Errorf("%+v: error %v is of kind %q, want BadInput", tc.b, err, k)
		}
	}
	if infos, err := st.List(ctx, schemas.LakePartition(schemas.LakeThemeDecisions, tWave, tICS)); err != nil || len(infos) != 0 {
		t.Errorf("refused batches wrote %d objects (%v)", len(infos), err)
	}
}

func TestExportQDPXIsSchemaValid(t *testing.T) {
	ctx, st, tr := fixture(t, 25)
	if _, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, At: tDay}); err != nil {
		t.Fatal(err)
	}
	red, _ := ReadRedacted(ctx, st, tWave, tICS)
	b := Batch{ID: "a", Coder: "alice", DecidedAt: tDay}
	for _, c := range red[:5] {
		b.Decisions = append(b.Decisions, Decision{ResponseID: c.ResponseID, QuestionID: c.QuestionID, Themes: tr[UnitID(c.ResponseID, c.QuestionID)].Themes})
	}
	if _, err := RecordDecisions(ctx, st, tWave, tICS, themes.Default(), b); err != nil {
		t.Fatal(err)
	}
	key, n, err := ExportQDPX(ctx, st, tWave, tICS, tDay)
	if err != nil {
		t.Fatal(err)
	}
	if n != 25 {
		t.Fatalf("%d sources, want 25", n)
	}
	data, err := store.ReadAll(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := themes.ReadQDPX(bytes.NewReader(data), int64(len(data)), themes.Default())
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]bool{}
	for _, u := range p.Users {
		users[u.ID] = true
	}
	if !users["alice"] || !users[schemas.CodedByModel] {
		t.Fatalf("users %v: want alice and the model", p.Users)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open("project.qde")
	if err != nil {
		t.Fatal(err)
	}
	qde, _ := io.ReadAll(rc)
	file := filepath.Join(t.TempDir(), "project.qde")
	if err := os.WriteFile(file, qde, 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (apt-get install libxml2-utils): schema validation skipped")
	}
	if out, err := exec.Command(bin, "--noout", "--schema", "../themes/schema/Project-mrt2019.xsd", file).CombinedOutput(); err != nil {
		t.Fatalf("project.qde is not valid REFI-QDA:\n%s", out)
	}
}

// A coder's queue keeps the coding queue's order, drops what the coder (or, outside
// the double-coding sample, anyone) has decided, and is blind where the plan says:
// the evaluation slice, and a double-coded comment's second coding.
func TestCoderQueue(t *testing.T) {
	ctx, st, _ := fixture(t, 80)
	if _, err := Code(ctx, st, CodeInput{Wave: tWave, ICS: tICS, At: tDay}); err != nil {
		t.Fatal(err)
	}
	full, err := CoderQueue(ctx, st, tWave, tICS, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 80 {
		t.Fatalf("alice's queue holds %d of 80 comments before anyone coded", len(full))
	}
	var suggested, evaluation, double int
	for i, e := range full {
		if e.Position != i+1 {
			t.Fatalf("entry %d has queue position %d: not in queue order", i, e.Position)
		}
		if e.Blind != e.Evaluation {
			t.Errorf("%s: blind %v, evaluation %v, before any coding", e.Unit(), e.Blind, e.Evaluation)
		}
		if e.Blind && len(e.Suggestions) > 0 {
			t.Errorf("%s: blind but with suggestions", e.Unit())
		}
		if len(e.Suggestions) > 0 {
			suggested++
		}
		if e.Evaluation {
			evaluation++
		}
		if e.DoubleCoded && !e.Evaluation {
			double++
		}
	}
	if suggested == 0 || evaluation == 0 || double == 0 {
		t.Fatalf("fixture too thin: %d suggested, %d evaluation, %d double-coded outside it", suggested, evaluation, double)
	}
	// Alice codes the first 30; the rest of her queue follows in the same order.
	a := Batch{ID: "a1", Coder: "alice", DecidedAt: tDay.Add(time.Hour)}
	for _, e := range full[:30] {
		a.Decisions = append(a.Decisions, Decision{ResponseID: e.ResponseID, QuestionID: e.QuestionID, Themes: e.Suggestions})
	}
	if _, err := RecordDecisions(ctx, st, tWave, tICS, themes.Default(), a); err != nil {
		t.Fatal(err)
	}
	rest, err := CoderQueue(ctx, st, tWave, tICS, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 50 || rest[0].Unit() != full[30].Unit() || rest[49].Unit() != full[79].Unit() {
		t.Fatalf("alice's queue after 30 decisions: %d entries starting %v", len(rest), rest[0].Unit())
	}
	// Bob's queue: the 50 nobody coded, and alice's double-coded ones, blind.
	bob, err := CoderQueue(ctx, st, tWave, tICS, "bob")
	if err != nil {
		t.Fatal(err)
	}
	want := 50
	decided := map[string]bool{}
	for _, e := range full[:30] {
		decided[e.Unit()] = true
		if e.DoubleCoded {
			want++
		}
	}
	if len(bob) != want {
		t.Fatalf("bob's queue: %d entries, want %d", len(bob), want)
	}
	for i, e := range bob {
		if i > 0 && e.Position <= bob[i-1].Position {
			t.Fatalf("bob's queue out of order at %d", i)
		}
		if decided[e.Unit()] && (!e.Blind || len(e.Suggestions) > 0 || !e.DoubleCoded) {
			t.Errorf("%s: a second coding shown with suggestions or outside the sample: %+v", e.Unit(), e)
		}
	}
}
