package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/fault"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

func warehouseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "warehouse",
		Short: "Work with the DuckDB warehouse analysts query",
	}
	var data, wh, path, out string
	var wait time.Duration
	snap := &cobra.Command{
		Use:   "snapshot --out FILE [--data DIR | --warehouse FILE]",
		Short: "Copy the warehouse to a file of your own, for long analyses",
		Long: `Copies the warehouse into a new DuckDB file. An analyst who keeps the warehouse
itself open holds back the warehouse worker's writes (DuckDB allows one writer and no
writer while a reader has the file); a snapshot holds nothing, so query it for as long
as you like: duckdb -readonly FILE. The copy waits for a write in progress to end.

It reads --warehouse (--path is the same), or DIR/warehouse.duckdb with --data DIR (as
ice serve takes them: --data .ice/demo after ice demo), or by default
.ice/warehouse.duckdb (ice dev's).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			path, err := snapshotSource(data, wh, path)
			if err != nil {
				return err
			}
			start := time.Now()
			if err := warehouse.Snapshot(cmd.Context(), path, out, wait); err != nil {
				return err
			}
			fmt.Printf("snapshot of %s written to %s in %s\n", path, out, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	f := snap.Flags()
	f.StringVar(&data, "data", "", "a data directory holding warehouse.duckdb (as ice dev and ice demo leave it)")
	f.StringVar(&wh, "warehouse", "", "the warehouse file (default DATA/warehouse.duckdb, or .ice/warehouse.duckdb)")
	f.StringVar(&path, "path", "", "the same as --warehouse")
	f.StringVar(&out, "out", "", "the new file to write (must not exist)")
	f.DurationVar(&wait, "wait", time.Minute, "how long to wait for a write in progress")
	cmd.AddCommand(snap, warehouseReloadCmd())
	return cmd
}

// snapshotSource is the warehouse file ice warehouse snapshot reads: --warehouse (or
// --path, its older name), DATA/warehouse.duckdb with --data, or ice dev's.
func snapshotSource(data, warehouse, path string) (string, error) {
	switch {
	case warehouse != "" && path != "" && warehouse != path:
		return "", fault.Errorf(fault.BadInput, "--warehouse %s and --path %s name two files: give one", warehouse, path)
	case path != "":
		warehouse = path
	}
	switch {
	case data != "" && warehouse != "":
		return "", fault.Errorf(fault.BadInput, "--data %s and --warehouse %s: give one (--data reads %s)", data, warehouse, filepath.Join(data, "warehouse.duckdb"))
	case data != "":
		return filepath.Join(data, "warehouse.duckdb"), nil
	case warehouse != "":
		return warehouse, nil
	}
	return filepath.Join(".ice", "warehouse.duckdb"), nil
}

func warehouseReloadCmd() *cobra.Command {
	var c conn
	var waves []string
	var all bool
	cmd := &cobra.Command{
		Use:   "reload (--wave W ... | --all)",
		Short: "Derive the warehouse from the lake again: load every lake object it lacks or holds with other bytes",
		Long: `Starts WarehouseReloadWorkflow for each wave: on the warehouse queue, every lake object
of the wave that belongs in a warehouse table and is missing from the warehouse, or is
there with other bytes, is loaded (an ICS's objects at a time, up to 400 in one
transaction), then the
wave's publication releases and its current linkage release. A warehouse that is
current loads nothing (the table says "already there"), so it is safe to run at any
time.

To rebuild a lost or damaged warehouse: stop the warehouse worker, move the file
aside, start the worker again (it makes an empty warehouse at the current schema),
then run ` + "`ice warehouse reload --all`" + `. A warehouse made before a table was added
gets the objects of that table the same way. --all takes every wave with anything in
the lake (--store) the warehouse holds: a sample, or audit batches alone (the trail of
a run started for a wave id that had no sample).`,
		Args: cobra.NoArgs,
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if all == (len(waves) > 0) {
				return fmt.Errorf("name the waves with --wave, or reload every wave in the lake with --all")
			}
			if all {
				st, err := store.OpenExisting(ctx, c.storeURL)
				if err != nil {
					return err
				}
				if waves, err = warehouse.LakeWaves(ctx, st); err != nil {
					return err
				}
				if len(waves) == 0 {
					return fmt.Errorf("the lake of %s holds no wave's sample: nothing to reload", c.storeURL)
				}
			}
			for _, wave := range waves {
				start := time.Now()
				stop := reportRetrying(ctx, os.Stderr, under(cl, watching(workflows.WarehouseReloadWorkflowID(wave))))
				res, err := cl.ReloadWarehouse(ctx, wave)
				stop()
				if err != nil {
					return err
				}
				printWarehouseReload(os.Stdout, res, time.Since(start))
			}
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringSliceVar(&waves, "wave", nil, "the waves to reload")
	f.BoolVar(&all, "all", false, "reload every wave with anything in the lake the warehouse holds (a sample, or audit batches alone)")
	return cmd
}

// printWarehouseReload prints a wave's reload: a line per lake partition, publication
// release and the linkage release, with what was loaded and what was already there.
func printWarehouseReload(out io.Writer, res waveclient.WarehouseReloadResult, took time.Duration) {
	fmt.Fprintf(out, "warehouse reload of %s in %s\n", res.WaveID, took.Round(time.Millisecond))
	// The warehouse files written, as each step's worker named its own: more than one
	// means two warehouse workers served the queue, and each file holds part only.
	var files []string
	for _, o := range res.Partitions {
		files = append(files, o.Warehouses...)
	}
	for _, o := range res.Releases {
		files = append(files, o.Warehouses...)
	}
	slices.Sort(files)
	files = slices.Compact(files)
	switch len(files) {
	case 0:
	case 1:
		fmt.Fprintf(out, "written to the warehouse %s\n", files[0])
	default:
		fmt.Fprintf(out, "WARNING: written to %d warehouses, each holding part of the wave: %s — run exactly one warehouse worker, "+
			"then reload again on its file\n", len(files), strings.Join(files, ", "))
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  what\tobjects\tloaded\talready there\trows loaded")
	line := func(what string, o waveclient.WarehouseReloadOutput) {
		where := ""
		if len(files) > 1 {
			where = "  (in " + strings.Join(o.Warehouses, ", ") + ")"
		}
		fmt.Fprintf(w, "  %s\t%d\t%d\t%d\t%s%s\n", what, o.Objects, o.Loaded, o.Skipped, tableRows(o.Rows), where)
	}
	for _, part := range slices.Sorted(maps.Keys(res.Partitions)) {
		what := "ICS " + part
		if part == warehouse.WavePartition {
			what = "the wave's own (audit)"
		}
		line(what, res.Partitions[part])
	}
	for _, r := range slices.Sorted(maps.Keys(res.Releases)) {
		line("publication release "+r, res.Releases[r])
	}
	if res.LinkageRelease != "" {
		// The release's tables are loaded whole or skipped as they stand (by SHA-256).
		rows := tableRows(res.LinkageRows)
		if rows == "—" {
			rows = "— (already there)"
		}
		fmt.Fprintf(w, "  linkage release %s\t%d\t\t\t%s\n", res.LinkageRelease, len(res.LinkageRows), rows)
	}
	w.Flush()
	printGoneFromLake(out, res)
}

// printGoneFromLake warns of the objects the warehouse loaded that the lake no longer
// holds: the lake is the truth, so they must be restored before anything rebuilds the
// warehouse from it.
func printGoneFromLake(out io.Writer, res waveclient.WarehouseReloadResult) {
	var gone []string
	for _, o := range res.Partitions {
		gone = append(gone, o.Gone...)
	}
	slices.Sort(gone)
	gone = slices.Compact(gone)
	if len(gone) == 0 {
		return
	}
	fmt.Fprintf(out, "WARNING: %d object(s) the warehouse loaded are gone from the lake; the warehouse still holds their rows, "+
		"but the lake is the truth and nothing derives these again: restore them from the store's object versions or a backup "+
		"before the warehouse is ever rebuilt (ice warehouse reload --all into an empty one would lose their rows):\n", len(gone))
	for _, k := range gone {
		fmt.Fprintf(out, "  %s\n", k)
	}
}

// tableRows lists the tables that loaded rows, with their rows, in table order ("—"
// for none).
func tableRows(rows map[string]int64) string {
	var parts []string
	for _, t := range slices.Sorted(maps.Keys(rows)) {
		if rows[t] == 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", t, rows[t]))
	}
	if len(parts) == 0 {
		return "—"
	}
	return strings.Join(parts, ", ")
}
