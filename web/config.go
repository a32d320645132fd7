package web

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"icesurvey/access"
)

// Config is the dashboard server's configuration. Zero values take the defaults named.
type Config struct {
	// ServiceName is shown in the header and page titles ("ICE Survey dashboard").
	ServiceName string
	// OIDC configures sign-in through an OpenID provider (NHS CIS2 or Microsoft Entra ID
	// in production). Nil leaves only local users (ice dev).
	OIDC *OIDCConfig
	// SessionIdle ends a session after this long without a request (default 30 min);
	// SessionAbsolute ends it this long after sign-in whatever happens (default 10 h).
	SessionIdle     time.Duration
	SessionAbsolute time.Duration
	// SignInPerIP and SignInPerUser limit sign-in attempts (defaults: 20 at once then 1
	// per 30 s per client address; 5 at once then 1 per minute per user name). Through
	// the identity provider, only failed sign-ins count against the address.
	SignInPerIP   RateLimit
	SignInPerUser RateLimit
	// ClientIPHeader names a header set by a trusted reverse proxy that carries the
	// client's address (e.g. "X-Forwarded-For", whose first address is used). Empty: the
	// connection's address. Never set it without such a proxy: clients could forge it.
	ClientIPHeader string
	// TrustedOrigins are further origins ("https://dashboard.example.nhs.uk") whose forms
	// are accepted, for a reverse proxy that does not pass the Host header on unchanged.
	TrustedOrigins []string
	// HSTS sends Strict-Transport-Security (set it when served over HTTPS).
	HSTS bool
	// Logger receives structured logs (default slog.Default()). Nothing identifying a
	// patient is ever logged; user ids are staff e-mail addresses.
	Logger *slog.Logger
	// Now is the clock (default time.Now); tests set it.
	Now func() time.Time
}

// OIDCConfig configures the OpenID Connect authorisation code flow with PKCE.
type OIDCConfig struct {
	// ProviderName is shown on the sign-in button ("NHS Care Identity Service 2").
	ProviderName string
	// IssuerURL is the provider's issuer; its discovery document is read from
	// IssuerURL + "/.well-known/openid-configuration" at the first sign-in.
	IssuerURL    string
	ClientID     string
	ClientSecret string
	// RedirectURL is this server's callback as registered with the provider: the
	// dashboard's public URL + "/auth/callback".
	RedirectURL string
	// Scopes requested; "openid" is always included (default openid, email, profile).
	Scopes []string
	// TrustUnverifiedEmail matches users by the ID token's "email" claim even without
	// "email_verified": true. Microsoft Entra ID does not send email_verified; set this
	// only for a provider whose e-mail claim is an organisation-managed address.
	TrustUnverifiedEmail bool
}

// RateLimit is a token bucket: Burst attempts at once, then one per Every.
type RateLimit struct {
	Burst int
	Every time.Duration
}

// Deps are the server's collaborators, all read-only.
type Deps struct {
	// Policy is the access file: who may see what, asked at every request (in ice
	// serve an access.File, read again when it changes, so a grant taken out of it is
	// refused at once; a file that cannot be read refuses everyone). Required.
	Policy access.Source
	// LocalUsers, when set, allows sign-in with a password from the local users file
	// (ice dev). Every user in it must be in Policy.
	LocalUsers *access.LocalUsers
	// The data the pages read (see data.go). Required.
	Freshness Freshness
	Waves     Waves
	Fieldwork Fieldwork
	Results   Results
	// Optional: the releases page, the response rate by practice, and the free-text
	// page (FreeText and Audit come together: no free text without its audit trail).
	Releases  Releases
	Practices Practices
	FreeText  FreeTextSource
	Audit     AuditSink
	// Optional: the free-text theme counts shown on the theme pages (issue #17).
	FreeTextThemes FreeTextThemes
	// Optional: the coding page (issue #17), for named free-text readers; it needs
	// Audit too. CodingQueue reads the restricted coding queue; ThemeDecisions sends a
	// coder's batch to the coding workflow.
	CodingQueue    CodingQueue
	ThemeDecisions ThemeDecisions
	// Optional: the experience-profile page (issue #17), for analysts of the ICS; its
	// quotations only for named free-text readers, recorded through Audit.
	Profiles ProfileSource
	// Optional: the linked health and care activity page (issue #15), for every
	// signed-in user: disclosed counts of the wave's linkage release only.
	Linkage Linkage
}

func (c *Config) setDefaults() {
	if c.ServiceName == "" {
		c.ServiceName = "ICE Survey dashboard"
	}
	if c.SessionIdle == 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionAbsolute == 0 {
		c.SessionAbsolute = 10 * time.Hour
	}
	if c.SignInPerIP == (RateLimit{}) {
		c.SignInPerIP = RateLimit{Burst: 20, Every: 30 * time.Second}
	}
	if c.SignInPerUser == (RateLimit{}) {
		c.SignInPerUser = RateLimit{Burst: 5, Every: time.Minute}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.OIDC != nil && c.OIDC.ProviderName == "" {
		c.OIDC.ProviderName = "your organisation's account"
	}
}

func (c *Config) validate(d Deps) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if d.Policy == nil {
		bad("web: Deps.Policy: no access policy")
	}
	if d.Freshness == nil || d.Waves == nil || d.Fieldwork == nil || d.Results == nil {
		bad("web: Deps: Freshness, Waves, Fieldwork and Results are all required")
	}
	if (d.FreeText == nil) != (d.Audit == nil) {
		bad("web: Deps: FreeText and Audit come together (every free-text read is audited)")
	}
	if (d.CodingQueue == nil) != (d.ThemeDecisions == nil) || d.CodingQueue != nil && d.Audit == nil {
		bad("web: Deps: CodingQueue and ThemeDecisions come together, with Audit (every decision is audited)")
	}
	if c.OIDC == nil && d.LocalUsers == nil {
		bad("web: no way to sign in: configure OIDC or give a local users file")
	}
	if d.LocalUsers != nil && d.Policy != nil {
		if p, err := d.Policy.Current(); err != nil {
			errs = append(errs, err)
		} else if err := d.LocalUsers.CheckAgainst(p); err != nil {
			errs = append(errs, err)
		}
	}
	if o := c.OIDC; o != nil {
		if u, err := url.Parse(o.IssuerURL); err != nil || u.Scheme == "" || u.Host == "" {
			bad("web: OIDC.IssuerURL: %q is not an absolute URL", o.IssuerURL)
		} else if u.Scheme != "https" && !loopbackHost(u.Hostname()) {
			bad("web: OIDC.IssuerURL: %q must use https (http only on loopback, for tests)", o.IssuerURL)
		}
		if o.ClientID == "" {
			bad("web: OIDC.ClientID: missing")
		}
		if u, err := url.Parse(o.RedirectURL); err != nil || u.Scheme == "" || u.Host == "" || !strings.HasSuffix(u.Path, callbackPath) {
			bad("web: OIDC.RedirectURL: %q must be an absolute URL ending in %s", o.RedirectURL, callbackPath)
		}
	}
	for _, o := range c.TrustedOrigins {
		if err := http.NewCrossOriginProtection().AddTrustedOrigin(o); err != nil {
			bad("web: TrustedOrigins: %q: %v", o, err)
		}
	}
	for name, rl := range map[string]RateLimit{"SignInPerIP": c.SignInPerIP, "SignInPerUser": c.SignInPerUser} {
		if rl.Burst < 1 || rl.Every <= 0 {
			bad("web: %s: burst %d every %s is not a limit", name, rl.Burst, rl.Every)
		}
	}
	return errors.Join(errs...)
}

func loopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1" || strings.HasPrefix(h, "127.")
}
