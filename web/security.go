package web

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"icesurvey/access"
)

// contentSecurityPolicy allows nothing but this origin's own files: no inline script
// or style (charts use presentation attributes, never style=""), no frames, no plugins,
// forms posting only here. The design system's CSS is served with its @font-face
// rules removed, so no font host is needed.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// securityHeaders sets the headers every response carries.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()")
		if s.cfg.HSTS {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address sign-in attempts are counted against. The header a trusted
// proxy sets is read from its end: a proxy that appends the client's address to a list
// (X-Forwarded-For) leaves before it whatever the client sent, so only the last entry
// (of the last such header) is the proxy's own; one that sets a single address
// (X-Real-IP) is read the same.
func (s *Server) clientIP(r *http.Request) string {
	if s.cfg.ClientIPHeader != "" {
		if vs := r.Header.Values(s.cfg.ClientIPHeader); len(vs) > 0 {
			v := vs[len(vs)-1]
			last := v[strings.LastIndexByte(v, ',')+1:]
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				return ip.String()
			}
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// addressKey is the bucket a client address's sign-in attempts are counted in: an IPv4
// address itself, but an IPv6 address's /64, since one client is handed a /64 (or
// more) and may take any of its addresses for each attempt.
func addressKey(addr string) string {
	ip := net.ParseIP(addr)
	if ip == nil || ip.To4() != nil {
		return addr
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// safeNext keeps a post-sign-in destination only if it is a path on this site: never
// another host ("//evil", "https://…", "/\evil"), so sign-in cannot be an open redirect.
// Browsers strip tabs and newlines from anywhere in a URL and controls and spaces from
// its ends, and read "\" as "/", so "/\t/evil" is "//evil" to them: a destination is
// kept only if it is printable ASCII with no space or backslash (requireUser sends the
// escaped RequestURI, which always is), parses with no scheme or host, and starts with
// exactly one "/".
func safeNext(next string) string {
	if next == "" || next[0] != '/' || len(next) > 1 && next[1] == '/' {
		return "/"
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

func urlEscape(s string) string { return url.QueryEscape(s) }

// confirmContent is a page that asks the user to go on from the dashboard itself.
type confirmContent struct {
	Heading, Message string
	Href, Action     string
}

// fromDashboard guards a page that shows free text, each showing recorded in the
// reader's name: the session cookie is SameSite=Lax, so another site's link, redirect
// or script (a top-level GET) would carry it, and could have the reader's browser show,
// download or search the comments (a search the other site chose, on record as the
// reader's). A navigation the browser says came from another site (Sec-Fetch-Site
// cross-site or same-site) shows nothing and records nothing: the page offers a link
// to the same address, which, followed from the dashboard, is same-origin. A request
// from the dashboard itself (same-origin), typed or bookmarked (none), or from a
// client that sends no Sec-Fetch-Site is served as before.
func (s *Server) fromDashboard(h userHandler) userHandler {
	return func(w http.ResponseWriter, r *http.Request, u access.User) {
		switch r.Header.Get("Sec-Fetch-Site") {
		case "", "same-origin", "none":
			h(w, r, u)
			return
		}
		s.render(w, r, http.StatusOK, "confirm", page{Title: "Open this page from the dashboard", User: &u, Breadcrumbs: []crumb{{"Home", "/"}},
			Content: confirmContent{
				Heading: "Open this page from the dashboard",
				Message: "You followed a link from another site to a page that shows free text. Every showing, search and download of free text is recorded in your name, " +
					"so it is shown only when you open it from the dashboard itself. Nothing was shown or recorded. Open it only if you meant to.",
				Href: r.URL.RequestURI(), Action: "Open the page",
			}})
	}
}
