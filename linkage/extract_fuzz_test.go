package linkage_test

import (
	"context"
	"errors"
	"testing"

	"icesurvey/linkage"
	"icesurvey/schemas"
	"icesurvey/store"
)

// FuzzExtractCSV validates arbitrary bytes as a CSV extract of admitted patient care: the
// extract is refused whole (an *ExtractError) or every row is accounted for, read =
// accepted + rejected + excluded; never another error, never a panic.
func FuzzExtractCSV(f *testing.F) {
	ctx := context.Background()
	w := newTestWave(f, 40, 20, "QMM")
	k := w.cohort.People[0].NHSPseudonym
	f.Add([]byte("PERSON_KEY,SPELL_ID,ADMIDATE,DISDATE,ADMIMETH,PROCODE3,DIAG_4_01\n" + k + ",S1,2026-01-10,2026-01-15,21,RGT,E119\n"))
	f.Add([]byte("PERSON_KEY,SPELL_ID,ADMIDATE,DISDATE,ADMIMETH,PROCODE3,DIAG_4_01\n" + k + ",S1,2026-01-10,,21,RGT,\xff\n" + k + ",\"S2,x\n"))
	f.Add([]byte("person_key,spell_id,admidate,disdate,admimeth,procode3,diag_4_01\n \t" + k + "\x00,S1,20260110,,21,RGT,E11.9\n"))
	apc, err := w.defs.Get("apc")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := store.NewFileStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		key := schemas.LinkageLandingPrefix(w.wave, "apc") + "fuzz.csv"
		if err := store.PutBytes(ctx, st, key, data); err != nil {
			t.Fatal(err)
		}
		res, err := linkage.ValidateExtract(ctx, st, w.extractConfig(apc), key)
		var xe *linkage.ExtractError
		switch {
		case errors.As(err, &xe):
			return
		case err != nil:
			t.Fatalf("not an extract error: %v", err)
		case res.RowsRead != res.Accepted+res.Rejected+res.Excluded:
			t.Fatalf("read %d, accepted %d + rejected %d + excluded %d", res.RowsRead, res.Accepted, res.Rejected, res.Excluded)
		}
	})
}
