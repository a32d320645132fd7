//go:build !production

package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/waveclient"
)

// ice warehouse snapshot takes --data and --warehouse as ice serve does (--path still
// works), and says which file it reads. It took --path only, so `--data .ice/demo`
// after ice demo was an unknown flag.
func TestWarehouseSnapshotSource(t *testing.T) {
	for _, tc := range []struct {
		data, warehouse, path string
		want, wantErr         string
	}{
		{want: filepath.Join(".ice", "warehouse.duckdb")},
		{data: ".ice/demo", want: filepath.Join(".ice", "demo", "warehouse.duckdb")},
		{warehouse: "w.duckdb", want: "w.duckdb"},
		{path: "p.duckdb", want: "p.duckdb"},
		{warehouse: "w.duckdb", path: "w.duckdb", want: "w.duckdb"},
		{warehouse: "w.duckdb", path: "p.duckdb", wantErr: "--warehouse w.duckdb and --path p.duckdb name two files"},
		{data: "d", path: "p.duckdb", wantErr: "--data d and --warehouse p.duckdb: give one (--data reads " + filepath.Join("d", "warehouse.duckdb")},
	} {
		got, err := snapshotSource(tc.data, tc.warehouse, tc.path)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%+v: %q, %v; want an error saying %q", tc, got, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%+v: %q, %v; want %q", tc, got, err, tc.want)
		}
	}
	// The command reads DATA/warehouse.duckdb, and names it when it is not there.
	dir := t.TempDir()
	cmd := rootCmd()
	cmd.SetArgs([]string{"warehouse", "snapshot", "--data", dir, "--out", filepath.Join(dir, "mine.duckdb")})
	if _, err := captureStdout(t, func() error { return cmd.ExecuteContext(context.Background()) }); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(dir, "warehouse.duckdb")) {
		t.Errorf("ice warehouse snapshot --data %s: %v, want it to name %s", dir, err, filepath.Join(dir, "warehouse.duckdb"))
	}
}

// The reload report names the warehouse file written; two files (two warehouse
// workers served the reload) are called out, each line saying which it went to.
func TestWarehouseReloadNamesTheFile(t *testing.T) {
	one := waveclient.WarehouseReloadResult{WaveID: "W1", Partitions: map[string]waveclient.WarehouseReloadOutput{
		"QMM": {Objects: 3, Loaded: 3, Warehouses: []string{"h1:/w/a.duckdb"}},
		"QJK": {Objects: 2, Loaded: 2, Warehouses: []string{"h1:/w/a.duckdb"}},
	}}
	var b strings.Builder
	printWarehouseReload(&b, one, time.Second)
	if !strings.Contains(b.String(), "written to the warehouse h1:/w/a.duckdb\n") || strings.Contains(b.String(), "WARNING") {
		t.Errorf("one warehouse: printed\n%s\nwant it to name h1:/w/a.duckdb", b.String())
	}
	split := one
	split.Partitions = map[string]waveclient.WarehouseReloadOutput{
		"QMM": {Objects: 3, Loaded: 3, Warehouses: []string{"h1:/w/a.duckdb"}},
		"QJK": {Objects: 2, Loaded: 2, Warehouses: []string{"h2:/w/b.duckdb"}},
	}
	b.Reset()
	printWarehouseReload(&b, split, time.Second)
	for _, want := range []string{"WARNING: written to 2 warehouses", "h1:/w/a.duckdb, h2:/w/b.duckdb", "(in h2:/w/b.duckdb)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("split: printed\n%s\nwant %q", b.String(), want)
		}
	}
}

// Objects the lake has lost are named once each, however many partitions found them,
// with what to do.
func TestWarehouseReloadWarnsOfObjectsGoneFromTheLake(t *testing.T) {
	res := waveclient.WarehouseReloadResult{WaveID: "W1", Partitions: map[string]waveclient.WarehouseReloadOutput{
		"":    {Objects: 1, Skipped: 1, Gone: []string{"lake/mailing_history/wave=W1/ics=QMM/step1.parquet"}},
		"QMM": {Objects: 3, Skipped: 3, Gone: []string{"lake/mailing_history/wave=W1/ics=QMM/step1.parquet"}},
		"QJK": {Objects: 2, Skipped: 2},
	}}
	var b strings.Builder
	printWarehouseReload(&b, res, time.Second)
	out := b.String()
	for _, want := range []string{"WARNING: 1 object(s) the warehouse loaded are gone from the lake", "restore them", "\n  lake/mailing_history/wave=W1/ics=QMM/step1.parquet\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("printed\n%s\nwant %q", out, want)
		}
	}
	if n := strings.Count(out, "step1.parquet"); n != 1 {
		t.Errorf("the lost object is named %d times, want once:\n%s", n, out)
	}
	delete(res.Partitions, "")
	res.Partitions["QMM"] = waveclient.WarehouseReloadOutput{Objects: 3, Skipped: 3}
	b.Reset()
	printWarehouseReload(&b, res, time.Second)
	if strings.Contains(b.String(), "gone from the lake") {
		t.Errorf("a whole lake: printed\n%s", b.String())
	}
}
