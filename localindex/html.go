package localindex

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"icesurvey/schemas"
	"icesurvey/store"
)

//go:embed report.html.tmpl
var reportTemplate string

// NHSUKStylesheet is the vendored nhsuk-frontend stylesheet (web/static/vendor), inlined
// into the report when found from the working directory or one of its parents, so the
// file is whole on its own (for PDF and for sharing). Without it the report's own
// stylesheet is used alone.
const NHSUKStylesheet = "web/static/vendor/nhsuk-frontend-10.6.1/nhsuk-frontend-10.6.1.min.css"

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.Format("2 January 2006") },
	"join": strings.Join,
}).Parse(reportTemplate))

// FindStylesheet looks for NHSUKStylesheet from dir upwards.
func FindStylesheet(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, NHSUKStylesheet)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		if filepath.Dir(d) == d {
			return "", false
		}
	}
}

// WriteHTML writes the report as one accessible HTML page: a landmarked layout, one
// h1, captioned tables with scoped headers, withheld figures said in words.
func WriteHTML(w io.Writer, d *ProfileData, stylesheet string) error {
	var css template.CSS
	if stylesheet != "" {
		b, err := os.ReadFile(stylesheet)
		if err != nil {
			return fmt.Errorf("report stylesheet: %w", err)
		}
		css = template.CSS(b) //nolint:gosec // the vendored, checksummed nhsuk-frontend stylesheet
	}
	return tmpl.Execute(w, struct {
		*ProfileData
		NHSUK template.CSS
	}{d, css})
}

// ChromiumPath is Debian's Chromium, the only browser the pipeline drives.
const ChromiumPath = "/usr/bin/chromium"

// PrintPDF prints an HTML file to PDF in headless Chromium (the flags DEVELOPERS.md
// requires, a fresh profile each time).
func PrintPDF(ctx context.Context, htmlPath string) ([]byte, error) {
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
	pdf := res.Data
	return pdf, nil
}

// WriteReport renders the report to the reports area as HTML and, when asked, PDF.
func WriteReport(ctx context.Context, st store.Store, d *ProfileData, pdf bool) (ProfileReportResult, error) {
	res := ProfileReportResult{HTMLKey: schemas.ProfileReportKey(d.Wave, d.ICS, d.Profile.ID, ".html"),
		Expectations: len(d.Expectations), Limitations: d.Limitations}
	css := ""
	if wd, err := os.Getwd(); err == nil {
		css, _ = FindStylesheet(wd)
	}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d, css); err != nil {
		return res, err
	}
	if err := store.PutBytes(ctx, st, res.HTMLKey, buf.Bytes()); err != nil {
		return res, err
	}
	if !pdf {
		return res, nil
	}
	dir, err := os.MkdirTemp("", "ice-report-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, d.Profile.ID+".html")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		return res, err
	}
	b, err := PrintPDF(ctx, path)
	if err != nil {
		return res, err
	}
	res.PDFKey = schemas.ProfileReportKey(d.Wave, d.ICS, d.Profile.ID, ".pdf")
	return res, store.PutBytes(ctx, st, res.PDFKey, b)
}
