package access

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Source gives the access policy as it stands now. A server that runs for weeks asks
// it at each request, so a grant taken out of the file is refused from that moment.
type Source interface {
	Current() (*Policy, error)
}

// Current is p itself: a policy loaded once (a test, a tool that runs once) is its
// own source.
func (p *Policy) Current() (*Policy, error) { return p, nil }

// File is the access file at a path, read again at every Current (it is small) and
// parsed again whenever its content changed, as FileGate reads it for the workers.
// A file that cannot be read or no longer validates is an error: the caller refuses
// everyone until it is put right, as FileGate does; it never falls back on the
// policy it read before.
type File struct {
	path string

	mu  sync.Mutex
	sum [sha256.Size]byte
	p   *Policy
}

// OpenFile reads the access file at path; the error is the file's problems, as Load's.
func OpenFile(path string) (*File, error) {
	f := &File{path: path}
	if _, err := f.Current(); err != nil {
		return nil, err
	}
	return f, nil
}

// Current is the policy the file holds now.
func (f *File) Current() (*Policy, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("access: reading the access file: %w", err)
	}
	sum := sha256.Sum256(data)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p != nil && sum == f.sum {
		return f.p, nil
	}
	p, err := Parse(filepath.Base(f.path), data)
	if err != nil {
		return nil, err
	}
	f.p, f.sum = p, sum
	return p, nil
}
