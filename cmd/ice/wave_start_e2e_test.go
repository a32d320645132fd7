//go:build !production

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/waveclient"
	"icesurvey/wavespec"
	"icesurvey/workflows"
)

// TestTwoStartsOfOneNewWaveID runs two `ice wave start` of one new wave id side by
// side, each with a sample of its own, in the order that once mixed them up: both
// pass the check that the id is free, the first stages its files, the second stages
// its own (under the same names), the first's start wins and the second's is refused.
// The wave that started must read the files of the command that started it, and the
// refused command must leave none of its patients' files behind.
func TestTwoStartsOfOneNewWaveID(t *testing.T) {
	ctx, st, _ := startE2E(t)
	const wave = "e2e-two-starts"
	// Two samples of different sizes, generated into folders of their own under the
	// same file names (QMM_sample.csv, QMM_mailing.csv).
	first, firstStats := e2eSpec(t, ctx, st, wave, 100, 100, 300*time.Millisecond, "QMM")
	second, secondStats := e2eSpec(t, ctx, st, wave, 140, 200, 300*time.Millisecond, "QMM")
	firstSample := fileSHA256(t, first.ICSs[0].SampleFile)
	if firstSample == fileSHA256(t, second.ICSs[0].SampleFile) {
		t.Fatal("the two commands' samples are the same file")
	}
	if firstStats["QMM"].ExpectedAccepted == secondStats["QMM"].ExpectedAccepted {
		t.Fatal("the two samples would give the same intake counts")
	}

	firstFiles := first.ICSs[0] // local paths, before staging points the spec at keys
	g := newStartGate()
	cl := waveclient.New(gatedClient{Client: st.Client, g: g}) // not closed: the stack's client
	gst := gatedStore{Store: st.Store, g: g}
	type result struct {
		run waveclient.WaveRun
		err error
	}
	results := make([]chan result, 2)
	for i, spec := range []*wavespec.Spec{first, second} {
		results[i] = make(chan result, 1)
		go func() {
			run, _, err := cl.StageAndStart(context.WithValue(ctx, startCmd{}, i), gst, spec)
			results[i] <- result{run, err}
		}()
	}
	var got [2]result
	for i := range results {
		select {
		case got[i] = <-results[i]:
		case <-time.After(2 * time.Minute):
			t.Fatalf("start %d never returned (%s)", i, g.where())
		}
	}
	if got[0].err != nil {
		t.Fatalf("the first start: %v", got[0].err)
	}
	if !errors.Is(got[1].err, waveclient.ErrWaveIDUsed) || !strings.Contains(got[1].err.Error(), "the 2 files this command staged are deleted") {
		t.Fatalf("the second start: %v, want it refused as a wave id already used, saying its files are deleted", got[1].err)
	}

	// The wave read the first command's files: its counts are the first sample's, and
	// the files its spec names are the first command's bytes.
	status := waitFor(t, ctx, waveclient.New(st.Client), wave, time.Minute, "QMM awaiting declaration", allAt(workflows.StageDeclaration))
	in, want := status[0].Intake, firstStats["QMM"]
	if in.Accepted != want.ExpectedAccepted || in.Excluded != want.ExpectedExcluded || in.Rejected != want.ExpectedRejected {
		t.Errorf("intake accepted/excluded/rejected %d/%d/%d, want the first command's sample's %d/%d/%d (the second's: %d/%d/%d)",
			in.Accepted, in.Excluded, in.Rejected, want.ExpectedAccepted, want.ExpectedExcluded, want.ExpectedRejected,
			secondStats["QMM"].ExpectedAccepted, secondStats["QMM"].ExpectedExcluded, secondStats["QMM"].ExpectedRejected)
	}
	started, err := waveclient.New(st.Client).WaveSpec(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	sampleKey := started.Spec.ICSs[0].SampleFile
	if sum, _, err := store.SHA256(ctx, st.Store, sampleKey); err != nil || sum != firstSample {
		t.Errorf("the wave's sample file %s: SHA-256 %s (%v), want the first command's %s", sampleKey, sum, err, firstSample)
	}
	// The rejection report lies beside the sample file, inside the ICS's landing area,
	// where the retention deletes it.
	if want := schemas.RejectionReportKey(sampleKey); in.ReportKey != want {
		t.Errorf("intake report %s, want %s beside the sample file", in.ReportKey, want)
	}
	landing := schemas.RestrictedLandingPrefix(wave, "QMM")
	for _, k := range []string{sampleKey, started.Spec.ICSs[0].MailingFile, in.ReportKey} {
		if !strings.HasPrefix(k, landing) || k == landing {
			t.Errorf("%s lies outside %s, which the retention deletes", k, landing)
		}
	}

	// The refused command's files are gone (its spec names where it staged them).
	for _, k := range []string{second.ICSs[0].SampleFile, second.ICSs[0].MailingFile} {
		if k == sampleKey || k == started.Spec.ICSs[0].MailingFile {
			t.Errorf("the refused command staged %s, the started wave's own file", k)
			continue
		}
		if ok, err := store.Exists(ctx, st.Store, k); err != nil || ok {
			t.Errorf("the refused command's staged %s is still in the store (%v)", k, err)
		}
	}
	left, err := st.Store.List(ctx, landing)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range left {
		if o.Key != sampleKey && o.Key != started.Spec.ICSs[0].MailingFile && o.Key != in.ReportKey {
			t.Errorf("%s is in the landing area: neither the started wave's files nor its report", o.Key)
		}
	}
	if err := waveclient.New(st.Client).Cancel(ctx, wave); err != nil {
		t.Error(err)
	}

	// `ice wave start` says where it copied each file: where a corrected one goes.
	const cliWave = "e2e-two-starts-cli"
	yml := "wave_id: " + cliWave + "\nsampling_date: 2026-11-02\nday_length: 300ms\nmin_eligible: 30\nretention_days: 2\ntemplates:\n"
	for k, v := range first.Templates {
		yml += "  " + k + ": " + v + "\n"
	}
	yml += "ics:\n  - {code: QMM, sample_file: " + firstFiles.SampleFile + ", mailing_file: " + firstFiles.MailingFile + "}\n"
	specFile := filepath.Join(t.TempDir(), "wave.yaml")
	if err := os.WriteFile(specFile, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := iceOnServer(t, ctx, st)("wave", "start", "--spec", specFile, "--store", "file://"+st.Store.Root())
	if err != nil {
		t.Fatalf("ice wave start: %v\n%s", err, out)
	}
	staged := regexp.MustCompile(`QMM\tsample (restricted-landing/` + cliWave + `/QMM/start-\d{8}T\d{6}Z-[0-9a-f]{8}/QMM_sample\.csv)\tmailing restricted-landing/` + cliWave + `/QMM/start-`).FindStringSubmatch(out)
	if staged == nil {
		t.Fatalf("ice wave start does not say where it copied the files:\n%s", out)
	}
	if sum, _, err := store.SHA256(ctx, st.Store, staged[1]); err != nil || sum != firstSample {
		t.Errorf("%s: SHA-256 %s (%v), want the spec's sample's", staged[1], sum, err)
	}
	if err := waveclient.New(st.Client).Cancel(ctx, cliWave); err != nil {
		t.Error(err)
	}
}

func fileSHA256(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// startCmd keys, in a context, which of the two commands (0 or 1) a call is of.
type startCmd struct{}

// startGate holds the two commands' store writes and workflow starts back so that
// they happen in the order of the race: both past the wave id check (at their first
// write), the first's files staged, the second's, the first's start, the second's.
type startGate struct {
	staging [2]chan struct{} // closed at the command's first write
	staged  [2]chan struct{} // closed when the command starts its wave
	started chan struct{}    // closed when the first command's start returned
	marks   [2]bool
	seen    [2]bool
}

func newStartGate() *startGate {
	g := &startGate{started: make(chan struct{})}
	for i := range 2 {
		g.staging[i], g.staged[i] = make(chan struct{}), make(chan struct{})
	}
	return g
}

func (g *startGate) wait(ch chan struct{}) {
	select {
	case <-ch:
	case <-time.After(time.Minute):
	}
}

func (g *startGate) where() string {
	s := ""
	for i := range 2 {
		select {
		case <-g.staged[i]:
			s += "staged "
		default:
			select {
			case <-g.staging[i]:
				s += "staging "
			default:
				s += "checking "
			}
		}
	}
	return s
}

func (g *startGate) beforePut(ctx context.Context) {
	i, ok := ctx.Value(startCmd{}).(int)
	if !ok || g.marks[i] {
		return
	}
	g.marks[i] = true // one goroutine per command: no lock needed
	close(g.staging[i])
	g.wait(g.staging[1-i]) // both past the check
	if i == 1 {
		g.wait(g.staged[0]) // the second stages after the first
	}
}

func (g *startGate) beforeStart(ctx context.Context) (after func()) {
	i, ok := ctx.Value(startCmd{}).(int)
	if !ok || g.seen[i] {
		return func() {}
	}
	g.seen[i] = true
	close(g.staged[i])
	if i == 0 {
		g.wait(g.staged[1]) // the first starts once the second has staged too
		return func() { close(g.started) }
	}
	g.wait(g.started) // and the second after the first's start
	return func() {}
}

type gatedStore struct {
	store.Store
	g *startGate
}

func (s gatedStore) Put(ctx context.Context, key string, r io.Reader) error {
	s.g.beforePut(ctx)
	return s.Store.Put(ctx, key, r)
}

type gatedClient struct {
	client.Client
	g *startGate
}

func (c gatedClient) ExecuteWorkflow(ctx context.Context, options client.StartWorkflowOptions, workflow any, args ...any) (client.WorkflowRun, error) {
	defer c.g.beforeStart(ctx)()
	return c.Client.ExecuteWorkflow(ctx, options, workflow, args...)
}
