package web

import (
	"context"
	"strings"
	"testing"
)

// stagedFieldwork is memData's fieldwork with each ICS at the given stage.
type stagedFieldwork struct {
	memData
	stages []string
}

func (f stagedFieldwork) Progress(ctx context.Context, wave string) ([]ICSProgress, error) {
	ps, err := f.memData.Progress(ctx, wave)
	for i := range ps {
		ps[i].Stage = f.stages[i]
	}
	return ps, err
}

// The overview's heading is the wave's real stage, and once no ICS's fieldwork is
// open its outcomes say "Not responded", not "Not responded yet"; the practices of a
// closed ICS say "Not completed".
func TestOverviewSaysTheWavesStage(t *testing.T) {
	for _, tc := range []struct {
		stages             []string
		heading, outcome   string
		practice, notShown string
	}{
		{[]string{StageFieldwork, StageFieldwork}, "Phase 1, spring 2027: fieldwork</h1>", "Not responded yet, opted out", "Not yet completed", "Not responded, opted"},
		{[]string{StageClosed, StageFieldwork}, "Phase 1, spring 2027: fieldwork</h1>", "Not responded yet, opted out", "Not completed", "Not responded, opted"},
		{[]string{StageClosed, StageClosed}, "Phase 1, spring 2027: closed</h1>", "Not responded, opted out", "Not completed", "yet"},
		{[]string{StageClosed, StageEndedEarly}, "Phase 1, spring 2027: closed</h1>", "Not responded, opted out", "Not completed", "yet"},
		{[]string{StageEndedEarly, StageEndedEarly}, "Phase 1, spring 2027: fieldwork ended early</h1>", "Not responded, opted out", "Not completed", "yet"},
	} {
		h := newHarness(t, false, func(_ *Config, d *Deps) { d.Fieldwork = stagedFieldwork{memData{}, tc.stages} })
		h.signIn(t, h.client, "ann.analyst@example.nhs.uk")
		_, body := h.get(t, h.client, "/waves/W1")
		if !strings.Contains(body, tc.heading) || !strings.Contains(body, tc.outcome) || strings.Contains(body, tc.notShown) {
			t.Errorf("%v: the overview lacks %q or %q, or has %q", tc.stages, tc.heading, tc.outcome, tc.notShown)
		}
		_, csv := h.get(t, h.client, "/waves/W1/download/outcomes.csv")
		if !strings.Contains(csv, tc.outcome) {
			t.Errorf("%v: outcomes.csv lacks %q:\n%.300s", tc.stages, tc.outcome, csv)
		}
		_, page := h.get(t, h.client, "/waves/W1/practices?ics=QMM")
		if !strings.Contains(page, tc.practice) {
			t.Errorf("%v: QMM's practices lack %q", tc.stages, tc.practice)
		}
	}
	if WaveStage(nil) != StageFieldwork {
		t.Error("a wave with no ICS known is not in fieldwork")
	}
}
