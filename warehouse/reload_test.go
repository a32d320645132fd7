package warehouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"icesurvey/fault"
	"icesurvey/schemas"
	"icesurvey/store"
)

// The reload finds a wave's lake objects by partition: each ICS's, and the wave's own
// (audit batches); objects of other waves, of lake-only tables and files that are not
// Parquet are left out.
func TestLakePartitionsAndTheirObjects(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{
		schemas.SampleKey("W1", "QMM"),
		schemas.SampleKey("W1", "QJK"),
		schemas.LakePartition(schemas.LakeResponses, "W1", "QMM") + "date=2026-12-01/part-a.parquet",
		schemas.LakeWavePrefix(schemas.LakeAudit, "W1") + "batch-1.parquet",
		schemas.LakePartition(schemas.LakeMailingSelection, "W1", "QXX") + "sel.parquet", // lake only
		schemas.LakePartition(schemas.LakeResponses, "W1", "QMM") + "notes.txt",          // not Parquet
		schemas.SampleKey("W2", "QMM"),                                                   // another wave
		schemas.LakeWavePrefix(schemas.LakeAudit, "W3") + "batch-1.parquet",              // a wave with audit batches alone
		schemas.LakePartition(schemas.LakeMailingSelection, "W4", "QMM") + "sel.parquet", // nothing the warehouse holds
	}
	for _, k := range keys {
		if err := store.PutBytes(ctx, st, k, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := LakePartitions(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{WavePartition, "QJK", "QMM"}; !slices.Equal(parts, want) {
		t.Errorf("partitions %q, want %q", parts, want)
	}
	for _, tc := range []struct {
		partition string
		want      []schemas.LakeObject
	}{
		{"QMM", []schemas.LakeObject{
			schemas.LakeResponses.Object(keys[2]),
			schemas.LakeSample.Object(keys[0]),
		}},
		{"QJK", []schemas.LakeObject{schemas.LakeSample.Object(keys[1])}},
		{WavePartition, []schemas.LakeObject{schemas.LakeAudit.Object(keys[3])}},
		{"QXX", nil},
	} {
		got, err := LakePartitionObjects(ctx, st, "W1", tc.partition, "")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("partition %q: %v, want %v", tc.partition, got, tc.want)
		}
	}
	// The reload goes through a partition in chunks, each after the last key of the one
	// before.
	if got, err := LakePartitionObjects(ctx, st, "W1", "QMM", keys[2]); err != nil || !slices.Equal(got, []schemas.LakeObject{schemas.LakeSample.Object(keys[0])}) {
		t.Errorf("QMM after %s: %v (%v), want its sample only", keys[2], got, err)
	}
	waves, err := LakeWaves(ctx, st)
	if err != nil || !slices.Equal(waves, []string{"W1", "W2", "W3"}) {
		t.Errorf("waves %q (%v), want W1, W2 and W3 (its audit batches alone)", waves, err)
	}
	// A wave id that cannot be one is the operator's bad input: refused for good (the
	// reload's activities would retry anything else for ever), naming the id.
	for _, bad := range []string{"", " ", "W1/ics=QMM"} {
		_, err := LakePartitions(ctx, st, bad)
		if k := fault.KindOf(err); k != fault.BadInput || !fault.IsPermanent(err) {
			t.Errorf("wave %q: %v (kind %q), want BadInput", bad, err, k)
		}
		if want := fmt.Sprintf("wave %q is not a wave id", bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("wave %q: %v, want it to say %s", bad, err, want)
		}
		if _, err := LakePartitionObjects(ctx, st, bad, "QMM", ""); fault.KindOf(err) != fault.BadInput {
			t.Errorf("wave %q: objects: %v, want BadInput", bad, err)
		}
	}
}
