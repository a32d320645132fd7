// Package storetest is the conformance suite for store.Store implementations.
// Every backend runs the same suite, so code written against the interface
// behaves the same on file:// and s3:// stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return newEmptyStore(t) })
//	}
//
// newStore is called once per subtest and must return an empty store that no
// other subtest uses. The suite checks the contract documented on store.Store:
// round trips of empty and multi-megabyte objects from seekable and streaming
// readers, overwrites, ErrNotExist from Get and Stat, List by prefix (including
// partial segments) in key order, idempotent Delete, refusal of invalid keys and
// prefixes, context cancellation, atomicity of failed and concurrent Puts.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"icesurvey/store"
)

// Run runs the conformance suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"NotExist", testNotExist},
		{"Stat", testStat},
		{"List", testList},
		{"ListInvalidPrefix", testListInvalidPrefix},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"ContextCancellation", testContextCancellation},
		{"FailedPutKeepsOldObject", testFailedPut},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ConcurrentPutsSameKey", testConcurrentPutsSameKey},
		{"URL", testURL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned nil")
			}
			tc.fn(t, s)
		})
	}
}

// data returns n deterministic pseudo-random bytes; seed tells payloads apart.
func data(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// streamReader hides every method but Read, so backends cannot seek it or ask
// its length: it stands for a pipe or a network body.
type streamReader struct{ r io.Reader }

func (s streamReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// readerKinds are the ways a payload reaches Put.
var readerKinds = []struct {
	name string
	// reader returns a reader whose remaining content is b.
	reader func(b []byte) io.Reader
}{
	{"seek", func(b []byte) io.Reader { return bytes.NewReader(b) }},
	{"stream", func(b []byte) io.Reader { return streamReader{bytes.NewReader(b)} }},
	{"offset", func(b []byte) io.Reader {
		// A seeker already advanced past a header: only the rest is the object.
		r := bytes.NewReader(append([]byte("skipped header\n"), b...))
		if _, err := r.Seek(int64(len("skipped header\n")), io.SeekStart); err != nil {
			panic(err)
		}
		return r
	}},
}

func mustPut(t *testing.T, s store.Store, key string, b []byte) {
	t.Helper()
	if err := store.PutBytes(context.Background(), s, key, b); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func mustRead(t *testing.T, s store.Store, key string) []byte {
	t.Helper()
	b, err := store.ReadAll(context.Background(), s, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return b
}

func checkContent(t *testing.T, s store.Store, key string, want []byte) {
	t.Helper()
	got := mustRead(t, s, key)
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %d bytes %s, want %d bytes %s", key, len(got), preview(got), len(want), preview(want))
	}
}

func preview(b []byte) string {
	if len(b) > 16 {
		return fmt.Sprintf("%q...", b[:16])
	}
	return fmt.Sprintf("%q", b)
}

func checkNotExist(t *testing.T, s store.Store, key string) {
	t.Helper()
	ctx := context.Background()
	if rc, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotExist) {
		if err == nil {
			rc.Close()
		}
		t.Errorf("Get(%q) error = %v, want ErrNotExist", key, err)
	}
	if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("Stat(%q) error = %v, want ErrNotExist", key, err)
	}
}

func listKeys(t *testing.T, s store.Store, prefix string) []string {
	t.Helper()
	infos, err := s.List(context.Background(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	keys := make([]string, 0, len(infos))
	for _, in := range infos {
		keys = append(keys, in.Key)
	}
	return keys
}

func testRoundTrip(t *testing.T, s store.Store) {
	payloads := []struct {
		name string
		key  string
		data []byte
	}{
		{"empty", "rt/empty", nil},
		{"small", "rt/small.txt", []byte("hello, lake\n")},
		{"one-byte", "rt/one", []byte{0}},
		{"multi-MB", "rt/deep/nested/big.bin", data(5<<20+1, 1)},
		{"hive-partition-key", "rt/year=2024/month=01/part-0.parquet", data(1000, 2)},
		{"space-and-unicode-key", "rt/dir with space/ünïcødé ñame+plus&amp.csv", data(300, 3)},
		{"dotfile-key", "rt/.hidden", []byte("dot")},
	}
	for _, p := range payloads {
		for _, rk := range readerKinds {
			t.Run(p.name+"/"+rk.name, func(t *testing.T) {
				key := p.key + "." + rk.name
				if err := s.Put(context.Background(), key, rk.reader(p.data)); err != nil {
					t.Fatalf("Put(%q): %v", key, err)
				}
				checkContent(t, s, key, p.data)
				info, err := s.Stat(context.Background(), key)
				if err != nil {
					t.Fatalf("Stat(%q): %v", key, err)
				}
				if info.Size != int64(len(p.data)) {
					t.Errorf("Stat(%q).Size = %d, want %d", key, info.Size, len(p.data))
				}
				if got := listKeys(t, s, key); !slices.Equal(got, []string{key}) {
					t.Errorf("List(%q) = %q, want just the key", key, got)
				}
			})
		}
	}

	t.Run("partial-read-then-close", func(t *testing.T) {
		mustPut(t, s, "rt/partial", data(1<<20, 4))
		rc, err := s.Get(context.Background(), "rt/partial")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("read: %v", err)
		}
		if err := rc.Close(); err != nil {
			t.Fatalf("Close after a partial read: %v", err)
		}
	})
}

func testOverwrite(t *testing.T, s store.Store) {
	steps := []struct {
		name string
		data []byte
	}{
		{"first", data(70_000, 10)},
		{"shorter", []byte("short")},
		{"longer", data(200_000, 11)},
		{"empty", nil},
		{"again", []byte("final")},
	}
	for _, st := range steps {
		mustPut(t, s, "ow/key", st.data)
		checkContent(t, s, "ow/key", st.data)
		info, err := s.Stat(context.Background(), "ow/key")
		if err != nil {
			t.Fatalf("%s: Stat: %v", st.name, err)
		}
		if info.Size != int64(len(st.data)) {
			t.Errorf("%s: Stat.Size = %d, want %d", st.name, info.Size, len(st.data))
		}
	}
	if got := listKeys(t, s, ""); !slices.Equal(got, []string{"ow/key"}) {
		t.Errorf("List after overwrites = %q, want one key", got)
	}
}

func testNotExist(t *testing.T, s store.Store) {
	mustPut(t, s, "ne/dir/object", []byte("x"))
	for _, key := range []string{
		"missing",
		"ne/missing",
		"ne/dir",              // a "directory": a prefix of keys, not an object
		"ne/dir/obj",          // a partial key
		"ne/dir/object2",      // a longer key
		"ne/dir/object/child", // under an object
		"no/such/deep/key",
	} {
		checkNotExist(t, s, key)
	}
	// The error names the key, so logs say what was missing.
	_, err := s.Stat(context.Background(), "ne/missing")
	if err == nil || !strings.Contains(err.Error(), "ne/missing") {
		t.Errorf("Stat error %q does not name the key", err)
	}
}

func testStat(t *testing.T, s store.Store) {
	sizes := []int{0, 1, 4096, 1<<20 + 3}
	for i, n := range sizes {
		key := fmt.Sprintf("st/%d", n)
		mustPut(t, s, key, data(n, uint64(20+i)))
		info, err := s.Stat(context.Background(), key)
		if err != nil {
			t.Fatalf("Stat(%q): %v", key, err)
		}
		if info.Key != key || info.Size != int64(n) || info.ModTime.IsZero() {
			t.Errorf("Stat(%q) = %+v, want key %q, size %d, a modification time", key, info, key, n)
		}
	}
}

func testList(t *testing.T, s store.Store) {
	objects := map[string][]byte{
		"a/b/1":       []byte("1"),
		"a/b/2/deep":  []byte("22"),
		"a/bc/x":      []byte("333"),
		"a/c":         []byte("4444"),
		"ab":          []byte("55555"),
		"b/z":         nil,
		"s/a-b":       []byte("x"), // '-' < '/' < '0' in byte order: a directory walk
		"s/a/b":       []byte("y"), // visiting "a" before "a-b" would get this wrong
		"s/a0":        []byte("z"),
		"y=2024/m=01": []byte("partition"),
	}
	for k, v := range objects {
		mustPut(t, s, k, v)
	}
	cases := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a/b/1", "a/b/2/deep", "a/bc/x", "a/c", "ab", "b/z", "s/a-b", "s/a/b", "s/a0", "y=2024/m=01"}},
		{"a", []string{"a/b/1", "a/b/2/deep", "a/bc/x", "a/c", "ab"}},
		{"a/", []string{"a/b/1", "a/b/2/deep", "a/bc/x", "a/c"}},
		{"a/b", []string{"a/b/1", "a/b/2/deep", "a/bc/x"}}, // partial segment
		{"a/b/", []string{"a/b/1", "a/b/2/deep"}},
		{"a/b/2", []string{"a/b/2/deep"}},
		{"a/b/2/deep", []string{"a/b/2/deep"}}, // a whole key
		{"a/c", []string{"a/c"}},
		{"ab", []string{"ab"}},
		{"s/", []string{"s/a-b", "s/a/b", "s/a0"}},
		{"s/a", []string{"s/a-b", "s/a/b", "s/a0"}},
		{"y=2024/", []string{"y=2024/m=01"}},
		{"zzz", nil},
		{"nope/", nil},
		{"a/b/2/deep/", nil},
		{"a/d", nil},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("prefix=%q", tc.prefix), func(t *testing.T) {
			infos, err := s.List(context.Background(), tc.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.prefix, err)
			}
			var got []string
			for _, in := range infos {
				got = append(got, in.Key)
				if want := int64(len(objects[in.Key])); in.Size != want {
					t.Errorf("List(%q): %s size %d, want %d", tc.prefix, in.Key, in.Size, want)
				}
				if in.ModTime.IsZero() {
					t.Errorf("List(%q): %s has no modification time", tc.prefix, in.Key)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
			if !slices.IsSorted(got) {
				t.Errorf("List(%q) not sorted: %q", tc.prefix, got)
			}
		})
	}
}

func testListInvalidPrefix(t *testing.T, s store.Store) {
	mustPut(t, s, "x/y", []byte("y"))
	for _, prefix := range []string{"../", "../x", "/", "/x", "a//b", "x/../", "./x/", `x\y`} {
		infos, err := s.List(context.Background(), prefix)
		if err == nil {
			t.Errorf("List(%q) = %d objects, want an invalid-prefix error", prefix, len(infos))
		} else if errors.Is(err, store.ErrNotExist) {
			t.Errorf("List(%q) error %v wraps ErrNotExist, want an invalid-prefix error", prefix, err)
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	mustPut(t, s, "del/a", []byte("a"))
	mustPut(t, s, "del/ab", []byte("ab"))
	mustPut(t, s, "del/sub/c", []byte("c"))

	steps := []struct {
		key  string
		left []string // every key left afterwards
	}{
		{"del/a", []string{"del/ab", "del/sub/c"}},
		{"del/a", []string{"del/ab", "del/sub/c"}},              // again: idempotent
		{"del/never", []string{"del/ab", "del/sub/c"}},          // never existed
		{"del/sub", []string{"del/ab", "del/sub/c"}},            // a "directory" is no object
		{"del/ab/under", []string{"del/ab", "del/sub/c"}},       // under an object
		{"no/such/dir/at/all", []string{"del/ab", "del/sub/c"}}, // under nothing at all
		{"del/sub/c", []string{"del/ab"}},                       // the last object under a prefix
		{"del/sub/c", []string{"del/ab"}},                       // again, deep
		{"del/sub", []string{"del/ab"}},                         // its emptied "directory"
		{"del/ab", nil},                                         // the store is empty
		{"del/ab", nil},                                         // again, on an empty store
	}
	for _, st := range steps {
		if err := s.Delete(ctx, st.key); err != nil {
			t.Fatalf("Delete(%q): %v", st.key, err)
		}
		checkNotExist(t, s, st.key)
		if got := listKeys(t, s, ""); !slices.Equal(got, st.left) {
			t.Fatalf("after Delete(%q): List = %q, want %q", st.key, got, st.left)
		}
	}
	// The key can be written again after a delete.
	mustPut(t, s, "del/a", []byte("again"))
	checkContent(t, s, "del/a", []byte("again"))
}

func testInvalidKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	keys := []string{"", "../x", "..", "a/../b", "a/..", "/abs", "/", "a//b", "trailing/", "./a", "a/./b", ".", `back\slash`}
	for _, key := range keys {
		t.Run(fmt.Sprintf("%q", key), func(t *testing.T) {
			ops := []struct {
				op  string
				err error
			}{
				{"Put", s.Put(ctx, key, strings.NewReader("nope"))},
				{"Get", func() error {
					rc, err := s.Get(ctx, key)
					if err == nil {
						rc.Close()
					}
					return err
				}()},
				{"Stat", func() error { _, err := s.Stat(ctx, key); return err }()},
				{"Delete", s.Delete(ctx, key)},
			}
			for _, o := range ops {
				if o.err == nil {
					t.Errorf("%s(%q) succeeded, want an invalid-key error", o.op, key)
				} else if errors.Is(o.err, store.ErrNotExist) {
					t.Errorf("%s(%q) error %v wraps ErrNotExist, want an invalid-key error", o.op, key, o.err)
				}
			}
		})
	}
	if got := listKeys(t, s, ""); len(got) != 0 {
		t.Errorf("invalid keys left objects behind: %q", got)
	}
}

// cancelingReader cancels its context once it has handed out after bytes, then
// keeps reading: the backend must notice the context, not an error from the reader.
type cancelingReader struct {
	r      *bytes.Reader
	after  int64
	read   int64
	cancel context.CancelFunc
}

func (c *cancelingReader) Read(p []byte) (int, error) {
	if len(p) > 32<<10 {
		p = p[:32<<10]
	}
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read >= c.after {
		c.cancel()
	}
	return n, err
}

// cancelingSeeker is a cancelingReader that can also seek, so backends send it
// without spooling.
type cancelingSeeker struct{ *cancelingReader }

func (c cancelingSeeker) Seek(off int64, whence int) (int64, error) { return c.r.Seek(off, whence) }

func testContextCancellation(t *testing.T, s store.Store) {
	old := []byte("the old object")
	mustPut(t, s, "cc/existing", old)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	puts := []struct {
		name string
		ctx  func() (context.Context, io.Reader)
	}{
		{"canceled-before/seekable", func() (context.Context, io.Reader) {
			return canceled, bytes.NewReader(data(1000, 30))
		}},
		{"canceled-before/stream", func() (context.Context, io.Reader) {
			return canceled, streamReader{bytes.NewReader(data(1000, 31))}
		}},
		{"canceled-before/empty", func() (context.Context, io.Reader) {
			return canceled, bytes.NewReader(nil)
		}},
		{"canceled-midway/stream", func() (context.Context, io.Reader) {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			return ctx, &cancelingReader{r: bytes.NewReader(data(3<<20, 32)), after: 1 << 20, cancel: cancel}
		}},
		{"canceled-midway/seekable", func() (context.Context, io.Reader) {
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			return ctx, cancelingSeeker{&cancelingReader{r: bytes.NewReader(data(3<<20, 33)), after: 1 << 20, cancel: cancel}}
		}},
	}
	for _, p := range puts {
		t.Run("Put/"+p.name, func(t *testing.T) {
			for _, key := range []string{"cc/existing", "cc/new"} {
				ctx, r := p.ctx()
				err := s.Put(ctx, key, r)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Put(%q) with a canceled context: error %v, want context.Canceled", key, err)
				}
			}
			checkContent(t, s, "cc/existing", old)
			checkNotExist(t, s, "cc/new")
		})
	}

	t.Run("List", func(t *testing.T) {
		if _, err := s.List(canceled, ""); !errors.Is(err, context.Canceled) {
			t.Errorf("List with a canceled context: error %v, want context.Canceled", err)
		}
	})

	// A backend may serve Get, Stat and Delete without looking at the context
	// (local files are quick), but if it fails it must say why: a canceled call
	// must never claim the object is missing.
	t.Run("Get-Stat-Delete", func(t *testing.T) {
		rc, err := s.Get(canceled, "cc/existing")
		if err == nil {
			rc.Close()
		} else if !errors.Is(err, context.Canceled) {
			t.Errorf("Get with a canceled context: error %v, want nil or context.Canceled", err)
		}
		if _, err := s.Stat(canceled, "cc/existing"); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Stat with a canceled context: error %v, want nil or context.Canceled", err)
		}
		if err := s.Delete(canceled, "cc/existing"); err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Delete with a canceled context: error %v, want nil or context.Canceled", err)
			}
			checkContent(t, s, "cc/existing", old)
		}
	})
}

// failingReader returns err after handing out n bytes.
type failingReader struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

func testFailedPut(t *testing.T, s store.Store) {
	old := data(10_000, 40)
	mustPut(t, s, "fp/key", old)
	errBoom := errors.New("reader broke")
	for _, after := range []int{0, 100, 2 << 20} {
		for _, key := range []string{"fp/key", "fp/new"} {
			r := &failingReader{r: bytes.NewReader(data(4<<20, 41)), n: after, err: errBoom}
			if err := s.Put(context.Background(), key, r); !errors.Is(err, errBoom) {
				t.Fatalf("Put(%q) from a reader failing after %d bytes: error %v, want the reader's error", key, after, err)
			}
		}
		checkContent(t, s, "fp/key", old)
		checkNotExist(t, s, "fp/new")
	}
	if got := listKeys(t, s, ""); !slices.Equal(got, []string{"fp/key"}) {
		t.Errorf("List after failed puts = %q, want only the old object", got)
	}
}

func testConcurrentPuts(t *testing.T, s store.Store) {
	const n = 16
	want := make(map[string][]byte, n)
	for i := range n {
		want[fmt.Sprintf("cp/%02d/obj", i)] = data(64<<10+i, uint64(50+i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for k, v := range want {
		wg.Go(func() {
			// Alternate reader kinds so both Put paths run concurrently.
			var r io.Reader = bytes.NewReader(v)
			if len(v)%2 == 1 {
				r = streamReader{r}
			}
			if err := s.Put(context.Background(), k, r); err != nil {
				errs <- fmt.Errorf("Put(%q): %w", k, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for k, v := range want {
		checkContent(t, s, k, v)
	}
	if got := listKeys(t, s, "cp/"); len(got) != n {
		t.Errorf("List(cp/) = %d keys, want %d: %q", len(got), n, got)
	}
}

func testConcurrentPutsSameKey(t *testing.T, s store.Store) {
	const n = 8
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i] = data(256<<10, uint64(70+i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, p := range payloads {
		wg.Go(func() {
			if err := store.PutBytes(context.Background(), s, "same/key", p); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Put: %v", err)
	}
	got := mustRead(t, s, "same/key")
	if !slices.ContainsFunc(payloads, func(p []byte) bool { return bytes.Equal(p, got) }) {
		t.Errorf("after concurrent Puts the object (%d bytes %s) is none of the payloads written", len(got), preview(got))
	}
	if got := listKeys(t, s, ""); !slices.Equal(got, []string{"same/key"}) {
		t.Errorf("List after concurrent Puts = %q, want one key", got)
	}
}

func testURL(t *testing.T, s store.Store) {
	u := s.URL()
	if !strings.Contains(u, "://") {
		t.Errorf("URL() = %q, want scheme://...", u)
	}
	if s.URL() != u {
		t.Errorf("URL() is not stable")
	}
}
