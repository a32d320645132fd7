package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/client"

	"icesurvey/infra"
	"icesurvey/infra/devserver"
	"icesurvey/mailing"
	"icesurvey/notify/notifytest"
	"icesurvey/sim/dbssim"
	"icesurvey/store"
	"icesurvey/synth"
	"icesurvey/waveclient"
	"icesurvey/wavespec"
)

// world is everything that outlives the worker: the Temporal dev server, the Notify
// test server (journalled), the DBS file drop and its responder, the store directory
// and the warehouse file the worker writes.
type world struct {
	dir           string
	server        *devserver.DevServer
	client        client.Client
	waves         *waveclient.Client
	notify        *notifytest.Server
	store         *store.FileStore
	dbs           *dbssim.Simulator
	warehousePath string
	// tmpDir is the workers' system temporary directory (TMPDIR): each worker makes its
	// own private directory in it (proctmp), and the next one to start removes those
	// of the workers killed before it.
	tmpDir       string
	pseudonymKey string
	spec         *wavespec.Spec
	stats        map[string]*synth.Stats

	stopResponder func()
}

// size is a campaign's wave: people per ICS, the fieldwork day and the schedule.
type size struct {
	people    int
	dayLength time.Duration
	schedule  mailing.Schedule
}

func sizeNamed(name string) (size, error) {
	switch name {
	case "small":
		return size{people: 150, dayLength: time.Second, schedule: mailing.Schedule{
			Steps: []mailing.Step{
				{Name: "invitation", Day: 0, Channel: mailing.ChannelLetter, Template: "invitation_letter", CarerInsert: true},
				{Name: "sms1", Day: 1, Channel: mailing.ChannelSMS, Template: "sms_reminder_1"},
				{Name: "reminder1", Day: 2, Channel: mailing.ChannelLetter, Template: "reminder_letter_1"},
				{Name: "sms2", Day: 3, Channel: mailing.ChannelSMS, Template: "sms_reminder_2"},
			},
			// Days to spare after the last step: a step a kill delays past the close is
			// not sent ("close-on-its-day"), and the campaign checks every step went; a
			// killed attempt is retried only after its heartbeat or start-to-close timeout.
			FieldworkDays: 60, AllowShortFieldwork: true,
		}}, nil
	case "full":
		// The SPEC's schedule (three letters, three SMS, 56 days) at two seconds a day.
		return size{people: 600, dayLength: 2 * time.Second, schedule: mailing.DefaultSchedule()}, nil
	}
	return size{}, fmt.Errorf("-size must be small or full, not %q", name)
}

// templateID is a fixed UUID for a template name (the Notify test server takes any).
func templateID(name string) string {
	sum := sha256.Sum256([]byte("ice-chaos-template/" + name))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

// startWorld starts the parent's services in dir and stages the wave's files.
func startWorld(ctx context.Context, dir string, cfg Config, sz size) (_ *world, err error) {
	w := &world{dir: dir, warehousePath: filepath.Join(dir, "warehouse.duckdb"), tmpDir: filepath.Join(dir, "tmp")}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	if err = os.MkdirAll(w.tmpDir, 0o700); err != nil {
		return nil, err
	}
	if w.store, err = store.NewFileStore(filepath.Join(dir, "store")); err != nil {
		return nil, err
	}
	if w.server, err = devserver.StartDevServer(ctx, devserver.DevServerConfig{DataDir: filepath.Join(dir, "temporal")}); err != nil {
		return nil, err
	}
	if w.client, err = infra.Dial(ctx, infra.ClientConfig{Address: w.server.HostPort(), Namespace: w.server.Namespace()}); err != nil {
		return nil, err
	}
	w.waves = waveclient.New(w.client)
	// The journal makes the server remember every message it accepted, as the real
	// Notify does: a resend after a crash shows up as a duplicate. Each message settles
	// (delivered, or its number's failure) a fieldwork day after it was sent, as the
	// real service's do within minutes, so the wave's receipts find final statuses and
	// the campaign checks that the kills lost or invented none.
	if w.notify, err = notifytest.Open(notifytest.Options{StatePath: filepath.Join(dir, "notify.jsonl"), SettleAfter: sz.dayLength}); err != nil {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	w.pseudonymKey = hex.EncodeToString(key)

	sampling := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	spec := &wavespec.Spec{
		WaveID: "chaos-" + cfg.Size, SamplingDate: wavespec.Date{Time: sampling}, DayLength: wavespec.Duration(sz.dayLength),
		MinEligible: sz.people / 3,
		// Retention stays well after the campaign: the checks read the print files and
		// the ledger that retention deletes.
		RetentionDays: 10000, Schedule: sz.schedule, Templates: map[string]string{},
		DBS: wavespec.DBSSettings{PollEvery: wavespec.Duration(500 * time.Millisecond), ReplyDeadline: wavespec.Duration(time.Hour)},
	}
	for _, s := range spec.Schedule.Steps {
		spec.Templates[s.Template] = templateID(s.Template)
	}
	w.dbs = dbssim.NewSimulator(w.store, "")
	w.dbs.Delay = 300 * time.Millisecond
	w.stats = map[string]*synth.Stats{}
	codes := synth.ICSCodes()
	if cfg.ICSs > len(codes) {
		return nil, fmt.Errorf("-icss %d: synth knows %d ICS codes", cfg.ICSs, len(codes))
	}
	inputs := filepath.Join(dir, "inputs")
	for i, code := range codes[:cfg.ICSs] {
		sp, mp, s, err := synth.GenerateFiles(synth.Config{ICS: code, N: sz.people, Seed: cfg.Seed + int64(i), FaultRate: 0.05,
			SamplingDate: sampling, DeathRate: 0.05}, inputs)
		if err != nil {
			return nil, err
		}
		for k, v := range s.DeceasedNHS {
			w.dbs.Deaths[k] = v
		}
		w.stats[code] = s
		spec.ICSs = append(spec.ICSs, wavespec.ICS{Code: code, SampleFile: sp, MailingFile: mp})
	}
	spec.Defaults()
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if _, err := waveclient.StageFiles(ctx, w.store, spec); err != nil {
		return nil, err
	}
	w.spec = spec
	w.startResponder(ctx)
	return w, nil
}

// startResponder plays DBS at the far end of the file drop: each request the worker
// leaves in the outbox is answered in the inbox once the simulator's delay has passed.
func (w *world) startResponder(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		drop := w.dbs.Drop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
			infos, err := w.store.List(ctx, drop.Outbox+"/")
			if err != nil {
				continue
			}
			for _, inf := range infos {
				id := strings.TrimSuffix(path.Base(inf.Key), ".csv")
				// Fetch answers once the delay has passed, and returns the stored reply after.
				_, _, _ = w.dbs.Fetch(ctx, id)
			}
		}
	}()
	w.stopResponder = func() { cancel(); wg.Wait() }
}

// workerCommand is `ice worker` serving both task queues against the world.
func (w *world) workerCommand(ice string, crashpoints string) *exec.Cmd {
	drop := w.dbs.Drop()
	cmd := exec.Command(ice, "worker", "--main", "--warehouse",
		"--warehouse-path", w.warehousePath,
		"--store", "file://"+w.store.Root(),
		"--address", w.server.HostPort(), "--namespace", w.server.Namespace(),
		"--dbs", "filedrop", "--dbs-outbox", drop.Outbox, "--dbs-inbox", drop.Inbox,
		"--notify-url", w.notify.URL)
	cmd.Env = append(os.Environ(),
		"ICE_PSEUDONYM_KEY="+w.pseudonymKey,
		"NOTIFY_API_KEY="+w.notify.APIKey(),
		"ICE_CRASHPOINTS="+crashpoints,
		"TMPDIR="+w.tmpDir,
	)
	cmd.Dir = w.dir
	return cmd
}

func (w *world) close() {
	if w.stopResponder != nil {
		w.stopResponder()
	}
	if w.client != nil {
		w.client.Close()
	}
	if w.server != nil {
		_ = w.server.Stop()
	}
	if w.notify != nil {
		w.notify.Close()
	}
}

// buildIce builds the ice binary (the default, non-production build, which honours
// ICE_CRASHPOINTS) into dir.
func buildIce(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	bin := filepath.Join(dir, "ice")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ice")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/ice: %w\n%s", err, b)
	}
	return bin, nil
}
