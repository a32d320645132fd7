package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// FileStore keeps objects as files under a root directory. Writes go to a temporary
// file in the same directory and are renamed into place, so they are atomic.
type FileStore struct {
	root string
}

// NewFileStore opens (creating if needed) a file store rooted at dir.
func NewFileStore(dir string) (*FileStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: resolve %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("store: create root %s: %w", abs, err)
	}
	s := &FileStore{root: abs}
	s.sweepTemp(time.Now().Add(-staleTemp))
	return s, nil
}

// staleTemp is the age after which a TempFile left in the root is taken for the
// leftover of a crashed writer: no intake runs for a day.
const staleTemp = 24 * time.Hour

// sweepTemp removes the root's TempFile files last written before cutoff. They may
// hold restricted data (a contacts file being built) and, being in the store rather
// than the system's temporary directory, would otherwise outlive a crash for good.
// It is best effort: a file it cannot remove is left for the next sweep.
func (s *FileStore) sweepTemp(cutoff time.Time) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		if fi, err := e.Info(); err == nil && fi.ModTime().Before(cutoff) {
			_ = os.Remove(filepath.Join(s.root, e.Name()))
		}
	}
}

// Root is the directory the store keeps its objects in.
func (s *FileStore) Root() string { return s.root }

// URL implements Store.
func (s *FileStore) URL() string { return "file://" + s.root }

func (s *FileStore) path(key string) (string, error) {
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

// Put implements Store.
func (s *FileStore) Put(ctx context.Context, key string, r io.Reader) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-"+filepath.Base(p)+"-*")
	if err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := io.Copy(tmp, readerWithContext(ctx, r)); err != nil {
		tmp.Close()
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("store: put %s: sync: %w", key, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	return nil
}

// TempFile implements FileAdopter: the file is created in the store's root, so
// PutFile can rename it into place, and its name starts with ".tmp-", which List
// never shows.
func (s *FileStore) TempFile(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(s.root, ".tmp-"+pattern)
	if err != nil {
		return nil, fmt.Errorf("store: temp file: %w", err)
	}
	return f, nil
}

// PutFile implements FileAdopter: f is synced and renamed to key. A file that cannot
// be renamed there (one on another filesystem) is copied with Put and left in place.
func (s *FileStore) PutFile(ctx context.Context, key string, f *os.File) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: put %s: sync: %w", key, err)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	err = os.Rename(f.Name(), p)
	if errors.Is(err, syscall.EXDEV) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("store: put %s: rewind %s: %w", key, f.Name(), err)
		}
		return s.Put(ctx, key, f)
	}
	if err != nil {
		return fmt.Errorf("store: put %s: %w", key, err)
	}
	return nil
}

// Get implements Store.
func (s *FileStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := notALink(key, p); err != nil {
		return nil, fmt.Errorf("store: get %s: %w", key, err)
	}
	f, err := os.Open(p)
	if notExist(err) {
		return nil, fmt.Errorf("store: get %s: %w", key, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s: %w", key, err)
	}
	// A directory holds keys under it; it is no object.
	if fi, err := f.Stat(); err != nil || fi.IsDir() {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("store: get %s: %w", key, err)
		}
		return nil, fmt.Errorf("store: get %s: %w", key, ErrNotExist)
	}
	return f, nil
}

// Stat implements Store.
func (s *FileStore) Stat(ctx context.Context, key string) (Info, error) {
	p, err := s.path(key)
	if err != nil {
		return Info{}, err
	}
	if err := notALink(key, p); err != nil {
		return Info{}, fmt.Errorf("store: stat %s: %w", key, err)
	}
	fi, err := os.Stat(p)
	if notExist(err) || (err == nil && fi.IsDir()) {
		return Info{}, fmt.Errorf("store: stat %s: %w", key, ErrNotExist)
	}
	if err != nil {
		return Info{}, fmt.Errorf("store: stat %s: %w", key, err)
	}
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// List implements Store.
func (s *FileStore) List(ctx context.Context, prefix string) ([]Info, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	// Walk only the deepest directory the prefix names, not the whole store.
	dir := s.root
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = filepath.Join(s.root, filepath.FromSlash(prefix[:i]))
	}
	var out []Info
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		out = append(out, Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: list %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete implements Store.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	// A directory holds keys under it; it is no object, so there is nothing to delete.
	if fi, err := os.Lstat(p); notExist(err) || (err == nil && fi.IsDir()) {
		return nil
	}
	if err := os.Remove(p); err != nil && !notExist(err) {
		return fmt.Errorf("store: delete %s: %w", key, err)
	}
	return nil
}

// notExist reports whether err means there is no file at a path, including when
// a parent in the path is a file (ENOTDIR): the key "a/b/c" names no object when
// "a/b" is one.
func notExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

func readerWithContext(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

// notALink refuses an object that is a symbolic link: the store holds files, and a link
// (one dropped in a landing directory, say) could lead a load to any file the process
// can read, outside the store. Put and Delete replace or remove the link itself.
func notALink(key, p string) error {
	if fi, err := os.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link, which a file store does not follow (it could lead outside the store): put the file itself there", key)
	}
	return nil
}
