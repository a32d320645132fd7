package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"icesurvey/access"
	"icesurvey/freetext"
	"icesurvey/web/chart"
)

// The experience-profile page (#17 item 7): the side-by-side report of one profile
// for one ICS, the same view as `ice profiles report` writes. The figures are a local
// breakdown (a group within an ICS), so only an analyst of that ICS sees the page;
// the quotations are free text, so only a named free-text reader of the ICS sees
// them, and each view that shows them is recorded as a free-text read.

// ProfileSource is the profile page's data: the profiles and, for one of them, the
// side-by-side view of one ICS of a wave as the report has it (every figure already
// through the publication's disclosure rules; quotations redacted).
type ProfileSource interface {
	// ProfileList lists the profiles in force (built in, or defined in the store).
	ProfileList(ctx context.Context) ([]ProfileRef, error)
	Profile(ctx context.Context, wave, ics, profile string) (*ProfileView, error)
}

// ProfileRef names a profile.
type ProfileRef struct{ ID, Title string }

// ProfileCell is one figure of the profile view: its text, or why it is withheld.
type ProfileCell struct {
	Text     string
	Withheld bool
}

// ProfileRow is one group's % positive on a question.
type ProfileRow struct {
	Label                   string
	Base, Percent, Interval ProfileCell
	Caution                 bool
}

// ProfileQuestion is one closed question's evidence.
type ProfileQuestion struct {
	ID, Text string
	Rows     []ProfileRow
}

// ProfileTheme is one theme's counts in the survey comments and the sessions.
type ProfileTheme struct {
	Name                                         string
	SurveyNeg, SurveyPos, SessionNeg, SessionPos ProfileCell
}

// ProfileQuote is a quotation a coder chose (redacted).
type ProfileQuote struct {
	Candidate, Text, Source, Coder string
	ChosenAt                       time.Time
}

// ProfileStatement is one expected-care statement with its evidence.
type ProfileStatement struct {
	ID, Statement, Source, Level, Status string
	Questions                            []ProfileQuestion
	Themes                               []ProfileTheme
	Quotes                               []ProfileQuote
	// Verdict is the analyst's verdict in words, "" when none is recorded.
	Verdict, VerdictBy, VerdictNote string
	VerdictAt                       time.Time
	Actions                         []string
}

// ProfileView is one profile's side-by-side view for one ICS of a wave.
type ProfileView struct {
	ID, Title, Description, Rationale string
	Cohort                            ProfileCell
	Release                           string
	// Confidence is the intervals' confidence level, a fraction (the release's);
	// 0 means the default, 0.95.
	Confidence  float64
	Statements  []ProfileStatement
	Limitations []string
}

type profilePageView struct {
	Wave     Wave
	ICS      ICS
	Profiles []ProfileRef
	Profile  *ProfileView
	Chosen   string
	// Quotes says whether the reader sees the quotations, and why not when not.
	Quotes     bool
	QuotesNote string
	Tables     map[string][]chart.Table // by statement id
}

func (s *Server) profileView(ctx context.Context, u access.User, waveID string, form url.Values) (profilePageView, error) {
	if s.deps.Profiles == nil {
		return profilePageView{}, notFoundError("Experience profiles are not available on this dashboard.")
	}
	wave, err := s.findWave(ctx, waveID)
	if err != nil {
		return profilePageView{}, err
	}
	codes := make([]string, len(wave.ICSs))
	for i, c := range wave.ICSs {
		codes[i] = c.Code
	}
	allowed := access.BreakdownICSs(u, codes)
	ics := form.Get("ics")
	if ics == "" {
		if len(allowed) == 0 {
			return profilePageView{}, forbiddenError("Experience profiles are shown only to analysts of an ICS, and you are not an analyst of any ICS of this wave.")
		}
		ics = allowed[0]
	}
	j := slices.IndexFunc(wave.ICSs, func(i ICS) bool { return i.Code == ics })
	if j < 0 {
		return profilePageView{}, notFoundError(fmt.Sprintf("There is no ICS %q in this wave.", ics))
	}
	if !slices.Contains(allowed, ics) {
		return profilePageView{}, forbiddenError("Experience profiles of " + icsLabel(wave.ICSs[j]) + " are shown only to its analysts.")
	}
	list, err := s.deps.Profiles.ProfileList(ctx)
	if err != nil {
		return profilePageView{}, fmt.Errorf("list the experience profiles: %w", err)
	}
	v := profilePageView{Wave: wave, ICS: wave.ICSs[j], Profiles: list, Chosen: form.Get("profile")}
	if v.Chosen == "" {
		return v, nil
	}
	if !slices.ContainsFunc(v.Profiles, func(p ProfileRef) bool { return p.ID == v.Chosen }) {
		return v, notFoundError(fmt.Sprintf("There is no experience profile %q.", v.Chosen))
	}
	if v.Profile, err = s.deps.Profiles.Profile(ctx, wave.ID, ics, v.Chosen); err != nil {
		return v, err
	}
	var ids []string
	for _, st := range v.Profile.Statements {
		for _, q := range st.Quotes {
			ids = append(ids, q.Candidate)
		}
	}
	if err := s.profileQuotes(ctx, u, &v, ids); err != nil {
		return v, err
	}
	v.Tables = map[string][]chart.Table{}
	for _, st := range v.Profile.Statements {
		v.Tables[st.ID] = profileTables(st, v.Profile.Confidence)
	}
	return v, nil
}

// profileQuotes decides whether u sees the chosen quotations: a named free-text
// reader of the ICS does, and the view is recorded first; anyone else sees that there
// are quotations and why they are not shown.
func (s *Server) profileQuotes(ctx context.Context, u access.User, v *profilePageView, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	hide := func(why string) {
		v.QuotesNote = why
		for i := range v.Profile.Statements {
			v.Profile.Statements[i].Quotes = nil
		}
	}
	// Whoever is not shown the quotations was refused a free-text read: recorded too.
	req := freetext.Request{UserID: u.ID, ICS: v.ICS.Code, Action: freetext.ActionView, At: s.cfg.Now()}
	decision := access.CheckFreeText(u, req)
	if s.deps.Audit == nil {
		if !decision.Allowed {
			hide("Quotations are shown only to named free-text readers of " + icsName(v.ICS) + " (" + decision.Reason + ").")
		} else {
			hide("Quotations are not shown on this dashboard: it has no free-text audit trail.")
		}
		return nil
	}
	shown := ids
	if !decision.Allowed {
		shown = nil
	}
	ev := freetext.NewAuditEvent(req, decision, v.Wave.ID, "profile "+v.Profile.ID, shown)
	if err := s.deps.Audit.RecordFreeText(ctx, ev); err != nil {
		return fmt.Errorf("recording a free-text read (nothing is shown unaudited): %w", err)
	}
	if !decision.Allowed {
		hide("Quotations are shown only to named free-text readers of " + icsName(v.ICS) + " (" + decision.Reason + ").")
		return nil
	}
	v.Quotes = true
	return nil
}

func profileCell(c ProfileCell) chart.Cell { return chart.Cell{Text: c.Text, Withheld: c.Withheld} }

// profileTables are a statement's survey tables and its themes table, the intervals'
// confidence level (the release's) in their heading.
func profileTables(st ProfileStatement, confidence float64) []chart.Table {
	var out []chart.Table
	for i, q := range st.Questions {
		t := chart.Table{ID: fmt.Sprintf("profile-%s-q%d", st.ID, i+1), Caption: "Survey: " + q.Text + " (" + q.ID + "), % positive",
			Columns: []chart.Column{{Label: "Group"}, {Label: "Respondents", Numeric: true}, {Label: "% positive", Numeric: true}, {Label: confidencePercent(confidence) + "% interval"}}}
		for _, r := range q.Rows {
			label := r.Label
			if r.Caution {
				label += cautionMark
			}
			t.Rows = append(t.Rows, []chart.Cell{{Text: label}, profileCell(r.Base), profileCell(r.Percent), profileCell(r.Interval)})
		}
		out = append(out, t)
	}
	if len(st.Themes) > 0 {
		t := chart.Table{ID: "profile-" + st.ID + "-themes", Caption: "Themes coded for “" + strings.TrimSuffix(st.Statement, ".") + "”: comments and contributions",
			Columns: []chart.Column{{Label: "Theme"}, {Label: "Survey comments, negative", Numeric: true}, {Label: "Survey comments, positive", Numeric: true},
				{Label: "Sessions, negative", Numeric: true}, {Label: "Sessions, positive", Numeric: true}}}
		for _, th := range st.Themes {
			t.Rows = append(t.Rows, []chart.Cell{{Text: th.Name}, profileCell(th.SurveyNeg), profileCell(th.SurveyPos), profileCell(th.SessionNeg), profileCell(th.SessionPos)})
		}
		out = append(out, t)
	}
	return out
}

func (s *Server) profilePage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.profileView(r.Context(), u, r.PathValue("wave"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	title := "Experience profiles – " + icsLabel(v.ICS)
	if v.Profile != nil {
		title = v.Profile.Title + " – " + icsLabel(v.ICS)
	}
	s.renderWithStatus(w, r, "profile", title, u, v, []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}})
}
