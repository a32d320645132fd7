package store_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"icesurvey/store"
)

func TestValidateKey(t *testing.T) {
	cases := []struct {
		key string
		ok  bool
	}{
		{"a", true},
		{"a/b/c.parquet", true},
		{"year=2024/month=01/part-0.parquet", true},
		{".hidden", true},
		{"a/.hidden", true},
		{"with space/ünïcødé", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../x", false},
		{"a/../b", false},
		{"a/..", false},
		{"./a", false},
		{"a/./b", false},
		{"a/.", false},
		{"/abs", false},
		{"/", false},
		{"a//b", false},
		{"trailing/", false},
		{`back\slash`, false},
		{"a..b", false}, // refused outright rather than reasoned about
	}
	for _, tc := range cases {
		err := store.ValidateKey(tc.key)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateKey(%q) = %v, want ok=%v", tc.key, err, tc.ok)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)                                      // for the relative forms
	t.Setenv("ICE_S3_ENDPOINT", "http://127.0.0.1:1") // never contacted: Open sends no request
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")

	cases := []struct {
		url     string
		wantURL string // "" when Open must fail
	}{
		{filepath.Join(dir, "bare"), "file://" + filepath.Join(dir, "bare")},
		{"rel/bare", "file://" + filepath.Join(dir, "rel", "bare")},
		{"file://" + filepath.Join(dir, "abs"), "file://" + filepath.Join(dir, "abs")},
		{"file://rel/dir", "file://" + filepath.Join(dir, "rel", "dir")},
		{"s3://bucket", "s3://bucket"},
		{"s3://bucket/", "s3://bucket"},
		{"s3://bucket/lake/v1", "s3://bucket/lake/v1"},
		{"s3://bucket/lake/v1/", "s3://bucket/lake/v1"},
		{"s3:///no-bucket", ""},
		{"s3://bucket/a//b", ""},
		{"s3://bucket/../up", ""},
		{"gs://bucket/x", ""},
		{"http://host/x", ""},
		{"%zz://x", ""},
	}
	for _, tc := range cases {
		s, err := store.Open(ctx, tc.url)
		switch {
		case tc.wantURL == "" && err == nil:
			t.Errorf("Open(%q) = %s, want an error", tc.url, s.URL())
		case tc.wantURL != "" && err != nil:
			t.Errorf("Open(%q): %v", tc.url, err)
		case tc.wantURL != "" && s.URL() != tc.wantURL:
			t.Errorf("Open(%q).URL() = %q, want %q", tc.url, s.URL(), tc.wantURL)
		}
	}
	for _, rel := range []string{"rel/bare", "rel/dir"} {
		if fi, err := os.Stat(filepath.Join(dir, rel)); err != nil || !fi.IsDir() {
			t.Errorf("Open did not create %s: %v", rel, err)
		}
	}
}

func TestOpenS3BadEnv(t *testing.T) {
	cases := []struct{ name, key, value string }{
		{"sse", "ICE_S3_SSE", "rot13"},
		{"kms-without-sse", "ICE_S3_KMS_KEY_ID", "arn:aws:kms:eu-west-2:1:key/x"},
		{"endpoint", "ICE_S3_ENDPOINT", "127.0.0.1:9000"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.key, tc.value)
			if s, err := store.Open(context.Background(), "s3://bucket/p"); err == nil {
				t.Errorf("Open with %s=%q = %s, want an error", tc.key, tc.value, s.URL())
			}
		})
	}
}

func TestHelpers(t *testing.T) {
	ctx := context.Background()
	s := newFileStore(t)
	payload := []byte("survey,responses\n1,2\n")
	if err := store.PutBytes(ctx, s, "h/obj.csv", payload); err != nil {
		t.Fatal(err)
	}

	got, err := store.ReadAll(ctx, s, "h/obj.csv")
	if err != nil || string(got) != string(payload) {
		t.Errorf("ReadAll = %q, %v", got, err)
	}
	if _, err := store.ReadAll(ctx, s, "h/missing"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("ReadAll(missing) error = %v, want ErrNotExist", err)
	}

	exists := []struct {
		key     string
		want    bool
		wantErr bool
	}{
		{"h/obj.csv", true, false},
		{"h/missing", false, false},
		{"h", false, false},
		{"../escape", false, true},
	}
	for _, tc := range exists {
		ok, err := store.Exists(ctx, s, tc.key)
		if ok != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("Exists(%q) = %v, %v; want %v, error=%v", tc.key, ok, err, tc.want, tc.wantErr)
		}
	}

	sum := sha256.Sum256(payload)
	digest, n, err := store.SHA256(ctx, s, "h/obj.csv")
	if err != nil || digest != hex.EncodeToString(sum[:]) || n != int64(len(payload)) {
		t.Errorf("SHA256 = %s, %d, %v; want %x, %d", digest, n, err, sum, len(payload))
	}
	if _, _, err := store.SHA256(ctx, s, "h/missing"); !errors.Is(err, store.ErrNotExist) {
		t.Errorf("SHA256(missing) error = %v, want ErrNotExist", err)
	}
}

// TestListDoesNotEscapeRoot guards the file backend against prefixes that walk
// out of its root (the suite checks they are refused; this checks nothing leaks
// even in the error).
func TestListDoesNotEscapeRoot(t *testing.T) {
	s := newFileStore(t)
	for _, prefix := range []string{"../", "../outside", "/", "x/../../"} {
		infos, err := s.List(context.Background(), prefix)
		if err == nil || len(infos) != 0 || strings.Contains(err.Error(), "not in the store") {
			t.Errorf("List(%q) = %v, %v; want an invalid-prefix error and nothing listed", prefix, infos, err)
		}
	}
}

// A reader opens a store that exists: a mistyped file store is refused, naming it,
// and is not created (it was, and a reader then reported nothing found in it).
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll(filepath.Join(dir, "store"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		url, wantErr string
	}{
		{"file://" + filepath.Join(dir, "store"), ""},
		{"store", ""},
		{"file://store", ""},
		{"file://" + filepath.Join(dir, "typo-store"), "typo-store does not exist"},
		{"typo/store", "typo/store does not exist"},
		{"file://" + filepath.Join(dir, "file"), "is not a directory"},
		{"gs://bucket/x", "unsupported scheme"},
	} {
		s, err := store.OpenExisting(ctx, tc.url)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("OpenExisting(%q): %v", tc.url, err)
		case tc.wantErr == "" && s.URL() != "file://"+filepath.Join(dir, "store"):
			t.Errorf("OpenExisting(%q).URL() = %q", tc.url, s.URL())
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("OpenExisting(%q) = %v, want an error saying %q", tc.url, err, tc.wantErr)
		}
	}
	for _, gone := range []string{"typo-store", "typo"} {
		if _, err := os.Stat(filepath.Join(dir, gone)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("OpenExisting created %s: %v", gone, err)
		}
	}
}
