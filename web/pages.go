package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"icesurvey/access"
)

type homeView struct {
	Waves         []homeWave
	BreakdownICSs []string // "Name (code)" of each ICS whose breakdowns the user may see
	FreeTextICSs  []string // "Name (code)" of each ICS whose free text the user may read
	Administrator bool
}

type homeWave struct {
	Wave     Wave
	Href     string
	Brochure []link
	Themes   []link
	More     []link
}

type link struct {
	Label string
	Href  string
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, u access.User) {
	ctx := r.Context()
	waves, err := s.deps.Waves.Waves(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status, err := s.deps.Freshness.DataStatus(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := homeView{Administrator: access.IsAdministrator(u)}
	freeText := access.FreeTextICSs(u, s.cfg.Now())
	var all []string
	labels := map[string]string{} // ICS code → "Name (code)"
	for _, wv := range waves {
		hw := homeWave{Wave: wv, Href: "/waves/" + url.PathEscape(wv.ID)}
		themes, err := s.deps.Results.Themes(ctx, wv.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		for _, t := range themes {
			l := link{Label: t.Name, Href: hw.Href + "/themes/" + url.PathEscape(t.ID)}
			if t.Brochure {
				hw.Brochure = append(hw.Brochure, l)
			} else {
				hw.Themes = append(hw.Themes, l)
			}
		}
		hw.More = append(hw.More, link{Label: "Carers' results", Href: hw.Href + "/carers"}, link{Label: "Published releases", Href: hw.Href + "/releases"})
		if s.deps.Linkage != nil {
			hw.More = append(hw.More, link{Label: "Linked health and care activity", Href: hw.Href + "/linkage"})
		}
		if s.deps.Practices != nil && len(access.BreakdownICSs(u, icsCodes(wv))) > 0 {
			hw.More = append(hw.More, link{Label: "Response by GP practice", Href: hw.Href + "/practices"})
		}
		if s.deps.FreeText != nil {
			for _, ics := range freeText {
				if j := slices.IndexFunc(wv.ICSs, func(i ICS) bool { return i.Code == ics }); j >= 0 {
					name := icsName(wv.ICSs[j])
					hw.More = append(hw.More, link{Label: "Free text of " + name, Href: hw.Href + "/free-text?ics=" + url.QueryEscape(ics)})
					if s.deps.CodingQueue != nil {
						hw.More = append(hw.More, link{Label: "Code the free text of " + name, Href: hw.Href + "/coding?ics=" + url.QueryEscape(ics)})
					}
				}
			}
		}
		v.Waves = append(v.Waves, hw)
		for _, i := range wv.ICSs {
			all = append(all, i.Code)
			if _, ok := labels[i.Code]; !ok {
				labels[i.Code] = icsLabel(i)
			}
		}
	}
	for _, c := range access.BreakdownICSs(u, dedupe(all)) {
		v.BreakdownICSs = append(v.BreakdownICSs, labels[c])
	}
	for _, c := range freeText {
		v.FreeTextICSs = append(v.FreeTextICSs, cmp.Or(labels[c], c)) // an ICS in no wave: its code
	}
	s.render(w, r, http.StatusOK, "home", page{Title: "Your dashboard", User: &u, Status: &status, Content: v})
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.overviewView(r.Context(), r.PathValue("wave"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status, err := s.deps.Freshness.DataStatus(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "overview", page{
		Title: waveTitle(v.Wave) + ": " + stageTitle(v.Stage), User: &u, Status: &status, Content: v,
		Breadcrumbs: []crumb{{"Home", "/"}},
	})
}

func (s *Server) themePage(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.themeView(r.Context(), u, r.PathValue("wave"), r.PathValue("theme"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status, err := s.deps.Freshness.DataStatus(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "theme", page{
		Title: v.Theme.Name + " – " + icsLabel(v.ICS), User: &u, Status: &status, Content: v,
		Breadcrumbs: []crumb{{"Home", "/"}, {waveTitle(v.Wave), "/waves/" + url.PathEscape(v.Wave.ID)}},
	})
}

func (s *Server) downloadTheme(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.themeView(r.Context(), u, r.PathValue("wave"), r.PathValue("theme"), r.URL.Query())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Refused != "" {
		s.errorPage(w, r, http.StatusNotFound, "Nothing to download", v.Refused+" Nothing is downloaded for these filters.")
		return
	}
	s.download(w, r, v.Sections, "ice-"+v.Wave.ID+"-"+v.Theme.ID+"-"+v.ICS.Code)
}

func (s *Server) downloadOverview(w http.ResponseWriter, r *http.Request, u access.User) {
	v, err := s.overviewView(r.Context(), r.PathValue("wave"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.download(w, r, v.Sections, "ice-"+v.Wave.ID)
}

// download writes the section the path names as CSV or XLSX.
func (s *Server) download(w http.ResponseWriter, r *http.Request, sections []section, prefix string) {
	name := r.PathValue("table")
	id, format, ok := strings.Cut(name, ".")
	if !ok || (format != "csv" && format != "xlsx") {
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "Downloads are CSV or XLSX files.")
		return
	}
	for _, sec := range sections {
		if sec.ID != id {
			continue
		}
		filename := safeFilename(prefix + "-" + id + "." + format)
		w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
		var err error
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			err = writeCSV(w, sec)
		} else {
			w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
			err = writeXLSX(w, sec)
		}
		if err != nil {
			s.log.Error("writing a download", "request_id", requestID(r.Context()), "table", name, "err", err)
		}
		return
	}
	s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is no table "+id+" on this page.")
}

func safeFilename(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

type accessView struct {
	Source string
	Users  []accessRow
}

type accessRow struct {
	User     access.User
	Analyst  string
	FreeText []string
}

func (s *Server) accessPage(w http.ResponseWriter, r *http.Request, u access.User) {
	if !access.IsAdministrator(u) {
		s.fail(w, r, forbiddenError("Only administrators can see who has access to the dashboard."))
		return
	}
	pol := s.policy(r)
	if pol == nil {
		s.accessUnreadable(w, r)
		return
	}
	v := accessView{Source: pol.Source}
	now := s.cfg.Now()
	for _, pu := range pol.Users() {
		row := accessRow{User: pu, Analyst: listOrNone(pu.Analyst)}
		for _, g := range pu.FreeText {
			state := "current"
			if d := access.FreeText(pu, g.ICS, now); !d.Allowed {
				state = "not current"
			}
			row.FreeText = append(row.FreeText, g.ICS+" until "+g.Expires.Format("2 January 2006")+" ("+state+"; approved by "+g.ApprovedBy+")")
		}
		v.Users = append(v.Users, row)
	}
	s.render(w, r, http.StatusOK, "access", page{Title: "Who has access", User: &u, Content: v, Breadcrumbs: []crumb{{"Home", "/"}}})
}
