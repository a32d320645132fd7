package main

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// captureStdout runs fn with the process's standard output captured, and returns what
// it printed.
func captureStdout(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	return captureFile(t, &os.Stdout, fn)
}

// captureStderr runs fn and returns what it wrote to os.Stderr.
func captureStderr(t *testing.T, fn func() error) (string, error) {
	t.Helper()
	return captureFile(t, &os.Stderr, fn)
}

// captureFile runs fn with *f a pipe, and returns what fn wrote to it.
func captureFile(t *testing.T, f **os.File, fn func() error) (string, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := *f
	*f = w
	done := make(chan string)
	go func() {
		var b bytes.Buffer
		_, _ = io.Copy(&b, r)
		done <- b.String()
	}()
	ferr := fn()
	*f = saved
	w.Close()
	return <-done, ferr
}
