package main

import (
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/audit"
	"icesurvey/store"
)

func auditCmd() *cobra.Command {
	var storeURL, wave string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit --wave W",
		Short: "Print a wave's audit trail: every activity attempt and domain event",
		Long: `Reads the trail from the object store (the compacted Parquet batches in the lake
and the attempts not yet compacted), so it works while the worker holds the warehouse.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := store.Open(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			events, err := audit.Trail(cmd.Context(), st, wave)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				for _, e := range events {
					if err := enc.Encode(e); err != nil {
						return err
					}
				}
				return nil
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TIME\tICS\tKIND\tACTIVITY\tATTEMPT\tOUTCOME\tDETAILS")
			for _, e := range events {
				detail := e.Details
				if e.Kind == audit.KindActivityAttempt {
					detail = "in " + short(e.InputSHA256) + " out " + short(e.OutputSHA256)
					if e.Error != "" {
						detail = e.ErrorType + ": " + e.Error
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.StartedAt.Format(time.RFC3339Nano), e.ICS, e.Kind,
					e.ActivityType, e.Attempt, e.Outcome, detail)
			}
			fmt.Fprintf(w, "%d events\n", len(events))
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store (ICE_STORE)")
	f.StringVar(&wave, "wave", "", "wave ID")
	f.BoolVar(&asJSON, "json", false, "print JSON lines")
	_ = cmd.MarkFlagRequired("wave")
	return cmd
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
