package activities

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"icesurvey/audit"
	"icesurvey/freetext"
	"icesurvey/localindex"
	"icesurvey/localindex/printpdf"
	"icesurvey/schemas"
	"icesurvey/themes"
)

// The local index's activities (issue #17): thin adapters over package localindex.
// Free text is read, redacted and written only inside them; workflows pass keys,
// counts and codes.

// ThemeBatch is a batch of one coder's decisions (localindex.Batch): response ids,
// question ids and codes, never text.
type ThemeBatch = localindex.Batch

// ThemeDecision is one decision of a batch.
type ThemeDecision = localindex.Decision

// ThemeReport is the theme coding report with the figures it quotes.
type ThemeReport = localindex.ReportResult

// CodeThemesInput asks for one coding run of one ICS.
type CodeThemesInput struct {
	Scope
	Run int       `json:"run"` // the coding's count of runs, for the audit trail
	At  time.Time `json:"at"`
}

// CodeThemesOutput is the run's counts and keys, and the lake objects for the warehouse.
type CodeThemesOutput struct {
	localindex.CodeResult
	Objects []schemas.LakeObject `json:"objects"`
}

// CodeThemes redacts and scores one ICS's free text and writes its response themes
// (localindex.Code). Run twice with the same input it writes the same objects.
func (a *Activities) CodeThemes(ctx context.Context, in CodeThemesInput) (CodeThemesOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	res, err := localindex.Code(ctx, a.Store, localindex.CodeInput{Wave: in.WaveID, ICS: in.ICS, At: in.At})
	if err != nil {
		return CodeThemesOutput{}, err
	}
	audit.Record(ctx, "free_text_coded", map[string]any{"comments": res.Comments, "redactions": res.Redactions, "suggested": res.Suggested,
		"coded_by_people": res.CodedByPeople, "codebook": res.CodebookVersion, "key": res.ResponseThemesKey, "run": in.Run})
	return CodeThemesOutput{CodeResult: res, Objects: []schemas.LakeObject{schemas.LakeResponseThemes.Object(res.ResponseThemesKey)}}, nil
}

// RecordThemeDecisionsInput is one batch for one ICS.
type RecordThemeDecisionsInput struct {
	Scope
	Batch ThemeBatch `json:"batch"`
}

// RecordThemeDecisionsOutput says where the batch went.
type RecordThemeDecisionsOutput struct {
	Key       string `json:"key"`
	Decisions int    `json:"decisions"`
}

// RecordThemeDecisions writes a batch of coding decisions to the lake, checked against
// the codebook and the ICS's comments; every decision is audited with its coder.
func (a *Activities) RecordThemeDecisions(ctx context.Context, in RecordThemeDecisionsInput) (RecordThemeDecisionsOutput, error) {
	if err := checkFreeText(ctx, a.FreeText, in.WaveID, freetext.Request{UserID: in.Batch.Coder, ICS: in.ICS, Action: freetext.ActionCode},
		"theme decisions, batch "+in.Batch.ID); err != nil {
		return RecordThemeDecisionsOutput{}, err
	}
	key, err := localindex.RecordDecisions(ctx, a.Store, in.WaveID, in.ICS, themes.Default(), in.Batch)
	if err != nil {
		return RecordThemeDecisionsOutput{}, err
	}
	units := make([]string, len(in.Batch.Decisions))
	for i, d := range in.Batch.Decisions {
		units[i] = localindex.UnitID(d.ResponseID, d.QuestionID)
	}
	audit.Record(ctx, "theme_decisions", map[string]any{"coder": in.Batch.Coder, "batch": in.Batch.ID, "decisions": len(units), "units": units, "key": key})
	return RecordThemeDecisionsOutput{Key: key, Decisions: len(units)}, nil
}

// ThemesReportInput names the ICSs of a wave to report on.
type ThemesReportInput struct {
	Scope
	ICSs []string `json:"icss"`
}

// ThemesReport computes the theme coding report (localindex.Report).
func (a *Activities) ThemesReport(ctx context.Context, in ThemesReportInput) (ThemeReport, error) {
	return localindex.Report(ctx, a.Store, in.WaveID, in.ICSs)
}

// ExportQDPXInput asks for one ICS's REFI-QDA export on behalf of a named reader.
type ExportQDPXInput struct {
	Scope
	By string    `json:"by"`
	At time.Time `json:"at"`
}

// ExportQDPXOutput is where the export is.
type ExportQDPXOutput struct {
	Key     string `json:"key"`
	Sources int    `json:"sources"`
}

// ExportQDPX writes the ICS's coded comments as a .qdpx in the free-text area. It
// carries redacted text, so it is written only for a reader the access file allows to
// download the ICS's free text, and audited as a download by that reader.
func (a *Activities) ExportQDPX(ctx context.Context, in ExportQDPXInput) (ExportQDPXOutput, error) {
	if err := checkFreeText(ctx, a.FreeText, in.WaveID, freetext.Request{UserID: in.By, ICS: in.ICS, Action: freetext.ActionDownload, At: in.At},
		"qdpx export"); err != nil {
		return ExportQDPXOutput{}, err
	}
	key, n, err := localindex.ExportQDPX(ctx, a.Store, in.WaveID, in.ICS, in.At)
	if err != nil {
		return ExportQDPXOutput{}, err
	}
	audit.Record(ctx, "free_text_export", map[string]any{"by": in.By, "action": "download", "format": "qdpx", "sources": n, "key": key})
	return ExportQDPXOutput{Key: key, Sources: n}, nil
}

// ProfileReportInput asks for one profile's side-by-side report for one ICS.
type ProfileReportInput struct {
	Scope
	Profile string    `json:"profile"`
	At      time.Time `json:"at"`
	// PDF also prints the HTML to PDF in headless Chromium.
	PDF bool `json:"pdf"`
	// By is who the report is for: a report that quotes comments is built only for a
	// named free-text reader of the ICS.
	By string `json:"by,omitempty"`
}

// ProfileReportOutput is where the report is.
type ProfileReportOutput = localindex.ProfileReportResult

// ProfileReport builds a profile's report from the warehouse (survey evidence for the
// cohort, coded themes) and the free-text area (session notes), on the warehouse queue.
func (w *WarehouseActivities) ProfileReport(ctx context.Context, in ProfileReportInput) (ProfileReportOutput, error) {
	stop := HeartbeatEvery(ctx, 10*time.Second)
	defer stop()
	var data *localindex.ProfileData
	err := w.Warehouse.Read(ctx, func(db *sql.DB) error {
		var err error
		data, err = localindex.GatherProfile(ctx, w.Store, db, localindex.ProfileReportInput{Wave: in.WaveID, ICS: in.ICS,
			Profile: in.Profile, At: in.At})
		return err
	})
	if err != nil {
		return ProfileReportOutput{}, err
	}
	if n := quotations(data); n > 0 {
		if err := checkFreeText(ctx, w.FreeText, in.WaveID, freetext.Request{UserID: in.By, ICS: in.ICS, Action: freetext.ActionView, At: in.At},
			fmt.Sprintf("profile report %s, %d quotations", in.Profile, n)); err != nil {
			return ProfileReportOutput{}, err
		}
	}
	// Printing takes seconds: the warehouse is not held while Chromium runs.
	var printer localindex.Printer
	if in.PDF {
		printer = printpdf.Print
	}
	out, err := localindex.WriteReport(ctx, w.Store, data, printer)
	if err != nil {
		return out, err
	}
	audit.Record(ctx, "profile_report", map[string]any{"profile": in.Profile, "by": in.By, "quotations": quotations(data), "html": out.HTMLKey, "pdf": out.PDFKey})
	return out, nil
}

// quotations counts the chosen quotations (redacted free text) a report shows.
func quotations(d *localindex.ProfileData) int {
	n := 0
	for _, e := range d.Expectations {
		n += len(e.Quotes)
	}
	return n
}
