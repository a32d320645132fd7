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
		// Paper questionnaires are often filled in with the surname in capitals: the
		// capitals end a name only when they are an acronym (ENT, CAMHS, COPD).
		{"surname in capitals after a cue", "My name is Mary SMITH and I live alone.",
			map[string]Kind{"Mary SMITH": KindName}, []string{"I live alone"}},
		{"surname in capitals after a title", "Mrs Jean BENNETT was lovely.",
			map[string]Kind{"Jean BENNETT": KindName}, []string{"Mrs", "was lovely"}},
		{"unlisted surname in capitals after kinship", "my daughter Sarah OKONKWO-ADEYEMI rang the surgery.",
			map[string]Kind{"Sarah OKONKWO-ADEYEMI": KindName}, []string{"rang the surgery"}},
		// A comment typed all in lower case: a listed surname after a given name found
		// by a cue is the name's too, but not one that is also an ordinary word.
		{"lower-case surname after a cue", "my name is mary smith and my son john patel helps me",
			map[string]Kind{"mary smith": KindName, "john patel": KindName}, []string{"my name is", "and my son", "helps me"}},
		{"lower-case word-like surname stays", "my son john read the letter to me",
			map[string]Kind{"john": KindName}, []string{"read the letter"}},
		{"acronyms after a name stay", "I saw Dr Patel ENT and Dr Jones CAMHS about my COPD.",
			map[string]Kind{"Patel": KindName, "Jones": KindName}, []string{"ENT", "CAMHS", "COPD"}},
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

// A comment with curly quotes and a dash takes the normalising path.
func BenchmarkRedactUnicode(b *testing.B) {
	text := strings.Repeat("My daughter Sarah’s phone – 07700 900123 – about Dr Patel’s letter to 12 Elm Road, Exmouth, EX8 1AB… ", 4)
	r := Default()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		r.Redact(text)
	}
}

// Whatever the text, the spans are ordered, disjoint and within it, each
// placeholder is where its span says, and the redacted text is the original with
// the spans replaced (the normalised text the patterns read never leaks into it).
func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"ring 0 7 7 0 0 9 0 0 1 2 3", "07700\u200b900124", "０７７００ ９００１２５", "jane\u200b@example.com",
		"jane at example dot com", "ＥＸ１ １ＡＡ", "Dr Pa\u200btel", "0\u03327\u0332", "ﬁ ﬂ ½ ① ٠٧", "e\u0301\u0332 Jose\u0301",
		"My son David (07700 900123, david@example.com) lives at 4 Elm Close, Heavitree, EX1 2QT.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		r := Redact(text)
		var b strings.Builder
		at := 0
		for i, s := range r.Spans {
			if s.Start < at || s.End <= s.Start || s.End > len(text) {
				t.Fatalf("%q: span %d %+v out of order or range", text, i, s)
			}
			b.WriteString(text[at:s.Start])
			if b.Len() != s.RedactedStart {
				t.Fatalf("%q: span %d %+v: placeholder at %d", text, i, s, b.Len())
			}
			b.WriteString(s.Kind.Placeholder())
			if b.Len() != s.RedactedEnd {
				t.Fatalf("%q: span %d %+v: placeholder ends at %d", text, i, s, b.Len())
			}
			at = s.End
		}
		b.WriteString(text[at:])
		if b.String() != r.Text {
			t.Fatalf("%q: rebuilt %q, redacted %q", text, b.String(), r.Text)
		}
	})
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

// Identifiers disguised so that a pattern on the raw text misses them: spaced
// digits, zero-width and other invisible characters, full-width and other Unicode
// digits and letters, spelled-out e-mail addresses. Each is redacted in the original
// text (the placeholder replaces the disguised span, invisible characters included),
// and ordinary numbers and words stay.
func TestRedactEvasions(t *testing.T) {
	const zw = "\u200b"
	cases := []struct {
		name string
		text string
		want map[string]Kind // original text of a span → kind
		keep []string
	}{
		{"phone, a space between every digit", "ring 0 7 7 0 0 9 0 0 1 2 3 please",
			map[string]Kind{"0 7 7 0 0 9 0 0 1 2 3": KindPhone}, []string{"ring", "please"}},
		{"phone, a dot between every digit", "ring 0.7.7.0.0.9.0.0.1.2.3 now",
			map[string]Kind{"0.7.7.0.0.9.0.0.1.2.3": KindPhone}, []string{"now"}},
		{"phone, spaced landline", "call 0 1 3 9 2 4 9 6 0 1 2", map[string]Kind{"0 1 3 9 2 4 9 6 0 1 2": KindPhone}, nil},
		{"phone, spaced +44", "or +44 7 7 0 0 9 0 0 4 5 6", map[string]Kind{"+44 7 7 0 0 9 0 0 4 5 6": KindPhone}, nil},
		{"phone, space after the 0", "call 0 7700 900123", map[string]Kind{"0 7700 900123": KindPhone}, nil},
		{"phone, spaced dash", "call 07700 - 900123", map[string]Kind{"07700 - 900123": KindPhone}, nil},
		{"phone, +44 0", "call +44 07700 900123", map[string]Kind{"+44 07700 900123": KindPhone}, nil},
		{"phone, 0044", "call 0044 7700 900123", map[string]Kind{"0044 7700 900123": KindPhone}, nil},
		{"phone, zero-width space", "07700" + zw + "900124 is mine", map[string]Kind{"07700" + zw + "900124": KindPhone}, []string{"is mine"}},
		{"phone, zero-width space between every digit", "0" + zw + "7" + zw + "7" + zw + "0" + zw + "0" + zw + "9" + zw + "0" + zw + "0" + zw + "1" + zw + "2" + zw + "4",
			map[string]Kind{"0" + zw + "7" + zw + "7" + zw + "0" + zw + "0" + zw + "9" + zw + "0" + zw + "0" + zw + "1" + zw + "2" + zw + "4": KindPhone}, nil},
		{"phone, soft hyphen and word joiner", "07700\u00ad900\u2060124", map[string]Kind{"07700\u00ad900\u2060124": KindPhone}, nil},
		{"phone, BOM and ZWNJ", "07700\ufeff900\u200c124", map[string]Kind{"07700\ufeff900\u200c124": KindPhone}, nil},
		{"phone, full-width digits", "０７７００ ９００１２５ anytime", map[string]Kind{"０７７００ ９００１２５": KindPhone}, []string{"anytime"}},
		{"phone, full-width digits and ideographic space", "０７７００\u3000９００１２５", map[string]Kind{"０７７００\u3000９００１２５": KindPhone}, nil},
		{"phone, no-break space", "07700\u00a0900125", map[string]Kind{"07700\u00a0900125": KindPhone}, nil},
		{"phone, en dash", "07700–900125", map[string]Kind{"07700–900125": KindPhone}, nil},
		{"phone, Arabic-Indic digits", "٠٧٧٠٠ ٩٠٠١٢٥", map[string]Kind{"٠٧٧٠٠ ٩٠٠١٢٥": KindPhone}, nil},
		{"phone, mathematical digits", "𝟎𝟕𝟕𝟎𝟎 𝟗𝟎𝟎𝟏𝟐𝟓", map[string]Kind{"𝟎𝟕𝟕𝟎𝟎 𝟗𝟎𝟎𝟏𝟐𝟓": KindPhone}, nil},
		{"phone, combining marks on digits", "0\u03327\u03327\u033270\u0332900125", map[string]Kind{"0\u03327\u03327\u033270\u0332900125": KindPhone}, nil},
		{"email, zero-width space before @", "jane" + zw + "@example.com", map[string]Kind{"jane" + zw + "@example.com": KindEmail}, nil},
		{"email, full-width", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", map[string]Kind{"ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ": KindEmail}, nil},
		{"email, spelled at and dot", "write to jane at example dot com today",
			map[string]Kind{"jane at example dot com": KindEmail}, []string{"write to", "today"}},
		{"email, bracketed at and dot", "jane.smith (at) example [dot] co [dot] uk",
			map[string]Kind{"jane.smith (at) example [dot] co [dot] uk": KindEmail}, nil},
		{"email, spaced @", "jane.smith @ example.co.uk", map[string]Kind{"jane.smith @ example.co.uk": KindEmail}, nil},
		{"email, spelled at, dotted local part", "j.smith at example.com", map[string]Kind{"j.smith at example.com": KindEmail}, nil},
		{"NHS number, zero-width spaces", "NHS 943" + zw + "476" + zw + "5919", map[string]Kind{"943" + zw + "476" + zw + "5919": KindNHSNumber}, nil},
		{"NHS number, a space between every digit", "it is 9 4 3 4 7 6 5 9 1 9.", map[string]Kind{"9 4 3 4 7 6 5 9 1 9": KindNHSNumber}, nil},
		{"NHS number, then a count", "NHS number 9434765919 2 copies", map[string]Kind{"9434765919": KindNHSNumber}, []string{"2 copies"}},
		{"NHS number, a space between every digit, then a count", "it is 9 4 3 4 7 6 5 9 1 9, 2 copies", map[string]Kind{"9 4 3 4 7 6 5 9 1 9": KindNHSNumber}, []string{"2 copies"}},
		{"eleven spaced digits are not an NHS number", "9 4 3 4 7 6 5 9 1 9 2", nil, []string{"9 4 3 4 7 6 5 9 1 9 2"}},
		{"NHS number, dotted", "it is 943.476.5919.", map[string]Kind{"943.476.5919": KindNHSNumber}, nil},
		{"NHS number, full-width", "ＮＨＳ number ９４３ ４７６ ５９１９", map[string]Kind{"９４３ ４７６ ５９１９": KindNHSNumber}, nil},
		{"postcode, full-width letters", "we live at ＥＸ１ １ＡＡ now", map[string]Kind{"ＥＸ１ １ＡＡ": KindPostcode}, []string{"now"}},
		{"postcode, zero-width space", "EX1" + zw + " 1AA", map[string]Kind{"EX1" + zw + " 1AA": KindPostcode}, nil},
		{"name, zero-width space inside", "Dr Pa" + zw + "tel was kind", map[string]Kind{"Pa" + zw + "tel": KindName}, []string{"Dr", "was kind"}},
		{"name, full-width", "Ｍｒｓ Ｊａｎｅ Ｓｍｉｔｈ rang", map[string]Kind{"Ｊａｎｅ Ｓｍｉｔｈ": KindName}, []string{"Ｍｒｓ", "rang"}},
		// Ordinary numbers and words stay.
		{"short spaced numbers stay", "I waited 2 3 weeks, then 1 2 3 4 5 days.", nil, []string{"2 3 weeks", "1 2 3 4 5 days"}},
		{"a scale written out stays", "rate it 0 1 2 3 4 5 6 7 8 9 10", nil, []string{"0 1 2 3 4 5 6 7 8 9 10"}},
		{"scores stay", "I would score them 0 1 2 out of 10, 9 8 7 last year.", nil, []string{"0 1 2 out of 10", "9 8 7"}},
		{"date and time stay", "seen on 12 03 2025 at 10 30.", nil, []string{"12 03 2025 at 10 30"}},
		{"mixed groups are not an NHS number", "ref 12 11 1941 10 30", nil, []string{"12 11 1941 10 30"}},
		{"at and dot in words stay", "I was at home. Then the nurse came at 10. She looked at the dot on my arm.", nil,
			[]string{"was at home. Then", "looked at the dot"}},
		{"website stays", "I looked at nhs.uk and booked at boots.com", nil, []string{"looked at nhs.uk", "booked at boots.com"}},
		{"full-width text with no data", "ｔｈｅ ｗａｉｔ ｗａｓ ｌｏｎｇ…", nil, []string{"ｔｈｅ ｗａｉｔ ｗａｓ ｌｏｎｇ…"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Redact(c.text)
			found := map[string]Kind{}
			at := 0
			var b strings.Builder
			for _, s := range got.Spans {
				found[c.text[s.Start:s.End]] = s.Kind
				if got.Text[s.RedactedStart:s.RedactedEnd] != s.Kind.Placeholder() {
					t.Errorf("span %+v does not point at its placeholder in %q", s, got.Text)
				}
				b.WriteString(c.text[at:s.Start])
				b.WriteString(s.Kind.Placeholder())
				at = s.End
			}
			b.WriteString(c.text[at:])
			if b.String() != got.Text {
				t.Errorf("%q: redacted text %q is not the original with its spans replaced (%q)", c.text, got.Text, b.String())
			}
			for w, k := range c.want {
				if found[w] != k {
					t.Errorf("%q: want %q redacted as %s; spans %q (redacted %q)", c.text, w, k, found, got.Text)
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
			// Identifiers, the check of analysts' notes, sees through the same disguises.
			var wantKinds []Kind
			for _, k := range Kinds {
				for _, wk := range c.want {
					if wk == k {
						wantKinds = append(wantKinds, k)
						break
					}
				}
			}
			if ids := Identifiers(c.text); !slices.Equal(ids, wantKinds) {
				t.Errorf("Identifiers(%q) = %v, want %v", c.text, ids, wantKinds)
			}
		})
	}
}

// Each span names the rule that found it, the same every time.
func TestRedactRules(t *testing.T) {
	for _, c := range []struct{ text, rule string }{
		{"jane@example.com", "email"},
		{"jane at example dot com", "email-spelled"},
		{"jane @ example.com", "email-spelled"},
		{"ring 0 7 7 0 0 9 0 0 1 2 3", "phone"},
		{"9 4 3 4 7 6 5 9 1 9", "nhs-mod11"},
	} {
		for range 20 {
			if r := Redact(c.text); len(r.Spans) != 1 || r.Spans[0].Rule != c.rule {
				t.Fatalf("Redact(%q) spans %+v, want one by rule %s", c.text, r.Spans, c.rule)
			}
		}
	}
}
