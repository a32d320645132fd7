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
