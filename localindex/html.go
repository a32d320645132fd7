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

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/web"
)

//go:embed report.html.tmpl
var reportTemplate string

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"date": func(t time.Time) string { return t.Format("2 January 2006") },
	"join": strings.Join,
	// words shows a definition's value to readers: in_place is "in place".
	"words": Words,
}).Parse(reportTemplate))

// Words is a definition's enumerated value as readers read it: in_place is "in
// place", not_yet_contacted "not yet contacted".
func Words(v string) string { return strings.ReplaceAll(v, "_", " ") }

// WriteHTML writes the report as one accessible HTML page: a landmarked layout, one
// h1, captioned tables with scoped headers, withheld figures said in words. It inlines
// the vendored nhsuk-frontend stylesheet (web.NHSUKStylesheet, embedded in the
// binary), so the file is whole on its own (for PDF and for sharing), wherever the
// worker runs.
func WriteHTML(w io.Writer, d *ProfileData) error {
	b, err := web.NHSUKStylesheet()
	if err != nil {
		return fmt.Errorf("report stylesheet: %w", err)
	}
	css := template.CSS(b) //nolint:gosec // the vendored, checksummed nhsuk-frontend stylesheet
	return tmpl.Execute(w, struct {
		*ProfileData
		NHSUK template.CSS
	}{d, css})
}

// Printer prints an HTML file to PDF (printpdf.Print: headless Chromium).
type Printer func(ctx context.Context, htmlPath string) ([]byte, error)

// WriteReport renders the report into the free-text area as HTML and, when given a
// printer, PDF.
func WriteReport(ctx context.Context, st store.Store, d *ProfileData, printer Printer) (ProfileReportResult, error) {
	res := ProfileReportResult{HTMLKey: schemas.ProfileReportKey(d.Wave, d.ICS, d.Profile.ID, ".html"),
		Expectations: len(d.Expectations), Limitations: d.Limitations}
	var buf bytes.Buffer
	if err := WriteHTML(&buf, d); err != nil {
		return res, err
	}
	if err := store.PutBytes(ctx, st, res.HTMLKey, buf.Bytes()); err != nil {
		return res, err
	}
	if printer == nil {
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
	b, err := printer(ctx, path)
	if err != nil {
		return res, err
	}
	res.PDFKey = schemas.ProfileReportKey(d.Wave, d.ICS, d.Profile.ID, ".pdf")
	return res, store.PutBytes(ctx, st, res.PDFKey, b)
}
