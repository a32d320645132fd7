package linkage

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
)

// TestRecordKeyFuncIsTheEngineSHA256: the engine's ice_record_key (recordKeyFunc, used
// for every accepted row's record_key) gives exactly left(sha256(secret || id), 32), the
// record key a lake written before it holds, for ids short and long (more than one
// SHA-256 block), with any characters, the secret a constant or per row, on every row
// of a chunk of several vectors; and NULL for a NULL.
func TestRecordKeyFuncIsTheEngineSHA256(t *testing.T) {
	c := &Cohort{WaveID: "W", People: []Person{{NHSPseudonym: strings.Repeat("ab", 32), Consented: true}},
		byKey: map[[32]byte]int32{{0xab}: 0}}
	db, err := c.engine()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	secret := recordKeySecret([]byte("test-key"), "apc")
	for _, tc := range []struct{ name, ids string }{
		{"short", "SELECT 'R' || i AS id FROM range(5000) t(i)"},
		{"long", "SELECT repeat('x', i % 200) || i AS id FROM range(5000) t(i)"},
		{"unicode", "SELECT 'é€😀 ' || i || chr(0) AS id FROM range(3000) t(i)"},
		{"empty", "SELECT '' AS id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n, bad int
			err := db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (ice_record_key(?, id) IS DISTINCT FROM left(sha256(? || id), 32)
				OR ice_record_key(s, id) IS DISTINCT FROM left(sha256(s || id), 32))
				FROM (SELECT id, ? || (length(id) % 3) AS s FROM (`+tc.ids+`))`, secret, secret, secret).Scan(&n, &bad)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 || bad != 0 {
				t.Fatalf("%d of %d ids keyed otherwise than by the engine's sha256", bad, n)
			}
		})
	}
	var null *string
	if err := db.QueryRowContext(ctx, "SELECT ice_record_key(NULL, 'a')").Scan(&null); err != nil || null != nil {
		t.Fatalf("ice_record_key(NULL, 'a') = %v, %v; want NULL", null, err)
	}
}

// TestPseudonymFuncIsTheCohortTable: the engine's ice_pseudonym(p) (pseudonymFunc, the
// pseudonym of every accepted row, found after the sort) is the cohort table's
// pseudonym of p, for every person; NULL for NULL; and an error, not a wrong person,
// for an index the cohort does not have.
func TestPseudonymFuncIsTheCohortTable(t *testing.T) {
	c := &Cohort{WaveID: "W", byKey: map[[32]byte]int32{}}
	for i := range 5000 {
		var k [32]byte
		k[0], k[1] = byte(i), byte(i>>8)
		c.byKey[k] = int32(len(c.People))
		c.People = append(c.People, Person{NHSPseudonym: hex.EncodeToString(k[:]) + "-" + strconv.Itoa(i), Consented: i%3 > 0})
	}
	db, err := c.engine()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var n, bad int
	if err := db.QueryRowContext(ctx, "SELECT count(*), count(*) FILTER (ice_pseudonym(p) IS DISTINCT FROM pseudonym) FROM cohort").Scan(&n, &bad); err != nil {
		t.Fatal(err)
	}
	if n != len(c.People) || bad != 0 {
		t.Fatalf("%d of %d people's pseudonyms otherwise than the cohort table's", bad, n)
	}
	var null *string
	if err := db.QueryRowContext(ctx, "SELECT ice_pseudonym(NULL::INTEGER)").Scan(&null); err != nil || null != nil {
		t.Fatalf("ice_pseudonym(NULL) = %v, %v; want NULL", null, err)
	}
	for _, p := range []int{-1, len(c.People)} {
		var s string
		if err := db.QueryRowContext(ctx, "SELECT ice_pseudonym(?::INTEGER)", p).Scan(&s); err == nil {
			t.Errorf("ice_pseudonym(%d) = %q; want an error", p, s)
		}
	}
}
