package pseudo

import "testing"

// A superseded NHS number must re-key a record, once: the same numbers applied again
// change nothing, and a record whose number did not change keeps its pseudonym.
func TestRepseudonymiseRecords(t *testing.T) {
	type rec struct{ id, pseudonym string }
	k := New(testKey)
	records := []rec{
		{"S1", NHSPseudonym(testKey, "9434765919")},
		{"S2", NHSPseudonym(testKey, "9434765870")},
	}
	newNumbers := map[string]string{"S1": "9434765927", "S9": "9434765919"}
	id := func(r *rec) string { return r.id }
	field := func(r *rec) *string { return &r.pseudonym }
	if n := RepseudonymiseRecords(k, records, newNumbers, id, field); n != 1 {
		t.Fatalf("changed %d records, want 1", n)
	}
	if records[0].pseudonym != NHSPseudonym(testKey, "9434765927") {
		t.Error("S1 still has the old number's pseudonym")
	}
	if records[1].pseudonym != NHSPseudonym(testKey, "9434765870") {
		t.Error("S2 changed although its number did not")
	}
	if n := RepseudonymiseRecords(k, records, newNumbers, id, field); n != 0 {
		t.Errorf("applying the same numbers again changed %d records", n)
	}
	if p, differs := k.Repseudonymise(records[0].pseudonym, "9434765927"); differs || p != records[0].pseudonym {
		t.Errorf("Repseudonymise of an applied number: %s %v", p, differs)
	}
}
