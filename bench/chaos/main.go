// Command chaos is the crash campaign of issue #13: it runs a fieldwork wave of at least
// two ICSs while killing the worker with SIGKILL, and checks that nothing was sent
// twice or lost.
//
// The parent process runs what outlives a worker: the embedded Temporal dev server
// (infra/devserver, SQLite), the GOV.UK Notify test server with its journal
// (notify/notifytest, so it remembers every message across the campaign), the DBS file
// drop with a responder playing DBS (sim/dbssim), the object store directory and the
// warehouse file. `ice worker --main --warehouse` runs as a child process, built once,
// and is killed with SIGKILL at random moments and at aimed ones — in the middle of an
// SMS step (the Notify server's count of accepted messages rising), between a print
// file and its manifest, and inside a warehouse transaction before its commit (the
// last two held open by ICE_CRASHPOINTS, package internal/crashpoint) — and
// restarted each time.
//
// At the end it checks: the wave completed; the Notify server received every SMS
// reference of the mailing history exactly once and nothing else, and the history's
// final receipts are Notify's statuses of those messages (each SMS settles a fieldwork
// day after it is sent); each print file is
// complete (its manifest written last and matching), lists each person of its step
// once, and no stray object lies in the outbox; every lake object of a warehouse table
// is in the warehouse with its current bytes and each table's row count equals the
// lake's (distinct keys); and every killed attempt has a later completed attempt in the
// audit trail. It prints a table and exits non-zero on any failure.
//
//	go run ./bench/chaos                              # 24 kills, 2 ICSs of 600, the SPEC schedule
//	go run ./bench/chaos -kills 5 -icss 2 -size small # the CI form (TestChaosShort)
//
// The wave's people are synthetic (package synth); nothing identifiable is printed.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
	"time"
)

func main() {
	var cfg Config
	flag.IntVar(&cfg.Kills, "kills", 24, "SIGKILLs to deliver during the wave (at least 3)")
	flag.IntVar(&cfg.ICSs, "icss", 2, "ICSs in the wave (at least 2)")
	flag.StringVar(&cfg.Size, "size", "full", "wave size: small (150 people a day of 1s, 4 steps) or full (600 people, 2s days, the SPEC schedule)")
	flag.Int64Var(&cfg.Seed, "seed", 1, "seed of the synthetic files and of the kill schedule")
	flag.StringVar(&cfg.Dir, "dir", "", "keep the campaign's state (Temporal, store, warehouse, worker.log) here; default a temporary directory")
	flag.StringVar(&cfg.Ice, "ice", "", "a prebuilt ice binary (default: go build ./cmd/ice)")
	flag.BoolVar(&cfg.FailDeadAttempts, "fail-dead-attempts", true, "after a kill, the supervisor fails the dead worker's running attempts so they are retried at once, not after their timeout (off: the restarted worker does it itself, as every ice worker does at start)")
	quiet := flag.Bool("q", false, "print only the table")
	flag.Parse()
	if !*quiet {
		cfg.Log = os.Stderr
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	r, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
	r.Print(os.Stdout)
	if len(r.Failures) > 0 {
		os.Exit(1)
	}
}

// Print writes the campaign's table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nCrash campaign: %d kills (%d planned), %d worker starts, wall time %v\n\n",
		len(r.Kills), r.Planned, r.Restarts, r.Wall.Round(time.Second))
	byWhere := map[string]int{}
	for _, k := range r.Kills {
		byWhere[k.where()]++
	}
	wheres := make([]string, 0, len(byWhere))
	for k := range byWhere {
		wheres = append(wheres, k)
	}
	sort.Strings(wheres)
	fmt.Fprintf(w, "%-58s %5s\n", "kills by where", "n")
	for _, k := range wheres {
		fmt.Fprintf(w, "  %-56s %5d\n", k, byWhere[k])
	}
	fmt.Fprintf(w, "  %-56s %5d\n\n", "total", len(r.Kills))

	fmt.Fprintf(w, "%-58s %8s\n", "SMS (GOV.UK Notify test server)", "")
	fmt.Fprintf(w, "  %-56s %8d\n", "references selected (mailing history)", r.SMSExpected)
	fmt.Fprintf(w, "  %-56s %8d\n", "messages received", r.SMSReceived)
	fmt.Fprintf(w, "  %-56s %8d\n", "duplicates", r.SMSDuplicates)
	fmt.Fprintf(w, "  %-56s %8d\n", "missing", r.SMSMissing)
	fmt.Fprintf(w, "  %-56s %8d\n", "unexpected", r.SMSUnexpected)
	fmt.Fprintf(w, "  %-56s %8d\n", "receipts in the mailing history: delivered", r.ReceiptsDelivered)
	fmt.Fprintf(w, "  %-56s %8d\n", "receipts in the mailing history: failed", r.ReceiptsFailed)
	fmt.Fprintf(w, "  %-56s %8d\n", "no final receipt yet", r.ReceiptsInFlight)
	fmt.Fprintf(w, "  %-56s %8d\n\n", "results that are not Notify's", r.ReceiptMismatches)

	fmt.Fprintf(w, "%-58s %8s\n", "print files", "")
	fmt.Fprintf(w, "  %-56s %8d\n", "files (each with its manifest)", r.PrintFiles)
	fmt.Fprintf(w, "  %-56s %8d\n", "rows", r.PrintRows)
	fmt.Fprintf(w, "  %-56s %8d\n", "people listed twice", r.PrintDuplicates)
	fmt.Fprintf(w, "  %-56s %8d\n", "people missing", r.PrintMissing)
	fmt.Fprintf(w, "  %-56s %8d\n\n", "incomplete, mismatched or stray", r.PrintProblems)

	fmt.Fprintf(w, "%-20s %8s %10s %12s %10s %8s\n", "table", "objects", "lake rows", "lake keys", "warehouse", "equal")
	for _, t := range r.Tables {
		eq := "yes"
		if t.LakeDistinct != t.WarehouseRows || t.WarehouseLoaded != t.LakeObjects {
			eq = "NO"
		}
		fmt.Fprintf(w, "%-20s %8d %10d %12d %10d %8s\n", t.Table, t.LakeObjects, t.LakeRows, t.LakeDistinct, t.WarehouseRows, eq)
	}
	fmt.Fprintf(w, "lake objects not loaded as they are: %d\n\n", r.Unloaded)

	fmt.Fprintf(w, "killed activity attempts %d; retried and completed in the audit trail %d\n", r.KilledAttempts, r.Retried)
	fmt.Fprintf(w, "killed workers' temporary directories removed by the next worker %d; left at the end %d\n\n", r.TempSwept, r.TempLeft)
	if len(r.Failures) == 0 {
		fmt.Fprintln(w, "PASS")
		return
	}
	for _, f := range r.Failures {
		fmt.Fprintln(w, "FAIL:", f)
	}
}
