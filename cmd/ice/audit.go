package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/store"
)

func auditCmd() *cobra.Command {
	var storeURL, wave string
	var asJSON bool
	var filter auditFilter
	cmd := &cobra.Command{
		Use:   "audit --wave W",
		Short: "Print a wave's audit trail: every activity attempt and domain event",
		Long: `Reads the trail from the object store (the compacted Parquet batches in the lake
and the attempts not yet compacted), so it works while the worker holds the warehouse.

The filters narrow it, and are combined: --kind names event kinds (intake matches
intake.file_received and every other intake.* kind; a kind that is none is refused),
--activity activity types, --ics the ICSs (both in any case; wave-level events have no
ICS), --failed keeps the attempts that failed (not the polls for a DBS reply not come
yet, nor the waits for the warehouse's lock), and the attempts of killed workers that
a worker started after them failed (dead_worker_attempt_failed, naming the dead
worker). A store that does not exist, or a wave of which it holds no trail, is refused
rather than shown as "0 events".
For example:

  ice audit --wave W --failed                        every attempt that failed, and why
  ice audit --wave W --ics QMM --kind intake,dbs_applied
  ice audit --wave W --kind free_text_export,free_text_refused,profile_quote_chosen`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := store.OpenExisting(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			all, err := waveTrail(cmd.Context(), st, wave)
			if err != nil {
				return err
			}
			if filter, err = filter.normalise(all); err != nil {
				return err
			}
			events := filter.apply(all)
			if asJSON {
				return printJSONLines(os.Stdout, events)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "TIME\tICS\tKIND\tACTIVITY\tATTEMPT\tOUTCOME\tDETAILS")
			for _, e := range events {
				detail := e.Details
				if e.Kind == audit.KindActivityAttempt {
					detail = "in " + short(e.InputSHA256) + " out " + short(e.OutputSHA256)
					if e.Error != "" {
						detail = e.Error
						if e.ErrorType != "" {
							detail = e.ErrorType + ": " + e.Error
						}
					}
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.StartedAt.Format(time.RFC3339Nano), inert(e.ICS), inert(e.Kind),
					inert(e.ActivityType), e.Attempt, inert(e.Outcome), inert(detail))
			}
			if len(events) == len(all) {
				fmt.Fprintf(w, "%d events\n", len(events))
			} else {
				fmt.Fprintf(w, "%d of the wave's %d events\n", len(events), len(all))
			}
			return w.Flush()
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store (ICE_STORE)")
	f.StringVar(&wave, "wave", "", "wave ID")
	f.BoolVar(&asJSON, "json", false, "print JSON lines")
	f.StringSliceVar(&filter.kinds, "kind", nil, "only these event kinds (a kind also matches its dotted sub-kinds)")
	f.StringSliceVar(&filter.activities, "activity", nil, "only events of these activity types (any case)")
	f.StringSliceVar(&filter.ics, "ics", nil, "only events of these ICSs (any case)")
	f.BoolVar(&filter.failed, "failed", false, "only activity attempts that failed (not polls for a reply or waits for the warehouse's lock)")
	_ = cmd.MarkFlagRequired("wave")
	cmd.AddCommand(auditReadsCmd())
	return cmd
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

// auditFilter narrows a trail to what a reader asks for; an empty filter keeps it whole.
type auditFilter struct {
	kinds, activities, ics []string
	failed                 bool
}

// waveTrail is the audit trail of a wave, refused when there is none: every wave run
// has one, so an empty trail is a mistyped wave id or the wrong store, not an answer.
func waveTrail(ctx context.Context, st store.Store, wave string) ([]audit.Event, error) {
	if wave == "" {
		return nil, fault.Errorf(fault.BadInput, "--wave is required")
	}
	all, err := audit.Trail(ctx, st, wave)
	if err != nil {
		return nil, err
	}
	if len(all) == 0 {
		return nil, noTrail(st, wave)
	}
	return all, nil
}

func noTrail(st store.Store, wave string) error {
	return fault.Errorf(fault.BadInput, "no audit trail of wave %s in store %s: is the wave id or --store (ICE_STORE) right?", wave, st.URL())
}

// normalise refuses a --kind that is no kind of event, and spells the ICSs as the
// trail does (upper case), so a filter that cannot match anything is not taken for an
// answer of nothing. A kind the trail holds is known even if audit.Kinds missed it.
func (f auditFilter) normalise(trail []audit.Event) (auditFilter, error) {
	inTrail := map[string]bool{}
	for _, e := range trail {
		inTrail[e.Kind] = true
	}
	for _, k := range f.kinds {
		if audit.KnownKind(k) || inTrail[k] {
			continue
		}
		if like := audit.KindsStartingWith(k); len(like) > 0 {
			return f, fault.Errorf(fault.BadInput, "--kind %s: no such kind of event; did you mean %s?", k, strings.Join(like, ", "))
		}
		return f, fault.Errorf(fault.BadInput, "--kind %s: no such kind of event; the kinds are %s (a kind before a dot, such as intake, takes its sub-kinds)",
			k, strings.Join(audit.Kinds, ", "))
	}
	ics := make([]string, len(f.ics))
	for i, c := range f.ics {
		ics[i] = strings.ToUpper(strings.TrimSpace(c))
	}
	f.ics = ics
	// An ICS or activity type the trail never names is a typo more often than an
	// answer: "0 of the wave's 186 events" read as "nothing happened there".
	var codes, types []string
	for _, e := range trail {
		if e.ICS != "" && !slices.Contains(codes, e.ICS) {
			codes = append(codes, e.ICS)
		}
		if e.ActivityType != "" && !slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, e.ActivityType) }) {
			types = append(types, e.ActivityType)
		}
	}
	slices.Sort(codes)
	slices.Sort(types)
	for _, c := range f.ics {
		if !slices.Contains(codes, c) {
			return f, fault.Errorf(fault.BadInput, "--ics %s: no event of the wave names that ICS (its trail names %s)", c, strings.Join(codes, ", "))
		}
	}
	for _, a := range f.activities {
		if !slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, strings.TrimSpace(a)) }) {
			return f, fault.Errorf(fault.BadInput, "--activity %s: no activity of that type ran in the wave (its trail has %s)", a, strings.Join(types, ", "))
		}
	}
	return f, nil
}

func (f auditFilter) keeps(e audit.Event) bool {
	if len(f.kinds) > 0 && !slices.ContainsFunc(f.kinds, func(k string) bool {
		return e.Kind == k || strings.HasPrefix(e.Kind, k+".")
	}) {
		return false
	}
	if len(f.activities) > 0 && !slices.ContainsFunc(f.activities, func(a string) bool {
		return strings.EqualFold(strings.TrimSpace(a), e.ActivityType)
	}) {
		return false
	}
	if len(f.ics) > 0 && !slices.Contains(f.ics, e.ICS) {
		return false
	}
	// A poll for a reply not come yet, or a wait for the warehouse's lock, ended as
	// designed: --failed leaves it out (--kind activity_attempt lists every attempt). The
	// attempt of a dead worker, failed by the worker started after it, is a failure.
	return !f.failed || e.Kind == audit.KindActivityAttempt && e.Outcome != "ok" && !fault.Kind(e.ErrorType).Awaited() ||
		e.Kind == audit.KindDeadWorkerAttempt
}

func (f auditFilter) apply(events []audit.Event) []audit.Event {
	out := events[:0:0]
	for _, e := range events {
		if f.keeps(e) {
			out = append(out, e)
		}
	}
	return out
}

// printJSONLines writes each item as one line of JSON.
func printJSONLines[T any](out io.Writer, items []T) error {
	enc := json.NewEncoder(out)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return nil
}
