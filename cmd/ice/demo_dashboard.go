//go:build !production

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"icesurvey/access"
)

// demoDashboardUser is the demo's dashboard user: an analyst of every ICS, a named
// free-text reader of the demo's ICSs for 30 days, and an administrator. Synthetic
// data only.
const demoDashboardUser = "demo.analyst@example.nhs.uk"

// demoDashboard writes the dashboard's local users file into the demo's data directory
// (a new password each run, printed once), beside the access file the demo wrote before
// the wave (writeDemoAccess), then either prints how to
// serve the dashboard or, with serve, serves it until ctx ends, its coding page
// sending the demo user's decisions to the wave's ThemeCodingWorkflow on the demo's
// Temporal (temporal, host:port), which runs as long as the dashboard does.
func demoDashboard(ctx context.Context, cfg demoConfig, serve bool, temporal, wave string) error {
	secret := make([]byte, 9)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	password := hex.EncodeToString(secret)
	hash, err := access.HashPassword(password)
	if err != nil {
		return err
	}
	accessFile := demoAccessPath(cfg.DataDir)
	usersFile := filepath.Join(cfg.DataDir, "dashboard-users.yaml")
	users := fmt.Sprintf("users:\n  - id: %s\n    password_bcrypt: %q\n", demoDashboardUser, hash)
	if err := os.WriteFile(usersFile, []byte(users), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "\nDashboard: sign in as %s with password %s\n", demoDashboardUser, password)
	if !serve {
		fmt.Fprintf(cfg.Out, "  serve it over these outputs with: ice serve --data %s\n", cfg.DataDir)
		fmt.Fprintf(cfg.Out, "  (ice demo --serve also serves the coding page: the demo's Temporal stops when this command ends)\n")
		return nil
	}
	ics := cfg.ICSs[0]
	return runServe(ctx, demoServeConfig(cfg, temporal), cfg.Out, func(url string) {
		fmt.Fprintf(cfg.Out, "Coding page (the demo user is a named free-text reader of %s): %s/waves/%s/coding?ics=%s\n", strings.Join(cfg.ICSs, ", "), url, wave, ics)
		fmt.Fprintf(cfg.Out, "Or code in the terminal while this runs:\n  ice themes code --wave %s --for-ics %s --coder %s --next 5 --access %s --store file://%s --address %s\n",
			wave, ics, demoDashboardUser, accessFile, filepath.Join(cfg.DataDir, "store"), temporal)
	})
}

// demoServeConfig is how ice demo --serve serves the dashboard: over the demo's data,
// on --addr, its coding page wired to the demo's Temporal.
func demoServeConfig(cfg demoConfig, temporal string) serveConfig {
	addr := cfg.ServeAddr
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	return serveConfig{Data: cfg.DataDir, Addr: addr, Refresh: time.Minute, CodingTemporal: temporal}
}

// demoAccessYAML is the demo's access file: demoDashboardUser, an analyst of every
// ICS and a named free-text reader of icss for 30 days from today.
func demoAccessYAML(icss []string) string {
	today := time.Now().Format(time.DateOnly)
	expires := time.Now().AddDate(0, 0, 30).Format(time.DateOnly)
	var b strings.Builder
	b.WriteString("# Written by ice demo: the demo's dashboard user and its two stand-in coders (synthetic data only).\nversion: 1\nusers:\n")
	grants := func() {
		b.WriteString("    free_text:\n")
		for _, ics := range icss {
			fmt.Fprintf(&b, "      - {ics: %s, approved_by: \"Demo Caldicott Guardian\", approved_on: %s, expires: %s}\n", ics, today, expires)
		}
	}
	fmt.Fprintf(&b, "  - id: %s\n    name: Demo Analyst\n    analyst: [ALL]\n    administrator: true\n", demoDashboardUser)
	grants()
	// The workers check the coders' grants before they record their decisions.
	for i, c := range demoCoders {
		fmt.Fprintf(&b, "  - id: %s\n    name: Demo stand-in coder %c\n", c, 'A'+i)
		grants()
	}
	return b.String()
}

// writeDemoAccess writes the demo's access file (demoAccessYAML) where the dev stack's
// workers and the dashboard read it, and returns its path.
func writeDemoAccess(dataDir string, icss []string) (string, error) {
	path := demoAccessPath(dataDir)
	if err := os.WriteFile(path, []byte(demoAccessYAML(icss)), 0o640); err != nil {
		return "", fmt.Errorf("writing the demo's access file: %w", err)
	}
	return path, nil
}

// demoAccessPath is where the demo's access file is: the dev stack's workers' default
// (devstack.Config.AccessFile) and ice serve's (--data).
func demoAccessPath(dataDir string) string { return filepath.Join(dataDir, "dashboard-access.yaml") }
