package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/mailing"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
	"icesurvey/waveclient"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

// loadFlags say which wave, ICSs and questionnaires a daily load covers. The running
// wave's status does not carry its questionnaire versions, so they come from the wave
// spec (--spec) or from flags defaulting to the newest versions.
type loadFlags struct {
	wave, specPath string
	ics, local     []string
	patient, carer string
	simulate       bool
	simDayLength   time.Duration
}

func (f *loadFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.wave, "wave", "", "wave id (default: the spec's)")
	fl.StringVar(&f.specPath, "spec", "", "wave spec: ICSs, questionnaire versions, local questions and day length come from it")
	fl.StringSliceVar(&f.ics, "ics", nil, "ICS codes to load (default: every ICS of --spec)")
	fl.StringVar(&f.patient, "patient-version", "", "patient questionnaire version (default: the spec's, else the newest)")
	fl.StringVar(&f.carer, "carer-version", "", "carer questionnaire version (default: the spec's, else the newest)")
	fl.StringSliceVar(&f.local, "local-questions", nil, "local question ids for every ICS (default: each ICS's from --spec)")
	if devBuild {
		fl.BoolVar(&f.simulate, "simulate", false, "dev stack only: simulate the survey supplier's files before each load")
		fl.DurationVar(&f.simDayLength, "sim-day-length", 0, "dev stack only: the wave's fieldwork day length for the simulator (default: the spec's, else 24h)")
	}
}

// input builds the workflow input from the flags. What they leave out comes from the
// spec file (--spec), else from the spec the cluster started the wave with (fromCluster,
// when not nil): the ICSs, questionnaire versions, local questions and day length.
func (f *loadFlags) input(fromCluster func() (wavespec.Spec, error)) (waveclient.DailyLoadInput, error) {
	if err := f.check(); err != nil {
		return waveclient.DailyLoadInput{}, err
	}
	in := waveclient.DailyLoadInput{WaveID: f.wave, ICS: f.ics, Simulate: f.simulate, SimDayLength: f.simDayLength}
	in.PatientVersion, in.CarerVersion, in.LocalQuestions = f.patient, f.carer, f.local
	switch {
	case f.specPath != "":
		spec, err := wavespec.Load(f.specPath)
		if err != nil {
			return in, err
		}
		if in.WaveID == "" {
			in.WaveID = spec.WaveID
		} else if in.WaveID != spec.WaveID {
			return in, fmt.Errorf("--wave %s but the spec is for wave %s", in.WaveID, spec.WaveID)
		}
		fillFromSpec(&in, *spec)
	case fromCluster != nil && in.WaveID != "" && (len(in.ICS) == 0 || in.PatientVersion == "" || in.CarerVersion == "" || len(in.LocalQuestions) == 0):
		// The README's `--wave W` alone, and the backfill a resumed schedule prints:
		// the wave's own spec, not the newest questionnaires and no local questions.
		spec, err := fromCluster()
		if err != nil && len(in.ICS) == 0 {
			return in, fmt.Errorf("--ics (or --spec) is required when the cluster cannot give the wave's spec: %w", err)
		}
		if err == nil {
			fillFromSpec(&in, spec)
		}
	}
	var err error
	if in.PatientVersion == "" {
		if in.PatientVersion, err = questionnaire.Latest(questionnaire.Patient); err != nil {
			return in, err
		}
	}
	if in.CarerVersion == "" {
		if in.CarerVersion, err = questionnaire.Latest(questionnaire.Carer); err != nil {
			return in, err
		}
	}
	// Check the versions and local questions now, not at 06:00 tomorrow in a worker.
	for _, local := range append([][]string{in.LocalQuestions}, mapValues(in.LocalQuestionsByICS)...) {
		if _, err := questionnaire.ResolveSet([]string{in.PatientVersion, in.CarerVersion}, local); err != nil {
			return in, err
		}
	}
	switch {
	case in.WaveID == "":
		return in, errors.New("--wave (or --spec) is required")
	case len(in.ICS) == 0:
		return in, errors.New("--ics (or --spec) is required: which ICSs to load")
	}
	return in, nil
}

// clusterSpec reads the spec the cluster started wave with, for loadFlags.input, and
// keeps what it read in *started (set only once asked).
func clusterSpec(ctx context.Context, cl *waveclient.Client, wave string, started **waveclient.StartedWave) func() (wavespec.Spec, error) {
	return func() (wavespec.Spec, error) {
		w, err := cl.WaveSpec(ctx, wave)
		if err == nil {
			*started = &w
		}
		return w.Spec, err
	}
}

// check refuses what the flags say wrongly on their own, before the cluster is asked.
func (f *loadFlags) check() error {
	// A code given twice would load that ICS twice each day.
	for i, ics := range f.ics {
		if slices.ContainsFunc(f.ics[:i], func(o string) bool { return strings.EqualFold(o, ics) }) {
			return fmt.Errorf("--ics names %s twice (%s): give each ICS once", ics, strings.Join(f.ics, ","))
		}
	}
	return nil
}

// fillFromSpec gives in what its flags left out from the wave's spec.
func fillFromSpec(in *waveclient.DailyLoadInput, spec wavespec.Spec) {
	if len(in.ICS) == 0 {
		in.ICS = spec.Codes()
	}
	if in.PatientVersion == "" {
		in.PatientVersion = spec.QuestionnaireVersion
	}
	if in.CarerVersion == "" {
		in.CarerVersion = spec.CarerQuestionnaire
	}
	if len(in.LocalQuestions) == 0 {
		in.LocalQuestionsByICS = map[string][]string{}
		for _, ics := range spec.ICSs {
			in.LocalQuestionsByICS[ics.Code] = ics.LocalQuestions
		}
	}
	if in.SimDayLength == 0 {
		in.SimDayLength = spec.DayLength.D()
	}
}

// warnUntilBeforeLastLoad warns when a schedule's last run (--until) comes before the
// wave's last load on a 24-hour clock: its start, fieldwork and the final loads, and the
// lag. A response after that is loaded only by hand, and one not loaded before an ICS's
// closing record is recorded there as no response.
func warnUntilBeforeLastLoad(w io.Writer, started waveclient.StartedWave, until time.Time, lag int) {
	sch := started.Spec.Schedule
	if started.StartedAt.IsZero() || sch.FieldworkDays == 0 || (started.Spec.DayLength.D() != 0 && started.Spec.DayLength.D() != 24*time.Hour) {
		return // a simulated clock's days are not the schedule's
	}
	finalLoads := sch.FinalLoadDays
	if finalLoads == 0 {
		finalLoads = mailing.DefaultFinalLoadDays
	}
	lastLoad := started.StartedAt.UTC().Truncate(24*time.Hour).AddDate(0, 0, sch.FieldworkDays+finalLoads+lag)
	if until.Before(lastLoad) {
		fmt.Fprintf(w, "WARNING: --until %s is before the wave's last daily load (about %s on 24-hour days: started %s, %d fieldwork days, "+
			"%d final load days, lag %d); responses landed after %s are loaded only by hand (`ice load backfill`), and one not loaded by an "+
			"ICS's closing record is recorded there as no response\n", until.Format(time.DateOnly), lastLoad.Format(time.DateOnly),
			started.StartedAt.UTC().Format(time.DateOnly), sch.FieldworkDays, finalLoads, lag, until.Format(time.DateOnly))
	}
}

func mapValues(m map[string][]string) [][]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([][]string, 0, len(m))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func scheduleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "schedule", Short: "Create, show and delete the Temporal Schedules of recurring work"}
	cmd.AddCommand(scheduleDailyLoadCmd(), scheduleStatusCmd(), schedulePauseCmd(), scheduleResumeCmd(), scheduleDeleteCmd())
	return cmd
}

func scheduleStatusCmd() *cobra.Command {
	return onWaveCmd("status --wave W", "Show the wave's daily-load schedule: when it runs, its next runs, how its latest runs went, what it missed",
		func(ctx context.Context, cl *waveclient.Client, wave string) error {
			s, err := cl.DescribeDailyLoadSchedule(ctx, wave)
			if err != nil {
				return err
			}
			cl.ReadRunOutcomes(ctx, s.RecentRuns)
			printSchedule(os.Stdout, wave, s)
			return nil
		})
}

// printSchedule prints a daily-load schedule's status.
func printSchedule(out io.Writer, wave string, s waveclient.DailyLoadScheduleStatus) {
	state := "active"
	if s.Paused {
		state = "paused"
	}
	fmt.Fprintf(out, "schedule %s: %s, daily at %s UTC", s.ID, state, s.At)
	if !s.EndAt.IsZero() {
		// The run the schedule ends with (--until), not the latest: "ran" lines say those.
		fmt.Fprintf(out, ", final run %s", s.EndAt.UTC().Format("2006-01-02 15:04"))
	}
	fmt.Fprintf(out, "\n  %s\n", s.Note)
	var next []string
	for _, t := range s.NextRuns {
		next = append(next, t.UTC().Format("2006-01-02 15:04"))
	}
	switch {
	case len(next) == 0:
		fmt.Fprintf(out, "  next runs   none (the schedule has ended)\n")
	case s.Paused:
		fmt.Fprintf(out, "  next runs   none while paused: the runs due %s are skipped unless it is resumed first (`ice schedule resume --wave %s`)\n",
			strings.Join(next, ", "), wave)
	default:
		fmt.Fprintf(out, "  next runs   %s\n", strings.Join(next, ", "))
	}
	for _, r := range s.RecentRuns {
		fmt.Fprintf(out, "  ran         %s  %s  (%s)\n", r.ScheduledAt.UTC().Format("2006-01-02 15:04"), runOutcome(r), r.WorkflowID)
	}
	if s.Missed > 0 {
		fmt.Fprintf(out, "  missed      %d runs beyond the catch-up window: load their days with `ice load backfill`\n", s.Missed)
	}
}

func schedulePauseCmd() *cobra.Command {
	var why string
	cmd := onWaveCmd("pause --wave W --why TEXT", "Pause the wave's daily-load schedule (say, while the supplier's feed is broken); its runs are skipped until it is resumed",
		func(ctx context.Context, cl *waveclient.Client, wave string) error {
			if why == "" {
				return errors.New("--wave and --why are required (the why is kept in the schedule's note)")
			}
			if err := cl.PauseDailyLoadSchedule(ctx, wave, why); err != nil {
				return err
			}
			fmt.Printf("schedule %s paused: its runs are skipped, not caught up, until `ice schedule resume --wave %s`\n",
				workflows.DailyLoadScheduleID(wave), wave)
			return nil
		})
	cmd.Flags().StringVar(&why, "why", "", "why it is paused (kept in the schedule's note)")
	return cmd
}

func scheduleResumeCmd() *cobra.Command {
	return onWaveCmd("resume --wave W", "Resume a paused daily-load schedule, and say which days the runs it skipped would have loaded",
		func(ctx context.Context, cl *waveclient.Client, wave string) error {
			sk, err := cl.ResumeDailyLoadSchedule(ctx, wave)
			if err != nil {
				return err
			}
			fmt.Printf("schedule %s resumed\n", workflows.DailyLoadScheduleID(wave))
			switch {
			case sk.PausedAt.IsZero():
				fmt.Println("  when it was paused is not known: `ice schedule status` lists its runs, `ice load backfill` loads missed days")
			case sk.Runs == 0:
				fmt.Printf("  no run fell due while it was paused (since %s)\n", sk.PausedAt.Format("2006-01-02 15:04"))
			default:
				fmt.Printf("  it skipped %s while paused (since %s); load their days with:\n  ice load backfill --wave %s --from %s --to %s\n",
					plural(sk.Runs, "run", "runs"), sk.PausedAt.Format("2006-01-02 15:04"), wave, sk.From.Format(time.DateOnly), sk.To.Format(time.DateOnly))
			}
			return nil
		})
}

func scheduleDeleteCmd() *cobra.Command {
	return onWaveCmd("delete --wave W", "Delete the wave's daily-load schedule once its loads are over (days are still loaded by hand with ice load backfill)",
		func(ctx context.Context, cl *waveclient.Client, wave string) error {
			if err := cl.DeleteDailyLoadSchedule(ctx, wave); err != nil {
				return err
			}
			fmt.Printf("schedule %s deleted: no more daily loads of %s start by themselves (a load in progress finishes; `ice load backfill` loads a day by hand)\n",
				workflows.DailyLoadScheduleID(wave), wave)
			return nil
		})
}

// onWaveCmd is a command that acts on one wave named by --wave (required), with the
// cluster's connection flags.
func onWaveCmd(use, short string, run func(ctx context.Context, cl *waveclient.Client, wave string) error) *cobra.Command {
	var c conn
	var wave string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if wave == "" {
				return errors.New("--wave is required")
			}
			return run(ctx, cl, wave)
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&wave, "wave", "", "the wave")
	return cmd
}

func scheduleDailyLoadCmd() *cobra.Command {
	var c conn
	var lf loadFlags
	var at string
	var catchup time.Duration
	var lag int
	var until string
	var anyWave bool
	cmd := &cobra.Command{
		Use:   "daily-load --wave W --at HH:MM [--until YYYY-MM-DD]",
		Short: "Load each day's response files at HH:MM UTC, catching up missed days",
		Long: `Creates a Temporal Schedule that starts the daily response load of a wave every day at
HH:MM (UTC). Each run loads the landing folder of the day --lag-days before its scheduled time
(default 1: at 06:00 it loads yesterday's complete folder). Loads never overlap; runs missed
while the cluster was down are made up, in order, within --catchup. --until makes the run
on that day the last (a wave's loads are over final_load_days after its last ICS closes;
a file later still is loaded by hand with ` + "`ice load backfill`" + `). ` + "`ice schedule status`" + ` shows the
schedule and how its runs went, and ` + "`ice schedule delete`" + ` ends it. The wave and its ICSs must be
ones the cluster runs (--any-wave skips the check).`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			hour, minute, err := parseHHMM(at)
			if err != nil {
				return err
			}
			if catchup < time.Minute {
				return errors.New("--catchup must be at least 1m")
			}
			if lag < 0 {
				return errors.New("--lag-days must not be negative")
			}
			var last time.Time
			if until != "" {
				if last, err = time.Parse(time.DateOnly, until); err != nil {
					return fmt.Errorf("--until %q: want YYYY-MM-DD", until)
				}
			}
			if err := lf.check(); err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			var started *waveclient.StartedWave
			in, err := lf.input(clusterSpec(ctx, cl, lf.wave, &started))
			if err != nil {
				return err
			}
			in.LagDays = lag
			if started != nil && !last.IsZero() {
				warnUntilBeforeLastLoad(os.Stderr, *started, last, lag)
			}
			if !anyWave {
				if err := cl.CheckWaveICSs(ctx, in.WaveID, in.ICS); err != nil {
					return fmt.Errorf("%w; --any-wave schedules it all the same (say, for a wave whose workflow the namespace's retention has removed)", err)
				}
			}
			id, err := cl.ScheduleDailyLoad(ctx, waveclient.DailyLoadSchedule{Input: in, Hour: hour, Minute: minute, Catchup: catchup, Until: last})
			if err != nil {
				return err
			}
			ends := ""
			if !last.IsZero() {
				ends = ", final run on " + until
			}
			fmt.Printf("schedule %s created: daily at %02d:%02d UTC%s, loads the day %d before, catch-up %s, for %s\n",
				id, hour, minute, ends, lag, catchup, strings.Join(in.ICS, ", "))
			return nil
		},
	}
	c.bind(cmd)
	lf.bind(cmd)
	cmd.Flags().StringVar(&at, "at", "", "time of day to load, HH:MM UTC (required)")
	cmd.Flags().DurationVar(&catchup, "catchup", 72*time.Hour, "how long after a missed run it is still made up")
	cmd.Flags().IntVar(&lag, "lag-days", 1, "load the folder of this many days before the run's day")
	cmd.Flags().StringVar(&until, "until", "", "the last day to run, YYYY-MM-DD (default: run until ice schedule delete removes the schedule)")
	cmd.Flags().BoolVar(&anyWave, "any-wave", false, "schedule it even if the cluster knows no such wave or ICS (its runs fail until the sample is in the lake)")
	_ = cmd.MarkFlagRequired("at")
	return cmd
}

func parseHHMM(s string) (hour, minute int, err error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, fmt.Errorf("--at %q: want HH:MM (24-hour)", s)
	}
	return t.Hour(), t.Minute(), nil
}

func loadCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "load", Short: "Run the daily response load by hand"}
	cmd.AddCommand(loadBackfillCmd())
	return cmd
}

// printLoads returns the callback that prints each day's load as a table row.
func printLoads(tw *tabwriter.Writer) func(waveclient.DailyLoadResult) {
	fmt.Fprintln(tw, "DATE\tICS\tFILES\tROWS\tLOADED\tREJECTED\tDUPLICATES\tNOTE")
	return func(res waveclient.DailyLoadResult) {
		for _, r := range res.ICS {
			note := r.Error
			switch {
			case note != "":
			case r.Load.NoFiles:
				note = "no files"
			case r.Load.FilesSkipped == r.Load.Files:
				note = "already loaded"
			case r.Load.AfterClosingRecord:
				note = "after the ICS's closing record (a later release counts it; the record is not rewritten)"
			}
			if r.Error == "" {
				note = addNote(note, loadFileNotes(r.Load)...)
			}
			if r.Error == "" && r.Load.LandedDeleted > 0 {
				note = addNote(note, fmt.Sprintf("the ICS's retention has run: its %d landed files deleted once loaded "+
					"(SHA-256, size and rows kept in %s)", r.Load.LandedDeleted, schemas.RetentionLineageKey(res.WaveID, r.ICS)))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", res.Date, r.ICS, r.Load.Files, r.Load.RowsRead,
				r.Load.Loaded, r.Load.Rejected, r.Load.Duplicates, note)
		}
	}
}

// addNote appends parts to note, separated by "; ".
func addNote(note string, parts ...string) string {
	for _, p := range parts {
		note = strings.TrimPrefix(note+"; "+p, "; ")
	}
	return note
}

// loadFileNotes says what a day's load did with files beyond the counts: the files
// skipped as loaded before when not all were, and each file rejected whole (whose rows
// are in no count), with the rows or lines it holds.
func loadFileNotes(l waveclient.LoadResponsesOutput) []string {
	var parts []string
	if l.FilesSkipped > 0 && l.FilesSkipped < l.Files {
		parts = append(parts, fmt.Sprintf("%d of %d files already loaded (same bytes), skipped", l.FilesSkipped, l.Files))
	}
	for _, f := range l.RejectedFiles {
		what := f.Reason
		switch {
		case f.Rows > 0:
			what += ", " + plural(f.Rows, "row", "rows")
		case f.Lines > 0:
			what += ", " + plural(f.Lines, "line", "lines") + " not read"
		case f.Reason == schemas.RejectUnknownFile:
			what += ", not read"
		}
		parts = append(parts, fmt.Sprintf("file %s rejected whole (%s)", f.File, what))
	}
	return parts
}

func loadBackfillCmd() *cobra.Command {
	var c conn
	var lf loadFlags
	var from, to string
	var anyWave bool
	cmd := &cobra.Command{
		Use:   "backfill --wave W --from yyyy-mm-dd --to yyyy-mm-dd",
		Short: "Load the response files of each day in a range, in date order",
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := time.Parse(time.DateOnly, from)
			if err != nil {
				return fmt.Errorf("--from: want yyyy-mm-dd: %w", err)
			}
			t, err := time.Parse(time.DateOnly, to)
			if err != nil {
				return fmt.Errorf("--to: want yyyy-mm-dd: %w", err)
			}
			if t.Before(f) {
				// Before the cluster is asked anything or a table is begun.
				return fmt.Errorf("--to %s is before --from %s", to, from)
			}
			if err := lf.check(); err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := c.dial(ctx)
			if err != nil {
				return err
			}
			defer cl.Close()
			var started *waveclient.StartedWave
			in, err := lf.input(clusterSpec(ctx, cl, lf.wave, &started))
			if err != nil {
				return err
			}
			// An ICS the wave does not have would fail every day's load, and a mistyped
			// wave would start loads and write audit rows under it; a wave the cluster
			// does not run (its samples put in the lake by other means) is loaded with
			// --any-wave, as the load reads only the lake.
			if err := knownWave(ctx, cl, in.WaveID, in.ICS, anyWave); err != nil {
				return err
			}
			if started == nil && !anyWave {
				if w, err := cl.WaveSpec(ctx, in.WaveID); err == nil {
					started = &w
				}
			}
			// A mistyped year would start a load, and audit rows, for every day of it.
			if started != nil && !started.StartedAt.IsZero() && !anyWave {
				if first := started.StartedAt.UTC().Truncate(24 * time.Hour); f.Before(first) {
					return fmt.Errorf("--from %s is before wave %s started (%s): no response file can be for a day before it",
						from, in.WaveID, first.Format(time.DateOnly))
				}
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			defer tw.Flush()
			// The days loaded so far: the next one's load is watched for a retrying activity.
			var loaded atomic.Int64
			stop := reportRetrying(ctx, os.Stderr, under(cl, func() []string {
				return []string{workflows.DailyLoadWorkflowID(in.WaveID, f.AddDate(0, 0, int(loaded.Load())))}
			}))
			defer stop()
			printDay := printLoads(tw)
			_, err = cl.Backfill(ctx, in, f, t, func(res waveclient.DailyLoadResult) {
				loaded.Add(1)
				printDay(res)
			})
			return err
		},
	}
	c.bind(cmd)
	lf.bind(cmd)
	cmd.Flags().StringVar(&from, "from", "", "first day to load (yyyy-mm-dd, required)")
	cmd.Flags().StringVar(&to, "to", "", "last day to load (yyyy-mm-dd, required)")
	bindAnyWave(cmd, &anyWave)
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// runOutcome says how a scheduled daily load went: each ICS's files, rows and
// rejections, or why it failed.
func runOutcome(r waveclient.ScheduledRun) string {
	switch {
	case r.Status == "":
		return "outcome not known (the run is no longer on the cluster)"
	case r.Status == "running":
		return "running"
	case r.Result == nil:
		if r.Error != "" {
			return r.Status + ": " + r.Error
		}
		return r.Status
	}
	var parts []string
	for _, ics := range r.Result.ICS {
		l := ics.Load
		switch {
		case ics.Error != "":
			parts = append(parts, ics.ICS+" failed: "+ics.Error)
		case l.NoFiles:
			parts = append(parts, ics.ICS+" no files")
		case l.FilesSkipped == l.Files:
			parts = append(parts, ics.ICS+" already loaded")
		default:
			part := fmt.Sprintf("%s %s, %d rows loaded, %d rejected", ics.ICS, plural(l.Files, "file", "files"), l.Loaded, l.Rejected)
			if notes := loadFileNotes(l); len(notes) > 0 {
				part += " (" + strings.Join(notes, "; ") + ")"
			}
			parts = append(parts, part)
		}
	}
	return fmt.Sprintf("%s, day %s: %s", r.Status, r.Result.Date, strings.Join(parts, "; "))
}
