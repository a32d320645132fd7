package freetext

import (
	"bufio"
	"embed"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"icesurvey/codes"
)

// Kind is the type of a piece of personal data found in free text.
type Kind string

// The kinds the redactor finds. Placeholder gives each one's replacement text.
const (
	KindName        Kind = "NAME"
	KindPhone       Kind = "PHONE"
	KindNHSNumber   Kind = "NHS NUMBER"
	KindAddress     Kind = "ADDRESS"
	KindPostcode    Kind = "POSTCODE"
	KindEmail       Kind = "EMAIL"
	KindDateOfBirth Kind = "DATE OF BIRTH"
)

// Kinds lists every kind, structured ones first.
var Kinds = []Kind{KindEmail, KindNHSNumber, KindPhone, KindPostcode, KindAddress, KindDateOfBirth, KindName}

// Placeholder is the text that replaces a span of this kind, e.g. "[NAME]".
func (k Kind) Placeholder() string { return "[" + string(k) + "]" }

// priority orders kinds when two findings overlap: the merged span takes the kind
// of the more specific finding (an e-mail address is not also a name).
func (k Kind) priority() int {
	if i := slices.Index(Kinds, k); i >= 0 {
		return len(Kinds) - i
	}
	return 0
}

// Span is one redacted piece of the original text. Start and End are byte offsets
// into the original (the text itself is never held here, so spans may be stored
// beside the redacted text); RedactedStart and RedactedEnd locate its placeholder
// in the redacted text. Rule names the rule that found it, for the audit of the
// redactor by a named reader.
type Span struct {
	Kind          Kind   `json:"kind"`
	Start         int    `json:"start"`
	End           int    `json:"end"`
	RedactedStart int    `json:"redacted_start"`
	RedactedEnd   int    `json:"redacted_end"`
	Rule          string `json:"rule"`
}

// Redacted is a text with its personal data replaced by placeholders.
type Redacted struct {
	Text  string `json:"text"`
	Spans []Span `json:"spans"` // in text order, not overlapping
}

// Counts returns the number of spans of each kind.
func (r Redacted) Counts() map[Kind]int {
	m := make(map[Kind]int)
	for _, s := range r.Spans {
		m[s.Kind]++
	}
	return m
}

// Redactor finds and replaces personal data. It is safe for concurrent use.
type Redactor struct {
	first     map[string]bool // given names, lower case
	ambiguous map[string]bool // given names that are also ordinary words, lower case
	surnames  map[string]bool // lower case
	notNames  map[string]bool // exact spelling (capitalised), plus lower case for acronyms
	phrases   [][]string      // protected phrases as lower-case word sequences
}

//go:embed data/*.txt
var dataFS embed.FS

var defaultRedactor = sync.OnceValues(func() (*Redactor, error) { return newRedactor() })

// Default returns the redactor built from the embedded gazetteers (data/).
func Default() *Redactor {
	r, err := defaultRedactor()
	if err != nil {
		panic(fmt.Sprintf("freetext: embedded gazetteers: %v", err)) // the embedded data is checked by the tests
	}
	return r
}

// Redact redacts text with the default redactor.
func Redact(text string) Redacted { return Default().Redact(text) }

// Identifiers lists the kinds of personal data the default redactor finds in text,
// each once, in the order of Kinds; none when it would redact nothing. It is the check
// for text written by staff into an area or report that holds no personal data (an
// analyst's note): the caller refuses the text, naming its field and these kinds but
// never repeating the text, since errors are logged and audited.
func Identifiers(text string) []Kind {
	counts := Redact(text).Counts()
	var out []Kind
	for _, k := range Kinds {
		if counts[k] > 0 {
			out = append(out, k)
		}
	}
	return out
}

func newRedactor() (*Redactor, error) {
	r := &Redactor{}
	var err error
	if r.first, err = readList("first_names.txt", true); err != nil {
		return nil, err
	}
	if r.ambiguous, err = readList("ambiguous_first_names.txt", true); err != nil {
		return nil, err
	}
	if r.surnames, err = readList("surnames.txt", true); err != nil {
		return nil, err
	}
	if r.notNames, err = readList("not_names.txt", false); err != nil {
		return nil, err
	}
	lines, err := readLines("protected_phrases.txt")
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		var words []string
		for _, t := range tokenize(l) {
			if t.word {
				words = append(words, strings.ToLower(t.text))
			}
		}
		if len(words) > 0 {
			r.phrases = append(r.phrases, words)
		}
	}
	return r, nil
}

func readLines(name string) ([]string, error) {
	f, err := dataFS.Open("data/" + name)
	if err != nil {
		return nil, fmt.Errorf("freetext: gazetteer %s: %w", name, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if !utf8.ValidString(l) {
			return nil, fmt.Errorf("freetext: gazetteer %s line %d: not UTF-8", name, n)
		}
		out = append(out, l)
	}
	return out, sc.Err()
}

func readList(name string, lower bool) (map[string]bool, error) {
	lines, err := readLines(name)
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(lines))
	for i, l := range lines {
		if strings.ContainsAny(l, " \t") {
			return nil, fmt.Errorf("freetext: gazetteer %s entry %d %q: one word per line", name, i+1, l)
		}
		if lower {
			l = strings.ToLower(l)
		}
		m[l] = true
	}
	return m, nil
}

// ---------------------------------------------------------------------------------
// Structured personal data: patterns with checks.

var (
	reEmail = regexp.MustCompile(`(?i)\b[a-z0-9][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}\b`)
	// An e-mail address written to get past a filter: "jane at example dot com",
	// "jane (at) example [dot] com", "jane @ example.com". Checked after (spelledEmails).
	reEmailSpelled = regexp.MustCompile(`(?i)^([a-z0-9][a-z0-9._%+\-]*)(\s*@\s*|\s+at\s+|\s*[(\[{<]\s*at\s*[)\]}>]\s*)([a-z0-9\-]+(?:(?:\.|\s+dot\s+|\s*[(\[{<]\s*dot\s*[)\]}>]\s*)[a-z0-9\-]+)+)\b`)
	reSpelledDot   = regexp.MustCompile(`(?i)\s+dot\s+|\s*[(\[{<]\s*dot\s*[)\]}>]\s*`)
	// Ten digits: plain, in 3-3-4 groups, or with a space, dot or dash between
	// every digit.
	reTenDigits = regexp.MustCompile(`\b(?:\d{3}[ .\-]?\d{3}[ .\-]?\d{4}|\d(?:[ .\-]\d){9})\b`)
	// A UK telephone number in any common spelling, digits grouped any way (one at a
	// time included), a space, dot or dash between groups; the digit count is checked
	// after.
	rePhone = regexp.MustCompile(`(?:\+ ?4 ?4(?:` + phoneSep + `\(0\))?|\(0\d{1,5}\)|\b0)(?:` + phoneSep + `\d){5,14}\b`)
	// A full postcode, any case; checked against the postcode rules after.
	rePostcode = regexp.MustCompile(`(?i)\b([a-z]{1,2}[0-9][a-z0-9]?) ?([0-9][a-z]{2})\b`)
	// An outward code alone (a partial postcode), upper case only.
	reOutward = regexp.MustCompile(`\b([A-Z]{1,2})([0-9][0-9A-Z]?)\b`)
	reNHSCue  = regexp.MustCompile(`(?i)\bnhs\s*(?:no\.?|number|num)?\s*(?:is|was|:)?\s*$`)
	// House or flat number, then one to three capitalised words, then a street word.
	reStreetAddress = regexp.MustCompile(`\b(?:(?:Flat|flat|Apartment|apartment|Apt|Unit)\s+\d{1,4}[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'’\-]+\s+){1,3}(?:` + streetWords + `)\b\.?`)
	// A named house and its street ("Rose Cottage, Church Lane").
	reNamedHouse = regexp.MustCompile(`\b(?:The\s+)?(?:[A-Z][a-z'’]+\s+){0,2}(?:Cottage|Cottages|Farm|Farmhouse|House|Barn|Lodge|Mill|Forge|Bungalow|Croft|Manor|Rectory|Vicarage|Smithy)\s*,\s*(?:[A-Z][a-z'’\-]+\s+){1,2}(?:` + streetWords + `)\b`)
	// A street named without a number, after a preposition ("lives on Mill Lane").
	reStreetOnly = regexp.MustCompile(`\b(?:on|in|at|off|along|near|of|from|to)\s+((?:[A-Z][a-z'’\-]+\s+){1,2}(?:` + streetWordsStrict + `))\b`)
	// What may follow a street in a written address, after a comma: a locality or town.
	reAddressTail = regexp.MustCompile(`^,\s*([A-Z][A-Za-z'’\-]+(?:\s+[A-Z][A-Za-z'’\-]+){0,2})(?:[^0-9A-Za-z'’\-]|$)`)
	// Dates of birth: a cue, then a date.
	reDOB = regexp.MustCompile(`(?i)\b(?:born(?:\s+on)?(?:\s+the)?|date\s+of\s+birth|d\.?o\.?b\.?|birthday(?:\s+(?:is|was))?(?:\s+on)?(?:\s+the)?)\s*[:,\-–]?\s*(?:(?:is|was)\s+(?:the\s+)?)?(` + datePattern + `)`)
)

const (
	phoneSep          = ` ?[.\-]? ?` // between two groups of a telephone number: "", " ", "-", " - ", ". " …
	streetWords       = `Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Court|Ct|Place|Pl|Gardens|Gdns|Terrace|Grove|Hill|Park|Square|Sq|Row|Mews|Walk|View|Rise|Green|Parade|Vale|Meadow|Meadows|Fields|Estate|Villas|Cottages|Gate|Wharf|Quay|Chase|Croft|Heights|Road\.`
	streetWordsStrict = `Road|Street|Avenue|Lane|Close|Drive|Crescent|Terrace|Gardens|Grove|Mews|Way|Cottages|Villas`
	monthPattern      = `(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`
	datePattern       = `\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})\b|\d{8}\b|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?` + monthPattern + `\b,?(?:\s+\d{4}\b)?|` + monthPattern + `\s+\d{1,2}(?:st|nd|rd|th)?\b,?(?:\s+\d{4}\b)?`
)

// postcodeAreas are the UK postcode areas: an outward code alone is taken for a
// partial postcode only when its letters are one of these.
var postcodeAreas = setOf(strings.Fields(`AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE`))

func setOf(words []string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

type finding struct {
	kind       Kind
	start, end int
	rule       string
}

func structured(text string) []finding {
	var out []finding
	add := func(k Kind, s, e int, rule string) { out = append(out, finding{k, s, e, rule}) }
	for _, m := range reEmail.FindAllStringIndex(text, -1) {
		add(KindEmail, m[0], m[1], "email")
	}
	for _, m := range spelledEmails(text) {
		add(KindEmail, m[0], m[1], "email-spelled")
	}
	for _, m := range reTenDigits.FindAllStringIndex(text, -1) {
		s := text[m[0]:m[1]]
		if len(s) == 19 && partOfLongerNumber(text, m[0], m[1]) {
			continue // ten digits of a longer spaced run ("0 7 7 0 0 9 0 0 1 2 3")
		}
		digits := onlyDigits(s)
		grouped := len(s) == 12 && strings.IndexByte(" .-", s[3]) >= 0 && strings.IndexByte(" .-", s[7]) >= 0
		cue := reNHSCue.MatchString(text[max(0, m[0]-24):m[0]])
		_, checkErr := codes.ParseNHSNumber(digits)
		switch {
		case checkErr == nil && digits[0] != '0':
			add(KindNHSNumber, m[0], m[1], "nhs-mod11")
		case cue:
			add(KindNHSNumber, m[0], m[1], "nhs-cue")
		case grouped && digits[0] != '0':
			add(KindNHSNumber, m[0], m[1], "nhs-3-3-4")
		}
	}
	for _, m := range rePhone.FindAllStringIndex(text, -1) {
		if s, e, ok := phoneSpan(text, m[0], m[1]); ok {
			add(KindPhone, s, e, "phone")
		}
	}
	for _, m := range rePostcode.FindAllStringSubmatchIndex(text, -1) {
		if codes.ValidPostcode(text[m[0]:m[1]]) {
			add(KindPostcode, m[0], m[1], "postcode")
		}
	}
	for _, m := range reOutward.FindAllStringSubmatchIndex(text, -1) {
		if partialPostcode(text, m) {
			add(KindPostcode, m[0], m[1], "postcode-outward")
		}
	}
	for _, m := range reStreetAddress.FindAllStringIndex(text, -1) {
		end := strings.TrimRight(text[:m[1]], ".")
		add(KindAddress, m[0], addressTail(text, len(end)), "street-address")
	}
	for _, m := range reNamedHouse.FindAllStringIndex(text, -1) {
		add(KindAddress, m[0], addressTail(text, m[1]), "named-house")
	}
	for _, m := range reStreetOnly.FindAllStringSubmatchIndex(text, -1) {
		add(KindAddress, m[2], addressTail(text, m[3]), "street")
	}
	for _, m := range reDOB.FindAllStringSubmatchIndex(text, -1) {
		add(KindDateOfBirth, m[2], m[3], "date-of-birth")
	}
	return out
}

// addressTail extends an address that ends at end over a following locality or
// town ("12 Elm Road, Exmouth"), stopping before a postcode.
func addressTail(text string, end int) int {
	for range 2 {
		m := reAddressTail.FindStringSubmatchIndex(text[end:])
		if m == nil {
			return end
		}
		seg := text[end+m[2] : end+m[3]]
		if rePostcode.MatchString(seg) || reOutward.MatchString(seg) {
			return end
		}
		end += m[3]
	}
	return end
}

// emailTLDs are the endings a spelled-out address ("jane at example dot com") must
// have: "at" and "dot" are ordinary words.
var emailTLDs = setOf(strings.Fields(`com org net uk co gov nhs ac info biz me io eu ie scot wales cymru edu mail`))

// spelledEmails finds e-mail addresses written with "at", "(at)", "[dot]" or a
// spaced "@". A plain "at" is read as an address only with a spelled "dot" or a
// local part no word has (j.smith, jane99), and with a known ending, so "looked at
// nhs.uk" and "was at home. Then" stay.
//
// The pattern is tried only where an address could start: at the word before each
// "@" or "at" (an unanchored search of every comment would cost a tenth of the
// redactor's time).
func spelledEmails(text string) [][]int {
	var out [][]int
	done := 0 // end of the last address found
	wordByte := func(i int) bool {
		if i < 0 || i >= len(text) {
			return false
		}
		c := text[i] | 0x20
		return c >= 'a' && c <= 'z' || text[i] >= '0' && text[i] <= '9'
	}
	for i := 0; i < len(text); i++ {
		if text[i] != '@' && !(text[i]|0x20 == 'a' && i+1 < len(text) && text[i+1]|0x20 == 't' && !wordByte(i-1) && !wordByte(i+2)) {
			continue
		}
		// Back over spaces and an opening bracket, then over the local part.
		j := i
		for j > done && j > i-4 && strings.IndexByte(" \t([{<", text[j-1]) >= 0 {
			j--
		}
		k := j
		for k > done && (wordByte(k-1) || strings.IndexByte("._%+-", text[k-1]) >= 0) {
			k--
		}
		for k < j && !wordByte(k) {
			k++ // the local part starts with a letter or digit
		}
		if k == j {
			continue
		}
		m := reEmailSpelled.FindStringSubmatchIndex(text[k:])
		if m == nil {
			continue
		}
		for x := range m {
			m[x] += k
		}
		local, at, domain := text[m[2]:m[3]], strings.TrimSpace(text[m[4]:m[5]]), text[m[6]:m[7]]
		if text[m[4]:m[5]] == "@" && !reSpelledDot.MatchString(domain) {
			continue // a plain address: reEmail's
		}
		labels := reSpelledDot.ReplaceAllString(domain, ".")
		last := strings.ToLower(labels[strings.LastIndexByte(labels, '.')+1:])
		if len(last) < 2 || strings.ContainsAny(last, "0123456789") {
			continue
		}
		if strings.EqualFold(at, "at") {
			if !emailTLDs[last] {
				continue
			}
			if !reSpelledDot.MatchString(domain) && !strings.ContainsAny(local, "._%+0123456789") {
				continue
			}
		}
		out = append(out, []int{m[0], m[1]})
		done = m[1]
		i = done - 1
	}
	return out
}

// partOfLongerNumber reports whether the digits text[s:e] continue, after a single
// separator, into another digit on either side.
func partOfLongerNumber(text string, s, e int) bool {
	isDigit := func(i int) bool { return i >= 0 && i < len(text) && text[i] >= '0' && text[i] <= '9' }
	isSep := func(i int) bool { return i >= 0 && i < len(text) && strings.IndexByte(" .-", text[i]) >= 0 }
	return isSep(s-1) && isDigit(s-2) || isSep(e) && isDigit(e+1)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// phoneSpan checks a telephone-number candidate text[s:e]: 10 or 11 digits once a
// +44 prefix is read as 0, in a UK number range. A candidate with more digits (two
// numbers run together, or a number followed by a count) is shortened group by group
// from the end until it fits.
func phoneSpan(text string, s, e int) (int, int, bool) {
	for e > s {
		cand := text[s:e]
		d := onlyDigits(cand)
		// +44 or 0044, then the number without its trunk 0, which may still be
		// written, bracketed or not: "+44 (0)7700 …", "+44 07700 …".
		switch {
		case strings.HasPrefix(strings.TrimLeft(cand, "("), "+"):
			d = "0" + strings.TrimPrefix(strings.TrimPrefix(d, "44"), "0")
		case strings.HasPrefix(d, "0044"):
			d = "0" + strings.TrimPrefix(d[4:], "0")
		}
		// 0123456789 is a count ("rate it 0 1 2 3 4 5 6 7 8 9 10"), not a number in use.
		if (len(d) == 10 || len(d) == 11) && d[0] == '0' && strings.ContainsRune("1235789", rune(d[1])) && d != "0123456789" {
			return s, e, true
		}
		if len(d) < 10 {
			return 0, 0, false
		}
		i := strings.LastIndexAny(cand, " .-")
		if i <= 0 {
			return 0, 0, false
		}
		e = s + len(strings.TrimRight(cand[:i], " .-)"))
	}
	return 0, 0, false
}

// partialPostcode decides whether an upper-case outward code alone is a partial
// postcode. Two-letter areas (EX4, TQ12) are distinctive enough on their own;
// one-letter areas (M1, B12, N1) clash with motorways and vitamins, so they need the
// word postcode nearby.
func partialPostcode(text string, m []int) bool {
	area, district := text[m[2]:m[3]], text[m[4]:m[5]]
	if !postcodeAreas[area] {
		return false
	}
	if area+district == "CO2" {
		return false
	}
	before := strings.ToLower(text[max(0, m[0]-40):m[0]])
	if strings.HasSuffix(strings.TrimSpace(before), "vitamin") || strings.HasSuffix(strings.TrimSpace(before), "the") ||
		strings.HasSuffix(strings.TrimSpace(before), "junction") {
		return false
	}
	if strings.Contains(before, "postcode") || strings.Contains(before, "post code") {
		return true
	}
	return len(area) == 2
}

// ---------------------------------------------------------------------------------
// Names: context cues, capitals and the gazetteers.

type token struct {
	start, end int // byte offsets
	text       string
	word       bool // letters or digits, with inner apostrophes and hyphens
	newline    bool // a line break comes between this token and the previous one
}

func isApostrophe(r rune) bool { return r == '\'' || r == '’' }

func tokenize(text string) []token {
	var toks []token
	nl := false
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		switch {
		case r == '\n' || r == '\r':
			nl = true
			i += n
		case unicode.IsSpace(r):
			i += n
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			j := i + n
			for j < len(text) {
				r2, n2 := utf8.DecodeRuneInString(text[j:])
				if unicode.IsLetter(r2) || unicode.IsDigit(r2) {
					j += n2
					continue
				}
				if isApostrophe(r2) || r2 == '-' {
					r3, _ := utf8.DecodeRuneInString(text[j+n2:])
					if j+n2 < len(text) && (unicode.IsLetter(r3) || unicode.IsDigit(r3)) {
						j += n2
						continue
					}
					// A trailing possessive apostrophe ("Jones'") belongs to the word.
					if isApostrophe(r2) && text[j-1] == 's' {
						j += n2
					}
				}
				break
			}
			toks = append(toks, token{start: i, end: j, text: text[i:j], word: true, newline: nl})
			nl = false
			i = j
		default:
			toks = append(toks, token{start: i, end: i + n, text: text[i : i+n], newline: nl})
			nl = false
			i += n
		}
	}
	return toks
}

// base is a word without a possessive ending: "Margaret's" → "Margaret".
func base(w string) string {
	for _, suf := range []string{"'s", "’s", "'", "’"} {
		if strings.HasSuffix(w, suf) && len(w) > len(suf)+1 {
			return w[:len(w)-len(suf)]
		}
	}
	return w
}

func possessive(w string) bool { return base(w) != w }

func capitalised(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}

func allCaps(w string) bool {
	has := false
	for _, r := range w {
		if unicode.IsLower(r) {
			return false
		}
		if unicode.IsLetter(r) {
			has = true
		}
	}
	return has
}

func initial(w string) bool { return utf8.RuneCountInString(w) == 1 && capitalised(w) }

// Title words put before a name; the title itself stays in the text.
var titles = setOf(strings.Fields(`dr doctor mr mrs ms miss mx nurse sister prof professor sr rev reverend father dame sir matron`))

// Words that say the next word is a person's name: family, friends and staff.
var kinship = setOf(strings.Fields(`daughter son wife husband partner mum mother dad father brother sister nephew niece grandson granddaughter grandchild grandchildren granddad grandad grandma grandmother grandfather nan gran cousin aunt auntie aunty uncle friend neighbour neighbours lodger daughters sons brothers sisters stepson stepdaughter stepmother stepfather fiancé fiance fiancée girlfriend boyfriend twin godson goddaughter son-in-law daughter-in-law mother-in-law father-in-law sister-in-law brother-in-law`))

var roles = setOf(strings.Fields(`carer carers nurse nurses doctor gp consultant physio physiotherapist ot pharmacist receptionist paramedic surgeon midwife worker coordinator manager dietitian dietician podiatrist chiropodist optician dentist psychiatrist psychologist counsellor therapist volunteer vicar chaplain registrar matron specialist practitioner visitor advocate befriender cleaner driver assistant`))

// Words after which a capitalised word is a name ("a lady called Pam").
var nameCues = [][]string{{"called"}, {"named"}, {"name", "is"}, {"name", "was"}, {"name's"}, {"known", "as"}, {"names", "are"}, {"names", "were"}, {"thanks", "to"}, {"thank", "you", "to"}, {"thank", "you"}}

// Lower-case particles inside surnames ("Dr de Souza", "Dr van der Berg").
var particles = setOf(strings.Fields(`de da di du del della der den van von le la ó ní nic mac bin ibn al el`))

// Titles, pronouns, months and days never start a name after a title.
var neverAfterTitle = setOf(strings.Fields(`The A An And Or I He She They We You It His Her Their Our My Who What Which That This There Here January February March April May June July August September October November December Monday Tuesday Wednesday Thursday Friday Saturday Sunday`))

// Months that are also given names: a name only after a title or cue word.
var monthNames = setOf(strings.Fields(`may june april august jan`))

// Verbs that follow a name at the start of a sentence ("Grace was lovely").
var nameVerbs = setOf(strings.Fields(`was is has had came comes come said says told tells rang rings phoned phones called calls visits visited visit helped helps does did went goes sorted took takes looked looks made makes gave gives got gets spoke speaks explained listened arranged organised drove drives and from at who also always never will would could can cannot can't couldn't won't wouldn't didn't doesn't isn't wasn't`))

// Head words of the name of a place of care: a capitalised name just before them is
// the service's name, not a person's ("Oakwood care home", "Christie Hospital").
var serviceHeads = setOf(strings.Fields(`hospital hospice infirmary surgery practice clinic centre center ward unit trust lodge home homes nursing`))

// Surnames that are also ordinary words: they extend a name but do not start one.
var wordlikeSurnames = setOf(strings.Fields(`baker ball banks barber bell berry bird bishop black bond booth brooks brown bull butler carter chambers cook cooper cross day dean fisher ford fox french frost fuller gardner gill grant gray green hall hardy hart heath hill holland holt hope hunt hunter king knight lamb lane lee long lowe mann marsh marshall mason may miles mills moss nash newman norman page parker potter preston price read reed rhodes rose sharp shepherd slater spencer stone swift taylor turner walker ward warren watts webb wells west white wood woods wright young`))

type nameScan struct {
	r         *Redactor
	text      string
	toks      []token
	protected []bool
	name      []bool
	rule      []string
}

func (r *Redactor) names(text string, blocked []finding) []finding {
	ns := &nameScan{r: r, text: text, toks: tokenize(text)}
	n := len(ns.toks)
	ns.protected = make([]bool, n)
	ns.name = make([]bool, n)
	ns.rule = make([]string, n)
	// Words inside structured findings are not names (a street in an address).
	for i, t := range ns.toks {
		for _, f := range blocked {
			if t.start < f.end && t.end > f.start {
				ns.protected[i] = true
			}
		}
	}
	ns.protectPhrases()
	ns.protectServices()
	for i := range ns.toks {
		ns.titleRule(i)
		ns.cueRule(i)
		ns.calledRule(i)
	}
	for i := range ns.toks {
		ns.gazetteerRule(i)
	}
	for i := range ns.toks {
		ns.surnamePairRule(i)
		ns.appositionRule(i)
	}
	return ns.spans()
}

func (ns *nameScan) isWord(i int) bool { return i >= 0 && i < len(ns.toks) && ns.toks[i].word }

func (ns *nameScan) protectPhrases() {
	for i := range ns.toks {
		for _, p := range ns.r.phrases {
			j, k := i, 0
			for ; k < len(p) && j < len(ns.toks); j++ {
				if !ns.toks[j].word {
					continue // punctuation inside a phrase ("Norfolk and Norwich")
				}
				w := strings.ToLower(ns.toks[j].text)
				if w != p[k] && strings.ToLower(base(ns.toks[j].text)) != p[k] {
					break
				}
				k++
			}
			if k == len(p) {
				for x := i; x < j; x++ {
					ns.protected[x] = true
				}
			}
		}
	}
}

// protectServices keeps the capitalised name of a place of care ("Bluebell ward",
// "St Jude's", "Oakwood care home").
func (ns *nameScan) protectServices() {
	for i, t := range ns.toks {
		if !t.word {
			continue
		}
		w := strings.ToLower(t.text)
		if (w == "st" || w == "saint") && ns.isWord(i+1) && capitalised(ns.toks[i+1].text) {
			ns.protected[i+1] = true
		}
		if !serviceHeads[w] {
			continue
		}
		j := i - 1
		if j >= 0 && (strings.EqualFold(ns.toks[j].text, "care") || strings.EqualFold(ns.toks[j].text, "nursing") || strings.EqualFold(ns.toks[j].text, "medical") || strings.EqualFold(ns.toks[j].text, "health")) {
			j--
		}
		for ; j >= 0 && ns.toks[j].word && capitalised(ns.toks[j].text) && !possessive(ns.toks[j].text); j-- {
			if j > 0 && titles[strings.ToLower(strings.TrimSuffix(ns.toks[j-1].text, "."))] {
				break // "Dr Patel surgery": the doctor's name is still a name
			}
			ns.protected[j] = true
		}
	}
}

func (ns *nameScan) mark(i int, rule string) {
	if i < 0 || i >= len(ns.toks) || ns.protected[i] || !ns.toks[i].word {
		return
	}
	if !ns.name[i] {
		ns.name[i] = true
		ns.rule[i] = rule
	}
}

// next returns the index of the next word token after i, skipping the given
// punctuation; -1 if another token comes first.
func (ns *nameScan) next(i int, skip string) int {
	for j := i + 1; j < len(ns.toks); j++ {
		if ns.toks[j].word {
			return j
		}
		if !strings.Contains(skip, ns.toks[j].text) {
			return -1
		}
	}
	return -1
}

// nameWord reports whether word i can be part of a name after a cue: capitalised
// and not a known non-name, or a known given name in any case when loose.
func (ns *nameScan) nameWord(i int, loose bool) bool {
	if i < 0 || ns.protected[i] {
		return false
	}
	w := base(ns.toks[i].text)
	lw := strings.ToLower(w)
	known := ns.r.first[lw] || ns.r.ambiguous[lw] || ns.r.surnames[lw]
	if titles[lw] || kinship[lw] || roles[lw] {
		return false
	}
	if capitalised(w) {
		if allCaps(w) && utf8.RuneCountInString(w) > 1 && !known {
			return false
		}
		if neverAfterTitle[w] && !known {
			return false
		}
		return known || !ns.r.notNames[w]
	}
	return loose && (ns.r.first[lw] && !ns.r.ambiguous[lw])
}

// extend marks the surname (or further given name) after a name at i.
func (ns *nameScan) extend(i int, rule string) int {
	for range 2 {
		j := ns.next(i, "")
		if j < 0 || ns.protected[j] {
			return i
		}
		w := base(ns.toks[j].text)
		lw := strings.ToLower(w)
		// In a comment typed in lower case ("my name is mary smith"), a listed surname
		// after a lower-case given name is its surname, unless it is also an ordinary
		// word ("my son john read it").
		lowerSurname := !capitalised(w) && !capitalised(base(ns.toks[i].text)) && ns.r.surnames[lw] && !wordlikeSurnames[lw]
		if (!capitalised(w) && !lowerSurname) || ns.r.notNames[w] || neverAfterTitle[w] || (allCaps(w) && len(w) > 1 && !capsSurname(ns.r, w)) {
			return i
		}
		if serviceHeads[lw] {
			return i
		}
		if possessive(ns.toks[i].text) {
			return i // "Sarah's Mum": the possessive ends the name
		}
		ns.mark(j, rule)
		i = j
	}
	return i
}

// capsSurname reports whether a word in capitals after a name is its surname, as paper
// questionnaires are often filled in ("Mary SMITH"), rather than an acronym ("Dr Patel
// ENT", "CAMHS"): a listed surname or given name, or an unlisted word of four or more
// letters with a vowel that is no listed non-name or verb in any case ("OKONKWO").
func capsSurname(r *Redactor, w string) bool {
	lw := strings.ToLower(w)
	if r.surnames[lw] || r.first[lw] {
		return true
	}
	first, size := utf8.DecodeRuneInString(lw)
	title := string(unicode.ToUpper(first)) + lw[size:]
	if r.notNames[w] || r.notNames[title] || neverAfterTitle[title] || nameVerbs[lw] || serviceHeads[lw] || roles[lw] || kinship[lw] || titles[lw] {
		return false
	}
	letters := 0
	for _, c := range lw {
		if unicode.IsLetter(c) {
			letters++
		}
	}
	return letters >= 4 && strings.ContainsAny(lw, "aeiouy")
}

func (ns *nameScan) titleRule(i int) {
	t := ns.toks[i]
	if !t.word || !titles[strings.ToLower(t.text)] {
		return
	}
	// "Nurse", "Sister", "Doctor" and "Father" are also ordinary nouns: as titles they
	// are capitalised; the abbreviations may be typed in lower case ("dr patel").
	lw := strings.ToLower(t.text)
	abbrev := lw == "dr" || lw == "mr" || lw == "mrs" || lw == "ms" || lw == "prof"
	if !capitalised(t.text) && !abbrev {
		return
	}
	j := ns.next(i, ".")
	// Initials: "Mrs J. Hughes", "Dr A B Shah".
	k := j
	for k >= 0 && initial(ns.toks[k].text) && !ns.protected[k] {
		nk := ns.next(k, ".")
		if nk < 0 || !ns.nameWord(nk, false) {
			break
		}
		ns.mark(k, "title")
		k = nk
	}
	var parts []int
	for k >= 0 && particles[strings.ToLower(ns.toks[k].text)] && !capitalised(ns.toks[k].text) && len(parts) < 2 {
		parts = append(parts, k)
		k = ns.next(k, "")
	}
	if k < 0 || !ns.nameWord(k, !capitalised(t.text)) {
		return
	}
	if len(parts) > 0 && !capitalised(ns.toks[k].text) {
		return
	}
	for _, p := range parts {
		ns.mark(p, "title")
	}
	w := base(ns.toks[k].text)
	if !capitalised(w) && !ns.r.surnames[strings.ToLower(w)] && !ns.r.first[strings.ToLower(w)] {
		return
	}
	ns.mark(k, "title")
	ns.extend(k, "title")
}

func (ns *nameScan) cueRule(i int) {
	t := ns.toks[i]
	if !t.word {
		return
	}
	lw := strings.ToLower(t.text)
	isKin := kinship[lw]
	if !isKin && !roles[lw] {
		return
	}
	// The cue must be a noun here: "my daughter", "our carer", "the nurse", or a role
	// word at the start of a phrase ("Nurse Priya" is the title rule).
	j := ns.next(i, ",(")
	if j < 0 {
		return
	}
	// "my son John and daughter Kate", "my daughters Sarah and Kate".
	for {
		if !ns.nameWord(j, isKin) {
			return
		}
		w := base(ns.toks[j].text)
		if !capitalised(w) && !isKin {
			return
		}
		// A role word followed by a capitalised non-name (the "nurse Practitioner" of
		// a form) is not a name: roles need a known name or an unknown capitalised
		// word that is not sentence-initial.
		if !isKin && !ns.known(j) && ns.sentenceStart(j) {
			return
		}
		ns.mark(j, "cue")
		end := ns.extend(j, "cue")
		k := ns.next(end, ",")
		if k < 0 || !(strings.EqualFold(ns.toks[k].text, "and") || ns.toks[k].text == "&") {
			if k >= 0 && ns.toks[k-1].text == "," && ns.known(k) && capitalised(ns.toks[k].text) {
				j = k // a list: "Sarah, Kate and Tom"
				continue
			}
			return
		}
		j = ns.next(k, "")
		if j < 0 || !ns.known(j) || !capitalised(ns.toks[j].text) {
			return
		}
	}
}

func (ns *nameScan) known(i int) bool {
	if i < 0 {
		return false
	}
	lw := strings.ToLower(base(ns.toks[i].text))
	return ns.r.first[lw] || ns.r.ambiguous[lw]
}

func (ns *nameScan) calledRule(i int) {
	for _, cue := range nameCues {
		j := i
		ok := true
		for _, c := range cue {
			if j < 0 || j >= len(ns.toks) || !ns.toks[j].word || strings.ToLower(ns.toks[j].text) != c {
				ok = false
				break
			}
			j = ns.next(j, "")
		}
		if !ok || j < 0 {
			continue
		}
		// "called" is also a verb: "I called Sarah" is a name but "called Exeter" or
		// "called the surgery" is not.
		if !ns.nameWord(j, false) || !capitalised(ns.toks[j].text) {
			continue
		}
		ns.mark(j, "called")
		ns.extend(j, "called")
		return
	}
}

// sentenceStart reports whether word i begins a sentence, where a capital says
// nothing about being a name.
func (ns *nameScan) sentenceStart(i int) bool {
	if ns.toks[i].newline {
		return true
	}
	for j := i - 1; j >= 0; j-- {
		t := ns.toks[j]
		switch {
		case t.word:
			return false
		case strings.ContainsAny(t.text, ".!?:;…"):
			// "Dr. Patel": a title's full stop does not end a sentence.
			if t.text == "." && j > 0 && titles[strings.ToLower(ns.toks[j-1].text)] {
				return false
			}
			return true
		case strings.ContainsAny(t.text, "\"“‘'(-–—*•"):
			if t.newline {
				return true
			}
			continue
		default:
			return false
		}
	}
	return true
}

func (ns *nameScan) gazetteerRule(i int) {
	t := ns.toks[i]
	if !t.word || ns.name[i] || ns.protected[i] {
		return
	}
	w := base(t.text)
	lw := strings.ToLower(w)
	first, amb := ns.r.first[lw], ns.r.ambiguous[lw]
	if !first && !amb {
		return
	}
	start := ns.sentenceStart(i)
	switch {
	case allCaps(w) && utf8.RuneCountInString(w) > 1:
		return // "MAY", "NHS"-style capitals: shouting, not a name
	case !capitalised(w):
		// Lower-case names ("told margaret") are names only when unambiguous.
		if amb || !first || len(w) < 3 {
			return
		}
		if p := i - 1; p >= 0 && ns.toks[p].word && (strings.EqualFold(ns.toks[p].text, "the") || strings.EqualFold(ns.toks[p].text, "a")) {
			return
		}
	case amb:
		if monthNames[lw] {
			return // a month needs a title or cue
		}
		nx := ns.next(i, "")
		followedByName := nx >= 0 && capitalised(ns.toks[nx].text) && (ns.r.surnames[strings.ToLower(base(ns.toks[nx].text))] || !ns.r.notNames[base(ns.toks[nx].text)])
		if start && !followedByName && !ns.nameLikeFollower(i, nx) {
			return
		}
		if ns.r.notNames[w] && !followedByName {
			return // "Victoria" the place, "Will" the verb at the start
		}
	case ns.r.notNames[w]:
		return
	}
	ns.mark(i, "gazetteer")
	if capitalised(w) {
		ns.extend(i, "gazetteer")
	} else if j := ns.next(i, ""); j >= 0 && !ns.protected[j] {
		// "told margaret smith": only a listed surname in lower case that is no
		// ordinary word extends a lower-case name.
		if lj := strings.ToLower(base(ns.toks[j].text)); !capitalised(ns.toks[j].text) && ns.r.surnames[lj] && !wordlikeSurnames[lj] {
			ns.mark(j, "gazetteer")
		}
	}
}

// nameLikeFollower reports whether what follows an ambiguous word at the start of a
// sentence marks it as a name: a verb of people ("Grace was lovely"), an apposition
// ("Sue the community matron", "Olive my wife") or "next door". "Will" is left out
// of the apposition test: "Will the nurse come?" is a question.
func (ns *nameScan) nameLikeFollower(i, nx int) bool {
	if nx < 0 || possessive(ns.toks[i].text) {
		return false
	}
	f := strings.ToLower(ns.toks[nx].text)
	if nameVerbs[f] {
		return true
	}
	n2 := ns.next(nx, "")
	if n2 < 0 {
		return false
	}
	f2 := strings.ToLower(ns.toks[n2].text)
	if f == "next" && f2 == "door" {
		return true
	}
	if strings.EqualFold(ns.toks[i].text, "will") {
		return false
	}
	switch f {
	case "my", "our", "the", "his", "her", "their":
		if kinship[f2] || roles[f2] {
			return true
		}
		// "Sue the community matron": one describing word before the role.
		if n3 := ns.next(n2, ""); n3 >= 0 && (roles[strings.ToLower(ns.toks[n3].text)] || kinship[strings.ToLower(ns.toks[n3].text)]) {
			return true
		}
	}
	return false
}

// appositionRule catches a name the gazetteer lacks when a role or relation is
// put beside it: "We saw Caoimhe, the occupational therapist".
func (ns *nameScan) appositionRule(i int) {
	t := ns.toks[i]
	if !t.word || ns.name[i] || ns.protected[i] || !capitalised(t.text) || allCaps(t.text) || possessive(t.text) {
		return
	}
	lw := strings.ToLower(t.text)
	if ns.r.notNames[t.text] || neverAfterTitle[t.text] || titles[lw] || kinship[lw] || roles[lw] || serviceHeads[lw] {
		return
	}
	nx := ns.next(i, ",")
	if nx < 0 || ns.toks[nx-1].text != "," {
		return
	}
	f := strings.ToLower(ns.toks[nx].text)
	if f != "the" && f != "my" && f != "our" && f != "his" && f != "her" && f != "their" {
		return
	}
	for k, n := ns.next(nx, ""), 0; k >= 0 && n < 3; k, n = ns.next(k, ""), n+1 {
		if w := strings.ToLower(ns.toks[k].text); roles[w] || kinship[w] {
			ns.mark(i, "apposition")
			return
		}
	}
}

// surnamePairRule catches a given name the gazetteer lacks when a listed surname
// follows it in mid-sentence ("Oksana Kowalski").
func (ns *nameScan) surnamePairRule(i int) {
	t := ns.toks[i]
	if !t.word || ns.name[i] || ns.protected[i] || !capitalised(t.text) || allCaps(t.text) || ns.sentenceStart(i) || possessive(t.text) {
		return
	}
	if ns.r.notNames[t.text] || neverAfterTitle[t.text] || titles[strings.ToLower(t.text)] || kinship[strings.ToLower(t.text)] || roles[strings.ToLower(t.text)] {
		return
	}
	j := ns.next(i, "")
	if j < 0 || ns.protected[j] {
		return
	}
	sw := strings.ToLower(base(ns.toks[j].text))
	if !capitalised(ns.toks[j].text) || !ns.r.surnames[sw] || wordlikeSurnames[sw] {
		return
	}
	ns.mark(i, "surname-pair")
	ns.mark(j, "surname-pair")
}

func (ns *nameScan) spans() []finding {
	var out []finding
	for i := 0; i < len(ns.toks); i++ {
		if !ns.name[i] {
			continue
		}
		start, end, rule := ns.toks[i].start, ns.toks[i].start+len(base(ns.toks[i].text)), ns.rule[i]
		// Join the words of one name ("Mrs J. Hughes" → "J. Hughes").
		for i+1 < len(ns.toks) {
			j := i + 1
			if ns.toks[j].text == "." && j+1 < len(ns.toks) && ns.name[j+1] && initial(ns.toks[i].text) {
				j++
			}
			if !ns.name[j] || possessive(ns.toks[i].text) {
				break
			}
			i = j
			end = ns.toks[i].start + len(base(ns.toks[i].text))
		}
		out = append(out, finding{KindName, start, end, rule})
	}
	return out
}

// ---------------------------------------------------------------------------------

// Redact finds the personal data in text and replaces each piece with its kind's
// placeholder. The patterns read the text normalised (normalise: invisible
// characters removed, full-width and other Unicode digits and letters folded to
// ASCII); the redacted text is the original with each span replaced, so spans are
// offsets into the original. The original text is not retained.
func (r *Redactor) Redact(text string) Redacted {
	n := normalise(text)
	found := structured(n.text)
	found = append(found, r.names(n.text, found)...)
	for i := range found {
		found[i].start, found[i].end = n.orig(found[i].start, found[i].end)
	}
	merged := merge(found)
	var b strings.Builder
	b.Grow(len(text))
	out := Redacted{Spans: make([]Span, 0, len(merged))}
	at := 0
	for _, f := range merged {
		b.WriteString(text[at:f.start])
		rs := b.Len()
		b.WriteString(f.kind.Placeholder())
		out.Spans = append(out.Spans, Span{Kind: f.kind, Start: f.start, End: f.end, RedactedStart: rs, RedactedEnd: b.Len(), Rule: f.rule})
		at = f.end
	}
	b.WriteString(text[at:])
	out.Text = b.String()
	return out
}

// merge sorts findings and joins overlapping ones; the joined span takes the kind
// of its highest-priority finding.
func merge(fs []finding) []finding {
	sort.Slice(fs, func(a, b int) bool {
		if fs[a].start != fs[b].start {
			return fs[a].start < fs[b].start
		}
		return fs[a].end > fs[b].end
	})
	var out []finding
	for _, f := range fs {
		if f.end <= f.start {
			continue
		}
		if n := len(out); n > 0 && f.start < out[n-1].end {
			last := &out[n-1]
			if f.kind.priority() > last.kind.priority() {
				last.kind, last.rule = f.kind, f.rule
			}
			last.end = max(last.end, f.end)
			continue
		}
		out = append(out, f)
	}
	return out
}
