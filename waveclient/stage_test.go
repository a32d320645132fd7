package waveclient

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/wavespec"
)

// A spec's local files are copied into a folder of the start's own in the restricted
// landing area and its store keys kept; a path that is neither stages nothing, and the
// error names the ICS and field.
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
	folder := regexp.MustCompile(`^start-\d{8}T\d{6}Z-[0-9a-f]{8}$`)
	for _, tc := range []struct {
		name       string
		mailing    string
		wantErr    []string
		wantStaged int
	}{
		{"a local file and a store key", "restricted-landing/W1/QMM/mailing.csv", nil, 1},
		{"two files of one name", sameName, []string{"wave spec ics QMM, mailing_file", "has the same file name as sample_file", "both would land as restricted-landing/W1/QMM/start-", "/QMM_sample.csv: rename one of them"}, 0},
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
			staged, err := StageFiles(ctx, st, spec)
			for _, want := range tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want it to say %q", err, want)
				}
			}
			if tc.wantErr == nil && err != nil {
				t.Fatal(err)
			}
			if got := len(samplesIn(t, st)); got != tc.wantStaged {
				t.Errorf("sample staged %d times, want %d", got, tc.wantStaged)
			}
			if tc.wantErr != nil {
				if staged.Folder != "" || staged.Keys != nil || spec.ICSs[0].SampleFile != local {
					t.Errorf("refused, yet staged %+v and the spec points at %q", staged, spec.ICSs[0].SampleFile)
				}
				return
			}
			want := schemas.StagedLandingKey("W1", "QMM", staged.Folder, "QMM_sample.csv")
			if !folder.MatchString(staged.Folder) || !slices.Equal(staged.Keys, []string{want}) {
				t.Errorf("staged %+v, want %s in a start-{time}-{nonce} folder", staged, want)
			}
			if spec.ICSs[0].SampleFile != want || spec.ICSs[0].MailingFile != tc.mailing {
				t.Errorf("spec points at %q and %q", spec.ICSs[0].SampleFile, spec.ICSs[0].MailingFile)
			}
		})
	}
}

// samplesIn lists the staged copies of QMM_sample.csv in the ICS's landing area.
func samplesIn(t *testing.T, st store.Store) []string {
	t.Helper()
	infos, err := st.List(context.Background(), schemas.RestrictedLandingPrefix("W1", "QMM"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, i := range infos {
		if strings.HasSuffix(i.Key, "/QMM_sample.csv") {
			keys = append(keys, i.Key)
		}
	}
	return keys
}

// Two starts of one wave id (at the same moment) stage into folders of their own:
// neither's files land over the other's, and each can delete its own.
func TestStageFilesTwiceKeepsThemApart(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	var staged [2]Staged
	for i, body := range []string{"first\n", "second\n"} {
		dir := t.TempDir()
		spec := &wavespec.Spec{WaveID: "W1", ICSs: []wavespec.ICS{{Code: "QMM", SampleFile: filepath.Join(dir, "QMM_sample.csv"), MailingFile: filepath.Join(dir, "QMM_mailing.csv")}}}
		for _, p := range []string{spec.ICSs[0].SampleFile, spec.ICSs[0].MailingFile} {
			if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if staged[i], err = StageFiles(ctx, st, spec); err != nil {
			t.Fatal(err)
		}
		if len(staged[i].Keys) != 2 {
			t.Fatalf("staged %+v, want both files", staged[i])
		}
	}
	if staged[0].Folder == staged[1].Folder {
		t.Fatalf("both starts staged in %s", staged[0].Folder)
	}
	if err := staged[1].Delete(ctx, st); err != nil {
		t.Fatal(err)
	}
	if got := samplesIn(t, st); !slices.Equal(got, staged[0].Keys[:1]) {
		t.Errorf("after the second start deleted its files, the landing area holds %v, want the first's %s", got, staged[0].Keys[0])
	}
	if b, err := store.ReadAll(ctx, st, staged[0].Keys[0]); err != nil || string(b) != "first\n" {
		t.Errorf("the first start's sample reads %q (%v)", b, err)
	}
}

// failingStore fails every write after the first.
type failingStore struct {
	store.Store
	puts int
}

func (s *failingStore) Put(ctx context.Context, key string, r io.Reader) error {
	if s.puts++; s.puts > 1 {
		return errors.New("disk full")
	}
	return s.Store.Put(ctx, key, r)
}

// A copy that fails deletes those made before it: no patients' data is left where
// no wave, and so no retention, will read it.
func TestStageFilesFailedCopyLeavesNothing(t *testing.T) {
	ctx := context.Background()
	fs, err := store.NewFileStore(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	spec := &wavespec.Spec{WaveID: "W1", ICSs: []wavespec.ICS{{Code: "QMM", SampleFile: filepath.Join(dir, "QMM_sample.csv"), MailingFile: filepath.Join(dir, "QMM_mailing.csv")}}}
	for _, p := range []string{spec.ICSs[0].SampleFile, spec.ICSs[0].MailingFile} {
		if err := os.WriteFile(p, []byte("x\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := StageFiles(ctx, &failingStore{Store: fs}, spec); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("staging on a failing store: %v", err)
	}
	if left, err := fs.List(ctx, schemas.AreaRestrictedLanding.Prefix()); err != nil || len(left) != 0 {
		t.Errorf("a failed staging left %v (%v)", left, err)
	}
	if spec.ICSs[0].SampleFile != filepath.Join(dir, "QMM_sample.csv") {
		t.Errorf("a failed staging pointed the spec at %s", spec.ICSs[0].SampleFile)
	}
}
