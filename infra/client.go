package infra

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
)

// ClientConfig says how to reach a Temporal cluster. Every field can come from a flag
// or the environment (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME).
type ClientConfig struct {
	Address       string
	Namespace     string
	APIKey        string
	TLSCertFile   string
	TLSKeyFile    string
	TLSCAFile     string
	TLSServerName string
	// Logger receives the SDK's own log (worker retries and the like); default stderr at
	// warn. An activity attempt that failed by design (fault.Kind.Awaited: a poll, a wait
	// for a lock) is logged at Info, not at the SDK's Error.
	Logger *slog.Logger
}

// ClientConfigFromEnv fills a ClientConfig from the environment, with local defaults.
func ClientConfigFromEnv() ClientConfig {
	c := ClientConfig{
		Address:       os.Getenv("TEMPORAL_ADDRESS"),
		Namespace:     os.Getenv("TEMPORAL_NAMESPACE"),
		APIKey:        os.Getenv("TEMPORAL_API_KEY"),
		TLSCertFile:   os.Getenv("TEMPORAL_TLS_CERT"),
		TLSKeyFile:    os.Getenv("TEMPORAL_TLS_KEY"),
		TLSCAFile:     os.Getenv("TEMPORAL_TLS_CA"),
		TLSServerName: os.Getenv("TEMPORAL_TLS_SERVER_NAME"),
	}
	if c.Address == "" {
		c.Address = "127.0.0.1:7233"
	}
	if c.Namespace == "" {
		c.Namespace = Namespace
	}
	return c
}

// Dial connects to the cluster c describes.
func Dial(ctx context.Context, c ClientConfig) (client.Client, error) {
	opts := client.Options{HostPort: c.Address, Namespace: c.Namespace, Logger: sdkLogger()}
	if c.Logger != nil {
		opts.Logger = sdklog.NewStructuredLogger(slog.New(awaitedAtInfo(c.Logger.Handler())))
	}
	if c.TLSKeyFile != "" && c.TLSCertFile == "" {
		return nil, fmt.Errorf("temporal: the mTLS client key %s is given (--tls-key / TEMPORAL_TLS_KEY) but not its certificate: set --tls-cert / TEMPORAL_TLS_CERT", c.TLSKeyFile)
	}
	if c.TLSCertFile != "" || c.TLSCAFile != "" || c.APIKey != "" {
		tc := &tls.Config{ServerName: c.TLSServerName, MinVersion: tls.VersionTLS12}
		if c.TLSCertFile != "" {
			if c.TLSKeyFile == "" {
				return nil, fmt.Errorf("temporal: the mTLS client certificate %s is given (--tls-cert / TEMPORAL_TLS_CERT) but not its key: set --tls-key / TEMPORAL_TLS_KEY", c.TLSCertFile)
			}
			cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
			if err != nil {
				return nil, fmt.Errorf("temporal: load the mTLS client certificate %s (--tls-cert / TEMPORAL_TLS_CERT) and key %s (--tls-key / TEMPORAL_TLS_KEY): %w", c.TLSCertFile, c.TLSKeyFile, err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		if c.TLSCAFile != "" {
			pem, err := os.ReadFile(c.TLSCAFile)
			if err != nil {
				return nil, fmt.Errorf("temporal: read the CA bundle (--tls-ca / TEMPORAL_TLS_CA): %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("temporal: no certificates in %s", c.TLSCAFile)
			}
			tc.RootCAs = pool
		}
		opts.ConnectionOptions.TLS = tc
	}
	if c.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(c.APIKey)
	}
	cl, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("temporal: dial %s namespace %s: %w", c.Address, c.Namespace, err)
	}
	return cl, nil
}

func sdkLogger() sdklog.Logger {
	return sdklog.NewStructuredLogger(slog.New(awaitedAtInfo(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))))
}
