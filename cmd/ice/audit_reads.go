package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/audit"
	"icesurvey/freetext"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/web/dashdata"
)

// auditReadsCmd lists the free-text access records: every view, search, download,
// coding read and refusal the dashboard and ice recorded under free-text/W/ICS/reads/
// before showing anything. They are the answer to "who saw this comment?", which the
// wave's audit trail cannot give (it never names a response).
func auditReadsCmd() *cobra.Command {
	var storeURL, wave, user, response string
	var icss []string
	var refused, asJSON bool
	cmd := &cobra.Command{
		Use:   "reads --wave W [--ics C] [--user U] [--response R] [--refused]",
		Short: "List who read, searched, downloaded or coded a wave's free text, and every refusal",
		Long: `Lists the free-text access records of a wave, oldest first: who, when, which ICS,
what they did, the query they typed, how many comments they were shown and under whose
grant, or why they were refused. The records are written before anything is shown, by
the dashboard and by ice's free-text commands.

--response R keeps the reads that showed that comment: who has seen it. The records
hold what readers typed, verbatim, so they live in the free-text area; this command
needs a store (--store) that reaches it. --ics none selects the refusals of requests
that named no ICS (listed with ICS "(none)").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := store.OpenExisting(cmd.Context(), storeURL)
			if err != nil {
				return err
			}
			for i, c := range icss {
				icss[i] = strings.ToUpper(strings.TrimSpace(c)) // as the records spell it
				if strings.EqualFold(icss[i], "none") || strings.EqualFold(icss[i], "(none)") {
					// The refusals of requests that named no ICS, as the table lists them.
					icss[i] = ""
				}
			}
			// Sign-in keeps user ids in lower case; a reader may type them otherwise.
			user = strings.ToLower(strings.TrimSpace(user))
			reads, err := freeTextReads(cmd.Context(), st, wave, icss)
			if err != nil {
				return err
			}
			if len(reads) == 0 {
				// No reads may be the answer, but not for a wave this store never ran.
				if ok, err := audit.HasTrail(cmd.Context(), st, wave); err != nil {
					return err
				} else if !ok {
					return noTrail(st, wave)
				}
			}
			kept := reads[:0:0]
			for _, e := range reads {
				if (user == "" || strings.EqualFold(e.UserID, user)) && (response == "" || slices.Contains(e.ResponseIDs, response)) && (!refused || !e.Allowed) {
					kept = append(kept, e)
				}
			}
			if asJSON {
				return printJSONLines(os.Stdout, kept)
			}
			return printReads(os.Stdout, kept, len(reads))
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store (ICE_STORE)")
	f.StringVar(&wave, "wave", "", "wave ID")
	f.StringSliceVar(&icss, "ics", nil, "only these ICSs, any case; none: refusals that named no ICS (default: every ICS with free-text records)")
	f.StringVar(&user, "user", "", "only this reader (any case)")
	f.StringVar(&response, "response", "", "only the reads that showed this response's comments")
	f.BoolVar(&refused, "refused", false, "only refused requests")
	f.BoolVar(&asJSON, "json", false, "print JSON lines")
	_ = cmd.MarkFlagRequired("wave")
	return cmd
}

// freeTextReads reads the access records of the named ICSs of a wave, or of every
// ICS that has any, oldest first.
func freeTextReads(ctx context.Context, st store.Store, wave string, icss []string) ([]freetext.AuditEvent, error) {
	if wave == "" {
		return nil, fmt.Errorf("--wave is required")
	}
	if len(icss) == 0 {
		prefix := schemas.AreaFreeText.WavePrefix(wave)
		infos, err := st.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("list the free text of %s: %w", wave, err)
		}
		for _, in := range infos {
			ics, _, _ := strings.Cut(strings.TrimPrefix(in.Key, prefix), "/")
			if strings.HasPrefix(in.Key, schemas.FreeTextReadsPrefix(wave, ics)) && !slices.Contains(icss, ics) {
				icss = append(icss, ics)
			}
		}
	}
	src := dashdata.FreeTextStore{Store: st}
	var out []freetext.AuditEvent
	for _, ics := range icss {
		reads, err := src.FreeTextReads(ctx, wave, ics)
		if err != nil {
			return nil, fmt.Errorf("the free-text reads of %s %s: %w", wave, ics, err)
		}
		out = append(out, reads...)
	}
	slices.SortStableFunc(out, func(a, b freetext.AuditEvent) int { return a.At.Compare(b.At) })
	return out, nil
}

func printReads(out io.Writer, reads []freetext.AuditEvent, of int) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tUSER\tICS\tACTION\tSHOWN\tQUERY\tDECISION")
	for _, e := range reads {
		decision := "allowed"
		if e.ApprovedBy != "" {
			decision += " (grant approved by " + e.ApprovedBy + ")"
		}
		if !e.Allowed {
			decision = "REFUSED: " + e.Reason
		}
		ics := e.ICS
		if ics == "" {
			ics = "(none)" // a refusal of a request that named no ICS
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), inert(e.UserID), inert(ics), inert(string(e.Action)),
			e.RowsShown, inert(e.Query), inert(decision))
	}
	if len(reads) == of {
		fmt.Fprintln(w, plural(len(reads), "read", "reads"))
	} else {
		fmt.Fprintf(w, "%d of the wave's %d reads\n", len(reads), of)
	}
	return w.Flush()
}
