package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"icesurvey/access"
	"icesurvey/freetext"
	"icesurvey/internal/csvcell"
	"icesurvey/web/chart"
)

// The pages beyond the overview and the theme pages: carers' results, the releases,
// the response rate by practice, and free text for its named readers.

// ---- Carers -------------------------------------------------------------------

type carersView struct {
	Wave    Wave
	ICS     ICS
	Form    filterForm
	Themes  []carerTheme
	Release string
}

type carerTheme struct {
	Theme    Theme
	Refused  string
	Sections []section
}

// carersView shows every theme's carers' results for one ICS (carers are published by
// ICS only, unweighted: they have no sample frame to weight to).
func (s *Server) carersView(ctx context.Context, u access.User, waveID string, form url.Values) (carersView, error) {
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return carersView{}, err
	}
	if len(wave.ICSs) == 0 {
		return carersView{}, notFoundError(fmt.Sprintf("Wave %s has no ICSs yet.", wave.ID))
	}
	themes, err := s.deps.Results.Themes(ctx, wave.ID)
	if err != nil {
		return carersView{}, fmt.Errorf("listing themes: %w", err)
	}
	ics := form.Get("ics")
	if ics == "" {
		ics = wave.ICSs[0].Code
		if b := access.BreakdownICSs(u, icsCodes(wave)); len(b) > 0 {
			ics = b[0]
		}
	}
	j := slices.IndexFunc(wave.ICSs, func(i ICS) bool { return i.Code == ics })
	if j < 0 {
		return carersView{}, notFoundError(fmt.Sprintf("There is no ICS %q in this wave.", ics))
	}
	releaseOpts, err := s.releaseOptions(ctx, wave.ID, form.Get("release"))
	if err != nil {
		return carersView{}, err
	}
	v := carersView{Wave: wave, ICS: wave.ICSs[j], Release: form.Get("release")}
	var icsOpts []option
	for _, i := range wave.ICSs {
		icsOpts = append(icsOpts, option{Value: i.Code, Label: icsLabel(i)})
	}
	action := "/waves/" + url.PathEscape(wave.ID) + "/carers"
	v.Form = filterForm{Action: action, Selects: []selectField{selectOf("ics", "ICS", icsOpts, ics)}}
	if len(releaseOpts) > 1 {
		v.Form.Selects = append(v.Form.Selects, selectOf("release", "Figures", releaseOpts, v.Release))
	}
	q := url.Values{"ics": {ics}, "respondent": {RespondentCarer}}
	if v.Release != "" {
		q.Set("release", v.Release)
	}
	for _, t := range themes {
		if !slices.Contains(t.RespondentTypes, RespondentCarer) || t.Brochure {
			continue
		}
		tv, err := s.themeViewWithPrefix(ctx, u, wave.ID, t.ID, q, t.ID+"-", action+"/download")
		if err != nil {
			return carersView{}, err
		}
		for i := range tv.Sections {
			tv.Sections[i].Sub = true // under the theme's own heading
		}
		v.Themes = append(v.Themes, carerTheme{Theme: t, Refused: tv.Refused, Sections: tv.Sections})
	}
	return v, nil
}

func icsCodes(w Wave) []string {
	var out []string
	for _, i := range w.ICSs {
		out = append(out, i.Code)
	}
	return out
}

func (s *Server) carersPage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.carersView(r.Context(), u, r.PathValue("wave"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWithStatus(w, r, "carers", "Carers' results – "+icsLabel(v.ICS), u, v, []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}})
}

func (s *Server) downloadCarers(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.carersView(r.Context(), u, r.PathValue("wave"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var secs []section
	for _, t := range v.Themes {
		secs = append(secs, t.Sections...)
	}
	s.download(w, r, secs, "ice-"+v.Wave.ID+"-carers-"+v.ICS.Code)
}

// renderWithStatus renders a signed-in page with its "data as of" banner.
func (s *Server) renderWithStatus(w http.ResponseWriter, r *http.Request, name, title string, u access.User, content any, crumbs []crumb) {
	status, err := s.deps.Freshness.DataStatus(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, name, page{Title: title, User: &u, Status: &status, Content: content, Breadcrumbs: crumbs})
}

// ---- Releases -----------------------------------------------------------------

type releasesView struct {
	Wave     Wave
	Releases []releaseLinks
	Sections []section
}

type releaseLinks struct {
	Release Release
	Links   []link
}

func (s *Server) releasesView(ctx context.Context, waveID string) (releasesView, error) {
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return releasesView{}, err
	}
	v := releasesView{Wave: wave}
	var rels []Release
	if s.deps.Releases != nil {
		if rels, err = s.deps.Releases.Releases(ctx, wave.ID); err != nil {
			return releasesView{}, fmt.Errorf("listing releases: %w", err)
		}
	}
	themes, err := s.deps.Results.Themes(ctx, wave.ID)
	if err != nil {
		return releasesView{}, fmt.Errorf("listing themes: %w", err)
	}
	status, err := s.deps.Freshness.DataStatus(ctx)
	if err != nil {
		return releasesView{}, err
	}
	t := chart.Table{ID: "releases-table", Caption: "Releases of " + waveTitle(wave), Columns: []chart.Column{
		{Label: "Release"}, {Label: "Status"}, {Label: "Approved by"}, {Label: "Approved on"},
		{Label: "ICSs published", Numeric: true}, {Label: "ICSs not published"}, {Label: "Result rows", Numeric: true}, {Label: "Counts withheld", Numeric: true},
	}}
	base := "/waves/" + url.PathEscape(wave.ID)
	for _, r := range rels {
		approved := "not approved"
		if !r.ApprovedAt.IsZero() {
			approved = r.ApprovedAt.In(london).Format("2 January 2006")
		}
		t.Rows = append(t.Rows, []chart.Cell{{Text: r.ID}, {Text: r.Status}, {Text: orNone(r.ApprovedBy)}, {Text: approved},
			{Text: fmt.Sprint(len(r.ICSsPublished))}, {Text: listOrNone(r.ICSsNotPublished)}, {Text: fmt.Sprint(r.ResultRows)}, {Text: fmt.Sprint(r.CellsWithheld)}})
		rl := releaseLinks{Release: r}
		for _, th := range themes {
			if th.Brochure {
				rl.Links = append(rl.Links, link{Label: th.Name, Href: base + "/themes/" + url.PathEscape(th.ID) + "?release=" + url.QueryEscape(r.ID)})
			}
		}
		rl.Links = append(rl.Links, link{Label: "Carers' results", Href: base + "/carers?release=" + url.QueryEscape(r.ID)})
		v.Releases = append(v.Releases, rl)
	}
	sec := section{ID: "releases", Heading: "Releases", Table: t, Meta: [][2]string{
		{"Wave", waveTitle(wave) + " (" + wave.ID + ")"},
		{"Data as of", status.AsOf.In(london).Format("2006-01-02 15:04 MST")},
		{"Method", "Each release is computed by the publication method (PUBLICATION.md) and written with its metadata; a draft becomes published when approved."},
		{"Suppression marks", "counts withheld: every count the release's disclosure control withheld"},
	}}
	sec.withDownloads(base+"/releases/download", nil)
	v.Sections = []section{sec}
	return v, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func (s *Server) releasesPage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.releasesView(r.Context(), r.PathValue("wave"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWithStatus(w, r, "releases", waveTitle(v.Wave)+": releases", u, v, []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}})
}

func (s *Server) downloadReleases(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.releasesView(r.Context(), r.PathValue("wave"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.download(w, r, v.Sections, "ice-"+v.Wave.ID+"-releases")
}

// ---- Response rate by practice ------------------------------------------------

type practicesView struct {
	Wave     Wave
	ICS      ICS
	Form     filterForm
	Sections []section
	Empty    bool
}

func (s *Server) practicesView(ctx context.Context, u access.User, waveID string, form url.Values) (practicesView, error) {
	if s.deps.Practices == nil {
		return practicesView{}, notFoundError("The response rate by practice is not available on this dashboard.")
	}
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return practicesView{}, err
	}
	allowed := access.BreakdownICSs(u, icsCodes(wave))
	ics := form.Get("ics")
	if ics == "" {
		if len(allowed) == 0 {
			return practicesView{}, forbiddenError("The response rate by practice is a local breakdown, shown only to an ICS's analysts, and you are not an analyst of any ICS in this wave.")
		}
		ics = allowed[0]
	}
	j := slices.IndexFunc(wave.ICSs, func(i ICS) bool { return i.Code == ics })
	if j < 0 {
		return practicesView{}, notFoundError(fmt.Sprintf("There is no ICS %q in this wave.", ics))
	}
	if !access.MaySeeBreakdowns(u, ics) {
		return practicesView{}, forbiddenError(fmt.Sprintf("The response rate by practice of %s is shown only to its analysts. You can see the practices of: %s.", icsLabel(wave.ICSs[j]), listOrNone(allowed)))
	}
	v := practicesView{Wave: wave, ICS: wave.ICSs[j]}
	var opts []option
	for _, c := range allowed {
		i := slices.IndexFunc(wave.ICSs, func(i ICS) bool { return i.Code == c })
		opts = append(opts, option{Value: c, Label: icsLabel(wave.ICSs[i])})
	}
	action := "/waves/" + url.PathEscape(wave.ID) + "/practices"
	v.Form = filterForm{Action: action, Selects: []selectField{selectOf("ics", "ICS", opts, ics)}}
	rates, err := s.deps.Practices.PracticeRates(ctx, wave.ID, ics)
	if err != nil {
		return practicesView{}, fmt.Errorf("reading the response rate by practice of %s: %w", ics, err)
	}
	if len(rates) == 0 {
		v.Empty = true
		return v, nil
	}
	status, err := s.deps.Freshness.DataStatus(ctx)
	if err != nil {
		return practicesView{}, err
	}
	// Once the ICS's fieldwork has ended, no one is still to complete.
	progress, err := s.deps.Fieldwork.Progress(ctx, wave.ID)
	if err != nil {
		return practicesView{}, fmt.Errorf("reading fieldwork progress: %w", err)
	}
	notCompleted, notYet := "Not yet completed", " yet"
	if i := slices.IndexFunc(progress, func(p ICSProgress) bool { return p.ICS.Code == ics }); i >= 0 && !fieldworkOpen(progress[i].Stage) {
		notCompleted, notYet = "Not completed", ""
	}
	c := chart.Stacked{ID: "practices", Title: "Response by GP practice, " + icsLabel(v.ICS), LabelHeader: "GP practice",
		Categories:   []string{"Completed", notCompleted},
		Description:  "For each GP practice, a 100% bar of its eligible sample split into those who completed a questionnaire and those who have not" + notYet + ".",
		WithheldNote: "Withheld: a practice with too few eligible people (a base under the minimum), or one whose figures would reveal a small count of another, so its values are not shown."}
	for _, p := range rates {
		row := chart.StackedRow{Label: p.Practice}
		if p.Withheld() || p.Eligible == 0 {
			row.Withheld = true
			// Why, from the row's mark: its base (B), or a count it would reveal (S).
			row.WithheldReason = "withheld: too few eligible people (a base under the minimum)"
			switch {
			case p.Status == "S":
				row.WithheldReason = "withheld: it would reveal a small count of another practice"
			case !p.Withheld():
				row.WithheldReason = "no eligible people"
			}
		} else {
			row.CellWithheld = []bool{p.CompletedWithheld, p.CompletedWithheld}
			row.Counts = []int{p.Completed, p.Eligible - p.Completed}
			row.Shares = []float64{p.Rate, 1 - p.Rate}
		}
		c.Rows = append(c.Rows, row)
	}
	ch := c.Render()
	sec := section{ID: "practices", Heading: "Response by GP practice", Chart: &ch, Table: ch.Table, Meta: [][2]string{
		{"Wave", waveTitle(wave) + " (" + wave.ID + ")"},
		{"ICS", icsLabel(v.ICS)},
		{"Data as of", status.AsOf.In(london).Format("2006-01-02 15:04 MST")},
		{"Method", "Each practice's sample less those found deceased or ineligible, split by whether a questionnaire was completed; unweighted. The table goes through the release's disclosure control (minimum base 10, small counts 1 to 4 withheld with the count that would reveal them)."},
		{"Suppression marks", "'withheld': not shown by the small-number rule"},
	}}
	sec.withDownloads(action+"/download", url.Values{"ics": {ics}})
	v.Sections = []section{sec}
	return v, nil
}

func (s *Server) practicesPage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.practicesView(r.Context(), u, r.PathValue("wave"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWithStatus(w, r, "practices", "Response by GP practice – "+icsLabel(v.ICS), u, v, []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}})
}

func (s *Server) downloadPractices(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.practicesView(r.Context(), u, r.PathValue("wave"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.download(w, r, v.Sections, "ice-"+v.Wave.ID+"-practices-"+v.ICS.Code)
}

// ---- Free text ----------------------------------------------------------------

// freeTextPageSize is how many comments one free-text page shows; the previous and
// next pages show the rest (?page=N, 1-based), and a search narrows them.
const freeTextPageSize = 100

type freeTextView struct {
	Wave     Wave
	ICS      ICS
	Query    string
	Action   string
	Comments []freetext.Shown
	Matched  int // the comments that match the search (all of them without one)
	Total    int
	CSVHref  string
	Grant    string

	// The page of the matching comments shown: Page of Pages, comments First to Last
	// (1-based; both 0 when nothing matches), and the links to the pages either side
	// with what they hold.
	Page, Pages          int
	First, Last          int
	Prev, Next           string
	PrevLabel, NextLabel string
}

// freeTextPageOf parses the page asked for: none is the first page.
func freeTextPageOf(form url.Values) (int, error) {
	p := form.Get("page")
	if p == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 {
		return 0, notFoundError(fmt.Sprintf("There is no page %q of these comments: pages are numbered from 1.", p))
	}
	return n, nil
}

// noFreeTextReason is the recorded reason of a refused request that named no ICS.
const noFreeTextReason = "no ICS named, and no current free-text access to any ICS"

// freeTextGrants turns the access file's grants of u into the free-text package's:
// valid from the approval day to the end of the expiry day (Europe/London).
func freeTextGrants(u access.User) []freetext.Grant { return access.FreeTextGrants(u) }

// readFreeText is the one path free text takes to a page or a file: the access file's
// decision, then freetext.Read (its own check, redaction), the search on the redacted
// text, and the audit event stored before anything is returned.
func (s *Server) readFreeText(ctx context.Context, u access.User, waveID string, form url.Values, action freetext.Action) (freeTextView, error) {
	if s.deps.FreeText == nil {
		return freeTextView{}, notFoundError("Free text is not available on this dashboard.")
	}
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return freeTextView{}, err
	}
	now := s.cfg.Now()
	query := strings.TrimSpace(form.Get("q"))
	if action == freetext.ActionView && query != "" {
		action = freetext.ActionSearch
	}
	ics := form.Get("ics")
	if ics == "" {
		allowed := access.FreeTextICSs(u, now)
		if len(allowed) == 0 {
			// A refusal like any other, recorded naming no ICS (none was asked for).
			req := freetext.Request{UserID: u.ID, Action: action, At: now}
			ev := freetext.NewAuditEvent(req, freetext.Decision{Reason: noFreeTextReason}, wave.ID, query, nil)
			if err := s.deps.Audit.RecordFreeText(ctx, ev); err != nil {
				return freeTextView{}, fmt.Errorf("recording a refused free-text read: %w", err)
			}
			return freeTextView{}, forbiddenError("Free text is shown only to named free-text readers of an ICS, and you have no current free-text access. Access is approved per ICS, by name, and expires.")
		}
		ics = allowed[0]
	}
	j := slices.IndexFunc(wave.ICSs, func(i ICS) bool { return i.Code == ics })
	if j < 0 {
		return freeTextView{}, notFoundError(fmt.Sprintf("There is no ICS %q in this wave.", ics))
	}
	req := freetext.Request{UserID: u.ID, ICS: ics, Action: action, At: now}
	refuse := func(reason string) (freeTextView, error) {
		ev := freetext.NewAuditEvent(req, freetext.Decision{Reason: reason}, wave.ID, query, nil)
		if err := s.deps.Audit.RecordFreeText(ctx, ev); err != nil {
			return freeTextView{}, fmt.Errorf("recording a refused free-text read: %w", err)
		}
		return freeTextView{}, forbiddenError("You cannot read the free text of " + icsLabel(wave.ICSs[j]) + ": " + reason + ".")
	}
	if d := access.FreeText(u, ics, now); !d.Allowed {
		return refuse(d.Reason)
	}
	grants := freeTextGrants(u)
	decision := freetext.Check(grants, req)
	if !decision.Allowed {
		return refuse(decision.Reason)
	}
	comments, err := s.deps.FreeText.Comments(ctx, wave.ID, ics)
	if err != nil {
		return freeTextView{}, fmt.Errorf("reading free text of %s: %w", ics, err)
	}
	// A download holds every matching comment; a page, one page of them.
	page := 1
	if action != freetext.ActionDownload {
		if page, err = freeTextPageOf(form); err != nil {
			return freeTextView{}, err
		}
	}
	redacted, _, err := freetext.Read(grants, req, wave.ID, query, comments, nil)
	if err != nil {
		return refuse(err.Error())
	}
	v := freeTextView{Wave: wave, ICS: wave.ICSs[j], Query: query, Total: len(redacted), Grant: decision.Reason}
	// The search runs on the redacted text only: a search must not find what the
	// reader may not see.
	words := strings.Fields(strings.ToLower(query))
	var matched []freetext.Shown
	for _, c := range redacted {
		text := strings.ToLower(c.Redacted.Text)
		ok := true
		for _, w := range words {
			if !strings.Contains(text, w) {
				ok = false
				break
			}
		}
		if ok {
			matched = append(matched, c)
		}
	}
	v.Matched = len(matched)
	v.Comments = matched
	v.Page, v.Pages = 1, 1
	if action != freetext.ActionDownload {
		v.Page, v.Pages = page, max(1, (len(matched)+freeTextPageSize-1)/freeTextPageSize)
		if page <= v.Pages {
			from := (page - 1) * freeTextPageSize
			v.Comments = matched[from:min(len(matched), from+freeTextPageSize)]
			if len(v.Comments) > 0 {
				v.First, v.Last = from+1, from+len(v.Comments)
			}
		} else {
			v.Comments = nil // past the last page: nothing shown, the request still recorded
		}
	}
	ids := make([]string, len(v.Comments))
	for i, c := range v.Comments {
		ids[i] = c.ResponseID
	}
	ev := freetext.NewAuditEvent(req, decision, wave.ID, query, ids)
	if err := ev.Validate(); err != nil {
		return freeTextView{}, fmt.Errorf("free-text audit event: %w", err)
	}
	if err := s.deps.Audit.RecordFreeText(ctx, ev); err != nil {
		return freeTextView{}, fmt.Errorf("recording a free-text read (nothing is shown unaudited): %w", err)
	}
	v.Action = "/waves/" + url.PathEscape(wave.ID) + "/free-text"
	q := url.Values{"ics": {ics}}
	if query != "" {
		q.Set("q", query)
	}
	v.CSVHref = v.Action + "/download/comments.csv?" + q.Encode()
	if v.Page > v.Pages {
		what := fmt.Sprintf("the %d comments fill", v.Matched)
		if query != "" {
			what = fmt.Sprintf("the %d comments that match %q fill", v.Matched, query)
		}
		if v.Pages == 1 {
			what += " one page"
		} else {
			what += fmt.Sprintf(" pages 1 to %d", v.Pages)
		}
		return freeTextView{}, notFoundError(fmt.Sprintf("There is no page %d of the free text of %s: %s.", v.Page, icsLabel(v.ICS), what))
	}
	pageHref := func(n int) string {
		pq := url.Values{"ics": {ics}}
		if query != "" {
			pq.Set("q", query)
		}
		if n > 1 {
			pq.Set("page", strconv.Itoa(n))
		}
		return v.Action + "?" + pq.Encode()
	}
	if v.Page > 1 {
		v.Prev = pageHref(v.Page - 1)
		v.PrevLabel = fmt.Sprintf("comments %d to %d", v.First-freeTextPageSize, v.First-1)
	}
	if v.Page < v.Pages {
		v.Next = pageHref(v.Page + 1)
		v.NextLabel = fmt.Sprintf("comments %d to %d", v.Last+1, min(v.Matched, v.Last+freeTextPageSize))
	}
	return v, nil
}

func (s *Server) freeTextPage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.readFreeText(r.Context(), u, r.PathValue("wave"), r.URL.Query(), freetext.ActionView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderWithStatus(w, r, "free-text", "Free text – "+icsLabel(v.ICS), u, v, []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}})
}

func (s *Server) downloadFreeText(w http.ResponseWriter, r *http.Request, u access.User) {
	if r.PathValue("file") != "comments.csv" {
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "Free text downloads as comments.csv.")
		return
	}
	v, err := s.readFreeText(r.Context(), u, r.PathValue("wave"), r.URL.Query(), freetext.ActionDownload)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFilename("ice-"+v.Wave.ID+"-free-text-"+v.ICS.Code+".csv")+`"`)
	cw := csv.NewWriter(w)
	rows := [][]string{
		{"Table", "Free-text comments (redacted)"}, {"Wave", v.Wave.ID}, {"ICS", icsLabel(v.ICS)}, {"Search", v.Query},
		{"Downloaded at", s.cfg.Now().In(london).Format(time.RFC3339)}, {"Access", v.Grant},
		{"Note", "Personal data (names, phone numbers, NHS numbers, addresses, e-mails, dates of birth) is replaced by placeholders; this download is recorded in the audit trail."},
		{}, {"Response", "Question", "Question text", "Comment"},
	}
	for _, c := range v.Comments {
		rows = append(rows, []string{c.ResponseID, c.QuestionID, questionLabel(c.QuestionID), c.Redacted.Text})
	}
	for _, row := range rows {
		if err := cw.Write(csvcell.Row(row)); err != nil {
			break
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("writing a free-text download", "request_id", requestID(r.Context()), "err", err)
	}
}
