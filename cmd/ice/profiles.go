package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/audit"
	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/localindex"
	"icesurvey/profiles"
	"icesurvey/store"
	"icesurvey/waveclient"
	"icesurvey/web"
	"icesurvey/web/dashdata"
)

// The experience profiles of the local index (#17): `ice profiles report` writes the
// side-by-side reports, `ice profile quote` lets a named free-text reader choose the
// quotations they show, and `ice profile verdict` records an analyst's verdicts.

func profilesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "profiles", Aliases: []string{"profile"}, Short: "Healthwatch experience profiles (local index)"}
	cmd.AddCommand(profilesReportCmd(), profileQuoteCmd(), profileVerdictCmd(), profilesDefineCmd(), profilesListCmd())
	return cmd
}

// profilesDefineCmd puts an analyst's profile definition in force without a rebuild.
func profilesDefineCmd() *cobra.Command {
	var storeURL, file, by string
	cmd := &cobra.Command{
		Use:   "define --file P.yaml --by NAME",
		Short: "Put a profile definition in force: a built-in profile with the analyst's records, or a new one",
		Long: `Validates a profile definition — the YAML of a built-in profile (profiles/defs/),
checked the same way, every fault named with its file and field — and writes it to the
store (reports/profiles/P/TIME.yaml, with who defined it beside it). From then on the
latest definition of an id is the profile for every command, worker and the
dashboard: sessions held, evidence found (no older than three years), stakeholders,
actions and an aspirational status added by the analyst, or a profile that is not
built in. The file must be named after the profile's id. Earlier definitions are kept
as the history (ice profiles list shows which one is in force).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if file == "" {
				return fmt.Errorf("--file: give the profile's YAML")
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("--file: %w", err)
			}
			st, err := store.Open(ctx, storeURL)
			if err != nil {
				return err
			}
			d, err := profiles.Define(ctx, st, data, file, by, time.Now().UTC())
			if err != nil {
				return err
			}
			what := "a profile not built in"
			if _, err := profiles.Get(d.Profile.ID); err == nil {
				what = "in place of the built-in profile of that id"
			}
			fmt.Printf("profile %s (%s) defined by %s at %s, %s: %d sessions, %d evidence, %d stakeholders, %d actions\n  %s (sha256 %s)\n",
				d.Profile.ID, d.Profile.Title, d.By, d.At.Format(time.RFC3339), what, len(d.Profile.Sessions), len(d.Profile.Evidence),
				len(d.Profile.Stakeholders), len(d.Profile.ActionPlan), d.Key, d.SHA256[:16])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store: file://DIR or s3://bucket/prefix (ICE_STORE)")
	f.StringVar(&file, "file", "", "the profile's YAML, named after its id (as profiles/defs/*.yaml)")
	f.StringVar(&by, "by", "", "the analyst defining it (kept with the definition)")
	return cmd
}

// profilesListCmd lists the profiles in force and where each comes from.
func profilesListCmd() *cobra.Command {
	var storeURL string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the profiles in force: built in, or defined (by whom, when)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := store.Open(ctx, storeURL)
			if err != nil {
				return err
			}
			all, err := profiles.InForce(ctx, st)
			if err != nil {
				return err
			}
			defined, err := profiles.DefinedIn(ctx, st)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROFILE\tSESSIONS\tFROM\tTITLE")
			for _, id := range slices.Sorted(maps.Keys(all)) {
				from := "built in"
				if d, ok := defined[id]; ok {
					from = "defined by " + orUnknown(d.By) + " at " + d.At.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", id, len(all[id].Sessions), from, all[id].Title)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store: file://DIR or s3://bucket/prefix (ICE_STORE)")
	return cmd
}

func orUnknown(s string) string {
	if s == "" {
		return "(not recorded)"
	}
	return s
}

// reader is who reads free text at the command line: a user of the access file (the
// dashboard's), checked as the dashboard checks a named free-text reader.
type reader struct {
	accessFile, user string
}

func (r *reader) bind(cmd *cobra.Command, userFlag, usage string) {
	f := cmd.Flags()
	f.StringVar(&r.accessFile, "access", envOr("ICE_ACCESS", ".ice/dashboard-access.yaml"), "the access file naming the free-text readers (the dashboard's; ICE_ACCESS)")
	f.StringVar(&r.user, userFlag, "", usage)
}

// readFreeText checks that the user is a named free-text reader of ics now (the
// terminal coder's check, namedReader: the access file's grant, then freetext.Check)
// and records the read in the free-text area's audit records (as the dashboard
// records a page of comments), allowed or refused, before anything is shown. ids are
// the quotations the read shows.
func (r *reader) readFreeText(ctx context.Context, st store.Store, wave, ics, query string, ids []string) error {
	fr, err := namedReader(ctx, r.accessFile, r.user, dashdata.FreeTextStore{Store: st}, wave, []string{ics}, freetext.ActionView)
	if err != nil {
		return err
	}
	if err := fr.record(ctx, freetext.ActionView, wave, ics, query, ids, 0); err != nil {
		return fmt.Errorf("recording the free-text read (nothing is shown unaudited): %w", err)
	}
	return nil
}

// recordEvent writes one domain event of the command line to the wave's audit trail.
func recordEvent(ctx context.Context, st store.Store, wave, ics, kind string, details map[string]any) error {
	id := make([]byte, 8)
	if _, err := rand.Read(id); err != nil {
		return err
	}
	now := time.Now().UTC()
	ev := audit.Event{EventID: kind + "-" + hex.EncodeToString(id), WaveID: wave, ICS: ics, Kind: kind, StartedAt: now, EndedAt: &now,
		Details: audit.DetailsJSON(details)}
	if err := audit.Write(ctx, st, []audit.Event{ev}); err != nil {
		return fmt.Errorf("recording %s in the audit trail: %w", kind, err)
	}
	return nil
}

// profileFlags are the flags every profile command shares.
type profileFlags struct {
	storeURL, wave, ics, profile, expectation string
}

func (p *profileFlags) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&p.storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store: file://DIR or s3://bucket/prefix (ICE_STORE)")
	f.StringVar(&p.wave, "wave", "", "wave ID")
	f.StringVar(&p.ics, "ics", "", "ICS code")
	f.StringVar(&p.profile, "profile", "", "profile id: "+strings.Join(profiles.IDs(), ", "))
	f.StringVar(&p.expectation, "expectation", "", "the expected-care statement's id (see the profile's expected_care)")
}

func (p *profileFlags) check(needExpectation bool) error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"--wave", p.wave}, {"--ics", p.ics}, {"--profile", p.profile}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if needExpectation && strings.TrimSpace(p.expectation) == "" {
		missing = append(missing, "--expectation")
	}
	if len(missing) > 0 {
		return fault.Errorf(fault.BadInput, "%s required", strings.Join(missing, ", "))
	}
	return nil
}

func profileQuoteCmd() *cobra.Command {
	var pf profileFlags
	var rd reader
	var candidate string
	var list, remove bool
	cmd := &cobra.Command{
		Use:   "quote --wave W --ics X --profile P (--list | --expectation E --candidate ID) --coder NAME",
		Short: "List the machine's candidate quotations for a profile's report, or choose one for a statement (named free-text readers; audited)",
		Long: `The profile report shows only quotations a coder chose. With --list, prints the
machine's candidates (redacted, each with a stable id, the statements whose themes they
bear on; --expectation narrows the list). With --expectation and --candidate, records
that the coder chose that candidate for that statement (--remove withdraws it). The
coder must be a named free-text reader of the ICS in the access file; every listing
and choice is recorded as a free-text read.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := pf.check(!list); err != nil {
				return err
			}
			st, err := store.Open(ctx, pf.storeURL)
			if err != nil {
				return err
			}
			if err := sampleInLake(ctx, st, pf.wave, pf.ics); err != nil {
				return err
			}
			if list {
				return listCandidates(ctx, st, &rd, pf)
			}
			if candidate == "" {
				return fault.New(fault.BadInput, "--candidate is required (see --list)")
			}
			_, err = chooseQuote(ctx, os.Stdout, "", st, &rd, pf, candidate, remove)
			return err
		},
	}
	pf.bind(cmd)
	rd.bind(cmd, "coder", "the coder's user id in the access file (a named free-text reader of the ICS)")
	f := cmd.Flags()
	f.StringVar(&candidate, "candidate", "", "the candidate quotation's id (from --list)")
	f.BoolVar(&list, "list", false, "print the candidate quotations")
	f.BoolVar(&remove, "remove", false, "withdraw a chosen quotation")
	return cmd
}

// listCandidates prints the candidates after the coder's read is checked and audited.
func listCandidates(ctx context.Context, st store.Store, rd *reader, pf profileFlags) error {
	cands, err := localindex.Candidates(ctx, st, pf.wave, pf.ics, pf.profile)
	if err != nil {
		return err
	}
	if pf.expectation != "" {
		// A mistyped statement would list nothing, its read on record all the same.
		if err := localindex.CheckExpectation(ctx, st, pf.profile, pf.expectation); err != nil {
			return err
		}
		cands = slices.DeleteFunc(cands, func(c localindex.Candidate) bool { return !slices.Contains(c.Expectations, pf.expectation) })
	}
	ids := make([]string, len(cands))
	for i, c := range cands {
		ids[i] = c.ID
	}
	if err := rd.readFreeText(ctx, st, pf.wave, pf.ics, "profile quotations "+pf.profile+" "+pf.expectation, ids); err != nil {
		return err
	}
	chosen, err := localindex.ChosenQuotes(ctx, st, pf.wave, pf.ics, pf.profile)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "id\tchosen for\tstatements\tthemes\tsource\tquotation (redacted)")
	for _, c := range cands {
		var chosenFor []string
		for e, qs := range chosen {
			if slices.ContainsFunc(qs, func(q localindex.ChosenQuote) bool { return q.Candidate == c.ID }) {
				chosenFor = append(chosenFor, e)
			}
		}
		slices.Sort(chosenFor)
		// The session's id and its note's words are printed inert (notes are not
		// cleaned when written): a tab, escape sequence or bidi override shows as its
		// escape, so it can neither shift the columns nor hide or reorder what is read.
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, noneIfEmpty(strings.Join(chosenFor, ",")), noneIfEmpty(strings.Join(c.Expectations, ",")),
			strings.Join(c.Themes, ","), inert(c.Source), inert(c.Text))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Printf("%d candidate quotations for %s in %s %s\n", len(cands), pf.profile, pf.wave, pf.ics)
	return nil
}

// noneIfEmpty is "—" for an empty column.
func noneIfEmpty(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// chooseQuote records (or withdraws) a coder's choice after checking and auditing the
// coder's free-text access; the choice itself goes to the audit trail too. It says what
// it did on out, each line after indent.
func chooseQuote(ctx context.Context, out io.Writer, indent string, st store.Store, rd *reader, pf profileFlags, candidate string, remove bool) (localindex.ChosenQuote, error) {
	// The profile, statement and candidate are checked before the read is audited: a
	// mistyped id has no quotation read on record.
	check := func() error {
		_, err := localindex.FindCandidate(ctx, st, pf.wave, pf.ics, pf.profile, pf.expectation, candidate)
		return err
	}
	if remove {
		check = func() error {
			return localindex.CheckChosen(ctx, st, pf.wave, pf.ics, pf.profile, pf.expectation, candidate)
		}
	}
	if err := check(); err != nil {
		return localindex.ChosenQuote{}, err
	}
	if err := rd.readFreeText(ctx, st, pf.wave, pf.ics, "profile quotation "+pf.profile+" "+pf.expectation, []string{candidate}); err != nil {
		return localindex.ChosenQuote{}, err
	}
	details := map[string]any{"profile": pf.profile, "expectation": pf.expectation, "candidate": candidate, "coder": rd.user}
	if remove {
		if err := localindex.UnchooseQuote(ctx, st, pf.wave, pf.ics, pf.profile, pf.expectation, candidate); err != nil {
			return localindex.ChosenQuote{}, err
		}
		if err := recordEvent(ctx, st, pf.wave, pf.ics, "profile_quote_withdrawn", details); err != nil {
			return localindex.ChosenQuote{}, err
		}
		fmt.Fprintf(out, indent+"quotation %s withdrawn from %s %s in %s %s\n", candidate, pf.profile, pf.expectation, pf.wave, pf.ics)
		return localindex.ChosenQuote{}, nil
	}
	q, err := localindex.ChooseQuote(ctx, st, pf.wave, pf.ics, pf.profile, pf.expectation, candidate, rd.user, time.Now())
	if err != nil {
		return q, err
	}
	if err := recordEvent(ctx, st, pf.wave, pf.ics, "profile_quote_chosen", details); err != nil {
		return q, err
	}
	fmt.Fprintf(out, indent+"quotation %s chosen by %s for %s %s in %s %s\n", candidate, rd.user, pf.profile, pf.expectation, pf.wave, pf.ics)
	return q, nil
}

func profileVerdictCmd() *cobra.Command {
	var pf profileFlags
	var v localindex.Verdict
	cmd := &cobra.Command{
		Use:   "verdict --wave W --ics X --profile P --expectation E --verdict met|partly|not_met --analyst NAME [--note TEXT]",
		Short: "Record an analyst's verdict on an expected-care statement of a profile (audited; the latest stands)",
		Long: `Records the verdict under reports/, which holds no personal data. --note says why;
it is shown in the profile report and on the dashboard to readers who may not read
free text, so a note in which the free-text redactor finds a name, NHS number, phone
number, postcode, address, e-mail or date of birth is refused (the error names the
kinds found, not the text). A note recorded before this check is shown redacted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := pf.check(true); err != nil {
				return err
			}
			// Before anything is opened or written: a note that identifies anyone is
			// refused here and again where the verdict is stored.
			if err := localindex.CheckVerdictNote(v.Note); err != nil {
				return err
			}
			st, err := store.Open(ctx, pf.storeURL)
			if err != nil {
				return err
			}
			// A mistyped wave or ICS would have the verdict written under it.
			if err := sampleInLake(ctx, st, pf.wave, pf.ics); err != nil {
				return err
			}
			v.Expectation = pf.expectation
			got, err := recordVerdict(ctx, st, pf, v)
			if err != nil {
				return err
			}
			fmt.Printf("%s %s in %s %s: %s, recorded by %s at %s\n", pf.profile, got.Expectation, pf.wave, pf.ics, got.Words(), got.Analyst, got.At.Format(time.RFC3339))
			return nil
		},
	}
	pf.bind(cmd)
	f := cmd.Flags()
	f.StringVar(&v.Verdict, "verdict", "", "met, partly or not_met")
	f.StringVar(&v.Analyst, "analyst", "", "the analyst's name or user id")
	f.StringVar(&v.Note, "note", "", "why, naming no one: shown in the report and on the dashboard to readers who may not read free text; a note with a name, NHS number, phone number, postcode, address, e-mail or date of birth is refused")
	return cmd
}

// recordVerdict validates and stores the verdict, then records it in the audit trail.
func recordVerdict(ctx context.Context, st store.Store, pf profileFlags, v localindex.Verdict) (localindex.Verdict, error) {
	got, err := localindex.RecordVerdict(ctx, st, pf.wave, pf.ics, pf.profile, v)
	if err != nil {
		return got, err
	}
	return got, recordEvent(ctx, st, pf.wave, pf.ics, "profile_verdict", map[string]any{"profile": pf.profile,
		"expectation": got.Expectation, "verdict": got.Verdict, "analyst": got.Analyst, "at": got.At})
}

func profilesReportCmd() *cobra.Command {
	var c conn
	var rd reader
	var wave, out string
	var ics, ids []string
	var pdf bool
	cmd := &cobra.Command{
		Use:   "report --wave W --out DIR [--ics X] [--profile P] [--by USER]",
		Short: "Write the side-by-side profile reports (HTML and PDF) of a coded wave",
		Long: `Asks the wave's theme coding for each report and copies it into --out. Reports
that show quotations (free text, redacted) are an export: --by must be allowed to
download the free text of every ICS whose reports quote it (checked against the access
file before any report is built; otherwise none is), and each report is recorded
as a download of the quotations it shows, with its count of files. Run it while the coding runs (before ice themes
finish; ice themes code --wave W starts it again).`,
		RunE: c.withClient(func(ctx context.Context, cl *waveclient.Client, _ []string) error {
			st, err := store.Open(ctx, c.storeURL)
			if err != nil {
				return err
			}
			paths, err := writeProfileReports(ctx, cl, st, &rd, wave, ics, ids, pdf, out)
			for _, p := range paths {
				fmt.Println(p)
			}
			return err
		}),
	}
	c.bind(cmd)
	rd.bind(cmd, "by", "the user the reports are for: allowed to download the free text of each ICS whose reports show quotations (default $USER)")
	f := cmd.Flags()
	f.StringVar(&wave, "wave", "", "wave ID (its free text must have been coded: ice themes code)")
	f.StringVar(&out, "out", "reports", "directory for the reports")
	f.StringSliceVar(&ics, "ics", nil, "ICS codes (default: every ICS of the coding)")
	f.StringSliceVar(&ids, "profile", nil, "profile ids (default: all): "+strings.Join(profiles.IDs(), ", "))
	f.BoolVar(&pdf, "pdf", true, "also print each report to PDF in headless Chromium")
	cmd.PreRun = func(*cobra.Command, []string) {
		if rd.user == "" {
			rd.user = os.Getenv("USER")
		}
	}
	return cmd
}

// writeProfileReports asks the coding workflow for each report and copies it from the
// store into dir, returning the files written. A report with chosen quotations is
// taken away as an export: before any report is built, rd must be allowed to download
// the free text of every ICS whose reports quote it (refusals audited, nothing built),
// and each report is recorded before its files are copied: a download of the quotations it shows, with the report's count of files.
func writeProfileReports(ctx context.Context, cl *waveclient.Client, st store.Store, rd *reader, wave string, ics, ids []string, pdf bool, dir string) ([]string, error) {
	all, err := profiles.InForce(ctx, st)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		ids = slices.Sorted(maps.Keys(all))
	}
	// An unknown profile is refused here, before any report is asked for (the coding's
	// activity would refuse it only after the update reached the worker).
	for _, id := range ids {
		if _, ok := all[id]; !ok {
			return nil, fault.Errorf(fault.BadInput, "--profile: no profile %q (have %s)", id, strings.Join(slices.Sorted(maps.Keys(all)), ", "))
		}
	}
	if len(ics) == 0 {
		s, err := cl.ThemeStatus(ctx, wave)
		if err != nil {
			return nil, fmt.Errorf("the wave's free text must be coded first (ice themes code --wave %s): %w", wave, err)
		}
		for _, i := range s.ICS {
			ics = append(ics, i.ICS)
		}
	}
	type job struct {
		ics, profile string
		quotes       []string
	}
	var jobs []job
	var quoting []string // the ICSs whose reports quote free text
	for _, code := range ics {
		for _, id := range ids {
			chosen, err := localindex.ChosenQuotes(ctx, st, wave, code, id)
			if err != nil {
				return nil, err
			}
			j := job{ics: code, profile: id}
			for _, qs := range chosen {
				for _, q := range qs {
					j.quotes = append(j.quotes, q.Candidate)
				}
			}
			slices.Sort(j.quotes)
			if len(j.quotes) > 0 && !slices.Contains(quoting, code) {
				quoting = append(quoting, code)
			}
			jobs = append(jobs, j)
		}
	}
	// Every grant first: a reader refused one ICS gets no report of any, rather than
	// the reports before it and then a refusal.
	var fr *freeTextReader
	if len(quoting) > 0 {
		var err error
		if fr, err = namedReader(ctx, rd.accessFile, rd.user, dashdata.FreeTextStore{Store: st}, wave, quoting, freetext.ActionDownload); err != nil {
			return nil, fmt.Errorf("no report written: the reports of %s show quotations (free text, redacted): %w", strings.Join(quoting, ", "), err)
		}
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	var paths []string
	for _, j := range jobs {
		// The report is built first (in the store's free-text area, the worker
		// checking the reader itself), and its download is on record before a copy of
		// it leaves the store: a coding that has ended, or a report that fails, has no
		// download recorded.
		res, err := cl.ProfileReport(ctx, wave, waveclient.ProfileReportRequest{ICS: j.ics, Profile: j.profile, PDF: pdf, By: rd.user})
		if err != nil {
			return paths, err
		}
		var keys []string
		for _, key := range []string{res.HTMLKey, res.PDFKey} {
			if key != "" {
				keys = append(keys, key)
			}
		}
		if len(j.quotes) > 0 {
			// A download of the quotations it carries (their ids: `ice audit reads`
			// says who has them), naming the report and its count of files.
			if err := fr.record(ctx, freetext.ActionDownload, wave, j.ics, fmt.Sprintf("profile report %s (%d files)", j.profile, len(keys)), j.quotes, 0); err != nil {
				return paths, fmt.Errorf("the report of %s in %s shows %d quotations: recording its download (nothing leaves unaudited): %w", j.profile, j.ics, len(j.quotes), err)
			}
		}
		for _, key := range keys {
			b, err := store.ReadAll(ctx, st, key)
			if err != nil {
				return paths, err
			}
			p := filepath.Join(dir, j.ics+"-"+filepath.Base(key))
			if err := writeOwnerOnly(p, b); err != nil {
				return paths, err
			}
			paths = append(paths, p)
		}
	}
	return paths, nil
}

// profileSource gives the dashboard's profile page (web.ProfileSource) the same view
// the report has: localindex.GatherProfile on the dashboard's warehouse snapshot and
// the store's free-text area. The dashboard itself never links localindex (it would
// link the PDF printer) nor the store.
type profileSource struct {
	src *dashdata.Source
	st  store.Store
}

var _ web.ProfileSource = profileSource{}

func (p profileSource) ProfileList(ctx context.Context) ([]web.ProfileRef, error) {
	all, err := profiles.InForce(ctx, p.st)
	if err != nil {
		return nil, err
	}
	var out []web.ProfileRef
	for _, id := range slices.Sorted(maps.Keys(all)) {
		out = append(out, web.ProfileRef{ID: id, Title: all[id].Title})
	}
	return out, nil
}

func (p profileSource) Profile(ctx context.Context, wave, ics, id string) (*web.ProfileView, error) {
	var d *localindex.ProfileData
	err := p.src.ReadSnapshot(ctx, func(db *sql.DB) error {
		var err error
		d, err = localindex.GatherProfile(ctx, p.st, db, localindex.ProfileReportInput{Wave: wave, ICS: ics, Profile: id})
		return err
	})
	if err != nil {
		return nil, err
	}
	return profileWebView(d), nil
}

// profileWebView is the report's data as the dashboard shows it.
func profileWebView(d *localindex.ProfileData) *web.ProfileView {
	cell := func(f localindex.Figure) web.ProfileCell { return web.ProfileCell{Text: f.Text, Withheld: f.Withheld} }
	v := &web.ProfileView{ID: d.Profile.ID, Title: d.Profile.Title, Description: d.Profile.Characteristics.Description,
		Rationale: d.Profile.Rationale, Cohort: cell(d.Cohort), Release: d.Release, Limitations: d.Limitations,
		Confidence: d.Params.Estimate.Confidence}
	for _, e := range d.Expectations {
		st := web.ProfileStatement{ID: e.ID, Statement: e.Statement, Source: e.Source, Level: e.Level, Status: localindex.Words(e.Status)}
		for _, q := range e.Survey {
			wq := web.ProfileQuestion{ID: q.QuestionID, Text: q.Text}
			for _, r := range q.Rows {
				wq.Rows = append(wq.Rows, web.ProfileRow{Label: r.Label, Base: cell(r.Base), Percent: cell(r.PctPos), Interval: cell(r.Interval), Caution: r.Caution})
			}
			st.Questions = append(st.Questions, wq)
		}
		for i, t := range e.SurveyThemes {
			th := web.ProfileTheme{Name: t.Name, SurveyNeg: cell(t.Negative), SurveyPos: cell(t.Positive)}
			if i < len(e.SessionThemes) {
				th.SessionNeg, th.SessionPos = cell(e.SessionThemes[i].Negative), cell(e.SessionThemes[i].Positive)
			}
			st.Themes = append(st.Themes, th)
		}
		for _, q := range e.Quotes {
			st.Quotes = append(st.Quotes, web.ProfileQuote{Candidate: q.Candidate, Text: q.Text, Source: q.Source, Coder: q.Coder, ChosenAt: q.ChosenAt})
		}
		if vd := e.Verdict; vd != nil {
			st.Verdict, st.VerdictBy, st.VerdictNote, st.VerdictAt = vd.Words(), vd.Analyst, vd.Note, vd.At
		}
		for _, a := range e.Actions {
			s := a.Action + " — " + a.Owner
			if a.Due != "" {
				s += ", by " + a.Due
			}
			st.Actions = append(st.Actions, s+" ("+localindex.Words(a.Status)+")")
		}
		v.Statements = append(v.Statements, st)
	}
	return v
}

// writeOwnerOnly writes b to path readable by its owner alone (0600), also when path
// was there before with wider permissions (os.WriteFile keeps a file's mode): a report
// that quotes free text must not become readable by others on the machine because of
// the file it replaced. A file that is not the user's (its mode cannot be changed) is
// refused before anything is written to it. It is writeRecorded with nothing to record
// (the report's download is recorded once the worker has built it).
func writeOwnerOnly(path string, b []byte) error { return writeRecorded(path, b, nil) }
