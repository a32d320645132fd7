package mailing_test

import (
	"strings"
	"testing"

	"icesurvey/mailing"
	"icesurvey/schemas"
	"icesurvey/store"
)

func TestReference(t *testing.T) {
	tests := []struct {
		wave, ics, id, step string
		want                string
	}{
		{"2026-02", "QMM", "S000123", "sms1", "ice.2026-02.QMM.S000123.sms1"},
		{"w.1", "QJ2", "a/b", "inv", "ice.w%2E1.QJ2.a%2Fb.inv"},
		{"", "QMM", "x y", "inv", "ice.~.QMM.x%20y.inv"},
		{"w", "Q", "..", "s", "ice.w.Q.%2E%2E.s"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		got := mailing.Reference(tt.wave, tt.ics, tt.id, tt.step)
		if got != tt.want {
			t.Errorf("Reference(%q,%q,%q,%q) = %q, want %q", tt.wave, tt.ics, tt.id, tt.step, got, tt.want)
		}
		if got != mailing.Reference(tt.wave, tt.ics, tt.id, tt.step) {
			t.Errorf("not deterministic")
		}
		w, i, id, s, err := mailing.ParseReference(got)
		if err != nil || w != tt.wave || i != tt.ics || id != tt.id || s != tt.step {
			t.Errorf("ParseReference(%q) = %q %q %q %q %v", got, w, i, id, s, err)
		}
		if err := store.ValidateKey(schemas.LedgerEntryKey("restricted/w/QMM/ledger/sms1", got)); err != nil {
			t.Errorf("ledger key for %q invalid: %v", got, err)
		}
		seen[got] = true
	}
	// Parts containing the separator cannot make two inputs collide.
	a := mailing.Reference("a.b", "c", "d", "e")
	b := mailing.Reference("a", "b.c", "d", "e")
	if a == b {
		t.Errorf("collision: %s", a)
	}
	if _, _, _, _, err := mailing.ParseReference("nope"); err == nil {
		t.Error("ParseReference accepted junk")
	}
	// Foreign references are hashed into a safe key.
	k := schemas.LedgerEntryKey("p/", "../../etc/passwd")
	if err := store.ValidateKey(k); err != nil || !strings.HasPrefix(k, "p/sha256-") {
		t.Errorf("LedgerKey(foreign) = %q, %v", k, err)
	}
}
