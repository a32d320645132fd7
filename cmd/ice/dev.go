//go:build !production

package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/infra/devstack"
)

func devCmd() *cobra.Command {
	var cfg devstack.Config
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the embedded stack: Temporal (SQLite), Web UI, workers and simulators",
		Long: `Starts an in-process Temporal server persisting to SQLite in the data directory,
the Temporal Web UI, the worker for both task queues, and the simulated DBS and GOV.UK
Notify. Waves started earlier carry on where they were: the simulated Notify keeps what
it was sent in notify.jsonl in the --data directory (ids, references and statuses; no
number or personalisation), so receipts read after a restart find it. Stop with Ctrl-C.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := devstack.Start(ctx, cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Printf("Temporal frontend  %s (namespace %s)\n", st.Server.HostPort(), st.Server.Namespace())
			if st.UI != nil {
				fmt.Printf("Temporal Web UI    %s\n", st.UI.URL())
			}
			fmt.Printf("Object store       %s\n", st.Store.URL())
			fmt.Printf("Warehouse          %s (open read-only: duckdb -readonly %s)\n", st.Warehouse.Path(), st.Warehouse.Path())
			fmt.Printf("Server log         %s\n", st.Server.LogPath())
			fmt.Println("Ready. Ctrl-C to stop; state is kept in", cfg.DataDir)
			<-ctx.Done()
			fmt.Println("stopping…")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", ".ice", "data directory (Temporal SQLite, store, warehouse)")
	f.IntVar(&cfg.Port, "port", 7233, "Temporal frontend port")
	f.IntVar(&cfg.UIPort, "ui-port", 8233, "Web UI port (-1 disables the UI)")
	f.DurationVar(&cfg.DBSDelay, "dbs-delay", 5*time.Second, "how long the simulated DBS takes to reply")
	f.DurationVar(&cfg.NotifySettleAfter, "notify-settle", devstack.DefaultNotifySettleAfter, "how long the simulated Notify takes to give an SMS its final status (negative: one step per status read)")
	f.StringVar(&cfg.AccessFile, "access", envOr("ICE_ACCESS", ""), "the access file the workers check before a free-text export, coding decisions or a report quoting comments (default DATA/dashboard-access.yaml; ICE_ACCESS)")
	return cmd
}
