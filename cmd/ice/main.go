// Command ice is the one CLI of the ICE Survey pipeline: it runs the embedded stack
// (`ice dev`, `ice demo`), a worker against a real cluster (`ice worker`), starts and
// steers fieldwork waves (`ice wave ...`), drafts and signs off releases of the published
// comparable data (`ice publish`), links consenting respondents (`ice link`), prints the
// audit trail (`ice audit`), makes synthetic samples and session notes (`ice synth
// sample`, `ice synth sessions`), runs the local index (`ice themes ...`, `ice profiles
// report`; #17) and serves the ICS dashboard (`ice serve`).
//
// It is flags and printing only: every workflow is reached through waveclient. The
// embedded stack's commands (`dev`, `demo`) and the simulators they run are left out of
// a production build (`go build -tags production`, as the Dockerfile does), so the
// production binary links no simulator (internal/importrules checks).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"icesurvey/infra"
	"icesurvey/internal/proctmp"
	"icesurvey/waveclient"
)

func main() {
	os.Exit(run())
}

func run() int {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	privateUmask()
	// Every temporary file of the process goes into a private directory of its own,
	// removed as it ends; those of ice processes that were killed are removed now
	// (proctmp: temporary files hold patients' data, and no retention reaches them).
	if n, err := proctmp.Sweep(os.TempDir()); err != nil {
		slog.Warn("could not remove the temporary files of ended ice processes", "err", err)
	} else if n > 0 {
		slog.Warn("removed the temporary files of ice processes that ended without removing them", "directories", n)
	}
	_, done, err := proctmp.Setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ice:", err)
		return 1
	}
	defer done()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := rootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "ice:", waveclient.FailureText(err))
		return 1
	}
	return 0
}

func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "ice",
		Short:         "Run the NHS England Integrated Care Experience Survey: fieldwork, publication, linkage, the dashboard and the local index",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(workerCmd(), waveCmd(), auditCmd(), synthCmd(), scheduleCmd(), loadCmd(), warehouseCmd(), serveCmd())
	root.AddCommand(linkCmd())                  // consented linkage (#15)
	root.AddCommand(themesCmd(), profilesCmd()) // #17 local index
	root.AddCommand(publishCmd())
	root.AddCommand(devCommands()...)
	return root
}

// common flags for commands that talk to a Temporal cluster and the store.
type conn struct {
	address, namespace, apiKey, tlsCert, tlsKey, tlsCA, tlsServerName string
	storeURL                                                          string
}

func (c *conn) bind(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.address, "address", envOr("TEMPORAL_ADDRESS", "127.0.0.1:7233"), "Temporal frontend host:port (TEMPORAL_ADDRESS)")
	f.StringVar(&c.namespace, "namespace", envOr("TEMPORAL_NAMESPACE", infra.Namespace), "Temporal namespace (TEMPORAL_NAMESPACE)")
	f.StringVar(&c.apiKey, "api-key", envOr("TEMPORAL_API_KEY", ""), "Temporal Cloud API key (TEMPORAL_API_KEY)")
	f.StringVar(&c.tlsCert, "tls-cert", envOr("TEMPORAL_TLS_CERT", ""), "mTLS client certificate (TEMPORAL_TLS_CERT)")
	f.StringVar(&c.tlsKey, "tls-key", envOr("TEMPORAL_TLS_KEY", ""), "mTLS client key (TEMPORAL_TLS_KEY)")
	f.StringVar(&c.tlsCA, "tls-ca", envOr("TEMPORAL_TLS_CA", ""), "CA bundle for the server certificate (TEMPORAL_TLS_CA)")
	f.StringVar(&c.tlsServerName, "tls-server-name", envOr("TEMPORAL_TLS_SERVER_NAME", ""), "server name to verify (TEMPORAL_TLS_SERVER_NAME)")
	f.StringVar(&c.storeURL, "store", envOr("ICE_STORE", "file://.ice/store"), "object store: file://DIR or s3://bucket/prefix (ICE_STORE)")
}

// clientConfig is how the flags say to reach the cluster.
func (c *conn) clientConfig() infra.ClientConfig {
	return infra.ClientConfig{Address: c.address, Namespace: c.namespace, APIKey: c.apiKey,
		TLSCertFile: c.tlsCert, TLSKeyFile: c.tlsKey, TLSCAFile: c.tlsCA, TLSServerName: c.tlsServerName}
}

// plural is n with the singular or plural noun ("1 read", "3 reads").
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// envOr is the environment variable k, or def when it is unset or empty.
func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
