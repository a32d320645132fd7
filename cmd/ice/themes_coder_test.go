package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"go.temporal.io/sdk/temporal"

	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/lake"
	"icesurvey/localindex"
	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/themes"
	"icesurvey/waveclient"
	"icesurvey/web/dashdata"
)

// sentBatches is a fake ThemeCodingWorkflow: it keeps the batches sent; ended, when
// set, is why it no longer runs.
type sentBatches struct {
	batches []waveclient.ThemeBatch
	ended   error
	refuse  error // the worker's answer to every batch, when set (nothing kept)
}

func (s *sentBatches) ThemeCodingRunning(context.Context, string) error { return s.ended }

func (s *sentBatches) SendThemeDecisions(_ context.Context, _, _ string, b waveclient.ThemeBatch) (waveclient.ThemeDecisionsResult, error) {
	if s.refuse != nil {
		return waveclient.ThemeDecisionsResult{}, s.refuse
	}
	s.batches = append(s.batches, b)
	return waveclient.ThemeDecisionsResult{Recorded: len(b.Decisions)}, nil
}

// codedICS writes n comments of one ICS, each with a phone number and a name, codes
// them once (localindex.Code, as the workflow's first run does) and writes an access
// file naming one free-text reader of the ICS, approved yesterday.
func codedICS(t *testing.T, n int) (context.Context, store.Store, string) {
	t.Helper()
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("Comment %d: nobody told me what was happening. Ring Mrs Okafor on 07700 900%03d.", i, i)
	}
	return codedICSTexts(t, texts)
}

// codedICSTexts is codedICS with the comments' texts given, as the daily load leaves
// them (resp-000, resp-001, ... in order).
func codedICSTexts(t *testing.T, texts []string) (context.Context, store.Store, string) {
	t.Helper()
	n := len(texts)
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	rows := make([]schemas.FreeTextRow, n)
	for i := range rows {
		rows[i] = schemas.FreeTextRow{ResponseID: fmt.Sprintf("resp-%03d", i), Wave: "W1", ICS: "QMM", LoadDate: day, RespondentType: "patient",
			QuestionID: "P_IMPROVE", Text: texts[i]}
	}
	if err := lake.PutRows(ctx, st, schemas.FreeTextKey("W1", "QMM", day, "00112233445566778899"), schemas.FreeTextLayout(), rows); err != nil {
		t.Fatal(err)
	}
	if _, err := localindex.Code(ctx, st, localindex.CodeInput{Wave: "W1", ICS: "QMM", At: day}); err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(time.UTC)
	af := filepath.Join(t.TempDir(), "access.yaml")
	body := fmt.Sprintf(`version: 1
users:
  - id: fay.reader@example.nhs.uk
    name: Fay Reader
    free_text:
      - {ics: QMM, approved_by: Caldicott Guardian, approved_on: %s, expires: %s}
  - id: ann.analyst@example.nhs.uk
    name: Ann Analyst
    analyst: [QMM]
`, today.AddDate(0, 0, -1).Format(time.DateOnly), today.AddDate(0, 0, 30).Format(time.DateOnly))
	if err := os.WriteFile(af, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return ctx, st, af
}

func auditEvents(t *testing.T, ctx context.Context, st store.Store) []freetext.AuditEvent {
	t.Helper()
	evs, err := dashdata.FreeTextStore{Store: st}.FreeTextReads(ctx, "W1", "QMM")
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestTerminalCoding: a named reader sees the next comments of their queue, redacted,
// and their typed decisions go as one batch, every read and decision audited as a
// coding; anyone else is refused before any text is read, and the refusal audited.
func TestTerminalCoding(t *testing.T) {
	ctx, st, af := codedICS(t, 12)
	audit := dashdata.FreeTextStore{Store: st}
	queue, err := localindex.CoderQueue(ctx, st, "W1", "QMM", "fay.reader@example.nhs.uk")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"ann.analyst@example.nhs.uk", "nobody@example.nhs.uk"} {
		t.Run("refused "+who, func(t *testing.T) {
			var out bytes.Buffer
			sender := &sentBatches{}
			before := len(auditEvents(t, ctx, st))
			err := terminalCoding{Store: st, Audit: audit, Sender: sender, AccessFile: af, Wave: "W1", ICS: "QMM", Coder: who, Next: 3,
				In: strings.NewReader("none\n"), W: &out}.run(ctx)
			if !errors.Is(err, freetext.ErrRefused) || !strings.Contains(err.Error(), "not a named free-text reader for QMM") {
				t.Fatalf("error %v, want a refusal naming the grant", err)
			}
			if strings.Contains(out.String(), "nobody told me") || len(sender.batches) != 0 {
				t.Fatalf("a refused coder saw text or sent a batch: %q", out.String())
			}
			evs := auditEvents(t, ctx, st)[before:]
			if len(evs) != 1 || evs[0].Allowed || evs[0].UserID != who || evs[0].Action != freetext.ActionCode {
				t.Fatalf("refusal audit %+v", evs)
			}
		})
	}

	t.Run("named reader", func(t *testing.T) {
		var out bytes.Buffer
		sender := &sentBatches{}
		before := len(auditEvents(t, ctx, st))
		// A bad label is asked again; Enter keeps the suggestion (asked again on a
		// blind comment); q stops and sends what was decided.
		var in strings.Builder
		in.WriteString("PARKING+\nCON-;BUR+\n")
		if queue[1].Blind {
			in.WriteString("\n")
		}
		in.WriteString("\nnone\nq\n")
		err := terminalCoding{Store: st, Audit: audit, Sender: sender, AccessFile: af, Wave: "W1", ICS: "QMM", Coder: "fay.reader@example.nhs.uk",
			Next: 5, In: strings.NewReader(in.String()), W: &out, BatchID: "t1"}.run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if strings.Contains(text, "07700") || strings.Contains(text, "Okafor") {
			t.Errorf("personal data shown: %q", text)
		}
		asked := 4 // three decided, the fourth stopped at
		if queue[1].Blind {
			asked = 3
		}
		if strings.Count(text, "nobody told me what was happening") != asked || !strings.Contains(text, "try again") {
			t.Errorf("the coder did not see the %d comments asked about, or a bad label was taken:\n%s", asked, text)
		}
		if len(sender.batches) != 1 {
			t.Fatalf("%d batches sent", len(sender.batches))
		}
		b := sender.batches[0]
		cb := themes.Default()
		got := []string{}
		for _, d := range b.Decisions {
			got = append(got, d.ResponseID+" "+localindex.Labels(cb, d.Themes))
		}
		want := []string{queue[0].ResponseID + " CON-;BUR+", queue[1].ResponseID + " " + localindex.Labels(cb, queue[1].Suggestions), queue[2].ResponseID + " none"}
		if queue[1].Blind {
			want[1] = queue[1].ResponseID + " none"
			want = want[:2]
		}
		if b.Coder != "fay.reader@example.nhs.uk" || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("batch %v by %s, want %v", got, b.Coder, want)
		}
		evs := auditEvents(t, ctx, st)[before:]
		reads, decisions := 0, 0
		for _, e := range evs {
			if e.Action != freetext.ActionCode || !e.Allowed || e.UserID != "fay.reader@example.nhs.uk" {
				t.Errorf("audit event %+v", e)
			}
			switch {
			case strings.HasPrefix(e.Query, "coding queue ") && e.RowsShown == 5:
				reads++
			case strings.HasPrefix(e.Query, "theme decision: ") && e.RowsShown == 1:
				decisions++
			}
		}
		if reads != 1 || decisions != len(b.Decisions) {
			t.Errorf("%d reads and %d decisions audited, want 1 and %d", reads, decisions, len(b.Decisions))
		}
	})

	t.Run("decisions file", func(t *testing.T) {
		var out bytes.Buffer
		path := filepath.Join(t.TempDir(), "decisions.tsv")
		err := terminalCoding{Store: st, Audit: audit, Sender: &sentBatches{}, AccessFile: af, Wave: "W1", ICS: "QMM", Coder: "fay.reader@example.nhs.uk",
			Next: 4, Out: path, W: &out}.run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("nobody told me")) || strings.Count(string(b), "\tP_IMPROVE\t") != 4 {
			t.Errorf("the decisions file holds text or not the 4 comments:\n%s", b)
		}
		// Filled in, it is sent with the grant checked and each decision audited.
		filled := strings.ReplaceAll(string(b), "\t?\n", "\tnone\n")
		if err := os.WriteFile(path, []byte(filled), 0o600); err != nil {
			t.Fatal(err)
		}
		known, err := readCommentIDs(ctx, st, "W1", "QMM", "fay.reader@example.nhs.uk")
		if err != nil {
			t.Fatal(err)
		}
		batch, err := readDecisions(path, "fay.reader@example.nhs.uk", known)
		if err != nil {
			t.Fatal(err)
		}
		sender := &sentBatches{}
		for _, c := range []struct {
			who string
			ok  bool
		}{{"ann.analyst@example.nhs.uk", false}, {"fay.reader@example.nhs.uk", true}} {
			r, err := namedReader(ctx, af, c.who, audit, "W1", []string{"QMM"}, freetext.ActionCode)
			if !c.ok {
				if !errors.Is(err, freetext.ErrRefused) {
					t.Errorf("%s: %v, want a refusal", c.who, err)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := sendDecisions(ctx, &out, r, sender, "W1", "QMM", batch); err != nil {
				t.Fatal(err)
			}
		}
		if len(sender.batches) != 1 || len(sender.batches[0].Decisions) != 4 {
			t.Errorf("batches %+v", sender.batches)
		}
	})
}

// TestCodingEndedShowsAndAuditsNothing: once the wave's theme coding has ended (ice
// themes finish), the terminal coder is refused before a comment is shown or a read or
// decision audited, with the coding's own sentence saying how to start it again.
func TestCodingEndedShowsAndAuditsNothing(t *testing.T) {
	ctx, st, af := codedICS(t, 4)
	audit := dashdata.FreeTextStore{Store: st}
	ended := fmt.Errorf("the theme coding of W1 has ended (completed at 2026-11-30T10:00:00Z; `ice themes code --wave W1` starts it again): %w", waveclient.ErrEnded)
	const fay = "fay.reader@example.nhs.uk"
	for _, out := range []string{"", filepath.Join(t.TempDir(), "d.tsv")} {
		var w bytes.Buffer
		sender := &sentBatches{ended: ended}
		err := terminalCoding{Store: st, Audit: audit, Sender: sender, AccessFile: af, Wave: "W1", ICS: "QMM", Coder: fay, Next: 2, Out: out,
			In: strings.NewReader("none\nnone\n"), W: &w}.run(ctx)
		if !errors.Is(err, waveclient.ErrEnded) || !strings.Contains(err.Error(), "starts it again") {
			t.Errorf("--next with --out %q after the coding ended: %v", out, err)
		}
		if strings.Contains(w.String(), "nobody told me") || len(sender.batches) != 0 {
			t.Errorf("comments shown or a batch sent after the coding ended: %q", w.String())
		}
		if out != "" {
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("a decisions file written after the coding ended: %v", err)
			}
		}
	}
	// A batch (from a file, or typed while the coding ended) is refused before its
	// decisions are audited.
	r, err := namedReader(ctx, af, fay, audit, "W1", []string{"QMM"}, freetext.ActionCode)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := localindex.CoderQueue(ctx, st, "W1", "QMM", fay)
	if err != nil {
		t.Fatal(err)
	}
	batch := waveclient.ThemeBatch{Coder: fay, Decisions: []waveclient.ThemeDecision{{ResponseID: queue[0].ResponseID, QuestionID: queue[0].QuestionID}}}
	sender := &sentBatches{ended: ended}
	if err := sendDecisions(ctx, io.Discard, r, sender, "W1", "QMM", batch); !errors.Is(err, waveclient.ErrEnded) || len(sender.batches) != 0 {
		t.Errorf("a batch after the coding ended: %v, %d sent", err, len(sender.batches))
	}
	if evs := auditEvents(t, ctx, st); len(evs) != 0 {
		t.Errorf("audited after the coding ended: %+v", evs)
	}
}

// TestWorkerRefusalIsRecordedNotTheDecisions: a coder the access file given to
// --access names, but the worker's does not, is refused by the worker; the audit trail
// then holds that refusal with the worker's reason, and no decision as allowed.
func TestWorkerRefusalIsRecordedNotTheDecisions(t *testing.T) {
	ctx, st, af := codedICS(t, 4)
	audit := dashdata.FreeTextStore{Store: st}
	const fay = "fay.reader@example.nhs.uk"
	r, err := namedReader(ctx, af, fay, audit, "W1", []string{"QMM"}, freetext.ActionCode)
	if err != nil {
		t.Fatal(err)
	}
	queue, err := localindex.CoderQueue(ctx, st, "W1", "QMM", fay)
	if err != nil {
		t.Fatal(err)
	}
	batch := waveclient.ThemeBatch{Coder: fay, Decisions: []waveclient.ThemeDecision{
		{ResponseID: queue[0].ResponseID, QuestionID: queue[0].QuestionID},
		{ResponseID: queue[1].ResponseID, QuestionID: queue[1].QuestionID, Themes: []themes.ThemeCode{{Theme: "continuity", Polarity: themes.Negative}}}}}
	const why = `free text access refused: fay.reader@example.nhs.uk may not code the free text of QMM in wave W1 (theme decisions, batch x): "fay.reader@example.nhs.uk" is not in the access file dashboard-access.yaml`
	sender := &sentBatches{refuse: fmt.Errorf("theme decisions for W1/QMM: %w", temporal.NewNonRetryableApplicationError(why, string(fault.NotAuthorised), nil))}
	err = sendDecisions(ctx, io.Discard, r, sender, "W1", "QMM", batch)
	if err == nil || !strings.Contains(err.Error(), "not in the access file dashboard-access.yaml") {
		t.Fatalf("error %v, want the worker's refusal", err)
	}
	evs := auditEvents(t, ctx, st)
	var refusals int
	for _, e := range evs {
		if e.Allowed {
			t.Errorf("recorded as allowed though the worker refused: %+v", e)
			continue
		}
		if e.UserID == fay && e.Action == freetext.ActionCode && strings.Contains(e.Reason, "refused by the worker") && strings.Contains(e.Reason, "dashboard-access.yaml") {
			refusals++
		}
	}
	if refusals != 1 {
		t.Errorf("%d refusals with the worker's reason recorded, want 1: %+v", refusals, evs)
	}
	// Another failure (the worker unreachable) is no refusal, and records nothing.
	sender.refuse = errors.New("theme decisions for W1/QMM: context deadline exceeded")
	if err := sendDecisions(ctx, io.Discard, r, sender, "W1", "QMM", batch); err == nil {
		t.Fatal("a failed send reported no error")
	}
	if got := auditEvents(t, ctx, st); len(got) != len(evs) {
		t.Errorf("a failed send was recorded: %+v", got[len(evs):])
	}
}

// TestDecisionsFileRefusedBeforeItIsRead: someone without a grant to code the ICS
// (not in the access file, or an analyst) who sends a decisions file is refused, and
// the refusal audited, before the file is checked against the ICS's comments: they
// learn nothing of which responses have free text.
func TestDecisionsFileRefusedBeforeItIsRead(t *testing.T) {
	ctx, st, af := codedICS(t, 3)
	audit := dashdata.FreeTextStore{Store: st}
	path := filepath.Join(t.TempDir(), "b3.tsv")
	// resp-001 answered P_IMPROVE: a probe of another question would say so.
	if err := os.WriteFile(path, []byte("resp-000\tP_IMPROVE\tnone\nresp-001\tP_FT_GOOD\tnone\nresp-999\tP_IMPROVE\tnone\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"dave@example.nhs.uk", "ann.analyst@example.nhs.uk"} {
		t.Run(who, func(t *testing.T) {
			before := len(auditEvents(t, ctx, st))
			sender := &sentBatches{}
			err := sendDecisionsFile(ctx, io.Discard, st, audit, sender, af, "W1", "QMM", who, path)
			if !errors.Is(err, freetext.ErrRefused) {
				t.Fatalf("error %v, want a refusal", err)
			}
			for _, leak := range []string{"P_IMPROVE", "resp-", "answered", "line"} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("the refusal tells a refused reader about the comments (%q): %v", leak, err)
				}
			}
			evs := auditEvents(t, ctx, st)[before:]
			if len(evs) != 1 || evs[0].Allowed || evs[0].UserID != who || evs[0].Action != freetext.ActionCode || len(sender.batches) != 0 {
				t.Errorf("audit %+v, %d batches sent; want one refusal, none sent", evs, len(sender.batches))
			}
		})
	}
}

// TestDecisionsFileTakesOnlyTheCodersQueue: a decisions file may decide the comments
// of the coder's queue and change the coder's own decisions; a comment coded as often
// as the plan asks by someone else (not the coder's to decide) is refused, naming the
// line, before anything is sent or audited.
func TestDecisionsFileTakesOnlyTheCodersQueue(t *testing.T) {
	ctx, st, af := codedICS(t, 12)
	audit := dashdata.FreeTextStore{Store: st}
	const fay = "fay.reader@example.nhs.uk"
	red, err := localindex.ReadRedacted(ctx, st, "W1", "QMM")
	if err != nil {
		t.Fatal(err)
	}
	var single []localindex.Comment // outside the double-coding sample
	for _, c := range red {
		if !c.DoubleCoded {
			single = append(single, localindex.Comment{ResponseID: c.ResponseID, QuestionID: c.QuestionID})
		}
	}
	if len(single) < 3 {
		t.Fatalf("%d comments outside the double-coding sample: the test would test nothing", len(single))
	}
	day := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	for _, b := range []localindex.Batch{
		{ID: "other", Coder: "other.coder@example.nhs.uk", DecidedAt: day, Decisions: []localindex.Decision{{ResponseID: single[0].ResponseID, QuestionID: single[0].QuestionID}}},
		{ID: "fay1", Coder: fay, DecidedAt: day, Decisions: []localindex.Decision{{ResponseID: single[1].ResponseID, QuestionID: single[1].QuestionID}}},
	} {
		if _, err := localindex.RecordDecisions(ctx, st, "W1", "QMM", themes.Default(), b); err != nil {
			t.Fatal(err)
		}
	}
	row := func(c localindex.Comment) string { return c.ResponseID + "\t" + c.QuestionID + "\tCON-\n" }
	for _, c := range []struct {
		name, rows string
		want       string // "" for a batch sent
	}{
		{"queue and own decision", row(single[2]) + row(single[1]), ""},
		{"coded by another", row(single[2]) + row(single[0]),
			"line 2 field response_id: response " + single[0].ResponseID + ", question P_IMPROVE is not in fay.reader@example.nhs.uk's coding queue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d.tsv")
			if err := os.WriteFile(path, []byte(c.rows), 0o600); err != nil {
				t.Fatal(err)
			}
			before := len(auditEvents(t, ctx, st))
			sender := &sentBatches{}
			err := sendDecisionsFile(ctx, io.Discard, st, audit, sender, af, "W1", "QMM", fay, path)
			if c.want == "" {
				if err != nil || len(sender.batches) != 1 || len(sender.batches[0].Decisions) != 2 {
					t.Fatalf("%v, batches %+v", err, sender.batches)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) || fault.KindOf(err) != fault.BadInput {
				t.Fatalf("error %v, want BadInput %q", err, c.want)
			}
			if evs := auditEvents(t, ctx, st)[before:]; len(evs) != 0 || len(sender.batches) != 0 {
				t.Errorf("audited %+v, %d batches sent", evs, len(sender.batches))
			}
		})
	}
}

// TestDecisionsFileErrorsNameTheLine: a decisions file is checked row by row, its ids
// against the ICS's comments, before anything is audited or sent; each error names the
// file, line and field.
func TestDecisionsFileErrorsNameTheLine(t *testing.T) {
	ctx, st, _ := codedICS(t, 3)
	known, err := readCommentIDs(ctx, st, "W1", "QMM", "fay.reader@example.nhs.uk")
	if err != nil {
		t.Fatal(err)
	}
	header := "# Decisions of fay\n# Labels: ...\n"
	for _, c := range []struct {
		name, rows string
		want       []string // "" for a file that reads
	}{
		{"good", "resp-000\tP_IMPROVE\tCON-\nresp-001\tP_IMPROVE\tnone\n", nil},
		{"mistyped response", "resp-000\tP_IMPROVE\tCON-\nresp-0X1\tP_IMPROVE\tnone\n",
			[]string{"line 4 field response_id", `no free-text answer of response "resp-0X1" in W1 QMM`}},
		{"mistyped question", "resp-000\tP_IMPROVE\tCON-\n\nresp-001\tP_IMPROV\tnone\n",
			[]string{"line 5 field question_id", `response resp-001 has no free-text answer to "P_IMPROV" in W1 QMM (it answered P_IMPROVE)`}},
		{"decided twice", "resp-002\tP_IMPROVE\tCON-\nresp-001\tP_IMPROVE\tnone\nresp-002\tP_IMPROVE\tBUR+\n",
			[]string{"line 5: response resp-002, question P_IMPROVE decided twice (also line 3)"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "d2.tsv")
			if err := os.WriteFile(path, []byte(header+c.rows), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := readDecisions(path, "fay.reader@example.nhs.uk", known)
			if c.want == nil {
				if err != nil || len(b.Decisions) != 2 {
					t.Fatalf("%v, %d decisions", err, len(b.Decisions))
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), path+" ") {
				t.Fatalf("error %v, want one naming %s", err, path)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestWriteRecorded: a file taken away is on record before it is written, and a path
// that cannot be written is refused before anything is recorded.
func TestWriteRecorded(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.qdpx")
	if err := os.WriteFile(existing, []byte("before"), 0o600); err != nil {
		t.Fatal(err)
	}
	failing := errors.New("the audit store is down")
	for _, c := range []struct {
		name, path string
		record     error
		recorded   bool
		want       string // the file afterwards; "-" for none
		wantErr    string
	}{
		{"written", filepath.Join(dir, "new.qdpx"), nil, true, "export", ""},
		{"overwritten", existing, nil, true, "export", ""},
		{"no such directory", filepath.Join(dir, "nonexistent", "p.qdpx"), nil, false, "-", "nothing recorded or written"},
		{"record fails: no file left", filepath.Join(dir, "gone.qdpx"), failing, true, "-", "nothing written"},
	} {
		t.Run(c.name, func(t *testing.T) {
			recorded := false
			err := writeRecorded(c.path, []byte("export"), func() error { recorded = true; return c.record })
			if (c.wantErr == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %v, want %q", err, c.wantErr)
			}
			if recorded != c.recorded {
				t.Errorf("recorded %v, want %v", recorded, c.recorded)
			}
			b, err := os.ReadFile(c.path)
			if got := map[bool]string{true: string(b), false: "-"}[err == nil]; got != c.want {
				t.Errorf("file holds %q, want %q", got, c.want)
			}
		})
	}
	// A record that fails leaves a file that was there as it was.
	if err := writeRecorded(existing, []byte("export two"), func() error { return failing }); err == nil {
		t.Fatal("written without its record")
	}
	if b, _ := os.ReadFile(existing); string(b) != "export" {
		t.Errorf("the file was changed without its record: %q", b)
	}
}

// TestCodedICSs: an export names only ICSs the wave's coding codes; a mistyped (or
// lower-case) code is refused naming the coding's, before anything is audited under it.
func TestCodedICSs(t *testing.T) {
	st := waveclient.ThemeCodingStatus{ICS: []waveclient.ThemeCodingICS{{ICS: "QMM"}, {ICS: "QJK"}}}
	for _, c := range []struct {
		asked   []string
		want    string
		wantErr []string
	}{
		{nil, "QMM,QJK", nil},
		{[]string{"QJK"}, "QJK", nil},
		{[]string{"QXX"}, "", []string{`codes no ICS "QXX" (it codes QMM, QJK)`, "nothing exported"}},
		{[]string{"QMM", "qmm"}, "", []string{`codes no ICS "qmm"`, "did you mean QMM?"}},
	} {
		got, err := codedICSs("W1", st, c.asked)
		if c.wantErr == nil {
			if err != nil || strings.Join(got, ",") != c.want {
				t.Errorf("%v: %v %v, want %s", c.asked, got, err, c.want)
			}
			continue
		}
		if fault.KindOf(err) != fault.BadInput {
			t.Errorf("%v: %v, want BadInput", c.asked, err)
		}
		for _, w := range c.wantErr {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error %v lacks %q", c.asked, err, w)
			}
		}
	}
}

// TestExportNeedsADownloadGrant: an export is refused unless its reader may download
// every ICS's free text, and each file taken away is audited with its count.
func TestExportNeedsADownloadGrant(t *testing.T) {
	ctx, st, af := codedICS(t, 3)
	if _, err := exportReader(ctx, st, af, "fay.reader@example.nhs.uk", "W1", []string{"QMM", "QJK"}); !errors.Is(err, freetext.ErrRefused) ||
		!strings.Contains(err.Error(), "nothing exported") || !strings.Contains(err.Error(), "QJK") {
		t.Fatalf("an export with one ICS not granted: %v", err)
	}
	if _, err := exportReader(ctx, st, af, "ann.analyst@example.nhs.uk", "W1", []string{"QMM"}); !errors.Is(err, freetext.ErrRefused) {
		t.Fatalf("an analyst's export: %v", err)
	}
	r, err := exportReader(ctx, st, af, "fay.reader@example.nhs.uk", "W1", []string{"QMM"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.recordExport(ctx, "W1", "QMM", "qdpx export", 3); err != nil {
		t.Fatal(err)
	}
	evs := auditEvents(t, ctx, st)
	var refused, exported int
	for _, e := range evs {
		switch {
		case !e.Allowed && e.Action == freetext.ActionDownload:
			refused++
		case e.Allowed && e.Action == freetext.ActionDownload && e.Query == "qdpx export" && e.RowsShown == 3:
			exported++
		}
	}
	if refused != 1 || exported != 1 { // QJK's refusal is recorded under QJK
		t.Errorf("%d refusals and %d exports audited for QMM, want 1 and 1: %+v", refused, exported, evs)
	}
}

// TestExportRecordNamesItsComments: a .qdpx taken away is recorded as a download
// naming the response of each comment it carries, so `ice audit reads --response R`
// finds who exported a comment.
func TestExportRecordNamesItsComments(t *testing.T) {
	ctx, st, af := codedICS(t, 3)
	key, n, err := localindex.ExportQDPX(ctx, st, "W1", "QMM", time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 3 {
		t.Fatalf("export: %v, %d sources", err, n)
	}
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		t.Fatal(err)
	}
	r, err := exportReader(ctx, st, af, "fay.reader@example.nhs.uk", "W1", []string{"QMM"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.recordQDPX(ctx, "W1", "QMM", b); err != nil {
		t.Fatal(err)
	}
	evs := auditEvents(t, ctx, st)
	if len(evs) != 1 || !evs[0].Allowed || evs[0].Action != freetext.ActionDownload || evs[0].Query != "qdpx export" || evs[0].RowsShown != 3 {
		t.Fatalf("export record %+v", evs)
	}
	if got := strings.Join(slices.Sorted(slices.Values(evs[0].ResponseIDs)), ","); got != "resp-000,resp-001,resp-002" {
		t.Errorf("the export's record names responses %q, want resp-000,resp-001,resp-002", got)
	}
	if err := r.recordQDPX(ctx, "W1", "QMM", []byte("not a zip")); err == nil {
		t.Error("an export that cannot be read was recorded")
	}
}

// TestChooseQuoteChecksIDsBeforeTheRead: a quotation choice (or listing) with a
// mistyped statement or candidate, or a withdrawal of one never chosen, fails before
// any free-text read is audited; a good choice has its read on record.
func TestChooseQuoteChecksIDsBeforeTheRead(t *testing.T) {
	ctx, st, af := codedICS(t, 8)
	if _, err := synthSessions(ctx, st, codedProfile, "W1", "QMM", "", "focus_group", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), 1, 3); err != nil {
		t.Fatal(err)
	}
	cands, err := localindex.Candidates(ctx, st, "W1", "QMM", codedProfile)
	if err != nil || len(cands) == 0 || len(cands[0].Expectations) == 0 {
		t.Fatalf("no candidate to choose (%v): the test would test nothing", err)
	}
	good := cands[0]
	rd := &reader{accessFile: af, user: "fay.reader@example.nhs.uk"}
	pf := func(exp string) profileFlags {
		return profileFlags{wave: "W1", ics: "QMM", profile: codedProfile, expectation: exp}
	}
	for _, c := range []struct {
		name, exp, cand string
		remove          bool
		want            string
	}{
		{"mistyped candidate", good.Expectations[0], "deadbeef0000", false, `no candidate quotation "deadbeef0000"`},
		{"mistyped statement", "nosuch", good.ID, false, `no expected-care statement "nosuch"`},
		{"withdrawn, never chosen", good.Expectations[0], good.ID, true, "was not chosen"},
		{"withdrawn, mistyped statement", "nosuch", good.ID, true, `no expected-care statement "nosuch"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := chooseQuote(ctx, io.Discard, "", st, rd, pf(c.exp), c.cand, c.remove); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if evs := auditEvents(t, ctx, st); len(evs) != 0 {
				t.Errorf("a read audited that showed nothing: %+v", evs)
			}
		})
	}
	// A listing narrowed to a mistyped statement would list nothing, audited all the same.
	if err := listCandidates(ctx, st, rd, pf("nosuch")); err == nil || !strings.Contains(err.Error(), `no expected-care statement "nosuch"`) {
		t.Errorf("a listing for a mistyped statement: %v", err)
	}
	if evs := auditEvents(t, ctx, st); len(evs) != 0 {
		t.Errorf("a listing for a mistyped statement was audited: %+v", evs)
	}
	if _, err := chooseQuote(ctx, io.Discard, "", st, rd, pf(good.Expectations[0]), good.ID, false); err != nil {
		t.Fatal(err)
	}
	if evs := auditEvents(t, ctx, st); len(evs) != 1 || !evs[0].Allowed || evs[0].ResponseIDs[0] != good.ID {
		t.Errorf("the choice's read: %+v", evs)
	}
}

// Free text taken away (a .qdpx, a profile report quoting comments) is written readable
// by its owner alone, also over a file that was there readable by others: the file's
// old permissions would otherwise stay, and anyone on the machine could read it.
func TestFreeTextFilesAreOwnerOnly(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		write func(path string) error
	}{
		{"qdpx export", func(p string) error { return writeRecorded(p, []byte("export"), func() error { return nil }) }},
		{"profile report", func(p string) error { return writeOwnerOnly(p, []byte("report")) }},
	} {
		for _, existing := range []bool{false, true} {
			path := filepath.Join(dir, fmt.Sprintf("%s-%v", strings.ReplaceAll(c.name, " ", "-"), existing))
			if existing {
				if err := os.WriteFile(path, []byte("an older file"), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
					t.Fatal(err)
				}
			}
			if err := c.write(path); err != nil {
				t.Fatalf("%s (file there before: %v): %v", c.name, existing, err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s (file there before: %v): mode %v, want -rw-------", c.name, existing, fi.Mode().Perm())
			}
		}
	}
}

// crafted are texts a comment or a session note could hold, each with what the
// terminal must show for it: ordinary text of any script exactly, every control or
// format character (which survive the load's cleaning, or, in session notes, were never
// cleaned) as its escape, so none can hide or reorder what is read or rewrite the
// terminal. Each is long enough, and about information, to be coded and quoted.
var crafted = []struct{ name, text, want string }{
	{"right-to-left override", "Nobody told me what was happening \u202eyad eht emas kcab em gnar yeht\u202c about my care.",
		`Nobody told me what was happening \u202eyad eht emas kcab em gnar yeht\u202c about my care.`},
	{"isolates", "Nobody told me \u2066what\u2069 was happening \u2067about\u2069 \u2068my\u2069 care.",
		`Nobody told me \u2066what\u2069 was happening \u2067about\u2069 \u2068my\u2069 care.`},
	{"zero width and soft hyphen", "Nobody told me what was happening\u200b about my ca\u00adre.",
		`Nobody told me what was happening\u200b about my ca\u00adre.`},
	{"escape sequences", "Nobody told me what was happening\x1b[2K\x1b[1A\x1b]0;owned\a\x1b[8m about my care.",
		`Nobody told me what was happening\x1b[2K\x1b[1A\x1b]0;owned\a\x1b[8m about my care.`},
	{"C1 control, return and tab", "Nobody told me what was happening\u009b2J\r\t about my care.",
		`Nobody told me what was happening\u009b2J\r\t about my care.`},
	{"ordinary text", "Nobody told me what was happening — très mal, مرحبا, नमस्ते, 👨‍👩‍👧 🏴󠁧󠁢󠁥󠁮󠁧󠁿 about my care.",
		"Nobody told me what was happening — très mal, مرحبا, नमस्ते, 👨‍👩‍👧 🏴󠁧󠁢󠁥󠁮󠁧󠁿 about my care."},
}

// printedRaw says what control or format character (but the joiners and tags of
// ordinary text) out holds raw, if any.
func printedRaw(out string) (rune, bool) {
	for _, r := range out {
		if r != ' ' && r != '\n' && r != '\t' && !unicode.IsGraphic(r) && r != '\u200d' && (r < 0xe0020 || r > 0xe007f) {
			return r, true
		}
	}
	return 0, false
}

// TestTerminalCoderPrintsCommentsInert: ice themes code --next prints each comment of
// the queue with its control and format characters as escapes, and ordinary text as it
// is. The load strips C0 controls, but the comments are written here as they could reach
// the queue otherwise (and the bidi and format characters survive the load).
func TestTerminalCoderPrintsCommentsInert(t *testing.T) {
	texts := make([]string, len(crafted))
	for i, c := range crafted {
		texts[i] = c.text
	}
	ctx, st, af := codedICSTexts(t, texts)
	var out bytes.Buffer
	err := terminalCoding{Store: st, Audit: dashdata.FreeTextStore{Store: st}, Sender: &sentBatches{}, AccessFile: af, Wave: "W1", ICS: "QMM",
		Coder: "fay.reader@example.nhs.uk", Next: len(crafted), In: strings.NewReader(strings.Repeat("none\n", len(crafted))), W: &out}.run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := printedRaw(out.String()); ok {
		t.Errorf("the coder's terminal got %U raw:\n%s", r, out.String())
	}
	for _, c := range crafted {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(out.String(), "  "+c.want+"\n") {
				t.Errorf("the comment is not printed as %s:\n%s", c.want, out.String())
			}
		})
	}
}

// TestQuoteListPrintsNotesInert: ice profile quote --list prints each candidate
// quotation from a session's notes (never cleaned) with its control and format
// characters as escapes, and ordinary text as it is, one row of the table each.
func TestQuoteListPrintsNotesInert(t *testing.T) {
	ctx, st, af := codedICS(t, 8)
	if _, err := synthSessions(ctx, st, codedProfile, "W1", "QMM", "", "focus_group", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), 1, 3); err != nil {
		t.Fatal(err)
	}
	// A session's notes with one participant's line per crafted text.
	infos, err := st.List(ctx, schemas.FreeTextRoot("W1", "QMM")+strings.TrimSuffix(profiles.TranscriptKey(codedProfile, ""), ".txt"))
	if err != nil || len(infos) == 0 {
		t.Fatalf("no session notes to craft (%v)", err)
	}
	var notes strings.Builder
	notes.WriteString("Facilitator: Tell me about your care.\n")
	for _, c := range crafted {
		notes.WriteString("P1: " + c.text + "\n")
	}
	var key string
	for _, in := range infos {
		if strings.HasSuffix(in.Key, ".txt") {
			key = in.Key
			break
		}
	}
	if err := store.PutBytes(ctx, st, key, []byte(notes.String())); err != nil {
		t.Fatal(err)
	}
	rd := &reader{accessFile: af, user: "fay.reader@example.nhs.uk"}
	out, err := captureStdout(t, func() error {
		return listCandidates(ctx, st, rd, profileFlags{wave: "W1", ics: "QMM", profile: codedProfile})
	})
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := printedRaw(strings.ReplaceAll(out, "\t", "")); ok {
		t.Errorf("the coder's terminal got %U raw:\n%s", r, out)
	}
	for _, c := range crafted {
		t.Run(c.name, func(t *testing.T) {
			// Candidates are redacted words: the crafted texts hold nothing to redact.
			var row string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasSuffix(l, "  "+c.want) {
					row = l
				}
			}
			if row == "" {
				t.Fatalf("no row ends with the quotation as %s:\n%s", c.want, out)
			}
			if strings.Contains(row, "\t") || strings.Count(out, c.want) != 1 {
				t.Errorf("the quotation's row: %q", row)
			}
		})
	}
}

// codedProfile is the profile these tests code against (the demo's, which a production
// build does not have).
const codedProfile = "women-multimorbidity-heart"
