package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"icesurvey/access"
)

const (
	startPath    = "/auth/start"
	callbackPath = "/auth/callback"
)

type signInView struct {
	Next         string
	OIDC         bool
	ProviderName string
	StartHref    string
	Local        bool
	UserName     string
	Error        string // the error summary's heading line, when the form was refused
	// Errors are the summary's lines, each linking to its field; UserNameError and
	// PasswordError say them again beside the field.
	Errors        []fieldError
	UserNameError string
	PasswordError string
}

// fieldError is one line of an error summary and the id of the field it is about.
type fieldError struct {
	Field string
	Text  string
}

// fail marks the form refused, with text beside field (username or password) and in
// the summary.
func (v *signInView) fail(field, text string) {
	if v.Error == "" {
		v.Error = text
	}
	v.Errors = append(v.Errors, fieldError{Field: field, Text: text})
	switch field {
	case "username":
		v.UserNameError = text
	case "password":
		v.PasswordError = text
	}
}

func (s *Server) signInView(next string) signInView {
	v := signInView{Next: safeNext(next), Local: s.deps.LocalUsers != nil}
	if s.cfg.OIDC != nil {
		v.OIDC, v.ProviderName = true, s.cfg.OIDC.ProviderName
		v.StartHref = startPath + "?next=" + urlEscape(v.Next)
	}
	return v
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	pol := s.policy(r)
	if pol == nil {
		// No one can be let in: say so now, not after a password is typed.
		s.accessUnreadable(w, r)
		return
	}
	if _, ok := s.sessionUser(pol, r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", Content: s.signInView(r.URL.Query().Get("next"))})
}

// maxSignInForm is the largest sign-in form read (an e-mail address, a password and
// the page to go to next); maxUserName the longest e-mail address (RFC 5321's path).
const (
	maxSignInForm = 16 << 10
	maxUserName   = 254
)

// limited counts a sign-in attempt against the client's address and, when given, the
// user name; it writes the refusal and returns true when either bucket is empty.
func (s *Server) limited(w http.ResponseWriter, r *http.Request, userName string) bool {
	now := s.cfg.Now()
	ok, wait := s.ipLimit.allow(addressKey(s.clientIP(r)), now)
	if ok && userName != "" {
		key := strings.ToLower(strings.TrimSpace(userName))
		if len(key) > maxUserName {
			key = key[:maxUserName] // no e-mail address is longer: kept small, as a key in memory
		}
		ok, wait = s.userLimit.allow(key, now)
	}
	if ok {
		return false
	}
	s.tooMany(w, r, wait)
	return true
}

func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	s.log.Warn("sign-in rate limited", "request_id", requestID(r.Context()), "client", s.clientIP(r))
	w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())))
	s.errorPage(w, r, http.StatusTooManyRequests, "Too many attempts to sign in",
		fmt.Sprintf("For your security, wait %s before you try again.", humanWait(wait)))
}

// failedTooOften refuses a sign-in through the identity provider from an address whose
// failed ones have emptied its bucket, without counting this one: only failures count
// there (failedSignIn). Many NHS staff reach the dashboard from one address (an
// organisation's network behind one public address), and their sign-ins at the start
// of a day would otherwise lock each other out; guessing passwords is the identity
// provider's to stop, and flows in progress are bounded by maxFlows.
func (s *Server) failedTooOften(w http.ResponseWriter, r *http.Request) bool {
	if blocked, wait := s.ipLimit.blocked(addressKey(s.clientIP(r)), s.cfg.Now()); blocked {
		s.tooMany(w, r, wait)
		return true
	}
	return false
}

// failedSignIn counts a failed sign-in through the identity provider against the
// client's address.
func (s *Server) failedSignIn(r *http.Request) {
	s.ipLimit.allow(addressKey(s.clientIP(r)), s.cfg.Now())
}

func humanWait(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%d seconds", int(d.Seconds()))
	}
	m := int((d + time.Minute - 1) / time.Minute)
	if m == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", m)
}

// signInLocal checks a password from the local users file (ice dev).
func (s *Server) signInLocal(w http.ResponseWriter, r *http.Request) {
	if s.deps.LocalUsers == nil {
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "Sign in with a password is not available here.")
		return
	}
	// The form holds an e-mail address and a password: a bigger one is refused unread.
	r.Body = http.MaxBytesReader(w, r.Body, maxSignInForm)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "Sign in failed", "The form could not be read.")
		return
	}
	name, password := strings.TrimSpace(r.PostFormValue("username")), r.PostFormValue("password")
	if s.limited(w, r, name) {
		return
	}
	v := s.signInView(r.PostFormValue("next"))
	v.UserName = name
	if name == "" || password == "" {
		if name == "" {
			v.fail("username", "Enter your e-mail address")
		}
		if password == "" {
			v.fail("password", "Enter your password")
		}
		s.render(w, r, http.StatusUnprocessableEntity, "signin", page{Title: "Error: Sign in", Content: v})
		return
	}
	if !s.deps.LocalUsers.Verify(name, password) {
		s.log.Info("local sign-in refused", "request_id", requestID(r.Context()), "client", s.clientIP(r))
		v.fail("username", "The e-mail address or password is not right")
		s.render(w, r, http.StatusUnauthorized, "signin", page{Title: "Error: Sign in", Content: v})
		return
	}
	pol := s.policy(r)
	if pol == nil {
		s.accessUnreadable(w, r)
		return
	}
	u, ok := pol.User(name)
	if !ok {
		s.noAccess(w, r, name)
		return
	}
	s.startSession(w, r, u, "local", "")
	http.Redirect(w, r, v.Next, http.StatusSeeOther)
}

// startSession signs u in under a new session id (the old one, if any, is ended);
// subject is the OpenID subject they signed in as ("" for a local sign-in).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u access.User, method, subject string) {
	previous := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		previous = c.Value
	}
	ss := s.sessions.create(u.ID, method, subject, previous, s.cfg.Now())
	// A browser-session cookie: on a shared workstation, closing the browser signs the
	// user out there; the session's idle and absolute limits are the server's.
	setCookie(w, sessionCookie, ss.id, 0)
	s.log.Info("signed in", "request_id", requestID(r.Context()), "user", u.ID, "method", method)
}

func (s *Server) noAccess(w http.ResponseWriter, r *http.Request, who string) {
	s.log.Warn("signed-in identity not in the access file", "request_id", requestID(r.Context()), "identity", who)
	s.errorPage(w, r, http.StatusForbidden, "You do not have access to this dashboard",
		"You signed in as "+who+", who is not in the dashboard's access file. Ask an administrator to add you.")
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.end(c.Value)
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/signed-out", http.StatusSeeOther)
}

// extendSession keeps a live session going (its idle limit counts from now), for the
// page's "Stay signed in" (app.js): 204, or 401 when there is no live session to keep.
// It is a POST, so the cross-origin protection covers it.
func (s *Server) extendSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	pol := s.policy(r)
	if pol == nil {
		w.Header().Set("Retry-After", accessRetryAfter)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	if _, ok := s.sessionUser(pol, r); !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// sessionStatus tells a page how many seconds its session has left (JSON
// {"seconds_left": n, "final": b}), counting the requests of every page the user has
// open, and without counting as one: 401 when there is no live session. final says the
// session's absolute limit ends it, which staying signed in cannot extend: the page
// then says so instead of offering to. app.js asks it before it
// warns, so a page left open does not warn, or say the user was signed out, while
// another page keeps the session going.
func (s *Server) sessionStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	pol := s.policy(r)
	c, err := r.Cookie(sessionCookie)
	if pol == nil || err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	ss, ok := s.sessions.peek(c.Value)
	if ok {
		if _, ok = namedAsSignedIn(pol, ss); !ok {
			s.sessions.end(c.Value) // no longer in the access file: as sessionUser does
		}
	}
	left, final, ok := s.sessions.left(c.Value, s.cfg.Now())
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"seconds_left": %d, "final": %t}`, int(left.Seconds()), final)
}

func (s *Server) signedOut(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signedout", page{Title: "You have signed out", Content: s.signInView("/")})
}

// ---- OpenID Connect ------------------------------------------------------------

type oidcClient struct {
	provider *oidc.Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// provider discovers the OpenID provider once, on first use; a failed discovery is
// tried again at the next sign-in.
func (s *Server) provider(ctx context.Context) (*oidcClient, error) {
	s.oidcMu.Lock()
	defer s.oidcMu.Unlock()
	if s.oidc != nil {
		return s.oidc, nil
	}
	cfg := s.cfg.OIDC
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, cfg.IssuerURL)
	if err != nil {
		return nil, fmt.Errorf("discovering the OpenID provider %s: %w", cfg.IssuerURL, err)
	}
	scopes := []string{oidc.ScopeOpenID}
	for _, sc := range cfg.Scopes {
		if sc != oidc.ScopeOpenID {
			scopes = append(scopes, sc)
		}
	}
	if len(cfg.Scopes) == 0 {
		scopes = append(scopes, "email", "profile")
	}
	s.oidc = &oidcClient{
		provider: p,
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: scopes,
		},
		verifier: p.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: s.cfg.Now}),
	}
	return s.oidc, nil
}

// oidcStart begins the authorisation code flow with PKCE (S256): the state, nonce and
// code verifier stay on the server, named by a short-lived cookie.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OIDC == nil {
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "Sign in through an identity provider is not set up here.")
		return
	}
	if s.failedTooOften(w, r) {
		return
	}
	p, err := s.provider(r.Context())
	if err != nil {
		s.log.Error("OpenID provider unavailable", "request_id", requestID(r.Context()), "err", err)
		s.errorPage(w, r, http.StatusBadGateway, "Sign in is not available", "The sign-in service could not be reached. Try again in a few minutes.")
		return
	}
	f := &loginFlow{id: randomID(), state: randomID(), nonce: randomID(), verifier: oauth2.GenerateVerifier(),
		next: safeNext(r.URL.Query().Get("next")), created: s.cfg.Now()}
	if !s.sessions.startFlow(f) {
		s.log.Warn("sign-in flows at their limit", "request_id", requestID(r.Context()), "limit", maxFlows)
		w.Header().Set("Retry-After", "60")
		s.errorPage(w, r, http.StatusServiceUnavailable, "Sign in is busy", "Too many sign-ins are in progress. Try again in a minute.")
		return
	}
	setCookie(w, loginCookie, f.id, flowLifetime)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.oauth.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)), http.StatusFound)
}

// idClaims are the ID token claims the dashboard reads.
type idClaims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Nonce         string `json:"nonce"`
}

func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OIDC == nil {
		s.errorPage(w, r, http.StatusNotFound, "Page not found", "Sign in through an identity provider is not set up here.")
		return
	}
	if s.failedTooOften(w, r) {
		return
	}
	// notCompleted refuses the sign-in; refuse also counts it against the address (the
	// provider's outage is not the client's failure, and is not counted).
	notCompleted := func(reason string, err error) {
		s.log.Warn("OpenID sign-in refused", "request_id", requestID(r.Context()), "reason", reason, "err", err)
		s.errorPage(w, r, http.StatusBadRequest, "Sign in failed", "Signing in did not complete ("+reason+"). Go back to the dashboard and sign in again.")
	}
	refuse := func(reason string, err error) {
		s.failedSignIn(r)
		notCompleted(reason, err)
	}
	c, err := r.Cookie(loginCookie)
	if err != nil {
		refuse("no sign-in in progress in this browser", err)
		return
	}
	clearCookie(w, loginCookie)
	f, ok := s.sessions.takeFlow(c.Value, s.cfg.Now())
	if !ok {
		refuse("the sign-in expired or was already used", nil)
		return
	}
	q := r.URL.Query()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1 {
		refuse("the reply did not match this sign-in", nil)
		return
	}
	if e := q.Get("error"); e != "" {
		refuse("the identity provider said: "+e, errors.New(q.Get("error_description")))
		return
	}
	p, err := s.provider(r.Context())
	if err != nil {
		notCompleted("the sign-in service could not be reached", err)
		return
	}
	tok, err := p.oauth.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		refuse("the sign-in code was not accepted", err)
		return
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		refuse("no ID token came back", nil)
		return
	}
	idt, err := p.verifier.Verify(r.Context(), raw)
	if err != nil {
		refuse("the ID token is not valid", err)
		return
	}
	var cl idClaims
	if err := idt.Claims(&cl); err != nil {
		refuse("the ID token's claims could not be read", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(f.nonce)) != 1 {
		refuse("the ID token was not issued for this sign-in", nil)
		return
	}
	// Providers that put only the subject in the ID token (NHS CIS2 among them) give
	// the e-mail address at the userinfo endpoint, for the same subject.
	if cl.Email == "" {
		info, err := p.provider.UserInfo(r.Context(), oauth2.StaticTokenSource(tok))
		if err != nil {
			refuse("the user's details could not be read", err)
			return
		}
		if info.Subject != idt.Subject {
			refuse("the user's details are for someone else", nil)
			return
		}
		var uc idClaims
		if err := info.Claims(&uc); err != nil {
			refuse("the user's details could not be read", err)
			return
		}
		cl.Email, cl.EmailVerified = uc.Email, uc.EmailVerified
	}
	verified := cl.EmailVerified != nil && *cl.EmailVerified || cl.EmailVerified == nil && s.cfg.OIDC.TrustUnverifiedEmail
	pol := s.policy(r)
	if pol == nil {
		s.accessUnreadable(w, r)
		return
	}
	u, ok := pol.Match(idt.Subject, cl.Email, verified)
	if !ok {
		who := cl.Email
		if who == "" {
			who = "subject " + idt.Subject
		}
		s.failedSignIn(r)
		s.noAccess(w, r, who)
		return
	}
	s.startSession(w, r, u, "oidc", idt.Subject)
	http.Redirect(w, r, f.next, http.StatusSeeOther)
}
