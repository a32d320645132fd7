package linkage_test

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"icesurvey/lake"
	"icesurvey/linkage"
	"icesurvey/linkage/synthlink"
	"icesurvey/schemas"
	"icesurvey/store"
)

var testKey = []byte("linkage-test-project-key-0123456789abcdef")

// testWave is a synthetic wave in a file store, with its consent derived.
type testWave struct {
	st     *store.FileStore
	wave   string
	stats  *synthlink.WaveStats
	cohort *linkage.Cohort
	defs   *linkage.Definitions
}

func newTestWave(t testing.TB, perICS, respondents int, icss ...string) *testWave {
	t.Helper()
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if len(icss) == 0 {
		icss = []string{"QMM", "QWE"}
	}
	stats, err := synthlink.WriteWave(ctx, st, synthlink.WaveConfig{WaveID: "W1", ICSs: icss, PerICS: perICS,
		Respondents: respondents, ConsentRate: 0.66, WithdrawRate: 0.05, Seed: 7, ProjectKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	events, err := linkage.DeriveConsent(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := linkage.WriteDerivedConsent(ctx, st, "W1", events); err != nil {
		t.Fatal(err)
	}
	cohort, err := linkage.LoadCohort(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	// The engine its extracts are judged in, and the directory it spills to, go with the
	// test.
	t.Cleanup(func() { cohort.Close() })
	defs, err := linkage.DefaultDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	return &testWave{st: st, wave: "W1", stats: stats, cohort: cohort, defs: defs}
}

// generate writes synthetic extracts and validates every one of them.
func (w *testWave) generate(t *testing.T, format string) (*synthlink.Stats, map[string]*linkage.ExtractResult) {
	t.Helper()
	ctx := context.Background()
	gs, err := synthlink.Generate(ctx, w.st, synthlink.Config{WaveID: w.wave, Seed: 11, Format: format, FaultRate: 0.03,
		ProjectKeyID: linkage.KeyID(testKey)})
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]*linkage.ExtractResult{}
	for id, ds := range gs.Datasets {
		d, err := w.defs.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		res, err := linkage.ValidateExtract(ctx, w.st, w.extractConfig(d), ds.Key)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		results[id] = res
	}
	return gs, results
}

func (w *testWave) extractConfig(d *linkage.Definition) linkage.ExtractConfig {
	return linkage.ExtractConfig{WaveID: w.wave, Definition: d, Cohort: w.cohort, ProjectKeyID: linkage.KeyID(testKey), ProjectKey: testKey,
		AsOf: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)}
}

func readAll[T any](t *testing.T, st store.Store, prefix string, l *schemas.Layout) []T {
	t.Helper()
	ctx := context.Background()
	infos, err := st.List(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var out []T
	for _, in := range infos {
		rows, err := lake.GetRows[T](ctx, st, in.Key, l)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
	}
	return out
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
