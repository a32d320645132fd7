package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/dbs"
	"icesurvey/fault"
	"icesurvey/infra"
	"icesurvey/mesh"
	"icesurvey/notify"
	"icesurvey/schemas"
	"icesurvey/store"
	"icesurvey/warehouse"
	"icesurvey/worker"
)

func workerCmd() *cobra.Command {
	var c conn
	var main, wh, forceWH bool
	var whPath, dbsMode, dbsOutbox, dbsInbox, notifyURL, accessFile string
	var notifyRate string
	var meshCfg struct{ url, mailbox, password, sharedKey, to, cert, key, ca string }
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the worker against an external Temporal cluster",
		Long: `Serves the main task queue (workflows and activities) and, with --warehouse, the
warehouse task queue. Run any number of main workers, and exactly one warehouse worker:
DuckDB allows one writer process. --warehouse refuses to start while another warehouse
worker polls the warehouse queue (seen by the cluster in the last 90 seconds, other than
a worker of this host whose process has gone), naming it and when it last polled; a
worker of another host stopped less than 90 seconds ago is still counted: wait, or, once
sure it is stopped, pass --force-warehouse.

Secrets come from the environment: ICE_PSEUDONYM_KEY (hex, ≥32 bytes), NOTIFY_API_KEY,
MESH_PASSWORD, MESH_SHARED_KEY.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Every setting the worker will need is checked before it connects, so a
			// worker short of one refuses to start instead of failing the first ICS
			// that needs it (a DBS request without MESH ends the ICS for good).
			if err := checkWorkerSettings(workerSettings{main: main, warehouse: wh, warehousePath: whPath,
				dbs: dbsMode, dbsOutbox: dbsOutbox, dbsInbox: dbsInbox,
				meshURL: meshCfg.url, meshMailbox: meshCfg.mailbox, meshDBSMailbox: meshCfg.to, meshCert: meshCfg.cert, meshKey: meshCfg.key,
				tlsCert: c.tlsCert, tlsKey: c.tlsKey, notifyRate: notifyRate}, os.Getenv); err != nil {
				return err
			}
			ctx := cmd.Context()
			log := slog.Default()
			st, err := store.Open(ctx, c.storeURL)
			if err != nil {
				return err
			}
			// Opening an S3 store sends no request: one listing of a prefix that holds
			// nothing finds a missing bucket, wrong credentials or region, or an endpoint
			// that cannot be reached now, rather than at the first activity that lands
			// on this worker.
			lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			_, err = st.List(lctx, "_worker-check/")
			cancel()
			if err != nil {
				return fault.Errorf(fault.BadInput, "ice worker: refusing to start: the store %s cannot be read: %v", st.URL(), err)
			}
			cl, err := infra.Dial(ctx, c.clientConfig())
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := infra.EnsureSearchAttributes(ctx, cl, c.namespace); err != nil {
				log.Warn("could not register search attributes (an operator may need to)", "err", err)
			}
			cfg := worker.Config{Client: cl, Namespace: c.namespace, Store: st, Main: main, Logger: log, AccessFile: accessFile, ForceWarehouse: forceWH}
			if main {
				key, _ := hex.DecodeString(os.Getenv("ICE_PSEUDONYM_KEY")) // checked above
				cfg.PseudonymKey = key
				switch dbsMode {
				case "mesh":
					hc, err := mesh.NewHTTPClient(meshCfg.cert, meshCfg.key, meshCfg.ca, time.Minute)
					if err != nil {
						return err
					}
					mc := &mesh.Client{BaseURL: meshCfg.url, Mailbox: meshCfg.mailbox, Password: os.Getenv("MESH_PASSWORD"),
						SharedKey: os.Getenv("MESH_SHARED_KEY"), HTTP: hc}
					cfg.DBS = &dbs.MESHTransport{Client: mc, DBSMailbox: meshCfg.to, Ledger: st}
				case "filedrop":
					cfg.DBS = &dbs.FileDropTransport{Store: st, Outbox: dbsOutbox, Inbox: dbsInbox}
				}
				rate, _ := notifyRateOf(notifyRate) // checked above
				nc, err := notify.New(notify.Config{APIKey: os.Getenv("NOTIFY_API_KEY"), BaseURL: notifyURL, Logger: log,
					RateLimit: rate, RateWindow: notify.DefaultRateWindow})
				if err != nil {
					return fmt.Errorf("GOV.UK Notify: %w (set NOTIFY_API_KEY)", err)
				}
				cfg.Notify = nc
			}
			if wh {
				w, err := warehouse.Open(ctx, whPath)
				if err != nil {
					return err
				}
				cfg.Warehouse = w
			}
			ws, err := worker.Start(cfg)
			if err != nil {
				return err
			}
			defer ws.Stop()
			fmt.Printf("worker running against %s namespace %s (main=%v warehouse=%v)\n", c.address, c.namespace, main, wh)
			if cfg.Warehouse != nil {
				fmt.Printf("warehouse file %s\n", cfg.Warehouse.Path())
			}
			<-ctx.Done()
			return nil
		},
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.BoolVar(&main, "main", true, "serve the main task queue")
	f.BoolVar(&wh, "warehouse", false, "serve the warehouse task queue (one process only)")
	f.BoolVar(&forceWH, "force-warehouse", false, "start the warehouse worker even though another seems to poll the warehouse queue (only once sure it is stopped)")
	f.StringVar(&whPath, "warehouse-path", ".ice/warehouse.duckdb", "DuckDB warehouse file")
	f.StringVar(&dbsMode, "dbs", "filedrop", "DBS transport: mesh or filedrop")
	f.StringVar(&dbsOutbox, "dbs-outbox", schemas.DBSFileDropOutbox, "file drop: where requests are written")
	f.StringVar(&dbsInbox, "dbs-inbox", schemas.DBSFileDropInbox, "file drop: where replies are expected")
	f.StringVar(&meshCfg.url, "mesh-url", os.Getenv("MESH_URL"), "MESH API base URL (MESH_URL)")
	f.StringVar(&meshCfg.mailbox, "mesh-mailbox", os.Getenv("MESH_MAILBOX"), "our MESH mailbox (MESH_MAILBOX)")
	f.StringVar(&meshCfg.to, "mesh-dbs-mailbox", os.Getenv("MESH_DBS_MAILBOX"), "the DBS service's MESH mailbox (MESH_DBS_MAILBOX)")
	f.StringVar(&meshCfg.cert, "mesh-cert", os.Getenv("MESH_CERT"), "MESH client certificate (MESH_CERT)")
	f.StringVar(&meshCfg.key, "mesh-key", os.Getenv("MESH_KEY"), "MESH client key (MESH_KEY)")
	f.StringVar(&meshCfg.ca, "mesh-ca", os.Getenv("MESH_CA"), "MESH CA bundle (MESH_CA)")
	f.StringVar(&notifyURL, "notify-url", notify.DefaultBaseURL, "GOV.UK Notify API base URL")
	f.StringVar(&notifyRate, "notify-rate", envOr("NOTIFY_RATE", strconv.Itoa(notify.DefaultRateLimit)),
		"Notify requests per minute this worker may make (NOTIFY_RATE): the key's limit (3,000 a minute) is shared by every main worker, so with N of them give each the limit / N")
	f.StringVar(&accessFile, "access", envOr("ICE_ACCESS", ""), "the access file naming the free-text readers (the dashboard's; ICE_ACCESS): checked, read afresh each time, before a free-text export, coding decisions or a report quoting comments; without it they are refused")
	return cmd
}

// workerSettings are the settings of `ice worker` that checkWorkerSettings checks.
type workerSettings struct {
	main, warehouse                                         bool
	warehousePath, dbs, dbsOutbox, dbsInbox                 string
	meshURL, meshMailbox, meshDBSMailbox, meshCert, meshKey string
	tlsCert, tlsKey                                         string
	// notifyRate: this worker's Notify requests a minute (as given: notifyRateOf reads
	// it); the key's limit is shared.
	notifyRate string
}

// notifyRateOf reads --notify-rate (NOTIFY_RATE): a whole number of requests a minute,
// from 1 to Notify's limit for one key.
func notifyRateOf(text string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil || n < 1 || n > notify.DefaultRateLimit {
		return 0, fmt.Errorf("--notify-rate / NOTIFY_RATE must be from 1 to %d (GOV.UK Notify's limit a minute for one API key, shared by every main worker: with N of them give each the limit / N), not %q",
			notify.DefaultRateLimit, text)
	}
	return n, nil
}

// checkWorkerSettings checks that a worker has every setting its queues need, reading
// the secrets from getenv, and names each one missing or wrong (by flag and
// environment variable) in one error. The MESH CA bundle is optional (the system's
// roots are used without it), as is the access file (without it free-text requests are
// refused, by design).
func checkWorkerSettings(s workerSettings, getenv func(string) string) error {
	var bad []string
	missing := func(v, what string) {
		if strings.TrimSpace(v) == "" {
			bad = append(bad, what+" is not set")
		}
	}
	if !s.main && !s.warehouse {
		bad = append(bad, "nothing to serve: --main=false without --warehouse")
	}
	if s.warehouse {
		missing(s.warehousePath, "--warehouse-path (the DuckDB warehouse file)")
	}
	// A client certificate and its key go together (the cluster's connection is made
	// from both).
	switch {
	case s.tlsCert != "" && s.tlsKey == "":
		bad = append(bad, "--tls-key / TEMPORAL_TLS_KEY (the mTLS client key) is not set, but --tls-cert / TEMPORAL_TLS_CERT is: give both")
	case s.tlsKey != "" && s.tlsCert == "":
		bad = append(bad, "--tls-cert / TEMPORAL_TLS_CERT (the mTLS client certificate) is not set, but --tls-key / TEMPORAL_TLS_KEY is: give both")
	}
	if s.main {
		if k := getenv("ICE_PSEUDONYM_KEY"); k == "" {
			bad = append(bad, "ICE_PSEUDONYM_KEY (the project's pseudonymisation key, ≥32 bytes of hex) is not set")
		} else if key, err := hex.DecodeString(k); err != nil || len(key) < 32 {
			bad = append(bad, "ICE_PSEUDONYM_KEY must hold the project's pseudonymisation key (≥32 bytes, hex)")
		}
		if _, err := notifyRateOf(s.notifyRate); err != nil {
			bad = append(bad, err.Error())
		}
		if k := getenv("NOTIFY_API_KEY"); k == "" {
			bad = append(bad, "NOTIFY_API_KEY (the GOV.UK Notify API key) is not set")
		} else if _, err := notify.ParseAPIKey(k); err != nil {
			bad = append(bad, fmt.Sprintf("NOTIFY_API_KEY: %v", err))
		}
		switch s.dbs {
		case "mesh":
			missing(s.meshURL, "--mesh-url / MESH_URL (the MESH API base URL)")
			missing(s.meshMailbox, "--mesh-mailbox / MESH_MAILBOX (our MESH mailbox)")
			missing(s.meshDBSMailbox, "--mesh-dbs-mailbox / MESH_DBS_MAILBOX (the DBS service's MESH mailbox)")
			missing(getenv("MESH_PASSWORD"), "MESH_PASSWORD (our MESH mailbox's password)")
			missing(getenv("MESH_SHARED_KEY"), "MESH_SHARED_KEY (the MESH environment's shared key)")
			missing(s.meshCert, "--mesh-cert / MESH_CERT (the MESH client certificate)")
			missing(s.meshKey, "--mesh-key / MESH_KEY (the MESH client key)")
		case "filedrop":
			missing(s.dbsOutbox, "--dbs-outbox (where DBS requests are written)")
			missing(s.dbsInbox, "--dbs-inbox (where DBS replies are expected)")
		default:
			bad = append(bad, fmt.Sprintf("--dbs must be mesh or filedrop, not %q", s.dbs))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fault.Errorf(fault.BadInput, "ice worker: refusing to start:\n  %s", strings.Join(bad, "\n  "))
}
