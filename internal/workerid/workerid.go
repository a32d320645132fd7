// Package workerid names an ice worker process on the Temporal cluster (its worker
// identity) in a form another process can read back, and decides from such a name
// whether the worker it names is provably dead: a worker killed with SIGKILL, or on a
// machine that lost power, leaves the activity attempts it had taken "running" on the
// cluster until their heartbeat or start-to-close timeout, and the next worker to start
// on the same machine can tell that their worker is gone and fail them at once.
//
// An identity reads
//
//	{pid}@{host}@{role} boot={b} machine={m} pidns={n} since={ticks}[ {more}]
//
// pid@host@ as the SDK's default identity begins; role is ice-main or ice-warehouse;
// boot and machine are short keyed digests of the kernel's boot ID and the machine ID
// (never the IDs themselves: systemd asks that the machine ID not be shown); pidns is
// the inode of the process-id namespace (a container has its own); since is the
// process's start in clock ticks after boot (/proc/{pid}/stat), which tells the process
// from a later one given the same pid. Unknown facts are left out. The identity holds no
// personal data: a host name, numbers and digests.
//
// The decision is conservative: a worker counts as dead only when this process can
// prove it, and every doubt — another host, another container, an identity of another
// form, a process whose start cannot be read — leaves its attempts alone. Judge needs
// no Temporal and no /proc: the facts of this process (Self) and a Probe of processes
// are given to it.
package workerid

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Roles of an ice worker on the cluster.
const (
	RoleMain      = "ice-main"
	RoleWarehouse = "ice-warehouse"
)

// ID is a worker's identity, read.
type ID struct {
	PID  int
	Host string
	Role string
	// Boot and Machine are digests of the boot ID and machine ID ("" unknown).
	Boot, Machine string
	// PIDNS is the process-id namespace's inode ("" unknown).
	PIDNS string
	// Since is the process's start in clock ticks after boot (0 unknown).
	Since uint64
	// More is free text after the facts (the warehouse worker's start and file).
	More string
}

// String is the identity as the worker gives it to the SDK.
func (id ID) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d@%s@%s", id.PID, id.Host, id.Role)
	for _, kv := range [][2]string{{"boot", id.Boot}, {"machine", id.Machine}, {"pidns", id.PIDNS}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, " %s=%s", kv[0], kv[1])
		}
	}
	if id.Since != 0 {
		fmt.Fprintf(&b, " since=%d", id.Since)
	}
	if id.More != "" {
		b.WriteString(" " + id.More)
	}
	return b.String()
}

// Parse reads an identity of this package's form; ok is false for any other (the SDK's
// default "pid@host@", another program's worker).
func Parse(s string) (id ID, ok bool) {
	fields := strings.Split(s, " ")
	parts := strings.SplitN(fields[0], "@", 3)
	if len(parts) != 3 || parts[1] == "" || !strings.HasPrefix(parts[2], "ice-") {
		return ID{}, false
	}
	pid, err := strconv.Atoi(parts[0])
	if err != nil || pid <= 0 {
		return ID{}, false
	}
	id = ID{PID: pid, Host: parts[1], Role: parts[2]}
	rest := fields[1:]
	for len(rest) > 0 {
		k, v, found := strings.Cut(rest[0], "=")
		if !found {
			break
		}
		switch k {
		case "boot":
			id.Boot = v
		case "machine":
			id.Machine = v
		case "pidns":
			id.PIDNS = v
		case "since":
			if id.Since, err = strconv.ParseUint(v, 10, 64); err != nil {
				return ID{}, false
			}
		default:
			return ID{}, false
		}
		rest = rest[1:]
	}
	id.More = strings.Join(rest, " ")
	return id, true
}

// Self is what this process knows of itself and its machine.
type Self struct {
	ID
	// BootTime is when this machine's kernel booted (zero unknown).
	BootTime time.Time
}

// Probe looks at the processes of this host's process-id namespace.
type Probe interface {
	// Exists reports whether a process pid exists (error: cannot tell).
	Exists(pid int) (bool, error)
	// StartTicks is the process's start in clock ticks after boot.
	StartTicks(pid int) (uint64, error)
}

// Verdict is Judge's answer: Dead only when proven, with the reason either way.
type Verdict struct {
	Dead   bool
	Reason string
}

// HostPIDNamespace is the kernel's initial process-id namespace (PROC_PID_INIT_INO):
// a process in it runs on the host, not in a container, and its machine id is the
// machine's own.
const HostPIDNamespace = "4026531836"

// Judge decides whether the worker named by identity, which took an attempt started
// at attemptStarted (the cluster's clock), is provably dead, from me and p.
func Judge(identity string, attemptStarted time.Time, me Self, p Probe) Verdict {
	alive := func(why string) Verdict { return Verdict{Reason: why} }
	id, ok := Parse(identity)
	switch {
	case !ok:
		return alive("not an ice worker identity this version reads")
	case id.Host != me.Host:
		return alive("another host")
	case id.Boot == "" || me.Boot == "":
		return alive("boot unknown")
	case id.Boot != me.Boot:
		// Every process of an earlier boot of this machine is gone. Another machine
		// with the same host name is told apart by its machine ID; and an attempt of
		// an earlier boot started before this one.
		// Only outside containers: an image may carry a machine id of its own that
		// every container of it shares, on any machine.
		if id.Machine != "" && id.Machine == me.Machine && id.PIDNS == HostPIDNamespace && me.PIDNS == HostPIDNamespace &&
			!me.BootTime.IsZero() && attemptStarted.Before(me.BootTime) {
			return Verdict{Dead: true, Reason: fmt.Sprintf("host %s has restarted since (the attempt started %s, before its boot at %s)",
				me.Host, attemptStarted.UTC().Format(time.RFC3339), me.BootTime.UTC().Format(time.RFC3339))}
		}
		return alive("another boot, not provably of this machine before this boot")
	case id.PIDNS == "" || id.PIDNS != me.PIDNS:
		return alive("another process-id namespace (container), whose processes cannot be seen")
	}
	exists, err := p.Exists(id.PID)
	if err != nil {
		return alive(fmt.Sprintf("cannot tell whether process %d exists: %v", id.PID, err))
	}
	if !exists {
		return Verdict{Dead: true, Reason: fmt.Sprintf("process %d no longer exists on %s", id.PID, me.Host)}
	}
	if id.Since == 0 {
		return alive(fmt.Sprintf("process %d exists and the worker's start is unknown", id.PID))
	}
	ticks, err := p.StartTicks(id.PID)
	if err != nil {
		return alive(fmt.Sprintf("process %d exists and its start cannot be read: %v", id.PID, err))
	}
	switch {
	case ticks == id.Since:
		return alive(fmt.Sprintf("process %d runs", id.PID))
	case ticks > id.Since:
		return Verdict{Dead: true, Reason: fmt.Sprintf("process %d on %s is another process, started after the worker (its id reused)", id.PID, me.Host)}
	default:
		return alive(fmt.Sprintf("process %d started before the worker it should be", id.PID))
	}
}

// Of is this process's identity in role, with more after its facts.
func Of(role, more string) string {
	me := Me()
	me.Role, me.More = role, more
	return me.String()
}

// Me reads this process's facts from the system; those it cannot read are left unknown.
func Me() Self {
	host, _ := os.Hostname()
	s := Self{ID: ID{PID: os.Getpid(), Host: host}}
	if b, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		s.Boot = digest("boot", string(b))
	}
	for _, path := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) != "" {
			s.Machine = digest("machine", string(b))
			break
		}
	}
	if link, err := os.Readlink("/proc/self/ns/pid"); err == nil {
		s.PIDNS = strings.TrimSuffix(strings.TrimPrefix(link, "pid:["), "]")
	}
	if t, err := (Proc{}).StartTicks(s.PID); err == nil {
		s.Since = t
	}
	s.BootTime = bootTime()
	return s
}

// digest is a short keyed digest of a system ID, so the ID itself is not shown.
func digest(what, v string) string {
	sum := sha256.Sum256([]byte("icesurvey worker " + what + ":" + strings.TrimSpace(v)))
	return hex.EncodeToString(sum[:6])
}

// bootTime reads btime from /proc/stat.
func bootTime() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return time.Unix(n, 0)
			}
		}
	}
	return time.Time{}
}

// Proc is the Probe of this host, through signal 0 and /proc.
type Proc struct{}

// Exists sends signal 0: no such process is ESRCH; a process of another user answers
// EPERM, and exists.
func (Proc) Exists(pid int) (bool, error) {
	if pid <= 0 {
		return false, fmt.Errorf("pid %d", pid)
	}
	err := syscall.Kill(pid, 0)
	switch {
	case err == nil, errors.Is(err, syscall.EPERM):
		return true, nil
	case errors.Is(err, syscall.ESRCH):
		return false, nil
	default:
		return false, err
	}
}

// StartTicks reads field 22 (starttime) of /proc/{pid}/stat.
func (Proc) StartTicks(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return startTicks(string(b))
}

// startTicks reads starttime from a /proc/{pid}/stat line; the command name (field 2)
// is in parentheses and may hold spaces and parentheses, so fields are counted after
// the last ')'.
func startTicks(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("workerid: unreadable stat line")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, fmt.Errorf("workerid: stat line has %d fields after the command", len(f))
	}
	return strconv.ParseUint(f[19], 10, 64)
}
