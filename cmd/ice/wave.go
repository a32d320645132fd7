package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/fault"
	"icesurvey/mailing"
	"icesurvey/publication"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/waveclient"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

func (c *conn) dial(ctx context.Context) (*waveclient.Client, error) {
	return waveclient.Dial(ctx, c.clientConfig())
}

// withClient wraps a command's body with a connection to the cluster, closed after.
func (c *conn) withClient(fn func(ctx context.Context, cl *waveclient.Client, args []string) error) func(*cobra.Command, []string) error {
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
		waveOpCmd("pause", "Pause every ICS's mailings, or with --ics those of the ICSs named (timers keep running; nothing is sent; fieldwork still closes on its day, and a step not sent by then never is)",
			"pause sent", (*waveclient.Client).Pause, (*waveclient.Client).PauseICS),
		waveOpCmd("resume", "Resume a paused wave, or with --ics the ICSs named; overdue mailings go out at once (none after the close day)",
			"resume sent", (*waveclient.Client).Resume, (*waveclient.Client).ResumeICS),
		waveOpCmd("cancel", "Stop a wave, or with --ics the ICSs named while the others go on: each stops before its next step",
			"cancellation requested", (*waveclient.Client).Cancel, (*waveclient.Client).CancelICS),
		waveDeclareCmd(),
		waveICSOpCmd("revalidate", "Validate an ICS's files again after they were replaced (before the declaration)", (*waveclient.Client).Revalidate),
		waveICSOpCmd("retry-dbs", "Send a new DBS request after a reply was rejected", (*waveclient.Client).RetryDBS),
		waveMoveCmd(), waveOptOutCmd())
	return cmd
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
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			run, _, err := cl.StageAndStart(ctx, st, spec)
			if err != nil {
				return err
			}
			fmt.Printf("wave %s started (workflow %s run %s) for %s\n", spec.WaveID, run.WorkflowID, run.RunID, strings.Join(spec.Codes(), ", "))
			// Where a corrected file goes, before `ice wave revalidate`: the local files
			// were copied into a folder of this start's own (staged.Folder).
			fmt.Printf("the intake reads these files in %s (a corrected one replaces its object, then `ice wave revalidate`):\n", st.URL())
			for _, ics := range spec.ICSs {
				fmt.Printf("  %s\tsample %s\tmailing %s\n", ics.Code, ics.SampleFile, ics.MailingFile)
			}
			if spec.Publication != nil {
				// Checked by the spec's parser already; printed as ice publish prints a release's.
				if p, err := spec.Publication.Apply(publication.DefaultParams()); err == nil {
					fmt.Printf("release %s, drafted at the close, with %s\n", waveclient.FirstReleaseID, describeParams(p.Metadata()))
				}
			}
			return nil
		},
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&specPath, "spec", "wave.yaml", "wave spec file")
	return cmd
}

// beforeClose: an ICS at stage could still mail (a pause holds it back).
func beforeClose(stage workflows.Stage) bool {
	switch stage {
	case workflows.StageClosing, workflows.StageClosed, workflows.StageRetention, workflows.StageDone:
		return false
	}
	return true
}

// printStatus writes a wave's status as a person reads it.
func printStatus(w *tabwriter.Writer, st waveclient.Status) {
	ended := map[string]string{} // ICS → why its workflow ended early (failed or cancelled)
	for _, c := range st.Wave.ICS {
		if c.Error != "" {
			ended[c.ICS] = c.Error
		}
	}
	// An ICS resumed on its own while the wave stays paused goes on mailing: the wave's
	// line must not say PAUSED alone.
	// A wave paused whose every ICS has closed its fieldwork mails nothing more whether
	// or not it is resumed (fieldwork closes on its day, paused or not): PAUSED alone
	// would have someone resume it to finish mailings that can no longer go.
	resumed := map[string]bool{}
	var resumedCodes []string
	open := 0
	for _, s := range st.ICS {
		if ended[s.ICS] != "" || !beforeClose(s.Stage) {
			continue // mails nothing more, paused or not
		}
		open++
		if st.Wave.Paused && !s.Paused {
			resumed[s.ICS] = true
			resumedCodes = append(resumedCodes, s.ICS)
		}
	}
	paused := ""
	switch {
	case st.Wave.Paused && len(resumedCodes) > 0:
		paused = fmt.Sprintf(" (PAUSED, but %s resumed on its own)", strings.Join(resumedCodes, ", "))
	case st.Wave.Paused && len(st.ICS) > 0 && open == 0:
		paused = " (paused, but every ICS's fieldwork has closed: nothing more is mailed)"
	case st.Wave.Paused:
		paused = " (PAUSED)"
	}
	fmt.Fprintf(w, "wave %s: %s%s\n", st.Wave.WaveID, st.Wave.Stage, paused)
	for _, s := range st.ICS {
		fmt.Fprintf(w, "\n%s\tstage %s", s.ICS, s.Stage)
		switch {
		case ended[s.ICS] != "":
			fmt.Fprintf(w, ", ENDED EARLY")
		case s.WaitingOn == workflows.WaitingForResume:
			fmt.Fprint(w, ", waiting for resume") // paused: said next, or by the wave's line
		case s.WaitingOn != "":
			fmt.Fprintf(w, ", waiting for %s", s.WaitingOn)
		}
		// The wave's pause pauses every ICS, and the wave's line says so.
		switch {
		case s.Paused && !st.Wave.Paused && ended[s.ICS] == "" && !beforeClose(s.Stage):
			fmt.Fprint(w, " (this ICS is paused, but its fieldwork has closed: nothing more is mailed)")
		case s.Paused && !st.Wave.Paused && ended[s.ICS] == "":
			fmt.Fprint(w, " (this ICS is PAUSED)")
		case resumed[s.ICS]:
			fmt.Fprint(w, " (resumed on its own: not paused with the wave)")
		}
		fmt.Fprintln(w)
		if why := ended[s.ICS]; why != "" {
			fmt.Fprintf(w, "  ended\t%s\n", why)
		}
		if s.IntakeError != "" {
			fmt.Fprintf(w, "  intake\tFAILED: %s\n", s.IntakeError)
		}
		if in := s.Intake; in != nil && s.IntakeError == "" {
			fmt.Fprintf(w, "  intake\t%d rows: %d accepted, %d excluded, %d rejected; %d without SMS", in.RowsRead, in.Accepted, in.Excluded, in.Rejected, in.NoSMS)
			if in.Shortfall {
				fmt.Fprint(w, "; SHORT of the minimum")
			}
			fmt.Fprintf(w, "\n  \t%s\n", intakeReportLine(in.ReportKey, st.Retention[s.ICS]))
			for _, warning := range in.Warnings {
				fmt.Fprintf(w, "  \tWARNING: %s\n", warning)
			}
		}
		if d := s.Declaration; d != nil {
			fmt.Fprintf(w, "  declaration\tsigned by %s at %s\n", d.By, d.At.Format(time.RFC3339))
		}
		if !s.DayZero.IsZero() {
			fmt.Fprintf(w, "  day 0\t%s, when the invitation went out: the later steps' days and the close count from it\n", s.DayZero.UTC().Format(time.RFC3339))
		}
		notSent := map[string]string{} // step → why it never went out
		for _, m := range s.Mailings {
			if m.State == workflows.MailingNotSent {
				notSent[m.Step] = m.NotSent
			}
		}
		for _, d := range s.DBS {
			state := "awaiting reply"
			switch {
			case !d.Replied && d.Rejected == "" && notSent[d.ForStep] != "":
				// Nothing waits for it any more: its step will never go out.
				state = fmt.Sprintf("no reply, and none needed: the step was not sent (%s)", notSent[d.ForStep])
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
			fmt.Fprintf(w, "  %s (%s, day %d)\t%s\n", m.Step, m.Channel, m.Day, mailingLine(m, ended[s.ICS] != ""))
		}
		if len(s.Outcomes) > 0 {
			fmt.Fprintf(w, "  final outcomes\t%s\n", outcomeCounts(s.Outcomes))
		}
		if r := s.Retention; r != nil {
			fmt.Fprintf(w, "  retention\t%s (workflow %s)\n", retentionLine(r.DeleteAt, st.Retention[s.ICS], time.Now()), r.WorkflowID)
		}
	}
	w.Flush()
}

// mailingLine says where one mailing step stands. A step of an ICS that ended early
// (failed or cancelled) and not sent never will be: it is "not sent", not "scheduled";
// so is a step the close came before (an ICS paused past its close day), with why.
// An SMS step's delivery receipts follow its count once fetched.
func mailingLine(m workflows.MailingStatus, endedEarly bool) string {
	switch {
	case endedEarly && (m.State == workflows.MailingScheduled || m.State == workflows.MailingSelecting || m.State == workflows.MailingChecking ||
		m.State == workflows.MailingAwaitingHours):
		return "not sent (the ICS ended early)"
	case endedEarly && m.State == workflows.MailingSending:
		return "ended early while sending: some may have gone"
	case m.State == workflows.MailingNotSent && m.NotSent != "":
		return "not sent (" + m.NotSent + " before it went out)"
	case m.State == workflows.MailingNotSent:
		return "not sent"
	case m.State == workflows.MailingAwaitingHours:
		return "checked, waiting for the SMS sending hours (the ICS's line says until when)"
	case m.State != workflows.MailingSent:
		return string(m.State)
	}
	line := fmt.Sprintf("%s: %d of %d selected", m.State, m.Sent, m.Selected)
	if m.InAnotherICS > 0 {
		line += fmt.Sprintf(" (%d more in another ICS's sample, invited there)", m.InAnotherICS)
	}
	if m.Failed > 0 {
		line += fmt.Sprintf(", %d failed", m.Failed)
	}
	if m.Channel != mailing.ChannelSMS {
		return line
	}
	switch {
	case m.ReceiptsFinal || m.Delivered+m.PermanentFailures+m.TemporaryFailures+m.ReceiptsExpired > 0:
		line += fmt.Sprintf("; receipts: %d delivered, %d failed for good, %d failed for now", m.Delivered, m.PermanentFailures, m.TemporaryFailures)
		if m.ReceiptsExpired > 0 {
			line += fmt.Sprintf(", %d expired (deleted by Notify before read: result unknown)", m.ReceiptsExpired)
		}
		if !m.ReceiptsFinal {
			line += ", the rest in flight"
		}
	case !m.ReceiptsDueAt.IsZero():
		line += "; receipts due " + m.ReceiptsDueAt.UTC().Format(time.RFC3339)
	}
	return line
}

// intakeReportLine names an ICS's intake report, an identifiable file the retention
// deletes: once it has, the line says so rather than name a file that is gone.
func intakeReportLine(key string, r waveclient.RetentionStatus) string {
	if r.DeletedAt.IsZero() {
		return "report " + key
	}
	return fmt.Sprintf("report %s deleted at retention, %s", key, r.DeletedAt.UTC().Format(time.RFC3339))
}

// retentionLine says where an ICS's retention stands: its identifiable data deleted
// (when, and how many objects), or when they are due to be. The retention runs once:
// a supplier's file landing after it stays until the load of its day reads it, and
// that load deletes it.
func retentionLine(due time.Time, r waveclient.RetentionStatus, now time.Time) string {
	switch {
	case !r.DeletedAt.IsZero():
		return fmt.Sprintf("identifiable data deleted at %s: %d objects (a supplier's file landing since is deleted by the load of its day)",
			r.DeletedAt.UTC().Format(time.RFC3339), r.Deleted)
	case due.After(now):
		return "identifiable data to be deleted at " + due.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprintf("identifiable data due for deletion since %s, not yet deleted", due.UTC().Format(time.RFC3339))
	}
}

// publicationLine says, under a wave's status, where the wave's own release stands
// (the one it drafts when every ICS has closed). ended is how the wave's workflow
// ended ("" while it runs): a wave cancelled (or otherwise ended early) drafts none.
func publicationLine(wave, ended string, p waveclient.PublicationStatus, err error) string {
	switch {
	case errors.Is(err, waveclient.ErrNotStarted) && ended != "" && ended != "completed":
		return fmt.Sprintf("publication: none; the wave was %s, so no release will be drafted (its fieldwork ended early; "+
			"`ice publish --wave %s --release ID --exclude ICS,...` drafts one of the ICSs that closed, leaving out those that ended early)", ended, wave)
	case errors.Is(err, waveclient.ErrNotStarted):
		return fmt.Sprintf("publication: release %s not drafted yet (the wave drafts it when every ICS has closed)", waveclient.FirstReleaseID)
	case err != nil:
		return fmt.Sprintf("publication: release %s could not be read: %v", waveclient.FirstReleaseID, err)
	}
	line := fmt.Sprintf("publication: release %s %s", p.ReleaseID, p.Stage)
	switch {
	case p.Approval != nil:
		line += fmt.Sprintf(", approved by %s at %s", p.Approval.By, p.Approval.At.UTC().Format(time.RFC3339))
	case p.Stage == workflows.PublicationFailed:
		line += ": " + p.Error
	case p.WaitingOn != "":
		line += ", waiting for " + p.WaitingOn
	}
	return line + fmt.Sprintf(" (`ice publish status --wave %s`, with --release R for another release)", wave)
}

// dailyLoadLine says, under a wave's status, whether its responses are loaded by a
// schedule and when next: a wave with none loads nothing by itself.
func dailyLoadLine(wave string, s waveclient.DailyLoadScheduleStatus, err error) string {
	switch {
	case errors.Is(err, waveclient.ErrNoSchedule):
		return fmt.Sprintf("daily load: no schedule (responses load only when run by hand, `ice load backfill`; `ice schedule daily-load --wave %s --at HH:MM` creates one)", wave)
	case err != nil:
		return "daily load: the schedule could not be read: " + err.Error()
	}
	line := fmt.Sprintf("daily load: schedule %s, daily at %s UTC", s.ID, s.At)
	if s.Paused {
		line += ", PAUSED"
	}
	if len(s.NextRuns) > 0 {
		line += ", next " + s.NextRuns[0].UTC().Format("2006-01-02 15:04")
	} else {
		line += ", ended"
	}
	if n := len(s.RecentRuns); n > 0 {
		last := s.RecentRuns[n-1]
		line += fmt.Sprintf("; last run %s %s", last.ScheduledAt.UTC().Format("2006-01-02 15:04"), runOutcome(last))
	}
	if s.Missed > 0 {
		line += fmt.Sprintf("; %d runs missed beyond the catch-up window (`ice schedule status --wave %s`)", s.Missed, wave)
	}
	return line
}

func waveStatusCmd() *cobra.Command {
	var c conn
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status WAVE",
		Short: "Show each ICS's stage, what it waits for, and its counts",
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, args []string) error {
			st, err := cl.Status(ctx, args[0])
			if err != nil {
				return err
			}
			sched, schedErr := cl.DescribeDailyLoadSchedule(ctx, args[0])
			if n := len(sched.RecentRuns); schedErr == nil && n > 0 {
				cl.ReadRunOutcomes(ctx, sched.RecentRuns[n-1:]) // the line shows the last run's
			}
			// Every running workflow of the wave: its ICSs', loads, releases, linkage.
			stuck := append([]waveclient.Retrying{}, retrying(ctx, os.Stderr, inWave(cl, args[0]))...)
			if asJSON {
				enc := json.NewEncoder(os.Stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					waveclient.Status
					Retrying []waveclient.Retrying `json:"retrying"`
				}{st, stuck})
			}
			printStatus(tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0), st)
			fmt.Printf("\n%s\n", dailyLoadLine(args[0], sched, schedErr))
			pub, pubErr := cl.PublicationStatus(ctx, args[0], waveclient.FirstReleaseID)
			fmt.Println(publicationLine(args[0], st.Ended, pub, pubErr))
			printRetrying(os.Stdout, stuck)
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
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			waves, err := cl.List(ctx, query)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "WAVE\tICS\tSTAGE\tSTATUS\tSTARTED")
			for _, s := range waves {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.WaveID, strings.Join(s.ICS, ","), s.Stage, s.Status, s.StartedAt.Format(time.RFC3339))
			}
			return w.Flush()
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&query, "query", "", "extra visibility filter (WaveID, ICS, Stage)")
	return cmd
}

// waveOpCmd is a command acting on a whole wave.
// waveOpCmd is a command acting on a whole wave, or with --ics on the ICSs named.
func waveOpCmd(use, short, done string, op func(*waveclient.Client, context.Context, string) error,
	icsOp func(*waveclient.Client, context.Context, string, string) error) *cobra.Command {
	var c conn
	var icss []string
	cmd := &cobra.Command{
		Use:   use + " WAVE [--ics CODE,...]",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, args []string) error {
			// What was so before: a pause of something already paused (or a resume of
			// something running) changes nothing, and "sent" alone would say it did.
			pauseOrResume := use == "pause" || use == "resume"
			var before *waveclient.Status
			status := func() *waveclient.Status {
				if st, err := cl.Status(ctx, args[0]); err == nil {
					return &st
				}
				return nil
			}
			if pauseOrResume {
				before = status()
			}
			if len(icss) == 0 {
				if err := op(cl, ctx, args[0]); err != nil {
					return err
				}
				var after *waveclient.Status
				if pauseOrResume {
					after = status() // a query answers once the signal is taken
				}
				fmt.Printf("wave %s: %s%s\n", args[0], done, unchangedNote(before, after, use, ""))
				return nil
			}
			// Every code is checked before any is acted on: a typo late in the list
			// would otherwise leave the ones before it paused or cancelled.
			if err := cl.CheckWaveICSs(ctx, args[0], icss); err != nil {
				return fmt.Errorf("%s: %w; nothing was sent", use, err)
			}
			for _, ics := range icss {
				if err := icsOp(cl, ctx, args[0], ics); err != nil {
					return err
				}
				var after *waveclient.Status
				if pauseOrResume {
					after = status()
				}
				fmt.Printf("wave %s ICS %s: %s%s\n", args[0], ics, done, unchangedNote(before, after, use, ics))
			}
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringSliceVar(&icss, "ics", nil, "only these ICSs (default: the whole wave)")
	return cmd
}

// unchangedNote says how a pause or resume found what it acts on (before, read as the
// command began) and left it (after, read once its signal was taken): the wave (ics "")
// or the ICS. A pause or resume of another command, sent at the same moment, can land
// between the two reads, or after this one's signal, so neither read alone says what
// this command did: a state after that is not the one asked for says that another
// command's stands; one already as asked before says so, as of when it was read.
// Nothing is said of a state that is unknown (or mixed: some ICSs paused, some not).
func unchangedNote(before, after *waveclient.Status, use, ics string) string {
	what := "the wave"
	if ics != "" {
		what = "it"
	}
	want := use == "pause"
	if now, ok := pausedState(after, ics); ok && now != want {
		if want {
			return fmt.Sprintf(" (but %s is not paused now: a resume sent since, by another command, stands; `ice wave status` says more)", what)
		}
		return fmt.Sprintf(" (but %s is paused now: a pause sent since, by another command, stands; `ice wave status` says more)", what)
	}
	if was, ok := pausedState(before, ics); ok && was == want {
		if want {
			return fmt.Sprintf(" (%s was already paused when this command looked)", what)
		}
		return fmt.Sprintf(" (%s was not paused when this command looked)", what)
	}
	return ""
}

// pausedState says whether st shows the wave (ics "") or the ICS paused; ok is false
// when st is nil, lacks the ICS, or shows the wave neither paused nor running as a
// whole (some of its ICSs paused or resumed on their own).
func pausedState(st *waveclient.Status, ics string) (paused, ok bool) {
	if st == nil {
		return false, false
	}
	var n, pausedICSs int
	for _, s := range st.ICS {
		if ics != "" && !strings.EqualFold(s.ICS, ics) {
			continue
		}
		n++
		if s.Paused {
			pausedICSs++
		}
	}
	switch {
	case n == 0:
		return false, false
	case ics != "":
		return pausedICSs > 0, true
	case st.Wave.Paused && pausedICSs == n:
		return true, true
	case !st.Wave.Paused && pausedICSs == 0:
		return false, true
	}
	return false, false
}

// movedSinceNote says when the step a move put on a day (moved, as the update
// answered) is on another day in the ICS's status read after it (after; nil when it
// could not be read): another move of the step, sent at the same moment, came after
// this one and stands. Two moves at once each answered "now on day N", and only the
// later one held.
func movedSinceNote(moved waveclient.MailingStatus, after *waveclient.ICSStatus) string {
	if after == nil {
		return ""
	}
	for _, m := range after.Mailings {
		if m.Step == moved.Step && m.Day != moved.Day {
			return fmt.Sprintf(" (but it is on day %d now: a move sent since, by another command, stands; `ice wave status` says more)", m.Day)
		}
	}
	return ""
}

// waveICSOpCmd is a command acting on one ICS of a wave.
func waveICSOpCmd(use, short string, op func(*waveclient.Client, context.Context, string, string) error) *cobra.Command {
	var c conn
	var ics string
	cmd := &cobra.Command{
		Use:   use + " WAVE --ics CODE",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, args []string) error {
			if err := op(cl, ctx, args[0], ics); err != nil {
				return err
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

func waveDeclareCmd() *cobra.Command {
	var c conn
	var ics, by string
	cmd := &cobra.Command{
		Use:   "declare WAVE --ics CODE --by NAME",
		Short: "Sign an ICS's sample declaration so its mailings can start",
		Args:  cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error {
			// A blank signatory would sign the declaration for nobody, and hold it.
			if by = strings.TrimSpace(by); by == "" {
				return fault.New(fault.BadInput, "--by: the declaration must name who signs it")
			}
			return nil
		},
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, args []string) error {
			d, err := cl.Declare(ctx, args[0], ics, by)
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
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, args []string) error {
			m, err := cl.Move(ctx, args[0], ics, step, day)
			if err != nil {
				return err
			}
			var after *waveclient.ICSStatus
			if st, err := cl.ICSStatus(ctx, args[0], ics); err == nil {
				after = &st
			}
			fmt.Printf("wave %s ICS %s: %s now on day %d%s\n", args[0], ics, m.Step, m.Day, movedSinceNote(m, after))
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&ics, "ics", "", "ICS code")
	cmd.Flags().StringVar(&step, "step", "", "mailing step name")
	cmd.Flags().IntVar(&day, "day", 0, "new fieldwork day")
	_ = cmd.MarkFlagRequired("ics")
	_ = cmd.MarkFlagRequired("step")
	// Without it the step moved to day 0, the invitation's day.
	_ = cmd.MarkFlagRequired("day")
	return cmd
}

func waveOptOutCmd() *cobra.Command {
	var c conn
	var ics string
	var req waveclient.OptOutRequest
	cmd := &cobra.Command{
		Use:   "opt-out WAVE --ics CODE (--record ID | --access-code CODE) [--reason CODE]",
		Short: "Record a late opt-out: the person gets no later letter or SMS, and their consent to linkage is withdrawn",
		Long: `Records a late opt-out: the person gets no later letter or SMS, and their consent to
linkage is withdrawn. Name them by one of --record and --access-code. The reason is a
code (it is recorded in the lake, the warehouse and the audit trail, so never free
text): ` + strings.Join(schemas.LateOptOutReasons, ", ") + `; ` + schemas.DefaultLateOptOutReason + ` when not given.
A person opted out already is refused: the first opt-out stands. To withdraw only the
consent to linkage, use ` + "`ice link withdraw`" + `.`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error {
			code, ok := schemas.LateOptOutReason(req.Reason)
			if !ok {
				return fault.Errorf(fault.BadInput, "--reason: the reason is a code, one of %s (free text is not recorded; to withdraw only the consent to linkage, `ice link withdraw`)",
					strings.Join(schemas.LateOptOutReasons, ", "))
			}
			req.Reason = code
			return nil
		},
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, args []string) error {
			id, err := cl.OptOut(ctx, args[0], ics, req)
			if errors.Is(err, waveclient.ErrEnded) {
				return fmt.Errorf("%w; no mailing is left to stop: to withdraw the person's consent to linkage, `ice link withdraw --wave %s --record ID`", err, args[0])
			}
			if err != nil {
				return err
			}
			fmt.Printf("wave %s ICS %s: %s opted out; no later mailing goes to them, and the next linkage release leaves them out\n", args[0], ics, id)
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&ics, "ics", "", "ICS code")
	f.StringVar(&req.SurveyRecordID, "record", "", "survey record ID")
	f.StringVar(&req.AccessCode, "access-code", "", "access code printed on the person's letter")
	f.StringVar(&req.Reason, "reason", schemas.DefaultLateOptOutReason, "reason code: "+strings.Join(schemas.LateOptOutReasons, ", "))
	_ = cmd.MarkFlagRequired("ics")
	cmd.MarkFlagsOneRequired("record", "access-code")
	cmd.MarkFlagsMutuallyExclusive("record", "access-code")
	return cmd
}

// outcomeCounts is how many people ended with each outcome, by its name, in the order
// of the codes: "completed 194, undelivered 21, …".
func outcomeCounts(by map[int]int) string {
	codes := make([]int, 0, len(by))
	for c := range by {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", schemas.OutcomeName(c), by[c])
	}
	return strings.Join(parts, ", ")
}
