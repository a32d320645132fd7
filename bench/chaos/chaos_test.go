package main

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestChaosShort runs the short campaign CI runs: a small wave of two ICSs, five kills
// (one in an SMS step, one between a print file and its manifest, one inside a
// warehouse transaction, two at random moments).
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("crash campaign: an embedded Temporal server and a worker killed five times")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var log strings.Builder
	r, err := Run(ctx, Config{Kills: 5, ICSs: 2, Size: "small", Seed: 7, FailDeadAttempts: true, Log: &log})
	t.Log(log.String())
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r.Print(&out)
	t.Log(out.String())
	for _, f := range r.Failures {
		t.Error(f)
	}
	if len(r.Kills) < 5 || r.SMSExpected == 0 || r.PrintFiles == 0 || len(r.Tables) == 0 {
		t.Errorf("the campaign checked too little: %d kills, %d SMS, %d print files, %d tables",
			len(r.Kills), r.SMSExpected, r.PrintFiles, len(r.Tables))
	}
}

func TestPlanQuotas(t *testing.T) {
	for _, total := range []int{3, 5, 20, 24} {
		q := planQuotas(total)
		if q.left() != total {
			t.Errorf("planQuotas(%d) plans %d kills: %v", total, q.left(), q)
		}
		for _, k := range []string{KillSMS, KillPrintFile, KillWarehouse} {
			if q[k] < 1 {
				t.Errorf("planQuotas(%d) plans no %s kill", total, k)
			}
		}
	}
}

func TestSweptDirectories(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int
		ok   bool
	}{
		{`time=2026-12-06T10:00:00.000Z level=WARN msg="removed the temporary files of ice processes that ended without removing them" directories=2`, 2, true},
		{`time=2026-12-06T10:00:00.000Z level=WARN msg="removed the temporary files of ice processes that ended without removing them" directories=1 extra=x`, 1, true},
		{`worker running against 127.0.0.1:7233`, 0, false},
		{`level=WARN msg="removed the temporary files of ice processes that ended without removing them"`, 0, false},
	} {
		n, ok := sweptDirectories(tc.line)
		if n != tc.n || ok != tc.ok {
			t.Errorf("sweptDirectories(%q) = %d, %v; want %d, %v", tc.line, n, ok, tc.n, tc.ok)
		}
	}
}
