package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"icesurvey/access"
	"icesurvey/internal/england"
	"icesurvey/web/chart"
)

// page is what the layout template renders around a page's content.
type page struct {
	Title       string
	ServiceName string
	CSSPath     string
	AppCSSPath  string
	JSPath      string
	AppJSPath   string
	User        *access.User
	Breadcrumbs []crumb
	Status      *DataStatus
	RequestID   string
	// SessionIdle is, for a signed-in page, how many seconds of no request end the
	// session: app.js warns before then and offers to stay signed in (WCAG 2.2.1).
	SessionIdle int
	Content     any
}

type crumb struct {
	Label string
	Href  string
}

var funcs = template.FuncMap{
	"dateTime":      func(t time.Time) string { return t.In(london).Format("2 January 2006 at 15:04") },
	"day":           longDay,
	"percent":       chart.Percent,
	"lower":         strings.ToLower,
	"stageTitle":    stageTitle,
	"questionLabel": questionLabel,
	"last": func(cs []crumb) crumb {
		if len(cs) == 0 {
			return crumb{}
		}
		return cs[len(cs)-1]
	},
}

// longDay writes a day given as "2006-01-02" as the pages write dates, "2 January
// 2006" (as NHS style has them, and a screen reader says them); anything else as given.
func longDay(s string) string {
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return s
	}
	return d.Format("2 January 2006")
}

// london is where the programme's days are counted and times are shown.
var london = england.Location

// parseTemplates builds one template set per page file: the layout and components,
// then the page's own "content".
func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/components.html")
	if err != nil {
		return nil, fmt.Errorf("web: parsing the layout: %w", err)
	}
	files, err := fs.Glob(templateFS, "templates/page-*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, fmt.Errorf("web: parsing %s: %w", f, err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path.Base(f), "page-"), ".html")
		out[name] = t
	}
	return out, nil
}

// render writes a page. The page is rendered to a buffer first, so a template error
// becomes an error page rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("no such page template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p.ServiceName = s.cfg.ServiceName
	p.CSSPath, p.JSPath = cssPath, jsPath
	p.AppCSSPath, p.AppJSPath = "/static/css/app.css", "/static/js/app.js"
	p.RequestID = requestID(r.Context())
	if p.User == nil {
		if u, ok := s.currentUser(r); ok {
			p.User = &u
		}
	}
	if p.User != nil {
		p.SessionIdle = int(s.cfg.SessionIdle.Seconds())
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.log.Error("rendering page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// A page is never stored: every one may name the signed-in user, and error pages
	// outside a signed-in route (not found, refused forms) are rendered for them too.
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorContent struct {
	Status  int
	Heading string
	Message string
}

func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	s.render(w, r, status, "error", page{
		Title:   heading,
		Content: errorContent{Status: status, Heading: heading, Message: message},
	})
}
