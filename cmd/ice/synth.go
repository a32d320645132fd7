package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/synth"
)

func synthCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "synth", Short: "Make synthetic test data"}
	var cfg synth.Config
	var out, sampling, storeURL string
	sample := &cobra.Command{
		Use:   "sample --ics CODE --n N --seed S --faults RATE",
		Short: "Write a realistic sample file and mailing file pair, with a controlled share of faults",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sampling != "" {
				d, err := time.Parse("2006-01-02", sampling)
				if err != nil {
					return fmt.Errorf("--sampling-date: want yyyy-mm-dd: %w", err)
				}
				cfg.SamplingDate = d
			}
			if err := os.MkdirAll(out, 0o750); err != nil {
				return err
			}
			sp, mp, stats, err := synth.GenerateFiles(cfg, out)
			if err != nil {
				return err
			}
			if storeURL != "" {
				// The simulated DBS answers from this ICS's register beside the other
				// ICSs' (ice dev reads them at each reply). Written with no deaths too:
				// the ICS's new sample replaces its earlier one's register.
				st, err := store.Open(cmd.Context(), storeURL)
				if err != nil {
					return err
				}
				if err := putDeathsRegister(cmd.Context(), st, cfg.ICS, stats.DeceasedNHS); err != nil {
					return err
				}
			}
			stats.DeceasedNHS = nil // test data: counted, never printed
			fmt.Printf("sample file   %s\nmailing file  %s\n", sp, mp)
			b, _ := json.MarshalIndent(stats, "", "  ")
			fmt.Println(string(b))
			return nil
		},
	}
	f := sample.Flags()
	f.StringVar(&cfg.ICS, "ics", "QMM", "ICS code")
	f.IntVar(&cfg.N, "n", 5000, "number of people")
	f.Int64Var(&cfg.Seed, "seed", 1, "random seed (same seed, same files)")
	f.Float64Var(&cfg.FaultRate, "faults", 0.02, "share of records with one fault (0–1)")
	f.Float64Var(&cfg.DeathRate, "deaths", 0, "share of accepted people the simulated DBS reports deceased")
	f.StringVar(&cfg.Format, "format", "csv", "csv or xlsx")
	f.StringVar(&sampling, "sampling-date", "", "sampling date yyyy-mm-dd (default the generator's)")
	f.StringVar(&out, "out", ".", "directory for the files")
	f.StringVar(&storeURL, "store", "", "also write the ICS's register of deaths for the simulated DBS to this store (ice dev's simulated outside world: file://{data}/outside), replacing only this ICS's")
	cmd.AddCommand(sample)
	cmd.AddCommand(synthLinkageCmd())  // consented linkage (#15), in link.go
	cmd.AddCommand(synthSessionsCmd()) // experience profile sessions (#17)
	return cmd
}

// putDeathsRegister writes one ICS's register of deaths for the simulated DBS
// (schemas.DeathsRegisterKey), replacing that ICS's earlier register and leaving
// the other ICSs'.
func putDeathsRegister(ctx context.Context, st store.Store, ics string, deaths map[string]time.Time) error {
	var buf bytes.Buffer
	if err := synth.WriteDeaths(&buf, deaths); err != nil {
		return err
	}
	return store.PutBytes(ctx, st, schemas.DeathsRegisterKey(ics), buf.Bytes())
}
