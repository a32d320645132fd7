package devserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// The embedded server's ports are picked, closed, then bound by Temporal's services a
// moment later, and those services exit the whole process when a bind fails (ringpop's
// "address already in use" is fatal). Two things could take a port in that moment: the
// kernel handing it to another program's outgoing connection or listen on port 0 (both
// draw from the ephemeral range), and another ice process on this machine picking the
// same one. So ports are picked below the ephemeral range, and each is claimed with a
// lock file that this process holds until it exits.

// claimedPorts are the ports this process holds a claim on, with the files that hold
// the claims open (a claim lasts as long as its file stays open).
var claimedPorts = struct {
	sync.Mutex
	files map[int]*os.File
}{files: map[int]*os.File{}}

// FreePort finds a free TCP port on host for a server this process is about to start,
// below the kernel's ephemeral range, and claims it for this process: no other call in
// this process, nor another ice process on the machine, picks it again.
func FreePort(host string) (int, error) {
	lo, hi, ok := pickRange()
	if !ok {
		return kernelPort(host)
	}
	n := hi - lo + 1
	start := rand.IntN(n)
	for i := 0; i < n && i < 4000; i++ {
		p := lo + (start+i)%n
		c, err := claimPort(p)
		if err != nil {
			return 0, err
		}
		// One this process held already is not handed out twice.
		if c == claimedNow && portFree(host, p) == nil {
			return p, nil
		}
	}
	return 0, fmt.Errorf("find free port: none free on %s in %d-%d", host, lo, hi)
}

// claim is what claimPort found of a port.
type claim int

const (
	claimedNow      claim = iota // this process has just claimed it
	heldByUs                     // this process held it already (a server it started before)
	heldByOtherProc              // another ice process holds it
)

// claimPort takes this process's claim on port.
func claimPort(port int) (claim, error) {
	claimedPorts.Lock()
	defer claimedPorts.Unlock()
	if _, held := claimedPorts.files[port]; held {
		return heldByUs, nil
	}
	dir := portLockDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("claim port %d: %w", port, err)
	}
	f, err := os.OpenFile(dir+string(os.PathSeparator)+strconv.Itoa(port), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return 0, fmt.Errorf("claim port %d: %w", port, err)
	}
	got, err := lockFile(f)
	if err != nil {
		f.Close()
		return 0, fmt.Errorf("claim port %d: %w", port, err)
	}
	if !got {
		f.Close()
		return heldByOtherProc, nil
	}
	claimedPorts.files[port] = f
	return claimedNow, nil
}

// portLockDir is where claims are kept: one directory per user, so another user's
// directory (which this user might not be able to write) is never in the way.
func portLockDir() string {
	return os.TempDir() + string(os.PathSeparator) + "icesurvey-ports-" + strconv.Itoa(os.Getuid())
}

// pickRange is the range ports are picked from: the 10,000 ports below the kernel's
// ephemeral range (32768-60999 by default on Linux, so 22768-32767). ok is false where
// the range cannot be known or leaves too little room below it.
func pickRange() (lo, hi int, ok bool) {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				low = v
			}
		}
	}
	hi = low - 1
	lo = max(hi-9999, 10000)
	if hi-lo < 1000 {
		return 0, 0, false
	}
	return lo, hi, true
}

// kernelPort asks the kernel for a free port (from the ephemeral range): the fallback
// where no range below it is free to pick from.
func kernelPort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
