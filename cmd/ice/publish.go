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

	"icesurvey/publication"
	"icesurvey/store"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// publishCmd is `ice publish`: draft a release of a wave's published comparable data
// (issue #14) and sign it off.
func publishCmd() *cobra.Command {
	var c conn
	var wave, release, paramsPath string
	var exclude []string
	var timeout time.Duration
	var anyWave bool
	var params *publication.Overrides
	cmd := &cobra.Command{
		Use:   "publish --wave W [--release R] [--params FILE] [--exclude ICS,...]",
		Short: "Draft a release of a wave's published comparable data, and show it",
		Long: `Starts drafting a release of the wave's published comparable data (or joins the draft the
wave started when its fieldwork ended), waits until the draft is written, and prints the
release ID, where its files are and its summary: each ICS's weighting status (an ICS
whose raking failed must be left out at approval) and what small-number suppression
withheld. Sign it off with ` + "`ice publish approve`" + `.

Refused while the wave's fieldwork runs (a release then would count part of the
responses, and the wave's own draft would join it when it closes). A cancelled wave
drafts no release of its own: one is drafted by hand only with every ICS whose
fieldwork ended early in --exclude.

--params FILE sets the release's parameters (PUBLICATION.md's, by its names: vars, lo, hi,
min_level_n, tol, max_sweeps, confidence, min_base, caution_base, min_count, breakdowns,
group_comparison, england_counts) in a YAML file; what it leaves out keeps its default.
confidence is a fraction (0.9 for 90 % intervals). The file is read and checked before
anything starts: an unknown field or a bad value is refused, naming the file and field.
The values used are in the release's metadata, its workbook's Notes and its method note.
Parameters apply to a new release: a release already drafted keeps its own.`,
		PreRunE: func(*cobra.Command, []string) error {
			if wave == "" {
				return fmt.Errorf("--wave is required")
			}
			if paramsPath == "" {
				return nil
			}
			var err error
			params, err = publication.ReadOverrides(paramsPath)
			return err
		},
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if err := knownWave(ctx, cl, wave, nil, anyWave); err != nil {
				return err
			}
			run, err := cl.StartPublication(ctx, wave, waveclient.PublicationOptions{ReleaseID: release, Exclude: exclude, Params: params})
			if err != nil {
				return err
			}
			fmt.Printf("publication of release %s of wave %s: workflow %s\n", run.ReleaseID, wave, run.WorkflowID)
			wctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			stop := reportRetrying(ctx, os.Stderr, under(cl, watching(run.WorkflowID)))
			st, err := cl.WaitPublicationDraft(wctx, wave, run.ReleaseID, time.Second)
			stop()
			if err != nil {
				return err
			}
			printPublication(os.Stdout, st, c.storeURL)
			if kept := notExcluded(st, exclude); len(kept) > 0 {
				return fmt.Errorf("release %s of wave %s was drafted before, with %s in it: --exclude does not change a release already drafted; "+
					"draft a new release to leave them out (`ice publish --wave %s --release r2 --exclude %s`)",
					st.ReleaseID, wave, strings.Join(kept, ", "), wave, strings.Join(exclude, ","))
			}
			if differ := paramsNotUsed(st, params); len(differ) > 0 {
				return fmt.Errorf("release %s of wave %s was drafted before with other parameters (%s): --params does not change a release already drafted; "+
					"draft a new release with them (`ice publish --wave %s --release r2 --params %s`)",
					st.ReleaseID, wave, strings.Join(differ, "; "), wave, paramsPath)
			}
			return nil
		}),
	}
	f := cmd.Flags()
	c.bind(cmd)
	f.StringVar(&wave, "wave", "", "wave ID")
	f.StringVar(&release, "release", "", "release ID (default "+waveclient.FirstReleaseID+", the release the wave drafts when its fieldwork ends)")
	f.StringSliceVar(&exclude, "exclude", nil, "ICSs to leave out of the release's figures (a new release)")
	f.StringVar(&paramsPath, "params", "", "YAML file of the release's parameters by PUBLICATION.md's names (min_base, confidence, ...); the rest keep their defaults (a new release)")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "how long to wait for the draft")
	bindAnyWave(cmd, &anyWave)
	cmd.AddCommand(publishApproveCmd(), publishStatusCmd(), publishListCmd())
	return cmd
}

func publishApproveCmd() *cobra.Command {
	var c conn
	var wave, release, by string
	var leaveOut []string
	cmd := &cobra.Command{
		Use:   "approve --wave W --release R --by NAME [--leave-out ICS,...]",
		Short: "Sign a draft release off: it is published",
		Long: `Signs a draft release off as NAME; the release is published. Refused while any ICS's
raking failed (rake_failed) unless that ICS is left out with --leave-out.`,
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if by = strings.TrimSpace(by); wave == "" || release == "" || by == "" {
				return fmt.Errorf("--wave, --release and --by are required")
			}
			ap, err := cl.ApprovePublication(ctx, wave, release, by, leaveOut)
			if err != nil {
				return err
			}
			fmt.Printf("release %s of wave %s published: approved by %s at %s", release, wave, ap.By, ap.At.Format(time.RFC3339))
			if len(ap.LeftOut) > 0 {
				fmt.Printf(", leaving out %s", strings.Join(ap.LeftOut, ", "))
			}
			fmt.Printf("\n  manifest %s\n", storeLocation(c.storeURL, ap.Manifest))
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&wave, "wave", "", "wave ID")
	f.StringVar(&release, "release", "", "release ID")
	f.StringVar(&by, "by", "", "who signs the release off")
	f.StringSliceVar(&leaveOut, "leave-out", nil, "ICSs without figures to leave out (every ICS whose raking failed)")
	return cmd
}

func publishStatusCmd() *cobra.Command {
	var c conn
	var wave, release string
	cmd := &cobra.Command{
		Use:   "status --wave W [--release R]",
		Short: "Show where a release stands",
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if wave == "" {
				return fmt.Errorf("--wave is required")
			}
			if release == "" {
				release = waveclient.FirstReleaseID
			}
			st, err := cl.PublicationStatus(ctx, wave, release)
			if err != nil {
				return err
			}
			printPublication(os.Stdout, st, c.storeURL)
			printRetrying(os.Stdout, retrying(ctx, os.Stdout, under(cl, watching(workflows.PublicationWorkflowID(wave, release)))))
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&wave, "wave", "", "wave ID")
	cmd.Flags().StringVar(&release, "release", "", "release ID (default "+waveclient.FirstReleaseID+")")
	return cmd
}

// publishListCmd lists a wave's releases from the store (no cluster needed).
func publishListCmd() *cobra.Command {
	var storeURL, wave string
	cmd := &cobra.Command{
		Use:   "list --wave W",
		Short: "List a wave's releases: status, approval, parameters not the defaults, where their files are",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if wave == "" {
				return fmt.Errorf("--wave is required")
			}
			ctx := cmd.Context()
			st, err := store.Open(ctx, storeURL)
			if err != nil {
				return err
			}
			rels, err := publication.Releases(ctx, st, wave)
			if err != nil {
				return err
			}
			if len(rels) == 0 {
				fmt.Printf("wave %s has no release in %s (the wave drafts %s when every ICS has closed)\n", wave, storeURL, waveclient.FirstReleaseID)
				return nil
			}
			return printReleases(os.Stdout, rels, storeURL)
		},
	}
	cmd.Flags().StringVar(&storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store: file://DIR or s3://bucket/prefix (ICE_STORE)")
	cmd.Flags().StringVar(&wave, "wave", "", "wave ID")
	return cmd
}

// printReleases writes a wave's releases as a table.
func printReleases(out io.Writer, rels []publication.ReleaseEntry, storeURL string) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RELEASE\tSTATUS\tAPPROVED\tPARAMETERS\tFILES")
	for _, r := range rels {
		approved := "-"
		if r.ApprovedBy != "" {
			approved = inert(r.ApprovedBy)
			if r.ApprovedAt != nil {
				approved += " at " + r.ApprovedAt.UTC().Format(time.RFC3339)
			}
			if len(r.LeftOut) > 0 {
				approved += ", leaving out " + strings.Join(r.LeftOut, ",")
			}
		}
		params := "(not recorded)"
		if len(r.Parameters) > 0 {
			params = describeParams(r.Parameters)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ReleaseID, r.Status, approved, params, storeLocation(storeURL, r.Prefix))
	}
	return tw.Flush()
}

// notExcluded lists the ICSs asked to be excluded that the release holds all the same:
// a start of a release already drafted (or drafting) joins it, with its own exclusions.
func notExcluded(st waveclient.PublicationStatus, exclude []string) []string {
	var out []string
	for _, ics := range exclude {
		if i := slices.IndexFunc(st.ICS, func(r waveclient.ReleaseICS) bool { return r.ICS == ics }); i >= 0 && st.ICS[i].WeightingStatus != publication.StatusExcluded {
			out = append(out, ics)
		}
	}
	return out
}

// paramsNotUsed lists the parameters asked for (those the file sets) that the release
// was not computed with, as "name: asked, release's": a start of a release already
// drafted (or drafting) joins it, with its own parameters. A release that does not
// report its parameters (drafted before they were reported) cannot be checked: nothing
// is listed.
func paramsNotUsed(st waveclient.PublicationStatus, params *publication.Overrides) []string {
	if params.Empty() || len(st.Parameters) == 0 {
		return nil
	}
	want, err := params.Apply(publication.DefaultParams())
	if err != nil {
		return []string{err.Error()}
	}
	used := map[string]string{}
	for _, p := range st.Parameters {
		used[p.Name] = p.Value
	}
	var out []string
	// Only what was asked for: a parameter the file leaves out is not asked for (the
	// wave's own r1 may have it from the wave spec).
	asked := params.Names()
	for _, p := range want.Metadata() {
		if !slices.Contains(asked, p.Name) {
			continue
		}
		if got, ok := used[p.Name]; ok && got != p.Value {
			out = append(out, fmt.Sprintf("%s: asked %s, the release's %s", p.Name, p.Value, got))
		}
	}
	return out
}

// describeParams says a release's parameters as the commands print them: those that
// are not the defaults, or that all are.
func describeParams(params []waveclient.ReleaseParam) string {
	if nd := notDefault(params); len(nd) > 0 {
		return strings.Join(nd, ", ")
	}
	return "PUBLICATION.md's defaults"
}

// notDefault lists a release's parameters whose values are not the defaults, as
// "name value".
func notDefault(params []waveclient.ReleaseParam) []string {
	def := map[string]string{}
	for _, p := range publication.DefaultParams().Metadata() {
		def[p.Name] = p.Value
	}
	var out []string
	for _, p := range params {
		if d, ok := def[p.Name]; ok && d != p.Value && p.Name != "exclude" && p.Name != "local_questions" {
			out = append(out, p.Name+" "+p.Value)
		}
	}
	return out
}

// storeLocation is where key is in the store storeURL names.
func storeLocation(storeURL, key string) string {
	return strings.TrimSuffix(storeURL, "/") + "/" + key
}

// printPublication prints a release's stage, location and summary.
func printPublication(out io.Writer, st waveclient.PublicationStatus, storeURL string) {
	fmt.Fprintf(out, "release %s of wave %s: %s\n", st.ReleaseID, st.WaveID, st.Stage)
	if st.WaitingOn != "" {
		fmt.Fprintf(out, "  waiting for %s\n", st.WaitingOn)
	}
	if st.Error != "" {
		fmt.Fprintf(out, "  error: %s\n", st.Error)
	}
	if st.Prefix != "" {
		fmt.Fprintf(out, "  files     %s\n", storeLocation(storeURL, st.Prefix))
		fmt.Fprintf(out, "  manifest  %s (sha256 %s)\n", storeLocation(storeURL, st.ManifestKey), st.ManifestSHA256)
	}
	if len(st.Parameters) > 0 {
		if nd := notDefault(st.Parameters); len(nd) > 0 {
			fmt.Fprintf(out, "  parameters %s; the rest PUBLICATION.md's defaults (all in its metadata.json)\n", strings.Join(nd, ", "))
		} else {
			fmt.Fprintln(out, "  parameters PUBLICATION.md's defaults")
		}
	}
	if a := st.Approval; a != nil {
		fmt.Fprintf(out, "  approved by %s at %s", a.By, a.At.Format(time.RFC3339))
		if len(a.LeftOut) > 0 {
			fmt.Fprintf(out, ", leaving out %s", strings.Join(a.LeftOut, ", "))
		}
		fmt.Fprintln(out)
	}
	if len(st.ICS) > 0 {
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "  ICS\tpublished\tweighting\tpatients\tcarers\treason")
		for _, r := range st.ICS {
			pub := "yes"
			if !r.Published {
				pub = "no"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\t%d\t%d\t%s\n", r.ICS, pub, r.WeightingStatus, r.Patients, r.Carers, r.Reason)
		}
		w.Flush()
	}
	if s := st.Summary; s != nil {
		fmt.Fprintf(out, "  %d tables checked; withheld: %d rows (base under the minimum or secondary), %d cells (%d primary, %d secondary, %d in withheld rows), %d %%-positive figures; %d rows with a caution mark\n",
			s.TablesChecked, s.RowsWithheld, s.CellsWithheld, s.CellsPrimary, s.CellsSecondary, s.CellsInWithheldRows, s.PositiveWithheld, s.RowsCaution)
		if len(s.RakeFailed) > 0 {
			fmt.Fprintf(out, "  raking failed for %s: approve with --leave-out %s\n", strings.Join(s.RakeFailed, ", "), strings.Join(s.RakeFailed, ","))
		}
	}
}
