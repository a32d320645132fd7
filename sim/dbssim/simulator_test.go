package dbssim

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"icesurvey/dbs"
	"icesurvey/dbs/dbstest"
	"icesurvey/schemas"
	"icesurvey/store"
)

func TestSimulatorTraceStatuses(t *testing.T) {
	ctx := context.Background()
	dead := dbstest.Date(2024, 1, 9)
	superseded := dbstest.NHS(t, "600000001")
	tests := []struct {
		name       string
		crossCheck bool
		setup      func(s *Simulator, nhs string)
		status     schemas.DBSTraceStatus
		deceased   bool
		newNumber  string
	}{
		{"20 single match", false, nil, 20, false, ""},
		{"20 single match, deceased", false, func(s *Simulator, n string) { s.Deaths[n] = dead }, 20, true, ""},
		{"21 no match", false, func(s *Simulator, n string) { s.NoMatch[n] = true }, 21, false, ""},
		{"22 multiple match", false, func(s *Simulator, n string) { s.MultipleMatch[n] = true }, 22, false, ""},
		{"30 cross-checked", true, nil, 30, false, ""},
		{"30 cross-checked, deceased", true, func(s *Simulator, n string) { s.Deaths[n] = dead }, 30, true, ""},
		{"31 cross-check failed", true, func(s *Simulator, n string) { s.CrossCheckFailed[n] = 31 }, 31, false, ""},
		{"32 cross-check failed", true, func(s *Simulator, n string) { s.CrossCheckFailed[n] = 32 }, 32, false, ""},
		{"33 cross-check failed", true, func(s *Simulator, n string) { s.CrossCheckFailed[n] = 33 }, 33, false, ""},
		{"40 superseded", false, func(s *Simulator, n string) { s.Superseded[n] = superseded }, 40, false, superseded},
		{"40 superseded, new number deceased", false, func(s *Simulator, n string) {
			s.Superseded[n] = superseded
			s.Deaths[superseded] = dead
		}, 40, true, superseded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &dbstest.Clock{T: time.Date(2025, 2, 3, 9, 0, 0, 0, time.UTC)}
			sim := NewSimulator(dbstest.FileStore(t), "")
			sim.Now = clk.Now
			c := dbstest.Contact(t, "S1", "943476591")
			if tt.setup != nil {
				tt.setup(sim, c.NHSNumber)
			}
			build := dbs.BuildRequest
			if tt.crossCheck {
				build = dbs.BuildCrossCheckRequest
			}
			body, err := build([]schemas.Contact{c})
			if err != nil {
				t.Fatal(err)
			}
			if err := sim.Submit(ctx, "req-1", body); err != nil {
				t.Fatal(err)
			}
			if _, ready, err := sim.Fetch(ctx, "req-1"); err != nil || ready {
				t.Fatalf("immediately: ready=%v err=%v, want not ready", ready, err)
			}
			clk.Advance(sim.Delay)
			reply, ready, err := sim.Fetch(ctx, "req-1")
			if err != nil || !ready {
				t.Fatalf("after the delay: ready=%v err=%v", ready, err)
			}
			rows, err := dbs.ParseResponse(reply)
			if err != nil {
				t.Fatal(err)
			}
			o, err := dbs.Reconcile([]string{"S1"}, rows)
			if err != nil {
				t.Fatal(err)
			}
			if rows[0].TraceStatus != tt.status {
				t.Errorf("status = %d, want %d", rows[0].TraceStatus, tt.status)
			}
			if (o.Deceased == 1) != tt.deceased {
				t.Errorf("deceased = %d, want %v", o.Deceased, tt.deceased)
			}
			if tt.deceased && !o.DatesOfDeath["S1"].Equal(dead) {
				t.Errorf("date of death = %v", o.DatesOfDeath["S1"])
			}
			if o.NewNHSNumbers["S1"] != tt.newNumber {
				t.Errorf("new NHS number = %q, want %q", o.NewNHSNumbers["S1"], tt.newNumber)
			}
			if tt.status.Matched() && tt.newNumber == "" && rows[0].NHSNumber != c.NHSNumber {
				t.Errorf("traced number differs from the requested one")
			}
		})
	}
}

func TestSimulatorSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	st := dbstest.FileStore(t)
	clk := &dbstest.Clock{T: time.Date(2025, 2, 3, 9, 0, 0, 0, time.UTC)}
	c := dbstest.Contact(t, "S1", "943476591")
	configure := func() *Simulator {
		s := NewSimulator(st, "restricted/_sim/")
		s.Now = clk.Now
		s.Delay = time.Hour
		s.Deaths[c.NHSNumber] = dbstest.Date(2024, 12, 25)
		return s
	}
	body, _ := dbs.BuildRequest([]schemas.Contact{c})
	first := configure()
	if err := first.Submit(ctx, "r1", body); err != nil {
		t.Fatal(err)
	}
	clk.Advance(40 * time.Minute)
	// A retried submit does not restart the delay.
	if err := first.Submit(ctx, "r1", body); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * time.Minute)
	// "Restart": a new simulator over the same store still answers.
	second := configure()
	reply, ready, err := second.Fetch(ctx, "r1")
	if err != nil || !ready {
		t.Fatalf("after restart: ready=%v err=%v", ready, err)
	}
	rows, _ := dbs.ParseResponse(reply)
	if len(rows) != 1 || rows[0].DateOfDeath == nil {
		t.Errorf("reply rows = %+v", rows)
	}
	// A different body under the same request ID is refused.
	other, _ := dbs.BuildRequest([]schemas.Contact{dbstest.Contact(t, "S2", "401023213")})
	if err := second.Submit(ctx, "r1", other); !dbs.IsPermanent(err) {
		t.Errorf("conflicting resubmit: err = %v, want ErrSubmitConflict", err)
	}
	// Fetch of an unknown request is an error, not a forever-pending wait.
	if _, _, err := second.Fetch(ctx, "never"); !dbs.IsPermanent(err) {
		t.Errorf("fetch of an unsubmitted request: err = %v", err)
	}
}

// With ReadRegisters (ice dev's simulator), each reply reads the registers of deaths
// in the store as they are then: one per ICS, each replaced by that ICS's next
// sample and none replacing another's, and the one register earlier versions wrote.
func TestSimulatorReadsRegistersAtEachReply(t *testing.T) {
	ctx := context.Background()
	st := dbstest.FileStore(t)
	s := NewSimulator(st, "")
	s.Delay, s.ReadRegisters = 0, true
	a, b, c := dbstest.Contact(t, "S1", "943476591"), dbstest.Contact(t, "S2", "401023213"), dbstest.Contact(t, "S3", "600000001")
	register := func(key string, deaths ...schemas.Contact) {
		t.Helper()
		body := "NHS_NUMBER,DATE_OF_DEATH\n"
		for _, d := range deaths {
			body += d.NHSNumber + ",20261203\n"
		}
		if err := store.PutBytes(ctx, st, key, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	dead := func() map[string]bool {
		t.Helper()
		n++
		id := fmt.Sprintf("r%d", n)
		body, _ := dbs.BuildRequest([]schemas.Contact{a, b, c})
		if err := s.Submit(ctx, id, body); err != nil {
			t.Fatal(err)
		}
		reply, ready, err := s.Fetch(ctx, id)
		if err != nil || !ready {
			t.Fatalf("fetch %s: ready=%v err=%v", id, ready, err)
		}
		rows, err := dbs.ParseResponse(reply)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, r := range rows {
			if r.DateOfDeath != nil {
				out[r.UniqueReference] = true
			}
		}
		return out
	}
	steps := []struct {
		name  string
		write func()
		want  []string // the unique references reported dead
	}{
		{"no register yet", func() {}, nil},
		{"QMM's register, written after the simulator started", func() { register(schemas.DeathsRegisterKey("QMM"), a) }, []string{"S1"}},
		{"QJK's register beside it", func() { register(schemas.DeathsRegisterKey("QJK"), b) }, []string{"S1", "S2"}},
		{"QMM's next sample replaces only QMM's", func() { register(schemas.DeathsRegisterKey("QMM")) }, []string{"S2"}},
		{"the legacy register", func() { register(schemas.LegacyDeathsRegisterKey, c) }, []string{"S2", "S3"}},
	}
	for _, step := range steps {
		step.write()
		got := dead()
		if len(got) != len(step.want) {
			t.Errorf("%s: dead %v, want %v", step.name, got, step.want)
		}
		for _, ref := range step.want {
			if !got[ref] {
				t.Errorf("%s: dead %v, want %v", step.name, got, step.want)
			}
		}
	}
	// A register that cannot be read is the reply's error, not a silent "alive".
	if err := store.PutBytes(ctx, st, schemas.DeathsRegisterKey("QNX"), []byte("NHS_NUMBER,DATE_OF_DEATH\n9434765919,3 December\n")); err != nil {
		t.Fatal(err)
	}
	body, _ := dbs.BuildRequest([]schemas.Contact{a})
	if err := s.Submit(ctx, "bad", body); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Fetch(ctx, "bad"); err == nil || !strings.Contains(err.Error(), "sim/dbs/deaths/QNX.csv row 2: DATE_OF_DEATH") {
		t.Errorf("a bad register: %v", err)
	}
}
