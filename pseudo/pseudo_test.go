package pseudo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestNHSPseudonym(t *testing.T) {
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte("9434765919"))
	want := hex.EncodeToString(m.Sum(nil))
	for _, in := range []string{"9434765919", "943 476 5919", "943-476-5919"} {
		if got := NHSPseudonym(testKey, in); got != want {
			t.Errorf("NHSPseudonym(%q) = %s; want %s", in, got, want)
		}
	}
	k := New(testKey)
	if got := string(k.AppendNHSPseudonymDigits(nil, 9434765919)); got != want {
		t.Errorf("AppendNHSPseudonymDigits = %s; want %s", got, want)
	}
	if got := string(k.AppendNHSPseudonymDigits(nil, 123456789)); got != NHSPseudonym(testKey, "0123456789") {
		t.Error("digits form must keep the leading zero")
	}
	if NHSPseudonym([]byte("another key another key another k"), "9434765919") == want {
		t.Error("pseudonym must depend on the key")
	}
}

func TestSurveyRecordIDAndAccessCode(t *testing.T) {
	id := SurveyRecordID(testKey, "2026-P1", "QMM", "R000123")
	if len(id) != SurveyRecordIDLen || id[0] != 'S' {
		t.Fatalf("survey record id %q: want S + 16 chars", id)
	}
	for _, c := range id[1:] {
		if !strings.ContainsRune(AccessCodeAlphabet, c) {
			t.Fatalf("survey record id %q has %q outside the alphabet", id, c)
		}
	}
	if again := SurveyRecordID(testKey, "2026-P1", "QMM", "R000123"); again != id {
		t.Error("survey record id must be deterministic")
	}
	code := AccessCode(testKey, "2026-P1", "QMM", "R000123")
	if len(code) != AccessCodeLen+AccessCodeLen/AccessCodeGroup-1 || code[4] != '-' || code[9] != '-' {
		t.Fatalf("access code %q is not grouped XXXX-XXXX-XXXX", code)
	}
	if again := AccessCode(testKey, "2026-P1", "QMM", "R000123"); again != code {
		t.Error("access code must be deterministic")
	}
	if n, ok := NormaliseAccessCode(strings.ToLower(strings.ReplaceAll(code, "-", " "))); !ok || n != code {
		t.Errorf("NormaliseAccessCode round trip: %q %v", n, ok)
	}
	for _, bad := range []string{"", "ABCD-EFGH-JKL", "ABCD-EFGH-JKLMN", "ABCD-EFGH-JKL0", "ABCD-EFGH-JKLI"} {
		if _, ok := NormaliseAccessCode(bad); ok {
			t.Errorf("NormaliseAccessCode(%q) should fail", bad)
		}
	}
	// Every input field matters, and field boundaries cannot be shifted.
	variants := [][3]string{
		{"2026-P2", "QMM", "R000123"}, {"2026-P1", "QJK", "R000123"}, {"2026-P1", "QMM", "R000124"},
		{"2026-P1Q", "MM", "R000123"}, {"2026-P1", "QMMR", "000123"},
	}
	for _, v := range variants {
		if SurveyRecordID(testKey, v[0], v[1], v[2]) == id {
			t.Errorf("survey record id of %v equals the base one", v)
		}
		if AccessCode(testKey, v[0], v[1], v[2]) == code {
			t.Errorf("access code of %v equals the base one", v)
		}
	}
}

func TestAppendIDs(t *testing.T) {
	k := New(testKey)
	id, code := k.AppendIDs(nil, nil, "W1", "QMM", "R1")
	if string(id) != SurveyRecordID(testKey, "W1", "QMM", "R1") || string(code) != AccessCode(testKey, "W1", "QMM", "R1") {
		t.Errorf("AppendIDs = %s %s", id, code)
	}
}

func TestNoCollisionsInAWave(t *testing.T) {
	k := New(testKey)
	const n = 200000
	ids := make(map[string]bool, n)
	codes := make(map[string]bool, n)
	for i := 0; i < n; i++ {
		r := "R" + strconv.Itoa(i)
		id, code := k.SurveyRecordID("W1", "QMM", r), k.AccessCode("W1", "QMM", r)
		if ids[id] || codes[code] {
			t.Fatalf("collision at %d", i)
		}
		ids[id], codes[code] = true, true
	}
}

func TestCheckKey(t *testing.T) {
	if err := CheckKey(testKey); err != nil {
		t.Errorf("32-byte key: %v", err)
	}
	if err := CheckKey([]byte("short")); !errors.Is(err, ErrKeyTooShort) {
		t.Errorf("short key: %v", err)
	}
}

func BenchmarkKeyed(b *testing.B) {
	k := New(testKey)
	var buf []byte
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = k.AppendNHSPseudonymDigits(buf[:0], 9434765919)
		buf, _ = k.AppendIDs(buf, nil, "2026-P1", "QMM", "R000123")
	}
}

// TestPerson pins the identifiers (they are printed on letters and stored: a change of
// scheme would orphan them) and requires a Person to give exactly what the direct
// functions give.
func TestPerson(t *testing.T) {
	k := New(testKey)
	for _, g := range []struct{ id, srid, code string }{
		{"R000123", "S3WL6LQSULFTT9HR4", "5KXS-SGMT-K4ZQ"},
		{"", "SV5Z2XN7V8YNYXXXG", "AERB-EGH9-DSLQ"},
		{"R1", "S3WZ8F4KDCWRL3WBB", "UVHE-XH4Z-5F52"},
	} {
		if got := SurveyRecordID(testKey, "2026-P1", "QMM", g.id); got != g.srid {
			t.Errorf("SurveyRecordID(%q) = %s; want %s", g.id, got, g.srid)
		}
		if got := AccessCode(testKey, "2026-P1", "QMM", g.id); got != g.code {
			t.Errorf("AccessCode(%q) = %s; want %s", g.id, got, g.code)
		}
		p := k.Person("2026-P1", "QMM", g.id)
		if got := string(p.AppendSurveyRecordID(nil)); got != g.srid {
			t.Errorf("Person(%q).AppendSurveyRecordID = %s; want %s", g.id, got, g.srid)
		}
		if got := string(p.AppendAccessCode(nil)); got != g.code {
			t.Errorf("Person(%q).AppendAccessCode = %s; want %s", g.id, got, g.code)
		}
	}
	for i := 0; i < 2000; i++ {
		r := "R" + strconv.Itoa(i*7919)
		p := k.Person("W1", "QMM", r)
		id, code := k.AppendIDs([]byte("x"), []byte("y"), "W1", "QMM", r)
		if got := string(p.AppendSurveyRecordID([]byte("x"))); got != string(id) {
			t.Fatalf("%s: survey record id %s, want %s", r, got, id)
		}
		if got := string(p.AppendAccessCode([]byte("y"))); got != string(code) {
			t.Fatalf("%s: access code %s, want %s", r, got, code)
		}
	}
}

// TestAppendBase32 checks the eight-at-a-time encoding against the bit-by-bit one.
func TestAppendBase32(t *testing.T) {
	sum := make([]byte, 32)
	for round := 0; round < 500; round++ {
		for i := range sum {
			sum[i] = byte(round*131 + i*29 + round*i)
		}
		for n := 0; n <= 51; n++ {
			got := appendBase32([]byte("p"), sum, n)
			want := appendBase32Bits([]byte("p"), sum, n)
			if string(got) != string(want) {
				t.Fatalf("round %d, n %d: %s, want %s", round, n, got, want)
			}
		}
	}
}
