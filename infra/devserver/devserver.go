// Package devserver starts the embedded Temporal server (SQLite persistence) and the
// Temporal Web UI in-process, for `ice dev`, the demo and the end-to-end tests (through
// infra/devstack). A production build never links it, nor the Temporal server.
package devserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"icesurvey/infra"
)

// DevServerConfig configures the embedded Temporal server.
type DevServerConfig struct {
	// DataDir holds temporal.db (the SQLite persistence) and temporal.log.
	DataDir string
	// Host is the loopback address to listen on (default 127.0.0.1).
	Host string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port int
	// Namespace to create (default Namespace).
	Namespace string
	// LogLevel of the server's own log file (default warn).
	LogLevel string
}

// DevServer is a running embedded Temporal server.
type DevServer struct {
	srv       temporal.Server
	hostPort  string
	namespace string
	logPath   string
}

// StartDevServer starts an in-process Temporal server persisting to SQLite in
// cfg.DataDir. State survives a restart: a wave started before carries on after.
func StartDevServer(ctx context.Context, cfg DevServerConfig) (*DevServer, error) {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Namespace == "" {
		cfg.Namespace = infra.Namespace
	}
	if cfg.LogLevel == "" {
		cfg.LogLevel = "warn"
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("temporal: create data dir: %w", err)
	}
	dbPath := filepath.Join(cfg.DataDir, "temporal.db")
	logPath := filepath.Join(cfg.DataDir, "temporal.log")
	ports, err := portPlan(cfg.DataDir, cfg.Host, cfg.Port)
	if err != nil {
		return nil, err
	}
	port := ports["frontend"]
	if err := portFree(cfg.Host, port); err != nil {
		return nil, fmt.Errorf("temporal: frontend port %d: %w (is another `ice dev` running on %s?)", port, err, cfg.DataDir)
	}
	sqlCfg := config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      dbPath,
		ConnectAttributes: map[string]string{"mode": "rwc", "_journal_mode": "wal", "_synchronous": "2"},
	}
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		if err := sqlite.SetupSchema(&sqlCfg); err != nil {
			return nil, fmt.Errorf("temporal: set up SQLite schema: %w", err)
		}
	}
	ns, err := sqlite.NewNamespaceConfig("active", cfg.Namespace, false, infra.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("temporal: namespace config: %w", err)
	}
	if err := sqlite.CreateNamespaces(&sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("temporal: create namespace: %w", err)
	}

	hostPort := net.JoinHostPort(cfg.Host, strconv.Itoa(port))
	svc := func(name string) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: ports[name], MembershipPort: ports[name+"-membership"], BindOnIP: cfg.Host}}
	}
	sc := &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: cfg.Host},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: net.JoinHostPort(cfg.Host, strconv.Itoa(ports["metrics"])), HandlerPath: "/metrics",
			}},
			PProf: config.PProf{Port: ports["pprof"]},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: &sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        "active",
			CurrentClusterName:       "active",
			ClusterInformation: map[string]cluster.ClusterInformation{
				"active": {Enabled: true, InitialFailoverVersion: 1, RPCAddress: hostPort},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services: map[string]config.Service{
			"frontend": svc("frontend"), "history": svc("history"), "matching": svc("matching"), "worker": svc("worker"),
		},
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: hostPort},
	}
	logger := log.NewZapLogger(serverLogger(cfg.LogLevel, logPath, os.Stderr))
	authorizer, err := authorization.GetAuthorizerFromConfig(&sc.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporal: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&sc.Global.Authorization, logger)
	if err != nil {
		return nil, fmt.Errorf("temporal: claim mapper: %w", err)
	}
	dc := dynamicconfig.StaticClient{
		// Lets `ice wave list` and the UI see a wave's new Stage at once, not after a refresh.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(sc),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal: new server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("temporal: start server: %w", err)
	}
	ds := &DevServer{srv: srv, hostPort: hostPort, namespace: cfg.Namespace, logPath: logPath}
	if err := ds.waitReady(ctx); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return ds, nil
}

// serverLogger writes the server's log to its file, and its fatal errors to stderr as
// well: the server ends the whole process on one (a port it cannot bind), and with the
// reason only in the file, an ice dev or a test binary would simply be gone.
func serverLogger(level, path string, stderr io.Writer) *zap.Logger {
	file := log.BuildZapLogger(log.Config{Level: level, OutputFile: path})
	return file.WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core {
		return zapcore.NewTee(c, zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewProductionEncoderConfig()),
			zapcore.Lock(zapcore.AddSync(stderr)), zapcore.DPanicLevel))
	}))
}

func (d *DevServer) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := client.Dial(client.Options{HostPort: d.hostPort, Namespace: d.namespace, Logger: quietLogger()})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			if err == nil {
				_, err = c.WorkflowService().GetSystemInfo(ctx, nil)
			}
			c.Close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("temporal: server at %s not ready after 60s (log: %s): %w", d.hostPort, d.logPath, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// HostPort is the frontend address clients dial.
func (d *DevServer) HostPort() string { return d.hostPort }

// Namespace is the namespace the server created.
func (d *DevServer) Namespace() string { return d.namespace }

// LogPath is the server's own log file.
func (d *DevServer) LogPath() string { return d.logPath }

// Stop stops the server; persisted state stays in the data directory.
func (d *DevServer) Stop() error { return d.srv.Stop() }

func portFree(host string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// portPlan returns the server's ports, kept in the data directory so a restarted server
// comes back on the same addresses: its cluster membership, persisted in SQLite, then
// names the restarted node itself instead of a stale member it would wait out.
func portPlan(dataDir, host string, frontend int) (map[string]int, error) {
	path := filepath.Join(dataDir, "ports.json")
	plan := map[string]int{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &plan); err != nil {
			return nil, fmt.Errorf("temporal: %s: %w", path, err)
		}
	}
	if frontend != 0 {
		plan["frontend"] = frontend
	}
	names := []string{"frontend", "history", "matching", "worker", "metrics", "pprof",
		"frontend-membership", "history-membership", "matching-membership", "worker-membership"}
	for _, n := range names {
		if p := plan[n]; p != 0 {
			// A restarted server takes its plan's port again, which must be free: the
			// server's own start exits the process (a fatal log) when it cannot listen on
			// one, so `ice dev` would stop without a word. Another ice process's claim on
			// it means another ice dev runs on this data directory. A port this process
			// held already is its own server's, stopped and started again: a listener of
			// the stopped one (its metrics) may still be open, and the server's start has
			// always come up over it. The frontend, which clients dial, the caller checks.
			c, err := claimPort(p)
			if err != nil {
				return nil, err
			}
			if c == heldByOtherProc {
				return nil, fmt.Errorf("temporal: port %d (%s, kept in %s) is held by another ice process: is another `ice dev` running on %s?",
					p, n, path, dataDir)
			}
			if c == claimedNow && n != "frontend" {
				if err := portFree(host, p); err != nil {
					return nil, fmt.Errorf("temporal: port %d (%s, kept in %s): %w — is another `ice dev` running on %s? "+
						"If not, another program holds the port: stop it, then start again", p, n, path, err, dataDir)
				}
			}
			continue
		}
		p, err := FreePort(host)
		if err != nil {
			return nil, err
		}
		plan[n] = p
	}
	b, _ := json.MarshalIndent(plan, "", "  ")
	if err := os.WriteFile(path, b, 0o640); err != nil {
		return nil, fmt.Errorf("temporal: save %s: %w", path, err)
	}
	return plan, nil
}

func quietLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
}
