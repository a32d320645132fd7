// Package store is the object store every stage reads from and writes to: the lake,
// the landing area, the restricted mailing area and the audit trail all live in one.
//
// Two backends sit behind one interface: file://DIR (the embedded default) and
// s3://bucket/prefix (aws-sdk-go-v2, for AWS or any S3-compatible server). Keys are
// slash-separated paths; a Put is atomic, so a reader sees a whole object or none,
// which is what makes a retried activity safe to write the same key again.
package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// ErrNotExist is returned (wrapped) when a key has no object.
var ErrNotExist = errors.New("object does not exist")

// Info describes one stored object.
type Info struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// FileAdopter is implemented by a store that keeps its objects as local files. A
// writer of a large object can build it in a file from TempFile and hand it over with
// PutFile, which moves the file into place rather than copying it: the data is written
// once, and its writeback to disk can start while the rest is still being written.
type FileAdopter interface {
	// TempFile creates a new, empty file on the store's own filesystem, under a name
	// no key or List ever shows. The caller removes it if it is never put.
	TempFile(pattern string) (*os.File, error)
	// PutFile makes the whole of f the object at key, atomically and durably, as Put
	// would. On success f's name may no longer exist: the caller closes f and
	// removes nothing.
	PutFile(ctx context.Context, key string, f *os.File) error
}

// Store is an object store. Implementations are safe for concurrent use.
type Store interface {
	// Put writes the whole of r to key, replacing any object there. The object
	// becomes visible only once complete.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens the object at key. The error wraps ErrNotExist when there is none.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat describes the object at key, wrapping ErrNotExist when there is none.
	Stat(ctx context.Context, key string) (Info, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)
	// Delete removes the object at key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// URL names the store, without credentials, for logs and the audit trail.
	URL() string
}

// Open returns the store named by rawURL: file:///abs/dir, file://rel/dir, a bare
// directory path, or s3://bucket/prefix (configured by S3Options from the environment).
// A file store's directory is created if there is none: a writer starts the store.
func Open(ctx context.Context, rawURL string) (Store, error) {
	return open(ctx, rawURL, NewFileStore)
}

// OpenExisting is Open for a reader: a file store's directory must exist already, and
// nothing in it is created or removed. A mistyped --store would otherwise be created
// empty, and a reader would report "nothing" for it as if that were the answer. (An
// s3:// store is opened as Open does; an empty prefix there is for the caller to see.)
func OpenExisting(ctx context.Context, rawURL string) (Store, error) {
	return open(ctx, rawURL, existingFileStore)
}

func existingFileStore(dir string) (*FileStore, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: resolve %q: %w", dir, err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store: file://%s does not exist: is the store (--store, ICE_STORE) right?", abs)
	case err != nil:
		return nil, fmt.Errorf("store: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("store: file://%s is not a directory: is the store (--store, ICE_STORE) right?", abs)
	}
	return &FileStore{root: abs}, nil
}

func open(ctx context.Context, rawURL string, newFileStore func(string) (*FileStore, error)) (Store, error) {
	fileStore := func(dir string) (Store, error) {
		s, err := newFileStore(dir)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	if !strings.Contains(rawURL, "://") {
		return fileStore(rawURL)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse %q: %w", rawURL, err)
	}
	switch u.Scheme {
	case "file":
		return fileStore(u.Host + u.Path)
	case "s3":
		opts := S3OptionsFromEnv()
		opts.Bucket = u.Host
		opts.Prefix = strings.TrimPrefix(u.Path, "/")
		return NewS3Store(ctx, opts)
	default:
		return nil, fmt.Errorf("store: unsupported scheme %q in %q (want file:// or s3://)", u.Scheme, rawURL)
	}
}

// ValidateKey refuses keys that could escape the store's root or name a directory.
func ValidateKey(key string) error {
	if key == "" || key == "." || strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") {
		return fmt.Errorf("store: invalid key %q", key)
	}
	if path.Clean(key) != key || strings.Contains(key, "..") || strings.Contains(key, "\\") {
		return fmt.Errorf("store: invalid key %q", key)
	}
	return nil
}

// validatePrefix refuses List prefixes that could reach outside the store's root:
// the part up to the last "/" must be empty or a valid key. The rest may be any
// partial segment, so "a/b" matches "a/b/x" and "a/bc/x".
func validatePrefix(prefix string) error {
	dir := ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		dir = prefix[:i+1]
	}
	if strings.Contains(prefix, "\\") || (dir != "" && ValidateKey(strings.TrimSuffix(dir, "/")) != nil) {
		return fmt.Errorf("store: invalid prefix %q", prefix)
	}
	return nil
}

// PutBytes writes b to key.
func PutBytes(ctx context.Context, s Store, key string, b []byte) error {
	return s.Put(ctx, key, bytes.NewReader(b))
}

// ReadAll reads the whole object at key.
func ReadAll(ctx context.Context, s Store, key string) ([]byte, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// A local file says its size, so a large object is read into one buffer rather
	// than one that doubles, and is copied, as it fills.
	if f, ok := rc.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
			var buf bytes.Buffer
			buf.Grow(int(fi.Size()) + bytes.MinRead)
			if _, err := buf.ReadFrom(f); err != nil {
				return nil, fmt.Errorf("store: read %s: %w", key, err)
			}
			return buf.Bytes(), nil
		}
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("store: read %s: %w", key, err)
	}
	return b, nil
}

// Exists reports whether key has an object.
func Exists(ctx context.Context, s Store, key string) (bool, error) {
	_, err := s.Stat(ctx, key)
	if errors.Is(err, ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// SHA256 streams the object at key and returns its hex digest and size.
func SHA256(ctx context.Context, s Store, key string) (string, int64, error) {
	rc, err := s.Get(ctx, key)
	if err != nil {
		return "", 0, err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return "", 0, fmt.Errorf("store: hash %s: %w", key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}
