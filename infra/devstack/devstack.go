// Package devstack starts the whole pipeline in one process on embedded defaults: the
// Temporal server with SQLite persistence, the Web UI, a file object store, the DuckDB
// warehouse, both workers, and the simulators that stand in for the outside world
// (the Demographics Batch Service, GOV.UK Notify and the survey supplier, from sim/ and
// notify/notifytest). `ice dev`, `ice demo` and the end-to-end tests all start it the
// same way; the production build of `ice` (-tags production) does not link it.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"icesurvey/infra"
	"icesurvey/infra/devserver"
	"icesurvey/notify"
	"icesurvey/notify/notifytest"
	"icesurvey/sim/dbssim"
	"icesurvey/sim/devsim"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/worker"
)

// Config configures the stack.
type Config struct {
	DataDir string // default ./.ice
	Port    int    // Temporal frontend; 0 picks a free port
	UIPort  int    // Web UI; 0 picks a free port, -1 disables it
	// DBSDelay is how long the simulated DBS takes to answer.
	DBSDelay time.Duration
	// NotifySettleAfter is how long the simulated GOV.UK Notify takes to give an SMS its
	// final status (delivered, or the failure set for its number), as the real service
	// does within minutes, so that delivery receipts find final statuses (default
	// DefaultNotifySettleAfter; negative: never on its own, each read by id moves a
	// status one step).
	NotifySettleAfter time.Duration
	// NotifyRateWindow, when set, is the window of the simulated Notify's 3,000
	// requests, and the workers' client paces itself to it (default a minute, as the
	// real service). ice demo, whose fieldwork day is a second, shortens it: at 3,000 a
	// minute one SMS step of 500 messages took ten of its days, the steps drifted past
	// the close, and the last were not sent.
	NotifyRateWindow time.Duration
	// AccessFile is the access file the workers check before a free-text export,
	// coding decisions or a report quoting comments (default
	// DataDir/dashboard-access.yaml, which ice demo writes; the file is read at each
	// check, so it may be written after the stack starts).
	AccessFile string
	Logger     *slog.Logger
	// WrapStore, if set, wraps the store the workers and simulators use (a test
	// records every key written through it).
	WrapStore func(store.Store) store.Store
}

// DefaultNotifySettleAfter is how long the dev stack's Notify takes to settle an SMS.
const DefaultNotifySettleAfter = 2 * time.Second

// Stack is a running embedded pipeline.
type Stack struct {
	Server    *devserver.DevServer
	UI        *devserver.UIServer
	Client    client.Client
	Store     *store.FileStore
	Warehouse *warehouse.Warehouse
	Workers   *worker.Workers
	Notify    *notifytest.Server
	DBS       *dbssim.Simulator
	DataDir   string
	logFile   *os.File

	// Outside is the simulated outside world's own store (DataDir/outside): the
	// simulated DBS's requests, replies and register of deaths. It is not the
	// pipeline's: the retention never deletes from it, and a real DBS keeps its own.
	Outside *store.FileStore
}

// Start brings the stack up. Close it to stop everything; the data directory keeps the
// state, so a later Start carries on every wave where it was.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	if cfg.DataDir == "" {
		cfg.DataDir = ".ice"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DBSDelay == 0 {
		cfg.DBSDelay = 3 * time.Second
	}
	s := &Stack{DataDir: cfg.DataDir}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Store, err = store.NewFileStore(filepath.Join(cfg.DataDir, "store")); err != nil {
		return nil, err
	}
	if s.Outside, err = store.NewFileStore(filepath.Join(cfg.DataDir, "outside")); err != nil {
		return nil, err
	}
	key, err := PseudonymKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	if s.Warehouse, err = warehouse.Open(ctx, filepath.Join(cfg.DataDir, "warehouse.duckdb")); err != nil {
		return nil, err
	}
	if s.Server, err = devserver.StartDevServer(ctx, devserver.DevServerConfig{DataDir: cfg.DataDir, Port: cfg.Port}); err != nil {
		return nil, err
	}
	if cfg.UIPort >= 0 {
		if s.UI, err = devserver.StartUI(s.Server.HostPort(), "127.0.0.1", cfg.UIPort, s.Server.Namespace()); err != nil {
			return nil, err
		}
	}
	logFile, err := os.OpenFile(filepath.Join(cfg.DataDir, "worker.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("devstack: worker log: %w", err)
	}
	s.logFile = logFile
	workerLog := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if s.Client, err = infra.Dial(ctx, infra.ClientConfig{Address: s.Server.HostPort(), Namespace: s.Server.Namespace(), Logger: workerLog}); err != nil {
		return nil, err
	}

	settle := cfg.NotifySettleAfter
	if settle == 0 {
		settle = DefaultNotifySettleAfter
	}
	if s.Notify, err = openNotify(cfg.DataDir, settle, cfg.NotifyRateWindow); err != nil {
		return nil, err
	}
	nc, err := notify.New(notify.Config{APIKey: s.Notify.APIKey(), BaseURL: s.Notify.URL, Logger: cfg.Logger, RateWindow: cfg.NotifyRateWindow})
	if err != nil {
		return nil, err
	}
	s.DBS = dbssim.NewSimulator(s.Outside, "")
	s.DBS.Delay = cfg.DBSDelay
	// The registers of deaths are read at each reply, not once here: ice synth sample
	// --store writes them while the stack runs.
	s.DBS.ReadRegisters = true
	accessFile := cfg.AccessFile
	if accessFile == "" {
		accessFile = filepath.Join(cfg.DataDir, "dashboard-access.yaml")
	}
	var pipelineStore store.Store = s.Store
	if cfg.WrapStore != nil {
		pipelineStore = cfg.WrapStore(s.Store)
	}
	if s.Workers, err = worker.Start(worker.Config{
		Client: s.Client, Namespace: s.Server.Namespace(), Store: pipelineStore, PseudonymKey: key, DBS: s.DBS, Notify: nc,
		Main: true, Warehouse: s.Warehouse, Logger: workerLog, AccessFile: accessFile,
		RegisterDevSimulators: func(r sdkworker.ActivityRegistry) {
			devsim.Register(r, &devsim.DevSimulators{Store: pipelineStore, Warehouse: s.Warehouse, Seed: 1})
		},
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// NotifyJournal is the file in a data directory where the simulated GOV.UK Notify
// keeps what it was sent (notifytest's StatePath): its service, API key, every message
// and its status, with mode 0600. It holds no recipient's number or personalisation,
// so it may outlive the waves' retention (TestRetentionLeavesNothingIdentifiable
// searches it).
func NotifyJournal(dataDir string) string { return filepath.Join(dataDir, "notify.jsonl") }

// openNotify starts the simulated GOV.UK Notify on its journal in the data directory,
// so that after a restart it still knows every message sent before: a wave's delivery
// receipts read after the restart find them, as they would at the real Notify (before
// its journal, each start forgot them all, and the first receipts read after a restart
// ended the ICS with 404 NoResultFound).
func openNotify(dataDir string, settle, rateWindow time.Duration) (*notifytest.Server, error) {
	srv, err := notifytest.Open(notifytest.Options{SettleAfter: max(settle, 0), StatePath: NotifyJournal(dataDir), RateWindow: rateWindow})
	if err != nil {
		return nil, fmt.Errorf("devstack: simulated Notify: %w", err)
	}
	return srv, nil
}

// Close stops everything, workers first so no activity is cut off by its server.
func (s *Stack) Close() {
	if s.Workers != nil {
		s.Workers.Stop()
	}
	if s.Client != nil {
		s.Client.Close()
	}
	if s.UI != nil {
		s.UI.Stop()
	}
	if s.Server != nil {
		_ = s.Server.Stop()
	}
	if s.Notify != nil {
		s.Notify.Close()
	}
	if s.logFile != nil {
		s.logFile.Close()
	}
}

// PseudonymKey returns the project's pseudonymisation key: ICE_PSEUDONYM_KEY (hex) if
// set, else the key kept in the data directory, created on first use. The same key
// must be used for every dataset of one project, so it is never regenerated.
func PseudonymKey(dataDir string) ([]byte, error) {
	if h := os.Getenv("ICE_PSEUDONYM_KEY"); h != "" {
		k, err := hex.DecodeString(strings.TrimSpace(h))
		if err != nil || len(k) < 32 {
			return nil, fmt.Errorf("ICE_PSEUDONYM_KEY must be at least 32 bytes of hex")
		}
		return k, nil
	}
	path := filepath.Join(dataDir, "pseudonym.key")
	if b, err := os.ReadFile(path); err == nil {
		return hex.DecodeString(strings.TrimSpace(string(b)))
	}
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("devstack: save pseudonym key: %w", err)
	}
	return k, nil
}
