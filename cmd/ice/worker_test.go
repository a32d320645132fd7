package main

import (
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// testNotifyKey is a well-formed GOV.UK Notify API key ({name}-{service id}-{secret}).
const testNotifyKey = "test-11111111-2222-3333-4444-555555555555-66666666-7777-8888-9999-000000000000"

// ice worker refuses to start, before it connects to anything, when a setting its
// queues need is missing, and names every one by flag and environment variable. Before,
// `--dbs mesh` without MESH settings started, and the first DBS request ended its ICS
// for good ("MESHTransport needs Client, Ledger and DBSMailbox"); a --tls-cert without
// --tls-key failed with "open : no such file or directory".
func TestWorkerRefusesMissingSettings(t *testing.T) {
	goodPseudonymKey := hex.EncodeToString(make([]byte, 32))
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"mesh without its settings", map[string]string{"ICE_PSEUDONYM_KEY": goodPseudonymKey, "NOTIFY_API_KEY": testNotifyKey},
			[]string{"--dbs", "mesh"},
			[]string{"--mesh-url / MESH_URL", "--mesh-mailbox / MESH_MAILBOX", "--mesh-dbs-mailbox / MESH_DBS_MAILBOX",
				"MESH_PASSWORD", "MESH_SHARED_KEY", "--mesh-cert / MESH_CERT", "--mesh-key / MESH_KEY"}},
		{"mesh with some settings from the environment", map[string]string{"ICE_PSEUDONYM_KEY": goodPseudonymKey, "NOTIFY_API_KEY": testNotifyKey,
			"MESH_URL": "https://mesh.example", "MESH_MAILBOX": "X26OT001", "MESH_PASSWORD": "pw", "MESH_CERT": "/etc/hostname"},
			[]string{"--dbs", "mesh", "--mesh-key", "/etc/hostname"},
			[]string{"--mesh-dbs-mailbox / MESH_DBS_MAILBOX", "MESH_SHARED_KEY"}},
		{"a TLS certificate without its key", nil,
			[]string{"--main=false", "--warehouse", "--warehouse-path", dir + "/w.duckdb", "--tls-cert", "/etc/hostname"},
			[]string{"--tls-key / TEMPORAL_TLS_KEY"}},
		{"a TLS key without its certificate", nil,
			[]string{"--main=false", "--warehouse", "--warehouse-path", dir + "/w.duckdb", "--tls-key", "/etc/hostname"},
			[]string{"--tls-cert / TEMPORAL_TLS_CERT"}},
		{"no Notify key, no pseudonym key", nil, []string{"--dbs", "filedrop"},
			[]string{"NOTIFY_API_KEY", "ICE_PSEUDONYM_KEY"}},
		{"a malformed Notify key", map[string]string{"ICE_PSEUDONYM_KEY": goodPseudonymKey, "NOTIFY_API_KEY": "nonsense"},
			nil, []string{"NOTIFY_API_KEY: notify: API key is too short"}},
		{"an unknown DBS transport", map[string]string{"ICE_PSEUDONYM_KEY": goodPseudonymKey, "NOTIFY_API_KEY": testNotifyKey},
			[]string{"--dbs", "carrier-pigeon"}, []string{`--dbs must be mesh or filedrop, not "carrier-pigeon"`}},
		{"nothing to serve", nil, []string{"--main=false"}, []string{"nothing to serve"}},
		{"a Notify rate above the key's limit", map[string]string{"ICE_PSEUDONYM_KEY": goodPseudonymKey, "NOTIFY_API_KEY": testNotifyKey},
			[]string{"--dbs", "filedrop", "--notify-rate", "6000"}, []string{"--notify-rate / NOTIFY_RATE must be from 1 to 3000", "with N of them give each the limit / N"}},
		{"a Notify rate that is not a number", map[string]string{"ICE_PSEUDONYM_KEY": goodPseudonymKey, "NOTIFY_API_KEY": testNotifyKey, "NOTIFY_RATE": "half"},
			[]string{"--dbs", "filedrop"}, []string{"--notify-rate / NOTIFY_RATE must be from 1 to 3000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range []string{"ICE_PSEUDONYM_KEY", "NOTIFY_API_KEY", "MESH_URL", "MESH_MAILBOX", "MESH_DBS_MAILBOX",
				"MESH_PASSWORD", "MESH_SHARED_KEY", "MESH_CERT", "MESH_KEY", "MESH_CA",
				"TEMPORAL_TLS_CERT", "TEMPORAL_TLS_KEY", "TEMPORAL_TLS_CA", "TEMPORAL_API_KEY", "NOTIFY_RATE"} {
				t.Setenv(k, tc.env[k])
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// Nothing listens at this address: a worker that got as far as dialling
			// fails with a dial error, which names none of the settings.
			args := append([]string{"worker", "--address", "127.0.0.1:1", "--store", "file://" + dir + "/store"}, tc.args...)
			cmd := rootCmd()
			cmd.SetArgs(args)
			start := time.Now()
			err := cmd.ExecuteContext(ctx)
			if err == nil {
				t.Fatalf("ice %v started", args)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("ice %v = %v\nwant it to name %q", args, err, w)
				}
			}
			if !strings.Contains(err.Error(), "refusing to start") {
				t.Errorf("ice %v = %v, want it refused before connecting", args, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("ice %v took %s to refuse", args, d)
			}
		})
	}
}

// A worker with every setting it needs passes the check (and one serving the
// warehouse alone needs none of the main queue's).
func TestWorkerSettingsComplete(t *testing.T) {
	env := map[string]string{"ICE_PSEUDONYM_KEY": hex.EncodeToString(make([]byte, 32)), "NOTIFY_API_KEY": testNotifyKey,
		"MESH_PASSWORD": "pw", "MESH_SHARED_KEY": "sk"}
	for _, s := range []workerSettings{
		{main: true, dbs: "filedrop", dbsOutbox: "o/", dbsInbox: "i/", notifyRate: "3000"},
		{main: true, dbs: "mesh", notifyRate: "1500", meshURL: "https://m", meshMailbox: "A", meshDBSMailbox: "B", meshCert: "c", meshKey: "k",
			tlsCert: "c.pem", tlsKey: "k.pem"},
		{warehouse: true, warehousePath: "w.duckdb"},
	} {
		if err := checkWorkerSettings(s, func(k string) string { return env[k] }); err != nil {
			t.Errorf("%+v: %v", s, err)
		}
	}
	if err := checkWorkerSettings(workerSettings{warehouse: true, warehousePath: "w.duckdb"}, func(string) string { return "" }); err != nil {
		t.Errorf("a warehouse-only worker without the main queue's secrets: %v", err)
	}
}

// A worker whose store cannot be read (here an S3 endpoint nothing answers) refuses to
// start, naming the store, instead of joining the pool and failing every activity
// that lands on it.
func TestWorkerRefusesAStoreItCannotRead(t *testing.T) {
	for k, v := range map[string]string{"ICE_PSEUDONYM_KEY": hex.EncodeToString(make([]byte, 32)), "NOTIFY_API_KEY": testNotifyKey,
		"ICE_S3_ENDPOINT": "http://127.0.0.1:1", "ICE_S3_PATH_STYLE": "true", "AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s",
		"AWS_REGION": "eu-west-2", "AWS_EC2_METADATA_DISABLED": "true", "NOTIFY_RATE": ""} {
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := rootCmd()
	args := []string{"worker", "--address", "127.0.0.1:1", "--store", "s3://nobucket/ice", "--dbs", "filedrop"}
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "refusing to start: the store s3://nobucket/ice cannot be read") {
		t.Errorf("ice %v = %v, want it refused naming the store", args, err)
	}
}
