package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"icesurvey/access"
	"icesurvey/freetext"
	"icesurvey/themes"
)

// The coding page (issue #17 item 4): a named free-text reader of an ICS codes its
// comments. The page lists what is left of the coder's queue, in the coding queue's
// order, a page of codingPageSize at a time (previous and next pages to look ahead),
// redacted, with the machine's suggestions preselected (none for a comment coded
// blind); the coder decides a comment by changing its themes, ticking "Keep the
// suggestion" or, coded blind, "No theme (none)", and sends the page as one batch of
// the comments decided. The decided comments then leave the coder's queue, so the
// page that follows a batch is the next batch (the undecided ones first). Every read
// is recorded in the free-text audit trail as freetext.ActionCode before anything is
// shown, the batch goes to the coding workflow through ThemeDecisions (the dashboard
// reaches no workflow itself), and each decision it took is then recorded too.

// CodingQueue reads what is left for one coder to code in an ICS, as the last coding
// run queued it (localindex.CoderQueue): redacted text, queue order, and the
// machine's suggestions unless the comment is coded blind.
type CodingQueue interface {
	CodingQueue(ctx context.Context, wave, ics, coder string) ([]CodingItem, error)
}

// CodingItem is one comment of the queue.
type CodingItem struct {
	ResponseID, QuestionID string
	Text                   string // redacted by the coding run; redacted again before it is shown
	// Blind: shown without suggestions (the evaluation slice, or a double-coded
	// comment's second coding).
	Blind       bool
	Suggestions []CodedTheme
}

// CodedTheme is one theme with its polarity ("positive" or "negative").
type CodedTheme struct {
	Theme    string
	Polarity string
}

// ThemeDecisions sends one coder's batch of decisions on one ICS's comments to the
// coding workflow and returns how many it recorded. CodingRunning returns nil while
// the wave's coding workflow runs and takes decisions, and otherwise an error that is
// ErrCodingEnded (it has ended, or was never started) saying why.
type ThemeDecisions interface {
	SendThemeDecisions(ctx context.Context, wave, ics string, b CodingBatch) (int, error)
	CodingRunning(ctx context.Context, wave string) error
}

// ErrCodingEnded is what CodingRunning returns (wrapped, with why) when the wave's
// theme coding takes no decisions: the page says so, shows no comment and audits none.
var ErrCodingEnded = errors.New("the wave's theme coding is not running")

// codingEndedError is the page a coder sees when the wave's coding has ended.
type codingEndedError string

func (e codingEndedError) Error() string { return string(e) }

// ErrCodingRefused is what ThemeDecisions returns (wrapped, with the reason) when the
// pipeline's own access check refuses the coder: the page says so, not "a problem".
var ErrCodingRefused = errors.New("the coder may not code this ICS's free text")

// CodingBatch is one coder's decisions from one page.
type CodingBatch struct {
	Coder     string
	Decisions []CodingDecision
}

// CodingDecision is the themes a coder gave one comment (none: it has no theme).
type CodingDecision struct {
	ResponseID, QuestionID string
	Themes                 []CodedTheme
}

// codingPageSize is how many comments one page (one batch) holds.
const codingPageSize = 20

type codingView struct {
	Wave   Wave
	ICS    ICS
	Grant  string
	Action string
	Total  int // comments left in the coder's queue
	From   int // the page's first comment, 0-based, in the coder's queue
	First  int // From+1, as shown
	Last   int // the page's last comment, 1-based
	Prev   string
	Next   string
	Items  []codingRow
	Sent   string // the confirmation after a batch
	// Problems are why a batch was not sent, each linking to the field to put right
	// (the error summary); the comment's own Error says it again beside the comment.
	Problems []codingProblem

	// What showing the page needs (showCoding): the access decision, the request and
	// the page's comments before redaction.
	decision freetext.Decision
	req      freetext.Request
	comments []freetext.Comment
}

// codingProblem is one line of the coding page's error summary and the field it
// links to (the first field of the page when it is about no one comment).
type codingProblem struct {
	Text string
	Href string
}

type codingRow struct {
	N          int
	Num        int // the comment's place in the coder's queue, as shown
	ResponseID string
	QuestionID string
	Text       string
	Blind      bool
	Themes     []codingChoice
	// Mark is the field of the row's explicit decision without a change: for a
	// comment coded blind "none" (no theme), otherwise keeping the suggestion, which
	// Suggested says in words. Marked: the coder ticked it.
	Mark      string
	Marked    bool
	Suggested string
	Error     string // why this comment's decision was not sent, if it was not

	suggestions []CodedTheme // what the page preselected (none for a blind comment)
}

type codingChoice struct {
	Field, ID, Name string
	Value           string // "", "negative" or "positive"
}

// codingAccess checks that u may read (and so code) the free text of the form's ICS,
// recording a refusal; it returns the wave, ICS, grants and the access decision.
func (s *Server) codingAccess(ctx context.Context, u access.User, waveID, ics string) (Wave, ICS, freetext.Decision, freetext.Request, error) {
	var zero freetext.Decision
	if s.deps.CodingQueue == nil || s.deps.ThemeDecisions == nil || s.deps.Audit == nil {
		return Wave{}, ICS{}, zero, freetext.Request{}, notFoundError("Coding is not available on this dashboard.")
	}
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return Wave{}, ICS{}, zero, freetext.Request{}, err
	}
	now := s.cfg.Now()
	if ics == "" {
		// As the free-text page: the first ICS u may read, or a refusal recorded
		// naming no ICS.
		allowed := access.FreeTextICSs(u, now)
		if len(allowed) == 0 {
			req := freetext.Request{UserID: u.ID, Action: freetext.ActionCode, At: now}
			ev := freetext.NewAuditEvent(req, freetext.Decision{Reason: noFreeTextReason}, wave.ID, "", nil)
			if err := s.deps.Audit.RecordFreeText(ctx, ev); err != nil {
				return Wave{}, ICS{}, zero, req, fmt.Errorf("recording a refused coding page: %w", err)
			}
			return Wave{}, ICS{}, zero, req, forbiddenError("Coding is open only to named free-text readers of an ICS, and you have no current free-text access. Access is approved per ICS, by name, and expires.")
		}
		ics = allowed[0]
	}
	j := slices.IndexFunc(wave.ICSs, func(i ICS) bool { return i.Code == ics })
	if j < 0 {
		return Wave{}, ICS{}, zero, freetext.Request{}, notFoundError(fmt.Sprintf("There is no ICS %q in this wave.", ics))
	}
	req := freetext.Request{UserID: u.ID, ICS: ics, Action: freetext.ActionCode, At: now}
	d := access.CheckFreeText(u, req)
	if !d.Allowed {
		ev := freetext.NewAuditEvent(req, d, wave.ID, "", nil)
		if err := s.deps.Audit.RecordFreeText(ctx, ev); err != nil {
			return Wave{}, ICS{}, zero, req, fmt.Errorf("recording a refused coding page: %w", err)
		}
		return Wave{}, ICS{}, zero, req, forbiddenError("You cannot code the free text of " + icsLabel(wave.ICSs[j]) + ": " + d.Reason + ".")
	}
	return wave, wave.ICSs[j], d, req, nil
}

func (s *Server) codingPage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.codingView(r.Context(), u, r.PathValue("wave"), r.URL.Query().Get("ics"), r.URL.Query().Get("from"), nil)
	if err == nil {
		err = s.showCoding(r.Context(), u, &v)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// sent is the count codingSubmit put in its redirect; anything but a whole number
	// is ignored, so no text from a link is shown beside the comments.
	if n, err := strconv.Atoi(r.URL.Query().Get("sent")); err == nil && n >= 0 {
		v.Sent = "Your decisions were recorded: " + strconv.Itoa(n) + " comment" + map[bool]string{true: "", false: "s"}[n == 1] + "."
		if l, err := strconv.Atoi(r.URL.Query().Get("left")); err == nil && l > 0 {
			v.Sent += " " + strconv.Itoa(l) + " you left undecided were not sent and are still in your queue."
		}
	}
	s.renderWithStatus(w, r, "coding", "Coding – "+icsLabel(v.ICS), u, v, []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}})
}

// codingView reads one page of the coder's queue (from: the page's first comment,
// 0-based; empty for the first page), without its text: showCoding redacts it and
// records the read, for a page that is shown. form, when set, is a POST's values,
// kept in the choices.
func (s *Server) codingView(ctx context.Context, u access.User, waveID, ics, from string, form url.Values) (codingView, error) {
	wave, icsV, d, req, err := s.codingAccess(ctx, u, waveID, ics)
	if err != nil {
		return codingView{}, err
	}
	ics = icsV.Code // the first readable ICS when the request named none
	// A coding that has ended takes no decision: its queue is neither shown nor its
	// read audited, and a page of decisions is neither audited nor sent.
	if err := s.deps.ThemeDecisions.CodingRunning(ctx, wave.ID); errors.Is(err, ErrCodingEnded) {
		return codingView{}, codingEndedError("The theme coding of " + waveTitle(wave) + " is not running, so there is nothing to code: " +
			"no comment is shown and no decision can be recorded. Ask the wave's operator to start it again if there is more to code (" +
			strings.TrimPrefix(err.Error(), ErrCodingEnded.Error()+": ") + ").")
	} else if err != nil {
		return codingView{}, fmt.Errorf("asking whether the theme coding of %s runs: %w", wave.ID, err)
	}
	start := 0
	if from != "" {
		if start, err = strconv.Atoi(from); err != nil || start < 0 {
			return codingView{}, notFoundError(fmt.Sprintf("There is no page of the queue at %q.", from))
		}
	}
	items, err := s.deps.CodingQueue.CodingQueue(ctx, wave.ID, ics, u.ID)
	if err != nil {
		return codingView{}, fmt.Errorf("reading the coding queue of %s: %w", ics, err)
	}
	// A page past the end (the queue shrank as batches arrived) shows the last page.
	if start >= len(items) {
		start = max(0, (len(items)-1)/codingPageSize*codingPageSize)
	}
	base := "/waves/" + url.PathEscape(wave.ID) + "/coding?ics=" + url.QueryEscape(ics)
	page := items[start:min(len(items), start+codingPageSize)]
	v := codingView{Wave: wave, ICS: icsV, Grant: d.Reason, Total: len(items), From: start, First: start + 1, Last: start + len(page),
		Action: base + "&from=" + strconv.Itoa(start), decision: d, req: req}
	if start > 0 {
		v.Prev = base + "&from=" + strconv.Itoa(max(0, start-codingPageSize))
	}
	if start+len(page) < len(items) {
		v.Next = base + "&from=" + strconv.Itoa(start+len(page))
	}
	items = page
	for _, it := range items {
		v.comments = append(v.comments, freetext.Comment{ResponseID: it.ResponseID, QuestionID: it.QuestionID, Text: it.Text})
	}
	cb := themes.Default()
	for i, it := range items {
		row := codingRow{N: i, Num: start + i + 1, ResponseID: it.ResponseID, QuestionID: it.QuestionID, Blind: it.Blind,
			Mark: fmt.Sprintf("k%d", i), Marked: form != nil && form.Get(fmt.Sprintf("k%d", i)) == "yes"}
		if !it.Blind {
			row.suggestions = it.Suggestions
			var words []string
			for _, sg := range it.Suggestions {
				if th, ok := cb.Theme(sg.Theme); ok {
					words = append(words, th.Name+" ("+sg.Polarity+")")
				}
			}
			row.Suggested = "no theme"
			if len(words) > 0 {
				row.Suggested = strings.Join(words, ", ")
			}
		}
		for _, id := range cb.ThemeIDs() {
			th, _ := cb.Theme(id)
			c := codingChoice{Field: fmt.Sprintf("t%d-%s", i, id), ID: fmt.Sprintf("t%d-%s", i, id), Name: th.Name}
			if form != nil {
				c.Value = form.Get(c.Field)
			} else if !it.Blind {
				for _, sg := range it.Suggestions {
					if sg.Theme == id {
						c.Value = sg.Polarity
					}
				}
			}
			row.Themes = append(row.Themes, c)
		}
		v.Items = append(v.Items, row)
	}
	return v, nil
}

// showCoding redacts the page's comments again through freetext.Read and records the
// read before they are put on the page. The audit event names the comments shown
// (their ids) and the page of the queue; it holds no text.
func (s *Server) showCoding(ctx context.Context, u access.User, v *codingView) error {
	shown, ev, err := freetext.Read(freeTextGrants(u), v.req, v.Wave.ID, fmt.Sprintf("coding queue %d-%d of %d", v.First, v.Last, v.Total), v.comments, nil)
	if rerr := s.deps.Audit.RecordFreeText(ctx, ev); rerr != nil {
		return fmt.Errorf("recording the coding page: %w", rerr)
	}
	if err != nil {
		return forbiddenError("You cannot code the free text of " + icsLabel(v.ICS) + ": " + err.Error() + ".")
	}
	for i := range v.Items {
		v.Items[i].Text = shown[i].Redacted.Text
	}
	return nil
}

// codingSubmit reads the page's decisions and sends them as one batch, then records
// each in the audit trail. A comment is decided only by an explicit act, as in the
// terminal (ice themes code --next), where Enter keeps a suggestion and a comment
// coded blind needs its labels or "none" typed: its themes changed from what the page
// preselected, its suggestion kept by ticking "Keep the suggestion", or, coded blind,
// "No theme (none)" ticked. A comment left as the page showed it is not decided: it is
// not sent and stays in the coder's queue (as the comments after "q" in the terminal),
// so a page sent untouched records nothing.
func (s *Server) codingSubmit(w http.ResponseWriter, r *http.Request, u access.User) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Request refused", "The form could not be read.")
		return
	}
	v, err := s.codingView(ctx, u, r.PathValue("wave"), r.URL.Query().Get("ics"), r.URL.Query().Get("from"), r.PostForm)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ics := v.ICS.Code
	batch := CodingBatch{Coder: u.ID}
	left := 0
	for i := range v.Items {
		row := &v.Items[i]
		if r.PostForm.Get(fmt.Sprintf("u%d", row.N)) != row.ResponseID+"/"+row.QuestionID {
			v.problem(nil, "", "The queue has changed since the page was shown: check the comments again and send them.")
			break
		}
		d := CodingDecision{ResponseID: row.ResponseID, QuestionID: row.QuestionID}
		for _, c := range row.Themes {
			switch c.Value {
			case "":
			case "negative", "positive":
				d.Themes = append(d.Themes, CodedTheme{Theme: strings.TrimPrefix(c.Field, fmt.Sprintf("t%d-", row.N)), Polarity: c.Value})
			default:
				v.problem(row, c.ID, fmt.Sprintf("Comment %d, %s: %q is not a choice.", row.Num, c.Name, c.Value))
			}
		}
		changed := !sameThemes(d.Themes, row.suggestions)
		switch {
		case row.Blind && row.Marked && len(d.Themes) > 0:
			v.problem(row, row.Mark, fmt.Sprintf("Comment %d is marked \"No theme (none)\" but has themes chosen: choose its themes or none, not both.", row.Num))
		case !row.Blind && row.Marked && changed:
			v.problem(row, row.Mark, fmt.Sprintf("Comment %d is marked \"Keep the suggestion\" but its themes were changed: untick it to send the change, or put the suggestion back.", row.Num))
		case row.Marked || changed:
			batch.Decisions = append(batch.Decisions, d)
		default:
			left++
		}
	}
	if len(batch.Decisions) == 0 && len(v.Problems) == 0 {
		v.problem(nil, "", "You have not decided any comment on this page, so nothing was sent. For each comment, change its themes, "+
			"tick \"Keep the suggestion\", or, for a comment coded blind, choose its themes or tick \"No theme (none)\".")
	}
	if len(v.Problems) > 0 {
		// The page is shown again, with its comments: their read is recorded first.
		if err := s.showCoding(ctx, u, &v); err != nil {
			s.fail(w, r, err)
			return
		}
		status, err := s.deps.Freshness.DataStatus(ctx)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// As the page it was sent from, its title saying first that there is a problem.
		s.render(w, r, http.StatusBadRequest, "coding", page{Title: "Error: Coding – " + icsLabel(v.ICS), User: &u, Status: &status, Content: v,
			Breadcrumbs: []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}}})
		return
	}
	// Only what happened is on record: the pipeline checks the access file again, and
	// a batch it refuses is recorded as a refusal (with its reason), not as decisions.
	// A decision shows no text, so it is recorded once the pipeline has taken it.
	n, err := s.deps.ThemeDecisions.SendThemeDecisions(ctx, v.Wave.ID, ics, batch)
	if errors.Is(err, ErrCodingRefused) {
		// The pipeline's own check of the access file refused what this page allowed
		// (the two read different files, or the grant changed in between).
		reason := strings.TrimPrefix(err.Error(), ErrCodingRefused.Error()+": ")
		ev := freetext.AuditEvent{UserID: u.ID, At: s.cfg.Now(), ICS: ics, Wave: v.Wave.ID, Action: freetext.ActionCode,
			Query: fmt.Sprintf("theme decisions on %d comments, refused by the pipeline", len(batch.Decisions)), Reason: reason}
		if rerr := s.deps.Audit.RecordFreeText(ctx, ev); rerr != nil {
			s.fail(w, r, fmt.Errorf("recording a refused batch of theme decisions: %w", rerr))
			return
		}
		s.fail(w, r, forbiddenError("Your decisions on the free text of "+icsLabel(v.ICS)+" were not recorded: the pipeline refused them ("+err.Error()+")."))
		return
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("sending the theme decisions of %s: %w", ics, err))
		return
	}
	// Each decision taken is recorded: who, when, which comment, the themes given and
	// the grant that allowed it (as the terminal's are).
	req := v.req
	req.At = s.cfg.Now()
	for _, d := range batch.Decisions {
		var labels []string
		for _, t := range d.Themes {
			labels = append(labels, t.Theme+":"+t.Polarity)
		}
		if len(labels) == 0 {
			labels = []string{"none"}
		}
		ev := freetext.NewAuditEvent(req, v.decision, v.Wave.ID, "theme decision: "+strings.Join(labels, ";"), []string{d.ResponseID})
		if err := s.deps.Audit.RecordFreeText(ctx, ev); err != nil {
			s.fail(w, r, fmt.Errorf("the pipeline recorded %d theme decisions of %s, but recording them in the free-text audit trail failed: %w", n, ics, err))
			return
		}
	}
	// The decided comments have left the coder's queue: the same place in it now
	// holds the next batch.
	http.Redirect(w, r, v.Action+"&sent="+fmt.Sprint(n)+"&left="+fmt.Sprint(left), http.StatusSeeOther)
}

// problem adds a line to the error summary linking to the field id of row (to the
// page's first field when row is nil or id empty), and says it beside the comment.
func (v *codingView) problem(row *codingRow, id, text string) {
	if row != nil {
		row.Error = strings.TrimSpace(row.Error + " " + text)
	}
	if id == "" && len(v.Items) > 0 && len(v.Items[0].Themes) > 0 {
		id = v.Items[0].Themes[0].ID
	}
	href := ""
	if id != "" {
		href = "#" + id
	}
	v.Problems = append(v.Problems, codingProblem{Text: text, Href: href})
}

// sameThemes reports whether a and b code the same themes with the same polarities.
func sameThemes(a, b []CodedTheme) bool {
	if len(a) != len(b) {
		return false
	}
	for _, t := range a {
		if !slices.Contains(b, t) {
			return false
		}
	}
	return true
}
