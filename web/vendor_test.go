package web

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVendoredFilesMatchTheirChecksums checks, offline, that every vendored front-end
// file is byte for byte what infra/vendor-frontend.sh fetched from npm and pinned in
// SHA256SUMS, so nobody edits a vendored file by hand.
func TestVendoredFilesMatchTheirChecksums(t *testing.T) {
	for _, dir := range []string{
		filepath.Join("static", "vendor", "nhsuk-frontend-"+frontendVersion),
		filepath.Join("internal", "browsertest", "axe", "axe-core-4.14.1"),
	} {
		f, err := os.Open(filepath.Join(dir, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		listed := map[string]bool{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			sum, name, ok := strings.Cut(sc.Text(), "  ")
			if !ok {
				t.Fatalf("%s/SHA256SUMS: bad line %q", dir, sc.Text())
			}
			listed[name] = true
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			got := sha256.Sum256(b)
			if hex.EncodeToString(got[:]) != sum {
				t.Errorf("%s/%s differs from the pinned npm file (re-run infra/vendor-frontend.sh)", dir, name)
			}
		}
		f.Close()
		// Only the listed files and the hand-kept licence may be there.
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if !listed[filepath.ToSlash(rel)] && rel != "SHA256SUMS" && rel != "LICENCE" {
				t.Errorf("%s/%s is not in SHA256SUMS", dir, rel)
			}
			return nil
		})
		if _, err := os.Stat(filepath.Join(dir, "LICENCE")); err != nil && !listed["LICENSE"] {
			t.Errorf("%s has no licence file", dir)
		}
	}
}
