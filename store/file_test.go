package store_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"icesurvey/store"
	"icesurvey/store/storetest"
)

func newFileStore(t *testing.T) *store.FileStore {
	t.Helper()
	// A subdirectory, so a store that escaped its root would find the sibling.
	parent := t.TempDir()
	if err := os.WriteFile(filepath.Join(parent, "outside"), []byte("not in the store"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := store.NewFileStore(filepath.Join(parent, "root"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFileConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFileStore(t) })
}

// tempFiles lists the files under root that Put leaves while writing.
func tempFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestFilePutAtomic holds a Put open half-way through and checks what other
// readers see meanwhile: the old object or none, never a part, and no temporary
// file in List; then that the Put completes and leaves nothing behind.
func TestFilePutAtomic(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		old  []byte // nil: no object before the Put
	}{
		{"new-key", nil},
		{"replace", []byte("the complete old object")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newFileStore(t)
			key := "atomic/obj"
			if tc.old != nil {
				if err := store.PutBytes(ctx, s, key, tc.old); err != nil {
					t.Fatal(err)
				}
			}
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- s.Put(ctx, key, pr) }()
			if _, err := pw.Write([]byte("first half, ")); err != nil { // returns once Put has read it
				t.Fatal(err)
			}

			if len(tempFiles(t, s.Root())) == 0 {
				t.Fatal("no temporary file while the Put is under way; test assumptions broken")
			}
			got, err := store.ReadAll(ctx, s, key)
			switch {
			case tc.old == nil && !errors.Is(err, store.ErrNotExist):
				t.Errorf("during Put: Get = %q, %v; want ErrNotExist", got, err)
			case tc.old != nil && string(got) != string(tc.old):
				t.Errorf("during Put: Get = %q, %v; want the old object", got, err)
			}
			infos, err := s.List(ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, in := range infos {
				keys = append(keys, in.Key)
			}
			if want := []string{key}; tc.old == nil && len(keys) != 0 || tc.old != nil && !slices.Equal(keys, want) {
				t.Errorf("during Put: List = %q, want only complete objects", keys)
			}

			if _, err := pw.Write([]byte("second half")); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			if err := <-done; err != nil {
				t.Fatalf("Put: %v", err)
			}
			if got, err := store.ReadAll(ctx, s, key); err != nil || string(got) != "first half, second half" {
				t.Errorf("after Put: Get = %q, %v", got, err)
			}
			if left := tempFiles(t, s.Root()); len(left) != 0 {
				t.Errorf("temporary files left after Put: %q", left)
			}
		})
	}
}

// TestFileFailedPutLeavesNoTemp checks a Put that fails part-way removes its
// temporary file.
func TestFileFailedPutLeavesNoTemp(t *testing.T) {
	s := newFileStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "fail/obj", pr) }()
	if _, err := pw.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	pw.CloseWithError(errors.New("upstream broke"))
	if err := <-done; err == nil {
		t.Fatal("Put from a broken reader succeeded")
	}
	cancel()
	if left := tempFiles(t, s.Root()); len(left) != 0 {
		t.Errorf("temporary files left after a failed Put: %q", left)
	}
	if ok, err := store.Exists(context.Background(), s, "fail/obj"); ok || err != nil {
		t.Errorf("Exists after a failed Put = %v, %v; want false, nil", ok, err)
	}
}

// TestFileDirectoriesAreNotObjects pins the file backend's mapping of the
// directories it creates: they hold keys but are not objects themselves.
func TestFileDirectoriesAreNotObjects(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t)
	if err := store.PutBytes(ctx, s, "d/e/f", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "d/e"); err != nil {
		t.Fatalf("Delete of a directory key: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(s.Root(), "d", "e")); err != nil || !fi.IsDir() {
		t.Errorf("Delete of a directory key removed it: %v", err)
	}
	for _, key := range []string{"d", "d/e", "d/e/f/g"} {
		if ok, err := store.Exists(ctx, s, key); ok || err != nil {
			t.Errorf("Exists(%q) = %v, %v; want false, nil", key, ok, err)
		}
	}
}

// TestFilePutFile: a file from TempFile is invisible to List until PutFile makes it the
// object (replacing an older one) without leaving a temporary file; a file from
// elsewhere is stored too; a bad key fails and stores nothing.
func TestFilePutFile(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t)
	if err := store.PutBytes(ctx, s, "adopt/b.bin", []byte("older object")); err != nil {
		t.Fatal(err)
	}
	var fa store.FileAdopter = s
	tests := []struct {
		name string
		temp func() (*os.File, error)
		want string
	}{
		{"from TempFile", func() (*os.File, error) { return fa.TempFile("test-*") }, strings.Repeat("adopted bytes ", 100000)},
		{"empty", func() (*os.File, error) { return fa.TempFile("test-*") }, ""},
		{"from another directory", func() (*os.File, error) { return os.CreateTemp(t.TempDir(), "elsewhere-*") }, "from elsewhere"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.temp()
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(tc.want); err != nil {
				t.Fatal(err)
			}
			if keys := listKeys(t, s); !slices.Equal(keys, []string{"adopt/b.bin"}) {
				t.Fatalf("List before PutFile = %q: the temp file shows", keys)
			}
			if err := fa.PutFile(ctx, "adopt/b.bin", f); err != nil {
				t.Fatalf("PutFile: %v", err)
			}
			got, err := store.ReadAll(ctx, s, "adopt/b.bin")
			if err != nil || string(got) != tc.want {
				t.Fatalf("object = %d bytes (%v), want %d", len(got), err, len(tc.want))
			}
			if left := tempFiles(t, s.Root()); len(left) > 0 {
				t.Fatalf("temporary files left: %q", left)
			}
		})
	}
	f, err := fa.TempFile("test-*")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := fa.PutFile(ctx, "../escape", f); err == nil {
		t.Fatal("PutFile to an invalid key succeeded")
	}
	if keys := listKeys(t, s); !slices.Equal(keys, []string{"adopt/b.bin"}) {
		t.Fatalf("List after a failed PutFile = %q", keys)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Root()), "escape")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a file escaped the root: %v", err)
	}
}

func listKeys(t *testing.T, s store.Store) []string {
	t.Helper()
	infos, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, in := range infos {
		keys = append(keys, in.Key)
	}
	return keys
}

// TestFileStoreSweepsStaleTempFiles: opening a file store removes the TempFile files a
// crashed writer left in its root more than a day ago, and nothing else: not a
// recent one (a writer may be at work), not an object, not a temp file below the root.
func TestFileStoreSweepsStaleTempFiles(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t)
	if err := store.PutBytes(ctx, s, "restricted/w/ics/contacts.parquet", []byte("object")); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-25 * time.Hour)
	files := map[string]bool{ // path under the root → should survive
		".tmp-ice-intake-1.parquet":         false,
		".tmp-ice-intake-2.parquet":         true, // recent
		"restricted/w/ics/.tmp-contacts-9":  true, // Put's own, below the root
		"restricted/w/ics/contacts.parquet": true,
		".tmp-ice-intake-report-3.csv":      false,
	}
	for p, keep := range files {
		full := filepath.Join(s.Root(), filepath.FromSlash(p))
		if p != "restricted/w/ics/contacts.parquet" {
			if err := os.WriteFile(full, []byte("left over"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if !keep || strings.HasPrefix(p, "restricted/w/ics/.tmp-") {
			if err := os.Chtimes(full, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := store.NewFileStore(s.Root()); err != nil {
		t.Fatal(err)
	}
	for p, keep := range files {
		_, err := os.Stat(filepath.Join(s.Root(), filepath.FromSlash(p)))
		if exists := err == nil; exists != keep {
			t.Errorf("%s: exists %v after the sweep, want %v", p, exists, keep)
		}
	}
}

// A file store does not follow a symbolic link: a link dropped in its directory (a
// landing area a supplier writes to, say) would otherwise make a load read any file
// the worker can, outside the store. Get and Stat refuse it, naming the key; a link
// inside the store is refused too, as the store cannot tell where it leads.
func TestFileStoreRefusesSymlinks(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	st, err := store.NewFileStore(root)
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("outside the store"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.PutBytes(ctx, st, "landing/real.csv", []byte("inside")); err != nil {
		t.Fatal(err)
	}
	for key, target := range map[string]string{"landing/sample.csv": outside, "landing/alias.csv": filepath.Join(root, "landing", "real.csv")} {
		if err := os.Symlink(target, filepath.Join(root, filepath.FromSlash(key))); err != nil {
			t.Fatal(err)
		}
		if b, err := store.ReadAll(ctx, st, key); err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("Get %s (a link to %s) = %q, %v; want an error naming the key and the link", key, target, b, err)
		}
		if _, err := st.Stat(ctx, key); err == nil || !strings.Contains(err.Error(), "symbolic link") {
			t.Errorf("Stat %s (a link) = %v; want an error", key, err)
		}
	}
	if b, err := store.ReadAll(ctx, st, "landing/real.csv"); err != nil || string(b) != "inside" {
		t.Errorf("the file itself: %q, %v", b, err)
	}
}
