//go:build !production

package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"text/tabwriter"
	"time"

	"icesurvey/infra/devstack"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// demoLinkage is the demo's consented linkage (#15): synthetic provider extracts of
// every dataset for the wave's sample (as `ice synth linkage` writes them, faults and
// the truth file included), then the linkage run `ice link` starts, printed as `ice
// link status` prints it. The extracts stand in for the providers' deliveries, the
// only part of this that is not the pipeline's own.
func demoLinkage(ctx context.Context, out *os.File, st *devstack.Stack, wc *waveclient.Client, wave string) error {
	fmt.Fprintf(out, "\nLinkage: the consenting respondents of %s linked to their health and care activity…\n", wave)
	key, err := devstack.PseudonymKey(st.DataDir)
	if err != nil {
		return err
	}
	stats, err := synthlink.Generate(ctx, st.Store, synthlink.Config{WaveID: wave, Seed: 1, ProjectKeyID: linkage.KeyID(key)})
	if err != nil {
		return fmt.Errorf("synthetic extracts: %w", err)
	}
	fmt.Fprintf(out, "  synthetic provider extracts: %d rows in %d datasets, as of %s (the truth file beside them, for precision and recall)\n",
		stats.Rows, len(stats.Datasets), stats.AsOf)
	if _, err := wc.StartLinkage(ctx, waveclient.LinkageInput{WaveID: wave}); err != nil {
		return err
	}
	stop := reportRetrying(ctx, out, under(wc, watching(workflows.LinkageWorkflowID(wave))))
	res, err := wc.WaitLinkage(ctx, wave)
	stop()
	if err != nil {
		return err
	}
	printLinkage(out, res)
	if err := printDisclosedMatchRates(ctx, out, st, wave); err != nil {
		return err
	}
	record := "ID"
	if id, ok, err := demoWithdrawable(ctx, st, wave); err != nil {
		return err
	} else if ok {
		record = id
	}
	fmt.Fprintf(out, "Try: ice link status --wave %s; ice link withdraw --wave %s --record %s, then ice link --wave %s --withdrawals-only\n", wave, wave, record, wave)
	fmt.Fprintf(out, "     duckdb -readonly %s \"SELECT * FROM linkage_disclosed WHERE aggregate = 'experience_by_burden' AND subject = 'P_REPEAT_STORY'\"\n", st.Warehouse.Path())
	return nil
}

// demoWithdrawable names a linked patient whose consent was given before now, so the
// withdrawal the demo suggests takes effect: most of the demo's responses are dated
// on its simulated calendar, which runs ahead of the real clock, and a consent given
// after a withdrawal outranks it (ice link withdraw says so).
func demoWithdrawable(ctx context.Context, st *devstack.Stack, wave string) (string, bool, error) {
	events, err := linkage.ReadConsentEvents(ctx, st.Store, wave)
	if err != nil {
		return "", false, fmt.Errorf("consent events: %w", err)
	}
	var ids []string
	for s, e := range linkage.Latest(events) {
		if s.RespondentType == schemas.RespondentPatient && e.Event == schemas.ConsentGiven && e.At.Before(time.Now()) {
			ids = append(ids, s.SurveyRecordID)
		}
	}
	if len(ids) == 0 {
		return "", false, nil
	}
	return slices.Min(ids), true, nil
}

// printDisclosedMatchRates prints, from the warehouse, the share of each ICS's
// consenting respondents found in each dataset, as the disclosure package let it be
// shown (linkage_disclosed): a withheld share is shown as withheld, with its status.
func printDisclosedMatchRates(ctx context.Context, out *os.File, st *devstack.Stack, wave string) error {
	type rate struct {
		dataset, ics, status string
		count, base          sql.NullInt64
		share                sql.NullFloat64
	}
	var rates []rate
	err := st.Warehouse.Read(ctx, func(db *sql.DB) error {
		rows, err := db.QueryContext(ctx, `SELECT subject, group_value, count, base, share, status FROM linkage_disclosed
WHERE wave_id = ? AND aggregate = 'match_rates' AND grouping = 'ics' AND category = 'linked' ORDER BY subject, group_value`, wave)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r rate
			if err := rows.Scan(&r.dataset, &r.ics, &r.count, &r.base, &r.share, &r.status); err != nil {
				return err
			}
			rates = append(rates, r)
		}
		return rows.Err()
	})
	if err != nil {
		return fmt.Errorf("linkage: reading the disclosed match rates: %w", err)
	}
	fmt.Fprintln(out, "  Consenting respondents found in each dataset, by ICS (linkage_disclosed: what may be shown)")
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, r := range rates {
		name := icsWithName(r.ics)
		if !r.share.Valid {
			// As many cells as a shown row, so the columns line up across the table.
			fmt.Fprintf(w, "  %s\t%s\twithheld\t\t(%s)\n", r.dataset, name, r.status)
			continue
		}
		fmt.Fprintf(w, "  %s\t%s\t%s%%\t%d of %d\t%s\n", r.dataset, name, pct1(100*r.share.Float64), r.count.Int64, r.base.Int64, r.status)
	}
	return w.Flush()
}
