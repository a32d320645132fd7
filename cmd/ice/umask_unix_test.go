//go:build unix

package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Under a directory anyone may read (0755, made by someone else), a file ice creates
// with the usual 0644 is still not readable by other users.
func TestPrivateUmaskKeepsFilesFromOtherUsers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	old := privateUmask()
	defer syscall.Umask(old)
	for _, tc := range []struct {
		name string
		make func(p string) error
		want os.FileMode
	}{
		{"file", func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) }, 0o640},
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, 0o750},
	} {
		p := filepath.Join(dir, tc.name)
		if err := tc.make(p); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != tc.want {
			t.Errorf("a %s made 0%o under a 0755 directory is 0%o, want 0%o", tc.name, map[bool]int{true: 0o644, false: 0o755}[tc.name == "file"], got, tc.want)
		}
	}
}
