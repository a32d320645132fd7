package workerid

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestIdentityRoundTrip(t *testing.T) {
	for _, id := range []ID{
		{PID: 42, Host: "h1", Role: RoleMain, Boot: "b1", Machine: "m1", PIDNS: "4026531836", Since: 1234},
		{PID: 42, Host: "h1", Role: RoleWarehouse, Boot: "b1", PIDNS: "7", Since: 9, More: "started 2026-01-01T00:00:00Z file /a b/c.duckdb"},
		{PID: 1, Host: "box.example", Role: RoleMain},
	} {
		got, ok := Parse(id.String())
		if !ok || got != id {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", id.String(), got, ok, id)
		}
	}
	for _, s := range []string{"", "42@h1@", "42@h1", "x@h1@ice-main", "42@@ice-main", "42@h1@other-worker boot=b",
		"42@h1@ice-main since=x", "42@h1@ice-main colour=blue"} {
		if id, ok := Parse(s); ok {
			t.Errorf("Parse(%q) = %+v, want not ours", s, id)
		}
	}
}

// probe is a table of processes: pid → start ticks.
type probe struct {
	procs  map[int]uint64
	broken bool
}

func (p probe) Exists(pid int) (bool, error) {
	if p.broken {
		return false, errors.New("no /proc")
	}
	_, ok := p.procs[pid]
	return ok, nil
}

func (p probe) StartTicks(pid int) (uint64, error) {
	t, ok := p.procs[pid]
	if !ok || t == 0 {
		return 0, errors.New("unreadable")
	}
	return t, nil
}

func TestJudge(t *testing.T) {
	boot := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	me := Self{ID: ID{PID: 500, Host: "h1", Role: RoleMain, Boot: "b2", Machine: "m1", PIDNS: HostPIDNamespace, Since: 9000}, BootTime: boot}
	procs := probe{procs: map[int]uint64{500: 9000, 100: 1000, 101: 5000, 102: 0}}
	id := func(pid int, mod func(*ID)) string {
		i := ID{PID: pid, Host: "h1", Role: RoleMain, Boot: "b2", Machine: "m1", PIDNS: HostPIDNamespace, Since: 1000}
		if mod != nil {
			mod(&i)
		}
		return i.String()
	}
	after, before := boot.Add(time.Hour), boot.Add(-time.Hour)
	for _, tc := range []struct {
		name     string
		identity string
		started  time.Time
		p        probe
		dead     bool
		reason   string
	}{
		{"running worker", id(100, nil), after, procs, false, "runs"},
		{"pid gone", id(200, nil), after, procs, true, "no longer exists"},
		{"pid reused by a later process", id(101, nil), after, procs, true, "its id reused"},
		{"pid held by an earlier process (inconsistent: leave)", id(101, func(i *ID) { i.Since = 6000 }), after, procs, false, "started before"},
		{"this very process", id(500, func(i *ID) { i.Since = 9000 }), after, procs, false, "runs"},
		{"an earlier process with this process's pid", id(500, func(i *ID) { i.Since = 100 }), after, procs, true, "its id reused"},
		{"start unreadable", id(102, nil), after, procs, false, "cannot be read"},
		{"worker's start unknown", id(101, func(i *ID) { i.Since = 0 }), after, procs, false, "start is unknown"},
		{"cannot probe", id(200, nil), after, probe{broken: true}, false, "cannot tell"},
		{"another host", id(200, func(i *ID) { i.Host = "h2" }), after, procs, false, "another host"},
		{"another container", id(200, func(i *ID) { i.PIDNS = "ns2" }), after, procs, false, "namespace"},
		{"container unknown", id(200, func(i *ID) { i.PIDNS = "" }), after, procs, false, "namespace"},
		{"boot unknown", id(200, func(i *ID) { i.Boot = "" }), after, procs, false, "boot unknown"},
		{"SDK default identity", "200@h1@", after, procs, false, "not an ice worker"},
		{"other program", "some-worker", after, procs, false, "not an ice worker"},
		{"earlier boot of this machine", id(100, func(i *ID) { i.Boot = "b1" }), before, procs, true, "restarted"},
		{"earlier boot, but the attempt started after this boot (another machine?)", id(100, func(i *ID) { i.Boot = "b1" }), after, procs, false, "another boot"},
		{"other boot, other machine of the same name", id(100, func(i *ID) { i.Boot = "b1"; i.Machine = "m9" }), before, procs, false, "another boot"},
		{"other boot, machine unknown", id(100, func(i *ID) { i.Boot = "b1"; i.Machine = "" }), before, procs, false, "another boot"},
	} {
		v := Judge(tc.identity, tc.started, me, tc.p)
		if v.Dead != tc.dead || !strings.Contains(v.Reason, tc.reason) {
			t.Errorf("%s (%q): %+v, want dead=%v with %q", tc.name, tc.identity, v, tc.dead, tc.reason)
		}
	}
	// Containers (a pid namespace of their own) may share a machine id baked into their
	// image, and two of one host name on two machines would look like one restarted:
	// an earlier boot proves nothing there.
	for _, ns := range [][2]string{{"ns1", "ns1"}, {HostPIDNamespace, "ns1"}, {"ns1", HostPIDNamespace}} {
		in := me
		in.PIDNS = ns[1]
		if v := Judge(id(100, func(i *ID) { i.Boot = "b1"; i.PIDNS = ns[0] }), before, in, procs); v.Dead {
			t.Errorf("earlier boot, worker in pid namespace %s, judge in %s: %+v", ns[0], ns[1], v)
		}
	}
	// A machine whose boot time is unknown proves no restart.
	me.BootTime = time.Time{}
	if v := Judge(id(100, func(i *ID) { i.Boot = "b1" }), before, me, procs); v.Dead {
		t.Errorf("boot time unknown: %+v", v)
	}
}

func TestStartTicks(t *testing.T) {
	line := "4242 (ice (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 12 0 987654 123456789 3000"
	if got, err := startTicks(line); err != nil || got != 987654 {
		t.Errorf("startTicks = %d, %v; want 987654", got, err)
	}
	if _, err := startTicks("4242 (x) S 1"); err == nil {
		t.Error("short line read")
	}
}

// On this machine: this process is alive by its own identity, and a pid that exists
// nowhere is dead.
func TestMeOnThisHost(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	me := Me()
	if me.Boot == "" || me.PIDNS == "" || me.Since == 0 || me.BootTime.IsZero() {
		t.Fatalf("facts unread: %+v", me)
	}
	own := Of(RoleMain, "")
	if v := Judge(own, time.Now(), me, Proc{}); v.Dead {
		t.Errorf("this process judged dead: %+v", v)
	}
	if id, _ := Parse(own); strings.Contains(own, me.Boot) && id.Boot != me.Boot {
		t.Errorf("identity %q", own)
	}
	gone := me.ID
	gone.Role = RoleMain
	gone.PID = 1 << 30 // beyond any pid_max
	if v := Judge(gone.String(), time.Now(), me, Proc{}); !v.Dead {
		t.Errorf("a pid that does not exist judged alive: %+v", v)
	}
}
