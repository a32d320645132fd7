package freetext

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Each case lists the pieces that must be redacted (with their kind) and words
// that must stay.
func TestRedactCases(t *testing.T) {
	cases := []struct {
		name string
		text string
		want map[string]Kind // original text of a span → kind
		keep []string
	}{
		{"title keeps the title", "Dr Patel and Mrs J. Hughes were kind.",
			map[string]Kind{"Patel": KindName, "J. Hughes": KindName}, []string{"Dr", "Mrs"}},
		{"kinship and possessive", "My daughter Sarah's husband drove me.",
			map[string]Kind{"Sarah": KindName}, []string{"'s husband"}},
		{"lower-case name after kinship", "my son john took me", map[string]Kind{"john": KindName}, nil},
		{"month names stay, month as name with a cue", "In June my wife June saw the nurse in May.",
			map[string]Kind{"June": KindName}, []string{"In June", "in May"}},
		{"modal will stays", "Will the nurse come on Monday? Will was great.",
			map[string]Kind{"Will": KindName}, []string{"Will the nurse", "Monday"}},
		{"services and charities stay", "The Marie Curie nurses, Sue Ryder hospice, Royal Devon hospital and Bluebell ward were good.",
			nil, []string{"Marie Curie", "Sue Ryder", "Royal Devon", "Bluebell"}},
		{"eponymous conditions stay", "Mum has Parkinson's, Crohn's and Bell's palsy.", nil, []string{"Parkinson's", "Crohn's", "Bell's"}},
		{"road and vitamin are not postcodes", "I had vitamin B12 then drove up the M5.", nil, []string{"B12", "M5"}},
		{"emergency numbers stay", "I rang 111 and then 999.", nil, []string{"111", "999"}},
		{"NHS number checked", "NHS number 943 476 5919.", map[string]Kind{"943 476 5919": KindNHSNumber}, nil},
		{"NHS number unchecked 3-3-4", "my number is 123 456 7890", map[string]Kind{"123 456 7890": KindNHSNumber}, nil},
		{"NHS number with dashes", "It is 943-476-5919.", map[string]Kind{"943-476-5919": KindNHSNumber}, nil},
		{"mobile forms", "Call 07700 900123 or +44 7700 900456 or +44 (0)7700 900 789.",
			map[string]Kind{"07700 900123": KindPhone, "+44 7700 900456": KindPhone, "+44 (0)7700 900 789": KindPhone}, nil},
		{"landline forms", "Ring (01392) 496012 or 020 7946 0018 or 0161-496-0000.",
			map[string]Kind{"(01392) 496012": KindPhone, "020 7946 0018": KindPhone, "0161-496-0000": KindPhone}, nil},
		{"doses and times stay", "I take 20mg twice a day at 8am and 10pm.", nil, []string{"20mg", "8am", "10pm"}},
		{"full and partial postcode", "We are in EX4 3PQ now, we were in TQ12 before; postcode N1 too.",
			map[string]Kind{"EX4 3PQ": KindPostcode, "TQ12": KindPostcode, "N1": KindPostcode}, nil},
		{"address with town then postcode", "Send it to 12 Elm Road, Exmouth, EX8 1AB please.",
			map[string]Kind{"12 Elm Road, Exmouth": KindAddress, "EX8 1AB": KindPostcode}, []string{"please"}},
		{"flat address", "Flat 3, 27 Victoria Street, Barnstaple.", map[string]Kind{"Flat 3, 27 Victoria Street, Barnstaple": KindAddress}, nil},
		{"email", "Write to jo.bloggs@example.co.uk today.", map[string]Kind{"jo.bloggs@example.co.uk": KindEmail}, []string{"today"}},
		{"date of birth kept apart from appointment dates", "Born on 3rd March 1941; seen on 4 May 2025.",
			map[string]Kind{"3rd March 1941": KindDateOfBirth}, []string{"4 May 2025"}},
		{"DOB numeric", "DOB: 03/04/1938.", map[string]Kind{"03/04/1938": KindDateOfBirth}, nil},
		{"year of birth alone stays", "I was born in 1938 in Leeds.", nil, []string{"1938", "Leeds"}},
		{"kin words as names stay", "Mum and Nan were there with Dad.", nil, []string{"Mum", "Nan", "Dad"}},
		{"unknown name before a surname", "I saw Oksana Kowalski at the clinic.", map[string]Kind{"Oksana Kowalski": KindName}, nil},
		{"called", "a lady called Thandiwe rang", map[string]Kind{"Thandiwe": KindName}, nil},
		{"no personal data", "The GP and the hospital never talk to each other about my COPD.", nil, []string{"GP", "COPD"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Redact(c.text)
			found := map[string]Kind{}
			for _, s := range got.Spans {
				found[c.text[s.Start:s.End]] = s.Kind
				if got.Text[s.RedactedStart:s.RedactedEnd] != s.Kind.Placeholder() {
					t.Errorf("span %+v does not point at its placeholder in %q", s, got.Text)
				}
			}
			for w, k := range c.want {
				if found[w] != k {
					t.Errorf("%q: want %q redacted as %s; spans %v (redacted %q)", c.text, w, k, found, got.Text)
				}
			}
			for w := range found {
				if _, ok := c.want[w]; !ok {
					t.Errorf("%q: %q redacted but should not be (redacted %q)", c.text, w, got.Text)
				}
			}
			for _, k := range c.keep {
				if !strings.Contains(got.Text, k) {
					t.Errorf("%q: %q should stay; got %q", c.text, k, got.Text)
				}
			}
		})
	}
}

// Redacting a redacted text finds nothing more: placeholders are not names.
// Identifiers names each kind found once, in the order of Kinds, and nothing for
// text the redactor would leave alone.
func TestIdentifiers(t *testing.T) {
	for _, c := range []struct {
		text string
		want []Kind
	}{
		{"Mrs Jane Smith, NHS number 943 476 5919, 07700 900123, 12 High Street NR1 3QU said rehab never happened",
			[]Kind{KindNHSNumber, KindPhone, KindPostcode, KindAddress, KindName}},
		{"ask jane@example.org or Dr Patel", []Kind{KindEmail, KindName}},
		{"Rehab was not offered after discharge; the ICS's own audit agrees.", nil},
		{"", nil},
	} {
		if got := Identifiers(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Identifiers(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestRedactIdempotent(t *testing.T) {
	for _, file := range []string{"testdata/redaction_dev.txt", "testdata/redaction_heldout.txt"} {
		for _, s := range readLabelled(t, file) {
			once := Redact(s.text)
			twice := Redact(once.Text)
			if twice.Text != once.Text {
				t.Errorf("%s line %d: second redaction changed %q to %q", file, s.line, once.Text, twice.Text)
			}
		}
	}
}

// Spans are ordered, disjoint and within the text; the redacted text is the
// original with each span replaced by its placeholder.
func TestSpansRebuild(t *testing.T) {
	text := "My son David (07700 900123, david@example.com) lives at 4 Elm Close, Heavitree, EX1 2QT."
	r := Redact(text)
	var b strings.Builder
	at := 0
	for i, s := range r.Spans {
		if s.Start < at || s.End <= s.Start || s.End > len(text) {
			t.Fatalf("span %d %+v out of order or range", i, s)
		}
		b.WriteString(text[at:s.Start])
		b.WriteString(s.Kind.Placeholder())
		at = s.End
	}
	b.WriteString(text[at:])
	if b.String() != r.Text {
		t.Errorf("rebuilt %q, redacted %q", b.String(), r.Text)
	}
	want := "My son [NAME] ([PHONE], [EMAIL]) lives at [ADDRESS], [POSTCODE]."
	if r.Text != want {
		t.Errorf("got %q, want %q", r.Text, want)
	}
	if c := r.Counts(); c[KindName] != 1 || c[KindPhone] != 1 || c[KindEmail] != 1 || c[KindAddress] != 1 || c[KindPostcode] != 1 {
		t.Errorf("counts %v", c)
	}
}

func TestGazetteersLoad(t *testing.T) {
	r, err := newRedactor()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.first) < 500 || len(r.surnames) < 300 || len(r.ambiguous) < 50 || len(r.phrases) < 30 {
		t.Errorf("gazetteers too small: %d first, %d surnames, %d ambiguous, %d phrases", len(r.first), len(r.surnames), len(r.ambiguous), len(r.phrases))
	}
	// Every ambiguous name must be a name the redactor knows the risk of: months and
	// words are kept out of the plain list's unconditional rule by being listed here.
	for _, m := range []string{"may", "june", "april", "august", "will", "grace"} {
		if !r.ambiguous[m] {
			t.Errorf("%q missing from ambiguous_first_names.txt", m)
		}
	}
}

func BenchmarkRedact(b *testing.B) {
	text := strings.Repeat("My daughter Sarah rang 07700 900123 about Dr Patel's letter to 12 Elm Road, Exmouth, EX8 1AB. ", 4)
	r := Default()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r.Redact(text)
	}
}

// The redactor is shared by every reader: it must be safe to call at once (go test -race).
func TestRedactConcurrent(t *testing.T) {
	set := readLabelled(t, "testdata/redaction_dev.txt")
	want := make([]string, len(set))
	for i, s := range set {
		want[i] = Redact(s.text).Text
	}
	done := make(chan error, 4)
	for g := range 4 {
		go func() {
			for i := g; i < len(set); i += 4 {
				if got := Default().Redact(set[i].text).Text; got != want[i] {
					done <- fmt.Errorf("line %d: %q, want %q", set[i].line, got, want[i])
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
