package main

import (
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"icesurvey/dbs"
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
	var main, wh bool
	var whPath, dbsMode, dbsOutbox, dbsInbox, notifyURL, accessFile string
	var meshCfg struct{ url, mailbox, password, sharedKey, to, cert, key, ca string }
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the worker against an external Temporal cluster",
		Long: `Serves the main task queue (workflows and activities) and, with --warehouse, the
warehouse task queue. Run any number of main workers, and exactly one warehouse worker:
DuckDB allows one writer process.

Secrets come from the environment: ICE_PSEUDONYM_KEY (hex, ≥32 bytes), NOTIFY_API_KEY,
MESH_PASSWORD, MESH_SHARED_KEY.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			log := slog.Default()
			st, err := store.Open(ctx, c.storeURL)
			if err != nil {
				return err
			}
			cl, err := infra.Dial(ctx, c.clientConfig())
			if err != nil {
				return err
			}
			defer cl.Close()
			if err := infra.EnsureSearchAttributes(ctx, cl, c.namespace); err != nil {
				log.Warn("could not register search attributes (an operator may need to)", "err", err)
			}
			cfg := worker.Config{Client: cl, Store: st, Main: main, Logger: log, AccessFile: accessFile}
			if main {
				key, err := hex.DecodeString(os.Getenv("ICE_PSEUDONYM_KEY"))
				if err != nil || len(key) < 32 {
					return fmt.Errorf("ICE_PSEUDONYM_KEY must hold the project's pseudonymisation key (≥32 bytes, hex)")
				}
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
				default:
					return fmt.Errorf("--dbs must be mesh or filedrop, not %q", dbsMode)
				}
				nc, err := notify.New(notify.Config{APIKey: os.Getenv("NOTIFY_API_KEY"), BaseURL: notifyURL, Logger: log})
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
			<-ctx.Done()
			return nil
		},
	}
	c.bind(cmd)
	f := cmd.Flags()
	f.BoolVar(&main, "main", true, "serve the main task queue")
	f.BoolVar(&wh, "warehouse", false, "serve the warehouse task queue (one process only)")
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
	f.StringVar(&accessFile, "access", envOr("ICE_ACCESS", ""), "the access file naming the free-text readers (the dashboard's; ICE_ACCESS): checked, read afresh each time, before a free-text export, coding decisions or a report quoting comments; without it they are refused")
	return cmd
}
