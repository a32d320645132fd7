// Package proctmp gives a process of the ice command a private temporary directory of
// its own, into which every temporary file and directory the process makes goes (and
// those of the programs it starts), removed when the process ends; and at start it
// removes the directories of earlier ice processes that ended without removing theirs.
//
// Why: the pipeline's temporary files hold patients' data — a local copy of a landing
// file with NHS numbers, lake rows on their way to the store, a database's spill. A
// process killed in the middle of its work (a worker restarted, a machine's memory
// exhausted) cannot remove them, and no retention sweep reaches the system's temporary
// directory. Here each process's are in one directory named with its process id, so
// the next ice process to start finds the directories of processes no longer running
// and removes them. Processes that share a temporary directory must share one
// process-id space (one host, or one container): a process of another space could look
// ended.
package proctmp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// prefix starts the name of every process's directory: ice-proc-{pid}-{random}.
const prefix = "ice-proc-"

// Setup makes the process's directory under the system's temporary directory (mode
// 0700) and points TMPDIR at it (os.TempDir, and so os.CreateTemp and os.MkdirTemp,
// read TMPDIR each time). done removes the directory and restores TMPDIR; the caller
// runs it as the process ends. The caller sweeps first (Sweep of os.TempDir()).
func Setup() (dir string, done func(), err error) {
	parent := os.TempDir()
	dir, err = os.MkdirTemp(parent, prefix+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return "", nil, fmt.Errorf("proctmp: make the process's temporary directory: %w", err)
	}
	old, had := os.LookupEnv("TMPDIR")
	if err := os.Setenv("TMPDIR", dir); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("proctmp: %w", err)
	}
	done = func() {
		if had {
			os.Setenv("TMPDIR", old)
		} else {
			os.Unsetenv("TMPDIR")
		}
		os.RemoveAll(dir)
	}
	return dir, done, nil
}

// Sweep removes, under parent, the directories of ice processes that are no longer
// running, and returns how many it removed. Only directories this user owns are
// touched; one whose process is running (or whose id another process now has) stays.
func Sweep(parent string) (int, error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return 0, fmt.Errorf("proctmp: read %s: %w", parent, err)
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		pid, ok := processOf(e.Name())
		if !ok || !e.IsDir() || pid == os.Getpid() || running(pid) {
			continue
		}
		path := filepath.Join(parent, e.Name())
		info, err := os.Lstat(path)
		if err != nil {
			continue // gone meanwhile
		}
		if st, ok := info.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, fmt.Errorf("proctmp: remove %s: %w", path, err))
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

// processOf reads the process id out of a directory's name (ice-proc-{pid}-{random}).
func processOf(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	id, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(id)
	return pid, err == nil && pid > 0
}

// running reports whether a process with that id exists: signal 0 checks without
// sending anything. EPERM means it exists but is another user's.
func running(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
