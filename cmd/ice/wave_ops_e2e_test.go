//go:build !production

package main

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"icesurvey/audit"
	"icesurvey/schemas"
	"icesurvey/workflows"
)

// TestOneICSPausedAndCancelledWhileTheOtherGoesOn steers one ICS of a two-ICS wave
// through the CLI, as a data engineer does when one ICS's sample turns out wrong or
// the ICS withdraws: --ics pauses and resumes it alone, then cancels it alone. The
// cancelled ICS starts its retention and the wave says it ended early; the other ICS
// is untouched and the wave runs on.
func TestOneICSPausedAndCancelledWhileTheOtherGoesOn(t *testing.T) {
	ctx, st, wc := startE2E(t)
	const wave = "e2e-one-ics"
	spec, _ := e2eWave(t, ctx, st, wave, 100, 300*time.Millisecond, "QNX", "QJK")
	if _, err := wc.StartWave(ctx, spec); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, wc, wave, time.Minute, "awaiting declaration", allAt(workflows.StageDeclaration))
	ice := iceOnServer(t, ctx, st)
	paused := func() map[string]bool {
		t.Helper()
		s, err := wc.Status(ctx, wave)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, i := range s.ICS {
			out[i.ICS] = i.Paused
		}
		return out
	}
	waitPaused := func(want map[string]bool) {
		t.Helper()
		var got map[string]bool
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = paused(); got["QNX"] == want["QNX"] && got["QJK"] == want["QJK"] {
				return
			}
		}
		t.Fatalf("paused %v, want %v", got, want)
	}

	if out, err := ice("wave", "pause", wave, "--ics", "QJK"); err != nil || !strings.Contains(out, "wave "+wave+" ICS QJK: pause sent") {
		t.Fatalf("ice wave pause --ics QJK: %v\n%s", err, out)
	}
	waitPaused(map[string]bool{"QJK": true})
	if out, err := ice("wave", "status", wave); err != nil || strings.Count(out, "(this ICS is PAUSED)") != 1 {
		t.Errorf("ice wave status with QJK paused: %v\n%s", err, out)
	}
	if _, err := ice("wave", "resume", wave, "--ics", "QJK"); err != nil {
		t.Fatal(err)
	}
	waitPaused(map[string]bool{})
	if _, err := ice("wave", "pause", wave, "--ics", "QXX"); err == nil || !strings.Contains(err.Error(), "has no ICS QXX (its ICSs: QNX, QJK)") {
		t.Errorf("a pause of an ICS the wave does not have: %v", err)
	}

	if _, err := ice("wave", "cancel", wave, "--ics", "QNX"); err != nil {
		t.Fatal(err)
	}
	waitRetentionOfCancelled(t, ctx, wc, wave, "QNX")
	recordHistories(t, ctx, wc, map[string]string{"ics-cancelled.json": workflows.ICSWorkflowID(wave, "QNX")})
	if left, err := st.Store.List(ctx, schemas.RestrictedLandingPrefix(wave, "QNX")); err != nil || len(left) != 0 {
		t.Errorf("QNX's landed files after its retention: %d (%v)", len(left), err)
	}
	if left, err := st.Store.List(ctx, schemas.RestrictedLandingPrefix(wave, "QJK")); err != nil || len(left) == 0 {
		t.Errorf("QJK's landed files, which the cancellation of QNX must not touch: %d (%v)", len(left), err)
	}
	s, err := wc.Status(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	if s.Wave.Stage != workflows.WaveFieldwork || len(s.Wave.ICS) != 2 || !s.Wave.ICS[0].Done || s.Wave.ICS[1].Done {
		t.Errorf("the wave after QNX was cancelled: %+v; want it running, QNX done and QJK not", s.Wave)
	}
	if s.ICS[1].Stage != workflows.StageDeclaration {
		t.Errorf("QJK at %s after QNX was cancelled, want still awaiting its declaration", s.ICS[1].Stage)
	}
	out, err := ice("wave", "status", wave)
	if err != nil || !strings.Contains(out, "ENDED EARLY") || !strings.Contains(out, "cancelled (in workflow ICSWorkflow)") ||
		strings.Count(out, "ENDED EARLY") != 1 || strings.Count(out, "identifiable data deleted at ") != 1 {
		t.Errorf("ice wave status after QNX was cancelled: %v\n%s", err, out)
	}
	// The warehouse (and so the dashboard) learns that QNX's fieldwork ended early.
	var details string
	for deadline := time.Now().Add(30 * time.Second); details == "" && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		_ = st.Warehouse.Read(ctx, func(db *sql.DB) error {
			return db.QueryRowContext(ctx, `SELECT details FROM audit_log WHERE wave_id = ? AND ics = 'QNX' AND kind = ?`,
				wave, audit.KindFieldworkEndedEarly).Scan(&details)
		})
	}
	if !strings.Contains(details, `"cancelled":true`) {
		t.Errorf("QNX's ended-early event in audit_log: %q", details)
	}
	if err := wc.Cancel(ctx, wave); err != nil {
		t.Fatal(err)
	}
}
