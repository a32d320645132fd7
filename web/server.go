package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"icesurvey/access"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// frontendVersion is the vendored nhsuk-frontend (infra/vendor-frontend.sh pins it).
const frontendVersion = "10.6.1"

var (
	vendorDir = "static/vendor/nhsuk-frontend-" + frontendVersion
	cssPath   = "/static/vendor/nhsuk-frontend-" + frontendVersion + "/nhsuk-frontend-" + frontendVersion + ".system-font.min.css"
	jsPath    = "/static/vendor/nhsuk-frontend-" + frontendVersion + "/nhsuk-frontend-" + frontendVersion + ".min.js"
)

// NHSUKStylesheet is the vendored nhsuk-frontend stylesheet, from the binary (not the
// working directory): the profile report (localindex) inlines it, so a report built by
// a deployed worker is styled as the dashboard is.
func NHSUKStylesheet() ([]byte, error) {
	return staticFS.ReadFile(vendorDir + "/nhsuk-frontend-" + frontendVersion + ".min.css")
}

// Server is the dashboard's HTTP handler.
type Server struct {
	cfg       Config
	deps      Deps
	log       *slog.Logger
	handler   http.Handler
	pages     map[string]*template.Template
	sessions  *sessionStore
	ipLimit   *limiter
	userLimit *limiter

	oidcMu sync.Mutex
	oidc   *oidcClient // discovered at the first OpenID sign-in
}

// NewServer checks the configuration and builds the handler. It makes no network call:
// the OpenID provider is discovered at the first sign-in through it.
func NewServer(cfg Config, deps Deps) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.validate(deps); err != nil {
		return nil, err
	}
	s := &Server{
		cfg: cfg, deps: deps, log: cfg.Logger,
		sessions:  newSessionStore(cfg.SessionIdle, cfg.SessionAbsolute),
		ipLimit:   newLimiter(cfg.SignInPerIP),
		userLimit: newLimiter(cfg.SignInPerUser),
	}
	var err error
	if s.pages, err = parseTemplates(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the dashboard.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	images, _ := fs.Sub(staticFS, vendorDir+"/assets/images")
	mux.Handle("GET /static/", s.noListing(cacheFor(time.Hour, http.StripPrefix("/static/", http.FileServerFS(static)))))
	// The design system's CSS refers to its icons at /assets/images/.
	mux.Handle("GET /assets/images/", s.noListing(cacheFor(time.Hour, http.StripPrefix("/assets/images/", http.FileServerFS(images)))))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, staticFS, vendorDir+"/assets/images/favicon.ico")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })

	mux.HandleFunc("GET /sign-in", s.signInPage)
	mux.HandleFunc("POST /sign-in", s.signInLocal)
	mux.HandleFunc("GET "+startPath, s.oidcStart)
	mux.HandleFunc("GET "+callbackPath, s.oidcCallback)
	mux.HandleFunc("POST /sign-out", s.signOut)
	mux.HandleFunc("POST /session/extend", s.extendSession)
	mux.HandleFunc("GET /session/status", s.sessionStatus)
	mux.HandleFunc("GET /signed-out", s.signedOut)

	mux.Handle("GET /{$}", s.requireUser(s.home))
	mux.Handle("GET /waves/{wave}", s.requireUser(s.overview))
	mux.Handle("GET /waves/{wave}/download/{table}", s.requireUser(s.downloadOverview))
	mux.Handle("GET /waves/{wave}/themes/{theme}", s.requireUser(s.themePage))
	mux.Handle("GET /waves/{wave}/themes/{theme}/download/{table}", s.requireUser(s.downloadTheme))
	mux.Handle("GET /waves/{wave}/carers", s.requireUser(s.carersPage))
	mux.Handle("GET /waves/{wave}/carers/download/{table}", s.requireUser(s.downloadCarers))
	mux.Handle("GET /waves/{wave}/releases", s.requireUser(s.releasesPage))
	mux.Handle("GET /waves/{wave}/releases/download/{table}", s.requireUser(s.downloadReleases))
	mux.Handle("GET /waves/{wave}/practices", s.requireUser(s.practicesPage))
	mux.Handle("GET /waves/{wave}/practices/download/{table}", s.requireUser(s.downloadPractices))
	// Pages that show free text are never compressed (compress.go).
	// Nor do they answer HEAD: a read is recorded in the audit trail as shown, and a
	// HEAD request is shown nothing.
	mux.Handle("GET /waves/{wave}/free-text", s.noHead(uncompressed(s.requireUser(s.fromDashboard(s.freeTextPage)))))
	mux.Handle("GET /waves/{wave}/free-text/download/{file}", s.noHead(uncompressed(s.requireUser(s.fromDashboard(s.downloadFreeText)))))
	mux.Handle("GET /waves/{wave}/coding", s.noHead(uncompressed(s.requireUser(s.fromDashboard(s.codingPage)))))
	mux.Handle("POST /waves/{wave}/coding", uncompressed(s.requireUser(s.codingSubmit)))
	mux.Handle("GET /waves/{wave}/profiles", s.noHead(uncompressed(s.requireUser(s.fromDashboard(s.profilePage)))))
	mux.Handle("GET /waves/{wave}/linkage", s.requireUser(s.linkagePage))
	mux.Handle("GET /waves/{wave}/linkage/download/{table}", s.requireUser(s.downloadLinkage))
	mux.Handle("GET /access", s.requireUser(s.accessPage))
	// Everything else: a path that is served, but not for this method, is refused as
	// such (405 with Allow; this catch-all, matching every method, would otherwise
	// answer "Page not found" for it); anything else is not found.
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if allow := allowedMethods(mux, r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			s.errorPage(w, r, http.StatusMethodNotAllowed, "This page cannot be used that way",
				"The address is right, but the request was not one this page takes. Go to the dashboard home page and try again from there.")
			return
		}
		s.notFound(w, r)
	})

	// Every unsafe request from another origin is refused (Go's cross-origin protection:
	// Sec-Fetch-Site, then Origin against Host), which covers every form.
	cop := http.NewCrossOriginProtection()
	for _, o := range s.cfg.TrustedOrigins {
		_ = cop.AddTrustedOrigin(o) // validated in NewServer
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusForbidden, "Request refused", "This form was sent from another site, so it was not accepted. Go back to the dashboard and try again.")
	}))
	return s.recoverer(s.logRequests(s.compress(s.securityHeaders(cop.Handler(mux)))))
}

// noHead refuses HEAD on a GET route that shows free text (405, Allow: GET): its
// handler records the comments it shows, and a HEAD response shows none.
func (s *Server) noHead(h http.Handler) http.Handler {
	return noHeadHandler(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.Header().Set("Allow", http.MethodGet)
			s.errorPage(w, r, http.StatusMethodNotAllowed, "This page cannot be used that way",
				"This page shows free text, and every showing is recorded: open it in the browser.")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// noHeadHandler is a route noHead made: allowedMethods lists no HEAD for it.
type noHeadHandler func(w http.ResponseWriter, r *http.Request)

func (f noHeadHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { f(w, r) }

// allowedMethods are the methods mux serves r's path with through a route of its own
// (not the catch-all "/"), as an Allow header lists them; none for a path it does not
// serve at all.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		try := r.Clone(r.Context())
		try.Method = m
		if h, pattern := mux.Handler(try); pattern != "" && pattern != "/" {
			allow = append(allow, m)
			if _, headless := h.(noHeadHandler); m == http.MethodGet && !headless {
				allow = append(allow, http.MethodHead)
			}
		}
	}
	return allow
}

// notFound is the page for an address the dashboard does not serve.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "Page not found", "If you typed the web address, check it is correct.")
}

// noListing serves a static route's files only: a directory's address (ending "/")
// is not found, rather than listed.
func (s *Server) noListing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			s.notFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func cacheFor(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", fmt.Sprintf("public, max-age=%d", int(d.Seconds())))
		h.ServeHTTP(w, r)
	})
}

type ctxKey int

const requestIDKey ctxKey = 1

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// statusWriter remembers the status a handler wrote, for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// logRequests gives each request an id and logs its path and outcome. Query strings are
// not logged: they can hold free-text searches.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.cfg.Now()
		id := randomID()[:16]
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey, id))
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		s.log.Info("http request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"status", sw.status, "duration_ms", s.cfg.Now().Sub(start).Milliseconds())
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				s.errorPage(w, r, http.StatusInternalServerError, "Sorry, there is a problem with the service", "Try again later.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// userHandler is a handler for a signed-in user.
type userHandler func(w http.ResponseWriter, r *http.Request, u access.User)

// requireUser sends anyone without a live session to sign in, and anyone whose entry
// has left the access file away with a refusal.
func (s *Server) requireUser(h userHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pol := s.policy(r)
		if pol == nil {
			s.accessUnreadable(w, r)
			return
		}
		u, ok := s.sessionUser(pol, r)
		if !ok {
			http.Redirect(w, r, "/sign-in?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r, u)
	})
}

// currentUser is the signed-in user of r as the access file has them now, if any.
// The access file is read on every request (the user's entry and grants as they are
// now), so removing someone from it, or a grant, takes effect at once.
func (s *Server) currentUser(r *http.Request) (access.User, bool) {
	p, err := s.deps.Policy.Current()
	if err != nil {
		return access.User{}, false
	}
	return s.sessionUser(p, r)
}

// sessionUser is the user of r's live session, as the policy p has them. A session
// whose user p no longer names is ended there and then: putting the entry back (a
// revert, another change) does not let that browser in again without signing in. So
// is an OpenID session whose user's entry now pins a subject other than the one it
// signed in as (a reused mailbox: Match no longer lets that e-mail in alone).
func (s *Server) sessionUser(p *access.Policy, r *http.Request) (access.User, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return access.User{}, false
	}
	ss, ok := s.sessions.get(c.Value, s.cfg.Now())
	if !ok {
		return access.User{}, false
	}
	u, ok := namedAsSignedIn(p, *ss)
	if !ok {
		s.sessions.end(c.Value)
		s.log.Info("session ended: the access file no longer names its user as signed in", "request_id", requestID(r.Context()), "user", ss.userID)
		return access.User{}, false
	}
	return u, true
}

// namedAsSignedIn is the user of session ss as p has them, unless p no longer names
// them, or, for an OpenID session, pins their entry to a subject other than the one
// the session signed in as.
func namedAsSignedIn(p *access.Policy, ss session) (access.User, bool) {
	u, ok := p.User(ss.userID)
	if !ok || ss.method == "oidc" && u.Subject != "" && u.Subject != ss.subject {
		return access.User{}, false
	}
	return u, true
}

// accessRetryAfter is the seconds a client refused while the access file cannot be read
// waits before it tries again.
const accessRetryAfter = "60"

// policy is the access file as it stands now, or nil, logged, when it cannot be read
// (or no longer validates): then everyone is refused, as the workers' check does.
func (s *Server) policy(r *http.Request) *access.Policy {
	p, err := s.deps.Policy.Current()
	if err != nil {
		s.log.Error("the access file cannot be read: everyone is refused until it is put right", "request_id", requestID(r.Context()), "err", err)
		return nil
	}
	return p
}

// accessUnreadable refuses a request while the access file cannot be read. The refusal
// is temporary (the file is read again for the next request): Retry-After says when a
// client may try again.
func (s *Server) accessUnreadable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", accessRetryAfter)
	s.errorPage(w, r, http.StatusServiceUnavailable, "The dashboard cannot check who has access",
		"Its access file cannot be read, so no one's access can be checked and nothing is shown. Try again later; if it lasts, tell the dashboard's administrator.")
}

// fail renders an error for err: a refusal or a missing page as such, anything else as
// a server error whose detail goes to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ne notFoundError
	var fe forbiddenError
	var ce codingEndedError
	switch {
	case errors.As(err, &ne):
		s.errorPage(w, r, http.StatusNotFound, "Page not found", string(ne))
	case errors.Is(err, ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address: check the wave, ICS and release in it.")
	case errors.As(err, &fe):
		s.errorPage(w, r, http.StatusForbidden, "You do not have access to this page", string(fe))
	case errors.As(err, &ce):
		s.errorPage(w, r, http.StatusConflict, "Coding has ended", string(ce))
	case errors.Is(err, context.Canceled):
		return
	default:
		s.log.Error("serving page", "request_id", requestID(r.Context()), "path", r.URL.Path, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "Sorry, there is a problem with the service", "Try again later. If it keeps happening, quote the reference below.")
	}
}

type notFoundError string

func (e notFoundError) Error() string { return string(e) }

type forbiddenError string

func (e forbiddenError) Error() string { return string(e) }
