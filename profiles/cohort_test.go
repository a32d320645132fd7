package profiles

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"icesurvey/codes"
	"icesurvey/schemas"
)

type fixtureRow struct {
	id, record, pseudonym string
	rec                   Record
	linked                []string
}

// fixture writes n synthetic sample records and responses into a DuckDB database
// built from the warehouse's own layouts (sample, and a current_responses table of
// the responses layout), plus a linked-condition table, and returns the same rows
// for the Go predicate.
func fixture(t *testing.T, n int) (*sql.DB, []fixtureRow) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, ddl := range []string{
		schemas.SampleRecordLayout().UnindexedDDL("sample"),
		schemas.ResponseRowLayout().UnindexedDDL("current_responses"),
		`CREATE TABLE linked_conditions (nhs_pseudonym VARCHAR, condition VARCHAR)`,
	} {
		if _, err := db.Exec(ddl); err != nil {
			t.Fatalf("%v\n%s", err, ddl)
		}
	}
	rng := rand.New(rand.NewPCG(7, 11))
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	ethnic := []string{"A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z", "99"}
	var rows []fixtureRow
	for i := range n {
		r := fixtureRow{id: fmt.Sprintf("resp-%04d", i), record: fmt.Sprintf("rec-%04d", i), pseudonym: fmt.Sprintf("ps-%04d", i)}
		r.rec = Record{AgeBand: pick(codes.AgeBands[1:]), Ethnicity: pick(ethnic), EFIBand: pick([]string{"mild", "moderate", "severe"}),
			Gender: pick([]string{"1", "2", "9", "X"}), RespondentType: pick([]string{"patient", "patient", "carer"}), Answers: map[string]string{}}
		if r.rec.RespondentType == "patient" {
			r.rec.Answers["P_LONG_TERM_CONDITIONS"] = pick([]string{"", "1", "2", "3", "4"})
			r.rec.Answers["P_LEAVING_HOSPITAL"] = pick([]string{"", "1", "2", "3", "4"})
			var svc []string
			for c := 1; c <= 13; c++ {
				if rng.Float64() < 0.15 {
					svc = append(svc, fmt.Sprint(c))
				}
			}
			r.rec.Answers["P_SERVICES_USED"] = strings.Join(svc, ";")
		}
		for _, c := range LinkedConditionNames {
			if rng.Float64() < 0.2 {
				r.linked = append(r.linked, c)
			}
		}
		rows = append(rows, r)
		if _, err := db.Exec(`INSERT INTO sample VALUES (?, 'W1', 'QJK', ?, 'A81001', 80, ?, ?, ?, 0.3, ?, DATE '2010-01-01', true, 'EX4')`,
			r.record, r.pseudonym, r.rec.AgeBand, r.rec.Gender, r.rec.Ethnicity, r.rec.EFIBand); err != nil {
			t.Fatal(err)
		}
		nullable := func(q string) any {
			if v := r.rec.Answers[q]; v != "" {
				return v
			}
			return nil
		}
		if _, err := db.Exec(`INSERT INTO current_responses (response_id, wave, ics, load_date, survey_record_id, respondent_type,
			questionnaire_version, channel, received_at, complete, source_sha256, "P_LONG_TERM_CONDITIONS", "P_LEAVING_HOSPITAL", "P_SERVICES_USED")
			VALUES (?, 'W1', 'QJK', DATE '2026-03-01', ?, ?, 'patient-2026.1', 'online', ?, true, 'x', ?, ?, ?)`,
			r.id, r.record, r.rec.RespondentType, time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC),
			nullable("P_LONG_TERM_CONDITIONS"), nullable("P_LEAVING_HOSPITAL"), nullable("P_SERVICES_USED")); err != nil {
			t.Fatal(err)
		}
		for _, c := range r.linked {
			if _, err := db.Exec(`INSERT INTO linked_conditions VALUES (?, ?)`, r.pseudonym, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	return db, rows
}

// The SQL clause and the Go predicate pick the same responses, for the five
// profiles and for cohorts that exercise every kind of criterion, with and without
// linked data.
func TestCohortSQLAgreesWithPredicate(t *testing.T) {
	db, rows := fixture(t, 600)
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	cohorts := map[string]Cohort{
		"empty":              {},
		"ethnic codes":       {Ethnicity: []string{"A", "99"}},
		"mixed, gender 9":    {EthnicGroups: []string{"mixed"}, Genders: []string{"9"}},
		"carers":             {RespondentTypes: []string{"carer"}},
		"oldest, severe":     {AgeBands: []string{"85+"}, FrailtyBands: []string{"severe"}},
		"multi answer":       {Answers: []Answer{{Question: "P_SERVICES_USED", AnyOf: []string{"4", "13"}}}},
		"numeric answer":     {Answers: []Answer{{Question: "P_LONG_TERM_CONDITIONS", AnyOf: []string{"1"}}}},
		"linked only":        {LinkedConditions: []string{"dementia", "stroke"}},
		"groups and answers": {EthnicGroups: []string{"black", "asian"}, Answers: []Answer{{Question: "P_LEAVING_HOSPITAL", AnyOf: []string{"3"}}}},
	}
	for id, p := range all {
		cohorts["profile "+id] = p.Characteristics.Cohort
	}
	linkedSQL := func(s string, conds []string) (string, error) {
		return fmt.Sprintf("EXISTS (SELECT 1 FROM linked_conditions lc WHERE lc.nhs_pseudonym = %s.nhs_pseudonym AND lc.condition IN (%s))", s, quoteAll(conds)), nil
	}
	names := make([]string, 0, len(cohorts))
	for k := range cohorts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		c := cohorts[name]
		for _, linkage := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/linkage=%v", name, linkage), func(t *testing.T) {
				opts := SQLOptions{}
				if linkage {
					opts.LinkedCondition = linkedSQL
				}
				q, err := c.Where(opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(c.LinkedConditions) > 0 && !linkage && len(q.Unevaluated) == 0 {
					t.Error("linked conditions left out without saying so")
				}
				res, err := db.Query("SELECT r.response_id FROM " + q.From + " WHERE " + q.Where + " ORDER BY 1")
				if err != nil {
					t.Fatalf("%v\n%s", err, q.Where)
				}
				var got []string
				for res.Next() {
					var id string
					if err := res.Scan(&id); err != nil {
						t.Fatal(err)
					}
					got = append(got, id)
				}
				res.Close()
				var want []string
				for _, r := range rows {
					rec := r.rec
					if linkage {
						rec.Linked = map[string]bool{}
						for _, l := range r.linked {
							rec.Linked[l] = true
						}
					}
					if c.Match(rec) {
						want = append(want, r.id)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("SQL chose %d responses, the predicate %d\nWHERE %s", len(got), len(want), q.Where)
				}
				// Every fixture cohort must pick some rows and leave some (the empty
				// cohort, and linked conditions without linkage, pick all by design).
				if name != "empty" && !(name == "linked only" && !linkage) && (len(want) == 0 || len(want) == len(rows)) && !strings.HasPrefix(name, "profile") {
					t.Errorf("fixture does not exercise the cohort: %d of %d match", len(want), len(rows))
				}
			})
		}
	}
}

func TestCohortValidation(t *testing.T) {
	cases := []struct {
		name  string
		c     Cohort
		field string
	}{
		{"age band", Cohort{AgeBands: []string{"0-17"}}, "age_bands[0]"},
		{"ethnicity", Cohort{Ethnicity: []string{"Q"}}, "ethnicity[0]"},
		{"group", Cohort{EthnicGroups: []string{"asain"}}, "ethnic_groups[0]"},
		{"mild frailty", Cohort{FrailtyBands: []string{"mild"}}, "frailty_bands[0]"},
		{"gender", Cohort{Genders: []string{"F"}}, "genders[0]"},
		{"respondent", Cohort{RespondentTypes: []string{"relative"}}, "respondent_types[0]"},
		{"question", Cohort{Answers: []Answer{{Question: "P_NOPE", AnyOf: []string{"1"}}}}, "answers[0].question"},
		{"free-text question", Cohort{Answers: []Answer{{Question: "P_FT_GOOD", AnyOf: []string{"1"}}}}, "answers[0].question"},
		{"option", Cohort{Answers: []Answer{{Question: "P_LONG_TERM_CONDITIONS", AnyOf: []string{"9"}}}}, "answers[0].any_of[0]"},
		{"patient question, carer respondents", Cohort{RespondentTypes: []string{"carer"}, Answers: []Answer{{Question: "P_LONG_TERM_CONDITIONS", AnyOf: []string{"3"}}}}, "answers[0].question"},
		{"linked", Cohort{LinkedConditions: []string{"gout"}}, "linked_conditions[0]"},
	}
	for _, c := range cases {
		_, err := c.c.Where(SQLOptions{})
		if err == nil || !strings.Contains(err.Error(), "cohort "+c.field+":") {
			t.Errorf("%s: want an error naming %s, got %v", c.name, c.field, err)
		}
	}
}
