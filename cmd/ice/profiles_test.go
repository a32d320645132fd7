package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"icesurvey/fault"
)

// An unknown --profile is refused before anything is asked of the cluster or written:
// no client is dialled here, and no --out directory made.
func TestProfileReportRefusesAnUnknownProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	paths, err := writeProfileReports(context.Background(), nil, nil, &reader{}, "W1", []string{"QMM"}, []string{"women-multimorbidity-heart", "no-such-profile"}, false, dir)
	if err == nil || !strings.Contains(err.Error(), `no profile "no-such-profile"`) || !strings.Contains(err.Error(), "women-multimorbidity-heart") ||
		fault.KindOf(err) != fault.BadInput {
		t.Fatalf("an unknown profile: %v; want a bad input naming it and the profiles there are", err)
	}
	if len(paths) != 0 {
		t.Errorf("wrote %v", paths)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("--out made before the profile was checked: %v", err)
	}
}
