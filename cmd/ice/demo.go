//go:build !production

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/audit"
	"icesurvey/infra/devstack"
	"icesurvey/mailing"
	"icesurvey/notify"
	"icesurvey/publication"
	"icesurvey/schemas"
	"icesurvey/synth"
	"icesurvey/waveclient"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

// demoConfig configures `ice demo`.
type demoConfig struct {
	DataDir   string
	ICSs      []string
	N         int
	Faults    float64
	Deaths    float64
	DayLength time.Duration
	UIPort    int
	ServeAddr string // where --serve listens (ice serve's --addr)
	Out       *os.File
	// then, when set, runs after the wave and its local index while the embedded
	// stack (Temporal, workers) is still up: the dashboard's coding page needs it.
	then func(ctx context.Context, st *devstack.Stack, wave string) error
}

func demoCmd() *cobra.Command {
	cfg := demoConfig{Out: os.Stdout}
	var serve bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a whole wave for two ICSs on the embedded stack, with a compressed clock",
		Long: `Starts the embedded stack, generates synthetic samples for two ICSs, runs a wave
through intake, declaration, DBS checks before every letter, the full mailing schedule
(one fieldwork day lasts --day-length) and close, and prints a summary with where the
outputs are.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Issue #16: the dashboard over the demo's outputs, served while the stack
			// runs so that its coding page reaches the wave's ThemeCodingWorkflow (#17).
			cfg.then = func(ctx context.Context, st *devstack.Stack, wave string) error {
				return demoDashboard(ctx, cfg, serve, st.Server.HostPort(), wave)
			}
			_, err := runDemo(cmd.Context(), cfg)
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVar(&serve, "serve", false, "keep the dashboard running over the finished wave (Ctrl-C stops it)")
	f.StringVar(&cfg.ServeAddr, "addr", "127.0.0.1:8080", "address the dashboard listens on, with --serve")
	f.StringVar(&cfg.DataDir, "data", ".ice/demo", "data directory")
	f.StringSliceVar(&cfg.ICSs, "ics", []string{"QMM", "QJK"}, "ICS codes")
	f.IntVar(&cfg.N, "n", 1000, "people per ICS")
	f.Float64Var(&cfg.Faults, "faults", 0.03, "share of records with a fault")
	f.Float64Var(&cfg.Deaths, "deaths", 0.03, "share of people the simulated DBS reports deceased")
	f.DurationVar(&cfg.DayLength, "day-length", time.Second, "length of one fieldwork day")
	f.IntVar(&cfg.UIPort, "ui-port", 0, "Web UI port (0 picks one, -1 disables)")
	return cmd
}

// runDemo runs the demo through waveclient, as an operator would, and returns the
// finished wave's result.
func runDemo(ctx context.Context, cfg demoConfig) (*waveclient.WaveResult, error) {
	out := cfg.Out
	started := time.Now()
	fmt.Fprintln(out, "Starting the embedded stack (Temporal with SQLite, Web UI, workers, simulated DBS and Notify)…")
	// Notify's 3,000 requests a minute would make each SMS step of ~500 messages last
	// ten of the demo's one-second days, and the steps drift past the close (where they
	// are not sent); the demo's Notify allows them in three fieldwork days instead.
	st, err := devstack.Start(ctx, devstack.Config{DataDir: cfg.DataDir, UIPort: cfg.UIPort, DBSDelay: 2 * cfg.DayLength, NotifySettleAfter: cfg.DayLength,
		NotifyRateWindow: min(3*cfg.DayLength, notify.DefaultRateWindow)})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	// The access file comes first: the workers check it before they record a coder's
	// decisions or build a report that quotes comments for someone.
	accessFile, err := writeDemoAccess(cfg.DataDir, cfg.ICSs)
	if err != nil {
		return nil, err
	}
	wc := waveclient.New(st.Client)
	fmt.Fprintf(out, "  Temporal %s", st.Server.HostPort())
	if st.UI != nil {
		fmt.Fprintf(out, ", Web UI %s", st.UI.URL())
	}
	fmt.Fprintln(out)

	waveID := "demo-" + time.Now().UTC().Format("20060102-150405")
	sampling := time.Now().UTC().Truncate(24 * time.Hour)
	spec := &wavespec.Spec{
		WaveID: waveID, SamplingDate: wavespec.Date{Time: sampling}, DayLength: wavespec.Duration(cfg.DayLength),
		MinEligible: cfg.N / 2, RetentionDays: 2,
		DBS:      wavespec.DBSSettings{PollEvery: wavespec.Duration(cfg.DayLength / 2), ReplyDeadline: wavespec.Duration(5 * cfg.DayLength)},
		Schedule: mailing.DefaultSchedule(),
		// The simulated Notify accepts any template ID; a real wave maps its own.
		Templates: map[string]string{},
	}
	for _, st := range spec.Schedule.Steps {
		spec.Templates[st.Template] = demoTemplateID(st.Template)
	}
	synthDir := filepath.Join(cfg.DataDir, "synth", waveID)
	for i, code := range cfg.ICSs {
		sp, mp, stats, err := synth.GenerateFiles(synth.Config{ICS: code, N: cfg.N, Seed: int64(i + 1), FaultRate: cfg.Faults,
			SamplingDate: sampling, DeathRate: cfg.Deaths}, synthDir)
		if err != nil {
			return nil, err
		}
		if err := putDeathsRegister(ctx, st.Outside, code, stats.DeceasedNHS); err != nil {
			return nil, err
		}
		spec.ICSs = append(spec.ICSs, wavespec.ICS{Code: code, SampleFile: sp, MailingFile: mp})
		fmt.Fprintf(out, "  synthetic sample for %s: %d people, %d expected accepted, %d excluded, %d rejected\n",
			code, stats.Records, stats.ExpectedAccepted, stats.ExpectedExcluded, stats.ExpectedRejected)
	}
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if _, _, err := wc.StageAndStart(ctx, st.Store, spec); err != nil {
		return nil, err
	}
	fmt.Fprintf(out, "Wave %s started: one fieldwork day = %s, fieldwork %d days.\n", waveID, cfg.DayLength, spec.Schedule.FieldworkDays)

	// An activity failing again and again (a full disk, say) would leave the demo
	// waiting in silence; it is reported as it retries.
	defer reportRetrying(ctx, out, inWave(wc, waveID))()
	done := make(chan error, 1)
	var res waveclient.WaveResult
	go func() {
		var err error
		if res, err = wc.WaitWave(ctx, waveID); err == nil {
			// Fieldwork is over; the identifiable data goes after the retention period.
			for _, code := range spec.Codes() {
				if res.ICS[code].Retention == nil {
					continue // intake never finished
				}
				if _, err = wc.WaitRetention(ctx, waveID, code); err != nil {
					break
				}
			}
		}
		done <- err
	}()
	loads := &demoLoads{out: out, started: started, spec: spec}
	loadCtx, stopLoads := context.WithCancel(ctx)
	defer stopLoads()
	loadsDone := make(chan struct{})
	go func() { defer close(loadsDone); loads.run(loadCtx, st, wc) }()
	declared := map[string]bool{}
	last := map[string]string{}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			stopLoads()
			<-loadsDone
			if err != nil {
				return nil, fmt.Errorf("wave %s: %w", waveID, err)
			}
			printDemoSummary(ctx, out, st, spec, &res, time.Since(started))
			if err := demoPublication(ctx, out, st, wc, waveID); err != nil {
				return nil, err
			}
			// #15: the consented linkage, against synthetic provider extracts.
			if err := demoLinkage(ctx, out, st, wc, waveID); err != nil {
				return nil, fmt.Errorf("linkage: %w", err)
			}
			// #17: the local index — the wave's free text coded, a profile report written.
			if err := demoLocalIndex(ctx, out, st, wc, spec, accessFile, demoReportsDir(cfg.DataDir, waveID)); err != nil {
				return nil, fmt.Errorf("local index: %w", err)
			}
			if cfg.then != nil {
				if err := cfg.then(ctx, st, waveID); err != nil {
					return nil, err
				}
			}
			return &res, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		status, err := wc.Status(ctx, waveID)
		if err != nil {
			continue // the children may not have started yet
		}
		ics := status.ICS
		over := len(ics) == len(spec.ICSs)
		for _, s := range ics {
			switch s.Stage {
			case workflows.StageClosing, workflows.StageClosed, workflows.StageIntakeFailed:
			default:
				over = false
			}
			line := demoLine(s)
			if line != last[s.ICS] {
				fmt.Fprintf(out, "  [%5.1fs] %s %s\n", time.Since(started).Seconds(), s.ICS, line)
				last[s.ICS] = line
			}
			if s.Stage == workflows.StageDeclaration && !declared[s.ICS] && s.Intake != nil && !s.Intake.Shortfall {
				// The same update `ice wave declare` sends.
				if _, err := wc.Declare(ctx, waveID, s.ICS, "Demo Data Engineer"); err != nil {
					return nil, err
				}
				declared[s.ICS] = true
				fmt.Fprintf(out, "  [%5.1fs] %s sample declared by Demo Data Engineer\n", time.Since(started).Seconds(), s.ICS)
			}
		}
		if over {
			loads.fieldworkOver.Store(true)
		}
	}
}

func demoLine(s waveclient.ICSStatus) string {
	var b strings.Builder
	b.WriteString(string(s.Stage))
	if s.WaitingOn != "" {
		b.WriteString(" (waiting for " + s.WaitingOn + ")")
	}
	if s.Intake != nil && s.Stage == workflows.StageDeclaration {
		fmt.Fprintf(&b, ": %d accepted, %d excluded, %d rejected", s.Intake.Accepted, s.Intake.Excluded, s.Intake.Rejected)
	}
	for _, m := range s.Mailings {
		if m.State == workflows.MailingSent {
			fmt.Fprintf(&b, " | %s %d", m.Step, m.Sent)
		}
	}
	if n := len(s.DBS); n > 0 && s.DBS[n-1].Replied {
		fmt.Fprintf(&b, " | deceased so far %d", totalDeceased(s))
	}
	return b.String()
}

// icsWithName is an ICS's code and, when schemas.ICSNames knows it, its name.
func icsWithName(code string) string {
	if n := schemas.ICSName(code); n != "" {
		return code + " " + n
	}
	return code
}

func totalDeceased(s waveclient.ICSStatus) int {
	n := 0
	for _, d := range s.DBS {
		n += d.Deceased
	}
	return n
}

func printDemoSummary(ctx context.Context, out *os.File, st *devstack.Stack, spec *wavespec.Spec, res *waveclient.WaveResult, took time.Duration) {
	fmt.Fprintf(out, "\nWave %s %s in %s.\n\n", spec.WaveID, res.Status.Stage, took.Round(time.Second))
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprint(w, "ICS\taccepted\texcluded\trejected\tdeceased (DBS)")
	for _, s := range spec.Schedule.Steps {
		fmt.Fprintf(w, "\t%s", s.Name)
	}
	fmt.Fprintln(w, "\tfinal outcomes")
	for _, code := range spec.Codes() {
		s := res.ICS[code]
		if s.Intake == nil {
			fmt.Fprintf(w, "%s\t(intake did not finish)\n", code)
			continue
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d", code, s.Intake.Accepted, s.Intake.Excluded, s.Intake.Rejected, totalDeceased(s))
		for _, m := range s.Mailings {
			fmt.Fprintf(w, "\t%d", m.Sent)
		}
		fmt.Fprintf(w, "\t%s\n", outcomeCounts(s.Outcomes))
	}
	w.Flush()
	events, _ := audit.Trail(ctx, st.Store, spec.WaveID)
	attempts := 0
	for _, e := range events {
		if e.Kind == audit.KindActivityAttempt {
			attempts++
		}
	}
	progress, _ := st.Warehouse.WaveProgress(ctx, spec.WaveID)
	root := st.Store.Root()
	fmt.Fprintf(out, "\nOutputs\n")
	fmt.Fprintf(out, "  lake (Parquet, pseudonymised)   %s/%s\n", root, schemas.AreaLake.Prefix())
	// The summary follows the retention of every ICS that started one.
	var retained, kept []string
	for _, code := range spec.Codes() {
		if res.ICS[code].Retention != nil {
			retained = append(retained, code)
		} else {
			kept = append(kept, code)
		}
	}
	fmt.Fprintf(out, "  rejection reports               %s/%s (identifiable%s)\n", root, schemas.RejectionReportKey(schemas.StagedLandingKey(spec.WaveID, "<ICS>", "<start>", "sample.csv")), retainedNote(spec.WaveID, retained, kept))
	fmt.Fprintf(out, "  declarations                    %s/%s\n", root, schemas.AreaReports.WavePrefix(spec.WaveID))
	fmt.Fprintf(out, "  restricted (identifiable)       %s/%s (mailing data%s)\n", root, schemas.AreaRestricted.WavePrefix(spec.WaveID), retainedNote(spec.WaveID, retained, kept))
	fmt.Fprintf(out, "  free text (named ICB users)     %s/%s (kept after retention)\n", root, schemas.AreaFreeText.WavePrefix(spec.WaveID))
	fmt.Fprintf(out, "  warehouse (DuckDB)              %s\n", st.Warehouse.Path())
	// The trail counts events still pending their compaction into the lake, which
	// audit_log gets at the next flush.
	inWarehouse := fmt.Sprintf("%d in audit_log", progress.AuditEvents)
	if pending := int64(len(events)) - progress.AuditEvents; pending > 0 {
		inWarehouse += fmt.Sprintf(", %d awaiting the next flush", pending)
	}
	fmt.Fprintf(out, "  audit trail                     %d events (%d activity attempts; %s)\n", len(events), attempts, inWarehouse)
	fmt.Fprintf(out, "\nTry: ice audit --store file://%s --wave %s\n", root, spec.WaveID)
	fmt.Fprintf(out, "     duckdb -readonly %s \"SELECT ics, outcome, count(*) FROM outcomes GROUP BY ALL ORDER BY ALL\"\n", st.Warehouse.Path())
}

// retainedNote says, after an identifiable output of the demo's Outputs, whether the
// retention has deleted it: for the ICSs whose retention ran (retained: the demo
// waits for them before its summary), and not for those that started none (kept).
func retainedNote(wave string, retained, kept []string) string {
	switch {
	case len(kept) == 0:
		return ", already deleted at retention; SHA-256, size and rows of each landed file in " + schemas.RetentionLineageKey(wave, "<ICS>")
	case len(retained) == 0:
		return ", deleted at retention"
	}
	return fmt.Sprintf(", already deleted at retention for %s; still there for %s, which started no retention",
		strings.Join(retained, ", "), strings.Join(kept, ", "))
}

// demoPublisher is who signs the demo's release off.
const demoPublisher = "Demo Publication Lead"

// demoPublication waits for the draft release the wave started when its fieldwork
// ended, prints where it is, its summary and three headline figures per ICS (read back
// from the release's own files), and signs it off as a named demo user — leaving out
// any ICS whose raking failed, as the approval requires — so it ends published.
func demoPublication(ctx context.Context, out *os.File, st *devstack.Stack, wc *waveclient.Client, wave string) error {
	release := waveclient.FirstReleaseID
	fmt.Fprintf(out, "\nPublished comparable data (release %s, drafted when every ICS had closed)\n", release)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	defer reportRetrying(ctx, out, under(wc, watching(workflows.PublicationWorkflowID(wave, release))))()
	draft, err := wc.WaitPublicationDraft(wctx, wave, release, 500*time.Millisecond)
	if err != nil {
		return err
	}
	storeURL := "file://" + st.Store.Root()
	printPublication(out, draft, storeURL)
	// The draft, as the approver reads it (drafts/, not yet public).
	meta, err := publication.ReadDraftMetadata(ctx, st.Store, wave, release)
	if err != nil {
		return err
	}
	manifest, err := publication.ReadDraftManifest(ctx, st.Store, wave, release)
	if err != nil {
		return err
	}
	rows, err := publication.ReadResults(ctx, st.Store, manifest)
	if err != nil {
		return err
	}
	heads := publication.Headlines(meta, rows, 3)
	fmt.Fprintln(out, "  Headline figures (patients, weighted; % positive with its 95% interval):")
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, im := range meta.ICSs {
		hs := heads[im.ICS]
		if len(hs) == 0 {
			fmt.Fprintf(w, "  %s\t(no figures published: %s)\n", icsWithName(im.ICS), im.WeightingStatus)
			continue
		}
		for _, h := range hs {
			mark := ""
			if h.Status != "" {
				mark = " [" + h.Status + "]"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s%%\t(%s–%s)\tbase %d\tvs England: %s%s\n", icsWithName(im.ICS), h.QuestionID,
				pct1(h.Pct), pct1(h.CILower), pct1(h.CIUpper), h.Base, orDash(h.VsEngland), mark)
		}
	}
	w.Flush()
	if draft.Stage != workflows.PublicationPublished {
		var leaveOut []string
		if draft.Summary != nil {
			leaveOut = draft.Summary.RakeFailed
		}
		// The same update `ice publish approve` sends.
		ap, err := wc.ApprovePublication(ctx, wave, release, demoPublisher, leaveOut)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  Release %s approved by %s at %s\n", release, ap.By, ap.At.Format(time.RFC3339))
	}
	res, err := wc.WaitPublication(wctx, wave, release)
	if err != nil {
		return fmt.Errorf("publication of release %s: %w", release, err)
	}
	fmt.Fprintf(out, "  Release %s is %s: %s\n", release, res.Status.Stage, storeLocation(storeURL, res.Status.Prefix))
	fmt.Fprintf(out, "  Try: duckdb -readonly %s \"SELECT ics, question_id, pct_positive, ci_lower, ci_upper, status FROM published_results WHERE group_variable = 'all' AND respondent_type = 'patient' ORDER BY ALL LIMIT 20\"\n", st.Warehouse.Path())
	return nil
}

// pct1 formats a percentage to one decimal place, as the release does.
func pct1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// demoTemplateID gives each symbolic template a stable UUID-shaped ID for the demo.
func demoTemplateID(name string) string {
	sum := sha256.Sum256([]byte("ice-demo-template/" + name))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// demoLoads plays the survey supplier and the scheduler: at the end of each fieldwork
// day it runs that day's DailyLoadWorkflow (the simulated supplier's files, then the
// real load into the lake and the warehouse), as the Temporal Schedule does in
// production, and prints what arrived.
type demoLoads struct {
	out     *os.File
	started time.Time
	spec    *wavespec.Spec
	// fieldworkOver is set once every ICS has closed fieldwork, and the loads stop
	// then: not after the schedule's count of days, because waiting for DBS replies
	// pushes the later mailings, and the responses to them, past that count. Each
	// ICS's closing record waits final_load_days more, by which time the load in flight
	// has ended, so the record counts every response loaded.
	fieldworkOver atomic.Bool
}

func (d *demoLoads) run(ctx context.Context, st *devstack.Stack, wc *waveclient.Client) {
	day := d.spec.DayLength.D()
	// Fieldwork day 0 is the day of the first message; wait for it.
	var first time.Time
	for first.IsZero() {
		select {
		case <-ctx.Done():
			return
		case <-time.After(day / 2):
		}
		if p, err := st.Warehouse.WaveProgress(ctx, d.spec.WaveID); err == nil {
			first = p.FieldworkStart
		}
	}
	date0 := first.UTC().Truncate(24 * time.Hour)
	in := waveclient.DailyLoadInput{WaveID: d.spec.WaveID, ICS: d.spec.Codes(), Simulate: true, SimDayLength: day,
		Questionnaires: waveclient.Questionnaires{PatientVersion: d.spec.QuestionnaireVersion, CarerVersion: d.spec.CarerQuestionnaire}}
	for i := 0; !d.fieldworkOver.Load(); i++ {
		if wait := time.Until(first.Add(time.Duration(i+1) * day)); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		in.Date = date0.AddDate(0, 0, i)
		res, err := wc.LoadDay(ctx, in)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			fmt.Fprintf(d.out, "  daily load for day %d: %v\n", i, err)
			continue
		}
		d.report(ctx, st, i, res)
	}
}

// dayLoadSummary says what one ICS's day brought: the responses kept, then the
// supplier's other returns by what they recorded (a load's Loaded counts both, so
// printing it as responses overstated them), then what was refused.
func dayLoadSummary(r waveclient.DailyLoadICSResult) string {
	l := r.Load
	responses := 0
	for _, n := range l.Responses {
		responses += n
	}
	parts := []string{fmt.Sprintf("+%s", plural(responses, "response", "responses"))}
	events := 0
	for _, o := range []struct {
		code int
		what string
	}{{schemas.OutcomeUndelivered, "undelivered"}, {schemas.OutcomeDeceased, "deceased"},
		{schemas.OutcomeOptedOut, "opted out"}, {schemas.OutcomeIneligible, "ineligible"}} {
		if n := l.Outcomes[o.code]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o.what))
			events += n
		}
	}
	// The rest of the rows loaded are opt-outs of linkage alone: consent events.
	if n := l.Loaded - responses - events; n > 0 {
		parts = append(parts, fmt.Sprintf("%d withdrew linkage consent", n))
	}
	return fmt.Sprintf("%s (%d rejected, %s)", strings.Join(parts, ", "), l.Rejected, plural(l.Duplicates, "duplicate", "duplicates"))
}

func (d *demoLoads) report(ctx context.Context, st *devstack.Stack, i int, res waveclient.DailyLoadResult) {
	var parts []string
	progress, _ := st.Warehouse.WaveProgress(ctx, d.spec.WaveID)
	for _, r := range res.ICS {
		if r.Load.NoFiles {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s → %.1f%% completed", r.ICS, dayLoadSummary(r), progress.CompletedPct[r.ICS]))
	}
	if len(parts) > 0 {
		fmt.Fprintf(d.out, "  [%5.1fs] day %2d load: %s\n", time.Since(d.started).Seconds(), i, strings.Join(parts, "; "))
	}
}
