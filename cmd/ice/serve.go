package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/access"
	"icesurvey/infra"
	"icesurvey/store"
	"icesurvey/themes"
	"icesurvey/waveclient"
	"icesurvey/web"
	"icesurvey/web/dashdata"
)

// serveConfig configures `ice serve`.
type serveConfig struct {
	Data, Warehouse, Store, Access, Users, Addr string
	Refresh                                     time.Duration
	OIDCIssuer, OIDCClientID, OIDCSecret        string
	OIDCRedirect, OIDCProvider                  string
	OIDCTrustEmail, HSTS                        bool
	ClientIPHeader                              string
	TrustedOrigins                              []string
	// CodingTemporal, when set, is the Temporal frontend (host:port) the coding page
	// sends coders' batches to (#17); without it there is no coding page.
	CodingTemporal string
}

func serveCmd() *cobra.Command {
	var cfg serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the ICS dashboard over the warehouse",
		Long: `Serves the ICS dashboard (issue #16) over a read-only snapshot of the warehouse,
refreshed when the warehouse changes (after each daily load), to the people the
access file names. Sign-in is OpenID Connect (--oidc-*; NHS CIS2 or Microsoft Entra
ID) or, for ice dev and the demo, a local users file of bcrypt hashes (--users).
Free text is read from the store's restricted area, only by named free-text readers,
and every read is recorded beside it.

  ice serve --data .ice/demo            (the demo's warehouse, store and access files)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), cfg, os.Stdout, nil)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Data, "data", "", "a data directory holding warehouse.duckdb, store/, dashboard-access.yaml and dashboard-users.yaml (as ice dev and ice demo leave it)")
	f.StringVar(&cfg.Warehouse, "warehouse", "", "the warehouse file (default DATA/warehouse.duckdb)")
	f.StringVar(&cfg.Store, "store", envOr("ICE_STORE", ""), "object store for free text: file://DIR or s3://bucket/prefix (default DATA/store; ICE_STORE)")
	f.StringVar(&cfg.Access, "access", "", "the access file: who may see what (default DATA/dashboard-access.yaml)")
	f.StringVar(&cfg.Users, "users", "", "a local users file of bcrypt hashes, for ice dev (default DATA/dashboard-users.yaml when it exists)")
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.DurationVar(&cfg.Refresh, "refresh", 5*time.Minute, "how often to look for a changed warehouse and take a new snapshot")
	f.StringVar(&cfg.OIDCIssuer, "oidc-issuer", envOr("ICE_OIDC_ISSUER", ""), "OpenID provider's issuer URL (ICE_OIDC_ISSUER)")
	f.StringVar(&cfg.OIDCClientID, "oidc-client-id", envOr("ICE_OIDC_CLIENT_ID", ""), "OpenID client id (ICE_OIDC_CLIENT_ID)")
	f.StringVar(&cfg.OIDCRedirect, "oidc-redirect", envOr("ICE_OIDC_REDIRECT_URL", ""), "this dashboard's public URL + /auth/callback (ICE_OIDC_REDIRECT_URL)")
	f.StringVar(&cfg.OIDCProvider, "oidc-provider-name", "NHS Care Identity Service 2", "the provider's name on the sign-in button")
	f.BoolVar(&cfg.OIDCTrustEmail, "oidc-trust-unverified-email", false, "match users by an e-mail claim without email_verified (Microsoft Entra ID)")
	f.BoolVar(&cfg.HSTS, "hsts", false, "send Strict-Transport-Security (behind HTTPS)")
	f.StringVar(&cfg.ClientIPHeader, "client-ip-header", "", "header a trusted reverse proxy sets with the client's address")
	f.StringSliceVar(&cfg.TrustedOrigins, "trusted-origin", nil, "further origins whose forms are accepted (a reverse proxy's)")
	f.StringVar(&cfg.CodingTemporal, "coding-temporal", "", "Temporal frontend host:port: turns on the coding page, which sends coders' decisions to the wave's ThemeCodingWorkflow (needs the store; namespace, API key and TLS from TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*)")
	cfg.OIDCSecret = os.Getenv("ICE_OIDC_CLIENT_SECRET")
	return cmd
}

// resolve fills the paths a data directory implies.
func (c *serveConfig) resolve() error { return c.resolveFor(devBuild) }

// resolveFor is resolve for a dev build (dev) or a production one, which signs people
// in through OpenID Connect only: password sign-in (a local users file) is for ice dev
// and the demo, and would sit beside the identity provider's assurance, MFA and
// lockout, so a production build refuses --users and does not pick up
// DATA/dashboard-users.yaml.
func (c *serveConfig) resolveFor(dev bool) error {
	if !dev && c.Users != "" {
		return fmt.Errorf("serve: --users (password sign-in from a local users file) is for ice dev and the demo; a production build signs in through OpenID Connect only (--oidc-*)")
	}
	def := func(v *string, name string, mustExist bool) {
		if *v == "" && c.Data != "" {
			p := filepath.Join(c.Data, name)
			if _, err := os.Stat(p); err == nil || !mustExist {
				*v = p
			}
		}
	}
	def(&c.Warehouse, "warehouse.duckdb", false)
	def(&c.Access, "dashboard-access.yaml", false)
	if dev {
		def(&c.Users, "dashboard-users.yaml", true)
	}
	if c.Store == "" && c.Data != "" {
		c.Store = "file://" + filepath.Join(c.Data, "store")
	}
	var missing []string
	if c.Warehouse == "" {
		missing = append(missing, "--warehouse (or --data)")
	}
	if c.Access == "" {
		missing = append(missing, "--access (or --data)")
	}
	if len(missing) > 0 {
		return fmt.Errorf("serve: %s required", strings.Join(missing, " and "))
	}
	return nil
}

// codingClientConfig is how the coding page reaches Temporal at addr: the namespace,
// API key and TLS files come from the TEMPORAL_* environment, as a worker's do, so the
// dashboard reaches a cluster with mTLS or Temporal Cloud as the workers do.
func codingClientConfig(addr string) infra.ClientConfig {
	c := infra.ClientConfigFromEnv()
	c.Address = addr
	return c
}

// runServe serves until ctx ends. ready, when set, receives the listening URL.
func runServe(ctx context.Context, cfg serveConfig, out *os.File, ready func(url string)) error {
	if err := cfg.resolve(); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	// The access file is read again at each request (access.File), as the workers read
	// theirs: a grant taken out of it is refused at once, without a restart.
	policy, err := access.OpenFile(cfg.Access)
	if err != nil {
		return err
	}
	deps := web.Deps{Policy: policy}
	if cfg.Users != "" {
		if deps.LocalUsers, err = access.LoadLocalUsers(cfg.Users); err != nil {
			return err
		}
	}
	wcfg := web.Config{Logger: logger, HSTS: cfg.HSTS, ClientIPHeader: cfg.ClientIPHeader, TrustedOrigins: cfg.TrustedOrigins}
	if cfg.OIDCIssuer != "" {
		wcfg.OIDC = &web.OIDCConfig{ProviderName: cfg.OIDCProvider, IssuerURL: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID,
			ClientSecret: cfg.OIDCSecret, RedirectURL: cfg.OIDCRedirect, TrustUnverifiedEmail: cfg.OIDCTrustEmail}
	}
	fmt.Fprintf(out, "Taking a snapshot of %s and computing the live figures…\n", cfg.Warehouse)
	src, err := dashdata.Open(ctx, dashdata.Config{Warehouse: cfg.Warehouse, Logger: logger})
	if err != nil {
		return err
	}
	defer src.Close()
	deps.Freshness, deps.Waves, deps.Fieldwork, deps.Results, deps.Releases, deps.Practices = src, src, src, src, src, src
	deps.FreeTextThemes = src // the theme pages' free-text theme counts (#17)
	deps.Linkage = src        // the linked activity page (#15)
	if cfg.Store != "" {
		st, err := store.Open(ctx, cfg.Store)
		if err != nil {
			return err
		}
		ft := dashdata.FreeTextStore{Store: st}
		deps.FreeText, deps.Audit = ft, ft
		deps.Profiles = profileSource{src: src, st: st} // the experience-profile page (#17)
		if cfg.CodingTemporal != "" {
			cl, err := waveclient.Dial(ctx, codingClientConfig(cfg.CodingTemporal))
			if err != nil {
				return fmt.Errorf("serve: --coding-temporal: %w", err)
			}
			defer cl.Close()
			deps.CodingQueue, deps.ThemeDecisions = ft, themeDecisionSender{cl: cl}
		}
	}
	srv, err := web.NewServer(wcfg, deps)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(out, "Dashboard at %s (Ctrl-C stops it)\n", url)
	if ready != nil {
		ready(url)
	}
	go func() {
		t := time.NewTicker(cfg.Refresh)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := src.Refresh(ctx); err != nil && ctx.Err() == nil {
					logger.Warn("dashboard: refreshing the snapshot", "err", err)
				}
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(out, "Dashboard stopped.")
	return nil
}

// themeDecisionSender sends the coding page's batches to the wave's
// ThemeCodingWorkflow as its theme-decisions update (the dashboard reaches no
// workflow itself).
type themeDecisionSender struct{ cl *waveclient.Client }

// CodingRunning says whether the wave's theme coding takes decisions: one that has
// ended, or was never started, is web.ErrCodingEnded with when and how to start it.
func (t themeDecisionSender) CodingRunning(ctx context.Context, wave string) error {
	err := t.cl.ThemeCodingRunning(ctx, wave)
	if errors.Is(err, waveclient.ErrEnded) || errors.Is(err, waveclient.ErrNotStarted) {
		return fmt.Errorf("%w: %s", web.ErrCodingEnded, strings.TrimSuffix(err.Error(), ": "+waveclient.ErrEnded.Error()))
	}
	return err
}

func (t themeDecisionSender) SendThemeDecisions(ctx context.Context, wave, ics string, b web.CodingBatch) (int, error) {
	batch := waveclient.ThemeBatch{Coder: b.Coder, DecidedAt: time.Now().UTC()}
	for _, d := range b.Decisions {
		td := waveclient.ThemeDecision{ResponseID: d.ResponseID, QuestionID: d.QuestionID}
		for _, c := range d.Themes {
			td.Themes = append(td.Themes, themes.ThemeCode{Theme: c.Theme, Polarity: themes.Polarity(c.Polarity)})
		}
		batch.Decisions = append(batch.Decisions, td)
	}
	res, err := t.cl.SendThemeDecisions(ctx, wave, ics, batch)
	if reason, refused := workerRefusal(err); refused {
		// The worker's check of the access file (activities.checkFreeText).
		return 0, fmt.Errorf("%w: %s", web.ErrCodingRefused, reason)
	}
	if err != nil {
		return 0, err
	}
	return res.Recorded, nil
}
