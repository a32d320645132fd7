package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/temporal"

	"icesurvey/access"
	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/localindex"
	"icesurvey/store"
	"icesurvey/themes"
	"icesurvey/waveclient"
	"icesurvey/web/dashdata"
)

// The terminal coder (#17 item 4): `ice themes code --next N` shows a named
// free-text reader the next comments of their coding queue — the queue the dashboard's
// coding page shows (localindex.CoderQueue), redacted, with the machine's suggestions
// unless coded blind — and takes their decisions on stdin, or writes a decisions file
// (ids and labels, no text) to fill in and send with --decisions. Like the dashboard
// it checks the access file's free-text grant (freetext.ActionCode) before any text is
// read, and records every read and refusal in the same audit trail
// (dashdata.FreeTextStore, beside the free text) before anything is shown, and each
// decision once the worker has accepted it (a refusal by the worker is recorded too).

// freeTextAuditor records free-text audit events: the dashboard's audit store.
type freeTextAuditor interface {
	RecordFreeText(ctx context.Context, e freetext.AuditEvent) error
}

// themeSender sends a batch of decisions to the wave's ThemeCodingWorkflow, and says
// whether it runs (nil), or why not (it has ended, or was never started).
type themeSender interface {
	SendThemeDecisions(ctx context.Context, wave, ics string, batch waveclient.ThemeBatch) (waveclient.ThemeDecisionsResult, error)
	ThemeCodingRunning(ctx context.Context, wave string) error
}

// freeTextReader is a named reader, checked against the access file.
type freeTextReader struct {
	user  access.User
	audit freeTextAuditor
	now   func() time.Time
}

// namedReader loads the access file and finds the user in it; a user it does not
// name is refused (and the refusal audited for each ICS asked about).
func namedReader(ctx context.Context, accessFile, userID string, audit freeTextAuditor, wave string, icss []string, action freetext.Action) (*freeTextReader, error) {
	if strings.TrimSpace(userID) == "" {
		return nil, fmt.Errorf("free text is read only by named readers: name yourself (--coder or --by)")
	}
	if accessFile == "" {
		return nil, fmt.Errorf("--access is required: the access file that names the free-text readers (the dashboard's; ice demo writes DATA/dashboard-access.yaml; or set ICE_ACCESS)")
	}
	policy, err := access.Load(accessFile)
	if err != nil {
		return nil, err
	}
	u, ok := policy.User(userID)
	if !ok {
		// An unknown user is audited under the name they gave, as the dashboard
		// audits a signed-in user without a grant.
		u = access.User{ID: userID}
	}
	r := &freeTextReader{user: u, audit: audit, now: func() time.Time { return time.Now().UTC() }}
	return r, r.check(ctx, wave, icss, action)
}

// check refuses unless the reader may take action on every ICS's free text, and
// records each refusal in the audit trail. Nothing is read before it passes.
func (r *freeTextReader) check(ctx context.Context, wave string, icss []string, action freetext.Action) error {
	var refused []string
	for _, ics := range icss {
		req := freetext.Request{UserID: r.user.ID, ICS: ics, Action: action, At: r.now()}
		d := access.CheckFreeText(r.user, req)
		if d.Allowed {
			continue
		}
		if err := r.audit.RecordFreeText(ctx, freetext.NewAuditEvent(req, d, wave, "", nil)); err != nil {
			return fmt.Errorf("recording a refused free-text %s: %w", action, err)
		}
		refused = append(refused, ics+": "+d.Reason)
	}
	if len(refused) > 0 {
		return fmt.Errorf("%w: %s may not %s the free text of %s", freetext.ErrRefused, r.user.ID, action, strings.Join(refused, "; "))
	}
	return nil
}

// recordExport audits a file of free text taken away (a .qdpx, a report with
// quotations): a download of n comments (or report files) of one ICS.
func (r *freeTextReader) recordExport(ctx context.Context, wave, ics, what string, n int) error {
	return r.record(ctx, freetext.ActionDownload, wave, ics, what, nil, n)
}

// recordQDPX audits a .qdpx taken away as a download of its comments, naming the
// response of each (so `ice audit reads --response R` finds who took it away).
func (r *freeTextReader) recordQDPX(ctx context.Context, wave, ics string, qdpx []byte) error {
	p, err := themes.ReadQDPX(bytes.NewReader(qdpx), int64(len(qdpx)), themes.Default())
	if err != nil {
		return fmt.Errorf("reading the export's comments: %w", err)
	}
	ids := make([]string, len(p.Sources))
	for i, src := range p.Sources {
		ids[i] = src.ID // a comment's unit: response id / question id
		if j := strings.LastIndex(src.ID, "/"); j > 0 {
			ids[i] = src.ID[:j]
		}
	}
	return r.record(ctx, freetext.ActionDownload, wave, ics, "qdpx export", ids, 0)
}

// record checks the reader's action on one ICS's free text again, at this moment, and
// writes the audit event of what is shown or taken (ids, or n items) before it is.
func (r *freeTextReader) record(ctx context.Context, action freetext.Action, wave, ics, what string, ids []string, n int) error {
	req := freetext.Request{UserID: r.user.ID, ICS: ics, Action: action, At: r.now()}
	d := access.CheckFreeText(r.user, req)
	if !d.Allowed {
		return fmt.Errorf("%w: %s", freetext.ErrRefused, d.Reason)
	}
	ev := freetext.NewAuditEvent(req, d, wave, what, ids)
	if n > 0 {
		ev.RowsShown = n
	}
	return r.audit.RecordFreeText(ctx, ev)
}

// terminalCoding is one sitting of `ice themes code --next N`.
type terminalCoding struct {
	Store      store.Store
	Audit      freeTextAuditor
	Sender     themeSender
	AccessFile string
	Wave, ICS  string
	Coder      string
	Next       int
	Out        string // write a decisions file here instead of asking on stdin
	In         io.Reader
	W          io.Writer
	Now        func() time.Time
	BatchID    string // names the batch (tests); empty: a random id
}

// run shows the next comments and takes (or writes out) the coder's decisions.
func (tc terminalCoding) run(ctx context.Context) error {
	if tc.Wave == "" || tc.ICS == "" {
		return fmt.Errorf("--wave and --for-ics are required with --next")
	}
	if tc.Next < 1 {
		return fmt.Errorf("--next %d: want at least 1 comment", tc.Next)
	}
	// A coding that has ended takes no decision: nothing is shown, or audited as read
	// for coding, that could not be coded.
	if err := tc.Sender.ThemeCodingRunning(ctx, tc.Wave); err != nil {
		return err
	}
	r, err := namedReader(ctx, tc.AccessFile, tc.Coder, tc.Audit, tc.Wave, []string{tc.ICS}, freetext.ActionCode)
	if err != nil {
		return err
	}
	if tc.Now != nil {
		r.now = tc.Now
	}
	queue, err := localindex.CoderQueue(ctx, tc.Store, tc.Wave, tc.ICS, tc.Coder)
	if err != nil {
		return err
	}
	total := len(queue)
	if len(queue) > tc.Next {
		queue = queue[:tc.Next]
	}
	if len(queue) == 0 {
		fmt.Fprintf(tc.W, "Nothing left for %s to code in %s %s.\n", tc.Coder, tc.Wave, tc.ICS)
		return nil
	}
	comments := make([]freetext.Comment, len(queue))
	for i, e := range queue {
		comments[i] = freetext.Comment{ResponseID: e.ResponseID, QuestionID: e.QuestionID, Text: e.Text}
	}
	req := freetext.Request{UserID: tc.Coder, ICS: tc.ICS, Action: freetext.ActionCode, At: r.now()}
	shown, ev, err := freetext.Read(access.FreeTextGrants(r.user), req, tc.Wave,
		fmt.Sprintf("coding queue 1-%d of %d (terminal)", len(queue), total), comments, nil)
	// The read is on record before a word of it is shown.
	if aerr := tc.Audit.RecordFreeText(ctx, ev); aerr != nil {
		return fmt.Errorf("recording the coding read: %w", aerr)
	}
	if err != nil {
		return err
	}
	cb := themes.Default()
	fmt.Fprintf(tc.W, "Coding %s %s as %s: the next %d of the %d comments left in your queue, most uncertain first.\n",
		tc.Wave, tc.ICS, tc.Coder, len(queue), total)
	fmt.Fprintf(tc.W, "Restricted: patients' and carers' own words, redacted ([NAME], [PHONE], ...). This read is recorded with your name.\n")
	fmt.Fprintf(tc.W, "Themes: %s (+ positive, - negative)\n", codebookKey(cb))
	if tc.Out != "" {
		return tc.writeTemplate(cb, queue, shown)
	}
	return tc.ask(ctx, r, cb, queue, shown)
}

// codebookKey lists the codebook's codes with their names.
func codebookKey(cb *themes.Codebook) string {
	var parts []string
	for _, id := range cb.ThemeIDs() {
		t, _ := cb.Theme(id)
		parts = append(parts, t.Code+" "+t.Name)
	}
	return strings.Join(parts, ", ")
}

func showComment(w io.Writer, cb *themes.Codebook, i, n int, e localindex.QueueEntry, s freetext.Shown) {
	// The comment is printed inert: a bidi override, format character or escape
	// sequence in it shows as its escape, so it cannot hide or reorder what the coder
	// reads, nor rewrite the terminal.
	fmt.Fprintf(w, "\n[%d/%d] response %s, question %s (queue position %d)\n", i+1, n, inert(e.ResponseID), inert(e.QuestionID), e.Position)
	fmt.Fprintf(w, "  %s\n", inert(s.Redacted.Text))
	if e.Blind {
		fmt.Fprintf(w, "  coded blind: no suggestions shown\n")
	} else {
		fmt.Fprintf(w, "  machine suggests: %s\n", localindex.Labels(cb, e.Suggestions))
	}
}

// writeTemplate prints the comments and writes a decisions file holding only ids and
// the machine's suggested labels ("?" for a comment coded blind), to edit and send.
func (tc terminalCoding) writeTemplate(cb *themes.Codebook, queue []localindex.QueueEntry, shown []freetext.Shown) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Decisions of %s on %s %s: response_id, question_id, labels (tab-separated).\n", tc.Coder, tc.Wave, tc.ICS)
	fmt.Fprintf(&b, "# Labels: the codebook's codes with + or - (%s), separated by ';', or none.\n", codebookKey(cb))
	b.WriteString("# Replace each ? (a comment coded blind) and change any suggestion you disagree with, then send:\n")
	fmt.Fprintf(&b, "#   ice themes code --wave %s --for-ics %s --coder %s --decisions %s\n", tc.Wave, tc.ICS, tc.Coder, tc.Out)
	for i, e := range queue {
		showComment(tc.W, cb, i, len(queue), e, shown[i])
		labels := "?"
		if !e.Blind {
			labels = localindex.Labels(cb, e.Suggestions)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\n", e.ResponseID, e.QuestionID, labels)
	}
	if err := os.WriteFile(tc.Out, []byte(b.String()), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(tc.W, "\nWrote %s (ids and labels only, no text). Edit it, then send it with --decisions %s.\n", tc.Out, tc.Out)
	return nil
}

// ask takes a decision on each comment from the coder: Enter keeps the suggestion,
// labels change it, "none" codes no theme, "q" (or the end of input) stops; the
// decisions taken so far are sent as one batch.
func (tc terminalCoding) ask(ctx context.Context, r *freeTextReader, cb *themes.Codebook, queue []localindex.QueueEntry, shown []freetext.Shown) error {
	in := bufio.NewScanner(tc.In)
	batch := waveclient.ThemeBatch{Coder: tc.Coder}
	if tc.BatchID != "" {
		batch.ID = tc.BatchID
	}
	fmt.Fprintf(tc.W, "For each comment type its labels (e.g. CON-;BUR+), none for no theme, Enter to keep the suggestion, q to stop and send.\n")
comments:
	for i, e := range queue {
		showComment(tc.W, cb, i, len(queue), e, shown[i])
		for {
			if e.Blind {
				fmt.Fprint(tc.W, "  labels: ")
			} else {
				fmt.Fprintf(tc.W, "  labels [%s]: ", localindex.Labels(cb, e.Suggestions))
			}
			if !in.Scan() {
				fmt.Fprintln(tc.W)
				break comments
			}
			line := strings.TrimSpace(in.Text())
			var codes []themes.ThemeCode
			switch {
			case line == "q":
				break comments
			case line == "" && e.Blind:
				fmt.Fprintln(tc.W, "  this comment is coded blind: type its labels, or none")
				continue
			case line == "":
				codes = e.Suggestions
			default:
				var err error
				if codes, err = cb.ParseLabels(line); err != nil {
					fmt.Fprintf(tc.W, "  %v; try again\n", err)
					continue
				}
			}
			batch.Decisions = append(batch.Decisions, waveclient.ThemeDecision{ResponseID: e.ResponseID, QuestionID: e.QuestionID, Themes: codes})
			break
		}
	}
	if err := in.Err(); err != nil {
		return fmt.Errorf("reading your decisions: %w", err)
	}
	if len(batch.Decisions) == 0 {
		fmt.Fprintln(tc.W, "No decisions taken; nothing sent.")
		return nil
	}
	return sendDecisions(ctx, tc.W, r, tc.Sender, tc.Wave, tc.ICS, batch)
}

// sendDecisions sends the batch as one update (the grant checked again first: a batch
// from a file needs it as much as one typed here) and prints what it changed. Only
// what happened is on record: each decision is recorded as a coding by its coder once
// the worker has accepted the batch, and a batch the worker refuses (its own check of
// the access file, which may not be the file --access named) is recorded as one
// refusal with the worker's reason, no decision. A coding that has ended (or was never
// started) is refused first, and nothing recorded.
func sendDecisions(ctx context.Context, w io.Writer, r *freeTextReader, sender themeSender, wave, ics string, batch waveclient.ThemeBatch) error {
	res, err := sendRecorded(ctx, r, sender, wave, ics, batch)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%d decisions by %s recorded for %s %s\n", res.Recorded, batch.Coder, wave, ics)
	printCoded([]waveclient.ThemeCodingICS{{ICS: ics, Last: &res.ICS}})
	printKappa(res.Report)
	return nil
}

// sendRecorded sends the batch and records it in the free-text audit trail as
// sendDecisions says: the decisions once accepted, a worker's refusal as a refusal.
func sendRecorded(ctx context.Context, r *freeTextReader, sender themeSender, wave, ics string, batch waveclient.ThemeBatch) (waveclient.ThemeDecisionsResult, error) {
	var none waveclient.ThemeDecisionsResult
	if err := sender.ThemeCodingRunning(ctx, wave); err != nil {
		return none, fmt.Errorf("no decision sent: %w", err)
	}
	if err := r.check(ctx, wave, []string{ics}, freetext.ActionCode); err != nil {
		return none, err
	}
	req := freetext.Request{UserID: r.user.ID, ICS: ics, Action: freetext.ActionCode, At: r.now()}
	d := access.CheckFreeText(r.user, req) // allowed: checked just above
	res, err := sender.SendThemeDecisions(ctx, wave, ics, batch)
	if reason, refused := workerRefusal(err); refused {
		ev := freetext.NewAuditEvent(req, freetext.Decision{Reason: "refused by the worker: " + reason}, wave,
			fmt.Sprintf("theme decisions: %d refused", len(batch.Decisions)), nil)
		if aerr := r.audit.RecordFreeText(ctx, ev); aerr != nil {
			return none, fmt.Errorf("%w (recording the refusal: %v)", err, aerr)
		}
		return none, fmt.Errorf("no decision recorded: %w", err)
	}
	if err != nil {
		return none, err
	}
	cb := themes.Default()
	for i, dec := range batch.Decisions {
		ev := freetext.NewAuditEvent(req, d, wave, "theme decision: "+localindex.Labels(cb, dec.Themes), []string{dec.ResponseID})
		if err := r.audit.RecordFreeText(ctx, ev); err != nil {
			return none, fmt.Errorf("the worker recorded the %d decisions, but recording decision %d of them in the free-text audit trail failed "+
				"(they are in the wave's theme decisions with %s as their coder): %w", res.Recorded, i+1, batch.Coder, err)
		}
	}
	return res, nil
}

// workerRefusal says whether err is a worker's refusal of a named person's free-text
// request (activities.checkFreeText: NotAuthorised), and its message.
func workerRefusal(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var app *temporal.ApplicationError
	if errors.As(err, &app) && app.Type() == string(fault.NotAuthorised) {
		return app.Message(), true
	}
	if errors.Is(err, freetext.ErrRefused) {
		return err.Error(), true
	}
	return "", false
}

// exportReader checks, before anything is exported, that by may download the free
// text of every ICS (refusals audited); it returns the reader whose exports are then
// recorded with their counts.
func exportReader(ctx context.Context, st store.Store, accessFile, by, wave string, icss []string) (*freeTextReader, error) {
	r, err := namedReader(ctx, accessFile, by, dashdata.FreeTextStore{Store: st}, wave, icss, freetext.ActionDownload)
	if err != nil {
		if errors.Is(err, freetext.ErrRefused) {
			return nil, fmt.Errorf("nothing exported: %w", err)
		}
		return nil, err
	}
	return r, nil
}
