package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/localindex"
	"icesurvey/store"
	"icesurvey/themes"
	"icesurvey/waveclient"
	"icesurvey/web/dashdata"
	"icesurvey/workflows"
)

// The local index (#17): `ice themes ...` codes a wave's free text to the six
// integration themes (the profile commands are in profiles.go).

func themesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "themes", Short: "Code a wave's free text to the six integration themes (local index)"}
	cmd.AddCommand(themesCodeCmd(), themesReportCmd(), themesExportCmd(), themesFinishCmd())
	return cmd
}

// notCoding lists the ICSs asked for that a theme coding already running does not code
// (a second start joins the first, with its ICSs).
func notCoding(st waveclient.ThemeCodingStatus, asked []string) []string {
	var out []string
	for _, ics := range asked {
		if !slices.ContainsFunc(st.ICS, func(c workflows.ThemeCodingICS) bool { return c.ICS == ics }) {
			out = append(out, ics)
		}
	}
	return out
}

// codingICSs is the ICSs to code: --ics, or every ICS of the wave.
func codingICSs(ctx context.Context, cl *waveclient.Client, wave string, ics []string, anyWave bool) ([]string, error) {
	// An ICS the wave does not have would be coded as having no free text, and a
	// mistyped wave would have a coding started under it; a wave the cluster does not
	// run (its responses loaded into the lake by other means) is coded with --any-wave.
	if err := knownWave(ctx, cl, wave, ics, anyWave); err != nil {
		return nil, err
	}
	if len(ics) > 0 {
		return ics, nil
	}
	st, err := cl.Status(ctx, wave)
	if err != nil {
		return nil, fmt.Errorf("name the ICSs with --ics, or start from a wave the cluster knows: %w", err)
	}
	for _, s := range st.Wave.ICS {
		ics = append(ics, s.ICS)
	}
	return ics, nil
}

func themesCodeCmd() *cobra.Command {
	var c conn
	var wave, coder, decisions, icsFlag, accessFile, out string
	var ics []string
	var next int
	var anyWave bool
	cmd := &cobra.Command{
		Use:   "code --wave W [--ics A,B] | --for-ics X --coder NAME --access FILE (--next N [--out FILE] | --decisions FILE)",
		Short: "Start (or find) the wave's theme coding; with --next, code the next comments of your queue; with --decisions, send a batch",
		Long: `Without --next or --decisions: starts the ThemeCodingWorkflow of the wave (or finds the
running one), waits until every ICS's free text is redacted, scored and queued, and
prints the counts.

With --coder NAME --for-ics X --next N: NAME must be a named free-text reader of X in
the access file (--access, the dashboard's; ICE_ACCESS). Prints the next N comments
of NAME's coding queue — the dashboard coding page's queue: most uncertain first,
redacted, with the machine's suggested themes, none for comments coded blind — then
asks for a decision on each (Enter keeps the suggestion, "CON-;BUR+" changes it,
"none" codes no theme, "q" stops) and sends them as one batch. With --out FILE it
writes the decisions file instead (ids and suggested labels, no text) to edit and
send with --decisions. A refused reader sees nothing; every read and refusal is
recorded in the free-text audit trail before anything is shown, and each decision once
the worker has accepted its batch (a batch the worker refuses is recorded as refused,
with the worker's reason).

With --coder NAME --for-ics X --decisions FILE: sends FILE as one batch of NAME's
decisions (the same grant check, first, and audit). Each row must name a comment of
NAME's queue, or one NAME decided before (to change it). FILE is tab-separated: response_id,
question_id, labels ("CON-;BUR+" with the codebook's codes, or "none").`,
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if wave == "" {
				return fmt.Errorf("--wave is required")
			}
			if next > 0 || decisions != "" {
				if icsFlag == "" {
					return fmt.Errorf("--for-ics is required with --next or --decisions")
				}
				// A mistyped wave or ICS would have the coder's read recorded under it.
				if err := knownWave(ctx, cl, wave, []string{icsFlag}, anyWave); err != nil {
					return err
				}
				st, err := store.Open(ctx, c.storeURL)
				if err != nil {
					return err
				}
				audit := dashdata.FreeTextStore{Store: st}
				if decisions == "" {
					return terminalCoding{Store: st, Audit: audit, Sender: cl, AccessFile: accessFile, Wave: wave, ICS: icsFlag,
						Coder: coder, Next: next, Out: out, In: os.Stdin, W: os.Stdout}.run(ctx)
				}
				return sendDecisionsFile(ctx, os.Stdout, st, audit, cl, accessFile, wave, icsFlag, coder, decisions)
			}
			icss, err := codingICSs(ctx, cl, wave, ics, anyWave)
			if err != nil {
				return err
			}
			// A start while a coding runs joins it: its counts are of the free text its
			// runs read, not of what was loaded since (said below).
			before, err := cl.RunEndOf(ctx, workflows.ThemeCodingWorkflowID(wave))
			joined := err == nil && before.Status == "running"
			if _, err := cl.StartThemeCoding(ctx, wave, icss); err != nil {
				return err
			}
			stop := reportRetrying(ctx, os.Stderr, under(cl, watching(workflows.ThemeCodingWorkflowID(wave))))
			st, err := cl.WaitThemesCoded(ctx, wave)
			stop()
			if err != nil {
				return err
			}
			fmt.Printf("theme coding of wave %s: %d coding runs, %d batches of decisions\n", wave, st.Runs, st.Batches)
			printCoded(st.ICS)
			if missing := notCoding(st, icss); len(missing) > 0 {
				fmt.Printf("NOT CODED: %s. The wave's theme coding was already running, and a start joins it with its own ICSs (a coding ended by `ice themes finish` can be started again with more)\n",
					strings.Join(missing, ", "))
			}
			if joined {
				fmt.Printf("JOINED the wave's theme coding already running: the counts above are those of each ICS's latest coding run, "+
					"of the free text loaded when it ran; free text loaded since is coded at the ICS's next run (each batch of decisions runs it), "+
					"or at once by `ice themes finish --wave %s` and a new `ice themes code --wave %s`\n", wave, wave)
			}
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&wave, "wave", "", "wave ID")
	f.StringSliceVar(&ics, "ics", nil, "ICS codes (default: every ICS of the wave)")
	f.StringVar(&coder, "coder", "", "the coder's user id in the access file (with --next or --decisions)")
	f.StringVar(&decisions, "decisions", "", "a tab-separated file of the coder's decisions to send")
	f.StringVar(&icsFlag, "for-ics", "", "the ICS to code (with --next or --decisions)")
	f.IntVar(&next, "next", 0, "show the next N comments of the coder's queue and take their decisions")
	f.StringVar(&out, "out", "", "with --next: write a decisions file to fill in instead of asking on stdin")
	f.StringVar(&accessFile, "access", envOr("ICE_ACCESS", ""), "the access file naming the free-text readers (the dashboard's; ICE_ACCESS)")
	bindAnyWave(cmd, &anyWave)
	return cmd
}

// sendDecisionsFile sends a coder's decisions file as one batch. A coding that has
// ended takes no decision: refused before anything is read or audited. The coder's
// grant is checked (a refusal audited) before the file is read against the ICS's
// comments: a reader refused sees nothing of them, not even which responses have
// free text. Every row is then checked, before any decision is sent or audited: a
// mistyped id is the file's line, not the worker's.
func sendDecisionsFile(ctx context.Context, w io.Writer, st store.Store, audit freeTextAuditor, sender themeSender,
	accessFile, wave, ics, coder, path string) error {
	if err := sender.ThemeCodingRunning(ctx, wave); err != nil {
		return fmt.Errorf("no decision sent: %w", err)
	}
	r, err := namedReader(ctx, accessFile, coder, audit, wave, []string{ics}, freetext.ActionCode)
	if err != nil {
		return err
	}
	known, err := readCommentIDs(ctx, st, wave, ics, coder)
	if err != nil {
		return err
	}
	batch, err := readDecisions(path, coder, known)
	if err != nil {
		return err
	}
	return sendDecisions(ctx, w, r, sender, wave, ics, batch)
}

// commentIDs is the free-text answers of one ICS of a wave, as its coding run
// redacted them: the ids a decision may name (response id → its questions), and of
// those the ones one coder may decide: their queue, and what they have decided.
type commentIDs struct {
	wave, ics, coder string
	answers          map[string]map[string]bool
	// decidable is the units (localindex.UnitID) of the coder's queue and those the
	// coder has decided (a decision is changed by sending it again).
	decidable map[string]bool
}

// readCommentIDs reads the ids (no text) of the comments the ICS's coding run queued
// (localindex.CodedAnswers, what the worker checks a batch against), and which of
// them the coder may decide (localindex.CoderQueue, and the coder's decisions).
func readCommentIDs(ctx context.Context, st store.Store, wave, ics, coder string) (commentIDs, error) {
	answers, err := localindex.CodedAnswers(ctx, st, wave, ics)
	if err != nil {
		return commentIDs{}, fmt.Errorf("%w (`ice themes code --wave %s` codes them)", err, wave)
	}
	k := commentIDs{wave: wave, ics: ics, coder: coder, answers: answers, decidable: map[string]bool{}}
	queue, err := localindex.CoderQueue(ctx, st, wave, ics, coder)
	if err != nil {
		return commentIDs{}, err
	}
	for _, e := range queue {
		k.decidable[e.Unit()] = true
	}
	decided, err := localindex.ReadDecisions(ctx, st, wave, ics, themes.Default())
	if err != nil {
		return commentIDs{}, err
	}
	for _, d := range decided {
		if d.Coder == coder {
			k.decidable[d.Unit] = true
		}
	}
	return k, nil
}

// check says which field of a decision names no comment of the ICS, if one does, or
// that the comment is not the coder's to decide.
func (k commentIDs) check(responseID, questionID string) (field string, err error) {
	qs, ok := k.answers[responseID]
	if !ok {
		return "response_id", fault.Errorf(fault.BadInput, "no free-text answer of response %q in %s %s (the ids are those `--next N --out FILE` writes)", responseID, k.wave, k.ics)
	}
	if !qs[questionID] {
		answered := slices.Sorted(maps.Keys(qs))
		return "question_id", fault.Errorf(fault.BadInput, "response %s has no free-text answer to %q in %s %s (it answered %s)", responseID, questionID, k.wave, k.ics, strings.Join(answered, ", "))
	}
	if !k.decidable[localindex.UnitID(responseID, questionID)] {
		return "response_id", fault.Errorf(fault.BadInput, "response %s, question %s is not in %s's coding queue of %s %s: it has been coded as often as the plan asks "+
			"(once, or twice for the blind double-coded sample); a coder decides the comments of their queue (`--next N`) or changes their own decisions",
			responseID, questionID, k.coder, k.wave, k.ics)
	}
	return "", nil
}

// readDecisions reads a coder's decisions file, each row's ids checked against the
// ICS's comments (known) and none decided twice; errors name the file, line and field.
func readDecisions(path, coder string, known commentIDs) (waveclient.ThemeBatch, error) {
	batch := waveclient.ThemeBatch{Coder: coder}
	if coder == "" {
		return batch, fmt.Errorf("--coder is required with --decisions")
	}
	f, err := os.Open(path)
	if err != nil {
		return batch, err
	}
	defer f.Close()
	cb := themes.Default()
	seen := map[string]int{} // unit → its line
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 {
			return batch, fmt.Errorf("%s line %d: %d columns, want 3 (response_id, question_id, labels)", path, n, len(cols))
		}
		for i, name := range []string{"response_id", "question_id"} {
			if strings.TrimSpace(cols[i]) == "" {
				return batch, fmt.Errorf("%s line %d field %s: empty", path, n, name)
			}
		}
		if field, err := known.check(cols[0], cols[1]); err != nil {
			return batch, fmt.Errorf("%s line %d field %s: %w", path, n, field, err)
		}
		u := localindex.UnitID(cols[0], cols[1])
		if prev, dup := seen[u]; dup {
			return batch, fault.Errorf(fault.BadInput, "%s line %d: response %s, question %s decided twice (also line %d)", path, n, cols[0], cols[1], prev)
		}
		seen[u] = n
		codes, err := cb.ParseLabels(cols[2])
		if err != nil {
			return batch, fmt.Errorf("%s line %d field labels: %w", path, n, err)
		}
		batch.Decisions = append(batch.Decisions, waveclient.ThemeDecision{ResponseID: cols[0], QuestionID: cols[1], Themes: codes})
	}
	if err := sc.Err(); err != nil {
		return batch, fmt.Errorf("%s: %w", path, err)
	}
	if len(batch.Decisions) == 0 {
		return batch, fmt.Errorf("%s: no decisions", path)
	}
	return batch, nil
}

func printCoded(icss []waveclient.ThemeCodingICS) {
	cb := themes.Default()
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprint(w, "ICS\tcomments\tredactions\tsuggested\tcoded by people")
	for _, id := range cb.ThemeIDs() {
		t, _ := cb.Theme(id)
		fmt.Fprintf(w, "\t%s", t.Code)
	}
	fmt.Fprintln(w)
	for _, s := range icss {
		if s.Last == nil {
			fmt.Fprintf(w, "%s\t(not coded yet)\n", s.ICS)
			continue
		}
		l := s.Last
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d", s.ICS, l.Comments, l.Redactions, l.Suggested, l.CodedByPeople)
		for _, id := range cb.ThemeIDs() {
			fmt.Fprintf(w, "\t%d", l.FinalByTheme[id])
		}
		fmt.Fprintln(w)
	}
	w.Flush()
	fmt.Println("theme columns: comments whose standing codes include the theme (a coder's decision, else the machine's suggestion)")
}

func printKappa(r waveclient.ThemeReport) {
	if len(r.Kappa) == 0 {
		fmt.Printf("coders' kappa: no comment of the blind double-coded sample coded by two coders yet (%d coded by people)\n", r.CodedByPeople)
		return
	}
	parts := make([]string, 0, len(r.Kappa))
	for _, k := range r.Kappa {
		v := "—"
		if k.Value != nil {
			v = fmt.Sprintf("%.2f", *k.Value)
		}
		parts = append(parts, k.Theme+" "+v)
	}
	fmt.Printf("coders' kappa on %d comments of the blind double-coded sample: %s\n", r.DoubleCoded, strings.Join(parts, ", "))
}

func themesReportCmd() *cobra.Command {
	var c conn
	var wave string
	cmd := &cobra.Command{
		Use:   "report --wave W",
		Short: "Print the classifier's per-theme F1 on the held-out labelled set and the wave's slice, and the coders' kappa",
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			st, err := cl.ThemeStatus(ctx, wave)
			if err != nil {
				return err
			}
			if st.Report == nil {
				return fmt.Errorf("the theme coding of %s has not reported yet (still coding?)", wave)
			}
			fmt.Print(st.Report.Text)
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&wave, "wave", "", "wave ID")
	return cmd
}

func themesExportCmd() *cobra.Command {
	var c conn
	var wave, out, by, accessFile string
	var ics []string
	cmd := &cobra.Command{
		Use:   "export --wave W --out project.qdpx [--ics X] [--by USER]",
		Short: "Export coded comments as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti or MAXQDA (redacted text; audited)",
		Long: `Writes one .qdpx per ICS (redacted comments, each coder's codings, the machine's
suggestions for comments not yet coded). With several ICSs the ICS code is added to the
file name. The export carries free text, redacted: --by must be a named free-text
reader of every ICS exported, allowed to download (the access file, --access); the
whole export is refused otherwise, and each file is audited as a download by --by
with its count of comments.`,
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			st, err := store.Open(ctx, c.storeURL)
			if err != nil {
				return err
			}
			s, err := cl.ThemeStatus(ctx, wave)
			if err != nil {
				return err
			}
			// An ICS the coding does not code (mistyped, or in another case) is refused
			// before anything is checked or audited under it.
			if ics, err = codedICSs(wave, s, ics); err != nil {
				return err
			}
			reader, err := exportReader(ctx, st, accessFile, by, wave, ics)
			if err != nil {
				return err
			}
			for _, code := range ics {
				res, err := cl.ExportQDPX(ctx, wave, code, by)
				if err != nil {
					return err
				}
				b, err := store.ReadAll(ctx, st, res.Key)
				if err != nil {
					return err
				}
				path := out
				if len(ics) > 1 {
					ext := filepath.Ext(out)
					path = strings.TrimSuffix(out, ext) + "-" + code + ext
				}
				if err := writeRecorded(path, b, func() error {
					return reader.recordQDPX(ctx, wave, code, b)
				}); err != nil {
					return fmt.Errorf("the export of %s: %w", code, err)
				}
				fmt.Printf("%s: %d comments → %s (%d bytes)\n", code, res.Sources, path, len(b))
			}
			return nil
		}),
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&wave, "wave", "", "wave ID")
	f.StringVar(&out, "out", "project.qdpx", "the .qdpx file to write")
	f.StringSliceVar(&ics, "ics", nil, "ICS codes (default: every ICS of the coding)")
	f.StringVar(&by, "by", os.Getenv("USER"), "the named reader the export is for (checked and audited)")
	f.StringVar(&accessFile, "access", envOr("ICE_ACCESS", ""), "the access file naming the free-text readers (the dashboard's; ICE_ACCESS)")
	return cmd
}

// codedICSs is the ICSs asked for (every ICS of the coding when none is), each one the
// wave's theme coding codes; an ICS it does not is refused, naming those it does.
func codedICSs(wave string, st waveclient.ThemeCodingStatus, asked []string) ([]string, error) {
	var coded []string
	for _, c := range st.ICS {
		coded = append(coded, c.ICS)
	}
	if len(asked) == 0 {
		return coded, nil
	}
	for _, ics := range asked {
		if slices.Contains(coded, ics) {
			continue
		}
		hint := ""
		if j := slices.IndexFunc(coded, func(c string) bool { return strings.EqualFold(c, ics) }); j >= 0 {
			hint = fmt.Sprintf("; ICS codes are written as they are, did you mean %s?", coded[j])
		}
		return nil, fault.Errorf(fault.BadInput, "--ics %s: the theme coding of %s codes no ICS %q (it codes %s)%s; nothing exported",
			ics, wave, ics, strings.Join(coded, ", "), hint)
	}
	return asked, nil
}

// writeRecorded writes b to path, readable by its owner alone, with the file on record
// first: the file is created (or opened) before record is called, so a path that cannot be written is refused
// before anything is recorded as taken away, and written only once record succeeds. A
// file it created is removed again when record fails. A nil record writes with nothing
// to record (writeOwnerOnly).
func writeRecorded(path string, b []byte, record func() error) error {
	refused := "nothing recorded or written: "
	if record == nil {
		refused = ""
	}
	_, statErr := os.Stat(path)
	created := os.IsNotExist(statErr)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("%s%w", refused, err)
	}
	// Readable by its owner alone, also when the file was there with wider permissions
	// (they would stay); a file that is not the user's is refused.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("%s%s must be readable by its owner alone: %w", refused, path, err)
	}
	if record != nil {
		if err := record(); err != nil {
			f.Close()
			if created {
				os.Remove(path)
			}
			return fmt.Errorf("recording it (nothing written): %w", err)
		}
	}
	if err := f.Truncate(0); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func themesFinishCmd() *cobra.Command {
	var c conn
	var wave string
	cmd := &cobra.Command{
		Use:   "finish --wave W",
		Short: "End the wave's theme coding once its running batches are done",
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			if err := cl.FinishThemeCoding(ctx, wave); err != nil {
				return err
			}
			st, err := cl.WaitThemeCoding(ctx, wave)
			if err != nil {
				return err
			}
			fmt.Printf("theme coding of %s finished: %d runs, %d batches\n", wave, st.Runs, st.Batches)
			return nil
		}),
	}
	c.bind(cmd)
	cmd.Flags().StringVar(&wave, "wave", "", "wave ID")
	return cmd
}
