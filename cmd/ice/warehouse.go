package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/warehouse"
)

func warehouseCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "warehouse",
		Short: "Work with the DuckDB warehouse analysts query",
	}
	var path, out string
	var wait time.Duration
	snap := &cobra.Command{
		Use:   "snapshot --out FILE",
		Short: "Copy the warehouse to a file of your own, for long analyses",
		Long: `Copies the warehouse into a new DuckDB file. An analyst who keeps the warehouse
itself open holds back the warehouse worker's writes (DuckDB allows one writer and no
writer while a reader has the file); a snapshot holds nothing, so query it for as long
as you like: duckdb -readonly FILE. The copy waits for a write in progress to end.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
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
	f.StringVar(&path, "path", ".ice/warehouse.duckdb", "the warehouse file")
	f.StringVar(&out, "out", "", "the new file to write (must not exist)")
	f.DurationVar(&wait, "wait", time.Minute, "how long to wait for a write in progress")
	cmd.AddCommand(snap)
	return cmd
}
