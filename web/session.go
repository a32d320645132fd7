package web

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Cookie names. The __Host- prefix makes the browser refuse them unless they are
// Secure, have Path=/ and no Domain: no sibling host can set or read them.
const (
	sessionCookie = "__Host-ice-session"
	loginCookie   = "__Host-ice-signin"
)

// session is a signed-in user's server-side session. The cookie holds only its random id.
type session struct {
	id       string
	userID   string
	method   string // "oidc" or "local"
	subject  string // the OpenID subject signed in as ("" for local)
	created  time.Time
	lastSeen time.Time
}

// loginFlow is an OpenID sign-in in progress: what the callback must find again.
type loginFlow struct {
	id       string
	state    string
	nonce    string
	verifier string // the PKCE code verifier
	next     string
	created  time.Time
}

// sessionStore keeps sessions and sign-in flows in memory. Restarting the server signs
// everyone out, which is the safe direction.
type sessionStore struct {
	mu       sync.Mutex
	idle     time.Duration
	absolute time.Duration
	sessions map[string]*session
	flows    map[string]*loginFlow
}

const flowLifetime = 10 * time.Minute

// maxFlows bounds the sign-ins through the identity provider in progress at once (each
// kept for flowLifetime at most): starting one is not rate limited per address (only
// failures are), so this keeps their memory bounded.
const maxFlows = 10000

func newSessionStore(idle, absolute time.Duration) *sessionStore {
	return &sessionStore{idle: idle, absolute: absolute, sessions: map[string]*session{}, flows: map[string]*loginFlow{}}
}

// randomID is 256 bits from the system's CSPRNG, URL-safe.
func randomID() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a new session for userID under a fresh id. Any session named by
// previous (the one the browser had before signing in) is ended: ids rotate on sign-in.
func (s *sessionStore) create(userID, method, subject, previous string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(now)
	delete(s.sessions, previous)
	ss := &session{id: randomID(), userID: userID, method: method, subject: subject, created: now, lastSeen: now}
	s.sessions[ss.id] = ss
	return ss
}

// get returns the live session with this id and marks it seen; expired ones are ended.
func (s *sessionStore) get(id string, now time.Time) (*session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return nil, false
	}
	if now.Sub(ss.lastSeen) >= s.idle || now.Sub(ss.created) >= s.absolute {
		delete(s.sessions, id)
		return nil, false
	}
	ss.lastSeen = now
	c := *ss
	return &c, true
}

// left is how long the live session with this id has before its idle or absolute
// limit ends it, without marking it seen (asking is not using the dashboard), and
// whether that end is final: the absolute limit, which no use of the dashboard
// extends.
func (s *sessionStore) left(id string, now time.Time) (left time.Duration, final, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return 0, false, false
	}
	idleLeft, absoluteLeft := s.idle-now.Sub(ss.lastSeen), s.absolute-now.Sub(ss.created)
	left = min(idleLeft, absoluteLeft)
	if left <= 0 {
		delete(s.sessions, id)
		return 0, false, false
	}
	return left, absoluteLeft <= idleLeft, true
}

// peek returns the session with this id, live or not, without marking it seen.
func (s *sessionStore) peek(id string) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[id]
	if !ok {
		return session{}, false
	}
	return *ss, true
}

func (s *sessionStore) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, id)
}

func (s *sessionStore) startFlow(f *loginFlow) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep(f.created)
	if len(s.flows) >= maxFlows {
		return false
	}
	s.flows[f.id] = f
	return true
}

// takeFlow returns and removes a sign-in flow: each can complete once.
func (s *sessionStore) takeFlow(id string, now time.Time) (*loginFlow, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.flows[id]
	delete(s.flows, id)
	if !ok || now.Sub(f.created) > flowLifetime {
		return nil, false
	}
	return f, true
}

func (s *sessionStore) sweep(now time.Time) {
	for id, ss := range s.sessions {
		if now.Sub(ss.lastSeen) >= s.idle || now.Sub(ss.created) >= s.absolute {
			delete(s.sessions, id)
		}
	}
	for id, f := range s.flows {
		if now.Sub(f.created) > flowLifetime {
			delete(s.flows, id)
		}
	}
}

// setCookie writes a cookie: Secure, HttpOnly, SameSite=Lax, Path=/, kept for maxAge,
// or, when maxAge is 0, a browser-session cookie (no Max-Age: closing the browser ends
// it). Lax (not Strict) so that the OpenID provider's redirect back, a top-level GET
// from another site, still carries the sign-in flow's cookie.
func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode})
}
