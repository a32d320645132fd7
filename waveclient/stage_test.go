package waveclient

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/wavespec"
)

// A spec's local files are copied into the restricted landing area and its store keys
// kept; a path that is neither stages nothing, and the error names the ICS and field.
func TestStageFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	local := filepath.Join(dir, "QMM_sample.csv")
	if err := os.WriteFile(local, []byte("NHS_NUMBER\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A mailing file in another folder under the sample's name landed over the sample.
	sameName := filepath.Join(dir, "mailing", "QMM_sample.csv")
	if err := os.MkdirAll(filepath.Dir(sameName), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sameName, []byte("ADDRESS_1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		mailing    string
		wantErr    []string
		wantStaged int
	}{
		{"a local file and a store key", "restricted-landing/W1/QMM/mailing.csv", nil, 1},
		{"two files of one name", sameName, []string{"wave spec ics QMM, mailing_file", "has the same file name as sample_file", "both would land as restricted-landing/W1/QMM/QMM_sample.csv: rename one of them"}, 0},
		{"a mistyped path", filepath.Join(dir, "QMM_mailing.cvs"), []string{"wave spec ics QMM, mailing_file", "QMM_mailing.cvs", "neither a local file nor an object in the store"}, 0},
		// The mailing file is identifiable, and the intake writes its rejection report
		// beside the sample file: read from the open landing area (or any other), both
		// sat where readers of files with no personal data read.
		{"a store key in the open landing area", "landing/W1/QMM/mailing.csv", []string{"wave spec ics QMM, mailing_file", "landing/W1/QMM/mailing.csv", "restricted-landing/"}, 0},
		{"a store key in the lake", "lake/W1/mailing.csv", []string{"wave spec ics QMM, mailing_file", "restricted-landing/"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := store.NewFileStore(filepath.Join(t.TempDir(), "store"))
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"restricted-landing/W1/QMM/mailing.csv", "landing/W1/QMM/mailing.csv", "lake/W1/mailing.csv"} {
				if err := store.PutBytes(ctx, st, k, []byte("x\n")); err != nil {
					t.Fatal(err)
				}
			}
			spec := &wavespec.Spec{WaveID: "W1", ICSs: []wavespec.ICS{{Code: "QMM", SampleFile: local, MailingFile: tc.mailing}}}
			err = StageFiles(ctx, st, spec)
			for _, want := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to say %q", err, want)
				}
			}
			if tc.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			staged, err := st.Stat(ctx, schemas.LandingKey("W1", "QMM", "QMM_sample.csv"))
			if got := map[bool]int{true: 1}[err == nil && staged.Size > 0]; got != tc.wantStaged {
				t.Errorf("sample staged %d times (%v), want %d", got, err, tc.wantStaged)
			}
			if tc.wantErr == nil && (spec.ICSs[0].SampleFile != schemas.LandingKey("W1", "QMM", "QMM_sample.csv") || spec.ICSs[0].MailingFile != tc.mailing) {
				t.Errorf("spec points at %q and %q", spec.ICSs[0].SampleFile, spec.ICSs[0].MailingFile)
			}
		})
	}
}
