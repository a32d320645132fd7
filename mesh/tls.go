package mesh

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"time"
)

// TLSConfig builds the mutual-TLS configuration MESH requires: the mailbox's client
// certificate and key (PEM), and the CA bundle (PEM) that signs the MESH server
// certificate. An empty caPEM trusts the system roots.
func TLSConfig(certPEM, keyPEM, caPEM []byte) (*tls.Config, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("mesh: load client certificate: %w", err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("mesh: CA bundle holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// NewHTTPClient returns an *http.Client for MESH with mutual TLS, reading the client
// certificate, its key and the CA bundle from PEM files (caFile may be empty to
// trust the system roots). timeout bounds each whole request (0 means 10 minutes,
// enough for a 100 MB chunk on a slow link).
func NewHTTPClient(certFile, keyFile, caFile string, timeout time.Duration) (*http.Client, error) {
	switch {
	case certFile == "" && keyFile == "":
		return nil, fmt.Errorf("mesh: no client certificate or key file given")
	case certFile == "":
		return nil, fmt.Errorf("mesh: no client certificate file given")
	case keyFile == "":
		return nil, fmt.Errorf("mesh: no client key file given")
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("mesh: read client certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("mesh: read client key: %w", err)
	}
	var caPEM []byte
	if caFile != "" {
		if caPEM, err = os.ReadFile(caFile); err != nil {
			return nil, fmt.Errorf("mesh: read CA bundle: %w", err)
		}
	}
	cfg, err := TLSConfig(certPEM, keyPEM, caPEM)
	if err != nil {
		return nil, err
	}
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	return &http.Client{Transport: tr, Timeout: timeout}, nil
}
