package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"icesurvey/activities"
	"icesurvey/infra"
	"icesurvey/store"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

func (c *conn) dial(ctx context.Context) (client.Client, error) {
	return infra.Dial(ctx, infra.ClientConfig{Address: c.address, Namespace: c.namespace, APIKey: c.apiKey,
		TLSCertFile: c.tlsCert, TLSKeyFile: c.tlsKey, TLSCAFile: c.tlsCA, TLSServerName: c.tlsServerName})
}

// withClient wraps a command's body with a connection to the cluster, closed after.
func (c *conn) withClient(fn func(ctx context.Context, cl client.Client, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		cl, err := c.dial(cmd.Context())
		if err != nil {
			return err
		}
		defer cl.Close()
		return fn(cmd.Context(), cl, args)
	}
}

func waveCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "wave", Short: "Start, watch and steer fieldwork waves"}
	cmd.AddCommand(waveStartCmd(), waveStatusCmd(), waveListCmd(),
		waveSignalCmd("pause", workflows.SignalPause, "Pause every ICS's mailings (timers keep running; nothing is sent)"),
		waveSignalCmd("resume", workflows.SignalResume, "Resume a paused wave; overdue mailings go out at once"),
		waveCancelCmd(), waveDeclareCmd(), waveICSSignalCmd("revalidate", workflows.SignalRevalidate,
			"Validate an ICS's files again after they were replaced (before the declaration)"),
		waveICSSignalCmd("retry-dbs", workflows.SignalRetryDBS, "Send a new DBS request after a reply was rejected"),
		waveMoveCmd(), waveOptOutCmd())
	return cmd
}

// StageFiles copies spec files that are local paths into the store's landing area and
// points the spec at them; keys already in the store are left as they are.
func StageFiles(ctx context.Context, st store.Store, spec *wavespec.Spec) error {
	for i := range spec.ICSs {
		ics := &spec.ICSs[i]
		for _, f := range []*string{&ics.SampleFile, &ics.MailingFile} {
			fi, err := os.Stat(*f)
			if err != nil || fi.IsDir() {
				continue // not a local file: a key in the store
			}
			b, err := os.ReadFile(*f)
			if err != nil {
				return fmt.Errorf("read %s: %w", *f, err)
			}
			key := fmt.Sprintf("landing/%s/%s/%s", spec.WaveID, ics.Code, path.Base(strings.ReplaceAll(*f, "\\", "/")))
			if err := store.PutBytes(ctx, st, key, b); err != nil {
				return err
			}
			*f = key
		}
	}
	return nil
}

// StartWave starts the wave workflow for spec.
func StartWave(ctx context.Context, c client.Client, spec *wavespec.Spec) (client.WorkflowRun, error) {
	return c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflows.WaveWorkflowID(spec.WaveID),
		TaskQueue:             activities.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			workflows.SAWaveID.ValueSet(spec.WaveID), workflows.SAICS.ValueSet(spec.Codes()),
			workflows.SAStage.ValueSet("fieldwork")),
	}, "WaveWorkflow", *spec)
}

func waveStartCmd() *cobra.Command {
	var c conn
	var specPath string
	cmd := &cobra.Command{
		Use:   "start --spec wave.yaml",
		Short: "Start a fieldwork wave from its spec",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			spec, err := wavespec.Load(specPath)
			if err != nil {
				return err
			}
			st, err := store.Open(ctx, c.storeURL)
			if err != nil {
				return err
			}
			if err := StageFiles(ctx, st, spec); err != nil {
				return err
			}
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			run, err := StartWave(ctx, cl, spec)
			if err != nil {
				return fmt.Errorf("start wave %s: %w", spec.WaveID, err)
			}
			fmt.Printf("wave %s started (workflow %s run %s) for %s\n", spec.WaveID, run.GetID(), run.GetRunID(), strings.Join(spec.Codes(), ", "))
			return nil
		},
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&specPath, "spec", "wave.yaml", "wave spec file")
	return cmd
}

// WaveStatus queries the wave and each of its ICS workflows.
func WaveStatus(ctx context.Context, c client.Client, wave string) (workflows.WaveStatus, []workflows.ICSStatus, error) {
	var ws workflows.WaveStatus
	v, err := c.QueryWorkflow(ctx, workflows.WaveWorkflowID(wave), "", workflows.QueryStatus)
	if err != nil {
		return ws, nil, fmt.Errorf("query wave %s: %w", wave, err)
	}
	if err := v.Get(&ws); err != nil {
		return ws, nil, err
	}
	var out []workflows.ICSStatus
	for _, ics := range ws.ICS {
		var s workflows.ICSStatus
		v, err := c.QueryWorkflow(ctx, ics.WorkflowID, "", workflows.QueryStatus)
		if err != nil {
			return ws, nil, fmt.Errorf("query %s: %w", ics.WorkflowID, err)
		}
		if err := v.Get(&s); err != nil {
			return ws, nil, err
		}
		out = append(out, s)
	}
	return ws, out, nil
}

// PrintStatus writes a wave's status as a person reads it.
func PrintStatus(w *tabwriter.Writer, ws workflows.WaveStatus, ics []workflows.ICSStatus) {
	paused := ""
	if ws.Paused {
		paused = " (PAUSED)"
	}
	fmt.Fprintf(w, "wave %s: %s%s\n", ws.WaveID, ws.Stage, paused)
	for _, s := range ics {
		fmt.Fprintf(w, "\n%s\tstage %s", s.ICS, s.Stage)
		if s.WaitingOn != "" {
			fmt.Fprintf(w, ", waiting for %s", s.WaitingOn)
		}
		fmt.Fprintln(w)
		if s.IntakeError != "" {
			fmt.Fprintf(w, "  intake\tFAILED: %s\n", s.IntakeError)
		}
		if in := s.Intake; in != nil && s.IntakeError == "" {
			fmt.Fprintf(w, "  intake\t%d rows: %d accepted, %d excluded, %d rejected; %d without SMS", in.RowsRead, in.Accepted, in.Excluded, in.Rejected, in.NoSMS)
			if in.Shortfall {
				fmt.Fprint(w, "; SHORT of the minimum")
			}
			fmt.Fprintf(w, "\n  \treport %s\n", in.ReportKey)
		}
		if d := s.Declaration; d != nil {
			fmt.Fprintf(w, "  declaration\tsigned by %s at %s\n", d.By, d.At.Format(time.RFC3339))
		}
		for _, d := range s.DBS {
			state := "awaiting reply"
			switch {
			case d.Rejected != "":
				state = "REPLY REJECTED: " + d.Rejected
			case d.Replied:
				state = fmt.Sprintf("%d matched, %d deceased, %d superseded, %d unmatched, %d multiple, %d cross-check failed",
					d.Matched, d.Deceased, d.Superseded, d.Unmatched, d.Multiple, d.CrossCheckFailed)
			case d.Overdue:
				state = "reply OVERDUE"
			}
			fmt.Fprintf(w, "  DBS %s\t%d sent: %s\n", d.ForStep, d.Sent, state)
		}
		for _, m := range s.Mailings {
			fmt.Fprintf(w, "  %s (%s, day %d)\t%s", m.Step, m.Channel, m.Day, m.State)
			if m.State == "sent" {
				fmt.Fprintf(w, ": %d of %d selected", m.Sent, m.Selected)
				if m.Failed > 0 {
					fmt.Fprintf(w, ", %d failed", m.Failed)
				}
			}
			fmt.Fprintln(w)
		}
		if len(s.Outcomes) > 0 {
			codes := make([]int, 0, len(s.Outcomes))
			for c := range s.Outcomes {
				codes = append(codes, c)
			}
			sort.Ints(codes)
			var parts []string
			for _, c := range codes {
				parts = append(parts, fmt.Sprintf("%d=%d", c, s.Outcomes[c]))
			}
			fmt.Fprintf(w, "  final outcomes\t%s\n", strings.Join(parts, " "))
		}
	}
	w.Flush()
}

func waveStatusCmd() *cobra.Command {
	var c conn
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status WAVE",
		Short: "Show each ICS's stage, what it waits for, and its counts",
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl client.Client, args []string) error {
			ws, ics, err := WaveStatus(ctx, cl, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(map[string]any{"wave": ws, "ics": ics})
			}
			PrintStatus(tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0), ws, ics)
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func waveListCmd() *cobra.Command {
	var c conn
	var query string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List waves (filter with --query, e.g. 'Stage = \"fieldwork\"')",
		RunE: c.withClient(func(ctx context.Context, cl client.Client, _ []string) error {
			q := `WorkflowType = "WaveWorkflow"`
			if query != "" {
				q += " AND (" + query + ")"
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "WAVE\tICS\tSTAGE\tSTATUS\tSTARTED")
			var token []byte
			for {
				resp, err := cl.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: q, NextPageToken: token})
				if err != nil {
					return fmt.Errorf("list waves: %w", err)
				}
				for _, e := range resp.Executions {
					sa := e.GetSearchAttributes().GetIndexedFields()
					var wave, stage string
					var ics []string
					if p, ok := sa["WaveID"]; ok {
						_ = json.Unmarshal(p.GetData(), &wave)
					}
					if p, ok := sa["Stage"]; ok {
						_ = json.Unmarshal(p.GetData(), &stage)
					}
					if p, ok := sa["ICS"]; ok {
						_ = json.Unmarshal(p.GetData(), &ics)
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", wave, strings.Join(ics, ","), stage,
						strings.TrimPrefix(e.GetStatus().String(), "WORKFLOW_EXECUTION_STATUS_"), e.GetStartTime().AsTime().Format(time.RFC3339))
				}
				if token = resp.NextPageToken; len(token) == 0 {
					break
				}
			}
			return w.Flush()
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&query, "query", "", "extra visibility filter (WaveID, ICS, Stage)")
	return cmd
}

func waveSignalCmd(use, signal, short string) *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:   use + " WAVE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl client.Client, args []string) error {
			if err := cl.SignalWorkflow(ctx, workflows.WaveWorkflowID(args[0]), "", signal, nil); err != nil {
				return fmt.Errorf("%s wave %s: %w", use, args[0], err)
			}
			fmt.Printf("wave %s: %s sent\n", args[0], use)
			return nil
		}),
	}
	c.bind(cmd)
	return cmd
}

func waveCancelCmd() *cobra.Command {
	var c conn
	cmd := &cobra.Command{
		Use:   "cancel WAVE",
		Short: "Stop a wave: every ICS stops before its next step",
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl client.Client, args []string) error {
			if err := cl.CancelWorkflow(ctx, workflows.WaveWorkflowID(args[0]), ""); err != nil {
				return fmt.Errorf("cancel wave %s: %w", args[0], err)
			}
			fmt.Printf("wave %s: cancellation requested\n", args[0])
			return nil
		}),
	}
	c.bind(cmd)
	return cmd
}

func waveICSSignalCmd(use, signal, short string) *cobra.Command {
	var c conn
	var ics string
	cmd := &cobra.Command{
		Use:   use + " WAVE --ics CODE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl client.Client, args []string) error {
			if err := cl.SignalWorkflow(ctx, workflows.ICSWorkflowID(args[0], ics), "", signal, nil); err != nil {
				return fmt.Errorf("%s %s/%s: %w", use, args[0], ics, err)
			}
			fmt.Printf("wave %s ICS %s: %s sent\n", args[0], ics, use)
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&ics, "ics", "", "ICS code")
	_ = cmd.MarkFlagRequired("ics")
	return cmd
}

// Declare signs an ICS's sample declaration (a Temporal update; its validator refuses
// when intake failed or the sample is short).
func Declare(ctx context.Context, c client.Client, wave, ics, by string) (workflows.DeclarationState, error) {
	return updateICS[workflows.DeclarationState](ctx, c, wave, ics, workflows.UpdateDeclare, workflows.DeclareRequest{By: by})
}

// updateICS sends a Temporal update to one ICS workflow of a wave and waits for its
// result; a validator's refusal comes back as the error.
func updateICS[T any](ctx context.Context, c client.Client, wave, ics, name string, arg any) (T, error) {
	var out T
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflows.ICSWorkflowID(wave, ics), UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, &out)
	}
	if err != nil {
		return out, fmt.Errorf("%s in %s/%s: %w", name, wave, ics, err)
	}
	return out, nil
}

func waveDeclareCmd() *cobra.Command {
	var c conn
	var ics, by string
	cmd := &cobra.Command{
		Use:   "declare WAVE --ics CODE --by NAME",
		Short: "Sign an ICS's sample declaration so its mailings can start",
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl client.Client, args []string) error {
			d, err := Declare(ctx, cl, args[0], ics, by)
			if err != nil {
				return err
			}
			fmt.Printf("wave %s ICS %s: sample declared by %s at %s\n", args[0], ics, d.By, d.At.Format(time.RFC3339))
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&ics, "ics", "", "ICS code")
	cmd.Flags().StringVar(&by, "by", "", "name of the person signing")
	_ = cmd.MarkFlagRequired("ics")
	_ = cmd.MarkFlagRequired("by")
	return cmd
}

func waveMoveCmd() *cobra.Command {
	var c conn
	var ics, step string
	var day int
	cmd := &cobra.Command{
		Use:   "move WAVE --ics CODE --step NAME --day N",
		Short: "Move a mailing that has not gone out to another fieldwork day",
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl client.Client, args []string) error {
			m, err := updateICS[workflows.MailingStatus](ctx, cl, args[0], ics, workflows.UpdateMove,
				workflows.MoveRequest{Step: step, Day: day})
			if err != nil {
				return err
			}
			fmt.Printf("wave %s ICS %s: %s now on day %d\n", args[0], ics, m.Step, m.Day)
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&ics, "ics", "", "ICS code")
	cmd.Flags().StringVar(&step, "step", "", "mailing step name")
	cmd.Flags().IntVar(&day, "day", 0, "new fieldwork day")
	_ = cmd.MarkFlagRequired("ics")
	_ = cmd.MarkFlagRequired("step")
	return cmd
}

// OptOut removes one person from every later mailing of a wave (a Temporal update on
// the ICS workflow); it returns their survey record ID.
func OptOut(ctx context.Context, c client.Client, wave, ics string, req workflows.OptOutRequest) (string, error) {
	return updateICS[string](ctx, c, wave, ics, workflows.UpdateOptOut, req)
}

func waveOptOutCmd() *cobra.Command {
	var c conn
	var ics string
	var req workflows.OptOutRequest
	cmd := &cobra.Command{
		Use:   "opt-out WAVE --ics CODE (--record ID | --access-code CODE) [--reason TEXT]",
		Short: "Record a late opt-out: the person gets no later letter or SMS",
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl client.Client, args []string) error {
			id, err := OptOut(ctx, cl, args[0], ics, req)
			if err != nil {
				return err
			}
			fmt.Printf("wave %s ICS %s: %s opted out; no later mailing goes to them\n", args[0], ics, id)
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&ics, "ics", "", "ICS code")
	f.StringVar(&req.SurveyRecordID, "record", "", "survey record ID")
	f.StringVar(&req.AccessCode, "access-code", "", "access code printed on the person's letter")
	f.StringVar(&req.Reason, "reason", "", "reason, e.g. phoned the helpline")
	_ = cmd.MarkFlagRequired("ics")
	return cmd
}
