package proctmp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// endedProcess starts a process and waits for it to end, and returns its id: an id no
// running process has (unless the system gives it out again meanwhile, which it does
// not do so soon).
func endedProcess(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestSetupGivesThePrivateDirectoryAndRemovesItWhenDone(t *testing.T) {
	parent := t.TempDir()
	t.Setenv("TMPDIR", parent)
	dir, done, err := Setup()
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(dir) != parent || !strings.HasPrefix(filepath.Base(dir), prefix+strconv.Itoa(os.Getpid())+"-") {
		t.Fatalf("process directory %s, want %s%d-… under %s", dir, prefix, os.Getpid(), parent)
	}
	info, err := os.Stat(dir)
	if err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("process directory: %v, %v (want mode 0700)", info, err)
	}
	// Temporary files of the process go into it.
	f, err := os.CreateTemp("", "lake-*.parquet")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if filepath.Dir(f.Name()) != dir {
		t.Errorf("temporary file %s is not in the process's directory %s", f.Name(), dir)
	}
	done()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("process directory still there after done: %v", err)
	}
	if got := os.Getenv("TMPDIR"); got != parent {
		t.Errorf("TMPDIR %q after done, want %q back", got, parent)
	}
}

func TestSweepRemovesOnlyTheDirectoriesOfEndedProcesses(t *testing.T) {
	parent := t.TempDir()
	dead := endedProcess(t)
	mk := func(name string, dir bool) string {
		p := filepath.Join(parent, name)
		var err error
		if dir {
			err = os.Mkdir(p, 0o700)
			if err == nil {
				err = os.WriteFile(filepath.Join(p, "ice-lake-1.parquet"), []byte("rows"), 0o600)
			}
		} else {
			err = os.WriteFile(p, []byte("x"), 0o600)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := mk(prefix+strconv.Itoa(dead)+"-123", true)
	kept := []string{
		mk(prefix+strconv.Itoa(os.Getpid())+"-456", true),  // this process
		mk(prefix+strconv.Itoa(os.Getppid())+"-789", true), // a running process
		mk(prefix+"notanumber-1", true),                    // not a process's
		mk(prefix+strconv.Itoa(dead)+"-file", false),       // a file, not a directory
		mk("ice-lake-2.parquet", false),                    // another program's
	}
	n, err := Sweep(parent)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("swept %d directories, want 1", n)
	}
	if _, err := os.Stat(gone); !os.IsNotExist(err) {
		t.Errorf("the directory of ended process %d is still there: %v", dead, err)
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", filepath.Base(p), err)
		}
	}
}

func TestProcessOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		pid  int
		ok   bool
	}{
		{"ice-proc-123-456", 123, true},
		{"ice-proc-123-", 123, true},
		{"ice-proc-123", 0, false},
		{"ice-proc--1", 0, false},
		{"ice-proc-0-1", 0, false},
		{"ice-proc-x-1", 0, false},
		{"ice-lake-1.parquet", 0, false},
	} {
		pid, ok := processOf(tc.name)
		if ok != tc.ok || (ok && pid != tc.pid) {
			t.Errorf("processOf(%q) = %d, %v; want %d, %v", tc.name, pid, ok, tc.pid, tc.ok)
		}
	}
}
