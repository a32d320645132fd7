package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/user"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/store"
	"icesurvey/waveclient"
	"icesurvey/workflows"
)

// Consented linkage (#15): `ice link`, `ice link withdraw`, `ice link status` and
// `ice synth linkage`.

func linkCmd() *cobra.Command {
	var c conn
	var in waveclient.LinkageInput
	var noWait, anyWave bool
	cmd := &cobra.Command{
		Use:   "link --wave W [--withdrawals-only]",
		Short: "Link a closed wave's consenting respondents to their health and care activity (a new release)",
		Long: `Starts LinkageWorkflow for the wave: derive consent from the lake, validate the
providers' extracts in restricted-landing/linkage/W/, build a release keyed by release
pseudonyms with its quality report, put the aggregate counts through disclosure
control, export it UDAL-style and load it into the warehouse; then delete the extracts
it validated (their SHA-256, size and counts kept in reports/linkage/W/
extract-lineage.json and the audit trail). The release retires the wave's earlier ones.
An object in restricted-landing/linkage/W/ outside the dataset folders (a misspelt
folder), or a manifest without its extract, fails the run before anything is validated,
named: move it into its dataset's folder (or remove it) and run again.

--withdrawals-only rebuilds from the extracts already validated, with consent as it
stands now: after ` + "`ice link withdraw`" + `, it removes the withdrawn from every linked
output, export and warehouse table.`,
		Args: cobra.NoArgs,
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if in.WaveID == "" {
				return fmt.Errorf("--wave is required")
			}
			// A mistyped wave would have its consent derived, written to the lake and
			// audited (and reloaded into the warehouse) before the run failed.
			if err := knownWave(ctx, cl, in.WaveID, nil, anyWave); err != nil {
				return fmt.Errorf("linkage of %s: %w", in.WaveID, err)
			}
			started, err := cl.StartLinkage(ctx, in)
			if err != nil {
				return err
			}
			fmt.Printf("linkage of %s started: release %s%s\n", started.WaveID, started.ReleaseID, map[bool]string{true: " (withdrawals only)"}[started.WithdrawalsOnly])
			if noWait {
				return nil
			}
			stop := reportRetrying(ctx, os.Stderr, under(cl, watching(workflows.LinkageWorkflowID(started.WaveID))))
			res, err := cl.WaitLinkage(ctx, started.WaveID)
			stop()
			if err != nil {
				// A failed run returns no result; its query still says how far it came.
				if res, qerr := cl.LinkageStatus(ctx, started.WaveID); qerr == nil && res.ReleaseID == started.ReleaseID {
					printLinkage(os.Stdout, res)
					fmt.Printf("release %s FAILED at step %s (what it did before is above)\n", res.ReleaseID, res.Step)
				}
				return err
			}
			printLinkage(os.Stdout, res)
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&in.WaveID, "wave", "", "the wave")
	f.StringVar(&in.ReleaseID, "release", "", "release id (default R<UTC time>, -w for withdrawals only)")
	f.BoolVar(&in.WithdrawalsOnly, "withdrawals-only", false, "rebuild without validating extracts, to apply withdrawals")
	f.BoolVar(&noWait, "no-wait", false, "start the run and return")
	bindAnyWave(cmd, &anyWave)
	cmd.AddCommand(linkWithdrawCmd(), linkStatusCmd())
	return cmd
}

func linkWithdrawCmd() *cobra.Command {
	var c conn
	var w waveclient.LinkageWithdrawal
	var carer, anyWave bool
	cmd := &cobra.Command{
		Use:   "withdraw --wave W --record ID",
		Short: "Record that a person withdrew their consent to linkage (reason withdraw_linkage by default)",
		Long: `Records a withdrawal consent event for the survey record, with who recorded it, the
reason code and the command's id (its source). The person is linked no more: the next
release leaves them out of every output (run ` + "`ice link --wave W --withdrawals-only`" + ` to
apply it now). Reasons: ` + strings.Join(linkage.OperatorReasons, ", ") + `.`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if w.Operator == "" {
				if u, err := user.Current(); err == nil {
					w.Operator = u.Username
				}
			}
			// Refused before the cluster is reached: nothing of it is recorded.
			return waveclient.CheckLinkageWithdrawal(w)
		},
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if w.WaveID == "" || w.SurveyRecordID == "" {
				return fmt.Errorf("--wave and --record are required")
			}
			if carer {
				w.RespondentType = "carer"
			}
			if err := knownWave(ctx, cl, w.WaveID, nil, anyWave); err != nil {
				return fmt.Errorf("withdraw linkage consent in %s: %w", w.WaveID, err)
			}
			out, err := cl.WithdrawLinkage(ctx, w)
			if err != nil {
				return err
			}
			if out.Repeated {
				fmt.Printf("withdrawal already recorded, by this command id (%s) at %s: event %s for %s (%s) in %s\n", w.CommandID,
					out.At.UTC().Format(time.RFC3339), out.EventID, w.SurveyRecordID, out.ICS, out.Key)
			} else {
				fmt.Printf("withdrawal recorded: event %s for %s (%s) in %s\n", out.EventID, w.SurveyRecordID, out.ICS, out.Key)
			}
			if by := out.StillLinkableBy; by != nil {
				return fmt.Errorf("the withdrawal does not take effect: %s's consent was given later, in %s %s received %s, after this withdrawal at %s, "+
					"and a person's latest consent event stands; a consent dated after the withdrawal was recorded means a clock is wrong "+
					"(in ice demo, the simulated calendar runs ahead of the real one)",
					w.SurveyRecordID, by.SourceKind, by.SourceRef, by.At.UTC().Format(time.RFC3339), out.At.UTC().Format(time.RFC3339))
			}
			// A release being built now may have read consent before this withdrawal.
			var building *waveclient.LinkageResult
			if end, err := cl.RunEndOf(ctx, workflows.LinkageWorkflowID(w.WaveID)); err == nil && end.Status == "running" {
				if res, err := cl.LinkageStatus(ctx, w.WaveID); err == nil {
					building = &res
				}
			}
			fmt.Println(withdrawalNext(w.WaveID, building))
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&w.WaveID, "wave", "", "the wave")
	f.StringVar(&w.SurveyRecordID, "record", "", "the person's survey record id")
	f.StringVar(&w.Operator, "operator", "", "who is recording the withdrawal (default: the login name)")
	f.StringVar(&w.Reason, "reason", linkage.ReasonWithdrawLinkage, "reason code: "+strings.Join(linkage.OperatorReasons, ", "))
	f.StringVar(&w.CommandID, "command-id", "", "idempotency id: the same id again is the same withdrawal, refused if its record, operator or reason differ (default random)")
	f.BoolVar(&carer, "carer", false, "the withdrawal is the carer's (carers are never linked; recorded all the same)")
	bindAnyWave(cmd, &anyWave)
	return cmd
}

// withdrawalNext says what to do after a withdrawal is recorded: a withdrawals-only
// release removes the person from the current release. When a release of the wave is
// being built (building, its run's status; nil when none is), that release read consent
// before the withdrawal (or, at its consent step, may have) and still links them, and
// a new run is refused until it ends: so the command says so, rather than point at the
// current release alone.
func withdrawalNext(wave string, building *waveclient.LinkageResult) string {
	run := fmt.Sprintf("`ice link --wave %s --withdrawals-only`", wave)
	if building == nil {
		return fmt.Sprintf("run %s to remove them from the current release", run)
	}
	read := "read consent before this withdrawal, and still links them"
	if building.Step == workflows.LinkageStepConsent {
		read = "is reading consent now and may have read it before this withdrawal, so it may still link them"
	}
	return fmt.Sprintf("release %s of %s is being built now (step %s) and %s: once it has ended (`ice link status --wave %s`), run %s to remove them from it",
		building.ReleaseID, wave, building.Step, read, wave, run)
}

func linkStatusCmd() *cobra.Command {
	return onWaveCmd("status --wave W", "Show the wave's latest linkage run",
		func(ctx context.Context, cl *waveclient.Client, wave string) error {
			res, err := cl.LinkageStatus(ctx, wave)
			if err != nil {
				return err
			}
			printLinkage(os.Stdout, res)
			// The query says how far the run came; whether it is still running, or
			// failed there, is the run's own status.
			if end, err := cl.RunEndOf(ctx, workflows.LinkageWorkflowID(wave)); err == nil {
				fmt.Println(runEndLine(res, end))
			}
			printRetrying(os.Stdout, retrying(ctx, os.Stdout, under(cl, watching(workflows.LinkageWorkflowID(wave)))))
			return nil
		})
}

// runEndLine says how a linkage run stands: running (at its step), done, or failed at
// its step and why.
func runEndLine(r waveclient.LinkageResult, end waveclient.RunEnd) string {
	switch {
	case end.Status == "running":
		return fmt.Sprintf("run         running, at step %s", r.Step)
	case end.Error != "":
		return fmt.Sprintf("run         %s at step %s: %s", strings.ToUpper(end.Status), r.Step, end.Error)
	default:
		return "run         " + end.Status
	}
}

// printLinkage writes a linkage run as a person reads it.
func printLinkage(out io.Writer, r waveclient.LinkageResult) {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "linkage %s release %s: step %s\n", r.WaveID, r.ReleaseID, r.Step)
	c := r.Consent.Counts
	fmt.Fprintf(w, "consent\t%d events; latest: %d given, %d declined, %d withdrawn (%d after giving consent, %d who never gave it); carers' consent, never linked: %d\n",
		c.Events, c.PatientsGiven, c.PatientsDeclined, c.PatientsWithdrew, c.PatientsWithdrewAfterGiving, c.PatientsWithdrew-c.PatientsWithdrewAfterGiving, c.CarersGiven)
	for _, e := range r.Extracts {
		if e.Refused != "" {
			fmt.Fprintf(w, "extract\t%s\tREFUSED: %s\n", e.Key, e.Refused)
			continue
		}
		fmt.Fprintf(w, "extract\t%s\t%d rows: %d accepted, %d rejected, %d excluded (not linkable)", e.Key, e.RowsRead, e.Accepted, e.Rejected, e.Excluded)
		if len(e.UnknownColumns) > 0 {
			fmt.Fprintf(w, "; columns not in the definition, ignored: %s", strings.Join(e.UnknownColumns, ", "))
		}
		fmt.Fprintln(w)
	}
	if p := r.Purge; p != nil {
		fmt.Fprintf(w, "purge\t%d validated extract objects, %d rewritten: %d activity and %d diagnosis rows of %d people who may no longer be linked removed\n",
			p.Objects, p.Rewritten, p.Rows, p.Diagnoses, p.People)
	}
	rel := r.Release
	if rel.ReleaseKeyID != "" {
		fmt.Fprintf(w, "release\t%d sampled, %d responded, %d consented, %d linked; release key %s; %d earlier objects retired\n",
			rel.Sampled, rel.Responded, rel.Consented, rel.Linked, rel.ReleaseKeyID, rel.Retired)
		if rel.Superseded > 0 {
			fmt.Fprintf(w, "superseded\t%d accepted rows in the lake left out: a later landed extract carries their records\n", rel.Superseded)
		}
		for _, a := range rel.Accuracy {
			fmt.Fprintf(w, "accuracy\t%s\tprecision %.4f, recall %.4f (%d true pairs)\n", a.DatasetID, a.Precision, a.Recall, a.TruePairs)
		}
		for _, k := range rel.Reports {
			fmt.Fprintf(w, "report\t%s\n", k)
		}
	}
	if d := r.Disclosed; d.Key != "" {
		fmt.Fprintf(w, "disclosure\t%d tables, %d cells, %d withheld; %s\n", d.Tables, d.Cells, d.Withheld, d.ReportKey)
	}
	if e := r.Export; e.Prefix != "" {
		fmt.Fprintf(w, "export\t%d files, %d rows under %s (release pseudonym key %s)\n", e.Files, e.Rows, e.Prefix, e.PseudonymKeyID)
	}
	if len(r.Warehouse) > 0 {
		tables := make([]string, 0, len(r.Warehouse))
		for t := range r.Warehouse {
			tables = append(tables, t)
		}
		sort.Strings(tables)
		var parts []string
		for _, t := range tables {
			parts = append(parts, fmt.Sprintf("%s %d", t, r.Warehouse[t]))
		}
		fmt.Fprintf(w, "warehouse\t%s\n", strings.Join(parts, ", "))
	}
	if l := r.Landing; l != nil {
		fmt.Fprintf(w, "extracts\t%d deleted from the landing area (lineage recorded for %d)", len(l.Deleted)+len(l.Gone), l.Recorded)
		if len(l.Kept) > 0 {
			fmt.Fprintf(w, "; %d replaced since this run read them, kept for the next: %s", len(l.Kept), strings.Join(l.Kept, ", "))
		}
		fmt.Fprintln(w)
	}
}

// synthLinkageCmd is `ice synth linkage`: synthetic provider extracts and their truth
// file for a wave's sample in the lake (test data).
func synthLinkageCmd() *cobra.Command {
	var cfg synthlink.Config
	var storeURL, keyFile string
	var wave synthlink.WaveConfig
	var icss string
	cmd := &cobra.Command{
		Use:   "linkage --wave W",
		Short: "Write synthetic provider extracts (every dataset) and a restricted truth file for a wave's sample",
		Long: `Reads the wave's pseudonymised sample and responses from the lake and writes an
extract of every dataset in linkage/defs to restricted-landing/linkage/W/{dataset}/, each with a
manifest naming the project key's fingerprint, and the truth file (who truly had what,
what validation should make of every row) to restricted/linkage/W/synth/truth.parquet.
With the truth file present, a release reports its precision and recall.

--write-wave first writes a synthetic wave (sample, responses with consent answers,
opt-outs) to the lake, for trying the linkage without running fieldwork: test data only.
The project key is ICE_PSEUDONYM_KEY (hex) or --key-file (the dev stack's).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cfg.WaveID == "" {
				return fmt.Errorf("--wave is required")
			}
			key, err := projectKey(keyFile)
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, storeURL)
			if err != nil {
				return err
			}
			if wave.PerICS > 0 {
				wave.WaveID, wave.ProjectKey, wave.Seed = cfg.WaveID, key, cfg.Seed
				wave.ICSs = strings.Split(icss, ",")
				ws, err := synthlink.WriteWave(ctx, st, wave)
				if err != nil {
					return err
				}
				fmt.Printf("synthetic wave %s: %d sampled, %d respondents, %d meant to be linkable, %d withdrawn by opt-out\n",
					cfg.WaveID, ws.Sampled, ws.Respondents, len(ws.Consenting), len(ws.Withdrawn))
			}
			cfg.ProjectKeyID = linkage.KeyID(key)
			stats, err := synthlink.Generate(ctx, st, cfg)
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(stats, "", "  ")
			fmt.Println(string(b))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.WaveID, "wave", "", "the wave (its sample must be in the lake)")
	f.Uint64Var(&cfg.Seed, "seed", 1, "random seed (same seed, same extracts)")
	f.Float64Var(&cfg.FaultRate, "faults", synthlink.DefaultFaultRate, "share of delivered rows with one fault (negative: none)")
	f.StringVar(&cfg.Format, "format", "csv", "csv or parquet")
	f.StringVar(&storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store: file://DIR or s3://bucket/prefix (ICE_STORE)")
	f.StringVar(&keyFile, "key-file", ".ice/pseudonym.key", "the project's pseudonymisation key (hex) when ICE_PSEUDONYM_KEY is unset")
	f.IntVar(&wave.PerICS, "write-wave", 0, "first write a synthetic wave with this many sampled per ICS (test data)")
	f.IntVar(&wave.Respondents, "respondents", 0, "with --write-wave: complete responses per ICS")
	f.Float64Var(&wave.ConsentRate, "consent-rate", 0.66, "with --write-wave: share of respondents consenting")
	f.Float64Var(&wave.WithdrawRate, "withdraw-rate", 0.05, "with --write-wave: share of consenters who later opt out")
	f.StringVar(&icss, "ics", "QMM,QWE", "with --write-wave: ICS codes, comma-separated")
	return cmd
}

// projectKey is ICE_PSEUDONYM_KEY, else the hex key in file.
func projectKey(file string) ([]byte, error) {
	h := os.Getenv("ICE_PSEUDONYM_KEY")
	if h == "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("the project key: set ICE_PSEUDONYM_KEY or --key-file: %w", err)
		}
		h = string(b)
	}
	k, err := hex.DecodeString(strings.TrimSpace(h))
	if err != nil || len(k) < 32 {
		return nil, fmt.Errorf("the project key must be at least 32 bytes of hex")
	}
	return k, nil
}
