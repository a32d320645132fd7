package access

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An access.File answers with the file as it is now: a grant taken out is gone at the
// next Current, a file that cannot be read or no longer validates is an error (never
// the policy read before), and one put right is read again.
func TestFileIsReadAsItIsNow(t *testing.T) {
	const withGrant = `version: 1
users:
  - id: fay.reader@example.nhs.uk
    name: Fay Reader
    analyst: [QMM]
    free_text:
      - {ics: QMM, approved_by: "Caldicott Guardian", approved_on: 2026-10-01, expires: 2026-11-30}
`
	withoutGrant := strings.Join(strings.Split(withGrant, "\n")[:5], "\n") + "\n"
	path := filepath.Join(t.TempDir(), "access.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(withGrant)
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readers := func() int {
		t.Helper()
		p, err := f.Current()
		if err != nil {
			t.Fatalf("Current: %v", err)
		}
		u, _ := p.User("fay.reader@example.nhs.uk")
		return len(u.FreeText)
	}
	if n := readers(); n != 1 {
		t.Fatalf("%d grants, want 1", n)
	}
	write(withoutGrant)
	if n := readers(); n != 0 {
		t.Errorf("%d free-text grants after the grant was taken out of the file", n)
	}
	write("version: 1\nusers: [\n")
	if _, err := f.Current(); err == nil || !strings.Contains(err.Error(), "access.yaml") {
		t.Errorf("a file that no longer validates: %v, want an error naming it", err)
	}
	write(withGrant)
	if n := readers(); n != 1 {
		t.Errorf("%d grants once the file is put right, want 1", n)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Current(); err == nil {
		t.Error("a file that is gone: no error")
	}
}
