package profiles

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"icesurvey/codes"
	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

// Cohort defines a profile's group over the warehouse: the sample frame (table
// `sample`: age_band, ethnicity, efi_band, gender), the survey answers (view
// `current_responses`: respondent_type and one column per closed question) and,
// once linkage exists, linked condition flags. Every criterion given must hold; a
// criterion left empty does not restrict. Within one criterion any listed value
// matches.
//
// The sample record is the sampled patient's: for a carer's response it describes
// the person cared for, not the carer.
type Cohort struct {
	AgeBands        []string `yaml:"age_bands,omitempty"`        // codes.AgeBands: 18-64 65-74 75-84 85+
	Ethnicity       []string `yaml:"ethnicity,omitempty"`        // ethnic category codes (A … Z, 99)
	EthnicGroups    []string `yaml:"ethnic_groups,omitempty"`    // white mixed asian south_asian black chinese other not_stated
	FrailtyBands    []string `yaml:"frailty_bands,omitempty"`    // eFI bands: moderate severe (the survey's cohort)
	Genders         []string `yaml:"genders,omitempty"`          // person stated gender codes 1 2 9 0 X
	RespondentTypes []string `yaml:"respondent_types,omitempty"` // patient carer
	Answers         []Answer `yaml:"answers,omitempty"`
	// LinkedConditions are condition flags from linked data (SPEC §9). They are part
	// of the definition but evaluated only when linkage data exists; until then the
	// cohort is the wider group and the report says so.
	LinkedConditions []string `yaml:"linked_conditions,omitempty"`
}

// Answer is a criterion on a closed survey question: the answer is one of AnyOf
// (for a multi-choice question, any ticked code is one of AnyOf).
type Answer struct {
	Question string   `yaml:"question"`
	AnyOf    []string `yaml:"any_of"`
}

// EthnicGroupCodes maps the broad groups to ethnic category codes (NHS Data
// Dictionary, SPEC §4). south_asian is Indian, Pakistani and Bangladeshi.
var EthnicGroupCodes = map[string][]string{
	"white":       {"A", "B", "C"},
	"mixed":       {"D", "E", "F", "G"},
	"asian":       {"H", "J", "K", "L"},
	"south_asian": {"H", "J", "K"},
	"black":       {"M", "N", "P"},
	"chinese":     {"R"},
	"other":       {"S"},
	"not_stated":  {"Z", "99"},
}

// LinkedConditionNames are the condition flags a cohort may name; linkage (#15)
// decides how each is derived.
var LinkedConditionNames = []string{"diabetes", "cancer", "mental_health", "learning_disability", "heart_failure",
	"coronary_heart_disease", "myocardial_infarction", "stroke", "copd", "chronic_kidney_disease", "dementia", "autism"}

type fieldErr struct{ field, msg string }

var catalogue = sync.OnceValues(questionnaire.Default)

// lookupQuestion finds a closed question in any questionnaire version or the bank,
// with the respondent types that can answer it.
func lookupQuestion(id string) (*questionnaire.Question, []string, bool) {
	cat, err := catalogue()
	if err != nil {
		return nil, nil, false
	}
	var found *questionnaire.Question
	var types []string
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			continue
		}
		if q, ok := qn.Question(id); ok && q.Closed() {
			found = q
			if !slices.Contains(types, qn.RespondentType) {
				types = append(types, qn.RespondentType)
			}
		}
	}
	for _, q := range cat.Bank() {
		if q.ID == id && q.Closed() {
			q := q
			found = &q
			for _, t := range q.RespondentTypes {
				if !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
	}
	return found, types, found != nil
}

func (c Cohort) validate() []fieldErr {
	var errs []fieldErr
	bad := func(f, format string, a ...any) { errs = append(errs, fieldErr{f, fmt.Sprintf(format, a...)}) }
	for i, b := range c.AgeBands {
		if !slices.Contains(codes.AgeBands, b) || b == codes.AgeUnder18 {
			bad(fmt.Sprintf("age_bands[%d]", i), "%q, want one of 18-64 65-74 75-84 85+", b)
		}
	}
	for i, e := range c.Ethnicity {
		if n, ok := codes.NormaliseEthnicity(e); !ok || n != e {
			bad(fmt.Sprintf("ethnicity[%d]", i), "%q is not an ethnic category code", e)
		}
	}
	for i, g := range c.EthnicGroups {
		if _, ok := EthnicGroupCodes[g]; !ok {
			bad(fmt.Sprintf("ethnic_groups[%d]", i), "%q, want one of %s", g, strings.Join(sortedKeys(EthnicGroupCodes), " "))
		}
	}
	for i, b := range c.FrailtyBands {
		if !slices.Contains(codes.EFIBands, b) {
			bad(fmt.Sprintf("frailty_bands[%d]", i), "%q, want one of %s", b, strings.Join(codes.EFIBands, " "))
		} else if !codes.EFIInCohort(b) {
			bad(fmt.Sprintf("frailty_bands[%d]", i), "%q is outside the survey's cohort (moderate or severe frailty)", b)
		}
	}
	for i, g := range c.Genders {
		if n, ok := codes.NormaliseGender(g); !ok || n != g {
			bad(fmt.Sprintf("genders[%d]", i), "%q is not a person stated gender code", g)
		}
	}
	for i, r := range c.RespondentTypes {
		if r != schemas.RespondentPatient && r != schemas.RespondentCarer {
			bad(fmt.Sprintf("respondent_types[%d]", i), "%q, want patient or carer", r)
		}
	}
	for i, a := range c.Answers {
		f := fmt.Sprintf("answers[%d]", i)
		q, types, ok := lookupQuestion(a.Question)
		if !ok {
			bad(f+".question", "no closed question %q in the questionnaire catalogue", a.Question)
			continue
		}
		if len(a.AnyOf) == 0 {
			bad(f+".any_of", "empty")
		}
		for j, code := range a.AnyOf {
			if !q.HasOption(code) {
				bad(fmt.Sprintf("%s.any_of[%d]", f, j), "%q is not an option of %s", code, a.Question)
			}
		}
		for _, rt := range c.RespondentTypes {
			if !slices.Contains(types, rt) {
				bad(f+".question", "%s is not asked of %s respondents, who could then never match: drop one or the other", a.Question, rt)
			}
		}
	}
	for i, l := range c.LinkedConditions {
		if !slices.Contains(LinkedConditionNames, l) {
			bad(fmt.Sprintf("linked_conditions[%d]", i), "%q, want one of %s", l, strings.Join(LinkedConditionNames, " "))
		}
	}
	return errs
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EthnicCodes is the union of Ethnicity and the codes of EthnicGroups, sorted.
func (c Cohort) EthnicCodes() []string {
	set := map[string]bool{}
	for _, e := range c.Ethnicity {
		set[e] = true
	}
	for _, g := range c.EthnicGroups {
		for _, e := range EthnicGroupCodes[g] {
			set[e] = true
		}
	}
	return sortedKeys(set)
}

// SQLOptions says how to write a cohort as SQL.
type SQLOptions struct {
	Sample    string // alias of the sample table; default "s"
	Responses string // alias of current_responses; default "r"
	// LinkedCondition returns a boolean SQL expression that is true when the
	// respondent has one of the conditions in linked data. Nil: the query cannot reach
	// linked data, and linked conditions are left out (listed in SQL.Unevaluated). The
	// warehouse's linked outputs are keyed by release pseudonyms, which by design join
	// to no survey response, so a query over the warehouse always passes nil.
	LinkedCondition func(sampleAlias string, conditions []string) (string, error)
}

// SQL is a cohort as a WHERE clause over the sample joined to current_responses.
type SQL struct {
	From        string   // the join the clause is written for
	Where       string   // "TRUE" for a cohort with no criteria
	Unevaluated []string // criteria left out, e.g. "the linked conditions (diabetes)"
}

// Where writes the cohort as a DuckDB WHERE clause over `sample` and
// `current_responses` (column names from schemas.SampleRecord and the responses
// layout). Values are checked by Validate against code lists and the questionnaire,
// and quoted, so the clause carries no injected text. NULL answers never match, as
// in Match.
func (c Cohort) Where(opts SQLOptions) (SQL, error) {
	if errs := c.validate(); len(errs) > 0 {
		return SQL{}, fmt.Errorf("cohort %s: %s", errs[0].field, errs[0].msg)
	}
	s, r := opts.Sample, opts.Responses
	if s == "" {
		s = "s"
	}
	if r == "" {
		r = "r"
	}
	out := SQL{From: fmt.Sprintf("sample %s JOIN current_responses %s ON %[2]s.survey_record_id = %[1]s.survey_record_id AND %[2]s.wave = %[1]s.wave_id AND %[2]s.ics = %[1]s.ics", s, r)}
	var conds []string
	in := func(col string, vals []string) {
		if len(vals) > 0 {
			conds = append(conds, fmt.Sprintf("%s IN (%s)", col, quoteAll(vals)))
		}
	}
	in(s+".age_band", c.AgeBands)
	in(s+".ethnicity", c.EthnicCodes())
	in(s+".efi_band", c.FrailtyBands)
	in(s+".gender", c.Genders)
	in(r+".respondent_type", c.RespondentTypes)
	for _, a := range c.Answers {
		q, _, _ := lookupQuestion(a.Question)
		col := r + "." + schemas.QuoteIdent(a.Question)
		switch {
		case q.Kind == questionnaire.Multi:
			conds = append(conds, fmt.Sprintf("list_has_any(string_split(%s, %s), [%s])", col, quote(questionnaire.MultiSeparator), quoteAll(a.AnyOf)))
		case q.NumericCodes():
			conds = append(conds, fmt.Sprintf("%s IN (%s)", col, strings.Join(a.AnyOf, ", "))) // validated option codes: whole numbers
		default:
			conds = append(conds, fmt.Sprintf("%s IN (%s)", col, quoteAll(a.AnyOf)))
		}
	}
	if len(c.LinkedConditions) > 0 {
		if opts.LinkedCondition == nil {
			out.Unevaluated = append(out.Unevaluated, "the linked conditions ("+strings.Join(c.LinkedConditions, ", ")+")")
		} else {
			expr, err := opts.LinkedCondition(s, c.LinkedConditions)
			if err != nil {
				return SQL{}, fmt.Errorf("cohort linked_conditions: %w", err)
			}
			conds = append(conds, "("+expr+")")
		}
	}
	if len(conds) == 0 {
		out.Where = "TRUE"
	} else {
		out.Where = strings.Join(conds, "\n  AND ")
	}
	return out, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func quoteAll(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = quote(v)
	}
	return strings.Join(q, ", ")
}

// Record is what Match needs of one response joined to its sample record.
type Record struct {
	AgeBand, Ethnicity, EFIBand, Gender string // from the sample
	RespondentType                      string
	Answers                             map[string]string // question id → raw answer ("" or absent: not answered; multi: codes joined by ";")
	// Linked holds the respondent's linked condition flags; nil when linkage data
	// does not exist (linked conditions are then not evaluated, as in Where).
	Linked map[string]bool
}

// Match is the cohort as a Go predicate: the same decision Where makes in SQL.
func (c Cohort) Match(rec Record) bool {
	has := func(vals []string, v string) bool { return len(vals) == 0 || slices.Contains(vals, v) }
	if !has(c.AgeBands, rec.AgeBand) || !has(c.EthnicCodes(), rec.Ethnicity) || !has(c.FrailtyBands, rec.EFIBand) ||
		!has(c.Genders, rec.Gender) || !has(c.RespondentTypes, rec.RespondentType) {
		return false
	}
	for _, a := range c.Answers {
		q, _, ok := lookupQuestion(a.Question)
		if !ok {
			return false
		}
		raw := rec.Answers[a.Question]
		var got []string
		if q.Kind == questionnaire.Multi {
			got = strings.Split(raw, questionnaire.MultiSeparator) // as string_split: no trimming
		} else if raw != "" {
			got = []string{raw}
		}
		if raw == "" || !slices.ContainsFunc(got, func(g string) bool { return slices.Contains(a.AnyOf, g) }) {
			return false
		}
	}
	if len(c.LinkedConditions) > 0 && rec.Linked != nil {
		if !slices.ContainsFunc(c.LinkedConditions, func(l string) bool { return rec.Linked[l] }) {
			return false
		}
	}
	return true
}
