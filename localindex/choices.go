package localindex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"icesurvey/fault"
	"icesurvey/freetext"
	"icesurvey/profiles"
	"icesurvey/schemas"
	"icesurvey/store"
)

// People's part of the side-by-side report (#17 item 7): the machine proposes
// candidate quotations (redacted, each with a stable id) and a coder chooses which
// appear for which expected-care statement; an analyst records a verdict on each
// statement. Both are kept in the store, one object per record, so nothing is lost
// and the history stays. Who may choose (a named free-text reader of the ICS) is the
// caller's check; this package records who did.

// Candidate is a quotation the machine proposes for a coder to choose: one
// participant's contribution to a session, redacted, that the classifier codes to at
// least one theme.
type Candidate struct {
	// ID is stable: the same session line, redacted the same way, has the same id.
	ID     string   `json:"id"`
	Source string   `json:"source"` // the session it comes from
	Text   string   `json:"text"`   // redacted
	Themes []string `json:"themes"`
	// Expectations are the profile's statements whose themes it bears on.
	Expectations []string `json:"expectations"`
}

// maxQuoteLen keeps quotations short: a longer contribution is not proposed.
const maxQuoteLen = 160

func candidateID(source, text string) string {
	sum := sha256.Sum256([]byte(source + "\n" + text))
	return hex.EncodeToString(sum[:6])
}

// Candidates lists the quotations the machine proposes for a profile's report in one
// ICS of a wave, from the profile's session notes in the ICS's free-text area, each
// redacted before it is returned. The caller shows them only to a named free-text
// reader of the ICS and audits the read.
func Candidates(ctx context.Context, st store.Store, wave, ics, profile string) ([]Candidate, error) {
	p, err := profiles.Lookup(ctx, st, profile)
	if err != nil {
		return nil, err
	}
	d := &ProfileData{Wave: wave, ICS: ics, Profile: p}
	_, cands, err := d.sessionThemes(ctx, st)
	return cands, err
}

// expectation finds a statement of p by id; the error lists the valid ids.
func expectation(p *profiles.Profile, id string) (*profiles.Expectation, error) {
	var ids []string
	for i := range p.ExpectedCare {
		if p.ExpectedCare[i].ID == id {
			return &p.ExpectedCare[i], nil
		}
		ids = append(ids, p.ExpectedCare[i].ID)
	}
	return nil, fault.Errorf(fault.BadInput, "profile %s has no expected-care statement %q (it has: %s)", p.ID, id, strings.Join(ids, ", "))
}

// ChosenQuote is a quotation a coder chose for one statement of a profile's report.
type ChosenQuote struct {
	Expectation string    `json:"expectation"`
	Candidate   string    `json:"candidate"`
	Source      string    `json:"source"`
	Text        string    `json:"text"` // redacted
	Coder       string    `json:"coder"`
	ChosenAt    time.Time `json:"chosen_at"`
}

// ChooseQuote records that coder chose candidate for statement expectation of the
// profile's report in one ICS of a wave. The candidate must be one the machine
// proposes now (Candidates); choosing it again records the newer choice.
func ChooseQuote(ctx context.Context, st store.Store, wave, ics, profile, expectationID, candidate, coder string, at time.Time) (ChosenQuote, error) {
	if strings.TrimSpace(coder) == "" {
		return ChosenQuote{}, fault.New(fault.BadInput, "a quotation is chosen by a named coder (--coder)")
	}
	c, err := FindCandidate(ctx, st, wave, ics, profile, expectationID, candidate)
	if err != nil {
		return ChosenQuote{}, err
	}
	q := ChosenQuote{Expectation: expectationID, Candidate: candidate, Source: c.Source, Text: c.Text, Coder: coder, ChosenAt: at.UTC()}
	b, err := json.Marshal(q)
	if err != nil {
		return q, err
	}
	if err := store.PutBytes(ctx, st, schemas.ProfileQuoteKey(wave, ics, profile, expectationID, candidate), b); err != nil {
		return q, fmt.Errorf("record the chosen quotation: %w", err)
	}
	return q, nil
}

// CheckExpectation checks that the profile exists and has the expected-care
// statement expectationID (BadInput naming the valid ids otherwise).
func CheckExpectation(ctx context.Context, st store.Store, profile, expectationID string) error {
	p, err := profiles.Lookup(ctx, st, profile)
	if err != nil {
		return err
	}
	_, err = expectation(p, expectationID)
	return err
}

// FindCandidate finds the candidate quotation ChooseQuote would record, with its
// checks and nothing recorded: the profile, its statement expectationID, and a
// candidate the machine proposes now (Candidates). A caller that audits the read of
// a quotation checks it first, so that no read is on record of one that is not there.
func FindCandidate(ctx context.Context, st store.Store, wave, ics, profile, expectationID, candidate string) (Candidate, error) {
	if err := CheckExpectation(ctx, st, profile, expectationID); err != nil {
		return Candidate{}, err
	}
	cands, err := Candidates(ctx, st, wave, ics, profile)
	if err != nil {
		return Candidate{}, err
	}
	i := slices.IndexFunc(cands, func(c Candidate) bool { return c.ID == candidate })
	if i < 0 {
		return Candidate{}, fault.Errorf(fault.BadInput, "profile %s in %s %s: no candidate quotation %q (list them with --list)", profile, wave, ics, candidate)
	}
	return cands[i], nil
}

// CheckChosen checks, recording nothing, that candidate was chosen for statement
// expectationID of the profile (what UnchooseQuote withdraws).
func CheckChosen(ctx context.Context, st store.Store, wave, ics, profile, expectationID, candidate string) error {
	if err := CheckExpectation(ctx, st, profile, expectationID); err != nil {
		return err
	}
	if _, err := store.ReadAll(ctx, st, schemas.ProfileQuoteKey(wave, ics, profile, expectationID, candidate)); err != nil {
		return fault.Errorf(fault.BadInput, "profile %s in %s %s: quotation %s was not chosen for %s", profile, wave, ics, candidate, expectationID)
	}
	return nil
}

// UnchooseQuote withdraws a chosen quotation from the report.
func UnchooseQuote(ctx context.Context, st store.Store, wave, ics, profile, expectationID, candidate string) error {
	if err := CheckChosen(ctx, st, wave, ics, profile, expectationID, candidate); err != nil {
		return err
	}
	return st.Delete(ctx, schemas.ProfileQuoteKey(wave, ics, profile, expectationID, candidate))
}

// ChosenQuotes reads the quotations coders chose for a profile's report in one ICS,
// by statement, each statement's in the order they were chosen.
func ChosenQuotes(ctx context.Context, st store.Store, wave, ics, profile string) (map[string][]ChosenQuote, error) {
	infos, err := st.List(ctx, schemas.ProfileQuotesPrefix(wave, ics, profile))
	if err != nil {
		return nil, fmt.Errorf("list chosen quotations of %s: %w", profile, err)
	}
	out := map[string][]ChosenQuote{}
	for _, inf := range infos {
		var q ChosenQuote
		if err := readJSON(ctx, st, inf.Key, &q); err != nil {
			return nil, err
		}
		out[q.Expectation] = append(out[q.Expectation], q)
	}
	for _, qs := range out {
		sort.SliceStable(qs, func(i, j int) bool { return qs[i].ChosenAt.Before(qs[j].ChosenAt) })
	}
	return out, nil
}

// The analyst's verdicts on a statement.
const (
	VerdictMet    = "met"
	VerdictPartly = "partly"
	VerdictNotMet = "not_met"
)

// Verdicts lists the valid verdicts.
var Verdicts = []string{VerdictMet, VerdictPartly, VerdictNotMet}

// VerdictWords is how the report says a verdict.
func VerdictWords(v string) string {
	switch v {
	case VerdictMet:
		return "met"
	case VerdictPartly:
		return "partly met"
	case VerdictNotMet:
		return "not met"
	}
	return v
}

// Verdict is an analyst's judgement of whether a statement of expected care is met.
type Verdict struct {
	Expectation string `json:"expectation"`
	Verdict     string `json:"verdict"` // met, partly or not_met
	Analyst     string `json:"analyst"`
	// Note says why, in words that identify no one: it is shown in the profile report
	// and on the dashboard, to readers who may not read free text, and kept under
	// reports/, which holds no personal data (CheckVerdictNote).
	Note string    `json:"note,omitempty"`
	At   time.Time `json:"at"`
}

// CheckVerdictNote refuses a verdict's note that holds anything the free-text
// redactor would redact (a name, NHS number, phone number, postcode, address, e-mail
// or date of birth). The error names the field and the kinds found, never the note's
// text: errors are logged and audited.
func CheckVerdictNote(note string) error {
	kinds := freetext.Identifiers(note)
	if len(kinds) == 0 {
		return nil
	}
	words := make([]string, len(kinds))
	for i, k := range kinds {
		words[i] = strings.ToLower(string(k))
	}
	return fault.Errorf(fault.BadInput, "--note holds personal data (%s; the note is not repeated here): a verdict's note is shown in the profile report and on the dashboard to readers who may not read free text, so say why without naming, addressing or numbering anyone",
		strings.Join(words, ", "))
}

// Words is the verdict as the report says it.
func (v Verdict) Words() string { return VerdictWords(v.Verdict) }

// RecordVerdict validates and records an analyst's verdict on one statement of a
// profile for one ICS of a wave: the profile and statement must exist, the verdict be
// met, partly or not_met, the analyst named, and the note identify no one
// (CheckVerdictNote). The latest record stands.
func RecordVerdict(ctx context.Context, st store.Store, wave, ics, profile string, v Verdict) (Verdict, error) {
	p, err := profiles.Lookup(ctx, st, profile)
	if err != nil {
		return v, err
	}
	if _, err := expectation(p, v.Expectation); err != nil {
		return v, err
	}
	if !slices.Contains(Verdicts, v.Verdict) {
		return v, fault.Errorf(fault.BadInput, "verdict %q: want one of %s", v.Verdict, strings.Join(Verdicts, ", "))
	}
	if strings.TrimSpace(v.Analyst) == "" {
		return v, fault.New(fault.BadInput, "a verdict is recorded by a named analyst (--analyst)")
	}
	if strings.TrimSpace(wave) == "" || strings.TrimSpace(ics) == "" {
		return v, fault.New(fault.BadInput, "a verdict is for one wave and ICS (--wave, --ics)")
	}
	if err := CheckVerdictNote(v.Note); err != nil {
		return v, err
	}
	if v.At.IsZero() {
		v.At = time.Now()
	}
	v.At = v.At.UTC()
	b, err := json.Marshal(v)
	if err != nil {
		return v, err
	}
	if err := store.PutBytes(ctx, st, schemas.ProfileVerdictKey(wave, ics, profile, v.Expectation, v.At), b); err != nil {
		return v, fmt.Errorf("record the verdict: %w", err)
	}
	return v, nil
}

// LatestVerdicts reads the verdict that stands on each statement of a profile for one
// ICS of a wave: the latest recorded. Each note is returned redacted (freetext.Redact):
// RecordVerdict refuses a note with personal data, but one recorded before it did is
// still in the store, and the report and dashboard show notes to readers who may not
// read free text.
func LatestVerdicts(ctx context.Context, st store.Store, wave, ics, profile string) (map[string]Verdict, error) {
	infos, err := st.List(ctx, schemas.ProfileVerdictsPrefix(wave, ics, profile))
	if err != nil {
		return nil, fmt.Errorf("list verdicts of %s: %w", profile, err)
	}
	out := map[string]Verdict{}
	for _, inf := range infos {
		var v Verdict
		if err := readJSON(ctx, st, inf.Key, &v); err != nil {
			return nil, err
		}
		v.Note = freetext.Redact(v.Note).Text
		if have, ok := out[v.Expectation]; !ok || v.At.After(have.At) {
			out[v.Expectation] = v
		}
	}
	return out, nil
}

func readJSON(ctx context.Context, st store.Store, key string, v any) error {
	b, err := store.ReadAll(ctx, st, key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}
