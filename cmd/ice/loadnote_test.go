//go:build !production

package main

import (
	"bytes"
	"strings"
	"testing"
	"text/tabwriter"

	"icesurvey/activities"
	"icesurvey/responses"
	"icesurvey/schemas"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// A day's table once said nothing of files rejected whole (an unknown name: "2 0 0 0
// 0" and a blank note) or of some of a day's files skipped as loaded before.
func TestLoadNoteNamesRejectedAndSkippedFiles(t *testing.T) {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	printLoads(tw)(waveclient.DailyLoadResult{WaveID: "W1", Date: "2026-11-28", ICS: []workflows.DailyLoadICSResult{
		{ICS: "QMM", Load: activities.LoadResponsesOutput{Files: 2, RejectedFiles: []responses.RejectedFile{
			{File: "responses-online.csv", Reason: schemas.RejectUnknownFile, Lines: 11},
			{File: "responses_paper.csv.gz", Reason: schemas.RejectUnknownFile},
		}}},
		{ICS: "QE1", Load: activities.LoadResponsesOutput{Files: 4, FilesSkipped: 2, RowsRead: 20, Loaded: 20}},
	}})
	tw.Flush()
	lines := strings.Split(b.String(), "\n")
	for i, want := range []string{
		"file responses-online.csv rejected whole (unknown_file, 11 lines not read); file responses_paper.csv.gz rejected whole (unknown_file, not read)",
		"2 of 4 files already loaded (same bytes), skipped",
	} {
		if len(lines) < i+2 || !strings.HasSuffix(lines[i+1], want) {
			t.Errorf("table:\n%s\nwant row %d to note %q", b.String(), i+1, want)
		}
	}
}
