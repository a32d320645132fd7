package infra

import (
	"context"
	"strings"
	"testing"
)

// A client certificate without its key (or a key without its certificate) is refused
// naming the setting that is missing, by flag and environment variable; before, it
// read "load client certificate: open : no such file or directory".
func TestDialNamesTheMissingTLSSetting(t *testing.T) {
	for _, tc := range []struct {
		cfg  ClientConfig
		want string
	}{
		{ClientConfig{Address: "127.0.0.1:1", TLSCertFile: "/etc/hostname"}, "set --tls-key / TEMPORAL_TLS_KEY"},
		{ClientConfig{Address: "127.0.0.1:1", TLSKeyFile: "/etc/hostname"}, "set --tls-cert / TEMPORAL_TLS_CERT"},
		{ClientConfig{Address: "127.0.0.1:1", TLSCertFile: "/nonexistent/c.pem", TLSKeyFile: "/nonexistent/k.pem"},
			"/nonexistent/c.pem (--tls-cert / TEMPORAL_TLS_CERT) and key /nonexistent/k.pem (--tls-key / TEMPORAL_TLS_KEY)"},
	} {
		_, err := Dial(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Dial(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
		}
	}
}
