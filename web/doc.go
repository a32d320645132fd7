// Package web is the ICS dashboard: an http.Handler that serves the ICE Survey's
// near-real-time results in the NHS.UK design system, to the people the access file
// names, with every figure as the release's suppression rules allow it.
//
// What it produces: HTML pages (html/template, the vendored nhsuk-frontend CSS and JS,
// embedded in the binary), server-drawn SVG charts with accessible tables (web/chart),
// and CSV and XLSX downloads that hold exactly the table shown plus a metadata block
// (wave, filters, data as of, method, suppression marks).
//
// How it is wired: NewServer(cfg, deps) checks the configuration and returns a Server,
// which is an http.Handler. `ice serve` (cmd/ice/serve.go) does, in short:
//
//	policy, err := access.Load("access.yaml")
//	src, err := dashdata.Open(ctx, dashdata.Config{Warehouse: "warehouse.duckdb"})
//	ft := dashdata.FreeTextStore{Store: st}
//	srv, err := web.NewServer(web.Config{OIDC: &web.OIDCConfig{...}}, web.Deps{
//		Policy: policy, Freshness: src, Waves: src, Fieldwork: src, Results: src,
//		Releases: src, Practices: src, FreeText: ft, Audit: ft})
//	(&http.Server{Addr: addr, Handler: srv, ReadHeaderTimeout: 10 * time.Second}).Serve(ln)
//
// The data interfaces (data.go) are declared here, by their consumer: the production
// implementation (web/dashdata) reads a read-only warehouse snapshot, the published
// releases and, for free text, the store's restricted area. This package depends on
// no store, no warehouse and no writer.
//
// Pages: home; the wave overview; a page per theme (the brochure's four and the
// questionnaire's sections) with breakdowns by age band, gender, ethnicity group and
// eFI band for the ICS's analysts; carers' results; the published releases (and any
// page's figures as a release published them); the response by GP practice (analysts);
// free text (named readers); who has access (administrators).
//
// What it guarantees:
//
//   - Nobody sees anything without signing in (OpenID Connect authorisation code with
//     PKCE, or a local bcrypt users file for ice dev) and being in the access file.
//     An analyst sees only their ICSs' breakdowns; every user sees each ICS as a whole
//     and England. Refusals say why.
//
//   - Sessions are server-side (random 256-bit ids in __Host- cookies that are Secure,
//     HttpOnly and SameSite=Lax), end after an idle and an absolute limit, and are
//     rotated at sign-in; sessions live in memory, so a restart signs everyone out and
//     several replicas need sticky sessions.
//
//   - Every unsafe request from another origin is refused (http.CrossOriginProtection);
//     password sign-in attempts are rate limited per client address and per user
//     name; through the identity provider only failures count against the address
//     (one organisation's staff share one), and flows in progress are bounded.
//
//   - Every response carries a strict Content Security Policy (no inline script or
//     style, nothing from another origin) and the usual hardening headers; pages need
//     no JavaScript at all (filters are GET forms).
//
//   - A value the release withholds is never shown, drawn or downloaded as a number:
//     withheld measures reach the charts without their numbers, and a filter whose base
//     is under the minimum is refused with a message, not shown empty.
//
//   - Free text reaches a page or a file only through freetext.Read, after the access
//     file's and the grant's checks, redacted, searched on the redacted text, and only
//     once its audit event (user, time, ICS, query, rows shown) is stored.
//
// Privacy: logs carry request paths (never query strings, which may hold searches),
// statuses and staff user ids, never survey answers or patient data.
package web
