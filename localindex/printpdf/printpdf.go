// Package printpdf prints an HTML file to PDF in Debian's headless Chromium (the
// profile reports of #17). It is a package of its own so that what only renders or
// reads the local index — the dashboard above all, which may not link a browser
// driver (web/imports_test.go) — does not link chromedp with it.
package printpdf

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium, the only browser the pipeline drives.
const ChromiumPath = "/usr/bin/chromium"

// Print prints an HTML file to PDF in headless Chromium (the flags DEVELOPERS.md
// requires, a fresh profile each time).
func Print(ctx context.Context, htmlPath string) ([]byte, error) {
	if _, err := os.Stat(ChromiumPath); err != nil {
		return nil, fmt.Errorf("print PDF: %s not installed (apt-get install chromium): %w", ChromiumPath, err)
	}
	profile, err := os.MkdirTemp("", "ice-chromium-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(profile)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath), chromedp.Headless, chromedp.NoFirstRun,
		chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true), chromedp.UserDataDir(profile),
	}
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	defer cancel()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	tctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return nil, err
	}
	if err := chromedp.Do(tctx, chromedp.Navigate("file://"+abs)); err != nil {
		return nil, fmt.Errorf("open %s in Chromium: %w", htmlPath, err)
	}
	yes := true
	res, err := chromedp.Call(tctx, page.PrintToPDF, page.PrintToPDFParams{PrintBackground: &yes, PreferCSSPageSize: &yes, GenerateTaggedPDF: &yes})
	if err != nil {
		return nil, fmt.Errorf("print %s to PDF in Chromium: %w", htmlPath, err)
	}
	return res.Data, nil
}
