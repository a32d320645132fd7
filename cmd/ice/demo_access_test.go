//go:build !production

package main

import (
	"testing"
	"time"

	"icesurvey/access"
	"icesurvey/freetext"
)

// TestDemoAccessFileNamesItsCoders: the demo's access file loads, and its dashboard user
// and both stand-in coders may code and download each demo ICS's free text today (the
// workers refuse the demo's batches otherwise), and no other ICS's.
func TestDemoAccessFileNamesItsCoders(t *testing.T) {
	p, err := access.Parse("dashboard-access.yaml", []byte(demoAccessYAML([]string{"QMM", "QJK"})))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	for _, id := range append([]string{demoDashboardUser}, demoCoders[:]...) {
		u, ok := p.User(id)
		if !ok {
			t.Fatalf("%s is not in the demo's access file", id)
		}
		for _, c := range []struct {
			ics    string
			action freetext.Action
			want   bool
		}{{"QMM", freetext.ActionCode, true}, {"QJK", freetext.ActionDownload, true}, {"QJK", freetext.ActionView, true}, {"QNX", freetext.ActionCode, false}} {
			if d := access.CheckFreeText(u, freetext.Request{UserID: u.ID, ICS: c.ics, Action: c.action, At: now}); d.Allowed != c.want {
				t.Errorf("%s %s %s: %+v, want allowed %v", id, c.action, c.ics, d, c.want)
			}
		}
	}
}

// TestDemoServeListensOnAddr: ice demo --serve listens where --addr says (as ice serve
// does), so it need not clash with whatever else has 127.0.0.1:8080.
func TestDemoServeListensOnAddr(t *testing.T) {
	cmd := demoCmd()
	f := cmd.Flags().Lookup("addr")
	if f == nil || f.DefValue != "127.0.0.1:8080" {
		t.Fatalf("ice demo has no --addr flag defaulting to 127.0.0.1:8080: %+v", f)
	}
	if err := cmd.Flags().Parse([]string{"--serve", "--addr", "127.0.0.1:18123"}); err != nil {
		t.Fatal(err)
	}
	cfg := demoConfig{DataDir: "d", ServeAddr: cmd.Flags().Lookup("addr").Value.String()}
	if got := demoServeConfig(cfg, "127.0.0.1:7233"); got.Addr != "127.0.0.1:18123" || got.Data != "d" || got.CodingTemporal != "127.0.0.1:7233" {
		t.Errorf("demo --serve config: %+v", got)
	}
}
