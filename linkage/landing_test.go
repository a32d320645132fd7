package linkage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

// TestLandedExtractsAreDeletedAfterTheirLineage: a run's extracts are deleted with their
// manifests once their lineage (checksum, size, counts or refusal) is recorded; one
// replaced since the run validated it is neither recorded nor deleted; a repeat deletes
// nothing more; a key with no lineage, or outside the wave's landing area, is refused.
func TestLandedExtractsAreDeletedAfterTheirLineage(t *testing.T) {
	ctx := context.Background()
	st, err := store.NewFileStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	put := func(key, body string) string {
		if err := store.PutBytes(ctx, st, key, []byte(body)); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(body))
		return hex.EncodeToString(h[:])
	}
	apc := schemas.LinkageLandingPrefix("W1", "apc") + "apc_20270101.csv"
	gpad := schemas.LinkageLandingPrefix("W1", "gpad") + "gpad_20270101.parquet"
	refused := schemas.LinkageLandingPrefix("W1", "op") + "op_nhs_numbers.csv"
	replaced := schemas.LinkageLandingPrefix("W1", "ecds") + "ecds_20270101.csv"
	apcSum := put(apc, "PERSON_KEY,ADMISSION_DATE\nab,2026-01-01\n")
	put(ManifestKey(apc), `{"dataset":"apc"}`)
	gpadSum := put(gpad, "PAR1 not really")
	put(refused, "NHS_NUMBER\n9434765919\n")
	validated := put(replaced, "PERSON_KEY\nold\n")
	put(replaced, "PERSON_KEY\nnew, landed after the run read the old one\n")
	other := put(schemas.LinkageLandingPrefix("W2", "apc")+"apc.csv", "another wave's")

	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	recorded, err := RecordExtractLineage(ctx, st, "W1", []ExtractLineage{
		{Key: apc, Dataset: "apc", SHA256: apcSum, RowsRead: 1, Accepted: 1, Release: "R1"},
		{Key: gpad, Dataset: "gpad", SHA256: gpadSum, RowsRead: 5, Accepted: 2, Rejected: 1, Excluded: 2, Release: "R1"},
		{Key: refused, Dataset: "op", Refused: "op_nhs_numbers.csv: PERSON_KEY: EXTRACT_FOREIGN_KEYS", Release: "R1"},
		{Key: replaced, Dataset: "ecds", SHA256: validated, RowsRead: 1, Release: "R1"},
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(recorded) != 3 {
		t.Fatalf("recorded %d extracts, want 3 (not the replaced one): %+v", len(recorded), recorded)
	}
	l, err := ReadExtractLineage(ctx, st, "W1")
	if err != nil {
		t.Fatal(err)
	}
	byKey := map[string]ExtractLineage{}
	for _, f := range l.Files {
		byKey[f.Key] = f
	}
	if f := byKey[gpad]; f.SHA256 != gpadSum || f.Bytes != int64(len("PAR1 not really")) || f.Excluded != 2 || !f.RecordedAt.Equal(now) {
		t.Errorf("gpad lineage = %+v", f)
	}
	if f := byKey[refused]; f.SHA256 == "" || !strings.Contains(f.Refused, "EXTRACT_FOREIGN_KEYS") {
		t.Errorf("refused extract's lineage = %+v: want its checksum measured and its refusal", f)
	}
	if _, ok := byKey[replaced]; ok {
		t.Errorf("the replaced extract's lineage was recorded")
	}

	run := []ExtractLineage{{Key: apc, SHA256: apcSum}, {Key: gpad, SHA256: gpadSum}, {Key: refused}, {Key: replaced, SHA256: validated}}
	res, err := DeleteLandedExtracts(ctx, st, "W1", run)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(res.Deleted, " ") != strings.Join([]string{apc, gpad, refused}, " ") || len(res.Kept) != 1 || res.Kept[0] != replaced {
		t.Fatalf("deleted %v, kept %v", res.Deleted, res.Kept)
	}
	for _, k := range []string{apc, ManifestKey(apc), gpad, refused} {
		if _, err := st.Stat(ctx, k); !errors.Is(err, store.ErrNotExist) {
			t.Errorf("%s is still there (%v)", k, err)
		}
	}
	for _, k := range []string{replaced, schemas.LinkageLandingPrefix("W2", "apc") + "apc.csv"} {
		if _, err := st.Stat(ctx, k); err != nil {
			t.Errorf("%s was deleted: %v", k, err)
		}
	}

	// A repeat (a retry of the activity) deletes nothing more.
	again, err := DeleteLandedExtracts(ctx, st, "W1", run)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Deleted) != 0 || len(again.Gone) != 3 || len(again.Kept) != 1 {
		t.Fatalf("repeat: deleted %v, gone %v, kept %v", again.Deleted, again.Gone, again.Kept)
	}
	// Recording again adds nothing for the deleted files, and keeps their entries.
	if rec, err := RecordExtractLineage(ctx, st, "W1", []ExtractLineage{{Key: apc, SHA256: apcSum}}, now.Add(time.Hour)); err != nil || len(rec) != 0 {
		t.Fatalf("recording a deleted extract again: %v, %v", rec, err)
	}
	if l, _ := ReadExtractLineage(ctx, st, "W1"); len(l.Files) != 3 {
		t.Fatalf("lineage has %d files after the repeat, want 3", len(l.Files))
	}

	// No lineage, no deletion: a file never recorded is refused, validated or not.
	never := schemas.LinkageLandingPrefix("W1", "csds") + "csds.csv"
	neverSum := put(never, "PERSON_KEY\nx\n")
	if _, err := DeleteLandedExtracts(ctx, st, "W1", []ExtractLineage{{Key: never, SHA256: neverSum}}); !errors.Is(err, ErrNoExtractLineage) {
		t.Fatalf("deleting an extract with no lineage: err = %v, want ErrNoExtractLineage", err)
	}
	if _, err := DeleteLandedExtracts(ctx, st, "W1", []ExtractLineage{{Key: never}}); !errors.Is(err, ErrNoExtractLineage) {
		t.Fatalf("deleting an extract with no lineage: err = %v, want ErrNoExtractLineage", err)
	}
	if _, err := st.Stat(ctx, never); err != nil {
		t.Fatalf("the extract with no lineage was deleted: %v", err)
	}
	// Only the wave's linkage landing area.
	if _, err := DeleteLandedExtracts(ctx, st, "W1", []ExtractLineage{{Key: schemas.LinkageLandingPrefix("W2", "apc") + "apc.csv", SHA256: other}}); err == nil {
		t.Fatal("deleted another wave's extract")
	}
	if _, err := RecordExtractLineage(ctx, st, "W1", []ExtractLineage{{Key: "lake/linkage_apc/wave=W1/part-0.parquet"}}, now); err == nil {
		t.Fatal("recorded the lineage of a lake object as a landed extract")
	}
}
