package warehouse

import (
	"fmt"
	"slices"
	"strings"

	"icesurvey/questionnaire"
	"icesurvey/schemas"
)

// The responses table holds one row per response and a column per closed question of
// the questionnaire catalogue. Its answer columns and the views over them follow the
// catalogue, so they are derived objects (see Derive): a new questionnaire version or
// bank question adds its columns and views at the next Open, with no migration to write.
//
// Free-text questions have no column anywhere here: their answers stay in the
// restricted area (SPEC §8).

func init() {
	// Migration 12 created per-version views over the long answer table that migration
	// 13 replaced; a new warehouse has nothing to do for it.
	Register(Migration{Version: 12, Name: "wide response views (superseded by 13)"})
	Register(Migration{Version: 13, Name: "responses: one row per response, a column per question", SQL: []string{
		// A warehouse made before 13 has the long table and views over it. The lake
		// objects it loaded were long too; loaded_files forgets them so the reload of a
		// day (the daily load lists the day's objects) brings that day's into the new shape.
		`DROP VIEW IF EXISTS responses_by_channel`,
		`DROP VIEW IF EXISTS respondents`,
		`DROP VIEW IF EXISTS current_responses`,
		`DROP VIEW IF EXISTS responses_wide_carer_2026_1`,
		`DROP VIEW IF EXISTS responses_wide_patient_2026_1`,
		`DROP TABLE IF EXISTS responses`,
		`DELETE FROM loaded_files WHERE table_name = 'responses'`,
		ddl(schemas.TableResponses),
	}})
	Derive(Derived{Name: "responses answer columns and views", SQL: responseObjects})
}

// responseObjects adds any answer column the table lacks and (re)creates the views
// over responses.
func responseObjects() ([]string, error) {
	cat, err := questionnaire.Default()
	if err != nil {
		return nil, fmt.Errorf("warehouse: questionnaires for the responses views: %w", err)
	}
	layout := Tables[schemas.TableResponses].Layout
	fixed := schemas.ResponseFixedLayout()
	answerCols := layout.ExtensionColumns()
	var out []string
	for _, c := range answerCols {
		out = append(out, fmt.Sprintf(`ALTER TABLE responses ADD COLUMN IF NOT EXISTS %s %s`, schemas.QuoteIdent(c.Name), c.Type.DuckDB()))
	}
	quoted := func(ids []string) string {
		q := make([]string, len(ids))
		for i, id := range ids {
			q[i] = schemas.QuoteIdent(id)
		}
		return strings.Join(q, ", ")
	}
	var answerIDs, asText []string
	for _, c := range answerCols {
		answerIDs = append(answerIDs, c.Name)
		asText = append(asText, fmt.Sprintf("CAST(%s AS VARCHAR) AS %[1]s", schemas.QuoteIdent(c.Name)))
	}
	out = append(out,
		// The responses analysts should use: a response discarded as a duplicate (or an
		// incomplete one later replaced by a complete one) is left out.
		`CREATE OR REPLACE VIEW current_responses AS
SELECT r.* FROM responses r
WHERE NOT EXISTS (SELECT 1 FROM response_duplicates d WHERE d.discarded_response_id = r.response_id)`,

		// Who answered, when and how: one row per kept response, no answers.
		`CREATE OR REPLACE VIEW respondents AS
SELECT `+fixed.SelectList()+` FROM current_responses`,

		// Loaded responses by channel and respondent type.
		`CREATE OR REPLACE VIEW responses_by_channel AS
SELECT wave, ics, respondent_type, channel, count(*) AS responses,
  count(*) FILTER (WHERE complete) AS complete
FROM respondents GROUP BY wave, ics, respondent_type, channel`,

		// The long shape: one row per answer code of each kept response, for "% positive"
		// by question (a multi answer's codes become one row each). Codes are text here,
		// as in the questionnaire definitions.
		`CREATE OR REPLACE VIEW response_answers AS
SELECT `+fixed.SelectList()+`, question_id, unnest(string_split(answer, ';')) AS answer_code
FROM (UNPIVOT (SELECT `+fixed.SelectList()+`, `+strings.Join(asText, ", ")+` FROM current_responses)
  ON `+quoted(answerIDs)+` INTO NAME question_id VALUE answer)`,
	)

	// One view per questionnaire version with only the columns it can have: its own
	// closed questions, then the bank questions offered to its respondents.
	bank := cat.Bank()
	for _, v := range cat.Versions() {
		qn, err := cat.Resolve(v, nil)
		if err != nil {
			return nil, err
		}
		var cols []string
		for _, q := range qn.Questions {
			if q.Closed() {
				cols = append(cols, q.ID)
			}
		}
		for _, q := range bank {
			if q.Closed() && slices.Contains(q.RespondentTypes, qn.RespondentType) && !slices.Contains(cols, q.ID) {
				cols = append(cols, q.ID)
			}
		}
		out = append(out, fmt.Sprintf(`CREATE OR REPLACE VIEW %s AS
SELECT response_id, wave, ics, load_date, survey_record_id, respondent_type, channel, received_at, complete,
  %s
FROM current_responses WHERE questionnaire_version = %s`,
			schemas.QuoteIdent(WideViewName(v)), quoted(cols), sqlString(v)))
	}
	return out, nil
}

// WideViewName is the view of one questionnaire version's responses, e.g.
// responses_wide_patient_2026_1.
func WideViewName(version string) string {
	return "responses_wide_" + strings.NewReplacer("-", "_", ".", "_").Replace(version)
}
