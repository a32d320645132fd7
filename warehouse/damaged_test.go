package warehouse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"icesurvey/schemas"
	"icesurvey/store"
)

// A damaged warehouse file (cut short by a full disk, overwritten, a bad block) is
// refused by DuckDB with an IO error that names the file but not what to do: the
// on-call engineer is told that the warehouse is derived from the lake and how to
// rebuild it, wherever the file is opened (the worker's start, a load, a snapshot).
func TestDamagedWarehouseSaysHowToRebuild(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated", func(t *testing.T, path string) {
			if err := os.Truncate(path, 10000); err != nil {
				t.Fatal(err)
			}
		}},
		{"garbage", func(t *testing.T, path string) {
			b := make([]byte, 300000)
			for i := range b {
				b[i] = byte(i*7919 + i/13)
			}
			if err := os.WriteFile(path, b, 0o640); err != nil {
				t.Fatal(err)
			}
		}},
		{"bad block", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			fi, _ := f.Stat()
			// Every block after the headers, so whichever the open reads first is bad.
			junk := make([]byte, fi.Size()-3*4096)
			for i := range junk {
				junk[i] = byte(i * 31)
			}
			if _, err := f.WriteAt(junk, 3*4096); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "warehouse.duckdb")
			w, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			execAll(t, w, `INSERT INTO loaded_files VALUES ('lake/x.parquet', 'responses', 'abc', 3, now())`)
			c.damage(t, path)
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s of a damaged warehouse: no error", what)
				}
				msg := err.Error()
				for _, want := range []string{path, "damaged", "move it aside", "ice warehouse reload --all"} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: the error does not say %q: %s", what, want, msg)
					}
				}
				if strings.Count(msg, "ice warehouse reload --all") > 1 {
					t.Errorf("%s: the advice is given more than once: %s", what, msg)
				}
			}
			_, err = Open(ctx, path)
			check("Open", err)
			check("Snapshot", Snapshot(ctx, path, filepath.Join(t.TempDir(), "snap.duckdb"), time.Second))
			db, err := OpenReadOnly(path)
			if err == nil {
				db.Close()
			}
			check("OpenReadOnly", err)
		})
	}
}

// A damaged lake object (cut short, overwritten) met by a load is named with what to do:
// the lake is the truth, so it is restored, not derived again; DuckDB's error said only
// "No magic bytes found at end of file".
func TestDamagedLakeObjectSaysRestoreIt(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	w, err := Open(ctx, filepath.Join(dir, "warehouse.duckdb"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.NewFileStore(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	key := schemas.LakePartition(schemas.LakeResponses, "W1", "QMM") + "part-cut.parquet"
	if err := st.Put(ctx, key, strings.NewReader("PAR1 and then nothing more")); err != nil {
		t.Fatal(err)
	}
	_, err = w.LoadLakeObjects(ctx, st, "W1", "QMM", []schemas.LakeObject{{Table: schemas.TableResponses, Key: key}})
	if err == nil {
		t.Fatal("a damaged lake object was loaded")
	}
	for _, want := range []string{key, "a lake object is damaged", "restore the object"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the load's error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "ice warehouse reload --all") {
		t.Errorf("the load's error says to rebuild the warehouse, which is not damaged: %v", err)
	}
}
